//! Small pieces every form uses.

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

/// A banner at the top of a page: `kind` is "error", "success" or "info".
#[component]
pub fn Banner(kind: &'static str, children: Children) -> impl IntoView {
    let role = if kind == "error" { "alert" } else { "status" };
    view! {
        <div class=format!("banner banner-{kind}") role=role>
            {children()}
        </div>
    }
}
