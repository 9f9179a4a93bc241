//! The HTML shell and the route table.

use crate::components::shell::AdminShell;
use crate::pages::{
    account::ChangePasswordPage,
    admins::AdminsPage,
    affiliate::AffiliatePage,
    audit::AuditPage,
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
use leptos_router::{lazy_route, path, Lazy, LazyRoute, SsrMode};

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

/// Each page is its own lazily loaded route: `cargo leptos build --split` puts a page's view code
/// (and the decoders of its server functions) in a wasm chunk of its own, which the browser loads
/// only for that page, so the first download holds the shell, the router and what pages share.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    LoginRoute => LoginPage,
    SecondFactorRoute => SecondFactorPage,
    DashboardRoute => Dashboard,
    AffiliateRoute => AffiliatePage,
    ContractsRoute => ContractsPage,
    NewContractRoute => NewContractPage,
    ContractDetailRoute => ContractDetailPage,
    ExplodelySettingsRoute => ExplodelySettingsPage,
    SignupsRoute => SignupsPage,
    SignupDetailRoute => SignupDetailPage,
    ApiTokensRoute => ApiTokensPage,
    AuditRoute => AuditPage,
    AdminsRoute => AdminsPage,
    ChangePasswordRoute => ChangePasswordPage,
    TwoStepRoute => TwoStepPage,
}

/// Every route renders with `SsrMode::Async`: the server waits for the page's data and sends
/// finished HTML, so each page works without JavaScript (out-of-order streaming would need a
/// script to put `Suspense` content in place). Admin pages are small; the wait is one query.
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
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login/mfa") view={Lazy::<SecondFactorRoute>::new()} ssr=SsrMode::Async />
                    <ParentRoute path=path!("") view=AdminShell ssr=SsrMode::Async>
                        <Route path=path!("") view={Lazy::<DashboardRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/affiliate") view={Lazy::<AffiliateRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts") view={Lazy::<ContractsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts/new") view={Lazy::<NewContractRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/affiliate/contracts/:id") view={Lazy::<ContractDetailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/explodely") view={Lazy::<ExplodelySettingsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/signups") view={Lazy::<SignupsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/signups/:id") view={Lazy::<SignupDetailRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/api-tokens") view={Lazy::<ApiTokensRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/settings/admins") view={Lazy::<AdminsRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/account/password") view={Lazy::<ChangePasswordRoute>::new()} ssr=SsrMode::Async />
                        <Route path=path!("/account/mfa") view={Lazy::<TwoStepRoute>::new()} ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </div>
        </Router>
    }
}
