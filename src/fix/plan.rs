//! Turning a rule's fix (ensure / set / remove / replace-text) into byte splices on the
//! original text, in the file's own style: indentation, quote character, line ending.
//! A new element goes where libvirt writes it, and an element libvirt allows once under
//! its parent is updated, never created a second time (both from [`placement`]).

use roxmltree::Node;

use super::edit::{Edit, escape_attribute, escape_text};
use super::placement::{self, Parent};
use crate::condition::Definitions;
use crate::document::{Document, start_tag_range};
use crate::engine::Finding;
use crate::rules::{EditSpec, FixSpec, RuleSet, Safety, Version};
use crate::selector::{Item, SimpleStep};
use crate::style::{Style, attribute_quote};

/// Attribute values that switch a feature off. `ensure` never overrides them: the file's
/// author said so explicitly.
const OFF_VALUES: &[&str] = &["off", "no"];

/// An element a fix creates.
#[derive(Debug, Clone)]
struct NewElement {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<NewElement>,
}

impl NewElement {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Where an ensure path currently stands: an element of the file, or one the fix creates
/// (by its parent in the file, the index path through created elements, and its element
/// path from `<domain>` when it has one).
#[derive(Debug, Clone)]
enum Cursor<'a, 'i> {
    Existing(Node<'a, 'i>),
    Created(Node<'a, 'i>, Vec<usize>, Option<String>),
}

#[derive(Default)]
struct Planner<'a, 'i> {
    /// The libvirt release the fix must suit: an element it creates may not be newer.
    libvirt: Version,
    /// New children per existing parent, in creation order.
    children: Vec<(Node<'a, 'i>, Vec<NewElement>)>,
    /// Attribute values to set (or add) on existing elements.
    attributes: Vec<(Node<'a, 'i>, String, String)>,
    /// Elements the fix removes.
    removed: Vec<Node<'a, 'i>>,
    edits: Vec<Edit>,
}

/// A fix made concrete for one finding: edits, or the reason none is offered.
#[derive(Debug, Clone)]
pub struct PlannedFix {
    pub title: String,
    pub safety: Safety,
    pub edits: Result<Vec<Edit>, String>,
}

impl PlannedFix {
    /// The edits, if the fix exists here and `allowed` permits its safety class.
    pub fn applicable(&self, allowed: Safety) -> Option<&[Edit]> {
        match &self.edits {
            Ok(edits) if self.safety >= allowed => Some(edits),
            _ => None,
        }
    }
}

/// A finding with its rule's fixes planned for the document it was found in.
/// Dereferences to the [`Finding`].
#[derive(Debug, Clone)]
pub struct PlannedFinding {
    pub finding: Finding,
    /// The rule's fix, planned for this place; `None` when the rule has no fix.
    pub fix: Option<PlannedFix>,
    pub alternatives: Vec<PlannedFix>,
}

impl PlannedFinding {
    pub fn fix_edits(&self, allowed: Safety) -> Option<&[Edit]> {
        self.fix.as_ref().and_then(|f| f.applicable(allowed))
    }
}

impl std::ops::Deref for PlannedFinding {
    type Target = Finding;
    fn deref(&self) -> &Finding {
        &self.finding
    }
}

/// Plan the fixes of `findings`, which `rules` found in `doc`. The style of the file is
/// detected once, and only when some finding's rule has a fix.
pub fn plan_findings(
    doc: &Document<'_>,
    rules: &RuleSet,
    findings: Vec<Finding>,
) -> Vec<PlannedFinding> {
    let mut style: Option<Style> = None;
    findings
        .into_iter()
        .map(|finding| {
            let rule = &rules.rules[finding.rule];
            let ctx = doc.tree.get_node(finding.context);
            let mut planned = |spec: &FixSpec| {
                let style = style.get_or_insert_with(|| Style::detect(doc.text, &doc.tree));
                PlannedFix {
                    title: spec.title.clone(),
                    safety: spec.safety,
                    edits: match ctx {
                        Some(ctx) => plan(
                            spec,
                            ctx,
                            style,
                            rules.libvirt_version(),
                            &rules.definitions,
                        ),
                        None => Err("the finding belongs to another document".into()),
                    },
                }
            };
            let fix = rule.fix.as_ref().map(&mut planned);
            let alternatives = rule.alternatives.iter().map(&mut planned).collect();
            PlannedFinding {
                finding,
                fix,
                alternatives,
            }
        })
        .collect()
}

/// The splices for `fix` applied at `ctx`, or why no fix is offered. The fix must suit
/// `libvirt`: creating an element that a newer release introduced (by the placement
/// tables' `since`, or the edit's own `since:`) refuses it. `defs` are the definitions
/// the fix's `when:` conditions may refer to.
pub fn plan(
    fix: &FixSpec,
    ctx: Node<'_, '_>,
    style: &Style,
    libvirt: Version,
    defs: &Definitions,
) -> Result<Vec<Edit>, String> {
    if let Some(when) = &fix.when
        && !when.eval(ctx, defs)
    {
        return Err(fix
            .otherwise
            .clone()
            .unwrap_or_else(|| "the fix's `when` condition does not hold here".into()));
    }
    let mut planner = Planner {
        libvirt,
        ..Planner::default()
    };
    for edit in &fix.edits {
        planner.edit(edit, ctx, libvirt, defs)?;
    }
    let edits = planner.finish(ctx.document().input_text(), style)?;
    if edits.is_empty() {
        return Err("its edits would change nothing in this file".into());
    }
    Ok(edits)
}

impl<'a, 'i> Planner<'a, 'i> {
    /// Plan one edit of a fix at `ctx`.
    fn edit(
        &mut self,
        edit: &EditSpec,
        ctx: Node<'a, 'i>,
        libvirt: Version,
        defs: &Definitions,
    ) -> Result<(), String> {
        let planner = self;
        match edit {
            EditSpec::Ensure {
                path,
                source,
                attributes,
                when_created,
                since,
            } => {
                // Attribute templates are rendered at the rule's context.
                let attributes: Vec<(String, String)> = attributes
                    .iter()
                    .map(|(name, value)| (name.clone(), value.render(ctx)))
                    .collect();
                planner.ensure(ctx, path, source, &attributes, when_created, *since)?
            }
            EditSpec::Set {
                element,
                attribute,
                value,
                since,
            } => {
                for item in element.select(ctx) {
                    if let Item::Node(node) = item
                        && node.is_element()
                        && let Some(value) = value.resolve(node, node.attribute(attribute.as_str()))
                    {
                        if node.attribute(attribute.as_str()).is_none()
                            && let Some(needed) = since
                            && *needed > libvirt
                        {
                            return Err(format!(
                                "it would add the attribute {attribute} to <{}>, which needs libvirt {needed} or later; the target is libvirt {libvirt} (--libvirt-version)",
                                node.tag_name().name()
                            ));
                        }
                        planner.set_attribute(node, attribute, &value);
                    }
                }
            }
            EditSpec::Remove(selector) => {
                for item in selector.select(ctx) {
                    planner.edits.push(removal(item)?);
                    if let Item::Node(node) = item
                        && node.is_element()
                    {
                        planner.removed.push(node);
                    }
                }
            }
            EditSpec::ReplaceText { selector, text } => {
                for item in selector.select(ctx) {
                    let owner = item.element();
                    let owner = if owner.is_element() {
                        owner
                    } else {
                        owner.parent_element().unwrap_or(ctx)
                    };
                    let current = item.string_value();
                    if let Some(new_text) = text.resolve(owner, Some(&current)) {
                        planner.edits.push(text_replacement(item, &new_text)?);
                    }
                }
            }
            EditSpec::CopyAttributes {
                element,
                from,
                names,
            } => {
                for item in element.select(ctx) {
                    let Item::Node(target) = item else { continue };
                    if !target.is_element() {
                        continue;
                    }
                    let Some(source) = from.select(target).into_iter().find_map(|i| match i {
                        Item::Node(n) if n.is_element() => Some(n),
                        _ => None,
                    }) else {
                        return Err(format!(
                            "`{from}` selects no element to copy attributes from"
                        ));
                    };
                    let copied: Vec<String> = if names.is_empty() {
                        source
                            .attributes()
                            .filter(|a| a.namespace().is_none())
                            .map(|a| a.name().to_string())
                            .collect()
                    } else {
                        names.clone()
                    };
                    for name in &copied {
                        match source.attribute(name.as_str()) {
                            Some(value) => planner.set_attribute(target, name, value),
                            None => {
                                if let Some(attribute) = target
                                    .attributes()
                                    .find(|a| a.name() == name && a.namespace().is_none())
                                {
                                    planner.edits.push(removal(Item::Attribute {
                                        element: target,
                                        attribute,
                                    })?);
                                }
                            }
                        }
                    }
                }
            }
            EditSpec::When(condition, inner) => {
                if condition.eval(ctx, defs) {
                    planner.edit(inner, ctx, libvirt, defs)?;
                }
            }
        }
        Ok(())
    }

    fn ensure(
        &mut self,
        ctx: Node<'a, 'i>,
        path: &[SimpleStep],
        source: &str,
        attributes: &[(String, String)],
        when_created: &[(String, Vec<(String, String)>)],
        since: Option<Version>,
    ) -> Result<(), String> {
        let mut cursor = Cursor::Existing(ctx);
        for (k, step) in path.iter().enumerate() {
            // The edit's `since:` is the version of the element it writes: the last step.
            let declared = if k + 1 == path.len() { since } else { None };
            cursor = match cursor {
                Cursor::Existing(node) => {
                    if let Some(child) = node.children().find(|c| step_matches(step, *c)) {
                        Cursor::Existing(child)
                    } else if let Some(single) = self.single_existing(node, step, source)? {
                        Cursor::Existing(single)
                    } else {
                        let parent_path = placement::path_of(node);
                        self.check_since(parent_path.as_deref(), &step.name, declared)?;
                        let table = placement::table_of(node);
                        let parent = node.tag_name().name();
                        let list = self.children_of(node);
                        let index =
                            find_or_create(list, step, when_created, table, parent, source)?;
                        let path = placement::path_of(node).map(|p| format!("{p}/{}", step.name));
                        Cursor::Created(node, vec![index], path)
                    }
                }
                Cursor::Created(node, mut indices, path) => {
                    self.check_since(path.as_deref(), &step.name, declared)?;
                    let element = self.created_mut(node, &indices)?;
                    let table = path
                        .as_deref()
                        .and_then(|p| placement::table(p, element.attribute("type")));
                    let parent = element.name.clone();
                    let index = find_or_create(
                        &mut element.children,
                        step,
                        when_created,
                        table,
                        &parent,
                        source,
                    )?;
                    indices.push(index);
                    Cursor::Created(node, indices, path.map(|p| format!("{p}/{}", step.name)))
                }
            };
        }
        match cursor {
            Cursor::Existing(node) => {
                for (name, value) in attributes {
                    match node.attribute(name.as_str()) {
                        Some(current) if current == value => {}
                        Some(current) if OFF_VALUES.contains(&current) => {
                            return Err(format!(
                                "`{source}` is explicitly {name}='{current}'; change it by hand if that is not intended"
                            ));
                        }
                        _ => self.set_attribute(node, name, value),
                    }
                }
            }
            Cursor::Created(node, indices, _) => {
                let element = self.created_mut(node, &indices)?;
                for (name, value) in attributes {
                    match element.attributes.iter_mut().find(|(n, _)| n == name) {
                        Some(slot) => slot.1.clone_from(value),
                        None => element.attributes.push((name.clone(), value.clone())),
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuse to create `<name>` under the element at `parent_path` when libvirt
    /// introduced it (placement tables' `since`, or the edit's `declared` one) after the
    /// release the fix must suit.
    fn check_since(
        &self,
        parent_path: Option<&str>,
        name: &str,
        declared: Option<Version>,
    ) -> Result<(), String> {
        let known = parent_path
            .and_then(|p| placement::since(p, name))
            .and_then(Version::parse);
        match known.into_iter().chain(declared).max() {
            Some(needed) if needed > self.libvirt => Err(format!(
                "it would add <{name}>, which needs libvirt {needed} or later; the target is libvirt {} (--libvirt-version)",
                self.libvirt
            )),
            _ => Ok(()),
        }
    }

    /// When no child of `node` matches `step` but the file has a `<step.name>` that libvirt
    /// allows only once there, the step means that element: the attributes the step's
    /// predicates ask for are added to it, and a predicate it contradicts refuses the fix.
    fn single_existing(
        &mut self,
        node: Node<'a, 'i>,
        step: &SimpleStep,
        source: &str,
    ) -> Result<Option<Node<'a, 'i>>, String> {
        if !placement::table_of(node).is_some_and(|t| t.once(&step.name)) {
            return Ok(None);
        }
        let Some(existing) = node.children().find(|c| {
            c.is_element() && c.tag_name().namespace().is_none() && c.tag_name().name() == step.name
        }) else {
            return Ok(None);
        };
        for (name, value) in &step.attributes {
            match existing.attribute(name.as_str()) {
                Some(current) if current == value => {}
                Some(current) => {
                    return Err(single_conflict(
                        source,
                        &step.name,
                        name,
                        value,
                        current,
                        node.tag_name().name(),
                    ));
                }
                None => self.set_attribute(existing, name, value),
            }
        }
        Ok(Some(existing))
    }

    fn children_of(&mut self, parent: Node<'a, 'i>) -> &mut Vec<NewElement> {
        let index = match self.children.iter().position(|(p, _)| *p == parent) {
            Some(i) => i,
            None => {
                self.children.push((parent, Vec::new()));
                self.children.len() - 1
            }
        };
        // In bounds: `index` was just found in, or pushed to, this list.
        &mut self.children[index].1
    }

    fn created_mut(
        &mut self,
        parent: Node<'a, 'i>,
        indices: &[usize],
    ) -> Result<&mut NewElement, String> {
        let lost = || "internal error: an element the fix creates went missing".to_string();
        let (first, rest) = indices.split_first().ok_or_else(lost)?;
        let mut element = self.children_of(parent).get_mut(*first).ok_or_else(lost)?;
        for &i in rest {
            element = element.children.get_mut(i).ok_or_else(lost)?;
        }
        Ok(element)
    }

    fn set_attribute(&mut self, node: Node<'a, 'i>, name: &str, value: &str) {
        match self
            .attributes
            .iter_mut()
            .find(|(n, a, _)| *n == node && a == name)
        {
            Some(slot) => slot.2 = value.to_string(),
            None => self
                .attributes
                .push((node, name.to_string(), value.to_string())),
        }
    }

    fn finish(mut self, text: &str, style: &Style) -> Result<Vec<Edit>, String> {
        // Attribute changes, grouped per element so that additions land in one insertion.
        let mut additions: Vec<(Node, String)> = Vec::new();
        for (node, name, value) in &self.attributes {
            if let Some(attr) = node
                .attributes()
                .find(|a| a.name() == name && a.namespace().is_none())
            {
                if attr.value() == value {
                    continue;
                }
                let quote = attribute_quote(text, &attr);
                self.edits.push(Edit::replacement(
                    attr.range_value(),
                    escape_attribute(value, quote),
                ));
            } else {
                let quote = element_quote(text, *node).unwrap_or(style.quote);
                let q = quote.to_string();
                let added = format!(" {name}={q}{}{q}", escape_attribute(value, quote));
                match additions.iter_mut().find(|(n, _)| n == node) {
                    Some((_, all)) => all.push_str(&added),
                    None => additions.push((*node, added)),
                }
            }
        }
        for (parent, new_children) in &mut self.children {
            let at = additions.iter().position(|(n, _)| n == parent);
            let added = at.map(|i| additions.remove(i).1).unwrap_or_default();
            let path = placement::path_of(*parent);
            order_created(new_children, placement::table_of(*parent), path.as_deref());
            self.edits
                .extend(insert_children(text, *parent, new_children, style, &added));
        }
        for (node, added) in additions {
            self.edits
                .push(Edit::insertion(attributes_end(node), added));
        }
        self.collapse_emptied(text);
        let mut edits = self.edits;
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        for pair in edits.windows(2) {
            if pair[0].range.end > pair[1].range.start {
                return Err("the fix's edits overlap each other".into());
            }
        }
        Ok(edits)
    }
}

impl Planner<'_, '_> {
    /// An element whose children the fix removes, all of them, with nothing but blanks
    /// between them (no comment, no text), becomes an empty element written as libvirt
    /// writes one: `<controller type='usb' index='0' model='qemu-xhci'/>`, not a start
    /// and an end tag around a blank line.
    fn collapse_emptied(&mut self, text: &str) {
        let mut parents: Vec<Node> = Vec::new();
        for node in &self.removed {
            if let Some(parent) = node.parent_element()
                && !parents.contains(&parent)
            {
                parents.push(parent);
            }
        }
        for parent in parents {
            let emptied = parent.children().all(|c| {
                if c.is_element() {
                    self.removed.contains(&c)
                } else {
                    c.is_text() && c.text().is_some_and(|t| t.trim().is_empty())
                }
            });
            let root = parent.parent().is_none_or(|p| p.is_root());
            let gets_children = self.children.iter().any(|(p, _)| *p == parent);
            let removed_too = parent.ancestors().any(|a| self.removed.contains(&a));
            if !emptied || root || gets_children || removed_too {
                continue;
            }
            let start_tag = start_tag_range(parent);
            let end = parent.range().end;
            if text[start_tag.clone()].ends_with("/>") || start_tag.end >= end {
                continue;
            }
            // The removals inside the element give way to one edit: `>...</name>` -> `/>`.
            self.edits
                .retain(|e| !(e.range.start >= start_tag.end && e.range.end <= end));
            self.edits
                .push(Edit::replacement(start_tag.end - 1..end, "/>"));
        }
    }
}

fn single_conflict(
    source: &str,
    element: &str,
    name: &str,
    wanted: &str,
    current: &str,
    parent: &str,
) -> String {
    format!(
        "`{source}` needs <{element} {name}='{wanted}'>, but the <{element}> here has {name}='{current}' and libvirt allows one <{element}> in <{parent}>; change it by hand if that is intended"
    )
}

/// Sort elements a fix creates (and, recursively, their children) into libvirt's order;
/// those the table does not rank keep their creation order, after the ranked ones.
fn order_created(list: &mut [NewElement], table: Option<&Parent>, path: Option<&str>) {
    if let Some(table) = table {
        list.sort_by_key(|e| table.rank(&e.name).unwrap_or(usize::MAX));
    }
    for element in list {
        let child_path = path.map(|p| format!("{p}/{}", element.name));
        let child_table = child_path
            .as_deref()
            .and_then(|p| placement::table(p, element.attribute("type")));
        order_created(&mut element.children, child_table, child_path.as_deref());
    }
}

fn step_matches(step: &SimpleStep, node: Node<'_, '_>) -> bool {
    node.is_element()
        && node.tag_name().namespace().is_none()
        && node.tag_name().name() == step.name
        && step
            .attributes
            .iter()
            .all(|(name, value)| node.attribute(name.as_str()) == Some(value.as_str()))
}

/// The index in `list` of the created element `step` means: one that matches it, or one
/// libvirt allows once under this parent (given the step's attributes), or a new one.
fn find_or_create(
    list: &mut Vec<NewElement>,
    step: &SimpleStep,
    when_created: &[(String, Vec<(String, String)>)],
    table: Option<&Parent>,
    parent: &str,
    source: &str,
) -> Result<usize, String> {
    if let Some(i) = list.iter().position(|e| {
        e.name == step.name
            && step
                .attributes
                .iter()
                .all(|(n, v)| e.attribute(n) == Some(v.as_str()))
    }) {
        return Ok(i);
    }
    if table.is_some_and(|t| t.once(&step.name))
        && let Some(i) = list.iter().position(|e| e.name == step.name)
        && let Some(element) = list.get_mut(i)
    {
        for (name, value) in &step.attributes {
            match element.attribute(name) {
                Some(current) if current == value => {}
                Some(current) => {
                    return Err(single_conflict(
                        source, &step.name, name, value, current, parent,
                    ));
                }
                None => element.attributes.push((name.clone(), value.clone())),
            }
        }
        return Ok(i);
    }
    let mut attributes = step.attributes.clone();
    for (element, extra) in when_created {
        if *element == step.name {
            for (name, value) in extra {
                if !attributes.iter().any(|(n, _)| n == name) {
                    attributes.push((name.clone(), value.clone()));
                }
            }
        }
    }
    list.push(NewElement {
        name: step.name.clone(),
        attributes,
        children: Vec::new(),
    });
    Ok(list.len() - 1)
}

/// Offset just after an element's qualified name in its start tag.
fn name_end(node: Node<'_, '_>) -> usize {
    let text = node.document().input_text();
    let start = node.range().start + 1;
    start
        + text[start..]
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(0)
}

/// Offset just after an element's last attribute (or its name).
fn attributes_end(node: Node<'_, '_>) -> usize {
    node.attributes()
        .next_back()
        .map_or_else(|| name_end(node), |a| a.range().end)
}

fn qualified_name<'t>(text: &'t str, node: Node<'_, '_>) -> &'t str {
    &text[node.range().start + 1..name_end(node)]
}

fn is_self_closing(text: &str, node: Node<'_, '_>) -> bool {
    text[start_tag_range(node)].ends_with("/>")
}

/// The quote the element's own attributes use, if it has any.
fn element_quote(text: &str, node: Node<'_, '_>) -> Option<char> {
    node.attributes().next().map(|a| attribute_quote(text, &a))
}

/// Offset where the line containing `offset` starts.
fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Leading whitespace of the line `offset` is on.
fn line_indent(text: &str, offset: usize) -> &str {
    let line = &text[line_start(text, offset)..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Whether only spaces/tabs stand between the start of `offset`'s line and `offset`.
fn starts_line(text: &str, offset: usize) -> bool {
    text[line_start(text, offset)..offset]
        .chars()
        .all(|c| c == ' ' || c == '\t')
}

/// Write `element` at `indent`; with `inline`, children stay on the element's line, as
/// in a compact file (`<features><acpi/><hyperv><vpindex state='on'/></hyperv></features>`).
fn render(element: &NewElement, indent: &str, inline: bool, style: &Style, out: &mut String) {
    let q = style.quote;
    out.push('<');
    out.push_str(&element.name);
    for (name, value) in &element.attributes {
        out.push_str(&format!(" {name}={q}{}{q}", escape_attribute(value, q)));
    }
    if element.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    let inner = format!("{indent}{}", style.indent);
    for child in &element.children {
        if !inline {
            out.push_str(style.line_ending);
            out.push_str(&inner);
        }
        render(child, &inner, inline, style, out);
    }
    if !inline {
        out.push_str(style.line_ending);
        out.push_str(indent);
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// The order libvirt writes the children of `<domain>` in (`virsh dumpxml`). The schema
/// Where a new child goes among its parent's existing children.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place<'a, 'i> {
    After(Node<'a, 'i>),
    Before(Node<'a, 'i>),
    End,
}

/// Libvirt's place for a new `<name>` in `parent`: after the last existing child that
/// libvirt writes before it (or at the same rank), else before the first one it writes
/// after it, else at the end. Children the table does not rank do not count.
fn place<'a, 'i>(parent: Node<'a, 'i>, table: Option<&Parent>, name: &str) -> Place<'a, 'i> {
    let Some((table, wanted)) = table.and_then(|t| Some((t, t.rank(name)?))) else {
        return Place::End;
    };
    let ranked: Vec<(Node, usize)> = parent
        .children()
        .filter(|c| c.is_element() && c.tag_name().namespace().is_none())
        .filter_map(|c| Some((c, table.rank(c.tag_name().name())?)))
        .collect();
    if let Some((after, _)) = ranked.iter().rev().find(|(_, r)| *r <= wanted) {
        // Appending after the last element is the general case (it also keeps trailing
        // comments before the new element).
        return if parent.children().rfind(|c| c.is_element()) == Some(*after) {
            Place::End
        } else {
            Place::After(*after)
        };
    }
    match ranked.iter().find(|(_, r)| *r > wanted) {
        Some((before, _)) => Place::Before(*before),
        None => Place::End,
    }
}

/// Render `children` as lines (or inline) at `indent`.
fn render_block(children: &[&NewElement], indent: &str, inline: bool, style: &Style) -> String {
    let mut block = String::new();
    for child in children {
        if !inline {
            block.push_str(style.line_ending);
            block.push_str(indent);
        }
        render(child, indent, inline, style, &mut block);
    }
    block
}

/// The edits that add `children` (in libvirt's order already) to `parent`, and
/// `added_attributes` to its start tag.
fn insert_children(
    text: &str,
    parent: Node<'_, '_>,
    children: &[NewElement],
    style: &Style,
    added_attributes: &str,
) -> Vec<Edit> {
    let eol = style.line_ending;
    let parent_indent = line_indent(text, parent.range().start);
    let tag = start_tag_range(parent);
    let last_element = parent.children().rfind(|c| c.is_element());
    // Indentation of the new children: the last element sibling's if it starts its own
    // line, else inline after it; with no element child, the parent's plus one step, or
    // inline when the parent itself shares its line (`<features><hyperv/></features>`).
    let (indent, inline) = match last_element {
        Some(el) if starts_line(text, el.range().start) => {
            (line_indent(text, el.range().start).to_string(), false)
        }
        Some(_) => (String::new(), true),
        None if !starts_line(text, parent.range().start) => (String::new(), true),
        None => (format!("{parent_indent}{}", style.indent), false),
    };
    // Before the parent's end tag, when the new children are lines of their own.
    let end_tag_line = if inline {
        String::new()
    } else {
        format!("{eol}{parent_indent}")
    };

    if is_self_closing(text, parent) {
        let all: Vec<&NewElement> = children.iter().collect();
        let block = render_block(&all, &indent, inline, style);
        let name = qualified_name(text, parent);
        return vec![Edit::replacement(
            attributes_end(parent)..tag.end,
            format!("{added_attributes}>{block}{end_tag_line}</{name}>"),
        )];
    }

    let mut edits = Vec::new();
    if !added_attributes.is_empty() {
        edits.push(Edit::insertion(attributes_end(parent), added_attributes));
    }
    // Children grouped by where they go, in order.
    let table = placement::table_of(parent);
    let mut groups: Vec<(Place, Vec<&NewElement>)> = Vec::new();
    for child in children {
        let at = place(parent, table, &child.name);
        match groups.iter_mut().find(|(p, _)| *p == at) {
            Some((_, group)) => group.push(child),
            None => groups.push((at, vec![child])),
        }
    }
    for (at, group) in groups {
        match at {
            Place::After(anchor) => edits.push(insert_after(text, anchor, &group, style)),
            Place::Before(anchor) => edits.push(insert_before(text, anchor, &group, style)),
            Place::End => edits.push(insert_at_end(
                text,
                parent,
                &group,
                style,
                (&indent, inline),
                (last_element.is_some(), &end_tag_line),
            )),
        }
    }
    edits
}

/// Lines (or inline elements) after `anchor`, or at the end of its line when something
/// follows it there.
fn insert_after(text: &str, anchor: Node<'_, '_>, group: &[&NewElement], style: &Style) -> Edit {
    let start = anchor.range().start;
    let (indent, inline) = if starts_line(text, start) {
        (line_indent(text, start).to_string(), false)
    } else {
        (String::new(), true)
    };
    let end = anchor.range().end;
    let line_end = text[end..]
        .find(['\r', '\n'])
        .map_or(text.len(), |i| end + i);
    let at = if inline || text[end..line_end].trim().is_empty() {
        end
    } else {
        line_end
    };
    Edit::insertion(at, render_block(group, &indent, inline, style))
}

/// Lines before `anchor`'s line at its indentation, or inline elements right before it.
fn insert_before(text: &str, anchor: Node<'_, '_>, group: &[&NewElement], style: &Style) -> Edit {
    let start = anchor.range().start;
    if !starts_line(text, start) {
        return Edit::insertion(start, render_block(group, "", true, style));
    }
    let indent = line_indent(text, start);
    let mut block = String::new();
    for child in group {
        block.push_str(indent);
        render(child, indent, false, style, &mut block);
        block.push_str(style.line_ending);
    }
    Edit::insertion(line_start(text, start), block)
}

/// After the parent's last child worth keeping in place (anything but whitespace-only
/// text), before its end tag.
fn insert_at_end(
    text: &str,
    parent: Node<'_, '_>,
    group: &[&NewElement],
    style: &Style,
    (indent, inline): (&str, bool),
    (has_element, end_tag_line): (bool, &str),
) -> Edit {
    let tag = start_tag_range(parent);
    let block = render_block(group, indent, inline, style);
    // Not self-closing (the caller checked), so the parent's text ends with its end tag.
    let close_start = parent.range().start + text[parent.range()].rfind("</").unwrap_or(0);
    let anchor = parent
        .children()
        .rfind(|c| !(c.is_text() && c.text().is_some_and(|t| t.trim().is_empty())));
    match anchor {
        // Only a comment or text inside: the new lines go after it, and the end tag
        // moves to a line of its own if it shared the comment's.
        Some(anchor) if !has_element && !text[anchor.range().end..close_start].contains('\n') => {
            Edit::insertion(anchor.range().end, format!("{block}{end_tag_line}"))
        }
        Some(anchor) => Edit::insertion(anchor.range().end, block),
        None => Edit::replacement(tag.end..close_start, format!("{block}{end_tag_line}")),
    }
}

/// Delete an element (with its line when it stands alone on it) or an attribute (with the
/// whitespace before it). The root element cannot go: a document needs one.
fn removal(item: Item<'_, '_>) -> Result<Edit, String> {
    let text = item.element().document().input_text();
    match item {
        Item::Attribute { element, attribute } => {
            let range = attribute.range();
            let before = element
                .attributes()
                .take_while(|a| a.range().start < range.start)
                .last()
                .map_or_else(|| name_end(element), |a| a.range().end);
            Ok(Edit::deletion(before..range.end))
        }
        Item::Node(node) if node.is_root() || node.parent().is_some_and(|p| p.is_root()) => {
            Err(if node.is_element() || node.is_root() {
                "it would remove the document's root element".to_string()
            } else {
                "it would remove a node outside the root element".to_string()
            })
        }
        Item::Node(node) => {
            let range = node.range();
            let line_start = line_start(text, range.start);
            let rest = &text[range.end..];
            let line_end = rest.find('\n').map(|i| range.end + i + 1);
            let alone_before = text[line_start..range.start]
                .chars()
                .all(|c| c == ' ' || c == '\t');
            Ok(match line_end {
                Some(end) if alone_before && text[range.end..end].trim().is_empty() => {
                    Edit::deletion(line_start..end)
                }
                // Something follows on the line (`<x/> <!-- note -->`): it moves to the
                // removed element's column, keeping the line's indentation.
                _ if alone_before => {
                    let after = &text[range.end..];
                    let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
                    Edit::deletion(range.start..range.end + blanks)
                }
                _ => Edit::deletion(range),
            })
        }
    }
}

/// Replace the text content of an element (or a text node).
fn text_replacement(item: Item<'_, '_>, new_text: &str) -> Result<Edit, String> {
    let Item::Node(node) = item else {
        return Err("`replace-text` selected an attribute; use `set` for attributes".into());
    };
    let escaped = escape_text(new_text);
    if node.is_text() {
        return Ok(Edit::replacement(node.range(), escaped));
    }
    if !node.is_element() {
        return Err(if node.is_root() {
            "`replace-text` selected the document itself, not an element".into()
        } else {
            "`replace-text` selected a comment or processing instruction, not an element".into()
        });
    }
    if node.parent().is_some_and(|p| p.is_root()) {
        return Err("`replace-text` would replace everything inside the root element".into());
    }
    let text = node.document().input_text();
    let tag = start_tag_range(node);
    if is_self_closing(text, node) {
        let name = qualified_name(text, node);
        return Ok(Edit::replacement(
            attributes_end(node)..tag.end,
            format!(">{escaped}</{name}>"),
        ));
    }
    match text[node.range()].rfind("</") {
        Some(close) => Ok(Edit::replacement(
            tag.end..node.range().start + close,
            escaped,
        )),
        None => Err("the element's end tag was not found".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::edit::apply;
    use crate::rules::Safety;
    use crate::selector::{Namespaces, Selector};

    fn ensure(path: &str, attributes: &[(&str, &str)]) -> EditSpec {
        let selector = Selector::parse(path, &Namespaces::builtin()).unwrap();
        EditSpec::Ensure {
            path: selector.simple_path().unwrap(),
            source: path.into(),
            attributes: attributes
                .iter()
                .map(|(a, b)| (a.to_string(), (*b).into()))
                .collect(),
            when_created: vec![("clock".into(), vec![("offset".into(), "utc".into())])],
            since: None,
        }
    }

    /// given `input`, running `edits`, produces the returned text (or the refusal).
    fn run(input: &str, edits: Vec<EditSpec>) -> Result<String, String> {
        run_for(crate::rules::KNOWN_LIBVIRT, input, edits)
    }

    /// [`run`], for a libvirt release.
    fn run_for(libvirt: Version, input: &str, edits: Vec<EditSpec>) -> Result<String, String> {
        let doc = roxmltree::Document::parse(input).unwrap();
        let style = Style::detect(input, &doc);
        let fix = FixSpec::new("t", Safety::Safe, edits);
        plan(
            &fix,
            doc.root_element(),
            &style,
            libvirt,
            &Definitions::default(),
        )
        .map(|edits| apply(input, &edits).unwrap())
    }

    #[test]
    fn an_element_newer_than_the_libvirt_version_is_not_created() {
        let v = |s| Version::parse(s).unwrap();
        let input = "<domain>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n</domain>\n";
        // <stimer> came with libvirt 1.3.3 (placement tables), <direct> under it with 5.7.0.
        let edits = || vec![ensure("features/hyperv/stimer/direct", &[("state", "on")])];
        assert_eq!(
            run_for(v("5.6"), input, edits()).unwrap_err(),
            "it would add <direct>, which needs libvirt 5.7.0 or later; the target is libvirt 5.6.0 (--libvirt-version)"
        );
        assert_eq!(
            run_for(v("1.2"), input, edits()).unwrap_err(),
            "it would add <stimer>, which needs libvirt 1.3.3 or later; the target is libvirt 1.2.0 (--libvirt-version)"
        );
        assert!(
            run_for(v("5.7"), input, edits())
                .unwrap()
                .contains("<direct state='on'/>")
        );
        // An element already there is not created, whatever its version.
        let has = "<domain><features><hyperv><stimer state='off'><direct/></stimer></hyperv></features></domain>";
        assert_eq!(
            run_for(
                v("1.0"),
                has,
                vec![ensure("features/hyperv/stimer/direct", &[("state", "on")])]
            )
            .unwrap(),
            "<domain><features><hyperv><stimer state='off'><direct state='on'/></stimer></hyperv></features></domain>"
        );
        // The edit's own `since:` counts for the element it writes.
        let mut declared = ensure("features/pvspinlock", &[("state", "on")]);
        if let EditSpec::Ensure { since, .. } = &mut declared {
            *since = Some(v("9.1"));
        }
        assert_eq!(
            run_for(v("9.0"), input, vec![declared.clone()]).unwrap_err(),
            "it would add <pvspinlock>, which needs libvirt 9.1.0 or later; the target is libvirt 9.0.0 (--libvirt-version)"
        );
        assert!(run_for(v("9.1"), input, vec![declared]).is_ok());
    }

    #[test]
    fn an_attribute_newer_than_the_libvirt_version_is_not_added() {
        let v = |s| Version::parse(s).unwrap();
        let (element, attribute) = Selector::parse("features/hyperv/@mode", &Namespaces::builtin())
            .unwrap()
            .split_attribute()
            .unwrap();
        let set = EditSpec::Set {
            element,
            attribute,
            value: "custom".into(),
            since: Some(v("8.0")),
        };
        let bare = "<domain><features><hyperv/></features></domain>";
        assert_eq!(
            run_for(v("7.10"), bare, vec![set.clone()]).unwrap_err(),
            "it would add the attribute mode to <hyperv>, which needs libvirt 8.0.0 or later; the target is libvirt 7.10.0 (--libvirt-version)"
        );
        assert_eq!(
            run_for(v("8.0"), bare, vec![set.clone()]).unwrap(),
            "<domain><features><hyperv mode='custom'/></features></domain>"
        );
        // Changing an attribute the file already has adds nothing new.
        let has = "<domain><features><hyperv mode='passthrough'/></features></domain>";
        assert_eq!(
            run_for(v("7.10"), has, vec![set]).unwrap(),
            "<domain><features><hyperv mode='custom'/></features></domain>"
        );
    }

    #[test]
    fn appends_after_last_sibling_with_its_indentation() {
        let input = "<domain>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n</domain>\n";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/hyperv/synic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n      <vpindex state='on'/>\n      <synic state='on'/>\n    </hyperv>\n  </features>\n</domain>\n"
        );
    }

    #[test]
    fn opens_a_self_closing_parent() {
        let input = "<domain>\n    <features>\n        <acpi/>\n        <hyperv />\n    </features>\n</domain>";
        let out = run(
            input,
            vec![ensure("features/hyperv/vpindex", &[("state", "on")])],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n    <features>\n        <acpi/>\n        <hyperv>\n            <vpindex state='on'/>\n        </hyperv>\n    </features>\n</domain>"
        );
    }

    #[test]
    fn creates_a_missing_chain_with_tabs_double_quotes_and_crlf() {
        let input = "<domain type=\"kvm\">\r\n\t<name>w</name>\r\n\t<clock offset=\"utc\"/>\r\n</domain>\r\n";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/hyperv/synic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain type=\"kvm\">\r\n\t<name>w</name>\r\n\t<features>\r\n\t\t<hyperv>\r\n\t\t\t<vpindex state=\"on\"/>\r\n\t\t\t<synic state=\"on\"/>\r\n\t\t</hyperv>\r\n\t</features>\r\n\t<clock offset=\"utc\"/>\r\n</domain>\r\n"
        );
    }

    #[test]
    fn updates_existing_attribute_in_its_own_quote() {
        let input =
            "<domain><clock><timer name=\"hypervclock\" present=\"maybe\"/></clock></domain>";
        let out = run(
            input,
            vec![ensure(
                "clock/timer[@name='hypervclock']",
                &[("present", "yes")],
            )],
        );
        assert_eq!(
            out.unwrap(),
            "<domain><clock><timer name=\"hypervclock\" present=\"yes\"/></clock></domain>"
        );
    }

    #[test]
    fn adds_missing_attribute_and_keeps_matching_ones() {
        let input = "<domain>\n  <features>\n    <hyperv>\n      <stimer/>\n      <synic state='on'/>\n    </hyperv>\n  </features>\n</domain>";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/stimer", &[("state", "on")]),
                ensure("features/hyperv/synic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <hyperv>\n      <stimer state='on'/>\n      <synic state='on'/>\n    </hyperv>\n  </features>\n</domain>"
        );
    }

    #[test]
    fn refuses_to_override_an_explicit_off() {
        let input = "<domain><features><hyperv><vpindex state='off'/></hyperv></features></domain>";
        let err = run(
            input,
            vec![ensure("features/hyperv/vpindex", &[("state", "on")])],
        )
        .unwrap_err();
        assert!(err.contains("state='off'"), "{err}");
    }

    #[test]
    fn inline_children_stay_inline() {
        let input = "<domain><features><hyperv><relaxed state='on'/></hyperv></features></domain>";
        let out = run(
            input,
            vec![ensure("features/hyperv/vapic", &[("state", "on")])],
        );
        assert_eq!(
            out.unwrap(),
            "<domain><features><hyperv><relaxed state='on'/><vapic state='on'/></hyperv></features></domain>"
        );
    }

    #[test]
    fn empty_parent_gets_indented_lines() {
        let input = "<domain>\n  <clock offset='utc'></clock>\n</domain>";
        let out = run(
            input,
            vec![ensure(
                "clock/timer[@name='hypervclock']",
                &[("present", "yes")],
            )],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <clock offset='utc'>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>"
        );
    }

    #[test]
    fn created_parent_gets_its_when_created_attributes() {
        let input = "<domain>\n  <name>w</name>\n</domain>";
        let out = run(
            input,
            vec![ensure(
                "clock/timer[@name='hypervclock']",
                &[("present", "yes")],
            )],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <name>w</name>\n  <clock offset='utc'>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>"
        );
    }

    #[test]
    fn new_domain_children_follow_libvirt_order() {
        let input = "<domain>\n  <name>w</name>\n  <os>\n    <type>hvm</type>\n  </os> <!-- boot -->\n  <devices/>\n</domain>\n";
        let out = run(
            input,
            vec![
                ensure("clock/timer[@name='hypervclock']", &[("present", "yes")]),
                ensure("features/hyperv/vpindex", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <name>w</name>\n  <os>\n    <type>hvm</type>\n  </os> <!-- boot -->\n  <features>\n    <hyperv>\n      <vpindex state='on'/>\n    </hyperv>\n  </features>\n  <clock offset='utc'>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n  <devices/>\n</domain>\n"
        );
    }

    #[test]
    fn attributes_and_children_of_one_parent_in_one_fix() {
        let input = "<domain>\n  <features>\n    <hyperv>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n</domain>";
        let out = run(
            input,
            vec![
                ensure("features/hyperv", &[("mode", "custom")]),
                ensure("features/hyperv/vpindex", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n      <vpindex state='on'/>\n    </hyperv>\n  </features>\n</domain>"
        );
    }

    #[test]
    fn parent_holding_only_a_comment_gets_its_end_tag_on_its_own_line() {
        let input = "<domain>\n  <clock offset='utc'><!-- c --></clock>\n</domain>";
        let out = run(
            input,
            vec![ensure(
                "clock/timer[@name='hypervclock']",
                &[("present", "yes")],
            )],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <clock offset='utc'><!-- c -->\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>"
        );
    }

    #[test]
    fn created_chain_after_an_inline_sibling_stays_inline() {
        let input = "<domain>\n  <features><acpi/></features>\n</domain>";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/hyperv/synic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features><acpi/><hyperv><vpindex state='on'/><synic state='on'/></hyperv></features>\n</domain>"
        );
    }

    #[test]
    fn inserts_after_a_trailing_comment() {
        let input =
            "<domain>\n  <features>\n    <acpi/>\n    <!-- keep -->\n  </features>\n</domain>";
        let out = run(input, vec![ensure("features/hyperv", &[])]);
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <acpi/>\n    <!-- keep -->\n    <hyperv/>\n  </features>\n</domain>"
        );
    }

    #[test]
    fn a_device_kind_goes_before_the_first_later_kind() {
        let input = "<domain>\n  <devices>\n    <disk type='file'/>\n    <interface type='network'/>\n  </devices>\n</domain>\n";
        let out = run(input, vec![ensure("devices/emulator", &[])]);
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <devices>\n    <emulator/>\n    <disk type='file'/>\n    <interface type='network'/>\n  </devices>\n</domain>\n"
        );
    }

    #[test]
    fn a_feature_goes_between_its_neighbours_inline_too() {
        let input = "<domain><features><acpi/><hyperv><relaxed state='on'/></hyperv><vmport state='off'/></features></domain>";
        let out = run(input, vec![ensure("features/pae", &[])]);
        assert_eq!(
            out.unwrap(),
            "<domain><features><acpi/><pae/><hyperv><relaxed state='on'/></hyperv><vmport state='off'/></features></domain>"
        );
    }

    #[test]
    fn hyperv_enlightenments_follow_libvirt_order() {
        let input = "<domain>\n  <features>\n    <hyperv>\n      <relaxed state='on'/>\n      <spinlocks state='on' retries='8191'/>\n      <stimer state='on'/>\n    </hyperv>\n  </features>\n</domain>\n";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/synic", &[("state", "on")]),
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/hyperv/vapic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <hyperv>\n      <relaxed state='on'/>\n      <vapic state='on'/>\n      <spinlocks state='on' retries='8191'/>\n      <vpindex state='on'/>\n      <synic state='on'/>\n      <stimer state='on'/>\n    </hyperv>\n  </features>\n</domain>\n"
        );
    }

    #[test]
    fn created_children_are_written_in_libvirt_order() {
        let input = "<domain>\n  <name>w</name>\n</domain>";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/stimer", &[("state", "on")]),
                ensure("features/hyperv/synic", &[("state", "on")]),
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/acpi", &[]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <name>w</name>\n  <features>\n    <acpi/>\n    <hyperv>\n      <vpindex state='on'/>\n      <synic state='on'/>\n      <stimer state='on'/>\n    </hyperv>\n  </features>\n</domain>"
        );
    }

    #[test]
    fn cpu_os_and_disk_children_go_where_libvirt_writes_them() {
        let input = "<domain>\n  <os>\n    <type>hvm</type>\n    <boot dev='hd'/>\n  </os>\n  <cpu mode='custom'>\n    <model>qemu64</model>\n    <feature policy='require' name='x2apic'/>\n  </cpu>\n  <devices>\n    <disk type='file' device='disk'>\n      <source file='/d.img'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n";
        let out = run(
            input,
            vec![
                ensure("os/bootmenu", &[("enable", "yes")]),
                ensure("cpu/topology", &[("sockets", "1")]),
                ensure("devices/disk/driver", &[("name", "qemu")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <os>\n    <type>hvm</type>\n    <boot dev='hd'/>\n    <bootmenu enable='yes'/>\n  </os>\n  <cpu mode='custom'>\n    <model>qemu64</model>\n    <topology sockets='1'/>\n    <feature policy='require' name='x2apic'/>\n  </cpu>\n  <devices>\n    <disk type='file' device='disk'>\n      <driver name='qemu'/>\n      <source file='/d.img'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n  </devices>\n</domain>\n"
        );
    }

    #[test]
    fn interface_children_follow_the_order_of_their_type() {
        let input = "<domain>\n  <devices>\n    <interface type='network'>\n      <mac address='52:54:00:00:00:01'/>\n      <source network='default'/>\n      <address type='pci' slot='3'/>\n    </interface>\n  </devices>\n</domain>\n";
        let out = run(
            input,
            vec![ensure("devices/interface/model", &[("type", "virtio")])],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <devices>\n    <interface type='network'>\n      <mac address='52:54:00:00:00:01'/>\n      <source network='default'/>\n      <model type='virtio'/>\n      <address type='pci' slot='3'/>\n    </interface>\n  </devices>\n</domain>\n"
        );
    }

    #[test]
    fn a_single_element_takes_the_attributes_a_path_predicate_asks_for() {
        let input = "<domain>\n  <features>\n    <hyperv>\n      <relaxed state='on'/>\n    </hyperv>\n  </features>\n</domain>\n";
        let out = run(
            input,
            vec![ensure(
                "features/hyperv[@mode='custom']/vpindex",
                &[("state", "on")],
            )],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <features>\n    <hyperv mode='custom'>\n      <relaxed state='on'/>\n      <vpindex state='on'/>\n    </hyperv>\n  </features>\n</domain>\n"
        );
    }

    #[test]
    fn a_single_element_with_another_value_refuses_the_fix() {
        let input = "<domain>\n  <features>\n    <hyperv mode='passthrough'/>\n  </features>\n  <clock offset='localtime'/>\n</domain>\n";
        let err = run(
            input,
            vec![ensure(
                "features/hyperv[@mode='custom']/vpindex",
                &[("state", "on")],
            )],
        )
        .unwrap_err();
        assert_eq!(
            err,
            "`features/hyperv[@mode='custom']/vpindex` needs <hyperv mode='custom'>, but the <hyperv> here has mode='passthrough' and libvirt allows one <hyperv> in <features>; change it by hand if that is intended"
        );
        let err = run(
            input,
            vec![ensure(
                "clock[@offset='utc']/timer[@name='hpet']",
                &[("present", "no")],
            )],
        )
        .unwrap_err();
        assert!(
            err.contains("the <clock> here has offset='localtime'"),
            "{err}"
        );
    }

    #[test]
    fn none_of_the_single_parents_is_ever_created_twice() {
        // (existing element, ensure path whose predicate it lacks, expected fixed text)
        let cases = [
            (
                "<domain><features><hyperv/></features></domain>",
                "features/hyperv[@mode='custom']/vpindex",
                "<domain><features><hyperv mode='custom'><vpindex/></hyperv></features></domain>",
            ),
            (
                "<domain><clock/></domain>",
                "clock[@offset='utc']/timer[@name='hpet']",
                "<domain><clock offset='utc'><timer name='hpet'/></clock></domain>",
            ),
            (
                "<domain><features/></domain>",
                "features[@x='1']/acpi",
                "<domain><features x='1'><acpi/></features></domain>",
            ),
            (
                "<domain><os/></domain>",
                "os[@firmware='efi']/bootmenu",
                "<domain><os firmware='efi'><bootmenu/></os></domain>",
            ),
            (
                "<domain><cpu/></domain>",
                "cpu[@mode='host-passthrough']/topology",
                "<domain><cpu mode='host-passthrough'><topology/></cpu></domain>",
            ),
            (
                "<domain><devices/></domain>",
                "devices[@x='1']/emulator",
                "<domain><devices x='1'><emulator/></devices></domain>",
            ),
        ];
        for (input, path, expected) in cases {
            assert_eq!(
                run(input, vec![ensure(path, &[])]).unwrap(),
                expected,
                "{path}"
            );
        }
    }

    #[test]
    fn a_childless_parent_sharing_its_line_gets_its_children_inline() {
        let hpet = || vec![ensure("clock/timer[@name='hpet']", &[("present", "no")])];
        for (input, expected) in [
            (
                "<domain><clock offset='utc'/></domain>",
                "<domain><clock offset='utc'><timer name='hpet' present='no'/></clock></domain>",
            ),
            (
                "<domain><clock offset='utc'></clock></domain>",
                "<domain><clock offset='utc'><timer name='hpet' present='no'/></clock></domain>",
            ),
            (
                "<domain><clock offset='utc'><!-- c --></clock></domain>",
                "<domain><clock offset='utc'><!-- c --><timer name='hpet' present='no'/></clock></domain>",
            ),
        ] {
            assert_eq!(run(input, hpet()).unwrap(), expected);
        }
    }

    #[test]
    fn repeatable_elements_are_still_created() {
        let input = "<domain>\n  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n  </clock>\n</domain>\n";
        let out = run(
            input,
            vec![ensure("clock/timer[@name='hpet']", &[("present", "no")])],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <clock offset='utc'>\n    <timer name='rtc' tickpolicy='catchup'/>\n    <timer name='hpet' present='no'/>\n  </clock>\n</domain>\n"
        );
    }

    #[test]
    fn created_single_elements_merge_across_edits() {
        let input = "<domain>\n  <name>w</name>\n</domain>";
        let out = run(
            input,
            vec![
                ensure("features/hyperv/vpindex", &[("state", "on")]),
                ensure("features/hyperv[@mode='custom']/synic", &[("state", "on")]),
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <name>w</name>\n  <features>\n    <hyperv mode='custom'>\n      <vpindex state='on'/>\n      <synic state='on'/>\n    </hyperv>\n  </features>\n</domain>"
        );
        let err = run(
            input,
            vec![
                ensure("features/hyperv[@mode='passthrough']", &[]),
                ensure("features/hyperv[@mode='custom']/synic", &[("state", "on")]),
            ],
        )
        .unwrap_err();
        assert!(err.contains("has mode='passthrough'"), "{err}");
    }

    #[test]
    fn set_remove_and_replace_text() {
        let ns = Namespaces::builtin();
        let input = "<domain>\n  <clock><timer name='hpet' present='no'/></clock>\n  <vcpu placement='static' cpuset='1'>2</vcpu>\n  <description>x</description>\n</domain>";
        let set = Selector::parse("clock/timer[@name='hpet']/@present", &ns)
            .unwrap()
            .split_attribute()
            .unwrap();
        let out = run(
            input,
            vec![
                EditSpec::Set {
                    element: set.0,
                    attribute: set.1,
                    value: "yes".into(),
                    since: None,
                },
                EditSpec::Remove(Selector::parse("vcpu/@cpuset", &ns).unwrap()),
                EditSpec::Remove(Selector::parse("description", &ns).unwrap()),
                EditSpec::ReplaceText {
                    selector: Selector::parse("vcpu", &ns).unwrap(),
                    text: "4 & <".into(),
                },
            ],
        );
        assert_eq!(
            out.unwrap(),
            "<domain>\n  <clock><timer name='hpet' present='yes'/></clock>\n  <vcpu placement='static'>4 &amp; &lt;</vcpu>\n</domain>"
        );
    }

    /// An element whose children a fix removes, all of them, is written as an empty
    /// element; a comment, text or a child that stays keeps the tags; removing the element
    /// itself as well empties its parent in turn.
    #[test]
    fn an_element_emptied_by_removals_is_written_empty() {
        let ns = Namespaces::builtin();
        let remove = |s: &str| EditSpec::Remove(Selector::parse(s, &ns).unwrap());
        let input = "<domain>\n  <devices>\n    <controller type='usb' model='ehci'>\n      <address type='pci' slot='0x1d'/>\n      <alias name='usb'/>\n    </controller>\n  </devices>\n</domain>\n";
        assert_eq!(
            run(input, vec![remove("devices/controller/*")]).unwrap(),
            "<domain>\n  <devices>\n    <controller type='usb' model='ehci'/>\n  </devices>\n</domain>\n"
        );
        assert_eq!(
            run(input, vec![remove("devices/controller/address")]).unwrap(),
            "<domain>\n  <devices>\n    <controller type='usb' model='ehci'>\n      <alias name='usb'/>\n    </controller>\n  </devices>\n</domain>\n"
        );
        assert_eq!(
            run(
                input,
                vec![remove("devices/controller/*"), remove("devices/controller")]
            )
            .unwrap(),
            "<domain>\n  <devices/>\n</domain>\n"
        );
        let commented = input.replace("<alias name='usb'/>", "<!-- keep -->");
        assert_eq!(
            run(&commented, vec![remove("devices/controller/address")]).unwrap(),
            "<domain>\n  <devices>\n    <controller type='usb' model='ehci'>\n      <!-- keep -->\n    </controller>\n  </devices>\n</domain>\n"
        );
        let inline =
            "<domain><clock offset='utc'><timer name='rtc'/><timer name='pit'/></clock></domain>";
        assert_eq!(
            run(inline, vec![remove("clock/timer")]).unwrap(),
            "<domain><clock offset='utc'/></domain>"
        );
    }
}
