//! One handle for either backend. Queries are written once, in SQL both SQLite and PostgreSQL
//! accept (`$1` placeholders, `RETURNING`, `ON CONFLICT`), and [`with_pool!`] runs the same text
//! on whichever pool is configured; only the schema (migrations) differs per backend.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to the concrete pool, so one query text serves both backends.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::server::db::Db::Sqlite($pool) => $body,
            $crate::server::db::Db::Postgres($pool) => $body,
        }
    };
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "DATABASE_URL {0:?} is not supported: use sqlite://path/to/file.db or postgres://user@host/db"
    )]
    UnsupportedUrl(String),
    #[error("cannot open the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the session table: {0}")]
    SessionStore(#[source] sqlx::Error),
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{shown}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

impl Db {
    /// Opens a pool. SQLite files are created when missing and run in WAL mode with foreign keys
    /// on and a busy timeout, so concurrent writers wait instead of failing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        let connect_err = |source| DbError::Connect {
            url: redact_url(url),
            source,
        };
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(connect_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                Ok(Self::Sqlite(pool))
            }
            Some(Backend::Postgres) => {
                let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                Ok(Self::Postgres(pool))
            }
            None => Err(DbError::UnsupportedUrl(redact_url(url))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations for this backend; safe to run at every start.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self {
            Self::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await?,
            Self::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A round trip to the database, for `/healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_a_redacted_url() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/affdesk"),
            "postgres://app:***@db.example:5432/affdesk"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/postgres"),
            "postgres://postgres@127.0.0.1/postgres"
        );
        assert_eq!(redact_url("sqlite://affdesk.db"), "sqlite://affdesk.db");
    }

    #[test]
    fn backends_are_recognised_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://a.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://x/y"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://x/y"), None);
    }
}
