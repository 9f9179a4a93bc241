//! Settings → API tokens: the bearer tokens signup flows use to report signups.

use crate::api::signups::{list_tokens, CreateToken, RevokeToken};
use crate::components::form::{Banner, Field};
use crate::components::load_error::LoadError;
use crate::domain::states::NoticeKind;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApiTokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <Title text="API tokens" />
        <h1>"Settings → API tokens"</h1>
        <p class="lead">
            "Your signup flow reports each completed signup to " <code>"POST /api/v1/signups"</code>
            " with the header " <code>"Authorization: Bearer <token>"</code>
            ". Only a hash of each token is stored; a token is shown once, when it is created."
        </p>
        <NewTokenForm create />
        <h2>"Tokens"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || tokens.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! { <p class="hint">"No tokens yet."</p> }.into_any(),
                Ok(list) => view! {
                    <table class="data" data-testid="tokens">
                        <thead><tr><th>"Name"</th><th>"Created"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|t| view! {
                                <TokenRow name=t.name created_at=t.created_at last_used_at=t.last_used_at revoke />
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <LoadError error /> }.into_any(),
            })}
        </Suspense>
    }
}

/// The form that creates a token, and the new token, shown once.
#[component]
fn NewTokenForm(create: ServerAction<CreateToken>) -> impl IntoView {
    let create_error = Signal::derive(move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.field_message("name").unwrap_or_else(|| e.to_string()))
    });
    view! {
        {move || create.value().get().and_then(Result::ok).map(|token| view! {
            <Banner kind=NoticeKind::Success>
                <p>"Token created. Copy it now: it will not be shown again."</p>
                <p><code data-testid="new-token">{token}</code></p>
            </Banner>
        })}
        <ActionForm action=create attr:class="card stack">
            <Field id="token-name" label="Name" message=create_error>
                <input id="token-name" name="name" required placeholder="e.g. signup flow" aria-describedby="token-name-error" />
            </Field>
            <button type="submit" class="primary">"Create token"</button>
        </ActionForm>
    }
}

#[component]
fn TokenRow(
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    revoke: ServerAction<RevokeToken>,
) -> impl IntoView {
    let revoked_name = name.clone();
    view! {
        <tr>
            <td>{name}</td>
            <td>{created_at}</td>
            <td>{last_used_at.unwrap_or_else(|| "never".to_owned())}</td>
            <td>
                <ActionForm action=revoke>
                    <input type="hidden" name="name" value=revoked_name />
                    <button type="submit">"Revoke"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
