//! A link rendered with any signup's values. The input is the link, a newline, then the values
//! separated by NUL bytes in the tokens' order (`${amount}`, `${account_id}`, …; missing ones
//! are empty). Rendering never panics, and the values change only the places they fill: every
//! character that is not part of an encoded value (`/ ? # & = : @` …) comes out exactly as in
//! the link rendered with empty values, so the scheme, host, port, path structure, parameters
//! and fragment are the link's own.

#![no_main]

use app::domain::link_template::{LinkTemplate, SignupValues, Token};
use app::domain::percent::{encode_component, is_unreserved};
use libfuzzer_sys::fuzz_target;

fn values_from(mut parts: impl Iterator<Item = String>) -> SignupValues {
    let mut next = || parts.next().unwrap_or_default();
    SignupValues {
        amount: next(),
        account_id: next(),
        user_name: next(),
        domain: next(),
        plan_id: next(),
        plan_name: next(),
        full_amount: next(),
        order_id: next(),
        currency: next(),
        signup_type: next(),
        click_id: next(),
        signup_time: next(),
        email: next(),
    }
}

/// The characters a rendered value cannot contain.
fn structure(url: &str) -> String {
    url.chars()
        .filter(|&c| !(c == '%' || (c.is_ascii() && is_unreserved(c as u8))))
        .collect()
}

fn decode(encoded: &str) -> Vec<u8> {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (link, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (data, &[][..]),
    };
    let link = String::from_utf8_lossy(link);
    let Ok(Some(template)) = LinkTemplate::parse_slot(&link) else {
        return;
    };
    let values = values_from(
        rest.split(|&b| b == 0)
            .map(|part| String::from_utf8_lossy(part).into_owned()),
    );

    for token in Token::ALL {
        let value = values.get(token);
        let encoded = encode_component(value);
        assert!(encoded.bytes().all(|b| b == b'%' || is_unreserved(b)));
        assert_eq!(decode(&encoded), value.as_bytes(), "encoding loses nothing");
    }

    let blank = template.render(&SignupValues::default());
    let rendered = template.render(&values);
    assert_eq!(structure(&rendered), structure(&blank), "{rendered}");
    assert!(!rendered
        .chars()
        .any(|c| c.is_whitespace() || c.is_control()));

    if let Ok(blank) = url::Url::parse(&blank) {
        let url = url::Url::parse(&rendered)
            .unwrap_or_else(|e| panic!("{rendered:?} does not parse ({e}) but {blank} did"));
        assert_eq!(url.scheme(), blank.scheme());
        assert_eq!(url.username(), blank.username());
        assert_eq!(url.password(), blank.password());
        assert_eq!(url.host_str(), blank.host_str());
        assert_eq!(url.port(), blank.port());
        assert_eq!(url.fragment().is_some(), blank.fragment().is_some());
        assert_eq!(
            url.query().map(|q| q.matches('&').count()),
            blank.query().map(|q| q.matches('&').count())
        );
    }
});
