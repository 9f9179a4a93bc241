//! Settings → Admins: who can log in, when they last did, whether they use two-step login and
//! how many sessions they have open; create an admin, disable or enable one, reset a password
//! to a one-time one, end an admin's sessions.

use crate::api::admins::{
    list_admins, AdminAction, AdminView, ChangeAdmin, CreateAdmin, OneTimePassword,
};
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::states::NoticeKind;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminsPage() -> impl IntoView {
    let create = ServerAction::<CreateAdmin>::new();
    let change = ServerAction::<ChangeAdmin>::new();
    let admins = Resource::new(
        move || (create.version().get(), change.version().get()),
        |_| list_admins(),
    );
    view! {
        <Title text="Admins" />
        <h1>"Settings → Admins"</h1>
        <p class="lead">"Everyone who can log in to affdesk. A new admin, or one whose password you reset, gets a one-time password, shown here once, and chooses their own at their first login. Nobody can disable themselves or the last admin who can log in."</p>
        <NewAdminForm create />
        <ChangeAnswer change />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || admins.get().map(|result| match result {
                Ok(list) => view! { <AdminTable list change /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// A one-time password, for the admin to hand over.
#[component]
fn OneTimePasswordBanner(made: OneTimePassword) -> impl IntoView {
    let OneTimePassword { username, password } = made;
    view! {
        <Banner kind=NoticeKind::Success>
            <p>{format!("One-time password for {username}. Hand it over now: it will not be shown again, and it must be changed at the first login.")}</p>
            <p><code data-testid="one-time-password">{password}</code></p>
        </Banner>
    }
}

#[component]
fn NewAdminForm(create: ServerAction<CreateAdmin>) -> impl IntoView {
    let error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.field_message("username").unwrap_or_else(|| e.to_string()))
    });
    let created = move || {
        create
            .value()
            .get()
            .and_then(Result::ok)
            .map(|made| view! { <OneTimePasswordBanner made /> })
    };
    view! {
        {created}
        <ActionForm action=create attr:class="card stack">
            <Field id="new-admin" label="New admin's username" help="3-64 characters: a-z, 0-9, '.', '_' and '-'." message=error>
                <input id="new-admin" name="username" required autocapitalize="none" spellcheck="false" aria-describedby="new-admin-error" />
            </Field>
            <button type="submit" class="primary">"Create admin"</button>
        </ActionForm>
    }
}

/// What the last change said: a reset's one-time password, or why it was refused.
#[component]
fn ChangeAnswer(change: ServerAction<ChangeAdmin>) -> impl IntoView {
    move || {
        match change.value().get()? {
            Ok(Some(made)) => Some(view! { <OneTimePasswordBanner made /> }.into_any()),
            Ok(None) => None,
            Err(e) => Some(view! {
                <Banner kind=NoticeKind::Error>
                    <p data-testid="admin-error">{e.field_message("username").unwrap_or_else(|| e.to_string())}</p>
                </Banner>
            }.into_any()),
        }
    }
}

#[component]
fn AdminTable(list: Vec<AdminView>, change: ServerAction<ChangeAdmin>) -> impl IntoView {
    view! {
        <table class="data" data-testid="admins">
            <thead>
                <tr><th>"Admin"</th><th>"Last login"</th><th>"Two-step login"</th><th>"Sessions"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr>
            </thead>
            <tbody>
                {list.into_iter().map(|admin| view! { <AdminRow admin change /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn AdminRow(admin: AdminView, change: ServerAction<ChangeAdmin>) -> impl IntoView {
    let AdminView {
        username,
        last_login,
        disabled,
        mfa,
        sessions,
        is_you,
        ..
    } = admin;
    let button = |action: &'static str, label: &'static str| {
        let username = username.clone();
        view! {
            <ActionForm action=change>
                <input type="hidden" name="username" value=username />
                <input type="hidden" name="action" value=action />
                <button type="submit">{label}</button>
            </ActionForm>
        }
    };
    let toggle = match (disabled, is_you) {
        (true, _) => Some(button(AdminAction::Enable.as_str(), "Enable")),
        (false, false) => Some(button(AdminAction::Disable.as_str(), "Disable")),
        (false, true) => None,
    };
    view! {
        <tr data-admin=username.clone()>
            <td>{username.clone()}{is_you.then_some(" (you)")}</td>
            <td>{last_login.unwrap_or_else(|| "never".to_owned())}</td>
            <td>{if mfa { "on" } else { "off" }}</td>
            <td>{sessions}</td>
            <td>{if disabled { "disabled" } else { "active" }}</td>
            <td class="actions">
                {toggle}
                {button(AdminAction::ResetPassword.as_str(), "Reset password")}
                {button(AdminAction::EndSessions.as_str(), "End sessions")}
                {mfa.then(|| button(AdminAction::ResetMfa.as_str(), "Reset two-step login"))}
            </td>
        </tr>
    }
}
