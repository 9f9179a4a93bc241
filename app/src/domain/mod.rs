//! Pure rules: no I/O, compiled for the browser (wasm) and the server alike, unit-tested here.

pub mod address;
pub mod affiliate;
pub mod alerts;
pub mod call;
pub mod conditions;
pub mod contract;
pub mod credentials;
pub mod eligibility;
pub mod explodely;
pub mod field_error;
pub mod forwarded;
pub mod incidents;
pub mod link_health;
pub mod link_template;
pub mod next_path;
pub mod overview;
pub mod percent;
pub mod retry;
pub mod reversal;
pub mod signup;
pub mod states;
pub mod success;
pub mod throttle;
/// Server-only: the browser never sees a secret or computes a code.
#[cfg(feature = "ssr")]
pub mod totp;

/// The property tests' case count: `default_cases` in the normal suite, `PROPTEST_CASES` when
/// set, for a long run (`PROPTEST_CASES=200000 cargo test -p app --release --lib domain`).
/// (`ProptestConfig::with_cases` alone would ignore the variable.)
#[cfg(test)]
pub(crate) fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default_cases);
    proptest::test_runner::Config::with_cases(cases)
}
