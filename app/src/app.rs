//! The HTML shell and the route table.

use crate::components::shell::AdminShell;
use crate::pages::{
    account::ChangePasswordPage,
    affiliate::AffiliatePage,
    contracts::{ContractDetailPage, ContractsPage, ExplodelySettingsPage, NewContractPage},
    dashboard::Dashboard,
    login::LoginPage,
    not_found::NotFound,
    signups::{SignupDetailPage, SignupsPage},
    tokens::ApiTokensPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    allow_this_pages_hydration_script();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The hydration script is inline; the page's Content-Security-Policy admits it by the nonce
/// leptos_axum generated for this response, and nothing else inline.
#[cfg(feature = "ssr")]
fn allow_this_pages_hydration_script() {
    use axum::http::{header, HeaderValue};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = crate::server::guard::content_security_policy(Some(nonce.as_inner()));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Every route renders with `SsrMode::Async`: the server waits for the page's data and sends
/// finished HTML, so each page works without JavaScript (out-of-order streaming would need a
/// script to put `Suspense` content in place). Admin pages are small; the wait is one query.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Browser tests wait for this before clicking: it flips only once the wasm has hydrated.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Stylesheet id="leptos" href="/pkg/affdesk.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "affdesk".to_owned() } else { format!("{page} · affdesk") }
        } />
        <Router>
            <div id="app" data-hydrated=move || hydrated.get().to_string()>
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <ParentRoute path=path!("") view=AdminShell ssr=SsrMode::Async>
                        <Route path=path!("") view=Dashboard ssr=SsrMode::Async />
                        <Route path=path!("/settings/affiliate") view=AffiliatePage ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts") view=ContractsPage ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts/new") view=NewContractPage ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts/:id") view=ContractDetailPage ssr=SsrMode::Async />
                        <Route path=path!("/settings/explodely") view=ExplodelySettingsPage ssr=SsrMode::Async />
                        <Route path=path!("/signups") view=SignupsPage ssr=SsrMode::Async />
                        <Route path=path!("/signups/:id") view=SignupDetailPage ssr=SsrMode::Async />
                        <Route path=path!("/settings/api-tokens") view=ApiTokensPage ssr=SsrMode::Async />
                        <Route path=path!("/account/password") view=ChangePasswordPage ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </div>
        </Router>
    }
}
