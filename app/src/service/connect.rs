//! Settings → Connect signups: the API's address and the intake log.

use super::error::AppError;
use crate::model::affiliate::format_time;
use crate::model::connect::{ConnectView, IntakeCallView};
use crate::server::state::ConnectDeps;
use crate::server::storage::api_tokens;
use crate::server::storage::intake_log::{self, StatusFilter};

/// How many logged calls the page lists.
pub const SHOWN_CALLS: i64 = 100;

/// The page's data; `request_base` is where this request reached affdesk, used when no public
/// origin is configured.
#[tracing::instrument(skip_all, fields(status = status))]
pub async fn load(
    deps: &ConnectDeps,
    request_base: String,
    status: &str,
) -> Result<ConnectView, AppError> {
    let calls = intake_log::recent(&deps.db, StatusFilter::parse(status), SHOWN_CALLS).await?;
    Ok(ConnectView {
        base_url: deps.public_origin.clone().unwrap_or(request_base),
        tokens: api_tokens::list(&deps.db).await?.len() as i64,
        calls: calls
            .into_iter()
            .map(|c| IntakeCallView {
                received_at: format_time(c.received_at),
                endpoint: c.endpoint,
                token: c.token_name.unwrap_or_else(|| "unknown token".to_owned()),
                order_id: c.order_id,
                status: c.status,
                outcome: c.outcome,
                duration_ms: c.duration_ms,
            })
            .collect(),
    })
}
