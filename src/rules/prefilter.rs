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
use crate::condition::TextTest;
use crate::selector::index::{self, FastHash};
use crate::selector::{Fact, ROOT_ELEMENT};

/// The facts each rule needs, as indices into the facts the scan looks for.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Prefilter {
    /// The facts about elements of each name: the name, its group in the element index
    /// ([`index::group`]) and the facts.
    elements: Vec<(String, u16, ElementFacts)>,
    /// Where each name is in `elements`.
    by_name: HashMap<String, u32, FastHash>,
    /// The facts about the root element (from rules without `for-each`, which are
    /// evaluated there).
    root: ElementFacts,
    /// Attribute facts about any element (from `*[@type='udp']`), at most
    /// [`MAX_ANY_ELEMENT_FACTS`] (each costs a lookup on every element).
    any_element: Vec<AttributeFacts>,
    any_element_facts: usize,
    /// How many facts there are.
    facts: u32,
    /// Parallel to the rule set's rules: the clauses the rule needs, each a list of fact
    /// indices of which one must hold.
    needs: Needs,
}

/// Each rule's clauses, flattened into three lists (deserialised at every start, so a
/// few allocations rather than one per clause).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Needs {
    /// The fact indices of every clause, one clause after another.
    facts: Vec<u32>,
    /// Where each clause ends in `facts`.
    clause_ends: Vec<u32>,
    /// Where each rule's clauses end in `clause_ends`.
    rule_ends: Vec<u32>,
}

impl Needs {
    fn push(&mut self, clauses: Vec<Vec<u32>>) {
        for clause in clauses {
            self.facts.extend(clause);
            self.clause_ends.push(self.facts.len() as u32);
        }
        self.rule_ends.push(self.clause_ends.len() as u32);
    }

    /// The clauses of rule `index`; `None` for a rule added after the prefilter was built.
    fn of(&self, index: usize) -> Option<impl Iterator<Item = &[u32]>> {
        let end = *self.rule_ends.get(index)? as usize;
        let start = match index {
            0 => 0,
            i => self.rule_ends[i - 1] as usize,
        };
        Some((start..end).map(move |c| {
            let from = match c {
                0 => 0,
                c => self.clause_ends[c - 1] as usize,
            };
            &self.facts[from..self.clause_ends[c] as usize]
        }))
    }
}

/// The facts about elements of one name.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ElementFacts {
    /// "An element of this name exists", if some rule needs it.
    exists: Option<u32>,
    attributes: Vec<AttributeFacts>,
}

/// The facts about one attribute (in no namespace) of an element.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct AttributeFacts {
    name: String,
    /// "The element has this attribute", if some rule needs it.
    exists: Option<u32>,
    /// "The attribute has this text", for each text some rule needs.
    values: Vec<(String, u32)>,
    /// "The attribute has a text this test accepts", for each test some rule needs.
    tests: Vec<(TextTest, u32)>,
}

impl AttributeFacts {
    /// The facts of attribute `name` in `list`, added if missing.
    fn of<'l>(list: &'l mut Vec<AttributeFacts>, name: &str) -> &'l mut AttributeFacts {
        let at = match list.iter().position(|a| a.name == name) {
            Some(at) => at,
            None => {
                list.push(AttributeFacts {
                    name: name.to_owned(),
                    ..AttributeFacts::default()
                });
                list.len() - 1
            }
        };
        &mut list[at]
    }

    /// Marks the facts `node`'s attributes satisfy among `list`.
    fn mark(list: &[AttributeFacts], node: roxmltree::Node<'_, '_>, present: &mut [bool]) {
        for attribute in node.attributes() {
            if attribute.namespace().is_some() {
                continue;
            }
            let Some(facts) = list.iter().find(|a| a.name == attribute.name()) else {
                continue;
            };
            if let Some(i) = facts.exists {
                present[i as usize] = true;
            }
            let value = attribute.value();
            for (text, i) in &facts.values {
                if text == value {
                    present[*i as usize] = true;
                }
            }
            for (test, i) in &facts.tests {
                if !present[*i as usize] && test.accepts(value) {
                    present[*i as usize] = true;
                }
            }
        }
    }
}

/// Attribute facts about any element beyond this many are not looked for (their clauses
/// are dropped: the rule is then skipped less often, never wrongly).
const MAX_ANY_ELEMENT_FACTS: usize = 16;

/// Which facts one document has.
#[derive(Debug, PartialEq, Eq)]
pub struct Present(Vec<bool>);

impl Prefilter {
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut filter = Prefilter::default();
        // Facts hash and compare by their text; a test's compiled pattern is not part
        // of it.
        #[allow(clippy::mutable_key_type)]
        let mut ids: HashMap<Fact, u32> = HashMap::new();
        let needs: Vec<Vec<Vec<u32>>> = rules
            .rules
            .iter()
            .map(|rule| {
                // `when` is evaluated at the elements `for-each` selects (named as its last
                // step says), or at the root element.
                let (mut clauses, context) = match &rule.for_each {
                    Some(for_each) => for_each.required_facts_at(None),
                    None => (Vec::new(), Some(vec![ROOT_ELEMENT.to_owned()])),
                };
                clauses.extend(
                    rule.when
                        .required_facts(&rules.definitions, context.as_deref()),
                );
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
        for clauses in needs {
            filter.needs.push(clauses);
        }
        filter
    }

    /// The index of `fact`, added to what the scan looks for if new; `None` when it cannot
    /// be looked for (too many facts about any element).
    #[allow(clippy::mutable_key_type)]
    fn intern(&mut self, ids: &mut HashMap<Fact, u32>, fact: Fact) -> Option<u32> {
        if let Some(&id) = ids.get(&fact) {
            return Some(id);
        }
        let id = self.facts;
        match &fact {
            Fact::Element(name) if name == ROOT_ELEMENT => self.root.exists = Some(id),
            Fact::Element(name) => {
                self.element(name).exists = Some(id);
            }
            Fact::Attribute {
                element,
                name,
                value,
            } => {
                let list = match element {
                    Some(element) if element == ROOT_ELEMENT => &mut self.root.attributes,
                    Some(element) => &mut self.element(element).attributes,
                    None if self.any_element_facts < MAX_ANY_ELEMENT_FACTS => {
                        self.any_element_facts += 1;
                        &mut self.any_element
                    }
                    None => return None,
                };
                let facts = AttributeFacts::of(list, name);
                match value {
                    Some(value) => facts.values.push((value.clone(), id)),
                    None => facts.exists = Some(id),
                }
            }
            Fact::AttributeTest {
                element,
                name,
                test,
            } => {
                let list = match element.as_str() {
                    ROOT_ELEMENT => &mut self.root.attributes,
                    element => &mut self.element(element).attributes,
                };
                AttributeFacts::of(list, name)
                    .tests
                    .push((test.clone(), id));
            }
        }
        self.facts += 1;
        ids.insert(fact, id);
        Some(id)
    }

    /// The facts about elements named `name`, added if missing.
    fn element(&mut self, name: &str) -> &mut ElementFacts {
        let at = match self.by_name.get(name) {
            Some(&at) => at as usize,
            None => {
                self.by_name
                    .insert(name.to_owned(), self.elements.len() as u32);
                self.elements.push((
                    name.to_owned(),
                    index::group(name) as u16,
                    ElementFacts::default(),
                ));
                self.elements.len() - 1
            }
        };
        &mut self.elements[at].2
    }

    /// Which facts the document of `root` (its root element) has: through the document's
    /// element index when it is indexed ([`index::Scope`]), else by one pass over its
    /// elements.
    pub fn scan(&self, root: roxmltree::Node<'_, '_>) -> Present {
        let mut present = vec![false; self.facts as usize];
        if let Some(i) = self.root.exists {
            present[i as usize] = true;
        }
        AttributeFacts::mark(&self.root.attributes, root, &mut present);
        let doc = root.document();
        let indexed = index::with_groups(root, |groups| {
            for (name, group, facts) in &self.elements {
                for &id in groups.get(usize::from(*group)) {
                    let Some(node) = doc.get_node(roxmltree::NodeId::new(id)) else {
                        continue;
                    };
                    if node.tag_name().name() != name {
                        continue;
                    }
                    if let Some(i) = facts.exists {
                        present[i as usize] = true;
                    }
                    if facts.attributes.is_empty() {
                        break;
                    }
                    AttributeFacts::mark(&facts.attributes, node, &mut present);
                }
            }
        });
        if indexed.is_some() && self.any_element.is_empty() {
            return Present(present);
        }
        for node in root.descendants() {
            if !node.is_element() {
                continue;
            }
            if indexed.is_some() {
                // Only the facts about any element are left to look for.
            } else if let Some(&at) = self.by_name.get(node.tag_name().name()) {
                let facts = &self.elements[at as usize].2;
                if let Some(i) = facts.exists {
                    present[i as usize] = true;
                }
                if !facts.attributes.is_empty() {
                    AttributeFacts::mark(&facts.attributes, node, &mut present);
                }
            }
            if !self.any_element.is_empty() {
                AttributeFacts::mark(&self.any_element, node, &mut present);
            }
        }
        Present(present)
    }

    /// Whether rule `index` may fire in the document `present` describes (`true` for a
    /// rule added after the prefilter was built).
    pub fn may_fire(&self, index: usize, present: &Present) -> bool {
        self.needs.of(index).is_none_or(|mut clauses| {
            clauses.all(|clause| clause.iter().any(|&i| present.0[i as usize]))
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
                        Fact::AttributeTest {
                            element,
                            name,
                            test,
                        } => format!("{element}@{name} {}", test.key()),
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
        // At a known context (a `for-each`'s elements), relative paths start there.
        let at = |src: &str, names: &[&str]| {
            let (clauses, last) = Selector::parse(src, &Namespaces::builtin())
                .unwrap()
                .required_facts_at(Some(names));
            (clauses.len(), last)
        };
        let (n, last) = at("@bus", &["address"]);
        assert_eq!((n, last), (1, None));
        let address_bus = Selector::parse("@bus", &Namespaces::builtin())
            .unwrap()
            .required_facts_at(Some(&["address"]))
            .0;
        assert_eq!(
            address_bus,
            [vec![Fact::Attribute {
                element: Some("address".into()),
                name: "bus".into(),
                value: None
            }]]
        );
        assert_eq!(at(".", &["disk"]).1, Some(vec!["disk".to_owned()]));
        assert_eq!(at("/domain/@type", &["disk"]).1, None);
        assert_eq!(
            at("devices/*[local-name()='a' or local-name()='b']", &["x"]).1,
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(facts("@qemu:x").is_empty());
    }

    #[test]
    fn facts_from_prefixes() {
        assert_eq!(
            facts("os/type[@machine='pc' or starts-with(@machine, 'pc-i440fx')]"),
            vec![
                vec!["os"],
                vec!["type"],
                vec!["type@machine=pc", "type@machine starts-with pc-i440fx"],
            ]
        );
        // An empty prefix holds without the attribute; on any element, a prefix is
        // looked for as the attribute.
        assert_eq!(facts("os[starts-with(@x, '')]"), [["os"]]);
        assert_eq!(facts("*[starts-with(@x, 'a')]"), [["*@x"]]);
    }

    /// A rule's `value:` test on an attribute of its context becomes a fact: the rule
    /// runs on documents with such a value only, and then finds it.
    #[test]
    fn value_tests_are_facts() {
        let mut rules = crate::rules::load_builtin().unwrap();
        rules.select(|rule, _| rule.id == "address/pci-slot-out-of-range");
        let (index, _) = rules.enabled().next().unwrap();
        let doc = |slot: &str| {
            format!(
                "<domain type='kvm'><devices><interface type='network'>\
                 <address type='pci' domain='0' bus='0' slot='{slot}' function='0'/>\
                 </interface></devices></domain>"
            )
        };
        for (slot, fires) in [("0x01", false), ("31", false), ("0x20", true), ("32", true)] {
            let text = doc(slot);
            let parsed = crate::document::Document::parse(&text).unwrap();
            let present = rules.prefilter().scan(parsed.root());
            assert_eq!(rules.prefilter().may_fire(index, &present), fires, "{slot}");
            assert_eq!(
                crate::engine::lint(&parsed, &rules).len(),
                usize::from(fires),
                "{slot}"
            );
        }
    }
}
