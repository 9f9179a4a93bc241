//! Settings → Alerts: where incident messages go (email over SMTP, a webhook), the rules a form
//! must meet (checked as the admin types and again on the server), and the messages themselves.

use super::field_error::FieldError;
use super::incidents::{Notice, FAILURES_TO_OPEN};
use super::states::text_enum;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The most recipients one alert email goes to.
pub const MAX_RECIPIENTS: usize = 20;
const MAX_HOST_CHARS: usize = 253;
const MAX_ADDRESS_CHARS: usize = 254;
const MAX_SECRET_CHARS: usize = 256;
const MAX_URL_CHARS: usize = 2048;

text_enum! {
    /// How the connection to the mail server is protected (`alert_settings.smtp_tls`).
    #[derive(Default)]
    pub enum SmtpTls {
        /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
        #[default]
        StartTls => "starttls",
        /// TLS from the first byte (port 465).
        Tls => "tls",
        /// No encryption: only for a mail server on this machine.
        None => "none",
    }
}

impl SmtpTls {
    pub fn label(self) -> &'static str {
        match self {
            SmtpTls::StartTls => "STARTTLS (usually port 587)",
            SmtpTls::Tls => "TLS (usually port 465)",
            SmtpTls::None => "None (only for a mail server on this machine)",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        }
    }
}

text_enum! {
    /// Where an alert goes (`alerts.channel`).
    pub enum Channel {
        Email => "email",
        Webhook => "webhook",
    }
}

text_enum! {
    /// What an alert is about (`alerts.event`).
    pub enum AlertEvent {
        Opened => "opened",
        Reminder => "reminder",
        Closed => "closed",
        Test => "test",
    }
}

/// The Settings → Alerts form as typed. An empty password keeps the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSettingsInput {
    pub email_enabled: bool,
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_tls: String,
    pub smtp_username: String,
    pub smtp_password: String,
    pub sender: String,
    /// Addresses separated by new lines, commas or semicolons.
    pub recipients: String,
    pub webhook_enabled: bool,
    pub webhook_url: String,
    /// Failed calls in a row that open an incident; empty for the default.
    pub failures_to_open: String,
}

/// Email settings ready to store or use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: String,
    /// A newly typed password; `None` keeps the stored one.
    pub password: Option<String>,
    pub sender: String,
    pub recipients: Vec<String>,
}

/// Settings ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    pub email: EmailSettings,
    pub webhook_enabled: bool,
    pub webhook_url: String,
    pub failures_to_open: u32,
}

/// The most failed calls in a row an admin may wait for before an incident opens.
pub const MAX_FAILURES_TO_OPEN: u32 = 100;

/// How many failed calls in a row open an incident: empty for the default.
pub fn parse_failures_to_open(raw: &str) -> Result<u32, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(FAILURES_TO_OPEN);
    }
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_FAILURES_TO_OPEN).contains(&n) => Ok(n),
        _ => Err(format!(
            "a number from 1 to {MAX_FAILURES_TO_OPEN}; {FAILURES_TO_OPEN} (the default) opens an incident after 5 failed calls in a row"
        )),
    }
}

impl AlertSettingsInput {
    /// Every field error at once. A channel's fields are required only when it is switched on,
    /// but whatever is typed must be valid, so a saved setting is never a broken one.
    /// `password_stored`: an empty password may keep the stored one.
    pub fn validate(&self, password_stored: bool) -> Result<AlertSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = self.email(password_stored, &mut errors);
        let webhook_url = self.webhook_url.trim().to_owned();
        if let Err(message) = check_webhook_url(&webhook_url, self.webhook_enabled) {
            errors.push(FieldError::new("webhook_url", message));
        }
        let failures_to_open =
            parse_failures_to_open(&self.failures_to_open).unwrap_or_else(|message| {
                errors.push(FieldError::new("failures_to_open", message));
                FAILURES_TO_OPEN
            });
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AlertSettings {
            email,
            webhook_enabled: self.webhook_enabled,
            webhook_url,
            failures_to_open,
        })
    }

    fn email(&self, password_stored: bool, errors: &mut Vec<FieldError>) -> EmailSettings {
        let on = self.email_enabled;
        let mut error = |field: &str, message: String| errors.push(FieldError::new(field, message));
        let host = self.smtp_host.trim().to_ascii_lowercase();
        if let Err(message) = check_host(&host, on) {
            error("smtp_host", message);
        }
        let tls = match self.smtp_tls.trim() {
            "" => Some(SmtpTls::default()),
            raw => SmtpTls::parse(raw),
        };
        let tls = tls.unwrap_or_else(|| {
            error("smtp_tls", "choose STARTTLS, TLS or None".to_owned());
            SmtpTls::StartTls
        });
        let port = parse_port(&self.smtp_port, tls).unwrap_or_else(|message| {
            error("smtp_port", message);
            0
        });
        if tls == SmtpTls::None && !host.is_empty() && !is_loopback_host(&host) {
            error(
                "smtp_tls",
                "without TLS the password and every alert cross the network readable by anyone on the way; \
                 None is allowed only for a mail server on this machine (localhost, 127.0.0.1 or ::1). \
                 Choose STARTTLS (port 587) or TLS (port 465)"
                    .to_owned(),
            );
        }
        let username = self.smtp_username.trim().to_owned();
        let password = self.smtp_password.clone();
        if let Err((field, message)) = check_login(&username, &password, password_stored) {
            error(field, message);
        }
        let sender = self.sender.trim().to_owned();
        if let Err(message) = check_address(
            &sender,
            on,
            "the address alerts come from, such as affdesk@example.com",
        ) {
            error("sender", message);
        }
        let recipients = split_recipients(&self.recipients);
        if let Err(message) = check_recipients(&recipients, on) {
            error("recipients", message);
        }
        EmailSettings {
            enabled: on,
            host,
            port,
            tls,
            username,
            password: (!password.is_empty()).then_some(password),
            sender,
            recipients,
        }
    }
}

/// The SMTP login: a username needs a password, typed now or stored before.
fn check_login(
    username: &str,
    password: &str,
    password_stored: bool,
) -> Result<(), (&'static str, String)> {
    if username.chars().count() > MAX_ADDRESS_CHARS || username.contains(char::is_whitespace) {
        return Err((
            "smtp_username",
            format!("a username has no spaces and at most {MAX_ADDRESS_CHARS} characters"),
        ));
    }
    if password.chars().count() > MAX_SECRET_CHARS {
        return Err((
            "smtp_password",
            format!("a password may have at most {MAX_SECRET_CHARS} characters"),
        ));
    }
    if !username.is_empty() && password.is_empty() && !password_stored {
        return Err((
            "smtp_password",
            format!("enter the mail server's password for {username} (a stored password is kept only while the server, port and username stay the same), or clear the username to send without logging in"),
        ));
    }
    Ok(())
}

/// Whether a stored SMTP password may be kept for the settings `typed`, saved as `stored`: only
/// while the server, port and username stay the same. Whoever points the settings at another
/// server must know the password, or "Send test" would hand it to that server.
pub fn keeps_password(stored: &AlertSettingsInput, typed: &AlertSettingsInput) -> bool {
    stored
        .smtp_host
        .trim()
        .eq_ignore_ascii_case(typed.smtp_host.trim())
        && stored.smtp_username.trim() == typed.smtp_username.trim()
        && parse_port_for(&stored.smtp_port, &stored.smtp_tls)
            == parse_port_for(&typed.smtp_port, &typed.smtp_tls)
}

/// The port a form would save, when it is valid (empty: the TLS mode's usual port).
fn parse_port_for(raw_port: &str, raw_tls: &str) -> Option<u16> {
    let tls = match raw_tls.trim() {
        "" => SmtpTls::default(),
        raw => SmtpTls::parse(raw)?,
    };
    parse_port(raw_port, tls).ok()
}

fn parse_port(raw: &str, tls: SmtpTls) -> Result<u16, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(tls.default_port());
    }
    match raw.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!(
            "a port is a number from 1 to 65535; {} uses {} unless your provider says otherwise",
            tls.label(),
            tls.default_port()
        )),
    }
}

/// A mail server's name or IP address.
fn check_host(host: &str, required: bool) -> Result<(), String> {
    if host.is_empty() {
        return if required {
            Err("enter the mail server's name, such as smtp.example.com".to_owned())
        } else {
            Ok(())
        };
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let valid = host.len() <= MAX_HOST_CHARS
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{host:?} is not a server name: use letters, digits, '-' and '.', such as smtp.example.com (no scheme, no port)"
        ))
    }
}

/// Whether `host` names this machine.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost" || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is an address that is not on the public internet (written as an IP, or
/// localhost): plain `http://` is allowed to such a webhook.
fn is_private_host(host: &str) -> bool {
    if is_loopback_host(host) {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_private() || ip.is_link_local(),
        Ok(IpAddr::V6(ip)) => (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

/// An email address: something before and after one `@`, no spaces, a plausible domain.
pub fn check_address(address: &str, required: bool, hint: &str) -> Result<(), String> {
    if address.is_empty() {
        return if required {
            Err(format!("enter {hint}"))
        } else {
            Ok(())
        };
    }
    let valid = address.chars().count() <= MAX_ADDRESS_CHARS
        && !address
            .contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        && match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            }
            None => false,
        };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{address:?} is not an email address; write it as name@example.com"
        ))
    }
}

/// The recipients as typed: one per line, or separated by commas or semicolons.
pub fn split_recipients(raw: &str) -> Vec<String> {
    raw.split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

fn check_recipients(recipients: &[String], required: bool) -> Result<(), String> {
    if recipients.is_empty() && required {
        return Err("enter at least one address to send alerts to, one per line".to_owned());
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(format!(
            "at most {MAX_RECIPIENTS} recipients; this list has {}. Use a mailing list address for more",
            recipients.len()
        ));
    }
    for address in recipients {
        check_address(address, true, "an address")?;
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = recipients
        .iter()
        .find(|a| !seen.insert(a.to_ascii_lowercase()))
    {
        return Err(format!("{twice} is listed twice; list each address once"));
    }
    Ok(())
}

/// A webhook URL: `https://`, or `http://` to an address that is not public (a chat server on
/// the same network). Whether affdesk may call that address is the outbound guard's decision.
pub fn check_webhook_url(url: &str, required: bool) -> Result<(), String> {
    if url.is_empty() {
        return if required {
            Err("enter the webhook URL your chat tool gave you (Slack, Mattermost, or Discord's …/slack URL)".to_owned())
        } else {
            Ok(())
        };
    }
    if url.chars().count() > MAX_URL_CHARS || url.contains(char::is_whitespace) {
        return Err(format!(
            "a webhook URL has no spaces and at most {MAX_URL_CHARS} characters"
        ));
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    match scheme.to_ascii_lowercase().as_str() {
        _ if host.is_empty() => Err(format!(
            "{url:?} is not a full URL; it starts with https:// and a server name"
        )),
        "https" => Ok(()),
        "http" if is_private_host(&host.to_ascii_lowercase()) => Ok(()),
        "http" => Err(
            "use https:// for a webhook on the internet: a webhook URL usually holds its own secret, and the alert's text travels with it"
                .to_owned(),
        ),
        _ => Err(format!(
            "{url:?} is not a web address; a webhook URL starts with https://"
        )),
    }
}

/// One alert's words: the email's subject and body, the webhook's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMessage {
    pub event: AlertEvent,
    pub subject: String,
    pub body: String,
    pub payload: String,
}

/// What a message says about an incident, for the webhook's structured part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub id: i64,
    pub link: i64,
    pub reason: String,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

impl Notice {
    pub fn event(&self) -> AlertEvent {
        match self {
            Notice::Opened { .. } => AlertEvent::Opened,
            Notice::Reminder { .. } => AlertEvent::Reminder,
            Notice::Closed { .. } | Notice::Retired { .. } => AlertEvent::Closed,
        }
    }
}

/// Where to look, when affdesk knows its own address (`AFFDESK_PUBLIC_ORIGIN`).
fn see(page_url: Option<&str>) -> String {
    match page_url {
        Some(url) => format!("\n\nSee {url}"),
        None => "\n\nSee Settings → Affiliate Program and the Signups page in affdesk.".to_owned(),
    }
}

/// The message about `notice` for incident `incident`.
pub fn incident_message(
    notice: &Notice,
    incident: &IncidentFacts,
    page_url: Option<&str>,
) -> AlertMessage {
    let link = incident.link;
    let text = notice.text(link);
    let subject = match notice {
        Notice::Opened { .. } => format!("[affdesk] Link {link} is failing"),
        Notice::Reminder { .. } => format!("[affdesk] Link {link} is still failing"),
        Notice::Closed { .. } => format!("[affdesk] Link {link} delivers again"),
        Notice::Retired { .. } => format!("[affdesk] Link {link}: incident closed"),
    };
    let action = match notice {
        Notice::Closed { .. } | Notice::Retired { .. } => "",
        _ => "\n\nDeliveries to this link are retried for three days; check the tracker and the link's attempt log, then use Retry on the Signups page once it is fixed.",
    };
    let payload = serde_json::json!({
        "text": format!("affdesk: {text}"),
        "source": "affdesk",
        "event": notice.event().as_str(),
        "incident": incident,
        "url": page_url,
    });
    AlertMessage {
        event: notice.event(),
        subject,
        body: format!("{text}{action}{}", see(page_url)),
        payload: payload.to_string(),
    }
}

/// The message "Send test alert" sends, saying who asked for it.
pub fn test_message(channel: Channel, admin: &str, page_url: Option<&str>) -> AlertMessage {
    let text = format!(
        "Test alert from affdesk, sent by {admin}: alerts by {} reach you.",
        channel.as_str()
    );
    let payload = serde_json::json!({
        "text": format!("affdesk: {text}"),
        "source": "affdesk",
        "event": "test",
        "incident": null,
        "url": page_url,
    });
    AlertMessage {
        event: AlertEvent::Test,
        subject: "[affdesk] Test alert".to_owned(),
        body: format!("{text}{}", see(page_url)),
        payload: payload.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email_input() -> AlertSettingsInput {
        AlertSettingsInput {
            email_enabled: true,
            smtp_host: " SMTP.Example.com ".into(),
            smtp_port: "".into(),
            smtp_tls: "starttls".into(),
            smtp_username: "alerts".into(),
            smtp_password: "s3cret-pass".into(),
            sender: "affdesk@example.com".into(),
            recipients: "ops@example.com\n, billing@example.com;".into(),
            webhook_enabled: false,
            webhook_url: String::new(),
            failures_to_open: String::new(),
        }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_complete_email_channel_is_normalized() {
        let settings = email_input().validate(false).unwrap();
        assert_eq!(settings.email.host, "smtp.example.com");
        assert_eq!(settings.email.port, 587, "the TLS mode's usual port");
        assert_eq!(
            settings.email.recipients,
            vec!["ops@example.com", "billing@example.com"]
        );
        assert_eq!(settings.email.password.as_deref(), Some("s3cret-pass"));
    }

    #[test]
    fn a_switched_on_channel_needs_its_fields_and_every_error_is_reported_at_once() {
        let input = AlertSettingsInput {
            email_enabled: true,
            webhook_enabled: true,
            ..Default::default()
        };
        let errors = fields(input.validate(false).unwrap_err());
        assert_eq!(
            errors,
            vec!["smtp_host", "sender", "recipients", "webhook_url"]
        );
        // Switched off, empty fields are fine: the channel is simply not set up.
        assert!(AlertSettingsInput::default().validate(false).is_ok());
    }

    #[test]
    fn no_tls_is_refused_except_to_this_machine() {
        let mut input = email_input();
        input.smtp_tls = "none".into();
        let errors = input.validate(false).unwrap_err();
        assert_eq!(errors[0].field, "smtp_tls");
        assert!(errors[0].message.contains("STARTTLS"));
        input.smtp_host = "127.0.0.1".into();
        assert_eq!(input.validate(false).unwrap().email.port, 25);
        input.smtp_host = "localhost".into();
        assert!(input.validate(false).is_ok());
    }

    #[test]
    fn a_username_needs_a_password_typed_or_stored() {
        let mut input = email_input();
        input.smtp_password.clear();
        let errors = input.validate(false).unwrap_err();
        assert_eq!(fields(errors), vec!["smtp_password"]);
        let kept = input.validate(true).unwrap();
        assert_eq!(kept.email.password, None, "the stored one is kept");
    }

    #[test]
    fn a_stored_password_is_kept_only_for_the_same_server_port_and_username() {
        let stored = email_input();
        let mut typed = email_input();
        typed.smtp_host = "smtp.EXAMPLE.com".into();
        typed.smtp_port = "587".into();
        assert!(
            keeps_password(&stored, &typed),
            "the same, written otherwise"
        );
        typed.smtp_host = "mail.attacker.example".into();
        assert!(!keeps_password(&stored, &typed));
        let mut other_port = email_input();
        other_port.smtp_tls = "tls".into();
        assert!(!keeps_password(&stored, &other_port), "465 is another port");
        let mut other_user = email_input();
        other_user.smtp_username = "root".into();
        assert!(!keeps_password(&stored, &other_user));
    }

    #[test]
    fn bad_addresses_ports_and_hosts_say_what_to_fix() {
        let mut input = email_input();
        input.smtp_host = "smtp://mail.example.com:587".into();
        input.smtp_port = "70000".into();
        input.sender = "affdesk".into();
        input.recipients = "ops@example.com, OPS@example.com".into();
        let errors = input.validate(false).unwrap_err();
        let by = |f: &str| {
            errors
                .iter()
                .find(|e| e.field == f)
                .map(|e| e.message.clone())
                .unwrap_or_default()
        };
        assert!(by("smtp_host").contains("no scheme, no port"));
        assert!(by("smtp_port").contains("1 to 65535"));
        assert!(by("sender").contains("name@example.com"));
        assert!(by("recipients").contains("listed twice"));
        let many = (0..21)
            .map(|i| format!("a{i}@example.com"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(check_recipients(&split_recipients(&many), true)
            .unwrap_err()
            .contains("at most 20"));
    }

    #[test]
    fn the_failures_that_open_an_incident_are_1_to_100_and_default_to_5() {
        assert_eq!(parse_failures_to_open(""), Ok(5));
        assert_eq!(parse_failures_to_open(" 3 "), Ok(3));
        for bad in ["0", "101", "five", "-1"] {
            assert!(
                parse_failures_to_open(bad)
                    .unwrap_err()
                    .contains("1 to 100"),
                "{bad}"
            );
        }
        let mut input = email_input();
        input.failures_to_open = "0".into();
        assert_eq!(
            fields(input.validate(false).unwrap_err()),
            vec!["failures_to_open"]
        );
    }

    #[test]
    fn webhooks_need_https_unless_the_address_is_not_public() {
        assert!(check_webhook_url("https://hooks.slack.com/services/T/B/x", true).is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_webhook_url("http://10.1.2.3/hooks/abc", true).is_ok());
        assert!(check_webhook_url("http://chat.example.com/hooks/abc", true)
            .unwrap_err()
            .contains("https://"));
        assert!(check_webhook_url("ftp://example.com", true).is_err());
        assert!(check_webhook_url("https://", true).is_err());
        assert!(check_webhook_url("", false).is_ok());
        assert!(check_webhook_url("", true)
            .unwrap_err()
            .contains("webhook URL"));
    }

    #[test]
    fn an_incident_message_has_text_for_people_and_facts_for_programs() {
        let incident = IncidentFacts {
            id: 7,
            link: 2,
            reason: "5 calls in a row failed".into(),
            opened_at: "2026-12-07T10:00:00Z".into(),
            closed_at: None,
        };
        let notice = Notice::Opened {
            reason: incident.reason.clone(),
        };
        let message = incident_message(&notice, &incident, Some("https://affdesk.example.com/"));
        assert_eq!(message.subject, "[affdesk] Link 2 is failing");
        assert!(message
            .body
            .contains("Link 2 is failing: 5 calls in a row failed."));
        assert!(message.body.contains("See https://affdesk.example.com/"));
        let json: serde_json::Value = serde_json::from_str(&message.payload).unwrap();
        assert_eq!(
            json["text"],
            "affdesk: Link 2 is failing: 5 calls in a row failed."
        );
        assert_eq!(json["event"], "opened");
        assert_eq!(json["incident"]["id"], 7);
        assert_eq!(json["incident"]["link"], 2);
    }

    #[test]
    fn a_test_message_says_who_sent_it() {
        let message = test_message(Channel::Webhook, "alice", None);
        assert!(message.body.contains("sent by alice"));
        let json: serde_json::Value = serde_json::from_str(&message.payload).unwrap();
        assert_eq!(json["event"], "test");
        assert!(json["text"].as_str().unwrap().contains("by webhook"));
    }
}
