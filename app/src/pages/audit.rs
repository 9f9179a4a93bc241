//! Settings → Audit log: who did what, when and from where, newest first, filtered by kind and
//! by admin. A plain GET form, so it works without JavaScript.

use crate::api::audit::{audit_log, AuditEventView, AuditPage};
use crate::components::form::Field;
use crate::components::load_error::LoadError;
use crate::domain::percent::encode_query;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k)).unwrap_or_default();
    let log = Resource::new(
        move || {
            (
                param("kind"),
                param("admin"),
                param("page").parse::<i64>().unwrap_or(1),
            )
        },
        |(kind, admin, page)| audit_log(kind, admin, page),
    );
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="lead">"Every login, logout and change to security or settings: when, by whom, from which address. Kept for AFFDESK_AUDIT_DAYS days (365 by default)."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || log.get().map(|result| match result {
                Ok(page) => view! { <AuditFilters page=page.clone() kind=param("kind") admin=param("admin") /> <AuditTable page kind=param("kind") admin=param("admin") /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// The filter form: a kind and an admin, each "any" when empty.
#[component]
fn AuditFilters(page: AuditPage, kind: String, admin: String) -> impl IntoView {
    view! {
        <form method="get" action="/settings/audit" class="card filters">
            <Field id="kind" label="Kind">
                <select id="kind" name="kind">
                    <option value="" selected=kind.is_empty()>"any"</option>
                    {page.kinds.into_iter().map(|(value, label)| {
                        let selected = value == kind;
                        view! { <option value=value selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </Field>
            <Field id="admin" label="Admin">
                <select id="admin" name="admin">
                    <option value="" selected=admin.is_empty()>"anyone"</option>
                    {page.actors.into_iter().map(|actor| {
                        let selected = actor == admin;
                        view! { <option value=actor.clone() selected=selected>{actor.clone()}</option> }
                    }).collect_view()}
                </select>
            </Field>
            <button type="submit">"Filter"</button>
        </form>
    }
}

#[component]
fn AuditTable(page: AuditPage, kind: String, admin: String) -> impl IntoView {
    if page.events.is_empty() {
        return view! { <p class="hint" data-testid="no-audit-events">"No events match."</p> }
            .into_any();
    }
    let link = move |to: i64| {
        format!(
            "/settings/audit?{}",
            encode_query([
                ("kind", kind.as_str()),
                ("admin", admin.as_str()),
                ("page", to.to_string().as_str()),
            ])
        )
    };
    let number = page.page;
    view! {
        <table class="data" data-testid="audit-events">
            <thead>
                <tr><th>"When"</th><th>"What"</th><th>"Who"</th><th>"From"</th><th>"Details"</th></tr>
            </thead>
            <tbody>
                {page.events.into_iter().map(|e| view! { <AuditRow e /> }).collect_view()}
            </tbody>
        </table>
        <nav class="pager" aria-label="Pages">
            {(number > 1).then(|| view! { <a href=link(number - 1)>"← Newer"</a> })}
            <span>{format!("Page {number}")}</span>
            {page.more.then(|| view! { <a href=link(number + 1)>"Older →"</a> })}
        </nav>
    }
    .into_any()
}

#[component]
fn AuditRow(e: AuditEventView) -> impl IntoView {
    view! {
        <tr data-kind=e.kind>
            <td>{e.at}</td>
            <td>{e.kind_label}</td>
            <td>{e.actor}</td>
            <td>{e.address}</td>
            <td>{e.summary}</td>
        </tr>
    }
}
