//! Any text as an affiliate link: parsing never panics, an accepted link spells its source
//! again from its pieces and renders to a URL with the template's own scheme and host, and a
//! refusal points at a character inside the text.

#![no_main]

use app::domain::link_template::{LinkError, LinkTemplate, Piece, SignupValues, MAX_LINK_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The form sends text; invalid UTF-8 arrives replaced, as a browser would send it.
    let raw = String::from_utf8_lossy(data);
    let chars = raw.chars().count();
    match LinkTemplate::parse_slot(&raw) {
        Ok(None) => assert!(raw.is_empty()),
        Ok(Some(template)) => {
            assert_eq!(template.source(), raw);
            assert!(chars <= MAX_LINK_CHARS);
            let mut spelled = String::new();
            let mut previous_was_text = false;
            for piece in template.pieces() {
                match piece {
                    Piece::Text(text) => {
                        assert!(!text.is_empty(), "no empty text pieces");
                        assert!(!previous_was_text, "adjacent text pieces are one piece");
                        previous_was_text = true;
                        spelled.push_str(&text.replace('$', "$$"));
                    }
                    Piece::Token(token) => {
                        previous_was_text = false;
                        spelled.push_str(&token.placeholder());
                    }
                }
            }
            assert_eq!(spelled, raw, "the pieces spell the source");
            assert_eq!(LinkTemplate::parse(&raw).as_ref(), Ok(&template));

            let blank = template.render(&SignupValues::default());
            let sample = template.render(&SignupValues::sample());
            for url in [&blank, &sample] {
                assert!(!url.chars().any(|c| c.is_whitespace() || c.is_control()));
                let scheme = &url[..url.find("://").expect("a scheme")];
                assert!(
                    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
                );
            }
            if let Ok(blank) = url::Url::parse(&blank) {
                let sample = url::Url::parse(&sample)
                    .unwrap_or_else(|e| panic!("{sample:?} does not parse ({e}) but {blank} did"));
                assert_eq!(sample.scheme(), blank.scheme());
                assert_eq!(sample.username(), blank.username());
                assert_eq!(sample.password(), blank.password());
                assert_eq!(sample.host_str(), blank.host_str());
                assert_eq!(sample.port(), blank.port());
            }
        }
        Err(err) => {
            if let Some(position) = err.position() {
                assert!(
                    (1..=chars).contains(&position),
                    "{err:?} points outside the {chars} characters"
                );
            }
            match err {
                LinkError::TooLong { chars: counted } => {
                    assert_eq!(counted, chars);
                    assert!(chars > MAX_LINK_CHARS);
                }
                _ => assert!(chars <= MAX_LINK_CHARS),
            }
            assert!(!err.to_string().is_empty());
        }
    }
});
