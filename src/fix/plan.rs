//! Turning a rule's fix (ensure / set / remove / replace-text) into byte splices on the
//! original text, in the file's own style: indentation, quote character, line ending.

use std::collections::HashMap;

use roxmltree::{Node, NodeId};

use super::edit::{Edit, escape_attribute, escape_text};
use crate::document::start_tag_range;
use crate::rules::{EditSpec, FixSpec};
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

/// Where an ensure path currently stands: an element of the file, or one the fix creates
/// (by its parent in the file and the index path through created elements).
#[derive(Debug, Clone)]
enum Cursor {
    Existing(NodeId),
    Created(NodeId, Vec<usize>),
}

#[derive(Default)]
struct Planner {
    /// New last children per existing parent, in creation order.
    children: Vec<(NodeId, Vec<NewElement>)>,
    /// Attribute values to set (or add) on existing elements.
    attributes: Vec<(NodeId, String, String)>,
    edits: Vec<Edit>,
}

/// The splices for `fix` applied at `ctx`, or why no fix is offered.
pub fn plan(fix: &FixSpec, ctx: Node<'_, '_>, style: &Style) -> Result<Vec<Edit>, String> {
    let doc = ctx.document();
    let mut planner = Planner::default();
    for edit in &fix.edits {
        match edit {
            EditSpec::Ensure {
                path,
                source,
                attributes,
                when_created,
            } => planner.ensure(ctx, path, source, attributes, when_created)?,
            EditSpec::Set {
                element,
                attribute,
                value,
            } => {
                for item in element.select(ctx) {
                    if let Item::Node(node) = item
                        && node.is_element()
                    {
                        planner.set_attribute(node.id(), attribute, value);
                    }
                }
            }
            EditSpec::Remove(selector) => {
                for item in selector.select(ctx) {
                    planner.edits.push(removal(item));
                }
            }
            EditSpec::ReplaceText { selector, text } => {
                for item in selector.select(ctx) {
                    if let Item::Node(node) = item {
                        planner.edits.push(text_replacement(node, text)?);
                    }
                }
            }
        }
    }
    let edits = planner.finish(doc, style)?;
    if edits.is_empty() {
        return Err("its edits would change nothing in this file".into());
    }
    Ok(edits)
}

impl Planner {
    fn ensure(
        &mut self,
        ctx: Node<'_, '_>,
        path: &[SimpleStep],
        source: &str,
        attributes: &[(String, String)],
        when_created: &[(String, Vec<(String, String)>)],
    ) -> Result<(), String> {
        let doc = ctx.document();
        let mut cursor = Cursor::Existing(ctx.id());
        for step in path {
            cursor = match cursor {
                Cursor::Existing(id) => {
                    let node = doc.get_node(id).expect("node of this document");
                    if let Some(child) = node.children().find(|c| step_matches(step, *c)) {
                        Cursor::Existing(child.id())
                    } else {
                        let list = self.children_of(id);
                        let index = find_or_create(list, step, when_created);
                        Cursor::Created(id, vec![index])
                    }
                }
                Cursor::Created(id, mut indices) => {
                    let element = self.created_mut(id, &indices);
                    let index = find_or_create(&mut element.children, step, when_created);
                    indices.push(index);
                    Cursor::Created(id, indices)
                }
            };
        }
        match cursor {
            Cursor::Existing(id) => {
                let node = doc.get_node(id).expect("node of this document");
                for (name, value) in attributes {
                    match node.attribute(name.as_str()) {
                        Some(current) if current == value => {}
                        Some(current) if OFF_VALUES.contains(&current) => {
                            return Err(format!(
                                "`{source}` is explicitly {name}='{current}'; change it by hand if that is not intended"
                            ));
                        }
                        _ => self.set_attribute(id, name, value),
                    }
                }
            }
            Cursor::Created(id, indices) => {
                let element = self.created_mut(id, &indices);
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

    fn children_of(&mut self, parent: NodeId) -> &mut Vec<NewElement> {
        let index = match self.children.iter().position(|(id, _)| *id == parent) {
            Some(i) => i,
            None => {
                self.children.push((parent, Vec::new()));
                self.children.len() - 1
            }
        };
        &mut self.children[index].1
    }

    fn created_mut(&mut self, parent: NodeId, indices: &[usize]) -> &mut NewElement {
        let list = self.children_of(parent);
        let mut element = &mut list[indices[0]];
        for &i in &indices[1..] {
            element = &mut element.children[i];
        }
        element
    }

    fn set_attribute(&mut self, id: NodeId, name: &str, value: &str) {
        match self
            .attributes
            .iter_mut()
            .find(|(i, n, _)| *i == id && n == name)
        {
            Some(slot) => slot.2 = value.to_string(),
            None => self
                .attributes
                .push((id, name.to_string(), value.to_string())),
        }
    }

    fn finish(mut self, doc: &roxmltree::Document<'_>, style: &Style) -> Result<Vec<Edit>, String> {
        let text = doc.input_text();
        // Attribute changes, grouped per element so that additions land in one insertion.
        let mut additions: HashMap<NodeId, String> = HashMap::new();
        for (id, name, value) in &self.attributes {
            let node = doc.get_node(*id).expect("node of this document");
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
                let quote = element_quote(text, node).unwrap_or(style.quote);
                let q = quote.to_string();
                additions
                    .entry(*id)
                    .or_default()
                    .push_str(&format!(" {name}={q}{}{q}", escape_attribute(value, quote)));
            }
        }
        for (id, new_children) in &self.children {
            let parent = doc.get_node(*id).expect("node of this document");
            let added = additions.remove(id).unwrap_or_default();
            self.edits
                .extend(insert_children(text, parent, new_children, style, &added));
        }
        for (id, added) in additions {
            let node = doc.get_node(id).expect("node of this document");
            self.edits
                .push(Edit::insertion(attributes_end(node), added));
        }
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

fn step_matches(step: &SimpleStep, node: Node<'_, '_>) -> bool {
    node.is_element()
        && node.tag_name().namespace().is_none()
        && node.tag_name().name() == step.name
        && step
            .attributes
            .iter()
            .all(|(name, value)| node.attribute(name.as_str()) == Some(value.as_str()))
}

fn find_or_create(
    list: &mut Vec<NewElement>,
    step: &SimpleStep,
    when_created: &[(String, Vec<(String, String)>)],
) -> usize {
    if let Some(i) = list.iter().position(|e| {
        e.name == step.name
            && step
                .attributes
                .iter()
                .all(|(n, v)| e.attributes.iter().any(|(en, ev)| en == n && ev == v))
    }) {
        return i;
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
    list.len() - 1
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
/// accepts any order (an interleave); a created element goes after the last existing
/// sibling that precedes it here, so that a fixed file reads like libvirt's own output.
const DOMAIN_CHILD_ORDER: &[&str] = &[
    "name",
    "uuid",
    "genid",
    "title",
    "description",
    "metadata",
    "maxMemory",
    "memory",
    "currentMemory",
    "blkiotune",
    "memtune",
    "memoryBacking",
    "vcpu",
    "vcpus",
    "iothreads",
    "iothreadids",
    "defaultiothread",
    "cputune",
    "numatune",
    "resource",
    "sysinfo",
    "bootloader",
    "bootloader_args",
    "os",
    "idmap",
    "features",
    "cpu",
    "clock",
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "on_lockfailure",
    "pm",
    "perf",
    "devices",
    "seclabel",
    "keywrap",
    "launchSecurity",
    "throttlegroups",
];

/// The sibling a new child of `parent` goes after, when that is not simply the end.
fn canonical_anchor<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    if !parent.parent().is_some_and(|p| p.is_root()) || parent.tag_name().name() != "domain" {
        return None;
    }
    let rank = |n: &str| DOMAIN_CHILD_ORDER.iter().position(|o| *o == n);
    let wanted = rank(name)?;
    let elements: Vec<Node> = parent.children().filter(|c| c.is_element()).collect();
    let anchor = elements.iter().rev().find(|c| {
        c.tag_name().namespace().is_none() && rank(c.tag_name().name()).is_some_and(|r| r < wanted)
    })?;
    // Appending after the last element is the general case (it also keeps trailing comments).
    (Some(anchor) != elements.last()).then_some(*anchor)
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

/// The edits that add `children` to `parent` (and `added_attributes` to its start tag).
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
    // line, else inline after it; with no element child, the parent's plus one step.
    let (indent, inline) = match last_element {
        Some(el) if starts_line(text, el.range().start) => {
            (line_indent(text, el.range().start).to_string(), false)
        }
        Some(_) => (String::new(), true),
        None => (format!("{parent_indent}{}", style.indent), false),
    };

    if is_self_closing(text, parent) {
        let all: Vec<&NewElement> = children.iter().collect();
        let block = render_block(&all, &indent, inline, style);
        let name = qualified_name(text, parent);
        return vec![Edit::replacement(
            attributes_end(parent)..tag.end,
            format!("{added_attributes}>{block}{eol}{parent_indent}</{name}>"),
        )];
    }

    let mut edits = Vec::new();
    if !added_attributes.is_empty() {
        edits.push(Edit::insertion(attributes_end(parent), added_attributes));
    }
    // Children that go after a particular sibling, grouped by it, then those for the end.
    let mut placed: Vec<(Node, Vec<&NewElement>)> = Vec::new();
    let mut at_end: Vec<&NewElement> = Vec::new();
    for child in children {
        match canonical_anchor(parent, &child.name) {
            Some(anchor) => match placed.iter_mut().find(|(a, _)| *a == anchor) {
                Some((_, group)) => group.push(child),
                None => placed.push((anchor, vec![child])),
            },
            None => at_end.push(child),
        }
    }
    for (anchor, mut group) in placed {
        group.sort_by_key(|c| DOMAIN_CHILD_ORDER.iter().position(|o| *o == c.name));
        let start = anchor.range().start;
        let (indent, inline) = if starts_line(text, start) {
            (line_indent(text, start).to_string(), false)
        } else {
            (String::new(), true)
        };
        // After the anchor, or at the end of its line when something follows it there.
        let end = anchor.range().end;
        let line_end = text[end..]
            .find(['\r', '\n'])
            .map_or(text.len(), |i| end + i);
        let at = if inline || text[end..line_end].trim().is_empty() {
            end
        } else {
            line_end
        };
        edits.push(Edit::insertion(
            at,
            render_block(&group, &indent, inline, style),
        ));
    }
    if !at_end.is_empty() {
        let block = render_block(&at_end, &indent, inline, style);
        let close_start =
            parent.range().start + text[parent.range()].rfind("</").expect("closing tag");
        // The last child worth keeping in place: anything but whitespace-only text.
        let anchor = parent
            .children()
            .rfind(|c| !(c.is_text() && c.text().is_some_and(|t| t.trim().is_empty())));
        edits.push(match anchor {
            // Only a comment or text inside: the new lines go after it, and the end tag
            // moves to a line of its own if it shared the comment's.
            Some(anchor)
                if last_element.is_none()
                    && !text[anchor.range().end..close_start].contains('\n') =>
            {
                Edit::insertion(anchor.range().end, format!("{block}{eol}{parent_indent}"))
            }
            Some(anchor) => Edit::insertion(anchor.range().end, block),
            None => Edit::replacement(tag.end..close_start, format!("{block}{eol}{parent_indent}")),
        });
    }
    edits
}

/// Delete an element (with its line when it stands alone on it) or an attribute (with the
/// whitespace before it).
fn removal(item: Item<'_, '_>) -> Edit {
    let text = item.element().document().input_text();
    match item {
        Item::Attribute { element, attribute } => {
            let range = attribute.range();
            let before = element
                .attributes()
                .take_while(|a| a.range().start < range.start)
                .last()
                .map_or_else(|| name_end(element), |a| a.range().end);
            Edit::deletion(before..range.end)
        }
        Item::Node(node) => {
            let range = node.range();
            let line_start = line_start(text, range.start);
            let rest = &text[range.end..];
            let line_end = rest.find('\n').map(|i| range.end + i + 1);
            let alone_before = text[line_start..range.start]
                .chars()
                .all(|c| c == ' ' || c == '\t');
            match line_end {
                Some(end) if alone_before && text[range.end..end].trim().is_empty() => {
                    Edit::deletion(line_start..end)
                }
                _ => Edit::deletion(range),
            }
        }
    }
}

/// The edit that replaces the text of an element or a text node; other nodes (comments,
/// processing instructions, the document itself) have no text to replace.
fn text_replacement(node: Node<'_, '_>, new_text: &str) -> Result<Edit, String> {
    let text = node.document().input_text();
    let escaped = escape_text(new_text);
    if node.is_text() {
        return Ok(Edit::replacement(node.range(), escaped));
    }
    if !node.is_element() {
        return Err("`replace-text` selects something other than an element or a text node".into());
    }
    let tag = start_tag_range(node);
    if is_self_closing(text, node) {
        let name = qualified_name(text, node);
        return Ok(Edit::replacement(
            attributes_end(node)..tag.end,
            format!(">{escaped}</{name}>"),
        ));
    }
    let close_start = node.range().start + text[node.range()].rfind("</").expect("closing tag");
    Ok(Edit::replacement(tag.end..close_start, escaped))
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
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            when_created: vec![("clock".into(), vec![("offset".into(), "utc".into())])],
        }
    }

    /// given `input`, running `edits`, produces the returned text (or the refusal).
    fn run(input: &str, edits: Vec<EditSpec>) -> Result<String, String> {
        let doc = roxmltree::Document::parse(input).unwrap();
        let style = Style::detect(input, &doc);
        let fix = FixSpec {
            title: "t".into(),
            safety: Safety::Safe,
            edits,
        };
        plan(&fix, doc.root_element(), &style).map(|edits| apply(input, &edits))
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
}
