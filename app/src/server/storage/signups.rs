//! Recording a reported signup. One transaction stores the signup, its decision and one delivery
//! per server-to-server link, so a 201 means nothing can be lost any more.

use crate::domain::affiliate::{AffiliateConfig, DeliveryMode};
use crate::domain::call::pixel_html;
use crate::domain::conditions::{Fired, LinkOutcome};
use crate::domain::eligibility::{Decision, SignupType};
use crate::domain::link_health::hour_of;
use crate::domain::link_template::SignupValues;
use crate::domain::signup::SignupIntake;
use crate::domain::states::DeliveryState;
use crate::domain::success::ReplyRules;
use crate::server::security::tokens::random_token;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// How long the signup-complete page of a signup can be opened.
pub const COMPLETE_PAGE_LIFETIME: TimeDelta = TimeDelta::hours(24);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueuedDelivery {
    pub id: i64,
    pub link: i64,
    pub url: String,
}

/// The 201 answer, stored so an identical repeat gets exactly the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeAnswer {
    pub signup_id: i64,
    pub order_id: String,
    pub eligible: bool,
    pub reason: String,
    pub deliveries: Vec<QueuedDelivery>,
    pub pixels: Vec<String>,
    pub pixel_html: String,
    pub complete_url: String,
    /// Links whose conditions left this signup out, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
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
    #[error("the signup writer has stopped (the server is shutting down)")]
    WriterStopped,
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
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
pub fn host_of(url: &str) -> String {
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

/// What a signup's links do: the server-to-server calls to queue, the pixels, and what each
/// link did (skipped ones with why).
#[derive(Debug, Default)]
struct FiredLinks {
    server_links: Vec<(i64, String, ReplyRules)>,
    pixels: Vec<String>,
    outcomes: Vec<LinkOutcome>,
}

/// Renders the links a counted signup (`signup_type` is `Some`) fires, each by its conditions.
fn fire(
    config: &AffiliateConfig,
    intake: &SignupIntake,
    values: &SignupValues,
    signup_type: Option<SignupType>,
) -> FiredLinks {
    let mut fired = FiredLinks::default();
    let Some(signup_type) = signup_type else {
        return fired;
    };
    for (i, slot) in config.slots.iter().enumerate() {
        let Some(link) = slot.fires() else {
            continue;
        };
        let n = i as i64 + 1;
        let (how, detail) =
            match slot
                .conditions
                .check(&intake.plan_id, &intake.amount, signup_type)
            {
                Err(why) => (Fired::Skipped, format!("link {n}: {why}")),
                Ok(()) if slot.mode == DeliveryMode::ServerToServer => {
                    let url = link.render(values);
                    fired.server_links.push((n, url, slot.rules.clone()));
                    (Fired::Server, String::new())
                }
                Ok(()) => {
                    fired.pixels.push(link.render(values));
                    (Fired::Pixel, String::new())
                }
            };
        fired.outcomes.push(LinkOutcome {
            link: n,
            fired: how,
            detail,
        });
    }
    fired
}

/// A signup ready to store: everything but the ids the database gives it.
#[derive(Debug)]
pub struct Prepared {
    order_id: String,
    request_hash: String,
    account_id: String,
    user_name: String,
    payment_method: &'static str,
    moderated: bool,
    trial: bool,
    eligible: bool,
    reason: String,
    details: String,
    public_token: String,
    pixels: Vec<String>,
    pixel_json: String,
    complete_url: String,
    /// The server-to-server links that fire: (slot, URL, the link's reply rules).
    server_links: Vec<(i64, String, ReplyRules)>,
    /// What each link did (JSON of [`LinkOutcome`]s), and the skipped ones' reasons.
    link_outcomes: String,
    skipped: Vec<String>,
    now: DateTime<Utc>,
}

impl Prepared {
    /// Decides what fires and renders the links, before the signup goes to the writer.
    pub fn new(
        intake: &SignupIntake,
        request_hash: &str,
        config: &AffiliateConfig,
        decision: &Decision,
        now: DateTime<Utc>,
        public_base: &str,
    ) -> Result<Self, RecordError> {
        let (eligible, reason) = final_decision(decision, config);
        let values = intake.values(decision.signup_type);
        let signup_type = decision.signup_type.filter(|_| eligible);
        let FiredLinks {
            server_links,
            pixels,
            outcomes,
        } = fire(config, intake, &values, signup_type);
        let skipped = outcomes
            .iter()
            .filter(|o| o.fired == Fired::Skipped)
            .map(|o| o.detail.clone())
            .collect();
        let public_token = random_token(16);
        Ok(Self {
            order_id: intake.order_id.clone(),
            request_hash: request_hash.to_owned(),
            account_id: intake.account_id.clone(),
            user_name: intake.user_name.clone(),
            payment_method: intake.payment_method.as_str(),
            moderated: intake.moderated,
            trial: intake.trial,
            eligible,
            reason,
            details: serde_json::to_string(intake)?,
            pixel_json: serde_json::to_string(&pixels)?,
            pixels,
            complete_url: format!("{public_base}/signup/complete/{public_token}"),
            public_token,
            server_links,
            link_outcomes: serde_json::to_string(&outcomes)?,
            skipped,
            now,
        })
    }

    fn answer(&self, signup_id: i64, mut deliveries: Vec<QueuedDelivery>) -> IntakeAnswer {
        deliveries.sort_by_key(|d| d.link);
        IntakeAnswer {
            signup_id,
            order_id: self.order_id.clone(),
            eligible: self.eligible,
            reason: self.reason.clone(),
            deliveries,
            pixel_html: pixel_html(&self.pixels),
            pixels: self.pixels.clone(),
            complete_url: self.complete_url.clone(),
            skipped: self.skipped.clone(),
        }
    }
}

/// How many signups one transaction stores at most. Each is 16 bound values in the signups
/// insert and up to 45 in the deliveries insert: far below either backend's limit.
const MAX_GROUP: usize = 64;

/// How many signups may wait for the writer before senders wait too.
const QUEUE: usize = 1024;

struct Job {
    signup: Prepared,
    reply: oneshot::Sender<Result<RecordOutcome, RecordError>>,
}

/// Stores reported signups, several to a transaction.
///
/// Each signup used to be its own transaction of five statements. Under a burst of reports
/// the database's one write lock (SQLite) or one commit per signup (PostgreSQL) was the cost:
/// on SQLite most of the intake's CPU went to handing each statement to the connection's worker
/// thread and back. One task now takes every signup waiting, stores the group in one transaction
/// of three statements (signups, deliveries, answers), and answers each request once the group has committed, so a 201 still
/// means the signup and its deliveries are stored. Nothing waits to fill a group: a lone signup
/// is written at once, and a burst groups itself while the previous group commits.
#[derive(Debug, Clone)]
pub struct SignupWriter {
    jobs: mpsc::Sender<Job>,
}

impl SignupWriter {
    /// Starts the writer on the current tokio runtime. It stops once every handle is dropped,
    /// after storing what was already sent to it.
    pub fn spawn(db: Db) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run_writer(db, queue));
        Self { jobs }
    }

    /// Stores the signup and queues its deliveries, or recognises a repeat.
    pub async fn record(&self, signup: Prepared) -> Result<RecordOutcome, RecordError> {
        let (reply, answer) = oneshot::channel();
        tracing::debug!(order_id = %signup.order_id, "signup queued for storing");
        self.jobs
            .send(Job { signup, reply })
            .await
            .map_err(|_| RecordError::WriterStopped)?;
        answer.await.map_err(|_| RecordError::WriterStopped)?
    }
}

async fn run_writer(db: Db, mut queue: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        write_jobs(&db, std::mem::take(&mut jobs)).await;
    }
}

/// Writes a group and answers each request. Should the group fail as a whole, each signup is
/// tried alone, so one that cannot be stored does not take the others' requests with it.
async fn write_jobs(db: &Db, jobs: Vec<Job>) {
    let signups: Vec<&Prepared> = jobs.iter().map(|job| &job.signup).collect();
    match write_group(db, &signups).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(err) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(err));
            }
        }
        Err(err) => {
            let order_ids: Vec<&str> = jobs.iter().map(|j| j.signup.order_id.as_str()).collect();
            tracing::warn!(error = %err, ?order_ids, "a group of signups failed; storing each alone");
            for job in jobs {
                let outcome = write_group(db, &[&job.signup]).await;
                let _ = job
                    .reply
                    .send(outcome.map(|mut o| o.pop().unwrap_or(RecordOutcome::Conflict)));
            }
        }
    }
}

const INSERT_SIGNUPS: &str = "INSERT INTO signups (order_id, request_hash, account_id, user_name, \
    payment_method, moderated, trial, eligible, reason, details, answer, public_token, \
    public_expires_at, pixel_urls, created_at, link_outcomes) ";
const INSERT_DELIVERIES: &str = "INSERT INTO deliveries (signup_id, slot, url, host, state, \
    next_attempt_at, created_at, success_contains, success_not_contains) ";

/// Stores a group of signups in one transaction and returns one outcome per signup, in order.
///
/// An order id already stored (or earlier in the same group) is not inserted again
/// (`ON CONFLICT DO NOTHING`); once the group has committed, such a signup is answered from
/// the stored one: its original answer for the same body, a conflict for another.
async fn write_group(db: &Db, signups: &[&Prepared]) -> Result<Vec<RecordOutcome>, RecordError> {
    let created: Vec<Option<IntakeAnswer>> = with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let mut insert = sqlx::QueryBuilder::new(INSERT_SIGNUPS);
        insert.push_values(signups, |mut row, s| {
            row.push_bind(&s.order_id)
                .push_bind(&s.request_hash)
                .push_bind(&s.account_id)
                .push_bind(&s.user_name)
                .push_bind(s.payment_method)
                .push_bind(s.moderated)
                .push_bind(s.trial)
                .push_bind(s.eligible)
                .push_bind(&s.reason)
                .push_bind(&s.details)
                .push_bind("")
                .push_bind(&s.public_token)
                .push_bind(s.now + COMPLETE_PAGE_LIFETIME)
                .push_bind(&s.pixel_json)
                .push_bind(s.now)
                .push_bind(&s.link_outcomes);
        });
        insert.push(" ON CONFLICT (order_id) DO NOTHING RETURNING id, order_id");
        let inserted: Vec<(i64, String)> = insert.build_query_as().fetch_all(&mut *tx).await?;
        let signup_ids = stored_ids(signups, &inserted);
        if let Some(mut hours) = hours_upsert(signups, &signup_ids) {
            hours.build().execute(&mut *tx).await?;
        }
        let links = links_of(signups, &signup_ids);
        let mut queued: HashMap<i64, Vec<QueuedDelivery>> = HashMap::new();
        for chunk in links.chunks(MAX_GROUP * 5) {
            let mut insert = sqlx::QueryBuilder::new(INSERT_DELIVERIES);
            insert.push_values(chunk, |mut row, (signup_id, slot, url, rules, now)| {
                row.push_bind(*signup_id)
                    .push_bind(*slot)
                    .push_bind(*url)
                    .push_bind(host_of(url))
                    .push_bind(DeliveryState::Pending.as_str())
                    .push_bind(*now)
                    .push_bind(*now)
                    .push_bind(&rules.contains)
                    .push_bind(&rules.not_contains);
            });
            insert.push(" RETURNING id, signup_id, CAST(slot AS BIGINT)");
            let rows: Vec<(i64, i64, i64)> = insert.build_query_as().fetch_all(&mut *tx).await?;
            queue(chunk, rows, &mut queued);
        }
        let created = answers(signups, &signup_ids, queued);
        // Each answer is stored as sent, for a repeat of the same body.
        let stored = stored_answers(&created)?;
        if let Some(mut update) = answers_update(&stored) {
            update.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        created
    });
    outcomes(db, signups, created).await
}

/// Adds the stored signups to their hour's counters (counted or not), for the overview page;
/// `None` when none was stored.
fn hours_upsert<'a, DB>(
    signups: &[&Prepared],
    ids: &[Option<i64>],
) -> Option<sqlx::QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut hours: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for (s, _) in signups.iter().zip(ids).filter(|(_, id)| id.is_some()) {
        let counts = hours.entry(hour_of(s.now)).or_default();
        if s.eligible {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    if hours.is_empty() {
        return None;
    }
    let mut upsert =
        sqlx::QueryBuilder::new("INSERT INTO signup_hours (hour, counted, not_counted) ");
    upsert.push_values(hours, |mut row, (hour, (counted, not_counted))| {
        row.push_bind(hour)
            .push_bind(counted)
            .push_bind(not_counted);
    });
    upsert.push(
        " ON CONFLICT (hour) DO UPDATE SET counted = signup_hours.counted + excluded.counted, \
        not_counted = signup_hours.not_counted + excluded.not_counted",
    );
    Some(upsert)
}

/// Stores each new signup's answer as sent; `None` when there is none.
fn answers_update<'a, DB>(stored: &'a [(i64, String)]) -> Option<sqlx::QueryBuilder<'a, DB>>
where
    DB: sqlx::Database,
    DB::Arguments<'a>: Default,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    &'a String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    if stored.is_empty() {
        return None;
    }
    let mut update = sqlx::QueryBuilder::new("UPDATE signups SET answer = v.column2 FROM (");
    update.push_values(stored, |mut row, (id, answer)| {
        row.push_bind(*id).push_bind(answer);
    });
    update.push(") AS v WHERE signups.id = v.column1");
    Some(update)
}

/// The id each signup was stored under; `None` for an order id stored before (or earlier in
/// the group: the first signup with an inserted order id is the one stored).
fn stored_ids(signups: &[&Prepared], inserted: &[(i64, String)]) -> Vec<Option<i64>> {
    let mut ids: HashMap<&str, i64> = inserted
        .iter()
        .map(|(id, order_id)| (order_id.as_str(), *id))
        .collect();
    signups
        .iter()
        .map(|s| ids.remove(s.order_id.as_str()))
        .collect()
}

/// One delivery to queue: (signup id, slot, URL, reply rules, time).
type NewDelivery<'a> = (i64, i64, &'a str, &'a ReplyRules, DateTime<Utc>);

/// The deliveries of the signups that were stored.
fn links_of<'a>(signups: &[&'a Prepared], ids: &[Option<i64>]) -> Vec<NewDelivery<'a>> {
    signups
        .iter()
        .zip(ids)
        .filter_map(|(s, id)| id.map(|id| (id, *s)))
        .flat_map(|(id, s)| {
            s.server_links
                .iter()
                .map(move |(slot, url, rules)| (id, *slot, url.as_str(), rules, s.now))
        })
        .collect()
}

/// Files the stored deliveries (id, signup id, slot) under their signups, with their URLs.
fn queue(
    chunk: &[NewDelivery<'_>],
    rows: Vec<(i64, i64, i64)>,
    queued: &mut HashMap<i64, Vec<QueuedDelivery>>,
) {
    for (id, signup_id, slot) in rows {
        let url = chunk
            .iter()
            .find(|(s, l, _, _, _)| *s == signup_id && *l == slot)
            .map(|(_, _, url, _, _)| (*url).to_owned())
            .unwrap_or_default();
        queued.entry(signup_id).or_default().push(QueuedDelivery {
            id,
            link: slot,
            url,
        });
    }
}

/// The answer of each stored signup; `None` for those not stored.
fn answers(
    signups: &[&Prepared],
    ids: &[Option<i64>],
    mut queued: HashMap<i64, Vec<QueuedDelivery>>,
) -> Vec<Option<IntakeAnswer>> {
    signups
        .iter()
        .zip(ids)
        .map(|(s, id)| id.map(|id| s.answer(id, queued.remove(&id).unwrap_or_default())))
        .collect()
}

fn stored_answers(created: &[Option<IntakeAnswer>]) -> Result<Vec<(i64, String)>, RecordError> {
    Ok(created
        .iter()
        .flatten()
        .map(|a| Ok((a.signup_id, serde_json::to_string(a)?)))
        .collect::<Result<_, serde_json::Error>>()?)
}

/// After the commit: the new answers, and for the rest the answer of the signup stored before.
async fn outcomes(
    db: &Db,
    signups: &[&Prepared],
    created: Vec<Option<IntakeAnswer>>,
) -> Result<Vec<RecordOutcome>, RecordError> {
    let mut outcomes = Vec::with_capacity(signups.len());
    for (s, answer) in signups.iter().zip(created) {
        outcomes.push(match answer {
            Some(answer) => RecordOutcome::Created(answer),
            None => existing(db, &s.order_id, &s.request_hash)
                .await?
                .unwrap_or(RecordOutcome::Conflict),
        });
    }
    Ok(outcomes)
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
