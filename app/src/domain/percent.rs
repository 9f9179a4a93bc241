//! Percent-encoding of one URL component (RFC 3986): every byte outside the unreserved set
//! `A-Z a-z 0-9 - . _ ~` becomes `%XX`, so a value can never add a parameter, a path segment or
//! a fragment to the URL it is placed in.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

pub fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if is_unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0x0f)] as char);
        }
    }
    out
}

/// `key=value&...` with both sides encoded.
pub fn encode_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_characters_pass_and_everything_else_is_encoded() {
        assert_eq!(encode_component("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            encode_component("a b&c=d#e/f?g%h+i"),
            "a%20b%26c%3Dd%23e%2Ff%3Fg%25h%2Bi"
        );
        assert_eq!(encode_component("ü€"), "%C3%BC%E2%82%AC");
        assert_eq!(encode_component(""), "");
    }

    #[test]
    fn a_query_is_built_from_encoded_pairs() {
        assert_eq!(
            encode_query([("next", "/a?b=c"), ("user", "x y")]),
            "next=%2Fa%3Fb%3Dc&user=x%20y"
        );
    }
}
