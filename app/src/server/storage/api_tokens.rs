//! Bearer tokens for the intake API. A token is shown once when created; only its SHA-256 is
//! stored, which is enough for a 256-bit random secret (no password-style stretching needed).

use crate::server::security::tokens::random_token;
use crate::server::storage::audit_log::AuditEvent;
use crate::server::storage::db::{BeginWrite, Db};
use crate::with_pool;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "affd_";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub enum CreateToken {
    Created { token: String },
    NameTaken,
}

pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Token names: 1-64 characters of letters, digits, space, `.`, `_` and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if name.trim().is_empty() || count > 64 {
        return Err("a token name needs 1 to 64 characters".to_owned());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-')))
    {
        return Err(format!(
            "a token name may contain letters, digits, spaces, '.', '_' and '-'; remove {bad:?}"
        ));
    }
    Ok(())
}

/// Creates a token named `name`, recording `audit` with it.
pub async fn create(db: &Db, name: &str, audit: &AuditEvent) -> Result<CreateToken, sqlx::Error> {
    const SQL: &str = "INSERT INTO api_tokens (name, token_hash, created_at) VALUES ($1, $2, $3) \
        ON CONFLICT (name) DO NOTHING RETURNING id";
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let id: Option<i64> = with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(SQL)
            .bind(name)
            .bind(hash(&token))
            .bind(audit.at)
            .fetch_optional(&mut *tx)
            .await?;
        if id.is_some() {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(id)
    })?;
    Ok(match id {
        Some(_) => CreateToken::Created { token },
        None => CreateToken::NameTaken,
    })
}

/// Deletes the token, recording `audit` with it; returns false when no token has that name.
pub async fn revoke(db: &Db, name: &str, audit: &AuditEvent) -> Result<bool, sqlx::Error> {
    const SQL: &str = "DELETE FROM api_tokens WHERE name = $1";
    with_pool!(db, pool => {
        let mut tx = pool.begin_write().await?;
        let revoked = sqlx::query(SQL).bind(name).execute(&mut *tx).await?.rows_affected() > 0;
        if revoked {
            crate::record_audit!(&mut *tx, audit)?;
        }
        tx.commit().await?;
        Ok(revoked)
    })
}

pub async fn list(db: &Db) -> Result<Vec<TokenRecord>, sqlx::Error> {
    const SQL: &str = "SELECT id, name, created_at, last_used_at FROM api_tokens ORDER BY name";
    with_pool!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}

/// The token's name when `presented` is a current token; records the use.
/// How stale a token's `last_used_at` may get. Recording every use would make each intake request
/// a write (on SQLite, a turn at the one write lock) just to move a timestamp the admin reads to
/// the minute.
pub const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The token's name if `presented` is a live token; notes its use (to the minute).
pub async fn authenticate(
    db: &Db,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    const FIND: &str = "SELECT id, name, last_used_at FROM api_tokens WHERE token_hash = $1";
    const TOUCH: &str = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
        AND (last_used_at IS NULL OR last_used_at < $3)";
    if !presented.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let found: Option<(i64, String, Option<DateTime<Utc>>)> = with_pool!(db, pool => {
        sqlx::query_as(FIND).bind(hash(presented)).fetch_optional(pool).await
    })?;
    let Some((id, name, last_used_at)) = found else {
        return Ok(None);
    };
    let stale_before = now - LAST_USED_PRECISION;
    if last_used_at.is_none_or(|at| at < stale_before) {
        with_pool!(db, pool => {
            sqlx::query(TOUCH).bind(now).bind(id).bind(stale_before).execute(pool).await.map(|_| ())
        })?;
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("signup flow").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a/b").unwrap_err().contains("'/'"));
        assert!(check_name(&"x".repeat(65)).is_err());
    }

    #[test]
    fn the_stored_form_is_a_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
