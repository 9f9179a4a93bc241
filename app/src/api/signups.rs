//! Server functions of the Signups pages and of Settings → API tokens.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::signups::{
    AttemptView, DeliveryView, LinkHealthView, ReversalView, SignupList, SignupListItem,
    SignupView, TokenView,
};

#[server(endpoint = "list_signups")]
pub async fn list_signups(
    eligible: String,
    delivery: String,
    q: String,
    page: i64,
) -> Result<SignupList, ApiError> {
    use super::context::{current_admin, deps};
    use crate::service::signups::{list, ListQuery};
    current_admin()?;
    let query = ListQuery {
        eligible,
        delivery,
        q,
        page,
    };
    Ok(list(&deps()?, query).await?)
}

#[server(endpoint = "signup_detail")]
pub async fn signup_detail(id: i64) -> Result<Option<SignupView>, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::signups::detail(&deps()?, id.into()).await?)
}

/// "Retry now": the delivery is tried at once, outside its schedule.
#[server(endpoint = "retry_delivery")]
pub async fn retry_delivery(delivery_id: i64) -> Result<(), ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    let deps = deps()?;
    Ok(crate::service::signups::retry(&deps, &admin.actor(), delivery_id.into()).await?)
}

#[server(endpoint = "link_health")]
pub async fn link_health() -> Result<Vec<LinkHealthView>, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::signups::link_health(&deps()?).await?)
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::tokens::list(&deps()?).await?)
}

/// Creates a token and returns it: the only time it is ever shown.
#[server(endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<String, ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    Ok(crate::service::tokens::create(&deps()?, &admin.actor(), &name).await?)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(name: String) -> Result<(), ApiError> {
    use super::context::{current_admin, deps};
    let admin = current_admin()?;
    Ok(crate::service::tokens::revoke(&deps()?, &admin.actor(), &name).await?)
}
