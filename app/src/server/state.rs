//! What every request handler and server function can reach.

use crate::domain::throttle::ThrottlePolicy;
use crate::server::clock::Clock;
use crate::server::db::Db;
use crate::server::delivery::DeliveryWaker;
use crate::server::explodely::ExplodelyClient;
use crate::server::outbound::OutboundClient;
use crate::server::passwords::PasswordService;
use crate::server::secrets::SecretBox;
use axum::extract::FromRef;
use chrono::TimeDelta;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session unused for this long is over.
    pub idle_timeout: TimeDelta,
    pub throttle: ThrottlePolicy,
    /// The origin browsers see (`https://affdesk.example.com`). When unset, a request's `Origin`
    /// must match its own `Host` header.
    pub public_origin: Option<String>,
    /// Take the client address from the last `X-Forwarded-For` entry (set behind a reverse
    /// proxy that appends it; never otherwise, or clients could pick their own address).
    pub trust_forwarded_for: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            idle_timeout: TimeDelta::minutes(30),
            throttle: ThrottlePolicy::default(),
            public_origin: None,
            trust_forwarded_for: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub passwords: PasswordService,
    pub outbound: OutboundClient,
    /// Stores reported signups, several to a transaction.
    pub signups: crate::server::signups::SignupWriter,
    /// Wakes the delivery worker when a signup queued deliveries.
    pub deliveries: DeliveryWaker,
    /// The affiliate settings as last read, by stored version.
    pub affiliate_settings: crate::server::affiliate_store::SettingsCache,
    /// The currency of signups reported without one.
    pub default_currency: String,
    pub explodely: ExplodelyClient,
    /// Seals stored credentials (the Explodely API key).
    pub secrets: SecretBox,
    pub auth: Arc<AuthConfig>,
    pub clock: Arc<dyn Clock>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
