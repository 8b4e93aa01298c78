//! Selectors of two common shapes, compiled into forms that a caller runs in a plain
//! loop instead of through the general evaluator: the items of a `unique`
//! (`devices/*[local-name()!='console']/address[@type='pci']`, a [`ChildPath`]) and the
//! parts of its key (`@bus`, `../target/@bus`, an [`AttributePath`]).
//!
//! Each selects exactly what the selector it was compiled from selects (the tests compare
//! them over many documents); a selector of any other shape is not compiled (`None`) and
//! is evaluated as always.

use roxmltree::{Attribute, Node, NodeId};

use super::parse::{Axis, CmpOp, Expr, Func, LocationPath, NodeTest, Step};
use super::text::{same, same_opt, starts_with};
use super::{Item, Selector, eval, index};

/// A relative path of child element steps, each a name or `*` with predicates that are
/// not positional: `devices/controller[@index][not(master)]`. The predicates of the
/// usual forms (attribute tests, `local-name()` tests, a named child, `starts-with` of an
/// attribute, and `not`, `and`, `or` of these) are tested directly; others are evaluated.
#[derive(Debug, Clone)]
pub struct ChildPath {
    steps: Vec<ChildStep>,
}

#[derive(Debug, Clone)]
struct ChildStep {
    test: NameTest,
    /// The predicates: first the plain attribute tests ([`AttributeCheck`]), then the
    /// other tests of attributes alone, then the rest, costlier (their order does not
    /// matter: each is true or false of the element alone).
    filters: Vec<Filter>,
    /// How many of `filters` are plain attribute tests.
    plain: usize,
}

#[derive(Debug, Clone)]
enum NameTest {
    /// `*`
    Any,
    /// `prefix:*`, the prefix's namespace URI.
    Namespace(Box<str>),
    /// `name` or `prefix:name`.
    Name {
        namespace: Option<Box<str>>,
        local: Box<str>,
    },
}

/// A predicate of a [`ChildStep`], as a test of the step's element.
#[derive(Debug, Clone)]
enum Filter {
    /// A test of one attribute.
    Attribute(AttributeCheck),
    /// `local-name() = 'name'` (`equal`) or `local-name() != 'name'`.
    LocalName {
        name: Box<str>,
        equal: bool,
    },
    /// A child element named `local` in no namespace (`[master]`).
    Child(Box<str>),
    Not(Box<Filter>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    /// Any other predicate, evaluated.
    Other(Expr),
}

/// A plain test of an element's attribute in no namespace: `[@a]`, `[@a = 'v']`,
/// `[@a != 'v']` or `[starts-with(@a, 'v')]`.
#[derive(Debug, Clone)]
pub struct AttributeCheck {
    /// The attribute's local name.
    pub local: Box<str>,
    test: AttributeTest,
}

impl AttributeCheck {
    /// Whether the test accepts an element whose attribute has `value` (`None`: absent).
    #[inline]
    pub fn accepts(&self, value: Option<&str>) -> bool {
        match &self.test {
            AttributeTest::Present => value.is_some(),
            AttributeTest::Is(v) => value.is_some_and(|value| same(value, v)),
            AttributeTest::IsNot(v) => value.is_some_and(|value| !same(value, v)),
            AttributeTest::StartsWith(prefix) => starts_with(value.unwrap_or(""), prefix),
        }
    }
}

#[derive(Debug, Clone)]
enum AttributeTest {
    /// `@a`
    Present,
    /// `@a = 'v'`: present with that value.
    Is(Box<str>),
    /// `@a != 'v'`: present with another value.
    IsNot(Box<str>),
    /// `starts-with(@a, 'v')`: an absent attribute reads as ''.
    StartsWith(Box<str>),
}

impl Selector {
    /// The selector as a [`ChildPath`], when it has that shape.
    pub fn child_path(&self) -> Option<ChildPath> {
        ChildPath::of(&self.path)
    }

    /// The selector as an [`AttributePath`], when it has that shape.
    pub fn attribute_path(&self) -> Option<AttributePath> {
        AttributePath::of(&self.path)
    }
}

impl ChildPath {
    fn of(path: &LocationPath) -> Option<ChildPath> {
        if path.absolute || path.steps.is_empty() {
            return None;
        }
        let steps = path
            .steps
            .iter()
            .map(|step| {
                if step.axis != Axis::Child || step.positional || step.nth.is_some() {
                    return None;
                }
                let test = match &step.test {
                    NodeTest::AnyName => NameTest::Any,
                    NodeTest::NamespaceAny(uri) => NameTest::Namespace(uri.clone()),
                    NodeTest::Name {
                        namespace, local, ..
                    } => NameTest::Name {
                        namespace: namespace.clone(),
                        local: local.clone(),
                    },
                    _ => return None,
                };
                let mut filters: Vec<Filter> = step.predicates.iter().map(Filter::of).collect();
                // Stable: plain attribute tests, other attribute tests, the rest.
                filters.sort_by_key(|f| match f {
                    Filter::Attribute(_) => 0,
                    f if f.is_attribute_test() => 1,
                    _ => 2,
                });
                let plain = filters
                    .iter()
                    .filter(|f| matches!(f, Filter::Attribute(_)))
                    .count();
                Some(ChildStep {
                    test,
                    filters,
                    plain,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ChildPath { steps })
    }

    /// Calls `f` with each element the path selects from `ctx`, in document order, until
    /// `f` returns true; returns whether it did. From the root element of a document the
    /// element index lists (see [`index`]), the elements the last step names are taken
    /// from the index and their ancestors checked; otherwise the path is walked down.
    #[inline]
    pub fn any<'a, 'i>(&self, ctx: Node<'a, 'i>, mut f: impl FnMut(Node<'a, 'i>) -> bool) -> bool {
        self.visit(ctx, Filters::All, &mut |_| Some(()), &mut |node, ()| {
            f(node)
        })
    }

    /// The plain attribute tests of the last step, which [`ChildPath::any_checked`] leaves
    /// to its caller.
    pub fn attribute_checks(&self) -> impl Iterator<Item = &AttributeCheck> {
        let last = self.steps.last();
        last.map_or(&[][..], |step| &step.filters[..step.plain])
            .iter()
            .filter_map(|f| match f {
                Filter::Attribute(check) => Some(check),
                _ => None,
            })
    }

    /// A quick pass over candidates of the path's elements, whose few survivors are then
    /// selected exactly ([`ChildPath::any`]): every element `any` visits and maybe others.
    /// Each element the last step names is first given to `check`, which must reject
    /// those that fail the last step's [`ChildPath::attribute_checks`] (its caller reads
    /// their attributes anyway); those it accepts and that the path's names reach are
    /// given to `f` with what `check` made of them, until `f` returns true. No other
    /// predicate is tested: `devices/*[local-name()!='console']/address[@type='pci']`
    /// visits `devices/*/address`, and `check` rejects those whose type is not `pci`.
    #[inline]
    pub fn any_checked<'a, 'i, K>(
        &self,
        ctx: Node<'a, 'i>,
        mut check: impl FnMut(Node<'a, 'i>) -> Option<K>,
        mut f: impl FnMut(Node<'a, 'i>, K) -> bool,
    ) -> bool {
        self.visit(ctx, Filters::Candidates, &mut check, &mut f)
    }

    /// Walks the path from `ctx` testing `filters`: each element the last step reaches is
    /// given to `pre` before its ancestors are checked, then to `f` with what `pre` made
    /// of it.
    #[inline]
    fn visit<'a, 'i, T>(
        &self,
        ctx: Node<'a, 'i>,
        filters: Filters,
        pre: &mut impl FnMut(Node<'a, 'i>) -> Option<T>,
        f: &mut impl FnMut(Node<'a, 'i>, T) -> bool,
    ) -> bool {
        let Some((last, before)) = self.steps.split_last() else {
            return false;
        };
        if let NameTest::Name { local, .. } = &last.test
            && ctx.parent().is_some_and(|p| p.parent().is_none())
            && let Some(found) = index::with_group_id(ctx, index::group(local), |ids| {
                let doc = ctx.document();
                let mut top = None;
                ids.iter().any(|&id| {
                    let Some(node) = doc.get_node(NodeId::new(id)) else {
                        return false;
                    };
                    if !last.accepts(node, filters.last()) {
                        return false;
                    }
                    match pre(node) {
                        Some(t) => {
                            below(before, node, ctx, filters.before(), &mut top) && f(node, t)
                        }
                        None => false,
                    }
                })
            })
        {
            return found;
        }
        down(&self.steps, ctx, filters, pre, f)
    }

    /// The elements the path selects from `ctx`, in document order.
    pub fn select<'a, 'i>(&self, ctx: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
        let mut out = Vec::new();
        self.any(ctx, |node| {
            out.push(node);
            false
        });
        out
    }
}

/// Which predicates a walk tests.
#[derive(Clone, Copy)]
enum Filters {
    All,
    /// Those of [`ChildPath::any_checked`]: none (its caller makes the last step's plain
    /// attribute tests).
    Candidates,
}

/// Which of a step's filters a walk tests.
#[derive(Clone, Copy)]
enum StepFilters {
    All,
    None,
}

impl Filters {
    fn last(self) -> StepFilters {
        match self {
            Filters::All => StepFilters::All,
            Filters::Candidates => StepFilters::None,
        }
    }

    fn before(self) -> StepFilters {
        match self {
            Filters::All => StepFilters::All,
            Filters::Candidates => StepFilters::None,
        }
    }
}

/// Whether `node` is reached by the steps `before` and then one child step from `ctx`.
/// `top`: the element the first step reached for the last node checked, which the next
/// ones usually share (the `<devices>` of every address): reaching it again ends the
/// check.
#[inline]
fn below(
    before: &[ChildStep],
    node: Node<'_, '_>,
    ctx: Node<'_, '_>,
    filters: StepFilters,
    top: &mut Option<NodeId>,
) -> bool {
    let mut at = node;
    for (k, step) in before.iter().enumerate().rev() {
        let Some(parent) = at.parent() else {
            return false;
        };
        if k == 0 && *top == Some(parent.id()) {
            return true;
        }
        if !step.accepts(parent, filters) {
            return false;
        }
        at = parent;
    }
    let reached = at.parent().is_some_and(|parent| parent.id() == ctx.id());
    if reached && !before.is_empty() {
        *top = Some(at.id());
    }
    reached
}

/// Walks `steps` down from `node`, in document order.
fn down<'a, 'i, T>(
    steps: &[ChildStep],
    node: Node<'a, 'i>,
    filters: Filters,
    pre: &mut impl FnMut(Node<'a, 'i>) -> Option<T>,
    f: &mut impl FnMut(Node<'a, 'i>, T) -> bool,
) -> bool {
    let Some((step, rest)) = steps.split_first() else {
        return false;
    };
    if rest.is_empty() {
        return node.children().any(|child| {
            step.accepts(child, filters.last()) && pre(child).is_some_and(|t| f(child, t))
        });
    }
    node.children()
        .any(|child| step.accepts(child, filters.before()) && down(rest, child, filters, pre, f))
}

impl ChildStep {
    #[inline(always)]
    fn accepts(&self, node: Node<'_, '_>, filters: StepFilters) -> bool {
        if !node.is_element() {
            return false;
        }
        let named = match &self.test {
            NameTest::Any => true,
            NameTest::Namespace(uri) => same_opt(node.tag_name().namespace(), Some(uri)),
            NameTest::Name { namespace, local } => {
                let tag = node.tag_name();
                same(tag.name(), local) && same_opt(tag.namespace(), namespace.as_deref())
            }
        };
        let filters = match filters {
            StepFilters::All => &self.filters[..],
            StepFilters::None => &[],
        };
        named && filters.iter().all(|f| f.holds(node))
    }
}

impl Filter {
    /// Whether the filter tests only attributes of the element (`[@a]`, `[@a != 'v']`,
    /// `[not(@a = 'v')]`).
    fn is_attribute_test(&self) -> bool {
        match self {
            Filter::Attribute(_) => true,
            Filter::Not(inner) => inner.is_attribute_test(),
            Filter::And(items) | Filter::Or(items) => items.iter().all(Filter::is_attribute_test),
            _ => false,
        }
    }

    fn of(e: &Expr) -> Filter {
        Filter::known(e).unwrap_or_else(|| Filter::Other(e.clone()))
    }

    /// `e` as a filter of a known form.
    fn known(e: &Expr) -> Option<Filter> {
        Some(match e {
            Expr::AttrCompare {
                namespace: None,
                local,
                op,
                value,
            } if !value.is_number => {
                let test = match op {
                    CmpOp::Eq => AttributeTest::Is(value.text.clone()),
                    CmpOp::Ne => AttributeTest::IsNot(value.text.clone()),
                    _ => return None,
                };
                Filter::Attribute(AttributeCheck {
                    local: local.clone(),
                    test,
                })
            }
            Expr::Path(path) => match path.lone_attribute() {
                Some((None, local)) => Filter::Attribute(AttributeCheck {
                    local: local.into(),
                    test: AttributeTest::Present,
                }),
                Some(_) => return None,
                None => Filter::Child(named_child(path)?.into()),
            },
            Expr::Compare(op @ (CmpOp::Eq | CmpOp::Ne), l, r) => {
                let name = match (&**l, &**r) {
                    (Expr::Call(Func::LocalName, args), Expr::Literal(name))
                    | (Expr::Literal(name), Expr::Call(Func::LocalName, args))
                        if args.is_empty() =>
                    {
                        name
                    }
                    _ => return None,
                };
                Filter::LocalName {
                    name: name.clone(),
                    equal: *op == CmpOp::Eq,
                }
            }
            Expr::Call(Func::Not, args) => match &args[..] {
                [inner] => Filter::Not(Box::new(Filter::known(inner)?)),
                _ => return None,
            },
            Expr::Call(Func::StartsWith, args) => match &args[..] {
                [Expr::Path(path), Expr::Literal(prefix)] => match path.lone_attribute() {
                    Some((None, local)) => Filter::Attribute(AttributeCheck {
                        local: local.into(),
                        test: AttributeTest::StartsWith(prefix.clone()),
                    }),
                    _ => return None,
                },
                _ => return None,
            },
            Expr::And(items) => {
                Filter::And(items.iter().map(Filter::known).collect::<Option<_>>()?)
            }
            Expr::Or(items) => Filter::Or(items.iter().map(Filter::known).collect::<Option<_>>()?),
            _ => return None,
        })
    }

    #[inline]
    fn holds(&self, node: Node<'_, '_>) -> bool {
        match self {
            Filter::Attribute(check) => check.accepts(attribute(node, &check.local)),
            Filter::LocalName { name, equal } => same(node.tag_name().name(), name) == *equal,
            Filter::Child(local) => node.children().any(|child| {
                child.is_element() && {
                    let tag = child.tag_name();
                    same(tag.name(), local) && tag.namespace().is_none()
                }
            }),
            Filter::Not(inner) => !inner.holds(node),
            Filter::And(items) => items.iter().all(|f| f.holds(node)),
            Filter::Or(items) => items.iter().any(|f| f.holds(node)),
            Filter::Other(e) => eval::eval_expr_bool(e, Item::Node(node)),
        }
    }
}

/// The local name of a path that is one named child step in no namespace without
/// predicates (`master`).
fn named_child(path: &LocationPath) -> Option<&str> {
    match &path.steps[..] {
        [
            Step {
                axis: Axis::Child,
                test:
                    NodeTest::Name {
                        namespace: None,
                        local,
                        ..
                    },
                predicates,
                ..
            },
        ] if !path.absolute && predicates.is_empty() => Some(local),
        _ => None,
    }
}

/// The value of `node`'s attribute `local` in no namespace.
#[inline]
fn attribute<'a>(node: Node<'a, '_>, local: &str) -> Option<&'a str> {
    node.attributes()
        .find(|a| same(a.name(), local) && a.namespace().is_none())
        .map(|a| a.value())
}

/// A path to an attribute in no namespace through parents and named children:
/// `@bus`, `../target/@bus`, `source/@file` (`..` steps first, then child steps named
/// in no namespace without predicates, `.` steps anywhere).
#[derive(Debug, Clone)]
pub struct AttributePath {
    up: usize,
    down: Vec<Box<str>>,
    attribute: Box<str>,
}

impl AttributePath {
    fn of(path: &LocationPath) -> Option<AttributePath> {
        let (last, before) = path.steps.split_last()?;
        if path.absolute || last.axis != Axis::Attribute || !last.predicates.is_empty() {
            return None;
        }
        let NodeTest::Name {
            namespace: None,
            local: attribute,
            ..
        } = &last.test
        else {
            return None;
        };
        let mut up = 0;
        let mut down: Vec<Box<str>> = Vec::new();
        for step in before {
            if !step.predicates.is_empty() {
                return None;
            }
            match (step.axis, &step.test) {
                (Axis::SelfNode, NodeTest::Node) => {}
                (Axis::Parent, NodeTest::Node) if down.is_empty() => up += 1,
                (
                    Axis::Child,
                    NodeTest::Name {
                        namespace: None,
                        local,
                        ..
                    },
                ) => down.push(local.clone()),
                _ => return None,
            }
        }
        Some(AttributePath {
            up,
            down,
            attribute: attribute.clone(),
        })
    }

    /// The first attribute (in document order) the path selects from `node`, with its
    /// element.
    #[inline]
    pub fn first<'a, 'i>(&self, node: Node<'a, 'i>) -> Option<(Node<'a, 'i>, Attribute<'a, 'i>)> {
        let mut at = node;
        for _ in 0..self.up {
            at = at.parent()?;
        }
        self.first_below(&self.down, at)
    }

    /// The first attribute the child steps `down` and the attribute step select from
    /// `node`: children are visited in document order, each one's subtree before the
    /// next sibling, which is document order.
    fn first_below<'a, 'i>(
        &self,
        down: &[Box<str>],
        node: Node<'a, 'i>,
    ) -> Option<(Node<'a, 'i>, Attribute<'a, 'i>)> {
        let Some((name, rest)) = down.split_first() else {
            let attribute = node
                .attributes()
                .find(|a| same(a.name(), &self.attribute) && a.namespace().is_none())?;
            return Some((node, attribute));
        };
        node.children()
            .filter(|child| {
                child.is_element() && {
                    let tag = child.tag_name();
                    same(tag.name(), name) && tag.namespace().is_none()
                }
            })
            .find_map(|child| self.first_below(rest, child))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selector::Namespaces;
    use crate::selector::index::Scope;

    /// Documents with devices of several kinds, addresses, targets and attributes in
    /// and out of a namespace, made from `seed`.
    fn document(seed: u64) -> String {
        let mut pick = crate::test_support::picker(seed);
        let mut xml = String::from("<domain xmlns:q='urn:q'><devices>");
        for _ in 0..(2 + seed % 11) {
            let name = pick(&[
                "disk",
                "hostdev",
                "controller",
                "console",
                "interface",
                "q:disk",
            ]);
            xml.push_str(&format!(
                "<{name} type='{}' model='{}' index='{}'>",
                pick(&["pci", "scsi", "usb", "file"]),
                pick(&["ich9-uhci1", "ich9-ehci1", "pcie-root", "ich9"]),
                pick(&["0", "1", "0x1"])
            ));
            for _ in 0..(seed % 3) {
                xml.push_str(pick(&[
                    "<master startport='0'/>",
                    "<target dev='vda' bus='scsi'/>",
                    "<target bus='sata'/>",
                    "<target dev='sda'/>",
                    "<address type='pci' bus='0'/>",
                    "<address type='drive' q:type='pci' unit='1'/>",
                    "<q:address type='pci'/>",
                    "<address/>",
                    "<source><address bus='1'/></source>",
                    "<!-- c -->text",
                ]));
            }
            xml.push_str(&format!("</{name}>"));
        }
        xml.push_str(pick(&["<target dev='x'/>", "", "<address type='pci'/>"]));
        xml.push_str("</devices><target bus='ide'/></domain>");
        xml
    }

    fn ids<'a, 'i: 'a>(nodes: impl IntoIterator<Item = Item<'a, 'i>>) -> Vec<(u32, usize)> {
        nodes
            .into_iter()
            .map(|item| (item.element().id().get(), item.range().start))
            .collect()
    }

    /// Every compiled path selects what its selector selects, in the same order, from
    /// every element, with and without the element index.
    #[test]
    fn child_paths_select_what_their_selectors_select() {
        let mut ns = Namespaces::builtin();
        ns.insert("q", "urn:q");
        let selectors = [
            "devices/*[local-name()!='console']/address[@type='pci']",
            "devices/*[local-name()='disk' or (local-name()='hostdev' and @type='scsi')]/address[@type='drive']",
            "devices/controller[@index][not(master)][not(starts-with(@model, 'ich9-uhci'))]",
            "devices/disk/target",
            "devices/*/target[@dev != 'vda']",
            "devices/*[target/@bus = 'scsi']/address",
            "devices/*[@index > 0][address]/source/address",
            "devices/*[not(@type='pci' or @model)]",
            "*/*",
            "address",
            "target",
            "devices/*[count(target) = 1]",
            "devices/q:*/address",
            "devices/q:disk[@type != 'pci']",
            "devices/*/q:address",
            "devices/*[address/@q:type]",
        ];
        let mut compared = 0;
        for src in selectors {
            let selector = Selector::parse(src, &ns).unwrap();
            let path = selector.child_path().unwrap_or_else(|| panic!("{src}"));
            for seed in 0..150 {
                let xml = document(seed);
                let doc = roxmltree::Document::parse(&xml).unwrap();
                for indexed in [false, true] {
                    let _scope = indexed.then(|| Scope::start(doc.root_element()));
                    for ctx in doc.descendants().filter(|n| n.is_element()) {
                        let expected = ids(selector.select(ctx));
                        let got = ids(path.select(ctx).into_iter().map(Item::Node));
                        assert_eq!(got, expected, "{src} {indexed} {xml}");
                        // The candidates (their checks made as a caller makes them)
                        // include the items, in document order.
                        let mut candidates = Vec::new();
                        path.any_checked(
                            ctx,
                            |node| {
                                path.attribute_checks()
                                    .all(|c| c.accepts(attribute(node, &c.local)))
                                    .then_some(())
                            },
                            |node, ()| {
                                candidates.push(Item::Node(node));
                                false
                            },
                        );
                        let candidates = ids(candidates);
                        assert!(candidates.is_sorted(), "{src} {indexed} {xml}");
                        assert!(
                            got.iter().all(|item| candidates.contains(item)),
                            "{src} {indexed} {xml}"
                        );
                        compared += expected.len();
                    }
                }
            }
        }
        assert!(compared > 5000, "{compared}");
    }

    #[test]
    fn attribute_paths_pick_what_their_selectors_pick_first() {
        let mut ns = Namespaces::builtin();
        ns.insert("q", "urn:q");
        let selectors = [
            "@type",
            "../target/@bus",
            "./target/@dev",
            "source/address/@bus",
            "../../@xmlns",
            "../@type",
            "address/@type",
            "target/./@bus",
        ];
        let mut found = 0;
        for src in selectors {
            let selector = Selector::parse(src, &ns).unwrap();
            let path = selector.attribute_path().unwrap_or_else(|| panic!("{src}"));
            for seed in 0..150 {
                let xml = document(seed);
                let doc = roxmltree::Document::parse(&xml).unwrap();
                for ctx in doc.descendants().filter(|n| n.is_element()) {
                    let expected = selector.first(ctx).map(|item| item.range());
                    let got = path
                        .first(ctx)
                        .map(|(element, attribute)| Item::Attribute { element, attribute }.range());
                    assert_eq!(got, expected, "{src} {xml}");
                    found += usize::from(expected.is_some());
                }
            }
        }
        assert!(found > 2000, "{found}");
    }

    #[test]
    fn other_shapes_are_not_compiled() {
        let mut ns = Namespaces::builtin();
        ns.insert("q", "urn:q");
        for src in [
            "devices//address",
            "/domain/devices",
            "devices/disk[1]",
            "devices/disk[last()]",
            "devices/disk/@dev",
            "..",
            "devices/text()",
        ] {
            assert!(
                Selector::parse(src, &ns).unwrap().child_path().is_none(),
                "{src}"
            );
        }
        for src in [
            "target/@q:dev",
            "target[1]/@dev",
            "target/../@dev",
            "//target/@dev",
            "target",
            "@*",
        ] {
            assert!(
                Selector::parse(src, &ns)
                    .unwrap()
                    .attribute_path()
                    .is_none(),
                "{src}"
            );
        }
    }
}
