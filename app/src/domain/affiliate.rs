//! The Affiliate Program settings: the on/off switch and five link slots, as the admin types them
//! and as they are stored once valid. Saving is all or nothing: one bad slot refuses the save.

use super::call::escape_html;
use super::conditions::{Conditions, ConditionsInput, PlanRule, TypeRule};
use super::link_template::{LinkKind, LinkTemplate, SignupValues, Token, LINK_SLOTS};
use super::success::{check_rule_text, ReplyRules};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// How a link fires after an eligible signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DeliveryMode {
    /// affdesk calls the URL itself, with retries and an attempt log.
    #[default]
    ServerToServer,
    /// A 1x1 image on the customer's signup-complete page, as H-Sphere did, for trackers that
    /// must read their own cookie in the customer's browser.
    BrowserPixel,
}

impl DeliveryMode {
    pub const ALL: [DeliveryMode; 2] = [DeliveryMode::ServerToServer, DeliveryMode::BrowserPixel];

    /// The stored and posted form of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::ServerToServer => "server",
            DeliveryMode::BrowserPixel => "pixel",
        }
    }

    pub fn parse(raw: &str) -> Option<DeliveryMode> {
        DeliveryMode::ALL.into_iter().find(|m| m.as_str() == raw)
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryMode::ServerToServer => "Server-to-server",
            DeliveryMode::BrowserPixel => "Browser pixel",
        }
    }
}

/// One slot as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInput {
    pub url: String,
    pub enabled: bool,
    pub mode: DeliveryMode,
    /// Called when a signup this link fired for is refunded, charged back or cancelled.
    #[serde(default)]
    pub reversal_url: String,
    #[serde(default)]
    pub rules: ReplyRules,
    #[serde(default)]
    pub conditions: ConditionsInput,
}

impl Default for SlotInput {
    fn default() -> Self {
        Self {
            url: String::new(),
            enabled: true,
            mode: DeliveryMode::ServerToServer,
            reversal_url: String::new(),
            rules: ReplyRules::default(),
            conditions: ConditionsInput::default(),
        }
    }
}

/// A field of a link slot that can be wrong. `id` is the field's id on the page, with the
/// slot's number after it (`reversal-2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlotField {
    Url,
    ReversalUrl,
    Contains,
    NotContains,
    Plans,
    MinAmount,
}

impl SlotField {
    pub fn id(self) -> &'static str {
        match self {
            SlotField::Url => "link",
            SlotField::ReversalUrl => "reversal",
            SlotField::Contains => "contains",
            SlotField::NotContains => "not-contains",
            SlotField::Plans => "plans",
            SlotField::MinAmount => "min-amount",
        }
    }

    /// How a message names the field, after "Link N".
    pub fn label(self) -> &'static str {
        match self {
            SlotField::Url => "",
            SlotField::ReversalUrl => " reversal link",
            SlotField::Contains => " reply must contain",
            SlotField::NotContains => " reply must not contain",
            SlotField::Plans => " plans",
            SlotField::MinAmount => " minimum amount",
        }
    }
}

/// One problem with one field of one slot (numbered from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotProblem {
    pub slot: usize,
    pub field: SlotField,
    pub message: String,
}

impl SlotInput {
    /// The slot as stored and fired, or every field's problem.
    pub fn validate(&self) -> Result<SlotConfig, Vec<(SlotField, String)>> {
        let mut problems = Vec::new();
        let link = LinkTemplate::parse_slot_as(&self.url, LinkKind::Signup)
            .map_err(|e| problems.push((SlotField::Url, e.to_string())))
            .ok()
            .flatten();
        let reversal = LinkTemplate::parse_slot_as(&self.reversal_url, LinkKind::Reversal)
            .map_err(|e| problems.push((SlotField::ReversalUrl, e.to_string())))
            .ok()
            .flatten();
        for (field, text) in [
            (SlotField::Contains, &self.rules.contains),
            (SlotField::NotContains, &self.rules.not_contains),
        ] {
            if let Err(message) = check_rule_text(text) {
                problems.push((field, message));
            }
        }
        let conditions = self.conditions.validate().map_err(|errors| {
            for (field, message) in errors {
                let field = match field {
                    "plans" => SlotField::Plans,
                    _ => SlotField::MinAmount,
                };
                problems.push((field, message));
            }
        });
        match conditions {
            Ok(conditions) if problems.is_empty() => Ok(SlotConfig {
                link,
                enabled: self.enabled,
                mode: self.mode,
                reversal,
                rules: self.rules.clone(),
                conditions,
            }),
            _ => Err(problems),
        }
    }

    /// The message for one field, as the page shows it beside that field.
    pub fn problem(&self, field: SlotField) -> Option<String> {
        self.validate()
            .err()?
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m)
    }
}

/// The whole page as typed: what a save submits and what the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffiliateInput {
    pub program_enabled: bool,
    pub slots: Vec<SlotInput>,
}

impl Default for AffiliateInput {
    fn default() -> Self {
        Self {
            program_enabled: false,
            slots: vec![SlotInput::default(); LINK_SLOTS],
        }
    }
}

/// A valid slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotConfig {
    pub link: Option<LinkTemplate>,
    pub enabled: bool,
    pub mode: DeliveryMode,
    pub reversal: Option<LinkTemplate>,
    pub rules: ReplyRules,
    pub conditions: Conditions,
}

impl SlotConfig {
    /// The slot fires for eligible signups: enabled and not empty.
    pub fn fires(&self) -> Option<&LinkTemplate> {
        self.link.as_ref().filter(|_| self.enabled)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliateConfig {
    pub program_enabled: bool,
    pub slots: Vec<SlotConfig>,
}

/// Why a save is refused: a slot count other than five, or the slots that are invalid
/// (numbered from 1, like the page's "Link 1" to "Link 5").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConfigError {
    #[error("the Affiliate Program has exactly {LINK_SLOTS} links; {found} were sent")]
    WrongSlotCount { found: usize },
    #[error("{} field(s) need correcting; nothing was saved", .0.len())]
    InvalidSlots(Vec<SlotProblem>),
}

impl AffiliateInput {
    pub fn validate(&self) -> Result<AffiliateConfig, ConfigError> {
        if self.slots.len() != LINK_SLOTS {
            return Err(ConfigError::WrongSlotCount {
                found: self.slots.len(),
            });
        }
        let mut errors = Vec::new();
        let mut slots = Vec::with_capacity(LINK_SLOTS);
        for (i, slot) in self.slots.iter().enumerate() {
            match slot.validate() {
                Ok(config) => slots.push(config),
                Err(problems) => {
                    errors.extend(problems.into_iter().map(|(field, message)| SlotProblem {
                        slot: i + 1,
                        field,
                        message,
                    }))
                }
            }
        }
        if errors.is_empty() {
            Ok(AffiliateConfig {
                program_enabled: self.program_enabled,
                slots,
            })
        } else {
            Err(ConfigError::InvalidSlots(errors))
        }
    }

    /// What changed between two saved states, in words for the audit list.
    pub fn describe_changes(&self, after: &AffiliateInput) -> Vec<String> {
        let mut changes = Vec::new();
        if self.program_enabled != after.program_enabled {
            changes.push(if after.program_enabled {
                "switched the affiliate program on".to_owned()
            } else {
                "switched the affiliate program off".to_owned()
            });
        }
        for (i, (b, a)) in self.slots.iter().zip(&after.slots).enumerate() {
            let n = i + 1;
            match (b.url.is_empty(), a.url.is_empty()) {
                (true, false) => changes.push(format!("set Link {n}")),
                (false, true) => changes.push(format!("cleared Link {n}")),
                _ if b.url != a.url => changes.push(format!("edited Link {n}")),
                _ => {}
            }
            if b.enabled != a.enabled {
                let state = if a.enabled { "enabled" } else { "disabled" };
                changes.push(format!("{state} Link {n}"));
            }
            if b.mode != a.mode {
                changes.push(format!("made Link {n} {}", a.mode.label().to_lowercase()));
            }
            match (b.reversal_url.is_empty(), a.reversal_url.is_empty()) {
                (true, false) => changes.push(format!("set Link {n}'s reversal link")),
                (false, true) => changes.push(format!("cleared Link {n}'s reversal link")),
                _ if b.reversal_url != a.reversal_url => {
                    changes.push(format!("edited Link {n}'s reversal link"))
                }
                _ => {}
            }
            if b.rules != a.rules {
                changes.push(format!("changed Link {n}'s reply rules"));
            }
            if b.conditions != a.conditions {
                changes.push(format!("changed Link {n}'s conditions"));
            }
        }
        if changes.is_empty() {
            changes.push("saved without changes".to_owned());
        }
        changes
    }
}

/// Inserts `insert` into `text` in place of the selection `start..end`, offsets in UTF-16 code
/// units as the browser reports them. Returns the new text and the caret offset after the
/// insertion. Offsets outside the text are clamped; a reversed selection is put right.
pub fn insert_at_selection(text: &str, start: usize, end: usize, insert: &str) -> (String, usize) {
    let units: Vec<u16> = text.encode_utf16().collect();
    let clamp = |i: usize| {
        let mut i = i.min(units.len());
        // Never split a surrogate pair.
        while i > 0 && i < units.len() && (0xDC00..0xE000).contains(&units[i]) {
            i -= 1;
        }
        i
    };
    let (start, end) = (clamp(start.min(end)), clamp(start.max(end)));
    let before = String::from_utf16_lossy(&units[..start]);
    let after = String::from_utf16_lossy(&units[end..]);
    let caret = start + insert.encode_utf16().count();
    (format!("{before}{insert}{after}"), caret)
}

/// The Insert target: Link 1 to 5 are targets 1 to 5, their reversal links 6 to 10.
pub fn target_field(target: usize) -> Option<(usize, LinkKind)> {
    match target {
        1..=LINK_SLOTS => Some((target, LinkKind::Signup)),
        t if t > LINK_SLOTS && t <= 2 * LINK_SLOTS => Some((t - LINK_SLOTS, LinkKind::Reversal)),
        _ => None,
    }
}

/// The Insert target of slot `n`'s link of `kind`.
pub fn target_of(n: usize, kind: LinkKind) -> usize {
    match kind {
        LinkKind::Signup => n,
        LinkKind::Reversal => n + LINK_SLOTS,
    }
}

/// The no-JavaScript Insert: appends the token to the chosen target (see [`target_field`]), as
/// H-Sphere's button did for Link 1. Says why when it cannot: no such link, or a reversal's
/// parameter aimed at a signup link.
pub fn append_token(input: &mut AffiliateInput, target: usize, token: Token) -> Result<(), String> {
    let Some((n, kind)) = target_field(target) else {
        return Err("there is no such link".to_owned());
    };
    if !kind.allows(token) {
        return Err(format!(
            "{} is a reversal's value: choose Link {n} reversal under \"into\"",
            token.placeholder()
        ));
    }
    let slot = input.slots.get_mut(n - 1).ok_or("there is no such link")?;
    match kind {
        LinkKind::Signup => slot.url.push_str(&token.placeholder()),
        LinkKind::Reversal => slot.reversal_url.push_str(&token.placeholder()),
    }
    Ok(())
}

/// One `<option>` of a drop-down the page writes as HTML.
pub struct SelectOption<'a> {
    pub value: String,
    pub text: String,
    /// Shown when the pointer rests on the option.
    pub title: Option<&'a str>,
}

/// `<option>` elements as HTML, escaped, `selected` on the one whose value is `selected` (none
/// when no value matches; the browser then shows the first).
///
/// The page's fixed parts are written as HTML, not as a view per option or cell: they do not
/// change once the page is built, and as views every option and table cell would be rendered by
/// the server on each view and walked by the browser's hydration code (and compiled into the
/// page's wasm).
pub fn options_html<'a>(
    options: impl IntoIterator<Item = SelectOption<'a>>,
    selected: &str,
) -> String {
    let mut html = String::with_capacity(1024);
    for option in options {
        let _ = write!(html, "<option value=\"{}\"", escape_html(&option.value));
        if let Some(title) = option.title {
            let _ = write!(html, " title=\"{}\"", escape_html(title));
        }
        if option.value == selected {
            html.push_str(" selected");
        }
        let _ = write!(html, ">{}</option>", escape_html(&option.text));
    }
    html
}

/// The parameter drop-down: each token's placeholder, its label beside it, its description as
/// the title.
pub fn token_options_html(selected: &str) -> String {
    let options = Token::every().map(|token| SelectOption {
        value: token.placeholder(),
        text: format!("{} — {}", token.placeholder(), token.label()),
        title: Some(token.description()),
    });
    options_html(options, selected)
}

/// The "into" drop-down: Link 1 to Link 5, then their reversal links.
pub fn target_options_html(selected: usize) -> String {
    let options = (1..=2 * LINK_SLOTS)
        .filter_map(target_field)
        .map(|(n, kind)| SelectOption {
            value: target_of(n, kind).to_string(),
            text: match kind {
                LinkKind::Signup => format!("Link {n}"),
                LinkKind::Reversal => format!("Link {n} reversal"),
            },
            title: None,
        });
    options_html(options, &selected.to_string())
}

/// A link's delivery drop-down.
pub fn mode_options_html(selected: DeliveryMode) -> String {
    let options = DeliveryMode::ALL.into_iter().map(|mode| SelectOption {
        value: mode.as_str().to_owned(),
        text: mode.label().to_owned(),
        title: None,
    });
    options_html(options, selected.as_str())
}

/// A link's signup-types drop-down.
pub fn type_rule_options_html(selected: TypeRule) -> String {
    let options = TypeRule::ALL.into_iter().map(|rule| SelectOption {
        value: rule.as_str().to_owned(),
        text: rule.label().to_owned(),
        title: None,
    });
    options_html(options, selected.as_str())
}

/// A link's plan-rule drop-down.
pub fn plan_rule_options_html(selected: PlanRule) -> String {
    let options = PlanRule::ALL.into_iter().map(|rule| SelectOption {
        value: rule.as_str().to_owned(),
        text: rule.label().to_owned(),
        title: None,
    });
    options_html(options, selected.as_str())
}

/// The rows of the page's "All parameters" table, as HTML: each token's placeholder, what it
/// stands for, and its value in the sample signup the previews use.
pub fn parameter_rows_html() -> String {
    let sample = SignupValues::sample();
    let mut html = String::with_capacity(4096);
    for token in Token::every() {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            escape_html(&token.placeholder()),
            escape_html(token.description()),
            escape_html(sample.get(token)),
        );
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(urls: [&str; 5]) -> AffiliateInput {
        AffiliateInput {
            program_enabled: true,
            slots: urls
                .iter()
                .map(|u| SlotInput {
                    url: (*u).to_owned(),
                    ..SlotInput::default()
                })
                .collect(),
        }
    }

    #[test]
    fn five_valid_or_empty_slots_validate() {
        let config = input([
            "https://t.example/?a=${amount}",
            "",
            "",
            "",
            "http://x.example",
        ])
        .validate()
        .unwrap();
        assert_eq!(config.slots.len(), 5);
        assert!(config.slots[0].fires().is_some());
        assert!(
            config.slots[1].fires().is_none(),
            "an empty slot fires nothing"
        );
    }

    #[test]
    fn a_disabled_slot_fires_nothing() {
        let mut i = input(["https://t.example/", "", "", "", ""]);
        i.slots[0].enabled = false;
        assert!(i.validate().unwrap().slots[0].fires().is_none());
    }

    #[test]
    fn one_invalid_slot_refuses_the_whole_save_and_every_error_is_reported() {
        let err = input(["https://t.example/?a=${amont}", "", "ftp://x", "", ""])
            .validate()
            .unwrap_err();
        match err {
            ConfigError::InvalidSlots(errors) => {
                assert_eq!(errors.iter().map(|p| p.slot).collect::<Vec<_>>(), [1, 3]);
                assert!(errors.iter().all(|p| p.field == SlotField::Url));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sixth_slot_is_refused() {
        let mut i = AffiliateInput::default();
        i.slots.push(SlotInput::default());
        assert_eq!(i.validate(), Err(ConfigError::WrongSlotCount { found: 6 }));
        i.slots.truncate(4);
        assert_eq!(i.validate(), Err(ConfigError::WrongSlotCount { found: 4 }));
    }

    #[test]
    fn insertion_replaces_the_selection_and_puts_the_caret_after_the_token() {
        assert_eq!(
            insert_at_selection("ab", 1, 1, "${x}"),
            ("a${x}b".to_owned(), 5)
        );
        assert_eq!(
            insert_at_selection("a123b", 1, 4, "${x}"),
            ("a${x}b".to_owned(), 5)
        );
        assert_eq!(
            insert_at_selection("a123b", 4, 1, "${x}"),
            ("a${x}b".to_owned(), 5)
        );
        assert_eq!(
            insert_at_selection("ab", 99, 99, "!"),
            ("ab!".to_owned(), 3)
        );
        // UTF-16 offsets: the emoji is two units and is never split.
        assert_eq!(
            insert_at_selection("a😀b", 3, 3, "!"),
            ("a😀!b".to_owned(), 4)
        );
        assert_eq!(
            insert_at_selection("a😀b", 2, 2, "!"),
            ("a!😀b".to_owned(), 2)
        );
    }

    #[test]
    fn the_no_script_insert_appends_to_the_chosen_link() {
        let mut i = input(["https://t.example/?a=", "", "", "", ""]);
        assert!(append_token(&mut i, 1, Token::Amount).is_ok());
        assert_eq!(i.slots[0].url, "https://t.example/?a=${amount}");
        assert!(append_token(&mut i, 6, Token::ReversalId).is_ok());
        assert_eq!(i.slots[0].reversal_url, "${reversal_id}");
        let refused = append_token(&mut i, 2, Token::ReversalAmount).unwrap_err();
        assert!(refused.contains("Link 2 reversal"), "{refused}");
        assert!(append_token(&mut i, 11, Token::Amount).is_err());
        assert!(append_token(&mut i, 0, Token::Amount).is_err());
    }

    #[test]
    fn a_slot_reports_each_bad_field_beside_it() {
        let mut slot = SlotInput {
            url: "https://t.example/".into(),
            reversal_url: "https://t.example/r?x=${nope}".into(),
            ..SlotInput::default()
        };
        slot.rules.contains = "a\nb".into();
        slot.conditions.min_amount = "ten".into();
        let fields: Vec<SlotField> = slot
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                SlotField::ReversalUrl,
                SlotField::Contains,
                SlotField::MinAmount
            ]
        );
        assert!(slot.problem(SlotField::Url).is_none());
        assert!(slot
            .problem(SlotField::MinAmount)
            .unwrap()
            .contains("not an amount"));
    }

    #[test]
    fn changes_are_described_for_the_audit_list() {
        let before = input(["https://a.example/", "", "", "", ""]);
        let mut after = input(["https://b.example/", "https://c.example/", "", "", ""]);
        after.program_enabled = false;
        after.slots[0].mode = DeliveryMode::BrowserPixel;
        assert_eq!(
            before.describe_changes(&after),
            [
                "switched the affiliate program off",
                "edited Link 1",
                "made Link 1 browser pixel",
                "set Link 2"
            ]
        );
        assert_eq!(before.describe_changes(&before), ["saved without changes"]);
    }

    #[test]
    fn modes_round_trip_through_their_stored_form() {
        for m in DeliveryMode::ALL {
            assert_eq!(DeliveryMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(DeliveryMode::parse("email"), None);
    }

    #[test]
    fn the_drop_down_lists_every_token_once_and_selects_the_chosen_one() {
        let html = token_options_html("${plan_name}");
        assert_eq!(html.matches("<option ").count(), Token::every().count());
        for token in Token::every() {
            let value = format!("value=\"{}\"", token.placeholder());
            assert_eq!(html.matches(&value).count(), 1, "{value}");
        }
        assert_eq!(html.matches(" selected>").count(), 1);
        assert!(html.contains(
            "<option value=\"${plan_name}\" title=\"The name of the hosting plan bought.\" selected>${plan_name} — "
        ), "{html}");
        // Nothing selected when the choice names no token; the browser then shows the first.
        assert!(!token_options_html("${nope}").contains("selected"));
    }

    #[test]
    fn the_link_and_mode_drop_downs_select_the_current_choice() {
        assert_eq!(
            target_options_html(2),
            "<option value=\"1\">Link 1</option><option value=\"2\" selected>Link 2</option>\
             <option value=\"3\">Link 3</option><option value=\"4\">Link 4</option>\
             <option value=\"5\">Link 5</option><option value=\"6\">Link 1 reversal</option>\
             <option value=\"7\">Link 2 reversal</option><option value=\"8\">Link 3 reversal</option>\
             <option value=\"9\">Link 4 reversal</option><option value=\"10\">Link 5 reversal</option>"
        );
        assert_eq!(
            mode_options_html(DeliveryMode::BrowserPixel),
            "<option value=\"server\">Server-to-server</option>\
             <option value=\"pixel\" selected>Browser pixel</option>"
        );
    }

    #[test]
    fn option_values_texts_and_titles_are_escaped() {
        let html = options_html(
            [SelectOption {
                value: "a\"b".to_owned(),
                text: "<i>&</i>".to_owned(),
                title: Some("it's"),
            }],
            "a\"b",
        );
        assert_eq!(
            html,
            "<option value=\"a&quot;b\" title=\"it&#39;s\" selected>&lt;i&gt;&amp;&lt;/i&gt;</option>"
        );
    }

    #[test]
    fn the_parameter_table_escapes_the_sample_values() {
        let html = parameter_rows_html();
        assert_eq!(html.matches("<tr>").count(), Token::every().count());
        // The sample plan name has an ampersand; the e-mail a plus sign that needs no escaping.
        assert!(html.contains("<code>Business &amp; Pro</code>"), "{html}");
        assert!(
            html.contains("<code>jane+hosting@example.com</code>"),
            "{html}"
        );
        assert!(!html.contains("Business & Pro"));
    }
}
