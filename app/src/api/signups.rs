//! Server functions of the Signups pages and of Settings → API tokens.

use super::error::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupListItem {
    pub id: i64,
    pub order_id: String,
    pub account_id: String,
    pub user_name: String,
    pub payment_method: String,
    pub eligible: bool,
    pub reason: String,
    pub created_at: String,
    pub delivered: i64,
    pub pending: i64,
    pub failing: i64,
    pub exhausted: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupList {
    pub items: Vec<SignupListItem>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    pub started_at: String,
    pub duration_ms: i64,
    pub status: Option<i32>,
    pub body_excerpt: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub link: i32,
    pub url: String,
    pub state: String,
    pub tries: i32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub attempts: Vec<AttemptView>,
}

impl DeliveryView {
    pub fn can_retry(&self) -> bool {
        matches!(self.state.as_str(), "failing" | "failed" | "exhausted")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupView {
    pub id: i64,
    pub eligible: bool,
    pub reason: String,
    pub created_at: String,
    pub fields: Vec<(String, String)>,
    pub deliveries: Vec<DeliveryView>,
    pub pixels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHealthView {
    pub link: i32,
    /// In the last 24 hours: tries that delivered, tries that failed (retried or not), and
    /// deliveries given up.
    pub delivered: i64,
    pub failed_tries: i64,
    pub given_up: i64,
    /// The link has failed for 24 hours without a success.
    pub warning: bool,
}

#[server(endpoint = "list_signups")]
pub async fn list_signups(
    eligible: String,
    delivery: String,
    q: String,
    page: i64,
) -> Result<SignupList, ApiError> {
    use super::affiliate::format_time;
    use super::context::{current_admin, internal, state};
    use crate::server::signup_queries::{self, Filter, PAGE_SIZE};
    current_admin()?;
    let state = state()?;
    let filter = Filter {
        eligible: match eligible.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        delivery: match delivery.as_str() {
            d @ ("pending" | "delivered" | "failing" | "exhausted") => d.to_owned(),
            _ => String::new(),
        },
        search: q.chars().take(128).collect(),
        page: page.max(1),
    };
    let (rows, total) = signup_queries::list(&state.db, &filter)
        .await
        .map_err(internal)?;
    Ok(SignupList {
        items: rows
            .into_iter()
            .map(|r| SignupListItem {
                id: r.id,
                order_id: r.order_id,
                account_id: r.account_id,
                user_name: r.user_name,
                payment_method: r.payment_method,
                eligible: r.eligible,
                reason: r.reason,
                created_at: format_time(r.created_at),
                delivered: r.delivered,
                pending: r.pending,
                failing: r.failing,
                exhausted: r.exhausted,
            })
            .collect(),
        total,
        page: filter.page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
    })
}

#[server(endpoint = "signup_detail")]
pub async fn signup_detail(id: i64) -> Result<Option<SignupView>, ApiError> {
    use super::affiliate::format_time;
    use super::context::{current_admin, internal, state};
    use crate::domain::signup::SignupIntake;
    use crate::server::signup_queries;
    current_admin()?;
    let state = state()?;
    let Some((signup, deliveries, attempts)) = signup_queries::signup(&state.db, id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let intake: SignupIntake = serde_json::from_str(&signup.details).map_err(internal)?;
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let fields = vec![
        ("Order ID".to_owned(), intake.order_id),
        ("Account ID".to_owned(), intake.account_id),
        ("User name".to_owned(), intake.user_name),
        ("Domain".to_owned(), intake.domain),
        ("Plan ID".to_owned(), intake.plan_id),
        ("Plan name".to_owned(), intake.plan_name),
        ("Amount".to_owned(), intake.amount),
        ("Full amount".to_owned(), intake.full_amount),
        ("Currency".to_owned(), intake.currency),
        (
            "Payment method".to_owned(),
            intake.payment_method.label().to_owned(),
        ),
        ("Moderated".to_owned(), yes_no(intake.moderated)),
        ("Trial".to_owned(), yes_no(intake.trial)),
        ("Click ID".to_owned(), intake.click_id),
        ("Email".to_owned(), intake.email),
        ("Signup time".to_owned(), format_time(intake.signup_time)),
    ];
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryView {
            id: d.id,
            link: d.slot,
            url: d.url,
            state: d.state,
            tries: d.tries,
            next_attempt_at: format_time(d.next_attempt_at),
            last_error: d.last_error,
            delivered_at: d.delivered_at.map(format_time),
            attempts: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptView {
                    started_at: format_time(a.started_at),
                    duration_ms: a.duration_ms,
                    status: a.status_code,
                    body_excerpt: a.body_excerpt.clone(),
                    error: a.error_message.clone().or_else(|| a.error_kind.clone()),
                })
                .collect(),
        })
        .collect();
    Ok(Some(SignupView {
        id: signup.id,
        eligible: signup.eligible,
        reason: signup.reason,
        created_at: format_time(signup.created_at),
        fields,
        deliveries,
        pixels: serde_json::from_str(&signup.pixel_urls).map_err(internal)?,
    }))
}

/// "Retry now": the delivery is tried at once, outside its schedule.
#[server(endpoint = "retry_delivery")]
pub async fn retry_delivery(delivery_id: i64) -> Result<(), ApiError> {
    use super::context::{current_admin, fail, internal, state};
    use crate::server::signup_queries;
    let admin = current_admin()?;
    let state = state()?;
    if !signup_queries::retry_now(&state.db, delivery_id, state.clock.now())
        .await
        .map_err(internal)?
    {
        return Err(fail(ApiError::invalid(
            "delivery",
            "only a failing, failed or exhausted delivery can be retried",
        )));
    }
    tracing::info!(admin = %admin.username, delivery_id, "delivery retried by hand");
    state.deliveries.wake();
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) fn health_views(
    rows: Vec<crate::server::signup_queries::LinkHealthRow>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<LinkHealthView> {
    rows.into_iter()
        .map(|r| LinkHealthView {
            link: r.slot,
            delivered: r.delivered,
            failed_tries: r.failed_tries,
            given_up: r.given_up,
            warning: crate::domain::link_health::warns(r.failing_since, now),
        })
        .collect()
}

#[server(endpoint = "link_health")]
pub async fn link_health() -> Result<Vec<LinkHealthView>, ApiError> {
    use super::context::{current_admin, internal, state};
    use crate::server::signup_queries;
    current_admin()?;
    let state = state()?;
    let now = state.clock.now();
    let rows = signup_queries::link_health(&state.db, now)
        .await
        .map_err(internal)?;
    Ok(health_views(rows, now))
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, ApiError> {
    use super::affiliate::format_time;
    use super::context::{current_admin, internal, state};
    current_admin()?;
    let state = state()?;
    let tokens = crate::server::api_tokens::list(&state.db)
        .await
        .map_err(internal)?;
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
#[server(endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<String, ApiError> {
    use super::context::{current_admin, fail, internal, state};
    use crate::server::api_tokens::{self, CreateToken};
    let admin = current_admin()?;
    let state = state()?;
    let name = name.trim().to_owned();
    api_tokens::check_name(&name).map_err(|e| fail(ApiError::invalid("name", e)))?;
    match api_tokens::create(&state.db, &name, state.clock.now())
        .await
        .map_err(internal)?
    {
        CreateToken::Created { token } => {
            tracing::info!(admin = %admin.username, token = %name, "API token created");
            Ok(token)
        }
        CreateToken::NameTaken => Err(fail(ApiError::invalid(
            "name",
            format!("a token named '{name}' exists; choose another name"),
        ))),
    }
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(name: String) -> Result<(), ApiError> {
    use super::context::{current_admin, fail, internal, state};
    let admin = current_admin()?;
    let state = state()?;
    if !crate::server::api_tokens::revoke(&state.db, &name)
        .await
        .map_err(internal)?
    {
        return Err(fail(ApiError::invalid(
            "name",
            format!("no token is named '{name}'"),
        )));
    }
    tracing::info!(admin = %admin.username, token = %name, "API token revoked");
    Ok(())
}
