//! The overview: the first page after login. Signups today and over 7 and 30 days, each link's
//! calls per day with its success rate, what waits to be sent, the latest contracts. The charts
//! come drawn from the server (SVG), each with its numbers in a table beside it.

use crate::api::overview::{overview, Chart, LinkOverview, OverviewView};
use crate::components::load_error::LoadError;
use crate::model::alerts::IncidentView;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| overview());
    view! {
        <Title text="Overview" />
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || data.get().map(|result| match result {
                Ok(view) => view! { <OverviewBody view /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn OverviewBody(view: OverviewView) -> impl IntoView {
    let OverviewView {
        periods,
        signups,
        links,
        pending,
        oldest_pending,
        contracts,
        incidents,
    } = view;
    view! {
        <OpenIncidents incidents />
        <section class="card" data-testid="overview-signups">
            <h2>"Signups"</h2>
            <table class="data">
                <thead><tr><th>"Period"</th><th>"Counted"</th><th>"Not counted"</th><th>"Reversed"</th></tr></thead>
                <tbody>
                    {periods.into_iter().map(|p| view! {
                        <tr><th scope="row">{p.period}</th><td>{p.counted}</td><td>{p.not_counted}</td><td>{p.reversed}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <ChartView chart=signups />
        </section>
        <section class="card" data-testid="overview-links">
            <h2>"Links, last 30 days"</h2>
            {if links.is_empty() {
                view! { <p class="hint">"No link was called in the last 30 days."</p> }.into_any()
            } else {
                links.into_iter().map(|link| view! { <LinkSummary link /> }).collect_view().into_any()
            }}
        </section>
        <section class="card" data-testid="overview-pending">
            <h2>"Waiting to be sent"</h2>
            <p>
                {match (pending, oldest_pending) {
                    (0, _) | (_, None) => "Nothing: every delivery has been tried.".to_owned(),
                    (n, Some(age)) => format!("{n} deliveries; the oldest has waited {age}."),
                }}
            </p>
        </section>
        <section class="card">
            <h2>"Latest contracts"</h2>
            {if contracts.is_empty() {
                view! { <p class="hint">"None yet. " <a href="/affiliate/contracts/new">"Create a contract"</a></p> }.into_any()
            } else {
                view! {
                    <ul>
                        {contracts.into_iter().map(|c| view! {
                            <li><a href=format!("/affiliate/contracts/{}", c.id)>{c.name}</a>{format!(" · {} · {}", c.partner, c.created_at)}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The links failing now.
#[component]
fn OpenIncidents(incidents: Vec<IncidentView>) -> impl IntoView {
    view! {
        <section class="card" data-testid="overview-incidents">
            <h2>"Incidents"</h2>
            {if incidents.is_empty() {
                view! { <p>"No link is failing now."</p> }.into_any()
            } else {
                view! {
                    <ul>
                        {incidents.into_iter().map(|i| view! {
                            <li class="incident">{format!("Link {} failing since {}: {}", i.link, i.opened, i.reason)}</li>
                        }).collect_view()}
                    </ul>
                    <p><a href="/settings/alerts">"Alerts and incident history"</a></p>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn LinkSummary(link: LinkOverview) -> impl IntoView {
    let rate = link.success_rate.clone().map_or_else(
        || "no finished calls".to_owned(),
        |r| format!("{r} delivered"),
    );
    view! {
        <h3>{format!("Link {}", link.link)}</h3>
        <p data-testid=format!("overview-link-{}", link.link)>
            {format!(
                "{rate} · {} delivered · {} failed tries · {} given up",
                link.delivered, link.failed_tries, link.given_up
            )}
        </p>
        <ChartView chart=link.chart />
    }
}

/// A chart as the server drew it, its legend, and its numbers as a table (folded away; screen
/// readers and anyone who opens it read the same figures).
#[component]
fn ChartView(chart: Chart) -> impl IntoView {
    let Chart {
        title,
        svg,
        series,
        days,
    } = chart;
    let legend = series
        .iter()
        .enumerate()
        .map(|(i, name)| view! { <span class=format!("legend series-{}", ["a", "b", "c"][i.min(2)])>{name.clone()}</span> })
        .collect_view();
    view! {
        <figure class="chart-figure">
            <div class="chart-box" inner_html=svg></div>
            <figcaption>{title.clone()} " · " {legend}</figcaption>
        </figure>
        <details class="chart-numbers">
            <summary>{format!("{title}: the numbers")}</summary>
            <table class="data">
                <thead>
                    <tr>
                        <th>"Day"</th>
                        {series.into_iter().map(|s| view! { <th>{s}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {days.into_iter().map(|d| view! {
                        <tr>
                            <th scope="row">{d.day}</th>
                            {d.values.into_iter().map(|v| view! { <td>{v}</td> }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}
