//! Mutation property tests: well-formed domains (the fixer's property-test generator and
//! our fixtures) are mutated structurally — elements dropped, duplicated, swapped, moved,
//! renamed; attributes dropped, copied, renamed, given odd values (empty, huge, hex,
//! negative, unicode, character references); text and comments changed; known libvirt
//! snippets inserted — and every mutation keeps the text well-formed, so the cases reach
//! the linter and the fixer instead of stopping in the XML parser (`reach` below checks
//! that they do).
//!
//! Each case runs through `common::pipeline::check_text` with the built-in rules and with
//! the every-edit pack: no panic, findings and planned edits inside the text, accepted
//! fixes parse and are idempotent. With the built-in rules, the bytes outside the edits
//! are kept: a fix only inserts, and rewrites start tags or whitespace.
//!
//! The search is repeatable; `PROPTEST_CASES=N` runs a deeper one and `PROPTEST_RNG_SEED=S`
//! another (`common::proptest_config`).

mod common;

use std::sync::OnceLock;

use common::pipeline::{self, Reach};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use virt_lint::document::{Document, start_tag_range};
use virt_lint::fix::fix_text;
use virt_lint::rules::{EditSpec, RuleSet, Safety};
use virt_lint::selector::Targets;

fn rule_sets() -> &'static [RuleSet; 2] {
    static SETS: OnceLock<[RuleSet; 2]> = OnceLock::new();
    SETS.get_or_init(|| pipeline::rule_sets(&common::root()))
}

fn builtin() -> &'static RuleSet {
    &rule_sets()[0]
}

/// The built-in rules whose fixes only insert or rewrite start tags: every rule but
/// those that remove elements or replace text (H15 removes `<hyperv mode='passthrough'>`'s
/// children, for one). Whole-element removals keep the bytes outside their edits too,
/// which `common/pipeline.rs` checks for every rule; a character diff cannot tell them
/// from damage, so this property leaves them out.
fn builtin_rewriting_start_tags() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = builtin().clone();
        set.select(|rule, on| {
            on && !rule.fix.iter().chain(&rule.alternatives).any(|fix| {
                fix.edits.iter().any(|edit| match edit {
                    EditSpec::Remove(selector) => selector.targets() != Targets::Attributes,
                    EditSpec::ReplaceText { .. } => true,
                    _ => false,
                })
            })
        });
        assert!(set.enabled().count() > 100, "most rules keep");
        set
    })
}

// ---------------------------------------------------------------------------------------
// Base documents
// ---------------------------------------------------------------------------------------

/// Our own well-formed domain fixtures.
const FIXTURES: &[&str] = &[
    "win10-hpet-off.xml",
    "win10-healthy.xml",
    "linux-clean.xml",
    "fix/comments.xml",
    "fix/crlf.xml",
    "fix/evmcs-without-vapic.xml",
    "fix/no-clock.xml",
    "fix/no-features.xml",
    "fix/self-closing-hyperv.xml",
    "fix/stimer-direct-without-stimer.xml",
    "fix/tabs-double-quotes.xml",
    "fix/vpindex-off.xml",
];

fn fixture(name: &str) -> String {
    std::fs::read_to_string(common::root().join("fixtures").join(name)).unwrap()
}

/// A generated domain (as the fixer's properties use) or one of the fixtures.
fn base() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => common::domains::case().prop_map(|c| c.text).boxed(),
        1 => select(FIXTURES).prop_map(fixture).boxed(),
    ]
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

/// Element names used to rename elements and to build snippets: libvirt's, ours (the
/// every-edit pack's), and one that is nobody's.
const ELEMENT_NAMES: &[&str] = &[
    "domain",
    "features",
    "hyperv",
    "stimer",
    "direct",
    "synic",
    "vpindex",
    "vapic",
    "evmcs",
    "ipi",
    "tlbflush",
    "relaxed",
    "clock",
    "timer",
    "devices",
    "disk",
    "driver",
    "target",
    "input",
    "address",
    "name",
    "description",
    "metadata",
    "os",
    "type",
    "watchdog",
    "fz-marker",
    "x-unknown",
];

const ATTRIBUTE_NAMES: &[&str] = &[
    "state",
    "present",
    "name",
    "mode",
    "offset",
    "type",
    "dev",
    "model",
    "cache",
    "arch",
    "fz",
    "fz-checked",
    "id",
    "action",
];

/// Attribute values as written in the file (already escaped): plain, odd numbers, case
/// and spacing variants of on/off, unicode, character and entity references (`&#x6F;n`
/// is `on`), markup characters.
const VALUES: &[&str] = &[
    "on",
    "off",
    "yes",
    "no",
    "custom",
    "passthrough",
    "hpet",
    "hypervclock",
    "utc",
    "kvm",
    "",
    " ",
    "0",
    "-1",
    "8191",
    "0x1FFF",
    "1e3",
    "+5",
    "NaN",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "ON",
    " on ",
    "On",
    "ünïcødé ☃ 𝄞",
    "\u{200b}on",
    "&#x6F;n",
    "&#111;ff",
    "&amp;",
    "&lt;b&gt;",
    "a&#9;b&#10;c&#13;",
    "&quot;&apos;",
    "]]>",
    "http://microsoft.com/win/10",
];

/// Text contents, as written in the file.
const TEXTS: &[&str] = &[
    "",
    " ",
    "\n    ",
    "hvm",
    "guest",
    "4194304",
    "-1",
    "0x10",
    "18446744073709551616",
    "ünïcødé ☃",
    "&amp;&lt;&gt;",
    "&#x10FFFF;",
    "<![CDATA[<hyperv/> & ]]>",
    "a\r\nb",
    "x<!-- inline -->y",
];

/// Well-formed fragments to insert, most of them things the rules look at.
const SNIPPETS: &[&str] = &[
    "<hyperv mode='custom'><stimer state='on'/></hyperv>",
    "<hyperv mode='passthrough'/>",
    "<hyperv/>",
    "<stimer state='on'><direct state='on'/></stimer>",
    "<stimer><direct state='on'/></stimer>",
    "<synic state='on'/>",
    "<vpindex state='off'/>",
    "<evmcs state='on'/>",
    "<ipi state='on'/>",
    "<tlbflush state='on'/>",
    "<timer name='hpet' present='no'/>",
    "<timer name='hypervclock' present='yes'/>",
    "<timer name='hypervclock'/>",
    "<features/>",
    "<features><hyperv><stimer state='on'/></hyperv></features>",
    "<clock offset='utc'/>",
    "<clock offset='utc'><timer name='hpet' present='no'/></clock>",
    "<devices><disk type='file' device='disk'><target dev='vda'/></disk></devices>",
    "<disk type='file' device='disk'><address type='pci'/><target dev='vdb'/></disk>",
    "<input type='tablet' bus='usb'><address type='usb' bus='0'/></input>",
    "<description>about &amp; more</description>",
    "<name>other</name>",
    "<metadata><fz:root xmlns:fz='https://virt-lint.example/fuzz'/></metadata>",
    "<metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'><libosinfo:os id='http://microsoft.com/win/10'/></libosinfo:libosinfo></metadata>",
    "<os><type arch='aarch64'>hvm</type></os>",
    "<x:hyperv xmlns:x='urn:other'><x:stimer state='on'/></x:hyperv>",
    "<hyperv xmlns='urn:default'/>",
    "<!-- a comment -->",
    "<!--</hyperv>-->",
    "<?pi data?>",
    "<![CDATA[ <stimer state='on'/> ]]>",
    "\n  ",
];

/// One structural change; the indexes pick nodes of the current document.
#[derive(Debug, Clone)]
enum Mutation {
    DropElement(Index),
    DuplicateElement(Index),
    SwapElements(Index, Index),
    /// Move an element to the end of another element (not into itself).
    MoveElement(Index, Index),
    RenameElement(Index, &'static str),
    /// Insert a snippet as the first or last child of an element.
    Insert(Index, &'static str, bool),
    DropAttribute(Index),
    /// Copy an attribute onto another element (when it has none of that name).
    CopyAttribute(Index, Index),
    RenameAttribute(Index, &'static str),
    SetValue(Index, &'static str),
    /// Add an attribute to an element (when it has none of that name).
    AddAttribute(Index, &'static str, &'static str),
    /// Replace a text node, or fill an empty element.
    SetText(Index, &'static str),
    SetComment(Index, &'static str),
    /// Swap the quote characters of an attribute.
    Requote(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = any::<Index>;
    prop_oneof![
        2 => i().prop_map(Mutation::DropElement),
        2 => i().prop_map(Mutation::DuplicateElement),
        1 => (i(), i()).prop_map(|(a, b)| Mutation::SwapElements(a, b)),
        1 => (i(), i()).prop_map(|(a, b)| Mutation::MoveElement(a, b)),
        2 => (i(), select(ELEMENT_NAMES)).prop_map(|(a, n)| Mutation::RenameElement(a, n)),
        4 => (i(), select(SNIPPETS), any::<bool>()).prop_map(|(a, s, l)| Mutation::Insert(a, s, l)),
        2 => i().prop_map(Mutation::DropAttribute),
        1 => (i(), i()).prop_map(|(a, b)| Mutation::CopyAttribute(a, b)),
        2 => (i(), select(ATTRIBUTE_NAMES)).prop_map(|(a, n)| Mutation::RenameAttribute(a, n)),
        4 => (i(), select(VALUES)).prop_map(|(a, v)| Mutation::SetValue(a, v)),
        2 => (i(), select(ATTRIBUTE_NAMES), select(VALUES)).prop_map(|(a, n, v)| Mutation::AddAttribute(a, n, v)),
        2 => (i(), select(TEXTS)).prop_map(|(a, t)| Mutation::SetText(a, t)),
        1 => (i(), select(&["", " c ", "</clock>", "-", " <hyperv/> "][..])).prop_map(|(a, t)| Mutation::SetComment(a, t)),
        1 => i().prop_map(Mutation::Requote),
    ]
}

/// A splice of the current text.
fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

/// End of an element's name in its start tag.
fn name_end(text: &str, start: usize) -> usize {
    start
        + 1
        + text[start + 1..]
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .unwrap_or(0)
}

/// Apply `m` to `text`; `None` when it does not apply (no such node, or it would not be
/// well-formed, e.g. removing the root).
fn apply(text: &str, m: &Mutation) -> Option<String> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let elements: Vec<roxmltree::Node> = doc.descendants().filter(|n| n.is_element()).collect();
    // Elements other than the root.
    let inner: Vec<roxmltree::Node> = elements[1..].to_vec();
    let attributes: Vec<(roxmltree::Node, roxmltree::Attribute)> = elements
        .iter()
        .flat_map(|e| e.attributes().map(move |a| (*e, a)))
        .collect();
    let pick = |list_len: usize, i: &Index| (list_len > 0).then(|| i.index(list_len));
    let out = match m {
        Mutation::DropElement(i) => {
            let e = inner[pick(inner.len(), i)?];
            splice(text, e.range(), "")
        }
        Mutation::DuplicateElement(i) => {
            let e = inner[pick(inner.len(), i)?];
            splice(text, e.range().end..e.range().end, &text[e.range()])
        }
        Mutation::SwapElements(a, b) => {
            let x = inner[pick(inner.len(), a)?];
            let y = inner[pick(inner.len(), b)?];
            let (x, y) = if x.range().start < y.range().start {
                (x, y)
            } else {
                (y, x)
            };
            if x.range().end > y.range().start {
                return None; // nested or the same
            }
            format!(
                "{}{}{}{}{}",
                &text[..x.range().start],
                &text[y.range()],
                &text[x.range().end..y.range().start],
                &text[x.range()],
                &text[y.range().end..]
            )
        }
        Mutation::MoveElement(a, b) => {
            let x = inner[pick(inner.len(), a)?];
            let to = elements[pick(elements.len(), b)?];
            if to.ancestors().any(|n| n == x) {
                return None;
            }
            let moved = text[x.range()].to_string();
            let removed = splice(text, x.range(), "");
            // Re-locate the target in the text without the moved element.
            let to_start = if to.range().start > x.range().start {
                to.range().start - x.range().len()
            } else {
                to.range().start
            };
            return insert_into(&removed, to_start, &moved, true);
        }
        Mutation::RenameElement(i, name) => {
            let e = elements[pick(elements.len(), i)?];
            let r = e.range();
            let tag = start_tag_range(e);
            let start_name = r.start + 1..name_end(text, r.start);
            if text[tag.clone()].ends_with("/>") {
                splice(text, start_name, name)
            } else {
                let close = r.start + text[r.clone()].rfind("</")?;
                let end_name = close + 2..r.end - 1;
                let renamed = splice(text, end_name, name);
                splice(&renamed, start_name, name)
            }
        }
        Mutation::Insert(i, snippet, last) => {
            let e = elements[pick(elements.len(), i)?];
            return insert_into(text, e.range().start, snippet, *last);
        }
        Mutation::DropAttribute(i) => {
            let (_, a) = attributes[pick(attributes.len(), i)?];
            let r = a.range();
            // With the whitespace before it.
            let start = text[..r.start].trim_end().len();
            splice(text, start..r.end, "")
        }
        Mutation::CopyAttribute(a, b) => {
            let (_, attr) = attributes[pick(attributes.len(), a)?];
            let to = elements[pick(elements.len(), b)?];
            let written = text[attr.range()].to_string();
            if written.contains(':') {
                return None; // a prefix may not be declared there
            }
            if to.attributes().any(|x| x.name() == attr.name()) {
                return None;
            }
            let at = name_end(text, to.range().start);
            splice(text, at..at, &format!(" {written}"))
        }
        Mutation::RenameAttribute(i, name) => {
            let (e, a) = attributes[pick(attributes.len(), i)?];
            if e.attributes().any(|x| x.name() == *name) {
                return None;
            }
            let r = a.range();
            let eq = r.start + text[r.clone()].find('=')?;
            let name_len = text[r.start..eq].trim_end().len();
            splice(text, r.start..r.start + name_len, name)
        }
        Mutation::SetValue(i, value) => {
            let (_, a) = attributes[pick(attributes.len(), i)?];
            splice(text, a.range_value(), &quote_safe(text, &a, value))
        }
        Mutation::AddAttribute(i, name, value) => {
            let e = elements[pick(elements.len(), i)?];
            if e.attributes().any(|x| x.name() == *name) {
                return None;
            }
            let at = name_end(text, e.range().start);
            let value = value.replace('\'', "&apos;");
            splice(text, at..at, &format!(" {name}='{value}'"))
        }
        Mutation::SetText(i, new) => {
            let texts: Vec<roxmltree::Node> = doc
                .descendants()
                .filter(|n| n.is_text() && n.parent().is_some_and(|p| p.is_element()))
                .collect();
            // Half the time a text node; else an element gets the text as its content.
            if i.index(2) == 0 && !texts.is_empty() {
                let t = texts[i.index(texts.len())];
                splice(text, t.range(), new)
            } else {
                let e = inner[pick(inner.len(), i)?];
                if e.has_children() {
                    return None;
                }
                let r = e.range();
                let close = format!("</{}>", &text[r.start + 1..name_end(text, r.start)]);
                let tag = start_tag_range(e);
                let open = text[tag.clone()].strip_suffix("/>")?.trim_end();
                splice(text, tag, &format!("{open}>{new}{close}"))
            }
        }
        Mutation::SetComment(i, new) => {
            let comments: Vec<roxmltree::Node> =
                doc.descendants().filter(|n| n.is_comment()).collect();
            let c = comments[pick(comments.len(), i)?];
            splice(text, c.range(), &format!("<!--{new}-->"))
        }
        Mutation::Requote(i) => {
            let (_, a) = attributes[pick(attributes.len(), i)?];
            let r = a.range_value();
            let (open, close) = (r.start - 1, r.end);
            let quote = &text[open..open + 1];
            let other = if quote == "'" { "\"" } else { "'" };
            if text[r.clone()].contains(other) {
                return None;
            }
            let requoted = splice(text, close..close + 1, other);
            splice(&requoted, open..open + 1, other)
        }
    };
    Some(out)
}

/// `value` (written form) made safe for the quote the attribute uses.
fn quote_safe(text: &str, a: &roxmltree::Attribute, value: &str) -> String {
    let quote = &text[a.range_value().start - 1..a.range_value().start];
    if quote == "'" {
        value.replace('\'', "&apos;")
    } else {
        value.replace('"', "&quot;")
    }
}

/// Insert `snippet` as the first or last child of the element starting at `start`.
fn insert_into(text: &str, start: usize, snippet: &str, last: bool) -> Option<String> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let e = doc
        .descendants()
        .find(|n| n.is_element() && n.range().start == start)?;
    let tag = start_tag_range(e);
    let written = &text[tag.clone()];
    if let Some(open) = written.strip_suffix("/>") {
        let name = &text[start + 1..name_end(text, start)];
        let open = open.trim_end();
        return Some(splice(text, tag, &format!("{open}>{snippet}</{name}>")));
    }
    let at = if last {
        e.range().start + text[e.range()].rfind("</")?
    } else {
        tag.end
    };
    Some(splice(text, at..at, snippet))
}

/// A base document with 1 to 6 mutations applied (those that do not apply are skipped).
#[derive(Clone)]
struct Mutated {
    text: String,
    applied: Vec<Mutation>,
}

impl std::fmt::Debug for Mutated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "mutations: {:?}", self.applied)?;
        writeln!(f, "exact: {:?}", self.text)?;
        write!(f, "--- readable\n{}\n---", self.text)
    }
}

fn mutated() -> impl Strategy<Value = Mutated> {
    (
        base().boxed(),
        prop::collection::vec(mutation().boxed(), 1..7),
    )
        .prop_map(|(mut text, mutations)| {
            let mut applied = Vec::new();
            for m in mutations {
                if let Some(next) = apply(&text, &m) {
                    text = next;
                    applied.push(m);
                }
            }
            Mutated { text, applied }
        })
}

/// The first piece of `before` the fix did not keep, with its offset, or `None`.
///
/// A piece is a run of non-whitespace characters outside the original's start tags (an
/// end tag, a comment's word, some text): what a fix must keep byte for byte. The check asks whether `after` holds every piece,
/// in order, with anything at all between them (what the fix inserted or rewrote), which is
/// glob matching of `*p1*p2*...*pn*`: taking each piece at its leftmost place after the
/// previous one finds a match whenever one exists. (A character diff cannot answer this:
/// its minimal alignment may pair a kept `/` with an inserted one and call the kept one
/// deleted.)
fn first_piece_not_kept(before: &str, after: &str) -> Option<(usize, String)> {
    let doc = roxmltree::Document::parse(before).expect("parsed before");
    let mut tags: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| n.is_element())
        .map(start_tag_range)
        .collect();
    tags.sort_by_key(|t| t.start);
    let mut pieces: Vec<(usize, &str)> = Vec::new();
    let mut from = 0;
    for gap in tags
        .iter()
        .map(|t| (t.start, t.end))
        .chain([(before.len(), before.len())])
    {
        // Pieces end at whitespace, before a `<` and after a `>`: a fix may insert between
        // any two nodes, and may change whitespace.
        let mut start = from;
        for (i, c) in before[from..gap.0]
            .char_indices()
            .map(|(i, c)| (from + i, c))
        {
            let end = if c.is_whitespace() || c == '<' {
                i
            } else if c == '>' {
                i + 1
            } else {
                continue;
            };
            if start < end {
                pieces.push((start, &before[start..end]));
            }
            start = if c.is_whitespace() {
                i + c.len_utf8()
            } else {
                end
            };
        }
        if start < gap.0 {
            pieces.push((start, &before[start..gap.0]));
        }
        from = gap.1;
    }
    let mut rest = 0;
    for (at, piece) in pieces {
        match after[rest..].find(piece) {
            Some(found) => rest += found + piece.len(),
            None => return Some((at, piece.to_string())),
        }
    }
    None
}

#[test]
fn the_kept_bytes_check_finds_deletions_and_only_them() {
    let before = "<a x='1'>\n  <b/> <!-- c -->\n  <d>t</d>\n</a>";
    // Start tags rewritten, whitespace changed, elements inserted: all kept.
    let fine = "<a x='2' y='3'>\n<e/><b>\n  <f/></b> <!-- c -->\n <d>t</d><g>t</g>\n</a>";
    assert_eq!(first_piece_not_kept(before, fine), None);
    // The case a character diff misread: an inserted `<x .../>` after a kept `</x>`.
    let before = "<c><t n='h'><t n='v'/></t>\n</c>";
    let after = "<c><t n='h' p='no'><t n='v'/></t>\n  <t n='v' p='yes'/>\n</c>";
    assert_eq!(first_piece_not_kept(before, after), None);
    // A deleted comment, end tag or text is found, at its offset.
    let before = "<a x='1'>\n  <b/> <!-- c -->\n  <d>t</d>\n</a>";
    assert_eq!(
        first_piece_not_kept(before, "<a x='1'>\n  <b/>\n  <d>t</d>\n</a>"),
        Some((17, "<!--".to_string()))
    );
    assert_eq!(
        first_piece_not_kept(before, "<a x='1'>\n  <b/> <!-- c -->\n  <d/>\n</a>"),
        Some((33, "t".to_string()))
    );
    assert_eq!(
        first_piece_not_kept(before, "<a x='1'>\n  <b/> <!-- c -->\n  <d>t</d>\n"),
        Some((39, "</a>".to_string()))
    );
}

/// The case that made the character-diff check fail in CI (a `<timer>` nested in another,
/// and `hypervclock` inserted after it): every fix keeps the bytes outside start tags.
#[test]
fn nested_timer_fix_keeps_bytes_outside_start_tags() {
    let text = "<domain type='kvm'>\n  <name model=''>guest</name>\n  <memory unit='KiB'>4194304</memory>\n  <vcpu placement='static'>2</vcpu>\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n  <features>\n    <hyperv>\n      <tlbflush state='on'/>\n    </hyperv> <!-- keep me -->\n  </features>\n  <clock offset='utc'>\n    <timer name=\"utc\" present='no'/>\n    <timer name='pit'/>\n    <timer name='hpet' present='yes'><timer name='hypervclock'/></timer>\n  </clock>\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n</domain>";
    let fixed = fix_text(text, builtin_rewriting_start_tags(), Safety::Unsafe).expect("fixed");
    assert!(
        fixed
            .text
            .contains("<timer name='hypervclock' present='yes'/>"),
        "{}",
        fixed.text
    );
    assert_eq!(
        first_piece_not_kept(text, &fixed.text),
        None,
        "{}",
        fixed.text
    );
}

proptest! {
    #![proptest_config(common::proptest_config(64))]

    /// Every mutated domain goes through the whole pipeline with both rule sets without
    /// a panic, and with the pipeline's invariants (see `common/pipeline.rs`).
    #[test]
    fn mutated_domains_keep_the_pipeline_invariants(case in mutated()) {
        for rules in rule_sets() {
            pipeline::check_text(&case.text, rules);
        }
    }

    /// The built-in fixes keep every byte outside their edits: they insert, and rewrite
    /// only start tags (attributes, opening `<x/>`) and whitespace.
    #[test]
    fn builtin_fixes_keep_bytes_outside_their_edits(case in mutated()) {
        for safety in [Safety::Safe, Safety::Unsafe] {
            let Ok(fixed) = fix_text(&case.text, builtin_rewriting_start_tags(), safety) else { continue };
            let lost = first_piece_not_kept(&case.text, &fixed.text);
            prop_assert!(lost.is_none(), "{safety:?}: lost {lost:?} outside start tags:\n{}", fixed.text);
        }
    }
}

/// The mutated cases reach virt-lint's code: nearly all parse as domains, most have
/// findings, many get fixed, and each rule of the every-edit pack fires somewhere.
#[test]
fn mutated_cases_reach_the_linter_and_the_fixer() {
    let mut runner = TestRunner::deterministic();
    let strategy = mutated();
    let n = 120;
    let (mut domains, mut with_findings, mut fixed_builtin, mut fixed_pack) = (0, 0, 0, 0);
    let mut mutations = 0;
    let mut fired: Vec<String> = Vec::new();
    for _ in 0..n {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        mutations += case.applied.len();
        let [builtin, pack] = rule_sets();
        let b: Reach = pipeline::check_text(&case.text, builtin);
        let p: Reach = pipeline::check_text(&case.text, pack);
        domains += usize::from(b.domain);
        with_findings += usize::from(b.findings > 0);
        fixed_builtin += usize::from(b.fixed > 0);
        fixed_pack += usize::from(p.fixed > 0);
        if let Ok(doc) = Document::parse(&case.text) {
            let found = virt_lint::engine::lint(&doc, pack);
            for f in virt_lint::fix::plan_findings(&doc, pack, found) {
                if !fired.contains(&f.rule_id) {
                    fired.push(f.rule_id.clone());
                }
            }
        }
    }
    eprintln!(
        "{n} cases, {mutations} mutations: {domains} domains, {with_findings} with built-in findings, \
         {fixed_builtin} fixed by the built-in rules, {fixed_pack} with the every-edit pack"
    );
    assert!(mutations >= n * 2, "only {mutations} mutations applied");
    assert!(
        domains * 100 >= n * 95,
        "only {domains} of {n} parse as domains"
    );
    assert!(
        with_findings * 2 >= n,
        "only {with_findings} of {n} have findings"
    );
    assert!(fixed_builtin * 4 >= n, "only {fixed_builtin} of {n} fixed");
    assert!(
        fixed_pack * 2 >= n,
        "only {fixed_pack} of {n} fixed with the pack"
    );
    let pack_rules: Vec<&str> = rule_sets()[1]
        .rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| id.starts_with("fuzz/"))
        .collect();
    for id in pack_rules {
        assert!(
            fired.iter().any(|f| f == id),
            "{id} never fired; fired: {fired:?}"
        );
    }
}

/// Each mutation does what it says on a small document.
#[test]
fn mutations_do_what_they_say() {
    let text = "<domain type='kvm'><a x='1'/><b>t</b><!--c--></domain>";
    // An Index that picks the `k`th of 6 (so the same fraction of 2 or 3 items).
    let index_where = |k: usize| {
        let mut runner = TestRunner::deterministic();
        loop {
            let i = any::<Index>().new_tree(&mut runner).unwrap().current();
            if i.index(6) == k {
                return i;
            }
        }
    };
    let first = index_where(0);
    let second = || index_where(3);
    let cases = [
        (
            Mutation::DropElement(first),
            "<domain type='kvm'><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::DuplicateElement(first),
            "<domain type='kvm'><a x='1'/><a x='1'/><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::SwapElements(first, second()),
            "<domain type='kvm'><b>t</b><a x='1'/><!--c--></domain>",
        ),
        (
            Mutation::RenameElement(second(), "hyperv"),
            "<domain type='kvm'><hyperv x='1'/><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::Insert(second(), "<c/>", true),
            "<domain type='kvm'><a x='1'><c/></a><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::DropAttribute(first),
            "<domain><a x='1'/><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::SetValue(second(), "&#x6F;n"),
            "<domain type='kvm'><a x='&#x6F;n'/><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::RenameAttribute(second(), "state"),
            "<domain type='kvm'><a state='1'/><b>t</b><!--c--></domain>",
        ),
        (
            Mutation::SetComment(first, "</clock>"),
            "<domain type='kvm'><a x='1'/><b>t</b><!--</clock>--></domain>",
        ),
        (
            Mutation::Requote(first),
            "<domain type=\"kvm\"><a x='1'/><b>t</b><!--c--></domain>",
        ),
    ];
    for (m, expected) in cases {
        assert_eq!(apply(text, &m).as_deref(), Some(expected), "{m:?}");
    }
    // Removing or moving the root is not a mutation of a domain.
    assert_eq!(
        apply("<domain/>", &Mutation::DropElement(first)),
        None,
        "the root has no inner element to drop"
    );
}
