//! Small pieces every form uses.

use crate::domain::states::NoticeKind;
use leptos::either::Either;
use leptos::prelude::*;

/// The message beside a field, or nothing. `id` lets the input point at it with
/// `aria-describedby`.
#[component]
pub fn FieldMessage(
    #[prop(into)] id: String,
    #[prop(into)] message: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="field-error" id=id role="alert" aria-live="polite">
            {move || message.get()}
        </p>
    }
}

/// One field of a form: its label, the control (the children: an input, a textarea, a select),
/// its help text when it has one, and its message when `message` is given. They stay siblings,
/// with no wrapper, as the forms lay them out (`.stack`, `.inserter`, `.filters`). `id` is the
/// control's id: the label points at it, and the message's id is `{id}-error`, the id the control
/// names in its `aria-describedby`.
#[component]
pub fn Field(
    /// The control's id (the control, in the children, carries it too).
    #[prop(into)]
    id: String,
    /// The label's text.
    #[prop(into)]
    label: String,
    /// A class for the label, e.g. "visually-hidden".
    #[prop(optional)]
    label_class: Option<&'static str>,
    /// Help text, under the control (above it, between label and control, with `help_first`).
    #[prop(optional, into)]
    help: Option<String>,
    #[prop(optional)] help_first: bool,
    /// The help text's id, for a control that names it in its `aria-describedby`.
    #[prop(optional, into)]
    help_id: Option<String>,
    /// The help text's `data-testid`.
    #[prop(optional, into)]
    help_testid: Option<String>,
    /// The message beside the field ([`FieldMessage`], id `{id}-error`); without it the field
    /// has no message element at all.
    #[prop(optional, into)]
    message: Option<Signal<Option<String>>>,
    children: Children,
) -> impl IntoView {
    let message = message.map(|message| {
        view! { <FieldMessage id=format!("{id}-error") message /> }
    });
    let help = help.map(|text| {
        view! { <p class="hint" id=help_id data-testid=help_testid>{text}</p> }
    });
    let (help_before, help_after) = if help_first {
        (help, None)
    } else {
        (None, help)
    };
    let label = match label_class {
        Some(class) => Either::Left(view! { <label for=id class=class>{label}</label> }),
        None => Either::Right(view! { <label for=id>{label}</label> }),
    };
    view! {
        {label}
        {help_before}
        {children()}
        {help_after}
        {message}
    }
}

/// A banner at the top of a page: an error (read out at once), a success or information.
#[component]
pub fn Banner(kind: NoticeKind, children: Children) -> impl IntoView {
    let role = if kind == NoticeKind::Error {
        "alert"
    } else {
        "status"
    };
    view! {
        <div class=format!("banner banner-{kind}") role=role>
            {children()}
        </div>
    }
}
