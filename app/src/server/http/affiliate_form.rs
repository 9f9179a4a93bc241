//! The Affiliate Program page without JavaScript: the form posts to `/settings/affiliate`, and
//! this handler acts on the button pressed (Save, Insert, Clear, Send test). Anything but a
//! successful save renders the page again from what was posted, so no unsaved edit is lost.

use crate::domain::affiliate::{AffiliateInput, DeliveryMode, SlotInput};
use crate::domain::conditions::{PlanRule, TypeRule};
use crate::domain::link_template::LINK_SLOTS;
use crate::server::http::posted_page::render_with;
use crate::server::http::session::CurrentAdmin;
use crate::server::state::{AffiliateDeps, AppState};
use crate::service::affiliate::{self, FormOutcome, Intent, PostedForm};
use crate::service::error::AppError;
use axum::body::to_bytes;
use axum::extract::FromRef;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

pub const SAVED_PATH: &str = "/settings/affiliate?saved=1";

/// The names a slot's fields are posted under, each followed by `_N`.
const SLOT_FIELDS: [&str; 11] = [
    "url",
    "enabled",
    "mode",
    "reversal_url",
    "contains",
    "not_contains",
    "plan_rule",
    "plans",
    "min_amount",
    "types",
    "opened",
];

fn parse(pairs: Vec<(String, String)>) -> PostedForm {
    let mut posted = PostedForm {
        input: AffiliateInput::default(),
        version: 0,
        token: String::new(),
        target: 1,
        intent: Intent::Unknown,
        opened: Vec::new(),
        extra_slot: None,
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
            ("intent", _) => posted.intent = Intent::parse(&value),
            (_, Some((name, n))) if (1..=LINK_SLOTS).contains(&n) => {
                let slot = &mut posted.input.slots[n - 1];
                match name.as_str() {
                    "url" => slot.url = value,
                    "enabled" => slot.enabled = true,
                    "mode" => slot.mode = DeliveryMode::parse(&value).unwrap_or_default(),
                    "reversal_url" => slot.reversal_url = value,
                    "contains" => slot.rules.contains = value,
                    "not_contains" => slot.rules.not_contains = value,
                    "plan_rule" => {
                        slot.conditions.plan_rule = PlanRule::parse(&value).unwrap_or_default()
                    }
                    "plans" => slot.conditions.plans = value,
                    "min_amount" => slot.conditions.min_amount = value,
                    "types" => slot.conditions.types = TypeRule::parse(&value).unwrap_or_default(),
                    "opened" => posted.opened.push(n),
                    _ => {}
                }
            }
            (_, Some((name, n))) if n > LINK_SLOTS && SLOT_FIELDS.contains(&name.as_str()) => {
                posted.extra_slot = Some(key.clone());
            }
            _ => {}
        }
    }
    posted
}

pub async fn submit(State(state): State<AppState>, req: Request) -> Result<Response, AppError> {
    let (parts, body) = req.into_parts();
    let Some(admin) = parts.extensions.get::<CurrentAdmin>().cloned() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let bytes = to_bytes(body, 64 * 1024).await?;
    let posted = parse(serde_urlencoded::from_bytes(&bytes).unwrap_or_default());
    let deps = AffiliateDeps::from_ref(&state);
    match affiliate::act_on_form(&deps, &admin.actor(), posted).await? {
        FormOutcome::Saved => Ok(Redirect::to(SAVED_PATH).into_response()),
        FormOutcome::Page(form, status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(render_with(state, parts, *form, status).await)
        }
    }
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
    fn a_slots_reversal_link_rules_and_conditions_are_read() {
        let posted = parse(pairs(&[
            ("reversal_url_2", "https://t.example/r?id=${reversal_id}"),
            ("contains_2", "success=true"),
            ("not_contains_2", "err_msg"),
            ("plan_rule_2", "only"),
            ("plans_2", "7, 8"),
            ("min_amount_2", "10"),
            ("types_2", "card"),
        ]));
        let slot = &posted.input.slots[1];
        assert_eq!(slot.reversal_url, "https://t.example/r?id=${reversal_id}");
        assert_eq!(slot.rules.contains, "success=true");
        assert_eq!(slot.rules.not_contains, "err_msg");
        assert_eq!(slot.conditions.plan_rule, PlanRule::Only);
        assert_eq!(slot.conditions.plans, "7, 8");
        assert_eq!(slot.conditions.min_amount, "10");
        assert_eq!(slot.conditions.types, TypeRule::CardOnly);
        assert!(parse(pairs(&[("plans_6", "1")])).extra_slot.is_some());
    }

    #[test]
    fn a_sixth_link_is_noticed() {
        let posted = parse(pairs(&[("url_6", "https://f.example/")]));
        assert_eq!(posted.extra_slot.as_deref(), Some("url_6"));
        assert_eq!(posted.input.slots.len(), 5);
    }
}
