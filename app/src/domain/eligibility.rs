//! Which signups count for the affiliate program, from H-Sphere's rules: completed credit-card
//! signups that are not moderated, and trials that are not moderated. A moderated signup (check,
//! PayPal, WorldPay, 2CheckOut, GestPay or any other) never counts, even once it is approved.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    CreditCard,
    Check,
    Paypal,
    Worldpay,
    #[serde(rename = "2checkout")]
    TwoCheckout,
    Gestpay,
    Other,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 7] = [
        PaymentMethod::CreditCard,
        PaymentMethod::Check,
        PaymentMethod::Paypal,
        PaymentMethod::Worldpay,
        PaymentMethod::TwoCheckout,
        PaymentMethod::Gestpay,
        PaymentMethod::Other,
    ];

    /// The API's and the database's name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::CreditCard => "credit_card",
            PaymentMethod::Check => "check",
            PaymentMethod::Paypal => "paypal",
            PaymentMethod::Worldpay => "worldpay",
            PaymentMethod::TwoCheckout => "2checkout",
            PaymentMethod::Gestpay => "gestpay",
            PaymentMethod::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    /// As people write it.
    pub fn label(self) -> &'static str {
        match self {
            PaymentMethod::CreditCard => "credit-card",
            PaymentMethod::Check => "check",
            PaymentMethod::Paypal => "PayPal",
            PaymentMethod::Worldpay => "WorldPay",
            PaymentMethod::TwoCheckout => "2CheckOut",
            PaymentMethod::Gestpay => "GestPay",
            PaymentMethod::Other => "other-payment",
        }
    }
}

/// `${signup_type}`: what kind of sale an eligible signup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignupType {
    Card,
    Trial,
}

impl SignupType {
    pub fn as_str(self) -> &'static str {
        match self {
            SignupType::Card => "card",
            SignupType::Trial => "trial",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `Some` when the signup counts.
    pub signup_type: Option<SignupType>,
    /// Why, in words a person can read.
    pub reason: String,
}

impl Decision {
    pub fn eligible(&self) -> bool {
        self.signup_type.is_some()
    }
}

/// The decision for a signup, before the program switch and the links are considered.
pub fn decide(method: PaymentMethod, moderated: bool, trial: bool) -> Decision {
    let kind = if trial { "trial" } else { "signup" };
    if moderated {
        return Decision {
            signup_type: None,
            reason: format!(
                "moderated {} {kind}: affiliate programs only count non-moderated signups",
                method.label()
            ),
        };
    }
    if trial {
        return Decision {
            signup_type: Some(SignupType::Trial),
            reason: "non-moderated trial: counts as a sale".to_owned(),
        };
    }
    if method == PaymentMethod::CreditCard {
        return Decision {
            signup_type: Some(SignupType::Card),
            reason: "non-moderated credit-card signup: counts as a sale".to_owned(),
        };
    }
    Decision {
        signup_type: None,
        reason: format!(
            "{} signup: affiliate programs only count credit-card signups and trials",
            method.label()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every payment method × moderated × trial.
    #[test]
    fn the_eligibility_table() {
        for method in PaymentMethod::ALL {
            for moderated in [false, true] {
                for trial in [false, true] {
                    let d = decide(method, moderated, trial);
                    let expected = match (moderated, trial, method) {
                        (true, _, _) => None,
                        (false, true, _) => Some(SignupType::Trial),
                        (false, false, PaymentMethod::CreditCard) => Some(SignupType::Card),
                        (false, false, _) => None,
                    };
                    assert_eq!(
                        d.signup_type, expected,
                        "{method:?} moderated={moderated} trial={trial}"
                    );
                    assert!(!d.reason.is_empty());
                }
            }
        }
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(
            decide(PaymentMethod::Paypal, true, false).reason,
            "moderated PayPal signup: affiliate programs only count non-moderated signups"
        );
        assert_eq!(
            decide(PaymentMethod::Check, false, false).reason,
            "check signup: affiliate programs only count credit-card signups and trials"
        );
    }

    #[test]
    fn methods_round_trip_through_their_names() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(PaymentMethod::parse("bitcoin"), None);
    }
}
