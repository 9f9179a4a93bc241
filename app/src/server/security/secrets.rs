//! Encryption at rest for credentials affdesk must send on (the Explodely API key). The key is
//! `AFFDESK_SECRET_KEY` (64 hex characters) or, when that is unset, a key file created on first
//! start with 0600 permissions. Losing the key only means the API key must be entered again.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("AFFDESK_SECRET_KEY must be 64 hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`")]
    BadKey,
    #[error("the key file {path} is not 64 hexadecimal characters; restore it or delete it (stored API keys must then be entered again)")]
    BadKeyFile { path: String },
    #[error("cannot read or create the key file {path}: {source}")]
    KeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a stored secret cannot be decrypted with the current key; enter it again")]
    Undecryptable,
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// Keys [`SecretBox::fingerprint`]: derived from the key, never the key itself.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key>)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    unhex(text)?.try_into().ok()
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        use sha2::{Digest, Sha256};
        let mac_key: [u8; 32] = Sha256::new()
            .chain_update(b"affdesk fingerprint key v1\n")
            .chain_update(key)
            .finalize()
            .into();
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
            mac_key,
        }
    }

    /// A keyed hash (HMAC-SHA256, hex) of `value` for `purpose`, to store what only needs to be
    /// recognised later (recovery codes): without the key, a copy of the database cannot be used
    /// to try candidates offline, however few bits the value has.
    pub fn fingerprint(&self, purpose: &str, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mac_key)
            .expect("HMAC accepts any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\n");
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The key from `explicit`, else from `key_file`, created (0600) when missing.
    pub fn load(explicit: Option<&SecretString>, key_file: &Path) -> Result<Self, SecretError> {
        if let Some(explicit) = explicit {
            return key_from_hex(explicit.expose_secret())
                .map(Self::new)
                .ok_or(SecretError::BadKey);
        }
        let path = key_file.display().to_string();
        match std::fs::read_to_string(key_file) {
            Ok(text) => key_from_hex(&text)
                .map(Self::new)
                .ok_or(SecretError::BadKeyFile { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(key_file, &hex(&key)).map_err(|source| SecretError::KeyFile {
                    path: path.clone(),
                    source,
                })?;
                tracing::warn!(
                    key_file = %path,
                    "generated a new secret key for stored credentials; back it up with the database, or set AFFDESK_SECRET_KEY"
                );
                Ok(Self::new(key))
            }
            Err(source) => Err(SecretError::KeyFile { path, source }),
        }
    }

    /// hex(nonce || ciphertext) of `plaintext`, with a fresh random nonce.
    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of an in-memory buffer cannot fail");
        format!("{}{}", hex(&nonce), hex(&sealed))
    }

    pub fn open(&self, sealed: &str) -> Result<SecretString, SecretError> {
        let bytes = unhex(sealed).ok_or(SecretError::Undecryptable)?;
        if bytes.len() < 24 {
            return Err(SecretError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Undecryptable)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SecretError::Undecryptable)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let a = SecretBox::new([7; 32]);
        let sealed = a.seal("api-key-1234");
        assert!(!sealed.contains("api-key"));
        assert_ne!(sealed, a.seal("api-key-1234"), "a fresh nonce every time");
        assert_eq!(a.open(&sealed).unwrap().expose_secret(), "api-key-1234");
        assert!(SecretBox::new([8; 32]).open(&sealed).is_err());
        assert!(a.open("zz").is_err());
    }

    #[test]
    fn a_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("affdesk.db.key");
        let first = SecretBox::load(None, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let second = SecretBox::load(None, &path).unwrap();
        assert_eq!(second.open(&first.seal("x")).unwrap().expose_secret(), "x");
        let explicit = SecretString::from("zz".to_owned());
        assert!(matches!(
            SecretBox::load(Some(&explicit), &path),
            Err(SecretError::BadKey)
        ));
    }
}
