//! The fixer: apply every non-overlapping fix of a file in one pass, re-parse, re-lint,
//! repeat (at most [`MAX_PASSES`]); then verify the result before anyone writes it.

pub mod edit;
pub mod placement;
mod placement_table;
pub mod plan;
pub mod validate;

use std::collections::HashMap;
use std::fmt;

use crate::document::Document;
use crate::engine;
use crate::rules::{RuleSet, Safety};

use edit::Edit;
pub use plan::{PlannedFinding, PlannedFix, plan_findings};

/// ESLint's cap: enough for dependency chains, small enough to stop a runaway quickly.
pub const MAX_PASSES: usize = 10;

/// How much fixes may grow a text: by its own length, or by this many bytes if that is
/// more. Real fixes add a few elements; a rule that adds to every element (`for-each:
/// "//*"` with `ensure`) would otherwise multiply the file at each pass.
pub const MAX_GROWTH: usize = 64 * 1024;

/// The result of fixing one text.
#[derive(Debug, Clone)]
pub struct Fixed {
    pub text: String,
    /// Rule ids whose fixes were applied, once per applied fix, in application order.
    pub applied: Vec<String>,
    /// How many fix passes ran.
    pub passes: usize,
    /// The findings of the fixed text (what remains), with their fixes planned.
    pub findings: Vec<PlannedFinding>,
}

/// Why a text's fixes were not accepted. The file must then stay untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixError {
    pub message: String,
}

impl fmt::Display for FixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Pick the fixes of one pass: in position order, skipping any fix whose edits conflict
/// with one already taken (it gets its turn in the next pass).
pub fn select_fixes(findings: &[PlannedFinding], allowed: Safety) -> (Vec<Edit>, Vec<String>) {
    let mut taken: Vec<Edit> = Vec::new();
    let mut rules = Vec::new();
    for finding in findings {
        let Some(edits) = finding.fix_edits(allowed) else {
            continue;
        };
        if edits
            .iter()
            .any(|e| taken.iter().any(|t| t.conflicts_with(e)))
        {
            continue;
        }
        taken.extend(edits.iter().cloned());
        rules.push(finding.rule_id.clone());
    }
    (taken, rules)
}

/// Fix `text` (a parsed domain) with the fixes `allowed` permits.
pub fn fix_text(text: &str, rules: &RuleSet, allowed: Safety) -> Result<Fixed, FixError> {
    let original = Document::parse(text).map_err(|e| FixError {
        message: e.to_string(),
    })?;
    let findings = plan_findings(&original, rules, engine::lint(&original, rules));
    fix_linted(text, &findings, rules, allowed)
}

/// [`fix_text`] for a text already linted: `original_findings` are `rules`' findings on it,
/// with their fixes planned ([`plan_findings`]).
pub fn fix_linted(
    text: &str,
    original_findings: &[PlannedFinding],
    rules: &RuleSet,
    allowed: Safety,
) -> Result<Fixed, FixError> {
    fix_linted_with(text, original_findings, allowed, &|doc| {
        plan_findings(doc, rules, engine::lint(doc, rules))
    })
}

/// [`fix_linted`] with the caller's linter (the engine plus inline suppressions, say):
/// `lint` gives the findings of each pass's text.
pub fn fix_linted_with(
    text: &str,
    original_findings: &[PlannedFinding],
    allowed: Safety,
    lint: &dyn Fn(&Document<'_>) -> Vec<PlannedFinding>,
) -> Result<Fixed, FixError> {
    let mut current = text.to_string();
    let mut findings = original_findings.to_vec();
    let mut applied: Vec<String> = Vec::new();
    // Every text seen, with the pass that produced it (0 = the original), and the rules
    // each pass applied: a repeat names every rule of the cycle.
    let mut seen: HashMap<String, usize> = HashMap::from([(current.clone(), 0)]);
    let mut rules_per_pass: Vec<Vec<String>> = Vec::new();
    let mut passes = 0;
    loop {
        let (edits, pass_rules) = select_fixes(&findings, allowed);
        if edits.is_empty() {
            break;
        }
        if passes == MAX_PASSES {
            return Err(FixError {
                message: format!(
                    "fixes did not converge after {MAX_PASSES} passes (rules still fixing: {}); nothing was written",
                    dedup(&pass_rules).join(", ")
                ),
            });
        }
        passes += 1;
        let next = edit::apply(&current, &edits).map_err(|message| FixError {
            message: format!("{message}; nothing was written"),
        })?;
        if next.len().saturating_sub(text.len()) > text.len().max(MAX_GROWTH) {
            return Err(FixError {
                message: format!(
                    "fixes keep growing the file ({} bytes after pass {passes}, from {}; rules: {}); nothing was written",
                    next.len(),
                    text.len(),
                    dedup(&pass_rules).join(", ")
                ),
            });
        }
        rules_per_pass.push(pass_rules.clone());
        if let Some(&first) = seen.get(&next) {
            let involved: Vec<String> = rules_per_pass[first..].concat();
            return Err(FixError {
                message: format!(
                    "fixes undo each other (rules {}); the text repeats after pass {passes}; nothing was written",
                    dedup(&involved).join(", ")
                ),
            });
        }
        seen.insert(next.clone(), passes);
        let doc = Document::parse(&next).map_err(|e| FixError {
            message: format!(
                "the fixes of {} would produce malformed XML ({e}); nothing was written",
                dedup(&pass_rules).join(", ")
            ),
        })?;
        findings = lint(&doc);
        applied.extend(pass_rules);
        drop(doc);
        current = next;
    }
    if applied.is_empty() {
        return Ok(Fixed {
            text: current,
            applied,
            passes,
            findings,
        });
    }
    verify(text, &current, original_findings, &findings, &applied)?;
    Ok(Fixed {
        text: current,
        applied,
        passes,
        findings,
    })
}

/// The checks before anything is written: no comment lost, no second instance of an
/// element libvirt allows once, every fixed finding gone. (That the result parses was
/// checked at each pass.)
fn verify(
    before: &str,
    after: &str,
    findings_before: &[PlannedFinding],
    findings_after: &[PlannedFinding],
    applied: &[String],
) -> Result<(), FixError> {
    fn parse(text: &str) -> Result<roxmltree::Document<'_>, FixError> {
        roxmltree::Document::parse(text).map_err(|e| FixError {
            message: format!("the fixed text does not parse ({e}); nothing was written"),
        })
    }
    let (old, new) = (parse(before)?, parse(after)?);
    let comments = |doc: &roxmltree::Document| -> Vec<String> {
        let mut list: Vec<String> = doc
            .descendants()
            .filter(|n| n.is_comment())
            .map(|n| n.text().unwrap_or_default().to_string())
            .collect();
        list.sort();
        list
    };
    let mut remaining = comments(&new);
    for comment in &comments(&old) {
        match remaining.iter().position(|c| c == comment) {
            Some(i) => {
                remaining.remove(i);
            }
            None => {
                return Err(FixError {
                    message: format!(
                        "a fix would drop the comment <!--{comment}-->; nothing was written"
                    ),
                });
            }
        }
    }
    let surplus_before = surplus(&old);
    for ((parent, child), count) in surplus(&new) {
        if count
            > surplus_before
                .get(&(parent.clone(), child))
                .copied()
                .unwrap_or(0)
        {
            let parent_name = parent.rsplit('/').next().unwrap_or(&parent);
            return Err(FixError {
                message: format!(
                    "the fixes of {} would add a second <{child}> to <{parent_name}>, where libvirt allows one; nothing was written",
                    dedup(applied).join(", ")
                ),
            });
        }
    }
    for rule in dedup(applied) {
        let count = |list: &[PlannedFinding]| list.iter().filter(|f| f.rule_id == rule).count();
        // A rule may only start firing after another rule's fix (and then be fixed in a
        // later pass): what matters is that its findings did not survive or multiply.
        let after = count(findings_after);
        if after > 0 && after >= count(findings_before) {
            return Err(FixError {
                message: format!(
                    "the fix for {rule} did not remove its finding; nothing was written"
                ),
            });
        }
    }
    Ok(())
}

/// Per (parent path, child name) that libvirt allows once under that parent: how many
/// instances beyond the first the document holds, summed over all such parents.
fn surplus(doc: &roxmltree::Document<'_>) -> HashMap<(String, &'static str), usize> {
    let mut out = HashMap::new();
    for element in doc.descendants().filter(|n| n.is_element()) {
        let Some(table) = placement::table_of(element) else {
            continue;
        };
        for child in table.children.iter().filter(|c| c.once) {
            let count = element
                .children()
                .filter(|c| {
                    c.is_element()
                        && c.tag_name().namespace().is_none()
                        && c.tag_name().name() == child.name
                })
                .count();
            if count > 1 {
                let path = placement::path_of(element).unwrap_or_default();
                *out.entry((path, child.name)).or_insert(0) += count - 1;
            }
        }
    }
    out
}

fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in list {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_rejects_a_second_single_element() {
        let before = "<domain><features><hyperv/></features><devices><disk/></devices></domain>";
        let applied = ["r".to_string()];
        let err = verify(
            before,
            "<domain><features><hyperv/><hyperv mode='custom'/></features><devices><disk/></devices></domain>",
            &[],
            &[],
            &applied,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "the fixes of r would add a second <hyperv> to <features>, where libvirt allows one; nothing was written"
        );
        let err = verify(
            before,
            "<domain><features><hyperv/></features><devices><disk/></devices><devices/></domain>",
            &[],
            &[],
            &applied,
        )
        .unwrap_err();
        assert!(
            err.message.contains("second <devices> to <domain>"),
            "{err}"
        );
    }

    #[test]
    fn verification_accepts_repeatable_elements_and_duplicates_already_there() {
        let before = "<domain><os/><os/><devices><disk/></devices></domain>";
        let after = "<domain><os/><os/><devices><disk/><disk/></devices></domain>";
        assert_eq!(verify(before, after, &[], &[], &[]), Ok(()));
    }
}
