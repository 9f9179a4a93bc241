//! Server functions of the Affiliate Program page.

use crate::domain::affiliate::AffiliateInput;
use crate::domain::call::CallOutcome;
use crate::domain::link_template::LinkKind;
use crate::domain::success::ReplyRules;
use crate::model::error::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

pub use crate::model::affiliate::{AffiliateState, HistoryEntry, PostedAffiliateForm};

#[server(endpoint = "affiliate_settings")]
pub async fn affiliate_settings() -> Result<AffiliateState, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::affiliate::load(&deps()?).await?)
}

#[server(endpoint = "save_affiliate_settings", input = Json)]
pub async fn save_affiliate_settings(
    input: AffiliateInput,
    version: i64,
) -> Result<AffiliateState, ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    let deps = deps()?;
    Ok(crate::service::affiliate::save(&deps, &admin.actor(), &input, version).await?)
}

/// Renders `url` (saved or not), a signup or a reversal link, with the sample signup, calls it
/// through the guarded client and judges the answer by `rules`.
#[server(endpoint = "send_test_link", input = Json)]
pub async fn send_test_link(
    url: String,
    kind: LinkKind,
    rules: ReplyRules,
) -> Result<CallOutcome, ApiError> {
    use super::context::{current_admin, deps};
    use crate::server::state::AffiliateDeps;
    current_admin()?;
    let deps: AffiliateDeps = deps()?;
    Ok(crate::service::affiliate::send_test(&deps.outbound, &url, kind, &rules).await?)
}
