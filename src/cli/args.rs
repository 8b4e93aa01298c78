//! The command line's arguments (clap). Adding an option: a field here, then its use in
//! `check.rs` (the lint run) or `rules_cmd.rs` (the rule subcommands).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::rules::{Safety, Severity};

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
    /// Default: the current folder (standard input with --stdin-filename).
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Output format for findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// When to use colour: findings, concise lines and --diff patches (`auto`: a
    /// terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Warning, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Exit 0 even when findings remain (errors still exit 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// Read standard input, shown under this name (other paths are then ignored).
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

impl CheckArgs {
    /// The paths to lint: `-` alone with `--stdin-filename` (as in ruff), the current
    /// folder when none is given; with the paths that `--stdin-filename` makes ignored.
    pub fn inputs(&self) -> (Vec<String>, Vec<&str>) {
        if self.stdin_filename.is_some() {
            let ignored = self
                .paths
                .iter()
                .map(String::as_str)
                .filter(|p| *p != "-")
                .collect();
            return (vec!["-".to_string()], ignored);
        }
        if self.paths.is_empty() {
            return (vec![".".to_string()], Vec::new());
        }
        (self.paths.clone(), Vec::new())
    }

    /// What the run does with fixes.
    pub fn mode(&self) -> Mode {
        if self.fix {
            Mode::Fix
        } else if self.diff {
            Mode::Diff
        } else {
            Mode::Check
        }
    }

    /// The fixes `--fix`/`--diff` apply.
    pub fn allowed(&self) -> Safety {
        if self.unsafe_fixes {
            Safety::Unsafe
        } else {
            Safety::Safe
        }
    }
}

/// What a run does with fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Report findings.
    Check,
    /// Apply fixes (files in place; standard input to standard output).
    Fix,
    /// Print fixes as a unified diff; write nothing.
    Diff,
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
    pub fn threshold(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}
