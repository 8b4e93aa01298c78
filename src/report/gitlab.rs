//! `--format gitlab`: a GitLab Code Quality report (a JSON array). Fingerprints come from
//! the path, the rule and the element's identity, so they survive unrelated edits.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::machine::{Locator, RunReport, fingerprints, hex128, relative_path};
use crate::rules::Severity;

pub fn emit(out: &mut dyn Write, run: &RunReport<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(run))?;
    writeln!(out)
}

pub fn document(run: &RunReport<'_>) -> Value {
    let mut issues = Vec::new();
    for file in &run.files {
        let locator = Locator::new(file.text);
        let path = relative_path(file.name);
        let prints = fingerprints(&path, file.text, file.findings);
        for (f, print) in file.findings.iter().zip(prints) {
            let s = locator.span(&f.range);
            issues.push(json!({
                "type": "issue",
                "description": f.message,
                "check_name": f.rule_id,
                "fingerprint": print,
                "severity": severity(f.severity),
                "location": {
                    "path": path,
                    "lines": { "begin": s.start.line, "end": s.end.line },
                },
            }));
        }
    }
    for e in &run.errors {
        let path = relative_path(&e.name);
        issues.push(json!({
            "type": "issue",
            "description": e.message,
            "check_name": "virt-lint/input-error",
            "fingerprint": hex128(&format!("{path}\u{0}input-error")),
            "severity": "blocker",
            "location": {
                "path": path,
                "lines": { "begin": e.position.map_or(1, |p| p.line) },
            },
        }));
    }
    Value::Array(issues)
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}
