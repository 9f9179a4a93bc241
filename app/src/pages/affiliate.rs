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
    insert_at_selection, mode_options_html, parameter_rows_html, plan_rule_options_html,
    target_field, target_of, target_options_html, token_options_html, type_rule_options_html,
    AffiliateInput, DeliveryMode, SlotField, SlotInput,
};
use crate::domain::call::CallOutcome;
use crate::domain::conditions::{ConditionsInput, PlanRule, TypeRule};
use crate::domain::link_template::{LinkKind, LinkTemplate, SignupValues, Token, LINK_SLOTS};
use crate::domain::states::NoticeKind;
use crate::domain::success::ReplyRules;
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
                        opened: Vec::new(),
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

/// The signals behind one of a slot's two links (the signup link or the reversal link).
#[derive(Clone, Copy)]
struct LinkField {
    kind: LinkKind,
    url: RwSignal<String>,
    input: NodeRef<html::Input>,
    test: RwSignal<Option<Result<CallOutcome, String>>>,
}

impl LinkField {
    fn new(n: usize, kind: LinkKind, url: &str, test_results: &[(usize, CallOutcome)]) -> Self {
        let target = target_of(n, kind);
        Self {
            kind,
            url: RwSignal::new(url.to_owned()),
            input: NodeRef::new(),
            test: RwSignal::new(
                test_results
                    .iter()
                    .find(|(at, _)| *at == target)
                    .map(|(_, outcome)| Ok(outcome.clone())),
            ),
        }
    }
}

/// The signals behind one link slot.
#[derive(Clone, Copy)]
struct Slot {
    n: usize,
    link: LinkField,
    reversal: LinkField,
    enabled: RwSignal<bool>,
    mode: RwSignal<DeliveryMode>,
    rules: RwSignal<ReplyRules>,
    conditions: RwSignal<ConditionsInput>,
    /// Its reversal link, reply rules and conditions are shown (and built).
    opened: RwSignal<bool>,
}

impl Slot {
    /// Slot `n` (from 1) as loaded or posted, with the answers to its "Send test"s if it has them.
    fn new(
        n: usize,
        loaded: &SlotInput,
        test_results: &[(usize, CallOutcome)],
        opened: bool,
    ) -> Self {
        Self {
            n,
            link: LinkField::new(n, LinkKind::Signup, &loaded.url, test_results),
            reversal: LinkField::new(n, LinkKind::Reversal, &loaded.reversal_url, test_results),
            enabled: RwSignal::new(loaded.enabled),
            mode: RwSignal::new(loaded.mode),
            rules: RwSignal::new(loaded.rules.clone()),
            conditions: RwSignal::new(loaded.conditions.clone()),
            opened: RwSignal::new(opened),
        }
    }

    fn field(&self, kind: LinkKind) -> LinkField {
        match kind {
            LinkKind::Signup => self.link,
            LinkKind::Reversal => self.reversal,
        }
    }

    fn snapshot(&self) -> SlotInput {
        SlotInput {
            url: self.link.url.get_untracked(),
            enabled: self.enabled.get_untracked(),
            mode: self.mode.get_untracked(),
            reversal_url: self.reversal.url.get_untracked(),
            rules: self.rules.get_untracked(),
            conditions: self.conditions.get_untracked(),
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
            opened,
        } = form;
        let saved_notice = saved.then(|| (NoticeKind::Success, "Settings saved.".to_owned()));
        Self {
            program_enabled: RwSignal::new(state.input.program_enabled),
            version: RwSignal::new(state.version),
            history: RwSignal::new(state.history),
            health: RwSignal::new(state.health),
            token_choice: RwSignal::new(token),
            target_choice: RwSignal::new(target.clamp(1, 2 * LINK_SLOTS)),
            last_focused: RwSignal::new(None),
            notice: RwSignal::new(notice.or(saved_notice)),
            slots: StoredValue::new(
                state
                    .input
                    .slots
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Slot::new(i + 1, s, &test_results, opened.contains(&(i + 1))))
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
                "Nothing was saved: correct the fields marked below.",
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
        let target = self.target_choice.get_untracked();
        let Some((n, kind)) = target_field(target) else {
            return;
        };
        if !kind.allows(token) {
            self.tell(
                NoticeKind::Error,
                &format!(
                    "{} is a reversal's value: choose Link {n} reversal under \"into\".",
                    token.placeholder()
                ),
            );
            return;
        }
        let Some(slot) = self.slots.with_value(|s| s.get(n - 1).copied()) else {
            return;
        };
        if kind == LinkKind::Reversal {
            // A reversal link is edited in its link's section: show it (its field is built then).
            slot.opened.set(true);
        }
        let field = slot.field(kind);
        let placeholder = token.placeholder();
        let Some(el) = field.input.get_untracked() else {
            field.url.update(|u| u.push_str(&placeholder));
            return;
        };
        let value = el.value();
        let end_of_text = value.encode_utf16().count();
        // The caret of the field that last had focus; a field never focused gets the token at
        // its end, as H-Sphere's Insert did.
        let (start, end) = if self.last_focused.get_untracked() == Some(target) {
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
        field.url.set(updated);
        let _ = el.focus();
        let _ = el.set_selection_range(caret as u32, caret as u32);
        self.last_focused.set(Some(target));
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
        <ReversalHelp />
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
                            target_choice.set(n.clamp(1, 2 * LINK_SLOTS));
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

/// How reversals reach the trackers, with examples: written once, never changes.
#[component]
fn ReversalHelp() -> impl IntoView {
    view! {
        <details class="card parameters" data-testid="reversal-help">
            <summary>"Refunds and chargebacks: reversal links and reply rules"</summary>
            <p>
                "Your billing system reports a refund, chargeback or cancellation to "
                <code>"POST /api/v1/signups/{order_id}/reversals"</code>
                " (see Settings → Connect signups). For each link whose tracker heard of the signup, affdesk calls the link's reversal link; a signup call that has not reached its tracker yet is cancelled instead. A link without a reversal link is marked on the signup's page: its tracker was not told."
            </p>
            <pre tabindex="0" class="example"><code>{REVERSAL_CURL}</code></pre>
            <p>"Everflow reverses a conversion by its transaction id (the click id you report):"</p>
            <pre tabindex="0" class="example"><code>{EVERFLOW_EXAMPLE}</code></pre>
            <p>
                "TUNE (HasOffers) answers 200 even when it refuses a conversion ("
                <code>"success=false; err_msg=…"</code>
                "): give its link the reply rule “contains " <code>"success=true"</code> "”, so a refusal is shown as one instead of counted as delivered:"
            </p>
            <pre tabindex="0" class="example"><code>{TUNE_EXAMPLE}</code></pre>
        </details>
    }
}

const REVERSAL_CURL: &str = "curl -sS https://affdesk.example.com/api/v1/signups/A-1001/reversals \\\n  -H 'Authorization: Bearer YOUR_TOKEN' -H 'Content-Type: application/json' \\\n  -d '{\"reason\":\"refund\",\"amount\":\"9.95\"}'";
const EVERFLOW_EXAMPLE: &str =
    "https://tracking.example.com/reversal?transaction_id=${click_id}&amount=${reversal_amount}";
const TUNE_EXAMPLE: &str =
    "https://demo.go2cloud.org/aff_lsr?transaction_id=${click_id}&amount=${amount}&adv_sub=${order_id}";

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
    let n = link.n;
    let health = form.health;
    let test = link.link.test;

    view! {
        <fieldset class="card slot" id=format!("slot-{n}")>
            <legend>{format!("Link {n}")}</legend>
            <LinkEditor n field=link.link form />
            <SlotOptions link />
            {move || test.get().map(|result| view! { <TestResult result /> })}
            {move || {
                health
                    .with(|all| all.iter().find(|h| h.link as usize == n).cloned())
                    .map(|h| view! { <LinkHealthLine health=h /> })
            }}
            <SlotMore link form />
        </fieldset>
    }
}

/// The names one of slot `n`'s two link fields goes by.
struct FieldNames {
    id: String,
    name: String,
    label: String,
    label_class: Option<&'static str>,
    preview_id: String,
    placeholder: &'static str,
}

impl FieldNames {
    fn of(n: usize, kind: LinkKind) -> Self {
        match kind {
            LinkKind::Signup => Self {
                id: format!("link-{n}"),
                name: format!("url_{n}"),
                label: format!("Link {n} URL"),
                label_class: Some("visually-hidden"),
                preview_id: format!("preview-{n}"),
                placeholder: "https://tracker.example/sale?aid=${account_id}",
            },
            LinkKind::Reversal => Self {
                id: format!("reversal-{n}"),
                name: format!("reversal_url_{n}"),
                label: format!("Reversal link (called when a signup Link {n} fired for is refunded, charged back or cancelled)"),
                label_class: None,
                preview_id: format!("reversal-preview-{n}"),
                placeholder: "https://tracker.example/reversal?transaction_id=${order_id}",
            },
        }
    }
}

/// One of a slot's links: its label, the field, its error as it is typed, and its preview for
/// the sample signup.
#[component]
fn LinkEditor(n: usize, field: LinkField, form: FormState) -> impl IntoView {
    let LinkField {
        kind, url, input, ..
    } = field;
    let FormState {
        target_choice,
        last_focused,
        ..
    } = form;
    let target = target_of(n, kind);
    let parsed = Memo::new(move |_| LinkTemplate::parse_slot_as(&url.get(), kind));
    let error = move || parsed.get().err().map(|e| e.to_string());
    let preview = move || match parsed.get() {
        Ok(Some(template)) => template.render(&SignupValues::sample()),
        Ok(None) => "(empty: this link fires nothing)".to_owned(),
        Err(_) => "(no preview until the link is corrected)".to_owned(),
    };
    let FieldNames {
        id,
        name,
        label,
        label_class,
        preview_id,
        placeholder,
    } = FieldNames::of(n, kind);
    let error_id = format!("{id}-error");
    let described_by = error_id.clone();

    // The error line is the field's own, not a `FieldMessage`: it has no `aria-live="polite"`.
    view! {
        <Field id=id.clone() label=label label_class=label_class.unwrap_or("")>
            <input
                type="text"
                id=id
                name=name
                class="link-url"
                value=url.get_untracked()
                prop:value=move || url.get()
                node_ref=input
                spellcheck="false"
                autocomplete="off"
                placeholder=placeholder
                aria-invalid=move || error().is_some().to_string()
                aria-describedby=described_by
                on:input=move |ev| url.set(event_target_value(&ev))
                on:focus=move |_| {
                    last_focused.set(Some(target));
                    target_choice.set(target);
                }
            />
        </Field>
        <p class="field-error" id=error_id role="alert">
            {error}
        </p>
        <p class="preview">
            "Preview: "
            <code data-testid=preview_id>{preview}</code>
        </p>
    }
}

/// Enabled, Delivery, Clear and Send test.
#[component]
fn SlotOptions(link: Slot) -> impl IntoView {
    let Slot {
        n, enabled, mode, ..
    } = link;
    let LinkField { url, input, .. } = link.link;

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
            <SendTestButton link field=link.link />
        </div>
    }
}

/// "Send test": calls the link with sample values and judges the answer by the slot's reply
/// rules; the answer shows under the link.
#[component]
fn SendTestButton(link: Slot, field: LinkField) -> impl IntoView {
    let n = link.n;
    let rules = link.rules;
    let LinkField {
        kind, url, test, ..
    } = field;
    let send = Action::new(move |(url, rules): &(String, ReplyRules)| {
        send_test_link(url.clone(), kind, rules.clone())
    });
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            let field = match kind {
                LinkKind::Signup => "url",
                LinkKind::Reversal => "reversal_url",
            };
            test.set(Some(result.map_err(|e| describe_error(&e, field))));
        }
    });
    let sending = send.pending();
    let (value, label) = match kind {
        LinkKind::Signup => (format!("test-{n}"), "Send test"),
        LinkKind::Reversal => (
            format!("test-reversal-{n}"),
            "Send test of the reversal link",
        ),
    };

    view! {
        <button
            type="submit"
            name="intent"
            value=value
            disabled=move || sending.get()
            on:click=move |ev: MouseEvent| {
                ev.prevent_default();
                test.set(None);
                send.dispatch((url.get_untracked(), rules.get_untracked()));
            }
        >
            {move || if sending.get() { "Sending…" } else { label }}
        </button>
    }
}

/// The slot's reversal link, reply rules and conditions, folded away in a `<details>`. Its
/// fields are built only once it is opened: with JavaScript when the admin opens it, without
/// JavaScript by its "Show these settings" button (the page comes back with it open). Until
/// then hidden fields carry its values, so a save keeps them.
#[component]
fn SlotMore(link: Slot, form: FormState) -> impl IntoView {
    let Slot { n, opened, .. } = link;
    let details = NodeRef::<html::Details>::new();
    view! {
        <details
            class="slot-more"
            data-testid=format!("more-{n}")
            open=opened.get_untracked()
            node_ref=details
            on:toggle=move |_| {
                if let Some(el) = details.get_untracked() {
                    if el.open() {
                        opened.set(true);
                    }
                }
            }
        >
            <summary>"Reversal link, reply rules and conditions"</summary>
            {move || {
                if opened.get() {
                    Either::Left(view! { <SlotMoreFields link form /> })
                } else {
                    Either::Right(view! { <SlotMoreKept link /> })
                }
            }}
        </details>
    }
}

/// A folded section's values as hidden fields, and the button that shows them without
/// JavaScript.
#[component]
fn SlotMoreKept(link: Slot) -> impl IntoView {
    let Slot {
        n,
        reversal,
        rules,
        conditions,
        ..
    } = link;
    let (rules, conditions) = (rules.get_untracked(), conditions.get_untracked());
    let kept = [
        ("reversal_url", reversal.url.get_untracked()),
        ("contains", rules.contains),
        ("not_contains", rules.not_contains),
        ("plan_rule", conditions.plan_rule.as_str().to_owned()),
        ("plans", conditions.plans),
        ("min_amount", conditions.min_amount),
        ("types", conditions.types.as_str().to_owned()),
    ];
    view! {
        {kept
            .into_iter()
            .map(|(name, value)| view! { <input type="hidden" name=format!("{name}_{n}") value=value /> })
            .collect_view()}
        <button type="submit" name="intent" value=format!("more-{n}")>"Show these settings"</button>
    }
}

/// A shown section's fields.
#[component]
fn SlotMoreFields(link: Slot, form: FormState) -> impl IntoView {
    let Slot {
        n, mode, reversal, ..
    } = link;
    let test = reversal.test;
    let pixel_note = move || {
        (mode.get() == DeliveryMode::BrowserPixel).then(|| {
            view! {
                <p class="hint" data-testid=format!("pixel-reversal-{n}")>
                    "This link fires as a browser pixel; its reversal can only be sent server-to-server, so the reversal link is called by affdesk itself."
                </p>
            }
        })
    };
    view! {
        <input type="hidden" name=format!("opened_{n}") value="1" />
        <LinkEditor n field=reversal form />
        {pixel_note}
        <div class="slot-options">
            <SendTestButton link field=reversal />
        </div>
        {move || test.get().map(|result| view! { <TestResult result /> })}
        <ReplyRulesEditor link />
        <ConditionsEditor link />
    }
}

/// The message of one of slot `n`'s fields, from the same checks the save makes.
fn slot_problem(link: Slot, field: SlotField) -> Signal<Option<String>> {
    Signal::derive(move || {
        let slot = SlotInput {
            rules: link.rules.get(),
            conditions: link.conditions.get(),
            ..SlotInput::default()
        };
        slot.problem(field).map(|m| format!("{m}."))
    })
}

/// "Delivered means": texts the tracker's reply must and must not contain.
#[component]
fn ReplyRulesEditor(link: Slot) -> impl IntoView {
    let Slot { n, rules, .. } = link;
    let text_field = move |field: SlotField,
                           name: &'static str,
                           label: &'static str,
                           get: fn(&ReplyRules) -> &String,
                           set: fn(&mut ReplyRules, String)| {
        let id = format!("{}-{n}", field.id());
        view! {
            <Field id=id.clone() label=label message=slot_problem(link, field)>
                <input
                    type="text"
                    id=id.clone()
                    name=format!("{name}_{n}")
                    value=rules.with_untracked(|r| get(r).clone())
                    spellcheck="false"
                    autocomplete="off"
                    aria-describedby=format!("{id}-error")
                    on:input=move |ev| rules.update(|r| set(r, event_target_value(&ev)))
                />
            </Field>
        }
    };
    view! {
        <fieldset class="rules">
            <legend>"Delivered means: status 2xx, and the reply…"</legend>
            {text_field(SlotField::Contains, "contains", "contains (e.g. success=true)", |r| &r.contains, |r, v| r.contains = v)}
            {text_field(SlotField::NotContains, "not_contains", "does not contain (e.g. success=false)", |r| &r.not_contains, |r, v| r.not_contains = v)}
            <p class="hint">
                "A reply that breaks a rule is a refusal by the tracker: not retried, shown with the first 200 characters of the reply. A redirect (3xx) is never followed and counts as a failure."
            </p>
        </fieldset>
    }
}

/// Which counted signups the link fires for.
#[component]
fn ConditionsEditor(link: Slot) -> impl IntoView {
    let now = link.conditions.get_untracked();
    view! {
        <fieldset class="conditions">
            <legend>"Fire only for"</legend>
            {condition_select(link, "plan-rule", "plans", plan_rule_options_html(now.plan_rule), |c, v| {
                c.plan_rule = PlanRule::parse(v).unwrap_or_default();
            })}
            {condition_text(link, SlotField::Plans, ("plans", "text"), "Plan ids (separated by commas)", now.plans, |c, v| c.plans = v)}
            {condition_text(link, SlotField::MinAmount, ("min_amount", "decimal"), "Amount at least (before tax; empty for any)", now.min_amount, |c, v| c.min_amount = v)}
            {condition_select(link, "types", "signup types", type_rule_options_html(now.types), |c, v| {
                c.types = TypeRule::parse(v).unwrap_or_default();
            })}
        </fieldset>
    }
}

/// A drop-down of a link's conditions, posted as `{name}_{n}` (`name` is `id` with `_`).
fn condition_select(
    link: Slot,
    id: &'static str,
    label: &'static str,
    options: String,
    set: fn(&mut ConditionsInput, &str),
) -> impl IntoView {
    let Slot { n, conditions, .. } = link;
    let label = format!("{}{}", label[..1].to_uppercase(), &label[1..]);
    view! {
        <Field id=format!("{id}-{n}") label=label>
            <select
                id=format!("{id}-{n}")
                name=format!("{}_{n}", id.replace('-', "_"))
                on:change=move |ev| conditions.update(|c| set(c, &event_target_value(&ev)))
                inner_html=options
            ></select>
        </Field>
    }
}

/// A text field of a link's conditions, with its message from the save's own checks. `name`
/// is (posted name, input mode).
fn condition_text(
    link: Slot,
    field: SlotField,
    (name, mode): (&'static str, &'static str),
    label: &'static str,
    value: String,
    set: fn(&mut ConditionsInput, String),
) -> impl IntoView {
    let Slot { n, conditions, .. } = link;
    let id = format!("{}-{n}", field.id());
    view! {
        <Field id=id.clone() label=label message=slot_problem(link, field)>
            <input
                type="text"
                inputmode=mode
                id=id.clone()
                name=format!("{name}_{n}")
                value=value
                autocomplete="off"
                aria-describedby=format!("{id}-error")
                on:input=move |ev| conditions.update(|c| set(c, event_target_value(&ev)))
            />
        </Field>
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
