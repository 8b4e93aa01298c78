//! The lint run, `virt-lint [PATH...]`: load the rules, find the inputs, run
//! [`pipeline`] over each (in parallel), write fixed files, then report in input order and
//! pick the exit code.
//!
//! Where things go: `process` is the per-input I/O (read, pipeline, write); the
//! `Reporter` decides which stream gets what (findings, errors, notes, patches, fixed
//! documents, the summary) and counts what the summary and exit code need.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::settings_cmd::{command_line, print_settings_error};
use super::{CheckArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Format, Mode, use_color};
use crate::document::{Document, LineIndex, Position};
use crate::fix::PlannedFinding as Finding;
use crate::inputs::{self, Input, InputError};
use crate::live::LiveDomain;
use crate::pipeline::{self, FixResult, Options, Outcome, Suppressions};
use crate::repo;
use crate::report::machine::{ErrorReport, FileReport, RunReport};
use crate::report::text::TextEmitter;
use crate::report::{FileFindings, Summary, concise, github, gitlab, json, junit, plural, sarif};
use crate::rules::{Safety, Severity};
use crate::select::RuleInfo;
use crate::settings::{Resolver, Settings};
use crate::suppress;

/// `virt-lint [PATH...]`.
pub fn run(args: &CheckArgs) -> u8 {
    let (paths, ignored) = args.inputs();
    for path in ignored {
        eprintln!("warning: ignoring {path}: --stdin-filename reads standard input");
    }
    let found = inputs::discover(&paths);
    if !args.quiet {
        for note in &found.notes {
            eprintln!("note: {}: {}", note.path, note.message);
        }
    }
    let mut found_inputs = found.inputs;
    let mut errors = found.errors;
    let live = super::live::inputs(args);
    found_inputs.extend(live.inputs);
    errors.extend(live.errors);
    let mut searched = paths;
    searched.extend(args.connect.iter().cloned());
    let run = run_with_live(args, &searched, &found_inputs, &errors, &live.domains);
    let code = run.code;
    // The process exits next. Freeing the rule sets, documents and findings one
    // allocation at a time would cost about as much as linting one file did
    // (scripts/startup-bench.sh), so they are left to the operating system.
    std::mem::forget(run);
    code
}

/// What a run leaves behind: its exit code, and the state it built (kept so that the
/// binary can exit without freeing it).
struct Run {
    code: u8,
    _state: Option<(Resolver, Vec<FileResult>)>,
}

impl Run {
    fn early(code: u8) -> Run {
        Run { code, _state: None }
    }
}

/// The run over inputs already found (files, standard input, in-memory documents such as
/// live domains) from `paths` (as the user wrote them, for messages), with the problems
/// found while looking for them. Each input gets the settings of its config file (the
/// current folder's when it is not a file); inputs an `exclude` pattern matches are left
/// out.
pub fn run_inputs(
    args: &CheckArgs,
    paths: &[String],
    inputs: &[Input],
    input_errors: &[InputError],
) -> u8 {
    run_with_live(args, paths, inputs, input_errors, &HashMap::new()).code
}

/// [`run_inputs`], where `live` names the live domain behind each in-memory input that is
/// one: `--fix` redefines those, and repository rules compare names and ports per host.
fn run_with_live(
    args: &CheckArgs,
    paths: &[String],
    inputs: &[Input],
    input_errors: &[InputError],
    live: &HashMap<String, LiveDomain>,
) -> Run {
    for warning in super::empty_rule_folders(&args.rules.rules) {
        eprintln!("{warning}");
    }
    let fail_on = args.fail_on.map(|f| f.threshold());
    let mut resolver = Resolver::new(command_line(&args.rules, &args.settings, fail_on));
    let mut jobs: Vec<(&Input, Arc<Settings>)> = Vec::new();
    for input in inputs {
        let path = match input {
            Input::File(p) => Some(p.as_path()),
            Input::Stdin => args.stdin_filename.as_deref().map(Path::new),
            Input::Document { .. } => None,
        };
        let settings = match resolver.settings_for(path) {
            Ok(s) => s,
            Err(e) => return Run::early(print_settings_error(&e)),
        };
        if let Some(p) = path
            && settings.is_excluded(p)
        {
            continue;
        }
        jobs.push((input, settings));
    }
    // Without inputs, command-line and config errors are still reported.
    if jobs.is_empty()
        && let Err(e) = resolver.settings_for(None)
    {
        return Run::early(print_settings_error(&e));
    }
    let stdin_name = args.stdin_filename.as_deref().unwrap_or("-");
    let run = |(input, settings): &(&Input, _)| process(input, stdin_name, settings, args);
    // One input needs no thread pool: starting rayon's would cost more than the lint.
    let mut results: Vec<FileResult> = if jobs.len() > 1 {
        jobs.par_iter().map(run).collect()
    } else {
        jobs.iter().map(run).collect()
    };
    if args.mode() == Mode::Fix && !live.is_empty() {
        super::live::redefine(args, &mut results, live);
    }
    add_repo_findings(&mut results, live);

    let has_stdin = jobs.iter().any(|(i, _)| **i == Input::Stdin);
    let mut reporter = match Reporter::new(args, has_stdin) {
        Ok(r) => r,
        Err(code) => return Run::early(code),
    };
    for e in input_errors {
        reporter.input_error(&e.path, &e.message);
    }
    for result in &results {
        reporter.file(result);
    }
    let code = reporter.finish(paths, &results);
    drop(jobs);
    Run {
        code,
        _state: Some((resolver, results)),
    }
}

/// Run the repository rules over every linted document, and add their findings to each
/// document's (so that every output format reports them like the others). Each document
/// is compared with the repository rules its own settings enable.
fn add_repo_findings(results: &mut [FileResult], live: &HashMap<String, LiveDomain>) {
    let mut per_result: Vec<Vec<Finding>> = vec![Vec::new(); results.len()];
    {
        let mut rules: Vec<repo::RepoRule<'_>> = Vec::new();
        for result in results.iter() {
            for rule in repo::repo_rules(&result.settings.rules) {
                if !rules.iter().any(|r| r.id == rule.id) {
                    rules.push(rule);
                }
            }
        }
        if rules.is_empty() {
            return;
        }
        let (owners, docs): (Vec<usize>, Vec<repo::RunDocument<'_>>) = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let linted = r.linted()?;
                Some((
                    i,
                    repo::RunDocument {
                        name: &r.name,
                        host: live.get(&r.name).map(|d| d.uri.as_str()),
                        facts: &linted.repo,
                    },
                ))
            })
            .unzip();
        for finding in repo::evaluate(&docs, &rules) {
            let other = docs[finding.related.doc].name;
            per_result[owners[finding.doc]].push(finding.into_finding(other));
        }
    }
    for (result, extra) in results.iter_mut().zip(per_result) {
        if extra.is_empty() {
            continue;
        }
        if let Ok(Outcome::Linted(linted)) = &mut result.outcome {
            let findings = match &mut linted.fix {
                FixResult::Fixed(fixed) => &mut fixed.findings,
                _ => &mut linted.findings,
            };
            findings.extend(extra);
            findings.sort_by(|a, b| (a.range.start, &a.rule_id).cmp(&(b.range.start, &b.rule_id)));
        }
    }
}

/// One input after the pipeline (and, with `--fix` or `--add-ignore`, the write).
pub struct FileResult {
    /// The name shown for the input.
    pub name: String,
    /// Headers for its patch with `--diff` (see [`crate::diff::patch_path`]).
    pub diff_path: String,
    /// The pipeline's outcome, or why the input could not be read.
    pub outcome: Result<Outcome, String>,
    /// With `--fix`: why the fixed text could not be written (the input is unchanged).
    pub write_error: Option<String>,
    /// With `--fix -`: the complete document for standard output — the fixed text, or
    /// the input exactly as read when it was not fixed (whatever the reason).
    pub echo: Option<Vec<u8>>,
    /// The settings the input was linted with.
    pub settings: Arc<Settings>,
    /// With `--add-ignore`: how many suppression comments were added.
    pub added: usize,
    /// With `--fix` on a live domain: virsh's report of the new definition.
    pub redefined: Option<String>,
    /// A live domain (not a file): the summary counts it as a domain.
    pub live: bool,
}

impl FileResult {
    /// The linted domain, unless its fix was refused or could not be written.
    pub(crate) fn linted(&self) -> Option<&pipeline::Linted> {
        match &self.outcome {
            Ok(Outcome::Linted(l))
                if self.write_error.is_none() && !matches!(l.fix, FixResult::Refused(_)) =>
            {
                Some(l)
            }
            _ => None,
        }
    }
}

fn process(
    input: &Input,
    stdin_name: &str,
    settings: &Arc<Settings>,
    args: &CheckArgs,
) -> FileResult {
    let mode = args.mode();
    let name = input.name(stdin_name);
    let diff_path = match input {
        Input::File(path) => crate::diff::patch_path(path),
        Input::Stdin => crate::diff::patch_path(std::path::Path::new(&name)),
        Input::Document { name, .. } => name.clone(),
    };
    let mut result = FileResult {
        name,
        diff_path,
        outcome: Err(String::new()),
        write_error: None,
        echo: None,
        settings: settings.clone(),
        added: 0,
        redefined: None,
        live: matches!(input, Input::Document { .. }),
    };
    let bytes = match input.read() {
        Ok(b) => b,
        Err(e) => {
            result.outcome = Err(format!("cannot read: {e}"));
            return result;
        }
    };
    // Human output shows (text help) or counts (the summary) each finding's fixes.
    let options = match mode {
        Mode::Check => Options::PLAN,
        Mode::Fix | Mode::Diff => Options::fix(args.allowed()),
    };
    let known: Vec<RuleInfo<'_>> = settings.known();
    let suppressions = Suppressions {
        known: &known,
        options: suppress::Options {
            disabled: args.no_inline_ignores,
            require_reason: args.require_reason,
        },
    };
    let rules = &settings.rules;
    let mut outcome = pipeline::check_bytes_with(&bytes, rules, options, Some(suppressions));
    if args.add_ignore {
        add_ignores(
            input,
            &bytes,
            &mut outcome,
            &mut result,
            rules,
            suppressions,
        );
        result.outcome = Ok(outcome);
        return result;
    }
    let fixed = match &outcome {
        Outcome::Linted(linted) => linted.fixed(),
        _ => None,
    };
    if mode == Mode::Fix {
        if *input == Input::Stdin {
            result.echo = Some(match fixed {
                Some(fixed) => fixed.text.clone().into_bytes(),
                None => bytes.into_owned(),
            });
        } else if let Some(fixed) = fixed
            && matches!(input, Input::File(_))
            && let Err(e) = input.write(fixed.text.as_bytes())
        {
            result.write_error = Some(format!("cannot write the fixed file: {e}; it is unchanged"));
        }
    }
    result.outcome = Ok(outcome);
    result
}

/// `--add-ignore`: write a suppression comment above every finding, then lint the result
/// (standard input: the annotated document goes to standard output).
fn add_ignores(
    input: &Input,
    bytes: &[u8],
    outcome: &mut Outcome,
    result: &mut FileResult,
    rules: &crate::rules::RuleSet,
    suppressions: Suppressions<'_>,
) {
    let mut annotated = None;
    if let Outcome::Linted(linted) = &*outcome
        && let Ok(doc) = Document::parse(&linted.text)
    {
        let plain: Vec<crate::engine::Finding> =
            linted.findings.iter().map(|f| f.finding.clone()).collect();
        let (text, added) = suppress::add_ignores(&doc, &plain);
        if added > 0 {
            result.added = added;
            annotated = Some(text);
        }
    }
    if let Some(text) = &annotated {
        *outcome = pipeline::check_text_with(text, rules, Options::LINT, Some(suppressions));
    }
    if *input == Input::Stdin {
        result.echo = Some(annotated.map_or_else(|| bytes.to_vec(), String::into_bytes));
    } else if let Some(text) = annotated
        && let Err(e) = input.write(text.as_bytes())
    {
        result.write_error = Some(format!("cannot write the file: {e}; it is unchanged"));
    }
}

/// Prints results in input order and keeps what the summary and exit code need.
///
/// Standard output carries the payload: findings and the summary normally; with `--diff`
/// the patches only, and with `--fix -` the fixed document only. Everything else (errors,
/// notes, and in those two modes the findings and the summary) goes to stderr.
struct Reporter<'a> {
    args: &'a CheckArgs,
    mode: Mode,
    allowed: Safety,
    /// Findings and the summary: stdout, or stderr when stdout carries a payload.
    out: Box<dyn Write>,
    text: TextEmitter,
    /// Colour for `out` in the concise format, and for patches on stdout.
    out_color: bool,
    diff_color: bool,
    errors: TextEmitter,
    summary: Summary,
    any_diff: bool,
    any_changed: bool,
    /// A file has findings at or above its `fail-on`.
    failing: bool,
    /// `--statistics`: per rule id, (findings, fixable ones, severity).
    statistics: BTreeMap<String, (usize, usize, Severity)>,
    /// Inputs that could not be linted, for the machine formats.
    error_reports: Vec<ErrorReport>,
    added: usize,
    files_added: usize,
}

impl<'a> Reporter<'a> {
    fn new(args: &'a CheckArgs, has_stdin: bool) -> Result<Self, u8> {
        let mode = args.mode();
        // Machine formats own standard output (or --output): the summary goes to stderr.
        let to_stderr = mode == Mode::Diff
            || ((mode == Mode::Fix || args.add_ignore) && has_stdin)
            || args.format.is_machine();
        let (out, out_is_terminal): (Box<dyn Write>, bool) = if to_stderr {
            (Box::new(io::stderr()), io::stderr().is_terminal())
        } else if let Some(path) = &args.output {
            match std::fs::File::create(path) {
                Ok(f) => (Box::new(io::BufWriter::new(f)), false),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return Err(EXIT_ERROR);
                }
            }
        } else {
            (Box::new(io::stdout()), io::stdout().is_terminal())
        };
        let out_color = use_color(args.color, out_is_terminal);
        Ok(Reporter {
            args,
            mode,
            allowed: args.allowed(),
            out,
            text: TextEmitter::new(out_color),
            out_color,
            diff_color: use_color(args.color, io::stdout().is_terminal()),
            errors: TextEmitter::new(use_color(args.color, io::stderr().is_terminal())),
            summary: Summary::default(),
            any_diff: false,
            any_changed: false,
            failing: false,
            statistics: BTreeMap::new(),
            error_reports: Vec::new(),
            added: 0,
            files_added: 0,
        })
    }

    fn input_error(&mut self, path: &str, message: &str) {
        self.summary.failed += 1;
        self.error_reports.push(ErrorReport {
            name: path.to_string(),
            message: message.to_string(),
            position: None,
        });
        eprintln!("error: {path}: {message}");
    }

    fn findings(&mut self, name: &str, text: &str, findings: &[Finding], live: bool) {
        let file = FileFindings {
            name,
            text,
            findings,
        };
        for f in findings {
            let entry = self
                .statistics
                .entry(f.rule_id.clone())
                .or_insert((0, 0, f.severity));
            entry.0 += 1;
            if f.fix_edits(self.allowed).is_some() {
                entry.1 += 1;
            }
        }
        if !self.args.statistics {
            let _ = match self.args.format {
                Format::Text => self.text.emit(&mut *self.out, &file),
                Format::Concise => concise::emit(&mut *self.out, &file, self.out_color),
                // Written once, at the end.
                _ => Ok(()),
            };
        }
        self.summary.add_findings(findings, self.allowed, live);
    }

    fn error(&mut self, name: &str, message: &str, position: Option<Position>, text: Option<&str>) {
        self.error_reports.push(ErrorReport {
            name: name.to_string(),
            message: message.to_string(),
            position,
        });
        print_file_error(
            &self.errors,
            self.args.format,
            name,
            message,
            position,
            text,
        );
    }

    fn file(&mut self, result: &FileResult) {
        if let Some(document) = &result.echo {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(document);
            let _ = stdout.flush();
        }
        let name = result.name.as_str();
        let outcome = match &result.outcome {
            Ok(outcome) => outcome,
            Err(message) => {
                self.summary.failed += 1;
                return self.error(name, message, None, None);
            }
        };
        let linted = match outcome {
            Outcome::Skipped { reason } => {
                self.summary.skipped += 1;
                if !self.args.quiet {
                    eprintln!("note: {name}: {reason}; skipped");
                }
                return;
            }
            Outcome::Invalid(invalid) => {
                self.summary.failed += 1;
                return self.error(
                    name,
                    &invalid.message,
                    invalid.position,
                    invalid.text.as_deref(),
                );
            }
            Outcome::Linted(linted) => linted,
        };
        self.summary.checked.add(result.live);
        // A fix that was refused or could not be written: an error, and the findings of
        // the text as it stays.
        let failure = match (&linted.fix, &result.write_error) {
            (FixResult::Refused(e), _) => Some(e.message.as_str()),
            (_, Some(e)) => Some(e.as_str()),
            _ => None,
        };
        if let Some(message) = failure {
            self.summary.unfixed.add(result.live);
            self.error(name, message, None, None);
            self.findings(name, &linted.text, &linted.findings, result.live);
            return;
        }
        if result.added > 0 {
            self.added += result.added;
            self.files_added += 1;
        }
        if let Some(report) = &result.redefined {
            let _ = writeln!(
                self.out,
                "Redefined {name} ({report}). The new definition takes effect at the domain's next cold boot: shut it down and start it (a reboot keeps the running configuration).\n"
            );
        }
        if let Some(fixed) = linted.fixed() {
            self.any_changed = true;
            self.summary.fixed += fixed.applied.len();
            self.summary.fixed_in.add(result.live);
            if self.mode == Mode::Diff {
                self.any_diff = true;
                let patch = crate::diff::unified(&result.diff_path, &linted.text, &fixed.text);
                let patch = if self.diff_color {
                    crate::diff::colorize(&patch)
                } else {
                    patch
                };
                let _ = io::stdout().lock().write_all(patch.as_bytes());
            }
        }
        let remaining = linted.remaining();
        if remaining
            .iter()
            .any(|f| f.severity >= result.settings.fail_on.value)
        {
            self.failing = true;
        }
        if self.mode == Mode::Diff {
            // The patch is the payload; what remains is named in the summary.
            self.summary
                .add_findings(remaining, self.allowed, result.live);
            let allowed = self.allowed;
            self.summary.unfixable.extend(
                remaining
                    .iter()
                    .filter(|f| f.fix_edits(allowed).is_none())
                    .map(|f| {
                        let hint = match &f.fix {
                            _ if f.fix_edits(Safety::Unsafe).is_some() => {
                                " (unsafe fix not included)".to_string()
                            }
                            Some(fix) => match &fix.edits {
                                Err(reason) => format!(" (no fix: {reason})"),
                                Ok(_) => String::new(),
                            },
                            None => String::new(),
                        };
                        format!(
                            "{name}:{}: {}[{}] {}{hint}",
                            f.position, f.severity, f.rule_id, f.message
                        )
                    }),
            );
            return;
        }
        self.findings(name, linted.final_text(), remaining, result.live);
    }

    /// The machine formats: the whole run at once, on standard output or `--output`.
    fn machine(&mut self, results: &[FileResult]) {
        let mut run = RunReport {
            files: Vec::new(),
            errors: std::mem::take(&mut self.error_reports),
        };
        for result in results {
            if let Some(linted) = result.linted() {
                run.files.push(FileReport {
                    name: &result.name,
                    text: linted.final_text(),
                    findings: linted.remaining(),
                    rules: &result.settings.rules,
                });
            }
        }
        let mut out: Box<dyn Write> = match &self.args.output {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => Box::new(io::BufWriter::new(f)),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    self.summary.failed += 1;
                    return;
                }
            },
            None => Box::new(io::BufWriter::new(io::stdout().lock())),
        };
        let written = match self.args.format {
            Format::Json => json::emit(&mut *out, &run),
            Format::Sarif => sarif::emit(&mut *out, &run),
            Format::Github => github::emit(&mut *out, &run),
            Format::Gitlab => gitlab::emit(&mut *out, &run),
            Format::Junit => junit::emit(&mut *out, &run),
            Format::Text | Format::Concise => Ok(()),
        };
        if let Err(e) = written.and_then(|()| out.flush()) {
            eprintln!("error: cannot write the report: {e}");
            self.summary.failed += 1;
        }
    }

    /// `--statistics`: one line per rule, most frequent first; `[*]` when every finding
    /// has a fix that applies, `[-]` when some have.
    fn statistics(&self) -> String {
        let mut rows: Vec<_> = self.statistics.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        let width = rows
            .iter()
            .map(|(_, c)| c.0.to_string().len())
            .max()
            .unwrap_or(1);
        let id_width = rows.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (id, (count, fixable, severity)) in rows {
            let mark = if fixable == count {
                "[*]"
            } else if *fixable > 0 {
                "[-]"
            } else {
                "   "
            };
            out.push_str(&format!(
                "{count:>width$}  {id:<id_width$}  {mark} {severity}\n"
            ));
        }
        out
    }

    /// Print the closing summary; return the exit code.
    fn finish(mut self, paths: &[String], results: &[FileResult]) -> u8 {
        if self.args.format.is_machine() {
            self.machine(results);
        }
        if self.args.statistics {
            let table = self.statistics();
            let _ = self.out.write_all(table.as_bytes());
        }
        if !self.args.quiet {
            let mut text = String::new();
            if self.args.add_ignore {
                text.push_str(&format!(
                    "Added {} to {}.\n",
                    plural(self.added, "suppression comment", "suppression comments"),
                    plural(self.files_added, "file", "files")
                ));
            }
            text.push_str(&match self.mode {
                Mode::Diff => self.summary.render_diff(self.args.unsafe_fixes),
                mode => self
                    .summary
                    .render(mode == Mode::Fix, self.args.unsafe_fixes),
            });
            let _ = self.out.write_all(text.as_bytes());
        }
        let _ = self.out.flush();
        if self.summary.checked.total() == 0 && self.summary.failed == 0 && !self.args.quiet {
            let shown: Vec<&str> = paths
                .iter()
                .map(|p| {
                    if p == "-" {
                        "standard input"
                    } else {
                        p.as_str()
                    }
                })
                .collect();
            eprintln!(
                "warning: no libvirt domain XML found in {}",
                shown.join(", ")
            );
        }
        if self.summary.failed > 0 || self.summary.unfixed.total() > 0 {
            return EXIT_ERROR;
        }
        if self.mode == Mode::Diff {
            // As `ruff --diff` and `diff` itself: 1 exactly when there is a patch.
            return if self.any_diff {
                EXIT_FINDINGS
            } else {
                EXIT_CLEAN
            };
        }
        if self.mode == Mode::Fix && self.args.exit_non_zero_on_fix && self.any_changed {
            return EXIT_FINDINGS;
        }
        if self.failing && !self.args.exit_zero {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }
}

fn print_file_error(
    emitter: &TextEmitter,
    format: Format,
    name: &str,
    message: &str,
    position: Option<Position>,
    text: Option<&str>,
) {
    let mut err = io::stderr().lock();
    match (format, position, text) {
        (Format::Text, Some(pos), Some(text)) => {
            let offset = offset_of(text, pos);
            let end = text[offset..]
                .chars()
                .next()
                .map_or(offset, |c| offset + c.len_utf8());
            let _ = writeln!(
                err,
                "{}\n",
                emitter.render_error(name, message, Some((text, offset..end)))
            );
        }
        (_, Some(pos), _) => {
            let _ = writeln!(err, "error: {name}:{pos}: {message}");
        }
        (_, None, _) => {
            let _ = writeln!(err, "error: {name}: {message}");
        }
    }
}

/// Byte offset of a 1-based line and column (in characters) in `text`.
fn offset_of(text: &str, pos: Position) -> usize {
    let lines = LineIndex::new(text);
    let line_count = text.lines().count().max(1);
    let line = lines.line_range(text, pos.line.clamp(1, line_count));
    text[line.clone()]
        .char_indices()
        .nth(pos.column.saturating_sub(1))
        .map_or(line.end, |(i, _)| line.start + i)
}
