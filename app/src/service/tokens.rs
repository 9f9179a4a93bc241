//! Settings -> API tokens: the bearer tokens a billing system reports signups with.

use super::error::AppError;
use crate::domain::states::AuditKind;
use crate::model::affiliate::format_time;
use crate::model::signups::TokenView;
use crate::server::state::SignupDeps;
use crate::server::storage::api_tokens::{self, CreateToken};
use crate::server::storage::audit_log::Actor;

#[tracing::instrument(skip_all)]
pub async fn list(deps: &SignupDeps) -> Result<Vec<TokenView>, AppError> {
    let tokens = api_tokens::list(&deps.db).await?;
    Ok(tokens
        .into_iter()
        .map(|t| TokenView {
            name: t.name,
            created_at: format_time(t.created_at),
            last_used_at: t.last_used_at.map(format_time),
        })
        .collect())
}

/// Creates a token and returns it: the only time it is ever shown.
#[tracing::instrument(skip_all, fields(admin = %actor.name))]
pub async fn create(deps: &SignupDeps, actor: &Actor, name: &str) -> Result<String, AppError> {
    let name = name.trim();
    api_tokens::check_name(name).map_err(|e| AppError::invalid("name", e))?;
    let audit = actor.event(
        AuditKind::TokenCreated,
        format!("API token '{name}' created"),
        deps.clock.now(),
    );
    match api_tokens::create(&deps.db, name, &audit).await? {
        CreateToken::Created { token } => {
            tracing::info!(admin = %actor.name, token = %name, "API token created");
            Ok(token)
        }
        CreateToken::NameTaken => Err(AppError::invalid(
            "name",
            format!("a token named '{name}' exists; choose another name"),
        )),
    }
}

#[tracing::instrument(skip_all, fields(admin = %actor.name, token = %name))]
pub async fn revoke(deps: &SignupDeps, actor: &Actor, name: &str) -> Result<(), AppError> {
    let audit = actor.event(
        AuditKind::TokenRevoked,
        format!("API token '{name}' revoked"),
        deps.clock.now(),
    );
    if !api_tokens::revoke(&deps.db, name, &audit).await? {
        return Err(AppError::invalid(
            "name",
            format!("no token is named '{name}'"),
        ));
    }
    tracing::info!(admin = %actor.name, token = %name, "API token revoked");
    Ok(())
}
