//! Settings → Affiliate Program: H-Sphere's page rebuilt. One form: the switch, five links, the
//! parameter drop-down with Insert, Submit. With JavaScript the page validates and previews as
//! the admin types, inserts at the caret, and saves without reloading; without it every button
//! posts the form and the server answers with the page as posted (see `server::affiliate_form`).

use crate::api::affiliate::{
    affiliate_settings, save_affiliate_settings, send_test_link, HistoryEntry, PostedAffiliateForm,
};
use crate::api::error::ApiError;
use crate::api::signups::LinkHealthView;
use crate::components::form::Banner;
use crate::domain::affiliate::{
    insert_at_selection, mode_options_html, parameter_rows_html, target_options_html,
    token_options_html, AffiliateInput, DeliveryMode, SlotInput,
};
use crate::domain::call::CallOutcome;
use crate::domain::link_template::{LinkTemplate, SignupValues, Token, LINK_SLOTS};
use leptos::either::Either;
use leptos::ev::{MouseEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::sync::LazyLock;

const EXAMPLE: &str =
    "https://tracker.example/sale?aid=${account_id}&amount=${amount}&order=${order_id}";

/// The "All parameters" table never changes: written once per process.
static PARAMETER_ROWS: LazyLock<String> = LazyLock::new(parameter_rows_html);

#[component]
pub fn AffiliatePage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let posted = use_context::<PostedAffiliateForm>();
    #[cfg(not(feature = "ssr"))]
    let posted: Option<PostedAffiliateForm> = None;
    let initial = Resource::new(
        || (),
        move |_| {
            let posted = posted.clone();
            async move {
                match posted {
                    Some(form) => Ok(form),
                    None => affiliate_settings().await.map(|state| PostedAffiliateForm {
                        state,
                        token: Token::Amount.placeholder(),
                        target: 1,
                        notice: None,
                        test_results: Vec::new(),
                    }),
                }
            }
        },
    );
    let query = use_query_map();
    let saved = move || query.with(|q| q.get("saved").is_some());

    view! {
        <Title text="Affiliate Program" />
        <h1>"Settings → Affiliate Program"</h1>
        <p class="lead">
            "After every eligible signup (a credit-card signup or a trial that is not moderated) affdesk fires each enabled link below, with the signup's values in place of the parameters."
        </p>
        <Suspense fallback=|| view! { <p>"Loading the settings…"</p> }>
            {move || {
                initial
                    .get()
                    .map(|result| match result {
                        Ok(form) => Either::Left(view! { <AffiliateForm form saved=saved() /> }),
                        Err(err) => {
                            Either::Right(
                                view! {
                                    <Banner kind="error">
                                        <p>{err.to_string()}</p>
                                    </Banner>
                                },
                            )
                        }
                    })
            }}
        </Suspense>
    }
}

/// The signals behind one link slot.
#[derive(Clone, Copy)]
struct Slot {
    n: usize,
    url: RwSignal<String>,
    enabled: RwSignal<bool>,
    mode: RwSignal<DeliveryMode>,
    input: NodeRef<html::Input>,
    test: RwSignal<Option<Result<CallOutcome, String>>>,
}

impl Slot {
    fn snapshot(&self) -> SlotInput {
        SlotInput {
            url: self.url.get_untracked(),
            enabled: self.enabled.get_untracked(),
            mode: self.mode.get_untracked(),
        }
    }
}

fn describe_error(err: &ApiError, field: &str) -> String {
    err.field_message(field).unwrap_or_else(|| err.to_string())
}

#[component]
fn AffiliateForm(form: PostedAffiliateForm, saved: bool) -> impl IntoView {
    let PostedAffiliateForm {
        state,
        token,
        target,
        notice,
        test_results,
    } = form;
    let program_enabled = RwSignal::new(state.input.program_enabled);
    let version = RwSignal::new(state.version);
    let history = RwSignal::new(state.history);
    let health = RwSignal::new(state.health);
    let token_choice = RwSignal::new(token);
    let target_choice = RwSignal::new(target.clamp(1, LINK_SLOTS));
    let last_focused = RwSignal::new(None::<usize>);
    let saved_notice = saved.then(|| ("success".to_owned(), "Settings saved.".to_owned()));
    let notice = RwSignal::new(notice.or(saved_notice));

    let slots: Vec<Slot> = state
        .input
        .slots
        .iter()
        .enumerate()
        .map(|(i, s)| Slot {
            n: i + 1,
            url: RwSignal::new(s.url.clone()),
            enabled: RwSignal::new(s.enabled),
            mode: RwSignal::new(s.mode),
            input: NodeRef::new(),
            test: RwSignal::new(
                test_results
                    .iter()
                    .find(|(n, _)| *n == i + 1)
                    .map(|(_, outcome)| Ok(outcome.clone())),
            ),
        })
        .collect();
    let slots = StoredValue::new(slots);

    let save = Action::new(move |(input, version): &(AffiliateInput, i64)| {
        save_affiliate_settings(input.clone(), *version)
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(state)) => {
            version.set(state.version);
            history.set(state.history);
            health.set(state.health);
            notice.set(Some(("success".to_owned(), "Settings saved.".to_owned())));
        }
        Some(Err(err)) => notice.set(Some(("error".to_owned(), describe_error(&err, "links")))),
        None => {}
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let input = AffiliateInput {
            program_enabled: program_enabled.get_untracked(),
            slots: slots.with_value(|s| s.iter().map(Slot::snapshot).collect()),
        };
        if input.validate().is_err() {
            notice.set(Some((
                "error".to_owned(),
                "Nothing was saved: correct the links marked below.".to_owned(),
            )));
            return;
        }
        notice.set(None);
        save.dispatch((input, version.get_untracked()));
    };

    let on_insert = move |ev: MouseEvent| {
        ev.prevent_default();
        let Some(token) = Token::from_name(
            token_choice
                .get_untracked()
                .trim_start_matches("${")
                .trim_end_matches('}'),
        ) else {
            return;
        };
        let n = target_choice.get_untracked();
        let Some(slot) = slots.with_value(|s| s.get(n - 1).copied()) else {
            return;
        };
        let placeholder = token.placeholder();
        match slot.input.get_untracked() {
            Some(el) => {
                let value = el.value();
                let end_of_text = value.encode_utf16().count();
                // The caret of the field that last had focus; a field never focused gets the
                // token at its end, as H-Sphere's Insert did.
                let (start, end) = if last_focused.get_untracked() == Some(n) {
                    let start = el
                        .selection_start()
                        .ok()
                        .flatten()
                        .map_or(end_of_text, |v| v as usize);
                    let end = el
                        .selection_end()
                        .ok()
                        .flatten()
                        .map_or(start, |v| v as usize);
                    (start, end)
                } else {
                    (end_of_text, end_of_text)
                };
                let (updated, caret) = insert_at_selection(&value, start, end, &placeholder);
                el.set_value(&updated);
                slot.url.set(updated);
                let _ = el.focus();
                let _ = el.set_selection_range(caret as u32, caret as u32);
                last_focused.set(Some(n));
            }
            None => slot.url.update(|u| u.push_str(&placeholder)),
        }
    };

    let token_description = move || {
        Token::from_name(
            token_choice
                .get()
                .trim_start_matches("${")
                .trim_end_matches('}'),
        )
        .map(Token::description)
        .unwrap_or_default()
    };
    let pending = save.pending();

    view! {
        {move || {
            notice
                .get()
                .map(|(kind, text)| {
                    let kind = match kind.as_str() {
                        "error" => "error",
                        "success" => "success",
                        _ => "info",
                    };
                    view! {
                        <Banner kind=kind>
                            <p data-testid="affiliate-notice">{text}</p>
                        </Banner>
                    }
                })
        }}
        <form method="post" action="/settings/affiliate" class="affiliate" on:submit=on_submit novalidate>
            // Enter in a field submits with the form's first button: make that Submit, not Clear.
            <button type="submit" name="intent" value="save" class="visually-hidden" tabindex="-1" aria-hidden="true">
                "Submit"
            </button>
            <input type="hidden" name="version" value=move || version.get().to_string() />
            <div class="card program-switch">
                <label class="switch">
                    <input
                        type="checkbox"
                        name="program_enabled"
                        checked=program_enabled.get_untracked()
                        prop:checked=move || program_enabled.get()
                        on:change=move |ev| program_enabled.set(event_target_checked(&ev))
                    />
                    " Use affiliate program"
                </label>
                <p class="hint">
                    "Off: no link fires for new signups. The links below stay saved either way."
                </p>
            </div>

            <div class="card inserter">
                <label for="token">"Parameter"</label>
                <select
                    id="token"
                    name="token"
                    on:change=move |ev| token_choice.set(event_target_value(&ev))
                    inner_html=token_options_html(&token_choice.get_untracked())
                ></select>
                <label for="target">"into"</label>
                <select
                    id="target"
                    name="target"
                    prop:value=move || target_choice.get().to_string()
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse::<usize>() {
                            target_choice.set(n.clamp(1, LINK_SLOTS));
                        }
                    }
                    inner_html=target_options_html(target_choice.get_untracked())
                ></select>
                <button type="submit" name="intent" value="insert" on:click=on_insert>
                    "Insert"
                </button>
                <p class="hint" data-testid="token-description">{token_description}</p>
            </div>

            <p class="hint">
                "Write each link in H-Sphere's format, with parameters where the signup's values go, e.g. "
                <code>{EXAMPLE}</code>
                ". Values are percent-encoded; write $$ for a literal $."
            </p>

            {slots
                .get_value()
                .into_iter()
                .map(|slot| view! { <SlotEditor link=slot target_choice last_focused health /> })
                .collect_view()}

            <button type="submit" name="intent" value="save" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Submit" }}
            </button>
        </form>

        <details class="card parameters">
            <summary>"All parameters"</summary>
            <table>
                <thead>
                    <tr>
                        <th>"Parameter"</th>
                        <th>"Value"</th>
                        <th>"Sample"</th>
                    </tr>
                </thead>
                <tbody inner_html=PARAMETER_ROWS.as_str()></tbody>
            </table>
        </details>

        <section class="history">
            <h2>"Last changes"</h2>
            {move || {
                let entries = history.get();
                if entries.is_empty() {
                    Either::Left(view! { <p class="hint">"No changes saved yet."</p> })
                } else {
                    Either::Right(
                        view! {
                            <ol data-testid="history">
                                {entries.into_iter().map(|e| view! { <HistoryItem entry=e /> }).collect_view()}
                            </ol>
                        },
                    )
                }
            }}
        </section>
    }
}

#[component]
fn HistoryItem(entry: HistoryEntry) -> impl IntoView {
    view! {
        <li>
            <time>{entry.at}</time>
            " · "
            <strong>{entry.by}</strong>
            " · "
            {entry.changes.join(", ")}
        </li>
    }
}

#[component]
fn SlotEditor(
    link: Slot,
    target_choice: RwSignal<usize>,
    last_focused: RwSignal<Option<usize>>,
    health: RwSignal<Vec<LinkHealthView>>,
) -> impl IntoView {
    let Slot {
        n,
        url,
        enabled,
        mode,
        input,
        test,
    } = link;
    let field_id = format!("link-{n}");
    let error_id = format!("link-{n}-error");
    let parsed = Memo::new(move |_| LinkTemplate::parse_slot(&url.get()));
    let error = move || parsed.get().err().map(|e| e.to_string());
    let preview = move || match parsed.get() {
        Ok(Some(template)) => template.render(&SignupValues::sample()),
        Ok(None) => "(empty: this link fires nothing)".to_owned(),
        Err(_) => "(no preview until the link is corrected)".to_owned(),
    };
    let send = Action::new(move |url: &String| send_test_link(url.clone()));
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            test.set(Some(result.map_err(|e| describe_error(&e, "url"))));
        }
    });
    let sending = send.pending();

    view! {
        <fieldset class="card slot" id=format!("slot-{n}")>
            <legend>{format!("Link {n}")}</legend>
            <label for=field_id.clone() class="visually-hidden">
                {format!("Link {n} URL")}
            </label>
            <input
                type="text"
                id=field_id
                name=format!("url_{n}")
                class="link-url"
                value=url.get_untracked()
                prop:value=move || url.get()
                node_ref=input
                spellcheck="false"
                autocomplete="off"
                placeholder="https://tracker.example/sale?aid=${account_id}"
                aria-invalid=move || error().is_some().to_string()
                aria-describedby=error_id.clone()
                on:input=move |ev| url.set(event_target_value(&ev))
                on:focus=move |_| {
                    last_focused.set(Some(n));
                    target_choice.set(n);
                }
            />
            <p class="field-error" id=error_id role="alert">
                {error}
            </p>
            <div class="slot-options">
                <label>
                    <input
                        type="checkbox"
                        name=format!("enabled_{n}")
                        checked=enabled.get_untracked()
                        prop:checked=move || enabled.get()
                        on:change=move |ev| enabled.set(event_target_checked(&ev))
                    />
                    " Enabled"
                </label>
                <label>
                    "Delivery "
                    <select
                        name=format!("mode_{n}")
                        on:change=move |ev| {
                            if let Some(m) = DeliveryMode::parse(&event_target_value(&ev)) {
                                mode.set(m);
                            }
                        }
                        inner_html=mode_options_html(mode.get_untracked())
                    ></select>
                </label>
                <button
                    type="submit"
                    name="intent"
                    value=format!("clear-{n}")
                    on:click=move |ev: MouseEvent| {
                        ev.prevent_default();
                        url.set(String::new());
                        if let Some(el) = input.get_untracked() {
                            el.set_value("");
                        }
                    }
                >
                    "Clear"
                </button>
                <button
                    type="submit"
                    name="intent"
                    value=format!("test-{n}")
                    disabled=move || sending.get()
                    on:click=move |ev: MouseEvent| {
                        ev.prevent_default();
                        test.set(None);
                        send.dispatch(url.get_untracked());
                    }
                >
                    {move || if sending.get() { "Sending…" } else { "Send test" }}
                </button>
            </div>
            <p class="preview">
                "Preview: "
                <code data-testid=format!("preview-{n}")>{preview}</code>
            </p>
            {move || test.get().map(|result| view! { <TestResult result /> })}
            {move || {
                health
                    .with(|all| all.iter().find(|h| h.link as usize == n).cloned())
                    .map(|h| view! { <LinkHealthLine health=h /> })
            }}
        </fieldset>
    }
}

/// The reply to "Send test": what was called and how it answered, or why nothing was called.
#[component]
fn TestResult(result: Result<CallOutcome, String>) -> impl IntoView {
    let (ok, called, answer, error, excerpt) = match result {
        Ok(outcome) => {
            let answer = match outcome.status {
                Some(status) => format!("Status {status} · {} ms", outcome.elapsed_ms),
                None => format!("No HTTP answer · {} ms", outcome.elapsed_ms),
            };
            (
                outcome.succeeded(),
                Some(outcome.url),
                Some(answer),
                outcome.error,
                Some(outcome.body_excerpt).filter(|b| !b.is_empty()),
            )
        }
        Err(message) => (false, None, None, Some(message), None),
    };
    view! {
        <div class=if ok { "test-result ok" } else { "test-result failed" } data-testid="test-result">
            {called.map(|url| view! { <p>"Called " <code>{url}</code></p> })}
            {answer.map(|answer| view! { <p>{answer}</p> })}
            {error.map(|e| view! { <p class="test-error">{e}</p> })}
            {excerpt.map(|body| view! { <pre class="body-excerpt">{body}</pre> })}
        </div>
    }
}

#[component]
fn LinkHealthLine(health: LinkHealthView) -> impl IntoView {
    view! {
        <p class="hint" data-testid=format!("health-{}", health.link)>
            {format!(
                "Last 24 hours: {} delivered · {} failed tries · {} given up",
                health.delivered, health.failed_tries, health.given_up
            )}
        </p>
        {health.warning.then(|| view! {
            <p class="test-error" role="alert">
                "This link has not succeeded for 24 hours while deliveries were due. Check the link and the tracker, then use Send test."
            </p>
        })}
    }
}
