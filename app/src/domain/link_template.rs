//! Affiliate links: text with `${name}` placeholders in H-Sphere's syntax, parsed once and never
//! evaluated by a template engine. Rendering percent-encodes each value and leaves the admin's
//! own text exactly as typed, so a signup's values can never add a parameter, a path segment or
//! a fragment to the URL; nor can they remove a path segment (see `keep_path_segments`).

use super::percent::encode_component;
use serde::{Deserialize, Serialize};

pub const MAX_LINK_CHARS: usize = 2048;
/// H-Sphere's page had five links; so does affdesk's, and the server refuses a sixth.
pub const LINK_SLOTS: usize = 5;

/// A value a link can carry. The first seven are H-Sphere's, in its drop-down's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Token {
    Amount,
    AccountId,
    UserName,
    Domain,
    PlanId,
    PlanName,
    FullAmount,
    OrderId,
    Currency,
    SignupType,
    ClickId,
    SignupTime,
    Email,
    ReversalReason,
    ReversalAmount,
    ReversalTime,
    ReversalId,
}

impl Token {
    /// The parameters of a signup link, in the order the parameter drop-down lists them.
    pub const ALL: [Token; 13] = [
        Token::Amount,
        Token::AccountId,
        Token::UserName,
        Token::Domain,
        Token::PlanId,
        Token::PlanName,
        Token::FullAmount,
        Token::OrderId,
        Token::Currency,
        Token::SignupType,
        Token::ClickId,
        Token::SignupTime,
        Token::Email,
    ];

    /// The parameters only a reversal link has: what the refund or chargeback was.
    pub const REVERSAL: [Token; 4] = [
        Token::ReversalReason,
        Token::ReversalAmount,
        Token::ReversalTime,
        Token::ReversalId,
    ];

    /// Every parameter: a signup's, then a reversal's.
    pub fn every() -> impl Iterator<Item = Token> {
        Token::ALL.into_iter().chain(Token::REVERSAL)
    }

    /// Only a reversal link may carry it.
    pub fn is_reversal(self) -> bool {
        Token::REVERSAL.contains(&self)
    }

    pub fn name(self) -> &'static str {
        match self {
            Token::Amount => "amount",
            Token::AccountId => "account_id",
            Token::UserName => "user_name",
            Token::Domain => "domain",
            Token::PlanId => "plan_id",
            Token::PlanName => "plan_name",
            Token::FullAmount => "full_amount",
            Token::OrderId => "order_id",
            Token::Currency => "currency",
            Token::SignupType => "signup_type",
            Token::ClickId => "click_id",
            Token::SignupTime => "signup_time",
            Token::Email => "email",
            Token::ReversalReason => "reversal_reason",
            Token::ReversalAmount => "reversal_amount",
            Token::ReversalTime => "reversal_time",
            Token::ReversalId => "reversal_id",
        }
    }

    /// The text inserted into a link: `${name}`.
    pub fn placeholder(self) -> String {
        format!("${{{}}}", self.name())
    }

    pub fn label(self) -> &'static str {
        match self {
            Token::Amount => "Amount (before tax)",
            Token::AccountId => "Account ID",
            Token::UserName => "User name (control-panel login)",
            Token::Domain => "Domain",
            Token::PlanId => "Plan ID",
            Token::PlanName => "Plan name",
            Token::FullAmount => "Full amount (with tax)",
            Token::OrderId => "Order ID (unique signup id)",
            Token::Currency => "Currency (ISO 4217)",
            Token::SignupType => "Signup type (card or trial)",
            Token::ClickId => "Click ID (referral id)",
            Token::SignupTime => "Signup time (UTC, ISO 8601)",
            Token::Email => "Email (personal data)",
            Token::ReversalReason => "Reversal reason (reversal links only)",
            Token::ReversalAmount => "Reversal amount (reversal links only)",
            Token::ReversalTime => "Reversal time (reversal links only)",
            Token::ReversalId => "Reversal ID (reversal links only)",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Token::Amount => "What the customer pays, before tax, e.g. 19.95.",
            Token::AccountId => "The new hosting account's number.",
            Token::UserName => "The login the customer chose for the control panel.",
            Token::Domain => "The domain the customer signed up with.",
            Token::PlanId => "The id of the hosting plan bought.",
            Token::PlanName => "The name of the hosting plan bought.",
            Token::FullAmount => "What the customer pays, tax included.",
            Token::OrderId => "affdesk's unique id of the signup; lets a tracker ignore repeats.",
            Token::Currency => "Three-letter currency code of the amounts, e.g. USD.",
            Token::SignupType => "card for a paid credit-card signup, trial for a trial.",
            Token::ClickId => "The referral id captured from the affiliate's link.",
            Token::SignupTime => "When the signup completed, e.g. 2026-11-22T10:15:00Z.",
            Token::Email => "The customer's email address. Personal data: send it only where your privacy policy allows.",
            Token::ReversalReason => "refund, chargeback or cancellation.",
            Token::ReversalAmount => "The amount taken back, e.g. 19.95 (the signup's amount unless the refund was partial).",
            Token::ReversalTime => "When the refund or chargeback happened, e.g. 2026-12-01T09:00:00Z.",
            Token::ReversalId => "The reversal's unique id; lets a tracker ignore repeats.",
        }
    }

    pub fn is_personal_data(self) -> bool {
        matches!(self, Token::Email)
    }

    pub fn from_name(name: &str) -> Option<Token> {
        Token::every().find(|t| t.name() == name)
    }

    /// `${amount}, ${account_id}, …` for messages that list the valid names.
    pub fn all_placeholders() -> String {
        Token::every()
            .map(|t| t.placeholder())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which link of a slot a text is: the signup link, or the reversal link that tells the same
/// tracker about a refund, chargeback or cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    Signup,
    Reversal,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Signup => "signup",
            LinkKind::Reversal => "reversal",
        }
    }

    /// Whether a link of this kind may carry `token`.
    pub fn allows(self, token: Token) -> bool {
        self == LinkKind::Reversal || !token.is_reversal()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    /// The admin's text, with `$$` already turned into `$`.
    Text(String),
    Token(Token),
}

/// A parsed, valid, non-empty link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkTemplate {
    source: String,
    pieces: Vec<Piece>,
}

/// Why a link is refused. Positions count characters from 1, as an editor's column does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum LinkError {
    #[error("the link has {chars} characters; at most {MAX_LINK_CHARS} are allowed")]
    TooLong { chars: usize },
    #[error("character {position} is a space or other whitespace; links cannot contain whitespace (write %20 for a space)")]
    Whitespace { position: usize },
    #[error("character {position} is an invisible control character; delete it")]
    ControlCharacter { position: usize },
    #[error("character {position} is a backslash; browsers and HTTP clients read it as /, so write / or %5C")]
    Backslash { position: usize },
    #[error("the parameter opened with ${{ at character {position} is never closed; add }}")]
    UnclosedToken { position: usize },
    #[error(
        "the parameter at character {position} has no name; write one of {}",
        Token::all_placeholders()
    )]
    EmptyToken { position: usize },
    #[error(
        "${{{name}}} at character {position} is not a known parameter; use one of {}",
        Token::all_placeholders()
    )]
    UnknownToken { position: usize, name: String },
    #[error("${{{name}}} at character {position} is a reversal's value; it can only be used in a reversal link")]
    ReversalOnly { position: usize, name: String },
    #[error("the $ at character {position} starts no parameter; write $$ for a literal $ or ${{name}} for a parameter")]
    LoneDollar { position: usize },
    #[error("the link must start with https:// or http://")]
    MissingScheme,
    #[error("the link uses {scheme}://; only https:// and http:// links can be called")]
    UnsupportedScheme { scheme: String },
    #[error("the link has no host after the scheme; write it like https://tracker.example/path")]
    NoHost,
    #[error("the parameter at character {position} is inside the host; parameters may only be used in the path or query")]
    TokenInHost { position: usize },
    #[error("character {position} cannot be part of a host name")]
    InvalidHost { position: usize },
    #[error("the port after the host must be a number from 1 to 65535")]
    InvalidPort,
    #[error("the host {host} looks like an IP address but is not one; write four numbers from 0 to 255 separated by dots, like 203.0.113.7")]
    InvalidIpv4 { host: String },
    #[error("the host {host} cannot be called ({reason}); check its spelling")]
    UnusableHost { host: String, reason: String },
}

impl LinkError {
    /// Where the problem is, when it is at one character.
    pub fn position(&self) -> Option<usize> {
        match self {
            LinkError::Whitespace { position }
            | LinkError::ControlCharacter { position }
            | LinkError::Backslash { position }
            | LinkError::UnclosedToken { position }
            | LinkError::EmptyToken { position }
            | LinkError::UnknownToken { position, .. }
            | LinkError::ReversalOnly { position, .. }
            | LinkError::LoneDollar { position }
            | LinkError::TokenInHost { position }
            | LinkError::InvalidHost { position } => Some(*position),
            _ => None,
        }
    }
}

/// The values of one signup, as text, for rendering. Absent optional values are empty strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignupValues {
    pub amount: String,
    pub account_id: String,
    pub user_name: String,
    pub domain: String,
    pub plan_id: String,
    pub plan_name: String,
    pub full_amount: String,
    pub order_id: String,
    pub currency: String,
    pub signup_type: String,
    pub click_id: String,
    pub signup_time: String,
    pub email: String,
    /// A reversal's values; empty when a signup link is rendered.
    #[serde(default)]
    pub reversal: ReversalValues,
}

/// What a reversal link's own parameters stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReversalValues {
    pub reason: String,
    pub amount: String,
    pub time: String,
    pub id: String,
}

impl SignupValues {
    pub fn get(&self, token: Token) -> &str {
        match token {
            Token::Amount => &self.amount,
            Token::AccountId => &self.account_id,
            Token::UserName => &self.user_name,
            Token::Domain => &self.domain,
            Token::PlanId => &self.plan_id,
            Token::PlanName => &self.plan_name,
            Token::FullAmount => &self.full_amount,
            Token::OrderId => &self.order_id,
            Token::Currency => &self.currency,
            Token::SignupType => &self.signup_type,
            Token::ClickId => &self.click_id,
            Token::SignupTime => &self.signup_time,
            Token::Email => &self.email,
            Token::ReversalReason => &self.reversal.reason,
            Token::ReversalAmount => &self.reversal.amount,
            Token::ReversalTime => &self.reversal.time,
            Token::ReversalId => &self.reversal.id,
        }
    }

    /// The signup the page's previews and "Send test" use. Its values include characters that
    /// must be encoded, so the preview shows the encoding at work.
    pub fn sample() -> Self {
        Self {
            amount: "19.95".into(),
            account_id: "100042".into(),
            user_name: "jane.doe".into(),
            domain: "example-shop.com".into(),
            plan_id: "7".into(),
            plan_name: "Business & Pro".into(),
            full_amount: "23.74".into(),
            order_id: "TEST-ORDER-0001".into(),
            currency: "USD".into(),
            signup_type: "card".into(),
            click_id: "aff-123/xyz".into(),
            signup_time: "2026-11-22T10:15:00Z".into(),
            email: "jane+hosting@example.com".into(),
            reversal: ReversalValues {
                reason: "refund".into(),
                amount: "19.95".into(),
                time: "2026-12-01T09:00:00Z".into(),
                id: "TEST-ORDER-0001-refund".into(),
            },
        }
    }
}

impl LinkTemplate {
    /// Parses a link slot's text: `Ok(None)` for an empty slot (it fires nothing).
    pub fn parse_slot(raw: &str) -> Result<Option<LinkTemplate>, LinkError> {
        LinkTemplate::parse_slot_as(raw, LinkKind::Signup)
    }

    /// Parses a slot's signup or reversal link: `Ok(None)` when it is empty.
    pub fn parse_slot_as(raw: &str, kind: LinkKind) -> Result<Option<LinkTemplate>, LinkError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let link = LinkTemplate::parse(raw)?;
        if let Some(token) = link.tokens().find(|t| !kind.allows(*t)) {
            let at = raw.find(&token.placeholder()).unwrap_or(0);
            return Err(LinkError::ReversalOnly {
                position: raw[..at].chars().count() + 1,
                name: token.name().to_owned(),
            });
        }
        Ok(Some(link))
    }

    pub fn parse(raw: &str) -> Result<LinkTemplate, LinkError> {
        let chars: Vec<char> = raw.chars().collect();
        if chars.len() > MAX_LINK_CHARS {
            return Err(LinkError::TooLong { chars: chars.len() });
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        // Character positions (1-based) where each token starts, to check the host afterwards.
        let mut token_positions = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let position = i + 1;
            check_char(c, position)?;
            if c != '$' {
                text.push(c);
                i += 1;
                continue;
            }
            match chars.get(i + 1) {
                Some('$') => {
                    text.push('$');
                    i += 2;
                }
                Some('{') => {
                    let (token, len) = parse_token(&chars, i)?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Token(token));
                    token_positions.push(position);
                    i += len;
                }
                _ => return Err(LinkError::LoneDollar { position }),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        check_scheme_and_host(&chars, &token_positions)?;
        Ok(LinkTemplate {
            source: raw.to_owned(),
            pieces,
        })
    }

    /// The link as the admin typed it.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    pub fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Token(t) => Some(*t),
            Piece::Text(_) => None,
        })
    }

    /// The URL to call for a signup: the admin's text as is, each value percent-encoded (and,
    /// where a value would make a path segment `.` or `..`, its dots encoded twice: see
    /// `keep_path_segments`).
    pub fn render(&self, values: &SignupValues) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        // Which bytes of `out` a value wrote.
        let mut from_value = Vec::with_capacity(out.capacity());
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Token(token) => out.push_str(&encode_component(values.get(*token))),
            }
            from_value.resize(out.len(), matches!(piece, Piece::Token(_)));
        }
        keep_path_segments(out, &from_value)
    }
}

/// Whether a URL parser drops this path segment: `.` or `..`, each dot written `.`, `%2e` or
/// `%2E`. The URL standard (WHATWG), which the `url` crate that calls the link follows, removes
/// `.` and removes `..` with the segment before it.
fn is_dot_segment(segment: &str) -> bool {
    matches!(
        segment.to_ascii_lowercase().as_str(),
        "." | "%2e" | ".." | ".%2e" | "%2e." | "%2e%2e"
    )
}

/// A value must not move the call to another path: with the link
/// `https://t.example/track/${user_name}/x` and the user name `..` the URL would be
/// `https://t.example/track/../x`, which URL parsers resolve to `https://t.example/x`. So a path
/// segment (between the admin's `/`s, before the `?` or `#`) that is a dot segment and has
/// characters from a value gets those characters encoded instead: each `.` as `%252E` (the
/// encoding of `%2E`), anything else (a `2` or `e` after the admin's own `%`) as `%XX`.
///
/// No spelling of a segment `.` or `..` survives a URL parser (`%2E` is a dot to it too), so
/// the tracker cannot receive the value itself there; `%252E%252E` reads as `%2E%2E`, a visible
/// encoding of `..` that a tracker can decode once more, and keeps the segment non-empty (an
/// empty segment `//` is merged away by many web servers). The admin's own characters, and
/// values in the query or fragment, where dots mean nothing, are left exactly as they are.
fn keep_path_segments(url: String, from_value: &[bool]) -> String {
    // Values never stand in the scheme or host and write no `/`, `?` or `#` (they are
    // percent-encoded), so these places are the admin's.
    let Some(authority) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    let path_start = url[authority..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority + i);
    let path_end = url[path_start..]
        .find(['?', '#'])
        .map_or(url.len(), |i| path_start + i);
    let mut out = String::with_capacity(url.len() + 16);
    out.push_str(&url[..path_start]);
    let mut offset = path_start;
    for (i, segment) in url[path_start..path_end].split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let written_by_value = &from_value[offset..offset + segment.len()];
        if is_dot_segment(segment) && written_by_value.contains(&true) {
            // A dot segment is ASCII, so each byte is a character.
            for (byte, &by_value) in segment.bytes().zip(written_by_value) {
                if !by_value {
                    out.push(char::from(byte));
                } else if byte == b'.' {
                    out.push_str("%252E");
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
        } else {
            out.push_str(segment);
        }
        offset += segment.len() + 1;
    }
    out.push_str(&url[path_end..]);
    out
}

/// Refuses a character no link may contain; `position` counts from 1.
fn check_char(c: char, position: usize) -> Result<(), LinkError> {
    if c.is_whitespace() {
        return Err(LinkError::Whitespace { position });
    }
    if c.is_control() {
        return Err(LinkError::ControlCharacter { position });
    }
    // The URL standard treats \ as / in http(s) URLs: `https://a\@b.example/` would be
    // checked as host b.example here but sent to host a.
    if c == '\\' {
        return Err(LinkError::Backslash { position });
    }
    Ok(())
}

/// Reads the parameter `${name}` whose `$` is `chars[dollar]` (and `{` the next character):
/// its token and how many characters it spans.
fn parse_token(chars: &[char], dollar: usize) -> Result<(Token, usize), LinkError> {
    let position = dollar + 1;
    let name_start = dollar + 2;
    let Some(close) = chars[name_start..].iter().position(|&c| c == '}') else {
        return Err(LinkError::UnclosedToken { position });
    };
    let name: String = chars[name_start..name_start + close].iter().collect();
    if let Some(bad) = name
        .chars()
        .position(|c| c.is_whitespace() || c.is_control())
    {
        let position = name_start + bad + 1;
        return Err(if chars[name_start + bad].is_whitespace() {
            LinkError::Whitespace { position }
        } else {
            LinkError::ControlCharacter { position }
        });
    }
    if name.is_empty() {
        return Err(LinkError::EmptyToken { position });
    }
    let token = Token::from_name(&name).ok_or(LinkError::UnknownToken { position, name })?;
    Ok((token, close + 3))
}

/// The scheme must be literal http or https and the host literal (no parameters), so where a
/// link goes is decided by the admin, never by a signup's values.
fn check_scheme_and_host(chars: &[char], token_positions: &[usize]) -> Result<(), LinkError> {
    let text: String = chars.iter().collect();
    // Scheme and "://" are ASCII here, so byte and character offsets agree up to this point.
    let authority_start = check_scheme(&text)? + 3;
    let authority_len = chars[authority_start..]
        .iter()
        .position(|c| matches!(c, '/' | '?' | '#'))
        .unwrap_or(chars.len() - authority_start);
    let authority_end = authority_start + authority_len;
    if let Some(&position) = token_positions
        .iter()
        .find(|&&p| p > authority_start && p <= authority_end)
    {
        return Err(LinkError::TokenInHost { position });
    }
    let authority = &chars[authority_start..authority_end];
    let host_start = authority
        .iter()
        .rposition(|&c| c == '@')
        .map_or(0, |at| at + 1);
    // The host's first character is `chars[host_offset]`.
    let host_offset = authority_start + host_start;
    let (host, port) = split_host_and_port(&authority[host_start..], host_offset)?;
    if host.is_empty() || host == ['[', ']'] {
        return Err(LinkError::NoHost);
    }
    if host[0] != '[' {
        check_host_chars(host, host_offset)?;
        let host: String = host.iter().collect();
        check_host_name(&host)?;
    }
    if let Some(port) = port {
        check_port(port)?;
    }
    Ok(())
}

/// Where the scheme's `://` starts; the scheme must be http or https (in any case).
fn check_scheme(text: &str) -> Result<usize, LinkError> {
    let Some(scheme_end) = text.find("://") else {
        return Err(LinkError::MissingScheme);
    };
    let scheme = &text[..scheme_end];
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        return Ok(scheme_end);
    }
    if scheme.is_empty() || scheme.contains(['/', '?', '#', '$']) {
        return Err(LinkError::MissingScheme);
    }
    Err(LinkError::UnsupportedScheme {
        scheme: scheme.to_owned(),
    })
}

/// Splits `host[:port]`, where the host may be an IPv6 address in brackets. `offset` is the
/// index of the first character in the link, to place a stray character after the `]`.
fn split_host_and_port(
    host_and_port: &[char],
    offset: usize,
) -> Result<(&[char], Option<&[char]>), LinkError> {
    if host_and_port.first() != Some(&'[') {
        return Ok(match host_and_port.iter().rposition(|&c| c == ':') {
            Some(colon) => (&host_and_port[..colon], Some(&host_and_port[colon + 1..])),
            None => (host_and_port, None),
        });
    }
    let Some(close) = host_and_port.iter().position(|&c| c == ']') else {
        return Err(LinkError::NoHost);
    };
    let port = match host_and_port[close + 1..].split_first() {
        Some((':', port)) => Some(port),
        Some(_) => {
            return Err(LinkError::InvalidHost {
                position: offset + close + 2,
            })
        }
        None => None,
    };
    Ok((&host_and_port[..=close], port))
}

/// A host name has ASCII letters, digits, `-`, `.` and `_` only. `offset` is the index of its
/// first character in the link.
fn check_host_chars(host: &[char], offset: usize) -> Result<(), LinkError> {
    match host
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        Some(bad) => Err(LinkError::InvalidHost {
            position: offset + bad + 1,
        }),
        None => Ok(()),
    }
}

/// A port is a number from 1 to 65535.
fn check_port(port: &[char]) -> Result<(), LinkError> {
    let digits: String = port.iter().collect();
    match digits.parse::<u16>() {
        Ok(p) if p > 0 && !digits.starts_with('+') => Ok(()),
        _ => Err(LinkError::InvalidPort),
    }
}

/// A host name whose last label is a number is an IPv4 address to a URL parser (which also reads
/// `0x7f.1` or `2130706433` as one); only the plain dotted form is accepted, and it must be a real
/// address, or the link would pass here and fail at every call. On the server the name must also
/// pass the URL library's own host rules (international names, `xn--` labels).
fn check_host_name(host: &str) -> Result<(), LinkError> {
    let last_label = host
        .strip_suffix('.')
        .unwrap_or(host)
        .rsplit('.')
        .next()
        .unwrap_or_default();
    let numeric = !last_label.is_empty()
        && (last_label.bytes().all(|b| b.is_ascii_digit())
            || last_label
                .get(..2)
                .is_some_and(|p| p.eq_ignore_ascii_case("0x")));
    let address = host.strip_suffix('.').unwrap_or(host);
    if numeric && address.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(LinkError::InvalidIpv4 {
            host: host.to_owned(),
        });
    }
    #[cfg(feature = "ssr")]
    if let Err(e) = url::Host::parse(host) {
        return Err(LinkError::UnusableHost {
            host: host.to_owned(),
            reason: e.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reversal_parameter_belongs_only_in_a_reversal_link() {
        let text = "https://t.example/r?id=${order_id}&why=${reversal_reason}";
        let err = LinkTemplate::parse_slot_as(text, LinkKind::Signup).unwrap_err();
        assert_eq!(err.position(), Some(40));
        assert!(
            err.to_string().contains("only be used in a reversal link"),
            "{err}"
        );
        let link = LinkTemplate::parse_slot_as(text, LinkKind::Reversal)
            .unwrap()
            .unwrap();
        assert_eq!(
            link.render(&SignupValues::sample()),
            "https://t.example/r?id=TEST-ORDER-0001&why=refund"
        );
        assert_eq!(
            LinkTemplate::parse_slot_as("", LinkKind::Reversal),
            Ok(None)
        );
    }

    use super::*;

    fn render(link: &str, values: &SignupValues) -> String {
        LinkTemplate::parse(link).unwrap().render(values)
    }

    fn only(token: Token, value: &str) -> SignupValues {
        let mut v = SignupValues::default();
        match token {
            Token::Amount => v.amount = value.into(),
            Token::AccountId => v.account_id = value.into(),
            Token::UserName => v.user_name = value.into(),
            Token::Domain => v.domain = value.into(),
            Token::PlanId => v.plan_id = value.into(),
            Token::PlanName => v.plan_name = value.into(),
            Token::FullAmount => v.full_amount = value.into(),
            Token::OrderId => v.order_id = value.into(),
            Token::Currency => v.currency = value.into(),
            Token::SignupType => v.signup_type = value.into(),
            Token::ClickId => v.click_id = value.into(),
            Token::SignupTime => v.signup_time = value.into(),
            Token::Email => v.email = value.into(),
            Token::ReversalReason => v.reversal.reason = value.into(),
            Token::ReversalAmount => v.reversal.amount = value.into(),
            Token::ReversalTime => v.reversal.time = value.into(),
            Token::ReversalId => v.reversal.id = value.into(),
        }
        v
    }

    #[test]
    fn the_drop_down_lists_h_spheres_seven_first_in_its_order() {
        let names: Vec<_> = Token::ALL.iter().map(|t| t.placeholder()).collect();
        assert_eq!(
            names[..7],
            [
                "${amount}",
                "${account_id}",
                "${user_name}",
                "${domain}",
                "${plan_id}",
                "${plan_name}",
                "${full_amount}"
            ]
        );
        assert_eq!(
            names[7..],
            [
                "${order_id}",
                "${currency}",
                "${signup_type}",
                "${click_id}",
                "${signup_time}",
                "${email}"
            ]
        );
        assert!(Token::Email.label().contains("personal data"));
        assert!(Token::ALL.iter().all(|t| !t.description().is_empty()));
    }

    #[test]
    fn a_backslash_is_refused_where_it_stands() {
        // Found by fuzzing: the host check here read b.example, but an HTTP client sends to a.
        assert_eq!(
            LinkTemplate::parse("https://a\\@b.example/x"),
            Err(LinkError::Backslash { position: 10 })
        );
        assert_eq!(
            LinkTemplate::parse("https://t.example/a\\b"),
            Err(LinkError::Backslash { position: 20 })
        );
        assert!(LinkTemplate::parse("https://t.example/a%5Cb").is_ok());
    }

    #[test]
    fn each_token_renders_its_own_value() {
        for token in Token::ALL {
            let link = format!("https://t.example/s?v={}", token.placeholder());
            assert_eq!(
                render(&link, &only(token, "X1")),
                "https://t.example/s?v=X1",
                "{token:?}"
            );
        }
    }

    #[test]
    fn h_spheres_own_example_renders() {
        let link = "http://www.affiliate-site.com/cgi-bin/affiliate?clicktrade=432025.0&amount=${amount}&aid=${account_id}";
        let values = SignupValues {
            amount: "19.95".into(),
            account_id: "100042".into(),
            ..SignupValues::default()
        };
        assert_eq!(
            render(link, &values),
            "http://www.affiliate-site.com/cgi-bin/affiliate?clicktrade=432025.0&amount=19.95&aid=100042"
        );
    }

    #[test]
    fn values_are_encoded_exactly() {
        let cases = [
            ("a b", "a%20b"),
            ("x&admin=1", "x%26admin%3D1"),
            ("#frag", "%23frag"),
            ("../../etc", "..%2F..%2Fetc"),
            ("100%", "100%25"),
            ("ü€", "%C3%BC%E2%82%AC"),
            ("jane+hosting@example.com", "jane%2Bhosting%40example.com"),
            ("a?b=c;d", "a%3Fb%3Dc%3Bd"),
            ("", ""),
            ("~-._", "~-._"),
        ];
        for (value, encoded) in cases {
            assert_eq!(
                render(
                    "https://t.example/p/${click_id}?c=${click_id}",
                    &only(Token::ClickId, value)
                ),
                format!("https://t.example/p/{encoded}?c={encoded}"),
                "{value:?}"
            );
        }
    }

    /// The path the `url` crate (as the server's HTTP client) sends a rendered link to.
    fn called_path(link: &str, values: &SignupValues) -> String {
        url::Url::parse(&render(link, values))
            .unwrap()
            .path()
            .to_owned()
    }

    #[test]
    fn a_dot_value_cannot_move_the_call_to_another_path() {
        let link = "https://t.example/track/${user_name}/x";
        for (value, segment) in [(".", "%252E"), ("..", "%252E%252E")] {
            let values = only(Token::UserName, value);
            assert_eq!(
                render(link, &values),
                format!("https://t.example/track/{segment}/x"),
                "{value:?}"
            );
            assert_eq!(
                called_path(link, &values),
                format!("/track/{segment}/x"),
                "{value:?}"
            );
        }
        // As the last segment, and as the first.
        let values = only(Token::UserName, "..");
        assert_eq!(
            called_path("https://t.example/track/${user_name}", &values),
            "/track/%252E%252E"
        );
        assert_eq!(
            called_path("https://t.example/${user_name}/x?a=1", &values),
            "/%252E%252E/x"
        );
        // Two values, or a value and the admin's own dot, that spell `..` together.
        let values = SignupValues {
            user_name: ".".into(),
            domain: ".".into(),
            ..SignupValues::default()
        };
        assert_eq!(
            called_path("https://t.example/track/${user_name}${domain}/x", &values),
            "/track/%252E%252E/x"
        );
        let values = only(Token::UserName, ".");
        for (link, path) in [
            ("https://t.example/track/.${user_name}/x", "/track/.%252E/x"),
            ("https://t.example/track/${user_name}./x", "/track/%252E./x"),
            (
                "https://t.example/track/%2e${user_name}/x",
                "/track/%2e%252E/x",
            ),
            (
                "https://t.example/track/%2E${user_name}/x",
                "/track/%2E%252E/x",
            ),
        ] {
            assert_eq!(called_path(link, &values), path, "{link}");
        }
        // A value that completes the admin's `%2` to `%2e` (a dot) is encoded as well.
        for (value, path) in [("e", "/track/%2%65/x"), ("E", "/track/%2%45/x")] {
            assert_eq!(
                called_path(
                    "https://t.example/track/%2${user_name}/x",
                    &only(Token::UserName, value)
                ),
                path,
                "{value:?}"
            );
        }
    }

    #[test]
    fn dots_are_left_alone_where_they_move_nothing() {
        let values = only(Token::UserName, "..");
        for (link, rendered) in [
            (
                "https://t.example/track/x?u=${user_name}",
                "https://t.example/track/x?u=..",
            ),
            (
                "https://t.example/track?u=${user_name}#${user_name}",
                "https://t.example/track?u=..#..",
            ),
            (
                "https://t.example/track/x#/${user_name}/",
                "https://t.example/track/x#/../",
            ),
            (
                "https://t.example/track/u${user_name}/x",
                "https://t.example/track/u../x",
            ),
            (
                "https://t.example/track/${user_name}./x",
                "https://t.example/track/.../x",
            ),
        ] {
            assert_eq!(render(link, &values), rendered, "{link}");
            assert_eq!(
                url::Url::parse(rendered).unwrap().as_str(),
                rendered,
                "{link}"
            );
        }
        for value in ["...", "a.", ".a", "%2e", "%2E%2E"] {
            assert_eq!(
                render(
                    "https://t.example/track/${user_name}/x",
                    &only(Token::UserName, value)
                ),
                format!("https://t.example/track/{}/x", encode_component(value)),
                "{value:?}"
            );
        }
        // The admin's own dot segments are the admin's: an empty value adds nothing to encode.
        assert_eq!(
            render(
                "https://t.example/track/..${user_name}/x",
                &SignupValues::default()
            ),
            "https://t.example/track/../x"
        );
    }

    #[test]
    fn the_admins_text_is_left_alone_and_double_dollar_is_a_dollar() {
        assert_eq!(
            render(
                "https://t.example/a%20b?x=$$5&y=${amount}#top",
                &only(Token::Amount, "1")
            ),
            "https://t.example/a%20b?x=$5&y=1#top"
        );
    }

    #[test]
    fn an_empty_slot_is_allowed_and_fires_nothing() {
        assert_eq!(LinkTemplate::parse_slot(""), Ok(None));
    }

    #[test]
    fn every_refusal_names_its_position() {
        let cases: [(&str, LinkError); 10] = [
            (
                "https://t.example/?a=${amont}",
                LinkError::UnknownToken {
                    position: 22,
                    name: "amont".into(),
                },
            ),
            (
                "https://t.example/?a=${amount",
                LinkError::UnclosedToken { position: 22 },
            ),
            (
                "https://t.example/?a=${}",
                LinkError::EmptyToken { position: 22 },
            ),
            (
                "https://t.example/?a=$5",
                LinkError::LoneDollar { position: 22 },
            ),
            (
                "https://t.example/?a= b",
                LinkError::Whitespace { position: 22 },
            ),
            (
                "https://t.example/?a=\tb",
                LinkError::Whitespace { position: 22 },
            ),
            (
                "https://t.example/?a=\u{7}",
                LinkError::ControlCharacter { position: 22 },
            ),
            (
                "https://t.example/?a=${ amount}",
                LinkError::Whitespace { position: 24 },
            ),
            (
                "https://${domain}/x",
                LinkError::TokenInHost { position: 9 },
            ),
            (
                "https://t_ex!ample/",
                LinkError::InvalidHost { position: 13 },
            ),
        ];
        for (link, expected) in cases {
            let err = LinkTemplate::parse(link).unwrap_err();
            assert_eq!(err, expected, "{link}");
            assert!(err.position().is_some());
        }
        let unknown = LinkTemplate::parse("https://t.example/?a=${amont}")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("${amount}") && unknown.contains("${email}"),
            "lists valid names: {unknown}"
        );
    }

    #[test]
    #[cfg(feature = "ssr")]
    fn names_the_url_library_cannot_use_are_refused_on_the_server() {
        // Found by fuzzing: an empty or broken punycode label passed and failed at every call.
        for host in ["xn--", "xn--a.example"] {
            assert!(
                matches!(
                    LinkTemplate::parse(&format!("https://{host}/x")),
                    Err(LinkError::UnusableHost { .. })
                ),
                "{host}: {:?}",
                LinkTemplate::parse(&format!("https://{host}/x"))
            );
        }
    }

    #[test]
    fn only_http_and_https_with_a_host_are_accepted() {
        assert_eq!(
            LinkTemplate::parse("ftp://t.example/x"),
            Err(LinkError::UnsupportedScheme {
                scheme: "ftp".into()
            })
        );
        assert_eq!(
            LinkTemplate::parse("javascript://x"),
            Err(LinkError::UnsupportedScheme {
                scheme: "javascript".into()
            })
        );
        assert_eq!(
            LinkTemplate::parse("t.example/x?a=1"),
            Err(LinkError::MissingScheme)
        );
        assert_eq!(LinkTemplate::parse("https:///path"), Err(LinkError::NoHost));
        assert_eq!(
            LinkTemplate::parse("https://user@/x"),
            Err(LinkError::NoHost)
        );
        assert_eq!(
            LinkTemplate::parse("https://t.example:0/"),
            Err(LinkError::InvalidPort)
        );
        assert_eq!(
            LinkTemplate::parse("https://t.example:99999/"),
            Err(LinkError::InvalidPort)
        );
        // Found by fuzzing: these passed here and failed at every call.
        for not_an_address in [
            "1.2.3.999",
            "1.2.3",
            "0x7f.1",
            "2130706433",
            "01.2.3.4",
            "t.example.123",
        ] {
            assert_eq!(
                LinkTemplate::parse(&format!("https://{not_an_address}/x")),
                Err(LinkError::InvalidIpv4 {
                    host: not_an_address.into()
                }),
                "{not_an_address}"
            );
        }
        for ok in [
            "HTTPS://T.example",
            "http://127.0.0.1:8080/x?a=${amount}",
            "http://203.0.113.7./x",
            "https://123.example/x",
            "https://xn--mnchen-3ya.example/x",
            "https://[::1]:443/x",
            "https://user:pw@t.example/x",
        ] {
            assert!(LinkTemplate::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn the_length_limit_is_2048_characters() {
        let head = "https://t.example/";
        let at_limit = format!("{head}{}", "a".repeat(MAX_LINK_CHARS - head.len()));
        assert!(LinkTemplate::parse(&at_limit).is_ok());
        let over = format!("{at_limit}a");
        assert_eq!(
            LinkTemplate::parse(&over),
            Err(LinkError::TooLong { chars: 2049 })
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Any text; often one of dots (`.`, `..`, `...`) or of the characters that spell a dot
        /// after a `%` (`2e`), which would make a path segment a URL parser drops.
        fn any_value() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => any::<String>(),
                1 => "\\.{1,3}",
                1 => "[.eE2%]{1,3}",
            ]
        }

        fn any_values() -> impl Strategy<Value = SignupValues> {
            proptest::collection::vec(any_value(), 17).prop_map(|v| {
                let mut it = v.into_iter();
                let mut next = || it.next().unwrap();
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
                    reversal: ReversalValues {
                        reason: next(),
                        amount: next(),
                        time: next(),
                        id: next(),
                    },
                }
            })
        }

        fn any_token() -> impl Strategy<Value = Token> {
            proptest::sample::select(Token::every().collect::<Vec<_>>())
        }

        /// The values with each non-empty one replaced by `x`, which means nothing to a URL
        /// parser: what a link's path looks like when its values change nothing.
        fn neutral(values: &SignupValues) -> SignupValues {
            fn x(value: &str) -> String {
                String::from(if value.is_empty() { "" } else { "x" })
            }
            SignupValues {
                amount: x(&values.amount),
                account_id: x(&values.account_id),
                user_name: x(&values.user_name),
                domain: x(&values.domain),
                plan_id: x(&values.plan_id),
                plan_name: x(&values.plan_name),
                full_amount: x(&values.full_amount),
                order_id: x(&values.order_id),
                currency: x(&values.currency),
                signup_type: x(&values.signup_type),
                click_id: x(&values.click_id),
                signup_time: x(&values.signup_time),
                email: x(&values.email),
                reversal: ReversalValues {
                    reason: x(&values.reversal.reason),
                    amount: x(&values.reversal.amount),
                    time: x(&values.reversal.time),
                    id: x(&values.reversal.id),
                },
            }
        }

        fn path_segments(url: &url::Url) -> Vec<String> {
            url.path_segments()
                .map(|s| s.map(str::to_owned).collect())
                .unwrap_or_default()
        }

        /// Text that is not part of an encoded value: rendering may change only the characters
        /// an encoded value is made of, so everything else must come out as in the blank render.
        fn structure(url: &str) -> String {
            url.chars()
                .filter(|&c| {
                    !(c == '%' || (c.is_ascii() && crate::domain::percent::is_unreserved(c as u8)))
                })
                .collect()
        }

        /// A valid link built from the grammar: literal scheme and host, then any mix of URL
        /// text (with `?`, `#`, `&`, `=`, `%` and `/`), `$$`, placeholders and other characters.
        fn any_template_text() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                "[A-Za-z0-9._~!*'();:@&=+,/?#%-]{1,6}",
                Just("$$".to_owned()),
                any_token().prop_map(|t| t.placeholder()),
                "[^\\s\\p{Cc}$\\\\]{1,3}",
            ];
            (
                proptest::sample::select(vec!["http", "https", "HTTP", "hTtPs"]),
                proptest::option::of("[a-z0-9]{1,6}(:[a-z0-9]{0,6})?@"),
                prop_oneof![
                    // A last label of digits is an IPv4 address to URL parsers, so labels start
                    // with a letter; no two hyphens in a row, so no label is an `xn--` one that is
                    // not punycode (`xn--.aa`), which the URL standard refuses.
                    "[a-z]([a-z0-9]|-[a-z0-9]){0,9}(\\.[a-z]([a-z0-9]|-[a-z0-9]){0,8}){0,2}",
                    Just("127.0.0.1".to_owned()),
                    Just("[::1]".to_owned()),
                ],
                proptest::option::of(1u16..),
                proptest::collection::vec(piece, 0..12),
            )
                .prop_map(|(scheme, user, host, port, pieces)| {
                    let user = user.unwrap_or_default();
                    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                    format!("{scheme}://{user}{host}{port}/{}", pieces.concat())
                })
        }

        /// Links, near-links (one character inserted anywhere) and anything at all.
        fn any_link_text() -> impl Strategy<Value = String> {
            prop_oneof![
                any_template_text(),
                (
                    any_template_text(),
                    any::<char>(),
                    any::<proptest::sample::Index>()
                )
                    .prop_map(|(text, c, at)| {
                        let mut chars: Vec<char> = text.chars().collect();
                        chars.insert(at.index(chars.len() + 1), c);
                        chars.into_iter().collect()
                    }),
                any::<String>(),
            ]
        }

        proptest! {
            #![proptest_config(crate::domain::proptest_config(2000))]

            #[test]
            fn a_parsed_link_spells_its_source_and_refusals_point_inside_it(raw in any_link_text()) {
                let chars = raw.chars().count();
                match LinkTemplate::parse_slot(&raw) {
                    Ok(None) => prop_assert!(raw.is_empty()),
                    Ok(Some(template)) => {
                        prop_assert_eq!(template.source(), raw.as_str());
                        let spelled: String = template
                            .pieces()
                            .iter()
                            .map(|p| match p {
                                Piece::Text(text) => text.replace('$', "$$"),
                                Piece::Token(t) => t.placeholder(),
                            })
                            .collect();
                        prop_assert_eq!(spelled, raw);
                    }
                    Err(err) => {
                        if let Some(position) = err.position() {
                            prop_assert!((1..=chars).contains(&position), "{:?} in {} chars", err, chars);
                        }
                        prop_assert!(!err.to_string().is_empty());
                    }
                }
            }

            #[test]
            fn values_change_only_the_places_they_fill(link in any_template_text(), values in any_values()) {
                let template = LinkTemplate::parse(&link).unwrap();
                let blank = template.render(&SignupValues::default());
                let rendered = template.render(&values);
                prop_assert_eq!(structure(&rendered), structure(&blank));
                prop_assert!(!rendered.chars().any(|c| c.is_whitespace() || c.is_control()));
                if let Ok(blank) = url::Url::parse(&blank) {
                    let rendered = url::Url::parse(&rendered).unwrap();
                    prop_assert_eq!(rendered.scheme(), blank.scheme());
                    prop_assert_eq!(rendered.username(), blank.username());
                    prop_assert_eq!(rendered.password(), blank.password());
                    prop_assert_eq!(rendered.host_str(), blank.host_str());
                    prop_assert_eq!(rendered.port(), blank.port());
                    prop_assert_eq!(rendered.fragment().is_some(), blank.fragment().is_some());
                    prop_assert_eq!(
                        rendered.query().map(|q| q.matches('&').count()),
                        blank.query().map(|q| q.matches('&').count())
                    );
                }
            }

            #[test]
            fn values_never_remove_a_path_segment(link in any_template_text(), values in any_values()) {
                let template = LinkTemplate::parse(&link).unwrap();
                let rendered = template.render(&values);
                if let Ok(reference) = url::Url::parse(&template.render(&neutral(&values))) {
                    let rendered = url::Url::parse(&rendered).unwrap();
                    prop_assert_eq!(
                        path_segments(&rendered).len(),
                        path_segments(&reference).len(),
                        "{}", rendered
                    );
                }
            }

            #[test]
            fn parsing_any_string_never_panics(raw in any::<String>()) {
                let _ = LinkTemplate::parse_slot(&raw);
            }

            #[test]
            fn parsing_link_like_strings_never_panics(raw in "[hH][tT]{2}[pP][sS]?://[a-z.:@\\[\\]0-9${}/?#&=%_-]{0,40}") {
                let _ = LinkTemplate::parse_slot(&raw);
            }

            #[test]
            fn values_never_change_scheme_host_path_or_parameters(
                https in any::<bool>(),
                // No two hyphens in a row: see `any_template_text`.
                host in "[a-z]([a-z0-9]|-[a-z0-9]){0,9}(\\.[a-z]{2,5}){1,2}",
                segments in proptest::collection::vec("[a-zA-Z0-9_.-]{1,8}", 0..4),
                // A placeholder in the last segment, after some text or none: with the value
                // `.`, `/.${user_name}` would be `/..` without care.
                path_token in proptest::option::of((
                    any_token(),
                    proptest::sample::select(vec!["p-", "", ".", "%2e", "%2E", "%2"]),
                )),
                query_tokens in proptest::collection::vec(any_token(), 0..5),
                values in any_values(),
            ) {
                let scheme = if https { "https" } else { "http" };
                let mut link = format!("{scheme}://{host}/{}", segments.join("/"));
                if let Some((t, before)) = path_token {
                    link.push_str(&format!("/{before}{}", t.placeholder()));
                }
                link.push_str("?fixed=1");
                for (i, t) in query_tokens.iter().enumerate() {
                    link.push_str(&format!("&k{i}={}", t.placeholder()));
                }
                let template = LinkTemplate::parse(&link).unwrap();
                let blank = url::Url::parse(&template.render(&SignupValues::default())).unwrap();
                let rendered = url::Url::parse(&template.render(&values)).unwrap();
                prop_assert_eq!(rendered.scheme(), scheme);
                prop_assert_eq!(rendered.host_str(), blank.host_str());
                prop_assert_eq!(rendered.fragment(), None);
                prop_assert_eq!(
                    rendered.path_segments().map(|s| s.count()),
                    blank.path_segments().map(|s| s.count())
                );
                if path_token.is_none() {
                    prop_assert_eq!(rendered.path(), blank.path());
                }
                // The value stays in its own segment, after the same segments as ever.
                let reference = url::Url::parse(&template.render(&neutral(&values))).unwrap();
                let (got, want) = (path_segments(&rendered), path_segments(&reference));
                prop_assert_eq!(got.len(), want.len());
                prop_assert_eq!(
                    got.split_last().map(|(_, head)| head),
                    want.split_last().map(|(_, head)| head)
                );
                let keys: Vec<String> = rendered.query_pairs().map(|(k, _)| k.into_owned()).collect();
                let expected: Vec<String> = std::iter::once("fixed".to_owned())
                    .chain((0..query_tokens.len()).map(|i| format!("k{i}")))
                    .collect();
                prop_assert_eq!(keys, expected);
                for (i, t) in query_tokens.iter().enumerate() {
                    let got = rendered.query_pairs().nth(i + 1).unwrap().1.into_owned();
                    prop_assert_eq!(got, values.get(*t).to_owned());
                }
            }
        }
    }
}
