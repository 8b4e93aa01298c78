//! The whole pipeline over one input, with the invariants every input must keep: decode,
//! parse, lint, report, plan every fix, fix (safe and unsafe) and fix again. Shared by the
//! robustness tests, the regression inputs in `tests/regressions/` and the cargo-fuzz
//! target (`fuzz/`, which includes this file by path), so a crash the fuzzer finds is
//! replayed by exactly the same code in `cargo test`.
//!
//! Only `virt_lint` and `std` are used here, so the fuzz crate needs no other dependency.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use virt_lint::document::{Document, decode};
use virt_lint::engine::{self, Finding};
use virt_lint::fix::{self, edit::Edit};
use virt_lint::report::{FileFindings, concise, text::TextEmitter};
use virt_lint::rules::{RuleSet, Safety, load_builtin, load_rule_sets};

/// The rule pack that uses every edit kind (relative to the repository root).
pub const EVERY_EDIT_PACK: &str = "tests/fuzz-rules/every-edit.yaml";

/// A domain with something for every kind of selector target: a declaration, comments
/// before and inside the root, text, attributes, nested features, a clock and devices.
pub const RICH_DOMAIN: &str = "<?xml version='1.0'?>\n<!-- before -->\n<domain type='kvm'>\n  <name>guest</name>\n  <description>a &amp; b</description>\n  <!-- inside -->\n  <features>\n    <hyperv mode='custom'>\n      <stimer state='on'><direct state='on'/></stimer>\n    </hyperv>\n  </features>\n  <clock offset='utc'>\n    <timer name='hpet' present='no'/>\n  </clock>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu'/>\n      <target dev='vda'/>\n      <address type='pci'/>\n    </disk>\n    <input type='tablet' bus='usb'/>\n  </devices>\n</domain>\n";

/// The built-in rules, and the built-in rules plus [`EVERY_EDIT_PACK`]. `root` is the
/// repository's root folder.
pub fn rule_sets(root: &Path) -> [RuleSet; 2] {
    let builtin = load_builtin().expect("built-in rules load");
    let pack: PathBuf = root.join(EVERY_EDIT_PACK);
    let with_pack = load_rule_sets(&[pack]).unwrap_or_else(|e| {
        panic!(
            "{EVERY_EDIT_PACK} does not load: {}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    [builtin, with_pack]
}

/// What happened to one input, for the tests that check their generators reach the
/// linter and the fixer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The bytes were UTF-8 and parsed as XML.
    pub parsed: bool,
    /// The root was a `<domain>`.
    pub domain: bool,
    pub findings: usize,
    /// Findings with a planned fix (edits, at any safety).
    pub planned: usize,
    /// Findings whose fix was refused while planning (a reason instead of edits).
    pub plan_refused: usize,
    /// Fix runs (safe, unsafe) that applied at least one fix.
    pub fixed: usize,
    /// Fix runs that were refused as a whole (cycle, malformed result, lost comment...).
    pub fix_refused: usize,
}

impl Outcome {
    pub fn add(&mut self, other: Outcome) {
        self.parsed |= other.parsed;
        self.domain |= other.domain;
        self.findings += other.findings;
        self.planned += other.planned;
        self.plan_refused += other.plan_refused;
        self.fixed += other.fixed;
        self.fix_refused += other.fix_refused;
    }
}

/// Run `bytes` through the pipeline with each rule set. Panics when an invariant breaks.
pub fn check_bytes(bytes: &[u8], rule_sets: &[RuleSet]) -> Outcome {
    let Ok(text) = decode(bytes.to_vec()) else {
        return Outcome::default();
    };
    let mut total = Outcome::default();
    for rules in rule_sets {
        total.add(check_text(&text, rules));
    }
    total
}

/// Run `text` through the pipeline with `rules`. Panics when an invariant breaks:
///
/// * findings point inside the text, at character boundaries;
/// * the text and concise reports render;
/// * every planned fix (and alternative) has sorted, non-overlapping edits inside the
///   text, at character boundaries, and applying them keeps every byte outside them;
/// * a fix that is accepted gives a document that parses and is still a domain, whose
///   reported findings are those of a fresh lint, and fixing it again changes nothing.
pub fn check_text(text: &str, rules: &RuleSet) -> Outcome {
    let mut outcome = Outcome::default();
    let Ok(doc) = Document::parse(text) else {
        return outcome;
    };
    outcome.parsed = true;
    if !engine::is_domain(&doc) {
        return outcome;
    }
    outcome.domain = true;
    let findings = engine::lint(&doc, rules);
    outcome.findings = findings.len();
    for finding in &findings {
        check_range(text, &finding.range, &finding.rule_id);
        assert!(finding.position.line >= 1 && finding.position.column >= 1);
        for planned in finding.fix.iter().chain(&finding.alternatives) {
            match &planned.edits {
                Ok(edits) => {
                    outcome.planned += 1;
                    check_edits(text, edits, &finding.rule_id);
                }
                Err(reason) => {
                    outcome.plan_refused += 1;
                    assert!(!reason.is_empty(), "{}: empty refusal", finding.rule_id);
                }
            }
        }
    }
    render_reports(text, &findings);
    drop(doc);

    for safety in [Safety::Safe, Safety::Unsafe] {
        let once = match fix::fix_linted(text, &findings, rules, safety) {
            Ok(once) => once,
            Err(e) => {
                assert!(!e.message.is_empty());
                outcome.fix_refused += 1;
                continue;
            }
        };
        if once.applied.is_empty() {
            assert_eq!(
                once.text, text,
                "{safety:?}: nothing applied, yet the text changed"
            );
            continue;
        }
        outcome.fixed += 1;
        let fixed_doc = Document::parse(&once.text).unwrap_or_else(|e| {
            panic!(
                "{safety:?}: fixed text does not parse ({e}):\n{}",
                once.text
            )
        });
        assert!(
            engine::is_domain(&fixed_doc),
            "{safety:?}: the fix turned the document into something else:\n{}",
            once.text
        );
        let fresh = engine::lint(&fixed_doc, rules);
        assert_eq!(
            ids(&fresh),
            ids(&once.findings),
            "{safety:?}: findings returned by the fixer differ from a fresh lint"
        );
        render_reports(&once.text, &once.findings);
        let _ = virt_lint::diff::unified("input.xml", text, &once.text);
        let twice = fix::fix_text(&once.text, rules, safety)
            .unwrap_or_else(|e| panic!("{safety:?}: fixing the fixed text was refused: {e}"));
        assert_eq!(
            twice.text, once.text,
            "{safety:?}: fixing is not idempotent"
        );
        assert!(
            twice.applied.is_empty(),
            "{safety:?}: second fix applied {:?}",
            twice.applied
        );
    }
    outcome
}

fn ids(findings: &[Finding]) -> Vec<(&str, usize)> {
    findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.range.start))
        .collect()
}

fn check_range(text: &str, range: &std::ops::Range<usize>, rule: &str) {
    assert!(
        range.start <= range.end
            && range.end <= text.len()
            && text.is_char_boundary(range.start)
            && text.is_char_boundary(range.end),
        "{rule}: range {range:?} is not a span of the {}-byte text",
        text.len()
    );
}

/// Edits are sorted, disjoint, inside the text; applying them keeps every other byte.
fn check_edits(text: &str, edits: &[Edit], rule: &str) {
    assert!(!edits.is_empty(), "{rule}: a planned fix without edits");
    let mut last = 0;
    for edit in edits {
        check_range(text, &edit.range, rule);
        assert!(
            edit.range.start >= last,
            "{rule}: edits overlap or are unsorted: {edits:?}"
        );
        last = edit.range.end;
    }
    let out = fix::edit::apply(text, edits);
    let mut pos = 0;
    let mut from = 0;
    for edit in edits {
        let kept = &text[from..edit.range.start];
        assert_eq!(
            &out[pos..pos + kept.len()],
            kept,
            "{rule}: a byte outside the edits changed"
        );
        pos += kept.len();
        assert_eq!(&out[pos..pos + edit.content.len()], edit.content);
        pos += edit.content.len();
        from = edit.range.end;
    }
    assert_eq!(&out[pos..], &text[from..], "{rule}: the tail changed");
}

fn render_reports(text: &str, findings: &[Finding]) {
    let file = FileFindings {
        name: "input.xml",
        text,
        findings,
    };
    let mut sink: Vec<u8> = Vec::new();
    TextEmitter::new(false)
        .emit(&mut sink, &file)
        .expect("writing to memory");
    concise::emit(&mut sink, &file).expect("writing to memory");
}
