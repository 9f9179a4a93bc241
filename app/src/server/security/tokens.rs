//! Random tokens: session-independent secrets (API tokens, form keys, one-time passwords).

use rand::RngCore;

/// `bytes` random bytes as lower-case hex, from the operating system's generator.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}
