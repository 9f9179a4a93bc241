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
    /// A short class of the failure: `timeout`, `refused`, `dns`, `not_allowed`, `connect`,
    /// `redirect`, `invalid_url` or `other`.
    pub error_kind: Option<String>,
    /// The answer's `Retry-After` header, as sent.
    pub retry_after: Option<String>,
}

impl CallOutcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s)) && self.error.is_none()
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
    fn pixel_snippets_escape_their_attributes() {
        let html = pixel_html(&["https://p.example/x?a=1&b=\"><script>".to_owned()]);
        assert_eq!(
            html,
            "<img src=\"https://p.example/x?a=1&amp;b=&quot;&gt;&lt;script&gt;\" width=\"1\" height=\"1\" alt=\"\">"
        );
        assert_eq!(pixel_html(&[]), "");
    }
}
