//! Which counted signups a link fires for: plans in (or not in) a list, a minimum amount, and
//! the signup types (card, trial). A link that is skipped says why on the signup's page.

use super::eligibility::SignupType;
use super::signup::check_amount;
use serde::{Deserialize, Serialize};

/// The most plan ids one list may hold.
pub const MAX_PLANS: usize = 100;

/// How the plan list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanRule {
    /// Every plan.
    #[default]
    Any,
    /// Only the plans listed.
    Only,
    /// Every plan except those listed.
    Except,
}

impl PlanRule {
    pub const ALL: [PlanRule; 3] = [PlanRule::Any, PlanRule::Only, PlanRule::Except];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanRule::Any => "any",
            PlanRule::Only => "only",
            PlanRule::Except => "except",
        }
    }

    pub fn parse(raw: &str) -> Option<PlanRule> {
        PlanRule::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            PlanRule::Any => "Any plan",
            PlanRule::Only => "Only these plans",
            PlanRule::Except => "Every plan except these",
        }
    }
}

/// Which signup types a link fires for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeRule {
    #[default]
    Both,
    #[serde(rename = "card")]
    CardOnly,
    #[serde(rename = "trial")]
    TrialOnly,
}

impl TypeRule {
    pub const ALL: [TypeRule; 3] = [TypeRule::Both, TypeRule::CardOnly, TypeRule::TrialOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            TypeRule::Both => "both",
            TypeRule::CardOnly => "card",
            TypeRule::TrialOnly => "trial",
        }
    }

    pub fn parse(raw: &str) -> Option<TypeRule> {
        TypeRule::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            TypeRule::Both => "Card signups and trials",
            TypeRule::CardOnly => "Card signups only",
            TypeRule::TrialOnly => "Trials only",
        }
    }
}

/// A link's conditions as typed on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionsInput {
    #[serde(default)]
    pub plan_rule: PlanRule,
    /// Plan ids separated by commas or spaces.
    #[serde(default)]
    pub plans: String,
    /// The least amount (before tax) the link fires for; empty for any.
    #[serde(default)]
    pub min_amount: String,
    #[serde(default)]
    pub types: TypeRule,
}

/// Valid conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    plan_rule: PlanRule,
    plans: Vec<String>,
    /// In cents.
    min_cents: Option<u64>,
    types: TypeRule,
}

/// An amount string already accepted by [`check_amount`], in cents.
pub fn cents(amount: &str) -> Option<u64> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let mut fraction = fraction.to_owned();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(fraction.parse::<u64>().ok()?)
}

impl ConditionsInput {
    /// The conditions, or each field's problem: (`plans` or `min_amount`, what to fix).
    pub fn validate(&self) -> Result<Conditions, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let plans: Vec<String> = self
            .plans
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if plans.len() > MAX_PLANS {
            errors.push((
                "plans",
                format!(
                    "lists {} plans; at most {MAX_PLANS} are allowed",
                    plans.len()
                ),
            ));
        } else if let Some(bad) = plans
            .iter()
            .find(|p| p.chars().count() > 255 || p.chars().any(char::is_control))
        {
            errors.push(("plans", format!("{bad:?} is not a plan id")));
        }
        if self.plan_rule != PlanRule::Any && plans.is_empty() {
            errors.push((
                "plans",
                "list the plan ids, separated by commas (e.g. 7, 8), or choose Any plan".to_owned(),
            ));
        }
        let min_cents = match self.min_amount.trim() {
            "" => None,
            raw => match check_amount(raw) {
                Ok(amount) => cents(&amount),
                Err(message) => {
                    errors.push(("min_amount", message));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Conditions {
            plan_rule: self.plan_rule,
            plans,
            min_cents,
            types: self.types,
        })
    }
}

impl Conditions {
    /// Every counted signup.
    pub fn none() -> Self {
        Self::default()
    }

    /// `Err` with the reason in words when the link does not fire for this signup.
    pub fn check(
        &self,
        plan_id: &str,
        amount: &str,
        signup_type: SignupType,
    ) -> Result<(), String> {
        let listed = || self.plans.join(", ");
        match self.plan_rule {
            PlanRule::Only if !self.plans.iter().any(|p| p == plan_id) => {
                return Err(format!("plan {plan_id:?} is not one of {}", listed()));
            }
            PlanRule::Except if self.plans.iter().any(|p| p == plan_id) => {
                return Err(format!("plan {plan_id:?} is excluded ({})", listed()));
            }
            _ => {}
        }
        if let Some(min) = self.min_cents {
            if cents(amount).unwrap_or(0) < min {
                let shown = if amount.is_empty() { "none" } else { amount };
                return Err(format!(
                    "the amount {shown} is below the minimum of {}.{:02}",
                    min / 100,
                    min % 100
                ));
            }
        }
        match (signup_type, self.types) {
            (SignupType::Card, TypeRule::TrialOnly) => Err("it fires for trials only".to_owned()),
            (SignupType::Trial, TypeRule::CardOnly) => {
                Err("it fires for card signups only".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// How a link took part in a signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fired {
    /// A server-to-server delivery was queued.
    Server,
    /// A browser pixel on the signup-complete page.
    Pixel,
    /// Its conditions left this signup out.
    Skipped,
}

/// What one link did for a signup, stored with it (`signups.link_outcomes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkOutcome {
    pub link: i64,
    pub fired: Fired,
    /// For a skipped link, why: "link 3: plan "12" is not one of 7, 8".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(plan_rule: PlanRule, plans: &str, min: &str) -> ConditionsInput {
        ConditionsInput {
            plan_rule,
            plans: plans.into(),
            min_amount: min.into(),
            ..ConditionsInput::default()
        }
    }

    #[test]
    fn a_plan_not_in_the_list_is_skipped_with_the_list_named() {
        let c = input(PlanRule::Only, "7, 8", "").validate().unwrap();
        assert_eq!(
            c.check("12", "10", SignupType::Card),
            Err("plan \"12\" is not one of 7, 8".to_owned())
        );
        assert_eq!(c.check("8", "10", SignupType::Card), Ok(()));
    }

    #[test]
    fn an_excluded_plan_is_skipped() {
        let c = input(PlanRule::Except, "3 4", "").validate().unwrap();
        assert!(c
            .check("3", "10", SignupType::Card)
            .unwrap_err()
            .contains("excluded"));
        assert_eq!(c.check("5", "10", SignupType::Card), Ok(()));
    }

    #[test]
    fn an_amount_below_the_minimum_is_skipped() {
        let c = input(PlanRule::Any, "", "10").validate().unwrap();
        assert_eq!(
            c.check("1", "9.99", SignupType::Card),
            Err("the amount 9.99 is below the minimum of 10.00".to_owned())
        );
        assert_eq!(c.check("1", "10.00", SignupType::Card), Ok(()));
        assert_eq!(c.check("1", "10.5", SignupType::Card), Ok(()));
        assert!(c.check("1", "", SignupType::Card).is_err());
    }

    #[test]
    fn signup_types_can_be_left_out() {
        let c = ConditionsInput {
            types: TypeRule::CardOnly,
            ..ConditionsInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(
            c.check("1", "0", SignupType::Trial),
            Err("it fires for card signups only".to_owned())
        );
        assert_eq!(c.check("1", "0", SignupType::Card), Ok(()));
    }

    #[test]
    fn no_conditions_fire_for_every_counted_signup() {
        let c = ConditionsInput::default().validate().unwrap();
        assert_eq!(c, Conditions::none());
        assert_eq!(c.check("", "", SignupType::Trial), Ok(()));
    }

    #[test]
    fn bad_conditions_say_what_to_fix() {
        let errors = ConditionsInput {
            plan_rule: PlanRule::Only,
            plans: String::new(),
            min_amount: "ten".into(),
            types: TypeRule::Both,
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["plans", "min_amount"]);
    }

    #[test]
    fn rules_are_stored_as_the_form_posts_them() {
        for rule in TypeRule::ALL {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
        }
        for rule in PlanRule::ALL {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.as_str());
        }
    }

    #[test]
    fn amounts_become_cents() {
        assert_eq!(cents("19.95"), Some(1995));
        assert_eq!(cents("19.9"), Some(1990));
        assert_eq!(cents("19"), Some(1900));
    }
}
