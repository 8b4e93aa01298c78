//! Evaluator: runs a parsed selector over a roxmltree document with XPath 1.0
//! semantics (value conversions, existential node-set comparisons, positions).
//!
//! Location paths are walked depth first with a callback that can stop the
//! walk, so existence tests and existential comparisons short-circuit and do
//! not allocate for steps without positional predicates. Only `select`,
//! `count()` and node-set comparisons collect items; `select` then restores
//! document order and removes duplicates.

use std::borrow::Cow;

use roxmltree::{Attributes, Children, Descendants, Node, NodeType};

use super::Item;
use super::index;
use super::normalize;
use super::parse::{ArithOp, Axis, CmpOp, Expr, Func, Literal, LocationPath, NodeTest, Step};
use super::text::{same, same_opt, starts_with};

/// The context of a predicate: the item under test, its 1-based position and
/// the size of the candidate list (both 0 when no predicate reads them).
#[derive(Clone, Copy)]
struct Ctx<'a, 'i> {
    item: Item<'a, 'i>,
    pos: usize,
    size: usize,
}

impl<'a, 'i> Ctx<'a, 'i> {
    fn new(item: Item<'a, 'i>) -> Self {
        Ctx {
            item,
            pos: 0,
            size: 0,
        }
    }
}

/// An XPath 1.0 value. Node-sets are in document order without duplicates.
#[derive(Debug, Clone)]
pub(super) enum Value<'a, 'i> {
    Nodes(Vec<Item<'a, 'i>>),
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
}

/// A callback receiving the items of a walk; returning `true` stops it.
type Visit<'f, 'a, 'i> = &'f mut dyn FnMut(Item<'a, 'i>) -> bool;

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// How a [`LocationPath`] is walked, worked out when it is compiled: whether it is a lone
/// attribute (`@name`), and the steps a bottom-up walk through the element index may
/// start from.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Plan {
    /// The path is `@name` (no predicate): one attribute lookup.
    lone_attribute: bool,
    /// The steps to start bottom-up walks from (see [`bottom_up`]), in path order; the
    /// walk starts from the one whose names the document has fewest elements of.
    anchors: Vec<Anchor>,
}

/// A named step that can be checked in reverse, from which [`bottom_up`] may start.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Anchor {
    /// Its index in the path's steps.
    step: usize,
    /// The index groups ([`index::group`]) of the names it may have, sorted, distinct.
    groups: Vec<u8>,
    /// For a wildcard step whose predicate `k` is exactly "named a or b": `k` and the
    /// names, tested as such instead of evaluated.
    name_filter: Option<(usize, Vec<Box<str>>)>,
    /// When the anchor is a child step and every step before it a named child step
    /// without predicates (`devices/disk`, `os/type`): those names, nearest first. The
    /// walk back up then compares the ancestors' names in a loop instead of evaluating
    /// the steps in reverse ([`reaches`]).
    up: Option<Vec<Box<str>>>,
}

impl Plan {
    pub(super) fn of(absolute: bool, steps: &[Step]) -> Plan {
        let lone_attribute = super::parse::lone_attribute(absolute, steps).is_some();
        let mut anchors: Vec<Anchor> = Vec::new();
        for (j, step) in steps.iter().enumerate() {
            if !reversible(step) {
                break;
            }
            let Some(names) = anchor_names(step) else {
                continue;
            };
            let mut groups: Vec<u8> = names.iter().map(|n| index::group(n) as u8).collect();
            groups.sort_unstable();
            groups.dedup();
            let name_filter = match step.test {
                NodeTest::AnyName | NodeTest::NamespaceAny(_) => {
                    step.predicates.iter().enumerate().find_map(|(k, p)| {
                        Some((
                            k,
                            exact_name_filter(p)?.into_iter().map(Into::into).collect(),
                        ))
                    })
                }
                _ => None,
            };
            let up = (step.axis == Axis::Child)
                .then(|| {
                    steps[..j]
                        .iter()
                        .rev()
                        .map(|s| match (&s.test, s.axis, s.predicates.is_empty()) {
                            (
                                NodeTest::Name {
                                    namespace: None,
                                    local,
                                    ..
                                },
                                Axis::Child,
                                true,
                            ) => Some(local.clone()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                })
                .flatten();
            anchors.push(Anchor {
                step: j,
                groups,
                name_filter,
                up,
            });
        }
        // An earlier step is a candidate only when the steps after it are walked
        // cheaply: named child steps, not a search of a whole subtree or of every child's
        // children (`devices//address` and `devices/*/address` start from the addresses,
        // not from `<devices>`). The last named step always is.
        let last = anchors.pop();
        anchors.retain(|a| {
            steps[a.step + 1..]
                .iter()
                .all(|s| s.axis == Axis::Child && matches!(s.test, NodeTest::Name { .. }))
        });
        anchors.extend(last);
        Plan {
            lone_attribute,
            anchors,
        }
    }
}

/// Calls `f` for every item `path` reaches from `ctx` (possibly several times
/// and out of document order) until `f` returns true; returns whether it did.
pub(super) fn for_each<'a, 'i>(
    path: &LocationPath,
    ctx: Item<'a, 'i>,
    f: Visit<'_, 'a, 'i>,
) -> bool {
    if path.plan.lone_attribute {
        return lone_attribute(path, ctx).is_some_and(f);
    }
    let start = if path.absolute {
        Item::Node(ctx.element().document().root())
    } else {
        ctx
    };
    if let Item::Node(node) = start
        && !path.plan.anchors.is_empty()
        && let Some(found) = bottom_up(&path.steps, &path.plan.anchors, node, f)
    {
        return found;
    }
    walk(&path.steps, start, f)
}

/// The attribute a lone-attribute path (`@name`, see [`Plan`]) picks at `ctx`.
fn lone_attribute<'a, 'i>(path: &LocationPath, ctx: Item<'a, 'i>) -> Option<Item<'a, 'i>> {
    let (namespace, local) = path.lone_attribute()?;
    let Item::Node(element) = ctx else {
        return None;
    };
    // An element has at most one attribute of a given name.
    element
        .attributes()
        .find(|a| same(a.name(), local) && same_opt(a.namespace(), namespace))
        .map(|attribute| Item::Attribute { element, attribute })
}

// ---------------------------------------------------------------------------
// Bottom-up walks through the document's element index
// ---------------------------------------------------------------------------

/// Whether a step can be checked in reverse, from the node it reaches back to the node
/// it starts from: no position-dependent predicate, and an axis whose inverse is a walk
/// up the ancestors.
fn reversible(step: &Step) -> bool {
    !step.positional
        && matches!(
            step.axis,
            Axis::Child | Axis::Descendant | Axis::DescendantOrSelf | Axis::SelfNode
        )
}

/// The local names a step's elements may have, when the step is a name test (`disk`) or a
/// wildcard whose predicates require one of some names (`*[local-name()='serial' or
/// local-name()='console']`); `None` for any other step.
fn anchor_names(step: &Step) -> Option<Vec<&str>> {
    if !matches!(step.axis, Axis::Child | Axis::Descendant) {
        return None;
    }
    match &step.test {
        NodeTest::Name { local, .. } => Some(vec![&**local]),
        NodeTest::AnyName | NodeTest::NamespaceAny(_) => {
            step.predicates.iter().find_map(local_name_alternatives)
        }
        _ => None,
    }
}

/// The names `e` allows, when it is exactly a test of its context element's local name:
/// `local-name() = 'x'` or an `or` of such tests.
fn exact_name_filter(e: &Expr) -> Option<Vec<&str>> {
    match e {
        Expr::Compare(..) => local_name_alternatives(e),
        Expr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(exact_name_filter(item)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// The names `e` allows as its context element's local name when it is
/// `local-name() = 'x'`, or an `or` of such tests, or an `and` with one such part.
pub(super) fn local_name_alternatives(e: &Expr) -> Option<Vec<&str>> {
    match e {
        Expr::Compare(CmpOp::Eq, l, r) => match (&**l, &**r) {
            (Expr::Call(Func::LocalName, args), Expr::Literal(name))
            | (Expr::Literal(name), Expr::Call(Func::LocalName, args))
                if args.is_empty() =>
            {
                Some(vec![&**name])
            }
            _ => None,
        },
        Expr::Or(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(local_name_alternatives(item)?);
            }
            Some(out)
        }
        Expr::And(items) => items.iter().find_map(local_name_alternatives),
        _ => None,
    }
}

/// Walks `steps` from `start` starting from the elements the document's index lists for
/// one of the `anchors` (the one with the fewest candidates): each candidate that passes
/// the anchor step is checked back up to `start`, then the steps after the anchor are
/// walked from it. `None` when the document is not indexed or a top-down walk is cheaper
/// (the caller then walks top-down).
fn bottom_up<'a, 'i>(
    steps: &[Step],
    anchors: &[Anchor],
    start: Node<'a, 'i>,
    f: Visit<'_, 'a, 'i>,
) -> Option<bool> {
    // A path starting with a child step from an element below the root element (a
    // device, its source): walking its few children costs less than checking every
    // element of some name in the document (measured).
    if steps[0].axis == Axis::Child
        && matches!(steps[0].test, NodeTest::Name { .. })
        && start.parent().and_then(|p| p.parent()).is_some()
    {
        return None;
    }
    index::with_groups(start, |groups| {
        let doc = start.document();
        let anchor = match anchors {
            [one] => one,
            [earlier @ .., last] => {
                // Bottom-up from the last named step costs a walk up from each of its
                // elements; from an earlier step, a walk down through the subtrees of
                // its elements (at most their sizes, estimated from the bytes they span:
                // a node of a pretty-printed domain takes about 24; counting the nodes
                // cost more than the choice saved). `devices/serial/target/model`
                // starts from the one serial rather than every model element, while
                // `devices/controller` starts from the controllers rather than walking
                // every child of `<devices>`.
                let size =
                    |a: &Anchor| -> usize { a.groups.iter().map(|&g| groups.get(g).len()).sum() };
                let down = |a: &Anchor| -> usize {
                    a.groups
                        .iter()
                        .flat_map(|&g| groups.get(g))
                        .filter_map(|&id| doc.get_node(roxmltree::NodeId::new(id)))
                        .map(|n| n.range().len())
                        .sum::<usize>()
                        / 24
                };
                // Measured: checking a candidate's ancestors costs about as much as
                // visiting two nodes on the way down.
                let mut best = last;
                let mut best_cost = 2 * size(last);
                for a in earlier.iter().rev() {
                    let cost = 2 * size(a) + down(a);
                    if cost < best_cost {
                        best = a;
                        best_cost = cost;
                    }
                }
                best
            }
            [] => return false,
        };
        let j = anchor.step;
        let (step, rest) = (&steps[j], &steps[j + 1..]);
        let before = &steps[..j];
        for &g in &anchor.groups {
            for &id in groups.get(g) {
                let Some(node) = doc.get_node(roxmltree::NodeId::new(id)) else {
                    continue;
                };
                let item = Item::Node(node);
                let passes = |(k, p): (usize, &Expr)| match &anchor.name_filter {
                    Some((filter, allowed)) if *filter == k => {
                        let name = node.tag_name().name();
                        allowed.iter().any(|a| same(a, name))
                    }
                    _ => predicate(p, item),
                };
                let reached = || match &anchor.up {
                    Some(names) => named_ancestors(names, node, start),
                    None => reaches(before, step.axis, node, start),
                };
                if matches(&step.test, step.axis, &item)
                    && step.predicates.iter().enumerate().all(passes)
                    && reached()
                    && walk(rest, item, f)
                {
                    return true;
                }
            }
        }
        false
    })
}

/// How many nodes `node`'s subtree has, itself included (node ids are in document order).
fn subtree_len(node: Node<'_, '_>) -> usize {
    let mut last = node;
    while let Some(child) = last.last_child() {
        last = child;
    }
    (last.id().get() - node.id().get()) as usize + 1
}

/// Whether `node`'s ancestors, nearest first, are elements without a namespace named
/// `names`, and the next one up is `start` (an [`Anchor`]'s `up`).
#[inline]
fn named_ancestors(names: &[Box<str>], node: Node<'_, '_>, start: Node<'_, '_>) -> bool {
    let mut at = node;
    for name in names {
        match at.parent() {
            Some(p)
                if p.is_element() && {
                    let tag = p.tag_name();
                    same(tag.name(), name) && tag.namespace().is_none()
                } =>
            {
                at = p;
            }
            _ => return false,
        }
    }
    at.parent() == Some(start)
}

/// Whether `node` can be reached by a step along `axis` from a node that `steps` reach
/// from `start`.
fn reaches(steps: &[Step], axis: Axis, node: Node<'_, '_>, start: Node<'_, '_>) -> bool {
    if steps.is_empty() {
        // The step starts at `start` itself: the common `devices//x` walked back.
        return match axis {
            Axis::Child => node.parent() == Some(start),
            Axis::Descendant => node.ancestors().skip(1).any(|p| p == start),
            Axis::DescendantOrSelf => node.ancestors().any(|p| p == start),
            Axis::SelfNode => node == start,
            Axis::Attribute | Axis::Parent => false,
        };
    }
    match axis {
        Axis::Child => node.parent().is_some_and(|p| reached(steps, p, start)),
        Axis::Descendant => node.ancestors().skip(1).any(|p| reached(steps, p, start)),
        Axis::DescendantOrSelf => node.ancestors().any(|p| reached(steps, p, start)),
        Axis::SelfNode => reached(steps, node, start),
        Axis::Attribute | Axis::Parent => false,
    }
}

/// Whether `steps` reach `node` from `start` (all of them reversible).
fn reached(steps: &[Step], node: Node<'_, '_>, start: Node<'_, '_>) -> bool {
    let Some((last, before)) = steps.split_last() else {
        return node == start;
    };
    let item = Item::Node(node);
    matches(&last.test, last.axis, &item)
        && last.predicates.iter().all(|p| predicate(p, item))
        && reaches(before, last.axis, node, start)
}

/// The items `path` reaches from `ctx`, in document order, without duplicates.
pub(super) fn select<'a, 'i>(path: &LocationPath, ctx: Item<'a, 'i>) -> Vec<Item<'a, 'i>> {
    let mut out = Vec::with_capacity(8);
    for_each(path, ctx, &mut |item| {
        out.push(item);
        false
    });
    if !out.is_sorted_by_key(order_key) {
        out.sort_unstable_by_key(order_key);
    }
    out.dedup_by_key(|item| order_key(item));
    out
}

/// The elements `path` selects from `ctx`, in document order, without duplicates, each
/// passed to `f` (see [`super::Selector::each_element`]). Their ids are gathered in a
/// list kept per thread from one call to the next (a call from inside `f` takes another).
pub(super) fn each_element<'a, 'i>(
    path: &LocationPath,
    ctx: Node<'a, 'i>,
    mut f: impl FnMut(Node<'a, 'i>),
) {
    thread_local! {
        static SPARE: std::cell::RefCell<Vec<Vec<u32>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut ids = SPARE
        .with(|spare| spare.borrow_mut().pop())
        .unwrap_or_default();
    ids.clear();
    for_each(path, Item::Node(ctx), &mut |item| {
        if let Item::Node(n) = item
            && n.is_element()
        {
            ids.push(n.id().get());
        }
        false
    });
    if !ids.is_sorted() {
        ids.sort_unstable();
    }
    ids.dedup();
    let doc = ctx.document();
    for &id in &ids {
        if let Some(node) = doc.get_node(roxmltree::NodeId::new(id)) {
            f(node);
        }
    }
    SPARE.with(|spare| spare.borrow_mut().push(ids));
}

/// Whether `path` reaches anything from `ctx`.
pub(super) fn exists(path: &LocationPath, ctx: Item<'_, '_>) -> bool {
    if path.plan.lone_attribute {
        return lone_attribute(path, ctx).is_some();
    }
    for_each(path, ctx, &mut |_| true)
}

/// Sort key giving document order: node ids are assigned in document order,
/// and an element's attributes come after it and before its children.
pub(super) fn order_key(item: &Item<'_, '_>) -> (u32, usize) {
    match item {
        Item::Node(n) => (n.id().get(), 0),
        Item::Attribute { element, attribute } => (element.id().get(), attribute.range().start + 1),
    }
}

fn walk<'a, 'i>(steps: &[Step], item: Item<'a, 'i>, f: Visit<'_, 'a, 'i>) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return f(item);
    };
    if let Some(n) = step.nth {
        // `[n]` last, and no earlier predicate reads positions: the n-th candidate the
        // earlier predicates accept, without collecting them.
        let before = &step.predicates[..step.predicates.len() - 1];
        let mut seen = 0;
        for c in candidates(step, item) {
            if before.iter().all(|p| predicate(p, c)) {
                seen += 1;
                if seen == n {
                    return walk(rest, c, f);
                }
            }
        }
        false
    } else if step.positional {
        let mut candidates: Vec<Item<'a, 'i>> =
            indexed_children(step, item).unwrap_or_else(|| candidates(step, item).collect());
        for pred in &step.predicates {
            let size = candidates.len();
            let mut pos = 0;
            candidates.retain(|&item| {
                pos += 1;
                eval_bool(pred, Ctx { item, pos, size })
            });
        }
        candidates.into_iter().any(|c| walk(rest, c, f))
    } else if let (
        Axis::Child,
        NodeTest::Name {
            namespace, local, ..
        },
        Item::Node(node),
    ) = (step.axis, &step.test, item)
    {
        // The commonest step, a named child, in a plain loop (measured: cheaper here than
        // through `candidates`).
        for c in node.children() {
            if c.is_element() {
                let tag = c.tag_name();
                if same(tag.name(), local)
                    && same_opt(tag.namespace(), namespace.as_deref())
                    && step.predicates.iter().all(|p| predicate(p, Item::Node(c)))
                    && walk(rest, Item::Node(c), f)
                {
                    return true;
                }
            }
        }
        false
    } else {
        for c in AxisIter::new(step.axis, item) {
            if matches(&step.test, step.axis, &c)
                && step.predicates.iter().all(|p| predicate(p, c))
                && walk(rest, c, f)
            {
                return true;
            }
        }
        false
    }
}

/// The children a named child step selects from `item`, in document order, taken from
/// the element index when the document's elements of that name are fewer than half the
/// nodes below `item` (`devices/video[position() > 1]` looks at the one or two videos,
/// not at every device); `None` otherwise, or when the document is not indexed.
fn indexed_children<'a, 'i>(step: &Step, item: Item<'a, 'i>) -> Option<Vec<Item<'a, 'i>>> {
    let (
        Axis::Child,
        NodeTest::Name {
            namespace, local, ..
        },
        Item::Node(node),
    ) = (step.axis, &step.test, item)
    else {
        return None;
    };
    let doc = node.document();
    index::with_group_id(node, index::group(local), |ids| {
        if ids.len() * 2 >= subtree_len(node) {
            return None;
        }
        // A group lists its elements in document order.
        Some(
            ids.iter()
                .filter_map(|&id| doc.get_node(roxmltree::NodeId::new(id)))
                .filter(|c| {
                    c.parent() == Some(node) && {
                        let tag = c.tag_name();
                        same(tag.name(), local) && same_opt(tag.namespace(), namespace.as_deref())
                    }
                })
                .map(Item::Node)
                .collect(),
        )
    })
    .flatten()
}

/// The items `step`'s axis and node test select from `item`, in document order (before
/// its predicates).
fn candidates<'s, 'a, 'i>(step: &'s Step, item: Item<'a, 'i>) -> Candidates<'s, 'a, 'i> {
    match (step.axis, &step.test, item) {
        (
            Axis::Child,
            NodeTest::Name {
                namespace, local, ..
            },
            Item::Node(node),
        ) => Candidates::NamedChildren {
            children: node.children(),
            namespace: namespace.as_deref(),
            local,
        },
        _ => Candidates::Other {
            step,
            axis: AxisIter::new(step.axis, item),
        },
    }
}

/// See [`candidates`]: a named child step loops over the children and compares names in
/// place, without the general axis iterator.
enum Candidates<'s, 'a, 'i> {
    NamedChildren {
        children: Children<'a, 'i>,
        namespace: Option<&'s str>,
        local: &'s str,
    },
    Other {
        step: &'s Step,
        axis: AxisIter<'a, 'i>,
    },
}

impl<'a, 'i> Iterator for Candidates<'_, 'a, 'i> {
    type Item = Item<'a, 'i>;

    fn next(&mut self) -> Option<Item<'a, 'i>> {
        match self {
            Candidates::NamedChildren {
                children,
                namespace,
                local,
            } => children
                .find(|c| {
                    c.is_element() && {
                        let tag = c.tag_name();
                        same(tag.name(), local) && same_opt(tag.namespace(), *namespace)
                    }
                })
                .map(Item::Node),
            Candidates::Other { step, axis } => axis.find(|c| matches(&step.test, step.axis, c)),
        }
    }
}

/// The items along one axis from one item, in document order.
enum AxisIter<'a, 'i> {
    Once(Option<Item<'a, 'i>>),
    Children(Children<'a, 'i>),
    Descendants(Descendants<'a, 'i>),
    Attributes(Node<'a, 'i>, Attributes<'a, 'i>),
}

impl<'a, 'i> AxisIter<'a, 'i> {
    fn new(axis: Axis, item: Item<'a, 'i>) -> Self {
        match (axis, item) {
            (Axis::SelfNode, _) => AxisIter::Once(Some(item)),
            (Axis::Parent, Item::Node(n)) => AxisIter::Once(n.parent().map(Item::Node)),
            (Axis::Parent, Item::Attribute { element, .. }) => {
                AxisIter::Once(Some(Item::Node(element)))
            }
            (Axis::Child, Item::Node(n)) => AxisIter::Children(n.children()),
            (Axis::Descendant, Item::Node(n)) => {
                let mut d = n.descendants();
                d.next(); // the node itself
                AxisIter::Descendants(d)
            }
            (Axis::DescendantOrSelf, Item::Node(n)) => AxisIter::Descendants(n.descendants()),
            (Axis::DescendantOrSelf, Item::Attribute { .. }) => AxisIter::Once(Some(item)),
            (Axis::Attribute, Item::Node(n)) => AxisIter::Attributes(n, n.attributes()),
            (Axis::Child | Axis::Descendant | Axis::Attribute, Item::Attribute { .. }) => {
                AxisIter::Once(None)
            }
        }
    }
}

impl<'a, 'i> Iterator for AxisIter<'a, 'i> {
    type Item = Item<'a, 'i>;

    fn next(&mut self) -> Option<Item<'a, 'i>> {
        match self {
            AxisIter::Once(item) => item.take(),
            AxisIter::Children(it) => it.next().map(Item::Node),
            AxisIter::Descendants(it) => it.next().map(Item::Node),
            AxisIter::Attributes(element, it) => it.next().map(|attribute| Item::Attribute {
                element: *element,
                attribute,
            }),
        }
    }
}

/// Node test. Name tests match the axis' principal node type: attributes on
/// the attribute axis, elements elsewhere. Unprefixed names match only items
/// without a namespace.
#[inline]
fn matches(test: &NodeTest, axis: Axis, item: &Item<'_, '_>) -> bool {
    // The common case first, inline: an element name test (a non-element's name is
    // empty, and a name test's never is).
    if let (
        NodeTest::Name {
            namespace, local, ..
        },
        Item::Node(n),
    ) = (test, item)
        && axis != Axis::Attribute
    {
        let tag = n.tag_name();
        return same(tag.name(), local) && same_opt(tag.namespace(), namespace.as_deref());
    }
    matches_other(test, axis, item)
}

/// [`matches`] for every test but an element's name.
#[inline(never)]
fn matches_other(test: &NodeTest, axis: Axis, item: &Item<'_, '_>) -> bool {
    let name = || -> Option<(Option<&str>, &str)> {
        match item {
            Item::Attribute { attribute, .. } if axis == Axis::Attribute => {
                Some((attribute.namespace(), attribute.name()))
            }
            Item::Node(n) if axis != Axis::Attribute && n.is_element() => {
                let tag = n.tag_name();
                Some((tag.namespace(), tag.name()))
            }
            _ => None,
        }
    };
    match test {
        NodeTest::Node => true,
        NodeTest::Text => matches!(item, Item::Node(n) if n.is_text()),
        NodeTest::Comment => matches!(item, Item::Node(n) if n.is_comment()),
        NodeTest::AnyName => name().is_some(),
        NodeTest::NamespaceAny(uri) => name().is_some_and(|(ns, _)| same_opt(ns, Some(uri))),
        NodeTest::Name {
            namespace, local, ..
        } => name().is_some_and(|(ns, l)| same(l, local) && same_opt(ns, namespace.as_deref())),
    }
}

// ---------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------

/// Evaluates a whole expression with `item` as the context.
pub(super) fn eval_expr<'a, 'i>(e: &'a Expr, item: Item<'a, 'i>) -> Value<'a, 'i> {
    eval(e, Ctx::new(item))
}

/// [`eval_expr`] as a boolean.
pub(super) fn eval_expr_bool(e: &Expr, item: Item<'_, '_>) -> bool {
    eval_bool(e, Ctx::new(item))
}

/// The string values of a whole expression: one per item of a node-set (in document
/// order), else the single value as a string.
pub(super) fn eval_expr_strings(e: &Expr, item: Item<'_, '_>) -> Vec<String> {
    match eval(e, Ctx::new(item)) {
        Value::Nodes(items) => items
            .iter()
            .map(|i| i.string_value().into_owned())
            .collect(),
        other => vec![to_string(other).into_owned()],
    }
}

/// The items of a whole expression, when it is a location path.
pub(super) fn eval_expr_items<'a, 'i>(e: &Expr, item: Item<'a, 'i>) -> Option<Vec<Item<'a, 'i>>> {
    match e {
        Expr::Path(p) => Some(select(p, item)),
        _ => None,
    }
}

fn arith(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        // XPath `mod` truncates, like C's fmod (and Rust's `%` on floats).
        ArithOp::Mod => a % b,
    }
}

fn eval<'a, 'i>(e: &'a Expr, ctx: Ctx<'a, 'i>) -> Value<'a, 'i> {
    match e {
        Expr::Arith(op, l, r) => Value::Num(arith(*op, eval_number(l, ctx), eval_number(r, ctx))),
        Expr::Or(_) | Expr::And(_) | Expr::Compare(..) | Expr::AttrCompare { .. } => {
            Value::Bool(eval_bool(e, ctx))
        }
        Expr::Neg(inner) => Value::Num(-eval_number(inner, ctx)),
        Expr::Literal(s) => Value::Str(Cow::Borrowed(s)),
        Expr::Number(n) => Value::Num(*n),
        Expr::Path(p) => Value::Nodes(select(p, ctx.item)),
        Expr::Call(func, args) => eval_call(e, *func, args, ctx),
    }
}

fn eval_call<'a, 'i>(e: &'a Expr, func: Func, args: &'a [Expr], ctx: Ctx<'a, 'i>) -> Value<'a, 'i> {
    match func {
        Func::Not | Func::True | Func::False | Func::StartsWith | Func::Contains => {
            Value::Bool(eval_bool(e, ctx))
        }
        Func::StringLength => Value::Num(string_arg(args, ctx).chars().count() as f64),
        Func::Count => Value::Num(match args {
            [Expr::Path(p)] => select(p, ctx.item).len() as f64,
            _ => f64::NAN, // rejected by the parser
        }),
        Func::LocalName | Func::NamespaceUri | Func::Name => {
            let item = match args {
                [Expr::Path(p)] => first_item(p, ctx.item),
                _ => Some(ctx.item),
            };
            Value::Str(Cow::Borrowed(item.map_or("", |item| match func {
                Func::LocalName => local_name(item),
                Func::NamespaceUri => namespace_uri(item),
                _ => qualified_name(item),
            })))
        }
        Func::NormalizeSpace => {
            let s = string_arg(args, ctx);
            // Already normal (the usual case): no space at either end, none doubled, and
            // no other white space.
            let b = s.as_bytes();
            if b.first() != Some(&b' ')
                && b.last() != Some(&b' ')
                && !b.windows(2).any(|w| w == b"  ")
                && !b.iter().any(|&c| matches!(c, b'\t' | b'\n' | b'\r'))
            {
                return Value::Str(s);
            }
            let mut words = s.split(is_xml_space).filter(|w| !w.is_empty());
            let mut out = String::with_capacity(s.len());
            if let Some(w) = words.next() {
                out.push_str(w);
                for w in words {
                    out.push(' ');
                    out.push_str(w);
                }
            }
            Value::Str(Cow::Owned(out))
        }
        Func::String => Value::Str(string_arg(args, ctx)),
        Func::Number => Value::Num(match args {
            [arg] => eval_number(arg, ctx),
            _ => str_to_num(&ctx.item.string_value()),
        }),
        Func::Position => Value::Num(ctx.pos as f64),
        Func::Last => Value::Num(ctx.size as f64),
        Func::Quantity => {
            let default = args.get(1).map(|a| eval_string(a, ctx));
            let first = match args.first() {
                Some(Expr::Path(p)) => first_item(p, ctx.item),
                Some(other) => {
                    // A computed value: read as `4 GiB` text.
                    let text = eval_string(other, ctx);
                    return Value::Num(
                        normalize::Normalize::Quantity
                            .text(&text)
                            .and_then(|k| k.number())
                            .unwrap_or(f64::NAN),
                    );
                }
                None => None,
            };
            Value::Num(
                first
                    .and_then(|item| normalize::item_quantity(&item, default.as_deref()))
                    .unwrap_or(f64::NAN),
            )
        }
        Func::Int => {
            let text = match args.first() {
                Some(arg) => eval_string(arg, ctx),
                None => ctx.item.string_value(),
            };
            Value::Num(match (args.get(1), text.trim_matches(is_xml_space)) {
                (Some(default), "") => eval_number(default, ctx),
                (_, t) => normalize::c_integer_f64(t).unwrap_or(f64::NAN),
            })
        }
        Func::BitmapMax => Value::Num(
            normalize::bitmap(&string_arg(args, ctx))
                .and_then(|set| set.last().map(|&(_, max)| f64::from(max)))
                .unwrap_or(f64::NAN),
        ),
        Func::LowerCase => Value::Str(Cow::Owned(string_arg(args, ctx).to_lowercase())),
        Func::Mac => Value::Str(Cow::Owned(
            normalize::mac(&string_arg(args, ctx)).unwrap_or_default(),
        )),
        Func::Uuid => Value::Str(Cow::Owned(
            normalize::uuid(&string_arg(args, ctx)).unwrap_or_default(),
        )),
        Func::Hex => {
            let n = args.first().map_or(f64::NAN, |a| eval_number(a, ctx));
            let width = args.get(1).map_or(0.0, |a| eval_number(a, ctx));
            Value::Str(Cow::Owned(
                if n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < 1.8e19 {
                    let width = if width.is_finite() && width > 0.0 {
                        width.min(32.0) as usize
                    } else {
                        0
                    };
                    format!("{:0width$x}", n as u64)
                } else {
                    num_to_string(n)
                },
            ))
        }
    }
}

/// The first item of `path` in document order, found without collecting.
pub(super) fn first_item<'a, 'i>(path: &LocationPath, ctx: Item<'a, 'i>) -> Option<Item<'a, 'i>> {
    if path.plan.lone_attribute {
        return lone_attribute(path, ctx);
    }
    let mut best: Option<Item<'a, 'i>> = None;
    for_each(path, ctx, &mut |item| {
        if best.is_none_or(|b| order_key(&item) < order_key(&b)) {
            best = Some(item);
        }
        false
    });
    best
}

/// The optional string argument of a function, defaulting to the context item.
fn string_arg<'a, 'i>(args: &'a [Expr], ctx: Ctx<'a, 'i>) -> Cow<'a, str> {
    match args {
        [arg] => eval_string(arg, ctx),
        _ => ctx.item.string_value(),
    }
}

fn eval_string<'a, 'i>(e: &'a Expr, ctx: Ctx<'a, 'i>) -> Cow<'a, str> {
    match e {
        Expr::Literal(s) => Cow::Borrowed(s),
        Expr::Path(p) => first_item(p, ctx.item).map_or(Cow::Borrowed(""), |i| i.string_value()),
        _ => to_string(eval(e, ctx)),
    }
}

fn eval_number<'a, 'i>(e: &'a Expr, ctx: Ctx<'a, 'i>) -> f64 {
    match e {
        Expr::Number(n) => *n,
        Expr::Path(_) => str_to_num(&eval_string(e, ctx)),
        _ => to_number(eval(e, ctx)),
    }
}

/// A non-positional predicate at `item`: [`eval_bool`], with its commonest form
/// (`[@type='pci']`) tested in place.
#[inline(always)]
fn predicate(p: &Expr, item: Item<'_, '_>) -> bool {
    match p {
        Expr::AttrCompare {
            namespace,
            local,
            op,
            value,
        } => attribute_compare(item, namespace.as_deref(), local, *op, value),
        _ => eval_bool(p, Ctx::new(item)),
    }
}

fn eval_bool<'a, 'i>(e: &'a Expr, ctx: Ctx<'a, 'i>) -> bool {
    match e {
        Expr::Or(items) => items.iter().any(|e| eval_bool(e, ctx)),
        Expr::And(items) => items.iter().all(|e| eval_bool(e, ctx)),
        Expr::Compare(op, l, r) => compare(*op, l, r, ctx),
        Expr::AttrCompare {
            namespace,
            local,
            op,
            value,
        } => attribute_compare(ctx.item, namespace.as_deref(), local, *op, value),
        Expr::Path(p) => exists(p, ctx.item),
        Expr::Literal(s) => !s.is_empty(),
        Expr::Number(n) => num_to_bool(*n),
        Expr::Neg(_) | Expr::Arith(..) => num_to_bool(eval_number(e, ctx)),
        Expr::Call(func, args) => match (func, args.as_slice()) {
            (Func::Not, [a]) => !eval_bool(a, ctx),
            (Func::True, _) => true,
            (Func::False, _) => false,
            (Func::StartsWith, [a, b]) => starts_with(&eval_string(a, ctx), &eval_string(b, ctx)),
            (Func::Contains, [a, b]) => eval_string(a, ctx).contains(&*eval_string(b, ctx)),
            _ => to_bool(eval(e, ctx)),
        },
    }
}

/// `@name op literal` as a direct attribute lookup.
#[inline]
fn attribute_compare(
    item: Item<'_, '_>,
    namespace: Option<&str>,
    local: &str,
    op: CmpOp,
    lit: &Literal,
) -> bool {
    let Item::Node(node) = item else {
        return false;
    };
    let Some(attr) = node
        .attributes()
        .find(|a| same(a.name(), local) && same_opt(a.namespace(), namespace))
    else {
        return false;
    };
    let value = attr.value();
    match op {
        CmpOp::Eq if !lit.is_number => same(value, &lit.text),
        CmpOp::Ne if !lit.is_number => !same(value, &lit.text),
        _ => compare_numbers(op, str_to_num(value), lit.number),
    }
}

/// A comparison, evaluating node-set operands lazily so that the common
/// `path = 'literal'` stops at the first matching item.
fn compare<'a, 'i>(op: CmpOp, l: &'a Expr, r: &'a Expr, ctx: Ctx<'a, 'i>) -> bool {
    match (l, r) {
        (Expr::Path(lp), Expr::Path(rp)) => {
            let mut right: Vec<Cow<'a, str>> = Vec::new();
            for_each(rp, ctx.item, &mut |item| {
                right.push(item.string_value());
                false
            });
            !right.is_empty()
                && for_each(lp, ctx.item, &mut |item| {
                    let s = item.string_value();
                    right.iter().any(|r| compare_strings(op, &s, r))
                })
        }
        (Expr::Path(p), other) => path_vs_value(op, p, eval(other, ctx), ctx),
        (other, Expr::Path(p)) => path_vs_value(op.mirror(), p, eval(other, ctx), ctx),
        _ => compare_values(op, eval(l, ctx), eval(r, ctx)),
    }
}

/// `path op value` where `value` is not a node-set.
fn path_vs_value<'a, 'i>(
    op: CmpOp,
    path: &'a LocationPath,
    value: Value<'a, 'i>,
    ctx: Ctx<'a, 'i>,
) -> bool {
    match value {
        Value::Bool(b) => compare_values(op, Value::Bool(exists(path, ctx.item)), Value::Bool(b)),
        Value::Num(n) => for_each(path, ctx.item, &mut |item| {
            compare_numbers(op, str_to_num(&item.string_value()), n)
        }),
        Value::Str(s) => for_each(path, ctx.item, &mut |item| {
            compare_strings(op, &item.string_value(), &s)
        }),
        nodes @ Value::Nodes(_) => compare_values(op, Value::Nodes(select(path, ctx.item)), nodes),
    }
}

/// XPath 1.0 comparison of two values (section 3.4).
fn compare_values(op: CmpOp, l: Value<'_, '_>, r: Value<'_, '_>) -> bool {
    match (l, r) {
        (Value::Nodes(a), Value::Nodes(b)) => {
            let right: Vec<_> = b.iter().map(Item::string_value).collect();
            a.iter().any(|a| {
                let s = a.string_value();
                right.iter().any(|r| compare_strings(op, &s, r))
            })
        }
        (Value::Nodes(a), Value::Bool(b)) => {
            compare_values(op, Value::Bool(!a.is_empty()), Value::Bool(b))
        }
        (Value::Bool(a), Value::Nodes(b)) => {
            compare_values(op, Value::Bool(a), Value::Bool(!b.is_empty()))
        }
        (Value::Nodes(a), Value::Num(n)) => a
            .iter()
            .any(|a| compare_numbers(op, str_to_num(&a.string_value()), n)),
        (Value::Num(n), Value::Nodes(b)) => b
            .iter()
            .any(|b| compare_numbers(op, n, str_to_num(&b.string_value()))),
        (Value::Nodes(a), Value::Str(s)) => {
            a.iter().any(|a| compare_strings(op, &a.string_value(), &s))
        }
        (Value::Str(s), Value::Nodes(b)) => {
            b.iter().any(|b| compare_strings(op, &s, &b.string_value()))
        }
        (l, r) => match op {
            CmpOp::Eq | CmpOp::Ne => {
                let equal = if matches!(l, Value::Bool(_)) || matches!(r, Value::Bool(_)) {
                    to_bool(l) == to_bool(r)
                } else if matches!(l, Value::Num(_)) || matches!(r, Value::Num(_)) {
                    to_number(l) == to_number(r)
                } else {
                    to_string(l) == to_string(r)
                };
                equal == (op == CmpOp::Eq)
            }
            _ => compare_numbers(op, to_number(l), to_number(r)),
        },
    }
}

fn compare_strings(op: CmpOp, a: &str, b: &str) -> bool {
    match op {
        CmpOp::Eq => same(a, b),
        CmpOp::Ne => !same(a, b),
        _ => compare_numbers(op, str_to_num(a), str_to_num(b)),
    }
}

/// IEEE 754 comparison, as XPath requires (NaN is unequal to everything).
#[allow(clippy::float_cmp)]
fn compare_numbers(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

fn to_bool(v: Value<'_, '_>) -> bool {
    match v {
        Value::Nodes(n) => !n.is_empty(),
        Value::Bool(b) => b,
        Value::Num(n) => num_to_bool(n),
        Value::Str(s) => !s.is_empty(),
    }
}

fn num_to_bool(n: f64) -> bool {
    n != 0.0 && !n.is_nan()
}

fn to_number(v: Value<'_, '_>) -> f64 {
    match v {
        Value::Bool(b) => f64::from(u8::from(b)),
        Value::Num(n) => n,
        v => str_to_num(&to_string(v)),
    }
}

pub(super) fn to_string<'a>(v: Value<'a, '_>) -> Cow<'a, str> {
    match v {
        Value::Nodes(n) => n.first().map_or(Cow::Borrowed(""), Item::string_value),
        Value::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
        Value::Num(n) => Cow::Owned(num_to_string(n)),
        Value::Str(s) => s,
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// XPath `number(string)`: optional whitespace, an optional minus sign, and
/// digits with an optional fraction; anything else is NaN.
pub(super) fn str_to_num(s: &str) -> f64 {
    let t = s.trim_matches(is_xml_space);
    let digits = t.strip_prefix('-').unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return f64::NAN;
    }
    t.parse().unwrap_or(f64::NAN)
}

/// XPath `string(number)`: integers without a decimal point, no exponent.
pub(super) fn num_to_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else if n == 0.0 {
        "0".to_owned()
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        // Integral and exact as an i64: the same digits, without float formatting.
        (n as i64).to_string()
    } else {
        // Rust's `Display` for f64 is the shortest round-trip decimal, never
        // in exponent form, and prints integral values without a fraction.
        n.to_string()
    }
}

// ---------------------------------------------------------------------------
// Item data
// ---------------------------------------------------------------------------

/// XPath string-value of a node.
pub(super) fn node_string_value<'a>(n: Node<'a, '_>) -> Cow<'a, str> {
    match n.node_type() {
        NodeType::Text | NodeType::Comment => Cow::Borrowed(n.text().unwrap_or("")),
        NodeType::PI => Cow::Borrowed(n.pi().and_then(|pi| pi.value).unwrap_or("")),
        NodeType::Root | NodeType::Element => {
            let mut texts = n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text());
            let Some(first) = texts.next() else {
                return Cow::Borrowed("");
            };
            let Some(second) = texts.next() else {
                return Cow::Borrowed(first);
            };
            let mut s = String::with_capacity(first.len() + second.len());
            s.push_str(first);
            s.push_str(second);
            texts.for_each(|t| s.push_str(t));
            Cow::Owned(s)
        }
    }
}

fn local_name<'a>(item: Item<'a, '_>) -> &'a str {
    match item {
        Item::Attribute { attribute, .. } => attribute.name(),
        Item::Node(n) if n.is_element() => n.tag_name().name(),
        Item::Node(n) => n.pi().map_or("", |pi| pi.target),
    }
}

fn namespace_uri<'a>(item: Item<'a, '_>) -> &'a str {
    match item {
        Item::Attribute { attribute, .. } => attribute.namespace(),
        Item::Node(n) => n.tag_name().namespace(),
    }
    .unwrap_or("")
}

/// The qualified name as written in the document (prefix included).
fn qualified_name<'a>(item: Item<'a, '_>) -> &'a str {
    match item {
        Item::Attribute { element, attribute } => {
            &element.document().input_text()[attribute.range_qname()]
        }
        Item::Node(n) if n.is_element() => {
            let text = n.document().input_text();
            let tag = &text[n.range().start + 1..];
            let end = tag
                .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
                .unwrap_or(tag.len());
            &tag[..end]
        }
        Item::Node(_) => local_name(item),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Namespaces, Selector};
    use super::*;

    /// Evaluates `expr` as a predicate on the root element.
    #[track_caller]
    fn check(xml: &str, expr: &str) -> bool {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let sel = Selector::parse(&format!(".[{expr}]"), &Namespaces::builtin()).unwrap();
        let exists = sel.exists(doc.root_element());
        assert_eq!(exists, !sel.select(doc.root_element()).is_empty());
        exists
    }

    #[track_caller]
    fn assert_true(xml: &str, exprs: &[&str]) {
        for e in exprs {
            assert!(check(xml, e), "expected true: {e}");
        }
    }

    #[track_caller]
    fn assert_false(xml: &str, exprs: &[&str]) {
        for e in exprs {
            assert!(!check(xml, e), "expected false: {e}");
        }
    }

    /// `each_element` passes the elements `select` selects, in its order, also when called
    /// again from inside its callback (which then takes another spare list), with and
    /// without the element index.
    #[test]
    fn each_element_is_select_of_elements() {
        let xml = "<domain><devices><disk><address type='pci'/><target dev='a'/></disk>\
            <disk><target dev='b'/></disk><controller type='pci'><address type='pci'/></controller>\
            </devices><os><type>hvm</type></os></domain>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let sources = [
            "devices/*",
            "devices//address",
            "//*[local-name()='address' or local-name()='target']",
            "devices/disk[2]",
            ".//*//address",
            "//*[@type='pci']",
            "devices/disk/target/@dev",
            "os/type/text()",
            ".",
            "nothing",
        ];
        let selectors: Vec<Selector> = sources
            .iter()
            .map(|s| Selector::parse(s, &Namespaces::builtin()).unwrap())
            .collect();
        let elements = |sel: &Selector| -> Vec<u32> {
            sel.select(root)
                .into_iter()
                .filter_map(|i| match i {
                    Item::Node(n) if n.is_element() => Some(n.id().get()),
                    _ => None,
                })
                .collect()
        };
        for indexed in [false, true] {
            let _scope = indexed.then(|| crate::selector::index::Scope::start(root));
            for outer in &selectors {
                let mut seen = Vec::new();
                outer.each_element(root, |n| {
                    seen.push(n.id().get());
                    for inner in &selectors {
                        let mut nested = Vec::new();
                        inner.each_element(root, |m| nested.push(m.id().get()));
                        assert_eq!(nested, elements(inner), "{}", inner.source());
                    }
                });
                assert_eq!(seen, elements(outer), "{}", outer.source());
            }
        }
        let count = |s: &Selector| elements(s).len();
        assert_eq!(count(&selectors[2]), 4);
        assert_eq!(count(&selectors[4]), 2);
        assert_eq!(count(&selectors[6]), 0);
    }

    #[test]
    fn string_to_number() {
        assert_eq!(str_to_num("12"), 12.0);
        assert_eq!(str_to_num("  -3.5\n"), -3.5);
        assert_eq!(str_to_num(".5"), 0.5);
        assert_eq!(str_to_num("5."), 5.0);
        assert_eq!(str_to_num("007"), 7.0);
        for bad in [
            "", " ", "-", ".", "+1", "1e3", "inf", "NaN", "0x10", "1 2", "1,5", "--1",
        ] {
            assert!(str_to_num(bad).is_nan(), "{bad:?}");
        }
    }

    #[test]
    fn number_to_string() {
        assert_eq!(num_to_string(2.0), "2");
        assert_eq!(num_to_string(-0.0), "0");
        assert_eq!(num_to_string(0.5), "0.5");
        assert_eq!(num_to_string(-12.25), "-12.25");
        assert_eq!(num_to_string(1e21), "1000000000000000000000");
        assert_eq!(num_to_string(31.0), "31");
        assert_eq!(num_to_string(-5.0), "-5");
        assert_eq!(num_to_string(999_999_999_999_999.0), "999999999999999");
        assert_eq!(num_to_string(1e15), "1000000000000000");
        assert_eq!(num_to_string(-1e300), format!("-1{}", "0".repeat(300)));
        assert_eq!(num_to_string(f64::NAN), "NaN");
        assert_eq!(num_to_string(f64::INFINITY), "Infinity");
        assert_eq!(num_to_string(f64::NEG_INFINITY), "-Infinity");
    }

    const NUMS: &str = "<r a='2' s='abc' e=''><n>1</n><n>5</n><n>x</n><m>5</m><m>9</m><empty/></r>";

    #[test]
    fn node_set_vs_number_is_existential() {
        assert_true(
            NUMS,
            &[
                "n = 5", "n != 5", "n < 2", "n > 4", "n >= 5", "5 = n", "2 > n", "@a = 2.0",
                "@a = 2", "@a > 1.5",
            ],
        );
        assert_false(
            NUMS,
            &["n = 3", "n > 5", "@s = 0", "@s < 1", "@s != @s", "@a = 3"],
        );
    }

    #[test]
    fn node_set_vs_string_compares_strings() {
        assert_true(
            NUMS,
            &[
                "n = 'x'",
                "n != 'x'",
                "@a = '2'",
                "'abc' = @s",
                "@e = ''",
                "@a != '2.0'",
            ],
        );
        // `=` on a string literal is a string comparison, not numeric.
        assert_false(NUMS, &["@a = '2.0'", "n = '5.0'"]);
        // Relational operators convert both sides to numbers.
        assert_true(NUMS, &["n > '4'", "@a < '10'"]);
        assert_false(NUMS, &["@s > 'a'", "@s < 'b'"]);
    }

    #[test]
    fn empty_node_sets_compare_false() {
        assert_false(
            NUMS,
            &[
                "missing = 'x'",
                "missing != 'x'",
                "@missing = ''",
                "@missing != ''",
                "empty/x = empty/y",
                "missing < 1",
            ],
        );
        // An empty element is a non-empty node-set whose string-value is ''.
        assert_true(NUMS, &["empty = ''", "empty != 'x'"]);
    }

    #[test]
    fn node_set_vs_node_set() {
        assert_true(NUMS, &["n = m", "n != m", "m > n", "n < m", "n = n"]);
        assert_false(
            NUMS,
            &["m = @a", "n = missing", "m < n[1]", "missing != missing"],
        );
    }

    #[test]
    fn node_set_vs_boolean() {
        assert_true(
            NUMS,
            &[
                "n = true()",
                "missing = false()",
                "n != false()",
                "@a = true()",
            ],
        );
        assert_false(NUMS, &["missing = true()", "n = false()"]);
        // Relational: both sides become numbers (true = 1).
        assert_true(NUMS, &["n > false()", "missing < true()"]);
    }

    #[test]
    fn atomic_comparisons() {
        assert_true(
            NUMS,
            &[
                "1 = 1.0",
                "'1' = 1",
                "'a' != 'b'",
                "true() = 1",
                "false() = ''",
                "'x' = true()",
                "1 < 2",
                "'2' > '10' = false()",
                "-1 < 0",
                "- - 1 = 1",
                "'abc' > 1 = false()",
            ],
        );
        assert_false(
            NUMS,
            &[
                "'1' = '1.0'",
                "number('x') = number('x')",
                "1 > 2",
                "'a' < 'b'",
            ],
        );
        assert_true(NUMS, &["number('x') != number('x')"]);
    }

    #[test]
    fn boolean_operators_and_conversions() {
        assert_true(
            NUMS,
            &[
                "@a and @s",
                "@missing or n",
                "not(@missing)",
                "'x'",
                "not(not(-1))",
                "not(0)",
                "n and (m or @zz)",
            ],
        );
        assert_false(
            NUMS,
            &[
                "@a and @missing",
                "@missing or missing",
                "not(n)",
                "''",
                "number('x') or 0",
            ],
        );
    }

    #[test]
    fn string_functions() {
        let xml = "<r id='http://microsoft.com/win/10' t='  a \n b\t c  '><v>ab</v><v>cd</v></r>";
        assert_true(
            xml,
            &[
                "starts-with(@id, 'http://microsoft.com/win/')",
                "starts-with(@id, '')",
                "contains(@id, 'soft')",
                "contains(v, 'b')",
                "not(contains(v, 'c'))", // only the first v counts
                "string-length(@id) = 27",
                "string-length('héé') = 3",
                "string-length() = 4",
                "normalize-space(@t) = 'a b c'",
                "normalize-space('  ') = ''",
                "normalize-space('a  b') = 'a b'",
                "normalize-space(' a') = 'a'",
                "normalize-space('a ') = 'a'",
                "normalize-space('a\tb') = 'a b'",
                "normalize-space('a\nb') = 'a b'",
                "normalize-space('a b') = 'a b'",
                "string-length(normalize-space('x  ')) = 1",
                "string() = 'abcd'",
                "string(v) = 'ab'",
                "string(missing) = ''",
                "string(1.50) = '1.5'",
                "string(true()) = 'true'",
                "string(number('x')) = 'NaN'",
            ],
        );
        assert_true(xml, &["contains(@missing, '')", "starts-with('', '')"]);
        assert_false(xml, &["starts-with(@id, 'https')", "contains('', 'a')"]);
    }

    #[test]
    fn number_and_count_functions() {
        assert_true(
            NUMS,
            &[
                "count(n) = 3",
                "count(missing) = 0",
                "count(*) = 6",
                "count(@*) = 3",
                "count(//n) = 3",
                "number(@a) = 2",
                "number(n) = 1",
                "number('  4 ') = 4",
                "number(true()) = 1",
                "number(m[2]) = 9",
            ],
        );
        assert_true(
            "<r><a>12</a></r>",
            &[
                "a[number() = 12]",
                "number() = 12",
                "number(@x) != number(@x)",
            ],
        );
    }

    #[test]
    fn name_functions() {
        let xml = "<r xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'><q:commandline q:x='1' y='2'/><plain/></r>";
        assert_true(
            xml,
            &[
                "local-name() = 'r'",
                "name() = 'r'",
                "namespace-uri() = ''",
                "local-name(*) = 'commandline'",
                "name(*) = 'q:commandline'",
                "namespace-uri(*) = 'http://libvirt.org/schemas/domain/qemu/1.0'",
                "name(*/@*) = 'q:x'",
                "local-name(*/@*) = 'x'",
                "namespace-uri(*/@*[2]) = ''",
                "name(missing) = ''",
                "local-name(qemu:commandline) = 'commandline'",
                "*[local-name() = 'plain']",
            ],
        );
    }

    #[test]
    fn lone_attribute_paths() {
        let xml = "<r xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0' q:x='1' x='2' y=''/>";
        assert_true(
            xml,
            &[
                "@x = 2",
                "@qemu:x = 1",
                "@y = ''",
                "not(@z)",
                "count(@x) = 1",
                "string(@qemu:x) = '1'",
                "not(@*[@x])",
                "count(@*[not(@x)]) = 3",
            ],
        );
        assert_false(xml, &["@z", "@qemu:y", "@x = 1", "@*[@x]"]);
    }

    #[test]
    fn position_and_last() {
        let xml = "<r><d t='a'/><d t='b'/><x/><d t='c'/></r>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let values = |src: &str| -> Vec<String> {
            Selector::parse(src, &Namespaces::builtin())
                .unwrap()
                .select(doc.root_element())
                .iter()
                .map(|i| i.string_value().into_owned())
                .collect()
        };
        assert_eq!(values("d[2]/@t"), ["b"]);
        assert_eq!(values("d[last()]/@t"), ["c"]);
        assert_eq!(values("d[position() < 3]/@t"), ["a", "b"]);
        assert_eq!(values("d[position() = last()]/@t"), ["c"]);
        assert_eq!(values("*[3]/@t"), Vec::<String>::new());
        assert_eq!(values("d[@t != 'a'][1]/@t"), ["b"]);
        assert_eq!(values("d[1][@t != 'a']/@t"), Vec::<String>::new());
        assert_eq!(values("d[5]"), Vec::<String>::new());
        assert_eq!(values("d[1.5]"), Vec::<String>::new());
        assert_eq!(values("@*[1]"), Vec::<String>::new());
        assert_eq!(values("d/@*[last()]"), ["a", "b", "c"]);
        assert_eq!(values("d[count(../d) = last()][2]/@t"), ["b"]);
        // `[n]` after predicates that read no position counts what they accept.
        assert_eq!(values("d[@t != 'a'][2]/@t"), ["c"]);
        assert_eq!(values("d[@t != 'a'][3]/@t"), Vec::<String>::new());
        assert_eq!(values("d[position() > 1][1]/@t"), ["b"]);
        assert_eq!(values("*[3]"), values("*[position() = 3]"));
    }

    #[test]
    fn numeric_predicates_test_the_position() {
        assert_true(
            NUMS,
            &["1", "1.0", "last()", "position() = 1", "count(n) = 3 or 1"],
        );
        assert_false(NUMS, &["2", "-1", "0", "number('x')", "last() = 2"]);
    }

    #[test]
    fn descendant_positions_are_per_parent() {
        let xml = "<r><a><b>1</b><b>2</b></a><a><b>3</b></a></r>";
        let doc = roxmltree::Document::parse(xml).unwrap();
        let values = |src: &str| -> Vec<String> {
            Selector::parse(src, &Namespaces::builtin())
                .unwrap()
                .select(doc.root_element())
                .iter()
                .map(|i| i.string_value().into_owned())
                .collect()
        };
        assert_eq!(values("//b[1]"), ["1", "3"]);
        assert_eq!(values(".//b[last()]"), ["2", "3"]);
        assert_eq!(values("//b"), ["1", "2", "3"]);
        assert_eq!(values("//b[. != '2']"), ["1", "3"]);
    }

    #[test]
    fn text_comment_and_node_tests() {
        let xml = "<r>hi<!--c--><a>x</a>there</r>";
        assert_true(
            xml,
            &[
                "text() = 'there'",
                "comment() = 'c'",
                "count(node()) = 4",
                "count(text()) = 2",
                "a/text() = 'x'",
            ],
        );
        assert_false(xml, &["text() = 'x'", "a/comment()"]);
    }

    #[test]
    fn string_value_concatenates_descendant_text() {
        let doc = roxmltree::Document::parse("<r>a<b>b<c>c</c></b><!--no-->d</r>").unwrap();
        let r = Item::Node(doc.root_element());
        assert_eq!(r.string_value(), "abcd");
        let b = Item::Node(doc.root_element().first_element_child().unwrap());
        assert!(matches!(b.string_value(), Cow::Owned(ref s) if s == "bc"));
        let c = Item::Node(doc.descendants().find(|n| n.has_tag_name("c")).unwrap());
        assert!(matches!(c.string_value(), Cow::Borrowed("c")));
        assert_eq!(Item::Node(doc.root()).string_value(), "abcd");
    }
}
