//! The frame around every admin page: product name, who is logged in, navigation, log out.

use crate::api::account::admin_resource;
use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

#[component]
pub fn AdminShell() -> impl IntoView {
    let me = admin_resource();
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "affdesk"
            </a>
            <span class="who">
                <Suspense fallback=|| ()>
                    {move || {
                        me.get()
                            .and_then(Result::ok)
                            .map(|admin| {
                                view! {
                                    "Logged in as "
                                    <strong data-testid="current-admin">{admin.username}</strong>
                                }
                            })
                    }}
                </Suspense>
            </span>
            <form method="post" action="/logout" class="logout">
                <button type="submit" class="link-button">
                    "Log out"
                </button>
            </form>
        </header>
        <div class="frame">
            <nav class="sidebar" aria-label="Main">
                <p class="nav-heading">"Settings"</p>
                <A href="/settings/affiliate">"Affiliate Program"</A>
                <A href="/settings/connect">"Connect signups"</A>
                <A href="/settings/api-tokens">"API tokens"</A>
                <A href="/settings/alerts">"Alerts"</A>
                <A href="/settings/explodely">"Explodely"</A>
                <A href="/settings/admins">"Admins"</A>
                <A href="/settings/audit">"Audit log"</A>
                <p class="nav-heading">"Affiliates"</p>
                <A href="/affiliate/contracts">"Affiliate contracts"</A>
                <A href="/signups">"Signups"</A>
                <p class="nav-heading">"Account"</p>
                <A href="/account/password">"Change password"</A>
                <A href="/account/mfa">"Two-step login"</A>
            </nav>
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}
