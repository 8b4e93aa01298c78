//! Property tests for the fixer's invariants, over generated domain XML in random styles
//! (indent unit, quote character, line ending, declaration, final newline, comments) with
//! random Hyper-V / clock content, so that every built-in fix is exercised:
//!
//! 1. fixing (safe and unsafe) does not fail, and its output parses;
//! 2. fixing is idempotent;
//! 3. no comment is lost;
//! 4. the bytes outside the edits are kept (the input is a subsequence of the output, and
//!    the only lines a fix rewrites are start tags it had to edit);
//! 5. the file's style is kept in the lines a fix adds;
//! 6. after fixing, no finding with an applicable fix remains;
//! 7. a document without an applicable fix comes back byte-identical;
//! 8. the layout is kept: new elements are indented by their depth, and the end tag of a
//!    multi-line element begins its own line (two regressions it found are pinned at the
//!    end).
//!
//! The search (256 cases) is repeatable; `PROPTEST_CASES=N` runs a deeper one and
//! `PROPTEST_RNG_SEED=S` another (`common::proptest_config`).

mod common;

use std::sync::OnceLock;

use common::domains::case;
use proptest::prelude::*;
use similar::{ChangeTag, TextDiff};
use virt_lint::document::Document;
use virt_lint::engine;
use virt_lint::fix::{FixError, Fixed, fix_text};
use virt_lint::rules::{RuleSet, Safety, load_builtin};

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| load_builtin().expect("built-in rules load"))
}

/// The rules the generator is built to trigger (the Hyper-V dependency closure and the
/// motivating case). The properties run every built-in rule; the pinned examples at the
/// end use only these, so that their exact texts do not depend on unrelated rules.
const SEED_RULES: &[&str] = &[
    "windows/hpet-disabled-without-stimer",
    "windows/hypervclock-missing",
    "hyperv/synic-requires-vpindex",
    "hyperv/stimer-requires-synic",
    "hyperv/stimer-requires-hypervclock",
    "hyperv/stimer-direct-requires-stimer",
    "hyperv/tlbflush-requires-vpindex",
    "hyperv/ipi-requires-vpindex",
    "hyperv/evmcs-requires-vapic",
];

/// Fixable Hyper-V/Windows rules whose trigger the generator does not write (`<tlbflush>`
/// sub-elements, spinlock counts, `yes`/`no` states, reset/reenlightenment/avic, CPU
/// models): their examples and the corpus run cover them.
const NOT_GENERATED: &[&str] = &[
    "hyperv/tlbflush-extended-requires-tlbflush",
    "hyperv/tlbflush-direct-requires-vapic",
    "hyperv/spinlocks-retries-invalid",
    "hyperv/reset-enabled",
    "hyperv/reenlightenment-breaks-migration",
    "hyperv/feature-state-missing",
    "hyperv/evmcs-on-non-intel",
    "hyperv/avic-needs-apicv",
];

fn seed_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut set = load_builtin().expect("built-in rules load");
        set.retain(|r| SEED_RULES.contains(&r.id.as_str()));
        set
    })
}

fn seed_fix(text: &str, safety: Safety) -> Result<Fixed, FixError> {
    fix_text(text, seed_rules(), safety)
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn fix(text: &str, safety: Safety) -> Result<Fixed, FixError> {
    fix_text(text, rules(), safety)
}

/// Whether `needle` is a subsequence of `hay`, character by character.
fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut rest = hay.chars();
    needle.chars().all(|c| rest.any(|h| h == c))
}

/// The comment texts of a document, sorted (a multiset).
fn comments(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).expect("parses");
    let mut list: Vec<String> = doc
        .descendants()
        .filter(|n| n.is_comment())
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect();
    list.sort();
    list
}

/// Rule ids of the findings in `text` whose fix applies at `safety`.
fn fixable(text: &str, safety: Safety) -> Vec<String> {
    let doc = Document::parse(text).expect("parses");
    virt_lint::fix::plan_findings(&doc, rules(), engine::lint(&doc, rules()))
        .iter()
        .filter(|f| f.fix_edits(safety).is_some())
        .map(|f| f.rule_id.clone())
        .collect()
}

/// The start tags a fix may rewrite in place (opening a self-closing parent, adding an
/// attribute, appending inline children).
const EDITABLE_START_TAGS: &[&str] = &[
    "<hyperv",
    "<stimer",
    "<timer",
    "<clock",
    "<features",
    // Enlightenments a fix switches on or off (`set`/`ensure` of `state`).
    "<relaxed",
    "<vapic",
    "<spinlocks",
    "<vpindex",
    "<synic",
    "<tlbflush",
    "<ipi",
    "<evmcs",
    "<reset",
    "<reenlightenment",
    "<avic",
    // Removed with their parent (hyperv/passthrough-with-children).
    "<direct",
    "<extended",
    "</stimer",
    "</tlbflush",
];

/// Lines removed and added by the fix, by a line diff.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let diff = TextDiff::from_lines(before, after);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end_matches(['\r', '\n']).to_string();
        match change.tag() {
            ChangeTag::Delete => removed.push(line),
            ChangeTag::Insert => added.push(line),
            ChangeTag::Equal => {}
        }
    }
    (removed, added)
}

/// Layout defects of `text`, written with indent `unit`: a line starting with markup whose
/// indentation is not `unit` times the nesting depth of what starts there, or an element
/// whose start tag begins a line and whose end tag is on a later line without beginning it.
/// The generator writes documents without any; the fixer must not introduce one.
fn layout_defects(text: &str, unit: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).expect("parses");
    let line_start = |offset: usize| text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let begins_line = |offset: usize| {
        text[line_start(offset)..offset]
            .chars()
            .all(|c| c == ' ' || c == '\t')
    };
    let line_of = |offset: usize| {
        let start = line_start(offset);
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        text[start..end].trim_end_matches('\r').to_string()
    };
    let mut defects = Vec::new();
    let check = |defects: &mut Vec<String>, offset: usize, depth: usize, what: &str| {
        if begins_line(offset) && offset - line_start(offset) != depth * unit.len() {
            defects.push(format!(
                "{what} at depth {depth} is indented by {} bytes: {:?}",
                offset - line_start(offset),
                line_of(offset)
            ));
        }
    };
    for node in doc
        .descendants()
        .filter(|n| n.is_element() || n.is_comment())
    {
        let depth = node.ancestors().skip(1).filter(|n| n.is_element()).count();
        let range = node.range();
        check(&mut defects, range.start, depth, "a start tag or comment");
        if !node.is_element() || text[range.clone()].ends_with("/>") {
            continue;
        }
        let close = range.start + text[range.clone()].rfind("</").expect("end tag");
        if begins_line(range.start) && line_start(close) != line_start(range.start) {
            if begins_line(close) {
                check(&mut defects, close, depth, "an end tag");
            } else {
                defects.push(format!(
                    "the end tag of <{}> (its start tag begins a line) does not begin a line: {:?}",
                    node.tag_name().name(),
                    line_of(close)
                ));
            }
        }
    }
    defects
}

/// Whether `line` is the end tag `</name>` (perhaps followed by a comment) of an element
/// the output writes empty (`<name .../>`) at the start of a line: a fix removed all its
/// children.
fn emptied_end_tag(line: &str, output: &str) -> bool {
    let Some(name) = line
        .strip_prefix("</")
        .and_then(|l| l.split_once('>'))
        .map(|(name, _)| name.trim_end())
    else {
        return false;
    };
    output.lines().any(|l| {
        let l = l.trim();
        l.starts_with(&format!("<{name}"))
            && l[1 + name.len()..].starts_with([' ', '/'])
            && l.find('>').is_some_and(|end| l[..end].ends_with('/'))
    })
}

const SAFETIES: [Safety; 2] = [Safety::Safe, Safety::Unsafe];

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(common::proptest_config(256))]

    /// 1. Fixing never fails on these inputs (none needs more than a few passes, none
    ///    loses a comment), and the result is well-formed XML.
    #[test]
    fn fixing_succeeds_and_output_parses(case in case()) {
        prop_assert!(Document::parse(&case.text).is_ok(), "the generator made malformed XML");
        for safety in SAFETIES {
            match fix(&case.text, safety) {
                Ok(fixed) => {
                    let parsed = roxmltree::Document::parse(&fixed.text);
                    prop_assert!(parsed.is_ok(), "{safety:?}: output does not parse: {parsed:?}\n{}", fixed.text);
                }
                Err(e) => {
                    // No refusal is legitimate here (explicit `off` is not an error), and
                    // a malformed-XML one would mean a fix broke the document.
                    let kind = if e.message.contains("malformed") { "malformed-XML refusal" } else { "refusal" };
                    return Err(TestCaseError::fail(format!("{safety:?}: {kind}: {e}")));
                }
            }
        }
    }

    /// 2. Fixing the fixed text changes nothing and applies nothing.
    #[test]
    fn fixing_is_idempotent(case in case()) {
        for safety in SAFETIES {
            let Ok(once) = fix(&case.text, safety) else { continue };
            let twice = fix(&once.text, safety);
            prop_assert!(twice.is_ok(), "{safety:?}: second fix refused: {:?}", twice.err());
            let twice = twice.unwrap();
            prop_assert_eq!(&twice.text, &once.text, "{:?}: second fix changed the text", safety);
            prop_assert!(twice.applied.is_empty(), "{safety:?}: second fix applied {:?}", twice.applied);
            prop_assert_eq!(twice.passes, 0);
        }
    }

    /// 3. The multiset of comment texts is the same before and after.
    #[test]
    fn no_comment_is_lost(case in case()) {
        let before = comments(&case.text);
        for safety in SAFETIES {
            let Ok(fixed) = fix(&case.text, safety) else { continue };
            prop_assert_eq!(&comments(&fixed.text), &before, "{:?}\n{}", safety, fixed.text);
        }
    }

    /// 4. Bytes outside the edits are unchanged: the input is a character subsequence of
    ///    the output, and every line the fix removed (in a line diff) is a start tag it
    ///    edited in place, or the end tag of an element whose children it all removed (now
    ///    written as an empty element).
    #[test]
    fn bytes_outside_edits_are_kept(case in case()) {
        for safety in SAFETIES {
            let Ok(fixed) = fix(&case.text, safety) else { continue };
            // The seed rules' fixes only add (elements, attributes); other rules also
            // switch a value or remove an element, which the line check below covers.
            if fixed.applied.iter().all(|id| SEED_RULES.contains(&id.as_str())) {
                prop_assert!(
                    is_subsequence(&case.text, &fixed.text),
                    "{safety:?}: input is not a subsequence of the output:\n{}", fixed.text
                );
            }
            let (removed, _) = changed_lines(&case.text, &fixed.text);
            for line in removed {
                let tag = line.trim_start_matches([' ', '\t']);
                prop_assert!(
                    EDITABLE_START_TAGS.iter().any(|t| tag.starts_with(t))
                        || emptied_end_tag(tag, &fixed.text),
                    "{safety:?}: the fix rewrote the line {line:?}:\n{}", fixed.text
                );
            }
        }
    }

    /// 5. Line endings, quotes and indentation of the file are kept.
    #[test]
    fn style_is_kept(case in case()) {
        let other_quote = if case.quote == '\'' { '"' } else { '\'' };
        for safety in SAFETIES {
            let Ok(fixed) = fix(&case.text, safety) else { continue };
            let out = &fixed.text;
            if case.crlf {
                for (i, _) in out.match_indices('\n') {
                    prop_assert!(i > 0 && out.as_bytes()[i - 1] == b'\r', "{safety:?}: bare LF at byte {i}:\n{out:?}");
                }
            } else {
                prop_assert!(!out.contains('\r'), "{safety:?}: CR in an LF file:\n{out:?}");
            }
            let (_, added) = changed_lines(&case.text, out);
            for line in added {
                prop_assert!(!line.contains(other_quote), "{safety:?}: new line {line:?} uses the other quote");
                let body = line.trim_start_matches([' ', '\t']);
                let indent = &line[..line.len() - body.len()];
                let unit_char = case.unit.chars().next().unwrap();
                prop_assert!(
                    indent.chars().all(|c| c == unit_char) && indent.len() % case.unit.len() == 0,
                    "{safety:?}: new line {line:?} is not indented in units of {:?}", case.unit
                );
            }
        }
    }

    /// 6. After fixing, no finding whose fix applies at that level remains.
    #[test]
    fn nothing_fixable_remains(case in case()) {
        for safety in SAFETIES {
            let Ok(fixed) = fix(&case.text, safety) else { continue };
            let left = fixable(&fixed.text, safety);
            prop_assert!(left.is_empty(), "{safety:?}: still fixable: {left:?}\n{}", fixed.text);
        }
    }

    /// 7. A document with nothing to fix (in particular one with no finding at all) comes
    ///    back byte-identical, with no pass run.
    #[test]
    fn clean_documents_are_untouched(case in case()) {
        let doc = Document::parse(&case.text).unwrap();
        let findings = virt_lint::fix::plan_findings(&doc, rules(), engine::lint(&doc, rules()));
        for safety in SAFETIES {
            if findings.iter().any(|f| f.fix_edits(safety).is_some()) {
                continue;
            }
            let fixed = fix(&case.text, safety);
            prop_assert!(fixed.is_ok(), "{safety:?}: refused: {:?}", fixed.err());
            let fixed = fixed.unwrap();
            prop_assert_eq!(&fixed.text, &case.text);
            prop_assert!(fixed.applied.is_empty());
            prop_assert_eq!(fixed.passes, 0);
        }
    }

    /// 8. The layout is kept: the fixer writes new elements at the indentation of their
    ///    depth and puts the end tag of a multi-line element on its own line.
    #[test]
    fn layout_is_kept(case in case()) {
        let before = layout_defects(&case.text, case.unit);
        prop_assert!(before.is_empty(), "the generator made layout defects: {before:?}");
        for safety in SAFETIES {
            let Ok(fixed) = fix(&case.text, safety) else { continue };
            let after = layout_defects(&fixed.text, case.unit);
            prop_assert!(after.is_empty(), "{safety:?}: {after:#?}\n{}", fixed.text);
        }
    }
}

/// The generator covers what the properties are about: both clean and fixable documents,
/// and every built-in rule firing with an applicable fix somewhere.
#[test]
fn generator_covers_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut seen: Vec<String> = Vec::new();
    let mut clean = 0;
    for _ in 0..512 {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let ids = fixable(&case.text, Safety::Unsafe);
        if ids.is_empty() {
            clean += 1;
        }
        for id in ids {
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
    }
    // The generator writes Hyper-V and timer configurations: every fixable rule about
    // those must be reached. (Rules without a fix, or about other devices, are tested by
    // their own examples.)
    let subjects = rules().rules.iter().filter(|r| {
        r.fix.is_some() && (r.id.starts_with("hyperv/") || r.id.starts_with("windows/"))
    });
    for rule in subjects {
        assert!(
            seen.contains(&rule.id) || NOT_GENERATED.contains(&rule.id.as_str()),
            "no generated case fires {}",
            rule.id
        );
    }
    assert!(clean > 10, "only {clean} clean cases in 512");
}

// ---------------------------------------------------------------------------------------
// Small tricky inputs found while writing the properties
// ---------------------------------------------------------------------------------------

/// `<hyperv />` (space before the slash) is opened in a CRLF, tab-indented, double-quoted
/// file; two rules ensure the same timer, so the second applies in a second pass.
#[test]
fn opens_spaced_self_closing_hyperv_in_crlf_tabs_double_quotes() {
    let input = "<domain type=\"kvm\">\r\n\t<metadata>\r\n\t\t<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\r\n\t\t\t<libosinfo:os id=\"http://microsoft.com/win/10\"/>\r\n\t\t</libosinfo:libosinfo>\r\n\t</metadata>\r\n\t<features>\r\n\t\t<hyperv />\r\n\t</features>\r\n\t<clock offset=\"localtime\">\r\n\t\t<timer name=\"hpet\" present=\"no\"/>\r\n\t</clock>\r\n</domain>\r\n";
    let fixed = seed_fix(input, Safety::Unsafe).unwrap();
    assert_eq!(
        fixed.text,
        "<domain type=\"kvm\">\r\n\t<metadata>\r\n\t\t<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\r\n\t\t\t<libosinfo:os id=\"http://microsoft.com/win/10\"/>\r\n\t\t</libosinfo:libosinfo>\r\n\t</metadata>\r\n\t<features>\r\n\t\t<hyperv>\r\n\t\t\t<vpindex state=\"on\"/>\r\n\t\t\t<synic state=\"on\"/>\r\n\t\t\t<stimer state=\"on\"/>\r\n\t\t</hyperv>\r\n\t</features>\r\n\t<clock offset=\"localtime\">\r\n\t\t<timer name=\"hpet\" present=\"no\"/>\r\n\t\t<timer name=\"hypervclock\" present=\"yes\"/>\r\n\t</clock>\r\n</domain>\r\n"
    );
    assert_eq!(
        fixed.applied,
        [
            "windows/hypervclock-missing",
            "windows/hpet-disabled-without-stimer"
        ]
    );
    assert_eq!(fixed.passes, 2);
    // Safe fixes alone touch nothing here: both rules are unsafe.
    assert_eq!(seed_fix(input, Safety::Safe).unwrap().text, input);
}

/// A comment that looks like the parent's end tag does not mislead the insertion point.
#[test]
fn comment_mimicking_an_end_tag_stays_in_place() {
    let input = "<domain type='kvm'>\n    <features>\n        <hyperv>\n            <!-- </hyperv> -->\n        </hyperv>\n    </features>\n    <clock offset='utc'>\n        <timer name='hpet' present='no'/>\n        <timer name='hypervclock' present='yes'/>\n    </clock>\n</domain>\n";
    let fixed = seed_fix(input, Safety::Unsafe).unwrap();
    assert_eq!(
        fixed.text,
        "<domain type='kvm'>\n    <features>\n        <hyperv>\n            <!-- </hyperv> -->\n            <vpindex state='on'/>\n            <synic state='on'/>\n            <stimer state='on'/>\n        </hyperv>\n    </features>\n    <clock offset='utc'>\n        <timer name='hpet' present='no'/>\n        <timer name='hypervclock' present='yes'/>\n    </clock>\n</domain>\n"
    );
    assert_eq!(comments(&fixed.text), [" </hyperv> "]);
}

/// `<stimer>` without a `state`, with `<direct state='on'/>` inline: the attribute goes
/// into the start tag (before the child), vpindex and synic go before it (libvirt's
/// order), and a `<clock>` is created for hypervclock.
#[test]
fn stimer_without_state_gets_it_and_its_dependencies() {
    let input = "<domain type='kvm'>\n  <features>\n    <hyperv>\n      <stimer><direct state='on'/></stimer>\n    </hyperv>\n  </features>\n</domain>";
    let fixed = seed_fix(input, Safety::Safe).unwrap();
    assert_eq!(
        fixed.text,
        "<domain type='kvm'>\n  <features>\n    <hyperv>\n      <vpindex state='on'/>\n      <synic state='on'/>\n      <stimer state='on'><direct state='on'/></stimer>\n    </hyperv>\n  </features>\n  <clock offset='utc'>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>"
    );
    assert_eq!(fixed.applied, ["hyperv/stimer-direct-requires-stimer"]);
    assert_eq!(
        seed_fix(&fixed.text, Safety::Unsafe).unwrap().text,
        fixed.text
    );
}

/// Explicit `off` / `present='no'` are refusals, not errors: the findings stay, no fix is
/// offered, and the text comes back byte-identical.
#[test]
fn explicit_off_leaves_the_file_untouched() {
    let input = "<domain type='kvm'>\n  <features>\n    <hyperv>\n      <synic state='on'/>\n      <vpindex state='off'/>\n      <stimer state='on'/>\n    </hyperv>\n  </features>\n  <clock offset='utc'>\n    <timer name='hypervclock' present='no'/>\n  </clock>\n</domain>\n";
    let doc = Document::parse(input).unwrap();
    let findings =
        virt_lint::fix::plan_findings(&doc, seed_rules(), engine::lint(&doc, seed_rules()));
    let ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    // (The missing clock is stimer-requires-hypervclock's alone: one cause, one finding.)
    assert_eq!(
        ids,
        [
            "hyperv/synic-requires-vpindex",
            "hyperv/stimer-requires-hypervclock"
        ]
    );
    assert!(
        findings
            .iter()
            .all(|f| f.fix_edits(Safety::Unsafe).is_none())
    );
    for safety in SAFETIES {
        let fixed = seed_fix(input, safety).unwrap();
        assert_eq!(fixed.text, input);
        assert!(fixed.applied.is_empty());
    }
}

// Regression: a parent whose only content is a comment on its start tag's line
// (`<clock offset='utc'><!-- c --></clock>`) got the new children on new lines but kept
// its end tag glued to the last one (`<timer name='hypervclock' present='yes'/></clock>`).
#[test]
fn comment_only_parent_gets_its_end_tag_on_its_own_line() {
    let input = "<domain type='kvm'>\n  <features>\n    <hyperv>\n      <vpindex state='on'/>\n      <synic state='on'/>\n      <stimer state='on'/>\n    </hyperv>\n  </features>\n  <clock offset='utc'><!-- c --></clock>\n</domain>\n";
    let fixed = seed_fix(input, Safety::Safe).unwrap();
    let defects = layout_defects(&fixed.text, "  ");
    assert!(defects.is_empty(), "{defects:?}\n{}", fixed.text);
}

// Regression: an element created after an inline sibling (`<features><acpi/></features>`)
// had its own children and end tag indented from column 0; it now stays on the line.
#[test]
fn element_created_after_inline_sibling_stays_inline() {
    let input = "<domain type='kvm'>\n  <features><acpi/></features>\n  <clock offset='utc'>\n    <timer name='hpet' present='no'/>\n    <timer name='hypervclock' present='yes'/>\n  </clock>\n</domain>\n";
    let fixed = seed_fix(input, Safety::Unsafe).unwrap();
    let defects = layout_defects(&fixed.text, "  ");
    assert!(defects.is_empty(), "{defects:?}\n{}", fixed.text);
}
