//! The result of affdesk calling a URL, shown to the admin ("Send test") and, for deliveries,
//! stored as an attempt.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutcome {
    pub url: String,
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    /// The first 2 KB of the body, as text.
    pub body_excerpt: String,
    /// The failure in words, when there was no HTTP answer or the answer was a redirect.
    pub error: Option<String>,
    /// A short class of the failure ([`CallFailure::kind`]): `timeout`, `refused`, `dns`, `tls`, `not_allowed`, `connect`,
    /// `redirect`, `invalid_url` or `other`.
    pub error_kind: Option<String>,
    /// The answer's `Retry-After` header, as sent.
    pub retry_after: Option<String>,
    /// Which of the link's reply rules the answer passed, when it has rules (a broken rule is
    /// the `error`).
    #[serde(default)]
    pub rule: Option<String>,
}

impl CallOutcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s)) && self.error.is_none()
    }
}

/// Why a call got no usable answer, worded for an admin: the cause once, then what to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFailure {
    /// The host name did not resolve; `resolver_failed` when the resolver gave no answer at all
    /// (rather than "no such name").
    Dns {
        host: String,
        resolver_failed: bool,
    },
    Refused,
    Reset,
    ConnectTimeout {
        secs: u64,
    },
    AnswerTimeout {
        secs: u64,
    },
    /// The TLS handshake failed (`reason`: the innermost error, such as an expired certificate).
    Tls {
        reason: String,
    },
    /// The address guard refused the host; its text says which rule.
    NotAllowed(String),
    Connect(String),
    Other(String),
}

impl CallFailure {
    /// A lookup failure from the system resolver's message.
    pub fn dns(host: &str, resolver_message: &str) -> Self {
        Self::Dns {
            host: host.to_owned(),
            resolver_failed: resolver_message.contains("Temporary failure")
                || resolver_message.contains("try again"),
        }
    }

    /// A connection that failed in its TLS handshake, recognised in the error chain's text.
    pub fn tls_in(chain: &[String]) -> Option<Self> {
        let tls = chain.iter().any(|text| {
            let lower = text.to_ascii_lowercase();
            lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
        });
        tls.then(|| Self::Tls {
            reason: chain.last().cloned().unwrap_or_default(),
        })
    }

    /// The short class stored with an attempt and shown in filters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dns { .. } => "dns",
            Self::Refused => "refused",
            Self::Reset | Self::Connect(_) => "connect",
            Self::ConnectTimeout { .. } | Self::AnswerTimeout { .. } => "timeout",
            Self::Tls { .. } => "tls",
            Self::NotAllowed(_) => "not_allowed",
            Self::Other(_) => "other",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::Dns {
                host,
                resolver_failed: false,
            } => format!(
                "DNS failure: {host} does not resolve to any address. Check the host name in the \
                 link, and that this server resolves it (getent hosts {host})."
            ),
            Self::Dns {
                host,
                resolver_failed: true,
            } => format!(
                "DNS failure: this server's DNS resolver gave no answer for {host}. Check the \
                 server's DNS settings (/etc/resolv.conf)."
            ),
            Self::Refused => "connection refused: nothing is listening at that address and port. \
                 Check the port in the link and that the tracker is running."
                .to_owned(),
            Self::Reset => "the connection was reset by the server. Check that the link's scheme \
                 (http or https) matches its port."
                .to_owned(),
            Self::ConnectTimeout { secs } => format!(
                "timeout: could not connect within {secs} s. Check that the tracker is up and that \
                 no firewall stops this server from reaching it."
            ),
            Self::AnswerTimeout { secs } => format!(
                "timeout: connected, but no complete answer within {secs} s. The tracker is slow \
                 or stalled; check with whoever runs it."
            ),
            Self::Tls { reason } => format!(
                "TLS failure: {reason}. Check that the tracker's certificate is valid for the \
                 link's host name and has not expired."
            ),
            Self::NotAllowed(text) => text.clone(),
            Self::Connect(text) => format!("could not connect: {text}"),
            Self::Other(text) => format!("the call failed: {text}"),
        }
    }
}

/// Escapes text for an HTML attribute value or element content.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One 1x1 image per pixel URL, as H-Sphere's signup end page printed them.
pub fn pixel_html(urls: &[String]) -> String {
    urls.iter()
        .map(|u| {
            format!(
                "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\">",
                escape_html(u)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_its_cause_once_and_what_to_check() {
        let dns = CallFailure::dns(
            "tracker.example.com",
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(dns.kind(), "dns");
        let text = dns.message();
        assert_eq!(text.matches("tracker.example.com").count(), 2, "{text}");
        assert!(
            text.contains("does not resolve") && text.contains("Check"),
            "{text}"
        );
        assert!(!text.contains("Name or service not known"), "{text}");
        let resolver = CallFailure::dns(
            "t.example",
            "failed to lookup address information: Temporary failure in name resolution",
        );
        assert!(resolver.message().contains("resolv.conf"));
        for failure in [
            CallFailure::Refused,
            CallFailure::Reset,
            CallFailure::ConnectTimeout { secs: 5 },
            CallFailure::AnswerTimeout { secs: 10 },
            CallFailure::Tls {
                reason: "invalid peer certificate: Expired".to_owned(),
            },
        ] {
            let text = failure.message();
            assert!(text.contains("Check") || text.contains("check"), "{text}");
        }
        assert_eq!(CallFailure::Refused.kind(), "refused");
        assert!(CallFailure::ConnectTimeout { secs: 5 }
            .message()
            .contains("5 s"));
    }

    #[test]
    fn a_tls_failure_is_recognised_in_the_error_chain() {
        let chain = [
            "error sending request".to_owned(),
            "client error (Connect)".to_owned(),
            "invalid peer certificate: Expired".to_owned(),
        ];
        assert_eq!(
            CallFailure::tls_in(&chain),
            Some(CallFailure::Tls {
                reason: "invalid peer certificate: Expired".to_owned()
            })
        );
        assert_eq!(CallFailure::tls_in(&["tcp connect error".to_owned()]), None);
    }

    #[test]
    fn pixel_snippets_escape_their_attributes() {
        let html = pixel_html(&["https://p.example/x?a=1&b=\"><script>".to_owned()]);
        assert_eq!(
            html,
            "<img src=\"https://p.example/x?a=1&amp;b=&quot;&gt;&lt;script&gt;\" width=\"1\" height=\"1\" alt=\"\">"
        );
        assert_eq!(pixel_html(&[]), "");
    }
}
