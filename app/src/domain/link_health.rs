//! How each link is doing, kept as it happens rather than recounted from every delivery.
//!
//! The delivery worker stores finished tries in groups; for each group it adds per-link, per-hour
//! counts and moves each link's "failing since" mark. The Affiliate Program page then reads at
//! most 5 × 24 small rows, however many signups the day brought.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::BTreeMap;

/// The page shows the last this many hours.
pub const WINDOW_HOURS: i64 = 24;

/// A link is warned about once it has failed, without a success since, for this long.
pub const WARN_AFTER: TimeDelta = TimeDelta::hours(24);

/// Counts older than this are deleted: the overview page charts 30 days (a day more for the
/// hour being filled).
pub const KEEP_HOURS: i64 = 31 * WINDOW_HOURS;

/// How one try ended, as far as the link's health goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryEnd {
    Delivered,
    /// Failed, to be tried again.
    Failed,
    /// Failed, and the delivery is given up (refused for good, or out of retries).
    GivenUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedTry {
    pub slot: i32,
    pub at: DateTime<Utc>,
    pub end: TryEnd,
}

/// The counts one group adds to one (link, hour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub slot: i32,
    /// Whole hours since the Unix epoch.
    pub hour: i64,
    pub delivered: i64,
    pub failed_tries: i64,
    pub given_up: i64,
}

/// How a group moves one link's "failing since" mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailingSince {
    /// Only failures: the link has been failing since the earlier of the stored mark and this.
    KeepOrSet(DateTime<Utc>),
    /// A success came in the group: the mark becomes the first failure after the last success,
    /// or none.
    Replace(Option<DateTime<Utc>>),
}

pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// The first hour shown: counts in this hour or later are in the window.
pub fn window_start(now: DateTime<Utc>) -> i64 {
    hour_of(now) - (WINDOW_HOURS - 1)
}

/// A link failing since `failing_since` (no success after it) is warned about from 24 hours on.
pub fn warns(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= WARN_AFTER)
}

/// What a group of finished tries adds: counts per (link, hour), sorted, and each link's new
/// "failing since" mark, by link.
pub fn summarize(tries: &[FinishedTry]) -> (Vec<HourCounts>, Vec<(i32, FailingSince)>) {
    let mut counts: BTreeMap<(i32, i64), HourCounts> = BTreeMap::new();
    for t in tries {
        let hour = hour_of(t.at);
        let c = counts.entry((t.slot, hour)).or_insert(HourCounts {
            slot: t.slot,
            hour,
            ..HourCounts::default()
        });
        match t.end {
            TryEnd::Delivered => c.delivered += 1,
            TryEnd::Failed => c.failed_tries += 1,
            TryEnd::GivenUp => {
                c.failed_tries += 1;
                c.given_up += 1;
            }
        }
    }
    let mut by_slot: BTreeMap<i32, Vec<&FinishedTry>> = BTreeMap::new();
    for t in tries {
        by_slot.entry(t.slot).or_default().push(t);
    }
    let marks = by_slot
        .into_iter()
        .map(|(slot, mut tries)| {
            tries.sort_by_key(|t| t.at);
            let last_success = tries.iter().rposition(|t| t.end == TryEnd::Delivered);
            let mark = match last_success {
                Some(i) => FailingSince::Replace(tries.get(i + 1).map(|t| t.at)),
                None => FailingSince::KeepOrSet(tries[0].at),
            };
            (slot, mark)
        })
        .collect();
    (counts.into_values().collect(), marks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap()
    }

    fn t(slot: i32, at: DateTime<Utc>, end: TryEnd) -> FinishedTry {
        FinishedTry { slot, at, end }
    }

    #[test]
    fn tries_are_counted_per_link_and_hour() {
        let (counts, _) = summarize(&[
            t(1, at(10, 5), TryEnd::Delivered),
            t(1, at(10, 59), TryEnd::Delivered),
            t(1, at(11, 0), TryEnd::Failed),
            t(2, at(10, 30), TryEnd::GivenUp),
        ]);
        let h10 = hour_of(at(10, 0));
        assert_eq!(
            counts,
            [
                HourCounts {
                    slot: 1,
                    hour: h10,
                    delivered: 2,
                    failed_tries: 0,
                    given_up: 0
                },
                HourCounts {
                    slot: 1,
                    hour: h10 + 1,
                    delivered: 0,
                    failed_tries: 1,
                    given_up: 0
                },
                HourCounts {
                    slot: 2,
                    hour: h10,
                    delivered: 0,
                    failed_tries: 1,
                    given_up: 1
                },
            ]
        );
    }

    #[test]
    fn only_failures_keep_an_older_mark_or_set_the_first() {
        let (_, marks) = summarize(&[
            t(3, at(12, 0), TryEnd::Failed),
            t(3, at(11, 0), TryEnd::GivenUp),
        ]);
        assert_eq!(marks, [(3, FailingSince::KeepOrSet(at(11, 0)))]);
    }

    #[test]
    fn a_success_clears_the_mark_or_restarts_it_after_itself() {
        let (_, marks) = summarize(&[
            t(1, at(9, 0), TryEnd::Failed),
            t(1, at(10, 0), TryEnd::Delivered),
            t(2, at(9, 0), TryEnd::Delivered),
            t(2, at(10, 0), TryEnd::Failed),
            t(2, at(11, 0), TryEnd::Failed),
        ]);
        assert_eq!(
            marks,
            [
                (1, FailingSince::Replace(None)),
                (2, FailingSince::Replace(Some(at(10, 0)))),
            ]
        );
    }

    #[test]
    fn a_link_is_warned_about_after_a_full_day_of_failing() {
        let since = at(10, 0);
        assert!(!warns(None, since + TimeDelta::days(3)));
        assert!(!warns(Some(since), since + TimeDelta::hours(23)));
        assert!(warns(Some(since), since + TimeDelta::hours(24)));
    }

    #[test]
    fn the_window_holds_the_current_hour_and_the_23_before() {
        let now = at(10, 30);
        assert_eq!(window_start(now), hour_of(at(10, 0)) - 23);
        assert_eq!(hour_of(Utc.timestamp_opt(-1, 0).unwrap()), -1);
    }
}
