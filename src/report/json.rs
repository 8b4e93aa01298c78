//! `--format json`: the whole run as one JSON document, schema version 1 (documented in
//! README.md, "JSON output"). Additive changes keep the version; anything else bumps it.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::machine::{
    Locator, RunReport, Span, clean_name, fingerprints, related, related_elsewhere,
};
use crate::fix::{PlannedFinding as Finding, PlannedFix};

/// The schema version written in every document.
pub const SCHEMA_VERSION: u32 = 1;

pub fn emit(out: &mut dyn Write, run: &RunReport<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(run))?;
    writeln!(out)
}

pub fn document(run: &RunReport<'_>) -> Value {
    let mut findings = Vec::new();
    for file in &run.files {
        let locator = Locator::new(file.text);
        let path = clean_name(file.name);
        let prints = fingerprints(&path, file.text, file.findings);
        for (f, print) in file.findings.iter().zip(prints) {
            findings.push(finding(&path, &locator, f, &print));
        }
    }
    let errors: Vec<Value> = run
        .errors
        .iter()
        .map(|e| {
            json!({
                "path": clean_name(&e.name),
                "message": e.message,
                "line": e.position.map(|p| p.line),
                "column": e.position.map(|p| p.column),
            })
        })
        .collect();
    json!({
        "version": SCHEMA_VERSION,
        "tool": { "name": "virt-lint", "version": env!("CARGO_PKG_VERSION") },
        "findings": findings,
        "errors": errors,
    })
}

fn span(s: Span) -> Value {
    json!({
        "start": { "line": s.start.line, "column": s.start.column },
        "end": { "line": s.end.line, "column": s.end.column },
        "byte_range": { "start": s.bytes.0, "end": s.bytes.1 },
    })
}

fn with_span(mut base: Value, s: Span) -> Value {
    if let (Value::Object(map), Value::Object(extra)) = (&mut base, span(s)) {
        map.extend(extra);
    }
    base
}

fn finding(path: &str, locator: &Locator<'_>, f: &Finding, fingerprint: &str) -> Value {
    let mut related: Vec<Value> = related(f)
        .into_iter()
        .map(|(range, message)| with_span(json!({ "message": message }), locator.span(&range)))
        .collect();
    // In another document (repository rules): its path, where the place starts, its bytes.
    related.extend(related_elsewhere(f).into_iter().map(|r| {
        json!({
            "message": r.label,
            "path": clean_name(r.document.as_deref().unwrap_or_default()),
            "start": { "line": r.position.line, "column": r.position.column },
            "byte_range": { "start": r.range.start, "end": r.range.end },
        })
    }));
    with_span(
        json!({
            "path": path,
            "rule": f.rule_id,
            "severity": f.severity.as_str(),
            "message": f.message,
            "fingerprint": fingerprint,
            "related": related,
            "fix": f.fix.as_ref().map(|x| fix(locator, x)),
            "alternatives": f.alternatives.iter().map(|x| fix(locator, x)).collect::<Vec<_>>(),
        }),
        locator.span(&f.range),
    )
}

fn fix(locator: &Locator<'_>, fix: &PlannedFix) -> Value {
    match &fix.edits {
        Ok(edits) => json!({
            "title": fix.title,
            "safety": fix.safety.as_str(),
            "available": true,
            "edits": edits
                .iter()
                .map(|e| with_span(json!({ "content": e.content }), locator.span(&e.range)))
                .collect::<Vec<_>>(),
        }),
        Err(reason) => json!({
            "title": fix.title,
            "safety": fix.safety.as_str(),
            "available": false,
            "reason": reason,
            "edits": [],
        }),
    }
}
