//! Skipping rules that cannot fire: most rules look for elements a given guest does not
//! have (`<zpci>`, a `reconnect` source, a `<tpm>`), and asking a document whether it has
//! any such element is far cheaper than evaluating the rule's selectors over it.
//!
//! For each rule, the element names that must all occur in a document for the rule to
//! fire ([`crate::condition::Condition::required_names`], plus its `for-each`
//! selector's); per document, one pass over its elements marks which of those names
//! occur. A rule whose names are not all there is skipped. The names are a necessary
//! condition only, so skipping never loses a finding (the engine's tests lint with and
//! without the prefilter and compare).

use std::collections::HashMap;

use super::RuleSet;

/// The names each rule needs, as indices into a vocabulary.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Prefilter {
    vocabulary: HashMap<String, u16>,
    /// Parallel to the rule set's rules: the vocabulary indices the rule needs.
    needs: Vec<Vec<u16>>,
}

/// Which vocabulary names one document has.
pub struct Present(Vec<bool>);

impl Prefilter {
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut vocabulary: HashMap<String, u16> = HashMap::new();
        let needs = rules
            .rules
            .iter()
            .map(|rule| {
                let mut names = rule
                    .when
                    .required_names(&rules.definitions)
                    .unwrap_or_default();
                if let Some(for_each) = &rule.for_each {
                    names.extend(for_each.required_names());
                }
                let mut ids: Vec<u16> = names
                    .into_iter()
                    .filter_map(|name| {
                        let next = vocabulary.len();
                        // More than 65,536 distinct names: the rest are not used to skip.
                        let next = u16::try_from(next).ok()?;
                        Some(*vocabulary.entry(name.to_owned()).or_insert(next))
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            })
            .collect();
        Prefilter { vocabulary, needs }
    }

    /// One pass over the document's elements.
    pub fn scan(&self, root: roxmltree::Node<'_, '_>) -> Present {
        let mut present = vec![false; self.vocabulary.len()];
        for node in root.descendants().filter(|n| n.is_element()) {
            if let Some(&i) = self.vocabulary.get(node.tag_name().name()) {
                present[usize::from(i)] = true;
            }
        }
        Present(present)
    }

    /// Whether rule `index` may fire in the document `present` describes (`true` for a
    /// rule added after the prefilter was built).
    pub fn may_fire(&self, index: usize, present: &Present) -> bool {
        self.needs
            .get(index)
            .is_none_or(|needs| needs.iter().all(|&i| present.0[usize::from(i)]))
    }
}
