//! Settings → Connect signups: how a billing system reports signups (the WHMCS module, or one
//! HTTP call from anything else), and the intake log of every call it made.

use crate::api::connect::{connect_info, ConnectView, IntakeCallView};
use crate::components::form::Field;
use crate::components::load_error::LoadError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The intake log's status filter: (value, label).
const STATUS_FILTERS: [(&str, &str); 9] = [
    ("", "any"),
    ("2xx", "accepted (2xx)"),
    ("4xx", "refused (4xx)"),
    ("401", "401 no valid token"),
    ("409", "409 conflict"),
    ("413", "413 too large"),
    ("415", "415 not JSON"),
    ("422", "422 invalid fields"),
    ("5xx", "failed in affdesk (5xx)"),
];

#[component]
pub fn ConnectPage() -> impl IntoView {
    let query = use_query_map();
    let status = move || query.with(|q| q.get("status")).unwrap_or_default();
    let info = Resource::new(status, connect_info);
    view! {
        <Title text="Connect signups" />
        <h1>"Settings → Connect signups"</h1>
        <p class="lead">
            "affdesk fires the affiliate links once your billing system reports each signup. WHMCS reports them with the module below; any other signup flow with one HTTP call."
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || info.get().map(|result| match result {
                Ok(view) => view! { <ConnectBody view status=status() /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn ConnectBody(view: ConnectView, status: String) -> impl IntoView {
    let ConnectView {
        base_url,
        tokens,
        calls,
    } = view;
    view! {
        <section class="card">
            <h2>"1. An API token"</h2>
            {if tokens == 0 {
                view! {
                    <p data-testid="token-needed">
                        "No API token exists yet: calls are refused with 401 until you "
                        <a href="/settings/api-tokens">"create an API token"</a>
                        ". Give each billing system its own, so the log below says which one called."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <p data-testid="token-needed">
                        {format!("{tokens} token(s) exist. ")}
                        <a href="/settings/api-tokens">"Create an API token"</a>
                        " for each billing system, so the log below says which one called."
                    </p>
                }
                .into_any()
            }}
        </section>
        <WhmcsSection base_url=base_url.clone() />
        <ApiSection base_url=base_url />
        <IntakeLog calls status />
    }
}

#[component]
fn WhmcsSection(base_url: String) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"2a. WHMCS"</h2>
            <p>"The affdesk hook module reports each new order once its first invoice is paid (a free trial once it is accepted), and refunds and cancellations as reversals. It never holds up a checkout: a call that fails waits in a local queue and WHMCS's cron sends it again."</p>
            <ol>
                <li>
                    "Download "
                    <a href="/settings/connect/whmcs/affdesk.php" download="affdesk.php">"affdesk.php"</a>
                    " and "
                    <a href="/settings/connect/whmcs/affdesk_config.sample.php" download="affdesk_config.sample.php">"affdesk_config.sample.php"</a>
                    "."
                </li>
                <li>"Copy both into WHMCS's " <code>"includes/hooks/"</code> " and rename the second to " <code>"affdesk_config.php"</code> "."</li>
                <li>
                    "In " <code>"affdesk_config.php"</code> " set " <code>"url"</code> " to "
                    <code data-testid="whmcs-url">{base_url}</code>
                    " and " <code>"token"</code> " to an API token; check which gateways are card payments and which are moderated (PayPal, bank transfer and check are moderated by default)."
                </li>
                <li>"Make sure WHMCS's cron runs (it resends what could not be sent), then place a test order: it appears in the intake log below. Problems are written to WHMCS's Activity Log, starting with " <code>"affdesk:"</code> "."</li>
            </ol>
        </section>
    }
}

/// The copy-ready examples, with a placeholder for the token.
fn examples(base_url: &str) -> [(&'static str, String); 4] {
    let body = r#"{"order_id":"A-1001","account_id":"100042","user_name":"jane","domain":"jane.example","plan_id":"7","plan_name":"Pro","amount":"19.95","full_amount":"23.74","currency":"USD","payment_method":"credit_card","moderated":false,"trial":false}"#;
    [
        (
            "curl",
            format!(
                "curl -sS {base_url}/api/v1/signups \\\n  -H 'Authorization: Bearer YOUR_TOKEN' \\\n  -H 'Content-Type: application/json' \\\n  -d '{body}'"
            ),
        ),
        (
            "PHP",
            format!(
                "$ch = curl_init('{base_url}/api/v1/signups');\ncurl_setopt_array($ch, [\n    CURLOPT_POST => true,\n    CURLOPT_HTTPHEADER => ['Authorization: Bearer YOUR_TOKEN', 'Content-Type: application/json'],\n    CURLOPT_POSTFIELDS => json_encode($signup), // the fields below, as an array\n    CURLOPT_RETURNTRANSFER => true,\n    CURLOPT_TIMEOUT => 5,\n]);\n$answer = json_decode(curl_exec($ch), true);\n$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE); // 201 stored, 200 a repeat"
            ),
        ),
        (
            "Python",
            format!(
                "import requests\n\nanswer = requests.post(\n    \"{base_url}/api/v1/signups\",\n    headers={{\"Authorization\": \"Bearer YOUR_TOKEN\"}},\n    json=signup,  # a dict with the fields below\n    timeout=5,\n)\nanswer.raise_for_status()  # 201 stored, 200 a repeat"
            ),
        ),
        (
            "A refund (reversal)",
            format!(
                "curl -sS {base_url}/api/v1/signups/A-1001/reversals \\\n  -H 'Authorization: Bearer YOUR_TOKEN' \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"reason\":\"refund\",\"amount\":\"19.95\"}}'"
            ),
        ),
    ]
}

#[component]
fn ApiSection(base_url: String) -> impl IntoView {
    let intake = format!("{base_url}/api/v1/signups");
    view! {
        <section class="card">
            <h2>"2b. Any other signup flow"</h2>
            <p>
                "Report each completed signup to " <code data-testid="intake-url">{intake}</code>
                " (POST, JSON, " <code>"Authorization: Bearer YOUR_TOKEN"</code>
                "). Every field and answer is described in "
                <a href="/api/v1/openapi.json">"the OpenAPI description"</a>
                ". A repeat with the same " <code>"order_id"</code> " and body is safe: it gets the first answer."
            </p>
            {examples(&base_url)
                .into_iter()
                .map(|(name, code)| view! {
                    <h3>{name}</h3>
                    <pre tabindex="0" class="example"><code>{code}</code></pre>
                })
                .collect_view()}
            <h3>"Browser pixels"</h3>
            <p>
                "For links set to fire as a browser pixel, send the customer to the " <code>"complete_url"</code>
                " of the 201 answer (a thank-you page carrying the pixels, valid 24 hours), or print its "
                <code>"pixel_html"</code> " on your own thank-you page."
            </p>
        </section>
    }
}

#[component]
fn IntakeLog(calls: Vec<IntakeCallView>, status: String) -> impl IntoView {
    let options = STATUS_FILTERS
        .into_iter()
        .map(|(value, label)| {
            let selected = value == status;
            view! { <option value=value selected=selected>{label}</option> }
        })
        .collect_view();
    view! {
        <section>
            <h2>"Intake log"</h2>
            <p class="hint">"Every call to the signup API, refused ones too, newest first (the last 100 shown; kept 7 days or 10,000 calls). Tokens and customers' emails are never logged."</p>
            <form method="get" action="/settings/connect" class="filters">
                <Field id="status" label="Answer">
                    <select id="status" name="status">{options}</select>
                </Field>
                <button type="submit">"Filter"</button>
            </form>
            {if calls.is_empty() {
                view! { <p class="hint" data-testid="intake-log-empty">"No calls yet."</p> }.into_any()
            } else {
                view! {
                        <table class="data" data-testid="intake-log">
                            <thead><tr><th>"Time"</th><th>"Token"</th><th>"Call"</th><th>"Order ID"</th><th>"Answer"</th><th>"Outcome"</th><th>"Duration"</th></tr></thead>
                            <tbody>
                                {calls.into_iter().map(|c| view! {
                                    <tr>
                                        <td>{c.received_at}</td>
                                        <td>{c.token}</td>
                                        <td>{c.endpoint}</td>
                                        <td>{c.order_id}</td>
                                        <td>{c.status}</td>
                                        <td>{c.outcome}</td>
                                        <td>{format!("{} ms", c.duration_ms)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                }.into_any()
            }}
        </section>
    }
}
