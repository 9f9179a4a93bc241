//! The contract form without JavaScript: it posts to `/affiliate/contracts/new`; a created
//! contract redirects to its page, anything else renders the form again with what was typed and
//! the error beside its field.

use crate::domain::contract::ContractInput;
use crate::model::contracts::{created_path, PostedContractForm};
use crate::model::error::ApiError;
use crate::server::http::posted_page::render_with;
use crate::server::http::session::CurrentAdmin;
use crate::server::security::tokens::random_token;
use crate::server::state::{AppState, ContractDeps};
use crate::service::contracts;
use crate::service::error::AppError;
use axum::body::to_bytes;
use axum::extract::FromRef;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};

/// What the plain form posts: the contract, its idempotency key, and whether the admin confirmed
/// that an attempt with an unknown outcome created nothing.
struct Posted {
    input: ContractInput,
    key: String,
    confirmed_not_created: bool,
}

fn parse(pairs: Vec<(String, String)>) -> Posted {
    let mut input = ContractInput::default();
    let mut key = String::new();
    let mut confirmed_not_created = false;
    for (name, value) in pairs {
        match name.as_str() {
            "contract_name" => input.contract_name = value,
            "partner_username" => input.partner_username = value,
            "product_choice" => input.product_choice = value,
            "product_id" => input.product_id = value,
            "commission" => input.commission = value,
            "start_date" => input.start_date = value,
            "end_date" => input.end_date = value,
            "max_earnings" => input.max_earnings = value,
            "max_sales" => input.max_sales = value,
            "comments" => input.comments = value,
            "activate" => input.activate = true,
            "mutual_termination" => input.mutual_termination = true,
            "idempotency_key" => key = value,
            "confirmed_not_created" => confirmed_not_created = true,
            _ => {}
        }
    }
    Posted {
        input,
        key,
        confirmed_not_created,
    }
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    let (parts, body) = req.into_parts();
    let Some(admin) = parts.extensions.get::<CurrentAdmin>().cloned() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let bytes = to_bytes(body, 64 * 1024).await?;
    let Posted {
        input,
        key,
        confirmed_not_created,
    } = parse(serde_urlencoded::from_bytes(&bytes).unwrap_or_default());
    let deps = ContractDeps::from_ref(&state);
    let created = contracts::create(
        &deps,
        &admin.actor(),
        input.clone(),
        &key,
        confirmed_not_created,
    )
    .await;
    let error = match created {
        Ok(id) => return Ok(Redirect::to(&created_path(id.get())).into_response()),
        Err(error) => error,
    };
    let status = error.status();
    let error = error.into_api_error();
    // An unknown outcome keeps the key: the next submit repeats the answer until confirmed.
    let key = match error {
        ApiError::OutcomeUnknown { .. } => key,
        _ => random_token(16),
    };
    let posted = PostedContractForm {
        input,
        error: Some(error),
        key,
    };
    Ok(render_with(state, parts, posted, status).await)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_posted_form_becomes_the_input_with_unticked_boxes_off() {
        let posted = super::parse(vec![
            ("contract_name".into(), "N".into()),
            ("mutual_termination".into(), "on".into()),
            ("idempotency_key".into(), "k".into()),
        ]);
        assert_eq!(posted.input.contract_name, "N");
        assert!(posted.input.mutual_termination && !posted.input.activate);
        assert_eq!(posted.key, "k");
        assert!(!posted.confirmed_not_created);
    }
}
