//! The overview page: signups today and over 7 and 30 days, each link's calls per day with its
//! success rate, the links failing now, what waits to be sent, and the latest contracts. Everything comes from the
//! hourly counters, so the page costs the same on a day of 100 signups as on one of 100,000.

use super::error::AppError;
use crate::domain::overview::{
    age_words, bar_chart_svg, by_day, day_label, first_hour, success_rate, Series, DAYS,
};
use crate::model::affiliate::format_time;
use crate::model::overview::{
    Chart, DayRow, LinkOverview, OverviewView, PeriodCounts, RecentContract,
};
use crate::server::state::SignupDeps;
use crate::server::storage::{alerts, contracts, overview, signup_queries};

/// How many of the latest contracts the page lists.
const CONTRACTS: usize = 5;

#[tracing::instrument(skip_all)]
pub async fn load(deps: &SignupDeps) -> Result<OverviewView, AppError> {
    let now = deps.clock.now();
    let from = first_hour(now, DAYS - 1);
    let hours: Vec<(i64, Vec<i64>)> = overview::signup_hours(&deps.db, from)
        .await?
        .into_iter()
        .map(|(hour, counted, not_counted, reversed)| (hour, vec![counted, not_counted, reversed]))
        .collect();
    let period = |label: &str, days_back: i64| {
        let first = first_hour(now, days_back);
        let sum = |i: usize| -> i64 {
            hours
                .iter()
                .filter(|(h, _)| *h >= first)
                .map(|(_, v)| v[i])
                .sum()
        };
        PeriodCounts {
            period: label.to_owned(),
            counted: sum(0),
            not_counted: sum(1),
            reversed: sum(2),
        }
    };
    let periods = vec![
        period("Today", 0),
        period("7 days", 6),
        period("30 days", DAYS - 1),
    ];
    let signups = chart(
        "Signups per day, last 30 days",
        &[
            ("counted", "series-a"),
            ("not counted", "series-b"),
            ("reversed", "series-c"),
        ],
        by_day(now, &hours, 3),
    );
    let (pending, oldest) = signup_queries::pending_deliveries(&deps.db).await?;
    Ok(OverviewView {
        periods,
        signups,
        links: links(deps, now, from).await?,
        pending,
        oldest_pending: oldest.map(|at| age_words((now - at).num_seconds())),
        incidents: alerts::open_incident_rows(&deps.db)
            .await?
            .into_iter()
            .map(super::alerts::incident_view)
            .collect(),
        contracts: recent_contracts(deps).await?,
    })
}

/// The latest contracts, newest first.
async fn recent_contracts(deps: &SignupDeps) -> Result<Vec<RecentContract>, AppError> {
    Ok(contracts::list(&deps.db)
        .await?
        .into_iter()
        .take(CONTRACTS)
        .map(|c| RecentContract {
            id: c.id,
            name: c.name,
            partner: c.partner_username,
            created_at: format_time(c.created_at),
        })
        .collect())
}

/// Each link with calls in the last 30 days: its totals, success rate and chart.
async fn links(
    deps: &SignupDeps,
    now: chrono::DateTime<chrono::Utc>,
    from: i64,
) -> Result<Vec<LinkOverview>, AppError> {
    let rows = overview::link_days(&deps.db, from).await?;
    let mut links = Vec::new();
    for link in 1..=crate::domain::link_template::LINK_SLOTS as i32 {
        // By hour for `by_day`: each day's counts at the day's first hour.
        let hours: Vec<(i64, Vec<i64>)> = rows
            .iter()
            .filter(|r| r.0 == link)
            .map(|&(_, day, delivered, failed, given_up)| {
                (day * 24, vec![delivered, failed, given_up])
            })
            .collect();
        if hours.is_empty() {
            continue;
        }
        let total = |i: usize| -> i64 { hours.iter().map(|(_, v)| v[i]).sum() };
        let (delivered, failed_tries, given_up) = (total(0), total(1), total(2));
        links.push(LinkOverview {
            link,
            delivered,
            failed_tries,
            given_up,
            success_rate: success_rate(delivered, failed_tries),
            chart: chart(
                &format!("Link {link}: calls per day, last 30 days"),
                &[("delivered", "series-a"), ("failed tries", "series-b")],
                by_day(now, &hours, 2),
            ),
        });
    }
    Ok(links)
}

/// A chart drawn from `days` (each day's values in `series` order) and its table.
fn chart(title: &str, series: &[(&str, &str)], days: Vec<(i64, Vec<i64>)>) -> Chart {
    let drawn: Vec<Series<'_>> = series
        .iter()
        .map(|(name, class)| Series { name, class })
        .collect();
    Chart {
        title: title.to_owned(),
        svg: bar_chart_svg(title, &drawn, &days),
        series: series.iter().map(|(name, _)| (*name).to_owned()).collect(),
        days: days
            .into_iter()
            .map(|(day, values)| DayRow {
                day: day_label(day),
                values,
            })
            .collect(),
    }
}
