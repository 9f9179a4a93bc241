//! Server function of the overview page.

use crate::model::error::ApiError;
use leptos::prelude::*;

pub use crate::model::overview::{Chart, DayRow, LinkOverview, OverviewView, PeriodCounts};

#[server(endpoint = "overview")]
pub async fn overview() -> Result<OverviewView, ApiError> {
    use super::context::{current_admin, deps};
    current_admin()?;
    Ok(crate::service::overview::load(&deps()?).await?)
}
