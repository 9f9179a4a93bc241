//! affdesk's application, compiled to wasm for hydration and natively for the server:
//!
//! - `domain`: pure rules, no I/O (both sides);
//! - `model`: what travels between server and pages, and the wire error (both sides);
//! - `service`: the use cases, one function per user action (server only);
//! - `server`: storage, HTTP plumbing, remote calls, security, background work (server only);
//! - `api`: thin `#[server]` functions over `service`;
//! - `pages`, `components`: the Leptos views.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod service;

pub use app::{shell, App};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Only now do the page's buttons and fields run Rust; browser tests wait for this mark before
    // they type or click (text typed earlier is replaced by hydration).
    if let Some(app) = leptos::prelude::document().get_element_by_id("app") {
        let _ = app.set_attribute("data-hydrated", "true");
    }
}
