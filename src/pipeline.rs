//! The per-document pipeline: decode → parse → domain check → lint → (fix → verify).
//!
//! Everything that turns one input's bytes into findings (and, when asked, a verified
//! fixed text) lives here, so the command line, `test-rules`, the corpus check and the
//! robustness tests run the same code. Reading inputs, writing files and printing are the
//! caller's business: this module does no I/O.

use crate::document::{self, Document, ParseErrorKind, Position};
use crate::engine;
use crate::fix::{self, FixError, Fixed, PlannedFinding as Finding};
use crate::repo;
use crate::rules::{RuleSet, Safety};
use crate::select::RuleInfo;
use crate::suppress;

/// Inline suppression comments for a run: the rules a directive may name (every rule of
/// the run, enabled or not) and how directives are treated.
#[derive(Debug, Clone, Copy)]
pub struct Suppressions<'a> {
    pub known: &'a [RuleInfo<'a>],
    pub options: suppress::Options,
}

/// What to do with a document beyond linting it.
///
/// The engine finds; it plans no fixes. Planning (turning a rule's fix into byte edits for
/// one finding) happens here only when asked: for fixing, and for callers that show or
/// count fixes (the text report's help, the summary's "fixes available").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Fix with the fixes this safety class allows (`Safe`: safe fixes only; `Unsafe`:
    /// all). `None` applies nothing.
    pub fix: Option<Safety>,
    /// Plan the fixes of the findings (implied by `fix`). Without it, each finding's
    /// `fix` is `None` and its `alternatives` empty: not planned, not "no fix".
    pub plan: bool,
}

impl Options {
    /// Lint only: no fix planned or applied.
    pub const LINT: Options = Options {
        fix: None,
        plan: false,
    };
    /// Lint, and plan each finding's fixes (to show or count them), applying none.
    pub const PLAN: Options = Options {
        fix: None,
        plan: true,
    };

    /// Lint and fix with the fixes `allowed` permits.
    pub fn fix(allowed: Safety) -> Options {
        Options {
            fix: Some(allowed),
            plan: true,
        }
    }
}

/// What became of one document.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A libvirt domain, linted (and fixed when asked).
    Linted(Linted),
    /// Well-formed, but not a libvirt domain: a note, never an error.
    Skipped { reason: String },
    /// Not UTF-8, not well-formed, empty, or a domain with a DTD.
    Invalid(Invalid),
}

/// A linted domain.
#[derive(Debug, Clone)]
pub struct Linted {
    /// The decoded text, as read.
    pub text: String,
    /// The findings of `text`, with their fixes when `planned`.
    pub findings: Vec<Finding>,
    /// Whether the findings' fixes were planned ([`Options::plan`]).
    pub planned: bool,
    /// What fixing did (always [`FixResult::NotFixed`] when fixing was not asked).
    pub fix: FixResult,
    /// The keys of the repository rules, read from [`Linted::final_text`], for
    /// [`crate::repo::evaluate`] once every document of the run is linted. Empty when the
    /// rule set has no repository rule.
    pub repo: repo::Facts,
}

/// The result of fixing a linted domain.
#[derive(Debug, Clone)]
pub enum FixResult {
    /// Fixing was not asked, or no fix applied: the text stays as it is.
    NotFixed,
    /// The fixes changed the text; the result parsed, kept every comment and lost the
    /// fixed findings.
    Fixed(Fixed),
    /// The fixes were refused (they did not converge, broke the XML, dropped a comment or
    /// left their finding): the text must stay untouched.
    Refused(FixError),
}

impl Linted {
    /// The fixed text, when fixing changed something.
    pub fn fixed(&self) -> Option<&Fixed> {
        match &self.fix {
            FixResult::Fixed(fixed) => Some(fixed),
            _ => None,
        }
    }

    /// The text after this run: the fixed one, or the original.
    pub fn final_text(&self) -> &str {
        self.fixed().map_or(&self.text, |f| f.text.as_str())
    }

    /// The findings of [`Linted::final_text`]: what remains after fixing.
    pub fn remaining(&self) -> &[Finding] {
        self.fixed()
            .map_or(&self.findings, |f| f.findings.as_slice())
    }
}

/// Why a document could not be linted, and where.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub message: String,
    pub position: Option<Position>,
    /// The decoded text, when decoding worked (to show the offending line).
    pub text: Option<String>,
}

/// Run the pipeline over raw bytes (a file's, standard input's, a live domain's).
pub fn check_bytes(bytes: &[u8], rules: &RuleSet, options: Options) -> Outcome {
    check_bytes_with(bytes, rules, options, None)
}

/// [`check_bytes`], honouring inline suppression comments when `suppressions` is given.
pub fn check_bytes_with(
    bytes: &[u8],
    rules: &RuleSet,
    options: Options,
    suppressions: Option<Suppressions<'_>>,
) -> Outcome {
    match document::decode_str(bytes) {
        Ok(text) => check_text_with(text, rules, options, suppressions),
        Err(e) => Outcome::Invalid(Invalid {
            message: e.message,
            position: e.position,
            text: None,
        }),
    }
}

/// Run the pipeline over a text.
pub fn check_text(text: &str, rules: &RuleSet, options: Options) -> Outcome {
    check_text_with(text, rules, options, None)
}

/// [`check_text`], honouring inline suppression comments when `suppressions` is given:
/// silenced findings are dropped (and their fixes not applied), findings about the
/// directives themselves are added, and a fix that would remove or move a directive is
/// refused.
pub fn check_text_with(
    text: &str,
    rules: &RuleSet,
    options: Options,
    suppressions: Option<Suppressions<'_>>,
) -> Outcome {
    let repo_rules = repo::repo_rules(rules);
    // The findings of a document (suppressed ones dropped) and its repository keys (those
    // a directive silences marked: they still clash, but report nothing here).
    let lint_with_keys = |doc: &Document<'_>| {
        let mut findings = engine::lint(doc, rules);
        let mut facts = repo::Facts::default();
        if !repo_rules.is_empty() {
            facts = repo::extract(doc, &repo_rules, &rules.definitions);
        }
        if let Some(s) = suppressions {
            findings.extend(facts.probes(doc.root().id()));
            findings = suppress::apply(doc, rules, s.known, findings, s.options);
            findings = facts.take_probes(findings);
        }
        (findings, facts)
    };
    // The engine plans no fixes; the text report's help and the fixer need them.
    let lint = |doc: &Document<'_>| fix::plan_findings(doc, rules, lint_with_keys(doc).0);
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            if let ParseErrorKind::Doctype { root: Some(root) } = &e.kind
                && root != "domain"
            {
                return Outcome::Skipped {
                    reason: format!("not a libvirt domain (root element is <{root}>)"),
                };
            }
            return Outcome::Invalid(Invalid {
                message: e.message,
                position: e.position,
                text: Some(text.to_string()),
            });
        }
    };
    if !engine::is_domain(&doc) {
        return Outcome::Skipped {
            reason: not_a_domain(&doc),
        };
    }
    let planned = options.plan || options.fix.is_some();
    let (found, mut facts) = lint_with_keys(&doc);
    let findings = if planned {
        fix::plan_findings(&doc, rules, found)
    } else {
        found.into_iter().map(unplanned).collect()
    };
    drop(doc);
    let mut fix = match options.fix {
        Some(allowed) => fix_linted(text, &findings, allowed, &lint),
        None => FixResult::NotFixed,
    };
    if let (FixResult::Fixed(fixed), Some(s)) = (&fix, suppressions)
        && !s.options.disabled
        && let (Ok(before), Ok(after)) = (Document::parse(text), Document::parse(&fixed.text))
        && let Err(message) = suppress::check_preserved(&before, &after)
    {
        fix = FixResult::Refused(FixError { message });
    }
    // Repository rules see the text as it will be.
    if let FixResult::Fixed(fixed) = &fix
        && !repo_rules.is_empty()
        && let Ok(doc) = Document::parse(&fixed.text)
    {
        facts = lint_with_keys(&doc).1;
    }
    Outcome::Linted(Linted {
        text: text.to_string(),
        findings,
        planned,
        fix,
        repo: facts,
    })
}

/// A finding whose fixes were not planned.
fn unplanned(finding: engine::Finding) -> Finding {
    Finding {
        finding,
        fix: None,
        alternatives: Vec::new(),
    }
}

fn fix_linted(
    text: &str,
    findings: &[Finding],
    allowed: Safety,
    lint: &dyn Fn(&Document<'_>) -> Vec<Finding>,
) -> FixResult {
    if !findings.iter().any(|f| f.fix_edits(allowed).is_some()) {
        return FixResult::NotFixed;
    }
    match fix::fix_linted_with(text, findings, allowed, lint) {
        Ok(fixed) if fixed.text == text => FixResult::NotFixed,
        Ok(fixed) => FixResult::Fixed(fixed),
        Err(e) => FixResult::Refused(e),
    }
}

fn not_a_domain(doc: &Document<'_>) -> String {
    let root = doc.root().tag_name();
    let shown = match root.namespace() {
        Some(ns) => format!("<{}> in namespace {ns}", root.name()),
        None => format!("<{}>", root.name()),
    };
    format!("not a libvirt domain (root element is {shown})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load_builtin;

    const HPET_OFF: &str = "<domain type='kvm'>\n  <name>w</name>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n  <clock offset='localtime'>\n    <timer name='hpet' present='no'/>\n  </clock>\n</domain>\n";

    #[test]
    fn lint_only_plans_and_applies_nothing() {
        let rules = load_builtin().unwrap();
        let Outcome::Linted(linted) = check_text(HPET_OFF, &rules, Options::LINT) else {
            panic!("not linted");
        };
        assert!(!linted.findings.is_empty());
        assert!(!linted.planned);
        assert!(
            linted
                .findings
                .iter()
                .all(|f| f.fix.is_none() && f.alternatives.is_empty())
        );
        let Outcome::Linted(planned) = check_text(HPET_OFF, &rules, Options::PLAN) else {
            panic!("not linted");
        };
        assert!(planned.planned && planned.findings.iter().any(|f| f.fix.is_some()));
        assert!(matches!(planned.fix, FixResult::NotFixed));
        assert!(matches!(linted.fix, FixResult::NotFixed));
        assert_eq!(linted.final_text(), HPET_OFF);
    }

    #[test]
    fn fixing_gives_the_fixed_text_and_what_remains() {
        let rules = load_builtin().unwrap();
        let Outcome::Linted(linted) =
            check_bytes(HPET_OFF.as_bytes(), &rules, Options::fix(Safety::Unsafe))
        else {
            panic!("not linted");
        };
        let fixed = linted.fixed().expect("fixed");
        assert!(
            fixed.text.contains("<stimer state='on'/>"),
            "{}",
            fixed.text
        );
        assert!(linted.remaining().is_empty());
        // The fixed text is a fixed point.
        let Outcome::Linted(again) = check_text(&fixed.text, &rules, Options::fix(Safety::Unsafe))
        else {
            panic!("fixed text does not lint");
        };
        assert!(matches!(again.fix, FixResult::NotFixed));
    }

    #[test]
    fn other_documents_are_skipped_and_broken_ones_invalid() {
        let rules = load_builtin().unwrap();
        assert!(matches!(
            check_text("<network/>", &rules, Options::LINT),
            Outcome::Skipped { .. }
        ));
        let dbus = "<?xml version=\"1.0\"?>\n<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n<busconfig/>\n";
        match check_text(dbus, &rules, Options::LINT) {
            Outcome::Skipped { reason } => {
                assert_eq!(reason, "not a libvirt domain (root element is <busconfig>)")
            }
            other => panic!("{other:?}"),
        }
        match check_text(
            "<!-- x -->\n<!DOCTYPE domain>\n<domain/>",
            &rules,
            Options::LINT,
        ) {
            Outcome::Invalid(invalid) => {
                assert_eq!(invalid.position, Some(Position { line: 2, column: 1 }))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            check_bytes(b"<domain>\xff</domain>", &rules, Options::LINT),
            Outcome::Invalid(Invalid { text: None, .. })
        ));
    }
}
