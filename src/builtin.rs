//! The built-in rule pack: the YAML files under `rules/`, embedded by `build.rs`, and the
//! rule set `build.rs` compiled from them.
//!
//! `build.rs` compiles the rule files with the library's own loader (a broken built-in
//! rule fails the build with the loader's message) and writes the compiled set in
//! postcard's binary form. Loading it is a deserialisation of the rules' metadata (each
//! rule's logic is deserialised when a document first needs it): no YAML, selector or regex is
//! parsed at start-up, so start-up does not grow with the pack. The compiled set leaves
//! out each rule's explanation and examples; [`documented`] compiles the YAML sources
//! again for the commands that show them.

use std::sync::OnceLock;

use crate::rules::RuleSet;
use crate::rules::load::{RuleError, compile};

/// Built-in rule files: `(path, contents)`.
pub const SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The built-in rule set as `build.rs` compiled it ([`crate::rules::compiled`]): the
/// rules' metadata, and each rule's logic.
static HEAD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/builtin_rules.bin"));
static LOGIC: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/builtin_logic.bin"));

/// The built-in rules, ready to lint with; explanations and examples are empty, and
/// each rule's logic is read when first needed.
pub fn compiled() -> RuleSet {
    // build.rs wrote these bytes from the same types in the same build.
    crate::rules::compiled::load(HEAD, LOGIC).expect("build.rs wrote the compiled rule set")
}

/// The built-in rules compiled from their YAML sources, explanations and examples
/// included (for `rule`, `rules`, `test-rules` and the documentation formats).
pub fn documented() -> Result<RuleSet, Vec<RuleError>> {
    let sources: Vec<(String, String)> = SOURCES
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    let (set, errors) = compile(&sources);
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

/// The explanation of built-in rule `id` (from [`documented`], compiled on first use),
/// for output formats that carry rule documentation (SARIF).
pub fn explanation(id: &str) -> Option<&'static str> {
    static DOCUMENTED: OnceLock<Option<RuleSet>> = OnceLock::new();
    let set = DOCUMENTED.get_or_init(|| documented().ok()).as_ref()?;
    set.get(id).map(|rule| rule.explanation.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Document;
    use crate::engine;

    /// The compiled set is the documented set less explanations and examples: same rules,
    /// same metadata, and the same findings on every example document.
    #[test]
    fn compiled_set_agrees_with_the_yaml_sources() {
        let fast = compiled();
        let full = documented().expect("built-in rules compile");
        assert_eq!(fast.rules.len(), full.rules.len());
        assert!(fast.rules.len() > 9, "{} rules", fast.rules.len());
        assert_eq!(fast.definitions.names, full.definitions.names);
        for (a, b) in fast.rules.iter().zip(&full.rules) {
            assert_eq!(
                (&a.id, a.severity, &a.tags, a.default_enabled, &a.summary()),
                (&b.id, b.severity, &b.tags, b.default_enabled, &b.summary())
            );
            assert_eq!(
                (&a.references(), &a.origin()),
                (&b.references(), &b.origin())
            );
            assert!(
                a.explanation.is_empty() && a.examples.is_empty(),
                "{}",
                a.id
            );
            assert!(!b.explanation.is_empty(), "{} has an explanation", b.id);
            assert_eq!(explanation(&b.id), Some(b.explanation.as_str()));
        }
        let mut documents = 0;
        for rule in &full.rules {
            for example in &rule.examples {
                let Ok(doc) = Document::parse(&example.xml) else {
                    continue;
                };
                let found = |set: &RuleSet| -> Vec<(String, std::ops::Range<usize>, String)> {
                    engine::lint(&doc, set)
                        .into_iter()
                        .map(|f| (f.rule_id, f.range, f.message))
                        .collect()
                };
                assert_eq!(found(&fast), found(&full), "{}", rule.id);
                documents += 1;
            }
        }
        assert!(documents > 100, "{documents} example documents");
    }
}
