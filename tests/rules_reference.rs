//! The rules reference: `docs/rules.md` must be what `virt-lint rules --format markdown`
//! prints for the built-in rules, and the Markdown says what each rule is.

mod common;

use common::{golden, root, run};

/// Fails when a rule file changed and `docs/rules.md` was not regenerated.
#[test]
fn docs_rules_md_is_current() {
    let r = run(&["rules", "--format", "markdown"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(r.stderr, "");
    let path = root().join("docs/rules.md");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &r.stdout).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != r.stdout {
        let diff = similar::TextDiff::from_lines(committed.as_str(), r.stdout.as_str())
            .unified_diff()
            .context_radius(2)
            .header("docs/rules.md", "virt-lint rules --format markdown")
            .to_string();
        let shown: String = diff.lines().take(60).collect::<Vec<_>>().join("\n");
        panic!(
            "\n\ndocs/rules.md is stale: the rule files changed since it was generated.\n\
             Regenerate it from the repository root (and commit it):\n\n    \
             {}\n\n(or run `BLESS=1 cargo test --test rules_reference`).\n\
             First differences:\n{shown}\n",
            virt_lint::reference::REGENERATE
        );
    }
}

#[test]
fn every_rule_is_in_the_reference_once_with_its_anchor_and_group() {
    let list = run(&["rules"]);
    let markdown = run(&["rules", "--format", "markdown"]).stdout;
    let ids: Vec<&str> = list
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(ids.len() >= 9, "{}", list.stdout);
    for id in ids {
        let anchor = format!("<a id=\"rule-{}\"></a>", id.replace('/', "-"));
        assert_eq!(markdown.matches(&anchor).count(), 1, "{anchor}");
        assert_eq!(
            markdown.matches(&format!("\n### `{id}`\n")).count(),
            1,
            "{id}"
        );
        let group = id.split('/').next().unwrap();
        assert!(
            markdown.contains(&format!("- [{group}](#group-{group}) (")),
            "{group}"
        );
    }
}

/// The section of a user's rule, exactly: metadata table, explanation, fix, the firing
/// example with its fixed text, the file it comes from.
#[test]
fn a_user_rule_section() {
    let r = run(&[
        "rules",
        "--format",
        "markdown",
        "--rules",
        "tests/rule-files/good.yaml",
    ]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    let start = r
        .stdout
        .find("<a id=\"group-acme\"></a>")
        .expect("the acme group");
    let after = start + 1;
    let end = r.stdout[after..]
        .find("<a id=\"group-")
        .map_or(r.stdout.len(), |e| after + e);
    golden("reference/acme-group.md", &r.stdout[start..end]);
    assert!(
        r.stdout.contains("\n- [acme](#group-acme) (2 rules)\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn text_stays_the_default_format() {
    assert_eq!(
        run(&["rules"]).stdout,
        run(&["rules", "--format", "text"]).stdout
    );
    assert!(run(&["rules"]).stdout.starts_with("ID "));
    let bad = run(&["rules", "--format", "html"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("markdown"), "{}", bad.stderr);
}
