//! Login throttling: after a few failures for one username or one address in a window, further
//! attempts wait for a delay that doubles with each further failure. The decision is pure; the
//! failures themselves are stored in the database so every affdesk instance sees them.

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures older than this are forgotten.
    pub window: TimeDelta,
    /// Failures allowed in the window before attempts are refused.
    pub free_failures: u32,
    /// The wait after the first refused-worthy failure; doubles with each failure after it.
    pub base_delay: TimeDelta,
    pub max_delay: TimeDelta,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            window: TimeDelta::minutes(15),
            free_failures: 5,
            base_delay: TimeDelta::seconds(30),
            max_delay: TimeDelta::minutes(15),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allowed,
    /// Refused; the admin may try again after this many whole seconds.
    Refused {
        retry_after_secs: u64,
    },
}

impl ThrottlePolicy {
    /// The wait imposed once `failures` failures (at least `free_failures`) are in the window.
    pub fn delay_after(&self, failures: u32) -> TimeDelta {
        let extra = failures.saturating_sub(self.free_failures).min(20);
        let factor = 1i32 << extra;
        self.base_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// Decides on an attempt at `now`, given the failure times recorded for one subject.
    pub fn decide(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> ThrottleDecision {
        let since = now - self.window;
        let recent: Vec<_> = failures.iter().filter(|t| **t > since).collect();
        let count = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        if count < self.free_failures {
            return ThrottleDecision::Allowed;
        }
        let Some(last) = recent.into_iter().max() else {
            return ThrottleDecision::Allowed;
        };
        let open_at = *last + self.delay_after(count);
        if now >= open_at {
            return ThrottleDecision::Allowed;
        }
        let wait_ms = (open_at - now).num_milliseconds().max(0) as u64;
        ThrottleDecision::Refused {
            retry_after_secs: wait_ms.div_ceil(1000).max(1),
        }
    }
}

/// What a login attempt is counted against.
///
/// Not the username alone: then anyone could keep an admin locked out with a few wrong
/// passwords now and then. Instead, the (username, address) pair and the address; and a browser
/// that has logged in as this admin before (its device cookie) only against itself, so failures
/// from elsewhere, even from the same address, do not lock it out (OWASP's "device cookies").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Failures before this change, by username alone: still read back, no longer written.
    Username,
    Address,
    Pair,
    Device,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Username => "username",
            Scope::Address => "address",
            Scope::Pair => "pair",
            Scope::Device => "device",
        }
    }
}

/// The subjects one login attempt is checked and counted against. An IPv6 address counts as its
/// /64 (`address::client_network`), so one client cannot step through its own addresses.
pub fn subjects(username: &str, address: &str, device: Option<&str>) -> Vec<(Scope, String)> {
    match device {
        Some(device) => vec![(Scope::Device, device.to_owned())],
        None => {
            let network = super::address::client_network_text(address);
            vec![
                (Scope::Pair, format!("{username}\n{network}")),
                (Scope::Address, network),
            ]
        }
    }
}

/// The subjects a second-factor attempt (a code after the right password) is checked and counted
/// against: the login's own, plus, from a browser that has not logged in as this admin before,
/// a count of all code failures for this admin wherever they come from, so someone who knows the
/// password cannot guess codes from one address after another. Only a person who knows the
/// password reaches this step, so that count cannot be used by strangers to lock the admin out;
/// and the admin's own browsers (device cookie) are not held back by it.
pub fn second_factor_subjects(
    username: &str,
    address: &str,
    device: Option<&str>,
) -> Vec<(Scope, String)> {
    let mut subjects = subjects(username, address, device);
    if device.is_none() {
        subjects.push((Scope::Username, format!("second factor of {username}")));
    }
    subjects
}

/// The longer of two decisions: refused when either refuses.
pub fn stricter(a: ThrottleDecision, b: ThrottleDecision) -> ThrottleDecision {
    match (a, b) {
        (
            ThrottleDecision::Refused {
                retry_after_secs: x,
            },
            ThrottleDecision::Refused {
                retry_after_secs: y,
            },
        ) => ThrottleDecision::Refused {
            retry_after_secs: x.max(y),
        },
        (refused @ ThrottleDecision::Refused { .. }, _)
        | (_, refused @ ThrottleDecision::Refused { .. }) => refused,
        _ => ThrottleDecision::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_failures_count_per_admin_too_except_from_a_known_browser() {
        let unknown = second_factor_subjects("alice", "203.0.113.7", None);
        assert_eq!(
            unknown.last(),
            Some(&(Scope::Username, "second factor of alice".to_owned()))
        );
        assert_eq!(unknown.len(), 3);
        let known = second_factor_subjects("alice", "203.0.113.7", Some("d1"));
        assert_eq!(known, [(Scope::Device, "d1".to_owned())]);
    }

    #[test]
    fn an_attempt_counts_against_its_pair_and_address_or_its_device_alone() {
        let without = subjects("alice", "203.0.113.7", None);
        assert_eq!(
            without,
            [
                (Scope::Pair, "alice\n203.0.113.7".to_owned()),
                (Scope::Address, "203.0.113.7".to_owned())
            ]
        );
        assert!(
            without.iter().all(|(scope, _)| *scope != Scope::Username),
            "the username alone is never a subject: nobody can lock an admin out"
        );
        let with = subjects("alice", "203.0.113.7", Some("d1"));
        assert_eq!(with, [(Scope::Device, "d1".to_owned())]);
    }

    #[test]
    fn the_stricter_decision_wins() {
        let refused = |s| ThrottleDecision::Refused {
            retry_after_secs: s,
        };
        let allowed = ThrottleDecision::Allowed;
        assert_eq!(stricter(allowed, allowed), allowed);
        assert_eq!(stricter(allowed, refused(5)), refused(5));
        assert_eq!(stricter(refused(7), allowed), refused(7));
        assert_eq!(stricter(refused(7), refused(30)), refused(30));
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn five_failures_are_free_and_the_sixth_attempt_is_refused() {
        let policy = ThrottlePolicy::default();
        let four: Vec<_> = (0..4).map(t).collect();
        assert_eq!(policy.decide(&four, t(5)), ThrottleDecision::Allowed);
        let five: Vec<_> = (0..5).map(t).collect();
        assert_eq!(
            policy.decide(&five, t(5)),
            ThrottleDecision::Refused {
                retry_after_secs: 29
            }
        );
    }

    #[test]
    fn the_delay_doubles_with_each_failure_up_to_the_cap() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.delay_after(5), TimeDelta::seconds(30));
        assert_eq!(policy.delay_after(6), TimeDelta::seconds(60));
        assert_eq!(policy.delay_after(7), TimeDelta::seconds(120));
        assert_eq!(policy.delay_after(30), TimeDelta::minutes(15));
        assert_eq!(policy.delay_after(u32::MAX), TimeDelta::minutes(15));
    }

    #[test]
    fn an_attempt_is_allowed_again_once_the_delay_has_passed() {
        let policy = ThrottlePolicy::default();
        let five: Vec<_> = (0..5).map(t).collect();
        assert_eq!(policy.decide(&five, t(34)), ThrottleDecision::Allowed);
        let six: Vec<_> = (0..6).map(t).collect();
        assert!(matches!(
            policy.decide(&six, t(34)),
            ThrottleDecision::Refused { .. }
        ));
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let policy = ThrottlePolicy::default();
        let old: Vec<_> = (0..10).map(t).collect();
        assert_eq!(policy.decide(&old, t(16 * 60)), ThrottleDecision::Allowed);
    }
}
