//! The overview page's figures and charts, from the hourly counters: days, success rates and
//! the SVG bar charts the server draws (the browser gets them as markup, no chart code).

use super::call::escape_html;
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// The charts cover this many days, today included.
pub const DAYS: i64 = 30;

/// Whole days since the Unix epoch, UTC.
pub fn day_of_hour(hour: i64) -> i64 {
    hour.div_euclid(24)
}

/// The first hour of the day `days_back` days before today (0: today's first hour).
pub fn first_hour(now: DateTime<Utc>, days_back: i64) -> i64 {
    (now.timestamp().div_euclid(86_400) - days_back) * 24
}

/// `2026-12-07` for a day number.
pub fn day_label(day: i64) -> String {
    DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Delivered calls out of all finished calls, as a percentage with one decimal; `None` without
/// calls.
pub fn success_rate(delivered: i64, failed: i64) -> Option<String> {
    let total = delivered + failed;
    (total > 0).then(|| format!("{:.1}%", delivered as f64 * 100.0 / total as f64))
}

/// "3 h 5 min", "42 s": how long something has waited.
pub fn age_words(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One series of a stacked bar chart: its name and its CSS class (the colour).
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 120.0;

/// A stacked bar chart, one bar per day (oldest first), each bar the series' values stacked in
/// order. `title` names the chart for screen readers (`role="img"`); the page puts the same
/// numbers in a table beside it.
pub fn bar_chart_svg(title: &str, series: &[Series<'_>], days: &[(i64, Vec<i64>)]) -> String {
    let top = days
        .iter()
        .map(|(_, values)| values.iter().sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = WIDTH / days.len().max(1) as f64;
    let mut svg = String::with_capacity(256 + days.len() * series.len() * 96);
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">",
        HEIGHT + 2.0,
        escape_html(title)
    );
    for (i, (day, values)) in days.iter().enumerate() {
        let mut base = HEIGHT;
        for (value, s) in values.iter().zip(series) {
            if *value <= 0 {
                continue;
            }
            let h = HEIGHT * *value as f64 / top as f64;
            base -= h;
            let _ = write!(
                svg,
                "<rect class=\"{}\" x=\"{:.1}\" y=\"{base:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}: {value} {}</title></rect>",
                s.class,
                i as f64 * slot + slot * 0.1,
                slot * 0.8,
                day_label(*day),
                escape_html(s.name),
            );
        }
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\"/></svg>"
    );
    svg
}

/// The last [`DAYS`] days ending today, each with `width` values summed from `(hour, values)`
/// counters; days without counters are zeros.
pub fn by_day(now: DateTime<Utc>, hours: &[(i64, Vec<i64>)], width: usize) -> Vec<(i64, Vec<i64>)> {
    let today = now.timestamp().div_euclid(86_400);
    let mut days: Vec<(i64, Vec<i64>)> = (0..DAYS)
        .map(|back| (today - (DAYS - 1) + back, vec![0; width]))
        .collect();
    for (hour, values) in hours {
        let index = day_of_hour(*hour) - (today - (DAYS - 1));
        if let Some((_, sums)) = usize::try_from(index).ok().and_then(|i| days.get_mut(i)) {
            for (sum, v) in sums.iter_mut().zip(values) {
                *sum += v;
            }
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn counters_fold_into_thirty_days_ending_today() {
        let now = at("2026-12-07T15:00:00Z");
        let today_first = first_hour(now, 0);
        assert_eq!(today_first % 24, 0);
        let hours = vec![
            (today_first + 3, vec![2, 1]),
            (today_first + 10, vec![1, 0]),
            (today_first - 24, vec![5, 5]),
            (today_first - 24 * 40, vec![9, 9]),
        ];
        let days = by_day(now, &hours, 2);
        assert_eq!(days.len(), 30);
        assert_eq!(days[29], (today_first / 24, vec![3, 1]));
        assert_eq!(days[28].1, vec![5, 5]);
        assert_eq!(days[0].1, vec![0, 0], "older than 30 days is left out");
        assert_eq!(day_label(days[29].0), "2026-12-07");
    }

    #[test]
    fn success_rates_and_ages_read_as_words() {
        assert_eq!(success_rate(0, 0), None);
        assert_eq!(success_rate(3, 1), Some("75.0%".into()));
        assert_eq!(age_words(42), "42 s");
        assert_eq!(age_words(3 * 3600 + 5 * 60), "3 h 5 min");
        assert_eq!(age_words(2 * 86_400 + 3600), "2 d 1 h");
    }

    #[test]
    fn a_chart_has_one_rect_per_non_zero_value_scaled_to_the_tallest_bar() {
        let series = [
            Series {
                name: "counted",
                class: "a",
            },
            Series {
                name: "not counted",
                class: "b",
            },
        ];
        let days = vec![
            (20_000, vec![2, 2]),
            (20_001, vec![0, 1]),
            (20_002, vec![0, 0]),
        ];
        let svg = bar_chart_svg("Signups <per day>", &series, &days);
        assert!(svg.starts_with("<svg class=\"chart\""));
        assert!(svg.contains("aria-label=\"Signups &lt;per day&gt;\""));
        assert_eq!(svg.matches("<rect ").count(), 3);
        // The tallest bar (4) fills the height: its two parts are 60 high each.
        assert!(svg.contains("height=\"60.0\""), "{svg}");
        assert!(
            svg.contains("<title>2024-10-04: 2 counted</title>"),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
    }
}
