//! Skipping rules that cannot fire: most rules look for elements a given guest does not
//! have (`<zpci>`, a `reconnect` source, a `<tpm>`) or for attribute values it does not
//! use (`<address type='ccw'>`, a `udp` character device), and asking a document whether
//! it has any such thing is far cheaper than evaluating the rule's selectors over it.
//!
//! For each rule, the facts a document must have for the rule to fire
//! ([`crate::condition::Condition::required_facts`], plus its `for-each` selector's
//! [`crate::selector::Selector::required_facts`]): clauses that must all hold, each by one
//! of its facts (an element of some name; an element of some name, or any element,
//! carrying an attribute, or an attribute with a given value). Per document, one pass over
//! its elements marks which facts hold. A rule with a clause none of whose facts hold is
//! skipped. The facts are a necessary condition only, so skipping never loses a finding
//! (the engine's tests and the corpus test lint with and without the prefilter and
//! compare).

use std::collections::HashMap;

use super::RuleSet;
use crate::selector::Fact;
use crate::selector::index::FastHash;

/// The facts each rule needs, as indices into the facts the scan looks for.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Prefilter {
    /// By element local name: the facts about elements of that name.
    elements: HashMap<String, ElementFacts, FastHash>,
    /// Attribute facts about any element (from `*[@type='udp']`), at most
    /// [`MAX_ANY_ELEMENT_FACTS`] (each costs a lookup on every element).
    any_element: Vec<AttributeFact>,
    /// How many facts there are.
    facts: u32,
    /// Parallel to the rule set's rules: the clauses the rule needs, each a list of fact
    /// indices of which one must hold.
    needs: Vec<Vec<Vec<u32>>>,
}

/// The facts about elements of one name.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ElementFacts {
    /// "An element of this name exists", if some rule needs it.
    exists: Option<u32>,
    attributes: Vec<AttributeFact>,
}

/// "The element has attribute `name`" (with text `value`, when given).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AttributeFact {
    name: String,
    value: Option<String>,
    fact: u32,
}

/// Attribute facts about any element beyond this many are not looked for (their clauses
/// are dropped: the rule is then skipped less often, never wrongly).
const MAX_ANY_ELEMENT_FACTS: usize = 16;

/// Which facts one document has.
pub struct Present(Vec<bool>);

impl Prefilter {
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut filter = Prefilter::default();
        let mut ids: HashMap<Fact, u32> = HashMap::new();
        filter.needs = rules
            .rules
            .iter()
            .map(|rule| {
                let mut clauses = rule.when.required_facts(&rules.definitions);
                if let Some(for_each) = &rule.for_each {
                    clauses.extend(for_each.required_facts());
                }
                let mut needs: Vec<Vec<u32>> = clauses
                    .into_iter()
                    .filter_map(|clause| {
                        let mut clause: Vec<u32> = clause
                            .into_iter()
                            .map(|fact| filter.intern(&mut ids, fact))
                            .collect::<Option<_>>()?;
                        clause.sort_unstable();
                        clause.dedup();
                        Some(clause)
                    })
                    .collect();
                needs.sort();
                needs.dedup();
                needs
            })
            .collect();
        filter
    }

    /// The index of `fact`, added to what the scan looks for if new; `None` when it cannot
    /// be looked for (too many facts about any element).
    fn intern(&mut self, ids: &mut HashMap<Fact, u32>, fact: Fact) -> Option<u32> {
        if let Some(&id) = ids.get(&fact) {
            return Some(id);
        }
        let id = self.facts;
        match &fact {
            Fact::Element(name) => {
                self.elements.entry(name.clone()).or_default().exists = Some(id);
            }
            Fact::Attribute {
                element,
                name,
                value,
            } => {
                let attribute = AttributeFact {
                    name: name.clone(),
                    value: value.clone(),
                    fact: id,
                };
                match element {
                    Some(element) => self
                        .elements
                        .entry(element.clone())
                        .or_default()
                        .attributes
                        .push(attribute),
                    None if self.any_element.len() < MAX_ANY_ELEMENT_FACTS => {
                        self.any_element.push(attribute);
                    }
                    None => return None,
                }
            }
        }
        self.facts += 1;
        ids.insert(fact, id);
        Some(id)
    }

    /// One pass over the document's elements.
    pub fn scan(&self, root: roxmltree::Node<'_, '_>) -> Present {
        let mut present = vec![false; self.facts as usize];
        fn mark(present: &mut [bool], node: roxmltree::Node<'_, '_>, facts: &[AttributeFact]) {
            for f in facts {
                if let Some(v) = node.attribute(f.name.as_str())
                    && f.value.as_deref().is_none_or(|want| want == v)
                {
                    present[f.fact as usize] = true;
                }
            }
        }
        for node in root.descendants() {
            if !node.is_element() {
                continue;
            }
            if let Some(facts) = self.elements.get(node.tag_name().name()) {
                if let Some(i) = facts.exists {
                    present[i as usize] = true;
                }
                mark(&mut present, node, &facts.attributes);
            }
            if !self.any_element.is_empty() {
                mark(&mut present, node, &self.any_element);
            }
        }
        Present(present)
    }

    /// Whether rule `index` may fire in the document `present` describes (`true` for a
    /// rule added after the prefilter was built).
    pub fn may_fire(&self, index: usize, present: &Present) -> bool {
        self.needs.get(index).is_none_or(|clauses| {
            clauses
                .iter()
                .all(|clause| clause.iter().any(|&i| present.0[i as usize]))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::selector::{Fact, Namespaces, Selector};

    /// The clauses as `name`, `element@attribute` or `element@attribute=value`, sorted.
    fn facts(src: &str) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Selector::parse(src, &Namespaces::builtin())
            .unwrap()
            .required_facts()
            .into_iter()
            .map(|clause| {
                clause
                    .into_iter()
                    .map(|fact| match fact {
                        Fact::Element(name) => name,
                        Fact::Attribute {
                            element,
                            name,
                            value,
                        } => format!(
                            "{}@{name}{}",
                            element.as_deref().unwrap_or("*"),
                            value.map(|v| format!("={v}")).unwrap_or_default()
                        ),
                    })
                    .collect()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn facts_from_names_and_predicates() {
        assert_eq!(facts("devices//address"), [["address"], ["devices"]]);
        assert_eq!(
            facts("devices//address[@type='pci']/zpci[@uid]"),
            vec![
                vec!["address"],
                vec!["address@type=pci"],
                vec!["devices"],
                vec!["zpci"],
                vec!["zpci@uid"],
            ]
        );
        assert_eq!(
            facts("devices//*[@type='udp'][local-name()='serial' or local-name()='channel']"),
            vec![
                vec!["channel", "serial"],
                vec!["channel@type=udp", "serial@type=udp"],
                vec!["devices"],
            ]
        );
        // `!=`, numbers and other comparisons need the attribute, not a value.
        assert_eq!(
            facts("disk[@cache != 'none'][@index = 0][@x > 2]"),
            vec![
                vec!["disk"],
                vec!["disk@cache"],
                vec!["disk@index"],
                vec!["disk@x"]
            ]
        );
        assert_eq!(
            facts("controller[@model='a' or @model='b']/@index"),
            vec![
                vec!["controller"],
                vec!["controller@index"],
                vec!["controller@model=a", "controller@model=b"],
            ]
        );
        assert_eq!(facts(".[@type='kvm']"), [["*@type=kvm"]]);
        assert_eq!(
            facts("disk/.[@type='file']"),
            [["disk"], ["disk@type=file"]]
        );
        // Nothing is known from these predicates.
        assert_eq!(
            facts("disk[not(@x)][@y = false()][@z or target][count(a) = 1]"),
            [["disk"]]
        );
        assert_eq!(facts("@x"), [["*@x"]]);
        assert_eq!(facts("../@x"), [["*@x"]]);
        assert!(facts("*[1]").is_empty());
        assert!(facts("@qemu:x").is_empty());
    }
}
