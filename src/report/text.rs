//! The default output: rustc-style snippets (annotate-snippets) with a caret under what a
//! finding points at, and each fix shown as a `help:` patch.

use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Patch, Renderer, Snippet};

use super::FileFindings;
use crate::fix::{PlannedFinding as Finding, PlannedFix};
use crate::rules::{Safety, Severity};

pub struct TextEmitter {
    renderer: Renderer,
}

impl TextEmitter {
    pub fn new(color: bool) -> Self {
        TextEmitter {
            renderer: if color {
                Renderer::styled()
            } else {
                Renderer::plain()
            },
        }
    }

    pub fn emit(&self, out: &mut dyn Write, file: &FileFindings<'_>) -> io::Result<()> {
        for finding in file.findings {
            let report = report(file, finding);
            writeln!(out, "{}\n", self.renderer.render(&report))?;
        }
        Ok(())
    }

    /// An input-level error (unreadable, malformed, ...), with the offending line if known.
    pub fn render_error(
        &self,
        name: &str,
        message: &str,
        source: Option<(&str, std::ops::Range<usize>)>,
    ) -> String {
        let title = Level::ERROR.primary_title(message);
        let group = match source {
            Some((text, span)) => Group::with_title(title).element(
                Snippet::source(text)
                    .path(name)
                    .line_start(1)
                    .annotation(AnnotationKind::Primary.span(span)),
            ),
            None => Group::with_title(title),
        };
        self.renderer.render(&[group])
    }
}

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

fn report<'a>(file: &FileFindings<'a>, finding: &'a Finding) -> Vec<Group<'a>> {
    let title = level(finding.severity)
        .primary_title(finding.message.as_str())
        .id(finding.rule_id.as_str());
    let mut groups = vec![
        Group::with_title(title).element(
            Snippet::source(file.text)
                .path(file.name)
                .line_start(1)
                .annotation(AnnotationKind::Primary.span(finding.range.clone())),
        ),
    ];
    if let Some(fix) = &finding.fix {
        groups.push(fix_group(file, fix, false));
    }
    for alternative in &finding.alternatives {
        groups.push(fix_group(file, alternative, true));
    }
    groups
}

fn fix_group<'a>(file: &FileFindings<'a>, fix: &'a PlannedFix, alternative: bool) -> Group<'a> {
    let kind = match (alternative, fix.safety) {
        (false, Safety::Safe) => "safe fix",
        (false, Safety::Unsafe) => "unsafe fix",
        (true, Safety::Safe) => "alternative, safe",
        (true, Safety::Unsafe) => "alternative, unsafe",
    };
    let title = format!("{} ({kind})", fix.title);
    match &fix.edits {
        Ok(edits) => Group::with_title(Level::HELP.secondary_title(title)).element(
            Snippet::source(file.text)
                .path(file.name)
                .line_start(1)
                .patches(
                    edits
                        .iter()
                        .map(|e| Patch::new(e.range.clone(), e.content.as_str())),
                ),
        ),
        Err(reason) => Group::with_title(
            Level::NOTE.secondary_title(format!("no fix offered ({}): {reason}", fix.title)),
        ),
    }
}
