//! `--format junit`: JUnit XML, one test case per file and a failure per finding (an
//! `<error>` for a file that could not be linted).

use std::io::{self, Write};

use super::machine::{RunReport, clean_name};

pub fn emit(out: &mut dyn Write, run: &RunReport<'_>) -> io::Result<()> {
    let tests = run.files.len() + run.errors.len();
    let failures: usize = run.files.iter().map(|f| f.findings.len()).sum();
    let errors = run.errors.len();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"virt-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    )?;
    writeln!(
        out,
        "  <testsuite name=\"virt-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    )?;
    for file in &run.files {
        let name = escape(&clean_name(file.name));
        if file.findings.is_empty() {
            writeln!(
                out,
                "    <testcase name=\"{name}\" classname=\"virt-lint\"/>"
            )?;
            continue;
        }
        writeln!(
            out,
            "    <testcase name=\"{name}\" classname=\"virt-lint\">"
        )?;
        for f in file.findings {
            writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{name}:{}: {}[{}] {}</failure>",
                f.severity,
                escape(&format!("{}: {}", f.rule_id, f.message)),
                f.position,
                f.severity,
                escape(&f.rule_id),
                escape(&f.message)
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    for e in &run.errors {
        let name = escape(&clean_name(&e.name));
        let at = e.position.map(|p| format!(":{p}")).unwrap_or_default();
        writeln!(
            out,
            "    <testcase name=\"{name}\" classname=\"virt-lint\">"
        )?;
        writeln!(
            out,
            "      <error type=\"input\" message=\"{}\">{name}{at}: {}</error>",
            escape(&e.message),
            escape(&e.message)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => {}
            c => out.push(c),
        }
    }
    out
}
