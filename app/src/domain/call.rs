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
}

impl CallOutcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s)) && self.error.is_none()
    }
}
