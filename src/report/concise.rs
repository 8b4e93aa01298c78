//! `--format concise`: one line per finding, `path:line:col: severity[rule-id] message`.

use std::io::{self, Write};

use super::FileFindings;
use crate::rules::Severity;

/// Write one line per finding; `color` adds ANSI colour (bold path, severity in its colour).
pub fn emit(out: &mut dyn Write, file: &FileFindings<'_>, color: bool) -> io::Result<()> {
    for f in file.findings {
        if color {
            let tint = match f.severity {
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
                Severity::Info => "\x1b[1;36m",
            };
            writeln!(
                out,
                "\x1b[1m{}\x1b[0m:{}: {tint}{}[{}]\x1b[0m {}",
                file.name, f.position, f.severity, f.rule_id, f.message
            )?;
        } else {
            writeln!(
                out,
                "{}:{}: {}[{}] {}",
                file.name, f.position, f.severity, f.rule_id, f.message
            )?;
        }
    }
    Ok(())
}
