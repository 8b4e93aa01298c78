//! The command line's arguments (clap). Adding an option: a field here, then its use in
//! `check.rs` (the lint run) or `rules_cmd.rs` (the rule subcommands).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::rules::{Safety, Severity, Version};

#[derive(Parser, Debug)]
#[command(
    name = "virt-lint",
    version,
    about = "Lint and fix libvirt domain XML",
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage, rule or input errors.\n\
                  Examples:\n  virt-lint vms/\n  virsh dumpxml win10 | virt-lint -\n  virt-lint --fix --unsafe-fixes win10.xml\n  virt-lint --connect qemu:///system --all-domains"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every rule: id, severity, fix, summary (or the Markdown reference).
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
        /// `text`: one line per rule; `markdown`: the full reference, grouped by rule
        /// group and tag (as in docs/rules.md).
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
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
    /// Print the settings a file (or folder) is linted with, and where each comes from.
    Config {
        /// The file or folder whose settings to show.
        #[arg(default_value = ".")]
        path: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `virt-lint man | man -l -`.
    Man,
}

/// Rule selection and config-file options, shared by the lint run and `virt-lint config`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct SettingsArgs {
    /// Run only these rules: ids, groups (`hyperv/`), tags or ALL (comma-separated,
    /// repeatable); replaces the config file's `select`.
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Run these rules too (ids, groups, tags).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Do not run these rules (ids, groups, tags).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Skip files matching this glob, relative to the current folder (repeatable; a
    /// pattern without `/` matches a file or folder name anywhere).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Check the definitions for this libvirt release (X.Y or X.Y.Z): rules run only
    /// where they apply to it, and a fix never adds an element it lacks [default: the
    /// config file's `libvirt-version`, else the newest release the rules know].
    #[arg(long, value_name = "X.Y", value_parser = parse_version)]
    pub libvirt_version: Option<Version>,
    /// Use this config file for every input instead of looking for `.virt-lint.yaml`.
    #[arg(long, value_name = "PATH", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore every config file.
    #[arg(long)]
    pub isolated: bool,
}

#[derive(clap::Args, Debug, Default)]
pub struct RuleArgs {
    /// Load more rules from a YAML file or a folder of them (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("live_selection").args(["domain", "all_domains"])))]
pub struct CheckArgs {
    /// Files, folders (searched for *.xml) or glob patterns; `-` reads standard input.
    /// Default: the current folder (standard input with --stdin-filename), unless
    /// --connect is given.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Lint the persistent definitions of a libvirt connection's domains, read with virsh
    /// (repeatable: several hosts in one run), e.g. qemu:///system. Needs --domain or
    /// --all-domains.
    #[arg(long, value_name = "URI", requires = "live_selection")]
    pub connect: Vec<String>,
    /// A domain of the --connect connections to lint (repeatable).
    #[arg(long, value_name = "NAME", requires = "connect")]
    pub domain: Vec<String>,
    /// Lint every domain of the --connect connections.
    #[arg(long, requires = "connect", conflicts_with = "domain")]
    pub all_domains: bool,
    /// With --fix on live domains: redefine them without asking.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Output format for findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// When to use colour: findings, concise lines and --diff patches (`auto`: a
    /// terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Write the findings (and the summary of text formats) to FILE instead of standard
    /// output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print findings only: no notes, no summary.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print how often each rule fired instead of each finding.
    #[arg(long)]
    pub statistics: bool,
    /// Lowest severity that makes the run fail (exit 1) [default: warning, or the config
    /// file's `fail-on`].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
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
    /// Treat `<!-- virt-lint: ignore ... -->` comments as plain comments.
    #[arg(long)]
    pub no_inline_ignores: bool,
    /// Report suppression comments that give no reason.
    #[arg(long)]
    pub require_reason: bool,
    /// Write a suppression comment above each current finding (to adopt virt-lint in an
    /// existing repository); then exit 0.
    #[arg(long, conflicts_with_all = ["fix", "diff", "no_inline_ignores"])]
    pub add_ignore: bool,
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
        if self.paths.is_empty() && self.connect.is_empty() {
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

/// `--libvirt-version`: `9`, `9.0` or `9.0.1`.
fn parse_version(text: &str) -> Result<Version, String> {
    Version::parse(text).ok_or_else(|| "expected a libvirt version like 9.0 or 10.2.0".to_string())
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
    /// One JSON document (schema version 1, see README).
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions annotations.
    Github,
    /// GitLab Code Quality report.
    Gitlab,
    /// JUnit XML: a test case per file, a failure per finding.
    Junit,
}

impl Format {
    /// Formats written once for the whole run (stdout carries nothing else).
    pub fn is_machine(self) -> bool {
        !matches!(self, Format::Text | Format::Concise)
    }
}

/// Output format of `virt-lint rules`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    /// One line per rule: id, severity, fix, summary.
    Text,
    /// The rules reference in Markdown: indexes by group and tag, then each rule's
    /// explanation, fixes, references and examples.
    Markdown,
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
