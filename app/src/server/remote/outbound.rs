//! The one HTTP client affdesk uses to call URLs an admin typed: it follows no redirects, gives
//! up on connecting after 5 s and on the whole call after 15 s (configurable), and refuses loopback, private and
//! link-local addresses after DNS resolution (so a public name resolving to 10.0.0.5 is refused
//! too) unless the operator's allow-list names them.

use crate::domain::address::AllowList;
use crate::domain::call::CallFailure;
pub use crate::domain::call::CallOutcome;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default limit on a whole call (`AFFDESK_DELIVERY_TIMEOUT`).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a response body is kept for the admin to read.
pub const BODY_EXCERPT_BYTES: usize = 2048;

pub fn user_agent() -> String {
    format!("affdesk/{}", env!("CARGO_PKG_VERSION"))
}

/// A refusal by the guard; found again in reqwest's error chain to explain the failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct AddressNotAllowed(String);

struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                    Box::new(DnsFailure(CallFailure::dns(&host, &e.to_string())))
                })?
                .collect();
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match allow.check(addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusals.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refusals
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| format!("{host} has no addresses"));
                return Err(Box::new(AddressNotAllowed(format!(
                    "address not allowed: {host} resolves to {reason}"
                )))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", .0.message())]
struct DnsFailure(CallFailure);

#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    allow: Arc<AllowList>,
    timeout: Duration,
}

impl std::fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundClient")
            .field("allow", &self.allow)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OutboundClient {
    /// A client that gives up on a whole call after `timeout` (connecting: after 5 s, or
    /// `timeout` when shorter).
    pub fn new(allow: AllowList, timeout: Duration) -> Result<Self, reqwest::Error> {
        let allow = Arc::new(allow);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment (`HTTP_PROXY`…) would receive every call, and the
            // guard below would check the proxy's address instead of the tracker's: an admin's
            // link could then reach internal hosts through it.
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .user_agent(user_agent())
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .build()?;
        Ok(Self {
            client,
            allow,
            timeout,
        })
    }

    /// The limit on one whole call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The addresses this client may call beyond the public internet.
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    /// GETs `url` with `headers`, never failing: every problem becomes the outcome's `error`.
    pub async fn get(&self, url: &str, headers: &[(&str, String)]) -> CallOutcome {
        self.call(url, headers, None).await
    }

    /// POSTs `json` (a JSON document) to `url`, as `get` calls.
    pub async fn post_json(&self, url: &str, json: &str) -> CallOutcome {
        self.call(url, &[], Some(json)).await
    }

    async fn call(&self, url: &str, headers: &[(&str, String)], json: Option<&str>) -> CallOutcome {
        let started = Instant::now();
        let answer = match self.send(url, headers, json).await {
            Ok(reply) => reply,
            Err(failure) => Reply {
                failure: Some(failure),
                ..Reply::default()
            },
        };
        let (error_kind, error) = answer
            .failure
            .map_or((None, None), |(k, m)| (Some(k.to_owned()), Some(m)));
        CallOutcome {
            url: url.to_owned(),
            status: answer.status,
            elapsed_ms: started.elapsed().as_millis() as u64,
            body_excerpt: answer.body_excerpt,
            error,
            error_kind,
            retry_after: answer.retry_after,
            rule: None,
        }
    }

    /// Checks the address (when written as an IP) and sends; a failure is its kind and words.
    async fn send(
        &self,
        url: &str,
        headers: &[(&str, String)],
        json: Option<&str>,
    ) -> Result<Reply, Failure> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ("invalid_url", format!("not a valid URL: {e}")))?;
        // An address written as an IP never reaches the resolver, so it is checked here.
        if let Some(ip) = literal_ip(&parsed) {
            self.allow
                .check(ip)
                .map_err(|reason| ("not_allowed", format!("address not allowed: {reason}")))?;
        }
        let mut request = match json {
            None => self.client.get(parsed),
            Some(body) => self
                .client
                .post(parsed)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
        };
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|err| describe(&err, self.timeout))?;
        Ok(read_reply(response).await)
    }
}

/// A failed call: its kind (`dns`, `timeout`, …) and words an admin can act on.
type Failure = (&'static str, String);

/// What came back: the status, the start of the body, `Retry-After`, and a redirect (never
/// followed) as a failure.
#[derive(Debug, Default)]
struct Reply {
    status: Option<u16>,
    body_excerpt: String,
    failure: Option<Failure>,
    retry_after: Option<String>,
}

async fn read_reply(mut response: reqwest::Response) -> Reply {
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let redirect = status.is_redirection().then(|| {
        let target = header(reqwest::header::LOCATION).unwrap_or_else(|| "nowhere".to_owned());
        (
            "redirect",
            format!("redirect to {target} not followed; use the final URL in the link"),
        )
    });
    let retry_after = header(reqwest::header::RETRY_AFTER);
    let mut body = Vec::new();
    while body.len() < BODY_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(BODY_EXCERPT_BYTES);
    Reply {
        status: Some(status.as_u16()),
        body_excerpt: String::from_utf8_lossy(&body).into_owned(),
        failure: redirect,
        retry_after,
    }
}

fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// A reqwest failure: its kind, and words an admin can act on.
fn describe(err: &reqwest::Error, timeout: Duration) -> (&'static str, String) {
    let failure = classify(err, timeout);
    (failure.kind(), failure.message())
}

fn classify(err: &reqwest::Error, timeout: Duration) -> CallFailure {
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(denied) = e.downcast_ref::<AddressNotAllowed>() {
            return CallFailure::NotAllowed(denied.to_string());
        }
        if let Some(DnsFailure(dns)) = e.downcast_ref::<DnsFailure>() {
            return dns.clone();
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return CallFailure::Refused,
                std::io::ErrorKind::ConnectionReset => return CallFailure::Reset,
                _ => {}
            }
        }
        chain.push(e.to_string());
        source = e.source();
    }
    if err.is_timeout() && err.is_connect() {
        let secs = CONNECT_TIMEOUT.min(timeout).as_secs();
        CallFailure::ConnectTimeout { secs }
    } else if err.is_timeout() {
        CallFailure::AnswerTimeout {
            secs: timeout.as_secs(),
        }
    } else if err.is_connect() {
        // The chain's first entry is reqwest's own, which names the link: never searched.
        CallFailure::tls_in(chain.get(1..).unwrap_or_default())
            .unwrap_or_else(|| CallFailure::Connect(without_url(err)))
    } else {
        CallFailure::Other(without_url(err))
    }
}

/// reqwest's message for a failed call, without the URL it names: a rendered link carries the
/// tracker's secrets and the customer's values, which belong in neither the stored error nor
/// the log. The URL is stored with the attempt's delivery already.
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text
            .replace(&format!(" ({url})"), "")
            .replace(url.as_str(), "the link");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server on 127.0.0.1 that answers every request with `status` and counts connections.
    async fn answering(status: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = stream.write_all(reply.as_bytes()).await;
            }
        });
        (addr, seen)
    }

    fn loopback_client() -> OutboundClient {
        let allow = AllowList::parse("127.0.0.1").expect("an allow-list");
        OutboundClient::new(allow, Duration::from_secs(5)).expect("a client")
    }

    /// Set in the child process of the test below, with the URL it calls.
    const CHILD_TARGET: &str = "AFFDESK_TEST_PROXY_CHILD_TARGET";

    /// The child's half: calls the target with proxy variables set in its environment. In the
    /// parent test process it does nothing, so the variables never reach another test.
    #[tokio::test]
    async fn proxy_child_calls_its_target() {
        let Some(target) = std::env::var_os(CHILD_TARGET) else {
            return;
        };
        let outcome = loopback_client().get(target.to_str().unwrap(), &[]).await;
        assert_eq!(outcome.status, Some(204), "{outcome:?}");
    }

    #[tokio::test]
    async fn proxy_variables_in_the_environment_are_ignored() {
        let (tracker, tracker_hits) = answering("204 No Content").await;
        let (proxy, proxy_hits) = answering("502 Bad Gateway").await;
        let proxy_url = format!("http://{proxy}");
        let child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "server::remote::outbound::tests::proxy_child_calls_its_target",
            ])
            .args(["--test-threads", "1", "--nocapture"])
            .env(CHILD_TARGET, format!("http://{tracker}/track?order=1"))
            .env("HTTP_PROXY", &proxy_url)
            .env("http_proxy", &proxy_url)
            .env("HTTPS_PROXY", &proxy_url)
            .env("ALL_PROXY", &proxy_url)
            .output()
            .await
            .expect("the test binary runs again");
        let report = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success(), "{report}");
        assert!(
            report.contains("1 passed"),
            "the child ran the call: {report}"
        );
        assert_eq!(
            proxy_hits.load(Ordering::SeqCst),
            0,
            "the call went to the proxy"
        );
        assert_eq!(tracker_hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_call_does_not_repeat_the_link() {
        // HTTPS to a server that speaks plain HTTP: the TLS handshake fails, and reqwest's
        // message for that names the whole URL.
        let (server, _) = answering("204 No Content").await;
        let link = format!("https://{server}/postback?secret=s3cr3t&email=jane%40example.com");
        let outcome = loopback_client().get(&link, &[]).await;
        let error = outcome.error.expect("the call failed");
        assert!(
            !error.contains("s3cr3t") && !error.contains("jane"),
            "{error}"
        );
        assert_eq!(outcome.error_kind.as_deref(), Some("connect"), "{error}");
    }
}
