//! The Affiliate Program page without JavaScript: the form posts to `/settings/affiliate`, and
//! this handler acts on the button pressed (Save, Insert, Clear, Send test). Anything but a
//! successful save renders the page again from what was posted, so no unsaved edit is lost.

use crate::api::affiliate::{
    load_state, save_state, send_test, AffiliateState, PostedAffiliateForm,
};
use crate::api::error::ApiError;
use crate::domain::affiliate::{append_token, AffiliateInput, DeliveryMode, SlotInput};
use crate::domain::link_template::{Token, LINK_SLOTS};
use crate::server::auth_http::InternalError;
use crate::server::posted_page::render_with;
use crate::server::session::CurrentAdmin;
use crate::server::state::AppState;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

pub const SAVED_PATH: &str = "/settings/affiliate?saved=1";

/// What the form posted, before any rule is applied.
#[derive(Debug, Default)]
struct Posted {
    input: AffiliateInput,
    version: i64,
    token: String,
    target: usize,
    intent: String,
    /// Fields naming a slot beyond the fifth (`url_6`…): refused, never stored.
    extra_slot: Option<String>,
}

fn parse(pairs: Vec<(String, String)>) -> Posted {
    let mut posted = Posted {
        target: 1,
        ..Posted::default()
    };
    // Checkboxes send nothing when unticked, so every slot starts unticked here.
    posted.input.slots = vec![
        SlotInput {
            enabled: false,
            ..SlotInput::default()
        };
        LINK_SLOTS
    ];
    for (key, value) in pairs {
        let slot_field = key
            .rsplit_once('_')
            .and_then(|(name, n)| n.parse::<usize>().ok().map(|n| (name.to_owned(), n)));
        match (key.as_str(), slot_field) {
            ("program_enabled", _) => posted.input.program_enabled = true,
            ("version", _) => posted.version = value.parse().unwrap_or(-1),
            ("token", _) => posted.token = value,
            ("target", _) => posted.target = value.parse().unwrap_or(1),
            ("intent", _) => posted.intent = value,
            (_, Some((name, n))) if (1..=LINK_SLOTS).contains(&n) => {
                let slot = &mut posted.input.slots[n - 1];
                match name.as_str() {
                    "url" => slot.url = value,
                    "enabled" => slot.enabled = true,
                    "mode" => slot.mode = DeliveryMode::parse(&value).unwrap_or_default(),
                    _ => {}
                }
            }
            (_, Some((name, n)))
                if n > LINK_SLOTS && matches!(name.as_str(), "url" | "enabled" | "mode") =>
            {
                posted.extra_slot = Some(key.clone());
            }
            _ => {}
        }
    }
    posted
}

pub async fn submit(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, InternalError> {
    let (parts, body) = req.into_parts();
    let Some(admin) = parts.extensions.get::<CurrentAdmin>().cloned() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let bytes = to_bytes(body, 64 * 1024).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let posted = parse(pairs);

    let mut form = PostedAffiliateForm {
        state: AffiliateState {
            input: posted.input.clone(),
            version: posted.version,
            history: Vec::new(),
            health: Vec::new(),
        },
        token: posted.token.clone(),
        target: posted.target,
        notice: None,
        test_results: Vec::new(),
    };
    let mut status = StatusCode::OK;
    let notice = |kind: &str, text: String| Some((kind.to_owned(), text));

    if let Some(field) = &posted.extra_slot {
        status = StatusCode::UNPROCESSABLE_ENTITY;
        form.notice = notice(
            "error",
            format!(
                "The form sent {field}, but there are only {LINK_SLOTS} links; nothing was saved."
            ),
        );
    } else if posted.intent == "save" {
        match save_state(&state, &admin.username, &posted.input, posted.version).await {
            Ok(_) => return Ok(Redirect::to(SAVED_PATH).into_response()),
            Err(err @ (ApiError::Invalid(_) | ApiError::Conflict { .. })) => {
                status =
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
                let text = match &err {
                    ApiError::Invalid(_) => {
                        "Nothing was saved: correct the links marked below.".to_owned()
                    }
                    other => other.to_string(),
                };
                form.notice = notice("error", text);
            }
            Err(err) => return Err(InternalError::from(err)),
        }
    } else if posted.intent == "insert" {
        match Token::from_name(posted.token.trim_start_matches("${").trim_end_matches('}')) {
            Some(token) if append_token(&mut form.state.input, posted.target, token) => {
                form.notice = notice(
                    "info",
                    format!(
                        "Inserted {} at the end of Link {}. Not saved yet: press Submit to save.",
                        token.placeholder(),
                        posted.target
                    ),
                );
            }
            _ => {
                status = StatusCode::UNPROCESSABLE_ENTITY;
                form.notice = notice(
                    "error",
                    "Choose a parameter and a link (1 to 5) to insert it into.".to_owned(),
                );
            }
        }
    } else if let Some(n) = slot_of(&posted.intent, "clear-") {
        form.state.input.slots[n - 1].url.clear();
        form.notice = notice(
            "info",
            format!("Cleared Link {n}. Not saved yet: press Submit to save."),
        );
    } else if let Some(n) = slot_of(&posted.intent, "test-") {
        match send_test(&state, &posted.input.slots[n - 1].url).await {
            Ok(outcome) => form.test_results.push((n, outcome)),
            Err(err) => {
                form.notice = notice(
                    "error",
                    format!(
                        "Link {n}: {}",
                        err.field_message("url").unwrap_or_else(|| err.to_string())
                    ),
                )
            }
        }
    } else {
        status = StatusCode::BAD_REQUEST;
        form.notice = notice(
            "error",
            "The form was sent without a button; press Submit to save.".to_owned(),
        );
    }

    // The history beside the form is the stored one, whatever was posted.
    if let Ok(stored) = load_state(&state).await {
        form.state.history = stored.history;
        form.state.health = stored.health;
    }
    Ok(render_with(state, parts, form, status).await)
}

fn slot_of(intent: &str, prefix: &str) -> Option<usize> {
    intent
        .strip_prefix(prefix)
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=LINK_SLOTS).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_posted_form_becomes_five_slots_with_unticked_boxes_off() {
        let posted = parse(pairs(&[
            ("program_enabled", "on"),
            ("url_1", "https://a.example/"),
            ("enabled_1", "on"),
            ("mode_1", "pixel"),
            ("url_3", "https://c.example/"),
            ("version", "4"),
            ("intent", "save"),
        ]));
        assert!(posted.input.program_enabled);
        assert_eq!(posted.input.slots.len(), 5);
        assert!(posted.input.slots[0].enabled);
        assert_eq!(posted.input.slots[0].mode, DeliveryMode::BrowserPixel);
        assert!(!posted.input.slots[2].enabled, "an unticked box is off");
        assert_eq!(posted.version, 4);
        assert!(posted.extra_slot.is_none());
    }

    #[test]
    fn a_sixth_link_is_noticed() {
        let posted = parse(pairs(&[("url_6", "https://f.example/")]));
        assert_eq!(posted.extra_slot.as_deref(), Some("url_6"));
        assert_eq!(posted.input.slots.len(), 5);
    }
}
