//! Alerts in the database: the settings, each link's watch and incidents, and the alerts
//! themselves, queued and retried like deliveries.
//!
//! A call's end changes its link's watch in the same transaction that stores the call
//! ([`IncidentTx::observe_calls`], from the delivery worker's group writer), and an incident's
//! messages are queued there too: a crash can lose neither the call nor its alert.

use crate::domain::alerts::{
    incident_message, AlertEvent, AlertMessage, AlertSettings, Channel, IncidentFacts, SmtpTls,
};
use crate::domain::incidents::{CallEnd, Incident, LinkWatch, Notice, FAILURES_TO_OPEN, QUIET_FOR};
use crate::domain::states::DeliveryState;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{sqlite_write_turn, BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, Utc};

/// Settings → Alerts as stored. `smtp_password` is sealed.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct SettingsRow {
    pub email_enabled: bool,
    pub smtp_host: String,
    pub smtp_port: i32,
    #[sqlx(try_from = "String")]
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: Option<String>,
    pub sender: String,
    pub recipients: String,
    pub webhook_enabled: bool,
    pub webhook_url: String,
    pub failures_to_open: i32,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

impl SettingsRow {
    /// The channels an alert goes to now.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        if self.email_enabled {
            channels.push(Channel::Email);
        }
        if self.webhook_enabled {
            channels.push(Channel::Webhook);
        }
        channels
    }
}

const SETTINGS: &str = "SELECT email_enabled, smtp_host, smtp_port, smtp_tls, smtp_username, \
    smtp_password, sender, recipients, webhook_enabled, webhook_url, failures_to_open, \
    updated_at, updated_by FROM alert_settings WHERE id = 1";

pub async fn settings(db: &Db) -> Result<SettingsRow, sqlx::Error> {
    with_pool!(db, pool => sqlx::query_as(SETTINGS).fetch_optional(pool).await)
        .map(Option::unwrap_or_default)
}

/// Saves the settings; `sealed_password` replaces the stored password when set.
pub async fn save_settings(
    db: &Db,
    settings: &AlertSettings,
    sealed_password: Option<String>,
    audit: &AuditEvent,
) -> Result<(), sqlx::Error> {
    const SAVE: &str = "UPDATE alert_settings SET email_enabled = $1, smtp_host = $2, \
        smtp_port = $3, smtp_tls = $4, smtp_username = $5, \
        smtp_password = COALESCE($6, smtp_password), sender = $7, recipients = $8, \
        webhook_enabled = $9, webhook_url = $10, updated_at = $11, updated_by = $12, \
        failures_to_open = $13 WHERE id = 1";
    let email = &settings.email;
    let recipients = email.recipients.join("\n");
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(SAVE)
            .bind(email.enabled)
            .bind(&email.host)
            .bind(i32::from(email.port))
            .bind(email.tls.as_str())
            .bind(&email.username)
            .bind(&sealed_password)
            .bind(&email.sender)
            .bind(&recipients)
            .bind(settings.webhook_enabled)
            .bind(&settings.webhook_url)
            .bind(audit.at)
            .bind(audit.actor.as_str())
            .bind(i32::try_from(settings.failures_to_open).unwrap_or(5))
            .execute(&mut *tx)
            .await?;
        // Alerts waiting for a retry are tried again at once with the new settings: the admin
        // who just fixed the mail server should not wait for the schedule.
        sqlx::query(RETRY_UNSENT_NOW).bind(audit.at).execute(&mut *tx).await?;
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await
    })
}

const RETRY_UNSENT_NOW: &str = "UPDATE alerts SET next_attempt_at = $1 \
    WHERE state = 'failing' AND next_attempt_at > $1";

/// One link's watch as stored, with its open incident.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WatchRow {
    pub slot: i32,
    pub failures_in_a_row: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub incident_id: Option<i64>,
    pub opened_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub told_at: Option<DateTime<Utc>>,
    /// Settings → Alerts' number of failed calls in a row that open an incident.
    pub failures_to_open: i32,
}

impl WatchRow {
    fn watch(&self) -> LinkWatch {
        let open = match (self.opened_at, &self.reason, self.told_at) {
            (Some(opened_at), Some(reason), Some(told_at)) => Some(Incident {
                opened_at,
                reason: reason.clone(),
                told_at,
            }),
            _ => None,
        };
        LinkWatch {
            failures_in_a_row: u32::try_from(self.failures_in_a_row).unwrap_or(0),
            failing_since: self.failing_since,
            open,
        }
    }
}

/// A finished call as the watcher sees it.
#[derive(Debug, Clone, Copy)]
pub struct WatchedCall {
    pub slot: i32,
    pub end: CallEnd,
    pub at: DateTime<Utc>,
}

impl WatchedCall {
    /// A try that left its delivery in `state`; `None` for one that made no call.
    pub fn of(slot: i32, state: DeliveryState, at: DateTime<Utc>, called: bool) -> Option<Self> {
        let end = match state {
            _ if !called => return None,
            DeliveryState::Delivered => CallEnd::Delivered,
            DeliveryState::Failing => CallEnd::Failed,
            DeliveryState::Exhausted | DeliveryState::Failed => CallEnd::GivenUp,
            _ => return None,
        };
        Some(Self { slot, end, at })
    }
}

/// A watch whose new state must be stored, and the messages it caused, in order.
#[derive(Debug)]
struct Change {
    row: WatchRow,
    after: LinkWatch,
    /// Each message with the incident it is about, as it was then (an incident that opened and
    /// closed within these calls is in neither the row nor `after`).
    notices: Vec<(Notice, Incident)>,
}

/// Feeds each call to its link's watch, in order; returns the watches that changed.
fn apply_calls(rows: Vec<WatchRow>, calls: &[WatchedCall]) -> Vec<Change> {
    rows.into_iter()
        .filter_map(|row| {
            let before = row.watch();
            let mut after = before.clone();
            let mut notices = Vec::new();
            // Whether the last opening counted failures (rather than a delivery given up).
            let mut opened_by_count = false;
            let threshold = u32::try_from(row.failures_to_open).unwrap_or(FAILURES_TO_OPEN);
            for call in calls.iter().filter(|c| c.slot == row.slot) {
                let open_before = after.open.clone();
                match after.on_call(call.end, call.at, threshold) {
                    // Failures counted up and a success, stored together (within a second or
                    // so), are noise: neither message is sent, and nothing is recorded. A
                    // delivery given up is news however soon the link recovers.
                    Some(Notice::Closed { .. })
                        if opened_by_count
                            && matches!(notices.last(), Some((Notice::Opened { .. }, _))) =>
                    {
                        notices.pop();
                    }
                    Some(notice) => {
                        // The count rule comes before the quiet hour's: with fewer failures
                        // than the count, it was an hour without a success, which is news.
                        opened_by_count =
                            call.end == CallEnd::Failed && after.failures_in_a_row >= threshold;
                        if let Some(incident) = after.open.clone().or(open_before) {
                            notices.push((notice, incident));
                        }
                    }
                    None => {}
                }
                if call.end == CallEnd::GivenUp {
                    // Given up while already open: a recovery in this group is still news.
                    opened_by_count = false;
                }
            }
            // A watch that ends as it began may still have something to say (a delivery given
            // up, and the link delivering again).
            (after != before || !notices.is_empty()).then_some(Change {
                row,
                after,
                notices,
            })
        })
        .collect()
}

/// Alerts queued by a transaction, to wake the alert worker for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Queued(pub usize);

// The watches, with each link's open incident and the admin's threshold.
const LOAD_WATCHES_SQLITE: &str = "SELECT w.slot, w.failures_in_a_row, w.failing_since, \
    i.id AS incident_id, i.opened_at, i.reason, i.told_at, \
    COALESCE((SELECT failures_to_open FROM alert_settings WHERE id = 1), 5) AS failures_to_open \
    FROM link_watches w \
    LEFT JOIN incidents i ON i.slot = w.slot AND i.closed_at IS NULL \
    WHERE w.slot IN (SELECT value FROM json_each($1)) ORDER BY w.slot";
const LOAD_WATCHES_POSTGRES: &str = "SELECT w.slot, w.failures_in_a_row, w.failing_since, \
    i.id AS incident_id, i.opened_at, i.reason, i.told_at, \
    COALESCE((SELECT failures_to_open FROM alert_settings WHERE id = 1), 5) AS failures_to_open \
    FROM link_watches w \
    LEFT JOIN incidents i ON i.slot = w.slot AND i.closed_at IS NULL \
    WHERE w.slot = ANY($1) ORDER BY w.slot";
// On PostgreSQL the watches are locked first, in slot order (two writers wait for each other
// rather than deadlock), and read by the next statement: a locking read that waited sees the
// locked rows' new versions but its joins as they were when it started, so an incident opened
// meanwhile by the other transaction would be missed. SQLite's write transactions run one at
// a time already.
const LOCK_WATCHES_POSTGRES: &str =
    "SELECT slot FROM link_watches WHERE slot = ANY($1) ORDER BY slot FOR UPDATE";
const SAVE_WATCH: &str =
    "UPDATE link_watches SET failures_in_a_row = $2, failing_since = $3 WHERE slot = $1";
const OPEN_INCIDENT: &str = "INSERT INTO incidents (slot, opened_at, reason, told_at) \
    VALUES ($1, $2, $3, $2) RETURNING id";
const REMIND_INCIDENT: &str = "UPDATE incidents SET told_at = $2 WHERE id = $1";
const CLOSE_INCIDENT: &str = "UPDATE incidents SET closed_at = $2 WHERE id = $1";
const CHANNELS: &str = "SELECT email_enabled, webhook_enabled FROM alert_settings WHERE id = 1";
const QUEUE_ALERT: &str = "INSERT INTO alerts (incident_id, channel, event, subject, body, \
    payload, state, next_attempt_at, created_at, slot) \
    VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $8)";
const CALLS_DUE: &str = "SELECT EXISTS (SELECT 1 FROM deliveries WHERE slot = $1 \
    AND state IN ('pending', 'failing'))";
// Whether the link still calls a tracker from the server (for a signup or a reversal).
const CALLS_FROM_SERVER: &str = "SELECT enabled AND mode = 'server' \
    AND (url <> '' OR reversal_url <> '') FROM affiliate_links WHERE slot = $1";

/// The facts of incident `id` for a message about it.
fn facts(id: i64, slot: i32, notice: &Notice, incident: &Incident) -> IncidentFacts {
    let closed_at = match notice {
        Notice::Closed { closed_at, .. } | Notice::Retired { closed_at, .. } => {
            Some(closed_at.to_rfc3339())
        }
        Notice::Opened { .. } | Notice::Reminder { .. } => None,
    };
    IncidentFacts {
        id,
        link: i64::from(slot),
        reason: incident.reason.clone(),
        opened_at: incident.opened_at.to_rfc3339(),
        closed_at,
    }
}

/// The watch and incident work of one transaction, written once for both backends: the trait
/// is implemented for SQLite's and PostgreSQL's connections by one macro, so each method's body
/// is the same text compiled against each.
pub trait IncidentTx {
    /// Feeds finished calls to their links' watches; opens and closes incidents and queues
    /// their alerts. `page_url` is where the messages tell the admin to look.
    fn observe_calls(
        &mut self,
        calls: &[WatchedCall],
        page_url: Option<&str>,
    ) -> impl std::future::Future<Output = Result<Queued, sqlx::Error>> + Send;

    /// Looks at every link with no call finishing: the quiet hour and the daily reminder.
    fn observe_time(
        &mut self,
        now: DateTime<Utc>,
        page_url: Option<&str>,
    ) -> impl std::future::Future<Output = Result<Queued, sqlx::Error>> + Send;
}

/// The watches of the bound slots, locked first where `$lock` says how (PostgreSQL).
macro_rules! load_watches {
    ($conn:expr, $load:expr, $lock:expr, $slots:expr) => {{
        let slots = $slots;
        if let Some(lock) = $lock {
            sqlx::query(lock).bind(&slots).execute(&mut *$conn).await?;
        }
        let rows: Vec<WatchRow> = sqlx::query_as($load)
            .bind(&slots)
            .fetch_all(&mut *$conn)
            .await?;
        rows
    }};
}

macro_rules! incident_tx {
    ($conn:ty, $load:expr, $lock:expr, $slots:expr) => {
        impl IncidentTx for $conn {
            async fn observe_calls(
                &mut self,
                calls: &[WatchedCall],
                page_url: Option<&str>,
            ) -> Result<Queued, sqlx::Error> {
                let mut slots: Vec<i32> = calls.iter().map(|c| c.slot).collect();
                slots.sort_unstable();
                slots.dedup();
                if slots.is_empty() {
                    return Ok(Queued::default());
                }
                let rows = load_watches!(self, $load, $lock, $slots(&slots));
                let changes = apply_calls(rows, calls);
                let now = calls.iter().map(|c| c.at).max().unwrap_or_else(Utc::now);
                store_changes!(self, changes, now, page_url)
            }

            async fn observe_time(
                &mut self,
                now: DateTime<Utc>,
                page_url: Option<&str>,
            ) -> Result<Queued, sqlx::Error> {
                let all: Vec<i32> = (1..=crate::domain::link_template::LINK_SLOTS as i32).collect();
                let rows = load_watches!(self, $load, $lock, $slots(&all));
                let mut changes = Vec::new();
                for row in rows {
                    let before = row.watch();
                    let mut seen = Seen::default();
                    if before.open.is_some() {
                        seen.calls_from_server = sqlx::query_scalar::<_, bool>(CALLS_FROM_SERVER)
                            .bind(row.slot)
                            .fetch_optional(&mut *self)
                            .await?
                            .unwrap_or(false);
                    }
                    if before.open.is_some() || asks_whether_due(&before, now) {
                        seen.calls_due = sqlx::query_scalar::<_, bool>(CALLS_DUE)
                            .bind(row.slot)
                            .fetch_one(&mut *self)
                            .await?;
                    }
                    if let Some(change) = on_tick(row, before, now, seen) {
                        changes.push(change);
                    }
                }
                store_changes!(self, changes, now, page_url)
            }
        }
    };
}

/// What the minute's look found out about a link.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    /// The link still calls a tracker from the server (asked only with an incident open).
    calls_from_server: bool,
    /// Deliveries of the link are waiting or being retried (asked with an incident open, or
    /// when the quiet hour may have come).
    calls_due: bool,
}

/// Whether the look needs to know if calls are due: for the quiet hour, or a reminder.
fn asks_whether_due(watch: &LinkWatch, now: DateTime<Utc>) -> bool {
    let quiet = watch.open.is_none()
        && watch
            .failing_since
            .is_some_and(|since| now - since >= QUIET_FOR);
    quiet || watch.reminder_due(now)
}

/// One link's minute: an incident whose link no longer calls from the server closes; else the
/// quiet hour and the daily reminder. `None` when nothing changed.
fn on_tick(row: WatchRow, before: LinkWatch, now: DateTime<Utc>, seen: Seen) -> Option<Change> {
    let mut after = before.clone();
    // Deliveries already queued keep being tried with their stored links: only once none is
    // due does a link that no longer calls from the server close its incident.
    let notice = if before.open.is_some() && !seen.calls_from_server && !seen.calls_due {
        after.on_retired(now)
    } else {
        after.on_tick(now, seen.calls_due)
    };
    let incident = after.open.clone().or_else(|| before.open.clone());
    (after != before).then(|| Change {
        row,
        after,
        notices: notice.zip(incident).into_iter().collect(),
    })
}

/// Stores changed watches, their incidents, and queues each message to every channel that is
/// switched on.
macro_rules! store_changes {
    ($conn:expr, $changes:expr, $now:expr, $page_url:expr) => {{
        let conn = $conn;
        let mut queued = 0;
        let mut channels: Option<(bool, bool)> = None;
        for change in $changes {
            sqlx::query(SAVE_WATCH)
                .bind(change.row.slot)
                .bind(i32::try_from(change.after.failures_in_a_row).unwrap_or(i32::MAX))
                .bind(change.after.failing_since)
                .execute(&mut *conn)
                .await?;
            let mut current = change.row.incident_id;
            for (notice, incident) in &change.notices {
                let id = match (notice, current) {
                    (Notice::Opened { .. }, _) => {
                        sqlx::query_scalar::<_, i64>(OPEN_INCIDENT)
                            .bind(change.row.slot)
                            .bind(incident.opened_at)
                            .bind(&incident.reason)
                            .fetch_one(&mut *conn)
                            .await?
                    }
                    (Notice::Reminder { .. }, Some(id)) => {
                        sqlx::query(REMIND_INCIDENT)
                            .bind(id)
                            .bind(incident.told_at)
                            .execute(&mut *conn)
                            .await?;
                        id
                    }
                    (
                        Notice::Closed { closed_at, .. } | Notice::Retired { closed_at, .. },
                        Some(id),
                    ) => {
                        sqlx::query(CLOSE_INCIDENT)
                            .bind(id)
                            .bind(*closed_at)
                            .execute(&mut *conn)
                            .await?;
                        id
                    }
                    _ => continue,
                };
                current =
                    matches!(notice, Notice::Opened { .. } | Notice::Reminder { .. }).then_some(id);
                let (email, webhook) = match channels {
                    Some(c) => c,
                    None => {
                        let c: (bool, bool) = sqlx::query_as(CHANNELS)
                            .fetch_optional(&mut *conn)
                            .await?
                            .unwrap_or((false, false));
                        *channels.insert(c)
                    }
                };
                let facts = facts(id, change.row.slot, notice, incident);
                let message = incident_message(notice, &facts, $page_url);
                let wanted = [(email, Channel::Email), (webhook, Channel::Webhook)];
                for (_, channel) in wanted.into_iter().filter(|(on, _)| *on) {
                    queue_alert!(conn, (id, change.row.slot), channel, &message, $now);
                    queued += 1;
                }
            }
        }
        Ok(Queued(queued))
    }};
}

macro_rules! queue_alert {
    ($conn:expr, $incident_and_slot:expr, $channel:expr, $message:expr, $now:expr) => {{
        let message: &AlertMessage = $message;
        let (incident, slot): (i64, i32) = $incident_and_slot;
        sqlx::query(QUEUE_ALERT)
            .bind(incident)
            .bind($channel.as_str())
            .bind(message.event.as_str())
            .bind(&message.subject)
            .bind(&message.body)
            .bind(&message.payload)
            .bind($now)
            .bind(slot)
            .execute(&mut *$conn)
            .await?;
    }};
}

fn slots_json(slots: &[i32]) -> String {
    serde_json::to_string(slots).unwrap_or_else(|_| "[]".to_owned())
}

fn slots_array(slots: &[i32]) -> Vec<i32> {
    slots.to_vec()
}

incident_tx!(
    sqlx::SqliteConnection,
    LOAD_WATCHES_SQLITE,
    None::<&str>,
    slots_json
);
incident_tx!(
    sqlx::PgConnection,
    LOAD_WATCHES_POSTGRES,
    Some(LOCK_WATCHES_POSTGRES),
    slots_array
);

/// The quiet-hour and reminder check, in its own transaction.
pub async fn observe_time(
    db: &Db,
    now: DateTime<Utc>,
    page_url: Option<&str>,
) -> Result<Queued, sqlx::Error> {
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let queued = (*tx).observe_time(now, page_url).await?;
        tx.commit().await?;
        Ok(queued)
    })
}

/// An alert claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub channel: Channel,
    #[sqlx(try_from = "String")]
    pub event: AlertEvent,
    pub subject: String,
    pub body: String,
    pub payload: String,
    pub tries: i32,
}

const RETURNING_ALERT: &str = "RETURNING id, channel, event, subject, body, payload, tries";

/// The alerts `claim` may take at the time bound as `now` (a placeholder such as `$2`): due,
/// not leased, and the oldest unsent of their link by their channel.
fn claimable(now: &str) -> String {
    format!(
        "a.state IN ('pending', 'failing') AND a.next_attempt_at <= {now} \
         AND (a.lease_until IS NULL OR a.lease_until < {now}) \
         AND NOT EXISTS (SELECT 1 FROM alerts e WHERE e.channel = a.channel AND e.id < a.id \
             AND e.slot = a.slot AND e.state IN ('pending', 'failing'))"
    )
}

/// Whether an alert can be claimed now (a read, so an idle worker never takes SQLite's write
/// lock to find there is nothing to do, nor for alerts waiting behind others).
pub async fn any_due(db: &Db, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM alerts a WHERE {})",
        claimable("$1")
    );
    with_pool!(db, pool => sqlx::query_scalar(&sql).bind(now).fetch_one(pool).await)
}

/// Claims up to `limit` due alerts until `lease_until`, oldest first. A link's alerts go out by
/// each channel in the order they were queued: only its oldest unsent one can be claimed, so
/// its "delivers again" never arrives before an "is failing" that is still being retried (nor
/// the other way round). Other links' alerts, and tests, are not held back by it.
pub async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE alerts SET lease_until = $1 WHERE id IN (SELECT a.id FROM alerts a \
         WHERE {} ORDER BY a.next_attempt_at LIMIT $3{}) {RETURNING_ALERT}",
        claimable("$2"),
        match db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        }
    );
    let mut claimed: Vec<AlertRow> = with_pool!(db, pool => {
        let _turn = match db {
            Db::Sqlite(p) => Some(sqlite_write_turn(p).await),
            Db::Postgres(_) => None,
        };
        sqlx::query_as(&sql).bind(lease_until).bind(now).bind(limit).fetch_all(pool).await
    })?;
    claimed.sort_by_key(|a| a.id);
    Ok(claimed)
}

/// Queues a test alert already claimed by the request that sends it.
pub async fn queue_test(
    db: &Db,
    channel: Channel,
    message: &AlertMessage,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<AlertRow, sqlx::Error> {
    let sql = format!(
        "INSERT INTO alerts (incident_id, channel, event, subject, body, payload, state, \
         next_attempt_at, lease_until, created_at) VALUES (NULL, $1, $2, $3, $4, $5, 'pending', \
         $6, $7, $6) {RETURNING_ALERT}"
    );
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let row = sqlx::query_as(&sql)
            .bind(channel.as_str())
            .bind(message.event.as_str())
            .bind(&message.subject)
            .bind(&message.body)
            .bind(&message.payload)
            .bind(now)
            .bind(lease_until)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    })
}

/// How one try of an alert ended.
#[derive(Debug, Clone)]
pub struct AlertTry {
    pub id: i64,
    /// An alert's states are a delivery's: `pending`, `failing`, `delivered`, `exhausted`, and
    /// `failed` for a test that was not sent (tests are tried once).
    pub state: DeliveryState,
    pub tries: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub answer: String,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn finish(db: &Db, done: &AlertTry) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE alerts SET state = $2, tries = $3, next_attempt_at = $4, \
        lease_until = NULL, last_answer = $5, sent_at = $6 WHERE id = $1";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        sqlx::query(SQL)
            .bind(done.id)
            .bind(done.state.as_str())
            .bind(done.tries)
            .bind(done.next_attempt_at)
            .bind(&done.answer)
            .bind(done.sent_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}

/// One alert as the history shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub channel: String,
    pub event: String,
    pub subject: String,
    pub state: String,
    pub tries: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_answer: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The latest `limit` alerts, newest first.
pub async fn history(db: &Db, limit: i64) -> Result<Vec<HistoryRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, incident_id, channel, event, subject, state, tries, \
        next_attempt_at, last_answer, created_at, sent_at FROM alerts ORDER BY id DESC LIMIT $1";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(limit).fetch_all(pool).await)
}

/// An incident as the pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub slot: i32,
    pub opened_at: DateTime<Utc>,
    pub reason: String,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Open incidents, and the latest closed ones, newest first.
pub async fn incidents(db: &Db, limit: i64) -> Result<Vec<IncidentRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, slot, opened_at, reason, closed_at FROM incidents \
        ORDER BY (closed_at IS NULL) DESC, id DESC LIMIT $1";
    with_pool!(db, pool => sqlx::query_as(SQL).bind(limit).fetch_all(pool).await)
}

/// The incidents open now, by link.
pub async fn open_incident_rows(db: &Db) -> Result<Vec<IncidentRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, slot, opened_at, reason, closed_at FROM incidents \
        WHERE closed_at IS NULL ORDER BY slot";
    with_pool!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

/// How many incidents are open now.
pub async fn open_incidents(db: &Db) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM incidents WHERE closed_at IS NULL";
    with_pool!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
}

/// Alerts not sent yet (waiting or being retried).
pub async fn unsent(db: &Db) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM alerts WHERE state IN ('pending', 'failing')";
    with_pool!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(slot: i32) -> WatchRow {
        WatchRow {
            slot,
            failures_in_a_row: 0,
            failing_since: None,
            incident_id: None,
            opened_at: None,
            reason: None,
            told_at: None,
            failures_to_open: 5,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    /// Calls of link `slot` ending as `ends`, one a second from `at(0)`.
    fn one_a_second(slot: i32, ends: impl IntoIterator<Item = CallEnd>) -> Vec<WatchedCall> {
        ends.into_iter()
            .enumerate()
            .map(|(i, end)| WatchedCall {
                slot,
                end,
                at: at(i as i64),
            })
            .collect()
    }

    #[test]
    fn each_link_sees_only_its_own_calls_and_unchanged_watches_are_not_written() {
        let calls: Vec<WatchedCall> = (0..5)
            .map(|i| WatchedCall {
                slot: 2,
                end: CallEnd::Failed,
                at: at(i),
            })
            .chain(std::iter::once(WatchedCall {
                slot: 1,
                end: CallEnd::Delivered,
                at: at(9),
            }))
            .collect();
        let changes = apply_calls(vec![row(1), row(2)], &calls);
        assert_eq!(changes.len(), 1, "link 1 delivered and was fine: no write");
        assert_eq!(changes[0].row.slot, 2);
        assert!(matches!(
            changes[0].notices[..],
            [(Notice::Opened { .. }, _)]
        ));
    }

    #[test]
    fn an_incident_opened_and_closed_within_one_group_says_nothing() {
        let calls: Vec<WatchedCall> = (0..5)
            .map(|i| (CallEnd::Failed, i))
            .chain([(CallEnd::Delivered, 6)])
            .map(|(end, i)| WatchedCall {
                slot: 3,
                end,
                at: at(i),
            })
            .collect();
        let changes = apply_calls(vec![row(3)], &calls);
        assert!(
            changes.is_empty(),
            "the link ends as it began, delivering: nothing to store, nothing to say"
        );
        let mut opened_before = row(3);
        opened_before.incident_id = Some(9);
        opened_before.opened_at = Some(at(-60));
        opened_before.reason = Some("5 calls in a row failed".into());
        opened_before.told_at = Some(at(-60));
        opened_before.failures_in_a_row = 7;
        let calls = [CallEnd::Delivered, CallEnd::Failed, CallEnd::Failed]
            .into_iter()
            .enumerate()
            .map(|(i, end)| WatchedCall {
                slot: 3,
                end,
                at: at(i as i64),
            })
            .collect::<Vec<_>>();
        let changes = apply_calls(vec![opened_before], &calls);
        assert!(
            matches!(changes[0].notices[..], [(Notice::Closed { .. }, _)]),
            "an incident open before the group closes, and is said to"
        );
        assert_eq!(changes[0].after.failures_in_a_row, 2);
    }

    #[test]
    fn a_delivery_given_up_is_told_even_if_the_link_recovers_in_the_same_group() {
        let calls = one_a_second(1, [CallEnd::GivenUp, CallEnd::Delivered]);
        let changes = apply_calls(vec![row(1)], &calls);
        assert_eq!(changes.len(), 1);
        assert!(
            matches!(
                changes[0].notices[..],
                [(Notice::Opened { .. }, ref opened), (Notice::Closed { .. }, ref closed)]
                    if opened.reason.contains("given up") && closed == opened
            ),
            "{changes:?}"
        );
    }

    #[test]
    fn a_delivery_given_up_while_the_count_had_opened_keeps_both_messages() {
        let ends = [CallEnd::Failed; 5]
            .into_iter()
            .chain([CallEnd::GivenUp, CallEnd::Delivered]);
        let calls = one_a_second(1, ends);
        let changes = apply_calls(vec![row(1)], &calls);
        assert!(
            matches!(
                changes[0].notices[..],
                [(Notice::Opened { .. }, _), (Notice::Closed { .. }, _)]
            ),
            "{changes:?}"
        );
    }

    #[test]
    fn a_link_that_stopped_calling_keeps_its_incident_while_queued_calls_are_tried() {
        let mut open = row(1);
        open.incident_id = Some(3);
        open.opened_at = Some(at(0));
        open.reason = Some("a delivery was given up after all its retries".into());
        open.told_at = Some(at(0));
        let watch = open.watch();
        let due = Seen {
            calls_from_server: false,
            calls_due: true,
        };
        assert!(on_tick(open.clone(), watch.clone(), at(60), due).is_none());
        let idle = Seen::default();
        let closed = on_tick(open, watch, at(60), idle).unwrap();
        assert!(matches!(closed.notices[..], [(Notice::Retired { .. }, _)]));
    }

    #[test]
    fn a_try_that_made_no_call_is_not_watched() {
        assert!(WatchedCall::of(1, DeliveryState::Failing, at(0), false).is_none());
        assert!(WatchedCall::of(1, DeliveryState::Cancelled, at(0), true).is_none());
        assert_eq!(
            WatchedCall::of(1, DeliveryState::Exhausted, at(0), true).map(|c| c.end),
            Some(CallEnd::GivenUp)
        );
    }
}
