//! HTTP plumbing: middleware every request passes, sessions, and the handlers that are not
//! Leptos pages or server functions (login and logout, plain-form posts, the signup intake).
//! Each handler is an adapter over `crate::service`.

pub mod affiliate_form;
pub mod auth_http;
pub mod contract_form;
pub mod downloads;
pub mod guard;
pub mod intake;
pub mod openapi;
pub mod posted_page;
pub mod session;
