//! The lint run, `virt-lint [PATH...]`: load the rules, find the inputs, run
//! [`pipeline`] over each (in parallel), write fixed files, then report in input order and
//! pick the exit code.
//!
//! Where things go: [`process`] is the per-input I/O (read, pipeline, write); the
//! [`Reporter`] decides which stream gets what (findings, errors, notes, patches, fixed
//! documents, the summary) and counts what the summary and exit code need.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use super::settings_cmd::{command_line, print_settings_error};
use super::{CheckArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Format, Mode, use_color};
use crate::document::{Document, LineIndex, Position};
use crate::engine::Finding;
use crate::inputs::{self, Input, InputError};
use crate::pipeline::{self, FixResult, Options, Outcome, Suppressions};
use crate::report::machine::{ErrorReport, FileReport, RunReport};
use crate::report::text::TextEmitter;
use crate::report::{FileFindings, Summary, concise, github, gitlab, json, junit, plural, sarif};
use crate::rules::{Safety, Severity};
use crate::select::RuleInfo;
use crate::settings::{Resolver, Settings};
use crate::suppress;

/// `virt-lint [PATH...]`.
pub fn run(args: &CheckArgs) -> u8 {
    let (inputs, input_errors) = inputs::discover(&args.paths);
    run_inputs(args, &inputs, &input_errors)
}

/// The run over inputs already found (files, standard input, in-memory documents such as
/// live domains), with the arguments that named nothing usable. Each input gets the
/// settings of its config file (or the current folder's, when it is not a file); inputs
/// that an `exclude` pattern matches are left out.
pub fn run_inputs(args: &CheckArgs, inputs: &[Input], input_errors: &[InputError]) -> u8 {
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
            Err(e) => return print_settings_error(&e),
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
        return print_settings_error(&e);
    }
    let mode = args.mode();
    let stdin_name = args.stdin_filename.as_deref().unwrap_or("-");
    let results: Vec<FileResult> = jobs
        .par_iter()
        .map(|(input, settings)| process(input, stdin_name, settings, args))
        .collect();

    let has_stdin = jobs.iter().any(|(i, _)| **i == Input::Stdin);
    let mut reporter = match Reporter::new(args, mode, has_stdin) {
        Ok(r) => r,
        Err(code) => return code,
    };
    for e in input_errors {
        reporter.input_error(&e.path, &e.message);
    }
    for result in &results {
        reporter.file(result);
    }
    reporter.finish(&results)
}

/// One input after the pipeline (and, with `--fix` or `--add-ignore`, the write).
pub struct FileResult {
    /// The name shown for the input.
    pub name: String,
    /// Standard input (whose fixed document goes to standard output).
    pub stdin: bool,
    /// The pipeline's outcome, or why the input could not be read.
    pub outcome: Result<Outcome, String>,
    /// With `--fix`: why the fixed text could not be written (the input is unchanged).
    pub write_error: Option<String>,
    /// The settings the input was linted with.
    pub settings: Arc<Settings>,
    /// With `--add-ignore`: how many suppression comments were added.
    pub added: usize,
}

impl FileResult {
    /// The linted domain, unless its fix was refused or could not be written (then the
    /// input is reported as an error).
    fn linted(&self) -> Option<&pipeline::Linted> {
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
    let mut result = FileResult {
        name: input.name(stdin_name),
        stdin: *input == Input::Stdin,
        outcome: Err(String::new()),
        write_error: None,
        settings: settings.clone(),
        added: 0,
    };
    let bytes = match input.read() {
        Ok(b) => b,
        Err(e) => {
            result.outcome = Err(format!("cannot read: {e}"));
            return result;
        }
    };
    let options = match mode {
        Mode::Check => Options::LINT,
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
    let mut new_text = None;
    if mode == Mode::Fix
        && let Outcome::Linted(linted) = &outcome
        && let Some(fixed) = linted.fixed()
    {
        new_text = Some(fixed.text.clone());
    }
    if args.add_ignore
        && let Outcome::Linted(linted) = &outcome
        && let Ok(doc) = Document::parse(&linted.text)
    {
        let (text, added) = suppress::add_ignores(&doc, &linted.findings);
        if added > 0 {
            result.added = added;
            outcome = pipeline::check_text_with(&text, rules, Options::LINT, Some(suppressions));
            new_text = Some(text);
        }
    }
    if let Some(text) = new_text
        && !result.stdin
        && let Err(e) = input.write(text.as_bytes())
    {
        result.write_error = Some(format!("cannot write the fixed file: {e}; it is unchanged"));
    }
    result.outcome = Ok(outcome);
    result
}

/// Prints results in input order and keeps what the summary and exit code need.
struct Reporter<'a> {
    args: &'a CheckArgs,
    mode: Mode,
    allowed: Safety,
    /// Findings and the summary: stdout (or `--output`), or stderr when stdout carries a
    /// fixed document.
    out: Box<dyn Write>,
    /// Where the summary goes: `out`, or stderr when `out` carries a machine format.
    summary_to_stderr: bool,
    text: TextEmitter,
    errors: TextEmitter,
    summary: Summary,
    any_diff: bool,
    any_changed: bool,
    /// A file has findings at or above its `fail-on`.
    failing: bool,
    /// `--statistics`: findings per rule id, with how many are fixable.
    statistics: BTreeMap<String, (usize, usize, Severity)>,
    /// Inputs that could not be linted, for the machine formats.
    error_reports: Vec<ErrorReport>,
    added: usize,
    files_added: usize,
}

impl<'a> Reporter<'a> {
    fn new(args: &'a CheckArgs, mode: Mode, has_stdin: bool) -> Result<Self, u8> {
        // With `--fix -` standard output carries the document; findings go to stderr.
        let to_stderr = (mode == Mode::Fix || args.add_ignore) && has_stdin;
        let (out, out_is_terminal): (Box<dyn Write>, bool) = match &args.output {
            Some(path) => match std::fs::File::create(path) {
                Ok(f) => (Box::new(io::BufWriter::new(f)), false),
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return Err(EXIT_ERROR);
                }
            },
            None if to_stderr => (Box::new(io::stderr()), io::stderr().is_terminal()),
            None => (Box::new(io::stdout()), io::stdout().is_terminal()),
        };
        Ok(Reporter {
            args,
            mode,
            allowed: args.allowed(),
            out,
            summary_to_stderr: args.format.is_machine(),
            text: TextEmitter::new(use_color(args.color, out_is_terminal)),
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

    fn findings(&mut self, name: &str, text: &str, findings: &[Finding]) {
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
                Format::Concise => concise::emit(&mut *self.out, &file),
                // Written once, at the end.
                _ => Ok(()),
            };
        }
        self.summary.add_findings(findings, self.allowed);
    }

    fn error(&mut self, name: &str, message: &str, position: Option<Position>, text: Option<&str>) {
        self.summary.failed += 1;
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
        let name = result.name.as_str();
        let outcome = match &result.outcome {
            Ok(outcome) => outcome,
            Err(message) => return self.error(name, message, None, None),
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
                return self.error(
                    name,
                    &invalid.message,
                    invalid.position,
                    invalid.text.as_deref(),
                );
            }
            Outcome::Linted(linted) => linted,
        };
        // A fix that was refused or could not be written: an error, and the findings of
        // the text as it stays.
        let failure = match (&linted.fix, &result.write_error) {
            (FixResult::Refused(e), _) => Some(e.message.as_str()),
            (_, Some(e)) => Some(e.as_str()),
            _ => None,
        };
        if let Some(message) = failure {
            self.error(name, message, None, None);
            if !linted.findings.is_empty() {
                self.findings(name, &linted.text, &linted.findings);
            }
            return;
        }
        self.summary.files_checked += 1;
        if result.added > 0 {
            self.added += result.added;
            self.files_added += 1;
        }
        if let Some(fixed) = linted.fixed() {
            self.any_changed = true;
            self.summary.fixed += fixed.applied.len();
            self.summary.files_fixed += 1;
        }
        if self.mode == Mode::Diff {
            if let Some(fixed) = linted.fixed() {
                self.any_diff = true;
                let _ = self
                    .out
                    .write_all(crate::diff::unified(name, &linted.text, &fixed.text).as_bytes());
            }
            return;
        }
        if (self.mode == Mode::Fix || self.args.add_ignore) && result.stdin {
            let _ = io::stdout()
                .lock()
                .write_all(linted.final_text().as_bytes());
        }
        let remaining = linted.remaining();
        if remaining
            .iter()
            .any(|f| f.severity >= result.settings.fail_on.value)
        {
            self.failing = true;
        }
        self.findings(name, linted.final_text(), remaining);
    }

    /// The machine formats: the whole run at once.
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
        let out = &mut *self.out;
        let written = match self.args.format {
            Format::Json => json::emit(out, &run),
            Format::Sarif => sarif::emit(out, &run),
            Format::Github => github::emit(out, &run),
            Format::Gitlab => gitlab::emit(out, &run),
            Format::Junit => junit::emit(out, &run),
            Format::Text | Format::Concise => Ok(()),
        };
        if let Err(e) = written {
            eprintln!("error: cannot write the report: {e}");
            self.summary.failed += 1;
        }
    }

    /// `--statistics`: one line per rule, most frequent first.
    fn statistics(&self) -> String {
        let mut rows: Vec<(&String, &(usize, usize, Severity))> = self.statistics.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        let width = rows
            .iter()
            .map(|(_, c)| c.0.to_string().len())
            .max()
            .unwrap_or(1);
        let id_width = rows.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (id, (count, fixable, severity)) in rows {
            let mark = if *fixable == *count {
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
    fn finish(mut self, results: &[FileResult]) -> u8 {
        if self.args.format.is_machine() {
            self.machine(results);
        }
        if self.args.statistics {
            let table = self.statistics();
            if self.args.format.is_machine() {
                eprint!("{table}");
            } else {
                let _ = self.out.write_all(table.as_bytes());
            }
        }
        if self.mode == Mode::Diff {
            if !self.args.quiet {
                self.diff_summary(results);
            }
        } else if !self.args.quiet {
            let mut summary = String::new();
            if self.args.add_ignore {
                summary.push_str(&format!(
                    "Added {} to {}.\n",
                    plural(self.added, "suppression comment", "suppression comments"),
                    plural(self.files_added, "file", "files")
                ));
            }
            summary.push_str(
                &self
                    .summary
                    .render(self.mode == Mode::Fix, self.args.unsafe_fixes),
            );
            if self.summary_to_stderr {
                eprint!("{summary}");
            } else {
                let _ = self.out.write_all(summary.as_bytes());
            }
        }
        let _ = self.out.flush();
        if self.summary.failed > 0 {
            return EXIT_ERROR;
        }
        match self.mode {
            Mode::Diff => {
                return if self.any_diff {
                    EXIT_FINDINGS
                } else {
                    EXIT_CLEAN
                };
            }
            Mode::Fix if self.args.exit_non_zero_on_fix && self.any_changed => {
                return EXIT_FINDINGS;
            }
            _ => {}
        }
        if self.failing && !self.args.exit_zero {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        }
    }

    /// `--diff` keeps standard output for the patch: its summary goes to stderr.
    fn diff_summary(&self, results: &[FileResult]) {
        if self.summary.fixed > 0 {
            eprintln!(
                "Would fix {} in {}.",
                plural(self.summary.fixed, "finding", "findings"),
                plural(self.summary.files_fixed, "file", "files")
            );
        } else {
            eprintln!("No fixes to apply.");
        }
        if self.args.unsafe_fixes {
            return;
        }
        // Say what --unsafe-fixes would add, so that nothing is held back silently.
        let hidden: usize = results
            .iter()
            .filter_map(FileResult::linted)
            .map(|linted| {
                linted
                    .remaining()
                    .iter()
                    .filter(|f| {
                        f.fix_edits(Safety::Safe).is_none() && f.fix_edits(Safety::Unsafe).is_some()
                    })
                    .count()
            })
            .sum();
        if hidden > 0 {
            eprintln!(
                "({} can be included with `--unsafe-fixes`.)",
                plural(hidden, "hidden unsafe fix", "hidden unsafe fixes")
            );
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
