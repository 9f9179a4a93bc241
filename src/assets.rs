//! The built site's files: `pkg/` (the wasm modules, their JavaScript, the stylesheet) and what
//! `public/` holds (the icon, robots.txt). Everything the router does not match comes here; a path that names
//! no file gets the application's 404 page.
//!
//! Served as a browser should get them:
//! - compressed: `cargo leptos build --release --precompress` writes a brotli (`.br`) and a gzip
//!   (`.gz`) copy beside each file, and a client that accepts either gets it instead of the file
//!   (a page's wasm uncompressed is about three times its brotli copy). A build without them
//!   (debug) is served as it is.
//! - revalidated, never stale: file names carry no hash, so a browser may keep a copy but must ask
//!   before using it (`Cache-Control: no-cache`); unchanged files answer `304 Not Modified`
//!   (`If-Modified-Since`), and a new release is picked up on the next page load, never mixed
//!   with the previous release's wasm.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use axum::Router;
use std::convert::Infallible;
use tower::{Layer, Service};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// `router` with `site_root`'s files behind its routes; requests for anything else go to
/// `not_found`.
pub fn with_site_files<S, NotFound>(
    router: Router<S>,
    site_root: &str,
    not_found: NotFound,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    NotFound:
        Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    NotFound::Future: Send + 'static,
{
    let files = ServeDir::new(site_root)
        .precompressed_br()
        .precompressed_gzip()
        // Directories are not pages: `/pkg/` is a 404, not a listing or an index.html.
        .append_index_html_on_directories(false)
        // A POST to a path that is no route and no file is a 404 like any other.
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found);
    let files = SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    )
    .layer(files);
    // The same URL answers in different encodings: a cache must key on what the client accepts.
    let files = SetResponseHeaderLayer::appending(
        header::VARY,
        HeaderValue::from_static("accept-encoding"),
    )
    .layer(files);
    router.fallback_service(files)
}
