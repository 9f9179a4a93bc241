//! Signups: every signup reported to the intake API, whether it counted and what became of each
//! delivery.

use crate::api::signups::{
    list_signups, signup_detail, DeliveryView, RetryDelivery, ReversalView, SignupList,
    SignupListItem, SignupView,
};
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::percent::encode_query;
use crate::domain::states::NoticeKind;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

const DELIVERY_STATES: [(&str, &str); 6] = [
    ("", "any"),
    ("pending", "pending"),
    ("delivered", "delivered"),
    ("failing", "failing"),
    ("exhausted", "exhausted"),
    ("reversed", "reversed (refund, chargeback, cancellation)"),
];

#[component]
pub fn SignupsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k)).unwrap_or_default();
    let list = Resource::new(
        move || {
            (
                param("eligible"),
                param("delivery"),
                param("q"),
                param("page").parse::<i64>().unwrap_or(1),
            )
        },
        |(eligible, delivery, q, page)| list_signups(eligible, delivery, q, page),
    );
    view! {
        <Title text="Signups" />
        <h1>"Signups"</h1>
        <p class="lead">
            "Every signup reported to " <code>"POST /api/v1/signups"</code>
            ", newest first: whether it counted for the affiliate program, and its deliveries."
        </p>
        <form method="get" action="/signups" class="card filters">
            <Field id="q" label="Search">
                <input id="q" name="q" type="search" placeholder="order id, account id or user name" value=move || param("q") />
            </Field>
            <Field id="eligible" label="Counted">
                <select id="eligible" name="eligible">
                    {[("", "any"), ("yes", "counted"), ("no", "not counted")]
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value selected=move || param("eligible") == value>{label}</option> })
                        .collect_view()}
                </select>
            </Field>
            <Field id="delivery" label="Delivery">
                <select id="delivery" name="delivery">
                    {DELIVERY_STATES
                        .into_iter()
                        .map(|(value, label)| view! { <option value=value selected=move || param("delivery") == value>{label}</option> })
                        .collect_view()}
                </select>
            </Field>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                list.get()
                    .map(|result| match result {
                        Ok(list) => view! { <SignupTable list param_eligible=param("eligible") param_delivery=param("delivery") param_q=param("q") /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

fn delivery_summary(delivered: i64, pending: i64, failing: i64, exhausted: i64) -> String {
    let parts: Vec<String> = [
        (delivered, "delivered"),
        (pending, "pending"),
        (failing, "failing"),
        (exhausted, "exhausted"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, label)| format!("{n} {label}"))
    .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(" · ")
    }
}

#[component]
fn SignupTable(
    list: SignupList,
    param_eligible: String,
    param_delivery: String,
    param_q: String,
) -> impl IntoView {
    if list.items.is_empty() {
        return view! { <p class="hint" data-testid="no-signups">"No signups match."</p> }
            .into_any();
    }
    let page_link = move |page: i64| {
        format!(
            "/signups?{}",
            encode_query([
                ("q", param_q.as_str()),
                ("eligible", param_eligible.as_str()),
                ("delivery", param_delivery.as_str()),
                ("page", page.to_string().as_str()),
            ])
        )
    };
    let (page, pages) = (list.page, list.pages);
    view! {
        <table class="data" data-testid="signups">
            <thead>
                <tr>
                    <th>"Received"</th>
                    <th>"Order"</th>
                    <th>"Account"</th>
                    <th>"User"</th>
                    <th>"Payment"</th>
                    <th>"Counted"</th>
                    <th>"Deliveries"</th>
                </tr>
            </thead>
            <tbody>
                {list.items.into_iter().map(|s| view! { <SignupRow s /> }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a href=page_link(page - 1)>"← Newer"</a> })}
            <span>{format!("Page {page} of {pages} · {} signups", list.total)}</span>
            {(page < pages).then(|| view! { <a href=page_link(page + 1)>"Older →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn SignupRow(s: SignupListItem) -> impl IntoView {
    view! {
        <tr>
            <td>{s.created_at}</td>
            <td><a href=format!("/signups/{}", s.id)>{s.order_id}</a></td>
            <td>{s.account_id}</td>
            <td>{s.user_name}</td>
            <td>{s.payment_method}</td>
            <td title=s.reason.clone()>{if s.eligible { "yes" } else { "no" }}</td>
            <td>
                {delivery_summary(s.delivered, s.pending, s.failing, s.exhausted)}
                {(s.reversals > 0).then(|| view! { " · " <span class="state state-reversed">"reversed"</span> })}
            </td>
        </tr>
    }
}

#[component]
pub fn SignupDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let retry = ServerAction::<RetryDelivery>::new();
    let detail = Resource::new(
        move || (id(), retry.version().get()),
        |(id, _)| signup_detail(id),
    );
    view! {
        <Title text="Signup" />
        <p><a href="/signups">"← All signups"</a></p>
        <RetryNotice retry />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                detail.get().map(|result| match result {
                    Ok(Some(s)) => view! { <SignupBody s retry /> }.into_any(),
                    Ok(None) => view! { <h1>"Signup not found"</h1><p>"There is no signup with this number."</p> }.into_any(),
                    Err(error) => view! { <LoadError error /> }.into_any(),
                })
            }}
        </Suspense>
    }
}

/// A signup: what it reported, the decision, skipped links, reversals, deliveries and pixels.
#[component]
fn SignupBody(s: SignupView, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    view! {
        <h1>{format!("Signup {}", s.fields.first().map(|f| f.1.clone()).unwrap_or_default())}</h1>
        <div class=if s.eligible { "banner banner-success" } else { "banner banner-info" } data-testid="decision">
            <p>
                <strong>{if s.eligible { "Counted. " } else { "Not counted. " }}</strong>
                {s.reason.clone()}
            </p>
        </div>
        <table class="data fields">
            <tbody>
                {s.fields.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td>{v}</td></tr> }).collect_view()}
                <tr><th>"Received"</th><td>{s.created_at}</td></tr>
            </tbody>
        </table>
        {(!s.skipped.is_empty()).then(|| view! {
            <h2>"Links skipped by their conditions"</h2>
            <ul data-testid="skipped">{s.skipped.clone().into_iter().map(|why| view! { <li>{why}</li> }).collect_view()}</ul>
        })}
        {(!s.reversals.is_empty()).then(|| view! {
            <h2>"Reversals"</h2>
            {s.reversals.clone().into_iter().map(|r| view! { <ReversalCard reversal=r /> }).collect_view()}
        })}
        <h2>"Server-to-server deliveries"</h2>
        {if s.deliveries.is_empty() {
            view! { <p class="hint">"None: no server-to-server link fired for this signup."</p> }.into_any()
        } else {
            s.deliveries.into_iter().map(|d| view! { <DeliveryCard delivery=d retry /> }).collect_view().into_any()
        }}
        <h2>"Browser pixels"</h2>
        {if s.pixels.is_empty() {
            view! { <p class="hint">"None."</p> }.into_any()
        } else {
            view! { <ul class="pixels">{s.pixels.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}</ul> }.into_any()
        }}
    }
}

/// One reversal: what was reported and what it did to each link.
#[component]
fn ReversalCard(reversal: ReversalView) -> impl IntoView {
    view! {
        <section class="card reversal" data-testid="reversal">
            <p>
                <strong>{format!("{} of {}", capitalized(&reversal.reason), reversal.amount)}</strong>
                {format!(" · {} · id {} · received {}", reversal.time, reversal.reversal_id, reversal.received)}
            </p>
            <p>{reversal.summary}</p>
            <ul>
                {reversal.links.into_iter().map(|(link, what)| view! { <li>{format!("Link {link}: {what}")}</li> }).collect_view()}
            </ul>
        </section>
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// What came of "Retry now".
#[component]
fn RetryNotice(retry: ServerAction<RetryDelivery>) -> impl IntoView {
    view! {
        {move || {
            retry.value().get().map(|result| match result {
                Ok(()) => view! { <Banner kind=NoticeKind::Success><p data-testid="retry-notice">"Retrying now. Reload in a few seconds to see the result."</p></Banner> }.into_any(),
                Err(err) => view! { <Banner kind=NoticeKind::Error><p>{err.field_message("delivery").unwrap_or_else(|| err.to_string())}</p></Banner> }.into_any(),
            })
        }}
    }
}

#[component]
fn DeliveryCard(delivery: DeliveryView, retry: ServerAction<RetryDelivery>) -> impl IntoView {
    let can_retry = delivery.can_retry();
    let state_class = format!("state state-{}", delivery.state);
    view! {
        <section class="card delivery" data-testid=format!("{}-{}", if delivery.kind == "reversal" { "reversal-delivery" } else { "delivery" }, delivery.link)>
            <p>
                <strong>{if delivery.kind == "reversal" { format!("Link {} · reversal", delivery.link) } else { format!("Link {}", delivery.link) }}</strong>
                " · "
                <span class=state_class data-testid="delivery-state">{delivery.state.clone()}</span>
                {format!(" · {} tries", delivery.tries)}
                {delivery.delivered_at.clone().map(|at| format!(" · delivered {at}"))}
                {(delivery.state == "failing").then(|| format!(" · next try {}", delivery.next_attempt_at))}
            </p>
            <p><code>{delivery.url.clone()}</code></p>
            {delivery.last_error.clone().map(|e| view! { <p class="test-error">{e}</p> })}
            {can_retry.then(|| view! {
                <ActionForm action=retry>
                    <input type="hidden" name="delivery_id" value=delivery.id />
                    <button type="submit">"Retry now"</button>
                </ActionForm>
            })}
            <table class="data attempts">
                <thead><tr><th>"Started"</th><th>"Time"</th><th>"Status"</th><th>"Answer or error"</th></tr></thead>
                <tbody>
                    {delivery.attempts.into_iter().map(|a| view! {
                        <tr>
                            <td>{a.started_at}</td>
                            <td>{format!("{} ms", a.duration_ms)}</td>
                            <td>{a.status.map(|s| s.to_string()).unwrap_or_else(|| "—".to_owned())}</td>
                            <td>{a.error.unwrap_or(a.body_excerpt)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
