//! Settings -> Explodely: the account username and API key, checked before they are stored.

use super::address::AllowList;
use super::field_error::FieldError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Checks the configured Explodely endpoint: every request carries the account's API key, so it
/// must travel over HTTPS. Plain `http://` is accepted only for an address the operator's
/// outbound allow-list names (a local stand-in, as in tests), written as an IP address or
/// `localhost`.
pub fn check_endpoint(url: &str, allow: &AllowList) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("must be an https:// URL".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let addresses: Vec<IpAddr> = if host.eq_ignore_ascii_case("localhost") {
        vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
    } else {
        host.parse().into_iter().collect()
    };
    if !addresses.is_empty() && addresses.iter().all(|ip| allow.allows(*ip)) {
        return Ok(());
    }
    Err(format!(
        "must be an https:// URL: it carries the API key. Plain http:// is accepted only for an \
         address AFFDESK_OUTBOUND_ALLOW names, and {host:?} is not one"
    ))
}

/// The credentials as typed; an empty key keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsInput {
    pub username: String,
    pub api_key: String,
}

/// Credentials ready to store: a trimmed username, and a new key when one was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub api_key: Option<String>,
}

impl Credentials {
    /// The new key's last four characters, shown in place of the key.
    pub fn key_last4(&self) -> Option<String> {
        let key = self.api_key.as_deref()?;
        let count = key.chars().count();
        Some(key.chars().skip(count.saturating_sub(4)).collect())
    }
}

impl CredentialsInput {
    /// Every field error at once; `key_stored` says whether an empty key may keep the old one.
    pub fn validate(&self, key_stored: bool) -> Result<Credentials, Vec<FieldError>> {
        let username = self.username.trim();
        let api_key = self.api_key.trim();
        let mut errors = Vec::new();
        if username.is_empty()
            || username.chars().count() > 64
            || username.contains(char::is_whitespace)
        {
            errors.push(FieldError::new(
                "username",
                "enter your Explodely username (no spaces, at most 64 characters)",
            ));
        }
        if api_key.is_empty() && !key_stored {
            errors.push(FieldError::new(
                "api_key",
                "enter the API key from your Explodely account",
            ));
        } else if !api_key.is_empty()
            && (api_key.chars().count() < 8
                || api_key.chars().count() > 256
                || api_key.contains(char::is_whitespace))
        {
            errors.push(FieldError::new(
                "api_key",
                "an API key has 8 to 256 characters and no spaces",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Credentials {
            username: username.to_owned(),
            api_key: (!api_key.is_empty()).then(|| api_key.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_https_unless_the_allow_list_names_a_plain_address() {
        let none = AllowList::default();
        let local = AllowList::parse("127.0.0.0/8, ::1").unwrap();
        assert!(check_endpoint("https://explodely.com/api/v1/aff", &none).is_ok());
        assert!(check_endpoint("http://explodely.com/api/v1/aff", &none).is_err());
        assert!(check_endpoint("http://explodely.com/api/v1/aff", &local).is_err());
        assert!(check_endpoint("http://127.0.0.1:9000/api/v1/aff", &none).is_err());
        assert!(check_endpoint("http://127.0.0.1:9000/api/v1/aff", &local).is_ok());
        assert!(check_endpoint("http://[::1]:9000/aff", &local).is_ok());
        assert!(check_endpoint("http://localhost:9000/aff", &local).is_ok());
        assert!(check_endpoint("http://10.0.0.5/aff", &local).is_err());
        assert!(check_endpoint("ftp://explodely.com/", &local).is_err());
        let message = check_endpoint("http://explodely.com/", &local).unwrap_err();
        assert!(message.contains("AFFDESK_OUTBOUND_ALLOW"), "{message}");
    }

    fn input(username: &str, api_key: &str) -> CredentialsInput {
        CredentialsInput {
            username: username.into(),
            api_key: api_key.into(),
        }
    }

    #[test]
    fn credentials_are_trimmed_and_the_key_is_shown_by_its_last_four() {
        let ok = input(" acme ", " abcdefgh1234 ").validate(false).unwrap();
        assert_eq!(ok.username, "acme");
        assert_eq!(ok.api_key.as_deref(), Some("abcdefgh1234"));
        assert_eq!(ok.key_last4().as_deref(), Some("1234"));
    }

    #[test]
    fn an_empty_key_keeps_a_stored_one_and_is_refused_without_one() {
        let kept = input("acme", "").validate(true).unwrap();
        assert_eq!(kept.api_key, None);
        assert_eq!(kept.key_last4(), None);
        let errors = input("acme", "").validate(false).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "api_key");
    }

    #[test]
    fn every_wrong_field_is_reported_together() {
        let errors = input("two words", "short").validate(true).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["username", "api_key"]);
        let long = "x".repeat(65);
        assert!(input(&long, "abcdefgh").validate(true).is_err());
        assert!(input("acme", "abcd efgh").validate(true).is_err());
    }
}
