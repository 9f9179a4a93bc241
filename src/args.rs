//! The options every command takes (`GlobalArgs`) and the server's (`ServeArgs`), each also
//! read from an environment variable. Kept apart from the command line's commands so the
//! settings (`config`) and the logging set-up (`telemetry`) can read them without depending on
//! the commands that use them.

use clap::{ArgAction, Args, ValueEnum};
use std::net::SocketAddr;

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// sqlite://path/to/file.db (created when missing) or postgres://user:password@host/db
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://affdesk.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,
    /// Most database connections affdesk opens.
    #[arg(
        long,
        env = "AFFDESK_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,
    /// Log line format.
    #[arg(long, env = "AFFDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// What to log, as a tracing filter (e.g. "info" or "affdesk=debug,info").
    #[arg(long, env = "AFFDESK_LOG", default_value = "info", global = true)]
    pub log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory holding the built site (pkg/ with the wasm, JavaScript and CSS). Unset: the site
    /// built into the binary (`--features embed-site`, as `./scripts/run` builds), else
    /// `target/site`.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
    /// Mark the session cookie Secure (and name it `__Host-affdesk_session`); on by itself when
    /// AFFDESK_PUBLIC_ORIGIN is https.
    #[arg(long, env = "AFFDESK_COOKIE_SECURE", default_value_t = false, action = ArgAction::Set)]
    pub cookie_secure: bool,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "AFFDESK_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// Hours after login at which a session ends, however busy.
    #[arg(long, env = "AFFDESK_SESSION_MAX_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_max_hours: u32,
    /// The origin browsers use to reach affdesk (https://affdesk.example.com), when it differs from
    /// the Host header affdesk receives (behind a reverse proxy).
    #[arg(long, env = "AFFDESK_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// Reverse proxies (comma-separated IPs or CIDR ranges) whose X-Forwarded-For names the
    /// client: it is read only on connections from these, right to left past them.
    #[arg(long, env = "AFFDESK_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Days the audit log keeps an event (1-3650).
    #[arg(long, env = "AFFDESK_AUDIT_DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub audit_days: u32,
    /// Every admin must use two-step login (an authenticator app): one without it is sent to set
    /// it up at their next login, and can do nothing else until they have.
    #[arg(long, env = "AFFDESK_REQUIRE_MFA", default_value_t = false, action = ArgAction::Set)]
    pub require_mfa: bool,
    /// Deprecated: trusts X-Forwarded-For from a proxy on this machine; use AFFDESK_TRUSTED_PROXIES.
    #[arg(long, env = "AFFDESK_TRUST_FORWARDED_FOR", default_value_t = false, action = ArgAction::Set)]
    pub trust_forwarded_for: bool,
    /// Non-public addresses affdesk may call anyway (links, "Send test"): comma-separated IPs or
    /// CIDR ranges, e.g. "10.0.0.0/8, 127.0.0.1". Loopback, private and link-local addresses are
    /// refused otherwise.
    #[arg(long, env = "AFFDESK_OUTBOUND_ALLOW", default_value = "")]
    pub outbound_allow: String,
    /// Most server-to-server deliveries under way at once.
    #[arg(long, env = "AFFDESK_DELIVERY_CONCURRENCY", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub delivery_concurrency: u32,
    /// Most deliveries under way at once to one tracker host.
    #[arg(long, env = "AFFDESK_DELIVERY_PER_HOST", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub delivery_per_host: u32,
    /// Seconds one server-to-server call (or "Send test") may take before it counts as failed.
    /// A delivery whose affdesk process died mid-call is retried after four times this.
    #[arg(long, env = "AFFDESK_DELIVERY_TIMEOUT", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=120))]
    pub delivery_timeout: u32,
    /// Seconds a client may take to send a request's headers, and an idle connection may stay
    /// open between requests, before affdesk closes it (slow-header attacks).
    #[arg(long, env = "AFFDESK_HEADER_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=300))]
    pub header_timeout: u32,
    /// Seconds a client may take to send a request's body once its headers are in (slow-body
    /// attacks); a body still arriving then gets 408 and the connection is closed.
    #[arg(long, env = "AFFDESK_BODY_TIMEOUT", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=300))]
    pub body_timeout: u32,
    /// Most client connections open at once; further clients wait in the listen queue until one
    /// closes.
    #[arg(long, env = "AFFDESK_MAX_CLIENT_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u32).range(4..=65536))]
    pub max_client_connections: u32,
    /// Most connections open at once from one client address, an IPv6 client's /64 counting as
    /// one (reverse proxies named in AFFDESK_TRUSTED_PROXIES are not limited): one client cannot
    /// take every connection.
    #[arg(long, env = "AFFDESK_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections_per_address: u32,
    /// Currency (ISO 4217) of signups reported without one.
    #[arg(long, env = "AFFDESK_DEFAULT_CURRENCY", default_value = "USD")]
    pub default_currency: String,
    /// The Explodely affiliate API endpoint.
    #[arg(long, env = "AFFDESK_EXPLODELY_URL", default_value = app::server::remote::explodely::DEFAULT_URL)]
    pub explodely_url: String,
    /// Key that encrypts stored credentials: 64 hex characters (`openssl rand -hex 32`). When
    /// unset, a key file is created on first start (see --secret-key-file).
    #[arg(long, env = "AFFDESK_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Where the generated key lives when AFFDESK_SECRET_KEY is unset [default: beside the SQLite
    /// database as <file>.key; ./affdesk.key for PostgreSQL].
    #[arg(long, env = "AFFDESK_SECRET_KEY_FILE")]
    pub secret_key_file: Option<std::path::PathBuf>,
    /// Where to serve Prometheus metrics (GET /metrics), e.g. 127.0.0.1:9464. Unset: no metrics
    /// listener and nothing recorded. Keep it off the public network: it needs no login.
    #[arg(long, env = "AFFDESK_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Username of the admin created, with a printed one-time password, when none exists.
    #[arg(long, env = "AFFDESK_INITIAL_ADMIN", default_value = "admin")]
    pub initial_admin: String,
}
