//! Conditions: the `when:` tree of a rule (`all`, `any`, `not`, `present`, `absent`,
//! value tests, `test:` expressions, `unique`, `is: <definition>`) and its evaluation
//! against a context node.
//!
//! Most conditions are true or false at a context. `unique` is different: it holds at
//! every item whose key an earlier item already has, so a rule using it fires once per
//! duplicate, at the duplicate, pointing back at the first ([`Witness`]).

use std::borrow::Cow;
use std::collections::HashMap;

use roxmltree::Node;

use crate::rules::Lazy;
use crate::selector::shape::{AttributeCheck, AttributePath, ChildPath};
use crate::selector::text::{same, same_opt, starts_with};
use crate::selector::{Clause, Expression, Item, Key, Normalize, Selector, normalize};
use std::sync::OnceLock;

use regex_lite::Regex;

use crate::selector::pattern::Simple;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Present(Selector),
    Absent(Selector),
    /// A named definition, by its index in [`Definitions`].
    Is(usize),
    /// True when at least one item the selector picks passes the test.
    Value(ValueCondition),
    /// An XPath expression, true by its boolean value (`count(x) > 1`,
    /// `quantity(currentMemory) > quantity(memory)`).
    Test(Expression),
    /// Holds at each item whose key repeats an earlier item's key.
    Unique(Unique),
    /// Holds at each item whose set shares a member with an earlier item's set.
    Disjoint(Disjoint),
}

/// `value: SELECTOR` with `as:` and one test.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ValueCondition {
    pub selector: Selector,
    pub normalize: Normalize,
    pub test: ValueTest,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ValueTest {
    Equals(String),
    In(Vec<String>),
    Matches(Pattern),
    Compare(Comparison, f64),
}

/// A regular expression (`matches:`), kept as its source and compiled on first use: the
/// compiled built-in rule set stores patterns as text, and most of a run's patterns are
/// never needed (their rule's other conditions fail first).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub struct Pattern {
    source: String,
    compiled: OnceLock<Matcher>,
    /// Distinct for each pattern made (clones share it): the key of its remembered
    /// answers ([`matches_cached`]).
    id: usize,
}

/// A compiled [`Pattern`]: the fast matcher when the pattern is in its subset
/// ([`Simple`]), `regex_lite` otherwise.
#[derive(Debug, Clone)]
enum Matcher {
    Simple(Simple),
    Regex(Regex),
}

impl Matcher {
    fn new(source: &str, regex: Option<Regex>) -> Matcher {
        match Simple::compile(source) {
            Some(simple) => Matcher::Simple(simple),
            // Only a pattern `Pattern::new` accepted is ever stored: the built-in set's
            // patterns were compiled by build.rs before they were written out.
            None => Matcher::Regex(regex.unwrap_or_else(|| {
                Regex::new(source).expect("pattern checked when its rule was loaded")
            })),
        }
    }

    fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::Simple(simple) => simple.is_match(text),
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

/// The next [`Pattern::id`].
static NEXT_PATTERN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn next_pattern_id() -> usize {
    NEXT_PATTERN.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Pattern {
    /// Compiles `source` now, so that a bad pattern is reported when its rule is loaded.
    pub fn new(source: &str) -> Result<Pattern, regex_lite::Error> {
        let regex = Regex::new(source)?;
        Ok(Pattern {
            source: source.to_owned(),
            compiled: OnceLock::from(Matcher::new(source, Some(regex))),
            id: next_pattern_id(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    fn matcher(&self) -> &Matcher {
        self.compiled
            .get_or_init(|| Matcher::new(&self.source, None))
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.matcher().is_match(text)
    }
}

impl From<String> for Pattern {
    fn from(source: String) -> Pattern {
        Pattern {
            source,
            compiled: OnceLock::new(),
            id: next_pattern_id(),
        }
    }
}

impl From<Pattern> for String {
    fn from(pattern: Pattern) -> String {
        pattern.source
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Comparison {
    GreaterThan,
    AtLeast,
    LessThan,
    AtMost,
}

impl Comparison {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Comparison::GreaterThan => a > b,
            Comparison::AtLeast => a >= b,
            Comparison::LessThan => a < b,
            Comparison::AtMost => a <= b,
        }
    }
}

/// [`Pattern::is_match`], remembered per pattern and text on this thread: the same few
/// values (`0x00`, `virtio`, `/dev/urandom`) meet the same patterns in document after
/// document, and a lookup costs far less than a match (a tenth of a hash map's, too:
/// this is on the path of every `matches:` test the prefilter and the rules make).
///
/// The table is direct-mapped: [`MATCH_SLOTS`] slots, each holding one pattern id,
/// text and answer; a text whose slot holds another is matched and takes the slot.
///
/// A pattern with the fast matcher ([`Simple`]) skips the table: matching costs less
/// than the lookup.
fn matches_cached(pattern: &Pattern, text: &str) -> bool {
    if let Matcher::Simple(simple) = pattern.matcher() {
        return simple.is_match(text);
    }
    struct Slot {
        /// The pattern's [`Pattern::id`] plus one (0: empty).
        id: usize,
        text: Box<str>,
        answer: bool,
    }
    thread_local! {
        static MATCHES: std::cell::RefCell<Vec<Slot>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let at = (crate::selector::text::hash(text)
        ^ (pattern.id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)) as usize
        & (MATCH_SLOTS - 1);
    MATCHES.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return pattern.matcher().is_match(text);
        };
        if m.is_empty() {
            m.resize_with(MATCH_SLOTS, || Slot {
                id: 0,
                text: Box::default(),
                answer: false,
            });
        }
        let slot = &mut m[at];
        if slot.id == pattern.id + 1 && same(&slot.text, text) {
            return slot.answer;
        }
        let answer = pattern.matcher().is_match(text);
        *slot = Slot {
            id: pattern.id + 1,
            text: text.into(),
            answer,
        };
        answer
    })
}

/// How many answers [`matches_cached`] keeps (a power of two).
const MATCH_SLOTS: usize = 4096;

type FastMap<K, V> = HashMap<K, V, crate::selector::index::FastHash>;

impl ValueTest {
    /// Whether a plain text value passes. Numeric tests read the value as XPath
    /// `number()` does: `inf`, `1e3` and `+5` are not numbers.
    pub fn accepts(&self, value: &str) -> bool {
        self.accepts_text(value)
    }

    /// Whether a value passes once normalised (`key` is `None` when the value does not
    /// read as `normalize` says; only `matches` then looks at the raw text).
    fn accepts_key(&self, normalize: Normalize, key: Option<Key>, raw: &str) -> bool {
        let same = |expected: &str| match &key {
            Some(k) => normalize.text(expected).as_ref() == Some(k),
            None => false,
        };
        match self {
            ValueTest::Equals(expected) => same(expected),
            ValueTest::In(list) => list.iter().any(|v| same(v)),
            ValueTest::Matches(regex) => match &key {
                Some(Key::Text(t)) => matches_cached(regex, t),
                _ => matches_cached(regex, raw),
            },
            ValueTest::Compare(op, bound) => {
                let n = match (&key, normalize.is_numeric()) {
                    (Some(Key::Number(n)), true) => *n,
                    (_, true) | (None, _) => return false,
                    (Some(k), false) => crate::selector::xpath_number(&k.canonical()),
                };
                op.holds(n, *bound)
            }
        }
    }
}

impl ValueTest {
    /// [`ValueTest::accepts`] without building a key (the common `as: text` case).
    fn accepts_text(&self, value: &str) -> bool {
        match self {
            ValueTest::Equals(expected) => same(value, expected),
            ValueTest::In(list) => list.iter().any(|v| same(v, value)),
            ValueTest::Matches(regex) => matches_cached(regex, value),
            ValueTest::Compare(op, bound) => op.holds(crate::selector::xpath_number(value), *bound),
        }
    }
}

/// A `value:` test on a text alone (any `as:` but `quantity`, which reads the element's
/// `unit`): what the prefilter checks attributes with ([`crate::selector::Fact`]).
/// Facts compare by [`TextTest::key`], which says everything the test does.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TextTest {
    key: String,
    kind: TextTestKind,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum TextTestKind {
    /// A `value:` condition's test, after its `as:` normalisation.
    Value(Normalize, ValueTest),
    /// XPath `starts-with(@a, 'prefix')`.
    StartsWith(String),
}

impl TextTest {
    /// The test of `v`, when it reads the text alone.
    fn of(v: &ValueCondition) -> Option<TextTest> {
        if v.normalize == Normalize::Quantity {
            return None;
        }
        let test = match &v.test {
            ValueTest::Equals(s) => format!("= {s}"),
            ValueTest::In(list) => format!("in {}", list.join("\u{0}")),
            ValueTest::Matches(p) => format!("~ {}", p.source()),
            ValueTest::Compare(op, n) => format!("{op:?} {n}"),
        };
        Some(TextTest {
            key: format!("{} {test}", v.normalize),
            kind: TextTestKind::Value(v.normalize, v.test.clone()),
        })
    }

    /// The test `starts-with(., prefix)`.
    pub fn starts_with(prefix: &str) -> TextTest {
        TextTest {
            key: format!("starts-with {prefix}"),
            kind: TextTestKind::StartsWith(prefix.to_owned()),
        }
    }

    /// Whether the test accepts a text (for a `value:` test: whether the condition
    /// accepts an item with this text).
    pub fn accepts(&self, raw: &str) -> bool {
        match &self.kind {
            TextTestKind::Value(Normalize::Text, test) => test.accepts_text(raw),
            TextTestKind::Value(normalize, test) => {
                test.accepts_key(*normalize, normalize.text(raw), raw)
            }
            TextTestKind::StartsWith(prefix) => starts_with(raw, prefix),
        }
    }

    /// What the test does, in words (`text ~ ^0x`, `starts-with pc-`): equal keys, equal
    /// tests.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for TextTest {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for TextTest {}

impl std::hash::Hash for TextTest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for TextTest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TextTest {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(other.key())
    }
}

impl ValueCondition {
    /// Beyond what its selector needs: that the attribute it reads, on an element of a
    /// known name, passes its test (`@slot` matching `^0x[2-9a-f]..` at an `<address>`).
    fn test_clause(&self, context: Option<&[&str]>) -> Option<crate::selector::Clause> {
        let test = TextTest::of(self)?;
        let (elements, name) = self.selector.attribute_of(context)?;
        let mut clause: crate::selector::Clause = elements
            .into_iter()
            .map(|element| crate::selector::Fact::AttributeTest {
                element,
                name: name.clone(),
                test: test.clone(),
            })
            .collect();
        clause.sort();
        clause.dedup();
        (!clause.is_empty()).then_some(clause)
    }

    pub fn holds(&self, ctx: Node<'_, '_>) -> bool {
        self.selector.any(ctx, |item| {
            let raw = item.string_value();
            if self.normalize == Normalize::Text {
                return self.test.accepts_text(&raw);
            }
            self.test
                .accepts_key(self.normalize, self.normalize.item(&item), &raw)
        })
    }
}

/// `disjoint: {for-each: ITEMS, set: SELECTOR}`: the items' sets, libvirt bitmaps such
/// as `0-3,^2` ([`normalize::bitmap`]), may not share a member: the vCPUs of two guest
/// NUMA cells, or of two `<cachetune>`s.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Disjoint {
    /// The items, relative to the context.
    pub for_each: Selector,
    /// Each item's set, relative to the item; an item whose set is absent or not a
    /// bitmap is left out.
    pub set: Selector,
    /// The label of the related place (the first earlier item sharing a member).
    pub label: String,
}

impl Disjoint {
    /// The items whose set shares a member with an earlier item's set, each with the
    /// first such earlier item. The items are few (cells, tunes): each is compared with
    /// every earlier one.
    pub fn overlaps<'a, 'i>(&self, ctx: Node<'a, 'i>) -> Vec<Witness<'a, 'i>> {
        let mut earlier: Vec<(Node<'a, 'i>, Vec<(u32, u32)>)> = Vec::new();
        let mut out = Vec::new();
        for item in self.for_each.select(ctx) {
            let Some(node) = item.node() else { continue };
            let Some(set) = self
                .set
                .first(node)
                .and_then(|v| normalize::bitmap(&v.string_value()))
            else {
                continue;
            };
            if let Some((first, _)) = earlier
                .iter()
                .find(|(_, other)| normalize::first_shared(other, &set).is_some())
            {
                out.push(Witness {
                    node,
                    related: vec![(self.label.clone(), Item::Node(*first))],
                });
            }
            earlier.push((node, set));
        }
        out
    }
}

/// `unique: {for-each: ITEMS, key: ...}`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Unique {
    /// The items that must differ, relative to the context.
    pub for_each: Selector,
    /// The parts of the key, relative to each item.
    pub key: Vec<KeyPart>,
    /// The label of the related place (the first item with the key).
    pub label: String,
    /// A key whose items are not compared (one value per part, read as that part's
    /// values are): `[0, 0, 0, 0]` for libvirt's "pick a PCI address for me".
    pub except: Option<Vec<String>>,
    /// What is worked out once, on first use ([`Prepared`]): `for_each` as candidates and
    /// costly filters, the defaults and the `except` key normalised.
    #[serde(skip)]
    pub split: OnceLock<Box<Prepared>>,
}

/// The candidates of a `unique`'s items, and its costly filters, each with how many
/// parents up from a candidate it applies ([`Selector::split_costly_predicates`]).
pub type SplitItems = (Selector, Vec<(usize, Expression)>);

/// What [`Unique::duplicates`] works out once per `unique`.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `for_each` as a path walked in a plain loop, when it has that shape
    /// ([`ChildPath`]): its items are then neither selected nor filtered by the general
    /// evaluator.
    walk: Option<ChildPath>,
    /// The plain attribute tests of `walk`'s last step, which [`passes_checks`] makes.
    checks: Vec<AttributeCheck>,
    /// Otherwise: `for_each` split into candidates and costly filters, when it has
    /// costly filters.
    split: Option<SplitItems>,
    /// Per key part: its lone attribute or attribute path, and its default, normalised.
    parts: Vec<PreparedPart>,
    /// The `except` key, one value per part, normalised.
    except: Option<Vec<Fixed>>,
    /// The [`key_hash`] of the `except` key: a key with another hash is not it.
    except_hash: Option<u64>,
    /// Whether equal keys always have equal [`key_hash`]es, so that items whose hashes
    /// all differ have no duplicate: not when a numeric part has a default or an `except`
    /// value that is not a number (a text against a number compares as text; see
    /// [`PartValue`]'s equality), nor for keys of more than [`MAX_HASHED_PARTS`] parts.
    hashed: bool,
}

/// How [`key_hash`] reads a key part of an element: a lone attribute, an attribute
/// path, or through a [`PartReader`].
#[derive(Debug, Clone)]
enum Read {
    Attribute(Box<str>),
    Path(AttributePath),
    General,
}

/// One key part, prepared ([`Prepared`]).
#[derive(Debug, Clone)]
struct PreparedPart {
    /// How [`key_hash`] reads it.
    read: Read,
    normalize: Normalize,
    /// The name of the attribute when the part is a lone `@name` in no namespace, which
    /// [`key_hash`] looks up itself (not for a `quantity`: that reads the element's unit).
    attribute: Option<Box<str>>,
    /// The part as an [`AttributePath`] (`../target/@bus`) when it is one and not a lone
    /// attribute.
    path: Option<AttributePath>,
    default: Option<Fixed>,
    /// The [`PartValue::word`] of the default.
    default_word: Option<u64>,
}

impl Prepared {
    fn of(unique: &Unique) -> Prepared {
        let parts: Vec<PreparedPart> = unique
            .key
            .iter()
            .map(|part| {
                let lone = part.selector.lone_attribute();
                PreparedPart {
                    attribute: match lone {
                        Some((None, local)) if part.normalize != Normalize::Quantity => {
                            Some(local.into())
                        }
                        _ => None,
                    },
                    path: match lone {
                        Some(_) => None,
                        None => part.selector.attribute_path(),
                    },
                    read: Read::General,
                    normalize: part.normalize,
                    default_word: None,
                    default: part.default.as_deref().map(|d| part.normalize.fixed(d)),
                }
            })
            .map(|mut part| {
                part.default_word = part.default.as_ref().map(|d| d.value().word());
                part.read = match (&part.attribute, &part.path) {
                    (Some(local), _) => Read::Attribute(local.clone()),
                    (None, Some(path)) if part.normalize != Normalize::Quantity => {
                        Read::Path(path.clone())
                    }
                    _ => Read::General,
                };
                part
            })
            .collect();
        let except: Option<Vec<Fixed>> = unique.except.as_ref().map(|values| {
            unique
                .key
                .iter()
                .zip(values)
                .map(|(part, value)| part.normalize.fixed(value))
                .collect()
        });
        let text_against_number = unique.key.iter().enumerate().any(|(j, part)| {
            part.normalize.is_numeric()
                && (matches!(parts[j].default, Some(Fixed::Text(_)))
                    || except
                        .as_ref()
                        .is_some_and(|e| matches!(e.get(j), Some(Fixed::Text(_)))))
        });
        let walk = unique.for_each.child_path();
        let except_hash = except.as_ref().map(|values| {
            values
                .iter()
                .fold(0, |hash, value| mix(hash, value.value().word()))
        });
        Prepared {
            checks: walk
                .as_ref()
                .map(|walk| walk.attribute_checks().cloned().collect())
                .unwrap_or_default(),
            except_hash,
            split: match walk {
                Some(_) => None,
                None => unique.for_each.split_costly_predicates(),
            },
            walk,
            hashed: !text_against_number && parts.len() <= MAX_HASHED_PARTS,
            parts,
            except,
        }
    }
}

/// One part of a `unique` key.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct KeyPart {
    pub selector: Selector,
    pub normalize: Normalize,
    /// The value when the selector picks nothing (`default: 0` for an omitted PCI
    /// `domain`); without one, an item lacking the part is not compared.
    pub default: Option<String>,
}

/// A place where a condition holds other than the rule's context: the duplicate of a
/// `unique`, with the places it relates to.
#[derive(Debug, Clone)]
pub struct Witness<'a, 'i> {
    pub node: Node<'a, 'i>,
    pub related: Vec<(String, Item<'a, 'i>)>,
}

impl Unique {
    fn prepared(&self) -> &Prepared {
        self.split.get_or_init(|| Box::new(Prepared::of(self)))
    }

    /// The items whose key an earlier item has, each with that earlier item.
    ///
    /// Duplicates are rare: each item's key is first read as a hash (`key_hash`), kept
    /// on the stack, and when no two hashes are equal no two keys are, and there is no
    /// duplicate. Otherwise the keys are read again and grouped (`Unique::group`).
    pub fn duplicates<'a, 'i>(&self, ctx: Node<'a, 'i>) -> Vec<Witness<'a, 'i>> {
        let prepared = self.prepared();
        if let Some(walk) = &prepared.walk {
            if prepared.hashed {
                let mut hashes = Hashes::new();
                // A repeat among candidates is a repeat among the items they include.
                let repeats = walk.any_checked(
                    ctx,
                    |node| passes_checks(&prepared.checks, node),
                    |node, from| {
                        key_hash(&self.key, prepared, Item::Node(node), from)
                            .is_some_and(|hash| hashes.repeats(hash))
                    },
                );
                if !repeats && !hashes.any_repeat() {
                    return Vec::new();
                }
            }
            let items: Vec<Item<'a, 'i>> = walk.select(ctx).into_iter().map(Item::Node).collect();
            if items.len() < 2 {
                return Vec::new();
            }
            return self.group(prepared, &items, &[]);
        }
        // Costly filters of the items (`[not(master)]`) are tested only at the items whose
        // key repeats: the others are neither duplicates nor first occurrences.
        let (candidates, filters) = match &prepared.split {
            Some((candidates, filters)) => (candidates, filters.as_slice()),
            None => (&self.for_each, &[][..]),
        };
        if prepared.hashed && !self.may_repeat(prepared, candidates, ctx) {
            return Vec::new();
        }
        let items = candidates.select(ctx);
        if items.len() < 2 {
            return Vec::new();
        }
        self.group(prepared, &items, filters)
    }

    /// Whether two of the items `candidates` selects at `ctx` may have equal keys:
    /// whether two have equal [`key_hash`]es. The items are visited as the selector
    /// walks to them, in any order, some maybe twice (which only sends the caller
    /// to the exact grouping).
    fn may_repeat(&self, prepared: &Prepared, candidates: &Selector, ctx: Node<'_, '_>) -> bool {
        let mut hashes = Hashes::new();
        let repeats = candidates.any(ctx, |item| {
            key_hash(&self.key, prepared, item, 0).is_some_and(|hash| hashes.repeats(hash))
        });
        repeats || hashes.any_repeat()
    }

    /// The items whose key an earlier item has, each with that earlier item: `items`
    /// grouped by key.
    ///
    /// Keys are read as small values borrowed from the document ([`PartValue`]), kept
    /// one after another for the distinct keys seen so far; a new item's key is compared
    /// with each of them while they are few (the usual case: a guest's PCI addresses,
    /// controllers or disks), and looked up by its text in a hash map beyond
    /// [`LINEAR_SCAN_LIMIT`].
    fn group<'a, 'i>(
        &self,
        prepared: &Prepared,
        items: &[Item<'a, 'i>],
        filters: &[(usize, Expression)],
    ) -> Vec<Witness<'a, 'i>> {
        let mut out = Vec::new();
        let readers: Vec<PartReader<'_>> = self
            .key
            .iter()
            .zip(&prepared.parts)
            .map(|(part, prepared)| PartReader::new(part, prepared))
            .collect();
        let width = readers.len();
        let except: Option<Vec<PartValue<'_>>> = prepared
            .except
            .as_ref()
            .map(|values| values.iter().map(Fixed::value).collect());
        // One key per group of items with equal keys, `width` parts each, then the key
        // being read.
        let mut keys: Vec<PartValue<'_>> = Vec::with_capacity(width * (items.len() + 1));
        // Each item with a key, and its group; the size of each group.
        let mut grouped: Vec<(Item<'a, 'i>, usize)> = Vec::with_capacity(items.len());
        let mut sizes: Vec<usize> = Vec::with_capacity(items.len());
        let mut index: Option<FastMap<String, usize>> = None;
        let mut text = String::new();
        'items: for &item in items {
            let at = keys.len();
            for reader in &readers {
                match reader.read(item) {
                    Some(part) => keys.push(part),
                    None => {
                        keys.truncate(at);
                        continue 'items;
                    }
                }
            }
            let (earlier, key) = keys.split_at(at);
            if except.as_deref() == Some(key) {
                keys.truncate(at);
                continue;
            }
            let group = match &mut index {
                None => earlier.chunks_exact(width).position(|k| same_key(k, key)),
                Some(map) => {
                    key_text(key, &mut text);
                    map.get(text.as_str()).copied()
                }
            };
            let group = match group {
                Some(group) => {
                    keys.truncate(at);
                    sizes[group] += 1;
                    group
                }
                None => {
                    if let Some(map) = &mut index {
                        map.insert(std::mem::take(&mut text), sizes.len());
                    }
                    sizes.push(1);
                    if index.is_none() && sizes.len() > LINEAR_SCAN_LIMIT {
                        let map = keys
                            .chunks_exact(width)
                            .enumerate()
                            .map(|(i, k)| {
                                let mut t = String::new();
                                key_text(k, &mut t);
                                (t, i)
                            })
                            .collect();
                        index = Some(map);
                    }
                    sizes.len() - 1
                }
            };
            grouped.push((item, group));
        }
        if sizes.len() == grouped.len() {
            return out;
        }
        let mut firsts: Vec<Option<Item<'a, 'i>>> = vec![None; sizes.len()];
        for (item, group) in grouped {
            if sizes[group] < 2 || !filters.iter().all(|(up, f)| passes(item, *up, f)) {
                continue;
            }
            match firsts[group] {
                Some(first) => out.push(Witness {
                    node: item.element(),
                    related: vec![(self.label.clone(), first)],
                }),
                None => firsts[group] = Some(item),
            }
        }
        out
    }
}

/// The key hashes of a `unique`'s items seen so far: up to [`Hashes::SMALL`] compared one
/// by one, on the stack; beyond, kept and sorted at the end.
struct Hashes {
    small: [u64; Hashes::SMALL],
    count: usize,
    many: Vec<u64>,
}

impl Hashes {
    const SMALL: usize = 32;

    fn new() -> Hashes {
        Hashes {
            small: [0; Hashes::SMALL],
            count: 0,
            many: Vec::new(),
        }
    }

    /// Adds `hash`; whether it is known to repeat one seen already (else
    /// [`Hashes::any_repeat`] tells at the end).
    #[inline]
    fn repeats(&mut self, hash: u64) -> bool {
        if self.count < Hashes::SMALL {
            if self.small[..self.count].contains(&hash) {
                return true;
            }
            self.small[self.count] = hash;
        } else {
            if self.count == Hashes::SMALL {
                self.many.extend_from_slice(&self.small);
            }
            self.many.push(hash);
        }
        self.count += 1;
        false
    }

    /// Whether two of the hashes beyond the first [`Hashes::SMALL`] are equal.
    fn any_repeat(&mut self) -> bool {
        if self.many.is_empty() {
            return false;
        }
        self.many.sort_unstable();
        self.many.windows(2).any(|w| w[0] == w[1])
    }
}

/// The most key parts [`key_hash`] reads (on the stack).
const MAX_HASHED_PARTS: usize = 8;

/// A hash of `item`'s key: equal keys have equal hashes (when [`Prepared::hashed`]).
/// `None` when the item has no key (a part without default picks nothing) or its key is
/// the `except` key, as [`Unique::group`] reads them. The attributes of an element are
/// looked for from the `from`th one ([`find_attribute`]).
#[inline]
fn key_hash(
    parts: &[KeyPart],
    prepared: &Prepared,
    item: Item<'_, '_>,
    mut from: usize,
) -> Option<u64> {
    let Item::Node(element) = item else {
        return general_key_hash(parts, prepared, item);
    };
    let attributes = element.attributes();
    let mut hash: u64 = 0;
    for (j, prepared_part) in prepared.parts.iter().enumerate() {
        let text = match &prepared_part.read {
            Read::Attribute(local) => find_attribute(&attributes, local, &mut from),
            Read::Path(path) => path.first(element).map(|(_, attribute)| attribute.value()),
            Read::General => {
                let reader = PartReader::new(&parts[j], prepared_part);
                hash = mix(hash, reader.read(item)?.word());
                continue;
            }
        };
        let word = match text {
            Some(text) => text_word(prepared_part.normalize, text),
            None => prepared_part.default_word?,
        };
        hash = mix(hash, word);
    }
    if prepared.except_hash == Some(hash) && is_except(parts, prepared, item) {
        return None;
    }
    Some(hash)
}

/// The [`PartValue::word`] of a part read from `text` (any normalisation but `quantity`).
#[inline(always)]
fn text_word(normalize: Normalize, text: &str) -> u64 {
    match normalize {
        Normalize::Number => match normalize::short_c_integer(text.as_bytes()) {
            // As `PartValue::Number(n as f64).word()`.
            Some(0) => 0,
            Some(n) => (n as f64).to_bits(),
            None => match normalize::c_integer_f64(text) {
                Some(n) => PartValue::Number(n).word(),
                None => number_part(text).word(),
            },
        },
        Normalize::Text => crate::selector::text::hash(text),
        _ => text_value(normalize, Cow::Borrowed(text)).word(),
    }
}

/// Whether `element` passes `checks`: where to look for its next attribute
/// ([`find_attribute`]) when it does. Keys name attributes in the order they are written
/// (`type`, `domain`, `bus`, `slot`, `function`), so each is usually the next one.
#[inline]
fn passes_checks(checks: &[AttributeCheck], element: Node<'_, '_>) -> Option<usize> {
    let attributes = element.attributes();
    let mut from = 0;
    for check in checks {
        if !check.accepts(find_attribute(&attributes, &check.local, &mut from)) {
            return None;
        }
    }
    Some(from)
}

/// [`key_hash`] of any item, each part read by a [`PartReader`].
fn general_key_hash(parts: &[KeyPart], prepared: &Prepared, item: Item<'_, '_>) -> Option<u64> {
    let mut hash: u64 = 0;
    for (part, prepared_part) in parts.iter().zip(&prepared.parts) {
        let reader = PartReader::new(part, prepared_part);
        hash = mix(hash, reader.read(item)?.word());
    }
    if prepared.except_hash == Some(hash) && is_except(parts, prepared, item) {
        return None;
    }
    Some(hash)
}

/// Whether `item`'s key is the `except` key.
#[cold]
fn is_except(parts: &[KeyPart], prepared: &Prepared, item: Item<'_, '_>) -> bool {
    let Some(except) = &prepared.except else {
        return false;
    };
    parts
        .iter()
        .zip(&prepared.parts)
        .zip(except)
        .all(|((part, prepared_part), e)| {
            PartReader::new(part, prepared_part)
                .read(item)
                .is_some_and(|value| value == e.value())
        })
}

/// The value of the attribute named `local` in no namespace, looked for from the
/// `from`th attribute round to it; `from` becomes the place after it.
#[inline(always)]
fn find_attribute<'a>(
    attributes: &roxmltree::Attributes<'a, '_>,
    local: &str,
    from: &mut usize,
) -> Option<&'a str> {
    // Usually the next one.
    if let Some(attribute) = attributes.clone().nth(*from)
        && same(attribute.name(), local)
        && attribute.namespace().is_none()
    {
        *from += 1;
        return Some(attribute.value());
    }
    for (at, attribute) in attributes.clone().enumerate() {
        if same(attribute.name(), local) && attribute.namespace().is_none() {
            *from = at + 1;
            return Some(attribute.value());
        }
    }
    None
}

/// `hash` with the word of one more key part.
#[inline(always)]
fn mix(hash: u64, word: u64) -> u64 {
    (hash.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Whether `filter` holds at the element `up` parents above `item`.
fn passes(item: Item<'_, '_>, up: usize, filter: &Expression) -> bool {
    let mut node = item.element();
    for _ in 0..up {
        match node.parent() {
            Some(parent) => node = parent,
            None => return false,
        }
    }
    filter.eval_bool(node)
}

/// Whether two keys have equal parts, compared from the last: the later parts of a
/// composite key (slot, function, index) tend to differ where the first ones (domain,
/// bus, type) repeat.
#[inline]
fn same_key(a: &[PartValue<'_>], b: &[PartValue<'_>]) -> bool {
    a.iter().rev().zip(b.iter().rev()).all(|(x, y)| x == y)
}

/// How many distinct keys [`Unique::group`] compares one by one before it indexes them
/// by their text.
const LINEAR_SCAN_LIMIT: usize = 32;

/// The key `parts` give `item`, each part normalised; `None` when a part without a
/// default picks nothing (the item is then not compared).
pub fn item_key(parts: &[KeyPart], item: Item<'_, '_>) -> Option<Vec<String>> {
    parts
        .iter()
        .map(|part| {
            let prepared = PreparedPart {
                read: Read::General,
                normalize: part.normalize,
                attribute: None,
                path: None,
                default: part.default.as_deref().map(|d| part.normalize.fixed(d)),
                default_word: None,
            };
            let reader = PartReader::new(part, &prepared);
            let mut text = String::new();
            reader.read(item)?.write_text(&mut text);
            Some(text)
        })
        .collect()
}

/// The text of a composite key: each part's text preceded by its length, so that two
/// keys have the same text exactly when their parts do.
fn key_text(key: &[PartValue<'_>], out: &mut String) {
    out.clear();
    let mut part = String::new();
    for value in key {
        part.clear();
        value.write_text(&mut part);
        crate::selector::normalize::push_integer(out, part.len() as i64);
        out.push(':');
        out.push_str(&part);
    }
}

/// One part of a `unique` key, normalised: a number, or a text borrowed from the document
/// where normalising leaves it as written. Two parts are equal when their texts
/// ([`PartValue::write_text`]) are.
#[derive(Debug, Clone)]
enum PartValue<'a> {
    Number(f64),
    Text(Cow<'a, str>),
}

impl PartValue<'_> {
    /// The part as text: a number as [`Key::canonical`] prints it; a value that does
    /// not read as its normalisation is `raw:` and the value as written.
    fn write_text(&self, out: &mut String) {
        match self {
            PartValue::Number(n) => Key::Number(*n).write_canonical(out),
            PartValue::Text(t) => out.push_str(t),
        }
    }

    /// A hash of the part: equal numbers have equal words (0 and -0, any two NaN), and
    /// equal texts. A number and a text that are equal (a number and the text it prints
    /// as) do not: [`Prepared::hashed`] says when that cannot happen.
    #[inline]
    fn word(&self) -> u64 {
        match self {
            PartValue::Number(n) if *n == 0.0 => 0,
            PartValue::Number(n) if n.is_nan() => f64::NAN.to_bits(),
            PartValue::Number(n) => n.to_bits(),
            PartValue::Text(t) => crate::selector::text::hash(t),
        }
    }
}

impl PartialEq for PartValue<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            // Numbers print alike exactly when they are equal (0 and -0 both print `0`),
            // or both not a number.
            (PartValue::Number(a), PartValue::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            (PartValue::Text(a), PartValue::Text(b)) => a == b,
            // A default that does not read as its normalisation, kept as written, against
            // a number: only their texts can tell.
            (PartValue::Number(n), PartValue::Text(t))
            | (PartValue::Text(t), PartValue::Number(n)) => Key::Number(*n).canonical() == **t,
        }
    }
}

/// Reads one [`KeyPart`] of items: a lone `@name` part is one attribute lookup, a part
/// that is an [`AttributePath`] a short walk.
struct PartReader<'k> {
    part: &'k KeyPart,
    attribute: Option<(Option<&'k str>, &'k str)>,
    path: Option<&'k AttributePath>,
    /// The default, normalised.
    default: Option<&'k Fixed>,
}

/// A value written in the rule (a `default`, an `except`), normalised once.
#[derive(Debug, Clone)]
enum Fixed {
    Number(f64),
    Text(String),
}

impl Fixed {
    fn value(&self) -> PartValue<'_> {
        match self {
            Fixed::Number(n) => PartValue::Number(*n),
            Fixed::Text(t) => PartValue::Text(Cow::Borrowed(t)),
        }
    }
}

impl Normalize {
    /// A value written in the rule, read as this normalisation reads values; one that
    /// does not read as its kind is kept as written (without `raw:`).
    fn fixed(self, text: &str) -> Fixed {
        match self {
            Normalize::Text => Fixed::Text(text.to_owned()),
            n => match n.text(text) {
                Some(Key::Number(v)) => Fixed::Number(v),
                Some(Key::Text(t)) => Fixed::Text(t),
                None => Fixed::Text(text.to_owned()),
            },
        }
    }
}

impl<'k> PartReader<'k> {
    fn new(part: &'k KeyPart, prepared: &'k PreparedPart) -> Self {
        PartReader {
            part,
            attribute: part.selector.lone_attribute(),
            path: prepared.path.as_ref(),
            default: prepared.default.as_ref(),
        }
    }

    /// The normalised part of `item`; `None` when the part has no default and picks
    /// nothing.
    fn read<'v, 'a: 'v>(&'v self, item: Item<'a, '_>) -> Option<PartValue<'v>>
    where
        'k: 'v,
    {
        let picked = match item {
            // An attribute item is its own key (`key: .`).
            Item::Attribute { .. } => Some(item),
            Item::Node(element) => match self.attribute {
                Some((namespace, local)) => {
                    let attribute = element
                        .attributes()
                        .find(|a| same(a.name(), local) && same_opt(a.namespace(), namespace));
                    return self.read_attribute(element, attribute);
                }
                None => match self.path {
                    Some(path) => path
                        .first(element)
                        .map(|(element, attribute)| Item::Attribute { element, attribute }),
                    None => self.part.selector.first(element),
                },
            },
        };
        self.read_picked(picked)
    }

    /// The normalised part of `element`, a lone `@name` part, when `attribute` is
    /// `element`'s attribute of that name.
    #[inline]
    fn read_attribute<'v, 'a: 'v, 'i>(
        &'v self,
        element: Node<'a, 'i>,
        attribute: Option<roxmltree::Attribute<'a, 'i>>,
    ) -> Option<PartValue<'v>>
    where
        'k: 'v,
    {
        // A number needs only the text.
        if self.part.normalize == Normalize::Number {
            return match attribute {
                Some(a) => Some(number_part(a.value())),
                None => self.default.map(Fixed::value),
            };
        }
        self.read_picked(attribute.map(|attribute| Item::Attribute { element, attribute }))
    }

    /// The normalised part when the part's selector picks `picked`.
    fn read_picked<'v, 'a: 'v>(&'v self, picked: Option<Item<'a, '_>>) -> Option<PartValue<'v>>
    where
        'k: 'v,
    {
        let Some(picked) = picked else {
            return self.default.map(Fixed::value);
        };
        let text = picked.string_value();
        if self.part.normalize == Normalize::Quantity {
            return Some(match normalize::item_quantity(&picked, None) {
                Some(n) => PartValue::Number(n),
                None => PartValue::Text(Cow::Owned(format!("raw:{text}"))),
            });
        }
        Some(text_value(self.part.normalize, text))
    }
}

/// A key part read from `text` as `normalize` reads it (any but `quantity`, which reads
/// the element's unit too): a value that does not read as its kind is `raw:` and the
/// value as written.
#[inline]
fn text_value(normalize: Normalize, text: Cow<'_, str>) -> PartValue<'_> {
    let value = match normalize {
        Normalize::Text => return PartValue::Text(text),
        Normalize::Number => normalize::c_integer_f64(&text).map(PartValue::Number),
        Normalize::Case
            if text
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase()) =>
        {
            return PartValue::Text(text);
        }
        n => n.text(&text).map(|key| match key {
            Key::Number(v) => PartValue::Number(v),
            Key::Text(t) => PartValue::Text(Cow::Owned(t)),
        }),
    };
    value.unwrap_or_else(|| PartValue::Text(Cow::Owned(format!("raw:{text}"))))
}

/// A `number` key part of `text` (`raw:` and the text when it is not one).
#[inline]
fn number_part(text: &str) -> PartValue<'_> {
    match normalize::c_integer_f64(text) {
        Some(n) => PartValue::Number(n),
        None => PartValue::Text(Cow::Owned(format!("raw:{text}"))),
    }
}

/// Shared definitions evaluated once per document: while a document is linted
/// ([`memo::Document`] alive on this thread), the value of each definition at the root
/// element is kept, so the twenty rules that ask `is: windows-guest` evaluate it once.
/// Only root-element results are kept: a definition asked at another element (a
/// `for-each` rule's) is evaluated there each time.
pub mod memo {
    use std::cell::RefCell;

    use roxmltree::Node;

    /// The document being linted: its root element, the document's address (to tell its
    /// nodes from another document's; 0 while no [`Document`] is alive), and per
    /// definition its value at the root element and whether its value is the same at every
    /// element (all its paths absolute). The lists keep their room from one document to
    /// the next.
    struct State {
        root: u32,
        doc: usize,
        values: Vec<Option<bool>>,
        context_free: Vec<Option<bool>>,
    }

    thread_local! {
        static STATE: RefCell<State> = const {
            RefCell::new(State {
                root: 0,
                doc: 0,
                values: Vec::new(),
                context_free: Vec::new(),
            })
        };
    }

    fn doc_key(node: Node<'_, '_>) -> usize {
        std::ptr::from_ref(node.document()) as usize
    }

    /// Keeps definition values for one document while alive (one per `engine::lint`).
    pub struct Document(());

    impl Document {
        pub fn start(root: Node<'_, '_>) -> Document {
            STATE.with(|r| {
                if let Ok(mut state) = r.try_borrow_mut() {
                    state.root = root.id().get();
                    state.doc = doc_key(root);
                    state.values.clear();
                    state.context_free.clear();
                }
            });
            Document(())
        }
    }

    impl Drop for Document {
        fn drop(&mut self) {
            STATE.with(|r| {
                if let Ok(mut state) = r.try_borrow_mut() {
                    state.doc = 0;
                }
            });
        }
    }

    /// Definition `index` at `ctx`: the kept value, or `eval()`'s. Kept when `ctx` is the
    /// root element of the document being linted, or any element of it when
    /// `context_free()` says the definition's value is the same everywhere (asked once
    /// per document).
    pub(super) fn definition(
        index: usize,
        ctx: Node<'_, '_>,
        context_free: impl FnOnce() -> bool,
        eval: impl FnOnce() -> bool,
    ) -> bool {
        let doc = doc_key(ctx);
        // `None`: not kept; `Some(known)`: kept, `known` if already evaluated.
        let kept = STATE.with(|r| {
            let state = r.try_borrow().ok()?;
            if state.doc != doc {
                return None;
            }
            let known = state.values.get(index).copied().flatten();
            if state.root == ctx.id().get() {
                Some(Ok(known))
            } else {
                match state.context_free.get(index).copied().flatten() {
                    Some(true) => Some(Ok(known)),
                    Some(false) => None,
                    None => Some(Err(known)),
                }
            }
        });
        let known = match kept {
            None => return eval(),
            Some(Ok(known)) => known,
            Some(Err(known)) => {
                // Whether the definition is context-free, not yet asked in this document.
                let free = context_free();
                keep(doc, index, free, |state| &mut state.context_free);
                if !free {
                    return eval();
                }
                known
            }
        };
        if let Some(value) = known {
            return value;
        }
        // Evaluated without the borrow held: definitions refer to definitions.
        let value = eval();
        keep(doc, index, value, |state| &mut state.values);
        value
    }

    /// Keeps `value` at `index` of the list `list` picks, while document `doc` is the
    /// one linted.
    fn keep(
        doc: usize,
        index: usize,
        value: bool,
        list: impl FnOnce(&mut State) -> &mut Vec<Option<bool>>,
    ) {
        STATE.with(|r| {
            if let Ok(mut state) = r.try_borrow_mut()
                && state.doc == doc
            {
                let list = list(&mut state);
                if list.len() <= index {
                    list.resize(index + 1, None);
                }
                list[index] = Some(value);
            }
        });
    }
}

/// The named conditions every rule file may refer to with `is:`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Definitions {
    pub names: Vec<String>,
    /// Parallel to `names`. Serialised apart by [`crate::rules::compiled`], so that the
    /// built-in set deserialises a definition when a document first needs it.
    #[serde(skip)]
    pub conditions: Vec<Lazy<Condition>>,
}

impl Definitions {
    /// A definition's condition.
    pub fn condition(&self, index: usize) -> Option<&Condition> {
        self.conditions.get(index).map(Lazy::get)
    }

    pub fn push(&mut self, name: String, condition: Condition) {
        self.names.push(name);
        self.conditions.push(Lazy::new(condition));
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

impl Condition {
    pub fn eval(&self, ctx: Node<'_, '_>, defs: &Definitions) -> bool {
        match self {
            Condition::All(list) => list.iter().all(|c| c.eval(ctx, defs)),
            Condition::Any(list) => list.iter().any(|c| c.eval(ctx, defs)),
            Condition::Not(inner) => !inner.eval(ctx, defs),
            Condition::Present(selector) => selector.exists(ctx),
            Condition::Absent(selector) => !selector.exists(ctx),
            Condition::Is(index) => memo::definition(
                *index,
                ctx,
                || defs.condition(*index).is_some_and(|c| c.context_free(defs)),
                || defs.condition(*index).is_some_and(|c| c.eval(ctx, defs)),
            ),
            Condition::Value(v) => v.holds(ctx),
            Condition::Test(expr) => expr.eval_bool(ctx),
            Condition::Unique(u) => !u.duplicates(ctx).is_empty(),
            Condition::Disjoint(d) => !d.overlaps(ctx).is_empty(),
        }
    }

    /// Where the condition holds: `None` when it does not; otherwise the witnesses of
    /// its `unique` parts (empty: it holds at `ctx` itself). `not` and value tests only
    /// say yes or no.
    pub fn witnesses<'a, 'i>(
        &self,
        ctx: Node<'a, 'i>,
        defs: &Definitions,
    ) -> Option<Vec<Witness<'a, 'i>>> {
        match self {
            Condition::All(list) => {
                let mut out = Vec::new();
                for c in list {
                    out.extend(c.witnesses(ctx, defs)?);
                }
                Some(out)
            }
            Condition::Any(list) => {
                let mut out = Vec::new();
                let mut any = false;
                for c in list {
                    if let Some(w) = c.witnesses(ctx, defs) {
                        if w.is_empty() && !out.iter().any(|x: &Witness| x.node == ctx) {
                            out.push(Witness {
                                node: ctx,
                                related: Vec::new(),
                            });
                        }
                        out.extend(w);
                        any = true;
                    }
                }
                match (any, out.as_slice()) {
                    (false, _) => None,
                    // Only the context itself: the plain "holds here".
                    (true, [only]) if only.node == ctx && only.related.is_empty() => {
                        Some(Vec::new())
                    }
                    (true, _) => Some(out),
                }
            }
            Condition::Is(index) => defs.condition(*index)?.witnesses(ctx, defs),
            Condition::Unique(u) => {
                let w = u.duplicates(ctx);
                (!w.is_empty()).then_some(w)
            }
            Condition::Disjoint(d) => {
                let w = d.overlaps(ctx);
                (!w.is_empty()).then_some(w)
            }
            other => other.eval(ctx, defs).then(Vec::new),
        }
    }

    /// Whether evaluating needs [`Condition::witnesses`] (some `unique` or `disjoint`
    /// outside a `not`).
    pub fn has_witnesses(&self, defs: &Definitions) -> bool {
        match self {
            Condition::All(list) | Condition::Any(list) => {
                list.iter().any(|c| c.has_witnesses(defs))
            }
            Condition::Is(index) => defs
                .condition(*index)
                .is_some_and(|c| c.has_witnesses(defs)),
            Condition::Unique(_) | Condition::Disjoint(_) => true,
            _ => false,
        }
    }

    /// Facts a document must have for the condition to hold anywhere in it (all of the
    /// clauses; see [`Selector::required_facts`]): from `present`, value tests and
    /// `unique` items; `all` adds them up; `any` keeps the clauses every branch has, plus
    /// one clause made of each branch's first; `not`, `absent` and `test` need nothing.
    /// `context`: the names the context element may have, when known (a `for-each`'s).
    pub fn required_facts(&self, defs: &Definitions, context: Option<&[String]>) -> Vec<Clause> {
        let names: Option<Vec<&str>> = context.map(|c| c.iter().map(String::as_str).collect());
        let at = |selector: &Selector| selector.required_facts_at(names.as_deref()).0;
        match self {
            Condition::Present(selector) => at(selector),
            Condition::Value(v) => {
                let mut out = at(&v.selector);
                out.extend(v.test_clause(names.as_deref()));
                out.sort();
                out.dedup();
                out
            }
            Condition::Unique(u) => at(&u.for_each),
            Condition::Disjoint(d) => at(&d.for_each),
            Condition::Is(index) => defs
                .condition(*index)
                .map_or_else(Vec::new, |c| c.required_facts(defs, context)),
            Condition::All(list) => {
                let mut out: Vec<Clause> = list
                    .iter()
                    .flat_map(|c| c.required_facts(defs, context))
                    .collect();
                out.sort();
                out.dedup();
                out
            }
            Condition::Any(list) => {
                let branches: Vec<Vec<Clause>> = list
                    .iter()
                    .map(|c| c.required_facts(defs, context))
                    .collect();
                let Some((first, others)) = branches.split_first() else {
                    return Vec::new();
                };
                let mut out: Vec<Clause> = first
                    .iter()
                    .filter(|clause| others.iter().all(|b| b.contains(clause)))
                    .cloned()
                    .collect();
                if branches.iter().all(|b| !b.is_empty()) {
                    // From each branch its most telling clause: one an ordinary guest
                    // is least likely to satisfy (an attribute value rather than an
                    // element every guest has).
                    let mut either: Clause = branches
                        .iter()
                        .flat_map(|b| most_selective(b).clone())
                        .collect();
                    either.sort();
                    either.dedup();
                    out.push(either);
                }
                out.sort();
                out.dedup();
                out
            }
            Condition::Not(_) | Condition::Absent(_) | Condition::Test(_) => Vec::new(),
        }
    }

    /// Whether the condition has the same value at every element of a document: each
    /// of its selectors is absolute (`/domain/os/type[...]`), and so are the definitions
    /// it names. `test:` expressions are not looked into (taken as depending on the
    /// context).
    pub fn context_free(&self, defs: &Definitions) -> bool {
        match self {
            Condition::All(list) | Condition::Any(list) => {
                list.iter().all(|c| c.context_free(defs))
            }
            Condition::Not(inner) => inner.context_free(defs),
            Condition::Present(s) | Condition::Absent(s) => s.is_absolute(),
            Condition::Value(v) => v.selector.is_absolute(),
            // Keys are read relative to each item, not to the context.
            Condition::Unique(u) => u.for_each.is_absolute(),
            Condition::Disjoint(d) => d.for_each.is_absolute(),
            Condition::Is(index) => defs.condition(*index).is_some_and(|c| c.context_free(defs)),
            Condition::Test(_) => false,
        }
    }

    /// The definitions this condition names directly or through nested conditions.
    pub fn referenced_definitions(&self, out: &mut Vec<usize>) {
        match self {
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.referenced_definitions(out))
            }
            Condition::Not(inner) => inner.referenced_definitions(out),
            Condition::Is(index) => out.push(*index),
            Condition::Present(_)
            | Condition::Absent(_)
            | Condition::Value(..)
            | Condition::Test(_)
            | Condition::Unique(_)
            | Condition::Disjoint(_) => {}
        }
    }
}

/// Of clauses that must all hold, the one a document is least likely to satisfy by
/// chance: the one whose weakest fact is strongest (an attribute's value over an
/// attribute over an element), then the one with fewest facts.
fn most_selective(clauses: &[Clause]) -> &Clause {
    use crate::selector::Fact;
    let strength = |fact: &Fact| match fact {
        Fact::AttributeTest { .. }
        | Fact::Attribute {
            value: Some(_),
            element: Some(_),
            ..
        } => 3,
        Fact::Attribute { value: Some(_), .. }
        | Fact::Attribute {
            element: Some(_), ..
        } => 2,
        Fact::Attribute { .. } => 1,
        Fact::Element(_) => 0,
    };
    clauses
        .iter()
        .max_by_key(|c| {
            let weakest = c.iter().map(strength).min().unwrap_or(0);
            (weakest, std::cmp::Reverse(c.len()))
        })
        .unwrap_or(&clauses[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_evaluated_once_per_document_at_the_root() {
        let doc = roxmltree::Document::parse("<domain><os/></domain>").unwrap();
        let other = roxmltree::Document::parse("<domain><os/></domain>").unwrap();
        let root = doc.root_element();
        let os = root.first_element_child().unwrap();
        let calls = std::cell::Cell::new(0);
        let eval = || {
            calls.set(calls.get() + 1);
            true
        };
        let relative = || false;
        assert!(
            memo::definition(3, root, relative, eval),
            "no document: evaluated"
        );
        assert!(memo::definition(3, root, relative, eval));
        assert_eq!(calls.get(), 2);
        {
            let _memo = memo::Document::start(root);
            for _ in 0..3 {
                assert!(memo::definition(3, root, relative, eval));
            }
            assert_eq!(calls.get(), 3, "kept at the root");
            assert!(memo::definition(3, os, relative, eval));
            assert!(memo::definition(3, os, relative, eval));
            assert_eq!(calls.get(), 5, "not kept elsewhere");
            // Another document's root element has the same node id: not kept for it.
            assert!(memo::definition(3, other.root_element(), relative, eval));
            assert_eq!(calls.get(), 6, "another document");
            // A context-free definition is kept at any element of the document.
            let absolute = || true;
            assert!(memo::definition(4, os, absolute, eval));
            assert!(memo::definition(4, os, absolute, eval));
            assert!(memo::definition(4, root, absolute, eval));
            assert_eq!(calls.get(), 7, "context-free: kept everywhere");
        }
        assert!(memo::definition(3, root, relative, eval));
        assert_eq!(calls.get(), 8, "forgotten with the document");
    }

    #[test]
    fn context_free_conditions_use_absolute_paths_only() {
        let defs = Definitions {
            names: vec!["abs".into(), "rel".into()],
            conditions: vec![
                Lazy::new(Condition::Present(sel("/domain[@type='kvm']"))),
                Lazy::new(Condition::Present(sel("os"))),
            ],
        };
        let absolute = Condition::All(vec![
            Condition::Is(0),
            Condition::Not(Box::new(Condition::Absent(sel("/domain/os")))),
        ]);
        assert!(absolute.context_free(&defs));
        assert!(!Condition::Is(1).context_free(&defs));
        assert!(!Condition::Any(vec![Condition::Is(0), Condition::Is(1)]).context_free(&defs));
        assert!(!expr("/domain/vcpu > 1").context_free(&defs));
    }

    use crate::selector::Namespaces;

    fn sel(s: &str) -> Selector {
        Selector::parse(s, &Namespaces::builtin()).unwrap()
    }

    #[test]
    fn disjoint_sets_and_the_first_overlap() {
        let xml = "<domain><cpu><numa>\
            <cell id='0' cpus='0-3,^2'/>\
            <cell id='1' cpus='2'/>\
            <cell id='2' cpus='4-5'/>\
            <cell id='3'/>\
            <cell id='4' cpus='nope'/>\
            <cell id='5' cpus='1,5'/>\
            <cell id='6' cpus='5-6'/>\
            </numa></cpu></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let d = Disjoint {
            for_each: sel("cpu/numa/cell"),
            set: sel("@cpus"),
            label: "shares a vCPU".into(),
        };
        let root = doc.root_element();
        let ids = |node: Node<'_, '_>| node.attribute("id").unwrap().to_string();
        let found: Vec<(String, Vec<String>)> = d
            .overlaps(root)
            .into_iter()
            .map(|w| {
                let related = w
                    .related
                    .iter()
                    .map(|(label, item)| format!("{label}: {}", ids(item.element())))
                    .collect();
                (ids(w.node), related)
            })
            .collect();
        // Cell 1's vCPU 2 was excluded from cell 0; cells without a readable set are left
        // out; cell 5 meets cell 0 (vCPU 1) before cell 2 (vCPU 5); cell 6 meets cell 2.
        assert_eq!(
            found,
            [
                ("5".to_string(), vec!["shares a vCPU: 0".to_string()]),
                ("6".to_string(), vec!["shares a vCPU: 2".to_string()]),
            ]
        );
        let cond = Condition::Disjoint(d);
        let defs = Definitions::default();
        assert!(cond.eval(root, &defs));
        assert!(cond.has_witnesses(&defs));
        let fine = roxmltree::Document::parse(
            "<domain><cpu><numa><cell cpus='0-1'/><cell cpus='2-3'/></numa></cpu></domain>",
        )
        .unwrap();
        assert!(!cond.eval(fine.root_element(), &defs));
        assert_eq!(
            cond.witnesses(fine.root_element(), &defs).map(|w| w.len()),
            None
        );
    }

    fn value(s: &str, test: ValueTest) -> Condition {
        value_as(s, Normalize::Text, test)
    }

    fn value_as(s: &str, normalize: Normalize, test: ValueTest) -> Condition {
        Condition::Value(ValueCondition {
            selector: sel(s),
            normalize,
            test,
        })
    }

    fn expr(s: &str) -> Condition {
        Condition::Test(Expression::parse(s, &Namespaces::builtin()).unwrap())
    }

    #[test]
    fn combinators_and_value_tests() {
        let xml = "<domain type='kvm'><memory unit='KiB'>4194304</memory><os><type arch='x86_64'>hvm</type></os></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let defs = Definitions::default();
        let arch = value(
            "os/type/@arch",
            ValueTest::In(vec!["i686".into(), "x86_64".into()]),
        );
        assert!(arch.eval(root, &defs));
        let big = value("memory", ValueTest::Compare(Comparison::GreaterThan, 1e6));
        assert!(big.eval(root, &defs));
        let small = value("memory", ValueTest::Compare(Comparison::AtMost, 1e6));
        assert!(!small.eval(root, &defs));
        let not_number = value("os/type", ValueTest::Compare(Comparison::LessThan, 1.0));
        assert!(!not_number.eval(root, &defs));
        let all = Condition::All(vec![arch.clone(), Condition::Absent(sel("features"))]);
        assert!(all.eval(root, &defs));
        let any = Condition::Any(vec![
            Condition::Present(sel("features")),
            Condition::Not(Box::new(arch)),
        ]);
        assert!(!any.eval(root, &defs));
        let re = value(
            "@type",
            ValueTest::Matches(Pattern::new("^(kvm|qemu)$").unwrap()),
        );
        assert!(re.eval(root, &defs));
        let eq = value("os/type", ValueTest::Equals("hvm".into()));
        assert!(eq.eval(root, &defs));
    }

    #[test]
    fn remembered_matches_agree_with_the_pattern() {
        let hex = Pattern::new("^0[xX][0-9a-f]+$").unwrap();
        let digits = Pattern::new("^[0-9]+$").unwrap();
        // Outside the fast matcher's subset: these answers go through the table.
        let any_case = Pattern::new("(?i)^0x[0-9a-f]+$").unwrap();
        let ends = Pattern::new("[13579]$").unwrap();
        for round in 0..2 {
            for i in 0..(MATCH_SLOTS + 10) {
                for text in [format!("0x{i:x}"), i.to_string(), format!("z{i}")] {
                    for p in [&hex, &digits, &any_case, &ends] {
                        assert_eq!(
                            matches_cached(p, &text),
                            p.is_match(&text),
                            "{} {text} round {round}",
                            p.source()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn numeric_tests_read_numbers_as_xpath_does() {
        let test = ValueTest::Compare(Comparison::GreaterThan, 4.0);
        assert!(test.accepts("5"));
        assert!(test.accepts(" 5.5 "));
        for not_a_number in ["inf", "Infinity", "1e3", "+5", "0x10", "5 cores", "", "NaN"] {
            assert!(!test.accepts(not_a_number), "{not_a_number}");
        }
        let low = ValueTest::Compare(Comparison::LessThan, 0.0);
        assert!(low.accepts("-1"));
        assert!(!low.accepts("-inf"));
    }

    #[test]
    fn value_tests_with_normalisation() {
        let xml = "<domain><memory unit='GiB'>4</memory><devices><interface><mac address='52:54:00:AB:CD:EF'/></interface>\
            <hostdev><address type='pci' bus='0x1f'/></hostdev></devices><name>Win10</name></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let defs = Definitions::default();
        let holds = |c: Condition| c.eval(root, &defs);
        assert!(holds(value_as(
            "memory",
            Normalize::Quantity,
            ValueTest::Compare(Comparison::AtLeast, 4294967296.0)
        )));
        assert!(!holds(value_as(
            "memory",
            Normalize::Quantity,
            ValueTest::Compare(Comparison::GreaterThan, 4294967296.0)
        )));
        assert!(holds(value_as(
            "memory",
            Normalize::Quantity,
            ValueTest::Equals("4 GiB".into())
        )));
        assert!(holds(value_as(
            "memory",
            Normalize::Quantity,
            ValueTest::Equals("4194304KiB".into())
        )));
        assert!(holds(value_as(
            "devices/hostdev/address/@bus",
            Normalize::Number,
            ValueTest::Equals("31".into())
        )));
        assert!(holds(value_as(
            "devices/hostdev/address/@bus",
            Normalize::Number,
            ValueTest::Compare(Comparison::GreaterThan, 30.0)
        )));
        assert!(!holds(value(
            "devices/hostdev/address/@bus",
            ValueTest::Equals("31".into())
        )));
        assert!(holds(value_as(
            "devices/interface/mac/@address",
            Normalize::Mac,
            ValueTest::Equals("52-54-00-ab-cd-ef".into())
        )));
        assert!(holds(value_as(
            "name",
            Normalize::Case,
            ValueTest::In(vec!["win10".into()])
        )));
        assert!(holds(value_as(
            "name",
            Normalize::Case,
            ValueTest::Matches(Pattern::new("^win").unwrap())
        )));
        // A value that does not read as a MAC equals nothing, but `matches` sees its text.
        assert!(!holds(value_as(
            "name",
            Normalize::Mac,
            ValueTest::Equals("Win10".into())
        )));
        assert!(holds(value_as(
            "name",
            Normalize::Mac,
            ValueTest::Matches(Pattern::new("^Win").unwrap())
        )));
    }

    #[test]
    fn test_expressions_with_arithmetic_and_quantities() {
        let xml = "<domain><vcpu placement='static'>8</vcpu><cpu><topology sockets='1' dies='1' cores='4' threads='2'/></cpu>\
            <memory unit='KiB'>4194304</memory><currentMemory unit='GiB'>8</currentMemory></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let defs = Definitions::default();
        let holds = |s: &str| expr(s).eval(root, &defs);
        assert!(holds(
            "cpu/topology/@sockets * cpu/topology/@cores * cpu/topology/@threads = vcpu"
        ));
        assert!(!holds(
            "cpu/topology/@sockets * cpu/topology/@cores != vcpu div 2"
        ));
        assert!(holds("vcpu mod 3 = 2"));
        assert!(holds("vcpu - 1 + 2 = 9"));
        assert!(holds("quantity(currentMemory) > quantity(memory)"));
        assert!(holds("quantity(currentMemory) = 2 * quantity(memory)"));
        assert!(holds("quantity(memory) = 4294967296"));
        assert!(holds("quantity(vcpu, 'KiB') = 8192"));
        assert!(!holds("quantity(name) = quantity(name)"));
        assert!(holds(
            "int('0x1f') = 31 and int('037') = 31 and string(int('zz')) = 'NaN'"
        ));
        assert!(holds(
            "int(cpu/topology/@clusters, 1) * int(cpu/topology/@cores, 1) = 4"
        ));
        assert!(holds(
            "string(int(cpu/topology/@clusters)) = 'NaN' and int('', 7) = 7"
        ));
        assert!(holds(
            "hex(31) = '1f' and hex(4, 4) = '0004' and hex(-1) = '-1' and hex(0.5, 2) = '0.5'"
        ));
        assert!(holds(
            "lower-case('VDA') = 'vda' and mac('52-54-00-AB-CD-EF') = '52:54:00:ab:cd:ef'"
        ));
        assert!(holds(
            "uuid('C7A5FDBDEDAF9455926AD65C16DB1809') = 'c7a5fdbd-edaf-9455-926a-d65c16db1809'"
        ));
    }

    const DISKS: &str = "<domain><devices>\
        <disk><target dev='vda'/><address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>\
        <disk><target dev='VDB'/><address type='pci' bus='0' slot='5'/></disk>\
        <disk><target dev='vdb'/><address type='pci' domain='0' bus='0' slot='0x05' function='1'/></disk>\
        <disk><target dev='vda'/></disk>\
        <interface><mac address='52:54:00:00:00:01'/><address type='pci' domain='0x0000' bus='0x00' slot='04' function='0'/></interface>\
        <interface><mac address='52-54-00-00-00-01'/></interface>\
        </devices></domain>";

    fn unique(for_each: &str, keys: &[(&str, Normalize, Option<&str>)]) -> Unique {
        Unique {
            for_each: sel(for_each),
            key: keys
                .iter()
                .map(|(s, n, d)| KeyPart {
                    selector: sel(s),
                    normalize: *n,
                    default: d.map(str::to_owned),
                })
                .collect(),
            label: "first defined here".into(),
            except: None,
            split: OnceLock::new(),
        }
    }

    /// A PCI address `unique` over `for_each`: domain, bus, slot and function as numbers,
    /// the domain and the function 0 when left out.
    fn pci_unique(for_each: &str) -> Unique {
        let n = Normalize::Number;
        unique(
            for_each,
            &[
                ("@domain", n, Some("0")),
                ("@bus", n, None),
                ("@slot", n, None),
                ("@function", n, Some("0")),
            ],
        )
    }

    /// `(duplicate, first)` as byte offsets of the elements' start tags.
    fn dups(u: &Unique, xml: &str) -> Vec<(usize, usize)> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        u.duplicates(doc.root_element())
            .iter()
            .map(|w| {
                assert_eq!(w.related.len(), 1);
                assert_eq!(w.related[0].0, "first defined here");
                (w.node.range().start, w.related[0].1.range().start)
            })
            .collect()
    }

    fn at(xml: &str, n: usize, pat: &str) -> usize {
        xml.match_indices(pat).nth(n).unwrap().0
    }

    #[test]
    fn unique_reports_each_later_occurrence_at_the_first() {
        let text = unique("devices/disk", &[("target/@dev", Normalize::Text, None)]);
        assert_eq!(
            dups(&text, DISKS),
            [(at(DISKS, 3, "<disk"), at(DISKS, 0, "<disk"))]
        );
        let case = unique("devices/disk", &[("target/@dev", Normalize::Case, None)]);
        assert_eq!(
            dups(&case, DISKS),
            [
                (at(DISKS, 2, "<disk"), at(DISKS, 1, "<disk")),
                (at(DISKS, 3, "<disk"), at(DISKS, 0, "<disk"))
            ]
        );
        let mac = unique(
            "devices/interface",
            &[("mac/@address", Normalize::Mac, None)],
        );
        assert_eq!(
            dups(&mac, DISKS),
            [(at(DISKS, 1, "<interface"), at(DISKS, 0, "<interface"))]
        );
        let text_mac = unique(
            "devices/interface",
            &[("mac/@address", Normalize::Text, None)],
        );
        assert!(dups(&text_mac, DISKS).is_empty());
    }

    #[test]
    fn composite_keys_in_any_number_base_with_defaults() {
        let n = Normalize::Number;
        let pci = unique(
            "devices/*/address[@type='pci']",
            &[
                ("@domain", n, Some("0")),
                ("@bus", n, None),
                ("@slot", n, None),
                ("@function", n, Some("0")),
            ],
        );
        // 0000:00:04.0 (first disk) = 0:0:04 (octal 4).0 (interface); 0:0:5.0 != 0:0:5.1.
        assert_eq!(
            dups(&pci, DISKS),
            [(at(DISKS, 3, "<address"), at(DISKS, 0, "<address"))]
        );
        // Without defaults, an address lacking a part is not compared.
        let strict = unique(
            "devices/*/address[@type='pci']",
            &[
                ("@domain", n, None),
                ("@bus", n, None),
                ("@slot", n, None),
                ("@function", n, None),
            ],
        );
        assert_eq!(
            dups(&strict, DISKS),
            [(at(DISKS, 3, "<address"), at(DISKS, 0, "<address"))]
        );
        let slot_only = unique("devices/*/address[@type='pci']", &[("@slot", n, None)]);
        assert_eq!(dups(&slot_only, DISKS).len(), 2);
    }

    #[test]
    fn items_with_the_except_key_are_not_compared() {
        let xml = "<domain><devices>\
            <video><address type='pci' domain='0x0000' bus='0x00' slot='0x00' function='0x0'/></video>\
            <rng><address type='pci' bus='0' slot='00'/></rng>\
            <disk><address type='pci' bus='0' slot='0' function='1'/></disk>\
            <disk><address type='pci' bus='0' slot='0x0' function='01'/></disk>\
            <disk><address type='pci' domain='zz' bus='0' slot='0'/></disk>\
            <disk><address type='pci' domain='zz' bus='0' slot='0'/></disk>\
            </devices></domain>";
        let mut pci = pci_unique("devices/*/address[@type='pci']");
        let all = [
            (at(xml, 1, "<address"), at(xml, 0, "<address")),
            (at(xml, 3, "<address"), at(xml, 2, "<address")),
            (at(xml, 5, "<address"), at(xml, 4, "<address")),
        ];
        assert_eq!(dups(&pci, xml), all);
        // Read as the parts are: `0x0` is 0. (What a `unique` prepares on first use is
        // worked out again after each change.)
        pci.except = Some(["0x0", "0", "0", "00"].map(String::from).to_vec());
        pci.split = OnceLock::new();
        assert_eq!(dups(&pci, xml), all[1..]);
        // As with defaults, a value that does not read as its part's kind is kept as
        // written, and never meets an item's (those keep their text marked as raw).
        pci.except = Some(["zz", "0", "0", "0"].map(String::from).to_vec());
        pci.split = OnceLock::new();
        assert_eq!(dups(&pci, xml), all);
        let mut text = unique(
            "devices/disk",
            &[("address/@function", Normalize::Text, Some("0"))],
        );
        // Texts: `1` and `01` differ; the two without a function have the default.
        assert_eq!(
            dups(&text, xml),
            [(at(xml, 3, "<disk"), at(xml, 2, "<disk"))]
        );
        text.except = Some(vec!["0".into()]);
        text.split = OnceLock::new();
        assert!(dups(&text, xml).is_empty());
    }

    #[test]
    fn costly_filters_are_tested_where_keys_repeat() {
        let xml = "<domain><devices>\
            <controller type='usb' index='0' model='ich9-ehci1'/>\
            <controller type='usb' index='0' model='ich9-uhci1'><master startport='0'/></controller>\
            <controller type='pci' index='1'><master/></controller>\
            <controller type='pci' index='1'/>\
            <controller type='pci' index='0x1'/>\
            <controller type='pci' index='2'/>\
            <controller type='pci' index='2' model='ich9-uhci2'/>\
            <controller type='pci'/>\
            <controller type='pci'/>\
            </devices></domain>";
        let u = unique(
            "devices/controller[@index][not(master)][not(starts-with(@model, 'ich9-uhci'))]",
            &[
                ("@type", Normalize::Text, None),
                ("@index", Normalize::Number, None),
            ],
        );
        assert!(u.for_each.split_costly_predicates().is_some());
        // The companion (master) and a filtered first occurrence are left out: the
        // second pci 1 is the first one compared.
        assert_eq!(
            dups(&u, xml),
            [(at(xml, 4, "<controller"), at(xml, 3, "<controller"))]
        );
        // The same without splitting (a filter the split keeps in place).
        let plain = unique(
            "devices/controller[@index][not(master)]",
            &[
                ("@type", Normalize::Text, None),
                ("@index", Normalize::Number, None),
            ],
        );
        assert_eq!(
            dups(&plain, xml),
            [
                (at(xml, 4, "<controller"), at(xml, 3, "<controller")),
                (at(xml, 6, "<controller"), at(xml, 5, "<controller")),
            ]
        );
        // `(how many candidates, how many filters)`.
        let doc = roxmltree::Document::parse(xml).unwrap();
        let split = |s: &str| {
            sel(s)
                .split_costly_predicates()
                .map(|(candidates, filters)| {
                    (candidates.select(doc.root_element()).len(), filters.len())
                })
        };
        // `[@index]` stays: 7 of the 9 controllers have one; `not(master)` is the filter.
        assert_eq!(
            split("devices/controller[@index][not(master)]"),
            Some((7, 1))
        );
        assert_eq!(
            split("devices/controller[not(starts-with(@model, 'ich9'))][@type='pci'][not(master)]"),
            Some((7, 2))
        );
        for kept in [
            "devices/controller[@index]",
            "devices/address[@type='pci']",
            "devices/controller",
            "devices/controller[not(master)][2]",
            "devices/controller[last()][not(master)]",
            "devices/controller[not(master)]/@index",
        ] {
            assert_eq!(split(kept), None, "{kept}");
        }
    }

    #[test]
    fn filters_of_earlier_steps_apply_to_the_right_ancestor() {
        let xml = "<domain><devices>\
            <serial><address type='pci' bus='0' slot='3'/></serial>\
            <console><address type='pci' bus='0' slot='3'/></console>\
            <console><address type='pci' bus='0' slot='3'/></console>\
            <disk><x><address type='pci' bus='0' slot='3'/></x></disk>\
            <disk><address type='pci' bus='0' slot='4'/></disk>\
            <video><address type='pci' bus='0' slot='0x4'/></video>\
            </devices></domain>";
        let n = Normalize::Number;
        let u = unique(
            "devices/*[local-name()!='console']/address[@type='pci']",
            &[("@bus", n, None), ("@slot", n, None)],
        );
        let doc = roxmltree::Document::parse(xml).unwrap();
        let (candidates, filters) = u.for_each.split_costly_predicates().unwrap();
        assert_eq!(candidates.select(doc.root_element()).len(), 5);
        assert_eq!(filters.iter().map(|(up, _)| *up).collect::<Vec<_>>(), [1]);
        assert_eq!(
            dups(&u, xml),
            [(at(xml, 5, "<address"), at(xml, 4, "<address"))]
        );
        // Through `//`: the filter is on the element right above each address; the step
        // before `//` is not split off.
        let deep = unique(
            "devices[address]//*[local-name()!='console']/address",
            &[("@bus", n, None), ("@slot", n, None)],
        );
        let (_, filters) = deep.for_each.split_costly_predicates().unwrap();
        assert_eq!(filters.iter().map(|(up, _)| *up).collect::<Vec<_>>(), [1]);
        assert!(dups(&deep, xml).is_empty());
        let deep = unique(
            "devices//*[local-name()!='console']/address",
            &[("@bus", n, None), ("@slot", n, None)],
        );
        assert_eq!(
            dups(&deep, xml),
            [
                (at(xml, 3, "<address"), at(xml, 0, "<address")),
                (at(xml, 5, "<address"), at(xml, 4, "<address")),
            ]
        );
    }

    #[test]
    fn many_items_are_indexed_with_the_same_findings() {
        // More distinct keys than are compared one by one: the later ones are found
        // through the index, and each duplicate still points at the first of its key.
        let mut xml = String::from("<domain><devices>");
        let values: Vec<u32> = (0..150).map(|i| (i * 7) % 61).collect();
        for (i, v) in values.iter().enumerate() {
            let written = match i % 3 {
                0 => format!("{v}"),
                1 => format!("0x{v:x}"),
                _ => format!("0{v:o}"),
            };
            xml.push_str(&format!("<controller index='{written}'/>"));
        }
        xml.push_str("</devices></domain>");
        let u = unique("devices/controller", &[("@index", Normalize::Number, None)]);
        let expected: Vec<(usize, usize)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let first = values.iter().position(|w| w == v)?;
                (first < i).then(|| (at(&xml, i, "<controller"), at(&xml, first, "<controller")))
            })
            .collect();
        assert_eq!(expected.len(), 150 - 61);
        assert_eq!(dups(&u, &xml), expected);
    }

    #[test]
    fn keys_of_attributes_and_paths_namespaces_and_case() {
        let xml = "<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'><devices>\
            <disk q:id='A'><target dev='Vda'/></disk>\
            <disk id='a'><target dev='vda'/></disk>\
            <disk q:id='a'><target dev='VDA'/></disk>\
            <disk><target dev='Ä'/></disk>\
            <disk><target dev='ä'/></disk>\
            </devices></domain>";
        // A prefixed lone attribute is looked up by its namespace, not its prefix.
        let ns = unique("devices/disk", &[("@qemu:id", Normalize::Case, None)]);
        assert_eq!(dups(&ns, xml), [(at(xml, 2, "<disk"), at(xml, 0, "<disk"))]);
        // Items that are attributes are their own key (`key: .`), reported at their
        // element and pointing at the first attribute; non-ASCII letters fold too.
        let attrs = unique("devices/disk/target/@dev", &[(".", Normalize::Case, None)]);
        assert_eq!(
            dups(&attrs, xml),
            [
                (at(xml, 1, "<target"), at(xml, 0, "dev=")),
                (at(xml, 2, "<target"), at(xml, 0, "dev=")),
                (at(xml, 4, "<target"), at(xml, 3, "dev=")),
            ]
        );
        let text = unique("devices/disk/target", &[("@dev", Normalize::Text, None)]);
        assert!(dups(&text, xml).is_empty());
    }

    #[test]
    fn key_texts_defaults_and_values_that_do_not_read() {
        let xml = "<domain><devices><disk><target dev='VDA' bus='0x1f'/>\
            <address type='pci' bus='zz' slot=' 010 '/></disk></devices></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let disk = doc.descendants().find(|n| n.has_tag_name("disk")).unwrap();
        let part = |s: &str, n: Normalize, d: Option<&str>| KeyPart {
            selector: sel(s),
            normalize: n,
            default: d.map(str::to_owned),
        };
        let n = Normalize::Number;
        let key = item_key(
            &[
                part("target/@dev", Normalize::Case, None),
                part("target/@bus", n, None),
                part("address/@bus", n, None),
                part("address/@slot", n, None),
                part("address/@domain", n, Some("0x0")),
                part("address/@function", n, Some("x")),
                part("address/@function", Normalize::Case, Some("X")),
                part("address/@multifunction", Normalize::Text, Some("off")),
            ],
            Item::Node(disk),
        );
        let expected = ["vda", "31", "raw:zz", "8", "0", "x", "x", "off"];
        assert_eq!(key, Some(expected.map(String::from).to_vec()));
        assert_eq!(
            item_key(&[part("address/@function", n, None)], Item::Node(disk)),
            None
        );
        // Parts compare as their texts do, also a number against a default that does
        // not read as one (kept as written).
        let num = PartValue::Number;
        let text = |t: &'static str| PartValue::Text(Cow::Borrowed(t));
        assert_eq!(num(31.0), num(31.0));
        assert_eq!(num(0.0), num(-0.0));
        assert_eq!(num(f64::NAN), num(f64::NAN));
        assert_ne!(num(31.0), num(32.0));
        assert_eq!(num(31.0), text("31"));
        assert_eq!(text("Infinity"), num(f64::INFINITY));
        assert_ne!(num(31.0), text("raw:31"));
        assert_ne!(text("31"), text("031"));
    }

    #[test]
    fn lone_attributes_are_recognised() {
        assert_eq!(sel("@dev").lone_attribute(), Some((None, "dev")));
        assert_eq!(
            sel("@qemu:id").lone_attribute(),
            Some((Some("http://libvirt.org/schemas/domain/qemu/1.0"), "id"))
        );
        for other in ["target/@dev", "@*", "@dev[. = 'x']", "dev", ".", "//@dev"] {
            assert_eq!(sel(other).lone_attribute(), None, "{other}");
        }
    }

    #[test]
    fn witnesses_through_all_any_and_definitions() {
        let doc = roxmltree::Document::parse(DISKS).unwrap();
        let root = doc.root_element();
        let u = Condition::Unique(unique(
            "devices/disk",
            &[("target/@dev", Normalize::Case, None)],
        ));
        let mut defs = Definitions::default();
        defs.push("dup".into(), u.clone());
        let count = |c: &Condition| c.witnesses(root, &defs).map(|w| w.len());
        assert!(u.has_witnesses(&defs));
        assert_eq!(count(&u), Some(2));
        assert!(u.eval(root, &defs));
        assert_eq!(count(&Condition::Is(0)), Some(2));
        assert!(Condition::Is(0).has_witnesses(&defs));
        let gated = Condition::All(vec![Condition::Present(sel("devices")), Condition::Is(0)]);
        assert_eq!(count(&gated), Some(2));
        let blocked = Condition::All(vec![Condition::Absent(sel("devices")), u.clone()]);
        assert_eq!(count(&blocked), None);
        // `not` only says yes or no.
        let none = Condition::Not(Box::new(u.clone()));
        assert!(!none.has_witnesses(&defs));
        assert_eq!(count(&none), None);
        let plain = Condition::Present(sel("devices"));
        assert_eq!(count(&plain), Some(0));
        let either = Condition::Any(vec![plain.clone(), u.clone()]);
        assert_eq!(count(&either), Some(3));
        let only_plain = Condition::Any(vec![plain, Condition::Absent(sel("devices"))]);
        assert_eq!(count(&only_plain), Some(0));
    }

    #[test]
    fn definitions_are_looked_up_by_index() {
        let doc = roxmltree::Document::parse("<domain><features/></domain>").unwrap();
        let mut defs = Definitions::default();
        defs.push("has-features".into(), Condition::Present(sel("features")));
        assert!(Condition::Is(0).eval(doc.root_element(), &defs));
        assert_eq!(defs.index("has-features"), Some(0));
    }

    /// Domains for [`Unique::duplicates`]'s shortcut: devices whose addresses and targets
    /// are spelled in many ways (`0x1f`, `31`, `037`, values that are no number,
    /// attributes left out), made from `seed`.
    fn spelled_devices(seed: u64) -> String {
        let mut pick = crate::test_support::picker(seed);
        let mut xml = String::from("<domain><devices>");
        for _ in 0..(3 + seed % 9) {
            let name = pick(&["disk", "interface", "controller", "console", "video"]);
            xml.push_str(&format!("<{name}>"));
            let attribute = |xml: &mut String, name: &str, value: &str| {
                if value != "-" {
                    xml.push_str(&format!(" {name}='{value}'"));
                }
            };
            xml.push_str("<target");
            attribute(&mut xml, "dev", pick(&["vda", "VDA", "vdb", "sda", "-"]));
            attribute(&mut xml, "bus", pick(&["scsi", "sata", "-"]));
            xml.push_str("/><address");
            attribute(&mut xml, "type", pick(&["pci", "pci", "pci", "drive", "-"]));
            attribute(
                &mut xml,
                "domain",
                pick(&["0x0000", "0", "00", "-0", " 0 ", "zz", "-", "-"]),
            );
            attribute(
                &mut xml,
                "bus",
                pick(&["0x00", "0", "1", "0x01", "01", "x", "-"]),
            );
            attribute(
                &mut xml,
                "slot",
                pick(&[
                    "0x1f",
                    "31",
                    "037",
                    "0X1F",
                    "0x01",
                    "1",
                    "0x00",
                    "0",
                    "99999999999999999999",
                    "-",
                ]),
            );
            attribute(&mut xml, "function", pick(&["0x0", "0", "1", "0x1", "-"]));
            attribute(&mut xml, "controller", pick(&["0", "1", "-"]));
            xml.push_str(&format!("/></{name}>"));
        }
        xml.push_str("</devices></domain>");
        xml
    }

    /// `unique`s of every kind of key: numbers with defaults and `except`, texts, cases,
    /// parts that are paths, attribute items, a `quantity`, a number whose default is no
    /// number (not hashed).
    fn uniques_of_every_kind() -> Vec<Unique> {
        let (n, t, c) = (Normalize::Number, Normalize::Text, Normalize::Case);
        let mut pci = pci_unique("devices/*[local-name()!='console']/address[@type='pci']");
        pci.except = Some(["0", "0", "0", "0"].map(String::from).to_vec());
        let mut odd_default = unique(
            "devices/*/address",
            &[("@domain", n, Some("zz")), ("@slot", n, None)],
        );
        odd_default.except = Some(vec!["zz".into(), "0x1f".into()]);
        vec![
            pci,
            unique(
                "devices/*/address[@type='drive']",
                &[
                    ("../target/@bus", t, Some("scsi")),
                    ("@controller", n, Some("0")),
                    ("@bus", n, Some("0")),
                ],
            ),
            unique("devices/*/target", &[("@dev", t, None)]),
            unique("devices/*", &[("target/@dev", c, None)]),
            unique("devices/*/target/@dev", &[(".", c, None)]),
            unique(
                "devices/*/address",
                &[("@type", t, None), ("@slot", n, None)],
            ),
            unique(
                "devices/*/address",
                &[("@slot", c, None), ("@slot", n, None)],
            ),
            unique(
                "devices/*/address",
                &[("@bus", Normalize::Quantity, Some("0"))],
            ),
            odd_default,
        ]
    }

    /// Without the shortcut: every item selected, then grouped.
    fn grouped_duplicates<'a, 'i>(u: &Unique, root: Node<'a, 'i>) -> Vec<Witness<'a, 'i>> {
        let prepared = u.prepared();
        let (candidates, filters) = match &prepared.split {
            Some((candidates, filters)) => (candidates, filters.as_slice()),
            None => (&u.for_each, &[][..]),
        };
        u.group(prepared, &candidates.select(root), filters)
    }

    #[test]
    fn the_hash_shortcut_finds_what_grouping_finds() {
        let uniques = uniques_of_every_kind();
        assert!(uniques[..8].iter().all(|u| u.prepared().hashed));
        assert!(!uniques[8].prepared().hashed);
        let (mut with, mut without) = (0, 0);
        for seed in 0..400 {
            let xml = spelled_devices(seed);
            let doc = roxmltree::Document::parse(&xml).unwrap();
            let root = doc.root_element();
            for (k, u) in uniques.iter().enumerate() {
                let places = |w: &[Witness<'_, '_>]| -> Vec<(usize, usize)> {
                    w.iter()
                        .map(|w| (w.node.range().start, w.related[0].1.range().start))
                        .collect()
                };
                let expected = places(&grouped_duplicates(u, root));
                assert_eq!(places(&u.duplicates(root)), expected, "{k} {xml}");
                if u.prepared().hashed {
                    let (candidates, _) = u
                        .prepared()
                        .split
                        .as_ref()
                        .map_or((&u.for_each, None), |(c, f)| (c, Some(f)));
                    let may = u.may_repeat(u.prepared(), candidates, root);
                    assert!(may || expected.is_empty(), "{k} {xml}");
                    if expected.is_empty() && !may {
                        without += 1;
                    } else if !expected.is_empty() {
                        with += 1;
                    }
                }
            }
        }
        // Both ways were taken, many times.
        assert!(with > 300 && without > 300, "{with} {without}");
    }

    /// Domains with the devices the built-in `unique` rules compare, spelled in many
    /// ways: controllers with and without `<master>` and models, disks and SCSI host
    /// devices with drive addresses and target buses, consoles, PCI addresses in any base.
    fn varied_devices(seed: u64) -> String {
        let mut pick = crate::test_support::picker(seed);
        let mut xml = String::from("<domain xmlns:q='urn:q'>");
        xml.push_str(pick(&["", "<address type='pci' bus='0' slot='1'/>"]));
        xml.push_str("<devices>");
        for _ in 0..(4 + seed % 14) {
            let name = pick(&[
                "disk",
                "disk",
                "hostdev",
                "hostdev",
                "controller",
                "controller",
                "console",
                "serial",
                "q:disk",
            ]);
            xml.push_str(&format!(
                "<{name} type='{}'{}{}>",
                pick(&["pci", "scsi", "usb", "usb", "file"]),
                pick(&["", " index='0'", " index='1'", " index='0x1'"]),
                pick(&[
                    "",
                    " model='ich9-uhci1'",
                    " model='ich9-ehci1'",
                    " model='pcie-root'"
                ]),
            ));
            for _ in 0..(1 + seed % 3) {
                xml.push_str(pick(&[
                    "<master startport='0'/>",
                    "<target dev='vda' bus='scsi'/>",
                    "<target bus='sata'/>",
                    "<target dev='sda'/>",
                    "<target dev='VDA' bus='virtio'/>",
                    "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>",
                    "<address type='pci' bus='0' slot='4'/>",
                    "<address type='pci' bus='0' slot='04' function='1'/>",
                    "<address type='pci' bus='0' slot='0' function='0'/>",
                    "<address type='pci' bus='0x1' slot='x'/>",
                    "<address type='pci' q:bus='0' slot='4'/>",
                    "<address type='drive' controller='0' bus='0' target='0' unit='0'/>",
                    "<address type='drive' unit='0'/>",
                    "<address type='drive' controller='0x0' unit='1'/>",
                    "<q:address type='pci' bus='0' slot='4'/>",
                    "<address/>",
                    "<source><address bus='1' device='2'/></source>",
                    "<source><address bus='0x1' device='02'/></source>",
                    "<source><address bus='1'/></source>",
                    "<!-- c -->text",
                ]));
            }
            xml.push_str(&format!("</{name}>"));
        }
        xml.push_str("</devices></domain>");
        xml
    }

    /// The duplicates of `u` as the plain reading of `unique` finds them: every item the
    /// selector selects, its key read by the general evaluator, compared with each
    /// earlier item's.
    fn reference_duplicates(u: &Unique, root: Node<'_, '_>) -> Vec<(usize, usize)> {
        let except: Option<Vec<String>> = u.except.as_ref().map(|values| {
            u.key
                .iter()
                .zip(values)
                .map(|(part, value)| {
                    let mut text = String::new();
                    part.normalize.fixed(value).value().write_text(&mut text);
                    text
                })
                .collect()
        });
        let mut seen: Vec<(Vec<String>, usize)> = Vec::new();
        let mut out = Vec::new();
        for item in u.for_each.select(root) {
            let Some(key) = item_key(&u.key, item) else {
                continue;
            };
            if except.as_ref() == Some(&key) {
                continue;
            }
            let at = item.range().start;
            match seen.iter().find(|(k, _)| *k == key) {
                Some((_, first)) => out.push((at, *first)),
                None => seen.push((key, at)),
            }
        }
        out
    }

    /// The built-in rules' `unique`s, walked ([`ChildPath`]) and keyed by attribute paths,
    /// find what the plain reading finds, with and without the element index.
    #[test]
    fn walked_items_find_what_selected_items_find() {
        let (n, t) = (Normalize::Number, Normalize::Text);
        let mut pci = pci_unique("devices/*[local-name()!='console']/address[@type='pci']");
        pci.except = Some(["0", "0", "0", "0"].map(String::from).to_vec());
        let uniques = [
            pci,
            unique(
                "devices/controller[@index][not(master)][not(starts-with(@model, 'ich9-uhci'))]",
                &[("@type", t, None), ("@index", n, None)],
            ),
            unique(
                "devices/*[local-name()='disk' or (local-name()='hostdev' and @type='scsi')]/address[@type='drive']",
                &[
                    ("../target/@bus", t, Some("scsi")),
                    ("@controller", n, Some("0")),
                    ("@bus", n, Some("0")),
                    ("@target", n, Some("0")),
                    ("@unit", n, Some("0")),
                ],
            ),
            unique("devices/disk/target", &[("@dev", t, None)]),
            unique("devices/*/target", &[("@dev", Normalize::Case, None)]),
            unique(
                "devices/hostdev[@type='usb']/source[address]",
                &[("address/@bus", n, None), ("address/@device", n, None)],
            ),
            unique(
                "devices/*[@index != '1']",
                &[("target/@bus", t, Some("none"))],
            ),
        ];
        for u in &uniques {
            assert!(u.prepared().walk.is_some(), "{}", u.for_each);
        }
        let mut found = vec![0; uniques.len()];
        for seed in 0..800 {
            let xml = varied_devices(seed);
            let doc = roxmltree::Document::parse(&xml).unwrap();
            let root = doc.root_element();
            for indexed in [false, true] {
                let _scope = indexed.then(|| crate::selector::index::Scope::start(root));
                for (k, u) in uniques.iter().enumerate() {
                    let expected = reference_duplicates(u, root);
                    let got: Vec<(usize, usize)> = u
                        .duplicates(root)
                        .iter()
                        .map(|w| (w.node.range().start, w.related[0].1.range().start))
                        .collect();
                    assert_eq!(got, expected, "{k} {indexed} {xml}");
                    found[k] += expected.len();
                }
            }
        }
        // Every `unique` found duplicates, many times.
        assert!(found.iter().all(|&f| f > 40), "{found:?}");
    }

    #[test]
    fn equal_keys_have_equal_hashes_and_the_same_items_have_none() {
        for u in uniques_of_every_kind()
            .iter()
            .filter(|u| u.prepared().hashed)
        {
            let prepared = u.prepared();
            let readers: Vec<PartReader<'_>> = u
                .key
                .iter()
                .zip(&prepared.parts)
                .map(|(part, p)| PartReader::new(part, p))
                .collect();
            let except: Option<Vec<PartValue<'_>>> = prepared
                .except
                .as_ref()
                .map(|e| e.iter().map(Fixed::value).collect());
            let mut distinct_hashes = std::collections::HashSet::new();
            let mut excepted = 0;
            for seed in 0..200 {
                let xml = spelled_devices(seed);
                let doc = roxmltree::Document::parse(&xml).unwrap();
                let mut keyed: Vec<(Vec<PartValue<'_>>, u64)> = Vec::new();
                for item in u.for_each.select(doc.root_element()) {
                    let key: Option<Vec<PartValue<'_>>> =
                        readers.iter().map(|r| r.read(item)).collect();
                    let hash = key_hash(&u.key, prepared, item, 0);
                    match key {
                        Some(key) if except.as_ref() != Some(&key) => {
                            let hash = hash.unwrap_or_else(|| panic!("{} {xml}", u.for_each));
                            distinct_hashes.insert(hash);
                            keyed.push((key, hash));
                        }
                        Some(_) => {
                            excepted += 1;
                            assert_eq!(hash, None, "{} {xml}", u.for_each);
                        }
                        None => assert_eq!(hash, None, "{} {xml}", u.for_each),
                    }
                }
                for (a, ha) in &keyed {
                    for (b, hb) in &keyed {
                        assert_eq!(same_key(a, b), ha == hb, "{} {xml}", u.for_each);
                    }
                }
            }
            assert!(distinct_hashes.len() >= 3, "{}", u.for_each);
            // The `except` key was met.
            assert!(prepared.except.is_none() || excepted > 10, "{excepted}");
        }
    }
}
