//! The stored Affiliate Program settings. A save is one transaction: the version check, the
//! switch, all five slots and the audit record land together or not at all.

use crate::domain::affiliate::{AffiliateConfig, AffiliateInput, DeliveryMode, SlotInput};
use crate::server::db::BeginWrite;
use crate::server::db::Db;
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
const SELECT_LINKS: &str = "SELECT url, enabled, mode FROM affiliate_links ORDER BY slot";

fn assemble(settings: SettingsRow, links: Vec<LinkRow>) -> Result<StoredSettings, StoreError> {
    let slots = links
        .into_iter()
        .map(|l| {
            let mode = DeliveryMode::parse(&l.mode).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown delivery mode {:?}", l.mode))
            })?;
            Ok(SlotInput {
                url: l.url,
                enabled: l.enabled,
                mode,
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

/// The validated settings the intake fires by, kept between requests and keyed by the stored
/// version: each signup costs one small query to learn the version instead of loading and
/// validating five links. Every process checks the version, so a save made by another affdesk
/// instance on the same database is seen by the next signup.
#[derive(Debug, Clone, Default)]
pub struct ConfigCache(Arc<Mutex<Option<Versioned>>>);

/// A stored version and the settings validated from it.
type Versioned = (i64, Arc<AffiliateConfig>);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored affiliate settings are invalid: {0}")]
    Invalid(String),
}

impl ConfigCache {
    /// The settings as stored now, validated.
    pub async fn current(&self, db: &Db) -> Result<Arc<AffiliateConfig>, ConfigError> {
        const VERSION: &str = "SELECT version FROM affiliate_settings WHERE id = 1";
        let version: i64 =
            with_pool!(db, pool => sqlx::query_scalar(VERSION).fetch_one(pool).await)
                .map_err(StoreError::from)?;
        if let Some((cached, config)) = &*self.0.lock().unwrap_or_else(|e| e.into_inner()) {
            if *cached == version {
                return Ok(config.clone());
            }
        }
        let stored = load(db).await?;
        let config = Arc::new(
            stored
                .input
                .validate()
                .map_err(|e| ConfigError::Invalid(e.to_string()))?,
        );
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((stored.version, config.clone()));
        Ok(config)
    }
}

pub async fn load(db: &Db) -> Result<StoredSettings, StoreError> {
    with_pool!(db, pool => {
        let settings: SettingsRow = sqlx::query_as(SELECT_SETTINGS).fetch_one(pool).await?;
        let links: Vec<LinkRow> = sqlx::query_as(SELECT_LINKS).fetch_all(pool).await?;
        assemble(settings, links)
    })
}

/// Saves `input` (already validated) if the stored version is still `expected_version`.
pub async fn save(
    db: &Db,
    input: &AffiliateInput,
    expected_version: i64,
    admin: &str,
    now: DateTime<Utc>,
) -> Result<SaveOutcome, StoreError> {
    const BUMP: &str =
        "UPDATE affiliate_settings SET program_enabled = $1, version = version + 1, \
        updated_at = $2, updated_by = $3 WHERE id = 1 AND version = $4 RETURNING version";
    const SLOT: &str =
        "UPDATE affiliate_links SET url = $1, enabled = $2, mode = $3 WHERE slot = $4";
    const FORGET_HEALTH: &str = "UPDATE affiliate_links SET failing_since = NULL WHERE slot = $1";
    const FORGET_HOURS: &str = "DELETE FROM link_hours WHERE slot = $1";
    const AUDIT: &str = "INSERT INTO affiliate_settings_audit \
        (changed_at, changed_by, version, before, after) VALUES ($1, $2, $3, $4, $5)";
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
        tx.commit().await?;
        Ok(SaveOutcome::Saved { version })
    })
}

pub async fn recent_audit(db: &Db, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
    const SQL: &str = "SELECT changed_at, changed_by, before, after FROM affiliate_settings_audit \
        ORDER BY id DESC LIMIT $1";
    let rows: Vec<AuditRow> =
        with_pool!(db, pool => sqlx::query_as(SQL).bind(limit).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|r| {
            let parse =
                |s: &str| serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()));
            Ok(AuditRecord {
                changed_at: r.changed_at,
                changed_by: r.changed_by,
                before: parse(&r.before)?,
                after: parse(&r.after)?,
            })
        })
        .collect()
}
