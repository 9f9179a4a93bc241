//! Multi-factor login with an authenticator app: time-based one-time passwords (TOTP, RFC 6238)
//! built on HOTP (RFC 4226, HMAC-SHA1), the base32 secrets those apps read (RFC 4648), the
//! `otpauth://` link and QR code that enrol an app, and the one-use recovery codes an admin
//! keeps for a lost phone.
//!
//! Everything here is pure: the secret, the clock and the random bytes come from the caller, and
//! the caller stores which step was last accepted so a code cannot be used twice.

use super::percent::encode_component;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Digits in a code, as authenticator apps show it.
pub const DIGITS: u32 = 6;
/// Seconds each code is valid for: the length of one time step.
pub const STEP_SECONDS: i64 = 30;
/// Length of a new secret in bytes (160 bits, the HMAC-SHA1 output size RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes issued to an admin at once; each works a single time.
pub const RECOVERY_CODES: usize = 10;

/// The RFC 4648 base32 alphabet; a character's value is its index.
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Base32 characters in a recovery code, not counting the hyphen.
const RECOVERY_CODE_CHARS: usize = 10;

type HmacSha1 = Hmac<Sha1>;

/// Writes bytes as RFC 4648 base32 (`A-Z2-7`) without `=` padding: the form authenticator apps
/// accept when a secret is typed in by hand.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Reads base32 as a person may have copied it: lower or upper case, with spaces between groups
/// and with or without `=` padding. `None` when any other character appears. Bits left over at
/// the end (fewer than eight) are dropped, as the encoder pads with zero bits.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for c in text.chars() {
        if c == ' ' || c == '=' {
            continue;
        }
        buffer = (buffer << 5) | base32_value(c)?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The value (0 to 31) of one base32 character, either case.
fn base32_value(c: char) -> Option<u32> {
    match c.to_ascii_uppercase() {
        upper @ 'A'..='Z' => Some(u32::from(upper) - u32::from('A')),
        digit @ '2'..='7' => Some(u32::from(digit) - u32::from('2') + 26),
        _ => None,
    }
}

/// The RFC 4226 one-time password for `counter`: HMAC-SHA1 of the counter (8 bytes, big-endian)
/// keyed with the secret, cut down to 31 bits by "dynamic truncation", then its last
/// [`DIGITS`] decimal digits.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    // HMAC takes a key of any length (a long key is hashed first), so this cannot fail.
    let mut mac = <HmacSha1 as Mac>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let truncated = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    truncated % 10u32.pow(DIGITS)
}

/// The time step a Unix time falls in: whole [`STEP_SECONDS`] periods since 1970. A time before
/// 1970 (a badly wrong clock) counts as step 0.
pub fn step_of(unix_seconds: i64) -> u64 {
    u64::try_from(unix_seconds.div_euclid(STEP_SECONDS)).unwrap_or(0)
}

/// The code an authenticator app shows during `step`, with leading zeros (`"005924"`).
pub fn code_at(secret: &[u8], step: u64) -> String {
    format!("{:0width$}", hotp(secret, step), width = DIGITS as usize)
}

/// Checks a code typed at login and returns the step it belongs to; the caller stores that step
/// as the admin's `last_used_step` and passes it back next time.
///
/// Spaces anywhere are ignored (apps show `123 456`); otherwise the code must be exactly
/// [`DIGITS`] ASCII digits. The code of the current step is accepted, and so are the codes of
/// the step before and after, to allow for a phone clock up to 30 seconds off and for slow
/// typing. A step at or before `last_used_step` is refused, so a code seen over someone's
/// shoulder or replayed from a log cannot be used again. Every candidate is compared in full,
/// without stopping at the first differing digit, so response times reveal nothing about how
/// close a guess was. When several steps match, the current one wins.
pub fn verify(
    secret: &[u8],
    code: &str,
    now_unix: i64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let typed = typed_code(code)?;
    let current = step_of(now_unix);
    let candidates = [
        Some(current),
        current.checked_sub(1),
        current.checked_add(1),
    ];
    let mut found = None;
    for step in candidates.into_iter().flatten() {
        let same = equal_in_constant_time(code_at(secret, step).as_bytes(), typed.as_bytes());
        let fresh = last_used_step.is_none_or(|last| step > last);
        if same & fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The code with its spaces removed, when what remains is exactly [`DIGITS`] ASCII digits.
fn typed_code(code: &str) -> Option<String> {
    let compact: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let valid = compact.len() == DIGITS as usize && compact.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(compact)
}

/// Whether two byte strings are equal, looking at every byte whatever the earlier ones were.
/// (The lengths are not secret: both are codes of [`DIGITS`] digits.)
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// The `otpauth://` link an authenticator app reads (usually from a QR code) to add this
/// account: the label `issuer:account`, the base32 secret, and the parameters this module uses
/// (SHA1, [`DIGITS`] digits, [`STEP_SECONDS`]-second period), which some apps ignore and assume
/// anyway. Issuer and account are percent-encoded, so a space or an `@` stays part of its value.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let issuer = encode_component(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        account = encode_component(account),
        secret = encode_component(secret_b32),
    )
}

/// The link as an SVG QR code (at least 200 by 200 pixels, with the white border scanners
/// need), ready to place inline in a page: any `<?xml ...?>` declaration is removed.
pub fn qr_svg(uri: &str) -> String {
    // Encoding fails only when the data is too long for the largest QR code (2,331 bytes at the
    // default medium error correction); an `otpauth://` link is well under 1 KB, so the empty
    // string is never returned in practice.
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build();
    without_xml_declaration(&svg).to_owned()
}

/// The document with a leading `<?xml ...?>` declaration (and the whitespace after it) removed.
fn without_xml_declaration(svg: &str) -> &str {
    let start = svg.trim_start();
    if !start.starts_with("<?xml") {
        return start;
    }
    match start.find("?>") {
        Some(end) => start[end + 2..].trim_start(),
        None => start,
    }
}

/// A recovery code as shown to the admin, `xxxxx-xxxxx`: the first ten base32 characters of the
/// random bytes, in lower case (50 random bits). The caller supplies the bytes from a secure
/// random source and stores only a hash of the result.
pub fn format_recovery_code(raw: &[u8; 10]) -> String {
    let text = base32_encode(raw).to_ascii_lowercase();
    grouped(&text[..RECOVERY_CODE_CHARS])
}

/// A recovery code as typed, in the one form [`format_recovery_code`] produces, so it can be
/// hashed and compared with the stored hashes: case, spaces and hyphens do not matter, but
/// exactly ten characters of `a-z` and `2-7` must remain. `None` otherwise (`0`, `1`, `8` and
/// `9` are never part of a code).
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = compact.len() == RECOVERY_CODE_CHARS
        && compact
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
    valid.then(|| grouped(&compact))
}

/// Ten ASCII characters as two groups of five joined by a hyphen.
fn grouped(ten: &str) -> String {
    format!("{}-{}", &ten[..5], &ten[5..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret of the RFC 4226 and RFC 6238 (SHA1) test vectors.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn hotp_matches_the_rfc_4226_test_values() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, value) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64), value, "counter {counter}");
        }
    }

    #[test]
    fn totp_matches_the_rfc_6238_sha1_vectors_cut_to_six_digits() {
        let vectors = [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ];
        for (time, code) in vectors {
            assert_eq!(code_at(RFC_SECRET, step_of(time)), code, "time {time}");
        }
    }

    #[test]
    fn a_step_is_thirty_seconds_and_times_before_1970_are_step_zero() {
        assert_eq!(step_of(0), 0);
        assert_eq!(step_of(29), 0);
        assert_eq!(step_of(30), 1);
        assert_eq!(step_of(59), 1);
        assert_eq!(step_of(60), 2);
        assert_eq!(step_of(-1), 0);
        assert_eq!(step_of(i64::MIN), 0);
    }

    #[test]
    fn base32_matches_the_rfc_4648_vectors_without_padding() {
        let vectors = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded), Some(plain.as_bytes().to_vec()));
        }
    }

    #[test]
    fn base32_round_trips_every_length_and_byte_value() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..=bytes.len() {
            let encoded = base32_encode(&bytes[..len]);
            assert_eq!(base32_decode(&encoded).as_deref(), Some(&bytes[..len]));
        }
        assert_eq!(base32_encode(&[0xff; 10]), "7777777777777777");
    }

    #[test]
    fn base32_decoding_accepts_lowercase_spaces_and_padding() {
        let foobar = Some(b"foobar".to_vec());
        assert_eq!(base32_decode("mzxw6ytboi"), foobar);
        assert_eq!(base32_decode("MZXW 6YTB OI"), foobar);
        assert_eq!(base32_decode("MZXW6YTBOI======"), foobar);
        assert_eq!(base32_decode("mzxw6yq="), Some(b"foob".to_vec()));
    }

    #[test]
    fn base32_decoding_refuses_characters_outside_the_alphabet() {
        for bad in [
            "MZXW0", "MZXW1", "MZXW8", "MZXW9", "MZ-XW", "MZ!XW", "MZXWÄ", "MZ\tXW",
        ] {
            assert_eq!(base32_decode(bad), None, "{bad:?}");
        }
    }

    /// A time in step 5, whose code is 254676; step 4 is 338314, step 6 is 287922.
    const IN_STEP_5: i64 = 5 * 30 + 1;

    #[test]
    fn verify_accepts_the_current_code_and_returns_its_step() {
        assert_eq!(verify(RFC_SECRET, "254676", IN_STEP_5, None), Some(5));
    }

    #[test]
    fn verify_accepts_the_code_of_the_step_before_or_after() {
        assert_eq!(verify(RFC_SECRET, "338314", IN_STEP_5, None), Some(4));
        assert_eq!(verify(RFC_SECRET, "287922", IN_STEP_5, None), Some(6));
    }

    #[test]
    fn verify_refuses_a_code_two_steps_away() {
        assert_eq!(
            verify(RFC_SECRET, "969429", IN_STEP_5, None),
            None,
            "step 3"
        );
        assert_eq!(
            verify(RFC_SECRET, "162583", IN_STEP_5, None),
            None,
            "step 7"
        );
    }

    #[test]
    fn verify_refuses_a_code_whose_step_was_already_used() {
        assert_eq!(verify(RFC_SECRET, "254676", IN_STEP_5, Some(5)), None);
        assert_eq!(verify(RFC_SECRET, "254676", IN_STEP_5, Some(6)), None);
        assert_eq!(verify(RFC_SECRET, "254676", IN_STEP_5, Some(4)), Some(5));
    }

    #[test]
    fn verify_refuses_an_earlier_step_once_a_later_one_was_used() {
        assert_eq!(verify(RFC_SECRET, "338314", IN_STEP_5, Some(4)), None);
        assert_eq!(verify(RFC_SECRET, "338314", IN_STEP_5, Some(5)), None);
        assert_eq!(verify(RFC_SECRET, "338314", IN_STEP_5, Some(3)), Some(4));
        assert_eq!(verify(RFC_SECRET, "287922", IN_STEP_5, Some(5)), Some(6));
    }

    #[test]
    fn verify_ignores_spaces_inside_and_around_the_code() {
        assert_eq!(verify(RFC_SECRET, "287 082", 59, None), Some(1));
        assert_eq!(verify(RFC_SECRET, "  287082 ", 59, None), Some(1));
        assert_eq!(verify(RFC_SECRET, "2 8 7 0 8 2", 59, None), Some(1));
    }

    #[test]
    fn verify_refuses_codes_that_are_not_six_digits() {
        for bad in [
            "",
            "28708",
            "2870820",
            "28708a",
            "abcdef",
            "287-082",
            "２８７０８２",
        ] {
            assert_eq!(verify(RFC_SECRET, bad, 59, None), None, "{bad:?}");
        }
    }

    #[test]
    fn the_first_step_has_no_step_before_it() {
        assert_eq!(verify(RFC_SECRET, "755224", 0, None), Some(0));
        assert_eq!(verify(RFC_SECRET, "287082", 0, None), Some(1));
        assert_eq!(verify(RFC_SECRET, "755224", -5, None), Some(0));
    }

    #[test]
    fn constant_time_comparison_agrees_with_plain_equality() {
        assert!(equal_in_constant_time(b"123456", b"123456"));
        assert!(!equal_in_constant_time(b"123456", b"123457"));
        assert!(!equal_in_constant_time(b"023456", b"123456"));
        assert!(!equal_in_constant_time(b"12345", b"123456"));
    }

    #[test]
    fn the_otpauth_link_percent_encodes_issuer_and_account() {
        assert_eq!(
            otpauth_uri("Example Host", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Example%20Host:alice%40example.com?secret=JBSWY3DPEHPK3PXP\
             &issuer=Example%20Host&algorithm=SHA1&digits=6&period=30"
        );
        assert!(otpauth_uri("a&b", "c:d?e", "AA").starts_with("otpauth://totp/a%26b:c%3Ad%3Fe?"));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_without_an_xml_declaration() {
        let uri = otpauth_uri("Example Host", "alice@example.com", "JBSWY3DPEHPK3PXP");
        let svg = qr_svg(&uri);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains("</svg>"));
        assert!(!svg.contains("<?xml"));
    }

    #[test]
    fn an_xml_declaration_is_removed_whether_or_not_a_line_break_follows() {
        assert_eq!(
            without_xml_declaration("<?xml version=\"1.0\"?><svg/>"),
            "<svg/>"
        );
        assert_eq!(
            without_xml_declaration("<?xml version=\"1.0\"?>\n<svg/>"),
            "<svg/>"
        );
        assert_eq!(without_xml_declaration("<svg/>"), "<svg/>");
    }

    #[test]
    fn a_recovery_code_is_ten_lowercase_base32_characters_in_two_groups() {
        assert_eq!(format_recovery_code(b"foobarbaz!"), "mzxw6-ytboj");
        assert_eq!(format_recovery_code(&[0; 10]), "aaaaa-aaaaa");
        assert_eq!(format_recovery_code(&[0xff; 10]), "77777-77777");
    }

    #[test]
    fn a_typed_recovery_code_is_normalized_to_the_shown_form() {
        let shown = Some("mzxw6-ytboj".to_owned());
        assert_eq!(normalize_recovery_code("mzxw6-ytboj"), shown);
        assert_eq!(normalize_recovery_code("MZXW6-YTBOJ"), shown);
        assert_eq!(normalize_recovery_code(" mzxw6 ytboj "), shown);
        assert_eq!(normalize_recovery_code("mzxw6ytboj"), shown);
        assert_eq!(normalize_recovery_code("MzX-w6y-TbOj"), shown);
        let raw = [7, 1, 250, 33, 0, 99, 128, 64, 5, 200];
        let formatted = format_recovery_code(&raw);
        assert_eq!(normalize_recovery_code(&formatted), Some(formatted));
    }

    #[test]
    fn a_recovery_code_of_the_wrong_length_or_with_other_characters_is_refused() {
        for bad in [
            "",
            "mzxw6-ytbo",
            "mzxw6-ytbojq",
            "mzxw1-ytboj",
            "mzxw8-ytboj",
            "mzxw0-ytboj",
            "mzxw9-ytboj",
            "mzxw6_ytboj",
            "mzxw6-ytböj",
        ] {
            assert_eq!(normalize_recovery_code(bad), None, "{bad:?}");
        }
    }
}
