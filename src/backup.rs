//! `affdesk backup --to FILE`: a consistent copy of a live SQLite database, and beside it
//! (`FILE.key`) the key file that decrypts its stored credentials, which the database alone cannot
//! be restored without. For PostgreSQL it says what to run instead (`pg_dump`).
//!
//! It never migrates (an upgrade's new binary backing up first must copy the old schema) and never
//! overwrites a file.

use crate::args::{GlobalArgs, ServeArgs};
use crate::config::{key_file, sqlite_file, with_suffix, DatabaseSettings};
use anyhow::{bail, Context};
use app::server::storage::db::{redact_url, Db};
use secrecy::ExposeSecret;
use std::path::Path;

pub async fn run(global: &GlobalArgs, serve: &ServeArgs, to: &Path) -> anyhow::Result<()> {
    let settings = DatabaseSettings::from_args(global)?;
    let url = settings.url.expose_secret();
    let Some(database) = sqlite_file(url) else {
        bail!(
            "affdesk backup copies SQLite databases; {} is PostgreSQL (or in memory). Back it up \
             with pg_dump, e.g. `pg_dump --format=custom --file=affdesk.dump \"$DATABASE_URL\"`, \
             and keep the encryption key with it (AFFDESK_SECRET_KEY, or the file {})",
            redact_url(url),
            key_file(global, serve).display()
        );
    };
    if !database.is_file() {
        bail!(
            "there is no SQLite database at {} (DATABASE_URL {}): nothing to back up",
            database.display(),
            redact_url(url)
        );
    }
    let key_copy = with_suffix(to, ".key");
    for target in [to, key_copy.as_path()] {
        if target.exists() {
            bail!(
                "{} exists: a backup never overwrites a file; choose a new name for --to",
                target.display()
            );
        }
    }
    // One connection, and no migrations: the copy is of the database as it is.
    let db = Db::connect(url, 1).await?;
    let copied = db.copy_into(to).await;
    db.close().await;
    copied.with_context(|| format!("copying {} to {}", database.display(), to.display()))?;
    let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or_default();
    println!(
        "affdesk: copied the database {} to {} ({size} bytes, consistent as of one moment)",
        database.display(),
        to.display()
    );
    copy_key(global, serve, &database, &key_copy)
}

/// The key that decrypts the stored Explodely key: copied when it is a file, named when it comes
/// from the environment.
fn copy_key(
    global: &GlobalArgs,
    serve: &ServeArgs,
    database: &Path,
    to: &Path,
) -> anyhow::Result<()> {
    if serve.secret_key.is_some() {
        println!(
            "affdesk: the encryption key comes from AFFDESK_SECRET_KEY: keep that value with the \
             backup (without it the stored Explodely key cannot be read)"
        );
        return Ok(());
    }
    let key = key_file(global, serve);
    if !key.is_file() {
        println!(
            "affdesk: there is no key file at {} (affdesk creates it on its first start, so \
             this database has not been served with these settings); nothing else to keep",
            key.display()
        );
        return Ok(());
    }
    copy_private(&key, to)
        .with_context(|| format!("copying the key file {} to {}", key.display(), to.display()))?;
    println!(
        "affdesk: copied the key file {} to {}; restore both together: stop affdesk, put them \
         back as {} and {}",
        key.display(),
        to.display(),
        database.display(),
        key.display()
    );
    Ok(())
}

/// Copies a secret so that only its owner can read the copy, from the first byte.
fn copy_private(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let bytes = std::fs::read(from)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(to)?;
    file.write_all(&bytes)?;
    file.sync_all()
}
