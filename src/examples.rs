//! Running the examples a rule carries: a `fires` example must produce the rule's finding,
//! a `passes` example must not, and a `fixed` text must be what the rule's fix produces.
//! Whether or not it has a `fixed` text, each fix of a firing example (and each
//! alternative) must be offered, give a well-formed domain and remove its finding; a
//! `fixed` text equal to the example declares that the fix is refused there.
//! `cargo test` runs them for the built-in rules; `virt-lint test-rules` for a user's.

use crate::fix::{PlannedFinding, edit};
use crate::pipeline::{self, FixResult, Options, Outcome};
use crate::rules::{ExampleKind, Rule, RuleSet, Safety};

/// The verdict on one example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleResult {
    pub rule_id: String,
    /// 1-based index among the rule's examples.
    pub index: usize,
    pub kind: ExampleKind,
    /// Where the example is written (`file:line`).
    pub origin: String,
    /// `None` when the example behaves as declared.
    pub failure: Option<String>,
}

/// Run every example of the rules `select` accepts, each against its rule alone.
pub fn run(rules: &RuleSet, select: impl Fn(&Rule) -> bool) -> Vec<ExampleResult> {
    let mut results = Vec::new();
    for (index, rule) in rules.rules.iter().enumerate().filter(|(_, r)| select(r)) {
        let alone = rules.only(index);
        for (i, example) in rule.examples.iter().enumerate() {
            results.push(ExampleResult {
                rule_id: rule.id.clone(),
                index: i + 1,
                kind: example.kind,
                origin: format!("{}:{}", rule.origin().file, example.line),
                failure: if rule.repo.is_some() {
                    check_repo(&alone, example.kind, &example.xml)
                } else {
                    check(&alone, example.kind, &example.xml, example.fixed.as_deref())
                }
                .err(),
            });
        }
    }
    results
}

/// A repository rule's example holds several `<domain>` documents; a `fires` example must
/// produce a finding in at least one of them.
fn check_repo(alone: &RuleSet, kind: ExampleKind, xml: &str) -> Result<(), String> {
    let docs = crate::repo::split_documents(xml)?;
    if docs.len() < 2 {
        return Err(format!(
            "a repository rule's example needs two or more <domain> documents; it has {}",
            docs.len()
        ));
    }
    let names: Vec<String> = (1..=docs.len()).map(|i| format!("document {i}")).collect();
    let texts: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(docs).collect();
    let findings = crate::repo::check_texts(alone, &texts)?;
    match kind {
        ExampleKind::Fires if findings.is_empty() => {
            Err("expected the rule to fire; it did not".into())
        }
        ExampleKind::Passes if !findings.is_empty() => Err(format!(
            "expected no finding; got: {}",
            findings
                .iter()
                .map(|f| format!("{} at {}", names[f.doc], f.position))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => Ok(()),
    }
}

fn check(alone: &RuleSet, kind: ExampleKind, xml: &str, fixed: Option<&str>) -> Result<(), String> {
    let options = match (kind, fixed) {
        (_, Some(_)) => Options::fix(Safety::Unsafe),
        (ExampleKind::Fires, None) => Options::PLAN,
        (ExampleKind::Passes, None) => Options::LINT,
    };
    let linted = match pipeline::check_text(xml, alone, options) {
        Outcome::Linted(linted) => linted,
        Outcome::Skipped { .. } => return Err("the example's root element is not <domain>".into()),
        Outcome::Invalid(e) => {
            return Err(match e.position {
                Some(p) => format!("the example is not well-formed XML ({p}: {})", e.message),
                None => format!("the example is not usable XML ({})", e.message),
            });
        }
    };
    let findings = &linted.findings;
    match kind {
        ExampleKind::Fires if findings.is_empty() => {
            return Err("expected the rule to fire; it did not".into());
        }
        ExampleKind::Passes if !findings.is_empty() => {
            return Err(format!(
                "expected no finding; got {} at {}",
                findings.len(),
                findings
                    .iter()
                    .map(|f| f.position.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        _ => {}
    }
    if kind == ExampleKind::Fires {
        // A `fixed:` text equal to the example declares that the fix is refused here.
        let refusal_expected = fixed == Some(xml);
        check_each_fix(xml, alone, findings, refusal_expected)?;
    }
    if let Some(expected) = fixed {
        let result = match &linted.fix {
            FixResult::Refused(e) => return Err(format!("fixing failed: {e}")),
            _ => linted.final_text(),
        };
        if result != expected {
            return Err(format!(
                "the fix produced a different text:\n{}",
                crate::diff::unified("expected", expected, result)
            ));
        }
    }
    Ok(())
}

/// Every fix of a firing example, the main one and each alternative, applied alone to
/// each finding: it must be offered (unless `refusal_expected`), give a well-formed
/// domain, and remove its finding.
fn check_each_fix(
    xml: &str,
    alone: &RuleSet,
    findings: &[PlannedFinding],
    refusal_expected: bool,
) -> Result<(), String> {
    for finding in findings {
        let fixes = finding
            .fix
            .iter()
            .map(|f| ("fix", f))
            .chain(finding.alternatives.iter().map(|f| ("alternative fix", f)));
        for (what, fix) in fixes {
            let name = format!("the {what} \"{}\" (at {})", fix.title, finding.position);
            let edits = match &fix.edits {
                Ok(edits) => edits,
                Err(_) if refusal_expected => continue,
                Err(reason) => {
                    return Err(format!(
                        "{name} is not offered: {reason} (if that is intended, give the \
                         example a `fixed:` text equal to it)"
                    ));
                }
            };
            let fixed =
                edit::apply(xml, edits).map_err(|e| format!("{name} cannot be applied: {e}"))?;
            let after = match pipeline::check_text(&fixed, alone, Options::LINT) {
                Outcome::Linted(after) => after,
                Outcome::Skipped { reason } => {
                    return Err(format!("{name} leaves no libvirt domain ({reason})"));
                }
                Outcome::Invalid(e) => {
                    let at = e.position.map(|p| format!("{p}: ")).unwrap_or_default();
                    return Err(format!(
                        "{name} gives malformed XML ({at}{}):\n{}",
                        e.message,
                        indent(&fixed)
                    ));
                }
            };
            if after.findings.len() >= findings.len() {
                return Err(format!(
                    "{name} does not remove its finding; the fixed text:\n{}",
                    indent(&fixed)
                ));
            }
        }
    }
    Ok(())
}

/// `text` indented by four spaces, without a trailing newline.
fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
