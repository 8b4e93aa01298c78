//! Output formats. Each emitter writes findings of one file, then the run's summary;
//! nothing else in the library prints.

pub mod concise;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod machine;
pub mod sarif;
pub mod text;

use std::fmt::Write as _;

use crate::fix::PlannedFinding as Finding;
use crate::rules::Safety;

/// `1 file`, `2 files`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One file's findings, with the text their byte ranges refer to.
pub struct FileFindings<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub findings: &'a [Finding],
}

/// How many files and how many live domains (named apart in the summary).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    pub files: usize,
    pub domains: usize,
}

impl Inputs {
    /// Count one more: a live domain, or a file (standard input included).
    pub fn add(&mut self, live: bool) {
        if live {
            self.domains += 1;
        } else {
            self.files += 1;
        }
    }

    pub fn total(&self) -> usize {
        self.files + self.domains
    }

    /// `2 files`, `1 domain`, `2 files and 1 domain`; `0 files` when there are none.
    pub fn render(&self) -> String {
        let files = plural(self.files, "file", "files");
        match (self.files, self.domains) {
            (_, 0) => files,
            (0, n) => plural(n, "domain", "domains"),
            (_, n) => format!("{files} and {}", plural(n, "domain", "domains")),
        }
    }
}

/// Counts behind the closing summary line.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub checked: Inputs,
    pub with_findings: Inputs,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Findings whose fix `--fix` would apply.
    pub fixable: usize,
    /// Findings whose fix needs `--unsafe-fixes`.
    pub unsafe_fixable: usize,
    /// Findings fixed (with `--fix`).
    pub fixed: usize,
    pub fixed_in: Inputs,
    /// Files skipped because they are not domains.
    pub skipped: usize,
    /// Inputs that could not be found, read or parsed (not counted as checked).
    pub failed: usize,
    /// Inputs checked whose fixes were refused or could not be written (or, for a live
    /// domain, not defined again).
    pub unfixed: Inputs,
    /// With `--diff`: the findings that remain without a fix, one line each
    /// (`path:line:col: severity[rule] message`).
    pub unfixable: Vec<String>,
}

impl Summary {
    /// Count an input's findings; `live` when it is a live domain.
    pub fn add_findings(&mut self, findings: &[Finding], allowed: Safety, live: bool) {
        if findings.is_empty() {
            return;
        }
        self.with_findings.add(live);
        for f in findings {
            match f.severity {
                crate::rules::Severity::Error => self.errors += 1,
                crate::rules::Severity::Warning => self.warnings += 1,
                crate::rules::Severity::Info => self.infos += 1,
            }
            if f.fix_edits(Safety::Safe).is_some() || f.fix_edits(allowed).is_some() {
                self.fixable += 1;
            } else if f.fix_edits(Safety::Unsafe).is_some() {
                self.unsafe_fixable += 1;
            }
        }
    }

    /// The closing lines, e.g. `Found 1 error and 3 warnings in 2 files (12 files checked).`
    pub fn render(&self, fix_mode: bool, unsafe_allowed: bool) -> String {
        let mut out = String::new();
        if fix_mode && self.fixed > 0 {
            let _ = writeln!(
                out,
                "Fixed {} in {}.",
                plural(self.fixed, "finding", "findings"),
                self.fixed_in.render()
            );
        }
        let mut counts = Vec::new();
        if self.errors > 0 {
            counts.push(plural(self.errors, "error", "errors"));
        }
        if self.warnings > 0 {
            counts.push(plural(self.warnings, "warning", "warnings"));
        }
        if self.infos > 0 {
            counts.push(plural(self.infos, "info", "infos"));
        }
        let mut tail = format!("{} checked", self.checked.render());
        if self.skipped > 0 {
            let _ = write!(tail, ", {} skipped", self.skipped);
        }
        let mut failed = match self.failed {
            0 => String::new(),
            n => format!("; {} could not be checked", plural(n, "input", "inputs")),
        };
        if self.unfixed.total() > 0 {
            let _ = write!(failed, "; {} could not be fixed", self.unfixed.render());
        }
        if counts.is_empty() {
            let lead = if self.failed > 0 {
                "No findings"
            } else if fix_mode && self.fixed > 0 {
                "No problems remain"
            } else {
                "No problems found"
            };
            let _ = writeln!(out, "{lead} ({tail}){failed}.");
        } else {
            let list = match counts.len() {
                1 => counts.remove(0),
                _ => {
                    let last = counts.pop().unwrap_or_default();
                    format!("{} and {last}", counts.join(", "))
                }
            };
            let _ = writeln!(
                out,
                "Found {list} in {} ({tail}){failed}.",
                self.with_findings.render()
            );
        }
        if !fix_mode && self.fixable > 0 {
            let _ = writeln!(
                out,
                "[*] {} with `{}`.",
                plural(self.fixable, "fix is available", "fixes are available"),
                if unsafe_allowed {
                    "--fix --unsafe-fixes"
                } else {
                    "--fix"
                }
            );
        }
        if self.unsafe_fixable > 0 && !unsafe_allowed {
            let _ = writeln!(
                out,
                "({} can be enabled with `--unsafe-fixes`.)",
                plural(
                    self.unsafe_fixable,
                    "hidden unsafe fix",
                    "hidden unsafe fixes"
                )
            );
        }
        out
    }

    /// The closing lines of `--diff` (printed on stderr, beside the patches): what the
    /// patches fix, and every finding they leave, so that a clean-looking diff never hides
    /// an error.
    pub fn render_diff(&self, unsafe_allowed: bool) -> String {
        let mut out = String::new();
        if self.fixed > 0 {
            let _ = writeln!(
                out,
                "Would fix {} in {}.",
                plural(self.fixed, "finding", "findings"),
                self.fixed_in.render()
            );
        } else {
            out.push_str("No fixes to apply.\n");
        }
        if !self.unfixable.is_empty() {
            let _ = writeln!(
                out,
                "{} without a fix:",
                plural(self.unfixable.len(), "finding remains", "findings remain")
            );
            for line in &self.unfixable {
                let _ = writeln!(out, "  {line}");
            }
        }
        if self.unsafe_fixable > 0 && !unsafe_allowed {
            let _ = writeln!(
                out,
                "({} can be included with `--unsafe-fixes`.)",
                plural(
                    self.unsafe_fixable,
                    "hidden unsafe fix",
                    "hidden unsafe fixes"
                )
            );
        }
        if self.failed > 0 || self.unfixed.total() > 0 {
            let mut parts = Vec::new();
            if self.failed > 0 {
                parts.push(format!(
                    "{} could not be checked",
                    plural(self.failed, "input", "inputs")
                ));
            }
            if self.unfixed.total() > 0 {
                parts.push(format!("{} could not be fixed", self.unfixed.render()));
            }
            let _ = writeln!(out, "{}.", capitalise(&parts.join("; ")));
        }
        out
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(files: usize) -> Inputs {
        Inputs { files, domains: 0 }
    }

    #[test]
    fn fixable_hint_names_the_flags_that_apply_them() {
        let s = Summary {
            checked: files(1),
            with_findings: files(1),
            warnings: 1,
            fixable: 1,
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, true),
            "Found 1 warning in 1 file (1 file checked).\n[*] 1 fix is available with `--fix --unsafe-fixes`.\n"
        );
    }

    #[test]
    fn summary_wording() {
        let s = Summary {
            checked: files(12),
            with_findings: files(2),
            errors: 1,
            warnings: 3,
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, false),
            "Found 1 error and 3 warnings in 2 files (12 files checked).\n"
        );
        let s = Summary {
            checked: files(1),
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, false),
            "No problems found (1 file checked).\n"
        );
        let s = Summary {
            failed: 2,
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, false),
            "No findings (0 files checked); 2 inputs could not be checked.\n"
        );
        let s = Summary {
            checked: files(3),
            with_findings: files(1),
            warnings: 1,
            infos: 2,
            errors: 1,
            skipped: 1,
            failed: 1,
            fixable: 1,
            unsafe_fixable: 1,
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, false),
            "Found 1 error, 1 warning and 2 infos in 1 file (3 files checked, 1 skipped); 1 input could not be checked.\n[*] 1 fix is available with `--fix`.\n(1 hidden unsafe fix can be enabled with `--unsafe-fixes`.)\n"
        );
    }

    #[test]
    fn live_domains_are_counted_as_domains() {
        let domains = |domains| Inputs { files: 0, domains };
        let s = Summary {
            checked: domains(2),
            with_findings: domains(1),
            warnings: 1,
            ..Summary::default()
        };
        assert_eq!(
            s.render(false, false),
            "Found 1 warning in 1 domain (2 domains checked).\n"
        );
        let s = Summary {
            checked: Inputs {
                files: 3,
                domains: 1,
            },
            with_findings: Inputs {
                files: 1,
                domains: 1,
            },
            errors: 2,
            fixed: 2,
            fixed_in: Inputs {
                files: 2,
                domains: 1,
            },
            unfixed: domains(1),
            ..Summary::default()
        };
        assert_eq!(
            s.render(true, false),
            "Fixed 2 findings in 2 files and 1 domain.\n\
             Found 2 errors in 1 file and 1 domain (3 files and 1 domain checked); 1 domain could not be fixed.\n"
        );
        assert_eq!(
            s.render_diff(false),
            "Would fix 2 findings in 2 files and 1 domain.\n1 domain could not be fixed.\n"
        );
    }
}
