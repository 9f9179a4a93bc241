//! Settings → Explodely and the affiliate referral contract pages.

use crate::api::contracts::{
    contract_detail, contract_form_key, explodely_settings, list_contracts, ContractAttemptView,
    ContractView, CreateContract, PostedContractForm, SaveExplodelySettings,
};
use crate::api::error::ApiError;
use crate::components::form::{Banner, FieldMessage};
use crate::domain::contract::{ContractInput, COMMENTS_MAX_CHARS, NAME_MAX_CHARS};
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
            <Banner kind="success"><p data-testid="explodely-saved">"Explodely settings saved."</p></Banner>
        </Show>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || settings.get().map(|result| match result {
                Ok(s) => view! {
                    <ActionForm action=save attr:class="card stack">
                        <label for="username">"Explodely username"</label>
                        <input id="username" name="username" value=s.username.clone() autocomplete="off" required />
                        <FieldMessage id="username-error" message=error_for("username") />
                        <label for="api_key">"API key"</label>
                        <input
                            id="api_key"
                            name="api_key"
                            type="password"
                            autocomplete="new-password"
                            placeholder=s.key_last4.clone().map(|l| format!("stored: ••••{l}; leave empty to keep it")).unwrap_or_default()
                        />
                        <p class="hint" data-testid="key-hint">
                            {s.key_last4.clone().map(|l| format!("A key ending in {l} is stored, encrypted. Type a new one to replace it."))
                                .unwrap_or_else(|| "No key stored yet. It is stored encrypted and never shown again.".to_owned())}
                        </p>
                        <FieldMessage id="api_key-error" message=error_for("api_key") />
                        <p class="hint">{format!("API endpoint: {} (AFFDESK_EXPLODELY_URL)", s.endpoint)}</p>
                        {s.updated.clone().map(|u| view! { <p class="hint">{format!("Last saved {u}.")}</p> })}
                        <button type="submit" class="primary">"Save"</button>
                    </ActionForm>
                }.into_any(),
                Err(err) => view! { <Banner kind="error"><p>{err.to_string()}</p></Banner> }.into_any(),
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
                Err(err) => view! { <Banner kind="error"><p>{err.to_string()}</p></Banner> }.into_any(),
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
                        <Banner kind="success"><p data-testid="contract-created">{notice}</p></Banner>
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
                Err(err) => view! { <Banner kind="error"><p>{err.to_string()}</p></Banner> }.into_any(),
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
                Err(err) => view! { <Banner kind="error"><p>{err.to_string()}</p></Banner> }.into_any(),
            })}
        </Suspense>
    }
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
    let input = RwSignal::new(initial.clone());
    // Fields the admin has typed in since the page loaded: their live errors show.
    let touched = RwSignal::new(Vec::<&'static str>::new());
    let touch = move |field: &'static str| {
        touched.update(|t| {
            if !t.contains(&field) {
                t.push(field)
            }
        })
    };
    let live = Memo::new(move |_| input.with(|i| i.validate().err().unwrap_or_default()));
    let initial_error = StoredValue::new(initial_error);
    let server_error = Signal::derive(move || match create.value().get() {
        Some(result) => result.err(),
        None => initial_error.get_value(),
    });
    // A failed submit used its key; the next submit is a new, deliberate attempt.
    Effect::new(move |_| {
        if let Some(Err(_)) = create.value().get() {
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = contract_form_key().await {
                    key.set(fresh);
                }
            });
        }
    });
    let message_for = move |field: &'static str| {
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
    };
    let banner = move || {
        server_error
            .get()
            .filter(|e| !matches!(e, ApiError::Invalid(_)))
    };
    let pending = create.pending();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let i = input.get_untracked();
        if i.validate().is_err() {
            touched.set(vec![
                "contract_name",
                "partner_username",
                "product_id",
                "commission",
                "start_date",
                "end_date",
                "max_earnings",
                "max_sales",
                "comments",
            ]);
            return;
        }
        create.dispatch(CreateContract {
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
            idempotency_key: key.get_untracked(),
        });
    };
    // Binds a text field to the input signal.
    macro_rules! text_field {
        ($field:ident) => {
            move |ev| {
                let value = event_target_value(&ev);
                input.update(|i| i.$field = value);
                touch(stringify!($field));
            }
        };
    }
    let by_id = initial.product_choice == "id";
    view! {
        {move || banner().map(|e| {
            let link = matches!(e, ApiError::Remote { settings_link: true, .. });
            view! {
                <Banner kind="error">
                    <p data-testid="contract-error">{e.to_string()}</p>
                    {link.then(|| view! { <p><a href="/settings/explodely">"Go to Settings → Explodely"</a></p> })}
                </Banner>
            }
        })}
        <form method="post" action="/affiliate/contracts/new" class="card stack contract-form" on:submit=on_submit novalidate>
            <input type="hidden" name="idempotency_key" prop:value=move || key.get() value=key.get_untracked() />
            <label for="contract_name">"Contract name"</label>
            <p class="hint">{format!("For your records; up to {NAME_MAX_CHARS} characters.")}</p>
            <input id="contract_name" name="contract_name" required value=initial.contract_name.clone() on:input=text_field!(contract_name) />
            <FieldMessage id="contract_name-error" message=message_for("contract_name") />

            <label for="partner_username">"Partner username"</label>
            <p class="hint">"Explodely affiliate ID of the partner."</p>
            <input id="partner_username" name="partner_username" required value=initial.partner_username.clone() on:input=text_field!(partner_username) />
            <FieldMessage id="partner_username-error" message=message_for("partner_username") />

            <fieldset class="product">
                <legend>"Product"</legend>
                <label><input type="radio" name="product_choice" value="all" checked=!by_id on:change=move |_| input.update(|i| i.product_choice = "all".to_owned()) />" All products"</label>
                <label><input type="radio" name="product_choice" value="id" checked=by_id on:change=move |_| input.update(|i| i.product_choice = "id".to_owned()) />" One product, by Explodely product ID: "</label>
                <input id="product_id" name="product_id" aria-label="Explodely product ID" value=initial.product_id.clone() on:input=text_field!(product_id) />
            </fieldset>
            <FieldMessage id="product_id-error" message=message_for("product_id") />

            <label for="commission">"Commission (%)"</label>
            <p class="hint">"Up to 80: the percentage of your share the partner will get."</p>
            <input id="commission" name="commission" inputmode="decimal" required value=initial.commission.clone() on:input=text_field!(commission) />
            <FieldMessage id="commission-error" message=message_for("commission") />

            <label for="start_date">"Start date"</label>
            <p class="hint">"Optional; by default the contract starts right away."</p>
            <input id="start_date" name="start_date" type="date" value=initial.start_date.clone() on:input=text_field!(start_date) />
            <FieldMessage id="start_date-error" message=message_for("start_date") />

            <label for="end_date">"End date"</label>
            <p class="hint">"Optional; by default the contract is active until terminated."</p>
            <input id="end_date" name="end_date" type="date" value=initial.end_date.clone() on:input=text_field!(end_date) />
            <FieldMessage id="end_date-error" message=message_for("end_date") />

            <label for="max_earnings">"Max earnings"</label>
            <p class="hint">"Optional: value of contract sales after which the contract expires."</p>
            <input id="max_earnings" name="max_earnings" inputmode="decimal" value=initial.max_earnings.clone() on:input=text_field!(max_earnings) />
            <FieldMessage id="max_earnings-error" message=message_for("max_earnings") />

            <label for="max_sales">"Max sales"</label>
            <p class="hint">"Optional: number of contract sales after which the contract expires."</p>
            <input id="max_sales" name="max_sales" inputmode="numeric" value=initial.max_sales.clone() on:input=text_field!(max_sales) />
            <FieldMessage id="max_sales-error" message=message_for("max_sales") />

            <label for="comments">"Comments"</label>
            <p class="hint">{format!("Optional, up to {COMMENTS_MAX_CHARS} characters; visible inside Explodely's seller contracts section.")}</p>
            <textarea id="comments" name="comments" rows="3" on:input=text_field!(comments)>{initial.comments.clone()}</textarea>
            <FieldMessage id="comments-error" message=message_for("comments") />

            <label class="check"><input type="checkbox" name="activate" checked=initial.activate on:change=move |ev| input.update(|i| i.activate = event_target_checked(&ev)) />" Activate the contract immediately"</label>
            <label class="check"><input type="checkbox" name="mutual_termination" checked=initial.mutual_termination on:change=move |ev| input.update(|i| i.mutual_termination = event_target_checked(&ev)) />" Mutual termination (the contract ends only after the partner approves too)"</label>

            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { "Creating on Explodely…" } else { "Create contract" }}
            </button>
        </form>
    }
}
