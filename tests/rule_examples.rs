//! Every built-in rule documents itself and proves it with examples: at least one that
//! fires and one that passes, run here (as `virt-lint test-rules` runs a user's).

use virt_lint::examples;
use virt_lint::rules::{ExampleKind, load_documented};

#[test]
fn builtin_rule_examples_behave_as_declared() {
    let rules = load_documented(&[]).expect("built-in rules load");
    let results = examples::run(&rules, |_| true);
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.failure
                .as_ref()
                .map(|f| format!("{} example {} ({}): {f}", r.rule_id, r.index, r.origin))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(results.len() >= 2 * rules.rules.len());
}

#[test]
fn builtin_rules_are_documented_and_have_both_kinds_of_example() {
    let rules = load_documented(&[]).unwrap();
    let expected = [
        "windows/hpet-disabled-without-stimer",
        "windows/hypervclock-missing",
        "hyperv/synic-requires-vpindex",
        "hyperv/stimer-requires-synic",
        "hyperv/stimer-requires-hypervclock",
        "hyperv/stimer-direct-requires-stimer",
        "hyperv/tlbflush-requires-vpindex",
        "hyperv/ipi-requires-vpindex",
        "hyperv/evmcs-requires-vapic",
    ];
    for id in expected {
        assert!(rules.get(id).is_some(), "missing built-in rule {id}");
    }
    for rule in &rules.rules {
        assert!(
            !rule.summary().is_empty() && !rule.explanation.is_empty(),
            "{} lacks docs",
            rule.id
        );
        assert!(
            !rule.references().is_empty(),
            "{} has no references",
            rule.id
        );
        assert!(!rule.tags.is_empty(), "{} has no tags", rule.id);
        for kind in [ExampleKind::Fires, ExampleKind::Passes] {
            assert!(
                rule.examples.iter().any(|e| e.kind == kind),
                "{} has no {kind:?} example",
                rule.id
            );
        }
        if rule.fix.is_some() {
            assert!(
                rule.examples.iter().any(|e| e.fixed.is_some()),
                "{} has a fix but no example showing its result",
                rule.id
            );
        }
        // One rule per file, named after the rule.
        let expected_file = format!("rules/{}.yaml", rule.id);
        assert_eq!(
            rule.origin().file,
            expected_file,
            "rule {} lives in the wrong file",
            rule.id
        );
    }
}
