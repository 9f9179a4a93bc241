//! Server function of Settings → Connect signups.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::connect::{ConnectView, IntakeCallView};

/// The API's address, whether a token exists, and the newest logged calls whose status passes
/// `status` (`""`, `"422"` or `"4xx"`).
#[server(endpoint = "connect_info")]
pub async fn connect_info(status: String) -> Result<ConnectView, ApiError> {
    use super::context::{current_admin, deps};
    use axum::http::header;
    use axum::http::request::Parts;
    current_admin()?;
    let host = use_context::<Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let base = format!("http://{host}");
    Ok(crate::service::connect::load(&deps()?, base, &status).await?)
}
