//! Generated user rule packs: rules with and without `for-each`, conditions of every kind,
//! `report-at`, message holes, and fixes (and alternatives) made of every edit kind —
//! `ensure`, `set`, `remove`, `replace-text` — aimed at elements, attributes, text nodes,
//! comments, the root element and the document node, with odd values. Each pack is
//! written to a file and loaded as a user's would be: a load error is fine (it is the
//! user's to fix), a panic is not. Packs that load run over generated domains through the
//! whole pipeline (`common/pipeline.rs`): no panic, and accepted fixes parse and are
//! idempotent.
//!
//! The search is repeatable; `PROPTEST_CASES=N` runs a deeper one and `PROPTEST_RNG_SEED=S`
//! another (`common::proptest_config`).

mod common;

use std::fmt::Write as _;

use common::pipeline;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use virt_lint::document::Document;
use virt_lint::engine;
use virt_lint::fix::fix_text;
use virt_lint::rules::{RuleSet, Safety, load_rule_sets};

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

/// Selectors for `for-each`: elements mostly, and things that are not elements. (Not
/// `//*`: a fix planned for every element that edits every element is quadratic and more,
/// too slow for a test; the fuzz target covers it.)
const FOR_EACH: &[&str] = &[
    "devices/*",
    "devices/disk",
    "//timer",
    "clock/timer",
    "features/hyperv/*",
    "features/hyperv",
    "clock",
    ".",
    "*",
    "//comment()",
    "//text()",
    "//@state",
    "..",
    "/",
    "//stimer/direct",
];

/// Selectors for conditions, `report-at` and message holes.
const SELECTORS: &[&str] = &[
    "features/hyperv/stimer[@state='on']",
    "features/hyperv",
    "features/hyperv/*[@state='on']",
    "clock/timer[@name='hpet']",
    "clock/timer[@name='hpet']/@present",
    "clock/@offset",
    "devices/disk/target/@dev",
    "name",
    "name/text()",
    "description",
    "@type",
    "@state",
    "@name",
    "@*",
    ".",
    "..",
    "*",
    "text()",
    "comment()",
    "//comment()",
    "node()",
    "driver",
    "address/@type",
    ".[@type='kvm']",
    "*[position()=last()]",
    "//*[not(*)]",
    "nothing/here",
];

/// Simple element paths for `ensure` (relative to the rule's context).
const ENSURE_PATHS: &[&str] = &[
    "features/hyperv/vpindex",
    "features/hyperv[@mode='custom']/synic",
    "features/hyperv[@mode='custom']/stimer/direct",
    "clock/timer[@name='hypervclock']",
    "clock",
    "devices/watchdog[@model='itco']",
    "driver[@name='qemu']",
    "address",
    "fz",
    "description",
    "metadata/fz-extra",
];

/// Targets of `set` (ending in an attribute).
const SET_TARGETS: &[&str] = &[
    "@fz",
    "@type",
    "@state",
    "@name",
    "clock/@offset",
    "clock/timer[@name='hpet']/@present",
    "features/hyperv/*/@state",
    "//timer/@tickpolicy",
    "driver/@cache",
    "*/@fz",
    "name/@x",
    "comment()/@x",
    "text()/@x",
    "@fz:x",
];

/// Targets of `remove` and `replace-text`: elements, text, the root element and the
/// document node reached through paths the loader cannot judge (`..`, `/domain`), and
/// more than one thing at once. (`node()` may also select comments: only the document can
/// tell, and the planner refuses.)
const EDIT_TARGETS: &[&str] = &[
    "features/hyperv/stimer",
    "features/hyperv/*",
    "clock/timer[@name='hpet']",
    "devices/input",
    "devices/*/address",
    "name",
    "name/text()",
    "description/text()",
    "text()",
    "//text()",
    "/domain",
    "..",
    "*",
    "//*",
    "node()",
    "//hyperv/..",
];

/// Attributes, for `remove` (for `replace-text` they are a load error).
const ATTRIBUTE_TARGETS: &[&str] = &["clock/timer/@present", "@type", "@*", "//@state"];

/// Values for `to:`, `with:`, attributes and `equals:`.
const VALUES: &[&str] = &[
    "on",
    "off",
    "yes",
    "no",
    "",
    " ",
    "0",
    "-1",
    "0x1F",
    "1e3",
    "18446744073709551616",
    "ünïcødé ☃ 𝄞",
    "a & b < c > d",
    "'\"",
    "&amp;",
    "]]>",
    "<hyperv/>",
    "--",
    "tab\there",
    "line\nbreak",
    "cr\rlf",
    "\u{0}",
    "\u{1}",
    "\u{fffe}",
    "\u{feff}",
];

/// Things a rule file may not say (each is a load error, which must not be a panic).
const INVALID: &[&str] = &[
    "count(*)",
    "*",
    ".",
    "//timer",
    "../x",
    "a[",
    "@",
    "$x",
    "a|b",
    "",
    "unknown:prefix",
    "comment()",
    "//comment()",
    "/",
];

/// Mostly `valid`, now and then something `INVALID`.
fn pick(valid: &'static [&'static str]) -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![24 => select(valid), 1 => select(INVALID)]
}

/// `to:`/`with:` templates: selector and expression holes, escaped braces, and broken
/// ones (load errors).
const TEMPLATES: &[&str] = &[
    "{../memory}",
    "{name}",
    "{@type}-{@type}",
    "{count(*)}",
    "{quantity(memory) div 1024}",
    "{{literal}}",
    "{nothing/here}",
    "{",
    "}",
];

/// A value for `to:`/`with:`: mostly plain, sometimes a template.
fn value() -> impl Strategy<Value = &'static str> + Clone {
    prop_oneof![4 => select(VALUES), 1 => select(TEMPLATES)]
}

const ATTRIBUTE_NAMES: &[&str] = &["state", "name", "fz", "mode", "offset", "x-y", "a.b", "_u"];

// ---------------------------------------------------------------------------------------
// The generated pack
// ---------------------------------------------------------------------------------------

/// A YAML double-quoted scalar (JSON string syntax, which YAML accepts).
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Control characters and the non-characters YAML refuses even quoted.
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone)]
enum Cond {
    Present(&'static str),
    Absent(&'static str),
    Equals(&'static str, &'static str),
    In(&'static str, Vec<&'static str>),
    Matches(&'static str, &'static str),
    Compare(&'static str, &'static str, f64),
    Is,
    /// `test:` with an expression.
    Test(&'static str),
    Not(Box<Cond>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
}

impl Cond {
    /// The condition without `is:` (for the definition itself).
    fn without_is(self) -> Cond {
        match self {
            Cond::Is => Cond::Present("name"),
            Cond::Not(inner) => Cond::Not(Box::new(inner.without_is())),
            Cond::All(items) => Cond::All(items.into_iter().map(Cond::without_is).collect()),
            Cond::Any(items) => Cond::Any(items.into_iter().map(Cond::without_is).collect()),
            other => other,
        }
    }

    fn yaml(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            Cond::Present(s) => writeln!(out, "{pad}present: {}", q(s)),
            Cond::Absent(s) => writeln!(out, "{pad}absent: {}", q(s)),
            Cond::Equals(s, v) => writeln!(out, "{pad}value: {}\n{pad}equals: {}", q(s), q(v)),
            Cond::In(s, vs) => {
                let list: Vec<String> = vs.iter().map(|v| q(v)).collect();
                writeln!(out, "{pad}value: {}\n{pad}in: [{}]", q(s), list.join(", "))
            }
            Cond::Matches(s, re) => writeln!(out, "{pad}value: {}\n{pad}matches: {}", q(s), q(re)),
            Cond::Compare(s, op, n) => writeln!(out, "{pad}value: {}\n{pad}{op}: {n}", q(s)),
            Cond::Is => writeln!(out, "{pad}is: gen-defined"),
            Cond::Test(e) => writeln!(out, "{pad}test: {}", q(e)),
            Cond::Not(inner) => {
                let _ = writeln!(out, "{pad}not:");
                inner.yaml(out, indent + 2);
                Ok(())
            }
            Cond::All(items) | Cond::Any(items) => {
                let key = if matches!(self, Cond::All(_)) {
                    "all"
                } else {
                    "any"
                };
                if items.is_empty() {
                    return writeln!(out, "{pad}{key}: []").unwrap();
                }
                let _ = writeln!(out, "{pad}{key}:");
                for item in items {
                    let mut sub = String::new();
                    item.yaml(&mut sub, indent + 4);
                    // The first line of each item carries the list dash.
                    let sub = sub.replacen(&format!("{pad}    "), &format!("{pad}  - "), 1);
                    out.push_str(&sub);
                }
                Ok(())
            }
        }
        .unwrap();
    }
}

fn cond() -> impl Strategy<Value = Cond> {
    let s = || pick(SELECTORS);
    let leaf = prop_oneof![
        4 => s().prop_map(Cond::Present),
        2 => s().prop_map(Cond::Absent),
        2 => (s(), select(VALUES)).prop_map(|(s, v)| Cond::Equals(s, v)),
        1 => (s(), prop::collection::vec(select(VALUES), 0..3)).prop_map(|(s, v)| Cond::In(s, v)),
        1 => (s(), select(&["^on$", ".", "^$", "[", "(?i)ON", "\\d+"][..])).prop_map(|(s, r)| Cond::Matches(s, r)),
        1 => (s(), select(&["greater-than", "at-least", "less-than", "at-most"][..]), select(&[0.0, -1.0, 1e300, 4096.5][..]))
            .prop_map(|(s, op, n)| Cond::Compare(s, op, n)),
        1 => Just(Cond::Is),
        1 => select(&[
            "count(devices/*) > 2",
            "quantity(memory) > quantity(currentMemory)",
            "string-length(name) >= 1",
            "1 div 0 > 0",
            "number(vcpu) * 2 = 4",
            "no-such-function(1)",
        ][..]).prop_map(Cond::Test),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Cond::All),
            prop::collection::vec(inner, 1..3).prop_map(Cond::Any),
        ]
    })
}

/// One edit of a fix; the kind is remembered to check that every kind gets applied.
#[derive(Debug, Clone)]
enum EditKind {
    Ensure {
        path: &'static str,
        attributes: Vec<(&'static str, &'static str)>,
        when_created: Option<(&'static str, &'static str)>,
    },
    Set(&'static str, &'static str),
    Remove(&'static str),
    ReplaceText(&'static str, &'static str),
    /// `set`/`replace-text` with a `map:` of old to new values.
    Mapped(
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    ),
    CopyAttributes(&'static str, &'static str, Vec<&'static str>),
    /// `use: GROUP` (the pack's `gen-group`, a built-in group, or an unknown one).
    Use(&'static str),
}

impl EditKind {
    fn name(&self) -> &'static str {
        match self {
            EditKind::Ensure { .. } => "ensure",
            EditKind::Set(..) => "set",
            EditKind::Remove(_) => "remove",
            EditKind::ReplaceText(..) => "replace-text",
            EditKind::Mapped(kind, ..) => kind,
            EditKind::CopyAttributes(..) => "copy-attributes",
            EditKind::Use(_) => "use",
        }
    }

    fn yaml(&self, out: &mut String, pad: &str) {
        match self {
            EditKind::Ensure {
                path,
                attributes,
                when_created,
            } => {
                let _ = writeln!(out, "{pad}- ensure: {}", q(path));
                if !attributes.is_empty() {
                    let list: Vec<String> = attributes
                        .iter()
                        .map(|(n, v)| format!("{n}: {}", q(v)))
                        .collect();
                    let _ = writeln!(out, "{pad}  attributes: {{{}}}", list.join(", "));
                }
                if let Some((element, attribute)) = when_created {
                    let _ = writeln!(
                        out,
                        "{pad}  when-created: {{{element}: {{{attribute}: \"v\"}}}}"
                    );
                }
            }
            EditKind::Set(target, value) => {
                let _ = writeln!(out, "{pad}- set: {}\n{pad}  to: {}", q(target), q(value));
            }
            EditKind::Remove(target) => {
                let _ = writeln!(out, "{pad}- remove: {}", q(target));
            }
            EditKind::ReplaceText(target, value) => {
                let _ = writeln!(
                    out,
                    "{pad}- replace-text: {}\n{pad}  with: {}",
                    q(target),
                    q(value)
                );
            }
            EditKind::Mapped(kind, target, pairs) => {
                let list: Vec<String> = pairs
                    .iter()
                    .map(|(old, new)| format!("{}: {}", q(old), q(new)))
                    .collect();
                let _ = writeln!(
                    out,
                    "{pad}- {kind}: {}\n{pad}  map: {{{}}}",
                    q(target),
                    list.join(", ")
                );
            }
            EditKind::CopyAttributes(target, from, names) => {
                let names: Vec<String> = names.iter().map(|n| q(n)).collect();
                let _ = writeln!(
                    out,
                    "{pad}- copy-attributes: {}\n{pad}  from: {}\n{pad}  names: [{}]",
                    q(target),
                    q(from),
                    names.join(", ")
                );
            }
            EditKind::Use(group) => {
                let _ = writeln!(out, "{pad}- use: {group}");
            }
        }
    }
}

fn edit() -> impl Strategy<Value = EditKind> {
    let attributes = prop::collection::vec((select(ATTRIBUTE_NAMES), select(VALUES)), 0..3);
    // `when-created` names a step of the path (any other name is a load error, and
    // is generated now and then as such).
    let when_created = proptest::option::of((
        prop_oneof![15 => any::<prop::sample::Index>().prop_map(Some), 1 => Just(None)],
        select(ATTRIBUTE_NAMES),
    ));
    prop_oneof![
        (pick(ENSURE_PATHS), attributes, when_created).prop_map(
            |(path, mut attributes, when_created)| {
                let mut seen = Vec::new();
                attributes.retain(|(name, _)| {
                    let first = !seen.contains(name);
                    seen.push(*name);
                    first
                });
                let steps: Vec<&'static str> = path
                    .split('/')
                    .map(|step| step.split('[').next().unwrap_or(step))
                    .filter(|step| !step.is_empty())
                    .collect();
                let when_created = when_created.map(|(index, attribute)| {
                    let element = match index {
                        Some(i) if !steps.is_empty() => steps[i.index(steps.len())],
                        _ => "nowhere",
                    };
                    (element, attribute)
                });
                EditKind::Ensure {
                    path,
                    attributes,
                    when_created,
                }
            }
        ),
        (pick(SET_TARGETS), value()).prop_map(|(t, v)| EditKind::Set(t, v)),
        prop_oneof![3 => pick(EDIT_TARGETS), 1 => select(ATTRIBUTE_TARGETS)]
            .prop_map(EditKind::Remove),
        (pick(EDIT_TARGETS), value()).prop_map(|(t, v)| EditKind::ReplaceText(t, v)),
        (
            prop_oneof![
                (Just("set"), pick(SET_TARGETS)),
                (Just("replace-text"), pick(EDIT_TARGETS))
            ],
            prop::collection::vec((select(VALUES), select(VALUES)), 0..3)
        )
            .prop_map(|((kind, t), mut pairs)| {
                pairs.sort();
                pairs.dedup_by_key(|p| p.0);
                EditKind::Mapped(kind, t, pairs)
            }),
        (
            pick(&[
                "name",
                "devices/input",
                "clock/timer[@name='hpet']",
                "features/hyperv/*",
                "/domain",
                "*"
            ]),
            pick(SELECTORS),
            prop::collection::vec(select(ATTRIBUTE_NAMES), 0..3)
        )
            .prop_map(|(t, from, names)| EditKind::CopyAttributes(t, from, names)),
        select(
            &[
                "gen-group",
                "gen-group",
                "hv-stimer",
                "hypervclock",
                "no-such-group"
            ][..]
        )
        .prop_map(EditKind::Use),
    ]
}

#[derive(Debug, Clone)]
struct Fix {
    safe: bool,
    edits: Vec<EditKind>,
}

fn fix() -> impl Strategy<Value = Fix> {
    (any::<bool>(), prop::collection::vec(edit(), 1..4))
        .prop_map(|(safe, edits)| Fix { safe, edits })
}

impl Fix {
    fn yaml(&self, out: &mut String, pad: &str) {
        let safety = if self.safe { "safe" } else { "unsafe" };
        let _ = writeln!(
            out,
            "{pad}safety: {safety}\n{pad}title: generated\n{pad}edits:"
        );
        for e in &self.edits {
            e.yaml(out, &format!("{pad}  "));
        }
    }
}

#[derive(Debug, Clone)]
struct GenRule {
    for_each: Option<&'static str>,
    when: Cond,
    report_at: Option<&'static str>,
    holes: Vec<&'static str>,
    fix: Option<Fix>,
    alternatives: Vec<Fix>,
}

fn rule() -> impl Strategy<Value = GenRule> {
    (
        proptest::option::weighted(0.4, pick(FOR_EACH)),
        cond(),
        proptest::option::weighted(0.4, pick(SELECTORS)),
        prop::collection::vec(pick(SELECTORS), 0..3),
        proptest::option::weighted(0.9, fix()),
        prop::collection::vec(fix(), 0..2),
    )
        .prop_map(
            |(for_each, when, report_at, holes, fix, alternatives)| GenRule {
                for_each,
                when,
                report_at,
                holes,
                fix,
                alternatives,
            },
        )
}

/// A rule whose fix removes its own finding (as a real rule's does): `absent` + `ensure`,
/// `present` + `remove`, a value test + `set` or `replace-text`.
fn coherent_rule() -> impl Strategy<Value = GenRule> {
    let value = select(
        &[
            "on",
            "",
            "0x1F",
            "-1",
            "ünïcødé ☃",
            "a & b < c > d",
            "'\"",
            "]]>",
        ][..],
    );
    prop_oneof![
        select(ENSURE_PATHS).prop_map(|path| (
            Cond::Absent(path),
            EditKind::Ensure {
                path,
                attributes: vec![],
                when_created: None
            }
        )),
        select(EDIT_TARGETS).prop_map(|target| (Cond::Present(target), EditKind::Remove(target))),
        (
            select(
                &[
                    "@fz",
                    "clock/@offset",
                    "devices/disk/@fz",
                    "clock/timer/@present"
                ][..]
            ),
            value.clone()
        )
            .prop_map(|(target, v)| (
                Cond::Not(Box::new(Cond::Equals(target, v))),
                EditKind::Set(target, v)
            )),
        (
            select(&["name", "description", "devices/disk/target"][..]),
            value
        )
            .prop_map(|(target, v)| (
                Cond::Not(Box::new(Cond::Equals(target, v))),
                EditKind::ReplaceText(target, v)
            )),
    ]
    .boxed()
    .prop_union(
        Just((
            Cond::Present("devices/input[@type!='pci']"),
            EditKind::CopyAttributes("devices/input", "../disk/address", vec!["type"]),
        ))
        .boxed(),
    )
    .prop_map(|(when, edit)| GenRule {
        for_each: None,
        when,
        report_at: None,
        holes: vec![],
        fix: Some(Fix {
            safe: false,
            edits: vec![edit],
        }),
        alternatives: vec![],
    })
}

/// A rule pack, and the edit kinds of each rule's fix (by rule id).
#[derive(Clone)]
struct Pack {
    yaml: String,
    kinds: Vec<(String, Vec<&'static str>)>,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--- pack\n{}---", self.yaml)
    }
}

fn pack() -> impl Strategy<Value = Pack> {
    let any_rule = prop_oneof![rule(), coherent_rule()];
    // The group's own edits (a `use: gen-group` in them is a cycle: a load error).
    let group = prop::collection::vec(edit(), 1..3);
    (cond(), group, prop::collection::vec(any_rule, 1..5)).prop_map(|(definition, group, rules)| {
        let mut yaml = String::from("namespaces:\n  fz: https://virt-lint.example/fuzz\ndefinitions:\n  gen-defined:\n");
        definition.without_is().yaml(&mut yaml, 4);
        yaml.push_str("edit-groups:\n  gen-group:\n");
        for e in &group {
            e.yaml(&mut yaml, "    ");
        }
        yaml.push_str("rules:\n");
        let mut kinds = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let id = format!("gen/rule-{i}");
            let _ = writeln!(yaml, "  - id: {id}\n    severity: warning\n    summary: generated\n    explanation: generated");
            if let Some(f) = r.for_each {
                let _ = writeln!(yaml, "    for-each: {}", q(f));
            }
            yaml.push_str("    when:\n");
            r.when.yaml(&mut yaml, 6);
            if let Some(at) = r.report_at {
                let _ = writeln!(yaml, "    report-at: {}", q(at));
            }
            let mut message = String::from("generated");
            for hole in &r.holes {
                let _ = write!(message, " {{{hole}}}");
            }
            let _ = writeln!(yaml, "    message: {}", q(&message));
            if let Some(f) = &r.fix {
                yaml.push_str("    fix:\n");
                f.yaml(&mut yaml, "      ");
                kinds.push((id.clone(), f.edits.iter().map(EditKind::name).collect()));
            }
            if !r.alternatives.is_empty() {
                yaml.push_str("    alternatives:\n");
                for a in &r.alternatives {
                    let mut sub = String::new();
                    a.yaml(&mut sub, "        ");
                    yaml.push_str(&sub.replacen("        ", "      - ", 1));
                }
            }
        }
        Pack { yaml, kinds }
    })
}

/// Load `pack` the way a user's file is loaded (built-in rules included).
fn load(pack: &Pack) -> Result<RuleSet, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pack.yaml");
    std::fs::write(&path, &pack.yaml).unwrap();
    load_rule_sets(&[path]).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// Domains to run the packs over: generated ones and a fixture with comments, text and
/// devices (so that every kind of target exists somewhere).
fn domains() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(common::domains::case().prop_map(|c| c.text).boxed(), 1)
}

use pipeline::RICH_DOMAIN as RICH;

proptest! {
    #![proptest_config(common::proptest_config(48))]

    /// Loading a generated pack never panics; a pack that loads runs over domains
    /// through the whole pipeline without panicking or breaking its invariants.
    #[test]
    fn generated_packs_load_and_run(pack in pack(), domains in domains()) {
        let Ok(rules) = load(&pack) else { return Ok(()) };
        pipeline::check_text(RICH, &rules);
        for text in &domains {
            pipeline::check_text(text, &rules);
        }
    }
}

/// The generator reaches the fixer: at least 40 % of the packs load, some fix a domain as a
/// whole, and each edit kind is planned (into edits that keep the XML well-formed) often.
#[test]
fn generated_packs_reach_the_fixer() {
    let mut runner = TestRunner::deterministic();
    let strategy = pack();
    let n = 60;
    let mut loaded = 0;
    let mut errors: Vec<String> = Vec::new();
    let mut planned_kinds: Vec<&str> = Vec::new();
    let mut fixed_packs = 0;
    for _ in 0..n {
        let pack = strategy.new_tree(&mut runner).unwrap().current();
        let rules = match load(&pack) {
            Ok(rules) => rules,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        loaded += 1;
        // Each finding of a generated rule whose fix was planned: applying its edits
        // alone gives well-formed XML, or the fixer would refuse it.
        let doc = Document::parse(RICH).unwrap();
        let found = engine::lint(&doc, &rules);
        for finding in virt_lint::fix::plan_findings(&doc, &rules, found) {
            let Some(Ok(edits)) = finding.fix.as_ref().map(|f| &f.edits) else {
                continue;
            };
            if let Some((_, kinds)) = pack.kinds.iter().find(|(i, _)| *i == finding.rule_id)
                && virt_lint::fix::edit::apply(RICH, edits)
                    .is_ok_and(|t| Document::parse(&t).is_ok())
            {
                planned_kinds.extend(kinds.iter().copied());
            }
        }
        if let Ok(fixed) = fix_text(RICH, &rules, Safety::Unsafe)
            && fixed.applied.iter().any(|id| id.starts_with("gen/"))
        {
            fixed_packs += 1;
        }
    }
    eprintln!(
        "{loaded} of {n} packs loaded, {fixed_packs} fixed the rich domain; planned edit kinds: {planned_kinds:?}"
    );
    assert!(
        loaded * 5 >= n * 2,
        "only {loaded} of {n} packs loaded; first errors:\n{}",
        errors
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fixed_packs * 10 >= loaded,
        "only {fixed_packs} of {loaded} packs fixed a domain"
    );
    for kind in [
        "ensure",
        "set",
        "remove",
        "replace-text",
        "copy-attributes",
        "use",
    ] {
        let count = planned_kinds.iter().filter(|k| **k == kind).count();
        assert!(
            count >= 3,
            "a generated `{kind}` edit was planned only {count} times"
        );
    }
}
