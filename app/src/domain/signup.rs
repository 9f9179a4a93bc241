//! A signup reported to `POST /api/v1/signups`: checked field by field so the caller gets every
//! problem at once, each with what to send instead.

use super::eligibility::{PaymentMethod, SignupType};
use super::field_error::FieldError;
use super::link_template::SignupValues;
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const ORDER_ID_MAX_CHARS: usize = 128;
pub const TEXT_MAX_CHARS: usize = 255;

/// One problem with one field of the request.
fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// A valid signup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupIntake {
    pub order_id: String,
    pub account_id: String,
    pub user_name: String,
    pub domain: String,
    pub plan_id: String,
    pub plan_name: String,
    pub amount: String,
    pub full_amount: String,
    pub currency: String,
    pub payment_method: PaymentMethod,
    pub moderated: bool,
    pub trial: bool,
    pub click_id: String,
    pub email: String,
    pub signup_time: DateTime<Utc>,
}

/// Every field the intake accepts.
pub const FIELDS: [&str; 15] = [
    "order_id",
    "account_id",
    "user_name",
    "domain",
    "plan_id",
    "plan_name",
    "amount",
    "full_amount",
    "currency",
    "payment_method",
    "moderated",
    "trial",
    "click_id",
    "email",
    "signup_time",
];

impl SignupIntake {
    /// The values links are rendered with.
    pub fn values(&self, signup_type: Option<SignupType>) -> SignupValues {
        SignupValues {
            amount: self.amount.clone(),
            account_id: self.account_id.clone(),
            user_name: self.user_name.clone(),
            domain: self.domain.clone(),
            plan_id: self.plan_id.clone(),
            plan_name: self.plan_name.clone(),
            full_amount: self.full_amount.clone(),
            order_id: self.order_id.clone(),
            currency: self.currency.clone(),
            signup_type: signup_type
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            click_id: self.click_id.clone(),
            signup_time: self.signup_time.to_rfc3339_opts(SecondsFormat::Secs, true),
            email: self.email.clone(),
            reversal: Default::default(),
        }
    }
}

/// `"19.95"`: digits, optionally a point and one or two more digits. Returned as sent.
pub fn check_amount(raw: &str) -> Result<String, String> {
    let (whole, cents) = raw.split_once('.').unwrap_or((raw, ""));
    let ok = !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && (!raw.contains('.') || (1..=2).contains(&cents.len()))
        && cents.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not an amount; send a decimal string >= 0 with at most two decimals, like \"19.95\""
        ))
    }
}

fn check_currency(raw: &str) -> Result<String, String> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{raw:?} is not an ISO 4217 code; send three capital letters, like \"USD\""
        ))
    }
}

fn check_email(raw: &str) -> Result<String, String> {
    let valid = raw.chars().count() <= 254
        && raw.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(format!("{raw:?} is not an email address"))
    }
}

/// Checks a request body. `default_currency` fills a missing `currency`, `now` a missing
/// `signup_time`.
pub fn parse_intake(
    body: &Value,
    default_currency: &str,
    now: DateTime<Utc>,
) -> Result<SignupIntake, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![err(
            "",
            "the body must be a JSON object with the signup's fields",
        )]);
    };
    let mut fields = FieldReader::new(object, &FIELDS);
    let order_id = fields.text("order_id", true, ORDER_ID_MAX_CHARS);
    let account_id = fields.text("account_id", false, TEXT_MAX_CHARS);
    let user_name = fields.text("user_name", false, TEXT_MAX_CHARS);
    let domain = fields.text("domain", false, TEXT_MAX_CHARS);
    let plan_id = fields.text("plan_id", false, TEXT_MAX_CHARS);
    let plan_name = fields.text("plan_name", false, TEXT_MAX_CHARS);
    let click_id = fields.text("click_id", false, TEXT_MAX_CHARS);
    let amount = fields.checked("amount", check_amount).unwrap_or_default();
    let full_amount = fields
        .checked("full_amount", check_amount)
        .unwrap_or_default();
    let currency = fields
        .checked("currency", check_currency)
        .unwrap_or_else(|| default_currency.to_owned());
    let email = fields.checked("email", check_email).unwrap_or_default();
    let payment_method = fields.payment_method();
    let moderated = fields.flag("moderated");
    let trial = fields.flag("trial");
    let signup_time = fields.time("signup_time", now);

    match payment_method {
        Some(payment_method) if fields.errors.is_empty() => Ok(SignupIntake {
            order_id,
            account_id,
            user_name,
            domain,
            plan_id,
            plan_name,
            amount,
            full_amount,
            currency,
            payment_method,
            moderated,
            trial,
            click_id,
            email,
            signup_time,
        }),
        _ => Err(fields.errors),
    }
}

/// Reads the fields of a request body one by one, collecting every problem in the order it is
/// found (unknown fields first).
pub(super) struct FieldReader<'a> {
    object: &'a Map<String, Value>,
    pub(super) errors: Vec<FieldError>,
}

impl<'a> FieldReader<'a> {
    /// Reads `object`, whose only fields may be `known`.
    pub(super) fn new(object: &'a Map<String, Value>, known: &[&str]) -> Self {
        let errors = object
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|key| {
                err(
                    key,
                    format!("unknown field; the fields are {}", known.join(", ")),
                )
            })
            .collect();
        Self { object, errors }
    }

    pub(super) fn push(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(err(field, message));
    }

    /// Free text of at most `max` characters; a number is taken as its text (for a `required`
    /// field, a whole number from 0 only).
    pub(super) fn text(&mut self, field: &str, required: bool, max: usize) -> String {
        let object = self.object;
        match object.get(field) {
            None | Some(Value::Null) if required => {
                self.push(field, "is required");
                String::new()
            }
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => {
                let count = s.chars().count();
                if required && s.trim().is_empty() {
                    self.push(field, "must not be empty");
                } else if count > max {
                    self.push(
                        field,
                        format!("has {count} characters; at most {max} are allowed"),
                    );
                } else if s.chars().any(char::is_control) {
                    self.push(field, "contains control characters");
                }
                s.clone()
            }
            Some(Value::Number(n)) if !required || n.is_u64() => n.to_string(),
            Some(other) => {
                self.push(field, format!("must be a string, not {}", kind(other)));
                String::new()
            }
        }
    }

    /// An optional string that `check` accepts; `None` when absent or refused.
    pub(super) fn checked(
        &mut self,
        field: &str,
        check: fn(&str) -> Result<String, String>,
    ) -> Option<String> {
        let object = self.object;
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match check(s) {
                Ok(v) => Some(v),
                Err(message) => {
                    self.push(field, message);
                    None
                }
            },
            Some(Value::Number(n)) => {
                self.push(
                    field,
                    format!("send it as a string (\"{n}\"), so no precision is lost"),
                );
                None
            }
            Some(other) => {
                self.push(field, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    /// The required `payment_method`; `None` when absent or refused.
    fn payment_method(&mut self) -> Option<PaymentMethod> {
        let methods = || PaymentMethod::ALL.map(PaymentMethod::as_str).join(", ");
        let object = self.object;
        match object.get("payment_method") {
            Some(Value::String(s)) => PaymentMethod::parse(s).or_else(|| {
                self.push(
                    "payment_method",
                    format!("{s:?} is not a payment method; use one of {}", methods()),
                );
                None
            }),
            None | Some(Value::Null) => {
                self.push(
                    "payment_method",
                    format!("is required: one of {}", methods()),
                );
                None
            }
            Some(other) => {
                self.push(
                    "payment_method",
                    format!("must be a string, not {}", kind(other)),
                );
                None
            }
        }
    }

    /// An optional boolean, false when absent.
    fn flag(&mut self, field: &str) -> bool {
        let object = self.object;
        match object.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.push(field, format!("must be true or false, not {}", kind(other)));
                false
            }
        }
    }

    /// An optional time (RFC 3339); `now` when absent or refused.
    pub(super) fn time(&mut self, field: &str, now: DateTime<Utc>) -> DateTime<Utc> {
        let object = self.object;
        let checked = match object.get(field) {
            None | Some(Value::Null) => return now,
            Some(Value::String(s)) => check_signup_time(s),
            Some(other) => Err(format!("must be a string, not {}", kind(other))),
        };
        checked.unwrap_or_else(|message| {
            self.push(field, message);
            now
        })
    }
}

/// An RFC 3339 time, from 1970 to 9999 in UTC.
fn check_signup_time(raw: &str) -> Result<DateTime<Utc>, String> {
    let Ok(time) = DateTime::parse_from_rfc3339(raw) else {
        return Err(format!(
            "{raw:?} is not an RFC 3339 time; send one like \"2026-11-22T10:15:00Z\""
        ));
    };
    let time = time.with_timezone(&Utc);
    // Found by fuzzing: 0000-01-01T00:00:00+01:00 is year -1 in UTC, which was accepted and then
    // could not be written back as RFC 3339 text.
    if (1970..=9999).contains(&time.year()) {
        Ok(time)
    } else {
        Err(format!(
            "{raw:?} is year {} in UTC; send a time from 1970 to 9999",
            time.year()
        ))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The body in a canonical form (keys sorted, no whitespace), to tell an identical repeat from a
/// different request with the same `order_id`.
pub fn canonical(body: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect::<Map<_, _>>(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(body).to_string()
}

/// Panics unless `outcome` (what [`parse_intake`] made of `body`) keeps the intake's promises:
/// every refusal names a field of the request (or "" for a body that is not an object) and says
/// why, every acceptance holds only values the rules allow, and the repeat detector's canonical
/// form is JSON again. The one oracle of the property tests and the `signup_intake` fuzz target.
#[doc(hidden)]
pub fn assert_intake_invariants(body: &Value, outcome: &Result<SignupIntake, Vec<FieldError>>) {
    match outcome {
        Ok(s) => {
            let object = body.as_object().expect("only an object is accepted");
            assert!(object.keys().all(|k| FIELDS.contains(&k.as_str())));
            assert!(!s.order_id.trim().is_empty());
            assert!(s.order_id.chars().count() <= ORDER_ID_MAX_CHARS);
            for text in [
                &s.order_id,
                &s.account_id,
                &s.user_name,
                &s.domain,
                &s.plan_id,
                &s.plan_name,
                &s.click_id,
                &s.email,
            ] {
                assert!(text.chars().count() <= TEXT_MAX_CHARS, "{text:?}");
                assert!(!text.chars().any(char::is_control), "{text:?}");
            }
            for amount in [&s.amount, &s.full_amount] {
                assert!(
                    amount.is_empty() || check_amount(amount).is_ok(),
                    "{amount:?}"
                );
            }
            assert!(check_currency(&s.currency).is_ok(), "{:?}", s.currency);
            assert!(s.email.is_empty() || check_email(&s.email).is_ok());
            assert_eq!(
                PaymentMethod::parse(s.payment_method.as_str()),
                Some(s.payment_method)
            );
            let _ = s.values(Some(SignupType::Card));
            let _ = s.values(None);
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a refusal says why");
            for e in errors {
                assert!(!e.message.is_empty());
                match body.as_object() {
                    Some(object) => assert!(
                        FIELDS.contains(&e.field.as_str()) || object.contains_key(&e.field),
                        "{e:?}"
                    ),
                    None => assert_eq!(e.field, ""),
                }
            }
        }
    }
    // The repeat detector's form of the body is JSON again.
    assert!(serde_json::from_str::<Value>(&canonical(body)).is_ok());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:15:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_complete_card_signup_is_accepted() {
        let body = json!({
            "order_id": "A-1", "account_id": "100042", "user_name": "jane", "domain": "jane.example",
            "plan_id": "7", "plan_name": "Pro", "amount": "19.95", "full_amount": "23.74",
            "currency": "EUR", "payment_method": "credit_card", "moderated": false, "trial": false,
            "click_id": "c1", "email": "jane@example.com", "signup_time": "2026-11-20T08:00:00+01:00"
        });
        let s = parse_intake(&body, "USD", now()).unwrap();
        assert_eq!(s.currency, "EUR");
        assert_eq!(s.signup_time.to_rfc3339(), "2026-11-20T07:00:00+00:00");
        assert_eq!(s.values(Some(SignupType::Card)).signup_type, "card");
        assert_eq!(
            s.values(Some(SignupType::Card)).signup_time,
            "2026-11-20T07:00:00Z"
        );
    }

    #[test]
    fn signup_times_outside_1970_to_9999_in_utc_are_refused() {
        for (time, year) in [
            ("0000-01-01T00:00:00+01:00", -1),
            ("9999-12-31T23:30:00-01:00", 10000),
            ("1969-12-31T23:59:59Z", 1969),
        ] {
            let body = json!({"order_id": "A-3", "payment_method": "paypal", "signup_time": time});
            let errors = parse_intake(&body, "USD", now()).unwrap_err();
            assert_eq!(errors.len(), 1, "{time}");
            assert_eq!(errors[0].field, "signup_time");
            assert_eq!(
                errors[0].message,
                format!("{time:?} is year {year} in UTC; send a time from 1970 to 9999")
            );
        }
        let edge = json!({"order_id": "A-4", "payment_method": "paypal", "signup_time": "9999-12-31T23:59:59Z"});
        assert!(parse_intake(&edge, "USD", now()).is_ok());
    }

    #[test]
    fn defaults_fill_currency_and_time() {
        let s = parse_intake(
            &json!({"order_id": "A-2", "payment_method": "paypal"}),
            "USD",
            now(),
        )
        .unwrap();
        assert_eq!(s.currency, "USD");
        assert_eq!(s.signup_time, now());
        assert!(!s.moderated && !s.trial);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let body = json!({
            "order_id": "", "amount": "19.999", "full_amount": 23.74, "currency": "usd",
            "payment_method": "bitcoin", "moderated": "no", "email": "nobody",
            "signup_time": "yesterday", "paymnet": 1
        });
        let errors = parse_intake(&body, "USD", now()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "paymnet",
                "order_id",
                "amount",
                "full_amount",
                "currency",
                "email",
                "payment_method",
                "moderated",
                "signup_time"
            ]
        );
        assert!(errors[0].message.contains("unknown field"));
        assert!(errors[3].message.contains("as a string (\"23.74\")"));
    }

    #[test]
    fn amounts_are_decimal_strings_with_two_decimals_at_most() {
        for ok in ["0", "19", "19.9", "19.95", "0.00"] {
            assert!(check_amount(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.234",
            "1e3",
            "1,5",
            " 1",
            "12345678901234",
        ] {
            assert!(check_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_order_id_is_required_and_limited() {
        let missing = parse_intake(&json!({"payment_method": "check"}), "USD", now()).unwrap_err();
        assert_eq!(missing[0].field, "order_id");
        let long = "x".repeat(129);
        let too_long = parse_intake(
            &json!({"order_id": long, "payment_method": "check"}),
            "USD",
            now(),
        )
        .unwrap_err();
        assert!(too_long[0].message.contains("129 characters"));
        assert!(parse_intake(&json!([1]), "USD", now()).is_err());
    }

    #[test]
    fn the_canonical_form_ignores_key_order_and_spacing() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": 2, "x": 1}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":1,"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical(&a), canonical(&b));
        assert_ne!(
            canonical(&a),
            canonical(&json!({"b": 2, "a": {"x": 1, "y": 2}}))
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;

        fn now() -> DateTime<Utc> {
            super::now()
        }

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<u64>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                any::<String>().prop_map(Value::String),
            ]
        }

        fn field_name() -> impl Strategy<Value = String> {
            proptest::sample::select(FIELDS.to_vec()).prop_map(|f| f.to_owned())
        }

        fn any_json() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                    proptest::collection::btree_map(
                        prop_oneof![field_name(), any::<String>()],
                        inner,
                        0..8
                    )
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A value for one of the intake's fields: valid often enough to reach acceptance, and
        /// any JSON otherwise.
        fn field_value() -> impl Strategy<Value = Value> {
            prop_oneof![
                leaf(),
                "[0-9]{1,13}(\\.[0-9]{0,3})?".prop_map(Value::from),
                "[A-Za-z]{3}".prop_map(Value::from),
                proptest::sample::select(PaymentMethod::ALL.to_vec())
                    .prop_map(|m| Value::from(m.as_str())),
                "[a-z.+]{0,8}@[a-z.]{0,8}".prop_map(Value::from),
                "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
                    .prop_map(Value::from),
                "[ -~]{0,300}".prop_map(Value::from),
                any_json(),
            ]
        }

        /// A value the rules accept for `field`.
        fn valid_for(field: &str) -> BoxedStrategy<Value> {
            let free_text = prop_oneof![
                "[^\\p{Cc}]{0,255}".prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                Just(Value::Null),
            ];
            match field {
                "order_id" => prop_oneof![
                    "[!-~][^\\p{Cc}]{0,127}".prop_map(Value::from),
                    any::<u64>().prop_map(Value::from),
                ]
                .boxed(),
                "amount" | "full_amount" => {
                    "[0-9]{1,12}(\\.[0-9]{1,2})?".prop_map(Value::from).boxed()
                }
                "currency" => "[A-Z]{3}".prop_map(Value::from).boxed(),
                "payment_method" => proptest::sample::select(PaymentMethod::ALL.to_vec())
                    .prop_map(|m| Value::from(m.as_str()))
                    .boxed(),
                "moderated" | "trial" => any::<bool>().prop_map(Value::from).boxed(),
                "email" => "[a-z0-9.+]{1,20}@[a-z0-9]{1,20}\\.[a-z]{2,6}"
                    .prop_map(Value::from)
                    .boxed(),
                "signup_time" => (0i64..253_402_300_800, -1439i32..1440)
                    .prop_map(|(secs, minutes)| {
                        let offset = chrono::FixedOffset::east_opt(minutes * 60).unwrap();
                        let time = DateTime::from_timestamp(secs, 0).unwrap();
                        Value::from(time.with_timezone(&offset).to_rfc3339())
                    })
                    .boxed(),
                _ => free_text.boxed(),
            }
        }

        /// Objects with the intake's fields, each absent, valid, or anything: accepted often
        /// enough that the rules on accepted values are exercised, refused for every reason.
        fn field_shaped_body() -> impl Strategy<Value = Value> {
            let fields: Vec<_> = FIELDS
                .iter()
                .map(|&field| {
                    prop_oneof![
                        3 => Just(None),
                        12 => valid_for(field).prop_map(Some),
                        1 => field_value().prop_map(Some),
                    ]
                })
                .collect();
            (fields, proptest::option::weighted(0.1, any::<String>())).prop_map(
                |(values, extra)| {
                    let mut object: Map<String, Value> = FIELDS
                        .iter()
                        .zip(values)
                        .filter_map(|(field, value)| Some(((*field).to_owned(), value?)))
                        .collect();
                    if let Some(key) = extra {
                        object.entry(key).or_insert(Value::Null);
                    }
                    Value::Object(object)
                },
            )
        }

        /// The property below would prove little if nearly every body were refused.
        #[test]
        fn field_shaped_bodies_are_often_accepted() {
            let mut runner = proptest::test_runner::TestRunner::deterministic();
            let strategy = field_shaped_body();
            let accepted = (0..500)
                .filter(|_| {
                    let body = strategy.new_tree(&mut runner).unwrap().current();
                    parse_intake(&body, "USD", now()).is_ok()
                })
                .count();
            assert!(accepted >= 100, "{accepted} of 500 accepted");
        }

        proptest! {
            #![proptest_config(crate::domain::proptest_config(1500))]

            #[test]
            fn any_json_value_yields_a_valid_signup_or_field_errors(body in any_json()) {
                assert_intake_invariants(&body, &parse_intake(&body, "USD", now()));
            }

            #[test]
            fn field_shaped_bodies_yield_a_valid_signup_or_field_errors(body in field_shaped_body()) {
                assert_intake_invariants(&body, &parse_intake(&body, "USD", now()));
            }

            #[test]
            fn any_text_as_a_body_never_panics(raw in any::<String>()) {
                if let Ok(body) = serde_json::from_str::<Value>(&raw) {
                    assert_intake_invariants(&body, &parse_intake(&body, "USD", now()));
                }
            }

            #[test]
            fn json_like_text_as_a_body_never_panics(raw in r#"\{("[a-z_]{0,14}":("[ -~]{0,20}"|-?[0-9.eE+]{1,12}|true|null|\[\]|\{\}),?){0,8}\}"#) {
                if let Ok(body) = serde_json::from_str::<Value>(&raw) {
                    assert_intake_invariants(&body, &parse_intake(&body, "USD", now()));
                }
            }

            #[test]
            fn a_valid_signup_is_accepted_as_sent(
                order_id in "[A-Za-z0-9][A-Za-z0-9_-]{0,127}",
                user_name in "[a-z0-9.]{0,255}",
                amount in "[0-9]{1,12}(\\.[0-9]{1,2})?",
                currency in "[A-Z]{3}",
                method in proptest::sample::select(PaymentMethod::ALL.to_vec()),
                trial in any::<bool>(),
                email in "[a-z0-9.+]{1,20}@[a-z0-9]{1,20}\\.[a-z]{2,6}",
            ) {
                let body = serde_json::json!({
                    "order_id": order_id, "user_name": user_name, "amount": amount,
                    "full_amount": amount, "currency": currency,
                    "payment_method": method.as_str(), "trial": trial, "email": email,
                });
                let s = parse_intake(&body, "EUR", now()).unwrap();
                prop_assert_eq!(&s.order_id, &order_id);
                prop_assert_eq!(&s.user_name, &user_name);
                prop_assert_eq!(&s.amount, &amount);
                prop_assert_eq!(&s.currency, &currency);
                prop_assert_eq!(s.payment_method, method);
                prop_assert_eq!(s.trial, trial);
                prop_assert_eq!(&s.email, &email);
                prop_assert_eq!(s.signup_time, now());
            }
        }
    }
}
