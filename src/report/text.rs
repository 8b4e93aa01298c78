//! The default output: rustc-style snippets (annotate-snippets) with a caret under what a
//! finding points at, and each fix shown as a `help:` patch.

use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

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
        let shown = Shown::new(file.text);
        for finding in file.findings {
            let fixes = ShownFixes::new(&shown, finding);
            let report = report(file.name, &shown, finding, &fixes);
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

/// The text as given to the renderer: CRLF as LF, byte ranges mapped onto it; and in
/// inserted text, tabs as the four spaces annotate-snippets prints for them. Otherwise
/// it marks inserted lines `~` instead of `+` in CRLF and tab-indented files.
struct Shown<'a> {
    text: Cow<'a, str>,
    /// `map[i]`: the offset in `text` of byte `i` of the original; `None` when equal.
    map: Option<Vec<usize>>,
}

impl<'a> Shown<'a> {
    fn new(original: &'a str) -> Self {
        if !original.contains('\r') {
            return Shown {
                text: Cow::Borrowed(original),
                map: None,
            };
        }
        let mut text = String::with_capacity(original.len() + original.len() / 8);
        let mut map = Vec::with_capacity(original.len() + 1);
        let bytes = original.as_bytes();
        for (i, c) in original.char_indices() {
            map.extend(std::iter::repeat_n(text.len(), c.len_utf8()));
            match c {
                '\r' if bytes.get(i + 1) == Some(&b'\n') => {}
                c => text.push(c),
            }
        }
        map.push(text.len());
        Shown {
            text: Cow::Owned(text),
            map: Some(map),
        }
    }

    fn range(&self, range: &Range<usize>) -> Range<usize> {
        match &self.map {
            Some(map) => map[range.start.min(map.len() - 1)]..map[range.end.min(map.len() - 1)],
            None => range.clone(),
        }
    }

    fn content<'c>(&self, content: &'c str) -> Cow<'c, str> {
        if content.contains(['\t', '\r']) {
            Cow::Owned(content.replace("\r\n", "\n").replace('\t', "    "))
        } else {
            Cow::Borrowed(content)
        }
    }
}

/// A fix's edits mapped onto the [`Shown`] text, or why there is none.
type ShownEdits<'f> = Result<Vec<(Range<usize>, Cow<'f, str>)>, &'f str>;

/// A finding's fixes with their edits mapped onto the [`Shown`] text.
struct ShownFixes<'f> {
    /// The main fix, then the alternatives (flagged `true`).
    fixes: Vec<(&'f PlannedFix, bool, ShownEdits<'f>)>,
}

impl<'f> ShownFixes<'f> {
    fn new(shown: &Shown<'_>, finding: &'f Finding) -> Self {
        let planned = finding
            .fix
            .iter()
            .map(|f| (f, false))
            .chain(finding.alternatives.iter().map(|f| (f, true)));
        ShownFixes {
            fixes: planned
                .map(|(fix, alternative)| {
                    let edits = match &fix.edits {
                        Ok(edits) => Ok(edits
                            .iter()
                            .map(|e| (shown.range(&e.range), shown.content(&e.content)))
                            .collect()),
                        Err(reason) => Err(reason.as_str()),
                    };
                    (fix, alternative, edits)
                })
                .collect(),
        }
    }
}

fn report<'a>(
    name: &'a str,
    shown: &'a Shown<'_>,
    finding: &'a Finding,
    fixes: &'a ShownFixes<'_>,
) -> Vec<Group<'a>> {
    let title = level(finding.severity)
        .primary_title(finding.message.as_str())
        .id(finding.rule_id.as_str());
    let mut groups =
        vec![
            Group::with_title(title).element(
                Snippet::source(shown.text.as_ref())
                    .path(name)
                    .line_start(1)
                    .annotation(AnnotationKind::Primary.span(shown.range(&finding.range)))
                    // A place in another document (a repository rule's) is named in the
                    // message; only this document's places are annotated here.
                    .annotations(finding.related.iter().filter(|r| r.document.is_none()).map(
                        |r| {
                            AnnotationKind::Context
                                .span(shown.range(&r.range))
                                .label(r.label.as_str())
                        },
                    )),
            ),
        ];
    for (fix, alternative, edits) in &fixes.fixes {
        let kind = match (alternative, fix.safety) {
            (false, Safety::Safe) => "safe fix",
            (false, Safety::Unsafe) => "unsafe fix",
            (true, Safety::Safe) => "alternative, safe",
            (true, Safety::Unsafe) => "alternative, unsafe",
        };
        let title = format!("{} ({kind})", fix.title);
        groups.push(match edits {
            Ok(edits) => Group::with_title(Level::HELP.secondary_title(title)).element(
                Snippet::source(shown.text.as_ref())
                    .path(name)
                    .line_start(1)
                    .patches(
                        edits
                            .iter()
                            .map(|(range, content)| Patch::new(range.clone(), content.as_ref())),
                    ),
            ),
            Err(reason) => Group::with_title(
                Level::NOTE.secondary_title(format!("no fix offered ({}): {reason}", fix.title)),
            ),
        });
    }
    groups
}
