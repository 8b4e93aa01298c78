//! The linter proper: every enabled rule over one parsed document, yielding findings in a
//! deterministic order. The engine plans no fixes: that happens on demand, in
//! [`crate::fix::plan`], for the callers that show or apply them.

use std::ops::Range;

use crate::document::{Document, Position, start_tag_range};
use crate::rules::{Rule, RuleSet, Severity};
use crate::selector::Item;

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
    /// The node the rule was evaluated at (its `for-each` element, or `<domain>`): the
    /// rule's fix is planned relative to it. Only meaningful for the document linted.
    pub context: roxmltree::NodeId,
    /// Labelled secondary places ("first defined here"), in document order.
    pub related: Vec<Related>,
}

/// A secondary place of a finding, with what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub label: String,
    pub range: Range<usize>,
    pub position: Position,
    /// The document the place is in, when it is another one (a repository rule's other
    /// definition: its path or `URI/NAME`); `None` for the finding's own document.
    pub document: Option<String>,
}

/// Whether the document is a libvirt domain (the only kind virt-lint lints).
pub fn is_domain(doc: &Document<'_>) -> bool {
    let root = doc.root();
    root.tag_name().name() == "domain" && root.tag_name().namespace().is_none()
}

/// Run every enabled rule of `rules` over `doc`. Findings come sorted by position, then
/// rule id.
pub fn lint(doc: &Document<'_>, rules: &RuleSet) -> Vec<Finding> {
    lint_with(doc, rules, true)
}

/// [`lint`], optionally without its shortcuts (for the tests that check they lose
/// nothing): the prefilter that skips rules whose elements the document lacks, and the
/// element index through which selectors start from the few elements they name
/// ([`crate::selector::index`]). Without them every rule is evaluated by plain walks.
pub fn lint_with(doc: &Document<'_>, rules: &RuleSet, shortcuts: bool) -> Vec<Finding> {
    let root = doc.root();
    let _memo = crate::condition::memo::Document::start(root);
    let _index = shortcuts.then(|| crate::selector::index::Scope::start(root));
    // What the document has: which elements, looked up in the index at once; anything
    // else looked for (through the index) when a rule asks.
    let filter = shortcuts.then(|| rules.prefilter());
    let mut facts = filter.map(|f| {
        let mut facts = f.facts(root);
        facts.mark_elements();
        facts
    });
    let mut findings = Vec::new();
    // Every enabled rule, in order ([`RuleSet::enabled`]), less those the prefilter rules
    // out: first by the facts known already (most rules, told from the prefilter's own
    // compact lists without reading the rule), then by looking for more.
    for index in 0..rules.rules.len() {
        if !rules.is_selected(index) {
            continue;
        }
        if let (Some(filter), Some(facts)) = (filter, &facts)
            && filter.ruled_out(index, facts)
        {
            continue;
        }
        if !rules.is_enabled(index) {
            continue;
        }
        if let (Some(filter), Some(facts)) = (filter, &mut facts)
            && !filter.may_fire_looking_for(index, facts)
        {
            continue;
        }
        let rule = &rules.rules[index];
        if rule.repo.is_some() {
            continue;
        }
        let witnesses = filter
            .and_then(|f| f.has_witnesses(index))
            .unwrap_or_else(|| rule.when.has_witnesses(&rules.definitions));
        let mut run = |ctx: roxmltree::Node<'_, '_>| {
            if !witnesses {
                if rule.when.eval(ctx, &rules.definitions) {
                    findings.push(finding(doc, index, rule, ctx, &[]));
                }
                return;
            }
            let Some(found) = rule.when.witnesses(ctx, &rules.definitions) else {
                return;
            };
            if found.is_empty() {
                findings.push(finding(doc, index, rule, ctx, &[]));
            }
            for w in found {
                findings.push(finding(doc, index, rule, w.node, &w.related));
            }
        };
        match &rule.for_each {
            Some(selector) => selector.each_element(root, &mut run),
            None => run(root),
        }
    }
    findings.sort_by(|a, b| (a.range.start, &a.rule_id).cmp(&(b.range.start, &b.rule_id)));
    findings
}

/// The range a finding shows for `item`: an element's start tag, otherwise the item.
pub fn item_range(item: Item<'_, '_>) -> Range<usize> {
    match item {
        Item::Node(n) if n.is_element() => start_tag_range(n),
        other => other.range(),
    }
}

fn finding(
    doc: &Document<'_>,
    index: usize,
    rule: &Rule,
    ctx: roxmltree::Node<'_, '_>,
    related: &[(String, Item<'_, '_>)],
) -> Finding {
    let target = rule
        .report_at
        .iter()
        .find_map(|s| s.first(ctx))
        .unwrap_or(Item::Node(ctx));
    let range = item_range(target);
    Finding {
        rule: index,
        rule_id: rule.id.clone(),
        severity: rule.severity,
        message: rule.message.render(ctx),
        position: doc.position(range.start),
        range,
        context: ctx.id(),
        related: related
            .iter()
            .map(|(label, item)| {
                let range = item_range(*item);
                Related {
                    label: label.clone(),
                    position: doc.position(range.start),
                    range,
                    document: None,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::plan_findings;
    use crate::rules::load_builtin;

    const HPET_OFF: &str = "<domain type='kvm'>\n  <features>\n    <hyperv>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n  <clock offset='localtime'>\n    <timer name='hpet' present='no'/>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>\n";

    /// Every example of every built-in rule and every shipped fixture: the shortcuts
    /// (prefilter, element index) change no finding, message or related place; and the
    /// prefilter does skip (most rules need elements a typical guest lacks).
    #[test]
    fn prefilter_loses_no_finding() {
        let rules = crate::rules::load_documented(&[]).unwrap();
        let mut texts: Vec<String> = rules
            .rules
            .iter()
            .filter(|r| r.repo.is_none())
            .flat_map(|r| r.examples.iter().map(|e| e.xml.clone()))
            .collect();
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        let mut stack = vec![std::path::PathBuf::from(fixtures)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push(text);
                }
            }
        }
        let key = |f: Finding| {
            let related: Vec<_> = f.related.into_iter().map(|r| (r.label, r.range)).collect();
            (f.rule_id, f.range, f.message, related)
        };
        let (mut documents, mut findings) = (0, 0);
        let mut scans = std::collections::HashSet::new();
        for text in &texts {
            let Ok(doc) = Document::parse(text) else {
                continue;
            };
            let with: Vec<_> = lint_with(&doc, &rules, true).into_iter().map(key).collect();
            let without: Vec<_> = lint_with(&doc, &rules, false)
                .into_iter()
                .map(key)
                .collect();
            assert_eq!(with, without, "{text}");
            // The facts the prefilter looks for through the element index (as the
            // engine does), or by one pass when the document is not indexed, are those a
            // plain walk finds.
            let filter = rules.prefilter();
            let walked = filter.scan_walked(doc.root());
            assert_eq!(filter.scan(doc.root()), walked, "{text}");
            // Not indexed: one pass finds them all at the first fact asked for.
            let mut unindexed = filter.facts(doc.root());
            assert!(!unindexed.mark_elements());
            assert_eq!(unindexed.into_present(), walked, "{text}");
            let scope = crate::selector::index::Scope::start(doc.root());
            assert_eq!(filter.facts(doc.root()).into_present(), walked, "{text}");
            let mut marked = filter.facts(doc.root());
            assert!(marked.mark_elements());
            assert_eq!(marked.into_present(), walked, "{text}");
            // Rule by rule, what the facts looked for so far decide (as the engine looks
            // for them) is what all of them decide.
            let (mut lazy, mut full) = (filter.facts(doc.root()), filter.facts(doc.root()));
            lazy.mark_elements();
            full.learn_all();
            for i in 0..rules.rules.len() {
                assert_eq!(
                    filter.may_fire(i, &mut lazy),
                    filter.may_fire(i, &mut full),
                    "{} in {text}",
                    rules.rules[i].id
                );
            }
            drop(scope);
            scans.insert(format!("{walked:?}"));
            documents += 1;
            findings += with.len();
        }
        assert!(
            documents > 200 && findings > 200,
            "{documents} documents, {findings} findings"
        );
        // The scans compared above tell documents apart.
        assert!(scans.len() > 100, "{} distinct scans", scans.len());

        let doc = Document::parse(HPET_OFF).unwrap();
        let filter = rules.prefilter();
        let _scope = crate::selector::index::Scope::start(doc.root());
        let mut facts = filter.facts(doc.root());
        let skipped = (0..rules.rules.len())
            .filter(|&i| !filter.may_fire(i, &mut facts))
            .count();
        assert!(
            skipped * 2 > rules.rules.len(),
            "{skipped} of {} skipped",
            rules.rules.len()
        );
    }

    #[test]
    fn lint_plans_nothing_and_fixes_are_planned_on_demand() {
        let mut rules = load_builtin().unwrap();
        rules.select(|rule, _| rule.id == "windows/hpet-disabled-without-stimer");
        let doc = Document::parse(HPET_OFF).unwrap();
        let findings = lint(&doc, &rules);
        let ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, ["windows/hpet-disabled-without-stimer"]);
        let f = &findings[0];
        assert_eq!(f.context, doc.root().id());
        assert_eq!(
            &HPET_OFF[f.range.clone()],
            "<timer name='hpet' present='no'/>"
        );
        assert!(f.related.is_empty());
        let planned = plan_findings(&doc, &rules, findings);
        let fix = planned[0].fix.as_ref().unwrap();
        assert_eq!(fix.edits.as_ref().unwrap().len(), 1);
        assert_eq!(planned[0].alternatives.len(), 1);
        assert_eq!(planned[0].rule_id, "windows/hpet-disabled-without-stimer");
    }

    #[test]
    fn only_enabled_rules_run() {
        let mut rules = load_builtin().unwrap();
        let doc = Document::parse(HPET_OFF).unwrap();
        rules.select(|rule, _| rule.id.starts_with("hyperv/"));
        assert!(lint(&doc, &rules).is_empty());
        rules.select(|rule, _| rule.id.starts_with("windows/hpet"));
        assert_eq!(lint(&doc, &rules).len(), 1);
    }
}
