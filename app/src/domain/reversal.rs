//! A reversal (refund, chargeback, cancellation) reported to
//! `POST /api/v1/signups/{order_id}/reversals`, and what it does to each link: a signup call
//! that has not reached the tracker is cancelled, one that was delivered is followed by the
//! link's reversal call.

use super::conditions::cents;
use super::field_error::FieldError;
use super::signup::{check_amount, FieldReader, ORDER_ID_MAX_CHARS};
use super::states::DeliveryState;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every field a reversal accepts.
pub const FIELDS: [&str; 4] = ["reason", "amount", "reversal_id", "time"];

/// Why the sale is taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReversalReason {
    Refund,
    Chargeback,
    Cancellation,
}

impl ReversalReason {
    pub const ALL: [ReversalReason; 3] = [
        ReversalReason::Refund,
        ReversalReason::Chargeback,
        ReversalReason::Cancellation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReversalReason::Refund => "refund",
            ReversalReason::Chargeback => "chargeback",
            ReversalReason::Cancellation => "cancellation",
        }
    }

    pub fn parse(raw: &str) -> Option<ReversalReason> {
        ReversalReason::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// A valid reversal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversal {
    pub reason: ReversalReason,
    /// What is taken back: the signup's amount unless the refund was partial.
    pub amount: String,
    /// The caller's id for it; a repeat with the same id is answered from the first.
    pub reversal_id: String,
    pub time: DateTime<Utc>,
}

impl Reversal {
    /// The values a reversal link's own parameters stand for.
    pub fn values(&self) -> super::link_template::ReversalValues {
        super::link_template::ReversalValues {
            reason: self.reason.as_str().to_owned(),
            amount: self.amount.clone(),
            time: self.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            id: self.reversal_id.clone(),
        }
    }
}

/// The required `reason`; `None` (with its error noted) when absent or not one of the reasons.
fn read_reason(
    fields: &mut FieldReader<'_>,
    object: &serde_json::Map<String, Value>,
) -> Option<ReversalReason> {
    let reasons = || ReversalReason::ALL.map(ReversalReason::as_str).join(", ");
    let text = fields.text("reason", false, 32);
    if matches!(object.get("reason"), None | Some(Value::Null)) {
        fields.push("reason", format!("is required: one of {}", reasons()));
        return None;
    }
    let reason = ReversalReason::parse(&text);
    // A reason that is not text already has its error from `text`.
    if reason.is_none() && fields.errors.iter().all(|e| e.field != "reason") {
        fields.push(
            "reason",
            format!("{text:?} is not a reason; use one of {}", reasons()),
        );
    }
    reason
}

/// Checks a reversal's body for the signup `order_id`, whose amount was `signup_amount`.
pub fn parse_reversal(
    body: &Value,
    order_id: &str,
    signup_amount: &str,
    now: DateTime<Utc>,
) -> Result<Reversal, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "the body must be a JSON object, e.g. {\"reason\": \"refund\"}",
        )]);
    };
    let mut fields = FieldReader::new(object, &FIELDS);
    let reason = read_reason(&mut fields, object);
    let amount = fields
        .checked("amount", check_amount)
        .unwrap_or_else(|| signup_amount.to_owned());
    if let (Some(asked), Some(paid)) = (cents(&amount), cents(signup_amount)) {
        if asked > paid && object.contains_key("amount") {
            fields.push(
                "amount",
                format!(
                    "{amount} is more than the signup's amount {signup_amount}; send at most that"
                ),
            );
        }
    }
    if object.contains_key("amount") && signup_amount.is_empty() {
        fields.push(
            "amount",
            "the signup was reported without an amount, so none can be taken back; leave amount out",
        );
    }
    let reversal_id = fields.text("reversal_id", false, ORDER_ID_MAX_CHARS);
    let time = fields.time("time", now);
    match reason {
        Some(reason) if fields.errors.is_empty() => Ok(Reversal {
            reversal_id: if reversal_id.trim().is_empty() {
                format!("{order_id}-{}", reason.as_str())
            } else {
                reversal_id
            },
            reason,
            amount,
            time,
        }),
        _ => Err(fields.errors),
    }
}

/// `1995` as `"19.95"`.
pub fn format_cents(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Settles the amount against what earlier reversals of the signup took back (`earlier`, in
/// cents): a reversal without an amount takes back what remains, one with an amount may take no
/// more than that. `explicit` says whether the body named an amount.
pub fn settle_amount(
    reversal: &mut Reversal,
    explicit: bool,
    signup_amount: &str,
    earlier: u64,
) -> Result<(), FieldError> {
    let Some(paid) = cents(signup_amount) else {
        return Ok(());
    };
    let remaining = paid.saturating_sub(earlier);
    if !explicit {
        reversal.amount = format_cents(remaining);
        return Ok(());
    }
    match cents(&reversal.amount) {
        Some(asked) if asked > remaining => Err(FieldError::new(
            "amount",
            format!(
                "{} is more than what remains of the signup's amount {signup_amount}: {} (earlier reversals took back {}); send at most that",
                reversal.amount,
                format_cents(remaining),
                format_cents(earlier)
            ),
        )),
        _ => Ok(()),
    }
}

/// What one link's signup call had come to when the reversal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupCall {
    /// The link did not fire for the signup (empty, disabled, off, or its conditions).
    None,
    /// A browser pixel on the signup-complete page: whether it loaded cannot be known.
    Pixel,
    /// A server-to-server delivery; `in_call` while a worker is calling the tracker.
    Server { state: DeliveryState, in_call: bool },
}

/// What a reversal does to one link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum LinkStep {
    /// The signup call never reached the tracker: it is cancelled and nothing is sent.
    CancelSignup,
    /// The signup call is under way: if it is delivered, the reversal follows it; otherwise it
    /// is cancelled (and so is the reversal).
    AfterCall { reverse: bool },
    /// The tracker heard of the signup: the reversal call is queued.
    QueueReversal,
    /// Nothing to do for this link; `told` is false when the tracker was told of the signup and
    /// will not hear of the reversal.
    Nothing { told: bool },
}

/// One link's step and why, in words for the answer and the signup's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LinkPlan {
    pub link: i64,
    #[serde(flatten)]
    pub step: LinkStep,
    pub detail: String,
}

/// The step for one link, given its signup call and whether it has a reversal link.
pub fn plan_link(link: i64, call: SignupCall, has_reversal_link: bool) -> LinkPlan {
    use DeliveryState as S;
    let no_link = "this link has no reversal link, so the tracker was not told";
    let (step, detail) = match call {
        SignupCall::None => (
            LinkStep::Nothing { told: true },
            "the link did not fire for this signup".to_owned(),
        ),
        SignupCall::Server {
            state: S::Pending | S::Failing,
            in_call: false,
        } => (
            LinkStep::CancelSignup,
            "the signup call had not reached the tracker: cancelled, nothing sent".to_owned(),
        ),
        SignupCall::Server {
            state: S::Pending | S::Failing,
            in_call: true,
        } => (
            LinkStep::AfterCall {
                reverse: has_reversal_link,
            },
            if has_reversal_link {
                "the signup call is under way: if the tracker accepts it, the reversal follows; otherwise it is cancelled"
            } else {
                "the signup call is under way: if the tracker accepts it, it will not hear of the reversal (no reversal link); otherwise it is cancelled"
            }
            .to_owned(),
        ),
        SignupCall::Server {
            state: S::Delivered,
            ..
        }
        | SignupCall::Pixel => {
            if has_reversal_link {
                (LinkStep::QueueReversal, "reversal call queued".to_owned())
            } else {
                (LinkStep::Nothing { told: false }, no_link.to_owned())
            }
        }
        SignupCall::Server {
            state: S::Failed | S::Exhausted,
            ..
        } => (
            LinkStep::Nothing { told: true },
            "the tracker never accepted the signup: nothing to reverse".to_owned(),
        ),
        SignupCall::Server {
            state: S::Cancelled | S::Held,
            ..
        } => (
            LinkStep::Nothing { told: true },
            "the signup call was cancelled: nothing to reverse".to_owned(),
        ),
    };
    LinkPlan { link, step, detail }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-12-07T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_bare_refund_takes_back_the_whole_amount_with_a_derived_id() {
        let r = parse_reversal(&json!({"reason": "refund"}), "A-1", "19.95", now()).unwrap();
        assert_eq!(r.reason, ReversalReason::Refund);
        assert_eq!(r.amount, "19.95");
        assert_eq!(r.reversal_id, "A-1-refund");
        assert_eq!(r.time, now());
    }

    #[test]
    fn a_partial_refund_keeps_its_amount_id_and_time() {
        let body = json!({"reason": "chargeback", "amount": "5.00", "reversal_id": "cb-9",
            "time": "2026-12-01T09:00:00Z"});
        let r = parse_reversal(&body, "A-1", "19.95", now()).unwrap();
        assert_eq!(
            (r.amount.as_str(), r.reversal_id.as_str()),
            ("5.00", "cb-9")
        );
        assert_eq!(r.values().time, "2026-12-01T09:00:00Z");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let body = json!({"reason": "oops", "amount": "20.00", "time": "yesterday", "extra": 1});
        let errors = parse_reversal(&body, "A-1", "19.95", now()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["extra", "reason", "amount", "time"]);
        assert!(errors[2].message.contains("more than the signup's amount"));
        let missing = parse_reversal(&json!({}), "A-1", "19.95", now()).unwrap_err();
        assert!(missing[0]
            .message
            .contains("refund, chargeback, cancellation"));
        assert!(parse_reversal(&json!([1]), "A-1", "1", now()).is_err());
    }

    #[test]
    fn partial_refunds_never_take_back_more_than_the_sale() {
        let body = json!({"reason": "refund", "amount": "15.00"});
        let mut r = parse_reversal(&body, "A-1", "19.95", now()).unwrap();
        assert!(settle_amount(&mut r, true, "19.95", 0).is_ok());
        let err = settle_amount(&mut r, true, "19.95", 1000).unwrap_err();
        assert!(
            err.message.contains("at most that") && err.message.contains("9.95"),
            "{err:?}"
        );
        let mut rest =
            parse_reversal(&json!({"reason": "cancellation"}), "A-1", "19.95", now()).unwrap();
        settle_amount(&mut rest, false, "19.95", 1500).unwrap();
        assert_eq!(rest.amount, "4.95", "no amount: what remains");
        settle_amount(&mut rest, false, "19.95", 9999).unwrap();
        assert_eq!(rest.amount, "0.00");
        let free = parse_reversal(
            &json!({"reason": "refund", "amount": "1"}),
            "A-1",
            "",
            now(),
        );
        assert!(free.unwrap_err()[0].message.contains("without an amount"));
    }

    #[test]
    fn a_signup_call_not_yet_made_is_cancelled() {
        for state in [DeliveryState::Pending, DeliveryState::Failing] {
            let call = SignupCall::Server {
                state,
                in_call: false,
            };
            assert_eq!(plan_link(1, call, true).step, LinkStep::CancelSignup);
        }
    }

    #[test]
    fn a_delivered_signup_call_queues_the_reversal_or_says_the_tracker_was_not_told() {
        let call = SignupCall::Server {
            state: DeliveryState::Delivered,
            in_call: false,
        };
        assert_eq!(plan_link(2, call, true).step, LinkStep::QueueReversal);
        let untold = plan_link(2, call, false);
        assert_eq!(untold.step, LinkStep::Nothing { told: false });
        assert!(untold.detail.contains("not told"));
        assert_eq!(
            plan_link(3, SignupCall::Pixel, true).step,
            LinkStep::QueueReversal
        );
    }

    #[test]
    fn a_call_under_way_decides_after_it_ends() {
        let call = SignupCall::Server {
            state: DeliveryState::Pending,
            in_call: true,
        };
        assert_eq!(
            plan_link(1, call, true).step,
            LinkStep::AfterCall { reverse: true }
        );
        assert_eq!(
            plan_link(1, call, false).step,
            LinkStep::AfterCall { reverse: false }
        );
    }

    #[test]
    fn nothing_is_sent_for_a_call_the_tracker_never_accepted() {
        for state in [
            DeliveryState::Failed,
            DeliveryState::Exhausted,
            DeliveryState::Cancelled,
        ] {
            let call = SignupCall::Server {
                state,
                in_call: false,
            };
            assert_eq!(
                plan_link(1, call, true).step,
                LinkStep::Nothing { told: true }
            );
        }
        assert_eq!(
            plan_link(1, SignupCall::None, true).step,
            LinkStep::Nothing { told: true }
        );
    }
}
