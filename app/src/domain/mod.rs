//! Pure rules: no I/O, compiled for the browser (wasm) and the server alike, unit-tested here.

pub mod address;
pub mod affiliate;
pub mod call;
pub mod contract;
pub mod credentials;
pub mod eligibility;
pub mod link_template;
pub mod next_path;
pub mod percent;
pub mod retry;
pub mod signup;
pub mod throttle;
