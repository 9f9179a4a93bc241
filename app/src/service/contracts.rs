//! Settings -> Explodely and affiliate contracts: storing the account's credentials, creating a
//! contract through Explodely once per form, and showing the contracts and failed attempts.

use super::error::AppError;
use crate::domain::contract::{Contract, ContractInput, KnownError, Reply};
use crate::domain::explodely::CredentialsInput;
use crate::domain::states::{AuditKind, ContractAttemptOutcome, ContractId};
use crate::model::affiliate::format_time;
use crate::model::contracts::{
    ContractAttemptView, ContractView, ContractsOverview, ExplodelySettingsView,
};
use crate::model::error::ApiError;
use crate::server::state::ContractDeps;
use crate::server::storage::audit_log::Actor;
use crate::server::storage::contracts::{self, AttemptRow, Begin, ContractRow, Finished};
use secrecy::SecretString;

/// What a reply means for the admin: where the message belongs.
pub fn reply_error(reply: &Reply) -> Option<ApiError> {
    match reply {
        Reply::Created { .. } => None,
        Reply::Refused(known) => Some(match known.field() {
            Some(field) => ApiError::invalid(field, known.message()),
            None => ApiError::Remote {
                message: known.message().to_owned(),
                settings_link: *known == KnownError::InvalidApiKey,
            },
        }),
        Reply::UnknownError(code) => Some(ApiError::Remote {
            message: format!("Explodely refused the contract with the error {code:?}, which its documentation does not describe. Nothing was created."),
            settings_link: false,
        }),
        Reply::Unexpected(why) => Some(ApiError::Remote {
            message: format!("{why}. Nothing was stored as created; your form is kept, so you can try again."),
            settings_link: false,
        }),
        Reply::Unknown(why) => Some(ApiError::OutcomeUnknown {
            message: format!("Outcome unknown: {why}. The contract may have been created; check Explodely before trying again. Submitting this form again repeats this answer until you confirm below that no contract was created."),
        }),
    }
}

fn remote(message: impl Into<String>, settings_link: bool) -> AppError {
    AppError::Refused(ApiError::Remote {
        message: message.into(),
        settings_link,
    })
}

#[tracing::instrument(skip_all)]
pub async fn settings(deps: &ContractDeps) -> Result<ExplodelySettingsView, AppError> {
    let row = contracts::credentials(&deps.db).await?;
    Ok(ExplodelySettingsView {
        username: row.as_ref().map(|r| r.username.clone()).unwrap_or_default(),
        key_last4: row.as_ref().map(|r| r.api_key_last4.clone()),
        updated: row.map(|r| format!("{} by {}", format_time(r.updated_at), r.updated_by)),
        endpoint: deps.explodely.url().to_owned(),
    })
}

/// Saves the username, and the API key when one is typed (an empty key keeps the stored one).
#[tracing::instrument(skip_all, fields(admin = %actor.name))]
pub async fn save_settings(
    deps: &ContractDeps,
    actor: &Actor,
    input: CredentialsInput,
) -> Result<(), AppError> {
    let existing = contracts::credentials(&deps.db).await?;
    let credentials = input
        .validate(existing.is_some())
        .map_err(ApiError::Invalid)?;
    let sealed = credentials
        .api_key
        .as_deref()
        .map(|key| deps.secrets.seal(key))
        .zip(credentials.key_last4());
    let summary = match &sealed {
        Some((_, last4)) => format!(
            "Explodely username '{}' and a new API key ending in {last4} saved",
            credentials.username
        ),
        None => format!(
            "Explodely username '{}' saved; the API key was kept",
            credentials.username
        ),
    };
    let audit = actor.event(AuditKind::ExplodelySaved, summary, deps.clock.now());
    contracts::save_credentials(&deps.db, &credentials.username, sealed, &audit).await?;
    tracing::info!(admin = %actor.name, "Explodely credentials saved");
    Ok(())
}

/// Creates a contract on Explodely, once per form key: a repeat of the same key (double click,
/// re-post) gets the first result and never calls Explodely again. An attempt whose outcome is
/// unknown holds its key until the admin confirms (`confirmed_not_created`) that Explodely has no
/// such contract; it is then set aside and the form's next call is made. Returns affdesk's
/// contract id.
#[tracing::instrument(skip_all, fields(admin = %actor.name))]
pub async fn create(
    deps: &ContractDeps,
    actor: &Actor,
    input: ContractInput,
    idempotency_key: &str,
    confirmed_not_created: bool,
) -> Result<ContractId, AppError> {
    let contract = input.validate().map_err(ApiError::Invalid)?;
    if idempotency_key.len() < 16
        || idempotency_key.len() > 64
        || !idempotency_key.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(remote(
            "This form is out of date; reload the page and submit again.",
            false,
        ));
    }
    let credentials = stored_credentials(deps).await?;
    let request = serde_json::to_string(&contract.form_fields())?;
    if confirmed_not_created {
        set_aside_unknown(deps, actor, idempotency_key, &contract).await?;
    }
    let now = deps.clock.now();
    let begun =
        contracts::begin_attempt(&deps.db, idempotency_key, &request, &actor.name, now).await?;
    let reply = match begun {
        Begin::Existing(row) => match earlier_result(deps, row).await? {
            Ok(id) => return Ok(id),
            Err(reply) => reply,
        },
        Begin::Started(attempt) => {
            match call(deps, actor, attempt, &contract, credentials).await? {
                Ok(id) => return Ok(id),
                Err(reply) => reply,
            }
        }
    };
    Err(reply_error(&reply)
        .map(AppError::Refused)
        .unwrap_or_else(|| AppError::internal("Explodely reply", "a created reply stored nothing")))
}

/// The admin checked Explodely after an unknown outcome: the attempt is set aside (recorded in
/// the audit log), so this submit calls again.
async fn set_aside_unknown(
    deps: &ContractDeps,
    actor: &Actor,
    key: &str,
    contract: &Contract,
) -> Result<(), AppError> {
    let audit = actor.event(
        AuditKind::ContractRetryConfirmed,
        format!(
            "confirmed that an attempt with an unknown outcome created no contract '{}' with partner {}; sent again",
            contract.name, contract.partner_username
        ),
        deps.clock.now(),
    );
    if contracts::set_aside_unknown(&deps.db, key, &audit).await? {
        tracing::info!(admin = %actor.name, "an attempt with an unknown outcome was confirmed as not created");
    }
    Ok(())
}

/// Makes this attempt's one call to Explodely and records how it ended: affdesk's id of the
/// created contract, or the reply that created none.
async fn call(
    deps: &ContractDeps,
    actor: &Actor,
    attempt: i64,
    contract: &Contract,
    (username, api_key): (String, SecretString),
) -> Result<Result<ContractId, Reply>, AppError> {
    let call = deps
        .explodely
        .create_contract(&username, &api_key, contract)
        .await;
    let outcome = ContractAttemptOutcome::of_reply(&call.reply);
    let finished = Finished {
        outcome,
        reply: &call.raw,
        message: Some(serde_json::to_string(&call.reply)?),
        created: match &call.reply {
            Reply::Created { contract_id } => Some((contract, contract_id.as_str())),
            _ => None,
        },
    };
    let audit = actor.event(
        AuditKind::ContractCreated,
        format!(
            "contract '{}' with partner {} at {}% created",
            contract.name, contract.partner_username, contract.commission
        ),
        deps.clock.now(),
    );
    let stored = contracts::finish_attempt(&deps.db, attempt, finished, &audit).await?;
    tracing::info!(admin = %actor.name, %outcome, "Explodely createaffcontract attempt");
    Ok(match stored {
        Some(id) => Ok(ContractId::from(id)),
        None => Err(call.reply),
    })
}

/// The stored username and the opened API key, or what the admin must do first.
async fn stored_credentials(deps: &ContractDeps) -> Result<(String, SecretString), AppError> {
    let Some(credentials) = contracts::credentials(&deps.db).await? else {
        return Err(remote(
            "Enter your Explodely username and API key under Settings → Explodely first.",
            true,
        ));
    };
    let api_key = deps
        .secrets
        .open(&credentials.api_key_sealed)
        .map_err(|e| {
            remote(
                format!("The stored Explodely API key cannot be read ({e})."),
                true,
            )
        })?;
    Ok((credentials.username, api_key))
}

/// The result of an earlier submit of the same form: its contract, or its reply.
async fn earlier_result(
    deps: &ContractDeps,
    row: AttemptRow,
) -> Result<Result<ContractId, Reply>, AppError> {
    let row = if row.outcome == ContractAttemptOutcome::Running {
        contracts::wait_for(&deps.db, row.id).await?
    } else {
        row
    };
    if let Some(id) = row.contract_id {
        return Ok(Ok(ContractId::from(id)));
    }
    Ok(Err(row
        .message
        .as_deref()
        .and_then(|m| serde_json::from_str::<Reply>(m).ok())
        .unwrap_or_else(|| {
            Reply::Unexpected("the first submit of this form is still running".to_owned())
        })))
}

#[tracing::instrument(skip_all)]
pub async fn overview(deps: &ContractDeps) -> Result<ContractsOverview, AppError> {
    let contracts = contracts::list(&deps.db).await?;
    let failed = contracts::failed_attempts(&deps.db, deps.clock.now()).await?;
    Ok(ContractsOverview {
        contracts: contracts.into_iter().map(contract_view).collect(),
        failed: failed.into_iter().map(attempt_view).collect(),
    })
}

#[tracing::instrument(skip_all, fields(contract_id = %id))]
pub async fn detail(
    deps: &ContractDeps,
    id: ContractId,
) -> Result<Option<(ContractView, Vec<ContractAttemptView>)>, AppError> {
    Ok(contracts::get(&deps.db, id.get())
        .await?
        .map(|(c, attempts)| {
            (
                contract_view(c),
                attempts.into_iter().map(attempt_view).collect(),
            )
        }))
}

fn summary(reply: &Reply) -> String {
    match reply {
        Reply::Created { contract_id } => format!("created as Explodely contract {contract_id}"),
        other => reply_error(other)
            .map(|e| {
                e.field_message("partner_username")
                    .or_else(|| e.field_message("commission"))
                    .unwrap_or_else(|| e.to_string())
            })
            .unwrap_or_default(),
    }
}

fn attempt_view(row: AttemptRow) -> ContractAttemptView {
    let reply: Option<Reply> = row
        .message
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    ContractAttemptView {
        outcome: row.outcome.as_str().to_owned(),
        summary: reply
            .as_ref()
            .map(summary)
            .unwrap_or_else(|| "still running".to_owned()),
        request: row.request,
        reply: row.reply.unwrap_or_default(),
        admin: row.admin,
        at: format_time(row.started_at),
    }
}

fn contract_view(c: ContractRow) -> ContractView {
    ContractView {
        id: c.id,
        explodely_id: c.explodely_contract_id,
        name: c.name,
        partner_username: c.partner_username,
        product: c.product,
        commission: c.commission,
        start_date: c.start_date,
        end_date: c.end_date,
        max_earnings: c.max_earnings,
        max_sales: c.max_sales,
        comments: c.comments,
        activate: c.activate,
        mutual_termination: c.mutual_termination,
        created_by: c.created_by,
        created_at: format_time(c.created_at),
    }
}
