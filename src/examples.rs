//! Running the examples a rule carries: a `fires` example must produce the rule's finding,
//! a `passes` example must not, and a `fixed` text must be what the rule's fix produces.
//! `cargo test` runs them for the built-in rules; `virt-lint test-rules` for a user's.

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
    for rule in rules.rules.iter().filter(|r| select(r)) {
        let alone = RuleSet {
            rules: vec![rule.clone()],
            definitions: rules.definitions.clone(),
        };
        for (i, example) in rule.examples.iter().enumerate() {
            results.push(ExampleResult {
                rule_id: rule.id.clone(),
                index: i + 1,
                kind: example.kind,
                origin: format!("{}:{}", rule.origin.file, example.line),
                failure: check(&alone, example.kind, &example.xml, example.fixed.as_deref()).err(),
            });
        }
    }
    results
}

fn check(alone: &RuleSet, kind: ExampleKind, xml: &str, fixed: Option<&str>) -> Result<(), String> {
    let options = match fixed {
        Some(_) => Options::fix(Safety::Unsafe),
        None => Options::LINT,
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
