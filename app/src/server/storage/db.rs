//! One handle for either backend. Queries are written once, in SQL both SQLite and PostgreSQL
//! accept (`$1` placeholders, `RETURNING`, `ON CONFLICT`), and [`with_pool!`] runs the same text
//! on whichever pool is configured; only the schema (migrations) differs per backend.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A PostgreSQL connection that sat unused this long is checked with a round trip before it is
/// handed out: the server may have restarted, or a firewall dropped the connection, meanwhile.
/// sqlx checks every connection on every acquire by default, which doubles the round trips of
/// each query under load, for connections that sqlx had just checked when they were released.
/// A connection that breaks within a second of its last use fails the one query that picks it
/// up (as the queries under way when the server went away fail), and sqlx's check on release
/// then discards it.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

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
            $crate::server::storage::db::Db::Sqlite($pool) => $body,
            $crate::server::storage::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Opens a transaction that is going to write.
///
/// On SQLite it starts with `BEGIN IMMEDIATE`, which takes the write lock at once. A plain
/// deferred `BEGIN` that reads first and writes later fails with "database is locked" the moment
/// it tries to write if another connection committed in between: SQLite cannot wait there,
/// because the transaction's snapshot is already stale. That dropped an affiliate-settings save
/// while deliveries were being recorded. PostgreSQL's row locks make a plain `BEGIN` correct.
///
/// On SQLite the transaction also holds this process's turn at the database's one write lock
/// ([`sqlite_write_turn`]), so writers queue in memory instead of polling the lock.
pub trait BeginWrite {
    type Database: sqlx::Database;

    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<WriteTx<Self::Database>, sqlx::Error>> + Send;
}

/// A write transaction (see [`BeginWrite`]); `&mut *tx` is its connection, as with sqlx's own.
pub struct WriteTx<DB: sqlx::Database> {
    tx: sqlx::Transaction<'static, DB>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl<DB: sqlx::Database> WriteTx<DB> {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteTx<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteTx<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// This process's turn at an SQLite database's write lock, one queue per database file.
///
/// SQLite has one write lock per database. A connection that finds it taken waits in SQLite's
/// busy handler, which sleeps and retries (1, 2, 5, 10 … 100 ms): with the intake, the delivery
/// worker and its recorder all writing, those sleeps and wake-ups took more of the CPU than the
/// work itself and stretched ping delays to seconds. Writers of one process therefore queue here,
/// first come first served, and only one at a time asks SQLite for the lock; the busy timeout
/// still covers other processes (`affdesk migrate`, the CLI).
pub async fn sqlite_write_turn(pool: &SqlitePool) -> OwnedMutexGuard<()> {
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<AsyncMutex<()>>>>> = OnceLock::new();
    let file = pool.connect_options().get_filename().to_path_buf();
    let turn = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(file)
        .or_default()
        .clone();
    turn.lock_owned().await
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;

    async fn begin_write(&self) -> Result<WriteTx<sqlx::Sqlite>, sqlx::Error> {
        let turn = sqlite_write_turn(self).await;
        let tx = self.begin_with("BEGIN IMMEDIATE").await?;
        Ok(WriteTx {
            tx,
            _turn: Some(turn),
        })
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;

    async fn begin_write(&self) -> Result<WriteTx<sqlx::Postgres>, sqlx::Error> {
        Ok(WriteTx {
            tx: self.begin().await?,
            _turn: None,
        })
    }
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
                // sqlx's check before each acquire stays on here: skipping it saved only 2.5%
                // of a page's CPU, and the suite hung twice in 38 runs without it (BENCHMARKS.md,
                // session 5), which nobody has yet explained.
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
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= CHECK_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                Ok(Self::Postgres(pool))
            }
            None => Err(DbError::UnsupportedUrl(redact_url(url))),
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

    /// Writes a consistent copy of a live SQLite database to `path` (`VACUUM INTO`: one read
    /// transaction's snapshot, compacted; writers carry on). `Ok(false)` for PostgreSQL, whose
    /// tool for this is `pg_dump`. SQLite refuses a `path` that exists.
    pub async fn copy_into(&self, path: &std::path::Path) -> Result<bool, sqlx::Error> {
        let Self::Sqlite(pool) = self else {
            return Ok(false);
        };
        sqlx::query("VACUUM INTO ?")
            .bind(path.to_string_lossy().into_owned())
            .execute(pool)
            .await?;
        Ok(true)
    }

    /// A round trip to the database, for `/healthz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// Closes the pool once no connection has been in use for a moment (or after `max_wait`).
    /// A page whose client has gone keeps rendering in a detached task after the server stopped
    /// waiting for it; closing at once made its queries fail with "closed pool".
    pub async fn close_when_idle(&self, max_wait: Duration) {
        const QUIET: Duration = Duration::from_millis(200);
        const STEP: Duration = Duration::from_millis(20);
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut quiet_since = tokio::time::Instant::now();
        while tokio::time::Instant::now() < deadline {
            let busy = with_pool!(self, pool => pool.size() as usize > pool.num_idle());
            let now = tokio::time::Instant::now();
            if busy {
                quiet_since = now;
            } else if now - quiet_since >= QUIET {
                break;
            }
            tokio::time::sleep(STEP).await;
        }
        self.close().await;
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

    /// A transaction that reads and then writes must not fail because another connection wrote
    /// in between (SQLite's deferred transactions do, with "database is locked").
    #[tokio::test]
    async fn a_write_transaction_that_reads_first_survives_a_concurrent_writer() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let Db::Sqlite(pool) = Db::connect(&url, 4).await.unwrap() else {
            unreachable!("a sqlite URL opens a sqlite pool")
        };
        sqlx::query("CREATE TABLE t (n INTEGER NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (0)")
            .execute(&pool)
            .await
            .unwrap();

        let mut tx = pool.begin_write().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT n FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let other = tokio::spawn({
            let pool = pool.clone();
            async move { sqlx::query("UPDATE t SET n = n + 10").execute(&pool).await }
        });
        // Give the other writer every chance to commit inside our transaction's lifetime; with
        // `BEGIN IMMEDIATE` it has to wait for our commit instead.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!other.is_finished(), "the other writer waits for the lock");
        sqlx::query("UPDATE t SET n = $1")
            .bind(n + 1)
            .execute(&mut *tx)
            .await
            .expect("the write after a read is not refused");
        tx.commit().await.unwrap();
        other.await.unwrap().expect("the other writer goes after");
        let n: i64 = sqlx::query_scalar("SELECT n FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(n, 11);
    }

    #[test]
    fn backends_are_recognised_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://a.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("sqlite::memory:"), Some(Backend::Sqlite));
        assert_eq!(Backend::of_url("postgresql://x/y"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://x/y"), None);
    }
}
