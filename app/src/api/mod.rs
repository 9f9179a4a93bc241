//! Thin `#[server]` functions: each checks the session, calls one use case in
//! `crate::service`, and answers with its result; an `AppError` becomes the typed
//! [`ApiError`](crate::model::error::ApiError) (logged, with its HTTP status) through `?`.

pub mod account;
pub mod admins;
pub mod affiliate;
pub mod alerts;
pub mod audit;
pub mod connect;
pub mod contracts;
pub mod overview;
pub mod signups;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::model::error::ApiError;
    use crate::server::http::session::CurrentAdmin;
    use crate::server::state::AppState;
    use crate::service::error::AppError;
    use axum::extract::FromRef;
    use axum::http::request::Parts;
    use axum::http::{header, StatusCode};
    use leptos::prelude::*;

    /// The admin the guard admitted. Server functions still ask, so none can run without one
    /// even if it were ever mounted outside the guard.
    pub fn current_admin() -> Result<CurrentAdmin, ApiError> {
        use_context::<Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentAdmin>().cloned())
            .ok_or_else(|| ApiError::from(AppError::Refused(ApiError::Unauthorized)))
    }

    /// The narrow dependencies `T` of a use case, taken from the application state.
    pub fn deps<T: FromRef<AppState>>() -> Result<T, ApiError> {
        // Borrowed, not cloned: only the parts `T` names are cloned.
        with_context::<AppState, _>(T::from_ref).ok_or_else(|| {
            AppError::internal("server function", "application state missing from context").into()
        })
    }

    /// Sets the HTTP status that matches the error. Plain form posts (no JavaScript) are left
    /// alone: leptos_axum answers those with a redirect back to the form, which a status would
    /// break.
    fn set_status(status: StatusCode) {
        let plain_form = use_context::<Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !plain_form {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(status);
            }
        }
    }

    /// Where a use case's failure becomes a server function's answer: logged once (internal
    /// detail stays in the log), with the status that says what happened.
    impl From<AppError> for ApiError {
        fn from(err: AppError) -> Self {
            set_status(err.status());
            err.into_api_error()
        }
    }
}

/// The names and shapes the server functions receive. Plain HTML forms (no JavaScript) post
/// these field names, and the pages' JSON calls these shapes: renaming an argument must fail
/// here, not only in a browser that still sends the old name.
#[cfg(all(test, feature = "ssr"))]
mod wire_format_tests {
    use crate::domain::affiliate::{AffiliateInput, DeliveryMode, SlotInput};
    use crate::domain::conditions::ConditionsInput;
    use crate::domain::link_template::LinkKind;
    use crate::domain::success::ReplyRules;
    use serde::Serialize;
    use serde_json::json;

    /// The field names of a form-encoded body, in order.
    fn form_fields(args: &impl Serialize) -> Vec<String> {
        let body = serde_urlencoded::to_string(args).expect("form-encodes");
        serde_urlencoded::from_str::<Vec<(String, String)>>(&body)
            .expect("decodes")
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn form_posted_server_functions_keep_their_field_names() {
        let s = String::new;
        let change = super::account::ChangePassword {
            current_password: s(),
            new_password: s(),
            confirm_password: s(),
        };
        assert_eq!(
            form_fields(&change),
            ["current_password", "new_password", "confirm_password"]
        );
        let retry = super::signups::RetryDelivery { delivery_id: 7 };
        assert_eq!(form_fields(&retry), ["delivery_id"]);
        assert_eq!(
            form_fields(&super::signups::CreateToken { name: s() }),
            ["name"]
        );
        assert_eq!(
            form_fields(&super::signups::RevokeToken { name: s() }),
            ["name"]
        );
        let list = super::signups::ListSignups {
            eligible: s(),
            delivery: s(),
            q: s(),
            page: 1,
        };
        assert_eq!(form_fields(&list), ["eligible", "delivery", "q", "page"]);
        let explodely = super::contracts::SaveExplodelySettings {
            username: s(),
            api_key: s(),
        };
        assert_eq!(form_fields(&explodely), ["username", "api_key"]);
    }

    #[test]
    fn the_contract_form_posts_every_field_by_its_name() {
        let s = String::new;
        let create = super::contracts::CreateContract {
            contract_name: s(),
            partner_username: s(),
            product_choice: s(),
            product_id: s(),
            commission: s(),
            start_date: s(),
            end_date: s(),
            max_earnings: s(),
            max_sales: s(),
            comments: s(),
            activate: Some("on".to_owned()),
            mutual_termination: Some("on".to_owned()),
            idempotency_key: s(),
            confirmed_not_created: Some("on".to_owned()),
        };
        assert_eq!(
            form_fields(&create),
            [
                "contract_name",
                "partner_username",
                "product_choice",
                "product_id",
                "commission",
                "start_date",
                "end_date",
                "max_earnings",
                "max_sales",
                "comments",
                "activate",
                "mutual_termination",
                "idempotency_key",
                "confirmed_not_created",
            ]
        );
    }

    #[test]
    fn json_server_functions_keep_their_shapes() {
        let save = super::affiliate::SaveAffiliateSettings {
            input: AffiliateInput {
                program_enabled: true,
                slots: vec![SlotInput {
                    url: "https://t.example/?a=${amount}".to_owned(),
                    enabled: true,
                    mode: DeliveryMode::ServerToServer,
                    reversal_url: "https://t.example/r?id=${reversal_id}".to_owned(),
                    rules: ReplyRules {
                        contains: "success=true".to_owned(),
                        not_contains: String::new(),
                    },
                    conditions: ConditionsInput::default(),
                }],
            },
            version: 3,
        };
        assert_eq!(
            serde_json::to_value(&save).unwrap(),
            json!({
                "input": {
                    "program_enabled": true,
                    "slots": [{
                        "url": "https://t.example/?a=${amount}",
                        "enabled": true,
                        "mode": "ServerToServer",
                        "reversal_url": "https://t.example/r?id=${reversal_id}",
                        "rules": { "contains": "success=true", "not_contains": "" },
                        "conditions": {
                            "plan_rule": "any", "plans": "", "min_amount": "", "types": "both",
                        },
                    }],
                },
                "version": 3,
            })
        );
        let test = super::affiliate::SendTestLink {
            url: "https://t.example/".to_owned(),
            kind: LinkKind::Reversal,
            rules: ReplyRules::default(),
        };
        assert_eq!(
            serde_json::to_value(&test).unwrap(),
            json!({
                "url": "https://t.example/",
                "kind": "Reversal",
                "rules": { "contains": "", "not_contains": "" },
            })
        );
    }
}
