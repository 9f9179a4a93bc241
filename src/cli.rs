//! The command line. Every option can also be given as an environment variable (shown in
//! `affdesk --help`), which is how the README's configuration table is applied.

use crate::config::{DatabaseSettings, Settings};
use crate::startup::Application;
use anyhow::{bail, Context};
use app::domain::credentials::{Password, Username};
use app::server::clock::{Clock, SystemClock};
use app::server::security::passwords::PasswordService;
use app::server::storage::admins::{self, CreateOutcome};
use app::server::storage::api_tokens::{self, CreateToken};
use app::server::storage::db::{redact_url, Db};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use secrecy::ExposeSecret;
use std::io::Read;
use std::net::SocketAddr;

#[derive(Debug, Parser)]
#[command(
    name = "affdesk",
    version,
    about = "Affiliate-program admin for web-hosting providers"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Options for `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

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
    /// Directory holding the built site (pkg/ with the wasm, JavaScript and CSS).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// Mark the session cookie Secure; set to true whenever affdesk is reached over HTTPS.
    #[arg(long, env = "AFFDESK_COOKIE_SECURE", default_value_t = false, action = ArgAction::Set)]
    pub cookie_secure: bool,
    /// Minutes without a request after which a session ends.
    #[arg(long, env = "AFFDESK_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// The origin browsers use to reach affdesk (https://affdesk.example.com), when it differs from
    /// the Host header affdesk receives (behind a reverse proxy).
    #[arg(long, env = "AFFDESK_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// Take the client address from the last X-Forwarded-For entry. Only behind a proxy that sets it.
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
    /// Username of the admin created, with a printed one-time password, when none exists.
    #[arg(long, env = "AFFDESK_INITIAL_ADMIN", default_value = "admin")]
    pub initial_admin: String,
}

// Parsed once at start-up: the size of the largest variant costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the admin application (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage admin accounts.
    Admin {
        #[command(subcommand)]
        action: AdminCommand,
    },
    /// Manage API tokens for `POST /api/v1/signups`.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its hash is stored).
    Create {
        #[arg(long, env = "AFFDESK_TOKEN_NAME")]
        name: String,
    },
    /// Revoke a token: requests carrying it are refused from now on.
    Revoke {
        #[arg(long, env = "AFFDESK_TOKEN_NAME")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct AdminCredentials {
    /// 3-64 characters: a-z, 0-9, '.', '_' and '-'.
    #[arg(long, env = "AFFDESK_ADMIN_USERNAME")]
    pub username: String,
    /// Read the password (12-128 characters) from the first line of standard input, so it never
    /// appears in the process list or shell history.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin.
    Create(AdminCredentials),
    /// Replace an admin's password and end all of that admin's sessions.
    SetPassword(AdminCredentials),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => serve(&cli.global, &cli.serve).await,
        Some(Command::Serve(args)) => serve(&cli.global, &args).await,
        Some(Command::Migrate) => {
            let db = open_database(&DatabaseSettings::from_args(&cli.global)?).await?;
            println!("affdesk: database migrations applied");
            db.close().await;
            Ok(())
        }
        Some(Command::Admin { action }) => admin(&cli.global, action).await,
        Some(Command::Token { action }) => token(&cli.global, action).await,
    }
}

async fn token(global: &GlobalArgs, action: TokenCommand) -> anyhow::Result<()> {
    let db = open_database(&DatabaseSettings::from_args(global)?).await?;
    let result = match action {
        TokenCommand::Create { name } => {
            api_tokens::check_name(&name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
            match api_tokens::create(&db, &name, SystemClock.now()).await? {
                CreateToken::Created { token } => {
                    println!("{token}");
                    eprintln!("affdesk: token '{name}' created; it is shown only this once");
                    Ok(())
                }
                CreateToken::NameTaken => Err(anyhow::anyhow!(
                    "a token named '{name}' exists; revoke it first or choose another name"
                )),
            }
        }
        TokenCommand::Revoke { name } => {
            if api_tokens::revoke(&db, &name).await? {
                println!("affdesk: token '{name}' revoked");
                Ok(())
            } else {
                Err(anyhow::anyhow!("no token is named '{name}'"))
            }
        }
    };
    db.close().await;
    result
}

async fn serve(global: &GlobalArgs, args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(global, args)?;
    let app = Application::build(settings).await?;
    app.run_until_stopped().await
}

/// Connects and applies migrations: every command works on a brand-new database.
pub async fn open_database(settings: &DatabaseSettings) -> anyhow::Result<Db> {
    let url = settings.url.expose_secret();
    let db = Db::connect(url, settings.max_connections).await?;
    db.migrate()
        .await
        .with_context(|| format!("migrating {}", redact_url(url)))?;
    Ok(db)
}

fn read_password_from_stdin(creds: &AdminCredentials) -> anyhow::Result<Password> {
    if !creds.password_stdin {
        bail!(
            "give the password on standard input with --password-stdin, e.g. \
             `printf '%s\\n' \"$PASSWORD\" | affdesk admin create --username {} --password-stdin`",
            creds.username
        );
    }
    let mut input = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut input)
        .context("reading the password from standard input")?;
    let line = input.lines().next().unwrap_or_default();
    Password::parse(line).map_err(|e| anyhow::anyhow!("password: {e}"))
}

async fn admin(global: &GlobalArgs, action: AdminCommand) -> anyhow::Result<()> {
    let creds = match &action {
        AdminCommand::Create(c) | AdminCommand::SetPassword(c) => c,
    };
    let username =
        Username::parse(&creds.username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    let password = read_password_from_stdin(creds)?;
    let db = open_database(&DatabaseSettings::from_args(global)?).await?;
    let hash = PasswordService::default().hash(password.expose()).await?;
    let now = SystemClock.now();
    let result = match action {
        AdminCommand::Create(_) => match admins::create(&db, &username, &hash, false, now).await? {
            CreateOutcome::Created(_) => {
                println!("affdesk: admin '{username}' created");
                Ok(())
            }
            CreateOutcome::UsernameTaken => Err(anyhow::anyhow!(
                "an admin named '{username}' already exists; use `affdesk admin set-password` to \
                 change its password"
            )),
        },
        AdminCommand::SetPassword(_) => {
            let admin = admins::find_by_username(&db, username.as_str())
                .await?
                .with_context(|| format!("no admin is named '{username}'"))?;
            admins::set_password(&db, admin.id, &hash, now).await?;
            println!("affdesk: password of '{username}' replaced; its sessions have been ended");
            Ok(())
        }
    };
    db.close().await;
    result
}
