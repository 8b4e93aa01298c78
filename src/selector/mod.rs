//! Selectors: the subset of XPath 1.0 that rules use to point into a libvirt
//! domain document, compiled once and evaluated over roxmltree while keeping
//! the byte ranges of what they select.
//!
//! A selector is a location path in abbreviated syntax, relative to a context
//! element (usually `<domain>`), or absolute (`/domain/...`, `//disk`):
//!
//! ```text
//! features/hyperv/stimer[@state='on']
//! metadata/libosinfo:libosinfo/libosinfo:os[starts-with(@id, 'http://microsoft.com/win/')]
//! devices/disk[@device='disk'][not(driver/@cache)]
//! clock/timer[@name='hpet']/@present
//! .[@type!='kvm']
//! ```
//!
//! Steps are `name`, `prefix:name`, `*`, `prefix:*`, `@name`, `@prefix:name`,
//! `@*`, `text()`, `node()`, `comment()`, `.` and `..`, joined by `/` or `//`,
//! each with any number of `[predicate]`s. Predicates use `or`, `and`, the six
//! comparisons, parentheses, string and number literals, unary minus, location
//! paths and the functions `not`, `true`, `false`, `starts-with`, `contains`,
//! `string-length`, `count`, `local-name`, `namespace-uri`, `name`,
//! `normalize-space`, `string`, `number`, `position` and `last`. Values and
//! comparisons follow XPath 1.0. Prefixes are resolved through [`Namespaces`]
//! and names match by namespace URI; unprefixed names match only elements in
//! no namespace. Arithmetic (`+ - * div mod`) follows XPath 1.0, and libvirt-aware
//! functions read values as libvirt does: `quantity(path [, unit])` (a scaled integer in
//! bytes), `int(v)` (an integer in any C base: `0x1f`), `lower-case(v)`, `mac(v)` and
//! `uuid(v)` (canonical forms). Explicit axes, variables and `|` are rejected.
//!
//! `parse` holds the lexer, parser and AST; `eval` the evaluator.

mod eval;
pub mod index;
pub mod normalize;
mod parse;
pub mod pattern;
pub mod shape;
pub mod text;

pub use normalize::{Key, Normalize};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use parse::{Axis, CmpOp, Expr, LocationPath, NodeTest};

/// A string's number value as XPath `number()` reads it: optional whitespace, an optional
/// minus sign, digits with an optional fraction; anything else (`inf`, `1e3`, `+5`, `0x1f`)
/// is NaN.
pub fn xpath_number(s: &str) -> f64 {
    eval::str_to_num(s)
}

/// Namespace prefixes usable in selectors, mapped to namespace URIs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespaces {
    map: BTreeMap<String, String>,
}

impl Namespaces {
    /// The prefixes every rule can use: `libosinfo` =
    /// `http://libosinfo.org/xmlns/libvirt/domain/1.0` and `qemu` =
    /// `http://libvirt.org/schemas/domain/qemu/1.0`. (`xml` is always bound.)
    pub fn builtin() -> Self {
        let mut ns = Namespaces {
            map: BTreeMap::new(),
        };
        ns.insert("libosinfo", "http://libosinfo.org/xmlns/libvirt/domain/1.0");
        ns.insert("qemu", "http://libvirt.org/schemas/domain/qemu/1.0");
        ns
    }

    /// Binds `prefix` to `uri`, replacing any previous binding.
    pub fn insert(&mut self, prefix: impl Into<String>, uri: impl Into<String>) {
        self.map.insert(prefix.into(), uri.into());
    }

    /// The URI bound to `prefix`.
    pub fn get(&self, prefix: &str) -> Option<&str> {
        self.map.get(prefix).map(String::as_str)
    }

    /// All bindings, sorted by prefix.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(p, u)| (p.as_str(), u.as_str()))
    }
}

impl Default for Namespaces {
    fn default() -> Self {
        Self::builtin()
    }
}

/// A selector that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// Byte offset into the selector source of the offending character
    /// (the source length for an unexpected end).
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectorError {}

/// A compiled selector. Cheap to evaluate many times; `Send + Sync`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Selector {
    source: String,
    path: LocationPath,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A compiled XPath expression: a selector, or anything built from selectors with
/// comparisons, `and`/`or`, arithmetic (`+ - * div mod`) and functions. Used by `test:`
/// conditions, message holes and computed values.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Expression {
    source: String,
    expr: parse::Expr,
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Expression {
    /// Compiles `source`; prefixes are resolved through `ns` now.
    ///
    /// # Errors
    ///
    /// A [`SelectorError`] with the byte offset of the offending character.
    pub fn parse(source: &str, ns: &Namespaces) -> Result<Expression, SelectorError> {
        let expr = parse::parse_expression(source, ns)?;
        Ok(Expression {
            source: source.to_owned(),
            expr,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The expression's XPath boolean value at `ctx`.
    pub fn eval_bool(&self, ctx: roxmltree::Node<'_, '_>) -> bool {
        eval::eval_expr_bool(&self.expr, Item::Node(ctx))
    }

    /// The expression's XPath string value at `ctx` (a node-set's first item).
    pub fn eval_string(&self, ctx: roxmltree::Node<'_, '_>) -> String {
        eval::to_string(eval::eval_expr(&self.expr, Item::Node(ctx))).into_owned()
    }

    /// Every value: the string value of each item of a node-set, or the one value.
    pub fn eval_strings(&self, ctx: roxmltree::Node<'_, '_>) -> Vec<String> {
        eval::eval_expr_strings(&self.expr, Item::Node(ctx))
    }

    /// The selected items, when the expression is a location path.
    pub fn eval_items<'a, 'i>(&self, ctx: roxmltree::Node<'a, 'i>) -> Option<Vec<Item<'a, 'i>>> {
        eval::eval_expr_items(&self.expr, Item::Node(ctx))
    }

    /// Whether the expression is a plain location path (a selector).
    pub fn is_path(&self) -> bool {
        matches!(self.expr, parse::Expr::Path(_))
    }
}

/// One step of a [`Selector::simple_path`]: an element that an "ensure" edit
/// can create, with the attributes it must carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimpleStep {
    /// The prefix as written in the selector.
    pub prefix: Option<String>,
    /// The namespace URI the prefix resolved to.
    pub namespace: Option<String>,
    /// The local name.
    pub name: String,
    /// `(name, value)` of each `@name='value'` test, in source order.
    pub attributes: Vec<(String, String)>,
}

impl Selector {
    /// Compiles `source`; prefixes are resolved through `ns` now.
    ///
    /// # Errors
    ///
    /// A [`SelectorError`] with the byte offset of the offending character
    /// when `source` is not a valid selector.
    pub fn parse(source: &str, ns: &Namespaces) -> Result<Selector, SelectorError> {
        let path = parse::parse_selector(source, ns)?;
        Ok(Selector {
            source: source.to_owned(),
            path,
        })
    }

    /// Whether the path starts at the document root (`/domain/...`, `//disk`): it then
    /// selects the same items from every context in a document.
    pub fn is_absolute(&self) -> bool {
        self.path.absolute
    }

    /// The text the selector was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Items selected from `ctx` (an element, usually the root `<domain>`
    /// element), in document order, without duplicates.
    pub fn select<'a, 'i>(&self, ctx: roxmltree::Node<'a, 'i>) -> Vec<Item<'a, 'i>> {
        eval::select(&self.path, Item::Node(ctx))
    }

    /// Calls `f` with each element [`Selector::select`] selects from `ctx`, in document
    /// order, without duplicates (what it selects besides elements is left out). Unlike
    /// `select`, allocates nothing in the steady state: the engine runs this for every
    /// `for-each` of every document.
    pub fn each_element<'a, 'i>(
        &self,
        ctx: roxmltree::Node<'a, 'i>,
        f: impl FnMut(roxmltree::Node<'a, 'i>),
    ) {
        eval::each_element(&self.path, ctx, f);
    }

    /// Facts a document must have for this selector to select anything there (all of
    /// the clauses, each satisfied by one of its facts): an element of each name its steps
    /// name (`devices//address` needs `devices` and `address`), and the attributes their
    /// predicates require (`address[@type='pci']` needs an `address` with `type='pci'`,
    /// `disk[@cache != 'none']` one with a `cache`; `*[local-name()='serial' or
    /// local-name()='console']` a `serial` or a `console`). A necessary condition only, for
    /// skipping rules that cannot fire (see `rules::prefilter`): anything else (`not()`,
    /// functions, paths inside predicates, namespaced attributes) adds nothing.
    pub fn required_facts(&self) -> Vec<Clause> {
        self.required_facts_at(None).0
    }

    /// [`Selector::required_facts`] when evaluated at an element named one of `context`
    /// (`@bus` at an `<address>` needs an `address` with a `bus`), and the names the
    /// selected elements may have (from the last step), when known.
    pub fn required_facts_at(
        &self,
        context: Option<&[&str]>,
    ) -> (Vec<Clause>, Option<Vec<String>>) {
        let mut out: Vec<Clause> = Vec::new();
        let last = path_facts(&self.path, context, &mut out);
        out.iter_mut().for_each(|c| {
            c.sort();
            c.dedup();
        });
        out.sort();
        out.dedup();
        let last = last.map(|names| names.iter().map(|n| (*n).to_owned()).collect());
        (out, last)
    }

    /// The first item of [`Selector::select`] (in document order), found without
    /// collecting the others.
    pub fn first<'a, 'i>(&self, ctx: roxmltree::Node<'a, 'i>) -> Option<Item<'a, 'i>> {
        eval::first_item(&self.path, Item::Node(ctx))
    }

    /// Whether `test` accepts some selected item; stops at the first it accepts. Items
    /// may come in any order (and more than once): for existential tests only.
    pub fn any<'a, 'i>(
        &self,
        ctx: roxmltree::Node<'a, 'i>,
        mut test: impl FnMut(Item<'a, 'i>) -> bool,
    ) -> bool {
        eval::for_each(&self.path, Item::Node(ctx), &mut test)
    }

    /// Same as `!self.select(ctx).is_empty()`, but stops at the first match
    /// and does not allocate unless a step has a positional predicate.
    pub fn exists(&self, ctx: roxmltree::Node<'_, '_>) -> bool {
        eval::exists(&self.path, Item::Node(ctx))
    }

    /// When the selector picks an attribute in no namespace with a plain last step
    /// (`@bus`, `target/@dev`), evaluated at an element named one of `context`: the names
    /// the attribute's element may have (when known) and the attribute's name.
    pub fn attribute_of(&self, context: Option<&[&str]>) -> Option<(Vec<String>, String)> {
        let (before, name, namespace) = self.split_attribute_ns()?;
        if namespace.is_some() {
            return None;
        }
        let (_, elements) = before.required_facts_at(context);
        Some((elements?, name))
    }

    /// If the last step is a plain attribute step `@name` (no prefix, no
    /// wildcard, no predicate): the selector of the steps before it, and the
    /// attribute's name. `clock/timer[@name='hpet']/@present` gives
    /// (`clock/timer[@name='hpet']`, `present`); a lone `@x` gives `.`.
    /// Namespaced attributes are only split by [`Self::split_attribute_ns`].
    pub fn split_attribute(&self) -> Option<(Selector, String)> {
        match self.split_attribute_ns()? {
            (sel, name, None) => Some((sel, name)),
            _ => None,
        }
    }

    /// Like [`Self::split_attribute`], also accepting `@prefix:name`: the
    /// selector before the attribute step, the attribute's local name and
    /// its namespace URI.
    pub fn split_attribute_ns(&self) -> Option<(Selector, String, Option<String>)> {
        let (last, before) = self.path.steps.split_last()?;
        if last.axis != Axis::Attribute || !last.predicates.is_empty() {
            return None;
        }
        let NodeTest::Name {
            namespace, local, ..
        } = &last.test
        else {
            return None;
        };
        let source = match before.last() {
            None if self.path.absolute => "/".to_owned(),
            None => ".".to_owned(),
            // A bare `//` before the attribute: `a//@x` -> `a//.`
            Some(step) if step.axis == Axis::DescendantOrSelf => {
                format!("{}.", self.source[..step.span.end].trim_start())
            }
            Some(step) => self.source[..step.span.end].trim_start().to_owned(),
        };
        let selector = Selector {
            source,
            path: LocationPath::new(self.path.absolute, before.to_vec()),
        };
        Some((
            selector,
            local.to_string(),
            namespace.as_deref().map(str::to_owned),
        ))
    }

    /// When the selector is a lone relative attribute step `@name` or `@prefix:name`
    /// (no predicate): the attribute's namespace URI and local name, for reading it with
    /// one lookup instead of an evaluation.
    pub fn lone_attribute(&self) -> Option<(Option<&str>, &str)> {
        self.path.lone_attribute()
    }

    /// For testing a selector's costlier filters only where they matter (a `unique`
    /// tests them only at items whose key repeats): the predicates that are more than an
    /// attribute test (`@a`, `@a = 'v'`) and read neither `position()` nor `last()`, of the
    /// last step when it selects nodes and of the steps before it joined to it by child
    /// steps (`devices/*[local-name() != 'console']/address`), split off. Gives the
    /// selector without them and each of them with how many parents up from a selected
    /// node it applies (0 for the last step); `None` when there is none. A node is selected
    /// by `self` exactly when the shorter selector selects it and every expression is
    /// true at its ancestor that many levels up.
    pub fn split_costly_predicates(&self) -> Option<(Selector, Vec<(usize, Expression)>)> {
        fn cheap(e: &Expr) -> bool {
            match e {
                Expr::AttrCompare { .. } => true,
                Expr::Path(p) => matches!(&p.steps[..], [s] if !p.absolute
                    && s.axis == Axis::Attribute
                    && s.predicates.is_empty()),
                _ => false,
            }
        }
        let last = self.path.steps.last()?;
        if last.axis == Axis::Attribute {
            return None;
        }
        let mut path = self.path.clone();
        let mut costly = Vec::new();
        let count = path.steps.len();
        for (i, step) in path.steps.iter_mut().enumerate().rev() {
            let up = count - 1 - i;
            if !step.positional && !step.predicates.iter().all(cheap) {
                let (kept, split): (Vec<Expr>, Vec<Expr>) = std::mem::take(&mut step.predicates)
                    .into_iter()
                    .partition(cheap);
                step.predicates = kept;
                costly.extend(split.into_iter().map(|expr| {
                    (
                        up,
                        Expression {
                            source: self.source.clone(),
                            expr,
                        },
                    )
                }));
            }
            // A step before this one is a fixed number of parents up only across a
            // child step.
            if step.axis != Axis::Child {
                break;
            }
        }
        if costly.is_empty() {
            return None;
        }
        // The walk is planned anew for the shorter path (a plan names predicates by
        // their place in a step).
        let path = LocationPath::new(path.absolute, path.steps);
        Some((
            Selector {
                source: self.source.clone(),
                path,
            },
            costly,
        ))
    }

    /// For "ensure" edits: the steps when the path is relative and made only
    /// of child element steps with a concrete (optionally prefixed) name whose
    /// predicates are only `@a='v'` tests, possibly joined with `and` or given
    /// as several predicates. `None` otherwise (also when one attribute is
    /// required to have two different values).
    pub fn simple_path(&self) -> Option<Vec<SimpleStep>> {
        if self.path.absolute || self.path.steps.is_empty() {
            return None;
        }
        self.path
            .steps
            .iter()
            .map(|step| {
                let NodeTest::Name {
                    prefix,
                    namespace,
                    local,
                } = &step.test
                else {
                    return None;
                };
                if step.axis != Axis::Child {
                    return None;
                }
                let mut attributes = Vec::new();
                for pred in &step.predicates {
                    collect_attribute_tests(pred, &mut attributes)?;
                }
                Some(SimpleStep {
                    prefix: prefix.as_deref().map(str::to_owned),
                    namespace: namespace.as_deref().map(str::to_owned),
                    name: local.to_string(),
                    attributes,
                })
            })
            .collect()
    }
}

/// Something a document has, for skipping rules ([`Selector::required_facts`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fact {
    /// An element with this local name.
    Element(String),
    /// An element with local name `element` (any element when `None`) carrying the
    /// attribute `name` (in no namespace), with exactly the text `value` when given.
    Attribute {
        element: Option<String>,
        name: String,
        value: Option<String>,
    },
    /// An element with local name `element` carrying the attribute `name` (in no
    /// namespace) whose text passes `test` (a rule's `value:` test).
    AttributeTest {
        element: String,
        name: String,
        test: crate::condition::TextTest,
    },
}

/// Facts of which at least one holds.
pub type Clause = Vec<Fact>;

/// The name [`Selector::required_facts_at`] takes for "the document's root element" (no
/// element can have it: XML names cannot contain NUL): facts about it are checked on the
/// root element alone.
pub const ROOT_ELEMENT: &str = "\u{0}root";

/// What a predicate requires of an attribute: to exist, to have a text, or a text with a
/// prefix.
#[derive(Debug, Clone, Copy)]
enum Want<'e> {
    Exists,
    Text(&'e str),
    Prefix(&'e str),
}

/// The clause "an element named one of `elements` (any element when `None`) has one of
/// `attributes`" (each a name and what its value must be).
fn attribute_clause(elements: Option<&[&str]>, attributes: &[(&str, Want<'_>)]) -> Clause {
    let any: [Option<&str>; 1] = [None];
    let elements: Vec<Option<&str>> = match elements {
        Some(names) => names.iter().map(|n| Some(*n)).collect(),
        None => any.to_vec(),
    };
    elements
        .iter()
        .flat_map(|element| {
            attributes
                .iter()
                .map(move |(name, want)| match (want, element) {
                    // Tests are looked for on named elements only (a prefix on any element
                    // is looked for as the attribute).
                    (Want::Prefix(prefix), Some(element)) => Fact::AttributeTest {
                        element: (*element).to_owned(),
                        name: (*name).to_owned(),
                        test: crate::condition::TextTest::starts_with(prefix),
                    },
                    _ => Fact::Attribute {
                        element: element.map(str::to_owned),
                        name: (*name).to_owned(),
                        value: match want {
                            Want::Text(text) => Some((*text).to_owned()),
                            Want::Exists | Want::Prefix(_) => None,
                        },
                    },
                })
        })
        .collect()
}

/// Pushes onto `out` the facts a document needs for `path` to select anything when it is
/// evaluated at an element named one of `context` (see [`Selector::required_facts_at`]);
/// the names the selected elements may have, when known.
fn path_facts<'p>(
    path: &'p LocationPath,
    context: Option<&[&'p str]>,
    out: &mut Vec<Clause>,
) -> Option<Vec<&'p str>> {
    let mut previous: Option<Vec<&str>> = match context {
        Some(names) if !path.absolute => Some(names.to_vec()),
        _ => None,
    };
    for step in &path.steps {
        if step.axis == Axis::Attribute {
            // `x/@a`: some `x` has an `a`.
            if let NodeTest::Name {
                namespace: None,
                local,
                ..
            } = &step.test
            {
                out.push(attribute_clause(
                    previous.as_deref(),
                    &[(&**local, Want::Exists)],
                ));
            }
            previous = None;
            continue;
        }
        let names: Option<Vec<&str>> = match (&step.test, step.axis) {
            (_, Axis::Parent) => None,
            (NodeTest::Name { local, .. }, _) => Some(vec![&**local]),
            (NodeTest::AnyName | NodeTest::NamespaceAny(_), _) => step
                .predicates
                .iter()
                .find_map(eval::local_name_alternatives),
            _ => None,
        };
        // A `.` step keeps the element the previous step selected.
        let names = match (step.axis, names) {
            (Axis::SelfNode, None) => previous.take(),
            (_, names) => names,
        };
        if let Some(names) = &names {
            out.push(
                names
                    .iter()
                    .map(|n| Fact::Element((*n).to_owned()))
                    .collect(),
            );
        }
        // A wildcard step below a named one (`hyperv/*[@state='on']`) would make its
        // attribute tests facts about every element of the document, which cost a look at
        // each element's attributes (measured: a fifth of all fact learning for
        // `features/hyperv/*[@state='on']`) and rule little out; its elements' names are
        // unknown, so only the elements its predicates' paths name are taken from them.
        let unnamed_child = names.is_none()
            && step.axis != Axis::SelfNode
            && path
                .steps
                .first()
                .is_some_and(|first| !std::ptr::eq(first, step));
        for pred in &step.predicates {
            if !unnamed_child {
                for clause in predicate_clauses(pred) {
                    out.push(attribute_clause(names.as_deref(), &clause));
                }
            }
            // `timer[catchup]`, `disk[driver/@io = 'native']`: the elements the
            // predicate's path names must exist. (Only those: they are known once the
            // element index is looked at, while facts about their attributes cost a look
            // at each such element, which measured more than the rules they skip.)
            for inner in predicate_paths(pred) {
                let mut facts = Vec::new();
                path_facts(inner, names.as_deref(), &mut facts);
                out.extend(
                    facts.into_iter().filter(|clause| {
                        clause.iter().all(|fact| matches!(fact, Fact::Element(_)))
                    }),
                );
            }
        }
        previous = names;
    }
    previous
}

/// The relative paths `e` needs to select something to hold: the path itself as a
/// predicate (`[catchup]`), a side of a comparison with a non-boolean (an empty node-set
/// compares false), each part of an `and`. Lone attributes are left to
/// [`predicate_clauses`].
fn predicate_paths(e: &Expr) -> Vec<&LocationPath> {
    fn path(e: &Expr) -> Option<&LocationPath> {
        match e {
            Expr::Path(p) if !p.absolute && p.lone_attribute().is_none() => Some(p),
            _ => None,
        }
    }
    match e {
        Expr::Path(_) => path(e).into_iter().collect(),
        Expr::Compare(_, l, r) => {
            fn side<'e>(a: &'e Expr, other: &Expr) -> Option<&'e LocationPath> {
                path(a).filter(|_| other.ty() != parse::Type::Boolean)
            }
            side(l, r).or_else(|| side(r, l)).into_iter().collect()
        }
        Expr::And(items) => items.iter().flat_map(predicate_paths).collect(),
        _ => Vec::new(),
    }
}

/// What a predicate requires of the element it filters, as clauses of attributes and
/// what they must hold: `@a = 'v'` needs `a` = `v`; `starts-with(@a, 'v')` an `a`
/// starting with `v`; `@a`, `@a != 'v'`, `@a > 3` and `@a = 3` need `a`; `and` adds up
/// its parts; `or` needs one of its branches' first clause.
fn predicate_clauses(e: &Expr) -> Vec<Vec<(&str, Want<'_>)>> {
    /// `@a` alone, relative, without predicates, in no namespace.
    fn lone_attribute(e: &Expr) -> Option<&str> {
        let Expr::Path(p) = e else { return None };
        match p.lone_attribute()? {
            (None, local) => Some(local),
            (Some(_), _) => None,
        }
    }
    match e {
        Expr::AttrCompare {
            namespace: None,
            local,
            op,
            value,
        } => {
            let want = if *op == CmpOp::Eq && !value.is_number {
                Want::Text(&value.text)
            } else {
                Want::Exists
            };
            vec![vec![(&**local, want)]]
        }
        Expr::Path(_) => lone_attribute(e).map_or_else(Vec::new, |a| vec![vec![(a, Want::Exists)]]),
        Expr::Call(parse::Func::StartsWith, args) => match &args[..] {
            // An empty prefix holds even without the attribute.
            [a, Expr::Literal(prefix)] if !prefix.is_empty() => {
                lone_attribute(a).map_or_else(Vec::new, |a| vec![vec![(a, Want::Prefix(prefix))]])
            }
            _ => Vec::new(),
        },
        // An empty node-set compares false with anything but a boolean.
        Expr::Compare(_, l, r) => {
            fn one<'e>(a: &'e Expr, other: &Expr) -> Option<&'e str> {
                lone_attribute(a).filter(|_| other.ty() != parse::Type::Boolean)
            }
            one(l, r)
                .or_else(|| one(r, l))
                .map_or_else(Vec::new, |a| vec![vec![(a, Want::Exists)]])
        }
        Expr::And(items) => items.iter().flat_map(predicate_clauses).collect(),
        Expr::Or(items) => {
            let mut clause = Vec::new();
            for item in items {
                match predicate_clauses(item).into_iter().next() {
                    Some(first) => clause.extend(first),
                    None => return Vec::new(),
                }
            }
            vec![clause]
        }
        _ => Vec::new(),
    }
}

/// What kind of node a selector's last step picks, for checks made when a rule is loaded
/// (see [`Selector::targets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets {
    /// The context itself: `.` (or `self::node()` steps only).
    Context,
    /// The document root: `/`.
    DocumentRoot,
    Elements,
    Attributes,
    Text,
    Comments,
    /// Any kind of node (`node()`, `..`).
    AnyNode,
}

impl Selector {
    /// What the selector's last step can select.
    pub fn targets(&self) -> Targets {
        let only_self = self.path.steps.iter().all(|s| {
            s.axis == Axis::SelfNode && s.test == NodeTest::Node && s.predicates.is_empty()
        });
        if only_self {
            return if self.path.absolute {
                Targets::DocumentRoot
            } else {
                Targets::Context
            };
        }
        match self.path.steps.last() {
            None => Targets::Context,
            Some(step) if step.axis == Axis::Attribute => Targets::Attributes,
            Some(step) => match step.test {
                NodeTest::Text => Targets::Text,
                NodeTest::Comment => Targets::Comments,
                NodeTest::Node => Targets::AnyNode,
                NodeTest::Name { .. } | NodeTest::AnyName | NodeTest::NamespaceAny(_) => {
                    Targets::Elements
                }
            },
        }
    }
}

/// Adds the `@a='v'` tests of `e` to `out`; `None` if `e` is anything else.
fn collect_attribute_tests(e: &Expr, out: &mut Vec<(String, String)>) -> Option<()> {
    match e {
        Expr::And(items) => items
            .iter()
            .try_for_each(|item| collect_attribute_tests(item, out)),
        Expr::AttrCompare {
            namespace: None,
            local,
            op: CmpOp::Eq,
            value,
        } if !value.is_number => {
            match out.iter().find(|(name, _)| **name == **local) {
                Some((_, v)) if **v == *value.text => {}
                Some(_) => return None,
                None => out.push((local.to_string(), value.text.to_string())),
            }
            Some(())
        }
        _ => None,
    }
}

/// One selected item: a node (element, text, comment, the document root) or
/// an attribute together with its element.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a, 'i> {
    Node(roxmltree::Node<'a, 'i>),
    Attribute {
        element: roxmltree::Node<'a, 'i>,
        attribute: roxmltree::Attribute<'a, 'i>,
    },
}

impl<'a, 'i> Item<'a, 'i> {
    /// Byte range in the document: the node's range, or the attribute's
    /// whole `name='value'`.
    pub fn range(&self) -> Range<usize> {
        match self {
            Item::Node(n) => n.range(),
            Item::Attribute { attribute, .. } => attribute.range(),
        }
    }

    /// The node itself, or the attribute's owner element.
    pub fn element(&self) -> roxmltree::Node<'a, 'i> {
        match self {
            Item::Node(n) => *n,
            Item::Attribute { element, .. } => *element,
        }
    }

    /// The node, unless this is an attribute.
    pub fn node(&self) -> Option<roxmltree::Node<'a, 'i>> {
        match self {
            Item::Node(n) => Some(*n),
            Item::Attribute { .. } => None,
        }
    }

    /// The attribute, if this is one.
    pub fn attribute(&self) -> Option<roxmltree::Attribute<'a, 'i>> {
        match self {
            Item::Node(_) => None,
            Item::Attribute { attribute, .. } => Some(*attribute),
        }
    }

    /// XPath string-value: an attribute's value, a text or comment node's
    /// text, or the concatenated descendant text of an element or the root.
    pub fn string_value(&self) -> Cow<'a, str> {
        match self {
            Item::Node(n) => eval::node_string_value(*n),
            Item::Attribute { attribute, .. } => Cow::Borrowed(attribute.value()),
        }
    }
}

/// Identity: the same node, or the same attribute of the same element.
impl PartialEq for Item<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Item::Node(a), Item::Node(b)) => a == b,
            (
                Item::Attribute {
                    element: e1,
                    attribute: a1,
                },
                Item::Attribute {
                    element: e2,
                    attribute: a2,
                },
            ) => e1 == e2 && a1.range() == a2.range(),
            _ => false,
        }
    }
}

impl Eq for Item<'_, '_> {}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = r#"<domain type='kvm' xmlns:ns0="http://libosinfo.org/xmlns/libvirt/domain/1.0">
  <name>win11</name>
  <metadata>
    <ns0:libosinfo>
      <ns0:os id="http://microsoft.com/win/11"/>
    </ns0:libosinfo>
  </metadata>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
  </os>
  <features>
    <hyperv mode='custom'>
      <stimer state='on'/>
    </hyperv>
  </features>
  <clock offset='localtime'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='hpet' present='no'/>
  </clock>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>"#;

    fn sel(src: &str) -> Selector {
        Selector::parse(src, &Namespaces::builtin()).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    /// The source text of every selected item.
    fn texts<'d>(doc: &roxmltree::Document<'d>, src: &str) -> Vec<&'d str> {
        let s = sel(src);
        let items = s.select(doc.root_element());
        assert_eq!(s.exists(doc.root_element()), !items.is_empty(), "{src}");
        items.iter().map(|i| &doc.input_text()[i.range()]).collect()
    }

    /// `[n]` selects what the same position test written out selects, wherever it stands
    /// among the predicates; and the exact texts for a few.
    #[test]
    fn nth_predicates_select_as_positions_do() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        for (nth, general) in [
            ("devices/disk[2]", "devices/disk[position() = 2 and true()]"),
            (
                "devices/disk[1]/target",
                "devices/disk[position() = 1 and true()]/target",
            ),
            ("devices/disk[4]", "devices/disk[position() = 4 and true()]"),
            (
                "devices/disk[@device='disk'][2]",
                "devices/disk[@device='disk'][position() = 2 and true()]",
            ),
            (
                "devices/disk[2][@device='disk']",
                "devices/disk[position() = 2 and true()][@device='disk']",
            ),
            (
                "devices/disk[2][@device='cdrom']",
                "devices/disk[position() = 2 and true()][@device='cdrom']",
            ),
            (
                "devices/disk[driver][2]",
                "devices/disk[driver][position() = 2 and true()]",
            ),
            (
                "clock/timer[2]/@name",
                "clock/timer[position() = 2 and true()]/@name",
            ),
            ("devices/*[3]", "devices/*[position() = 3 and true()]"),
            (
                "devices/disk[2.5]",
                "devices/disk[position() = 2.5 and true()]",
            ),
            (
                "devices/disk[1][last()]",
                "devices/disk[position() = 1 and true()][last()]",
            ),
        ] {
            assert_eq!(texts(&doc, nth), texts(&doc, general), "{nth}");
        }
        assert_eq!(
            texts(&doc, "devices/disk[@device='disk'][2]/target/@dev"),
            ["dev='vdb'"]
        );
        assert_eq!(
            texts(&doc, "devices/disk[2][@device='disk']"),
            Vec::<&str>::new()
        );
        assert_eq!(texts(&doc, "clock/timer[2]/@name"), ["name='hpet'"]);
    }

    /// The shorter selector `split_costly_predicates` gives selects the same through the
    /// element index as without it: its walk is planned for its own predicates (a plan
    /// made for the longer one would take `[@y='1']` for the name test it replaced, and
    /// pick the `<a y='2'>`'s address).
    #[test]
    fn split_selectors_walk_as_planned() {
        let others: String = (3..12)
            .map(|n| format!("<c y='1'><address n='{n}'/></c>"))
            .collect();
        let xml = format!(
            "<domain><devices><a y='1'><address n='1'/></a><a y='2'><address n='2'/></a>\
             {others}</devices></domain>"
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let full = sel("devices/*[local-name()='a' or local-name()='b'][@y='1']/address");
        let (shorter, costly) = full.split_costly_predicates().unwrap();
        assert_eq!(costly.len(), 1);
        let numbers = |items: Vec<Item<'_, '_>>| -> Vec<String> {
            items
                .iter()
                .map(|i| i.element().attribute("n").unwrap().to_owned())
                .collect()
        };
        let root = doc.root_element();
        let plain = numbers(shorter.select(root));
        assert_eq!(plain.len(), 10, "{plain:?}");
        assert!(!plain.contains(&"2".to_owned()));
        let scope = index::Scope::start(root);
        assert_eq!(numbers(shorter.select(root)), plain);
        assert_eq!(numbers(full.select(root)), ["1"]);
        drop(scope);
    }

    #[test]
    fn namespaces_table() {
        let mut ns = Namespaces::default();
        assert_eq!(ns, Namespaces::builtin());
        assert_eq!(
            ns.get("libosinfo"),
            Some("http://libosinfo.org/xmlns/libvirt/domain/1.0")
        );
        assert_eq!(
            ns.get("qemu"),
            Some("http://libvirt.org/schemas/domain/qemu/1.0")
        );
        assert_eq!(ns.get("foo"), None);
        ns.insert("foo", "urn:foo");
        assert_eq!(ns.get("foo"), Some("urn:foo"));
        assert_eq!(
            ns.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            ["foo", "libosinfo", "qemu"]
        );
    }

    #[test]
    fn error_display_is_the_message() {
        let e = Selector::parse("a[", &Namespaces::builtin()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unexpected end of selector, expected an expression"
        );
        assert_eq!(e.offset, 2);
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn spec_examples() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        assert_eq!(
            texts(&doc, "features/hyperv/stimer[@state='on']"),
            ["<stimer state='on'/>"]
        );
        assert!(texts(&doc, "features/hyperv/stimer[@state='off']").is_empty());
        assert_eq!(
            texts(
                &doc,
                "metadata/libosinfo:libosinfo/libosinfo:os[starts-with(@id, 'http://microsoft.com/win/')]"
            ),
            [r#"<ns0:os id="http://microsoft.com/win/11"/>"#]
        );
        assert!(texts(&doc, "os/type[@arch and @arch!='i686' and @arch!='x86_64']").is_empty());
        assert_eq!(texts(&doc, "os/type[@arch and @arch!='i686']").len(), 1);
        assert!(texts(&doc, ".[@type!='kvm']").is_empty());
        assert_eq!(texts(&doc, ".[@type='kvm']"), [DOMAIN]);
        assert_eq!(
            texts(
                &doc,
                "devices/disk[@device='disk'][not(driver/@cache)]/target/@dev"
            ),
            ["dev='vda'"]
        );
        assert_eq!(
            texts(&doc, "clock/timer[@name='hpet']/@present"),
            ["present='no'"]
        );
        assert_eq!(
            texts(&doc, "os/type"),
            ["<type arch='x86_64' machine='pc-q35-8.2'>hvm</type>"]
        );
        assert_eq!(texts(&doc, "os/type/text()"), ["hvm"]);
        assert_eq!(
            texts(
                &doc,
                "devices/disk[count(target) = 1 and driver][2]/target/@dev"
            ),
            ["dev='vdb'"]
        );
    }

    #[test]
    fn namespaces_match_by_uri_not_prefix() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        assert_eq!(
            texts(&doc, "metadata/libosinfo:libosinfo/libosinfo:*").len(),
            1
        );
        assert_eq!(texts(&doc, "metadata/*/@*").len(), 0);
        // The document's own prefix means nothing to the selector.
        let mut ns = Namespaces::builtin();
        ns.insert("ns0", "urn:something-else");
        let s = Selector::parse("metadata/ns0:libosinfo", &ns).unwrap();
        assert!(!s.exists(doc.root_element()));
        ns.insert("osinfo", "http://libosinfo.org/xmlns/libvirt/domain/1.0");
        let s = Selector::parse("metadata/osinfo:libosinfo/osinfo:os/@id", &ns).unwrap();
        assert_eq!(
            s.select(doc.root_element())[0].string_value(),
            "http://microsoft.com/win/11"
        );
        // Unprefixed names only match elements in no namespace.
        assert!(texts(&doc, "metadata/libosinfo").is_empty());
        assert!(texts(&doc, "metadata/*/os").is_empty());
    }

    #[test]
    fn default_namespace_elements_need_a_prefix() {
        let xml = "<domain><metadata><app xmlns='http://libvirt.org/schemas/domain/qemu/1.0'><x/></app></metadata></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert!(texts(&doc, "metadata/app").is_empty());
        assert_eq!(texts(&doc, "metadata/qemu:app/qemu:x"), ["<x/>"]);
    }

    #[test]
    fn qualified_attributes() {
        let xml = "<domain xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'><a q:x='1' x='2' xml:lang='en'/></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert_eq!(texts(&doc, "a/@qemu:x"), ["q:x='1'"]);
        assert_eq!(texts(&doc, "a/@x"), ["x='2'"]);
        assert_eq!(texts(&doc, "a/@qemu:*"), ["q:x='1'"]);
        assert_eq!(texts(&doc, "a/@xml:lang"), ["xml:lang='en'"]);
        assert_eq!(
            texts(&doc, "a[@qemu:x = 1]/@*"),
            ["q:x='1'", "x='2'", "xml:lang='en'"]
        );
    }

    #[test]
    fn item_ranges_and_accessors() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        let s = sel("clock/timer[@name='hpet']/@present");
        let items = s.select(doc.root_element());
        assert_eq!(items.len(), 1);
        let item = items[0];
        let start = DOMAIN.find("present='no'").unwrap();
        assert_eq!(item.range(), start..start + "present='no'".len());
        assert_eq!(item.string_value(), "no");
        assert!(item.element().has_tag_name("timer"));
        assert_eq!(item.element().attribute("name"), Some("hpet"));
        assert_eq!(item.attribute().unwrap().name(), "present");
        assert!(item.node().is_none());

        let timer = sel("clock/timer[2]").select(doc.root_element())[0];
        let start = DOMAIN.find("<timer name='hpet'").unwrap();
        assert_eq!(
            timer.range(),
            start..start + "<timer name='hpet' present='no'/>".len()
        );
        assert_eq!(timer.node(), Some(timer.element()));
        assert!(timer.attribute().is_none());

        let name = sel("name").select(doc.root_element())[0];
        assert_eq!(&DOMAIN[name.range()], "<name>win11</name>");
        assert_eq!(name.string_value(), "win11");
    }

    #[test]
    fn document_order_and_dedup() {
        let xml = "<r><a id='1'><a id='2'><b id='3'/></a><b id='4'/></a><b id='5'/></r>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let ids = |src: &str| -> Vec<String> {
            sel(src)
                .select(doc.root_element())
                .iter()
                .map(|i| i.element().attribute("id").unwrap_or("-").to_owned())
                .collect()
        };
        assert_eq!(ids("//b"), ["3", "4", "5"]);
        assert_eq!(ids("//a//b"), ["3", "4"]);
        assert_eq!(ids("//a/b/.."), ["1", "2"]);
        assert_eq!(ids("//*"), ["-", "1", "2", "3", "4", "5"]);
        assert_eq!(ids(".//*/.."), ["-", "1", "2"]);
        assert_eq!(ids("//a//."), ["1", "2", "3", "4"]);
        assert_eq!(ids("//b/none/.."), Vec::<String>::new());
        // Attributes come after their element and before its children.
        assert_eq!(ids("//a//node()"), ["2", "3", "4"]);
        let mixed = sel(".//a/@id/..//@*").select(doc.root_element());
        let mixed: Vec<_> = mixed
            .iter()
            .map(|i| i.string_value().into_owned())
            .collect();
        assert_eq!(mixed, ["1", "2", "3", "4"]);
        // Duplicates from different paths are removed: each node once.
        assert_eq!(ids("b/../b/../*"), ["1", "5"]);
    }

    #[test]
    fn attribute_order_follows_the_document() {
        let xml = "<r z='1' a='2'><c y='3' b='4'/></r>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert_eq!(texts(&doc, "//@*"), ["z='1'", "a='2'", "y='3'", "b='4'"]);
        assert_eq!(texts(&doc, "none/@*").len(), 0);
        assert_eq!(texts(&doc, "c/@*/../../@a"), ["a='2'"]);
    }

    #[test]
    fn context_parent_and_root() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        let root_el = doc.root_element();
        let items = sel(".").select(root_el);
        assert_eq!(items, [Item::Node(root_el)]);
        let parent = sel("..").select(root_el);
        assert_eq!(parent, [Item::Node(doc.root())]);
        assert!(sel("../..").select(root_el).is_empty());
        assert_eq!(sel("/").select(root_el), [Item::Node(doc.root())]);
        assert_eq!(sel("/domain").select(root_el), [Item::Node(root_el)]);
        assert!(sel("/devices").select(root_el).is_empty());
        // Absolute paths start at the document root even from a deeper context.
        let devices = sel("devices").select(root_el)[0].element();
        assert_eq!(sel("/domain/name").select(devices).len(), 1);
        assert_eq!(sel("disk").select(devices).len(), 3);
        assert_eq!(sel("disk[/domain/@type = 'kvm']").select(devices).len(), 3);
        assert_eq!(
            sel("disk[@device = /domain/devices/disk[2]/@device]")
                .select(devices)
                .len(),
            1
        );
        assert!(
            sel("disk/target[@dev = ../../../name]")
                .select(devices)
                .is_empty()
        );
    }

    #[test]
    fn exists_matches_select() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        for src in [
            "devices/disk",
            "devices/disk[3]",
            "devices/disk[4]",
            "devices/disk/driver[@cache='none']",
            "devices/disk/driver[@cache='writeback']",
            "//target/@bus",
            "//@nope",
            "clock/timer[last()]/@present",
            "features/*/stimer/..",
            "os/type[. = 'hvm']",
            "os/type[. = 'xen']",
        ] {
            let s = sel(src);
            assert_eq!(
                s.exists(doc.root_element()),
                !s.select(doc.root_element()).is_empty(),
                "{src}"
            );
        }
    }

    #[test]
    fn split_attribute_cases() {
        let split = |src: &str| {
            sel(src)
                .split_attribute()
                .map(|(s, a)| (s.source().to_owned(), a))
        };
        let some = |s: &str, a: &str| Some((s.to_owned(), a.to_owned()));
        assert_eq!(
            split("clock/timer[@name='hpet']/@present"),
            some("clock/timer[@name='hpet']", "present")
        );
        assert_eq!(split("@x"), some(".", "x"));
        assert_eq!(split("./@x"), some(".", "x"));
        assert_eq!(split("/@x"), some("/", "x"));
        assert_eq!(split("/domain/@type"), some("/domain", "type"));
        assert_eq!(split("a//@x"), some("a//.", "x"));
        assert_eq!(split("//@x"), some("//.", "x"));
        assert_eq!(split(" a / b/@x"), some("a / b", "x"));
        for src in [
            "a/@*",
            "a/@x[. = '1']",
            "a/b",
            "a/@qemu:x",
            "a/@qemu:*",
            "@x/..",
            "a/text()",
        ] {
            assert_eq!(split(src), None, "{src}");
        }
        let (s, name, ns) = sel("a/@qemu:x").split_attribute_ns().unwrap();
        assert_eq!((s.source(), name.as_str()), ("a", "x"));
        assert_eq!(
            ns.as_deref(),
            Some("http://libvirt.org/schemas/domain/qemu/1.0")
        );

        // The split selector selects the owner elements.
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        let (owner, _) = sel("clock/timer[@name='hpet']/@present")
            .split_attribute()
            .unwrap();
        assert_eq!(
            texts(&doc, owner.source()),
            ["<timer name='hpet' present='no'/>"]
        );
        assert_eq!(owner.select(doc.root_element()).len(), 1);
        let (owner, _) = sel("devices//@dev").split_attribute().unwrap();
        assert_eq!(owner.source(), "devices//.");
        assert_eq!(
            owner.select(doc.root_element()),
            sel("devices//.").select(doc.root_element())
        );
        assert_eq!(sel("devices//@dev").select(doc.root_element()).len(), 3);
    }

    #[test]
    fn simple_path_accepts() {
        let steps = sel("features/hyperv/stimer[@state='on']")
            .simple_path()
            .unwrap();
        assert_eq!(
            steps,
            [
                SimpleStep {
                    prefix: None,
                    namespace: None,
                    name: "features".into(),
                    attributes: vec![]
                },
                SimpleStep {
                    prefix: None,
                    namespace: None,
                    name: "hyperv".into(),
                    attributes: vec![]
                },
                SimpleStep {
                    prefix: None,
                    namespace: None,
                    name: "stimer".into(),
                    attributes: vec![("state".into(), "on".into())]
                },
            ]
        );
        let steps = sel("devices/disk[@type='file' and @device='disk']['x' = @y][@type='file']")
            .simple_path()
            .unwrap();
        assert_eq!(
            steps[1].attributes,
            [
                ("type".into(), "file".into()),
                ("device".into(), "disk".into()),
                ("y".into(), "x".into())
            ]
        );
        let steps = sel("metadata/libosinfo:libosinfo").simple_path().unwrap();
        assert_eq!(steps[1].prefix.as_deref(), Some("libosinfo"));
        assert_eq!(
            steps[1].namespace.as_deref(),
            Some("http://libosinfo.org/xmlns/libvirt/domain/1.0")
        );
        assert_eq!(steps[1].name, "libosinfo");
    }

    #[test]
    fn simple_path_rejects() {
        for src in [
            ".",
            "..",
            "/domain/devices",
            "//disk",
            "a//b",
            "a/*",
            "a/qemu:*",
            "a/@x",
            "a/text()",
            "./a",
            "a[@x!='y']",
            "a[@x='1' or @y='2']",
            "a[@x]",
            "a[1]",
            "a[b='x']",
            "a[@x=1]",
            "a[@qemu:x='1']",
            "a[@x='1' and @x='2']",
            "a[not(@x='1')]",
            "a[@x='1' and (@y='2' or @z='3')]",
        ] {
            assert_eq!(sel(src).simple_path(), None, "{src}");
        }
    }

    #[test]
    fn selector_is_send_sync_and_reusable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Selector>();
        assert_send_sync::<Namespaces>();
        let s = sel("devices/disk/target/@dev");
        assert_eq!(s.to_string(), "devices/disk/target/@dev");
        assert_eq!(s.source(), "devices/disk/target/@dev");
        let other = s.clone();
        let d1 = roxmltree::Document::parse(DOMAIN).unwrap();
        let d2 = roxmltree::Document::parse(
            "<domain><devices><disk><target dev='x'/></disk></devices></domain>",
        )
        .unwrap();
        assert_eq!(s.select(d1.root_element()).len(), 3);
        assert_eq!(other.select(d2.root_element())[0].string_value(), "x");
    }

    fn expr(src: &str) -> Expression {
        Expression::parse(src, &Namespaces::builtin()).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    #[test]
    fn bitmap_max_reads_libvirt_bitmaps() {
        let doc = roxmltree::Document::parse(
            "<r><p n='1,4'/><p n='0-3,^3'/><p n='^0'/><p n='x'/><p/></r>",
        )
        .unwrap();
        let root = doc.root_element();
        let num = |src: &str| expr(src).eval_string(root);
        assert_eq!(num("bitmap-max(p[1]/@n)"), "4");
        assert_eq!(num("bitmap-max(p[2]/@n)"), "2");
        assert_eq!(num("bitmap-max(p[3]/@n)"), "NaN");
        assert_eq!(num("bitmap-max(p[4]/@n)"), "NaN");
        assert_eq!(num("bitmap-max(p[5]/@n)"), "NaN");
        assert_eq!(num("bitmap-max('7, 2-5')"), "7");
        assert_eq!(texts(&doc, "p[bitmap-max(@n) >= 4]"), ["<p n='1,4'/>"]);
    }

    #[test]
    fn arithmetic_follows_xpath() {
        let doc =
            roxmltree::Document::parse("<r><v>7</v><v>2</v><c n='3' m='0x10'/><c n='4'/></r>")
                .unwrap();
        let root = doc.root_element();
        let num = |src: &str| expr(src).eval_string(root);
        assert_eq!(num("1 + 2 * 3"), "7");
        assert_eq!(num("(1 + 2) * 3"), "9");
        assert_eq!(num("v - 1"), "6");
        assert_eq!(num("v * v[2]"), "14");
        assert_eq!(num("v div 2"), "3.5");
        assert_eq!(num("v mod 4"), "3");
        assert_eq!(num("-v mod 4"), "-3");
        assert_eq!(num("5 - -2"), "7");
        assert_eq!(num("1 div 0"), "Infinity");
        assert_eq!(num("c/@m + 1"), "NaN");
        assert_eq!(num("int(c/@m) + 1"), "17");
        assert_eq!(num("count(c) * 10 + 1"), "21");
        // `*` is a name test after `/`, an operator after a complete operand.
        assert_eq!(num("count(*) * 2"), "8");
        assert_eq!(texts(&doc, "c[@n * 2 = 8]"), ["<c n='4'/>"]);
        assert_eq!(
            texts(&doc, "c[@n + 1 = ../v[1] - 3]"),
            ["<c n='3' m='0x10'/>"]
        );
        assert_eq!(texts(&doc, "c[@n mod 2 = 1]"), ["<c n='3' m='0x10'/>"]);
        assert_eq!(texts(&doc, "v[. > ../c/@n * 2]"), ["<v>7</v>"]);
        // Comparisons between two selectors.
        let holds = |src: &str| expr(src).eval_bool(root);
        assert!(holds("v[1] > c[1]/@n"));
        assert!(holds("v[1] = c[1]/@n + c[2]/@n"));
        assert!(!holds("v[2] >= c/@n"));
        assert!(holds("v[1] - v[2] = 5"));
    }

    #[test]
    fn expressions_render_one_or_every_value() {
        let doc = roxmltree::Document::parse(DOMAIN).unwrap();
        let root = doc.root_element();
        let e = expr("devices/disk/target/@dev");
        assert!(e.is_path());
        assert_eq!(e.eval_string(root), "vda");
        assert_eq!(e.eval_strings(root), ["vda", "sda", "vdb"]);
        assert_eq!(e.eval_items(root).unwrap().len(), 3);
        assert_eq!(e.to_string(), "devices/disk/target/@dev");
        let n = expr("count(devices/disk) * 2");
        assert!(!n.is_path());
        assert_eq!(n.eval_strings(root), ["6"]);
        assert!(n.eval_items(root).is_none());
        assert!(expr("features/hyperv/stimer/@state = 'on'").eval_bool(root));
        for (src, offset, message) in [
            ("", 0, "empty expression"),
            (
                "1 +",
                3,
                "unexpected end of selector, expected an expression",
            ),
            ("a b", 2, "unexpected 'b' after the expression"),
            ("foo(1)", 0, "unknown function 'foo'"),
            ("int(1, 2, 3)", 0, "int() takes 0 or 2 arguments, found 3"),
        ] {
            let err = Expression::parse(src, &Namespaces::builtin()).unwrap_err();
            assert_eq!(
                (err.offset, err.message.as_str()),
                (offset, message),
                "{src}"
            );
        }
    }
}
