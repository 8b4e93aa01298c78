//! Planning a fix never crashes a lint: edits that can never work are rule-file errors
//! when the rule is loaded (file:line:col of the edit), and edits that only the document
//! shows to be impossible (the root element, a comment) are refused with a reason while
//! the finding is still reported.

use virt_lint::document::Document;
use virt_lint::rules::{RuleSet, Safety, load_rule_sets};
use virt_lint::{engine, fix};

/// A rule file with one rule: `for_each` (or none), and a fix with `edit` (YAML lines,
/// indented for the `edits:` list).
fn rule_file(for_each: Option<&str>, edit: &str) -> String {
    let for_each = for_each
        .map(|s| format!("    for-each: \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        "rules:\n  - id: acme/edit\n    severity: info\n    summary: s\n    explanation: e\n{for_each}    when:\n      present: \".\"\n    message: m\n    fix:\n      safety: unsafe\n      title: t\n      edits:\n{edit}"
    )
}

fn load(text: &str) -> Result<RuleSet, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.yaml");
    std::fs::write(&path, text).unwrap();
    let loaded = load_rule_sets(&[path]).map(|mut set| {
        // Only the rule under test runs (built-in rules would flag the bare test documents).
        set.select(|rule, _| rule.id == "acme/edit");
        set
    });
    loaded.map_err(|errors| {
        errors
            .iter()
            .map(|e| {
                let shown = e.to_string();
                // Drop the temporary folder from the file name.
                shown
                    .strip_prefix(&format!("{}/", dir.path().display()))
                    .unwrap_or(&shown)
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn impossible_edits_are_rejected_when_the_rule_is_loaded() {
    let cases = [
        (
            None,
            "        - remove: \".\"\n",
            "rules.yaml:13:11: `remove: .` would remove <domain> itself; to remove selected elements, select them with `for-each` and remove `.`",
        ),
        (
            Some("devices/disk"),
            "        - remove: \"/\"\n",
            "rules.yaml:14:11: `remove: /` would remove the whole document",
        ),
        (
            None,
            "        - remove: \"//comment()\"\n",
            "rules.yaml:13:11: `remove: //comment()` removes comments, and a fix never drops a comment",
        ),
        (
            None,
            "        - replace-text: \"comment()\"\n          with: x\n",
            "rules.yaml:13:11: `replace-text: comment()` selects comments; a fix never changes a comment",
        ),
        (
            None,
            "        - replace-text: \"/\"\n          with: x\n",
            "rules.yaml:13:11: `replace-text: /` selects the document itself, not an element",
        ),
        (
            None,
            "        - replace-text: \".\"\n          with: x\n",
            "rules.yaml:13:11: `replace-text: .` would replace everything inside <domain>",
        ),
        (
            Some("devices/disk"),
            "        - replace-text: \"@type\"\n          with: x\n",
            "rules.yaml:14:11: `replace-text: @type` selects attributes; use `set` to change an attribute",
        ),
    ];
    for (for_each, edit, expected) in cases {
        let err = load(&rule_file(for_each, edit)).unwrap_err();
        assert_eq!(err, expected, "for {edit:?}");
    }
}

#[test]
fn the_same_edits_are_fine_where_they_make_sense() {
    // `.` in a for-each rule is the selected element.
    load(&rule_file(
        Some("devices/disk"),
        "        - remove: \".\"\n",
    ))
    .unwrap();
    load(&rule_file(
        Some("description"),
        "        - replace-text: \".\"\n          with: x\n",
    ))
    .unwrap();
}

/// Lint and fix `xml` with `rules`: the finding's fix is refused with `reason`, and the
/// fixer leaves the text as it was.
fn refused(rules: &RuleSet, xml: &str, reason: &str) {
    let doc = Document::parse(xml).unwrap();
    let findings = fix::plan_findings(&doc, rules, engine::lint(&doc, rules));
    assert_eq!(findings.len(), 1, "{xml}");
    let planned = findings[0].fix.as_ref().unwrap();
    assert_eq!(planned.edits.as_ref().unwrap_err(), reason, "{xml}");
    let fixed = fix::fix_text(xml, rules, Safety::Unsafe).unwrap();
    assert_eq!(fixed.text, xml);
    assert!(fixed.applied.is_empty());
}

#[test]
fn edits_the_document_makes_impossible_are_refused_with_a_reason() {
    let xml = "<!-- head --><domain><!-- c --><description>d</description><devices><disk/></devices></domain>";
    let parent_of_devices =
        load(&rule_file(Some("devices"), "        - remove: \"..\"\n")).unwrap();
    refused(
        &parent_of_devices,
        xml,
        "it would remove the document's root element",
    );
    let root_by_name = load(&rule_file(None, "        - remove: \"/domain\"\n")).unwrap();
    refused(
        &root_by_name,
        xml,
        "it would remove the document's root element",
    );
    let first_node = load(&rule_file(
        None,
        "        - replace-text: \"node()[1]\"\n          with: x\n",
    ))
    .unwrap();
    refused(
        &first_node,
        xml,
        "`replace-text` selected a comment or processing instruction, not an element",
    );
    let whole_root = load(&rule_file(
        Some("devices"),
        "        - replace-text: \"..\"\n          with: x\n",
    ))
    .unwrap();
    refused(
        &whole_root,
        xml,
        "`replace-text` would replace everything inside the root element",
    );
    let document = load(&rule_file(
        Some("devices"),
        "        - replace-text: \"../..\"\n          with: x\n",
    ))
    .unwrap();
    refused(
        &document,
        xml,
        "`replace-text` selected the document itself, not an element",
    );
    let outside = load(&rule_file(None, "        - remove: \"../node()[1]\"\n")).unwrap();
    refused(
        &outside,
        xml,
        "it would remove a node outside the root element",
    );
}

#[test]
fn removing_and_replacing_inside_the_root_still_works() {
    let text = rule_file(
        Some("description[. = 'old']"),
        "        - replace-text: \".\"\n          with: \"new <text>\"\n",
    );
    let rules = load(&text).unwrap();
    let fixed = fix::fix_text(
        "<domain>\n  <description>old</description>\n</domain>\n",
        &rules,
        Safety::Unsafe,
    )
    .unwrap();
    assert_eq!(
        fixed.text,
        "<domain>\n  <description>new &lt;text&gt;</description>\n</domain>\n"
    );
    let rules = load(&rule_file(
        Some("devices/disk[@device='floppy']"),
        "        - remove: \".\"\n",
    ))
    .unwrap();
    let fixed = fix::fix_text(
        "<domain>\n  <devices>\n    <disk device='floppy'/>\n    <disk device='disk'/>\n  </devices>\n</domain>\n",
        &rules,
        Safety::Unsafe,
    )
    .unwrap();
    assert_eq!(
        fixed.text,
        "<domain>\n  <devices>\n    <disk device='disk'/>\n  </devices>\n</domain>\n"
    );
}
