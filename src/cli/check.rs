//! The lint run, `virt-lint [PATH...]`: load the rules, find the inputs, run
//! [`pipeline`] over each (in parallel), write fixed files, then report in input order and
//! pick the exit code.
//!
//! Where things go: [`process`] is the per-input I/O (read, pipeline, write); the
//! [`Reporter`] decides which stream gets what (findings, errors, notes, patches, fixed
//! documents, the summary) and counts what the summary and exit code need.

use std::io::{self, IsTerminal, Write};

use rayon::prelude::*;

use super::{
    CheckArgs, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Format, Mode, load_rules, use_color,
};
use crate::document::{LineIndex, Position};
use crate::engine::Finding;
use crate::inputs::{self, Input, InputError};
use crate::pipeline::{self, FixResult, Options, Outcome};
use crate::report::text::TextEmitter;
use crate::report::{FileFindings, Summary, concise, plural};
use crate::rules::{RuleSet, Safety, Severity};

/// `virt-lint [PATH...]`.
pub fn run(args: &CheckArgs) -> u8 {
    let rules = match load_rules(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (inputs, input_errors) = inputs::discover(&args.paths);
    run_inputs(args, &rules, &inputs, &input_errors)
}

/// The run over inputs already found (files, standard input, in-memory documents such as
/// live domains), with the arguments that named nothing usable.
pub fn run_inputs(
    args: &CheckArgs,
    rules: &RuleSet,
    inputs: &[Input],
    input_errors: &[InputError],
) -> u8 {
    let mode = args.mode();
    let stdin_name = args.stdin_filename.as_deref().unwrap_or("-");
    let results: Vec<FileResult> = inputs
        .par_iter()
        .map(|input| process(input, stdin_name, rules, mode, args.allowed()))
        .collect();

    let mut reporter = Reporter::new(args, inputs.contains(&Input::Stdin));
    for e in input_errors {
        reporter.input_error(&e.path, &e.message);
    }
    for result in &results {
        reporter.file(result);
    }
    reporter.finish(&results)
}

/// One input after the pipeline (and, with `--fix`, the write).
pub struct FileResult {
    /// The name shown for the input.
    pub name: String,
    /// Standard input (whose fixed document goes to standard output).
    pub stdin: bool,
    /// The pipeline's outcome, or why the input could not be read.
    pub outcome: Result<Outcome, String>,
    /// With `--fix`: why the fixed text could not be written (the input is unchanged).
    pub write_error: Option<String>,
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
    rules: &RuleSet,
    mode: Mode,
    allowed: Safety,
) -> FileResult {
    let name = input.name(stdin_name);
    let stdin = *input == Input::Stdin;
    let bytes = match input.read() {
        Ok(b) => b,
        Err(e) => {
            return FileResult {
                name,
                stdin,
                outcome: Err(format!("cannot read: {e}")),
                write_error: None,
            };
        }
    };
    let options = match mode {
        Mode::Check => Options::LINT,
        Mode::Fix | Mode::Diff => Options::fix(allowed),
    };
    let outcome = pipeline::check_bytes(&bytes, rules, options);
    let mut write_error = None;
    if mode == Mode::Fix
        && !stdin
        && let Outcome::Linted(linted) = &outcome
        && let Some(fixed) = linted.fixed()
        && let Err(e) = input.write(fixed.text.as_bytes())
    {
        write_error = Some(format!("cannot write the fixed file: {e}; it is unchanged"));
    }
    FileResult {
        name,
        stdin,
        outcome: Ok(outcome),
        write_error,
    }
}

/// Prints results in input order and keeps what the summary and exit code need.
struct Reporter<'a> {
    args: &'a CheckArgs,
    mode: Mode,
    allowed: Safety,
    /// Findings and the summary: stdout, or stderr when stdout carries a fixed document.
    out: Box<dyn Write>,
    text: TextEmitter,
    errors: TextEmitter,
    summary: Summary,
    any_diff: bool,
    any_changed: bool,
    worst: Option<Severity>,
}

impl<'a> Reporter<'a> {
    fn new(args: &'a CheckArgs, has_stdin: bool) -> Self {
        let mode = args.mode();
        // With `--fix -` standard output carries the document; findings go to stderr.
        let to_stderr = mode == Mode::Fix && has_stdin;
        let out: Box<dyn Write> = if to_stderr {
            Box::new(io::stderr())
        } else {
            Box::new(io::stdout())
        };
        let out_is_terminal = if to_stderr {
            io::stderr().is_terminal()
        } else {
            io::stdout().is_terminal()
        };
        Reporter {
            args,
            mode,
            allowed: args.allowed(),
            out,
            text: TextEmitter::new(use_color(args.color, out_is_terminal)),
            errors: TextEmitter::new(use_color(args.color, io::stderr().is_terminal())),
            summary: Summary::default(),
            any_diff: false,
            any_changed: false,
            worst: None,
        }
    }

    fn input_error(&mut self, path: &str, message: &str) {
        self.summary.failed += 1;
        eprintln!("error: {path}: {message}");
    }

    fn findings(&mut self, name: &str, text: &str, findings: &[Finding]) {
        let file = FileFindings {
            name,
            text,
            findings,
        };
        let _ = match self.args.format {
            Format::Text => self.text.emit(&mut *self.out, &file),
            Format::Concise => concise::emit(&mut *self.out, &file),
        };
        self.summary.add_findings(findings, self.allowed);
    }

    fn error(&mut self, name: &str, message: &str, position: Option<Position>, text: Option<&str>) {
        self.summary.failed += 1;
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
                eprintln!("note: {name}: {reason}; skipped");
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
        if self.mode == Mode::Fix && result.stdin {
            let _ = io::stdout()
                .lock()
                .write_all(linted.final_text().as_bytes());
        }
        let remaining = linted.remaining();
        self.worst = self.worst.max(remaining.iter().map(|f| f.severity).max());
        self.findings(name, linted.final_text(), remaining);
    }

    /// Print the closing summary; return the exit code.
    fn finish(mut self, results: &[FileResult]) -> u8 {
        if self.mode == Mode::Diff {
            self.diff_summary(results);
        } else {
            let _ = self.out.write_all(
                self.summary
                    .render(self.mode == Mode::Fix, self.args.unsafe_fixes)
                    .as_bytes(),
            );
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
        match self.worst {
            Some(s) if !self.args.exit_zero && s >= self.args.fail_on.threshold() => EXIT_FINDINGS,
            _ => EXIT_CLEAN,
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
