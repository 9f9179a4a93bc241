//! Anything Explodely could answer to createaffcontract. The input is an optional first line
//! with the HTTP status (`200`), then the body; without a status line the status is 200. The
//! reader never panics, a 5xx is never read as an answer, whitespace around the body changes
//! nothing, and what it reads is well formed: a created contract has a trimmed, non-empty id,
//! an unknown error code is trimmed, not empty and not one of the documented ones.

#![no_main]

use app::domain::contract::{parse_reply, Reply};
use libfuzzer_sys::fuzz_target;

const DOCUMENTED: [&str; 7] = [
    "invalidapikey",
    "invalid_partnerusername",
    "partner_contract_exists",
    "duplicate_contract",
    "contract_exists",
    "commission_limit_exceeded",
    "failed",
];

fuzz_target!(|data: &[u8]| {
    // reqwest's `text()` decodes the body lossily, as here.
    let text = String::from_utf8_lossy(data);
    let (status, body) = match text.split_once('\n') {
        Some((first, rest)) => match first.trim().parse::<u16>() {
            Ok(status) => (status, rest),
            Err(_) => (200, &*text),
        },
        None => (200, &*text),
    };

    let reply = parse_reply(status, body);
    assert_eq!(parse_reply(status, &format!(" \r\n\t{body}\n ")), reply);
    if status >= 500 {
        assert!(
            matches!(reply, Reply::Unexpected(_)),
            "{status} read as {reply:?}"
        );
    }
    match &reply {
        Reply::Created { contract_id } => {
            assert!(!contract_id.is_empty());
            assert_eq!(contract_id.trim(), contract_id);
        }
        Reply::UnknownError(code) => {
            assert!(!code.is_empty(), "an error without a code is no error");
            assert_eq!(code.trim(), code);
            assert!(!DOCUMENTED.contains(&code.as_str()), "{code} is documented");
        }
        Reply::Refused(known) => assert!(!known.message().is_empty()),
        Reply::Unexpected(why) => assert!(!why.is_empty()),
    }
    // The reply is stored and shown again as JSON.
    let stored = serde_json::to_string(&reply).unwrap();
    assert_eq!(serde_json::from_str::<Reply>(&stored).unwrap(), reply);
});
