//! The command line: argument parsing (clap), then the run itself: load rules, find
//! inputs, lint (and fix) them in parallel, print in a deterministic order, pick the exit
//! code. Exit codes: 0 clean, 1 findings at or above `--fail-on` (or a diff, or a change
//! with `--exit-non-zero-on-fix`), 2 usage, rule, config or input errors.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;

use crate::document::{self, Document, LineIndex, Position};
use crate::engine;
use crate::examples;
use crate::fix;
use crate::fix::PlannedFinding as Finding;
use crate::inputs::{self, Input};
use crate::report::text::TextEmitter;
use crate::report::{FileFindings, Summary, concise, plural};
use crate::rules::{self, ExampleKind, RuleError, RuleSet, Safety, Severity};
use crate::write;

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "virt-lint",
    version,
    about = "Lint and fix libvirt domain XML",
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage, rule or input errors.\n\
                  Examples:\n  virt-lint vms/\n  virsh dumpxml win10 | virt-lint -\n  virt-lint --fix --unsafe-fixes win10.xml"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every rule: id, severity, fix, summary.
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Explain one rule: why it matters, its fix and examples.
    Rule {
        /// The rule id, e.g. windows/hpet-disabled-without-stimer.
        id: String,
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Run the examples of your rule files; exit 1 if any fails.
    TestRules {
        /// Rule files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(clap::Args, Debug, Default)]
pub struct RuleArgs {
    /// Load more rules from a YAML file or a folder of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Files, folders (searched for *.xml) or glob patterns; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format for findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// When to use colour (NO_COLOR is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Warning, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Exit 0 even when findings remain (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// The name to show for standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,
    /// Apply safe fixes in place (with `-`: print the fixed document on standard output).
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Also apply unsafe fixes (guest-visible changes) with --fix or --diff.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of writing them; exit 1 if there is one.
    #[arg(long)]
    pub diff: bool,
    /// With --fix: exit 1 when any file was changed (for pre-commit).
    #[arg(long)]
    pub exit_non_zero_on_fix: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rustc-style snippets with fixes shown as help patches.
    Text,
    /// One line per finding: path:line:col: severity[rule-id] message.
    Concise,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    fn threshold(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let code = match args.command {
        Some(Command::Rules { rules }) => list_rules(&rules),
        Some(Command::Rule { id, rules }) => explain_rule(&id, &rules),
        Some(Command::TestRules { paths }) => test_rules(&paths),
        None => check(&args.check),
    };
    ExitCode::from(code)
}

fn use_color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    color_wanted(choice, stream_is_terminal, no_color)
}

/// `auto` colours a terminal unless NO_COLOR (https://no-color.org) is set and non-empty.
fn color_wanted(choice: ColorChoice, stream_is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stream_is_terminal && !no_color,
    }
}

/// Print rule-file errors (with a caret under the offending character) to stderr.
fn print_rule_errors(errors: &[RuleError]) {
    let mut err = io::stderr().lock();
    for e in errors {
        let _ = writeln!(err, "error: {e}");
        if let (Some(pos), Some(line)) = (e.position, &e.line_text) {
            let number = pos.line.to_string();
            let pad = " ".repeat(number.len());
            let caret_at: String = line
                .chars()
                .take(pos.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(err, "{pad} |\n{number} | {line}\n{pad} | {caret_at}^");
        }
    }
    let _ = writeln!(
        err,
        "{} in rule files; nothing was checked.",
        plural(errors.len(), "error", "errors")
    );
}

fn load_rules(args: &RuleArgs) -> Result<RuleSet, u8> {
    rules::load_rule_sets(&args.rules).map_err(|errors| {
        print_rule_errors(&errors);
        EXIT_ERROR
    })
}

// ---------------------------------------------------------------------------------------
// virt-lint [PATHS]

/// What happened to one input.
enum Outcome {
    /// Linted (and possibly fixed); `text` is what the findings refer to.
    Linted {
        text: String,
        findings: Vec<Finding>,
        /// The original text, when fixing changed it.
        original: Option<String>,
        fixed: usize,
    },
    /// Not a domain: a note, not an error.
    Skipped(String),
    /// Could not be read, parsed, fixed or written. The file is untouched.
    Failed {
        message: String,
        /// Where the problem is, when known.
        position: Option<Position>,
        /// The text, to show the offending line (and the findings' lines) from.
        text: Option<String>,
        /// Findings of the original text, when it parsed.
        findings: Vec<Finding>,
    },
}

struct FileResult {
    name: String,
    stdin: bool,
    outcome: Outcome,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Fix,
    Diff,
}

fn check(args: &CheckArgs) -> u8 {
    let rules = match load_rules(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let mode = if args.fix {
        Mode::Fix
    } else if args.diff {
        Mode::Diff
    } else {
        Mode::Check
    };
    let allowed = if args.unsafe_fixes {
        Safety::Unsafe
    } else {
        Safety::Safe
    };
    let (inputs, input_errors) = inputs::discover(&args.paths);
    let stdin_name = args
        .stdin_filename
        .clone()
        .unwrap_or_else(|| "-".to_string());

    let results: Vec<FileResult> = inputs
        .par_iter()
        .map(|input| process(input, &stdin_name, &rules, mode, allowed))
        .collect();

    let mut reporter = Reporter::new(args, mode, inputs.contains(&Input::Stdin));
    for e in &input_errors {
        reporter.input_error(&e.path, &e.message);
    }
    for result in &results {
        reporter.file(result);
    }
    reporter.finish(&results)
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
    fn new(args: &'a CheckArgs, mode: Mode, has_stdin: bool) -> Self {
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
            allowed: if args.unsafe_fixes {
                Safety::Unsafe
            } else {
                Safety::Safe
            },
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

    fn file(&mut self, result: &FileResult) {
        match &result.outcome {
            Outcome::Skipped(note) => {
                self.summary.skipped += 1;
                eprintln!("note: {}: {note}; skipped", result.name);
            }
            Outcome::Failed {
                message,
                position,
                text,
                findings,
            } => {
                self.summary.failed += 1;
                print_file_error(
                    &self.errors,
                    self.args.format,
                    &result.name,
                    message,
                    *position,
                    text.as_deref(),
                );
                if let Some(text) = text.as_deref().filter(|_| !findings.is_empty()) {
                    self.findings(&result.name, text, findings);
                }
            }
            Outcome::Linted {
                text,
                findings,
                original,
                fixed,
            } => {
                self.summary.files_checked += 1;
                if original.is_some() {
                    self.any_changed = true;
                    self.summary.fixed += fixed;
                    self.summary.files_fixed += 1;
                }
                if self.mode == Mode::Diff {
                    if let Some(original) = original {
                        self.any_diff = true;
                        let _ = self.out.write_all(
                            crate::diff::unified(&result.name, original, text).as_bytes(),
                        );
                    }
                    return;
                }
                if self.mode == Mode::Fix && result.stdin {
                    let _ = io::stdout().lock().write_all(text.as_bytes());
                }
                self.worst = self.worst.max(findings.iter().map(|f| f.severity).max());
                self.findings(&result.name, text, findings);
            }
        }
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
            .map(|r| match &r.outcome {
                Outcome::Linted { findings, .. } => findings
                    .iter()
                    .filter(|f| {
                        f.fix_edits(Safety::Safe).is_none() && f.fix_edits(Safety::Unsafe).is_some()
                    })
                    .count(),
                _ => 0,
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

fn read_input(input: &Input) -> io::Result<Vec<u8>> {
    match input {
        Input::Stdin => {
            let mut buf = Vec::new();
            io::stdin().lock().read_to_end(&mut buf)?;
            Ok(buf)
        }
        Input::File(path) => std::fs::read(path),
    }
}

fn process(
    input: &Input,
    stdin_name: &str,
    rules: &RuleSet,
    mode: Mode,
    allowed: Safety,
) -> FileResult {
    let name = match input {
        Input::Stdin => stdin_name.to_string(),
        Input::File(p) => p.display().to_string(),
    };
    let outcome = process_outcome(input, rules, mode, allowed);
    FileResult {
        name,
        stdin: *input == Input::Stdin,
        outcome,
    }
}

fn failure(
    message: impl Into<String>,
    position: Option<Position>,
    text: Option<String>,
) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        position,
        text,
        findings: Vec::new(),
    }
}

fn process_outcome(input: &Input, rules: &RuleSet, mode: Mode, allowed: Safety) -> Outcome {
    let bytes = match read_input(input) {
        Ok(b) => b,
        Err(e) => return failure(format!("cannot read: {e}"), None, None),
    };
    let text = match document::decode(bytes) {
        Ok(t) => t,
        Err(e) => return failure(e.message, e.position, None),
    };
    let doc = match Document::parse(&text) {
        Ok(d) => d,
        Err(e) => return failure(e.message, e.position, Some(text)),
    };
    if !engine::is_domain(&doc) {
        let root = doc.root().tag_name();
        let shown = match root.namespace() {
            Some(ns) => format!("<{}> in namespace {ns}", root.name()),
            None => format!("<{}>", root.name()),
        };
        return Outcome::Skipped(format!("not a libvirt domain (root element is {shown})"));
    }
    let findings = fix::plan_findings(&doc, rules, engine::lint(&doc, rules));
    drop(doc);
    if mode == Mode::Check || !findings.iter().any(|f| f.fix_edits(allowed).is_some()) {
        return Outcome::Linted {
            text,
            findings,
            original: None,
            fixed: 0,
        };
    }
    let fixed = match fix::fix_linted(&text, &findings, rules, allowed) {
        Ok(f) => f,
        Err(e) => {
            return Outcome::Failed {
                message: e.message,
                position: None,
                text: Some(text),
                findings,
            };
        }
    };
    if fixed.text == text {
        return Outcome::Linted {
            text,
            findings,
            original: None,
            fixed: 0,
        };
    }
    if mode == Mode::Fix
        && let Input::File(path) = input
        && let Err(e) = write::atomic_write(path, fixed.text.as_bytes())
    {
        return Outcome::Failed {
            message: format!("cannot write the fixed file: {e}; it is unchanged"),
            position: None,
            text: Some(text),
            findings,
        };
    }
    Outcome::Linted {
        text: fixed.text,
        findings: fixed.findings,
        original: Some(text),
        fixed: fixed.applied.len(),
    }
}

// ---------------------------------------------------------------------------------------
// virt-lint rules / rule ID / test-rules

fn fix_label(rule: &rules::Rule) -> &'static str {
    match &rule.fix {
        Some(f) => f.safety.as_str(),
        None => "-",
    }
}

fn list_rules(args: &RuleArgs) -> u8 {
    let rules = match load_rules(args) {
        Ok(r) => r,
        Err(code) => return code,
    };
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
            rule.summary
        );
    }
    EXIT_CLEAN
}

fn explain_rule(id: &str, args: &RuleArgs) -> u8 {
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
        rule.id, rule.severity, rule.summary, rule.explanation
    ));
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
    if !rule.references.is_empty() {
        out.push_str("\nReferences:\n");
        for r in &rule.references {
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
    out.push_str(&format!("\nDefined in {}.\n", rule.origin));
    let _ = io::stdout().lock().write_all(out.as_bytes());
    EXIT_CLEAN
}

fn test_rules(paths: &[PathBuf]) -> u8 {
    let rules = match rules::load_rule_sets(paths) {
        Ok(r) => r,
        Err(errors) => {
            print_rule_errors(&errors);
            return EXIT_ERROR;
        }
    };
    let builtin = rules::load::builtin_files();
    let results = examples::run(&rules, |r| !builtin.contains(&r.origin.file.as_str()));
    let tested_rules = rules
        .rules
        .iter()
        .filter(|r| !builtin.contains(&r.origin.file.as_str()))
        .collect::<Vec<_>>();
    let mut out = io::stdout().lock();
    for rule in &tested_rules {
        if rule.examples.is_empty() {
            let _ = writeln!(
                out,
                "warning: {} ({}) has no examples",
                rule.id, rule.origin
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_choice() {
        assert!(color_wanted(ColorChoice::Auto, true, false));
        assert!(
            !color_wanted(ColorChoice::Auto, true, true),
            "NO_COLOR wins over a terminal"
        );
        assert!(
            !color_wanted(ColorChoice::Auto, false, false),
            "no colour into a pipe"
        );
        assert!(color_wanted(ColorChoice::Always, false, true));
        assert!(!color_wanted(ColorChoice::Never, true, false));
    }
}
