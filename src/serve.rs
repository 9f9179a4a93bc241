//! The accept loop: HTTP/1.1 connections served as `axum::serve` would, with what it lacks for
//! a server on the open internet: a deadline for request headers, a cap on connections open at
//! once and on those from one address, and a graceful stop.

use app::domain::address::AllowList;
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a stopping server waits for requests under way.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// What one client connection may hold: time to send its headers (and to idle between
/// requests), and a share of the connections open at once, in all and from its address.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub per_address: usize,
    /// Reverse proxies: every client arrives from them, so their address is not limited.
    pub unlimited: AllowList,
}

/// Serves HTTP/1.1 connections as `axum::serve` would, plus what it lacks: a client gets
/// `header_timeout` to send a request's headers, and an idle keep-alive connection is closed after
/// as long, so slow or silent clients cannot pile up; and at most `max_connections` are served at
/// once (the next client waits in the listen queue until one closes, instead of each taking
/// memory and a task without bound). On `shutdown` it stops accepting and lets requests under
/// way finish (for at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut open = OpenConnections::new(limits.max_connections);
    let by_address = ConnectionsByAddress::new(limits.per_address, limits.unlimited);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.next_slot() => permit,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors, usually: wait for connections to close.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = by_address.admit(peer.ip()) else {
            // Closed at once: this address already holds its share.
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, %peer, "connection ended with an error");
            }
            drop((permit, address_slot));
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still under way after {} s; stopping anyway", SHUTDOWN_GRACE.as_secs());
        }
    }
}

/// The connections served at once, at most a fixed number.
struct OpenConnections {
    slots: Arc<tokio::sync::Semaphore>,
    max: usize,
    /// Whether the cap was reached and not yet left, so the log says it once per episode.
    full: bool,
}

impl OpenConnections {
    fn new(max: usize) -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
            full: false,
        }
    }

    /// A slot for the next connection, waiting for one to close when all are taken.
    async fn next_slot(&mut self) -> tokio::sync::OwnedSemaphorePermit {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            self.full = false;
            return permit;
        }
        if !self.full {
            self.full = true;
            tracing::warn!(
                max = self.max,
                "AFFDESK_MAX_CLIENT_CONNECTIONS reached: new clients wait until a connection closes"
            );
        }
        self.slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// Connections open per client address, each at most a fixed number.
#[derive(Clone)]
struct ConnectionsByAddress {
    open: Arc<std::sync::Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
    unlimited: Arc<AllowList>,
}

/// One connection's place in its address's count, given back when the connection closes.
struct AddressSlot {
    owner: Option<(ConnectionsByAddress, IpAddr)>,
}

impl ConnectionsByAddress {
    fn new(max: usize, unlimited: AllowList) -> Self {
        Self {
            open: Arc::default(),
            max,
            unlimited: Arc::new(unlimited),
        }
    }

    /// A place for one more connection from `ip`, or `None` when it holds its share already.
    fn admit(&self, ip: IpAddr) -> Option<AddressSlot> {
        if self.unlimited.allows(ip) {
            return Some(AddressSlot { owner: None });
        }
        // An IPv6 client counts as its /64: it is given the whole network.
        let ip = app::domain::address::client_network(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            tracing::debug!(%ip, max = self.max, "connection refused: its address holds its share");
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            owner: Some((self.clone(), ip)),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some((owner, ip)) = self.owner.take() else {
            return;
        };
        let mut open = owner.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}
