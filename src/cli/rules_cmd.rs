//! The rule subcommands: `virt-lint rules` (the list, or with `--format markdown` the
//! reference of [`crate::reference`]), `virt-lint rule ID` (one rule
//! explained) and `virt-lint test-rules PATH...` (run the examples of rule files).

use std::io::{self, Write};
use std::path::PathBuf;

use super::{
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, RuleArgs, RulesFormat, empty_rule_folders, load_rules,
    print_rule_errors,
};
use crate::examples;
use crate::reference;
use crate::rules::{self, ExampleKind, Safety};

fn fix_label(rule: &rules::Rule) -> &'static str {
    match &rule.fix {
        Some(f) => f.safety.as_str(),
        None => "-",
    }
}

pub fn list(args: &RuleArgs, format: RulesFormat) -> u8 {
    let rules = match load_rules(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if format == RulesFormat::Markdown {
        let _ = io::stdout()
            .lock()
            .write_all(reference::markdown(&rules).as_bytes());
        return EXIT_CLEAN;
    }
    let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "{:width$}  {:8}  {:6}  SUMMARY",
        "ID", "SEVERITY", "FIX"
    );
    let mut sorted: Vec<_> = rules.rules.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for rule in sorted {
        let _ = writeln!(
            out,
            "{:width$}  {:8}  {:6}  {}",
            rule.id,
            rule.severity.as_str(),
            fix_label(rule),
            rule.summary()
        );
    }
    EXIT_CLEAN
}

pub fn explain(id: &str, args: &RuleArgs) -> u8 {
    let rules = match load_rules(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let Some(rule) = rules.get(id) else {
        let close: Vec<&str> = rules
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .filter(|r| r.contains(id) || id.contains(r.split('/').nth(1).unwrap_or(r)))
            .collect();
        eprintln!(
            "error: no rule `{id}`{}",
            if close.is_empty() {
                "; `virt-lint rules` lists them".to_string()
            } else {
                format!("; did you mean {}?", close.join(", "))
            }
        );
        return EXIT_ERROR;
    };
    let mut out = String::new();
    out.push_str(&format!(
        "{} ({})\n\n{}\n\n{}\n",
        rule.id,
        rule.severity,
        rule.summary(),
        rule.explanation
    ));
    out.push_str(&format!("\nTags: {}.\n", rule.tags.join(", ")));
    if !rule.default_enabled {
        out.push_str("Off by default: it runs when selected (`--select`, `extend-select`).\n");
    }
    if rule.repo.is_some() {
        out.push_str(
            "Repository rule: it compares the definitions of a run with each other (files of \
             one run count as one host; live domains, per --connect URI).\n",
        );
    }
    if !rule.libvirt.is_open() {
        out.push_str(&format!(
            "Applies to {} only (checked against --libvirt-version).\n",
            rule.libvirt
        ));
    }
    match &rule.fix {
        Some(fix) => out.push_str(&format!("\nFix ({}): {}\n", fix.safety.as_str(), fix.title)),
        None => out.push_str("\nFix: none automatic.\n"),
    }
    for alt in &rule.alternatives {
        out.push_str(&format!(
            "Alternative fix ({}): {}\n",
            alt.safety.as_str(),
            alt.title
        ));
    }
    if rule
        .fix
        .iter()
        .chain(&rule.alternatives)
        .any(|f| f.safety == Safety::Unsafe)
    {
        out.push_str("Unsafe fixes change what the guest sees; apply them with `--fix --unsafe-fixes`, then power-cycle the guest.\n");
    }
    if !rule.references().is_empty() {
        out.push_str("\nReferences:\n");
        for r in rule.references() {
            out.push_str(&format!("  - {r}\n"));
        }
    }
    for (i, ex) in rule.examples.iter().enumerate() {
        let kind = match ex.kind {
            ExampleKind::Fires => "fires",
            ExampleKind::Passes => "passes",
        };
        out.push_str(&format!("\nExample {} ({kind}):\n", i + 1));
        for line in ex.xml.lines() {
            out.push_str(&format!("    {line}\n"));
        }
        if let Some(fixed) = &ex.fixed {
            out.push_str("  after the fix:\n");
            for line in fixed.lines() {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    if rule.origin().file == crate::suppress::META_ORIGIN {
        out.push_str("\nBuilt into virt-lint: it reports on `virt-lint:` suppression comments.\n");
    } else if rules::load::builtin_files().contains(&rule.origin().file.as_str()) {
        out.push_str("\nBuilt-in rule (embedded in the virt-lint binary).\n");
    } else {
        out.push_str(&format!("\nDefined in {}.\n", rule.origin()));
    }
    let _ = io::stdout().lock().write_all(out.as_bytes());
    EXIT_CLEAN
}

pub fn test(paths: &[PathBuf]) -> u8 {
    let rules = match rules::load_documented(paths) {
        Ok(r) => r,
        Err(errors) => {
            print_rule_errors(&errors);
            return EXIT_ERROR;
        }
    };
    let builtin = rules::load::builtin_files();
    let results = examples::run(&rules, |r| !builtin.contains(&r.origin().file.as_str()));
    let tested_rules = rules
        .rules
        .iter()
        .filter(|r| !builtin.contains(&r.origin().file.as_str()))
        .collect::<Vec<_>>();
    let mut out = io::stdout().lock();
    for warning in empty_rule_folders(paths) {
        let _ = writeln!(out, "{warning}");
    }
    if tested_rules.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let _ = writeln!(
            out,
            "warning: no rule found in {}; nothing was tested",
            shown.join(", ")
        );
    }
    for rule in &tested_rules {
        if rule.examples.is_empty() {
            let _ = writeln!(
                out,
                "warning: {} ({}) has no examples",
                rule.id,
                rule.origin()
            );
        }
    }
    let mut failed = 0;
    for r in &results {
        let kind = match r.kind {
            ExampleKind::Fires => "fires",
            ExampleKind::Passes => "passes",
        };
        match &r.failure {
            None => {
                let _ = writeln!(
                    out,
                    "ok    {} example {} ({kind}) at {}",
                    r.rule_id, r.index, r.origin
                );
            }
            Some(why) => {
                failed += 1;
                let _ = writeln!(
                    out,
                    "FAIL  {} example {} ({kind}) at {}: {why}",
                    r.rule_id, r.index, r.origin
                );
            }
        }
    }
    let _ = writeln!(out, "{} passed, {failed} failed", results.len() - failed);
    if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}
