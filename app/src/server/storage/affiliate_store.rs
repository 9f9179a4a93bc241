//! The stored Affiliate Program settings. A save is one transaction: the version check, the
//! switch, all five slots and the audit record land together or not at all.

use crate::domain::affiliate::{AffiliateConfig, AffiliateInput, DeliveryMode, SlotInput};
use crate::domain::conditions::ConditionsInput;
use crate::domain::success::ReplyRules;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::BeginWrite;
use crate::server::storage::db::Db;
use crate::with_pool;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSettings {
    pub input: AffiliateInput,
    pub version: i64,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub before: AffiliateInput,
    pub after: AffiliateInput,
}

#[derive(Debug)]
pub enum SaveOutcome {
    Saved {
        version: i64,
    },
    /// Someone saved since `expected_version` was loaded.
    Conflict {
        current: StoredSettings,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored settings are unreadable: {0}")]
    Corrupt(String),
    /// Saved under older rules and no longer valid: nothing fires until an admin corrects them.
    #[error("stored affiliate settings are invalid: {0}")]
    Invalid(String),
}

#[derive(sqlx::FromRow)]
struct SettingsRow {
    program_enabled: bool,
    version: i64,
    updated_at: Option<DateTime<Utc>>,
    updated_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    url: String,
    enabled: bool,
    mode: String,
    reversal_url: String,
    success_contains: String,
    success_not_contains: String,
    /// JSON of the link's [`ConditionsInput`].
    conditions: String,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    changed_at: DateTime<Utc>,
    changed_by: String,
    before: String,
    after: String,
}

const SELECT_SETTINGS: &str =
    "SELECT program_enabled, version, updated_at, updated_by FROM affiliate_settings WHERE id = 1";
const SELECT_LINKS: &str = "SELECT url, enabled, mode, reversal_url, success_contains, \
    success_not_contains, conditions FROM affiliate_links ORDER BY slot";

fn assemble(settings: SettingsRow, links: Vec<LinkRow>) -> Result<StoredSettings, StoreError> {
    let slots = links
        .into_iter()
        .map(|l| {
            let mode = DeliveryMode::parse(&l.mode).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown delivery mode {:?}", l.mode))
            })?;
            let conditions: ConditionsInput = serde_json::from_str(&l.conditions)
                .map_err(|e| StoreError::Corrupt(format!("a link's conditions: {e}")))?;
            Ok(SlotInput {
                url: l.url,
                enabled: l.enabled,
                mode,
                reversal_url: l.reversal_url,
                rules: ReplyRules {
                    contains: l.success_contains,
                    not_contains: l.success_not_contains,
                },
                conditions,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(StoredSettings {
        input: AffiliateInput {
            program_enabled: settings.program_enabled,
            slots,
        },
        version: settings.version,
        updated_at: settings.updated_at,
        updated_by: settings.updated_by,
    })
}

/// How many saved changes a snapshot carries, newest first (the page's "last five changes").
pub const HISTORY_LENGTH: i64 = 5;

/// The stored settings as one consistent read: the switch and links at one version, the changes
/// that led to it, and the settings validated for firing (or why they no longer validate, for
/// settings saved under older rules: the page still shows them so an admin can correct them).
#[derive(Debug)]
pub struct SettingsSnapshot {
    pub stored: StoredSettings,
    pub history: Vec<AuditRecord>,
    pub config: Result<Arc<AffiliateConfig>, String>,
}

/// The latest [`SettingsSnapshot`], kept between requests and keyed by the stored version.
///
/// Every save bumps the version and writes its audit record in the same transaction, so a
/// version names one set of links and one history. A signup or a page view then costs one small
/// query to learn the version instead of loading the settings, the links and the history and
/// validating five links. Each request asks the database for the version, so a save made by
/// another affdesk instance on the same database is seen by the next request there.
#[derive(Debug, Clone, Default)]
pub struct SettingsCache(Arc<Mutex<Option<Arc<SettingsSnapshot>>>>);

impl SettingsCache {
    /// The settings as stored now.
    pub async fn snapshot(&self, db: &Db) -> Result<Arc<SettingsSnapshot>, StoreError> {
        const VERSION: &str = "SELECT version FROM affiliate_settings WHERE id = 1";
        let version: i64 =
            with_pool!(db, pool => sqlx::query_scalar(VERSION).fetch_one(pool).await)?;
        if let Some(cached) = &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            if cached.stored.version == version {
                return Ok(cached.clone());
            }
        }
        let (stored, history) = load_with_history(db).await?;
        let config = stored
            .input
            .validate()
            .map(Arc::new)
            .map_err(|e| e.to_string());
        let fresh = Arc::new(SettingsSnapshot {
            stored,
            history,
            config,
        });
        let mut cached = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Two requests that missed together may finish out of order; the newer version stays.
        if cached
            .as_ref()
            .is_none_or(|c| c.stored.version <= fresh.stored.version)
        {
            *cached = Some(fresh.clone());
        }
        Ok(fresh)
    }

    /// The settings as stored now, validated: what the intake fires by.
    pub async fn current(&self, db: &Db) -> Result<Arc<AffiliateConfig>, StoreError> {
        self.snapshot(db)
            .await?
            .config
            .clone()
            .map_err(StoreError::Invalid)
    }
}

/// The settings, the links and the recent history in one read-only transaction that sees a
/// single committed state: SQLite's WAL reader keeps one snapshot for a whole transaction, and
/// PostgreSQL does under `REPEATABLE READ` (in a plain transaction each statement could see a
/// newer commit than the one before it).
async fn load_with_history(db: &Db) -> Result<(StoredSettings, Vec<AuditRecord>), StoreError> {
    const AUDIT: &str = "SELECT changed_at, changed_by, before, after \
        FROM affiliate_settings_audit ORDER BY id DESC LIMIT $1";
    let begin = match db {
        Db::Sqlite(_) => "BEGIN",
        Db::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    let (settings, links, audit): (SettingsRow, Vec<LinkRow>, Vec<AuditRow>) = with_pool!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let settings = sqlx::query_as(SELECT_SETTINGS).fetch_one(&mut *tx).await?;
        let links = sqlx::query_as(SELECT_LINKS).fetch_all(&mut *tx).await?;
        let audit = sqlx::query_as(AUDIT).bind(HISTORY_LENGTH).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        (settings, links, audit)
    });
    let history = audit
        .into_iter()
        .map(AuditRecord::try_from)
        .collect::<Result<_, _>>()?;
    Ok((assemble(settings, links)?, history))
}

/// The settings as stored now, read past the cache.
pub async fn load(db: &Db) -> Result<StoredSettings, StoreError> {
    Ok(load_with_history(db).await?.0)
}

const BUMP: &str = "UPDATE affiliate_settings SET program_enabled = $1, version = version + 1, \
    updated_at = $2, updated_by = $3 WHERE id = 1 AND version = $4 RETURNING version";
const SLOT: &str = "UPDATE affiliate_links SET url = $1, enabled = $2, mode = $3, \
    reversal_url = $4, success_contains = $5, success_not_contains = $6, conditions = $7 \
    WHERE slot = $8";
const FORGET_HEALTH: &str = "UPDATE affiliate_links SET failing_since = NULL WHERE slot = $1";
const FORGET_HOURS: &str = "DELETE FROM link_hours WHERE slot = $1";
const AUDIT: &str = "INSERT INTO affiliate_settings_audit \
    (changed_at, changed_by, version, before, after) VALUES ($1, $2, $3, $4, $5)";

/// Saves `input` (already validated) if the stored version is still `expected_version`.
pub async fn save(
    db: &Db,
    input: &AffiliateInput,
    expected_version: i64,
    audit: &AuditEvent,
) -> Result<SaveOutcome, StoreError> {
    let (admin, now) = (audit.actor.as_str(), audit.at);
    let after_json =
        serde_json::to_string(input).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let before_settings: SettingsRow = sqlx::query_as(SELECT_SETTINGS).fetch_one(&mut *tx).await?;
        let before_links: Vec<LinkRow> = sqlx::query_as(SELECT_LINKS).fetch_all(&mut *tx).await?;
        let before = assemble(before_settings, before_links)?;
        let version: Option<i64> = sqlx::query_scalar(BUMP)
            .bind(input.program_enabled)
            .bind(now)
            .bind(admin)
            .bind(expected_version)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(version) = version else {
            tx.rollback().await?;
            return Ok(SaveOutcome::Conflict { current: before });
        };
        for (i, slot) in input.slots.iter().enumerate() {
            sqlx::query(SLOT)
                .bind(&slot.url)
                .bind(slot.enabled)
                .bind(slot.mode.as_str())
                .bind(&slot.reversal_url)
                .bind(&slot.rules.contains)
                .bind(&slot.rules.not_contains)
                .bind(serde_json::to_string(&slot.conditions).map_err(|e| StoreError::Corrupt(e.to_string()))?)
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await?;
            // A new address starts with a clean health record: the old one's failures say
            // nothing about it.
            if before.input.slots.get(i).is_none_or(|old| old.url != slot.url) {
                sqlx::query(FORGET_HEALTH).bind(i as i64 + 1).execute(&mut *tx).await?;
                sqlx::query(FORGET_HOURS).bind(i as i64 + 1).execute(&mut *tx).await?;
            }
        }
        let before_json =
            serde_json::to_string(&before.input).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(AUDIT)
            .bind(now)
            .bind(admin)
            .bind(version)
            .bind(before_json)
            .bind(&after_json)
            .execute(&mut *tx)
            .await?;
        crate::record_audit!(&mut *tx, audit)?;
        tx.commit().await?;
        Ok(SaveOutcome::Saved { version })
    })
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        let parse =
            |s: &str| serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()));
        Ok(Self {
            changed_at: row.changed_at,
            changed_by: row.changed_by,
            before: parse(&row.before)?,
            after: parse(&row.after)?,
        })
    }
}
