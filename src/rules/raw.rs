//! The shapes of a rule file as YAML, read with serde (serde-saphyr keeps every value's
//! location). Conditions and edits are enums, one variant per kind: the key naming the
//! kind (`present:`, `ensure:`, ...) picks the variant and serde reads its payload with
//! the payload's own type.
//!
//! Mistakes a person can fix without the reader stopping (unknown keys, two kinds in one
//! mapping, a test without `value:`) are collected as [`Problem`]s with the location of
//! the offending key, so that one run reports them all; `load.rs` reports missing required
//! fields, which it checks with the rule's id at hand.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

use super::{Safety, Severity};
pub(super) use crate::yaml::Scalar;

/// A mistake found while reading, at `at` (the offending key).
#[derive(Debug, Clone)]
pub(super) struct Problem {
    pub at: Location,
    pub message: String,
}

thread_local! {
    static PROBLEMS: RefCell<Vec<Problem>> = const { RefCell::new(Vec::new()) };
}

fn problem(at: Location, message: impl Into<String>) {
    PROBLEMS.with(|p| {
        p.borrow_mut().push(Problem {
            at,
            message: message.into(),
        })
    });
}

/// Read one rule file: its shapes, and the problems found on the way.
pub(super) fn parse_file(text: &str) -> (Result<RawFile, serde_saphyr::Error>, Vec<Problem>) {
    PROBLEMS.with(|p| p.borrow_mut().clear());
    let result = serde_saphyr::from_str::<RawFile>(text);
    let problems = PROBLEMS.with(|p| std::mem::take(&mut *p.borrow_mut()));
    (result, problems)
}

/// The known key nearest to `key` by edit distance, if it is close enough to be a typo.
pub fn nearest<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let limit = (key.chars().count() / 3).max(1) + 1;
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// Record an unknown key (with the nearest known one) and skip its value.
fn unknown_key<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: &Spanned<String>,
    what: &str,
    known: &[&str],
) -> Result<(), A::Error> {
    let message = match nearest(&key.value, known) {
        Some(near) => format!("unknown key {}; did you mean {near}?", key.value),
        None => format!(
            "unknown key {} in {what}; known keys: {}",
            key.value,
            known.join(", ")
        ),
    };
    problem(key.referenced, message);
    map.next_value::<IgnoredAny>()?;
    Ok(())
}

/// Store a value read for `key` in `slot`, recording a problem if the key came twice;
/// `true` for [`map_visitor`].
fn fill<T>(slot: &mut Option<T>, key: &Spanned<String>, value: T) -> bool {
    if slot.is_some() {
        problem(key.referenced, format!("key {} is given twice", key.value));
    }
    *slot = Some(value);
    true
}

/// Reads a mapping key by key: `$body` matches `$key.value` with `$out`, `$map` and `$key`
/// in scope, consumes the value and yields `true`, or yields `false` for an unknown key
/// (recorded with the nearest known key).
macro_rules! map_visitor {
    ($ty:ty, $expecting:literal, $what:literal, $known:expr, |$out:ident, $map:ident, $key:ident| $body:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<$ty, A::Error> {
                        let mut $out = <$ty>::default();
                        while let Some($key) = $map.next_key::<Spanned<String>>()? {
                            let handled: bool = $body;
                            if !handled {
                                unknown_key(&mut $map, &$key, $what, $known)?;
                            }
                        }
                        Ok($out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

/// Store a list (or other value) read once; `true` for [`map_visitor`].
fn put<T>(slot: &mut T, value: T) -> bool {
    *slot = value;
    true
}

// ---------------------------------------------------------------------------------------
// File and rule

#[derive(Default)]
pub(super) struct RawFile {
    pub namespaces: Option<Spanned<OrderedMap>>,
    pub definitions: Vec<(Spanned<String>, Spanned<RawDefinition>)>,
    pub edit_groups: Vec<(Spanned<String>, Spanned<RawEdits>)>,
    pub rules: Vec<Spanned<RawRule>>,
}

pub(super) const FILE_KEYS: &[&str] = &["namespaces", "definitions", "edit-groups", "rules"];

map_visitor!(
    RawFile,
    "a rule file: a mapping with `rules`, `definitions` or `namespaces`",
    "a rule file",
    FILE_KEYS,
    |out, map, key| match key.value.as_str() {
        "namespaces" => fill(&mut out.namespaces, &key, map.next_value()?),
        "definitions" => put(&mut out.definitions, map.next_value::<Named<_>>()?.0),
        "edit-groups" => put(&mut out.edit_groups, map.next_value::<Named<_>>()?.0),
        "rules" => put(&mut out.rules, map.next_value()?),
        _ => false,
    }
);

/// A mapping of names to values (`definitions:`, `edit-groups:`), in the order written.
struct Named<T>(Vec<(Spanned<String>, Spanned<T>)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    out.push((name, map.next_value()?));
                }
                Ok(Named(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Default)]
pub(super) struct RawRule {
    pub id: Option<Spanned<String>>,
    pub severity: Option<Severity>,
    pub summary: Option<String>,
    pub explanation: Option<String>,
    pub references: Vec<String>,
    pub tags: Vec<Spanned<String>>,
    pub default: Option<Spanned<Scalar>>,
    pub libvirt: Option<Spanned<RawVersionWindow>>,
    pub for_each: Option<Spanned<String>>,
    pub when: Option<Spanned<RawCondition>>,
    /// `file` (the default) or `repo` (see `crate::repo`).
    pub scope: Option<Spanned<String>>,
    /// A repository rule's check (`scope: repo`).
    pub unique: Option<Spanned<RawRepoUnique>>,
    pub report_at: Option<Spanned<OneOrMany>>,
    pub message: Option<Spanned<String>>,
    pub fix: Option<Spanned<RawFix>>,
    pub alternatives: Vec<Spanned<RawFix>>,
    pub examples: Vec<Spanned<RawExample>>,
}

pub(super) const RULE_KEYS: &[&str] = &[
    "id",
    "severity",
    "summary",
    "explanation",
    "references",
    "tags",
    "default",
    "libvirt",
    "for-each",
    "when",
    "report-at",
    "message",
    "fix",
    "alternatives",
    "examples",
    "scope",
    "unique",
];

/// The keys every rule must have.
pub const REQUIRED_RULE_KEYS: &[&str] = &[
    "id",
    "severity",
    "summary",
    "explanation",
    "when",
    "message",
];

map_visitor!(
    RawRule,
    "a rule: a mapping with id, severity, summary, explanation, when and message",
    "a rule",
    RULE_KEYS,
    |r, map, key| match key.value.as_str() {
        "id" => fill(&mut r.id, &key, map.next_value()?),
        "severity" => fill(&mut r.severity, &key, map.next_value()?),
        "summary" => fill(&mut r.summary, &key, map.next_value()?),
        "explanation" => fill(&mut r.explanation, &key, map.next_value()?),
        "references" => put(&mut r.references, map.next_value()?),
        "tags" => put(&mut r.tags, map.next_value()?),
        "default" => fill(&mut r.default, &key, map.next_value()?),
        "libvirt" => fill(&mut r.libvirt, &key, map.next_value()?),
        "for-each" => fill(&mut r.for_each, &key, map.next_value()?),
        "when" => fill(&mut r.when, &key, map.next_value()?),
        "scope" => fill(&mut r.scope, &key, map.next_value()?),
        "unique" => fill(&mut r.unique, &key, map.next_value()?),
        "report-at" => fill(&mut r.report_at, &key, map.next_value()?),
        "message" => fill(&mut r.message, &key, map.next_value()?),
        "fix" => fill(&mut r.fix, &key, map.next_value()?),
        "alternatives" => put(&mut r.alternatives, map.next_value()?),
        "examples" => put(&mut r.examples, map.next_value()?),
        _ => false,
    }
);

/// `libvirt: {since: 9.0, before: 10.2}`: the libvirt releases a rule applies to.
#[derive(Default)]
pub(super) struct RawVersionWindow {
    pub since: Option<Spanned<Scalar>>,
    pub before: Option<Spanned<Scalar>>,
}

pub(super) const VERSION_WINDOW_KEYS: &[&str] = &["since", "before"];

map_visitor!(
    RawVersionWindow,
    "the libvirt releases a rule applies to: a mapping with `since` and/or `before`",
    "`libvirt`",
    VERSION_WINDOW_KEYS,
    |w, map, key| match key.value.as_str() {
        "since" => fill(&mut w.since, &key, map.next_value()?),
        "before" => fill(&mut w.before, &key, map.next_value()?),
        _ => false,
    }
);

impl RawRule {
    /// The required keys this rule lacks, in [`REQUIRED_RULE_KEYS`] order.
    pub fn missing(&self) -> Vec<&'static str> {
        let present = [
            self.id.is_some(),
            self.severity.is_some(),
            self.summary.is_some(),
            self.explanation.is_some(),
            // A repository rule has `unique` instead.
            self.when.is_some() || self.is_repo(),
            self.message.is_some(),
        ];
        REQUIRED_RULE_KEYS
            .iter()
            .zip(present)
            .filter(|(_, p)| !p)
            .map(|(k, _)| *k)
            .collect()
    }
}

impl RawRule {
    /// `scope: repo`.
    pub fn is_repo(&self) -> bool {
        self.scope.as_ref().is_some_and(|s| s.value == "repo")
    }
}

/// The `unique:` block of a repository rule: the `unique` condition's keys (`for-each`,
/// `key`, `as`, `label`) and what only a comparison across documents needs.
#[derive(Default)]
pub(super) struct RawRepoUnique {
    pub for_each: Option<Spanned<String>>,
    pub key: Option<Spanned<RawKeys>>,
    pub normalize: Option<Spanned<String>>,
    pub label: Option<String>,
    pub group_by: Option<Spanned<OneOrMany>>,
    pub across_groups: Option<Severity>,
    pub if_any: Option<Spanned<RawCondition>>,
    pub per_host: Option<bool>,
    pub against: Option<Spanned<RawAgainst>>,
}

pub(super) const REPO_UNIQUE_KEYS: &[&str] = &[
    "for-each",
    "key",
    "as",
    "label",
    "group-by",
    "across-groups",
    "if-any",
    "per-host",
    "against",
];

map_visitor!(
    RawRepoUnique,
    "a repository rule's `unique` block: a mapping with for-each and key",
    "a repository rule's `unique`",
    REPO_UNIQUE_KEYS,
    |u, map, key| match key.value.as_str() {
        "for-each" => fill(&mut u.for_each, &key, map.next_value()?),
        "key" => fill(&mut u.key, &key, map.next_value()?),
        "as" => fill(&mut u.normalize, &key, map.next_value()?),
        "label" => fill(&mut u.label, &key, map.next_value()?),
        "group-by" => fill(&mut u.group_by, &key, map.next_value()?),
        "across-groups" => fill(&mut u.across_groups, &key, map.next_value()?),
        "if-any" => fill(&mut u.if_any, &key, map.next_value()?),
        "per-host" => fill(&mut u.per_host, &key, map.next_value()?),
        "against" => fill(&mut u.against, &key, map.next_value()?),
        _ => false,
    }
);

/// `against:` in a repository rule's `unique`: the items of other documents whose keys
/// the `for-each` items' keys are looked up in.
#[derive(Default)]
pub(super) struct RawAgainst {
    pub for_each: Option<Spanned<String>>,
    pub key: Option<Spanned<RawKeys>>,
    pub normalize: Option<Spanned<String>>,
}

map_visitor!(
    RawAgainst,
    "`against`: a mapping with for-each and key",
    "`against`",
    &["for-each", "key", "as"],
    |a, map, key| match key.value.as_str() {
        "for-each" => fill(&mut a.for_each, &key, map.next_value()?),
        "key" => fill(&mut a.key, &key, map.next_value()?),
        "as" => fill(&mut a.normalize, &key, map.next_value()?),
        _ => false,
    }
);

// ---------------------------------------------------------------------------------------
// Conditions

/// One condition, by kind.
#[derive(Clone)]
pub(super) enum RawCondition {
    All(Vec<Spanned<RawCondition>>),
    Any(Vec<Spanned<RawCondition>>),
    Not(Box<Spanned<RawCondition>>),
    Present(Spanned<String>),
    Absent(Spanned<String>),
    Is(Spanned<RawRef>),
    /// `test: EXPRESSION`.
    Test(Spanned<String>),
    Unique(Spanned<RawUnique>),
    Disjoint(Spanned<RawDisjoint>),
    /// `value: SELECTOR` with one test, and maybe `as:`.
    Value {
        select: Spanned<String>,
        normalize: Option<Spanned<String>>,
        test: RawTest,
    },
    /// Not usable; the problems are recorded.
    Invalid,
}

/// The test of a `value:` condition.
#[derive(Clone)]
pub(super) enum RawTest {
    Equals(Scalar),
    In(Vec<Scalar>),
    Matches(Spanned<String>),
    Compare(crate::condition::Comparison, Spanned<Scalar>),
}

/// Keys that name a condition's kind.
pub(super) const CONDITION_KINDS: &[&str] = &[
    "all", "any", "not", "present", "absent", "is", "test", "unique", "disjoint", "value",
];
/// Keys that name the test of a `value:` condition.
pub(super) const VALUE_TESTS: &[&str] = &[
    "equals",
    "in",
    "matches",
    "greater-than",
    "at-least",
    "less-than",
    "at-most",
];

fn comparison(key: &str) -> Option<crate::condition::Comparison> {
    use crate::condition::Comparison::*;
    Some(match key {
        "greater-than" => GreaterThan,
        "at-least" => AtLeast,
        "less-than" => LessThan,
        "at-most" => AtMost,
        _ => return None,
    })
}

/// A condition while its keys are read.
#[derive(Default)]
struct ConditionKeys {
    kind: Option<(Spanned<String>, RawCondition)>,
    select: Option<Spanned<String>>,
    normalize: Option<Spanned<String>>,
    test: Option<(Spanned<String>, RawTest)>,
    first: Option<Location>,
}

impl ConditionKeys {
    /// Read the value of one key of a condition mapping; `false` for a key that is not a
    /// condition key (its value is then still unread).
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        key: Spanned<String>,
    ) -> Result<Option<Spanned<String>>, A::Error> {
        self.first.get_or_insert(key.referenced);
        let kind = match key.value.as_str() {
            "all" => RawCondition::All(map.next_value()?),
            "any" => RawCondition::Any(map.next_value()?),
            "not" => RawCondition::Not(Box::new(map.next_value()?)),
            "present" => RawCondition::Present(map.next_value()?),
            "absent" => RawCondition::Absent(map.next_value()?),
            "is" => RawCondition::Is(map.next_value()?),
            "test" => RawCondition::Test(map.next_value()?),
            "unique" => RawCondition::Unique(map.next_value()?),
            "disjoint" => RawCondition::Disjoint(map.next_value()?),
            "as" => {
                let v = map.next_value()?;
                fill(&mut self.normalize, &key, v);
                return Ok(None);
            }
            "value" => {
                let v = map.next_value()?;
                fill(&mut self.select, &key, v);
                return Ok(None);
            }
            "equals" => {
                let test = RawTest::Equals(map.next_value()?);
                set_test(&mut self.test, key, test);
                return Ok(None);
            }
            "in" => {
                let test = RawTest::In(map.next_value()?);
                set_test(&mut self.test, key, test);
                return Ok(None);
            }
            "matches" => {
                let test = RawTest::Matches(map.next_value()?);
                set_test(&mut self.test, key, test);
                return Ok(None);
            }
            other => match comparison(other) {
                Some(op) => {
                    let test = RawTest::Compare(op, map.next_value()?);
                    set_test(&mut self.test, key, test);
                    return Ok(None);
                }
                None => return Ok(Some(key)),
            },
        };
        match &self.kind {
            Some((first, _)) => problem(
                key.referenced,
                format!(
                    "a condition takes one kind; `{}` follows `{}`: split them with `all:`",
                    key.value, first.value
                ),
            ),
            None => self.kind = Some((key, kind)),
        }
        Ok(None)
    }

    fn known() -> Vec<&'static str> {
        let mut known: Vec<&str> = CONDITION_KINDS.to_vec();
        known.extend(VALUE_TESTS);
        known.push("as");
        known
    }
}

impl<'de> Deserialize<'de> for RawCondition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCondition;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition: a mapping such as `present: SELECTOR` or `all: [...]`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCondition, A::Error> {
                let mut c = ConditionKeys::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if let Some(key) = c.read(&mut map, key)? {
                        unknown_key(&mut map, &key, "a condition", &ConditionKeys::known())?;
                    }
                }
                Ok(c.finish())
            }
        }
        d.deserialize_map(V)
    }
}

/// A named condition: a condition mapping, with `params: [NAME, ...]` when it takes
/// parameters (`{NAME}` in its strings is replaced by the argument).
#[derive(Clone)]
pub(super) struct RawDefinition {
    pub params: Vec<Spanned<String>>,
    pub condition: RawCondition,
}

impl<'de> Deserialize<'de> for RawDefinition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDefinition;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a condition, with `params: [...]` if it takes parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDefinition, A::Error> {
                let mut c = ConditionKeys::default();
                let mut params = None;
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    if key.value == "params" {
                        let v = map.next_value()?;
                        fill(&mut params, &key, v);
                    } else if let Some(key) = c.read(&mut map, key)? {
                        let mut known = ConditionKeys::known();
                        known.push("params");
                        unknown_key(&mut map, &key, "a definition", &known)?;
                    }
                }
                Ok(RawDefinition {
                    params: params.unwrap_or_default(),
                    condition: c.finish(),
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A use of a named definition or edit group: `NAME`, `{NAME: ARG}` (its one parameter)
/// or `{NAME: {PARAM: ARG, ...}}`.
#[derive(Clone, Default)]
pub(super) struct RawRef {
    pub name: String,
    /// The name's location, when written as a mapping key.
    pub name_at: Option<Location>,
    /// `(param, argument)`; a lone argument has the param `""`.
    pub args: Vec<(String, String)>,
}

impl<'de> Deserialize<'de> for RawRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name, or `{NAME: ARGUMENT}` / `{NAME: {PARAM: ARGUMENT}}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRef, E> {
                Ok(RawRef {
                    name: v.to_string(),
                    ..RawRef::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRef, A::Error> {
                let mut out = RawRef::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let args: Args = map.next_value()?;
                    if out.name_at.is_some() {
                        problem(
                            key.referenced,
                            "name one definition per `is:`; combine them with `all:`",
                        );
                        continue;
                    }
                    out.name = key.value;
                    out.name_at = Some(key.referenced);
                    out.args = args.0;
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// The arguments of a [`RawRef`]: one scalar, or a mapping of parameters to scalars.
struct Args(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Args;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an argument, or a mapping of parameters to arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Args, E> {
                Ok(Args(vec![(String::new(), v.to_string())]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Args, E> {
                Ok(Args(vec![(String::new(), v.to_string())]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Args, E> {
                Ok(Args(vec![(String::new(), v.to_string())]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Args, E> {
                Ok(Args(vec![(String::new(), v.to_string())]))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Args, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(Args(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn set_test(slot: &mut Option<(Spanned<String>, RawTest)>, key: Spanned<String>, test: RawTest) {
    match slot {
        Some((first, _)) => problem(
            key.referenced,
            format!(
                "`value:` takes one test; `{}` follows `{}`: split them with `all:`",
                key.value, first.value
            ),
        ),
        None => *slot = Some((key, test)),
    }
}

impl ConditionKeys {
    fn finish(self) -> RawCondition {
        const KINDS: &str = "`all`, `any`, `not`, `present`, `absent`, `is`, `test`, `unique`, `disjoint` or `value`";
        if let Some(n) = &self.normalize
            && self.select.is_none()
        {
            problem(n.referenced, "`as` goes with `value:`");
            return RawCondition::Invalid;
        }
        match (self.kind, self.select, self.test) {
            (Some((_, kind)), None, None) => kind,
            (Some((key, _)), Some(select), _) => {
                problem(
                    select.referenced,
                    format!(
                        "a condition takes one kind; `value` cannot go with `{}`: split them with `all:`",
                        key.value
                    ),
                );
                RawCondition::Invalid
            }
            (Some((key, _)), None, Some((test, _))) => {
                problem(
                    test.referenced,
                    format!(
                        "`{}` is a test for `value:`, not for `{}`",
                        test.value, key.value
                    ),
                );
                RawCondition::Invalid
            }
            (None, Some(select), Some((_, test))) => RawCondition::Value {
                select,
                normalize: self.normalize,
                test,
            },
            (None, Some(select), None) => {
                problem(
                    select.referenced,
                    format!("`value:` needs a test: {}", VALUE_TESTS.join(", ")),
                );
                RawCondition::Invalid
            }
            (None, None, Some((test, _))) => {
                problem(
                    test.referenced,
                    format!(
                        "`{}` goes with `value:` (the selector it tests)",
                        test.value
                    ),
                );
                RawCondition::Invalid
            }
            (None, None, None) => {
                if let Some(at) = self.first {
                    problem(at, format!("a condition needs one of {KINDS}"));
                }
                RawCondition::Invalid
            }
        }
    }
}

/// `unique: {for-each: ITEMS, key: KEY or [KEYS], as: NORMALISATION, label: TEXT,
/// except: VALUE or [VALUES]}`.
#[derive(Default, Clone)]
pub(super) struct RawUnique {
    pub for_each: Option<Spanned<String>>,
    pub key: Option<Spanned<RawKeys>>,
    pub normalize: Option<Spanned<String>>,
    pub label: Option<String>,
    pub except: Option<Spanned<Scalars>>,
}

pub(super) const UNIQUE_KEYS: &[&str] = &["for-each", "key", "as", "label", "except"];

map_visitor!(
    RawUnique,
    "`unique:`: a mapping with for-each and key",
    "unique",
    UNIQUE_KEYS,
    |u, map, key| match key.value.as_str() {
        "for-each" => fill(&mut u.for_each, &key, map.next_value()?),
        "key" => fill(&mut u.key, &key, map.next_value()?),
        "as" => fill(&mut u.normalize, &key, map.next_value()?),
        "label" => fill(&mut u.label, &key, map.next_value()?),
        "except" => fill(&mut u.except, &key, map.next_value()?),
        _ => false,
    }
);

/// `disjoint: {for-each: ITEMS, set: SELECTOR, label: TEXT}`.
#[derive(Default, Clone)]
pub(super) struct RawDisjoint {
    pub for_each: Option<Spanned<String>>,
    pub set: Option<Spanned<String>>,
    pub label: Option<String>,
}

pub(super) const DISJOINT_KEYS: &[&str] = &["for-each", "set", "label"];

map_visitor!(
    RawDisjoint,
    "`disjoint:`: a mapping with for-each and set",
    "disjoint",
    DISJOINT_KEYS,
    |d, map, key| match key.value.as_str() {
        "for-each" => fill(&mut d.for_each, &key, map.next_value()?),
        "set" => fill(&mut d.set, &key, map.next_value()?),
        "label" => fill(&mut d.label, &key, map.next_value()?),
        _ => false,
    }
);

/// One selector, or a list of parts (selectors or `{value, as, default}` mappings).
#[derive(Clone)]
pub(super) enum RawKeys {
    One(String),
    Many(Vec<Spanned<RawKeyPart>>),
}

/// A part of a `unique` key: a selector (`plain`), or a mapping.
#[derive(Default, Clone)]
pub(super) struct RawKeyPart {
    pub plain: Option<String>,
    pub value: Option<Spanned<String>>,
    pub normalize: Option<Spanned<String>>,
    pub default: Option<Scalar>,
}

pub(super) const KEY_PART_KEYS: &[&str] = &["value", "as", "default"];

impl<'de> Deserialize<'de> for RawKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a selector, or a list of selectors or `{value: SELECTOR, as: ..., default: ...}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKeys, E> {
                Ok(RawKeys::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawKeys, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(RawKeys::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawKeyPart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawKeyPart;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a selector or `{value: SELECTOR, as: ..., default: ...}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKeyPart, E> {
                Ok(RawKeyPart {
                    plain: Some(v.to_string()),
                    ..RawKeyPart::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawKeyPart, A::Error> {
                let mut p = RawKeyPart::default();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    match key.value.as_str() {
                        "value" => {
                            let v = map.next_value()?;
                            fill(&mut p.value, &key, v);
                        }
                        "as" => {
                            let v = map.next_value()?;
                            fill(&mut p.normalize, &key, v);
                        }
                        "default" => {
                            let v = map.next_value()?;
                            fill(&mut p.default, &key, v);
                        }
                        _ => unknown_key(&mut map, &key, "a key part", KEY_PART_KEYS)?,
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_any(V)
    }
}

/// Replace each `{param}` of `text` with its argument.
fn substitute_str(text: &mut String, args: &[(String, String)]) {
    if !text.contains('{') {
        return;
    }
    for (param, value) in args {
        let hole = format!("{{{param}}}");
        if text.contains(&hole) {
            *text = text.replace(&hole, value);
        }
    }
}

impl RawCondition {
    /// The condition with every `{param}` in its strings replaced by its argument (for
    /// instantiating a definition with parameters).
    pub fn substitute(&mut self, args: &[(String, String)]) {
        let s = |t: &mut Spanned<String>| substitute_str(&mut t.value, args);
        match self {
            RawCondition::All(list) | RawCondition::Any(list) => {
                list.iter_mut().for_each(|c| c.value.substitute(args))
            }
            RawCondition::Not(inner) => inner.value.substitute(args),
            RawCondition::Present(t) | RawCondition::Absent(t) | RawCondition::Test(t) => s(t),
            RawCondition::Is(r) => r
                .value
                .args
                .iter_mut()
                .for_each(|(_, v)| substitute_str(v, args)),
            RawCondition::Value {
                select,
                normalize,
                test,
            } => {
                s(select);
                if let Some(n) = normalize {
                    s(n);
                }
                match test {
                    RawTest::Equals(v) => substitute_str(&mut v.0, args),
                    RawTest::In(list) => {
                        list.iter_mut().for_each(|v| substitute_str(&mut v.0, args))
                    }
                    RawTest::Matches(p) => s(p),
                    RawTest::Compare(_, b) => substitute_str(&mut b.value.0, args),
                }
            }
            RawCondition::Disjoint(d) => {
                let d = &mut d.value;
                if let Some(f) = &mut d.for_each {
                    s(f);
                }
                if let Some(set) = &mut d.set {
                    s(set);
                }
                if let Some(l) = &mut d.label {
                    substitute_str(l, args);
                }
            }
            RawCondition::Unique(u) => {
                let u = &mut u.value;
                if let Some(f) = &mut u.for_each {
                    s(f);
                }
                if let Some(l) = &mut u.label {
                    substitute_str(l, args);
                }
                match u.key.as_mut().map(|k| &mut k.value) {
                    Some(RawKeys::One(t)) => substitute_str(t, args),
                    Some(RawKeys::Many(parts)) => {
                        for p in parts {
                            if let Some(t) = &mut p.value.plain {
                                substitute_str(t, args);
                            }
                            if let Some(v) = &mut p.value.value {
                                s(v);
                            }
                        }
                    }
                    None => {}
                }
            }
            RawCondition::Invalid => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Fixes and edits

#[derive(Default)]
pub(super) struct RawFix {
    pub title: Option<String>,
    pub safety: Option<Safety>,
    pub edits: Option<Vec<Spanned<RawEdit>>>,
    /// Where the fix is offered (a condition at the rule's context).
    pub when: Option<Spanned<RawCondition>>,
    /// Why it is not offered where `when` does not hold.
    pub otherwise: Option<Spanned<String>>,
}

pub(super) const FIX_KEYS: &[&str] = &["title", "safety", "edits", "when", "otherwise"];

map_visitor!(
    RawFix,
    "a fix: a mapping with title, safety and edits",
    "a fix",
    FIX_KEYS,
    |f, map, key| match key.value.as_str() {
        "title" => fill(&mut f.title, &key, map.next_value()?),
        "safety" => fill(&mut f.safety, &key, map.next_value()?),
        "edits" => fill(&mut f.edits, &key, map.next_value()?),
        "when" => fill(&mut f.when, &key, map.next_value()?),
        "otherwise" => fill(&mut f.otherwise, &key, map.next_value()?),
        _ => false,
    }
);

/// A list of edits (a fix's, or an edit group's).
pub(super) type RawEdits = Vec<Spanned<RawEdit>>;

/// One edit: its kind, and what any edit may carry.
pub(super) struct RawEdit {
    pub kind: RawEditKind,
    /// The libvirt version that introduced the element an `ensure` writes (`since: 5.7.0`).
    pub since: Option<Spanned<Scalar>>,
    /// `when:`: the edit applies only where this condition holds at the rule's context.
    pub when: Option<Spanned<RawCondition>>,
}

/// `when-created:` as read: element name to attributes.
pub(super) type CreatedAttributes = Vec<(String, OrderedMap)>;

pub(super) enum RawEditKind {
    Ensure {
        path: Spanned<String>,
        attributes: Option<OrderedMap>,
        when_created: Option<Spanned<CreatedAttributes>>,
    },
    Set {
        target: Spanned<String>,
        to: Option<Spanned<Scalar>>,
        map: Option<Spanned<OrderedMap>>,
    },
    Remove(Spanned<String>),
    ReplaceText {
        target: Spanned<String>,
        with: Option<Spanned<Scalar>>,
        map: Option<Spanned<OrderedMap>>,
    },
    CopyAttributes {
        target: Spanned<String>,
        from: Option<Spanned<String>>,
        names: Vec<String>,
    },
    /// `use: GROUP`: the edits of a named edit group.
    Use(Spanned<String>),
    Invalid,
}

pub(super) const EDIT_KINDS: &[&str] = &[
    "ensure",
    "set",
    "remove",
    "replace-text",
    "copy-attributes",
    "use",
];
/// Keys that go with some edit kinds, and those kinds.
const EDIT_COMPANIONS: &[(&str, &[&str])] = &[
    ("attributes", &["ensure"]),
    ("when-created", &["ensure"]),
    ("since", &["ensure", "set"]),
    ("to", &["set"]),
    ("with", &["replace-text"]),
    ("map", &["set", "replace-text"]),
    ("from", &["copy-attributes"]),
    ("names", &["copy-attributes"]),
    ("when", EDIT_KINDS),
];

#[derive(Default)]
struct EditKeys {
    kind: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    /// Companion keys, as read (for checking that they suit the kind).
    companions: Vec<Spanned<String>>,
    attributes: Option<OrderedMap>,
    when_created: Option<Spanned<CreatedAttributes>>,
    to: Option<Spanned<Scalar>>,
    with: Option<Spanned<Scalar>>,
    map: Option<Spanned<OrderedMap>>,
    from: Option<Spanned<String>>,
    names: Option<Vec<String>>,
    since: Option<Spanned<Scalar>>,
    when: Option<Spanned<RawCondition>>,
    first: Option<Location>,
}

impl<'de> Deserialize<'de> for RawEdit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEdit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an edit: a mapping such as `ensure: PATH` or `set: PATH/@attr`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEdit, A::Error> {
                let mut e = EditKeys::default();
                let mut known: Vec<&str> = EDIT_KINDS.to_vec();
                known.extend(EDIT_COMPANIONS.iter().map(|(k, _)| *k));
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    e.first.get_or_insert(key.referenced);
                    let name = key.value.as_str();
                    if EDIT_KINDS.contains(&name) {
                        let target: Spanned<String> = map.next_value()?;
                        match &e.kind {
                            Some(first) => problem(
                                key.referenced,
                                format!(
                                    "an edit takes one kind; `{}` follows `{}`: make them two edits",
                                    key.value, first.value
                                ),
                            ),
                            None => {
                                e.kind = Some(key);
                                e.target = Some(target);
                            }
                        }
                        continue;
                    }
                    match name {
                        "attributes" => e.attributes = Some(map.next_value()?),
                        "when-created" => {
                            let v: Spanned<WhenCreated> = map.next_value()?;
                            e.when_created = Some(Spanned::new(v.value.0, v.referenced, v.defined));
                        }
                        "to" => e.to = Some(map.next_value()?),
                        "with" => e.with = Some(map.next_value()?),
                        "map" => e.map = Some(map.next_value()?),
                        "from" => e.from = Some(map.next_value()?),
                        "names" => e.names = Some(map.next_value()?),
                        "since" => e.since = Some(map.next_value()?),
                        "when" => e.when = Some(map.next_value()?),
                        _ => {
                            unknown_key(&mut map, &key, "an edit", &known)?;
                            continue;
                        }
                    }
                    if e.companions.iter().any(|k| k.value == key.value) {
                        problem(key.referenced, format!("key {} is given twice", key.value));
                    }
                    e.companions.push(key);
                }
                Ok(e.finish())
            }
        }
        d.deserialize_map(V)
    }
}

/// `when-created:`: element name to attributes, in the order written.
struct WhenCreated(Vec<(String, OrderedMap)>);

impl<'de> Deserialize<'de> for WhenCreated {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WhenCreated;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of element names to attributes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WhenCreated, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, OrderedMap>()? {
                    out.push((k, v));
                }
                Ok(WhenCreated(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl EditKeys {
    fn finish(self) -> RawEdit {
        let kind_name = self.kind.as_ref().map(|k| k.value.as_str());
        let mut ok = true;
        for key in &self.companions {
            let owners = EDIT_COMPANIONS
                .iter()
                .find(|(k, _)| *k == key.value)
                .map_or(&[][..], |(_, o)| *o);
            if !kind_name.is_some_and(|k| owners.contains(&k)) {
                let owners: Vec<String> = owners.iter().map(|o| format!("`{o}`")).collect();
                problem(
                    key.referenced,
                    format!("`{}` goes with {}", key.value, owners.join(" or ")),
                );
                ok = false;
            }
        }
        let kind = match (self.kind, self.target) {
            (Some(kind), Some(target)) if ok => match kind.value.as_str() {
                "ensure" => RawEditKind::Ensure {
                    path: target,
                    attributes: self.attributes,
                    when_created: self.when_created,
                },
                "set" => RawEditKind::Set {
                    target,
                    to: self.to,
                    map: self.map,
                },
                "remove" => RawEditKind::Remove(target),
                "copy-attributes" => RawEditKind::CopyAttributes {
                    target,
                    from: self.from,
                    names: self.names.unwrap_or_default(),
                },
                "use" => RawEditKind::Use(target),
                _ => RawEditKind::ReplaceText {
                    target,
                    with: self.with,
                    map: self.map,
                },
            },
            (None, _) => {
                if let Some(at) = self.first {
                    problem(
                        at,
                        format!("an edit needs one of {}", EDIT_KINDS.join(", ")),
                    );
                }
                RawEditKind::Invalid
            }
            _ => RawEditKind::Invalid,
        };
        RawEdit {
            kind,
            since: self.since,
            when: self.when,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Examples

#[derive(Default)]
pub(super) struct RawExample {
    pub fires: Option<Spanned<String>>,
    pub passes: Option<Spanned<String>>,
    pub fixed: Option<Spanned<String>>,
}

pub(super) const EXAMPLE_KEYS: &[&str] = &["fires", "passes", "fixed"];

map_visitor!(
    RawExample,
    "an example: `fires:` or `passes:` with a domain XML text",
    "an example",
    EXAMPLE_KEYS,
    |e, map, key| match key.value.as_str() {
        "fires" => fill(&mut e.fires, &key, map.next_value()?),
        "passes" => fill(&mut e.passes, &key, map.next_value()?),
        "fixed" => fill(&mut e.fixed, &key, map.next_value()?),
        _ => false,
    }
);

// ---------------------------------------------------------------------------------------
// Scalars and small shapes

/// A scalar or a list of scalars (`except: 0`, `except: [0, 0, 0, 0]`).
#[derive(Debug, Clone)]
pub(super) struct Scalars(pub Vec<Scalar>);

impl<'de> Deserialize<'de> for Scalars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalars;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalars, E> {
                Ok(Scalars(vec![Scalar(v.to_string())]))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalars, E> {
                Ok(Scalars(vec![Scalar(v.to_string())]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalars, E> {
                Ok(Scalars(vec![Scalar(v.to_string())]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalars, E> {
                Ok(Scalars(vec![Scalar(v.to_string())]))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalars, E> {
                Err(crate::yaml::fraction_needs_quotes(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalars, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Scalar>()? {
                    out.push(item);
                }
                Ok(Scalars(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or a list of strings.
pub(super) struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a selector or a list of selectors")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping of scalars that keeps the order it was written in.
#[derive(Default, Clone)]
pub(super) struct OrderedMap(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_key_suggestions() {
        let known = RULE_KEYS;
        assert_eq!(nearest("mesage", known), Some("message"));
        assert_eq!(nearest("sevrity", known), Some("severity"));
        assert_eq!(nearest("summray", known), Some("summary"));
        assert_eq!(nearest("foreach", known), Some("for-each"));
        assert_eq!(nearest("id", known), Some("id"));
        assert_eq!(nearest("xyzzy", known), None);
        assert_eq!(
            nearest("attributs", &["attributes", "ensure"]),
            Some("attributes")
        );
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
