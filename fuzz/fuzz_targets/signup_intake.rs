//! Any request body sent to `POST /api/v1/signups`, taken as the endpoint takes it: bytes,
//! then `serde_json::from_slice`, then `parse_intake`, then the canonical form the repeat
//! detector hashes. Nothing panics; the answer is a signup whose every value obeys the rules,
//! or a list of errors each naming a field of the request; an accepted signup's values go
//! into a link and come back out of the URL unchanged.

#![no_main]

use app::domain::eligibility::SignupType;
use app::domain::link_template::{LinkTemplate, Token};
use app::domain::signup::{assert_intake_invariants, parse_intake, SignupIntake};
use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Beyond the domain's own invariants: every value survives a trip through a link and back out
/// of the URL.
fn check_link_round_trip(s: &SignupIntake) {
    let link: String = std::iter::once("https://tracker.example/t?x=1".to_owned())
        .chain(
            Token::ALL
                .iter()
                .map(|t| format!("&{}={}", t.name(), t.placeholder())),
        )
        .collect();
    let template = LinkTemplate::parse(&link).unwrap();
    for signup_type in [None, Some(SignupType::Card), Some(SignupType::Trial)] {
        let values = s.values(signup_type);
        let url = url::Url::parse(&template.render(&values)).unwrap();
        assert_eq!(url.host_str(), Some("tracker.example"));
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs.len(), 1 + Token::ALL.len());
        for (token, (name, value)) in Token::ALL.iter().zip(&pairs[1..]) {
            assert_eq!(name, token.name());
            assert_eq!(value, values.get(*token));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let now: DateTime<Utc> = DateTime::from_timestamp(1_795_349_700, 0).unwrap();
    let outcome = parse_intake(&body, "USD", now);
    assert_intake_invariants(&body, &outcome);
    match &outcome {
        Ok(signup) => check_link_round_trip(signup),
        // The 422 answer lists them as JSON.
        Err(errors) => {
            serde_json::to_string(errors).unwrap();
        }
    }
});
