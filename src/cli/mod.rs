//! The command line. `args.rs` declares the arguments; `check.rs` is the lint run (inputs
//! → [`crate::pipeline`] → writes and reports → exit code); `rules_cmd.rs` holds the
//! `rules`, `rule ID` and `test-rules` subcommands. Exit codes: 0 clean, 1 findings at or
//! above `--fail-on` (or a diff, or a change with `--exit-non-zero-on-fix`), 2 usage,
//! rule, config or input errors.

pub mod args;
pub mod check;
pub mod live;
pub mod rules_cmd;
pub mod settings_cmd;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

pub use args::{
    Args, CheckArgs, ColorChoice, Command, FailOn, Format, Mode, RuleArgs, RulesFormat,
    SettingsArgs,
};

use crate::report::plural;
use crate::rules::{self, RuleError, RuleSet};

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let code = match args.command {
        Some(Command::Rules { rules, format }) => rules_cmd::list(&rules, format),
        Some(Command::Rule { id, rules }) => rules_cmd::explain(&id, &rules),
        Some(Command::TestRules { paths }) => rules_cmd::test(&paths),
        Some(Command::Config {
            path,
            rules,
            settings,
        }) => settings_cmd::config(&path, &rules, &settings),
        Some(Command::Completions { shell }) => settings_cmd::completions(shell),
        Some(Command::Man) => settings_cmd::man(),
        None => check::run(&args.check),
    };
    ExitCode::from(code)
}

pub(crate) fn use_color(choice: ColorChoice, stream_is_terminal: bool) -> bool {
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
pub(crate) fn print_rule_errors(errors: &[RuleError]) {
    let located: Vec<_> = errors
        .iter()
        .map(|e| (e.to_string(), e.position, e.line_text.as_deref()))
        .collect();
    print_located_errors(&located, "rule files");
}

/// Print `(message, position, offending line)` errors of a kind of file, each with a
/// caret under the offending character, then how many there were, to stderr.
pub(crate) fn print_located_errors(
    errors: &[(String, Option<crate::document::Position>, Option<&str>)],
    files: &str,
) {
    let mut err = io::stderr().lock();
    for (message, position, line) in errors {
        let _ = writeln!(err, "error: {message}");
        if let (Some(pos), Some(line)) = (position, line) {
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
        "{} in {files}; nothing was checked.",
        plural(errors.len(), "error", "errors")
    );
}

/// The `--rules` (or `test-rules`) folders that hold no rule file: a warning each, since
/// a mistyped folder would otherwise silently check nothing.
pub(crate) fn empty_rule_folders(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .filter(|p| p.is_dir())
        .filter(|p| {
            !ignore::WalkBuilder::new(p)
                .standard_filters(false)
                .build()
                .flatten()
                .any(|e| {
                    e.file_type().is_some_and(|t| t.is_file())
                        && matches!(
                            e.path().extension().and_then(|x| x.to_str()),
                            Some("yaml" | "yml")
                        )
                })
        })
        .map(|p| {
            format!(
                "warning: {}: no rule file (*.yaml, *.yml) in this folder",
                p.display()
            )
        })
        .collect()
}

/// The built-in rules plus `--rules`, with explanations and examples (for `rule` and
/// `rules`); rule-file errors are printed (exit 2).
pub(crate) fn load_rules(args: &RuleArgs) -> Result<RuleSet, u8> {
    for warning in empty_rule_folders(&args.rules) {
        eprintln!("{warning}");
    }
    let mut set = rules::load_documented(&args.rules).map_err(|errors| {
        print_rule_errors(&errors);
        EXIT_ERROR
    })?;
    // The rules about suppression comments, so that they can be listed and explained.
    set.extend(crate::suppress::meta_rules());
    Ok(set)
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
