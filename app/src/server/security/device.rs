//! Device cookies (OWASP's defence against lockout by login throttling): a browser that has
//! logged in as an admin gets a sealed cookie naming that admin. Its later attempts for that
//! admin are throttled on their own, so failures from anywhere else, the same address included,
//! do not lock the admin out of a browser they have used before.

use super::secrets::SecretBox;
use super::tokens::random_token;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret;

pub const DEVICE_COOKIE: &str = "affdesk_device";
/// With the `__Host-` prefix whenever cookies are `Secure` (see the session cookie).
pub const SECURE_DEVICE_COOKIE: &str = "__Host-affdesk_device";
/// How long a browser stays known after its last login.
pub const DEVICE_LIFETIME: TimeDelta = TimeDelta::days(365);
/// Marks a sealed value as a device cookie, so nothing else sealed with the same key (the
/// Explodely API key) can pass for one.
const KIND: &str = "device/v1";

pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_DEVICE_COOKIE
    } else {
        DEVICE_COOKIE
    }
}

/// A browser known to have logged in as `username`; `id` is what its attempts count against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub username: String,
    pub id: String,
}

/// A new device cookie's value for `username`.
pub fn issue(secrets: &SecretBox, username: &str, now: DateTime<Utc>) -> String {
    let plain = format!(
        "{KIND}\n{username}\n{}\n{}",
        random_token(16),
        now.timestamp()
    );
    secrets.seal(&plain)
}

/// The device a cookie value names, when it is ours, unexpired, and for `username`.
pub fn recognise(
    secrets: &SecretBox,
    value: &str,
    username: &str,
    now: DateTime<Utc>,
) -> Option<Device> {
    let plain = secrets.open(value).ok()?;
    let mut parts = plain.expose_secret().split('\n');
    let (kind, named, id, issued) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let issued = DateTime::from_timestamp(issued.parse().ok()?, 0)?;
    let fresh = issued <= now && now - issued < DEVICE_LIFETIME;
    (kind == KIND && named == username && fresh && parts.next().is_none()).then(|| Device {
        username: named.to_owned(),
        id: id.to_owned(),
    })
}

/// The value of cookie `name` in a `Cookie` request header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_device_is_recognised_for_its_admin_only_and_until_it_expires() {
        let secrets = SecretBox::new([7; 32]);
        let value = issue(&secrets, "alice", now());
        let device = recognise(&secrets, &value, "alice", now()).expect("recognised");
        assert_eq!(device.username, "alice");
        assert_eq!(device.id.len(), 32);
        assert_eq!(recognise(&secrets, &value, "bob", now()), None);
        let later = now() + DEVICE_LIFETIME;
        assert_eq!(recognise(&secrets, &value, "alice", later), None);
        let other_key = SecretBox::new([8; 32]);
        assert_eq!(recognise(&other_key, &value, "alice", now()), None);
    }

    #[test]
    fn nothing_else_sealed_with_the_key_passes_for_a_device() {
        let secrets = SecretBox::new([7; 32]);
        let api_key = secrets.seal("alice\nid\n1800000000");
        assert_eq!(recognise(&secrets, &api_key, "alice", now()), None);
        assert_eq!(recognise(&secrets, "not hex", "alice", now()), None);
    }

    #[test]
    fn cookie_values_are_found_by_exact_name() {
        let header = "affdesk_session=s; affdesk_device=abc; x_affdesk_device=zzz";
        assert_eq!(cookie_value(header, "affdesk_device"), Some("abc"));
        assert_eq!(cookie_value(header, "__Host-affdesk_device"), None);
    }
}
