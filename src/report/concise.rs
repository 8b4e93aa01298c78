//! `--format concise`: one line per finding, `path:line:col: severity[rule-id] message`.

use std::io::{self, Write};

use super::FileFindings;

pub fn emit(out: &mut dyn Write, file: &FileFindings<'_>) -> io::Result<()> {
    for f in file.findings {
        writeln!(
            out,
            "{}:{}: {}[{}] {}",
            file.name, f.position, f.severity, f.rule_id, f.message
        )?;
    }
    Ok(())
}
