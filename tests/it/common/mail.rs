//! Stand-ins for where alerts go: a real SMTP server on 127.0.0.1 (it speaks the protocol to
//! lettre, nothing is mocked) and a recording webhook.

use base64::Engine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One email as the server received it.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent: headers, a blank line, the body.
    pub data: String,
    /// The username and password of `AUTH PLAIN`, when the client logged in.
    pub login: Option<(String, String)>,
}

/// An SMTP server without TLS (the TLS mode "none" that affdesk allows only for loopback).
pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse: Arc<AtomicUsize>,
}

impl SmtpServer {
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// The next `n` emails are refused with a temporary failure (451) at `MAIL FROM`.
    pub fn refuse_next(&self, n: usize) {
        self.refuse.store(n, Ordering::SeqCst);
    }
}

pub async fn spawn_smtp() -> SmtpServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let refuse = Arc::new(AtomicUsize::new(0));
    let (stored, refusing) = (mails.clone(), refuse.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (stored, refusing) = (stored.clone(), refusing.clone());
            tokio::spawn(async move {
                let _ = converse(stream, stored, refusing).await;
            });
        }
    });
    SmtpServer {
        port,
        mails,
        refuse,
    }
}

fn decode_plain(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let mut parts = text.split('\0').skip(1);
    Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
}

/// One SMTP session, as RFC 5321 describes it (the commands lettre uses).
async fn converse(
    stream: TcpStream,
    stored: Arc<Mutex<Vec<Mail>>>,
    refusing: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 mail.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut login = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-mail.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".into()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 ok".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let initial = line[10..].trim().to_owned();
            let encoded = if initial.is_empty() {
                write.write_all(b"334 \r\n").await?;
                lines.next_line().await?.unwrap_or_default()
            } else {
                initial
            };
            login = decode_plain(&encoded);
            "235 2.7.0 authenticated".into()
        } else if upper.starts_with("MAIL FROM:") {
            let refused = refusing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if refused {
                "451 4.3.0 mailbox busy, try again later".into()
            } else {
                mail = Mail {
                    from: line[10..].trim().trim_matches(['<', '>']).to_owned(),
                    login: login.clone(),
                    ..Mail::default()
                };
                "250 2.1.0 ok".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            mail.to
                .push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            "250 2.1.5 ok".into()
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push('\n');
            }
            mail.data = data;
            let n = {
                let mut all = stored.lock().unwrap();
                all.push(std::mem::take(&mut mail));
                all.len()
            };
            format!("250 2.0.0 Ok: queued as TEST{n}")
        } else if upper.starts_with("RSET") {
            mail = Mail::default();
            "250 ok".into()
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 not implemented".into()
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
    Ok(())
}

/// A webhook that records each JSON body and answers with its script's next status (the last
/// repeats).
pub struct Webhook {
    pub url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Webhook {
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

pub async fn spawn_webhook(script: Vec<u16>) -> Webhook {
    use axum::response::IntoResponse;
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let recorded = bodies.clone();
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let recorded = recorded.clone();
            let script = script.clone();
            async move {
                let n = {
                    let mut all = recorded.lock().unwrap();
                    all.push(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null));
                    all.len()
                };
                let status = script.get(n - 1).or(script.last()).copied().unwrap_or(200);
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                (status, if status.is_success() { "ok" } else { "no" }).into_response()
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Webhook { url, bodies }
}
