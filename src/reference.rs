//! The rules reference: every rule of a [`RuleSet`] as one Markdown document
//! (`virt-lint rules --format markdown`). The built-in rules' reference is committed as
//! `docs/rules.md`; `tests/rules_reference.rs` fails when it is stale.
//!
//! The document starts with two indexes — by group (the part of the id before `/`), a
//! table per group, and by tag — then one section per group with each rule's metadata,
//! summary, explanation, fixes, references and the firing example with its fixed text.
//! Output depends only on the rules (sorted by id), so it is the same on every machine.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::rules::{Example, ExampleKind, FixSpec, Rule, RuleSet};

/// The command that regenerates `docs/rules.md`, from the repository root.
pub const REGENERATE: &str = "cargo run -q -- rules --format markdown > docs/rules.md";

/// The part of a rule id before its first `/` (`hyperv` for `hyperv/synic-requires-vpindex`).
pub fn group(id: &str) -> &str {
    id.split_once('/').map_or(id, |(g, _)| g)
}

/// The Markdown reference of `rules` (every rule, enabled or not).
pub fn markdown(rules: &RuleSet) -> String {
    let mut sorted: Vec<&Rule> = rules.rules.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut groups: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    let mut tags: BTreeMap<&str, Vec<&Rule>> = BTreeMap::new();
    for rule in &sorted {
        groups.entry(group(&rule.id)).or_default().push(rule);
        for tag in &rule.tags {
            tags.entry(tag.as_str()).or_default().push(rule);
        }
    }

    let mut out = String::new();
    out.push_str("# Rules reference\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the rule files by `virt-lint rules --format markdown`; do not edit.\n     Regenerate from the repository root: {REGENERATE} -->\n"
    );
    out.push_str(&overview(&sorted, groups.len()));

    out.push_str("## Contents\n\n### By group\n\n");
    for (name, list) in &groups {
        let _ = writeln!(
            out,
            "- [{name}](#{}) ({})",
            group_anchor(name),
            count(list.len(), "rule", "rules")
        );
    }
    out.push_str("\n### By tag\n\n");
    if tags.is_empty() {
        out.push_str("No rule has tags.\n");
    }
    for (tag, list) in &tags {
        let links: Vec<String> = list.iter().map(|r| rule_link(r)).collect();
        let _ = writeln!(
            out,
            "- **{}** ({}): {}",
            escape(tag),
            list.len(),
            links.join(", ")
        );
    }
    let untagged: Vec<String> = sorted
        .iter()
        .filter(|r| r.tags.is_empty())
        .map(|r| rule_link(r))
        .collect();
    if !untagged.is_empty() && !tags.is_empty() {
        let _ = writeln!(
            out,
            "- *no tag* ({}): {}",
            untagged.len(),
            untagged.join(", ")
        );
    }
    out.push('\n');

    for (name, list) in &groups {
        let _ = writeln!(out, "<a id=\"{}\"></a>\n", group_anchor(name));
        let _ = writeln!(out, "## {}\n", escape(name));
        out.push_str("| rule | severity | fix | default | summary |\n|---|---|---|---|---|\n");
        for rule in list {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                rule_link(rule),
                rule.severity,
                fix_label(rule),
                default_label(rule),
                cell(rule.summary())
            );
        }
        out.push('\n');
        for rule in list {
            section(&mut out, rule);
        }
    }
    // One final newline, however the last section ended.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn overview(rules: &[&Rule], groups: usize) -> String {
    let severity = |s: &str| rules.iter().filter(|r| r.severity.as_str() == s).count();
    let fixable = rules.iter().filter(|r| r.fix.is_some()).count();
    let off = rules.iter().filter(|r| !r.default_enabled).count();
    format!(
        "{} in {}: {} error, {} warning, {} info; {} with an automatic fix; {} off by default \
         (they run only when selected, e.g. `--extend-select ID`).\n\n\
         **Severity**: `error` — libvirt or QEMU refuses the definition, or it is broken; \
         `warning` — it works but is likely wrong or costly; `info` — advice. \
         **Fix**: `safe` fixes change nothing the guest sees and are applied by `--fix`; \
         `unsafe` ones change guest-visible hardware or timers and need `--unsafe-fixes`. \
         `virt-lint rule ID` prints the same explanation in a terminal.\n\n",
        count(rules.len(), "rule", "rules"),
        count(groups, "group", "groups"),
        severity("error"),
        severity("warning"),
        severity("info"),
        fixable,
        off
    )
}

fn section(out: &mut String, rule: &Rule) {
    let _ = writeln!(out, "<a id=\"{}\"></a>\n", rule_anchor(&rule.id));
    let _ = writeln!(out, "### `{}`\n", rule.id);
    let _ = writeln!(out, "{}\n", escape(rule.summary()));
    let tags = if rule.tags.is_empty() {
        "—".to_string()
    } else {
        rule.tags
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "| severity | fix | tags | default |\n|---|---|---|---|\n| {} | {} | {} | {} |\n",
        rule.severity,
        fix_label(rule),
        tags,
        default_label(rule)
    );
    if !rule.libvirt.is_open() {
        let _ = writeln!(
            out,
            "**libvirt**: applies to {} only (checked against `--libvirt-version`).\n",
            rule.libvirt
        );
    }
    let explanation = rule.explanation.trim();
    if !explanation.is_empty() {
        let _ = writeln!(out, "{}\n", escape_text(explanation));
    }
    match &rule.fix {
        Some(fix) => {
            let _ = writeln!(
                out,
                "**Fix** ({}): {}\n",
                fix.safety.as_str(),
                fix_text(fix)
            );
        }
        None => out.push_str("**Fix**: none automatic.\n\n"),
    }
    for alt in &rule.alternatives {
        let _ = writeln!(
            out,
            "**Alternative fix** ({}): {}\n",
            alt.safety.as_str(),
            fix_text(alt)
        );
    }
    if !rule.references().is_empty() {
        out.push_str("**References**:\n\n");
        for r in rule.references() {
            let _ = writeln!(out, "- <{}>", r.trim());
        }
        out.push('\n');
    }
    if let Some(example) = shown_example(rule) {
        out.push_str("**Example that fires**:\n\n");
        code_block(out, &example.xml);
        if let Some(fixed) = &example.fixed {
            if fixed == &example.xml {
                out.push_str("The fix is refused here (the file says so explicitly).\n\n");
            } else {
                out.push_str("**After the fix**:\n\n");
                code_block(out, fixed);
            }
        }
    }
    let _ = writeln!(out, "Defined in `{}`.\n", rule.origin().file);
}

/// The firing example to show: the first with a fixed text that differs from it, else
/// the first firing one.
fn shown_example(rule: &Rule) -> Option<&Example> {
    let fires = || {
        rule.examples
            .iter()
            .filter(|e| e.kind == ExampleKind::Fires)
    };
    fires()
        .find(|e| e.fixed.as_ref().is_some_and(|f| f != &e.xml))
        .or_else(|| fires().next())
}

fn fix_text(fix: &FixSpec) -> String {
    match fix.since() {
        Some(v) => format!(
            "{} (writes what libvirt {v} introduced: refused for an older `--libvirt-version`)",
            escape(&fix.title)
        ),
        None => escape(&fix.title),
    }
}

fn fix_label(rule: &Rule) -> &'static str {
    rule.fix.as_ref().map_or("—", |f| f.safety.as_str())
}

fn default_label(rule: &Rule) -> &'static str {
    if rule.default_enabled { "on" } else { "off" }
}

fn rule_anchor(id: &str) -> String {
    format!("rule-{}", slug(id))
}

fn group_anchor(name: &str) -> String {
    format!("group-{}", slug(name))
}

/// Lower-case letters, digits, `-` and `_`; `/` and anything else become `-`. (Rule ids
/// are `group/kebab-name`, so two ids never share a slug in practice.)
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect()
}

fn rule_link(rule: &Rule) -> String {
    format!("[`{}`](#{})", rule.id, rule_anchor(&rule.id))
}

/// One line of text (whitespace runs become one space), Markdown-escaped: see
/// [`escape_text`].
fn escape(text: &str) -> String {
    escape_text(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Plain text as Markdown that shows it as written: inline markers and HTML brackets are
/// escaped outside code spans (rule texts use backticks for XML and commands), and a
/// line that would start a heading or a quote is escaped. Line breaks stay.
fn escape_text(text: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.trim().is_empty() {
            // A paragraph ends; so does any unclosed code span.
            in_code = false;
        }
        let indent = line.len() - line.trim_start().len();
        out.push_str(&line[..indent]);
        let rest = &line[indent..];
        if !in_code && rest.starts_with('#') {
            out.push('\\');
        }
        for c in rest.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code && matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '|') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// [`escape`] for a table cell.
fn cell(text: &str) -> String {
    escape(text)
}

/// A fenced XML block, with a fence longer than any backtick run in the text.
fn code_block(out: &mut String, text: &str) {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(
        out,
        "{fence}xml\n{}\n{fence}\n",
        text.trim_end_matches('\n')
    );
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_anchors() {
        assert_eq!(
            escape("a | b <x> *y*\n  `c_d <e>`"),
            "a \\| b \\<x\\> \\*y\\* `c_d <e>`"
        );
        assert_eq!(
            escape_text("# not a heading\n- a `<list` item`>`\n\n  x_y"),
            "\\# not a heading\n- a `<list` item`>`\n\n  x\\_y"
        );
        assert_eq!(
            slug("hyperv/synic-requires-vpindex"),
            "hyperv-synic-requires-vpindex"
        );
        assert_eq!(group("cpu/topology-mismatch"), "cpu");
        assert_eq!(group("plain"), "plain");
    }

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        let mut out = String::new();
        code_block(&mut out, "<a>```</a>\n");
        assert_eq!(out, "````xml\n<a>```</a>\n````\n\n");
    }
}
