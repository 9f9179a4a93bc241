//! Settings -> Affiliate Program: reading and saving the switch and the five links, Send test,
//! and the plain-form buttons (Insert, Clear, Send test, Submit) for browsers without JavaScript.

use super::error::AppError;
use crate::domain::affiliate::{append_token, target_field, target_of, AffiliateInput};
use crate::domain::call::CallOutcome;
use crate::domain::link_template::{LinkKind, LinkTemplate, SignupValues, Token, LINK_SLOTS};
use crate::domain::states::AuditKind;
use crate::domain::states::{LinkSlot, NoticeKind};
use crate::domain::success::{check_rule_text, ReplyRules, RuleResult};
use crate::model::affiliate::PostedAffiliateForm;
use crate::model::affiliate::{config_error_fields, format_time, AffiliateState, HistoryEntry};
use crate::model::error::ApiError;
use crate::server::remote::outbound::OutboundClient;
use crate::server::state::AffiliateDeps;
use crate::server::storage::affiliate_store::{self, SaveOutcome};
use crate::server::storage::audit_log::Actor;
use crate::server::storage::signup_queries;

/// The settings as stored, with their recent changes and each link's health.
#[tracing::instrument(skip_all)]
pub async fn load(deps: &AffiliateDeps) -> Result<AffiliateState, AppError> {
    let settings = deps.settings.snapshot(&deps.db).await?;
    let history = settings
        .history
        .iter()
        .map(|r| HistoryEntry {
            at: format_time(r.changed_at),
            by: r.changed_by.clone(),
            changes: r.before.describe_changes(&r.after),
        })
        .collect();
    let now = deps.clock.now();
    let health = signup_queries::link_health(&deps.db, now).await?;
    Ok(AffiliateState {
        input: settings.stored.input.clone(),
        version: settings.stored.version,
        history,
        health: super::signups::health_views(health, now),
    })
}

/// Validates and saves, all or nothing, if nobody saved since `version` was loaded.
#[tracing::instrument(skip_all, fields(admin = %actor.name, expected_version = version))]
pub async fn save(
    deps: &AffiliateDeps,
    actor: &Actor,
    input: &AffiliateInput,
    version: i64,
) -> Result<AffiliateState, AppError> {
    input
        .validate()
        .map_err(|e| ApiError::Invalid(config_error_fields(&e)))?;
    let audit = actor.event(
        AuditKind::AffiliateSaved,
        saved_summary(input),
        deps.clock.now(),
    );
    match affiliate_store::save(&deps.db, input, version, &audit).await? {
        SaveOutcome::Saved { version } => {
            tracing::info!(admin = %actor.name, version, "affiliate program settings saved");
            load(deps).await
        }
        SaveOutcome::Conflict { current } => Err(ApiError::Conflict {
            by: current
                .updated_by
                .unwrap_or_else(|| "another admin".to_owned()),
            at: current.updated_at.map(format_time).unwrap_or_default(),
        }
        .into()),
    }
}

/// What the audit log says of a save: the switch and which links are on (the settings history
/// on the page keeps the whole before and after).
fn saved_summary(input: &AffiliateInput) -> String {
    let on: Vec<String> = input
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.enabled && !slot.url.trim().is_empty())
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    let links = if on.is_empty() {
        "no link on".to_owned()
    } else {
        format!("links on: {}", on.join(", "))
    };
    let program = if input.program_enabled { "on" } else { "off" };
    format!("Affiliate Program {program}; {links}")
}

/// Renders `url` (saved or not), a signup or a reversal link, with the sample signup, calls it
/// through the guarded client, and judges the answer by `rules` as a delivery would be.
#[tracing::instrument(skip_all, fields(kind = kind.as_str()))]
pub async fn send_test(
    outbound: &OutboundClient,
    url: &str,
    kind: LinkKind,
    rules: &ReplyRules,
) -> Result<CallOutcome, AppError> {
    let field = match kind {
        LinkKind::Signup => "url",
        LinkKind::Reversal => "reversal_url",
    };
    let template = match LinkTemplate::parse_slot_as(url, kind) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(AppError::invalid(
                field,
                "the link is empty; there is nothing to send",
            ))
        }
        Err(e) => return Err(AppError::invalid(field, e.to_string())),
    };
    for text in [&rules.contains, &rules.not_contains] {
        if let Err(message) = check_rule_text(text) {
            return Err(AppError::invalid(
                "rules",
                format!("a reply rule {message}"),
            ));
        }
    }
    let rendered = template.render(&SignupValues::sample());
    let mut outcome = outbound.get(&rendered, &[]).await;
    let judged = rules.judge(outcome.status, None, &outcome.body_excerpt);
    match judged.rule {
        Some(RuleResult::Broken(why)) if outcome.error.is_none() => outcome.error = Some(why),
        Some(RuleResult::Passed(what)) => outcome.rule = Some(format!("Delivered: {what}.")),
        _ => {}
    }
    Ok(outcome)
}

/// The button a plain form post (no JavaScript) was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Save,
    /// Append the parameter named `token` to link `target`.
    Insert,
    Clear(LinkSlot),
    /// Show a link's reversal link, reply rules and conditions (without JavaScript).
    More(LinkSlot),
    Test(LinkSlot),
    /// Send test of the slot's reversal link.
    TestReversal(LinkSlot),
    /// No button, or one this page does not have.
    Unknown,
}

impl Intent {
    pub fn parse(intent: &str) -> Self {
        let slot = |prefix: &str| {
            intent
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(LinkSlot::new)
        };
        match intent {
            "save" => Self::Save,
            "insert" => Self::Insert,
            _ => match (
                slot("clear-"),
                slot("test-"),
                slot("test-reversal-"),
                slot("more-"),
            ) {
                (Some(n), _, _, _) => Self::Clear(n),
                (_, Some(n), _, _) => Self::Test(n),
                (_, _, Some(n), _) => Self::TestReversal(n),
                (_, _, _, Some(n)) => Self::More(n),
                _ => Self::Unknown,
            },
        }
    }
}

/// A plain form post, parsed: what the admin typed and which button they pressed.
#[derive(Debug, Clone)]
pub struct PostedForm {
    pub input: AffiliateInput,
    pub version: i64,
    pub token: String,
    pub target: usize,
    pub intent: Intent,
    /// The links whose extra settings were shown when the form was posted.
    pub opened: Vec<usize>,
    /// A field naming a slot beyond the fifth (`url_6`…): refused, never stored.
    pub extra_slot: Option<String>,
}

/// What a plain form post comes to: a save (redirect to the saved page), or the page again as
/// posted, with what came of the button and the HTTP status that says it.
#[derive(Debug)]
pub enum FormOutcome {
    Saved,
    Page(Box<PostedAffiliateForm>, u16),
}

/// Acts on the button a plain form post was sent with. Anything but a successful save answers
/// with the page as posted, so no unsaved edit is lost.
#[tracing::instrument(skip_all, fields(admin = %admin.name, intent = ?posted.intent))]
pub async fn act_on_form(
    deps: &AffiliateDeps,
    admin: &Actor,
    posted: PostedForm,
) -> Result<FormOutcome, AppError> {
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
        opened: posted.opened.clone(),
    };
    let status = match form_action(deps, admin, &posted, &mut form).await? {
        None => return Ok(FormOutcome::Saved),
        Some(status) => status,
    };
    // The history beside the form is the stored one, whatever was posted; without it the page
    // still shows what was posted.
    match load(deps).await {
        Ok(stored) => {
            form.state.history = stored.history;
            form.state.health = stored.health;
        }
        Err(err) => err.log(),
    }
    Ok(FormOutcome::Page(Box::new(form), status))
}

/// Shows link `n`'s reversal link, reply rules and conditions on the page sent back.
fn open(form: &mut PostedAffiliateForm, n: usize) {
    if !form.opened.contains(&n) {
        form.opened.push(n);
    }
}

fn notice(kind: NoticeKind, text: impl Into<String>) -> Option<(NoticeKind, String)> {
    Some((kind, text.into()))
}

/// Applies the button to `form`; `None` when the settings were saved, else the page's status.
async fn form_action(
    deps: &AffiliateDeps,
    admin: &Actor,
    posted: &PostedForm,
    form: &mut PostedAffiliateForm,
) -> Result<Option<u16>, AppError> {
    if let Some(field) = &posted.extra_slot {
        form.notice = notice(
            NoticeKind::Error,
            format!(
                "The form sent {field}, but there are only {LINK_SLOTS} links; nothing was saved."
            ),
        );
        return Ok(Some(422));
    }
    match posted.intent {
        Intent::Save => save_from_form(deps, admin, posted, form).await,
        Intent::Insert => Ok(Some(insert(posted, form))),
        Intent::Clear(n) => {
            form.state.input.slots[n.index()].url.clear();
            form.notice = notice(
                NoticeKind::Info,
                format!("Cleared Link {n}. Not saved yet: press Submit to save."),
            );
            Ok(Some(200))
        }
        Intent::Test(n) => Ok(Some(
            test_from_form(deps, posted, form, n, LinkKind::Signup).await,
        )),
        Intent::More(n) => {
            open(form, n.get());
            Ok(Some(200))
        }
        Intent::TestReversal(n) => Ok(Some(
            test_from_form(deps, posted, form, n, LinkKind::Reversal).await,
        )),
        Intent::Unknown => {
            form.notice = notice(
                NoticeKind::Error,
                "The form was sent without a button; press Submit to save.",
            );
            Ok(Some(400))
        }
    }
}

/// Send test without JavaScript: the answer shows under the link it was sent for.
async fn test_from_form(
    deps: &AffiliateDeps,
    posted: &PostedForm,
    form: &mut PostedAffiliateForm,
    n: LinkSlot,
    kind: LinkKind,
) -> u16 {
    let slot = &posted.input.slots[n.index()];
    let url = match kind {
        LinkKind::Signup => &slot.url,
        LinkKind::Reversal => &slot.reversal_url,
    };
    if kind == LinkKind::Reversal {
        open(form, n.get());
    }
    match send_test(&deps.outbound, url, kind, &slot.rules).await {
        Ok(outcome) => form.test_results.push((target_of(n.get(), kind), outcome)),
        Err(err) => {
            let err = err.into_api_error();
            let text = err
                .field_message(match kind {
                    LinkKind::Signup => "url",
                    LinkKind::Reversal => "reversal_url",
                })
                .or_else(|| err.field_message("rules"))
                .unwrap_or_else(|| err.to_string());
            let which = match kind {
                LinkKind::Signup => "",
                LinkKind::Reversal => " reversal link",
            };
            form.notice = notice(NoticeKind::Error, format!("Link {n}{which}: {text}"));
        }
    }
    200
}

async fn save_from_form(
    deps: &AffiliateDeps,
    admin: &Actor,
    posted: &PostedForm,
    form: &mut PostedAffiliateForm,
) -> Result<Option<u16>, AppError> {
    match save(deps, admin, &posted.input, posted.version).await {
        Ok(_) => Ok(None),
        Err(AppError::Refused(err @ (ApiError::Invalid(_) | ApiError::Conflict { .. }))) => {
            let text = match &err {
                ApiError::Invalid(_) => {
                    "Nothing was saved: correct the fields marked below.".to_owned()
                }
                other => other.to_string(),
            };
            form.notice = notice(NoticeKind::Error, text);
            Ok(Some(err.status()))
        }
        Err(err) => Err(err),
    }
}

fn insert(posted: &PostedForm, form: &mut PostedAffiliateForm) -> u16 {
    let name = posted.token.trim_start_matches("${").trim_end_matches('}');
    let Some(token) = Token::from_name(name) else {
        form.notice = notice(
            NoticeKind::Error,
            "Choose a parameter from the list, then a link to insert it into.",
        );
        return 422;
    };
    match append_token(&mut form.state.input, posted.target, token) {
        Ok(()) => {
            if let Some((n, LinkKind::Reversal)) = target_field(posted.target) {
                open(form, n);
            }
            let into = match target_field(posted.target) {
                Some((n, LinkKind::Reversal)) => format!("Link {n}'s reversal link"),
                Some((n, LinkKind::Signup)) => format!("Link {n}"),
                None => String::new(),
            };
            form.notice = notice(
                NoticeKind::Info,
                format!(
                    "Inserted {} at the end of {into}. Not saved yet: press Submit to save.",
                    token.placeholder()
                ),
            );
            200
        }
        Err(why) => {
            form.notice = notice(NoticeKind::Error, format!("Nothing was inserted: {why}."));
            422
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buttons_are_read_by_name_and_slot() {
        assert_eq!(Intent::parse("save"), Intent::Save);
        assert_eq!(Intent::parse("insert"), Intent::Insert);
        assert_eq!(
            Intent::parse("clear-2"),
            Intent::Clear(LinkSlot::new(2).unwrap())
        );
        assert_eq!(
            Intent::parse("test-5"),
            Intent::Test(LinkSlot::new(5).unwrap())
        );
        assert_eq!(Intent::parse("test-6"), Intent::Unknown);
        assert_eq!(
            Intent::parse("test-reversal-3"),
            Intent::TestReversal(LinkSlot::new(3).unwrap())
        );
        assert_eq!(
            Intent::parse("more-4"),
            Intent::More(LinkSlot::new(4).unwrap())
        );
        assert_eq!(Intent::parse("clear-0"), Intent::Unknown);
        assert_eq!(Intent::parse(""), Intent::Unknown);
    }
}
