//! What the machine-readable formats (JSON, SARIF, GitHub, GitLab, JUnit) share: the
//! whole run in one value, end positions, element identities and stable fingerprints.
//! These formats are written once, at the end of a run.

use std::collections::HashMap;
use std::ops::Range;

use crate::document::{Document, LineIndex, Position};
use crate::fix::PlannedFinding as Finding;
use crate::rules::RuleSet;

/// One linted file.
pub struct FileReport<'a> {
    /// The name shown (as given on the command line, without a leading `./`).
    pub name: &'a str,
    /// The text the findings refer to.
    pub text: &'a str,
    pub findings: &'a [Finding],
    /// The rules the file was linted with (`Finding::rule` indexes them).
    pub rules: &'a RuleSet,
}

/// An input that could not be linted.
pub struct ErrorReport {
    pub name: String,
    pub message: String,
    pub position: Option<Position>,
}

/// The whole run.
#[derive(Default)]
pub struct RunReport<'a> {
    pub files: Vec<FileReport<'a>>,
    pub errors: Vec<ErrorReport>,
}

/// A byte range with its start and end positions (end exclusive, 1-based columns in
/// characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Position,
    pub end: Position,
    pub bytes: (usize, usize),
}

/// Positions of ranges in one text.
pub struct Locator<'a> {
    text: &'a str,
    lines: LineIndex,
}

impl<'a> Locator<'a> {
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            lines: LineIndex::new(text),
        }
    }

    pub fn span(&self, range: &Range<usize>) -> Span {
        Span {
            start: self.lines.position(self.text, range.start),
            end: self.lines.position(self.text, range.end),
            bytes: (range.start, range.end),
        }
    }
}

/// A finding's related locations in its own document: `(range, label)`.
pub fn related(finding: &Finding) -> Vec<(Range<usize>, String)> {
    finding
        .related
        .iter()
        .filter(|r| r.document.is_none())
        .map(|r| (r.range.clone(), r.label.clone()))
        .collect()
}

/// A finding's related locations in other documents (a repository rule's other place):
/// the related location, whose `document` names the other document.
pub fn related_elsewhere(finding: &Finding) -> Vec<&crate::engine::Related> {
    finding
        .related
        .iter()
        .filter(|r| r.document.is_some())
        .collect()
}

/// The display name without a leading `./`, with `/` separators.
pub fn clean_name(name: &str) -> String {
    let name = name.replace('\\', "/");
    let mut s = name.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

/// A path relative to the current folder when the file is below it (for URIs that code
/// scanning and GitLab resolve against the repository root).
pub fn relative_path(name: &str) -> String {
    let cleaned = clean_name(name);
    let path = std::path::Path::new(&cleaned);
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.to_string_lossy().replace('\\', "/");
    }
    cleaned
}

/// Identities of the elements findings point at, independent of line numbers: each step
/// is the element name with its `name` attribute when it has one (`timer[@name='hpet']`),
/// otherwise its position among siblings of the same name (`disk[2]`); an attribute adds
/// `/@attr`. Computed per file with one parse.
pub fn identities(text: &str, findings: &[Finding]) -> Vec<String> {
    if findings.is_empty() {
        return Vec::new();
    }
    let Ok(doc) = Document::parse(text) else {
        return findings.iter().map(|_| String::new()).collect();
    };
    let elements: Vec<roxmltree::Node<'_, '_>> =
        doc.tree.descendants().filter(|n| n.is_element()).collect();
    findings
        .iter()
        .map(|f| {
            let Some(element) = innermost_element(&elements, f.range.start) else {
                return String::new();
            };
            let mut steps: Vec<String> = element
                .ancestors()
                .filter(|n| n.is_element())
                .map(step)
                .collect();
            steps.reverse();
            let mut id = format!("/{}", steps.join("/"));
            if let Some(attr) = element.attributes().find(|a| a.range() == f.range) {
                id.push_str(&format!("/@{}", attr.name()));
            }
            id
        })
        .collect()
}

/// The innermost element whose text contains byte `at`, given all `elements` in document
/// order: the last one starting at or before `at`, or the nearest of its ancestors that
/// contains `at` (a binary search, not a walk through every element per finding).
fn innermost_element<'a, 'i>(
    elements: &[roxmltree::Node<'a, 'i>],
    at: usize,
) -> Option<roxmltree::Node<'a, 'i>> {
    let last = elements
        .partition_point(|n| n.range().start <= at)
        .checked_sub(1)?;
    elements[last]
        .ancestors()
        .find(|n| n.is_element() && n.range().contains(&at))
}

fn step(node: roxmltree::Node<'_, '_>) -> String {
    let name = node.tag_name().name();
    if let Some(v) = node.attribute("name") {
        return format!("{name}[@name='{v}']");
    }
    let same = |n: &roxmltree::Node<'_, '_>| n.is_element() && n.tag_name() == node.tag_name();
    // Both sibling iterators start at the node itself.
    let index = node.prev_siblings().filter(same).count();
    let total = index + node.next_siblings().skip(1).filter(same).count();
    if total == 1 {
        name.to_string()
    } else {
        format!("{name}[{index}]")
    }
}

/// Stable fingerprints: path, rule and element identity (plus an occurrence number when
/// one rule fires twice on one element), never the line number.
pub fn fingerprints(path: &str, text: &str, findings: &[Finding]) -> Vec<String> {
    let ids = identities(text, findings);
    // How often each key came before.
    let mut seen: HashMap<String, usize> = HashMap::new();
    findings
        .iter()
        .zip(ids)
        .map(|(f, id)| {
            let key = format!("{path}\u{0}{}\u{0}{id}", f.rule_id);
            let print = hex128(&format!(
                "{key}\u{0}{}",
                seen.get(&key).copied().unwrap_or(0)
            ));
            *seen.entry(key).or_insert(0) += 1;
            print
        })
        .collect()
}

/// A 128-bit FNV-1a hash as 32 hex digits (deterministic across platforms and runs).
pub fn hex128(input: &str) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    for b in input.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(PRIME);
    }
    format!("{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::rules::load_builtin;

    /// fixtures/win10-hpet-off.xml, and the rule that finds its HPET.
    fn hpet_fixture() -> (String, RuleSet) {
        let mut rules = load_builtin().unwrap();
        rules.select(|rule, _| rule.id == "windows/hpet-disabled-without-stimer");
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/win10-hpet-off.xml"),
        )
        .unwrap();
        (text, rules)
    }

    #[test]
    fn identities_ignore_lines_and_unrelated_siblings() {
        let (text, rules) = hpet_fixture();
        let doc = Document::parse(&text).unwrap();
        let findings = crate::fix::plan_findings(&doc, &rules, engine::lint(&doc, &rules));
        let ids = identities(&text, &findings);
        assert_eq!(ids, ["/domain/clock/timer[@name='hpet']"]);
        let prints = fingerprints("a.xml", &text, &findings);
        // Lines added above (a comment, an element elsewhere) do not change it.
        let moved = text.replace(
            "<clock",
            "<!-- moved -->\n  <memballoon model='none'/>\n  <clock",
        );
        let doc = Document::parse(&moved).unwrap();
        let moved_findings = crate::fix::plan_findings(&doc, &rules, engine::lint(&doc, &rules));
        assert_ne!(moved_findings[0].position, findings[0].position);
        assert_eq!(fingerprints("a.xml", &moved, &moved_findings), prints);
        assert_ne!(fingerprints("b.xml", &text, &findings), prints);
        assert_eq!(prints[0].len(), 32);
    }

    #[test]
    fn the_innermost_element_of_every_offset() {
        let text = "<?xml version='1.0'?>\n<a x='1'>\n  <b><c/>t<d y='2'>u</d></b>\n  <!-- c -->\n  <b/>\n</a>\n";
        let doc = Document::parse(text).unwrap();
        let elements: Vec<_> = doc.tree.descendants().filter(|n| n.is_element()).collect();
        for at in 0..=text.len() {
            // The reference: the last element in document order that contains `at`.
            let expected = doc
                .tree
                .descendants()
                .rfind(|n| n.is_element() && n.range().contains(&at));
            assert_eq!(innermost_element(&elements, at), expected, "at {at}");
        }
    }

    #[test]
    fn one_rule_twice_on_one_element_gets_numbered_prints() {
        let (text, rules) = hpet_fixture();
        let doc = Document::parse(&text).unwrap();
        let one = crate::fix::plan_findings(&doc, &rules, engine::lint(&doc, &rules));
        let three = [one[0].clone(), one[0].clone(), one[0].clone()];
        let prints = fingerprints("a.xml", &text, &three);
        assert_eq!(prints[0], fingerprints("a.xml", &text, &one)[0]);
        assert_ne!(prints[0], prints[1]);
        assert_ne!(prints[1], prints[2]);
        assert_ne!(prints[0], prints[2]);
    }

    #[test]
    fn names_and_paths() {
        assert_eq!(clean_name("././vms/a.xml"), "vms/a.xml");
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            relative_path(&cwd.join("vms/a.xml").display().to_string()),
            "vms/a.xml"
        );
        assert_eq!(hex128(""), "6c62272e07bb014262b821756295c58d");
    }
}
