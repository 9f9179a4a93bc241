//! Where to send an admin after login. Only same-site paths are honoured, so a crafted
//! `/login?next=https://evil.example` link cannot turn the login page into an open redirect.

/// The longest `next` worth keeping; anything longer is not a link a person followed.
const MAX_NEXT_CHARS: usize = 2048;

/// Returns `raw` when it is a path on this site, otherwise `None` (the caller falls back to `/`).
pub fn safe_next_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        // `//host` and `/\host` are protocol-relative URLs in browsers.
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= MAX_NEXT_CHARS
        && !raw.chars().any(|c| c == '\\' || c.is_control())
        // Sending someone back to the login page after logging in would loop.
        && !(raw == "/login" || raw.starts_with("/login?") || raw.starts_with("/login/"));
    ok.then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_site_paths_are_kept() {
        for ok in ["/", "/settings/affiliate", "/signups?page=2", "/a#b"] {
            assert_eq!(safe_next_path(ok), Some(ok));
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_is_dropped() {
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "/foo\\bar",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/x\n",
            "/login",
            "/login?next=/x",
        ] {
            assert_eq!(safe_next_path(bad), None, "{bad:?} must be refused");
        }
        assert_eq!(safe_next_path(&format!("/{}", "a".repeat(2048))), None);
    }
}
