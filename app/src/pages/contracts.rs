//! Settings → Explodely and the affiliate referral contract pages.

use crate::api::contracts::{
    contract_detail, contract_form_key, explodely_settings, list_contracts, ContractAttemptView,
    ContractView, CreateContract, PostedContractForm, SaveExplodelySettings,
};
use crate::components::form::{Banner, Field, FieldMessage};
use crate::components::load_error::LoadError;
use crate::domain::contract::{ContractInput, COMMENTS_MAX_CHARS, NAME_MAX_CHARS};
use crate::domain::states::NoticeKind;
use crate::model::error::ApiError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ExplodelySettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveExplodelySettings>::new();
    let settings = Resource::new(move || save.version().get(), |_| explodely_settings());
    let query = use_query_map();
    let saved = move || query.with(|q| q.get("saved").is_some());
    let error_for = move |field: &'static str| {
        Signal::derive(move || {
            save.value()
                .get()
                .and_then(Result::err)
                .and_then(|e| e.field_message(field))
        })
    };
    view! {
        <Title text="Explodely" />
        <h1>"Settings → Explodely"</h1>
        <p class="lead">"The account affdesk uses to create affiliate referral contracts through the Explodely API."</p>
        <Show when=saved>
            <Banner kind=NoticeKind::Success><p data-testid="explodely-saved">"Explodely settings saved."</p></Banner>
        </Show>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || settings.get().map(|result| match result {
                Ok(s) => {
                    let username = s.username.clone();
                    let placeholder = s.key_last4.clone().map(|l| format!("stored: ••••{l}; leave empty to keep it")).unwrap_or_default();
                    let key_hint = s.key_last4.clone().map(|l| format!("A key ending in {l} is stored, encrypted. Type a new one to replace it."))
                        .unwrap_or_else(|| "No key stored yet. It is stored encrypted and never shown again.".to_owned());
                    view! {
                        <ActionForm action=save attr:class="card stack">
                            <Field id="username" label="Explodely username" message=error_for("username")>
                                <input id="username" name="username" value=username autocomplete="off" required />
                            </Field>
                            <Field id="api_key" label="API key" help=key_hint help_testid="key-hint" message=error_for("api_key")>
                                <input id="api_key" name="api_key" type="password" autocomplete="new-password" placeholder=placeholder />
                            </Field>
                            <p class="hint">{format!("API endpoint: {} (AFFDESK_EXPLODELY_URL)", s.endpoint)}</p>
                            {s.updated.clone().map(|u| view! { <p class="hint">{format!("Last saved {u}.")}</p> })}
                            <button type="submit" class="primary">"Save"</button>
                        </ActionForm>
                    }.into_any()
                }
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn ContractsPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| list_contracts());
    view! {
        <Title text="Affiliate contracts" />
        <h1>"Affiliate contracts"</h1>
        <p class="lead">"Second-tier affiliate referral contracts created on Explodely from affdesk, newest first."</p>
        <p><a class="button-link" href="/affiliate/contracts/new">"New contract"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || overview.get().map(|result| match result {
                Ok(o) => view! {
                    {if o.contracts.is_empty() {
                        view! { <p class="hint">"No contracts created yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="data" data-testid="contracts">
                                <thead><tr><th>"Name"</th><th>"Partner"</th><th>"Product"</th><th>"Commission"</th><th>"Dates"</th><th>"Limits"</th><th>"Activate"</th><th>"Mutual termination"</th><th>"Explodely ID"</th><th>"Created"</th></tr></thead>
                                <tbody>
                                    {o.contracts.into_iter().map(|c| view! { <ContractRow c /> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }}
                    <h2>"Attempts that created nothing (30 days)"</h2>
                    {if o.failed.is_empty() {
                        view! { <p class="hint">"None."</p> }.into_any()
                    } else {
                        view! { <AttemptTable attempts=o.failed /> }.into_any()
                    }}
                }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

fn dates(c: &ContractView) -> String {
    format!(
        "{} – {}",
        c.start_date.clone().unwrap_or_else(|| "now".to_owned()),
        c.end_date
            .clone()
            .unwrap_or_else(|| "until terminated".to_owned())
    )
}

fn limits(c: &ContractView) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &c.max_earnings {
        parts.push(format!("earnings {e}"));
    }
    if let Some(s) = c.max_sales {
        parts.push(format!("{s} sales"));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

#[component]
fn ContractRow(c: ContractView) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/affiliate/contracts/{}", c.id)>{c.name.clone()}</a></td>
            <td>{c.partner_username.clone()}</td>
            <td>{c.product.clone()}</td>
            <td>{format!("{}%", c.commission)}</td>
            <td>{dates(&c)}</td>
            <td>{limits(&c)}</td>
            <td>{yes_no(c.activate)}</td>
            <td>{yes_no(c.mutual_termination)}</td>
            <td>{c.explodely_id.clone()}</td>
            <td>{format!("{} by {}", c.created_at, c.created_by)}</td>
        </tr>
    }
}

#[component]
fn AttemptTable(attempts: Vec<ContractAttemptView>) -> impl IntoView {
    view! {
        <table class="data attempts" data-testid="contract-attempts">
            <thead><tr><th>"When"</th><th>"Admin"</th><th>"Outcome"</th><th>"Request (without credentials)"</th><th>"Reply"</th></tr></thead>
            <tbody>
                {attempts.into_iter().map(|a| view! {
                    <tr>
                        <td>{a.at}</td>
                        <td>{a.admin}</td>
                        <td>{a.summary}</td>
                        <td><code>{a.request}</code></td>
                        <td><code>{a.reply}</code></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ContractDetailPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let created = move || query.with_untracked(|q| q.get("created").is_some());
    let detail = Resource::new(id, contract_detail);
    view! {
        <Title text="Affiliate contract" />
        <p><a href="/affiliate/contracts">"← All contracts"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || detail.get().map(|result| match result {
                Ok(Some((c, attempts))) => {
                    let notice = format!("Contract created on Explodely with ID {}.", c.explodely_id);
                    view! {
                    <h1>{c.name.clone()}</h1>
                    {created().then(|| view! {
                        <Banner kind=NoticeKind::Success><p data-testid="contract-created">{notice}</p></Banner>
                    })}
                    <table class="data fields">
                        <tbody>
                            <tr><th>"Explodely contract ID"</th><td data-testid="explodely-id">{c.explodely_id.clone()}</td></tr>
                            <tr><th>"Partner"</th><td>{c.partner_username.clone()}</td></tr>
                            <tr><th>"Product"</th><td>{c.product.clone()}</td></tr>
                            <tr><th>"Commission"</th><td>{format!("{}%", c.commission)}</td></tr>
                            <tr><th>"Dates"</th><td>{dates(&c)}</td></tr>
                            <tr><th>"Limits"</th><td>{limits(&c)}</td></tr>
                            <tr><th>"Comments"</th><td>{c.comments.clone().unwrap_or_default()}</td></tr>
                            <tr><th>"Activate immediately"</th><td>{yes_no(c.activate)}</td></tr>
                            <tr><th>"Mutual termination"</th><td>{yes_no(c.mutual_termination)}</td></tr>
                            <tr><th>"Created"</th><td>{format!("{} by {}", c.created_at, c.created_by)}</td></tr>
                        </tbody>
                    </table>
                    <h2>"Attempts"</h2>
                    <AttemptTable attempts />
                }.into_any()
                }
                Ok(None) => view! { <h1>"Contract not found"</h1> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn NewContractPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let posted = use_context::<PostedContractForm>();
    #[cfg(not(feature = "ssr"))]
    let posted: Option<PostedContractForm> = None;
    let start = Resource::new(
        || (),
        move |_| {
            let posted = posted.clone();
            async move {
                match posted {
                    Some(p) => Ok(p),
                    None => contract_form_key().await.map(|key| PostedContractForm {
                        input: ContractInput {
                            product_choice: "all".to_owned(),
                            mutual_termination: true,
                            ..ContractInput::default()
                        },
                        error: None,
                        key,
                    }),
                }
            }
        },
    );
    view! {
        <Title text="New affiliate contract" />
        <h1>"New affiliate contract"</h1>
        <p class="lead">"Creates a second-tier affiliate referral contract on Explodely (createaffcontract). A contract is created once: submitting twice does not create two."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || start.get().map(|result| match result {
                Ok(form) => view! { <ContractForm form /> }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// Every field of the contract form: a submit that finds errors marks them all as touched.
const CONTRACT_FIELDS: [&str; 9] = [
    "contract_name",
    "partner_username",
    "product_id",
    "commission",
    "start_date",
    "end_date",
    "max_earnings",
    "max_sales",
    "comments",
];

/// What the contract form's fields are bound to.
#[derive(Clone, Copy)]
struct ContractBinding {
    input: RwSignal<ContractInput>,
    /// Fields the admin has typed in since the page loaded: their live errors show.
    touched: RwSignal<Vec<&'static str>>,
    /// Each field's message: its live error once touched, else the server's.
    messages: Callback<&'static str, Signal<Option<String>>>,
}

impl ContractBinding {
    fn new(initial: ContractInput, server_error: Signal<Option<ApiError>>) -> Self {
        let input = RwSignal::new(initial);
        let touched = RwSignal::new(Vec::<&'static str>::new());
        let live = Memo::new(move |_| input.with(|i| i.validate().err().unwrap_or_default()));
        let messages = Callback::new(move |field: &'static str| {
            Signal::derive(move || {
                let live = touched
                    .with(|t| t.contains(&field))
                    .then(|| {
                        live.with(|l| {
                            l.iter()
                                .find(|e| e.field == field)
                                .map(|e| e.message.clone())
                        })
                    })
                    .flatten();
                live.or_else(|| server_error.get().and_then(|e| e.field_message(field)))
            })
        });
        Self {
            input,
            touched,
            messages,
        }
    }

    fn message(self, field: &'static str) -> Signal<Option<String>> {
        self.messages.run(field)
    }

    fn touch(self, field: &'static str) {
        self.touched.update(|t| {
            if !t.contains(&field) {
                t.push(field)
            }
        })
    }
}

/// Binds a text field to the form's input: an `on:input` handler.
macro_rules! text_field {
    ($bound:expr, $field:ident) => {{
        let bound: ContractBinding = $bound;
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            bound.input.update(|i| i.$field = value);
            bound.touch(stringify!($field));
        }
    }};
}

/// The server function's arguments for what the form holds.
fn create_request(
    i: ContractInput,
    idempotency_key: String,
    confirmed_not_created: bool,
) -> CreateContract {
    CreateContract {
        contract_name: i.contract_name,
        partner_username: i.partner_username,
        product_choice: i.product_choice,
        product_id: i.product_id,
        commission: i.commission,
        start_date: i.start_date,
        end_date: i.end_date,
        max_earnings: i.max_earnings,
        max_sales: i.max_sales,
        comments: i.comments,
        activate: i.activate.then(|| "on".to_owned()),
        mutual_termination: i.mutual_termination.then(|| "on".to_owned()),
        idempotency_key,
        confirmed_not_created: confirmed_not_created.then(|| "on".to_owned()),
    }
}

/// A failed submit used its key; the next submit is a new, deliberate attempt. Not after an
/// unknown outcome: the key stays, so submitting again cannot create a second contract until the
/// admin confirms that the first attempt created none.
fn renew_key_after_failure(create: ServerAction<CreateContract>, key: RwSignal<String>) {
    Effect::new(move |_| {
        if let Some(Err(error)) = create.value().get() {
            if matches!(error, ApiError::OutcomeUnknown { .. }) {
                return;
            }
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = contract_form_key().await {
                    key.set(fresh);
                }
            });
        }
    });
}

#[component]
fn ContractForm(form: PostedContractForm) -> impl IntoView {
    let PostedContractForm {
        input: initial,
        error: initial_error,
        key,
    } = form;
    let create = ServerAction::<CreateContract>::new();
    let key = RwSignal::new(key);
    let initial_error = StoredValue::new(initial_error);
    let server_error = Signal::derive(move || match create.value().get() {
        Some(result) => result.err(),
        None => initial_error.get_value(),
    });
    let bound = ContractBinding::new(initial.clone(), server_error);
    renew_key_after_failure(create, key);
    let confirmed = RwSignal::new(false);
    let pending = create.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let i = bound.input.get_untracked();
        if i.validate().is_err() {
            bound.touched.set(CONTRACT_FIELDS.to_vec());
            return;
        }
        create.dispatch(create_request(
            i,
            key.get_untracked(),
            confirmed.get_untracked(),
        ));
    };
    view! {
        <ContractError server_error />
        <form method="post" action="/affiliate/contracts/new" class="card stack contract-form" on:submit=on_submit novalidate>
            <input type="hidden" name="idempotency_key" prop:value=move || key.get() value=key.get_untracked() />
            <PartyFields initial=initial.clone() bound />
            <ProductChoice initial=initial.clone() bound />
            <TermsFields initial=initial.clone() bound />
            <CommentsAndOptions initial bound />
            <ConfirmNotCreated server_error confirmed />
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Creating on Explodely…" } else { "Create contract" }}
            </button>
        </form>
    }
}

/// A refusal that is not about one field (Explodely's, or the server's), above the form.
#[component]
fn ContractError(server_error: Signal<Option<ApiError>>) -> impl IntoView {
    let banner = move || {
        server_error
            .get()
            .filter(|e| !matches!(e, ApiError::Invalid(_)))
    };
    view! {
        {move || banner().map(|e| {
            let link = matches!(e, ApiError::Remote { settings_link: true, .. });
            view! {
                <Banner kind=NoticeKind::Error>
                    <p data-testid="contract-error">{e.to_string()}</p>
                    {link.then(|| view! { <p><a href="/settings/explodely">"Go to Settings → Explodely"</a></p> })}
                </Banner>
            }
        })}
    }
}

/// After an attempt whose outcome is unknown: the box the admin ticks once Explodely shows no
/// such contract, which lets the next submit call Explodely again.
#[component]
fn ConfirmNotCreated(
    server_error: Signal<Option<ApiError>>,
    confirmed: RwSignal<bool>,
) -> impl IntoView {
    let unknown = move || matches!(server_error.get(), Some(ApiError::OutcomeUnknown { .. }));
    // Each answer asks anew: a confirmation covers the attempt the admin checked, not the next.
    Effect::new(move |_| {
        server_error.track();
        confirmed.set(false);
    });
    view! {
        {move || unknown().then(|| view! {
            <label class="check confirm-not-created">
                <input type="checkbox" name="confirmed_not_created" data-testid="confirmed-not-created"
                    prop:checked=move || confirmed.get() on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                " I checked on Explodely: no contract was created by the attempt above. Send it again."
            </label>
        })}
    }
}

/// The contract's name and the partner it is with.
#[component]
fn PartyFields(initial: ContractInput, bound: ContractBinding) -> impl IntoView {
    let ContractInput {
        contract_name,
        partner_username,
        ..
    } = initial;
    view! {
        <Field id="contract_name" label="Contract name" help=format!("For your records; up to {NAME_MAX_CHARS} characters.") help_first=true message=bound.message("contract_name")>
            <input id="contract_name" name="contract_name" required value=contract_name on:input=text_field!(bound, contract_name) />
        </Field>

        <Field id="partner_username" label="Partner username" help="Explodely affiliate ID of the partner." help_first=true message=bound.message("partner_username")>
            <input id="partner_username" name="partner_username" required value=partner_username on:input=text_field!(bound, partner_username) />
        </Field>
    }
}

/// All products, or one by its Explodely product ID.
#[component]
fn ProductChoice(initial: ContractInput, bound: ContractBinding) -> impl IntoView {
    let by_id = initial.product_choice == "id";
    let input = bound.input;
    view! {
        <fieldset class="product">
            <legend>"Product"</legend>
            <label><input type="radio" name="product_choice" value="all" checked=!by_id on:change=move |_| input.update(|i| i.product_choice = "all".to_owned()) />" All products"</label>
            <label><input type="radio" name="product_choice" value="id" checked=by_id on:change=move |_| input.update(|i| i.product_choice = "id".to_owned()) />" One product, by Explodely product ID: "</label>
            <input id="product_id" name="product_id" aria-label="Explodely product ID" value=initial.product_id on:input=text_field!(bound, product_id) />
        </fieldset>
        <FieldMessage id="product_id-error" message=bound.message("product_id") />
    }
}

/// Commission, dates and limits.
#[component]
fn TermsFields(initial: ContractInput, bound: ContractBinding) -> impl IntoView {
    let ContractInput {
        commission,
        start_date,
        end_date,
        max_earnings,
        max_sales,
        ..
    } = initial;
    view! {
        <Field id="commission" label="Commission (%)" help="Up to 80: the percentage of your share the partner will get." help_first=true message=bound.message("commission")>
            <input id="commission" name="commission" inputmode="decimal" required value=commission on:input=text_field!(bound, commission) />
        </Field>

        <Field id="start_date" label="Start date" help="Optional; by default the contract starts right away." help_first=true message=bound.message("start_date")>
            <input id="start_date" name="start_date" type="date" value=start_date on:input=text_field!(bound, start_date) />
        </Field>

        <Field id="end_date" label="End date" help="Optional; by default the contract is active until terminated." help_first=true message=bound.message("end_date")>
            <input id="end_date" name="end_date" type="date" value=end_date on:input=text_field!(bound, end_date) />
        </Field>

        <Field id="max_earnings" label="Max earnings" help="Optional: value of contract sales after which the contract expires." help_first=true message=bound.message("max_earnings")>
            <input id="max_earnings" name="max_earnings" inputmode="decimal" value=max_earnings on:input=text_field!(bound, max_earnings) />
        </Field>

        <Field id="max_sales" label="Max sales" help="Optional: number of contract sales after which the contract expires." help_first=true message=bound.message("max_sales")>
            <input id="max_sales" name="max_sales" inputmode="numeric" value=max_sales on:input=text_field!(bound, max_sales) />
        </Field>
    }
}

/// Comments, and the two switches Explodely's contract has.
#[component]
fn CommentsAndOptions(initial: ContractInput, bound: ContractBinding) -> impl IntoView {
    let ContractInput {
        comments,
        activate,
        mutual_termination,
        ..
    } = initial;
    let input = bound.input;
    view! {
        <Field id="comments" label="Comments" help=format!("Optional, up to {COMMENTS_MAX_CHARS} characters; visible inside Explodely's seller contracts section.") help_first=true message=bound.message("comments")>
            <textarea id="comments" name="comments" rows="3" on:input=text_field!(bound, comments)>{comments}</textarea>
        </Field>

        <label class="check"><input type="checkbox" name="activate" checked=activate on:change=move |ev| input.update(|i| i.activate = event_target_checked(&ev)) />" Activate the contract immediately"</label>
        <label class="check"><input type="checkbox" name="mutual_termination" checked=mutual_termination on:change=move |ev| input.update(|i| i.mutual_termination = event_target_checked(&ev)) />" Mutual termination (the contract ends only after the partner approves too)"</label>
    }
}
