//! Change password: current password plus the new one twice, checked as the admin types by the
//! same rule the server applies.

use crate::api::account::{admin_resource, ChangePassword};
use crate::components::form::{Banner, Field};
use crate::domain::credentials::{check_new_password, NewPasswordError, PASSWORD_MIN_CHARS};
use crate::domain::states::NoticeKind;
use crate::model::error::ApiError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let changed = move || query.with(|q| q.get("changed").is_some());
    let me = admin_resource();
    let general_error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .filter(|e| !matches!(e, ApiError::Invalid(_)))
            .map(|e| e.to_string())
    };

    view! {
        <Title text="Change password" />
        <h1>"Change password"</h1>
        <Suspense fallback=|| ()>
            {move || {
                me.get()
                    .and_then(Result::ok)
                    .filter(|admin| admin.must_change_password && !changed())
                    .map(|_| {
                        view! {
                            <Banner kind=NoticeKind::Info>
                                <p>
                                    "You logged in with a one-time password. Choose your own password to continue."
                                </p>
                            </Banner>
                        }
                    })
            }}
        </Suspense>
        <Show when=changed>
            <Banner kind=NoticeKind::Success>
                <p data-testid="password-changed">
                    "Your password has been changed. Every other session of yours has been logged out. "
                    <a href="/">"Continue to the overview"</a>
                    "."
                </p>
            </Banner>
        </Show>
        {move || general_error().map(|text| view! { <Banner kind=NoticeKind::Error><p>{text}</p></Banner> })}
        <PasswordForm action />
    }
}

/// The live rule: say nothing about a field the admin has not reached yet.
fn live_password_error(
    current: RwSignal<String>,
    new: RwSignal<String>,
    confirm: RwSignal<String>,
) -> Memo<Option<NewPasswordError>> {
    Memo::new(move |_| {
        let (new, confirm) = (new.get(), confirm.get());
        if new.is_empty() {
            return None;
        }
        match check_new_password(&current.get(), &new, &confirm) {
            Err(NewPasswordError::Mismatch) if confirm.is_empty() => None,
            Err(err) => Some(err),
            Ok(_) => None,
        }
    })
}

#[component]
fn PasswordForm(action: ServerAction<ChangePassword>) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let live_error = live_password_error(current, new, confirm);
    let server_error = move || action.value().get().and_then(Result::err);
    let message_for = move |field: &'static str| {
        Signal::derive(move || {
            live_error
                .get()
                .filter(|e| e.field() == field)
                .map(|e| e.to_string())
                .or_else(|| server_error().and_then(|e| e.field_message(field)))
        })
    };
    let pending = action.pending();

    view! {
        <ActionForm action=action attr:class="card stack" attr:novalidate=true>
            <Field id="current_password" label="Current password" message=message_for("current_password")>
                <PasswordInput id="current_password" autocomplete="current-password" described_by="current_password-error" value=current />
            </Field>
            <Field
                id="new_password"
                label="New password"
                help=format!("At least {PASSWORD_MIN_CHARS} characters; a few unrelated words make a strong one.")
                help_id="new_password-hint"
                message=message_for("new_password")
            >
                <PasswordInput id="new_password" autocomplete="new-password" described_by="new_password-hint new_password-error" value=new />
            </Field>
            <Field id="confirm_password" label="New password again" message=message_for("confirm_password")>
                <PasswordInput id="confirm_password" autocomplete="new-password" described_by="confirm_password-error" value=confirm />
            </Field>
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Changing…" } else { "Change password" }}
            </button>
        </ActionForm>
    }
}

/// A password field (its name is its id) whose text `value` follows as the admin types.
#[component]
fn PasswordInput(
    id: &'static str,
    autocomplete: &'static str,
    described_by: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <input
            id=id
            name=id
            type="password"
            autocomplete=autocomplete
            aria-describedby=described_by
            required
            on:input=move |ev| value.set(event_target_value(&ev))
        />
    }
}
