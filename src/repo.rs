//! Repository rules (`scope: repo`): checks across every document of a run, files and live
//! domains alike — two definitions with the same UUID, name or MAC address, a writable
//! disk image used by two guests, one guest writing another's backing file, two guests on
//! the same fixed graphics port.
//!
//! A repository rule is declarative ([`RepoCheck`]): the items of each document
//! (`for-each`), a key per item (one selector or several, a composite key), a
//! [`Normalize`]ation, an optional grouping (`group-by`: MACs only collide on the same
//! network), an optional condition one of the colliding items must meet (`if-any`: a shared
//! disk is only a problem when someone writes it), and whether only definitions of one host
//! can collide (`per-host`). With `against`, the keys are looked up among other items
//! instead (a writable disk that is another guest's backing file).
//!
//! It runs in two steps, so that no parsed tree outlives its file's turn: [`extract`] reads
//! each document's keys while it is parsed (in parallel, with the per-file rules), then
//! [`evaluate`] compares the keys of the whole run in hash maps, in time linear in the
//! number of keys. Only items of *different* documents collide; duplicates inside one
//! document are the within-file `unique` condition's business.
//!
//! Every finding has a primary location (where it is reported) and a related one (the
//! first other place that holds the key), in another document.

use std::collections::HashMap;
use std::ops::Range;

use crate::condition::{Condition, Definitions};
use crate::document::{Document, Position, start_tag_range};
use crate::engine::{Finding, Related};
use crate::fix::PlannedFinding;
use crate::rules::{Message, RuleSet, Severity};
use crate::selector::{Item, Selector};

/// How a key is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalize {
    /// As written (surrounding whitespace trimmed).
    #[default]
    Exact,
    /// Case-insensitively.
    Case,
    /// A UUID: case and dashes do not matter (`{}` braces are dropped too).
    Uuid,
    /// A MAC address: case does not matter, `-` and `:` separators are the same.
    Mac,
    /// A path: repeated `/`, `./` steps and a trailing `/` do not matter.
    Path,
    /// A number: decimal or `0x` hexadecimal, leading zeros ignored.
    Number,
}

impl Normalize {
    pub fn parse(name: &str) -> Option<Normalize> {
        Some(match name {
            "exact" => Normalize::Exact,
            "case" => Normalize::Case,
            "uuid" => Normalize::Uuid,
            "mac" => Normalize::Mac,
            "path" => Normalize::Path,
            "number" => Normalize::Number,
            _ => return None,
        })
    }

    pub const NAMES: &'static [&'static str] = &["exact", "case", "uuid", "mac", "path", "number"];

    pub fn apply(self, value: &str) -> String {
        let value = value.trim();
        match self {
            Normalize::Exact => value.to_string(),
            Normalize::Case => value.to_lowercase(),
            Normalize::Uuid => value
                .chars()
                .filter(|c| !matches!(c, '-' | '{' | '}'))
                .flat_map(char::to_lowercase)
                .collect(),
            Normalize::Mac => value
                .chars()
                .map(|c| if c == '-' { ':' } else { c })
                .flat_map(char::to_lowercase)
                .collect(),
            Normalize::Path => normalize_path(value),
            Normalize::Number => normalize_number(value),
        }
    }
}

fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn normalize_number(value: &str) -> String {
    let parsed = match value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        Some(hex) => u128::from_str_radix(hex, 16).ok(),
        None => value.parse::<u128>().ok(),
    };
    parsed.map_or_else(|| value.to_string(), |n| n.to_string())
}

/// Items of other documents whose keys the primary items must not equal.
#[derive(Debug, Clone)]
pub struct Against {
    pub for_each: Selector,
    pub key: Vec<Selector>,
}

/// The compiled `unique:` block of a repository rule.
#[derive(Debug, Clone)]
pub struct RepoCheck {
    /// The items each document contributes, relative to `<domain>`.
    pub for_each: Selector,
    /// The key of an item, relative to it; several selectors make a composite key. An item
    /// whose key is empty in every part has no key and is left out.
    pub key: Vec<Selector>,
    pub normalize: Normalize,
    /// Items only collide within the same group (relative to the item; composite).
    pub group_by: Vec<Selector>,
    /// Equal keys in different groups are reported too, at this severity.
    pub across_groups: Option<Severity>,
    /// Equal keys are a finding only when at least one of the items meets this.
    pub if_any: Option<Condition>,
    /// Only documents of the same host (live connection) collide; files are one host.
    pub per_host: bool,
    pub against: Option<Against>,
    /// How the related location is labelled.
    pub related: String,
}

/// One item's key, read from a document.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Box<str>,
    pub group: Box<str>,
    /// The `if-any` condition holds for this item.
    pub flag: bool,
    pub range: Range<usize>,
    pub position: Position,
    /// The rule's message, rendered for this item.
    pub message: String,
}

/// The keys one document holds for one repository rule.
#[derive(Debug, Clone, Default)]
pub struct RuleFacts {
    /// Index of the rule in the rule set.
    pub rule: usize,
    pub entries: Vec<Entry>,
    /// Keys of the `against` items.
    pub against: Vec<Entry>,
}

/// What [`extract`] keeps of a document: the keys of every repository rule.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub rules: Vec<RuleFacts>,
}

/// A repository rule as [`extract`] and [`evaluate`] see it.
#[derive(Debug, Clone, Copy)]
pub struct RepoRule<'r> {
    /// Index of the rule in the rule set.
    pub index: usize,
    pub id: &'r str,
    pub severity: Severity,
    pub message: &'r Message,
    pub check: &'r RepoCheck,
}

/// Where a finding's related location is: another document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedLocation {
    /// Index of the document in the run.
    pub doc: usize,
    pub range: Range<usize>,
    pub position: Position,
    pub label: String,
}

/// A repository rule firing at one item of one document.
#[derive(Debug, Clone)]
pub struct RepoFinding {
    /// Index of the document in the run.
    pub doc: usize,
    pub rule: usize,
    pub rule_id: String,
    pub severity: Severity,
    pub message: String,
    pub range: Range<usize>,
    pub position: Position,
    pub related: RelatedLocation,
    /// How many other documents hold the key (the related one included).
    pub others: usize,
}

impl RepoFinding {
    /// The finding as the reporters take it: in its document, with the other place as a
    /// related location in another document, and no fix.
    pub fn into_finding(self, other_document: &str) -> PlannedFinding {
        PlannedFinding {
            finding: Finding {
                rule: self.rule,
                rule_id: self.rule_id,
                severity: self.severity,
                message: self.message,
                range: self.range,
                position: self.position,
                // Repository rules have no fix, so nothing is planned relative to it.
                context: roxmltree::NodeId::new(0),
                related: vec![Related {
                    label: self.related.label,
                    range: self.related.range,
                    position: self.related.position,
                    document: Some(other_document.to_string()),
                }],
            },
            fix: None,
            alternatives: Vec::new(),
        }
    }
}

/// One document of the run, for [`evaluate`].
#[derive(Debug, Clone, Copy)]
pub struct RunDocument<'a> {
    /// How the document is named in reports (path or `URI/NAME`).
    pub name: &'a str,
    /// The live connection it came from; `None` for files.
    pub host: Option<&'a str>,
    pub facts: &'a Facts,
}

/// The enabled repository rules of `set`, in rule-set order.
pub fn repo_rules(set: &RuleSet) -> Vec<RepoRule<'_>> {
    set.enabled()
        .filter_map(|(index, rule)| {
            rule.repo.as_ref().map(|check| RepoRule {
                index,
                id: &rule.id,
                severity: rule.severity,
                message: &rule.message,
                check,
            })
        })
        .collect()
}

/// Run the repository rules of `set` over named texts (each a domain). For examples, tests
/// and the benchmark; the CLI extracts keys as it lints each input instead.
pub fn check_texts(set: &RuleSet, texts: &[(&str, &str)]) -> Result<Vec<RepoFinding>, String> {
    let rules = repo_rules(set);
    let facts = texts
        .iter()
        .map(|(name, text)| {
            let doc = Document::parse(text).map_err(|e| format!("{name}: {e}"))?;
            Ok(extract(&doc, &rules, &set.definitions))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let docs: Vec<RunDocument> = texts
        .iter()
        .zip(&facts)
        .map(|((name, _), facts)| RunDocument {
            name,
            host: None,
            facts,
        })
        .collect();
    Ok(evaluate(&docs, &rules))
}

/// The `<domain>` documents written one after another in a repository rule's example.
pub fn split_documents(text: &str) -> Result<Vec<&str>, String> {
    const OPEN: &str = "<virt-lint-example>";
    let wrapped = format!("{OPEN}{text}</virt-lint-example>");
    let doc = Document::parse(&wrapped).map_err(|e| match e.position {
        Some(p) if p.line == 1 => format!(
            "the example is not well-formed XML (1:{}: {})",
            p.column.saturating_sub(OPEN.len()),
            e.message
        ),
        Some(p) => format!("the example is not well-formed XML ({p}: {})", e.message),
        None => format!("the example is not usable XML ({})", e.message),
    })?;
    Ok(doc
        .root()
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            let r = n.range();
            &text[r.start - OPEN.len()..r.end - OPEN.len()]
        })
        .collect())
}

fn item_range(item: &Item<'_, '_>) -> Range<usize> {
    match item {
        Item::Node(n) if n.is_element() => {
            let whole = n.range();
            let text = n.document().input_text();
            if text[whole.clone()].contains('\n') {
                start_tag_range(*n)
            } else {
                whole
            }
        }
        other => other.range(),
    }
}

/// The key of `item`: its parts normalised and joined; `None` when every part is empty.
/// The range is that of the first part found (the item itself when none is).
fn key_of(
    item: roxmltree::Node<'_, '_>,
    parts: &[Selector],
    normalize: Normalize,
) -> Option<(String, Range<usize>)> {
    let mut key = String::new();
    let mut range = None;
    let mut any = false;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        if let Some(found) = part.select(item).into_iter().next() {
            let value = normalize.apply(&found.string_value());
            if !value.is_empty() {
                any = true;
                range.get_or_insert_with(|| item_range(&found));
            }
            key.push_str(&value);
        }
    }
    any.then(|| {
        let range = range.unwrap_or_else(|| item_range(&Item::Node(item)));
        (key, range)
    })
}

fn group_of(item: roxmltree::Node<'_, '_>, parts: &[Selector]) -> String {
    let mut group = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            group.push('\u{1f}');
        }
        if let Some(found) = part.select(item).into_iter().next() {
            group.push_str(found.string_value().trim());
        }
    }
    group
}

fn elements<'a, 'i>(
    selector: &Selector,
    ctx: roxmltree::Node<'a, 'i>,
) -> Vec<roxmltree::Node<'a, 'i>> {
    selector
        .select(ctx)
        .into_iter()
        .filter_map(|item| match item {
            Item::Node(n) if n.is_element() => Some(n),
            Item::Attribute { element, .. } => Some(element),
            _ => None,
        })
        .collect()
}

/// Read the keys of every repository rule from one parsed domain.
pub fn extract(doc: &Document<'_>, rules: &[RepoRule<'_>], definitions: &Definitions) -> Facts {
    let root = doc.root();
    let facts = rules
        .iter()
        .map(|rule| {
            let check = rule.check;
            let entries = elements(&check.for_each, root)
                .into_iter()
                .filter_map(|item| {
                    let (key, range) = key_of(item, &check.key, check.normalize)?;
                    Some(Entry {
                        key: key.into(),
                        group: group_of(item, &check.group_by).into(),
                        flag: check
                            .if_any
                            .as_ref()
                            .is_none_or(|c| c.eval(item, definitions)),
                        position: doc.position(range.start),
                        range,
                        message: rule.message.render(item),
                    })
                })
                .collect();
            let against = check.against.as_ref().map_or_else(Vec::new, |against| {
                elements(&against.for_each, root)
                    .into_iter()
                    .filter_map(|item| {
                        let (key, range) = key_of(item, &against.key, check.normalize)?;
                        Some(Entry {
                            key: key.into(),
                            group: "".into(),
                            flag: true,
                            position: doc.position(range.start),
                            range,
                            message: String::new(),
                        })
                    })
                    .collect()
            });
            RuleFacts {
                rule: rule.index,
                entries,
                against,
            }
        })
        .collect();
    Facts { rules: facts }
}

/// An entry of one document: `(document, entry)` indices.
type At = (usize, usize);

/// Compare the keys of every document of the run. Findings come in document order, then
/// by position, then rule id.
pub fn evaluate(docs: &[RunDocument<'_>], rules: &[RepoRule<'_>]) -> Vec<RepoFinding> {
    let mut findings = Vec::new();
    for (slot, rule) in rules.iter().enumerate() {
        let facts_of = |d: usize| -> Option<&RuleFacts> {
            docs[d]
                .facts
                .rules
                .get(slot)
                .filter(|f| f.rule == rule.index)
                .or_else(|| docs[d].facts.rules.iter().find(|f| f.rule == rule.index))
        };
        let host = |d: usize| {
            if rule.check.per_host {
                docs[d].host
            } else {
                None
            }
        };
        if rule.check.against.is_some() {
            evaluate_against(docs, rule, &facts_of, &host, &mut findings);
        } else {
            evaluate_unique(docs, rule, &facts_of, &host, &mut findings);
        }
    }
    findings.sort_by(|a, b| {
        (a.doc, a.range.start, &a.rule_id).cmp(&(b.doc, b.range.start, &b.rule_id))
    });
    findings
}

/// The first occurrences of a key in up to two different documents: enough to name, for
/// any occurrence, one in another document.
#[derive(Clone, Copy)]
struct FirstTwo {
    first: At,
    second: Option<At>,
    documents: usize,
    last_doc: usize,
}

impl FirstTwo {
    fn new(at: At) -> Self {
        FirstTwo {
            first: at,
            second: None,
            documents: 1,
            last_doc: at.0,
        }
    }

    /// Entries arrive in document order, so a new document is one unlike the last.
    fn add(&mut self, at: At) {
        if at.0 != self.last_doc {
            self.documents += 1;
            self.last_doc = at.0;
            if self.second.is_none() {
                self.second = Some(at);
            }
        }
    }

    /// An occurrence in a document other than `doc`.
    fn other_than(&self, doc: usize) -> Option<At> {
        if self.first.0 != doc {
            Some(self.first)
        } else {
            self.second
        }
    }
}

fn evaluate_unique<'a>(
    docs: &[RunDocument<'a>],
    rule: &RepoRule<'_>,
    facts_of: &dyn Fn(usize) -> Option<&'a RuleFacts>,
    host: &dyn Fn(usize) -> Option<&'a str>,
    findings: &mut Vec<RepoFinding>,
) {
    // Per key: occurrences per group, and for the key as a whole; whether any item meets
    // `if-any`, per group and per key.
    #[derive(Default)]
    struct Bucket<'k> {
        groups: HashMap<&'k str, (Option<FirstTwo>, bool)>,
        all: Option<FirstTwo>,
        flag: bool,
    }
    let mut buckets: HashMap<(Option<&'a str>, &'a str), Bucket<'a>> = HashMap::new();
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for (e, entry) in facts.entries.iter().enumerate() {
            let bucket = buckets.entry((host(d), &entry.key)).or_default();
            match &mut bucket.all {
                Some(first) => first.add((d, e)),
                None => bucket.all = Some(FirstTwo::new((d, e))),
            }
            bucket.flag |= entry.flag;
            let group = bucket.groups.entry(&entry.group).or_default();
            match &mut group.0 {
                Some(first) => first.add((d, e)),
                None => group.0 = Some(FirstTwo::new((d, e))),
            }
            group.1 |= entry.flag;
        }
    }
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for entry in &facts.entries {
            let bucket = &buckets[&(host(d), &*entry.key)];
            let Some(all) = bucket.all.filter(|a| a.documents > 1) else {
                continue;
            };
            let (group, group_flag) = &bucket.groups[&*entry.group];
            let same_group = group.filter(|g| g.documents > 1 && *group_flag);
            let (other, severity, count) = match same_group {
                Some(g) => (g.other_than(d), rule.severity, g.documents - 1),
                None => match rule.check.across_groups {
                    Some(severity) if bucket.flag => {
                        (all.other_than(d), severity, all.documents - 1)
                    }
                    _ => continue,
                },
            };
            let Some((od, oe)) = other else { continue };
            let related = &facts_of(od).expect("the related entry exists").entries[oe];
            findings.push(finding(docs, d, rule, entry, severity, od, related, count));
        }
    }
}

fn evaluate_against<'a>(
    docs: &[RunDocument<'a>],
    rule: &RepoRule<'_>,
    facts_of: &dyn Fn(usize) -> Option<&'a RuleFacts>,
    host: &dyn Fn(usize) -> Option<&'a str>,
    findings: &mut Vec<RepoFinding>,
) {
    let mut index: HashMap<(Option<&'a str>, &'a str), FirstTwo> = HashMap::new();
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for (e, entry) in facts.against.iter().enumerate() {
            index
                .entry((host(d), &entry.key))
                .and_modify(|f| f.add((d, e)))
                .or_insert_with(|| FirstTwo::new((d, e)));
        }
    }
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for entry in &facts.entries {
            let Some(found) = index.get(&(host(d), &*entry.key)) else {
                continue;
            };
            let Some((od, oe)) = found.other_than(d) else {
                continue;
            };
            let own = facts.against.iter().any(|a| a.key == entry.key);
            let count = found.documents - usize::from(own);
            let related = &facts_of(od).expect("the related entry exists").against[oe];
            findings.push(finding(
                docs,
                d,
                rule,
                entry,
                rule.severity,
                od,
                related,
                count,
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    docs: &[RunDocument<'_>],
    doc: usize,
    rule: &RepoRule<'_>,
    entry: &Entry,
    severity: Severity,
    other_doc: usize,
    other: &Entry,
    others: usize,
) -> RepoFinding {
    let more = match others {
        0 | 1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    RepoFinding {
        doc,
        rule: rule.index,
        rule_id: rule.id.to_string(),
        severity,
        message: format!(
            "{} (also in {}:{}{more})",
            entry.message, docs[other_doc].name, other.position
        ),
        range: entry.range.clone(),
        position: entry.position,
        related: RelatedLocation {
            doc: other_doc,
            range: other.range.clone(),
            position: other.position,
            label: rule.check.related.clone(),
        },
        others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::MessagePart;
    use crate::selector::Namespaces;

    fn sel(s: &str) -> Selector {
        Selector::parse(s, &Namespaces::builtin()).unwrap()
    }

    fn check(for_each: &str, key: &[&str], normalize: Normalize) -> RepoCheck {
        RepoCheck {
            for_each: sel(for_each),
            key: key.iter().map(|k| sel(k)).collect(),
            normalize,
            group_by: Vec::new(),
            across_groups: None,
            if_any: None,
            per_host: false,
            against: None,
            related: "also here".into(),
        }
    }

    fn text_message(text: &str) -> Message {
        Message {
            parts: vec![MessagePart::Text(text.into())],
        }
    }

    /// Run one check over `(name, host, xml)` documents; findings as
    /// `name:line:col severity message -> other:line:col`.
    fn run(
        check: &RepoCheck,
        severity: Severity,
        docs: &[(&str, Option<&str>, &str)],
    ) -> Vec<String> {
        let message = text_message("dup");
        let rules = [RepoRule {
            index: 0,
            id: "repo/test",
            severity,
            message: &message,
            check,
        }];
        let defs = Definitions::default();
        let facts: Vec<Facts> = docs
            .iter()
            .map(|(_, _, xml)| extract(&Document::parse(xml).unwrap(), &rules, &defs))
            .collect();
        let run: Vec<RunDocument> = docs
            .iter()
            .zip(&facts)
            .map(|((name, host, _), facts)| RunDocument {
                name,
                host: *host,
                facts,
            })
            .collect();
        evaluate(&run, &rules)
            .into_iter()
            .map(|f| {
                format!(
                    "{}:{} {} {} -> {}:{}",
                    docs[f.doc].0,
                    f.position,
                    f.severity,
                    f.message,
                    docs[f.related.doc].0,
                    f.related.position
                )
            })
            .collect()
    }

    #[test]
    fn normalisations() {
        assert_eq!(
            Normalize::Uuid.apply(" 6A1F0C3E-2D4B-4F8E-A917-5B0C9D7E3A21 "),
            "6a1f0c3e2d4b4f8ea9175b0c9d7e3a21"
        );
        assert_eq!(
            Normalize::Mac.apply("52-54-00-AB-cd-01"),
            "52:54:00:ab:cd:01"
        );
        assert_eq!(
            Normalize::Path.apply("/var//lib/./x.qcow2/"),
            "/var/lib/x.qcow2"
        );
        assert_eq!(Normalize::Path.apply("./a//b"), "a/b");
        assert_eq!(Normalize::Number.apply("0x170c"), "5900");
        assert_eq!(Normalize::Number.apply("05900"), "5900");
        assert_eq!(Normalize::Number.apply("-1"), "-1");
        assert_eq!(Normalize::Case.apply("Web"), "web");
        assert_eq!(Normalize::Exact.apply(" Web "), "Web");
        for name in Normalize::NAMES {
            assert!(Normalize::parse(name).is_some());
        }
    }

    #[test]
    fn equal_keys_in_two_documents_are_reported_at_both() {
        let c = check("uuid", &["."], Normalize::Uuid);
        let a = "<domain>\n  <uuid>6a1f0c3e-2d4b-4f8e-a917-5b0c9d7e3a21</uuid>\n</domain>";
        let b = "<domain><name>b</name><uuid>6A1F0C3E2D4B4F8EA9175B0C9D7E3A21</uuid></domain>";
        let c2 = "<domain><uuid>00000000-0000-0000-0000-000000000001</uuid></domain>";
        assert_eq!(
            run(
                &c,
                Severity::Error,
                &[("a.xml", None, a), ("b.xml", None, b), ("c.xml", None, c2)]
            ),
            [
                "a.xml:2:3 error dup (also in b.xml:1:23) -> b.xml:1:23",
                "b.xml:1:23 error dup (also in a.xml:2:3) -> a.xml:2:3",
            ]
        );
        // Three holders: each names the first other one, and how many more there are.
        assert_eq!(
            run(
                &c,
                Severity::Error,
                &[("a", None, a), ("b", None, b), ("c", None, b)]
            ),
            [
                "a:2:3 error dup (also in b:1:23 and 1 more) -> b:1:23",
                "b:1:23 error dup (also in a:2:3 and 1 more) -> a:2:3",
                "c:1:23 error dup (also in a:2:3 and 1 more) -> a:2:3",
            ]
        );
    }

    #[test]
    fn duplicates_inside_one_document_are_not_repository_findings() {
        let c = check("devices/interface", &["mac/@address"], Normalize::Mac);
        let a = "<domain><devices><interface><mac address='52:54:00:00:00:01'/></interface><interface><mac address='52:54:00:00:00:01'/></interface></devices></domain>";
        assert!(run(&c, Severity::Error, &[("a", None, a)]).is_empty());
        let b = "<domain><devices><interface><mac address='52:54:00:00:00:02'/></interface></devices></domain>";
        assert!(run(&c, Severity::Error, &[("a", None, a), ("b", None, b)]).is_empty());
    }

    #[test]
    fn groups_decide_the_severity() {
        let mut c = check("devices/interface", &["mac/@address"], Normalize::Mac);
        c.group_by = vec![sel("source/@network"), sel("source/@bridge")];
        let on = |net: &str| {
            format!(
                "<domain><devices><interface><mac address='52:54:00:00:00:01'/><source {net}/></interface></devices></domain>"
            )
        };
        let (a, b, x) = (
            on("network='default'"),
            on("network='default'"),
            on("bridge='br0'"),
        );
        assert_eq!(
            run(
                &c,
                Severity::Error,
                &[("a", None, &a), ("b", None, &b), ("x", None, &x)]
            ),
            [
                "a:1:34 error dup (also in b:1:34) -> b:1:34",
                "b:1:34 error dup (also in a:1:34) -> a:1:34",
            ],
            "different networks do not collide without across-groups"
        );
        c.across_groups = Some(Severity::Warning);
        assert_eq!(
            run(&c, Severity::Error, &[("a", None, &a), ("x", None, &x)]),
            [
                "a:1:34 warning dup (also in x:1:34) -> x:1:34",
                "x:1:34 warning dup (also in a:1:34) -> a:1:34",
            ]
        );
    }

    #[test]
    fn if_any_and_per_host() {
        let mut c = check(
            "devices/disk[not(@device='cdrom')]",
            &["source/@file", "source/@dev"],
            Normalize::Path,
        );
        c.if_any = Some(Condition::All(vec![
            Condition::Absent(sel("readonly")),
            Condition::Absent(sel("shareable")),
        ]));
        let disk = |extra: &str| {
            format!(
                "<domain><devices><disk device='disk'><source file='/img//x.qcow2'/>{extra}</disk></devices></domain>"
            )
        };
        let (ro, shared, rw) = (disk("<readonly/>"), disk("<shareable/>"), disk(""));
        assert!(
            run(
                &c,
                Severity::Error,
                &[("ro", None, &ro), ("sh", None, &shared)]
            )
            .is_empty()
        );
        assert_eq!(
            run(&c, Severity::Error, &[("ro", None, &ro), ("rw", None, &rw)]).len(),
            2,
            "one writer is enough"
        );
        c.per_host = true;
        assert!(
            run(
                &c,
                Severity::Error,
                &[("h1/rw", Some("h1"), &rw), ("h2/rw", Some("h2"), &rw)]
            )
            .is_empty(),
            "per-host keys of different connections never collide"
        );
        assert_eq!(
            run(
                &c,
                Severity::Error,
                &[("h1/a", Some("h1"), &rw), ("h1/b", Some("h1"), &rw)]
            )
            .len(),
            2
        );
    }

    #[test]
    fn against_looks_keys_up_in_other_items() {
        let mut c = check(
            "devices/disk[not(readonly)]",
            &["source/@file"],
            Normalize::Path,
        );
        c.against = Some(Against {
            for_each: sel("devices/disk/backingStore//source"),
            key: vec![sel("@file")],
        });
        let base =
            "<domain><devices><disk><source file='/img/base.qcow2'/></disk></devices></domain>";
        let overlay = "<domain><devices><disk><source file='/img/top.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/img/base.qcow2'/></backingStore></disk></devices></domain>";
        assert_eq!(
            run(
                &c,
                Severity::Error,
                &[("base", None, base), ("overlay", None, overlay)]
            ),
            ["base:1:32 error dup (also in overlay:1:111) -> overlay:1:111"]
        );
        // Its own backing chain is not another guest's.
        assert!(run(&c, Severity::Error, &[("overlay", None, overlay)]).is_empty());
    }
}
