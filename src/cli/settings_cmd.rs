//! Settings on the command line: turning options into [`crate::settings::CommandLine`], printing
//! settings errors, and the `config`, `completions` and `man` subcommands.

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;

use super::{
    Args, EXIT_CLEAN, EXIT_ERROR, RuleArgs, SettingsArgs, print_located_errors, print_rule_errors,
};
use crate::config::ConfigError;
use crate::rules::Severity;
use crate::settings::{CommandLine, Resolver, SettingsError};

/// The command line's part of the settings.
pub fn command_line(
    rules: &RuleArgs,
    settings: &SettingsArgs,
    fail_on: Option<Severity>,
) -> CommandLine {
    CommandLine {
        select: settings.select.clone(),
        extend_select: settings.extend_select.clone(),
        ignore: settings.ignore.clone(),
        exclude: settings.exclude.clone(),
        rules: rules.rules.clone(),
        fail_on,
        libvirt_version: settings.libvirt_version,
        config: settings.config.clone(),
        isolated: settings.isolated,
    }
}

/// Print why settings could not be made; the exit code (2).
pub fn print_settings_error(error: &SettingsError) -> u8 {
    match error {
        SettingsError::Rules(errors) => print_rule_errors(errors),
        SettingsError::Config(errors) => print_config_errors(errors),
        SettingsError::Usage(message) => {
            let _ = writeln!(io::stderr().lock(), "error: {message}");
        }
    }
    EXIT_ERROR
}

fn print_config_errors(errors: &[ConfigError]) {
    let located: Vec<_> = errors
        .iter()
        .map(|e| (e.to_string(), e.position, e.line_text.as_deref()))
        .collect();
    print_located_errors(&located, "config files");
}

/// `virt-lint config [PATH]`.
pub fn config(path: &Path, rules: &RuleArgs, settings: &SettingsArgs) -> u8 {
    let mut resolver = Resolver::new(command_line(rules, settings, None));
    match resolver.settings_for(Some(path)) {
        Ok(s) => {
            let _ = io::stdout().lock().write_all(s.describe().as_bytes());
            EXIT_CLEAN
        }
        Err(e) => print_settings_error(&e),
    }
}

/// `virt-lint completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> u8 {
    clap_complete::generate(shell, &mut Args::command(), "virt-lint", &mut io::stdout());
    EXIT_CLEAN
}

/// `virt-lint man`.
pub fn man() -> u8 {
    match clap_mangen::Man::new(Args::command()).render(&mut io::stdout()) {
        Ok(()) => EXIT_CLEAN,
        Err(e) => {
            let _ = writeln!(io::stderr().lock(), "error: cannot write the man page: {e}");
            EXIT_ERROR
        }
    }
}
