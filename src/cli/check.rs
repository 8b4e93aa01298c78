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
use crate::fix::PlannedFinding as Finding;
use crate::inputs::{self, Input, InputError};
use crate::pipeline::{self, FixResult, Options, Outcome};
use crate::report::text::TextEmitter;
use crate::report::{FileFindings, Summary, concise};
use crate::rules::{RuleSet, Safety, Severity};

/// `virt-lint [PATH...]`.
pub fn run(args: &CheckArgs) -> u8 {
    let rules = match load_rules(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let (paths, ignored) = args.inputs();
    for path in ignored {
        eprintln!("warning: ignoring {path}: --stdin-filename reads standard input");
    }
    let found = inputs::discover(&paths);
    for note in &found.notes {
        eprintln!("note: {}: {}", note.path, note.message);
    }
    run_inputs(args, &rules, &paths, &found.inputs, &found.errors)
}

/// The run over inputs already found (files, standard input, in-memory documents such as
/// live domains) from `paths` (as the user wrote them, for messages), with the problems
/// found while looking for them.
pub fn run_inputs(
    args: &CheckArgs,
    rules: &RuleSet,
    paths: &[String],
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
    reporter.finish(paths)
}

/// One input after the pipeline (and, with `--fix`, the write).
pub struct FileResult {
    /// The name shown for the input.
    pub name: String,
    /// Headers for its patch with `--diff` (see [`crate::diff::headers`]).
    pub diff_path: String,
    /// The pipeline's outcome, or why the input could not be read.
    pub outcome: Result<Outcome, String>,
    /// With `--fix`: why the fixed text could not be written (the input is unchanged).
    pub write_error: Option<String>,
    /// With `--fix -`: the complete document for standard output — the fixed text, or
    /// the input exactly as read when it was not fixed (whatever the reason).
    pub echo: Option<Vec<u8>>,
}

fn process(
    input: &Input,
    stdin_name: &str,
    rules: &RuleSet,
    mode: Mode,
    allowed: Safety,
) -> FileResult {
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
        Mode::Fix | Mode::Diff => Options::fix(allowed),
    };
    let outcome = pipeline::check_bytes(&bytes, rules, options);
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
            && let Err(e) = input.write(fixed.text.as_bytes())
        {
            result.write_error = Some(format!("cannot write the fixed file: {e}; it is unchanged"));
        }
    }
    result.outcome = Ok(outcome);
    result
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
    worst: Option<Severity>,
}

impl<'a> Reporter<'a> {
    fn new(args: &'a CheckArgs, has_stdin: bool) -> Self {
        let mode = args.mode();
        let to_stderr = mode == Mode::Diff || (mode == Mode::Fix && has_stdin);
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
        let out_color = use_color(args.color, out_is_terminal);
        Reporter {
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
            Format::Concise => concise::emit(&mut *self.out, &file, self.out_color),
        };
        self.summary.add_findings(findings, self.allowed);
    }

    fn error(&mut self, name: &str, message: &str, position: Option<Position>, text: Option<&str>) {
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
                eprintln!("note: {name}: {reason}; skipped");
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
        self.summary.files_checked += 1;
        // A fix that was refused or could not be written: an error, and the findings of
        // the text as it stays.
        let failure = match (&linted.fix, &result.write_error) {
            (FixResult::Refused(e), _) => Some(e.message.as_str()),
            (_, Some(e)) => Some(e.as_str()),
            _ => None,
        };
        if let Some(message) = failure {
            self.summary.unfixed += 1;
            self.error(name, message, None, None);
            self.findings(name, &linted.text, &linted.findings);
            return;
        }
        if let Some(fixed) = linted.fixed() {
            self.any_changed = true;
            self.summary.fixed += fixed.applied.len();
            self.summary.files_fixed += 1;
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
        self.worst = self.worst.max(remaining.iter().map(|f| f.severity).max());
        if self.mode == Mode::Diff {
            // The patch is the payload; what remains is named in the summary.
            self.summary.add_findings(remaining, self.allowed);
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
        self.findings(name, linted.final_text(), remaining);
    }

    /// Print the closing summary; return the exit code.
    fn finish(mut self, paths: &[String]) -> u8 {
        let text = match self.mode {
            Mode::Diff => self.summary.render_diff(self.args.unsafe_fixes),
            mode => self
                .summary
                .render(mode == Mode::Fix, self.args.unsafe_fixes),
        };
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
        if self.summary.files_checked == 0 && self.summary.failed == 0 {
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
        if self.summary.failed > 0 || self.summary.unfixed > 0 {
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
        match self.worst {
            Some(s) if !self.args.exit_zero && s >= self.args.fail_on.threshold() => EXIT_FINDINGS,
            _ => EXIT_CLEAN,
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
