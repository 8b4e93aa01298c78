//! The rule model: what a rule file compiles into, and the set of rules a run uses.
//!
//! Rules are data. `load.rs` reads YAML (built-in files embedded at build time, plus the
//! user's `--rules` paths) into these types; nothing here knows about YAML.

pub mod compiled;
pub mod load;
pub mod prefilter;
mod raw;
pub mod repo;

use std::fmt;

use crate::condition::{Condition, Definitions};
use crate::selector::{Expression, Selector, SimpleStep};

pub use load::{RuleError, load_builtin, load_documented, load_rule_sets};
pub use raw::REQUIRED_RULE_KEYS;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a fix may be applied without asking. Ordered: `Unsafe < Safe`, so a fix
/// applies when `fix.safety >= wanted`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Safety {
    /// Changes something the guest sees: needs `--unsafe-fixes`.
    Unsafe,
    /// Changes nothing the guest sees, or repairs a definition that cannot start today.
    Safe,
}

impl Safety {
    pub fn as_str(self) -> &'static str {
        match self {
            Safety::Unsafe => "unsafe",
            Safety::Safe => "safe",
        }
    }
}

/// A libvirt version, `major.minor.micro` (missing parts are 0).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub micro: u32,
}

impl Version {
    /// `5`, `5.7` or `5.7.0`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.trim().split('.');
        let mut next = |required: bool| -> Option<u32> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let version = Version {
            major: next(true)?,
            minor: next(false)?,
            micro: next(false)?,
        };
        parts.next().is_none().then_some(version)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// The libvirt release whose schema and formatter output the built-in placement tables
/// were derived from: the newest libvirt virt-lint knows when no rule names a newer one.
pub const KNOWN_LIBVIRT: Version = Version {
    major: 11,
    minor: 3,
    micro: 0,
};

/// The libvirt releases a rule applies to (`libvirt: {since: 9.0, before: 10.2}`):
/// `since` included, `before` not. Both open by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VersionWindow {
    pub since: Option<Version>,
    pub before: Option<Version>,
}

impl VersionWindow {
    pub fn contains(&self, version: Version) -> bool {
        self.since.is_none_or(|s| s <= version) && self.before.is_none_or(|b| version < b)
    }

    pub fn is_open(&self) -> bool {
        self.since.is_none() && self.before.is_none()
    }
}

impl fmt::Display for VersionWindow {
    /// `libvirt 9.0.0 and later`, `libvirt before 10.2.0`, `libvirt 9.0.0 to 10.2.0
    /// (before 10.2.0)`, `every libvirt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.since, self.before) {
            (None, None) => f.write_str("every libvirt"),
            (Some(s), None) => write!(f, "libvirt {s} and later"),
            (None, Some(b)) => write!(f, "libvirt before {b}"),
            (Some(s), Some(b)) => write!(f, "libvirt {s} and later, before {b}"),
        }
    }
}

impl FixSpec {
    /// The newest `since:` among the fix's edits: the oldest libvirt the fix suits.
    pub fn since(&self) -> Option<Version> {
        self.edits.iter().filter_map(EditSpec::since).max()
    }
}

impl EditSpec {
    /// The `since:` of an edit: the libvirt release that introduced what it writes.
    pub fn since(&self) -> Option<Version> {
        match self {
            EditSpec::Ensure { since, .. } | EditSpec::Set { since, .. } => *since,
            EditSpec::When(_, edit) => edit.since(),
            _ => None,
        }
    }
}

/// Where a rule (or one of its parts) was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A rule: what identifies and selects it (in memory from the start), what describes it
/// ([`About`], through [`Rule::about`]), and what it checks and how it fixes
/// ([`RuleLogic`], through `Deref`: `rule.when`, `rule.fix`). For the compiled built-in
/// set the last two are deserialised on first use, so a run pays only for the rules a
/// document can trigger (see [`compiled`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    /// Free-form labels (`security`, `performance`, `correctness`, `migration`, `windows`,
    /// ...) for selecting rules by kind.
    pub tags: Vec<String>,
    /// `false` for opinionated rules written with `default: off`: they run only when
    /// selected ([`RuleSet::select`]).
    pub default_enabled: bool,
    /// The libvirt releases the rule applies to (`libvirt:`); outside them it does not run
    /// ([`RuleSet::libvirt_version`]).
    pub libvirt: VersionWindow,
    /// Not in the compiled built-in set ([`crate::builtin`]): only `rule`, `rules`,
    /// `test-rules` and the documentation formats read it, from the documented set.
    #[serde(skip)]
    pub explanation: String,
    /// Not in the compiled built-in set, like `explanation`.
    #[serde(skip)]
    pub examples: Vec<Example>,
    /// For a repository rule (`scope: repo`): its cross-document check. The per-file
    /// engine skips such rules; [`crate::repo`] evaluates them over a whole run.
    pub repo: Option<Box<repo::RepoCheck>>,
    /// Serialised on its own by [`compiled`], so that it can be loaded rule by rule.
    #[serde(skip)]
    pub about: Lazy<About>,
    /// Serialised on its own by [`compiled`], so that it can be loaded rule by rule.
    #[serde(skip)]
    pub logic: Lazy<RuleLogic>,
}

impl Rule {
    /// The one-line summary (`summary:`).
    pub fn summary(&self) -> &str {
        &self.about.get().summary
    }

    /// `references:` (URLs).
    pub fn references(&self) -> &[String] {
        &self.about.get().references
    }

    /// Where the rule was written.
    pub fn origin(&self) -> &Origin {
        &self.about.get().origin
    }
}

/// What describes a rule in listings and machine-readable output, beyond its id.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct About {
    pub summary: String,
    pub references: Vec<String>,
    pub origin: Origin,
}

/// What a rule checks and how it fixes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RuleLogic {
    /// Evaluate the rule once per selected element instead of once per document.
    pub for_each: Option<Selector>,
    pub when: Condition,
    /// Where a finding points, relative to the context: the first item of the first
    /// selector that selects something; the context itself when none does.
    pub report_at: Vec<Selector>,
    pub message: Message,
    pub fix: Option<FixSpec>,
    pub alternatives: Vec<FixSpec>,
}

/// A part of a rule that is either in memory, or compiled bytes it is deserialised from
/// on first use.
#[derive(Debug, Clone)]
pub struct Lazy<T> {
    /// Boxed, so that a rule not yet loaded takes little room (rules are moved and
    /// copied as a list).
    loaded: std::sync::OnceLock<Box<T>>,
    compiled: &'static [u8],
}

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy {
            loaded: std::sync::OnceLock::new(),
            compiled: &[],
        }
    }
}

impl<T: serde::de::DeserializeOwned> Lazy<T> {
    pub fn new(value: T) -> Lazy<T> {
        Lazy {
            loaded: std::sync::OnceLock::from(Box::new(value)),
            compiled: &[],
        }
    }

    /// A value to be read from `bytes` (written by [`compiled::write`]) when first needed.
    pub fn compiled(bytes: &'static [u8]) -> Lazy<T> {
        Lazy {
            loaded: std::sync::OnceLock::new(),
            compiled: bytes,
        }
    }

    pub fn get(&self) -> &T {
        self.loaded.get_or_init(|| {
            // Only `compiled::load` makes a `Lazy` without a value, from the bytes
            // `compiled::write` produced in the same build from the same types.
            Box::new(
                postcard::from_bytes(self.compiled).expect("build.rs wrote this part of the rule"),
            )
        })
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.get();
        self.loaded.get_mut().expect("loaded just above")
    }
}

impl std::ops::Deref for Rule {
    type Target = RuleLogic;

    fn deref(&self) -> &RuleLogic {
        self.logic.get()
    }
}

impl std::ops::DerefMut for Rule {
    fn deref_mut(&mut self) -> &mut RuleLogic {
        self.logic.get_mut()
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FixSpec {
    pub title: String,
    pub safety: Safety,
    pub edits: Vec<EditSpec>,
    /// `when:`: the fix is offered only where this condition holds at the rule's context
    /// (the finding's context); elsewhere the finding says why not (`otherwise`).
    pub when: Option<Condition>,
    /// `otherwise:`: why the fix is not offered where `when` does not hold.
    pub otherwise: Option<String>,
}

impl FixSpec {
    /// A fix offered wherever its rule fires.
    pub fn new(title: impl Into<String>, safety: Safety, edits: Vec<EditSpec>) -> FixSpec {
        FixSpec {
            title: title.into(),
            safety,
            edits,
            when: None,
            otherwise: None,
        }
    }
}

/// One edit of a fix, as written in the rule file; `fix::plan` turns it into byte splices.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum EditSpec {
    /// Make sure the element path exists (creating what is missing, as last children) and
    /// carries `attributes` (templates, rendered at the rule's context). Never changes an
    /// attribute the file sets to `off` or `no`.
    Ensure {
        path: Vec<SimpleStep>,
        source: String,
        attributes: Vec<(String, Template)>,
        /// Extra attributes for path elements the fix has to create, by element name
        /// (`<clock>` needs an `offset`).
        when_created: Vec<(String, Vec<(String, String)>)>,
        /// The libvirt version that introduced the element the edit writes (`since:`), so
        /// that a fix for an older libvirt can be refused.
        since: Option<Version>,
    },
    /// Set (or add) `attribute` on every element `element` selects.
    Set {
        element: Selector,
        attribute: String,
        value: EditValue,
        /// The libvirt version that introduced the attribute (`since:`): a fix that would
        /// add it (not change it) for an older libvirt is refused.
        since: Option<Version>,
    },
    /// Remove every selected element or attribute.
    Remove(Selector),
    /// Replace the text content of every selected element.
    ReplaceText { selector: Selector, text: EditValue },
    /// Give every element `element` selects the attributes `names` of the first element
    /// `from` selects (relative to each target): set where the source has the attribute,
    /// removed where it does not. All of the source's attributes when `names` is empty.
    CopyAttributes {
        element: Selector,
        from: Selector,
        names: Vec<String>,
    },
    /// An edit with `when:`: applied only where the condition holds at the rule's context.
    When(Condition, Box<EditSpec>),
}

/// A value an edit writes: a template (`{expression}` holes, rendered at the element the
/// edit changes), and/or a table rewriting the current value (`map:`). With a table, a
/// current value it lists becomes its entry; any other value becomes the template, or
/// stays when there is none.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EditValue {
    pub template: Option<Template>,
    pub map: Vec<(String, String)>,
}

impl EditValue {
    /// The new value for an element at `ctx` whose current value is `current`; `None`
    /// leaves it as it is.
    pub fn resolve(&self, ctx: roxmltree::Node<'_, '_>, current: Option<&str>) -> Option<String> {
        if let Some(current) = current
            && let Some((_, to)) = self.map.iter().find(|(from, _)| from == current)
        {
            return Some(to.clone());
        }
        self.template.as_ref().map(|t| t.render(ctx))
    }
}

impl From<&str> for Template {
    fn from(text: &str) -> Self {
        Template::literal(text)
    }
}

impl From<&str> for EditValue {
    fn from(text: &str) -> Self {
        EditValue {
            template: Some(Template::literal(text)),
            map: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleKind {
    Fires,
    Passes,
}

#[derive(Debug, Clone)]
pub struct Example {
    pub kind: ExampleKind,
    pub xml: String,
    /// For a firing example: the text expected after the rule's fix (unsafe included).
    pub fixed: Option<String>,
    pub line: usize,
}

/// A message template: literal text and `{expression}` holes, filled with the string value
/// of each expression at the rule's context (the `for-each` element, a `unique`
/// duplicate, or `<domain>`); a hole ending in `...` renders every value, joined with
/// `, `.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub parts: Vec<MessagePart>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum MessagePart {
    Text(String),
    /// `{expr}`: the first value.
    Value(Expression),
    /// `{expr...}`: every value, joined.
    Every(Expression),
}

/// A value with `{expression}` holes: the same language as messages.
pub type Template = Message;

impl Message {
    /// A template without holes.
    pub fn literal(text: &str) -> Message {
        Message {
            parts: if text.is_empty() {
                Vec::new()
            } else {
                vec![MessagePart::Text(text.to_string())]
            },
        }
    }

    /// The text, when the template has no holes.
    pub fn literal_text(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                MessagePart::Text(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    pub fn render(&self, ctx: roxmltree::Node<'_, '_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                MessagePart::Text(text) => out.push_str(text),
                MessagePart::Value(expr) => out.push_str(&expr.eval_string(ctx)),
                MessagePart::Every(expr) => out.push_str(&expr.eval_strings(ctx).join(", ")),
            }
        }
        out
    }
}

/// Every rule of a run, with the definitions they share, which of them run, and the
/// libvirt release the definitions are checked for.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleSet {
    /// Add or drop rules with [`RuleSet::extend`] and [`RuleSet::retain`], which keep
    /// what is indexed by position (which rules run, the prefilter) in step.
    pub rules: Vec<Rule>,
    pub definitions: Definitions,
    /// Parallel to `rules`: whether the rule runs. Starts as each rule's `default`.
    enabled: Vec<bool>,
    /// `--libvirt-version`, when given.
    libvirt: Option<Version>,
    /// [`RuleSet::newest_known`], worked out on first use (not stored when compiled).
    #[serde(skip)]
    newest: std::sync::OnceLock<Version>,
    /// Which rules a document can skip, worked out on first use (see [`prefilter`]).
    #[serde(skip)]
    prefilter: std::sync::OnceLock<std::sync::Arc<prefilter::Prefilter>>,
}

impl RuleSet {
    /// A set in which the rules enabled by default run.
    pub fn new(rules: Vec<Rule>, definitions: Definitions) -> Self {
        let enabled = rules.iter().map(|r| r.default_enabled).collect();
        RuleSet {
            rules,
            definitions,
            enabled,
            libvirt: None,
            newest: std::sync::OnceLock::new(),
            prefilter: std::sync::OnceLock::new(),
        }
    }

    /// Add rules (enabled by their default).
    pub fn extend(&mut self, rules: impl IntoIterator<Item = Rule>) {
        self.enabled.resize(self.rules.len(), false);
        for rule in rules {
            self.enabled.push(rule.default_enabled);
            self.rules.push(rule);
        }
    }

    /// Keep only the rules `keep` accepts; the prefilter is worked out again when next
    /// needed.
    pub fn retain(&mut self, mut keep: impl FnMut(&Rule) -> bool) {
        self.enabled.resize(self.rules.len(), false);
        let kept: Vec<bool> = self.rules.iter().map(&mut keep).collect();
        let mut flags = kept.iter();
        self.rules.retain(|_| *flags.next().unwrap_or(&false));
        let mut flags = kept.iter();
        self.enabled.retain(|_| *flags.next().unwrap_or(&false));
        self.prefilter = std::sync::OnceLock::new();
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Check the definitions for this libvirt release (`--libvirt-version`): rules run
    /// only inside their `libvirt:` window, and a fix that would write an element newer
    /// than it is refused. `None`: the newest release the rules know.
    pub fn set_libvirt_version(&mut self, version: Option<Version>) {
        self.libvirt = version;
    }

    /// The libvirt release the definitions are checked for: `--libvirt-version`, or
    /// [`RuleSet::newest_known`].
    /// The element names each rule needs (built on first use; rules added later are
    /// never skipped).
    pub fn prefilter(&self) -> &prefilter::Prefilter {
        self.prefilter
            .get_or_init(|| std::sync::Arc::new(prefilter::Prefilter::new(self)))
    }

    pub fn libvirt_version(&self) -> Version {
        self.libvirt.unwrap_or_else(|| self.newest_known())
    }

    /// Whether the release was given (`--libvirt-version`) rather than defaulted.
    pub fn libvirt_version_given(&self) -> bool {
        self.libvirt.is_some()
    }

    /// Every libvirt release the rules name (`libvirt:` windows and `since:` of edits),
    /// and [`KNOWN_LIBVIRT`].
    pub fn known_versions(&self) -> Vec<Version> {
        let mut out = vec![KNOWN_LIBVIRT];
        for rule in &self.rules {
            out.extend(rule.libvirt.since);
            out.extend(rule.libvirt.before);
            for fix in rule.fix.iter().chain(&rule.alternatives) {
                out.extend(fix.edits.iter().filter_map(EditSpec::since));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The newest libvirt release the rules know: the default `--libvirt-version`.
    /// (Worked out once: rules added later do not change it.)
    pub fn newest_known(&self) -> Version {
        *self.newest.get_or_init(|| {
            self.known_versions()
                .last()
                .copied()
                .unwrap_or(KNOWN_LIBVIRT)
        })
    }

    /// The rules that run, with their index in `rules`: selected, and applying to
    /// [`RuleSet::libvirt_version`].
    pub fn enabled(&self) -> impl Iterator<Item = (usize, &Rule)> {
        let version = self.libvirt_version();
        self.rules
            .iter()
            .enumerate()
            .filter(move |(i, rule)| self.is_selected(*i) && rule.libvirt.contains(version))
    }

    /// Whether the rule at `index` is selected to run (without looking at the rule: it
    /// may still not apply to [`RuleSet::libvirt_version`], see [`RuleSet::is_enabled`]).
    pub fn is_selected(&self, index: usize) -> bool {
        self.enabled.get(index).copied().unwrap_or(false)
    }

    pub fn is_enabled(&self, index: usize) -> bool {
        self.is_selected(index)
            && self
                .rules
                .get(index)
                .is_some_and(|r| r.libvirt.contains(self.libvirt_version()))
    }

    /// Choose the rules that run: `choose` sees each rule (and whether it runs now) and
    /// says whether it runs from now on. Rules with `default: off` run only when chosen.
    pub fn select(&mut self, mut choose: impl FnMut(&Rule, bool) -> bool) {
        self.enabled.resize(self.rules.len(), false);
        for (rule, on) in self.rules.iter().zip(self.enabled.iter_mut()) {
            *on = choose(rule, *on);
        }
    }

    /// A set holding only the rule at `index`, enabled whatever its default (for running
    /// a rule's examples), checked for the newest libvirt release the rules know that
    /// lies in the rule's `libvirt:` window.
    pub fn only(&self, index: usize) -> RuleSet {
        let rule = &self.rules[index];
        let mut candidates = self.known_versions();
        candidates.extend(rule.libvirt.since);
        let version = candidates
            .into_iter()
            .filter(|v| rule.libvirt.contains(*v))
            .max()
            .unwrap_or_default();
        RuleSet {
            rules: vec![rule.clone()],
            definitions: self.definitions.clone(),
            enabled: vec![true],
            libvirt: Some(version),
            newest: std::sync::OnceLock::new(),
            prefilter: std::sync::OnceLock::new(),
        }
    }
}
