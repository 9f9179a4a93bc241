//! affdesk's application: the pure domain rules, the server adapters (ssr only), the server
//! functions and the Leptos views, compiled to wasm for hydration and natively for the server.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

pub use app::{shell, App};

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the current page's wasm chunk (see `app::lazy_pages`) before hydrating.
    leptos::mount::hydrate_lazy(App);
}
