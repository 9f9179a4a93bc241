//! What request handlers, server functions and background tasks can reach: the whole
//! [`AppState`], and the narrow dependencies each area of use cases takes from it. A use case
//! takes the narrow one (axum's `FromRef` builds it from the state), so its signature says what
//! it touches: the password use cases cannot call Explodely, the delivery worker cannot read
//! sessions.

use crate::domain::address::AllowList;
use crate::domain::throttle::ThrottlePolicy;
use crate::server::clock::Clock;
use crate::server::remote::explodely::ExplodelyClient;
use crate::server::remote::outbound::OutboundClient;
use crate::server::security::login_turns::LoginTurns;
use crate::server::security::passwords::PasswordService;
use crate::server::security::secrets::SecretBox;
use crate::server::storage::affiliate_store::SettingsCache;
use crate::server::storage::db::Db;
use crate::server::storage::intake_log::IntakeLog;
use crate::server::storage::signups::SignupWriter;
use crate::server::worker::alerts::{AlertContext, AlertWaker};
use crate::server::worker::delivery::{DeliveryContext, DeliveryWaker};
use axum::extract::FromRef;
use chrono::TimeDelta;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// A session unused for this long is over.
    pub idle_timeout: TimeDelta,
    /// A session this old is over, however busy (`AFFDESK_SESSION_MAX_HOURS`).
    pub max_lifetime: TimeDelta,
    /// Cookies are `Secure` and `__Host-` prefixed (HTTPS).
    pub secure_cookies: bool,
    pub throttle: ThrottlePolicy,
    /// The origin browsers see (`https://affdesk.example.com`). When unset, a request's `Origin`
    /// must match its own `Host` header.
    pub public_origin: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` says who the client is (`AFFDESK_TRUSTED_PROXIES`);
    /// from any other peer the header is ignored, or clients could pick their own address.
    pub trusted_proxies: AllowList,
    /// Every admin must use two-step login (`AFFDESK_REQUIRE_MFA`): one without it is sent to
    /// set it up at their next login.
    pub require_mfa: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            idle_timeout: TimeDelta::minutes(30),
            max_lifetime: TimeDelta::hours(12),
            secure_cookies: false,
            throttle: ThrottlePolicy::default(),
            public_origin: None,
            trusted_proxies: AllowList::default(),
            require_mfa: false,
        }
    }
}

/// The application's state, shared: one pointer, so the copies axum makes for every layer of
/// every request (18 per page view, counted with `bench/count-p1`) cost one reference count
/// each instead of one per field. Its fields are [`Services`]'.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// Everything the application holds, behind [`AppState`].
#[derive(Debug)]
pub struct Services {
    pub db: Db,
    pub passwords: PasswordService,
    /// One password check at a time per username and per address.
    pub login_turns: LoginTurns,
    pub outbound: OutboundClient,
    /// Stores reported signups, several to a transaction.
    pub signups: SignupWriter,
    /// Logs every call to the signup API.
    pub intake_log: IntakeLog,
    /// Wakes the delivery worker when a signup queued deliveries.
    pub deliveries: DeliveryWaker,
    /// Wakes the alert worker when alerts were queued.
    pub alerts: AlertWaker,
    /// The affiliate settings as last read, by stored version.
    pub affiliate_settings: SettingsCache,
    /// The currency of signups reported without one.
    pub default_currency: String,
    pub explodely: ExplodelyClient,
    /// Seals stored credentials (the Explodely API key).
    pub secrets: SecretBox,
    pub auth: Arc<AuthConfig>,
    pub clock: Arc<dyn Clock>,
    pub leptos_options: LeptosOptions,
    /// Where pages find the site's files: `/assets/<build id>`, which changes with every build.
    pub assets_root: Arc<str>,
}

/// Sessions: who is logged in, for how long.
#[derive(Debug, Clone)]
pub struct SessionDeps {
    pub db: Db,
    pub auth: Arc<AuthConfig>,
    pub clock: Arc<dyn Clock>,
}

/// Logging in and changing passwords.
#[derive(Debug, Clone)]
pub struct AccountDeps {
    pub sessions: SessionDeps,
    pub passwords: PasswordService,
    /// Seals device cookies.
    pub secrets: SecretBox,
    pub turns: LoginTurns,
}

/// The Affiliate Program settings, and Send test.
#[derive(Debug, Clone)]
pub struct AffiliateDeps {
    pub db: Db,
    pub settings: SettingsCache,
    pub outbound: OutboundClient,
    pub clock: Arc<dyn Clock>,
}

/// Reading signups and their deliveries, retrying one by hand, and API tokens.
#[derive(Debug, Clone)]
pub struct SignupDeps {
    pub db: Db,
    pub deliveries: DeliveryWaker,
    pub clock: Arc<dyn Clock>,
}

/// Taking in reported signups.
#[derive(Debug, Clone)]
pub struct IntakeDeps {
    pub db: Db,
    pub writer: SignupWriter,
    pub deliveries: DeliveryWaker,
    pub settings: SettingsCache,
    pub default_currency: String,
    pub public_origin: Option<String>,
    pub clock: Arc<dyn Clock>,
}

/// Settings → Connect signups: where the API is, and its log.
#[derive(Debug, Clone)]
pub struct ConnectDeps {
    pub db: Db,
    pub public_origin: Option<String>,
}

/// Explodely: its credentials and the contracts created through it.
#[derive(Debug, Clone)]
pub struct ContractDeps {
    pub db: Db,
    pub secrets: SecretBox,
    pub explodely: ExplodelyClient,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub fn delivery_context(&self) -> DeliveryContext {
        DeliveryContext::from_ref(self)
    }

    pub fn alert_context(&self) -> AlertContext {
        AlertContext::from_ref(self)
    }

    /// Where alert messages tell the admin to look: the overview, when the public address is
    /// known.
    pub fn alert_page_url(&self) -> Option<String> {
        self.auth
            .public_origin
            .as_ref()
            .map(|origin| format!("{}/", origin.trim_end_matches('/')))
    }
}

/// `FromRef<AppState>` for each narrow dependency, built by cloning what it names.
macro_rules! narrow {
    ($($deps:ident => |$s:ident| $build:expr;)*) => {$(
        impl FromRef<AppState> for $deps {
            fn from_ref($s: &AppState) -> Self {
                $build
            }
        }
    )*};
}

narrow! {
    LeptosOptions => |s| s.leptos_options.clone();
    Db => |s| s.db.clone();
    SessionDeps => |s| SessionDeps {
        db: s.db.clone(),
        auth: s.auth.clone(),
        clock: s.clock.clone(),
    };
    AccountDeps => |s| AccountDeps {
        sessions: SessionDeps::from_ref(s),
        passwords: s.passwords.clone(),
        secrets: s.secrets.clone(),
        turns: s.login_turns.clone(),
    };
    AffiliateDeps => |s| AffiliateDeps {
        db: s.db.clone(),
        settings: s.affiliate_settings.clone(),
        outbound: s.outbound.clone(),
        clock: s.clock.clone(),
    };
    SignupDeps => |s| SignupDeps {
        db: s.db.clone(),
        deliveries: s.deliveries.clone(),
        clock: s.clock.clone(),
    };
    IntakeDeps => |s| IntakeDeps {
        db: s.db.clone(),
        writer: s.signups.clone(),
        deliveries: s.deliveries.clone(),
        settings: s.affiliate_settings.clone(),
        default_currency: s.default_currency.clone(),
        public_origin: s.auth.public_origin.clone(),
        clock: s.clock.clone(),
    };
    ConnectDeps => |s| ConnectDeps {
        db: s.db.clone(),
        public_origin: s.auth.public_origin.clone(),
    };
    ContractDeps => |s| ContractDeps {
        db: s.db.clone(),
        secrets: s.secrets.clone(),
        explodely: s.explodely.clone(),
        clock: s.clock.clone(),
    };
    DeliveryContext => |s| DeliveryContext {
        db: s.db.clone(),
        outbound: s.outbound.clone(),
        clock: s.clock.clone(),
        alerts: s.alerts.clone(),
        page_url: s.alert_page_url(),
    };
    AlertContext => |s| AlertContext {
        db: s.db.clone(),
        outbound: s.outbound.clone(),
        secrets: s.secrets.clone(),
        clock: s.clock.clone(),
        page_url: s.alert_page_url(),
    };
}

impl FromRef<AppState> for IntakeLog {
    fn from_ref(state: &AppState) -> Self {
        state.intake_log.clone()
    }
}

impl FromRef<AppState> for Arc<AuthConfig> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
