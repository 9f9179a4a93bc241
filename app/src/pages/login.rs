//! The login page: a plain form posted to `/login`, so it works with JavaScript off.

use crate::components::form::{Banner, Field};
use crate::domain::states::NoticeKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The wording for each outcome code the login handler redirects with. Codes, not text, travel
/// in the URL, so nobody can make this page display a message of their choosing.
fn outcome_message(error: &str, info: &str, retry: &str) -> Option<(NoticeKind, String)> {
    match (error, info) {
        ("invalid", _) => Some((NoticeKind::Error, "Wrong username or password.".to_owned())),
        ("throttled", _) => {
            let wait = retry
                .parse::<u64>()
                .map(|s| format!("in {s} seconds"))
                .unwrap_or_else(|_| "later".to_owned());
            Some((
                NoticeKind::Error,
                format!(
                    "Too many failed logins. Logging in is paused for this account or address; \
                     try again {wait}."
                ),
            ))
        }
        ("expired", _) => Some((
            NoticeKind::Error,
            "Your login waited too long for its code. Log in again.".to_owned(),
        )),
        (_, "logged_out") => Some((NoticeKind::Success, "You have been logged out.".to_owned())),
        _ => None,
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let message = move || outcome_message(&param("error"), &param("info"), &param("retry"));

    view! {
        <Title text="Log in" />
        <main class="login">
            <h1 class="brand">"affdesk"</h1>
            <p class="lead">"Log in to manage your affiliate program."</p>
            {move || {
                message()
                    .map(|(kind, text)| {
                        view! {
                            <Banner kind=kind>
                                <p data-testid="login-message">{text}</p>
                            </Banner>
                        }
                    })
            }}
            <form method="post" action="/login" class="card stack">
                <input type="hidden" name="next" value=move || param("next") />
                <Field id="username" label="Username">
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        autocapitalize="none"
                        spellcheck="false"
                        required
                        value=move || param("username")
                    />
                </Field>
                <Field id="password" label="Password">
                    <input
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                </Field>
                <button type="submit" class="primary">
                    "Log in"
                </button>
            </form>
        </main>
    }
}

/// What the second-factor page says after a refused code; like the login page, codes travel in
/// the URL, never text.
fn second_factor_message(error: &str, retry: &str) -> Option<String> {
    match error {
        "invalid" => Some(
            "That code is not right, or it was used already. Type the code your app shows now, or one of your recovery codes."
                .to_owned(),
        ),
        "throttled" => outcome_message("throttled", "", retry).map(|(_, text)| text),
        _ => None,
    }
}

/// The second step of a login for an admin with two-step login: the code from the
/// authenticator app, or a recovery code. A plain form posted to `/login/mfa`.
#[component]
pub fn SecondFactorPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |key: &str| query.with(|q| q.get(key)).unwrap_or_default();
    let message = move || second_factor_message(&param("error"), &param("retry"));
    view! {
        <Title text="Two-step login" />
        <main class="login">
            <h1 class="brand">"affdesk"</h1>
            <p class="lead">"Enter the code your authenticator app shows for affdesk."</p>
            {move || message().map(|text| view! {
                <Banner kind=NoticeKind::Error>
                    <p data-testid="login-message">{text}</p>
                </Banner>
            })}
            <form method="post" action="/login/mfa" class="card stack">
                <input type="hidden" name="next" value=move || param("next") />
                <Field id="code" label="Code" help="Six digits from the app; or, without your phone, one of your recovery codes (xxxxx-xxxxx), each usable once.">
                    <input id="code" name="code" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" required autofocus />
                </Field>
                <button type="submit" class="primary">"Log in"</button>
            </form>
            <p><a href="/login">"Start again with the password"</a></p>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::outcome_message;

    #[test]
    fn every_failure_reads_the_same_whether_or_not_the_user_exists() {
        let (kind, text) = outcome_message("invalid", "", "").unwrap();
        assert_eq!(kind, crate::domain::states::NoticeKind::Error);
        assert_eq!(text, "Wrong username or password.");
    }

    #[test]
    fn a_throttled_login_says_when_to_retry() {
        let (_, text) = outcome_message("throttled", "", "42").unwrap();
        assert!(text.contains("try again in 42 seconds"), "{text}");
        let (_, text) = outcome_message("throttled", "", "<script>").unwrap();
        assert!(text.contains("try again later"), "{text}");
    }

    #[test]
    fn unknown_codes_show_nothing() {
        assert_eq!(outcome_message("<b>hi</b>", "", ""), None);
    }
}
