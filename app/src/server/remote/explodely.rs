//! The Explodely affiliate API client. It owns its HTTP client and takes the endpoint from
//! settings (`AFFDESK_EXPLODELY_URL`), so tests point it at a local stand-in. A create has no
//! idempotency key at Explodely, so nothing here ever retries.

use crate::domain::contract::{parse_reply, Contract, Reply};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

pub const DEFAULT_URL: &str = "https://explodely.com/api/v1/aff";
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// How much of a reply is kept with the attempt.
pub const REPLY_EXCERPT: usize = 2048;
/// The most of a reply affdesk reads.
pub const REPLY_LIMIT: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct ExplodelyClient {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

/// One call's result: what the reply means, and the reply as received (truncated).
#[derive(Debug, Clone)]
pub struct CallResult {
    pub reply: Reply,
    pub raw: String,
}

impl ExplodelyClient {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(crate::server::remote::outbound::user_agent())
            .build()?;
        Ok(Self {
            client,
            url: url.to_owned(),
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one createaffcontract request.
    pub async fn create_contract(
        &self,
        username: &str,
        api_key: &SecretString,
        contract: &Contract,
    ) -> CallResult {
        let mut form: Vec<(&str, String)> = vec![
            ("username", username.to_owned()),
            ("apikey", api_key.expose_secret().to_owned()),
            ("apiaction", "createaffcontract".to_owned()),
        ];
        form.extend(contract.form_fields());
        let response = match self.client.post(&self.url).form(&form).send().await {
            Ok(r) => r,
            Err(err) => return CallResult::failed(self.send_failure(&err)),
        };
        let status = response.status().as_u16();
        let body = match read_capped(response).await {
            Ok(b) => b,
            Err(why) => return CallResult::failed(Reply::Unknown(why)),
        };
        let raw: String = body.chars().take(REPLY_EXCERPT).collect();
        CallResult {
            reply: parse_reply(status, &body),
            raw,
        }
    }
}

impl CallResult {
    fn failed(reply: Reply) -> Self {
        Self {
            reply,
            raw: String::new(),
        }
    }
}

impl ExplodelyClient {
    /// What a request that got no reply means. A connection that was never made sent nothing,
    /// so nothing was created; any later failure (a timeout while waiting, a connection broken
    /// after the request went out) leaves Explodely's side unknown.
    fn send_failure(&self, err: &reqwest::Error) -> Reply {
        if err.is_connect() {
            return Reply::Unexpected(
                "Explodely could not be reached (no connection was made, so nothing was sent)"
                    .to_owned(),
            );
        }
        if err.is_timeout() {
            return Reply::Unknown(format!(
                "Explodely did not answer within {} s",
                self.timeout.as_secs()
            ));
        }
        Reply::Unknown("the connection to Explodely broke before its answer arrived".to_owned())
    }
}

/// The reply's body, read up to [`REPLY_LIMIT`]: a reply is a small JSON object, and a larger
/// one is not Explodely's.
async fn read_capped(mut response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > REPLY_LIMIT {
                    return Err(format!(
                        "Explodely's reply was larger than {} KB, which no documented reply is",
                        REPLY_LIMIT / 1024
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(String::from_utf8_lossy(&body).into_owned()),
            Err(_) => return Err("Explodely's reply broke off before its end".to_owned()),
        }
    }
}
