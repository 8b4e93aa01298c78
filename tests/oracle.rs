//! The oracle measurement: how much of what libvirt refuses do the rules catch, and do they
//! stay quiet on what libvirt accepts?
//!
//! Input: a TSV of rejected domain files (columns `corpus_file`, `stage`, `kind`,
//! `libvirt_message`; found by header name, so extra columns are fine) and a corpus folder.
//! Every file of the corpus whose path starts with one of the accepted prefixes and that the
//! TSV does not name is a file libvirt accepts (or the list in `VIRT_LINT_ACCEPTED`).
//!
//! Run it with
//!
//! ```sh
//! cargo test --release --test oracle -- --ignored --nocapture
//! ```
//!
//! Environment (all optional):
//! - `VIRT_LINT_ORACLE`: the rejects TSV (default `../shared/oracles/libvirt-9.0-rejects.tsv`)
//! - `VIRT_LINT_CORPUS`: the corpus folder (default `../shared/corpus`)
//! - `VIRT_LINT_ACCEPTED`: a file listing the accepted files, one path per line relative to
//!   the corpus (default: the accepted prefixes below, minus the rejected files)
//! - `VIRT_LINT_ACCEPTED_PREFIXES`: comma-separated path prefixes of the accepted files
//!   (default `libvirt/qemuxml2argvdata__,libvirt/qemuxml2xmloutdata__,libvirt/genericxml2xmlindata__`)
//! - `VIRT_LINT_ORACLE_RULES`: extra rule files or folders (`:`-separated) loaded beside the
//!   built-in rules
//! - `VIRT_LINT_ORACLE_REPORT`: also write the report to this file
//! - `VIRT_LINT_ORACLE_ENFORCE=1`: fail unless at least 80 % of the `xml` rows are flagged
//!   and no accepted file gets an error finding

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use virt_lint::document::{Document, decode};
use virt_lint::engine;
use virt_lint::rules::{RuleSet, Severity, load_rule_sets};

const DEFAULT_PREFIXES: &str =
    "libvirt/qemuxml2argvdata__,libvirt/qemuxml2xmloutdata__,libvirt/genericxml2xmlindata__";

/// One row of the rejects TSV.
struct Reject {
    file: String,
    stage: String,
    kind: String,
    message: String,
}

/// What the rules said about one file.
#[derive(Default)]
struct FileResult {
    /// `None` when the file is not a domain or does not parse.
    domain_type: Option<String>,
    /// Rule id → (severity, number of findings).
    rules: BTreeMap<String, (Severity, usize)>,
}

impl FileResult {
    fn error_rules(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|(_, (sev, _))| *sev == Severity::Error)
            .map(|(id, _)| id.as_str())
            .collect()
    }
}

/// The figures of one run.
struct Measurement {
    report: String,
    xml_rows: usize,
    xml_flagged: usize,
    accepted_with_errors: usize,
}

fn read_rejects(tsv: &str) -> Vec<Reject> {
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let file_col = col("corpus_file").expect("the oracle TSV has no corpus_file column");
    let (stage_col, kind_col, message_col) = (col("stage"), col("kind"), col("libvirt_message"));
    let cell = |cells: &[&str], c: Option<usize>| {
        c.and_then(|c| cells.get(c))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "-".to_string())
    };
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            Reject {
                file: cells[file_col].trim().to_string(),
                stage: cell(&cells, stage_col),
                kind: cell(&cells, kind_col),
                message: cell(&cells, message_col),
            }
        })
        .collect()
}

/// Every `*.xml` file below `dir`, as `/`-separated paths relative to it, sorted.
fn corpus_files(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                let rel = path.strip_prefix(base).unwrap();
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn lint_file(path: &Path, rules: &RuleSet) -> FileResult {
    let mut result = FileResult::default();
    let Ok(bytes) = std::fs::read(path) else {
        return result;
    };
    let Ok(text) = decode(bytes) else {
        return result;
    };
    let Ok(doc) = Document::parse(&text) else {
        return result;
    };
    if !engine::is_domain(&doc) {
        return result;
    }
    result.domain_type = Some(doc.root().attribute("type").unwrap_or("(none)").to_string());
    for finding in engine::lint(&doc, rules) {
        let entry = result
            .rules
            .entry(finding.rule_id)
            .or_insert((finding.severity, 0));
        entry.1 += 1;
    }
    result
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Lint the corpus and compare with the oracle.
fn measure(
    rejects: &[Reject],
    corpus: &Path,
    accepted_list: Option<Vec<String>>,
    prefixes: &[String],
    rules: &RuleSet,
) -> Measurement {
    let mut files = corpus_files(corpus);
    // Rejected or listed files outside the *.xml walk still count.
    for extra in rejects
        .iter()
        .map(|r| &r.file)
        .chain(accepted_list.iter().flatten())
    {
        if !files.contains(extra) {
            files.push(extra.clone());
        }
    }
    let results: BTreeMap<&str, FileResult> = files
        .iter()
        .map(|f| (f.as_str(), lint_file(&corpus.join(f), rules)))
        .collect();
    let rejected: BTreeSet<&str> = rejects.iter().map(|r| r.file.as_str()).collect();
    let accepted: Vec<&str> = match &accepted_list {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => files
            .iter()
            .map(String::as_str)
            .filter(|f| prefixes.iter().any(|p| f.starts_with(p.as_str())))
            .filter(|f| !rejected.contains(f))
            .collect(),
    };

    let mut out = String::new();
    let mut xml_rows = 0;
    let mut xml_flagged = 0;

    // Rejected files, per stage and kind.
    let mut groups: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut missed = Vec::new();
    for r in rejects {
        let flagged = results
            .get(r.file.as_str())
            .is_some_and(|res| !res.error_rules().is_empty());
        let g = groups.entry((&r.stage, &r.kind)).or_default();
        g.0 += 1;
        if flagged {
            g.1 += 1;
        } else {
            missed.push(r);
        }
        if r.kind == "xml" {
            xml_rows += 1;
            xml_flagged += usize::from(flagged);
        }
    }
    writeln!(out, "## Rejected files with at least one error finding\n").unwrap();
    writeln!(out, "| stage | kind | rows | flagged | share |").unwrap();
    writeln!(out, "|---|---|---:|---:|---:|").unwrap();
    let (mut rows, mut flagged) = (0, 0);
    for ((stage, kind), (n, f)) in &groups {
        writeln!(
            out,
            "| {stage} | {kind} | {n} | {f} | {:.1} % |",
            percent(*f, *n)
        )
        .unwrap();
        rows += n;
        flagged += f;
    }
    writeln!(
        out,
        "| all | all | {rows} | {flagged} | {:.1} % |",
        percent(flagged, rows)
    )
    .unwrap();
    writeln!(
        out,
        "\nkind=xml: {xml_flagged} of {xml_rows} flagged ({:.1} %)\n",
        percent(xml_flagged, xml_rows)
    )
    .unwrap();
    writeln!(out, "### Rejected rows without an error finding\n").unwrap();
    for r in &missed {
        writeln!(out, "- {} [{} {}]: {}", r.file, r.stage, r.kind, r.message).unwrap();
    }

    // Accepted files.
    let mut accepted_with_errors = 0;
    let mut accepted_domains = 0;
    let mut listing = String::new();
    for f in &accepted {
        let Some(res) = results.get(f) else { continue };
        if res.domain_type.is_some() {
            accepted_domains += 1;
        }
        let errors = res.error_rules();
        if !errors.is_empty() {
            accepted_with_errors += 1;
            writeln!(listing, "- {f}: {}", errors.join(", ")).unwrap();
        }
    }
    writeln!(
        out,
        "\n## Accepted files with an error finding: {accepted_with_errors} of {} ({accepted_domains} domains)\n",
        accepted.len()
    )
    .unwrap();
    out.push_str(&listing);

    // Per-rule counts over the whole corpus, as a share of the files of each domain type.
    let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
    for res in results.values() {
        if let Some(t) = &res.domain_type {
            *per_type.entry(t.as_str()).or_default() += 1;
        }
    }
    let domains: usize = per_type.values().sum();
    writeln!(
        out,
        "\n## Per-rule counts over the corpus ({domains} domains: {})\n",
        per_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
    .unwrap();
    writeln!(
        out,
        "| rule | severity | files | findings | rejected files | accepted files | by domain type | max share |"
    )
    .unwrap();
    writeln!(out, "|---|---|---:|---:|---:|---:|---|---:|").unwrap();
    let accepted_set: BTreeSet<&str> = accepted.iter().copied().collect();
    for rule in &rules.rules {
        let mut files_hit = 0;
        let mut findings = 0;
        let mut on_rejected = 0;
        let mut on_accepted = 0;
        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        for (f, res) in &results {
            let Some((_, n)) = res.rules.get(&rule.id) else {
                continue;
            };
            files_hit += 1;
            findings += n;
            on_rejected += usize::from(rejected.contains(f));
            on_accepted += usize::from(accepted_set.contains(f));
            if let Some(t) = &res.domain_type {
                *by_type.entry(t.as_str()).or_default() += 1;
            }
        }
        let max_share = by_type
            .iter()
            .map(|(t, n)| percent(*n, per_type[t]))
            .fold(0.0, f64::max);
        let types = by_type
            .iter()
            .map(|(t, n)| {
                format!(
                    "{t} {n}/{} ({:.1} %)",
                    per_type[t],
                    percent(*n, per_type[t])
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "| {} | {} | {files_hit} | {findings} | {on_rejected} | {on_accepted} | {} | {:.1} %{} |",
            rule.id,
            rule.severity,
            if types.is_empty() { "-" } else { &types },
            max_share,
            if max_share > 10.0 { " (>10 %)" } else { "" }
        )
        .unwrap();
    }

    Measurement {
        report: out,
        xml_rows,
        xml_flagged,
        accepted_with_errors,
    }
}

fn env_path(name: &str, default: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(default))
}

#[test]
#[ignore = "measurement over ../shared: cargo test --release --test oracle -- --ignored --nocapture"]
fn oracle_measurement() {
    let tsv_path = env_path(
        "VIRT_LINT_ORACLE",
        "../shared/oracles/libvirt-9.0-rejects.tsv",
    );
    let corpus = env_path("VIRT_LINT_CORPUS", "../shared/corpus");
    let tsv = std::fs::read_to_string(&tsv_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", tsv_path.display()));
    let rejects = read_rejects(&tsv);
    let accepted_list = std::env::var_os("VIRT_LINT_ACCEPTED").map(|p| {
        std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", Path::new(&p).display()))
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect()
    });
    let prefixes: Vec<String> = std::env::var("VIRT_LINT_ACCEPTED_PREFIXES")
        .unwrap_or_else(|_| DEFAULT_PREFIXES.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let extra: Vec<PathBuf> = std::env::var_os("VIRT_LINT_ORACLE_RULES")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    let rules = load_rule_sets(&extra).unwrap_or_else(|errors| {
        panic!(
            "rule files do not load:\n{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });

    let m = measure(&rejects, &corpus, accepted_list, &prefixes, &rules);
    let report = format!(
        "# Oracle measurement\n\noracle: {}\ncorpus: {}\nrules: {}\n\n{}",
        tsv_path.display(),
        corpus.display(),
        rules.rules.len(),
        m.report
    );
    println!("{report}");
    if let Some(out) = std::env::var_os("VIRT_LINT_ORACLE_REPORT") {
        std::fs::write(&out, &report).expect("cannot write the report");
    }
    if std::env::var("VIRT_LINT_ORACLE_ENFORCE").is_ok_and(|v| v == "1") {
        assert!(
            m.xml_flagged * 100 >= m.xml_rows * 80,
            "only {} of {} kind=xml rows flagged",
            m.xml_flagged,
            m.xml_rows
        );
        assert_eq!(
            m.accepted_with_errors, 0,
            "accepted files with an error finding"
        );
    }
}

/// The measurement itself, on a corpus of three files written here.
#[test]
fn measurement_counts_rejected_accepted_and_rules() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("set");
    std::fs::create_dir(&sub).unwrap();
    let synic_alone =
        "<domain type='kvm'><features><hyperv><synic state='on'/></hyperv></features></domain>";
    std::fs::write(sub.join("acc__clean.xml"), "<domain type='kvm'/>").unwrap();
    std::fs::write(sub.join("acc__synic.xml"), synic_alone).unwrap();
    std::fs::write(sub.join("rej__synic.xml"), synic_alone).unwrap();
    std::fs::write(sub.join("rej__clean.xml"), "<domain type='qemu'/>").unwrap();
    std::fs::write(sub.join("other.xml"), "<network/>").unwrap();
    let tsv = "corpus_file\tstage\tkind\tlibvirt_message\n\
               set/rej__synic.xml\tcmdline\txml\tHyper-V synic requires vpindex\n\
               set/rej__clean.xml\tparse\txml\tsomething else\n";
    let rules = load_rule_sets(&[]).unwrap();
    let m = measure(
        &read_rejects(tsv),
        dir.path(),
        None,
        &["set/acc__".to_string(), "set/rej__".to_string()],
        &rules,
    );
    assert_eq!(
        (m.xml_rows, m.xml_flagged, m.accepted_with_errors),
        (2, 1, 1)
    );
    assert!(
        m.report.contains("| cmdline | xml | 1 | 1 | 100.0 % |\n| parse | xml | 1 | 0 | 0.0 % |\n| all | all | 2 | 1 | 50.0 % |"),
        "{}",
        m.report
    );
    assert!(
        m.report
            .contains("- set/rej__clean.xml [parse xml]: something else\n"),
        "{}",
        m.report
    );
    assert!(
        m.report.contains("## Accepted files with an error finding: 1 of 2 (2 domains)\n\n- set/acc__synic.xml: hyperv/synic-requires-vpindex\n"),
        "{}",
        m.report
    );
    assert!(
        m.report.contains("(4 domains: kvm 3, qemu 1)"),
        "{}",
        m.report
    );
    assert!(
        m.report.contains(
            "| hyperv/synic-requires-vpindex | error | 2 | 2 | 1 | 1 | kvm 2/3 (66.7 %) | 66.7 % (>10 %) |"
        ),
        "{}",
        m.report
    );

    // An explicit list of accepted files replaces the prefixes.
    let m = measure(
        &read_rejects(tsv),
        dir.path(),
        Some(vec!["set/acc__clean.xml".to_string()]),
        &[],
        &rules,
    );
    assert_eq!(m.accepted_with_errors, 0);
    assert!(
        m.report.contains("error finding: 0 of 1 (1 domains)"),
        "{}",
        m.report
    );
}
