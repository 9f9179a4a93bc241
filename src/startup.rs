//! Builds the application the same way in production and in tests: `Application::build` opens
//! the database, applies migrations, binds the listener (port 0 in tests) and assembles the router.

use crate::config::{DatabaseSettings, Settings};
use crate::serve::{serve, ConnectionLimits};
use crate::site::{self, SiteFiles, SiteSource};
use anyhow::Context;
use app::domain::states::AuditKind;
use app::server::clock::{Clock, SystemClock};
use app::server::http::guard;
use app::server::http::session;
use app::server::http::{
    affiliate_form, auth_http, contract_form, downloads, intake, openapi, posted_page,
};
use app::server::metrics::{self, Scrape};
use app::server::remote::explodely::ExplodelyClient;
use app::server::remote::outbound::OutboundClient;
use app::server::security::passwords::PasswordService;
use app::server::security::secrets::SecretBox;
use app::server::security::tokens::random_token;
use app::server::state::{AppState, AuthConfig, Services};
use app::server::storage::admins::{self, CreateOutcome};
use app::server::storage::audit_log::{self, Actor};
use app::server::storage::db::{redact_url, Db};
use app::server::storage::intake_log::IntakeLog;
use app::server::storage::login_throttle;
use app::server::storage::session_store::HashedIds;
use app::server::storage::signups::SignupWriter;
use app::server::worker::alerts::{AlertWaker, AlertWorker};
use app::server::worker::delivery::{DeliveryLimits, DeliveryWaker, DeliveryWorker};
use app::{shell, App};
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::{time, SameSite};
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::{Expiry, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// Larger bodies get 413: nothing affdesk accepts comes close.
const MAX_BODY_BYTES: usize = 64 * 1024;
const HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(300);

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    background: Vec<JoinHandle<()>>,
    /// The delivery and alert workers, stopped gracefully: calls under way finish first.
    worker: Option<(tokio::sync::watch::Sender<bool>, Vec<JoinHandle<()>>)>,
    connections: ConnectionLimits,
    /// The Prometheus metrics listener, when AFFDESK_METRICS_ADDR is set.
    metrics: Option<(TcpListener, Scrape)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let db = open_database(&settings.database).await?;
        let listener = TcpListener::bind(settings.addr)
            .await
            .with_context(|| format!("cannot listen on {} (LEPTOS_SITE_ADDR)", settings.addr))?;
        let addr = listener.local_addr()?;
        let site = Arc::new(load_site(&settings.site)?);
        let metrics = bind_metrics(&settings, &db, &clock).await?;
        let state = app_state(&settings, db.clone(), clock, addr, &site)?;
        if let Some(username) = &settings.bootstrap_admin {
            bootstrap_first_admin(&state, username, addr).await?;
        }
        let mut background = vec![spawn_housekeeping(state.clone(), settings.audit_retention)];
        let router = match &db {
            Db::Sqlite(pool) => {
                with_sessions(
                    &state,
                    SqliteStore::new(pool.clone()),
                    (&settings, &site),
                    &mut background,
                )
                .await?
            }
            Db::Postgres(pool) => {
                with_sessions(
                    &state,
                    PostgresStore::new(pool.clone()),
                    (&settings, &site),
                    &mut background,
                )
                .await?
            }
        };
        let worker = settings
            .run_delivery_worker
            .then(|| start_workers(&state, settings.delivery_limits));
        Ok(Self {
            listener,
            router,
            state,
            background,
            worker,
            connections: ConnectionLimits {
                header_timeout: settings.header_timeout,
                max_connections: settings.max_client_connections,
                per_address: settings.max_connections_per_address,
                unlimited: settings.trusted_proxies.clone(),
            },
            metrics,
        })
    }

    /// Where the metrics listener listens, when it is on.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics
            .as_ref()
            .and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, letting in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.address(), "affdesk listening on http://{}", self.address());
        let mut background = self.background;
        if let Some((listener, scrape)) = self.metrics {
            let at = listener.local_addr()?;
            tracing::info!(address = %at, "metrics on http://{at}/metrics");
            let metrics = Router::new()
                .route("/metrics", axum::routing::get(metrics::scrape))
                .with_state(scrape);
            background.push(tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, metrics).await {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            }));
        }
        serve(self.listener, self.router, self.connections, shutdown).await;
        for task in &background {
            task.abort();
        }
        if let Some((stop, handles)) = self.worker {
            let _ = stop.send(true);
            for handle in handles {
                let _ = handle.await;
            }
        }
        self.state.db.close_when_idle(Duration::from_secs(5)).await;
        tracing::info!("affdesk stopped");
        Ok(())
    }
}

/// Starts the delivery and alert workers; both stop when the returned sender says so.
fn start_workers(
    state: &AppState,
    limits: DeliveryLimits,
) -> (tokio::sync::watch::Sender<bool>, Vec<JoinHandle<()>>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let deliveries = DeliveryWorker::new(state.delivery_context(), limits);
    let alerts = AlertWorker::new(state.alert_context());
    let handles = vec![
        tokio::spawn(deliveries.run(state.deliveries.clone(), stopped.clone())),
        tokio::spawn(alerts.run(state.alerts.clone(), stopped)),
    ];
    (stop, handles)
}

/// The site's files, read once; a site without its wasm is worth a warning (pages work, but
/// without JavaScript).
fn load_site(source: &SiteSource) -> anyhow::Result<SiteFiles> {
    let files = SiteFiles::load(source)
        .with_context(|| format!("loading the site from {source} (LEPTOS_SITE_ROOT)"))?;
    if files.is_empty() && *source != SiteSource::Empty {
        tracing::warn!(site = %source, "no site files: pages will work without JavaScript; build the site with `cargo leptos build` or set LEPTOS_SITE_ROOT");
    } else {
        tracing::info!(site = %source, files = files.len(), build = files.build_id(), "site loaded");
    }
    Ok(files)
}

/// The metrics listener, bound when AFFDESK_METRICS_ADDR is set, with what its scrape reads.
async fn bind_metrics(
    settings: &Settings,
    db: &Db,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Option<(TcpListener, Scrape)>> {
    let Some(at) = settings.metrics_addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(at)
        .await
        .with_context(|| format!("cannot listen on {at} (AFFDESK_METRICS_ADDR)"))?;
    let scrape = Scrape {
        handle: metrics::install(),
        db: db.clone(),
        clock: clock.clone(),
    };
    Ok(Some((listener, scrape)))
}

/// Everything requests and background tasks share, built from the settings.
fn app_state(
    settings: &Settings,
    db: Db,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
    site: &SiteFiles,
) -> anyhow::Result<AppState> {
    Ok(AppState::new(Services {
        passwords: PasswordService::default(),
        login_turns: Default::default(),
        outbound: OutboundClient::new(settings.outbound_allow.clone(), settings.delivery_timeout)
            .context("building the outbound HTTP client")?,
        auth: Arc::new(AuthConfig {
            idle_timeout: settings.session_idle_timeout,
            max_lifetime: settings.session_max_lifetime,
            secure_cookies: settings.secure_cookies(),
            public_origin: settings.public_origin.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            require_mfa: settings.require_mfa,
            ..AuthConfig::default()
        }),
        intake_log: IntakeLog::spawn(db.clone(), clock.clone()),
        clock,
        signups: SignupWriter::spawn(db.clone()),
        deliveries: DeliveryWaker::default(),
        alerts: AlertWaker::default(),
        affiliate_settings: Default::default(),
        default_currency: settings.default_currency.clone(),
        explodely: ExplodelyClient::new(&settings.explodely_url, settings.explodely_timeout)
            .context("building the Explodely client")?,
        secrets: SecretBox::load(settings.secret_key.as_ref(), &settings.secret_key_file)?,
        // The site's files are served by `site.rs`; these options only name them in the page.
        leptos_options: LeptosOptions::builder()
            .output_name("affdesk")
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(Env::PROD)
            .build(),
        assets_root: site.assets_root().into(),
        db,
    }))
}

/// The router with sessions kept in `store` (created when missing, cleaned up in the
/// background).
async fn with_sessions<Store>(
    state: &AppState,
    store: Store,
    (settings, site): (&Settings, &Arc<SiteFiles>),
    background: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<Router>
where
    Store: SessionStore + ExpiredDeletion + MigrateStore + Clone,
{
    store
        .migrate()
        .await
        .context("creating the session table")?;
    background.push(spawn_session_cleanup(store.clone()));
    Ok(router(state.clone(), store, settings, site.clone()))
}

/// The session stores' table set-up, which both stores have but no trait names.
trait MigrateStore {
    fn migrate(&self) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send;
}

impl MigrateStore for SqliteStore {
    fn migrate(&self) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send {
        SqliteStore::migrate(self)
    }
}

impl MigrateStore for PostgresStore {
    fn migrate(&self) -> impl std::future::Future<Output = Result<(), sqlx::Error>> + Send {
        PostgresStore::migrate(self)
    }
}

/// Connects and applies migrations: every command works on a brand-new database.
pub async fn open_database(settings: &DatabaseSettings) -> anyhow::Result<Db> {
    let url = settings.url.expose_secret();
    let db = Db::connect(url, settings.max_connections).await?;
    db.migrate()
        .await
        .with_context(|| format!("migrating {}", redact_url(url)))?;
    Ok(db)
}

/// The application's page routes, read from the Leptos route table once per process.
///
/// Once, not per `Application::build`: in leptos_server 0.8 `generate_route_list` raises a
/// process-wide flag while it walks the app, and a `Resource` whose loader is first polled while
/// that flag is up waits forever (leptos-rs/leptos#4773). A server built beside another one that
/// is already serving (tests, which run many servers in one process; a second instance in one
/// process) would open that window under the first one's renders, and the page being rendered
/// there would never finish. Generated once, before any server can serve, the window is closed
/// before the first render.
pub fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

/// One span per request with its method, path, status and latency. Path only: query strings can
/// carry usernames and are nobody's business in a log; and not the signup-complete page's token.
fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &Request| {
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    path = %guard::loggable_path(req.uri().path()),
                    status = tracing::field::Empty,
                    latency_ms = tracing::field::Empty,
                )
            })
            .on_request(())
            .on_response(|res: &Response, latency: Duration, span: &tracing::Span| {
                span.record("status", res.status().as_u16());
                span.record("latency_ms", latency.as_secs_f64() * 1000.0);
                tracing::info!("request finished");
            }),
    )
}

fn router<Store>(state: AppState, store: Store, settings: &Settings, site: Arc<SiteFiles>) -> Router
where
    Store: SessionStore + Clone,
{
    let idle = time::Duration::seconds(settings.session_idle_timeout.num_seconds());
    let sessions = SessionManagerLayer::new(HashedIds(store))
        .with_name(session::cookie_name(settings.secure_cookies()))
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(settings.secure_cookies())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));

    let routes = routes();
    let options = state.leptos_options.clone();
    let assets_root = state.assets_root.clone();
    let pages = endpoints()
        .into_iter()
        .fold(Router::new(), |router, endpoint| {
            router.route(endpoint.path, endpoint.handler)
        })
        .leptos_routes_with_context(
            &state,
            routes,
            || (),
            move || shell(options.clone(), assets_root.clone()),
        );
    // Counted by route only when metrics are on: off, a page view costs nothing more.
    let pages = if settings.metrics_addr.is_some() {
        pages.route_layer(from_fn(metrics::track_requests))
    } else {
        pages
    };
    let site = site::with_site_files(pages, site, not_found.with_state(state.clone()))
        .layer(from_fn_with_state(state.clone(), guard::require_admin))
        .layer(sessions)
        .layer(from_fn_with_state(state.clone(), guard::refuse_cross_site))
        .layer(from_fn_with_state(
            settings.body_timeout,
            guard::read_body_within,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn_with_state(
            state.intake_log.clone(),
            intake::log_calls,
        ))
        .layer(from_fn(guard::catch_panics))
        .layer(from_fn(guard::security_headers));
    traced(site).with_state(state)
}

/// The 404 page, for a path that is no route and no file: the app, whose route table has no
/// match for it and shows its not-found page.
async fn not_found(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    posted_page::render_with(state, parts, (), StatusCode::NOT_FOUND).await
}

/// A route affdesk adds by hand, beside the Leptos pages and the server functions.
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

fn endpoint<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method axum can route");
    Endpoint {
        method,
        path,
        handler: on(filter, handler),
    }
}

/// Every hand-added route. The router is built from this list, and the security tests walk it
/// (with the Leptos route list and the registered server functions), so a route added here is
/// covered by the authentication and cross-site checks without anyone listing it twice.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        endpoint(Method::GET, "/healthz", auth_http::healthz),
        endpoint(Method::POST, "/login", auth_http::login),
        endpoint(Method::POST, "/login/mfa", auth_http::second_factor),
        endpoint(Method::POST, "/logout", auth_http::logout),
        endpoint(Method::POST, "/settings/affiliate", affiliate_form::submit),
        endpoint(
            Method::POST,
            "/affiliate/contracts/new",
            contract_form::submit,
        ),
        endpoint(
            Method::GET,
            "/settings/connect/whmcs/{file}",
            downloads::whmcs_file,
        ),
        endpoint(Method::GET, "/api/v1/openapi.json", openapi::serve),
        endpoint(Method::POST, "/api/v1/signups", intake::post_signup),
        endpoint(
            Method::POST,
            "/api/v1/signups/{order_id}/reversals",
            intake::post_reversal,
        ),
        endpoint(
            Method::GET,
            "/signup/complete/{token}",
            intake::complete_page,
        ),
    ]
}

/// On an empty database, creates the first admin with a random one-time password and prints it
/// once to the terminal (never to the log). The admin must replace it at first login.
async fn bootstrap_first_admin(
    state: &AppState,
    username: &app::domain::credentials::Username,
    addr: SocketAddr,
) -> anyhow::Result<()> {
    if admins::count(&state.db).await? > 0 {
        return Ok(());
    }
    let password = random_token(12);
    let hash = state.passwords.hash(&password).await?;
    let first_start = Actor {
        name: "affdesk".to_owned(),
        address: "first start".to_owned(),
    };
    let audit = first_start.event(
        AuditKind::AdminCreated,
        format!("first admin '{username}' created with a one-time password"),
        state.clock.now(),
    );
    if let CreateOutcome::Created(_) =
        admins::create(&state.db, username, &hash, true, &audit).await?
    {
        tracing::info!(admin = %username, "created the first admin with a one-time password");
        println!(
            "\n==================================================================\n\
             affdesk: no admin existed, so one was created.\n\n\
             \x20   username:           {username}\n\
             \x20   one-time password:  {password}\n\n\
             Log in at http://{addr}/login and choose your own password.\n\
             This password is shown only this once.\n\
             ==================================================================\n"
        );
    }
    Ok(())
}

fn spawn_session_cleanup<Store>(store: Store) -> JoinHandle<()>
where
    Store: ExpiredDeletion + Clone,
{
    tokio::spawn(async move {
        if let Err(err) = store.continuously_delete_expired(HOUSEKEEPING_PERIOD).await {
            tracing::error!(error = %err, "expired-session cleanup stopped");
        }
    })
}

/// Forgets login failures old enough that they no longer count toward throttling, and audit
/// events older than `audit_retention` (`AFFDESK_AUDIT_DAYS`).
fn spawn_housekeeping(state: AppState, audit_retention: chrono::TimeDelta) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING_PERIOD);
        loop {
            tick.tick().await;
            let now = state.clock.now();
            let cutoff = now - state.auth.throttle.window * 2;
            if let Err(err) = login_throttle::prune(&state.db, cutoff).await {
                tracing::warn!(error = %err, "pruning old login failures failed");
            }
            let (idle, lifetime) = (state.auth.idle_timeout, state.auth.max_lifetime);
            if let Err(err) = admins::prune_logins(&state.db, now - idle, now - lifetime).await {
                tracing::warn!(error = %err, "forgetting ended admin sessions failed");
            }
            match audit_log::forget_older_than(&state.db, audit_retention, now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "audit events past AFFDESK_AUDIT_DAYS deleted"),
                Err(err) => tracing::warn!(error = %err, "deleting old audit events failed"),
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
