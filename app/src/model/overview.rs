//! What the overview page (the first page after login) shows.

use serde::{Deserialize, Serialize};

/// Signups over one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodCounts {
    pub period: String,
    pub counted: i64,
    pub not_counted: i64,
    pub reversed: i64,
}

/// One day's numbers of a chart, for its table: the day and one number per series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRow {
    pub day: String,
    pub values: Vec<i64>,
}

/// One chart: drawn by the server (`svg`), and its numbers as a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub svg: String,
    pub series: Vec<String>,
    pub days: Vec<DayRow>,
}

/// One link over 30 days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkOverview {
    pub link: i32,
    pub delivered: i64,
    pub failed_tries: i64,
    pub given_up: i64,
    /// Delivered out of all finished calls; `None` without calls.
    pub success_rate: Option<String>,
    pub chart: Chart,
}

/// A recent contract, for the overview's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentContract {
    pub id: i64,
    pub name: String,
    pub partner: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewView {
    pub periods: Vec<PeriodCounts>,
    pub signups: Chart,
    /// Links with calls in the last 30 days.
    pub links: Vec<LinkOverview>,
    pub pending: i64,
    /// How long the oldest delivery still to be sent has waited, in words.
    pub oldest_pending: Option<String>,
    pub contracts: Vec<RecentContract>,
    /// The links failing now (open incidents).
    pub incidents: Vec<super::alerts::IncidentView>,
}
