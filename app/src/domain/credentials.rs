//! Admin usernames and passwords: the rules every entry point (login page, change-password form,
//! CLI) applies, so a name or password is checked the same way wherever it is typed.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const USERNAME_MIN_CHARS: usize = 3;
pub const USERNAME_MAX_CHARS: usize = 64;
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// An admin username: 3-64 characters of `a-z`, `0-9`, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum UsernameError {
    #[error("enter a username")]
    Empty,
    #[error("a username needs at least {USERNAME_MIN_CHARS} characters; this one has {0}")]
    TooShort(usize),
    #[error("a username may have at most {USERNAME_MAX_CHARS} characters; this one has {0}")]
    TooLong(usize),
    #[error("usernames are lower case: use '{0}' instead")]
    UpperCase(String),
    #[error(
        "a username may contain only lower-case letters a-z, digits 0-9, '.', '_' and '-'; \
         remove {0:?}"
    )]
    InvalidCharacter(char),
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        let count = raw.chars().count();
        if count < USERNAME_MIN_CHARS {
            return Err(UsernameError::TooShort(count));
        }
        if count > USERNAME_MAX_CHARS {
            return Err(UsernameError::TooLong(count));
        }
        if let Some(bad) = raw.chars().find(|c| !is_username_char(*c)) {
            let lowered = raw.to_ascii_lowercase();
            if bad.is_ascii_uppercase() && lowered.chars().all(is_username_char) {
                return Err(UsernameError::UpperCase(lowered));
            }
            return Err(UsernameError::InvalidCharacter(bad));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
}

/// What a login form's username field becomes before lookup and throttling: people type
/// `Admin` or ` admin`, and both must count against the same account.
pub fn normalize_login_name(raw: &str) -> String {
    raw.trim()
        .chars()
        .take(USERNAME_MAX_CHARS + 1)
        .collect::<String>()
        .to_lowercase()
}

/// A password that meets the length rule. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum PasswordError {
    #[error("a password needs at least {PASSWORD_MIN_CHARS} characters; this one has {0}")]
    TooShort(usize),
    #[error("a password may have at most {PASSWORD_MAX_CHARS} characters; this one has {0}")]
    TooLong(usize),
}

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PasswordError> {
        let count = raw.chars().count();
        if count < PASSWORD_MIN_CHARS {
            return Err(PasswordError::TooShort(count));
        }
        if count > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong(count));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Why a new password (typed twice) is refused; each variant belongs to one form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum NewPasswordError {
    #[error("{0}")]
    Invalid(PasswordError),
    #[error("the two new passwords differ; type the same password in both fields")]
    Mismatch,
    #[error("the new password is the same as the current one; choose a different one")]
    Unchanged,
}

impl NewPasswordError {
    /// The form field the message belongs beside.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid(_) | Self::Unchanged => "new_password",
            Self::Mismatch => "confirm_password",
        }
    }
}

/// The change-password rule, shared by the browser (as the admin types) and the server.
pub fn check_new_password(
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<Password, NewPasswordError> {
    let password = Password::parse(new).map_err(NewPasswordError::Invalid)?;
    if new != confirm {
        return Err(NewPasswordError::Mismatch);
    }
    if !current.is_empty() && current == new {
        return Err(NewPasswordError::Unchanged);
    }
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_the_documented_alphabet() {
        for ok in ["abc", "admin", "ops.team_1-a", &"a".repeat(64)] {
            assert_eq!(Username::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn username_refusals_say_what_to_fix() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse("ab"), Err(UsernameError::TooShort(2)));
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(UsernameError::TooLong(65))
        );
        assert_eq!(
            Username::parse("Admin"),
            Err(UsernameError::UpperCase("admin".into()))
        );
        assert_eq!(
            Username::parse("ad min"),
            Err(UsernameError::InvalidCharacter(' '))
        );
        assert_eq!(
            Username::parse("admin@example"),
            Err(UsernameError::InvalidCharacter('@'))
        );
        assert!(UsernameError::UpperCase("admin".into())
            .to_string()
            .contains("use 'admin'"));
    }

    #[test]
    fn login_names_are_trimmed_and_lowered() {
        assert_eq!(normalize_login_name("  Admin "), "admin");
        assert_eq!(normalize_login_name(&"x".repeat(500)).len(), 65);
    }

    #[test]
    fn password_length_counts_characters_not_bytes() {
        assert_eq!(Password::parse("short"), Err(PasswordError::TooShort(5)));
        assert!(Password::parse(&"é".repeat(12)).is_ok());
        assert!(Password::parse(&"a".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"a".repeat(129)),
            Err(PasswordError::TooLong(129))
        );
    }

    #[test]
    fn password_debug_never_shows_the_text() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn new_password_must_be_typed_twice_and_differ_from_the_current() {
        let current = "old password 123";
        assert!(check_new_password(current, "new password 456", "new password 456").is_ok());
        assert_eq!(
            check_new_password(current, "new password 456", "new password 457"),
            Err(NewPasswordError::Mismatch)
        );
        assert_eq!(
            check_new_password(current, current, current),
            Err(NewPasswordError::Unchanged)
        );
        assert_eq!(
            check_new_password(current, "short", "short"),
            Err(NewPasswordError::Invalid(PasswordError::TooShort(5)))
        );
        assert_eq!(NewPasswordError::Mismatch.field(), "confirm_password");
    }
}
