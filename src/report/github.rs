//! `--format github`: GitHub Actions workflow commands, one annotation per finding
//! (`::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=RULE::message`).

use std::io::{self, Write};

use super::machine::{Locator, RunReport, clean_name};
use crate::rules::Severity;

pub fn emit(out: &mut dyn Write, run: &RunReport<'_>) -> io::Result<()> {
    for file in &run.files {
        let locator = Locator::new(file.text);
        let path = property(&clean_name(file.name));
        for f in file.findings {
            let s = locator.span(&f.range);
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{command} file={path},line={},col={},endLine={},endColumn={},title={}::{}",
                s.start.line,
                s.start.column,
                s.end.line,
                s.end.column,
                property(&f.rule_id),
                data(&f.message)
            )?;
        }
    }
    for e in &run.errors {
        let mut at = format!("file={}", property(&clean_name(&e.name)));
        if let Some(p) = e.position {
            at.push_str(&format!(",line={},col={}", p.line, p.column));
        }
        writeln!(out, "::error {at},title=virt-lint::{}", data(&e.message))?;
    }
    Ok(())
}

/// Escape a command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(data("50% a\nb"), "50%25 a%0Ab");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
