//! Alert emails over SMTP, with `lettre`.
//!
//! The mail server's name is resolved here and each address is checked by the same guard as
//! every other address an admin types (`AFFDESK_OUTBOUND_ALLOW`), then the connection goes to
//! the checked address while TLS verifies the certificate against the name: a name that
//! resolves differently a moment later cannot steer the connection elsewhere.

use crate::domain::address::AllowList;
use crate::domain::alerts::SmtpTls;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    pub password: Option<SecretString>,
    pub sender: String,
    pub recipients: Vec<String>,
}

/// An email to send.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    pub subject: &'a str,
    pub body: &'a str,
}

/// Sends `email`; `Ok` holds the server's answer ("250 2.0.0 Ok: queued as …"), `Err` what went
/// wrong in words an admin can act on.
pub async fn send(
    server: &SmtpServer,
    allow: &AllowList,
    email: Email<'_>,
    timeout: Duration,
) -> Result<String, String> {
    let message = message(server, email)?;
    let address = tokio::time::timeout(timeout, resolve(server, allow))
        .await
        .map_err(|_| {
            format!(
                "cannot find the mail server {} within {} s",
                server.host,
                timeout.as_secs()
            )
        })??;
    let transport = transport(server, address, timeout)?;
    let sending = transport.send(message);
    // lettre's timeout covers each read and write; this bounds the whole conversation.
    match tokio::time::timeout(timeout * 2, sending).await {
        Ok(Ok(response)) => Ok(format!(
            "{} {}",
            response.code(),
            response.message().collect::<Vec<_>>().join(" ")
        )),
        Ok(Err(err)) => Err(describe(&err, server)),
        Err(_) => Err(format!(
            "the mail server {}:{} did not finish within {} s",
            server.host,
            server.port,
            (timeout * 2).as_secs()
        )),
    }
}

/// The connection to the checked `address`, with TLS verified against the server's name.
fn transport(
    server: &SmtpServer,
    address: SocketAddr,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = match server.tls {
        // Checked by address, not only by the name typed: a name that resolves elsewhere never
        // gets the password in clear.
        SmtpTls::None if !address.ip().is_loopback() => {
            return Err(format!(
                "TLS mode None is only for a mail server on this machine, and {} resolves to {}; choose STARTTLS or TLS",
                server.host,
                address.ip()
            ))
        }
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(tls_for(&server.host)?),
        SmtpTls::Tls => Tls::Wrapper(tls_for(&server.host)?),
    };
    let mut transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
            .port(address.port())
            .tls(tls)
            .timeout(Some(timeout));
    if !server.username.is_empty() {
        let password = server
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        transport = transport
            .credentials(Credentials::new(server.username.clone(), password))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(transport.build())
}

fn tls_for(host: &str) -> Result<TlsParameters, String> {
    let name = host.trim_start_matches('[').trim_end_matches(']');
    TlsParameters::new(name.to_owned()).map_err(|e| format!("cannot set up TLS for {host}: {e}"))
}

fn mailbox(address: &str, what: &str) -> Result<Mailbox, String> {
    address.parse::<Mailbox>().map_err(|e| {
        format!("the {what} {address:?} is not an address the mail server accepts: {e}")
    })
}

fn message(server: &SmtpServer, email: Email<'_>) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(mailbox(&server.sender, "sender")?)
        .subject(email.subject)
        .header(ContentType::TEXT_PLAIN);
    for to in &server.recipients {
        builder = builder.to(mailbox(to, "recipient")?);
    }
    builder
        .body(email.body.to_owned())
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// The mail server's first address that the guard allows.
async fn resolve(server: &SmtpServer, allow: &AllowList) -> Result<SocketAddr, String> {
    let host = server.host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, server.port))
        .await
        .map_err(|e| format!("cannot find the mail server {host}: {e}"))?
        .collect();
    let mut refusals = Vec::new();
    for address in &addresses {
        match allow.check(address.ip()) {
            Ok(()) => return Ok(*address),
            Err(reason) => refusals.push(reason),
        }
    }
    Err(match refusals.into_iter().next() {
        Some(reason) => format!("address not allowed: {host} resolves to {reason}"),
        None => format!("the mail server {host} has no addresses"),
    })
}

/// lettre's error, with where it happened.
fn describe(err: &lettre::transport::smtp::Error, server: &SmtpServer) -> String {
    let place = format!("{}:{}", server.host, server.port);
    if err.is_timeout() {
        return format!("the mail server {place} did not answer in time");
    }
    if err.is_tls() {
        return format!(
            "TLS with {place} failed ({err}); check the TLS mode: STARTTLS usually uses port 587, TLS port 465"
        );
    }
    match err.status() {
        Some(code) if err.is_permanent() => {
            format!("the mail server {place} refused the email ({code}): {err}")
        }
        Some(code) => format!("the mail server {place} answered {code}, try later: {err}"),
        None => format!("cannot send through {place}: {err}"),
    }
}
