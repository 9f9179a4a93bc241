//! The command line. Every option can also be given as an environment variable (shown in
//! `affdesk --help`), which is how the README's configuration table is applied.

use crate::args::{GlobalArgs, ServeArgs};
use crate::config::{DatabaseSettings, Settings};
use crate::startup::{open_database, Application};
use anyhow::{bail, Context};
use app::domain::credentials::{Password, Username};
use app::domain::states::AuditKind;
use app::model::admins::AdminAction;
use app::server::clock::{Clock, SystemClock};
use app::server::security::passwords::PasswordService;
use app::server::storage::admins;
use app::server::storage::api_tokens::{self, CreateToken};
use app::server::storage::audit_log::Actor;
use app::service::admins::{self as admins_service, Requester};
use clap::{Args, Parser, Subcommand};
use std::io::Read;

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
    /// Copy a live SQLite database, consistently, to a new file, and its key file beside it
    /// (FILE.key). Never migrates, never overwrites. For PostgreSQL, says to use pg_dump.
    Backup {
        /// The new file to write (it must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Print the API's OpenAPI 3.1 description (the JSON served at /api/v1/openapi.json).
    Openapi,
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
    /// Turn off an admin's two-step login (a lost phone): removes the authenticator secret and
    /// the recovery codes, and ends that admin's sessions. With AFFDESK_REQUIRE_MFA they set it
    /// up again at their next login.
    ResetMfa {
        #[arg(long, env = "AFFDESK_ADMIN_USERNAME")]
        username: String,
    },
    /// Disable an admin: their sessions end and they cannot log in (never the last admin who
    /// can).
    Disable {
        #[arg(long, env = "AFFDESK_ADMIN_USERNAME")]
        username: String,
    },
    /// Enable a disabled admin.
    Enable {
        #[arg(long, env = "AFFDESK_ADMIN_USERNAME")]
        username: String,
    },
    /// End every session of an admin.
    EndSessions {
        #[arg(long, env = "AFFDESK_ADMIN_USERNAME")]
        username: String,
    },
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
        Some(Command::Backup { to }) => crate::backup::run(&cli.global, &cli.serve, &to).await,
        Some(Command::Openapi) => {
            print!("{}", app::server::http::openapi::openapi_json());
            Ok(())
        }
    }
}

async fn token(global: &GlobalArgs, action: TokenCommand) -> anyhow::Result<()> {
    let db = open_database(&DatabaseSettings::from_args(global)?).await?;
    let result = match action {
        TokenCommand::Create { name } => {
            api_tokens::check_name(&name).map_err(|e| anyhow::anyhow!("name: {e}"))?;
            let audit = Actor::command_line().event(
                AuditKind::TokenCreated,
                format!("API token '{name}' created"),
                SystemClock.now(),
            );
            match api_tokens::create(&db, &name, &audit).await? {
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
            let audit = Actor::command_line().event(
                AuditKind::TokenRevoked,
                format!("API token '{name}' revoked"),
                SystemClock.now(),
            );
            if api_tokens::revoke(&db, &name, &audit).await? {
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
    match action {
        AdminCommand::Create(creds) => with_password(global, &creds, true).await,
        AdminCommand::SetPassword(creds) => with_password(global, &creds, false).await,
        AdminCommand::ResetMfa { username } => {
            let done = "two-step login turned off; its sessions have been ended";
            change_admin(global, &username, AdminAction::ResetMfa, done).await
        }
        AdminCommand::Disable { username } => {
            change_admin(
                global,
                &username,
                AdminAction::Disable,
                "disabled; its sessions have been ended",
            )
            .await
        }
        AdminCommand::Enable { username } => {
            change_admin(global, &username, AdminAction::Enable, "enabled").await
        }
        AdminCommand::EndSessions { username } => {
            change_admin(
                global,
                &username,
                AdminAction::EndSessions,
                "sessions have been ended",
            )
            .await
        }
    }
}

/// `admin disable`, `enable` and `end-sessions`: the Admins page's rules and implementation.
async fn change_admin(
    global: &GlobalArgs,
    username: &str,
    action: AdminAction,
    done: &str,
) -> anyhow::Result<()> {
    let db = open_database(&DatabaseSettings::from_args(global)?).await?;
    let passwords = PasswordService::default();
    let actor = Actor::command_line();
    let now = SystemClock.now();
    let changed = admins_service::change(
        &db,
        &passwords,
        &actor,
        Requester::CommandLine,
        username,
        action,
        now,
    )
    .await;
    db.close().await;
    changed.map_err(|e| anyhow::anyhow!("{}", e.for_terminal()))?;
    println!("affdesk: admin '{username}' {done}");
    Ok(())
}

/// `admin create` (`create`) or `admin set-password`: a username and a password from stdin.
async fn with_password(
    global: &GlobalArgs,
    creds: &AdminCredentials,
    create: bool,
) -> anyhow::Result<()> {
    let username =
        Username::parse(&creds.username).map_err(|e| anyhow::anyhow!("username: {e}"))?;
    let password = read_password_from_stdin(creds)?;
    let db = open_database(&DatabaseSettings::from_args(global)?).await?;
    let now = SystemClock.now();
    let result = if create {
        let actor = Actor::command_line();
        let passwords = PasswordService::default();
        let created = admins_service::create(
            &db,
            &passwords,
            &actor,
            username.as_str(),
            Some(password),
            now,
        )
        .await;
        match created {
            Ok(_) => {
                println!("affdesk: admin '{username}' created");
                Ok(())
            }
            Err(e) => Err(anyhow::anyhow!(
                "{}; `affdesk admin set-password` changes an existing admin's password",
                e.for_terminal()
            )),
        }
    } else {
        let hash = PasswordService::default().hash(password.expose()).await?;
        let admin = admins::find_by_username(&db, username.as_str())
            .await?
            .with_context(|| format!("no admin is named '{username}'"))?;
        let audit = Actor::command_line().event(
            AuditKind::PasswordChanged,
            format!("password of '{username}' replaced; their sessions ended"),
            now,
        );
        admins::set_password(&db, admin.id, &hash, &audit).await?;
        println!("affdesk: password of '{username}' replaced; its sessions have been ended");
        Ok(())
    };
    db.close().await;
    result
}
