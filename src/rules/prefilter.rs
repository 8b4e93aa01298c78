//! Skipping rules that cannot fire: most rules look for elements a given guest does not
//! have (`<zpci>`, a `reconnect` source, a `<tpm>`) or for attribute values it does not
//! use (`<address type='ccw'>`, a `udp` character device), and asking a document whether
//! it has any such thing is far cheaper than evaluating the rule's selectors over it.
//!
//! For each rule, the facts a document must have for the rule to fire
//! ([`crate::condition::Condition::required_facts`], plus its `for-each` selector's
//! [`crate::selector::Selector::required_facts`]): clauses that must all hold, each by one
//! of its facts (an element of some name; an element of some name, or any element,
//! carrying an attribute, or an attribute with a given value). A rule with a clause none of
//! whose facts hold is skipped.
//!
//! Per document ([`Facts`]), the engine looks up which element names occur in the
//! document's element index ([`crate::selector::index`]) once it is built; the facts about
//! attributes are looked for only when a rule that may still fire asks for them, all those
//! about elements of one name in one look at those elements (found through the index).
//! Facts are bits, 64 to a word, and a rule's clauses are masks over the words, so that
//! most rules are ruled out by a few `and`s. [`Prefilter::scan`] finds every fact in one
//! pass instead (for a document that is not indexed, and for the tests). The facts are a
//! necessary condition only, so skipping never loses a finding (the engine's tests and the
//! corpus test lint with and without the prefilter and compare).

use std::collections::{BTreeMap, HashMap};

use super::RuleSet;
use crate::condition::TextTest;
use crate::selector::index::{self, GROUPS};
use crate::selector::text::same;
use crate::selector::{Fact, ROOT_ELEMENT};

/// The facts each rule needs, as indices into the facts the scan looks for, and the tables
/// the scan looks them up in (built once per rule set: at build time for the built-in set).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Prefilter {
    /// The facts about elements of each name, ordered by the name's group in the element
    /// index ([`index::group`]), which the scan computes for each element anyway.
    elements: Vec<ElementFacts>,
    /// `groups[g]..groups[g + 1]`: the entries of `elements` whose names are in group `g`
    /// ([`GROUPS`] + 1 bounds).
    groups: Vec<u32>,
    /// The facts about the root element (from rules without `for-each`, which are
    /// evaluated there).
    root: ElementFacts,
    /// Attribute facts about any element (from `*[@type='udp']`), at most
    /// [`MAX_ANY_ELEMENT_FACTS`] (each costs a lookup on every element).
    any_element: Span,
    /// The attribute facts of `elements`, `root` and `any_element`, each one's in a run.
    attributes: Vec<AttributeFacts>,
    /// The values of `attributes`, each attribute's in a run: a text (or a test of the
    /// text) and its fact.
    values: Vec<(Value, u32)>,
    /// The facts of the attributes of each of `elements` (and of `root`, `any_element`)
    /// as `(word, bits)`, each one's in a run ([`ElementFacts::words`]): what one look at
    /// the elements learns.
    words: Vec<(u32, u64)>,
    /// The words of `any_element`'s facts.
    any_element_words: Span,
    /// How many facts there are.
    facts: u32,
    /// Parallel to the rule set's rules: the clauses the rule needs.
    needs: Needs,
    /// A bit per fact (64 a word): whether it is about elements of some name existing
    /// (known once [`Facts::mark_elements`] has looked them up).
    element_facts: Vec<u64>,
    /// Parallel to the facts: where each is looked for when first asked
    /// ([`Facts::learn`]).
    sources: Vec<Source>,
    /// Parallel to the rule set's rules: whether the rule's condition can name witnesses
    /// ([`crate::condition::Condition::has_witnesses`]), worked out once here rather than
    /// for every document.
    witnesses: Vec<bool>,
    /// Tells this prefilter from every other one in the process (built or loaded), for
    /// what [`ValueMasks`] remembers of its values.
    #[serde(skip, default = "Prefilter::next_id")]
    id: u32,
}

/// Where a fact is looked for.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
enum Source {
    /// The root element exists.
    Root,
    /// An element named as `elements[_]` exists.
    Element(u32),
    /// The elements named as `elements[_]` carry one of its attributes.
    Attribute(u32),
    /// The root element carries one of the attributes of `root`.
    RootAttribute,
    /// Some element carries one of the attributes of `any_element`.
    AnyElement,
}

/// What an attribute's value must be for a fact to hold.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Value {
    /// Exactly this text (and its [`index::name_key`]).
    Text(String, u64),
    /// A text the test accepts (a rule's `value:` test, `starts-with`).
    Test(TextTest),
}

impl Value {
    #[inline]
    fn holds(&self, value: &str, key: u64) -> bool {
        match self {
            Value::Text(text, wanted) => {
                *wanted == key && (!index::is_long(key) || same(text, value))
            }
            Value::Test(test) => test.accepts(value),
        }
    }
}

/// A run `from..to` of one of the prefilter's lists.
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Span {
    from: u32,
    to: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.from as usize..self.to as usize
    }

    fn is_empty(self) -> bool {
        self.from == self.to
    }
}

/// Each rule's clauses as bit masks over the words of a document's facts, flattened
/// (deserialised at every start, so a few allocations rather than one per clause).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Needs {
    /// Parallel to the rules.
    rules: Vec<RuleNeeds>,
    /// The clauses of one fact, by word: `(word, bits)`, every bit of which must hold.
    all: Vec<(u32, u64)>,
    /// The clauses of several facts (or none), each a run of `(word, bits)` of which
    /// some bit must hold: clause `c` is `any[any_ends[c]..any_ends[c + 1]]`.
    any: Vec<(u32, u64)>,
    any_ends: Vec<u32>,
}

/// One rule's needs: a run of `all`, and a run of clauses (of `any_ends`).
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct RuleNeeds {
    all: Span,
    clauses: Span,
}

impl Needs {
    fn push(&mut self, clauses: Vec<Vec<u32>>) {
        if self.any_ends.is_empty() {
            self.any_ends.push(0);
        }
        let by_word = |facts: &[u32]| {
            let mut words: BTreeMap<u32, u64> = BTreeMap::new();
            for &i in facts {
                *words.entry(i / 64).or_default() |= 1 << (i % 64);
            }
            words
        };
        let single: Vec<u32> = clauses
            .iter()
            .filter(|c| c.len() == 1)
            .map(|c| c[0])
            .collect();
        let all_from = self.all.len() as u32;
        self.all.extend(by_word(&single));
        let clauses_from = self.any_ends.len() as u32 - 1;
        for clause in clauses.iter().filter(|c| c.len() != 1) {
            self.any.extend(by_word(clause));
            self.any_ends.push(self.any.len() as u32);
        }
        self.rules.push(RuleNeeds {
            all: Span {
                from: all_from,
                to: self.all.len() as u32,
            },
            clauses: Span {
                from: clauses_from,
                to: self.any_ends.len() as u32 - 1,
            },
        });
    }
}

/// The facts about elements of one name.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ElementFacts {
    name: String,
    /// The name's group in the element index ([`index::group`]).
    group: u8,
    /// "An element of this name exists", if some rule needs it.
    exists: Option<u32>,
    /// Its attribute facts, in the prefilter's `attributes`.
    attributes: Span,
    /// The same facts as bits of words, in the prefilter's `words`.
    words: Span,
}

/// The facts about one attribute (in no namespace) of an element.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct AttributeFacts {
    name: String,
    /// "The element has this attribute", if some rule needs it.
    exists: Option<u32>,
    /// "The attribute has this text", for each text some rule needs, in the prefilter's
    /// `values`.
    values: Span,
    /// Whether which of `values` a text satisfies is remembered ([`ValueMasks`]): when
    /// some of them are tests (patterns, numbers), which cost more than a look-up, and
    /// there are at most 64.
    remembered: bool,
}

/// Attribute facts about any element beyond this many are not looked for (their clauses
/// are dropped: the rule is then skipped less often, never wrongly).
const MAX_ANY_ELEMENT_FACTS: usize = 16;

/// Which facts one document has: a bit per fact.
#[derive(Debug, PartialEq, Eq)]
pub struct Present(Vec<u64>);

impl Present {
    fn new(facts: u32) -> Present {
        Present(vec![0; facts.div_ceil(64) as usize])
    }

    #[inline]
    fn set(&mut self, fact: u32) {
        self.0[(fact / 64) as usize] |= 1 << (fact % 64);
    }
}

/// What the prefilter knows of one document (see [`Prefilter::facts`]).
pub struct Facts<'p, 'a, 'i> {
    filter: &'p Prefilter,
    root: roxmltree::Node<'a, 'i>,
    /// 64 facts each.
    words: Vec<Word>,
}

/// What is known of 64 facts.
#[derive(Debug, Default, Clone, Copy)]
struct Word {
    /// A bit per fact: whether it was looked for.
    known: u64,
    /// A bit per fact looked for: whether it holds.
    holds: u64,
}

impl Facts<'_, '_, '_> {
    /// Marks which of the element names the rules need occur in the document, through
    /// its element index (a look at one group of the index per name); `false`, marking
    /// nothing, when the document is not indexed.
    pub fn mark_elements(&mut self) -> bool {
        let filter = self.filter;
        let doc = self.root.document();
        let words = &mut self.words;
        let indexed = index::with_groups(self.root, |groups| {
            for facts in &filter.elements {
                let ids = groups.get(facts.group);
                if ids.is_empty() {
                    continue;
                }
                let Some(i) = facts.exists else {
                    continue;
                };
                if ids.iter().any(|&id| {
                    doc.get_node(roxmltree::NodeId::new(id))
                        .is_some_and(|node| same(node.tag_name().name(), &facts.name))
                }) {
                    hold(words, i);
                }
            }
        });
        if indexed.is_none() {
            return false;
        }
        for (word, &known) in words.iter_mut().zip(&filter.element_facts) {
            word.known |= known;
        }
        true
    }

    /// Whether every fact of `bits` in word `w` holds; stops at the first that does not.
    #[inline]
    fn all_hold(&mut self, w: u32, bits: u64) -> bool {
        let w = w as usize;
        loop {
            let word = self.words[w];
            let unknown = bits & !word.known;
            if unknown == 0 {
                return word.holds & bits == bits;
            }
            let lowest = unknown & unknown.wrapping_neg();
            self.learn(w as u32 * 64 + unknown.trailing_zeros());
            if self.words[w].holds & lowest == 0 {
                return false;
            }
        }
    }

    /// Whether some fact of `bits` in word `w` holds; stops at the first that does.
    #[inline]
    fn some_holds(&mut self, w: u32, bits: u64) -> bool {
        let w = w as usize;
        loop {
            let word = self.words[w];
            if word.holds & bits != 0 {
                return true;
            }
            let unknown = bits & !word.known;
            if unknown == 0 {
                return false;
            }
            self.learn(w as u32 * 64 + unknown.trailing_zeros());
        }
    }

    fn set(&mut self, fact: u32, holds: bool) {
        let word = &mut self.words[(fact / 64) as usize];
        word.known |= 1 << (fact % 64);
        if holds {
            word.holds |= 1 << (fact % 64);
        }
    }

    /// Looks for `fact`, and for the facts found in the same look.
    #[inline(never)]
    fn learn(&mut self, fact: u32) {
        let filter = self.filter;
        let root = self.root;
        let attributes = &filter.attributes;
        match filter.sources[fact as usize] {
            Source::Root => self.set(fact, true),
            Source::Element(e) => match each_named(root, &filter.elements[e as usize], |_| true) {
                Some(found) => self.set(fact, found),
                None => self.learn_all(),
            },
            Source::Attribute(e) => {
                // Every attribute fact about these elements, in one look at each.
                let element = &filter.elements[e as usize];
                let facts = &attributes[element.attributes.range()];
                self.set_known(element.words);
                let words = &mut self.words;
                let looked = ValueMasks::with(|masks| {
                    each_named(root, element, |node| {
                        mark_attributes(filter, facts, node, masks, |i| hold(words, i));
                        false
                    })
                });
                if looked.is_none() {
                    self.learn_all();
                }
            }
            Source::RootAttribute => {
                let facts = &attributes[filter.root.attributes.range()];
                self.set_known(filter.root.words);
                let words = &mut self.words;
                ValueMasks::with(|masks| {
                    mark_attributes(filter, facts, root, masks, |i| hold(words, i));
                });
            }
            Source::AnyElement => {
                let facts = &attributes[filter.any_element.range()];
                self.set_known(filter.any_element_words);
                let words = &mut self.words;
                // Every element, through the index (a walk over the tree visits every
                // text node too, and each node twice).
                let doc = root.document();
                let looked = ValueMasks::with(|masks| {
                    index::with_groups(root, |groups| {
                        for &id in groups.all() {
                            let Some(node) = doc.get_node(roxmltree::NodeId::new(id)) else {
                                continue;
                            };
                            mark_attributes(filter, facts, node, masks, |i| hold(words, i));
                        }
                    })
                });
                if looked.is_none() {
                    self.learn_all();
                }
            }
        }
    }

    /// Marks the facts `words` (a run of the prefilter's `words`) looked for.
    fn set_known(&mut self, words: Span) {
        for &(w, bits) in &self.filter.words[words.range()] {
            self.words[w as usize].known |= bits;
        }
    }

    /// Every fact, by one pass over the document (when it is not indexed).
    pub(crate) fn learn_all(&mut self) {
        let Present(holds) = self.filter.scan(self.root);
        for (word, holds) in self.words.iter_mut().zip(holds) {
            *word = Word {
                known: u64::MAX,
                holds,
            };
        }
    }

    /// Every fact, looked for as [`Prefilter::may_fire`] does (for the tests).
    pub fn into_present(mut self) -> Present {
        for fact in 0..self.filter.facts {
            if self.words[(fact / 64) as usize].known & (1 << (fact % 64)) == 0 {
                self.learn(fact);
            }
        }
        Present(self.words.iter().map(|w| w.holds).collect())
    }
}

/// Marks fact `i` as holding.
#[inline(always)]
fn hold(words: &mut [Word], i: u32) {
    words[(i / 64) as usize].holds |= 1 << (i % 64);
}

/// Calls `f` with each element of `root`'s document named as `facts` says, until it
/// returns `true`; whether it did. `None` when the document is not indexed.
#[inline]
fn each_named(
    root: roxmltree::Node<'_, '_>,
    facts: &ElementFacts,
    mut f: impl FnMut(roxmltree::Node<'_, '_>) -> bool,
) -> Option<bool> {
    let doc = root.document();
    index::with_group_id(root, usize::from(facts.group), |ids| {
        ids.iter().any(|&id| {
            doc.get_node(roxmltree::NodeId::new(id))
                .is_some_and(|node| same(node.tag_name().name(), &facts.name) && f(node))
        })
    })
}

/// Calls `set` with each fact among `facts` that `node`'s attributes satisfy.
#[inline]
fn mark_attributes(
    filter: &Prefilter,
    facts: &[AttributeFacts],
    node: roxmltree::Node<'_, '_>,
    masks: &mut ValueMasks,
    mut set: impl FnMut(u32),
) {
    for attribute in node.attributes() {
        if attribute.namespace().is_some() {
            continue;
        }
        let name = attribute.name();
        let Some(fact) = facts.iter().find(|a| same(&a.name, name)) else {
            continue;
        };
        if let Some(i) = fact.exists {
            set(i);
        }
        if fact.values.is_empty() {
            continue;
        }
        let value = attribute.value();
        let key = index::name_key(value);
        let wanted = &filter.values[fact.values.range()];
        if fact.remembered {
            let mut mask = masks.mask(filter.values_tag(fact), value, key, || {
                wanted
                    .iter()
                    .enumerate()
                    .filter(|(_, (test, _))| test.holds(value, key))
                    .fold(0, |mask, (bit, _)| mask | 1 << bit)
            });
            while mask != 0 {
                set(wanted[mask.trailing_zeros() as usize].1);
                mask &= mask - 1;
            }
        } else {
            for (test, i) in wanted {
                if test.holds(value, key) {
                    set(*i);
                }
            }
        }
    }
}

/// Which of an attribute's value facts a text satisfies (a bit per value, in the order of
/// the attribute's run of values), remembered across documents: attribute values repeat
/// (`bus='0x00'`, `function='0x0'`), and testing one against every pattern some rule has
/// for it cost more than the rest of the prefilter together. A direct-mapped table per
/// thread; texts longer than [`ValueMasks::TEXT`] bytes are not kept.
struct ValueMasks(Vec<MaskSlot>);

#[derive(Clone, Copy, Default)]
struct MaskSlot {
    /// The attribute's values' tag ([`Prefilter::values_tag`]), never 0 (0: empty).
    values: u64,
    /// The text's key ([`index::name_key`]): the text itself when short.
    key: u64,
    /// The text, when longer than [`index::SHORT`] bytes (its key is then a hash).
    len: u8,
    text: [u8; ValueMasks::TEXT],
    mask: u64,
}

impl ValueMasks {
    const SLOTS: usize = 1024;
    const TEXT: usize = 23;

    /// Calls `f` with this thread's table (a fresh one in the unlikely case that it is
    /// in use further up the stack).
    fn with<R>(f: impl FnOnce(&mut ValueMasks) -> R) -> R {
        thread_local! {
            static MASKS: std::cell::RefCell<ValueMasks> =
                const { std::cell::RefCell::new(ValueMasks(Vec::new())) };
        }
        MASKS.with(|masks| match masks.try_borrow_mut() {
            Ok(mut masks) => f(&mut masks),
            Err(_) => f(&mut ValueMasks(Vec::new())),
        })
    }

    /// The mask of `text` (whose [`index::name_key`] is `key`) for the attribute whose
    /// values' tag is `values` ([`Prefilter::values_tag`]), from the table or else from
    /// `compute` (then kept).
    #[inline]
    fn mask(&mut self, values: u64, text: &str, key: u64, compute: impl FnOnce() -> u64) -> u64 {
        let bytes = text.as_bytes();
        if bytes.len() > Self::TEXT {
            return compute();
        }
        if self.0.is_empty() {
            self.0 = vec![MaskSlot::default(); Self::SLOTS];
        }
        let at = ((key ^ values.rotate_right(9)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54)
            as usize
            & (Self::SLOTS - 1);
        let slot = &mut self.0[at];
        let long = index::is_long(key);
        if slot.values == values
            && slot.key == key
            && (!long
                || (usize::from(slot.len) == bytes.len()
                    && crate::selector::text::same_bytes(&slot.text[..bytes.len()], bytes)))
        {
            return slot.mask;
        }
        let mask = compute();
        *slot = MaskSlot {
            values,
            key,
            len: 0,
            text: [0; Self::TEXT],
            mask,
        };
        if long {
            slot.len = bytes.len() as u8;
            slot.text[..bytes.len()].copy_from_slice(bytes);
        }
        mask
    }
}

/// The prefilter while it is built: facts by element name and attribute.
#[derive(Default)]
struct Builder {
    elements: Vec<(String, ElementBuild)>,
    by_name: HashMap<String, usize>,
    root: ElementBuild,
    any_element: Vec<AttributeBuild>,
    any_element_facts: usize,
    facts: u32,
}

#[derive(Default)]
struct ElementBuild {
    exists: Option<u32>,
    attributes: Vec<AttributeBuild>,
}

struct AttributeBuild {
    name: String,
    exists: Option<u32>,
    values: Vec<(Value, u32)>,
}

impl AttributeBuild {
    /// The facts of attribute `name` in `list`, added if missing.
    fn of<'l>(list: &'l mut Vec<AttributeBuild>, name: &str) -> &'l mut AttributeBuild {
        let at = match list.iter().position(|a| a.name == name) {
            Some(at) => at,
            None => {
                list.push(AttributeBuild {
                    name: name.to_owned(),
                    exists: None,
                    values: Vec::new(),
                });
                list.len() - 1
            }
        };
        &mut list[at]
    }
}

impl Builder {
    /// The index of `fact`, added to what the scan looks for if new; `None` when it cannot
    /// be looked for (too many facts about any element).
    // Facts hash and compare by their text; a test's compiled pattern is not part of it.
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
                let facts = AttributeBuild::of(list, name);
                match value {
                    Some(value) => facts
                        .values
                        .push((Value::Text(value.clone(), index::name_key(value)), id)),
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
                AttributeBuild::of(list, name)
                    .values
                    .push((Value::Test(test.clone()), id));
            }
        }
        self.facts += 1;
        ids.insert(fact, id);
        Some(id)
    }

    /// The facts about elements named `name`, added if missing.
    fn element(&mut self, name: &str) -> &mut ElementBuild {
        let at = match self.by_name.get(name) {
            Some(&at) => at,
            None => {
                self.by_name.insert(name.to_owned(), self.elements.len());
                self.elements
                    .push((name.to_owned(), ElementBuild::default()));
                self.elements.len() - 1
            }
        };
        &mut self.elements[at].1
    }

    /// The lookup tables, with `needs` and `witnesses` for the rules.
    fn finish(mut self, needs: Needs, witnesses: Vec<bool>) -> Prefilter {
        let mut filter = Prefilter {
            facts: self.facts,
            needs,
            witnesses,
            id: Prefilter::next_id(),
            ..Prefilter::default()
        };
        let flatten = |name: String, facts: ElementBuild, filter: &mut Prefilter| {
            let attributes = filter.add_attributes(facts.attributes);
            ElementFacts {
                group: index::group(&name) as u8,
                name,
                exists: facts.exists,
                attributes,
                words: filter.add_words(attributes),
            }
        };
        filter.root = flatten(String::new(), std::mem::take(&mut self.root), &mut filter);
        filter.any_element = filter.add_attributes(self.any_element);
        filter.any_element_words = filter.add_words(filter.any_element);
        self.elements
            .sort_by(|(a, _), (b, _)| (index::group(a), a).cmp(&(index::group(b), b)));
        filter.groups = vec![0; GROUPS + 1];
        for (name, facts) in self.elements {
            filter.groups[index::group(&name) + 1] += 1;
            let entry = flatten(name, facts, &mut filter);
            filter.elements.push(entry);
        }
        for g in 0..GROUPS {
            filter.groups[g + 1] += filter.groups[g];
        }
        filter.sources = filter.sources();
        filter.element_facts = vec![0; filter.facts.div_ceil(64) as usize];
        for (i, source) in filter.sources.iter().enumerate() {
            if matches!(source, Source::Element(_)) {
                filter.element_facts[i / 64] |= 1 << (i % 64);
            }
        }
        filter
    }
}

impl Prefilter {
    /// A new [`Prefilter::id`].
    fn next_id() -> u32 {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// What [`ValueMasks`] keys the masks of `facts`' values by: this prefilter's and the
    /// attribute's (never 0).
    #[inline]
    fn values_tag(&self, facts: &AttributeFacts) -> u64 {
        (1 << 63) | (u64::from(self.id) << 32) | u64::from(facts.values.from)
    }

    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut builder = Builder::default();
        #[allow(clippy::mutable_key_type)]
        let mut ids: HashMap<Fact, u32> = HashMap::new();
        let mut needs = Needs::default();
        for rule in &rules.rules {
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
            let mut clauses: Vec<Vec<u32>> = clauses
                .into_iter()
                .filter_map(|clause| {
                    let mut clause: Vec<u32> = clause
                        .into_iter()
                        .map(|fact| builder.intern(&mut ids, fact))
                        .collect::<Option<_>>()?;
                    clause.sort_unstable();
                    clause.dedup();
                    Some(clause)
                })
                .collect();
            clauses.sort();
            clauses.dedup();
            needs.push(clauses);
        }
        let witnesses = rules
            .rules
            .iter()
            .map(|rule| rule.when.has_witnesses(&rules.definitions))
            .collect();
        builder.finish(needs, witnesses)
    }

    /// Where each fact is looked for (see `sources`).
    fn sources(&self) -> Vec<Source> {
        let mut sources = vec![None; self.facts as usize];
        let mut of_attributes = |span: Span, source: &dyn Fn(u32) -> Source| {
            for a in span.range() {
                let facts = &self.attributes[a];
                for i in facts
                    .exists
                    .into_iter()
                    .chain(self.values[facts.values.range()].iter().map(|v| v.1))
                {
                    sources[i as usize] = Some(source(a as u32));
                }
            }
        };
        of_attributes(self.root.attributes, &|_| Source::RootAttribute);
        of_attributes(self.any_element, &|_| Source::AnyElement);
        for (e, facts) in self.elements.iter().enumerate() {
            let element = e as u32;
            of_attributes(facts.attributes, &|_| Source::Attribute(element));
        }
        for (e, facts) in self.elements.iter().enumerate() {
            if let Some(i) = facts.exists {
                sources[i as usize] = Some(Source::Element(e as u32));
            }
        }
        if let Some(i) = self.root.exists {
            sources[i as usize] = Some(Source::Root);
        }
        sources
            .into_iter()
            .map(|s| s.expect("every fact is about the root, an element or any element"))
            .collect()
    }

    /// The facts of the attributes `span` as `(word, bits)`, added to `words`.
    fn add_words(&mut self, span: Span) -> Span {
        let mut words: BTreeMap<u32, u64> = BTreeMap::new();
        for facts in &self.attributes[span.range()] {
            let values = &self.values[facts.values.range()];
            for i in facts.exists.into_iter().chain(values.iter().map(|v| v.1)) {
                *words.entry(i / 64).or_default() |= 1 << (i % 64);
            }
        }
        let from = self.words.len() as u32;
        self.words.extend(words);
        Span {
            from,
            to: self.words.len() as u32,
        }
    }

    fn add_attributes(&mut self, list: Vec<AttributeBuild>) -> Span {
        let from = self.attributes.len() as u32;
        for a in list {
            let values_from = self.values.len() as u32;
            self.values.extend(a.values);
            let values = &self.values[values_from as usize..];
            let remembered =
                values.len() <= 64 && values.iter().any(|(v, _)| matches!(v, Value::Test(_)));
            self.attributes.push(AttributeFacts {
                name: a.name,
                exists: a.exists,
                values: Span {
                    from: values_from,
                    to: self.values.len() as u32,
                },
                remembered,
            });
        }
        Span {
            from,
            to: self.attributes.len() as u32,
        }
    }

    /// Which facts the document of `root` (its root element) has, by one pass over its
    /// elements (the engine looks for them through the element index instead, as rules
    /// ask: [`Prefilter::facts`]).
    pub fn scan(&self, root: roxmltree::Node<'_, '_>) -> Present {
        let mut scan = self.start_scan(root);
        index::each_element(root, |node, name, group| scan.element(node, name, group));
        scan.finish()
    }

    /// A scan of the document of `root`: the root element's facts are marked; those of
    /// every element are marked by [`Scan::element`].
    pub fn start_scan(&self, root: roxmltree::Node<'_, '_>) -> Scan<'_> {
        let mut scan = Scan {
            filter: self,
            present: Present::new(self.facts),
        };
        if let Some(i) = self.root.exists {
            scan.present.set(i);
        }
        scan.attributes(self.root.attributes, root);
        scan
    }

    /// [`Prefilter::scan`] the plain way, for the tests that check the scan: each element
    /// looked up by name, each attribute by name.
    #[cfg(test)]
    pub(crate) fn scan_walked(&self, root: roxmltree::Node<'_, '_>) -> Present {
        let mut present = Present::new(self.facts);
        let mut mark = |exists: Option<u32>, facts: Span, node: roxmltree::Node<'_, '_>| {
            if let Some(i) = exists {
                present.set(i);
            }
            for a in &self.attributes[facts.range()] {
                let Some(value) = node.attribute(a.name.as_str()) else {
                    continue;
                };
                if let Some(i) = a.exists {
                    present.set(i);
                }
                for (wanted, i) in &self.values[a.values.range()] {
                    if wanted.holds(value, index::name_key(value)) {
                        present.set(*i);
                    }
                }
            }
        };
        mark(self.root.exists, self.root.attributes, root);
        for node in root.descendants().filter(roxmltree::Node::is_element) {
            let name = node.tag_name().name();
            if let Some(facts) = self.elements.iter().find(|e| e.name == name) {
                mark(facts.exists, facts.attributes, node);
            }
            mark(None, self.any_element, node);
        }
        present
    }

    /// What the document of `root` has, each fact looked for when first asked
    /// ([`Prefilter::may_fire`]) through the document's element index.
    pub fn facts<'p, 'a, 'i>(&'p self, root: roxmltree::Node<'a, 'i>) -> Facts<'p, 'a, 'i> {
        let mut facts = Facts {
            filter: self,
            root,
            words: vec![Word::default(); self.facts.div_ceil(64) as usize],
        };
        if let Some(i) = self.root.exists {
            facts.set(i, true);
        }
        facts
    }

    /// Whether rule `index` may fire in the document `facts` describes (`true` for a
    /// rule added after the prefilter was built). Looks for the facts the rule needs and
    /// `facts` does not know yet, as long as they may decide.
    #[inline]
    pub fn may_fire(&self, index: usize, facts: &mut Facts<'_, '_, '_>) -> bool {
        !self.ruled_out(index, facts) && self.may_fire_looking_for(index, facts)
    }

    /// Whether a fact `facts` knows not to hold rules rule `index` out (looking for
    /// nothing, and reading only the prefilter's own compact lists: the engine asks this
    /// first, before it reads anything of the rule).
    #[inline]
    pub fn ruled_out(&self, index: usize, facts: &Facts<'_, '_, '_>) -> bool {
        let Some(rule) = self.needs.rules.get(index) else {
            return false;
        };
        self.needs.all[rule.all.range()].iter().any(|&(w, bits)| {
            let word = facts.words[w as usize];
            word.known & !word.holds & bits != 0
        })
    }

    /// [`Prefilter::may_fire`] for a rule not [`Prefilter::ruled_out`]: looks for the
    /// facts the rule needs and `facts` does not know yet, as long as they may decide.
    #[inline]
    pub fn may_fire_looking_for(&self, index: usize, facts: &mut Facts<'_, '_, '_>) -> bool {
        match self.needs.rules.get(index) {
            Some(&rule) => self.may_fire_looking(rule, facts),
            None => true,
        }
    }

    /// [`Prefilter::may_fire`] once no fact known rules the rule out.
    #[inline]
    fn may_fire_looking(&self, rule: RuleNeeds, facts: &mut Facts<'_, '_, '_>) -> bool {
        let needs = &self.needs;
        let all = &needs.all[rule.all.range()];
        all.iter().all(|&(w, bits)| facts.all_hold(w, bits))
            && rule.clauses.range().all(|c| {
                needs.any[needs.any_ends[c] as usize..needs.any_ends[c + 1] as usize]
                    .iter()
                    .any(|&(w, bits)| facts.some_holds(w, bits))
            })
    }

    /// Whether rule `index`'s condition can name witnesses (`None` for a rule added after
    /// the prefilter was built).
    pub fn has_witnesses(&self, index: usize) -> Option<bool> {
        self.witnesses.get(index).copied()
    }
}

/// One document's scan (see [`Prefilter::start_scan`]).
pub struct Scan<'p> {
    filter: &'p Prefilter,
    present: Present,
}

impl Scan<'_> {
    /// Marks the facts `node` (named `name`, in index group `group`) has.
    #[inline]
    pub fn element(&mut self, node: roxmltree::Node<'_, '_>, name: &str, group: usize) {
        let filter = self.filter;
        if let Some(&[from, to]) = filter.groups.get(group..group + 2)
            && from != to
        {
            for facts in &filter.elements[from as usize..to as usize] {
                if same(&facts.name, name) {
                    if let Some(i) = facts.exists {
                        self.present.set(i);
                    }
                    self.attributes(facts.attributes, node);
                    break;
                }
            }
        }
        self.attributes(filter.any_element, node);
    }

    /// Marks the facts among `facts` that `node`'s attributes satisfy.
    #[inline]
    fn attributes(&mut self, facts: Span, node: roxmltree::Node<'_, '_>) {
        if facts.is_empty() {
            return;
        }
        let filter = self.filter;
        let present = &mut self.present;
        ValueMasks::with(|masks| {
            mark_attributes(
                filter,
                &filter.attributes[facts.range()],
                node,
                masks,
                |i| present.set(i),
            );
        });
    }

    pub fn finish(self) -> Present {
        self.present
    }
}

#[cfg(test)]
mod tests {
    use super::ValueMasks;
    use crate::selector::{Fact, Namespaces, Selector};

    /// A remembered mask is the one computed for that attribute and text; other
    /// attributes, other texts and texts too long to keep are computed anew.
    #[test]
    fn value_masks_remember_per_attribute_and_text() {
        let mut masks = ValueMasks(Vec::new());
        let mut mask = |tag: u64, text: &str, compute: &dyn Fn() -> u64| {
            let tag = (1 << 63) | tag;
            masks.mask(tag, text, crate::selector::index::name_key(text), compute)
        };
        assert_eq!(mask(3, "0x01", &|| 0b101), 0b101);
        assert_eq!(mask(3, "0x01", &|| unreachable!("kept")), 0b101);
        assert_eq!(mask(4, "0x01", &|| 0b10), 0b10);
        assert_eq!(mask(3, "0x1", &|| 0b1), 0b1);
        assert_eq!(mask(3, "0x01", &|| unreachable!("kept")), 0b101);
        // The same attribute's values index in another prefilter.
        assert_eq!(mask(3 | 2 << 32, "0x01", &|| 0b11), 0b11);
        let long = "x".repeat(ValueMasks::TEXT + 1);
        assert_eq!(mask(3, &long, &|| 7), 7);
        assert_eq!(mask(3, &long, &|| 8), 8);
        let longest = "y".repeat(ValueMasks::TEXT);
        assert_eq!(mask(5, &longest, &|| 9), 9);
        assert_eq!(mask(5, &longest, &|| unreachable!("kept")), 9);
        // Long texts, whose keys are hashes, are told apart by their text.
        let other = format!("{}z{}", "y".repeat(10), "y".repeat(ValueMasks::TEXT - 11));
        let key = crate::selector::index::name_key;
        assert_eq!(key(&other), key(&longest));
        assert_eq!(mask(5, &other, &|| 10), 10);
        assert_eq!(mask(5, &longest, &|| 11), 11);
    }

    /// What one prefilter remembers of its values is not taken for another's: two rule
    /// sets built alike (the same attribute at the same place of their values) whose tests
    /// disagree on a text, linted one after the other on this thread.
    #[test]
    fn value_masks_are_kept_per_prefilter() {
        let dir = std::env::temp_dir().join(format!("virt-lint-masks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("slot-one.yaml");
        std::fs::write(
            &file,
            "rules:\n  - id: test/slot-one\n    severity: error\n    message: slot one\n    summary: slot one\n    \
             explanation: slot one\n    \
             for-each: \"devices//address[@type='pci']\"\n    when:\n      value: \"@slot\"\n      \
             matches: \"^0x01$\"\n",
        )
        .unwrap();
        let only = |mut rules: crate::rules::RuleSet, id: &str| {
            rules.retain(|rule| rule.id == id);
            rules.select(|_, _| true);
            assert_eq!(rules.enabled().count(), 1, "{id}");
            rules
        };
        let out_of_range = only(
            crate::rules::load_builtin().unwrap(),
            "address/pci-slot-out-of-range",
        );
        let one = only(
            crate::rules::load_documented(&[file]).unwrap(),
            "test/slot-one",
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let text = "<domain type='kvm'><devices><interface type='network'>\
                    <address type='pci' domain='0' bus='0' slot='0x01' function='0'/>\
                    </interface></devices></domain>";
        let doc = crate::document::Document::parse(text).unwrap();
        let fired = |rules: &crate::rules::RuleSet| crate::engine::lint(&doc, rules).len();
        assert_eq!(fired(&out_of_range), 0);
        assert_eq!(fired(&one), 1);
        assert_eq!(fired(&out_of_range), 0);
    }

    /// One look at the elements of a name learns every fact about their attributes and
    /// marks exactly those known (through the runs of `words` worked out beforehand):
    /// none is left to be looked for again, and no other is taken for looked for.
    #[test]
    fn one_look_marks_its_facts_known() {
        let rules = crate::rules::load_builtin().unwrap();
        let filter = rules.prefilter();
        let text = "<domain type='kvm'><os><type machine='pc-q35-9.0'>hvm</type></os>\
                    <devices><controller type='pci' index='0' model='pcie-root'/>\
                    <interface type='network'><mac address='52:54:00:00:00:01'/>\
                    <address type='pci' domain='0' bus='0' slot='1' function='0'/>\
                    </interface></devices></domain>";
        let doc = crate::document::Document::parse(text).unwrap();
        let _scope = crate::selector::index::Scope::start(doc.root());
        let mut looked = 0;
        for element in filter.elements.iter().chain([&filter.root]) {
            let attributes = &filter.attributes[element.attributes.range()];
            let their: Vec<u32> = attributes
                .iter()
                .flat_map(|a| {
                    let values = filter.values[a.values.range()].iter().map(|v| v.1);
                    a.exists.into_iter().chain(values)
                })
                .collect();
            let Some(&first) = their.first() else {
                continue;
            };
            let mut facts = filter.facts(doc.root());
            assert!(facts.mark_elements());
            let mut expected: Vec<u64> = facts.words.iter().map(|w| w.known).collect();
            for &i in &their {
                assert_eq!(expected[(i / 64) as usize] & (1 << (i % 64)), 0, "{i}");
                expected[(i / 64) as usize] |= 1 << (i % 64);
            }
            facts.learn(first);
            let known: Vec<u64> = facts.words.iter().map(|w| w.known).collect();
            assert_eq!(known, expected, "<{}>", element.name);
            looked += 1;
        }
        assert!(looked > 50, "{looked}");
    }

    /// The facts known once the element names are marked rule most rules out, before
    /// anything is looked for, and never one that may fire.
    #[test]
    fn known_facts_rule_out_most_rules() {
        let rules = crate::rules::load_builtin().unwrap();
        let filter = rules.prefilter();
        let text = "<domain type='kvm'><os><type machine='pc-q35-9.0'>hvm</type></os>\
                    <devices><disk type='file'><target dev='vda' bus='virtio'/></disk>\
                    <interface type='network'><mac address='52:54:00:00:00:01'/></interface>\
                    </devices></domain>";
        let doc = crate::document::Document::parse(text).unwrap();
        let _scope = crate::selector::index::Scope::start(doc.root());
        let mut facts = filter.facts(doc.root());
        assert!(facts.mark_elements());
        // Whether rule `i` may fire, from every fact (found by one pass).
        let super::Present(present) = filter.scan(doc.root());
        let needs = &filter.needs;
        let may_fire = |i: usize| {
            let rule = needs.rules[i];
            let holds = |&(w, bits): &(u32, u64)| present[w as usize] & bits;
            needs.all[rule.all.range()].iter().all(|p| holds(p) == p.1)
                && rule.clauses.range().all(|c| {
                    let clause =
                        &needs.any[needs.any_ends[c] as usize..needs.any_ends[c + 1] as usize];
                    clause.iter().any(|p| holds(p) != 0)
                })
        };
        let n = rules.rules.len();
        let out: Vec<usize> = (0..n).filter(|&i| filter.ruled_out(i, &facts)).collect();
        assert!(out.len() * 2 > n, "{} of {n}", out.len());
        for &i in &out {
            assert!(!may_fire(i), "{}", rules.rules[i].id);
        }
        // As the engine asks: the rules not ruled out are looked at further, and the
        // outcome is what every fact says.
        let mut fire = 0;
        for i in 0..n {
            let engine = !filter.ruled_out(i, &facts) && filter.may_fire_looking_for(i, &mut facts);
            assert_eq!(engine, may_fire(i), "{}", rules.rules[i].id);
            fire += usize::from(engine);
        }
        assert!(fire > 10, "{fire}");
    }

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

    /// A predicate's relative path needs the elements it names; nothing is needed from
    /// a path under `not`, in an `or`, or compared with a boolean. A wildcard below a
    /// named step gives no attribute facts (they would be about every element); a
    /// leading one does.
    #[test]
    fn facts_from_predicate_paths() {
        assert_eq!(
            facts("clock/timer[catchup]"),
            [["catchup"], ["clock"], ["timer"]]
        );
        assert_eq!(
            facts("devices/disk[driver/@io = 'native']"),
            [["devices"], ["disk"], ["driver"]]
        );
        assert_eq!(
            facts("devices/*[source[2]][target/@port > 1 and alias]"),
            [["alias"], ["devices"], ["source"], ["target"]]
        );
        assert_eq!(
            facts("cpu[numa/cell[@id = '0']/distances]"),
            [["cell"], ["cpu"], ["distances"], ["numa"]]
        );
        assert_eq!(facts("video[not(model)]"), [["video"]]);
        assert_eq!(facts("video[model or address]"), [["video"]]);
        assert_eq!(facts("video[model = true()]"), [["video"]]);
        assert_eq!(facts("video[/domain/devices]"), [["video"]]);
        assert_eq!(
            facts("features/hyperv/*[@state = 'on']"),
            [["features"], ["hyperv"]]
        );
        assert_eq!(
            facts("hyperv/*[@state = 'on'][vendor]"),
            [["hyperv"], ["vendor"]]
        );
        assert_eq!(facts("*[@state = 'on']"), [["*@state=on"]]);
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
            let mut facts = rules.prefilter().facts(parsed.root());
            assert_eq!(
                rules.prefilter().may_fire(index, &mut facts),
                fires,
                "{slot}"
            );
            assert_eq!(
                crate::engine::lint(&parsed, &rules).len(),
                usize::from(fires),
                "{slot}"
            );
        }
    }
}
