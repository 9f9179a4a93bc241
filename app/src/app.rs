//! The HTML shell and the route table.

use crate::components::shell::AdminShell;
use crate::pages::{
    account::ChangePasswordPage,
    admins::AdminsPage,
    affiliate::AffiliatePage,
    alerts::AlertsPage,
    audit::AuditPage,
    connect::ConnectPage,
    contracts::{ContractDetailPage, ContractsPage, ExplodelySettingsPage, NewContractPage},
    dashboard::Dashboard,
    login::{LoginPage, SecondFactorPage},
    not_found::NotFound,
    signups::{SignupDetailPage, SignupsPage},
    tokens::ApiTokensPage,
    two_step::TwoStepPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The page around the app, rendered on the server only. `assets_root` is where this build's
/// files are served (`/assets/<build id>`): their URLs change with their content, so the browser
/// keeps them for good and a returning admin downloads nothing but the page.
pub fn shell(options: LeptosOptions, assets_root: std::sync::Arc<str>) -> impl IntoView {
    #[cfg(feature = "ssr")]
    allow_this_pages_hydration_script();
    let stylesheet = format!("{assets_root}/{}/affdesk.css", options.site_pkg_dir);
    let icon = format!("{assets_root}/favicon.svg");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <link rel="icon" href=icon type="image/svg+xml" />
                <HydrationScripts options root=assets_root.to_string() />
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
    let policy = crate::server::http::guard::content_security_policy(Some(nonce.as_inner()));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Every route renders with `SsrMode::Async`: the server waits for the page's data and sends
/// finished HTML, so each page works without JavaScript (out-of-order streaming would need a
/// script to put `Suspense` content in place). Admin pages are small; the wait is one query.
///
/// Every page is in the one wasm module (no lazily loaded routes, no `--split`): measured in the
/// browser (`bench/page-load`, issue 21), the split build's Affiliate Program page needed 101
/// requests, most of them small chunks behind the browser's six connections, and was hydrated
/// after 2.2 s at 100 ms and 10 Mbit/s and 4.4 s on Fast 3G; the one module, the same bytes in
/// 5 requests, after 0.65 s and 2.3 s. Every later page then costs nothing to load.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "affdesk".to_owned() } else { format!("{page} · affdesk") }
        } />
        <Router>
            // `hydrate()` (lib.rs) sets `data-hydrated` to "true" once the page has hydrated.
            <div id="app" data-hydrated="false">
                <Routes fallback=NotFound>
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/login/mfa") view=SecondFactorPage ssr=SsrMode::Async />
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
                        <Route path=path!("/settings/connect") view=ConnectPage ssr=SsrMode::Async />
                        <Route path=path!("/settings/alerts") view=AlertsPage ssr=SsrMode::Async />
                        <Route path=path!("/settings/audit") view=AuditPage ssr=SsrMode::Async />
                        <Route path=path!("/settings/admins") view=AdminsPage ssr=SsrMode::Async />
                        <Route path=path!("/account/password") view=ChangePasswordPage ssr=SsrMode::Async />
                        <Route path=path!("/account/mfa") view=TwoStepPage ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </div>
        </Router>
    }
}
