//! `--connect`/`--domain`/`--all-domains`: live domains become in-memory inputs named
//! `URI/NAME`, linted and reported like files; with `--fix`, their fixed definitions are
//! defined again through virsh, after confirmation ([`crate::live`] does the talking).

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal, Write};

use super::CheckArgs;
use super::check::FileResult;
use crate::inputs::{Input, InputError};
use crate::live::{self, LiveDomain, MAX_VIRSH_PROCESSES, Selection, Virsh};

/// The live part of a run.
#[derive(Default)]
pub struct LiveInputs {
    /// One in-memory input per domain read.
    pub inputs: Vec<Input>,
    /// Connections that failed, domains that do not exist or could not be read.
    pub errors: Vec<InputError>,
    /// The domain behind each input name.
    pub domains: HashMap<String, LiveDomain>,
}

/// Read the domains `--connect` and `--domain`/`--all-domains` name.
pub fn inputs(args: &CheckArgs) -> LiveInputs {
    let mut live = LiveInputs::default();
    if args.connect.is_empty() {
        return live;
    }
    let selection = if args.all_domains {
        Selection::All
    } else {
        Selection::Named(args.domain.clone())
    };
    let (fetched, errors) = live::fetch(
        &Virsh::default(),
        &args.connect,
        &selection,
        MAX_VIRSH_PROCESSES,
    );
    live.errors.extend(errors.into_iter().map(input_error));
    for f in fetched {
        match f.xml {
            Ok(xml) => {
                let name = f.domain.to_string();
                live.inputs.push(Input::Document {
                    name: name.clone(),
                    bytes: xml.into_bytes(),
                });
                live.domains.insert(name, f.domain);
            }
            Err(e) => live.errors.push(input_error(e)),
        }
    }
    live
}

fn input_error(e: live::LiveError) -> InputError {
    InputError {
        path: e.subject,
        message: e.message,
    }
}

/// With `--fix`: define every live domain whose fixes applied (and were verified) again,
/// asking first unless `--yes`. A domain that is not redefined gets an error (its
/// definition is unchanged); one that is gets virsh's report.
pub fn redefine(
    args: &CheckArgs,
    results: &mut [FileResult],
    domains: &HashMap<String, LiveDomain>,
) {
    let virsh = Virsh::default();
    let can_ask = io::stdin().is_terminal() && io::stderr().is_terminal();
    for result in results.iter_mut() {
        let Some(domain) = domains.get(&result.name) else {
            continue;
        };
        let Some(linted) = result.linted() else {
            continue;
        };
        let Some(fixed) = linted.fixed() else {
            continue;
        };
        let (original, text, count) =
            (linted.text.clone(), fixed.text.clone(), fixed.applied.len());
        if !args.yes {
            if !can_ask {
                result.write_error = Some(
                    "not redefined: changing a live domain needs --yes when there is no terminal to confirm on; its definition is unchanged".into(),
                );
                continue;
            }
            if !confirm(&result.name, &original, &text, count) {
                result.write_error =
                    Some("not redefined (declined); its definition is unchanged".into());
                continue;
            }
        }
        match virsh.define(domain, &text) {
            Ok(report) => result.redefined = Some(report),
            Err(e) => {
                result.write_error = Some(format!(
                    "cannot redefine the domain: {}; its definition is unchanged",
                    e.message
                ))
            }
        }
    }
}

/// Show the change on stderr and ask on the terminal.
fn confirm(name: &str, original: &str, fixed: &str, count: usize) -> bool {
    let mut err = io::stderr().lock();
    let _ = write!(
        err,
        "{}Redefine {name} with {}? [y/N] ",
        crate::diff::unified(name, original, fixed),
        crate::report::plural(count, "fix", "fixes")
    );
    let _ = err.flush();
    let mut answer = String::new();
    if io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
