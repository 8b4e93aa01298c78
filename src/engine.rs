//! The linter proper: every enabled rule over one parsed document, yielding findings
//! (with their planned fixes) in a deterministic order.

use std::ops::Range;

use crate::document::{Document, Position, start_tag_range};
use crate::fix::edit::Edit;
use crate::fix::plan;
use crate::rules::{FixSpec, Rule, RuleSet, Safety, Severity};
use crate::selector::Item;
use crate::style::Style;

/// One rule firing at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Index of the rule in the [`RuleSet`].
    pub rule: usize,
    pub rule_id: String,
    pub severity: Severity,
    pub message: String,
    /// What the finding points at (an element's start tag, an attribute, a text node).
    pub range: Range<usize>,
    pub position: Position,
    /// The rule's fix, planned for this place; `None` when the rule has no fix.
    pub fix: Option<PlannedFix>,
    pub alternatives: Vec<PlannedFix>,
}

/// A fix made concrete for one finding: edits, or the reason none is offered.
#[derive(Debug, Clone)]
pub struct PlannedFix {
    pub title: String,
    pub safety: Safety,
    pub edits: Result<Vec<Edit>, String>,
}

impl PlannedFix {
    /// The edits, if the fix exists here and `allowed` permits its safety class.
    pub fn applicable(&self, allowed: Safety) -> Option<&[Edit]> {
        match &self.edits {
            Ok(edits) if self.safety >= allowed => Some(edits),
            _ => None,
        }
    }
}

impl Finding {
    pub fn fix_edits(&self, allowed: Safety) -> Option<&[Edit]> {
        self.fix.as_ref().and_then(|f| f.applicable(allowed))
    }
}

/// Whether the document is a libvirt domain (the only kind virt-lint lints).
pub fn is_domain(doc: &Document<'_>) -> bool {
    let root = doc.root();
    root.tag_name().name() == "domain" && root.tag_name().namespace().is_none()
}

/// Run every rule of `rules` over `doc`. Findings come sorted by position, then rule id.
pub fn lint(doc: &Document<'_>, rules: &RuleSet) -> Vec<Finding> {
    let root = doc.root();
    let mut findings = Vec::new();
    let mut style: Option<Style> = None;
    for (index, rule) in rules.rules.iter().enumerate() {
        if rule.repo.is_some() {
            continue;
        }
        let contexts: Vec<roxmltree::Node> = match &rule.for_each {
            Some(selector) => selector
                .select(root)
                .into_iter()
                .filter_map(|item| match item {
                    Item::Node(n) if n.is_element() => Some(n),
                    _ => None,
                })
                .collect(),
            None => vec![root],
        };
        for ctx in contexts {
            if !rule.when.eval(ctx, &rules.definitions) {
                continue;
            }
            let style = style.get_or_insert_with(|| Style::detect(doc.text, &doc.tree));
            findings.push(finding(doc, index, rule, ctx, style));
        }
    }
    findings.sort_by(|a, b| (a.range.start, &a.rule_id).cmp(&(b.range.start, &b.rule_id)));
    findings
}

fn finding(
    doc: &Document<'_>,
    index: usize,
    rule: &Rule,
    ctx: roxmltree::Node<'_, '_>,
    style: &Style,
) -> Finding {
    let target = rule
        .report_at
        .iter()
        .find_map(|s| s.select(ctx).into_iter().next())
        .unwrap_or(Item::Node(ctx));
    let range = match target {
        Item::Node(n) if n.is_element() => start_tag_range(n),
        other => other.range(),
    };
    let planned = |spec: &FixSpec| PlannedFix {
        title: spec.title.clone(),
        safety: spec.safety,
        edits: plan::plan(spec, ctx, style),
    };
    Finding {
        rule: index,
        rule_id: rule.id.clone(),
        severity: rule.severity,
        message: rule.message.render(ctx),
        position: doc.position(range.start),
        range,
        fix: rule.fix.as_ref().map(planned),
        alternatives: rule.alternatives.iter().map(planned).collect(),
    }
}
