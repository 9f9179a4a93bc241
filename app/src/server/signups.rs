//! Recording a reported signup. One transaction stores the signup, its decision and one delivery
//! per server-to-server link, so a 201 means nothing can be lost any more.

use crate::domain::affiliate::{AffiliateConfig, DeliveryMode};
use crate::domain::call::pixel_html;
use crate::domain::eligibility::Decision;
use crate::domain::signup::SignupIntake;
use crate::server::db::BeginWrite;
use crate::server::db::Db;
use crate::server::session::random_token;
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// How long the signup-complete page of a signup can be opened.
pub const COMPLETE_PAGE_LIFETIME: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedDelivery {
    pub id: i64,
    pub link: i64,
    pub url: String,
}

/// The 201 answer, stored so an identical repeat gets exactly the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeAnswer {
    pub signup_id: i64,
    pub order_id: String,
    pub eligible: bool,
    pub reason: String,
    pub deliveries: Vec<QueuedDelivery>,
    pub pixels: Vec<String>,
    pub pixel_html: String,
    pub complete_url: String,
}

#[derive(Debug)]
pub enum RecordOutcome {
    Created(IntakeAnswer),
    /// The same `order_id` with the same body: the original answer.
    Repeat(IntakeAnswer),
    /// The same `order_id` with a different body.
    Conflict,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored answer unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

/// The decision after the program switch: an eligible signup fires nothing while it is off.
pub fn final_decision(decision: &Decision, config: &AffiliateConfig) -> (bool, String) {
    match (decision.eligible(), config.program_enabled) {
        (true, true) => (true, decision.reason.clone()),
        (true, false) => (
            false,
            format!(
                "{}, but the affiliate program is switched off",
                decision.reason.trim_end_matches(": counts as a sale")
            ),
        ),
        (false, _) => (false, decision.reason.clone()),
    }
}

/// The tracker a delivery goes to, `host:port`, for the per-host concurrency limit.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_default()
}

async fn existing(
    db: &Db,
    order_id: &str,
    request_hash: &str,
) -> Result<Option<RecordOutcome>, RecordError> {
    const SQL: &str = "SELECT request_hash, answer FROM signups WHERE order_id = $1";
    let row: Option<(String, String)> =
        with_pool!(db, pool => sqlx::query_as(SQL).bind(order_id).fetch_optional(pool).await)?;
    Ok(match row {
        Some((hash, answer)) if hash == request_hash => {
            Some(RecordOutcome::Repeat(serde_json::from_str(&answer)?))
        }
        Some(_) => Some(RecordOutcome::Conflict),
        None => None,
    })
}

/// Stores the signup and queues its deliveries, or recognises a repeat.
pub async fn record(
    db: &Db,
    intake: &SignupIntake,
    request_hash: &str,
    config: &AffiliateConfig,
    decision: &Decision,
    now: DateTime<Utc>,
    public_base: &str,
) -> Result<RecordOutcome, RecordError> {
    // A repeat is recognised by the unique order id when the insert fails, not by a query first:
    // repeats are rare, and every new signup saves the round trip.
    let (eligible, reason) = final_decision(decision, config);
    let values = intake.values(decision.signup_type);
    let mut server_links = Vec::new();
    let mut pixels = Vec::new();
    if eligible {
        for (i, slot) in config.slots.iter().enumerate() {
            if let Some(link) = slot.fires() {
                let url = link.render(&values);
                match slot.mode {
                    DeliveryMode::ServerToServer => server_links.push((i as i64 + 1, url)),
                    DeliveryMode::BrowserPixel => pixels.push(url),
                }
            }
        }
    }
    let public_token = random_token(16);
    let details = serde_json::to_string(intake)?;
    let pixel_json = serde_json::to_string(&pixels)?;

    const INSERT_SIGNUP: &str =
        "INSERT INTO signups (order_id, request_hash, account_id, user_name, \
        payment_method, moderated, trial, eligible, reason, details, answer, public_token, \
        public_expires_at, pixel_urls, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', $11, $12, $13, $14) RETURNING id";
    const SET_ANSWER: &str = "UPDATE signups SET answer = $1 WHERE id = $2";

    // An async block, so that `?` ends the block (and the transaction) rather than `record`: a
    // repeated order id must reach the unique-violation arm below.
    let result: Result<IntakeAnswer, RecordError> = async { with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let signup_id: i64 = sqlx::query_scalar(INSERT_SIGNUP)
            .bind(&intake.order_id)
            .bind(request_hash)
            .bind(&intake.account_id)
            .bind(&intake.user_name)
            .bind(intake.payment_method.as_str())
            .bind(intake.moderated)
            .bind(intake.trial)
            .bind(eligible)
            .bind(&reason)
            .bind(&details)
            .bind(&public_token)
            .bind(now + COMPLETE_PAGE_LIFETIME)
            .bind(&pixel_json)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let mut deliveries = Vec::with_capacity(server_links.len());
        if !server_links.is_empty() {
            // One statement for all of the signup's deliveries.
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO deliveries (signup_id, slot, url, host, state, next_attempt_at, created_at) ",
            );
            insert.push_values(&server_links, |mut row, (link, url)| {
                row.push_bind(signup_id)
                    .push_bind(*link)
                    .push_bind(url)
                    .push_bind(host_of(url))
                    .push_bind("pending")
                    .push_bind(now)
                    .push_bind(now);
            });
            insert.push(" RETURNING id, CAST(slot AS BIGINT)");
            let rows: Vec<(i64, i64)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            for (id, link) in rows {
                let url = server_links
                    .iter()
                    .find(|(l, _)| *l == link)
                    .map(|(_, url)| url.clone())
                    .unwrap_or_default();
                deliveries.push(QueuedDelivery { id, link, url });
            }
            deliveries.sort_by_key(|d| d.link);
        }
        let answer = IntakeAnswer {
            signup_id,
            order_id: intake.order_id.clone(),
            eligible,
            reason: reason.clone(),
            deliveries,
            pixel_html: pixel_html(&pixels),
            pixels: pixels.clone(),
            complete_url: format!("{public_base}/signup/complete/{public_token}"),
        };
        sqlx::query(SET_ANSWER)
            .bind(serde_json::to_string(&answer)?)
            .bind(signup_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(answer)
    }) }
    .await;
    match result {
        Ok(answer) => Ok(RecordOutcome::Created(answer)),
        // Two requests with one order_id raced; the loser answers as a repeat would.
        Err(RecordError::Db(sqlx::Error::Database(e))) if e.is_unique_violation() => {
            Ok(existing(db, &intake.order_id, request_hash)
                .await?
                .unwrap_or(RecordOutcome::Conflict))
        }
        Err(e) => Err(e),
    }
}

/// The pixel URLs of the signup with this public token, unless it has expired.
pub async fn complete_page_pixels(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<String>>, RecordError> {
    const SQL: &str =
        "SELECT pixel_urls FROM signups WHERE public_token = $1 AND public_expires_at > $2";
    let row: Option<String> = with_pool!(db, pool => sqlx::query_scalar(SQL).bind(token).bind(now).fetch_optional(pool).await)?;
    Ok(match row {
        Some(json) => Some(serde_json::from_str(&json)?),
        None => None,
    })
}
