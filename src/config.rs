//! Settings from the command line and `AFFDESK_*` (and a few standard) environment variables,
//! checked once at start so a typo stops affdesk with a message instead of misbehaving later.

use crate::args::{GlobalArgs, ServeArgs};
use crate::site::SiteSource;
use anyhow::{bail, Context};
use app::domain::address::AllowList;
use app::domain::credentials::Username;
use app::server::worker::delivery::DeliveryLimits;
use chrono::TimeDelta;
use secrecy::SecretString;
use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// May carry a password, so it never reaches a log; see `app::server::storage::db::redact_url`.
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub addr: SocketAddr,
    pub site: SiteSource,
    pub cookie_secure: bool,
    pub session_idle_timeout: TimeDelta,
    pub session_max_lifetime: TimeDelta,
    pub public_origin: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` is read.
    pub trusted_proxies: AllowList,
    /// Every admin must use two-step login.
    pub require_mfa: bool,
    /// How long audit events are kept (`AFFDESK_AUDIT_DAYS`).
    pub audit_retention: TimeDelta,
    /// Non-public addresses outbound calls may reach.
    pub outbound_allow: AllowList,
    pub delivery_limits: DeliveryLimits,
    /// The limit on one outbound call; leases last four times this.
    pub delivery_timeout: std::time::Duration,
    /// How long a client may take to send its request headers (or idle between requests).
    pub header_timeout: std::time::Duration,
    /// How long a client may take to send a request's body after its headers.
    pub body_timeout: std::time::Duration,
    /// Most client connections served at once.
    pub max_client_connections: usize,
    /// Most connections from one address (trusted proxies excepted).
    pub max_connections_per_address: usize,
    /// Run the delivery worker in this process (tests drive it by hand instead).
    pub run_delivery_worker: bool,
    pub default_currency: String,
    pub explodely_url: String,
    /// How long a createaffcontract call may take (20 s; tests shorten it).
    pub explodely_timeout: std::time::Duration,
    pub secret_key: Option<SecretString>,
    pub secret_key_file: std::path::PathBuf,
    /// Created with a printed one-time password when no admin exists; `None` creates nobody.
    pub bootstrap_admin: Option<Username>,
    /// The Prometheus metrics listener's address; `None`: no metrics.
    pub metrics_addr: Option<SocketAddr>,
}

impl DatabaseSettings {
    pub fn from_args(global: &GlobalArgs) -> anyhow::Result<Self> {
        if global.db_max_connections == 0 {
            bail!("AFFDESK_DB_MAX_CONNECTIONS must be at least 1");
        }
        Ok(Self {
            url: SecretString::from(global.database_url.clone()),
            max_connections: global.db_max_connections,
        })
    }
}

impl Settings {
    /// Whether the session cookie is `Secure`: when configured, and whenever browsers reach
    /// affdesk over HTTPS (an https public origin).
    pub fn secure_cookies(&self) -> bool {
        self.cookie_secure
            || self
                .public_origin
                .as_deref()
                .is_some_and(|origin| origin.starts_with("https://"))
    }

    pub fn from_args(global: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<Self> {
        let public_origin = serve
            .public_origin
            .as_deref()
            .map(parse_origin)
            .transpose()
            .context("AFFDESK_PUBLIC_ORIGIN")?;
        let bootstrap_admin = Username::parse(&serve.initial_admin)
            .map_err(|e| anyhow::anyhow!("AFFDESK_INITIAL_ADMIN: {e}"))?;
        let outbound_allow = AllowList::parse(&serve.outbound_allow)
            .map_err(|e| anyhow::anyhow!("AFFDESK_OUTBOUND_ALLOW: {e}"))?;
        let currency = serve.default_currency.trim();
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            bail!("AFFDESK_DEFAULT_CURRENCY {currency:?} must be an ISO 4217 code such as USD");
        }
        let secret_key_file = key_file(global, serve);
        app::domain::explodely::check_endpoint(&serve.explodely_url, &outbound_allow).map_err(
            |why| anyhow::anyhow!("AFFDESK_EXPLODELY_URL {:?} {why}", serve.explodely_url),
        )?;
        Ok(Self {
            explodely_url: serve.explodely_url.clone(),
            explodely_timeout: app::server::remote::explodely::TIMEOUT,
            secret_key: serve.secret_key.clone().map(SecretString::from),
            secret_key_file,
            database: DatabaseSettings::from_args(global)?,
            delivery_limits: DeliveryLimits {
                total: serve.delivery_concurrency as usize,
                per_host: serve.delivery_per_host as usize,
            },
            delivery_timeout: std::time::Duration::from_secs(u64::from(serve.delivery_timeout)),
            header_timeout: std::time::Duration::from_secs(u64::from(serve.header_timeout)),
            body_timeout: std::time::Duration::from_secs(u64::from(serve.body_timeout)),
            max_client_connections: serve.max_client_connections as usize,
            max_connections_per_address: serve.max_connections_per_address as usize,
            run_delivery_worker: true,
            default_currency: currency.to_owned(),
            addr: serve.addr,
            site: SiteSource::choose(serve.site_root.as_deref()),
            cookie_secure: serve.cookie_secure,
            session_idle_timeout: TimeDelta::minutes(i64::from(serve.session_idle_minutes)),
            session_max_lifetime: TimeDelta::hours(i64::from(serve.session_max_hours)),
            public_origin,
            trusted_proxies: trusted_proxies(serve)?,
            require_mfa: serve.require_mfa,
            audit_retention: TimeDelta::days(i64::from(serve.audit_days)),
            outbound_allow,
            bootstrap_admin: Some(bootstrap_admin),
            metrics_addr: serve.metrics_addr,
        })
    }

    /// Settings for tests: the given database, port 0, nobody bootstrapped, loopback callable
    /// (tests' receivers listen there).
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database: DatabaseSettings {
                url: SecretString::from(database_url.to_owned()),
                max_connections: 5,
            },
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            site: SiteSource::Empty,
            cookie_secure: false,
            session_idle_timeout: TimeDelta::minutes(30),
            session_max_lifetime: TimeDelta::hours(12),
            public_origin: None,
            trusted_proxies: AllowList::default(),
            require_mfa: false,
            audit_retention: TimeDelta::days(365),
            outbound_allow: AllowList::parse("127.0.0.0/8, ::1").expect("valid allow-list"),
            delivery_limits: DeliveryLimits::default(),
            delivery_timeout: app::server::remote::outbound::TOTAL_TIMEOUT,
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(15),
            max_client_connections: 512,
            max_connections_per_address: 64,
            run_delivery_worker: true,
            default_currency: "USD".to_owned(),
            explodely_url: app::server::remote::explodely::DEFAULT_URL.to_owned(),
            explodely_timeout: app::server::remote::explodely::TIMEOUT,
            secret_key: Some(SecretString::from("00".repeat(32))),
            secret_key_file: std::path::PathBuf::from("affdesk.key"),
            bootstrap_admin: None,
            metrics_addr: None,
        }
    }
}

/// The key file beside a SQLite database (`affdesk.db` -> `affdesk.db.key`); `./affdesk.key`
/// otherwise.
/// `AFFDESK_TRUSTED_PROXIES`; the older `AFFDESK_TRUST_FORWARDED_FOR=true` alone trusts a proxy
/// on this machine (loopback) only, which is where it was meant for.
fn trusted_proxies(serve: &ServeArgs) -> anyhow::Result<AllowList> {
    let listed = serve.trusted_proxies.trim();
    if listed.is_empty() && serve.trust_forwarded_for {
        tracing::warn!(
            "AFFDESK_TRUST_FORWARDED_FOR is deprecated: X-Forwarded-For is now read only from \
             proxies on this machine; name your proxies in AFFDESK_TRUSTED_PROXIES instead"
        );
        return Ok(AllowList::parse("127.0.0.0/8, ::1").expect("a valid list"));
    }
    AllowList::parse(listed).map_err(|e| anyhow::anyhow!("AFFDESK_TRUSTED_PROXIES: {e}"))
}

/// The file of a `sqlite://` URL; none for PostgreSQL and in-memory databases.
pub fn sqlite_file(database_url: &str) -> Option<std::path::PathBuf> {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(':'))
        .map(std::path::PathBuf::from)
}

/// Where the key file is: `--secret-key-file`, else [`default_key_file`].
pub fn key_file(global: &GlobalArgs, serve: &ServeArgs) -> std::path::PathBuf {
    serve
        .secret_key_file
        .clone()
        .unwrap_or_else(|| default_key_file(&global.database_url))
}

/// Where the generated key lives when none is configured: beside the SQLite database as
/// `<file>.key`; `./affdesk.key` for PostgreSQL.
pub fn default_key_file(database_url: &str) -> std::path::PathBuf {
    match sqlite_file(database_url) {
        Some(file) => with_suffix(&file, ".key"),
        None => std::path::PathBuf::from("affdesk.key"),
    }
}

/// `file` with `suffix` added to its name (`affdesk.db` -> `affdesk.db.key`).
pub fn with_suffix(file: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// `https://host[:port]`, no path: what browsers send in `Origin`.
fn parse_origin(raw: &str) -> anyhow::Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .with_context(|| format!("{raw:?} must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        bail!("{raw:?} must be a scheme and host only, like https://affdesk.example.com");
    }
    Ok(trimmed.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_database() {
        use super::default_key_file;
        assert_eq!(
            default_key_file("sqlite://affdesk.db"),
            std::path::PathBuf::from("affdesk.db.key")
        );
        assert_eq!(
            default_key_file("sqlite:///var/lib/a.db?mode=rwc"),
            std::path::PathBuf::from("/var/lib/a.db.key")
        );
        assert_eq!(
            default_key_file("postgres://u@h/db"),
            std::path::PathBuf::from("affdesk.key")
        );
    }

    #[test]
    fn origins_are_scheme_and_host_only() {
        assert_eq!(
            parse_origin("https://Affdesk.Example.com/").unwrap(),
            "https://affdesk.example.com"
        );
        assert!(parse_origin("affdesk.example.com").is_err());
        assert!(parse_origin("https://affdesk.example.com/admin").is_err());
    }
}
