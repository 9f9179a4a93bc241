//! Account → Two-step login: set up an authenticator app (a QR code made on the server, the
//! secret as text for typing in), confirm it with a code, and keep the recovery codes shown once.

use crate::api::account::{two_step_status, BeginTwoStep, ConfirmTwoStep, MfaEnrolment, MfaStatus};
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::states::NoticeKind;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn TwoStepPage() -> impl IntoView {
    let status = Resource::new(|| (), |()| two_step_status());
    view! {
        <Title text="Two-step login" />
        <h1>"Two-step login"</h1>
        <p class="lead">"After your password, affdesk asks for a code from an authenticator app on your phone (any app that reads TOTP codes), so a stolen password alone does not open it."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || status.get().map(|result| match result {
                Ok(status) => view! { <TwoStep status /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn TwoStep(status: MfaStatus) -> impl IntoView {
    if status.enabled {
        let left = status.recovery_codes_left;
        return view! {
            <Banner kind=NoticeKind::Success>
                <p data-testid="two-step-on">"Two-step login is on for your account."</p>
                <p>{format!("{left} of your recovery codes are unused.")}</p>
            </Banner>
            <p>"Lost your phone? Log in with a recovery code; an administrator can turn two-step login off for you with " <code>"affdesk admin reset-mfa --username NAME"</code> "."</p>
        }
        .into_any();
    }
    let begin = ServerAction::<BeginTwoStep>::new();
    view! {
        {status.required.then(|| view! {
            <Banner kind=NoticeKind::Info>
                <p data-testid="two-step-required">"Two-step login is required for every admin of this affdesk. Set it up to continue."</p>
            </Banner>
        })}
        {move || match begin.value().get() {
            None => view! {
                <ActionForm action=begin attr:class="card stack">
                    <p>"Have your authenticator app ready."</p>
                    <button type="submit" class="primary">"Set up two-step login"</button>
                </ActionForm>
            }.into_any(),
            Some(Ok(enrolment)) => view! { <Enrol enrolment /> }.into_any(),
            Some(Err(error)) => view! { <LoadError error /> }.into_any(),
        }}
    }
    .into_any()
}

/// The secret to add to the app, and the code that proves it was added.
#[component]
fn Enrol(enrolment: MfaEnrolment) -> impl IntoView {
    let confirm = ServerAction::<ConfirmTwoStep>::new();
    let message = Signal::derive(move || {
        confirm
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.field_message("code").unwrap_or_else(|| e.to_string()))
    });
    let pending = confirm.pending();
    view! {
        {move || match confirm.value().get() {
            Some(Ok(codes)) => view! { <RecoveryCodes codes /> }.into_any(),
            _ => view! {
                <div class="card stack">
                    <p>"1. In the app, add an account by scanning this code:"</p>
                    <div class="qr" data-testid="two-step-qr" inner_html=enrolment.qr_svg.clone()></div>
                    <p>"Or type this key in by hand (time-based, six digits):"</p>
                    <p><code class="secret" data-testid="two-step-secret">{enrolment.secret.clone()}</code></p>
                    <p>"2. Type the code the app now shows:"</p>
                    <ActionForm action=confirm attr:class="stack">
                        <Field id="code" label="Code from the app" message=message>
                            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required aria-describedby="code-error" />
                        </Field>
                        <button type="submit" class="primary" disabled=move || pending.get()>"Turn on two-step login"</button>
                    </ActionForm>
                </div>
            }.into_any(),
        }}
    }
}

/// The recovery codes, shown this once.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <Banner kind=NoticeKind::Success>
            <p data-testid="two-step-on">"Two-step login is on. From your next login, affdesk asks for a code from the app."</p>
        </Banner>
        <div class="card stack">
            <p><strong>"Your recovery codes."</strong>" Each logs you in once without your phone. They are shown only now: print them or keep them in your password manager."</p>
            <ul class="recovery-codes" data-testid="recovery-codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
            <p><a href="/">"Continue to the overview"</a></p>
        </div>
    }
}
