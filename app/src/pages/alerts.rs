//! Settings → Alerts: where incident messages go (email, webhook), a test for each, the open and
//! recent incidents, and every alert sent or waiting.

use crate::api::alerts::{alerts_page, AlertsOverview, SaveAlertSettings, SendTestAlert};
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::alerts::{keeps_password, AlertSettingsInput, SmtpTls};
use crate::domain::states::NoticeKind;
use crate::model::alerts::{state_label, AlertHistoryEntry, AlertSettingsView, IncidentView};
use crate::model::error::ApiError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let save = ServerAction::<SaveAlertSettings>::new();
    let test = ServerAction::<SendTestAlert>::new();
    let query = use_query_map();
    let tested = move || query.with(|q| q.get("test").and_then(|v| v.parse::<i64>().ok()));
    let overview = Resource::new(
        move || (save.version().get(), test.version().get(), tested()),
        |_| alerts_page(),
    );
    let saved = move || query.with(|q| q.get("saved").is_some());
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    let test_error = Signal::derive(move || test.value().get().and_then(Result::err));
    view! {
        <Title text="Alerts" />
        <h1>"Settings → Alerts"</h1>
        <p class="lead">
            "When a link keeps failing (failed calls in a row, 5 unless set below; an hour without a success while calls are due; or a delivery given up), affdesk opens an incident and tells you once; it tells you again when the link delivers, and reminds you at most once a day in between."
        </p>
        <Show when=saved>
            <Banner kind=NoticeKind::Success><p data-testid="alerts-saved">"Alert settings saved."</p></Banner>
        </Show>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || overview.get().map(|result| match result {
                Ok(o) => view! { <AlertsBody overview=o save test save_error test_error tested=tested() /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn AlertsBody(
    overview: AlertsOverview,
    save: ServerAction<SaveAlertSettings>,
    test: ServerAction<SendTestAlert>,
    save_error: Signal<Option<ApiError>>,
    test_error: Signal<Option<ApiError>>,
    tested: Option<i64>,
) -> impl IntoView {
    let AlertsOverview {
        settings,
        incidents,
        history,
    } = overview;
    let tested = tested.and_then(|id| history.iter().find(|h| h.id == id).cloned());
    view! {
        {tested.map(|entry| view! { <TestResult entry /> })}
        <Incidents incidents />
        <SettingsForm settings=settings.clone() save server_error=save_error />
        <TestButtons settings test server_error=test_error />
        <History history />
    }
}

/// What the last test alert got back, from its history entry.
#[component]
fn TestResult(entry: AlertHistoryEntry) -> impl IntoView {
    let sent = entry.state == "delivered";
    let kind = if sent {
        NoticeKind::Success
    } else {
        NoticeKind::Error
    };
    let words = if sent {
        format!(
            "Test alert by {} sent. The server answered: {}",
            entry.channel, entry.answer
        )
    } else {
        format!("Test alert by {} not sent: {}", entry.channel, entry.answer)
    };
    view! {
        <Banner kind><p data-testid="test-result">{words}</p></Banner>
    }
}

#[component]
fn Incidents(incidents: Vec<IncidentView>) -> impl IntoView {
    let open = incidents.iter().filter(|i| i.closed.is_none()).count();
    view! {
        <section class="card">
            <h2>"Incidents"</h2>
            <p data-testid="open-incidents">
                {match open {
                    0 => "No link is failing now.".to_owned(),
                    1 => "1 link is failing now.".to_owned(),
                    n => format!("{n} links are failing now."),
                }}
            </p>
            {(!incidents.is_empty()).then(|| view! {
                <table class="data" data-testid="incidents">
                    <thead><tr><th>"Link"</th><th>"Why"</th><th>"Opened"</th><th>"Closed"</th></tr></thead>
                    <tbody>
                        {incidents.into_iter().map(|i| view! {
                            <tr>
                                <td>{format!("Link {}", i.link)}</td>
                                <td>{i.reason}</td>
                                <td>{i.opened}</td>
                                <td>{i.closed.unwrap_or_else(|| "open".to_owned())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

/// The form's values as the admin types them, with the shared rules' messages once a field
/// was touched (the server's otherwise).
#[derive(Clone, Copy)]
struct Binding {
    input: RwSignal<AlertSettingsInput>,
    /// The settings as saved, to tell whether the stored password is kept.
    saved: StoredValue<AlertSettingsInput>,
    touched: RwSignal<Vec<&'static str>>,
    password_stored: bool,
    server_error: Signal<Option<ApiError>>,
}

impl Binding {
    fn message(self, field: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || {
            let live = self
                .touched
                .with(|t| t.contains(&field))
                .then(|| {
                    self.input.with(|i| {
                        let kept = self.password_stored
                            && self.saved.with_value(|saved| keeps_password(saved, i));
                        i.validate(kept)
                            .err()
                            .and_then(|errors| errors.into_iter().find(|e| e.field == field))
                            .map(|e| e.message)
                    })
                })
                .flatten();
            live.or_else(|| self.server_error.get().and_then(|e| e.field_message(field)))
        })
    }

    /// An `on:input` handler that stores the typed value with `set`.
    fn on_input(
        self,
        field: &'static str,
        set: fn(&mut AlertSettingsInput, String),
    ) -> impl Fn(leptos::ev::Event) + 'static {
        move |ev| {
            let value = event_target_value(&ev);
            self.input.update(|i| set(i, value));
            self.touched.update(|t| {
                if !t.contains(&field) {
                    t.push(field);
                }
            });
        }
    }
}

fn initial_input(s: &AlertSettingsView) -> AlertSettingsInput {
    AlertSettingsInput {
        email_enabled: s.email_enabled,
        smtp_host: s.smtp_host.clone(),
        smtp_port: s.smtp_port.clone(),
        smtp_tls: s.smtp_tls.clone(),
        smtp_username: s.smtp_username.clone(),
        smtp_password: String::new(),
        sender: s.sender.clone(),
        recipients: s.recipients.clone(),
        webhook_enabled: s.webhook_enabled,
        webhook_url: s.webhook_url.clone(),
        failures_to_open: s.failures_to_open.clone(),
    }
}

#[component]
fn SettingsForm(
    settings: AlertSettingsView,
    save: ServerAction<SaveAlertSettings>,
    server_error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let bound = Binding {
        input: RwSignal::new(initial_input(&settings)),
        saved: StoredValue::new(initial_input(&settings)),
        touched: RwSignal::new(Vec::new()),
        password_stored: settings.password_stored,
        server_error,
    };
    let hint = if settings.links_to_affdesk {
        "Messages link to affdesk's overview."
    } else {
        "Set AFFDESK_PUBLIC_ORIGIN and messages link to affdesk's overview."
    };
    view! {
        <ActionForm action=save attr:class="card stack" attr:data-testid="alert-settings">
            <h2>"Where alerts go"</h2>
            <p class="hint">{hint}</p>
            <EmailFields settings=settings.clone() bound />
            <fieldset class="stack">
                <legend>"Webhook"</legend>
                <label class="check">
                    <input type="checkbox" name="webhook_enabled" checked=settings.webhook_enabled
                        on:change=move |ev| bound.input.update(|i| i.webhook_enabled = event_target_checked(&ev)) />
                    " Send alerts to a webhook"
                </label>
                <Field id="webhook_url" label="Webhook URL" message=bound.message("webhook_url")
                    help="Slack and Mattermost incoming webhooks, Discord's …/slack URL, or your own: affdesk POSTs JSON with a text field and the incident's facts. The address must be public or in AFFDESK_OUTBOUND_ALLOW.">
                    <input id="webhook_url" name="webhook_url" type="url" value=settings.webhook_url autocomplete="off"
                        aria-describedby="webhook_url-error"
                        on:input=bound.on_input("webhook_url", |i, v| i.webhook_url = v) />
                </Field>
            </fieldset>
            <Field id="failures_to_open" label="Failed calls in a row that open an incident" message=bound.message("failures_to_open")
                help="1 to 100; 5 by default. An hour without a success, or a delivery given up, opens one too.">
                <input id="failures_to_open" name="failures_to_open" inputmode="numeric" value=settings.failures_to_open
                    aria-describedby="failures_to_open-error"
                    on:input=bound.on_input("failures_to_open", |i, v| i.failures_to_open = v) />
            </Field>
            {settings.updated.map(|u| view! { <p class="hint">{format!("Last saved {u}.")}</p> })}
            <button type="submit" class="primary">"Save alert settings"</button>
        </ActionForm>
    }
}

#[component]
fn EmailFields(settings: AlertSettingsView, bound: Binding) -> impl IntoView {
    let password_hint = if settings.password_stored {
        "A password is stored, encrypted. Leave this empty to keep it (for the same server, port and username); type a new one to replace it."
    } else {
        "Stored encrypted and never shown again. Leave the username empty for a server that needs no login."
    };
    let tls = settings.smtp_tls.clone();
    view! {
        <fieldset class="stack">
            <legend>"Email"</legend>
            <label class="check">
                <input type="checkbox" name="email_enabled" checked=settings.email_enabled
                    on:change=move |ev| bound.input.update(|i| i.email_enabled = event_target_checked(&ev)) />
                " Send alerts by email"
            </label>
            <Field id="smtp_host" label="Mail server (SMTP)" message=bound.message("smtp_host")>
                <input id="smtp_host" name="smtp_host" value=settings.smtp_host placeholder="smtp.example.com" autocomplete="off"
                    aria-describedby="smtp_host-error" on:input=bound.on_input("smtp_host", |i, v| i.smtp_host = v) />
            </Field>
            <Field id="smtp_tls" label="TLS" message=bound.message("smtp_tls")>
                <select id="smtp_tls" name="smtp_tls" aria-describedby="smtp_tls-error"
                    on:change=bound.on_input("smtp_tls", |i, v| i.smtp_tls = v)>
                    {SmtpTls::ALL.iter().copied().map(|t| view! {
                        <option value=t.as_str() selected=tls == t.as_str()>{t.label()}</option>
                    }).collect_view()}
                </select>
            </Field>
            <Field id="smtp_port" label="Port" message=bound.message("smtp_port") help="Empty: the TLS mode's usual port.">
                <input id="smtp_port" name="smtp_port" inputmode="numeric" value=settings.smtp_port aria-describedby="smtp_port-error"
                    on:input=bound.on_input("smtp_port", |i, v| i.smtp_port = v) />
            </Field>
            <Field id="smtp_username" label="Username" message=bound.message("smtp_username")>
                <input id="smtp_username" name="smtp_username" value=settings.smtp_username autocomplete="off" aria-describedby="smtp_username-error"
                    on:input=bound.on_input("smtp_username", |i, v| i.smtp_username = v) />
            </Field>
            <Field id="smtp_password" label="Password" message=bound.message("smtp_password") help=password_hint help_testid="password-hint">
                // Bound to the form's value, so the field is emptied when a save comes back (the
                // page's new rendering updates the same input in place).
                <input id="smtp_password" name="smtp_password" type="password" autocomplete="new-password" aria-describedby="smtp_password-error"
                    prop:value=move || bound.input.with(|i| i.smtp_password.clone())
                    on:input=bound.on_input("smtp_password", |i, v| i.smtp_password = v) />
            </Field>
            <Field id="sender" label="From" message=bound.message("sender")>
                <input id="sender" name="sender" type="email" value=settings.sender placeholder="affdesk@example.com" aria-describedby="sender-error"
                    on:input=bound.on_input("sender", |i, v| i.sender = v) />
            </Field>
            <Field id="recipients" label="To (one address per line)" message=bound.message("recipients")>
                <textarea id="recipients" name="recipients" rows="3" aria-describedby="recipients-error"
                    on:input=bound.on_input("recipients", |i, v| i.recipients = v)>{settings.recipients}</textarea>
            </Field>
        </fieldset>
    }
}

/// "Send test alert" for each channel, with the saved settings.
#[component]
fn TestButtons(
    settings: AlertSettingsView,
    test: ServerAction<SendTestAlert>,
    server_error: Signal<Option<ApiError>>,
) -> impl IntoView {
    let pending = test.pending();
    let error = move || {
        server_error.get().map(|e| {
            e.field_message("email")
                .or_else(|| e.field_message("webhook"))
                .unwrap_or_else(|| e.to_string())
        })
    };
    let button = move |channel: &'static str, label: &'static str, on: bool| {
        view! {
            <ActionForm action=test attr:class="inline">
                <input type="hidden" name="channel" value=channel />
                <button type="submit" data-testid=format!("test-{channel}") disabled=move || !on || pending.get()>{label}</button>
            </ActionForm>
        }
    };
    view! {
        <section class="card stack">
            <h2>"Send a test alert"</h2>
            <p class="hint">"Sends with the saved settings and shows what the mail server or webhook answered. Save first."</p>
            <div class="actions">
                {button("email", "Send test email", settings.email_enabled)}
                {button("webhook", "Send test to webhook", settings.webhook_enabled)}
            </div>
            <p class="field-error" role="alert" data-testid="test-error">{error}</p>
        </section>
    }
}

#[component]
fn History(history: Vec<AlertHistoryEntry>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Alert history"</h2>
            {if history.is_empty() {
                view! { <p class="hint">"No alert sent yet."</p> }.into_any()
            } else {
                view! {
                    <table class="data" data-testid="alert-history">
                        <thead><tr><th>"Queued"</th><th>"Message"</th><th>"Channel"</th><th>"State"</th><th>"Tries"</th><th>"Answer"</th></tr></thead>
                        <tbody>
                            {history.into_iter().map(|h| {
                                let state = match (&h.next_try, &h.sent) {
                                    (Some(next), _) => format!("{}, next try {next}", state_label(&h.state)),
                                    (_, Some(sent)) => format!("{} {sent}", state_label(&h.state)),
                                    _ => state_label(&h.state).to_owned(),
                                };
                                view! {
                                    <tr data-state=h.state.clone()>
                                        <td>{h.created}</td>
                                        <td>{h.subject}</td>
                                        <td>{h.channel}</td>
                                        <td>{state}</td>
                                        <td>{h.tries}</td>
                                        <td class="excerpt">{h.answer}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
