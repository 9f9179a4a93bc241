//! When a server-to-server delivery is tried again. After the first try: 1 min, 5 min, 30 min,
//! 2 h, 6 h, 12 h, 24 h, 24 h (about three days in all), each ±20% so that many deliveries failing
//! together do not retry together; then the delivery is exhausted.

use chrono::{DateTime, TimeDelta, Utc};

pub const SCHEDULE_MINUTES: [i64; 8] = [1, 5, 30, 120, 360, 720, 1440, 1440];
/// A `Retry-After` longer than this is not believed.
pub const MAX_RETRY_AFTER: TimeDelta = TimeDelta::hours(6);

/// What one attempt's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again; the server may have said when.
    Retry {
        retry_after: Option<TimeDelta>,
    },
    /// A 3xx, or a 4xx other than 408 and 429: trying again would get the same answer.
    Failed,
}

/// 2xx is delivered; a 3xx is a failure (redirects are never followed, and counting one as
/// delivered would hide a moved endpoint); network errors, timeouts, 408, 429 and 5xx are retried (429 and 503
/// honouring `Retry-After`); other 4xx fail.
pub fn classify(status: Option<u16>, retry_after: Option<TimeDelta>) -> Verdict {
    match status {
        None => Verdict::Retry { retry_after: None },
        Some(200..=299) => Verdict::Delivered,
        Some(code @ (429 | 503)) => Verdict::Retry {
            retry_after: retry_after.filter(|_| code == 429 || code == 503),
        },
        Some(408) | Some(500..=599) => Verdict::Retry { retry_after: None },
        Some(_) => Verdict::Failed,
    }
}

/// The wait before the next try after `tries_made` tries (1 after the first), with `jitter` in
/// [0, 1) drawn by the caller; `None` when the schedule is used up.
pub fn next_delay(tries_made: u32, jitter: f64) -> Option<TimeDelta> {
    let index = usize::try_from(tries_made.checked_sub(1)?).ok()?;
    let minutes = *SCHEDULE_MINUTES.get(index)?;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let millis = (minutes as f64 * 60_000.0 * factor).round() as i64;
    Some(TimeDelta::milliseconds(millis))
}

/// When to try next: the schedule's delay, or a later `Retry-After` (bounded by
/// [`MAX_RETRY_AFTER`]); `None` when the delivery is exhausted.
pub fn next_attempt_at(
    now: DateTime<Utc>,
    tries_made: u32,
    jitter: f64,
    retry_after: Option<TimeDelta>,
) -> Option<DateTime<Utc>> {
    let delay = next_delay(tries_made, jitter)?;
    let delay = match retry_after {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
        None => delay,
    };
    Some(now + delay)
}

/// `Retry-After` as seconds (`120`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return i64::try_from(secs).ok().map(TimeDelta::seconds);
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).max(TimeDelta::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_runs_eight_retries_over_about_three_days() {
        let total: i64 = (1..=8)
            .map(|n| next_delay(n, 0.5).unwrap().num_minutes())
            .sum();
        assert_eq!(total, 1 + 5 + 30 + 120 + 360 + 720 + 1440 + 1440);
        assert!(
            (4000..=4400).contains(&total),
            "about three days: {total} min"
        );
        assert_eq!(next_delay(9, 0.5), None, "exhausted after the ninth try");
        assert_eq!(next_delay(0, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for (n, minutes) in SCHEDULE_MINUTES.iter().enumerate() {
            let base = minutes * 60_000;
            let low = next_delay(n as u32 + 1, 0.0).unwrap().num_milliseconds();
            let high = next_delay(n as u32 + 1, 0.999_999)
                .unwrap()
                .num_milliseconds();
            assert_eq!(low, base * 8 / 10);
            assert!(
                high <= base * 12 / 10 && high > base * 119 / 100,
                "{high} vs {base}"
            );
        }
        assert_eq!(
            next_delay(1, 7.0),
            next_delay(1, 1.0),
            "out-of-range jitter is clamped"
        );
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(classify(Some(200), None), Verdict::Delivered);
        assert_eq!(classify(Some(302), None), Verdict::Failed);
        assert_eq!(classify(Some(404), None), Verdict::Failed);
        assert_eq!(classify(Some(400), None), Verdict::Failed);
        assert_eq!(classify(None, None), Verdict::Retry { retry_after: None });
        assert_eq!(
            classify(Some(500), None),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(
            classify(Some(408), None),
            Verdict::Retry { retry_after: None }
        );
        let wait = Some(TimeDelta::seconds(90));
        assert_eq!(
            classify(Some(429), wait),
            Verdict::Retry { retry_after: wait }
        );
        assert_eq!(
            classify(Some(503), wait),
            Verdict::Retry { retry_after: wait }
        );
        assert_eq!(
            classify(Some(500), wait),
            Verdict::Retry { retry_after: None },
            "only 429 and 503 honour it"
        );
    }

    #[test]
    fn retry_after_in_both_forms_and_bounded() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:20:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(TimeDelta::seconds(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(TimeDelta::minutes(8))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(TimeDelta::zero())
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);

        let at = next_attempt_at(now, 1, 0.5, Some(TimeDelta::minutes(10))).unwrap();
        assert_eq!(
            at - now,
            TimeDelta::minutes(10),
            "a longer Retry-After wins"
        );
        let at = next_attempt_at(now, 1, 0.5, Some(TimeDelta::seconds(5))).unwrap();
        assert_eq!(
            at - now,
            TimeDelta::minutes(1),
            "a shorter one does not speed retries up"
        );
        let at = next_attempt_at(now, 1, 0.5, Some(TimeDelta::days(30))).unwrap();
        assert_eq!(at - now, MAX_RETRY_AFTER, "bounded");
        assert_eq!(next_attempt_at(now, 9, 0.5, None), None);
    }
}
