//! Change password: current password plus the new one twice, checked as the admin types by the
//! same rule the server applies.

use crate::api::account::{admin_resource, ChangePassword};
use crate::components::form::{Banner, FieldMessage};
use crate::domain::credentials::{check_new_password, NewPasswordError, PASSWORD_MIN_CHARS};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let query = use_query_map();
    let changed = move || query.with(|q| q.get("changed").is_some());
    let me = admin_resource();

    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());

    // The live rule: say nothing about a field the admin has not reached yet.
    let live_error = Memo::new(move |_| {
        let (new, confirm) = (new.get(), confirm.get());
        if new.is_empty() {
            return None;
        }
        match check_new_password(&current.get(), &new, &confirm) {
            Err(NewPasswordError::Mismatch) if confirm.is_empty() => None,
            Err(err) => Some(err),
            Ok(_) => None,
        }
    });
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
    let general_error = move || {
        server_error()
            .filter(|e| !matches!(e, crate::api::error::ApiError::Invalid(_)))
            .map(|e| e.to_string())
    };
    let pending = action.pending();

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
                            <Banner kind="info">
                                <p>
                                    "You logged in with a one-time password. Choose your own password to continue."
                                </p>
                            </Banner>
                        }
                    })
            }}
        </Suspense>
        <Show when=changed>
            <Banner kind="success">
                <p data-testid="password-changed">
                    "Your password has been changed. Every other session of yours has been logged out. "
                    <a href="/">"Continue to the overview"</a>
                    "."
                </p>
            </Banner>
        </Show>
        {move || general_error().map(|text| view! { <Banner kind="error"><p>{text}</p></Banner> })}
        <ActionForm action=action attr:class="card stack" attr:novalidate=true>
            <label for="current_password">"Current password"</label>
            <input
                id="current_password"
                name="current_password"
                type="password"
                autocomplete="current-password"
                aria-describedby="current_password-error"
                required
                on:input=move |ev| current.set(event_target_value(&ev))
            />
            <FieldMessage id="current_password-error" message=message_for("current_password") />
            <label for="new_password">"New password"</label>
            <input
                id="new_password"
                name="new_password"
                type="password"
                autocomplete="new-password"
                aria-describedby="new_password-hint new_password-error"
                required
                on:input=move |ev| new.set(event_target_value(&ev))
            />
            <p class="hint" id="new_password-hint">
                {format!("At least {PASSWORD_MIN_CHARS} characters; a few unrelated words make a strong one.")}
            </p>
            <FieldMessage id="new_password-error" message=message_for("new_password") />
            <label for="confirm_password">"New password again"</label>
            <input
                id="confirm_password"
                name="confirm_password"
                type="password"
                autocomplete="new-password"
                aria-describedby="confirm_password-error"
                required
                on:input=move |ev| confirm.set(event_target_value(&ev))
            />
            <FieldMessage id="confirm_password-error" message=message_for("confirm_password") />
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Changing…" } else { "Change password" }}
            </button>
        </ActionForm>
    }
}
