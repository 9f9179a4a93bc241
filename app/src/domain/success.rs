//! What "delivered" means for one link: a 2xx answer and, where the admin set them, a reply body
//! that contains one text and not another. Some trackers answer 200 when they refuse a
//! conversion (TUNE: `success=false; err_msg=...`), so status alone would call that delivered.

use super::retry::{classify, Verdict};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// The longest text a rule may look for.
pub const RULE_MAX_CHARS: usize = 200;
/// How much of a refusing reply the attempt log and Send test quote.
pub const QUOTE_CHARS: usize = 200;

/// A link's reply rules; an empty text is no rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRules {
    /// The reply body must contain this text.
    #[serde(default)]
    pub contains: String,
    /// The reply body must not contain this text.
    #[serde(default)]
    pub not_contains: String,
}

/// Why a rule's text is refused, for the field it was typed in.
pub fn check_rule_text(text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > RULE_MAX_CHARS {
        return Err(format!(
            "has {chars} characters; at most {RULE_MAX_CHARS} are allowed"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(
            "contains a line break or another control character; write the text on one line"
                .to_owned(),
        );
    }
    if !text.is_empty() && text.trim().is_empty() {
        return Err("is only spaces; leave it empty for no rule".to_owned());
    }
    Ok(())
}

/// How an answer is judged: what happens to the delivery, and the rule's verdict in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    pub verdict: Verdict,
    /// Which reply rule passed (for a delivered call) or which one the reply broke (a refusal,
    /// not retried: the tracker would answer the same again).
    pub rule: Option<RuleResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleResult {
    Passed(String),
    Broken(String),
}

impl RuleResult {
    pub fn text(&self) -> &str {
        match self {
            RuleResult::Passed(t) | RuleResult::Broken(t) => t,
        }
    }
}

impl ReplyRules {
    pub fn is_empty(&self) -> bool {
        self.contains.is_empty() && self.not_contains.is_empty()
    }

    /// The rules' verdict on a 2xx reply's body: passed with what was checked, or broken.
    pub fn apply(&self, body: &str) -> Option<RuleResult> {
        if self.is_empty() {
            return None;
        }
        let quote = || {
            let mut quoted: String = body.chars().take(QUOTE_CHARS).collect();
            if body.chars().count() > QUOTE_CHARS {
                quoted.push('…');
            }
            quoted
        };
        if !self.contains.is_empty() && !body.contains(&self.contains) {
            return Some(RuleResult::Broken(format!(
                "the tracker refused it: the reply does not contain {:?}; it was {:?}",
                self.contains,
                quote()
            )));
        }
        if !self.not_contains.is_empty() && body.contains(&self.not_contains) {
            return Some(RuleResult::Broken(format!(
                "the tracker refused it: the reply contains {:?}; it was {:?}",
                self.not_contains,
                quote()
            )));
        }
        let mut passed = Vec::new();
        if !self.contains.is_empty() {
            passed.push(format!("contains {:?}", self.contains));
        }
        if !self.not_contains.is_empty() {
            passed.push(format!("does not contain {:?}", self.not_contains));
        }
        Some(RuleResult::Passed(format!(
            "the reply {}",
            passed.join(" and ")
        )))
    }

    /// Judges an answer: the status first ([`classify`]: 2xx delivered, 3xx failed, some
    /// statuses retried), then, for a 2xx, the body rules.
    pub fn judge(&self, status: Option<u16>, retry_after: Option<TimeDelta>, body: &str) -> Judged {
        let verdict = classify(status, retry_after);
        if verdict != Verdict::Delivered {
            return Judged {
                verdict,
                rule: None,
            };
        }
        match self.apply(body) {
            Some(RuleResult::Broken(why)) => Judged {
                verdict: Verdict::Failed,
                rule: Some(RuleResult::Broken(why)),
            },
            rule => Judged { verdict, rule },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tune() -> ReplyRules {
        ReplyRules {
            contains: "success=true".into(),
            not_contains: "err_msg".into(),
        }
    }

    #[test]
    fn a_tune_refusal_with_status_200_is_failed_not_retried_and_quoted() {
        let judged = tune().judge(Some(200), None, "success=false; err_msg=Invalid offer");
        assert_eq!(judged.verdict, Verdict::Failed);
        let Some(RuleResult::Broken(why)) = judged.rule else {
            panic!("the rule is broken")
        };
        assert!(why.contains("does not contain \"success=true\""), "{why}");
        assert!(why.contains("err_msg=Invalid offer"), "{why}");
    }

    #[test]
    fn a_reply_that_passes_both_rules_is_delivered_and_says_so() {
        let judged = tune().judge(Some(200), None, "success=true; transaction_id=9");
        assert_eq!(judged.verdict, Verdict::Delivered);
        assert_eq!(
            judged.rule,
            Some(RuleResult::Passed(
                "the reply contains \"success=true\" and does not contain \"err_msg\"".into()
            ))
        );
    }

    #[test]
    fn a_forbidden_text_breaks_the_rule_even_beside_the_wanted_one() {
        let judged = tune().judge(Some(200), None, "success=true; err_msg=duplicate");
        assert_eq!(judged.verdict, Verdict::Failed);
        assert!(judged.rule.unwrap().text().contains("contains \"err_msg\""));
    }

    #[test]
    fn without_rules_the_status_decides_and_a_redirect_is_a_failure() {
        let none = ReplyRules::default();
        assert_eq!(none.judge(Some(204), None, "").verdict, Verdict::Delivered);
        assert_eq!(none.judge(Some(204), None, "").rule, None);
        assert_eq!(none.judge(Some(302), None, "").verdict, Verdict::Failed);
        assert_eq!(
            none.judge(Some(503), None, "").verdict,
            Verdict::Retry { retry_after: None }
        );
    }

    #[test]
    fn rules_are_not_applied_to_a_retried_answer() {
        let judged = tune().judge(Some(500), None, "success=false");
        assert_eq!(judged.verdict, Verdict::Retry { retry_after: None });
        assert_eq!(judged.rule, None);
    }

    #[test]
    fn a_long_reply_is_quoted_to_two_hundred_characters() {
        let body = "x".repeat(500);
        let judged = tune().judge(Some(200), None, &body);
        let why = judged.rule.unwrap().text().to_owned();
        assert!(why.contains(&format!("{}…", "x".repeat(200))), "{why}");
        assert!(!why.contains(&"x".repeat(201)));
    }

    #[test]
    fn rule_texts_are_one_line_of_at_most_200_characters() {
        assert!(check_rule_text("").is_ok());
        assert!(check_rule_text("success=true").is_ok());
        assert!(check_rule_text(&"a".repeat(201)).is_err());
        assert!(check_rule_text("a\nb").unwrap_err().contains("one line"));
        assert!(check_rule_text("   ").is_err());
    }
}
