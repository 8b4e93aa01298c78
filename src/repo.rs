//! Repository rules (`scope: repo`): checks across every document of a run, files and live
//! domains alike — two definitions with the same UUID, name or MAC address, a writable
//! disk image used by two guests, one guest writing another's backing file, two guests on
//! the same fixed graphics port.
//!
//! A repository rule is declarative ([`RepoCheck`]), in the vocabulary of the within-file
//! `unique` condition: the items of each document (`for-each`), a key per item (one
//! selector or several parts, each with its normalisation `as:` and `default:`), the
//! related location's `label`; and what only a comparison across documents needs: an
//! optional grouping (`group-by`: MACs only collide on the same network), an optional
//! condition one of the colliding items must meet (`if-any`: a shared disk is only a
//! problem when someone writes it), and whether only definitions of one host can collide
//! (`per-host`). With `against`, the keys are looked up among other items instead (a
//! writable disk that is another guest's backing file).
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

use crate::condition::{Definitions, KeyPart, item_key};
use crate::document::{Document, Position, start_tag_range};
use crate::engine::{Finding, Related};
use crate::fix::PlannedFinding;
use crate::rules::{Message, RuleSet, Severity};
use crate::selector::{Item, Selector};

pub use crate::rules::repo::{Against, RepoCheck};

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
    /// An inline suppression comment silences the rule here: the item still clashes with
    /// others, but reports nothing itself.
    pub suppressed: bool,
}

/// The keys one document holds for one repository rule.
#[derive(Debug, Clone, Default)]
pub struct RuleFacts {
    /// Index of the rule in the document's rule set.
    pub rule: usize,
    pub rule_id: Box<str>,
    pub entries: Vec<Entry>,
    /// Keys of the `against` items.
    pub against: Vec<Entry>,
}

/// What [`extract`] keeps of a document: the keys of every repository rule.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub rules: Vec<RuleFacts>,
}

impl Facts {
    /// A stand-in finding per item, for inline suppressions to silence (`context` is the
    /// document's root): see [`Facts::take_probes`].
    pub fn probes(&self, context: roxmltree::NodeId) -> Vec<Finding> {
        self.rules
            .iter()
            .flat_map(|rf| {
                rf.entries.iter().map(move |e| Finding {
                    rule: rf.rule,
                    rule_id: rf.rule_id.to_string(),
                    severity: Severity::Info,
                    message: String::new(),
                    range: e.range.clone(),
                    position: e.position,
                    context,
                    related: Vec::new(),
                })
            })
            .collect()
    }

    /// Take the stand-ins of [`Facts::probes`] back out of `findings` (after suppression):
    /// the items whose stand-in is gone are marked suppressed. The other findings return.
    pub fn take_probes(&mut self, findings: Vec<Finding>) -> Vec<Finding> {
        if self.rules.is_empty() {
            return findings;
        }
        let mut kept = std::collections::HashSet::new();
        let mut rest = Vec::with_capacity(findings.len());
        for f in findings {
            match self.rules.iter().position(|rf| *rf.rule_id == f.rule_id) {
                Some(slot) => {
                    kept.insert((slot, f.range.start));
                }
                None => rest.push(f),
            }
        }
        for (slot, rf) in self.rules.iter_mut().enumerate() {
            for e in &mut rf.entries {
                e.suppressed = !kept.contains(&(slot, e.range.start));
            }
        }
        rest
    }
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

/// The key of `item` (its parts normalised, joined), and the range to report: that of the
/// first part found, else the item's. `None` when the item has no key, or only empty parts.
fn key_of(item: Item<'_, '_>, parts: &[KeyPart]) -> Option<(String, Range<usize>)> {
    let key = item_key(parts, item)?;
    if key.iter().all(String::is_empty) {
        return None;
    }
    let range = match item {
        Item::Node(n) => parts
            .iter()
            .find_map(|p| p.selector.select(n).into_iter().next())
            .map_or_else(|| item_range(&item), |found| item_range(&found)),
        Item::Attribute { .. } => item_range(&item),
    };
    Some((key.join("\u{1f}"), range))
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

/// Read the keys of every repository rule from one parsed domain.
pub fn extract(doc: &Document<'_>, rules: &[RepoRule<'_>], definitions: &Definitions) -> Facts {
    let root = doc.root();
    let facts = rules
        .iter()
        .map(|rule| {
            let check = rule.check;
            let entries = check
                .unique
                .for_each
                .select(root)
                .into_iter()
                .filter_map(|item| {
                    let (key, range) = key_of(item, &check.unique.key)?;
                    let element = item.element();
                    Some(Entry {
                        key: key.into(),
                        group: group_of(element, &check.group_by).into(),
                        flag: check
                            .if_any
                            .as_ref()
                            .is_none_or(|c| c.eval(element, definitions)),
                        position: doc.position(range.start),
                        range,
                        message: rule.message.render(element),
                        suppressed: false,
                    })
                })
                .collect();
            let against = check.against.as_ref().map_or_else(Vec::new, |against| {
                against
                    .for_each
                    .select(root)
                    .into_iter()
                    .filter_map(|item| {
                        let (key, range) = key_of(item, &against.key)?;
                        Some(Entry {
                            key: key.into(),
                            group: "".into(),
                            flag: true,
                            position: doc.position(range.start),
                            range,
                            message: String::new(),
                            suppressed: false,
                        })
                    })
                    .collect()
            });
            RuleFacts {
                rule: rule.index,
                rule_id: rule.id.into(),
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
        // By id (each document may have its own rule set, its config file's), once per
        // document.
        let per_doc: Vec<Option<&RuleFacts>> = docs
            .iter()
            .map(|doc| {
                doc.facts
                    .rules
                    .get(slot)
                    .filter(|f| *f.rule_id == *rule.id)
                    .or_else(|| doc.facts.rules.iter().find(|f| *f.rule_id == *rule.id))
            })
            .collect();
        let facts_of = |d: usize| per_doc[d];
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
    // Per key: its occurrences, and whether any item meets `if-any`; with `group-by`, the
    // same per key and group. Flat maps: no map per key.
    #[derive(Default, Clone, Copy)]
    struct Bucket {
        all: Option<FirstTwo>,
        flag: bool,
    }
    impl Bucket {
        fn add(&mut self, at: At, flag: bool) {
            match &mut self.all {
                Some(first) => first.add(at),
                None => self.all = Some(FirstTwo::new(at)),
            }
            self.flag |= flag;
        }
    }
    let grouped = !rule.check.group_by.is_empty();
    let total: usize = (0..docs.len())
        .filter_map(facts_of)
        .map(|f| f.entries.len())
        .sum();
    let mut buckets: HashMap<(Option<&'a str>, &'a str), Bucket> = HashMap::with_capacity(total);
    let mut groups: HashMap<(Option<&'a str>, &'a str, &'a str), Bucket> =
        HashMap::with_capacity(if grouped { total } else { 0 });
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for (e, entry) in facts.entries.iter().enumerate() {
            buckets
                .entry((host(d), &entry.key))
                .or_default()
                .add((d, e), entry.flag);
            if grouped {
                groups
                    .entry((host(d), &entry.key, &entry.group))
                    .or_default()
                    .add((d, e), entry.flag);
            }
        }
    }
    for d in 0..docs.len() {
        let Some(facts) = facts_of(d) else { continue };
        for entry in facts.entries.iter().filter(|e| !e.suppressed) {
            let bucket = &buckets[&(host(d), &*entry.key)];
            let Some(all) = bucket.all.filter(|a| a.documents > 1) else {
                continue;
            };
            // Without `group-by`, the key's occurrences are one group.
            let group = match grouped {
                true => groups[&(host(d), &*entry.key, &*entry.group)],
                false => *bucket,
            };
            let same_group = group.all.filter(|g| g.documents > 1 && group.flag);
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
            // The index only holds entries of documents with facts.
            let Some(related) = facts_of(od).and_then(|f| f.entries.get(oe)) else {
                continue;
            };
            findings.push(finding(
                docs, d, facts.rule, rule, entry, severity, od, related, count,
            ));
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
        for entry in facts.entries.iter().filter(|e| !e.suppressed) {
            let Some(found) = index.get(&(host(d), &*entry.key)) else {
                continue;
            };
            let Some((od, oe)) = found.other_than(d) else {
                continue;
            };
            let own = facts.against.iter().any(|a| a.key == entry.key);
            let count = found.documents - usize::from(own);
            // The index only holds entries of documents with facts.
            let Some(related) = facts_of(od).and_then(|f| f.against.get(oe)) else {
                continue;
            };
            findings.push(finding(
                docs,
                d,
                facts.rule,
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
    rule_index: usize,
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
        rule: rule_index,
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
            label: rule.check.unique.label.clone(),
        },
        others,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::{Condition, Unique};
    use crate::rules::MessagePart;
    use crate::selector::{Namespaces, Normalize};

    fn sel(s: &str) -> Selector {
        Selector::parse(s, &Namespaces::builtin()).unwrap()
    }

    fn parts(key: &[&str], normalize: Normalize) -> Vec<KeyPart> {
        key.iter()
            .map(|k| KeyPart {
                selector: sel(k),
                normalize,
                default: Some(String::new()),
            })
            .collect()
    }

    fn check(for_each: &str, key: &[&str], normalize: Normalize) -> RepoCheck {
        RepoCheck {
            unique: Unique {
                for_each: sel(for_each),
                key: parts(key, normalize),
                label: "also here".into(),
                except: None,
                split: std::sync::OnceLock::new(),
            },
            group_by: Vec::new(),
            across_groups: None,
            if_any: None,
            per_host: false,
            against: None,
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
    fn path_normalisation() {
        let key = |t: &str| Normalize::Path.text(t).unwrap().canonical();
        assert_eq!(key("/var//lib/./x.qcow2/"), "/var/lib/x.qcow2");
        assert_eq!(key("./a//b"), "a/b");
        assert_eq!(key("/a/../b"), "/a/../b");
        assert_eq!(key(""), "");
        assert_eq!(Normalize::from_name("path"), Some(Normalize::Path));
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
            key: parts(&["@file"], Normalize::Path),
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
