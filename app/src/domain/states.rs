//! Typed values the server stores and shows: delivery and contract-attempt states, notice kinds,
//! link slots and row ids. Each is written as the text or number the database column and the
//! JSON answers already hold, so using them changes no stored value and no answer.

use super::contract::Reply;
use super::link_template::LINK_SLOTS;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An enum stored as lower-case text: `as_str` gives the text, `parse` reads it back, and serde
/// and `Display` use the same text.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value stored as `text`; `None` for any other text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Reading a stored value back: text the column's CHECK constraint would refuse is an
        /// error naming it.
        impl TryFrom<String> for $name {
            type Error = $crate::domain::states::UnknownText;

            fn try_from(text: String) -> Result<Self, $crate::domain::states::UnknownText> {
                $name::parse(&text).ok_or($crate::domain::states::UnknownText {
                    kind: stringify!($name),
                    text,
                })
            }
        }
    };
}

pub(crate) use text_enum;

/// A stored text that names no value of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {kind}")]
pub struct UnknownText {
    pub kind: &'static str,
    pub text: String,
}

text_enum! {
    /// A delivery's state (`deliveries.state`).
    pub enum DeliveryState {
        /// Not tried yet.
        Pending => "pending",
        /// The tracker answered with success.
        Delivered => "delivered",
        /// The last try failed; another is scheduled.
        Failing => "failing",
        /// Failed for good: the tracker's answer will not change on a retry.
        Failed => "failed",
        /// Every try failed; no more are scheduled.
        Exhausted => "exhausted",
        /// A reversal arrived before the tracker heard of the signup: never sent.
        Cancelled => "cancelled",
        /// A reversal call waiting for its signup call, under way when the reversal arrived:
        /// released if that call is delivered, cancelled otherwise.
        Held => "held",
    }
}

text_enum! {
    /// What a delivery tells its tracker (`deliveries.kind`).
    pub enum DeliveryKind {
        Signup => "signup",
        Reversal => "reversal",
    }
}

impl DeliveryState {
    /// An admin may retry it now: it is failing, failed or exhausted.
    pub fn can_retry(self) -> bool {
        matches!(
            self,
            DeliveryState::Failing | DeliveryState::Failed | DeliveryState::Exhausted
        )
    }
}

text_enum! {
    /// How an attempt to create a contract on Explodely ended (`contract_attempts.outcome`).
    pub enum ContractAttemptOutcome {
        /// The call to Explodely has not finished.
        Running => "running",
        /// Explodely created the contract.
        Created => "created",
        /// Explodely refused it, with a documented or an undocumented error.
        Refused => "refused",
        /// Explodely's answer could not be read, or it could not be reached.
        Unexpected => "unexpected",
        /// The call may have created the contract, but no readable answer says whether it did
        /// (a timeout after sending, a 5xx): the admin checks Explodely before a new attempt.
        Unknown => "unknown",
    }
}

impl ContractAttemptOutcome {
    /// What an attempt that got `reply` is recorded as.
    pub fn of_reply(reply: &Reply) -> ContractAttemptOutcome {
        match reply {
            Reply::Created { .. } => ContractAttemptOutcome::Created,
            Reply::Refused(_) | Reply::UnknownError(_) => ContractAttemptOutcome::Refused,
            Reply::Unexpected(_) => ContractAttemptOutcome::Unexpected,
            Reply::Unknown(_) => ContractAttemptOutcome::Unknown,
        }
    }
}

text_enum! {
    /// What Settings → Admins (and `affdesk admin`) can do to an admin, besides creating one.
    pub enum AdminAction {
        Disable => "disable",
        Enable => "enable",
        /// A new one-time password, shown once; they choose their own at their next login.
        ResetPassword => "reset_password",
        EndSessions => "end_sessions",
        /// Two-step login off (a lost phone); their sessions end.
        ResetMfa => "reset_mfa",
    }
}

text_enum! {
    /// What an audit-log event records (`audit_events.kind`): security and settings changes.
    pub enum AuditKind {
        Login => "login",
        LoginFailed => "login_failed",
        Logout => "logout",
        PasswordChanged => "password_changed",
        MfaEnabled => "mfa_enabled",
        MfaReset => "mfa_reset",
        AdminCreated => "admin_created",
        AdminDisabled => "admin_disabled",
        AdminEnabled => "admin_enabled",
        AdminPasswordReset => "admin_password_reset",
        AdminSessionsEnded => "admin_sessions_ended",
        TokenCreated => "token_created",
        TokenRevoked => "token_revoked",
        ExplodelySaved => "explodely_saved",
        AffiliateSaved => "affiliate_saved",
        ContractCreated => "contract_created",
        ContractRetryConfirmed => "contract_retry_confirmed",
        DeliveryRetried => "delivery_retried",
        AlertsSaved => "alerts_saved",
    }
}

impl AuditKind {
    /// How the audit page names the kind.
    pub fn label(self) -> &'static str {
        match self {
            AuditKind::Login => "Logged in",
            AuditKind::LoginFailed => "Failed login",
            AuditKind::Logout => "Logged out",
            AuditKind::PasswordChanged => "Password changed",
            AuditKind::MfaEnabled => "Two-step login turned on",
            AuditKind::MfaReset => "Two-step login reset",
            AuditKind::AdminCreated => "Admin created",
            AuditKind::AdminDisabled => "Admin disabled",
            AuditKind::AdminEnabled => "Admin enabled",
            AuditKind::AdminPasswordReset => "Admin's password reset",
            AuditKind::AdminSessionsEnded => "Admin's sessions ended",
            AuditKind::TokenCreated => "API token created",
            AuditKind::TokenRevoked => "API token revoked",
            AuditKind::ExplodelySaved => "Explodely settings saved",
            AuditKind::AffiliateSaved => "Affiliate settings saved",
            AuditKind::ContractCreated => "Contract created",
            AuditKind::ContractRetryConfirmed => "Contract retry confirmed",
            AuditKind::DeliveryRetried => "Delivery retried by hand",
            AuditKind::AlertsSaved => "Alert settings saved",
        }
    }
}

text_enum! {
    /// The kind of a page's banner (its CSS class is `banner-{kind}`).
    pub enum NoticeKind {
        Error => "error",
        Success => "success",
        Info => "info",
    }
}

/// One of the Affiliate Program's link slots, numbered from 1 to [`LINK_SLOTS`] as the page
/// shows them. Serialized as the plain number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct LinkSlot(usize);

/// A number that is not a link slot's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("there is no link {0}; the links are numbered 1 to {LINK_SLOTS}")]
pub struct InvalidLinkSlot(pub i64);

impl LinkSlot {
    /// Slot `number`, counted from 1; `None` outside 1 to [`LINK_SLOTS`].
    pub fn new(number: usize) -> Option<LinkSlot> {
        (1..=LINK_SLOTS)
            .contains(&number)
            .then_some(LinkSlot(number))
    }

    /// Every slot, in order.
    pub fn all() -> impl Iterator<Item = LinkSlot> {
        (1..=LINK_SLOTS).map(LinkSlot)
    }

    /// The slot's number, from 1.
    pub fn get(self) -> usize {
        self.0
    }

    /// The slot's place in a list of all slots, from 0.
    pub fn index(self) -> usize {
        self.0 - 1
    }
}

impl TryFrom<i64> for LinkSlot {
    type Error = InvalidLinkSlot;

    fn try_from(number: i64) -> Result<LinkSlot, InvalidLinkSlot> {
        usize::try_from(number)
            .ok()
            .and_then(LinkSlot::new)
            .ok_or(InvalidLinkSlot(number))
    }
}

impl From<LinkSlot> for i64 {
    fn from(slot: LinkSlot) -> i64 {
        // At most LINK_SLOTS, so it always fits.
        slot.0 as i64
    }
}

impl fmt::Display for LinkSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A row id, serialized and shown as the plain number.
macro_rules! row_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            pub const fn new(id: i64) -> $name {
                $name(id)
            }

            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> $name {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

row_id!(
    /// A signup's id (`signups.id`).
    SignupId
);
row_id!(
    /// A delivery's id (`deliveries.id`).
    DeliveryId
);
row_id!(
    /// A contract's id in affdesk (`contracts.id`), not Explodely's contract id.
    ContractId
);
row_id!(
    /// An admin's id (`admins.id`).
    AdminId
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// `as_str`, `parse`, `Display` and serde agree on every value's text, and nothing else parses.
    fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + Serialize + serde::de::DeserializeOwned,
    {
        for &value in all {
            let text = as_str(value);
            assert_eq!(parse(text), Some(value), "{text}");
            assert_eq!(value.to_string(), text);
            assert_eq!(serde_json::to_value(value).unwrap(), Value::from(text));
            assert_eq!(serde_json::from_value::<T>(json!(text)).unwrap(), value);
            assert_eq!(parse(&text.to_uppercase()), None, "{text}");
            assert_eq!(parse(&format!(" {text}")), None, "{text}");
        }
        assert_eq!(parse(""), None);
        assert!(serde_json::from_value::<T>(json!("no-such-state")).is_err());
    }

    fn texts<T: fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(T::to_string).collect()
    }

    #[test]
    fn delivery_states_round_trip() {
        round_trips(
            DeliveryState::ALL,
            DeliveryState::as_str,
            DeliveryState::parse,
        );
        assert_eq!(
            texts(DeliveryState::ALL),
            [
                "pending",
                "delivered",
                "failing",
                "failed",
                "exhausted",
                "cancelled",
                "held"
            ]
        );
        assert_eq!(texts(DeliveryKind::ALL), ["signup", "reversal"]);
    }

    #[test]
    fn failing_failed_and_exhausted_deliveries_can_be_retried() {
        let retriable: Vec<_> = DeliveryState::ALL
            .iter()
            .filter(|s| s.can_retry())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(retriable, ["failing", "failed", "exhausted"]);
    }

    #[test]
    fn contract_attempt_outcomes_round_trip() {
        round_trips(
            ContractAttemptOutcome::ALL,
            ContractAttemptOutcome::as_str,
            ContractAttemptOutcome::parse,
        );
        assert_eq!(
            texts(ContractAttemptOutcome::ALL),
            ["running", "created", "refused", "unexpected", "unknown"]
        );
    }

    #[test]
    fn an_attempt_is_recorded_by_its_reply() {
        use super::super::contract::KnownError;
        let cases = [
            (
                Reply::Created {
                    contract_id: "1".into(),
                },
                ContractAttemptOutcome::Created,
            ),
            (
                Reply::Refused(KnownError::Failed),
                ContractAttemptOutcome::Refused,
            ),
            (
                Reply::UnknownError("quota".into()),
                ContractAttemptOutcome::Refused,
            ),
            (
                Reply::Unexpected("empty".into()),
                ContractAttemptOutcome::Unexpected,
            ),
            (
                Reply::Unknown("timeout".into()),
                ContractAttemptOutcome::Unknown,
            ),
        ];
        for (reply, outcome) in cases {
            assert_eq!(
                ContractAttemptOutcome::of_reply(&reply),
                outcome,
                "{reply:?}"
            );
        }
    }

    #[test]
    fn notice_kinds_round_trip() {
        round_trips(NoticeKind::ALL, NoticeKind::as_str, NoticeKind::parse);
        assert_eq!(texts(NoticeKind::ALL), ["error", "success", "info"]);
    }

    #[test]
    fn link_slots_are_one_to_five() {
        let all: Vec<_> = LinkSlot::all().collect();
        assert_eq!(all.len(), LINK_SLOTS);
        for (i, slot) in all.iter().enumerate() {
            assert_eq!(slot.index(), i);
            assert_eq!(slot.get(), i + 1);
            assert_eq!(LinkSlot::new(i + 1), Some(*slot));
            assert_eq!(LinkSlot::try_from(i as i64 + 1), Ok(*slot));
            assert_eq!(i64::from(*slot), i as i64 + 1);
            assert_eq!(slot.to_string(), (i + 1).to_string());
            assert_eq!(serde_json::to_value(slot).unwrap(), json!(i + 1));
            assert_eq!(
                serde_json::from_value::<LinkSlot>(json!(i + 1)).unwrap(),
                *slot
            );
        }
        assert_eq!(LinkSlot::new(0), None);
        assert_eq!(LinkSlot::new(LINK_SLOTS + 1), None);
        for bad in [0, -1, 6, i64::MIN, i64::MAX] {
            assert_eq!(LinkSlot::try_from(bad), Err(InvalidLinkSlot(bad)));
            assert!(serde_json::from_value::<LinkSlot>(json!(bad)).is_err());
        }
        assert!(serde_json::from_value::<LinkSlot>(json!("1")).is_err());
        assert_eq!(
            InvalidLinkSlot(6).to_string(),
            "there is no link 6; the links are numbered 1 to 5"
        );
    }

    #[test]
    fn ids_are_plain_numbers() {
        let signup = SignupId::from(42);
        assert_eq!(signup.get(), 42);
        assert_eq!(i64::from(signup), 42);
        assert_eq!(signup.to_string(), "42");
        assert_eq!(serde_json::to_value(signup).unwrap(), json!(42));
        assert_eq!(
            serde_json::from_value::<SignupId>(json!(42)).unwrap(),
            signup
        );
        assert!(SignupId::new(1) < SignupId::new(2));
        for id in [i64::MIN, -1, 0, i64::MAX] {
            assert_eq!(DeliveryId::from(id).get(), id);
            assert_eq!(ContractId::from(id).to_string(), id.to_string());
            let admin = AdminId::new(id);
            let json = serde_json::to_value(admin).unwrap();
            assert_eq!(serde_json::from_value::<AdminId>(json).unwrap(), admin);
        }
    }
}
