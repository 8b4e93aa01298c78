//! The whole pipeline over one input, with the invariants every input must keep: decode,
//! parse, lint, report, plan every fix, fix (safe and unsafe) and fix again. Shared by the
//! robustness tests, the regression inputs in `tests/regressions/` and the cargo-fuzz
//! target (`fuzz/`, which includes this file by path), so a crash the fuzzer finds is
//! replayed by exactly the same code in `cargo test`.
//!
//! Only `virt_lint` and `std` are used here, so the fuzz crate needs no other dependency.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use virt_lint::document::Document;
use virt_lint::engine;
use virt_lint::fix::{PlannedFinding, edit::Edit};
use virt_lint::pipeline::{self, FixResult, Options, Outcome};
use virt_lint::report::machine::{FileReport, RunReport};
use virt_lint::report::{
    FileFindings, concise, github, gitlab, json, junit, sarif, text::TextEmitter,
};
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

/// How far one input got, for the tests that check their generators reach the linter
/// and the fixer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
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

impl Reach {
    pub fn add(&mut self, other: Reach) {
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
pub fn check_bytes(bytes: &[u8], rule_sets: &[RuleSet]) -> Reach {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Still through the library, which must report it, not panic.
        for rules in rule_sets {
            let outcome = pipeline::check_bytes(bytes, rules, Options::fix(Safety::Unsafe));
            assert!(matches!(outcome, Outcome::Invalid(_)), "{outcome:?}");
        }
        return Reach::default();
    };
    let mut total = Reach::default();
    for rules in rule_sets {
        total.add(check_text(text, rules));
    }
    total
}

/// Run `text` through the library pipeline (as the command line does) with `rules`, safe
/// then unsafe fixes. Panics when an invariant breaks:
///
/// * findings point inside the text, at character boundaries;
/// * every report format renders;
/// * every planned fix (and alternative) has sorted, non-overlapping edits inside the
///   text, at character boundaries, and applying them keeps every byte outside them;
/// * a fix that is accepted gives a document that parses and is still a domain, whose
///   remaining findings are those of a fresh lint, and fixing it again changes nothing.
pub fn check_text(text: &str, rules: &RuleSet) -> Reach {
    let mut reach = Reach::default();
    for safety in [Safety::Safe, Safety::Unsafe] {
        let linted = match pipeline::check_text(text, rules, Options::fix(safety)) {
            Outcome::Invalid(invalid) => {
                assert!(!invalid.message.is_empty());
                return reach;
            }
            Outcome::Skipped { reason } => {
                assert!(!reason.is_empty());
                reach.parsed = true;
                return reach;
            }
            Outcome::Linted(linted) => linted,
        };
        reach.parsed = true;
        reach.domain = true;
        if safety == Safety::Safe {
            reach.findings = linted.findings.len();
            for finding in &linted.findings {
                check_range(text, &finding.range, &finding.rule_id);
                assert!(finding.position.line >= 1 && finding.position.column >= 1);
                for planned in finding.fix.iter().chain(&finding.alternatives) {
                    match &planned.edits {
                        Ok(edits) => {
                            reach.planned += 1;
                            check_edits(text, edits, &finding.rule_id);
                        }
                        Err(reason) => {
                            reach.plan_refused += 1;
                            assert!(!reason.is_empty(), "{}: empty refusal", finding.rule_id);
                        }
                    }
                }
            }
            render_reports(text, &linted.findings, rules, true);
        }
        let fixed = match &linted.fix {
            FixResult::NotFixed => continue,
            FixResult::Refused(e) => {
                assert!(!e.message.is_empty());
                reach.fix_refused += 1;
                continue;
            }
            FixResult::Fixed(fixed) => fixed,
        };
        assert!(
            !fixed.applied.is_empty(),
            "{safety:?}: fixed without applying a fix"
        );
        reach.fixed += 1;
        let fixed_doc = Document::parse(&fixed.text).unwrap_or_else(|e| {
            panic!(
                "{safety:?}: fixed text does not parse ({e}):\n{}",
                fixed.text
            )
        });
        assert!(
            engine::is_domain(&fixed_doc),
            "{safety:?}: the fix turned the document into something else:\n{}",
            fixed.text
        );
        drop(fixed_doc);
        render_reports(&fixed.text, &fixed.findings, rules, false);
        let _ = virt_lint::diff::unified("input.xml", text, &fixed.text);
        match pipeline::check_text(&fixed.text, rules, Options::fix(safety)) {
            Outcome::Linted(again) => {
                assert_eq!(
                    ids(&again.findings),
                    ids(&fixed.findings),
                    "{safety:?}: the fixer's remaining findings differ from a fresh lint"
                );
                assert!(
                    matches!(again.fix, FixResult::NotFixed),
                    "{safety:?}: fixing is not idempotent: {:?}",
                    again.fix
                );
            }
            other => panic!("{safety:?}: the fixed text does not lint: {other:?}"),
        }
    }
    reach
}

fn ids(findings: &[PlannedFinding]) -> Vec<(&str, usize)> {
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
    let out = virt_lint::fix::edit::apply(text, edits)
        .unwrap_or_else(|e| panic!("{rule}: planned edits do not apply: {e}"));
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

/// The output formats over these findings (into memory); the machine formats only with
/// `machine`. SARIF (which describes every rule of the run, ten times the cost of a lint)
/// is left to [`render_sarif`].
fn render_reports(text: &str, findings: &[PlannedFinding], rules: &RuleSet, machine: bool) {
    let file = FileFindings {
        name: "input.xml",
        text,
        findings,
    };
    let mut sink: Vec<u8> = Vec::new();
    TextEmitter::new(false)
        .emit(&mut sink, &file)
        .expect("writing to memory");
    TextEmitter::new(true)
        .emit(&mut sink, &file)
        .expect("writing to memory");
    concise::emit(&mut sink, &file, false).expect("writing to memory");
    if !machine || findings.is_empty() {
        return;
    }
    let run = RunReport {
        files: vec![FileReport {
            name: "input.xml",
            text,
            findings,
            rules,
        }],
        errors: Vec::new(),
    };
    json::emit(&mut sink, &run).expect("writing to memory");
    github::emit(&mut sink, &run).expect("writing to memory");
    gitlab::emit(&mut sink, &run).expect("writing to memory");
    junit::emit(&mut sink, &run).expect("writing to memory");
}

/// SARIF over the findings of `text` (planned, as for the other formats).
pub fn render_sarif(text: &str, rules: &RuleSet) {
    if let Outcome::Linted(linted) = pipeline::check_text(text, rules, Options::PLAN) {
        let run = RunReport {
            files: vec![FileReport {
                name: "input.xml",
                text,
                findings: &linted.findings,
                rules,
            }],
            errors: Vec::new(),
        };
        sarif::emit(&mut Vec::new(), &run).expect("writing to memory");
    }
}
