//! When a link's failures become an incident that someone is told about (issue 20's alerts):
//! one message when it opens, at most one reminder a day while it stays open, one when it
//! closes; never a message per failed call.
//!
//! An incident opens after [`FAILURES_TO_OPEN`] (or the admin's number of) failed calls in a row, or when calls were due
//! and none succeeded for [`QUIET_FOR`], or when a delivery is given up after all its retries.
//! It closes when the link delivers again.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Failed calls in a row that open an incident, unless Settings → Alerts says otherwise.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long calls may fail without a success before an incident opens.
pub const QUIET_FOR: TimeDelta = TimeDelta::hours(1);
/// The least time between two messages about one open incident.
pub const REMIND_EVERY: TimeDelta = TimeDelta::hours(24);

/// How one finished call ended, as the watcher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    Delivered,
    /// Failed, to be tried again.
    Failed,
    /// Failed, and its delivery is given up.
    GivenUp,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub opened_at: DateTime<Utc>,
    /// Why it opened, in words.
    pub reason: String,
    /// When a message about it was last sent (the opening, or the last reminder).
    pub told_at: DateTime<Utc>,
}

/// What the watcher keeps for one link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkWatch {
    pub failures_in_a_row: u32,
    /// The first failure since the last success; `None` while the link succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    pub open: Option<Incident>,
}

/// A message to send about one link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    Opened {
        reason: String,
    },
    Reminder {
        open_since: DateTime<Utc>,
        reason: String,
    },
    Closed {
        open_since: DateTime<Utc>,
        closed_at: DateTime<Utc>,
    },
    /// The link no longer calls a tracker from the server (removed, switched off, or made a
    /// pixel): its incident is closed without it delivering.
    Retired {
        open_since: DateTime<Utc>,
        closed_at: DateTime<Utc>,
    },
}

impl Notice {
    /// The message's text for link `link`, as a person reads it (an email's body, a chat line).
    pub fn text(&self, link: i64) -> String {
        match self {
            Notice::Opened { reason } => format!("Link {link} is failing: {reason}."),
            Notice::Reminder { open_since, reason } => format!(
                "Link {link} is still failing (since {}): {reason}.",
                open_since.format("%Y-%m-%d %H:%M UTC")
            ),
            Notice::Closed {
                open_since,
                closed_at,
            } => format!(
                "Link {link} delivers again; it failed from {} to {}.",
                open_since.format("%Y-%m-%d %H:%M UTC"),
                closed_at.format("%Y-%m-%d %H:%M UTC")
            ),
            Notice::Retired { open_since, .. } => format!(
                "Link {link} no longer calls its tracker from the server (it was changed on \
                 Settings → Affiliate Program); its incident, open since {}, is closed.",
                open_since.format("%Y-%m-%d %H:%M UTC")
            ),
        }
    }
}

impl LinkWatch {
    /// Takes in one finished call; returns the message it causes, if any. `failures_to_open`
    /// failed calls in a row open an incident.
    pub fn on_call(
        &mut self,
        end: CallEnd,
        at: DateTime<Utc>,
        failures_to_open: u32,
    ) -> Option<Notice> {
        if end == CallEnd::Delivered {
            self.failures_in_a_row = 0;
            self.failing_since = None;
            return self.open.take().map(|incident| Notice::Closed {
                open_since: incident.opened_at,
                closed_at: at,
            });
        }
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
        let since = *self.failing_since.get_or_insert(at);
        let reason = if end == CallEnd::GivenUp {
            Some("a delivery was given up after all its retries".to_owned())
        } else if self.failures_in_a_row >= failures_to_open.max(1) {
            Some(format!("{} calls in a row failed", self.failures_in_a_row))
        } else if at - since >= QUIET_FOR {
            Some(quiet_reason(since))
        } else {
            None
        };
        self.open_for(reason, at)
    }

    /// Looks at the link with no call finishing: opens an incident when calls have failed
    /// without a success for [`QUIET_FOR`] and calls are still due (`calls_due`: a failure whose
    /// delivery was since cancelled is no reason to wake anyone), and reminds once a day while
    /// one is open.
    pub fn on_tick(&mut self, now: DateTime<Utc>, calls_due: bool) -> Option<Notice> {
        if let Some(incident) = &mut self.open {
            // With nothing due, the link is not being tried: the opening said all there is.
            if !calls_due || now - incident.told_at < REMIND_EVERY {
                return None;
            }
            incident.told_at = now;
            return Some(Notice::Reminder {
                open_since: incident.opened_at,
                reason: incident.reason.clone(),
            });
        }
        let reason = self
            .failing_since
            .filter(|since| calls_due && now - *since >= QUIET_FOR)
            .map(quiet_reason);
        self.open_for(reason, now)
    }

    /// The link no longer calls a tracker from the server: an open incident closes, and the
    /// watch starts again.
    pub fn on_retired(&mut self, at: DateTime<Utc>) -> Option<Notice> {
        self.failures_in_a_row = 0;
        self.failing_since = None;
        self.open.take().map(|incident| Notice::Retired {
            open_since: incident.opened_at,
            closed_at: at,
        })
    }

    /// Whether a reminder would be due at `now` (if calls are still due).
    pub fn reminder_due(&self, now: DateTime<Utc>) -> bool {
        self.open
            .as_ref()
            .is_some_and(|incident| now - incident.told_at >= REMIND_EVERY)
    }

    /// Opens an incident for `reason`, unless one is open already.
    fn open_for(&mut self, reason: Option<String>, at: DateTime<Utc>) -> Option<Notice> {
        if self.open.is_some() {
            return None;
        }
        let reason = reason?;
        self.open = Some(Incident {
            opened_at: at,
            reason: reason.clone(),
            told_at: at,
        });
        Some(Notice::Opened { reason })
    }
}

fn quiet_reason(since: DateTime<Utc>) -> String {
    format!(
        "no call has succeeded since {}, while calls were due",
        since.format("%Y-%m-%d %H:%M UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    #[test]
    fn five_failures_in_a_row_open_one_incident_and_a_success_closes_it() {
        let mut watch = LinkWatch::default();
        for i in 0..4 {
            assert_eq!(watch.on_call(CallEnd::Failed, t(i), FAILURES_TO_OPEN), None);
        }
        assert_eq!(
            watch.on_call(CallEnd::Failed, t(4), FAILURES_TO_OPEN),
            Some(Notice::Opened {
                reason: "5 calls in a row failed".into()
            })
        );
        for i in 5..50 {
            assert_eq!(
                watch.on_call(CallEnd::Failed, t(i), FAILURES_TO_OPEN),
                None,
                "never a message per call"
            );
        }
        let closed = watch
            .on_call(CallEnd::Delivered, t(60), FAILURES_TO_OPEN)
            .unwrap();
        assert_eq!(
            closed,
            Notice::Closed {
                open_since: t(4),
                closed_at: t(60)
            }
        );
        assert!(closed.text(2).starts_with("Link 2 delivers again"));
        assert_eq!(watch, LinkWatch::default());
    }

    #[test]
    fn a_success_between_failures_starts_the_count_again() {
        let mut watch = LinkWatch::default();
        for i in 0..4 {
            watch.on_call(CallEnd::Failed, t(i), FAILURES_TO_OPEN);
        }
        assert_eq!(
            watch.on_call(CallEnd::Delivered, t(5), FAILURES_TO_OPEN),
            None,
            "nothing was open"
        );
        for i in 6..10 {
            assert_eq!(watch.on_call(CallEnd::Failed, t(i), FAILURES_TO_OPEN), None);
        }
    }

    #[test]
    fn an_hour_without_a_success_opens_an_incident_even_with_few_failures() {
        let mut watch = LinkWatch::default();
        watch.on_call(CallEnd::Failed, t(0), FAILURES_TO_OPEN);
        assert_eq!(watch.on_tick(t(59), true), None);
        assert_eq!(watch.on_tick(t(90), false), None, "nothing is due any more");
        let opened = watch.on_tick(t(60), true).unwrap();
        assert!(
            matches!(&opened, Notice::Opened { reason } if reason.contains("since 2026-12-07 10:00 UTC"))
        );
        assert_eq!(watch.on_tick(t(61), true), None);
    }

    #[test]
    fn the_admin_chooses_how_many_failures_open_an_incident() {
        let mut watch = LinkWatch::default();
        watch.on_call(CallEnd::Failed, t(0), 2);
        assert!(matches!(
            watch.on_call(CallEnd::Failed, t(1), 2),
            Some(Notice::Opened { .. })
        ));
    }

    #[test]
    fn a_link_that_no_longer_calls_closes_its_incident() {
        let mut watch = LinkWatch::default();
        watch.on_call(CallEnd::GivenUp, t(0), FAILURES_TO_OPEN);
        let closed = watch.on_retired(t(10)).unwrap();
        assert!(closed
            .text(4)
            .contains("Link 4 no longer calls its tracker"));
        assert_eq!(watch, LinkWatch::default());
        assert_eq!(watch.on_retired(t(11)), None);
    }

    #[test]
    fn a_given_up_delivery_opens_an_incident_at_once() {
        let mut watch = LinkWatch::default();
        let opened = watch
            .on_call(CallEnd::GivenUp, t(0), FAILURES_TO_OPEN)
            .unwrap();
        assert_eq!(
            opened.text(1),
            "Link 1 is failing: a delivery was given up after all its retries."
        );
    }

    #[test]
    fn an_open_incident_is_recalled_at_most_once_a_day() {
        let mut watch = LinkWatch::default();
        watch.on_call(CallEnd::GivenUp, t(0), FAILURES_TO_OPEN);
        assert_eq!(watch.on_tick(t(23 * 60), true), None);
        assert!(matches!(
            watch.on_tick(t(24 * 60), true),
            Some(Notice::Reminder { .. })
        ));
        assert_eq!(watch.on_tick(t(25 * 60), true), None);
        assert_eq!(
            watch.on_tick(t(72 * 60), false),
            None,
            "no reminder while nothing is being tried"
        );
        assert!(matches!(
            watch.on_tick(t(48 * 60), true),
            Some(Notice::Reminder { .. })
        ));
    }
}
