//! Rendering a page outside Leptos's routes: for a plain form post (no JavaScript), the app with
//! what was posted in context so the page shows it instead of the stored state; and the 404 page.

use crate::server::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;

pub async fn render_with<T>(
    state: AppState,
    parts: Parts,
    posted: T,
    status: StatusCode,
) -> Response
where
    T: Clone + Send + Sync + 'static,
{
    let options = state.leptos_options.clone();
    let assets_root = state.assets_root.clone();
    // In-order streaming: the HTML arrives complete and in document order, as a browser without
    // JavaScript needs it.
    let handler = leptos_axum::render_app_to_stream_in_order_with_context(
        move || {
            provide_context(state.clone());
            provide_context(posted.clone());
        },
        move || crate::app::shell(options.clone(), assets_root.clone()),
    );
    let mut response = handler(Request::from_parts(parts, Body::empty()))
        .await
        .into_response();
    *response.status_mut() = status;
    response
}
