//! Robustness over real-world domain XML (libvirt's and virt-manager's test data in
//! ../shared/corpus, never committed here): every file is parsed, linted and fixed
//! (unsafe fixes included) without a panic; a fix never breaks a well-formed file; and
//! fixed output of a file the libvirt 11.3 schema accepted still passes that schema.
//! Runs only when VIRT_LINT_CORPUS names the corpus folder (as .ci/run does).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use virt_lint::engine;
use virt_lint::pipeline::{self, FixResult, Options, Outcome};
use virt_lint::rules::{Safety, load_builtin};

#[test]
fn corpus_lints_and_fixes_cleanly() {
    let Some(dir) = std::env::var_os("VIRT_LINT_CORPUS").map(PathBuf::from) else {
        eprintln!("skipped: set VIRT_LINT_CORPUS to the corpus folder to run this check");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (file_col, valid_col) = (col("local_file"), col("valid_per_libvirt_11.3_schema"));

    let rules = load_builtin().unwrap();
    let schema = common::domain_schema();
    let xmllint = schema.is_some() && common::have_tool("xmllint");
    let out_dir = tempfile::tempdir().unwrap();
    let (mut files, mut domains, mut findings, mut fixed, mut validated) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let path = dir.join(cells[file_col]);
        let schema_valid = cells.get(valid_col) == Some(&"yes");
        files += 1;
        let bytes = std::fs::read(&path).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(
            || -> Result<Option<(usize, Option<String>)>, String> {
                let linted =
                    match pipeline::check_bytes(&bytes, &rules, Options::fix(Safety::Unsafe)) {
                        Outcome::Linted(linted) => linted,
                        Outcome::Skipped { .. } | Outcome::Invalid(_) => return Ok(None),
                    };
                // The engine's shortcuts (the prefilter that skips rules for elements
                // the file lacks, the element index) change no finding.
                if let Ok(doc) = virt_lint::document::Document::parse(&linted.text) {
                    let key = |f: virt_lint::engine::Finding| {
                        let related: Vec<_> = f.related.into_iter().map(|r| r.range).collect();
                        (f.rule_id, f.range, f.message, related)
                    };
                    let with: Vec<_> = engine::lint_with(&doc, &rules, true)
                        .into_iter()
                        .map(key)
                        .collect();
                    let without: Vec<_> = engine::lint_with(&doc, &rules, false)
                        .into_iter()
                        .map(key)
                        .collect();
                    if with != without {
                        return Err(format!(
                            "the engine's shortcuts changed the findings: {with:?} vs {without:?}"
                        ));
                    }
                }
                let changed = match linted.fix {
                    FixResult::Refused(e) => return Err(e.message),
                    FixResult::NotFixed => None,
                    FixResult::Fixed(fixed) => Some(fixed.text),
                };
                if let Some(new) = &changed {
                    match pipeline::check_text(new, &rules, Options::fix(Safety::Unsafe)) {
                        Outcome::Linted(again) => match again.fix {
                            FixResult::NotFixed => {}
                            FixResult::Fixed(_) => {
                                return Err("fixing twice changed the text again".into());
                            }
                            FixResult::Refused(e) => {
                                return Err(format!("fixing the fixed text failed: {e}"));
                            }
                        },
                        other => return Err(format!("fixed output does not lint: {other:?}")),
                    }
                }
                Ok(Some((linted.findings.len(), changed)))
            },
        ));
        match outcome {
            Err(_) => failures.push(format!("{}: panicked", path.display())),
            Ok(Err(e)) => failures.push(format!("{}: {e}", path.display())),
            Ok(Ok(None)) => {}
            Ok(Ok(Some((found, changed)))) => {
                domains += 1;
                findings += found;
                if let Some(new) = changed {
                    fixed += 1;
                    if schema_valid && xmllint {
                        let out = out_dir.path().join(path.file_name().unwrap());
                        std::fs::write(&out, &new).unwrap();
                        validated += 1;
                        if let Err(e) = common::xmllint_validate(schema.as_ref().unwrap(), &out) {
                            failures.push(format!(
                                "{}: fixed output fails the schema: {e}",
                                path.display()
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "corpus: {files} files, {domains} domains linted, {findings} findings, {fixed} fixed, {validated} fixed files schema-checked"
    );
    assert!(domains > 0, "no domain in the corpus was linted");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
