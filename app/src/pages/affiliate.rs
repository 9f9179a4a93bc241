//! Settings → Affiliate Program: H-Sphere's page rebuilt. One form: the switch, five links, the
//! parameter drop-down with Insert, Submit. With JavaScript the page validates and previews as
//! the admin types, inserts at the caret, and saves without reloading; without it every button
//! posts the form and the server answers with the page as posted (see `server::http::affiliate_form`).

use crate::api::affiliate::{
    affiliate_settings, save_affiliate_settings, send_test_link, HistoryEntry, PostedAffiliateForm,
};
use crate::api::signups::LinkHealthView;
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::affiliate::{
    insert_at_selection, mode_options_html, parameter_rows_html, target_options_html,
    token_options_html, AffiliateInput, DeliveryMode, SlotInput,
};
use crate::domain::call::CallOutcome;
use crate::domain::link_template::{LinkTemplate, SignupValues, Token, LINK_SLOTS};
use crate::domain::states::NoticeKind;
use crate::model::error::ApiError;
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
                        Err(error) => Either::Right(view! { <LoadError error /> }),
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
    /// Slot `n` (from 1) as loaded or posted, with the answer to its "Send test" if it has one.
    fn new(n: usize, loaded: &SlotInput, test_results: &[(usize, CallOutcome)]) -> Self {
        Self {
            n,
            url: RwSignal::new(loaded.url.clone()),
            enabled: RwSignal::new(loaded.enabled),
            mode: RwSignal::new(loaded.mode),
            input: NodeRef::new(),
            test: RwSignal::new(
                test_results
                    .iter()
                    .find(|(at, _)| *at == n)
                    .map(|(_, outcome)| Ok(outcome.clone())),
            ),
        }
    }

    fn snapshot(&self) -> SlotInput {
        SlotInput {
            url: self.url.get_untracked(),
            enabled: self.enabled.get_untracked(),
            mode: self.mode.get_untracked(),
        }
    }
}

/// The signals behind the whole form, handed to the pieces it is made of.
#[derive(Clone, Copy)]
struct FormState {
    program_enabled: RwSignal<bool>,
    version: RwSignal<i64>,
    history: RwSignal<Vec<HistoryEntry>>,
    health: RwSignal<Vec<LinkHealthView>>,
    token_choice: RwSignal<String>,
    target_choice: RwSignal<usize>,
    last_focused: RwSignal<Option<usize>>,
    notice: RwSignal<Option<(NoticeKind, String)>>,
    slots: StoredValue<Vec<Slot>>,
}

impl FormState {
    fn new(form: PostedAffiliateForm, saved: bool) -> Self {
        let PostedAffiliateForm {
            state,
            token,
            target,
            notice,
            test_results,
        } = form;
        let saved_notice = saved.then(|| (NoticeKind::Success, "Settings saved.".to_owned()));
        Self {
            program_enabled: RwSignal::new(state.input.program_enabled),
            version: RwSignal::new(state.version),
            history: RwSignal::new(state.history),
            health: RwSignal::new(state.health),
            token_choice: RwSignal::new(token),
            target_choice: RwSignal::new(target.clamp(1, LINK_SLOTS)),
            last_focused: RwSignal::new(None),
            notice: RwSignal::new(notice.or(saved_notice)),
            slots: StoredValue::new(
                state
                    .input
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Slot::new(i + 1, s, &test_results))
                    .collect(),
            ),
        }
    }

    /// Shows `text` in the banner above the form.
    fn tell(self, kind: NoticeKind, text: &str) {
        self.notice.set(Some((kind, text.to_owned())));
    }

    /// What the form holds, to save, when every link is valid; otherwise says so above the form.
    fn valid_input(self) -> Option<AffiliateInput> {
        let input = AffiliateInput {
            program_enabled: self.program_enabled.get_untracked(),
            slots: self
                .slots
                .with_value(|s| s.iter().map(Slot::snapshot).collect()),
        };
        if input.validate().is_err() {
            self.tell(
                NoticeKind::Error,
                "Nothing was saved: correct the links marked below.",
            );
            return None;
        }
        self.notice.set(None);
        Some(input)
    }

    /// Insert: the chosen parameter into the chosen link.
    fn insert_token(self) {
        let Some(token) = chosen_token(&self.token_choice.get_untracked()) else {
            return;
        };
        let n = self.target_choice.get_untracked();
        let Some(slot) = self.slots.with_value(|s| s.get(n - 1).copied()) else {
            return;
        };
        let placeholder = token.placeholder();
        let Some(el) = slot.input.get_untracked() else {
            slot.url.update(|u| u.push_str(&placeholder));
            return;
        };
        let value = el.value();
        let end_of_text = value.encode_utf16().count();
        // The caret of the field that last had focus; a field never focused gets the token at
        // its end, as H-Sphere's Insert did.
        let (start, end) = if self.last_focused.get_untracked() == Some(n) {
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
        self.last_focused.set(Some(n));
    }
}

/// The parameter a drop-down value names: `${amount}` (or a bare `amount`).
fn chosen_token(choice: &str) -> Option<Token> {
    Token::from_name(choice.trim_start_matches("${").trim_end_matches('}'))
}

fn describe_error(err: &ApiError, field: &str) -> String {
    err.field_message(field).unwrap_or_else(|| err.to_string())
}

#[component]
fn AffiliateForm(form: PostedAffiliateForm, saved: bool) -> impl IntoView {
    let form = FormState::new(form, saved);
    let save = Action::new(move |(input, version): &(AffiliateInput, i64)| {
        save_affiliate_settings(input.clone(), *version)
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(state)) => {
            form.version.set(state.version);
            form.history.set(state.history);
            form.health.set(state.health);
            form.tell(NoticeKind::Success, "Settings saved.");
        }
        Some(Err(err)) => form.tell(NoticeKind::Error, &describe_error(&err, "links")),
        None => {}
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if let Some(input) = form.valid_input() {
            save.dispatch((input, form.version.get_untracked()));
        }
    };
    let pending = save.pending();

    view! {
        <AffiliateNotice notice=form.notice />
        <form method="post" action="/settings/affiliate" class="affiliate" on:submit=on_submit novalidate>
            // Enter in a field submits with the form's first button: make that Submit, not Clear.
            <button type="submit" name="intent" value="save" class="visually-hidden" tabindex="-1" aria-hidden="true">
                "Submit"
            </button>
            <input type="hidden" name="version" value=move || form.version.get().to_string() />
            <ProgramSwitch enabled=form.program_enabled />
            <Inserter form />
            <p class="hint">
                "Write each link in H-Sphere's format, with parameters where the signup's values go, e.g. "
                <code>{EXAMPLE}</code>
                ". Values are percent-encoded; write $$ for a literal $."
            </p>

            {form
                .slots
                .get_value()
                .into_iter()
                .map(|slot| view! { <SlotEditor link=slot form /> })
                .collect_view()}

            <button type="submit" name="intent" value="save" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Saving…" } else { "Submit" }}
            </button>
        </form>
        <ParameterTable />
        <ChangeHistory history=form.history />
    }
}

/// The banner above the form: saved, refused, or what a plain form post came to.
#[component]
fn AffiliateNotice(notice: RwSignal<Option<(NoticeKind, String)>>) -> impl IntoView {
    view! {
        {move || {
            notice
                .get()
                .map(|(kind, text)| {
                    view! {
                        <Banner kind=kind>
                            <p data-testid="affiliate-notice">{text}</p>
                        </Banner>
                    }
                })
        }}
    }
}

#[component]
fn ProgramSwitch(enabled: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="card program-switch">
            <label class="switch">
                <input
                    type="checkbox"
                    name="program_enabled"
                    checked=enabled.get_untracked()
                    prop:checked=move || enabled.get()
                    on:change=move |ev| enabled.set(event_target_checked(&ev))
                />
                " Use affiliate program"
            </label>
            <p class="hint">
                {move || {
                    if enabled.get() {
                        "On: after each eligible signup every link below fires."
                    } else {
                        "Off: no link fires for new signups. The links below stay saved either way."
                    }
                }}
            </p>
        </div>
    }
}

/// "Parameter … into … Insert": puts a parameter into a link, at the caret.
#[component]
fn Inserter(form: FormState) -> impl IntoView {
    let FormState {
        token_choice,
        target_choice,
        ..
    } = form;
    let on_insert = move |ev: MouseEvent| {
        ev.prevent_default();
        form.insert_token();
    };
    let token_description = move || {
        chosen_token(&token_choice.get())
            .map(Token::description)
            .unwrap_or_default()
    };

    view! {
        <div class="card inserter">
            <Field id="token" label="Parameter">
                <select
                    id="token"
                    name="token"
                    on:change=move |ev| token_choice.set(event_target_value(&ev))
                    inner_html=token_options_html(&token_choice.get_untracked())
                ></select>
            </Field>
            <Field id="target" label="into">
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
            </Field>
            <button type="submit" name="intent" value="insert" on:click=on_insert>
                "Insert"
            </button>
            <p class="hint" data-testid="token-description">{token_description}</p>
        </div>
    }
}

#[component]
fn ParameterTable() -> impl IntoView {
    view! {
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
    }
}

#[component]
fn ChangeHistory(history: RwSignal<Vec<HistoryEntry>>) -> impl IntoView {
    view! {
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
fn SlotEditor(link: Slot, form: FormState) -> impl IntoView {
    let Slot { n, url, test, .. } = link;
    let health = form.health;
    let parsed = Memo::new(move |_| LinkTemplate::parse_slot(&url.get()));
    let error = Signal::derive(move || parsed.get().err().map(|e| e.to_string()));
    let preview = move || match parsed.get() {
        Ok(Some(template)) => template.render(&SignupValues::sample()),
        Ok(None) => "(empty: this link fires nothing)".to_owned(),
        Err(_) => "(no preview until the link is corrected)".to_owned(),
    };

    view! {
        <fieldset class="card slot" id=format!("slot-{n}")>
            <legend>{format!("Link {n}")}</legend>
            <SlotUrl link form error />
            <SlotOptions link />
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

/// A slot's link: its (visually hidden) label, the field, and the link's error as it is typed.
#[component]
fn SlotUrl(link: Slot, form: FormState, error: Signal<Option<String>>) -> impl IntoView {
    let Slot { n, url, input, .. } = link;
    let FormState {
        target_choice,
        last_focused,
        ..
    } = form;

    // The error line is the slot's own, not a `FieldMessage`: it has no `aria-live="polite"`.
    view! {
        <Field id=format!("link-{n}") label=format!("Link {n} URL") label_class="visually-hidden">
            <input
                type="text"
                id=format!("link-{n}")
                name=format!("url_{n}")
                class="link-url"
                value=url.get_untracked()
                prop:value=move || url.get()
                node_ref=input
                spellcheck="false"
                autocomplete="off"
                placeholder="https://tracker.example/sale?aid=${account_id}"
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=format!("link-{n}-error")
                on:input=move |ev| url.set(event_target_value(&ev))
                on:focus=move |_| {
                    last_focused.set(Some(n));
                    target_choice.set(n);
                }
            />
        </Field>
        <p class="field-error" id=format!("link-{n}-error") role="alert">
            {move || error.get()}
        </p>
    }
}

/// Enabled, Delivery, Clear and Send test.
#[component]
fn SlotOptions(link: Slot) -> impl IntoView {
    let Slot {
        n,
        url,
        enabled,
        mode,
        input,
        ..
    } = link;

    view! {
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
            <SendTestButton link />
        </div>
    }
}

/// "Send test": calls the link with sample values; the answer shows under the slot.
#[component]
fn SendTestButton(link: Slot) -> impl IntoView {
    let Slot { n, url, test, .. } = link;
    let send = Action::new(move |url: &String| send_test_link(url.clone()));
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            test.set(Some(result.map_err(|e| describe_error(&e, "url"))));
        }
    });
    let sending = send.pending();

    view! {
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
