//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning and other viewers: rule
//! metadata, repository-relative URIs under `%SRCROOT%`, regions with start and end,
//! related locations, fixes and line-independent `partialFingerprints`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Write};

use serde_json::{Value, json};

use super::machine::{
    Locator, RunReport, Span, fingerprints, related, related_elsewhere, relative_path,
};
use crate::fix::PlannedFix;
use crate::rules::{Rule, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn emit(out: &mut dyn Write, run: &RunReport<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(run))?;
    writeln!(out)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    // The compiled built-in set leaves explanations out; SARIF carries them.
    let explanation = match rule.explanation.as_str() {
        "" => crate::builtin::explanation(&rule.id).unwrap_or_default(),
        text => text,
    };
    let mut help = explanation.trim().to_string();
    let mut markdown = help.clone();
    if !rule.references().is_empty() {
        help.push_str("\n\nReferences:");
        markdown.push_str("\n\n**References**\n");
        for r in rule.references() {
            help.push_str(&format!("\n- {r}"));
            markdown.push_str(&format!("\n- <{r}>"));
        }
    }
    let group = rule.id.split('/').next().unwrap_or_default();
    let mut tags = vec![group.to_string()];
    tags.extend(crate::select::RuleInfo::of(rule).tags.iter().cloned());
    let mut descriptor = json!({
        "id": rule.id,
        "name": rule.id.rsplit('/').next().unwrap_or(&rule.id),
        "shortDescription": { "text": non_empty(rule.summary(), &rule.id) },
        "fullDescription": { "text": non_empty(explanation.trim(), rule.summary()) },
        "help": { "text": non_empty(&help, rule.summary()), "markdown": non_empty(&markdown, rule.summary()) },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": {
            "tags": tags,
            "fix": rule.fix.as_ref().map_or("none", |f| f.safety.as_str()),
        },
    });
    if let Some(uri) = rule
        .references()
        .iter()
        .find(|r| r.starts_with("https://") || r.starts_with("http://"))
    {
        descriptor["helpUri"] = json!(uri);
    }
    descriptor
}

fn non_empty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() { fallback } else { s }
}

fn region(s: Span) -> Value {
    json!({
        "startLine": s.start.line,
        "startColumn": s.start.column,
        "endLine": s.end.line,
        "endColumn": s.end.column,
        "charOffset": s.bytes.0,
    })
}

pub fn document(run: &RunReport<'_>) -> Value {
    // Rules: every rule any file was linted with, by id, in id order (files linted with
    // the same settings share their rule set: each set is read once).
    let mut by_id: BTreeMap<&str, &Rule> = BTreeMap::new();
    let mut sets_seen: Vec<&crate::rules::RuleSet> = Vec::new();
    for file in &run.files {
        if sets_seen.iter().any(|set| std::ptr::eq(*set, file.rules)) {
            continue;
        }
        sets_seen.push(file.rules);
        for (_, rule) in file.rules.enabled() {
            by_id.entry(rule.id.as_str()).or_insert(rule);
        }
    }
    let rules: Vec<&Rule> = by_id.values().copied().collect();
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut results = Vec::new();
    let mut artifacts: Vec<String> = Vec::new();
    let mut artifacts_seen: HashSet<String> = HashSet::new();
    for file in &run.files {
        let uri = relative_path(file.name);
        let locator = Locator::new(file.text);
        let prints = fingerprints(&uri, file.text, file.findings);
        let location = |span: Span| {
            json!({ "physicalLocation": {
                "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
                "region": region(span),
            }})
        };
        for (f, print) in file.findings.iter().zip(prints) {
            let mut related: Vec<Value> = related(f)
                .into_iter()
                .map(|(range, message)| {
                    let mut l = location(locator.span(&range));
                    l["message"] = json!({ "text": message });
                    l
                })
                .collect();
            // In another document (repository rules).
            related.extend(related_elsewhere(f).into_iter().map(|r| {
                json!({
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": relative_path(r.document.as_deref().unwrap_or_default()),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {
                            "startLine": r.position.line,
                            "startColumn": r.position.column,
                            "charOffset": r.range.start,
                            "charLength": r.range.end - r.range.start,
                        },
                    },
                    "message": { "text": r.label },
                })
            }));
            for (i, l) in related.iter_mut().enumerate() {
                l["id"] = json!(i + 1);
            }
            let fixes: Vec<Value> = f
                .fix
                .iter()
                .chain(&f.alternatives)
                .filter_map(|fix| sarif_fix(&uri, &locator, fix))
                .collect();
            let mut result = json!({
                "ruleId": f.rule_id,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [location(locator.span(&f.range))],
                "partialFingerprints": { "virtLintElement/v1": print },
            });
            if let Some(index) = rule_index.get(f.rule_id.as_str()) {
                result["ruleIndex"] = json!(index);
            }
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            if !fixes.is_empty() {
                result["fixes"] = json!(fixes);
            }
            results.push(result);
        }
        if artifacts_seen.insert(uri.clone()) {
            artifacts.push(uri);
        }
    }
    let notifications: Vec<Value> = run
        .errors
        .iter()
        .map(|e| {
            let mut n = json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.name, e.message) },
            });
            if let Some(p) = e.position {
                n["locations"] = json!([{ "physicalLocation": {
                    "artifactLocation": { "uri": relative_path(&e.name), "uriBaseId": "%SRCROOT%" },
                    "region": { "startLine": p.line, "startColumn": p.column },
                }}]);
            }
            n
        })
        .collect();
    let root = std::env::current_dir()
        .map(|d| file_uri(&d.to_string_lossy()))
        .unwrap_or_else(|_| "file:///".to_string());
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "virt-lint",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>(),
            }},
            "originalUriBaseIds": { "%SRCROOT%": { "uri": root } },
            "artifacts": artifacts.iter().map(|a| json!({ "location": { "uri": a, "uriBaseId": "%SRCROOT%" } })).collect::<Vec<_>>(),
            "columnKind": "unicodeCodePoints",
            "results": results,
            "invocations": [{
                "executionSuccessful": run.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
        }],
    })
}

fn sarif_fix(uri: &str, locator: &Locator<'_>, fix: &PlannedFix) -> Option<Value> {
    let edits = fix.edits.as_ref().ok()?;
    let replacements: Vec<Value> = edits
        .iter()
        .map(|e| {
            let s = locator.span(&e.range);
            json!({
                "deletedRegion": {
                    "startLine": s.start.line,
                    "startColumn": s.start.column,
                    "endLine": s.end.line,
                    "endColumn": s.end.column,
                },
                "insertedContent": { "text": e.content },
            })
        })
        .collect();
    Some(json!({
        "description": { "text": format!("{} ({} fix)", fix.title, fix.safety.as_str()) },
        "artifactChanges": [{
            "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
            "replacements": replacements,
        }],
    }))
}

/// `file:///abs/dir/` (with a trailing slash, as a base URI needs), percent-encoding
/// what a URI cannot carry.
fn file_uri(dir: &str) -> String {
    let mut out = String::from("file://");
    if !dir.starts_with('/') {
        out.push('/');
    }
    for b in dir.replace('\\', "/").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' | b':' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_uri() {
        assert_eq!(file_uri("/work/my repo"), "file:///work/my%20repo/");
        assert_eq!(file_uri("/"), "file:///");
    }
}
