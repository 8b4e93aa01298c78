//! The default output: rustc-style snippets (annotate-snippets) with a caret under what a
//! finding points at, and each fix shown as a `help:` patch.

use std::borrow::Cow;
use std::io::{self, Write};
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Patch, Renderer, Snippet};

use super::FileFindings;
use crate::document::LineIndex;
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
        if file.findings.is_empty() {
            return Ok(());
        }
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
    /// The lines of `text`.
    lines: LineIndex,
    /// `map[i]`: the offset in `text` of byte `i` of the original; `None` when equal.
    map: Option<Vec<usize>>,
}

impl<'a> Shown<'a> {
    fn new(original: &'a str) -> Self {
        if !original.contains('\r') {
            return Shown {
                lines: LineIndex::new(original),
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
            lines: LineIndex::new(&text),
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

/// The whole lines of `text` around `ranges` (one more line on each side), with the
/// 1-based number of the first: what a snippet is given instead of the whole document,
/// since annotate-snippets reads every line it is given, and a finding shows a few.
struct Window<'t> {
    text: &'t str,
    offset: usize,
    line_start: usize,
}

impl<'t> Window<'t> {
    /// `lines` indexes `text`.
    fn around(
        text: &'t str,
        lines: &LineIndex,
        ranges: impl Iterator<Item = Range<usize>>,
    ) -> Window<'t> {
        let (mut start, mut end) = (usize::MAX, 0);
        for r in ranges {
            start = start.min(r.start);
            end = end.max(r.end);
        }
        if start > end {
            (start, end) = (0, 0);
        }
        let (start, end) = (start.min(text.len()), end.min(text.len()));
        // From the line before `start`'s to the end of the line after `end`'s (with its
        // line break), as far as the text goes.
        let first_line = lines.line_of(start).saturating_sub(1);
        let first = lines.start_of(first_line).unwrap_or(0);
        let last = lines.start_of(lines.line_of(end) + 2).unwrap_or(text.len());
        Window {
            text: &text[first..last],
            offset: first,
            line_start: first_line + 1,
        }
    }

    fn range(&self, range: Range<usize>) -> Range<usize> {
        range.start.saturating_sub(self.offset).min(self.text.len())
            ..range.end.saturating_sub(self.offset).min(self.text.len())
    }

    fn snippet<'a, T: Clone>(&self, name: &'a str) -> Snippet<'a, T>
    where
        't: 'a,
    {
        Snippet::source(self.text)
            .path(name)
            .line_start(self.line_start)
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
    // A place in another document (a repository rule's) is named in the message; only
    // this document's places are annotated here.
    let related = || finding.related.iter().filter(|r| r.document.is_none());
    let window = Window::around(
        &shown.text,
        &shown.lines,
        std::iter::once(shown.range(&finding.range))
            .chain(related().map(|r| shown.range(&r.range))),
    );
    let mut groups = vec![
        Group::with_title(title).element(
            window
                .snippet(name)
                .annotation(AnnotationKind::Primary.span(window.range(shown.range(&finding.range))))
                .annotations(related().map(|r| {
                    AnnotationKind::Context
                        .span(window.range(shown.range(&r.range)))
                        .label(r.label.as_str())
                })),
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
            Ok(edits) => {
                let window = Window::around(
                    &shown.text,
                    &shown.lines,
                    edits.iter().map(|(r, _)| r.clone()),
                );
                Group::with_title(Level::HELP.secondary_title(title)).element(
                    window
                        .snippet(name)
                        .patches(edits.iter().map(|(range, content)| {
                            Patch::new(window.range(range.clone()), content.as_ref())
                        })),
                )
            }
            Err(reason) => Group::with_title(
                Level::NOTE.secondary_title(format!("no fix offered ({}): {reason}", fix.title)),
            ),
        });
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window by scanning bytes: the line before `start`'s to the end of the line
    /// after `end`'s, and the number of the first line.
    fn scanned(text: &str, start: usize, end: usize) -> (usize, usize, usize) {
        let bytes = text.as_bytes();
        let line_begin = |at: usize| {
            bytes[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
        };
        let line_end = |at: usize| {
            bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| at + i + 1)
        };
        let mut first = line_begin(start);
        if first > 0 {
            first = line_begin(first - 1);
        }
        let mut last = line_end(end);
        if last < text.len() {
            last = line_end(last);
        }
        let line = 1 + bytes[..first].iter().filter(|&&b| b == b'\n').count();
        (first, last, line)
    }

    #[test]
    fn windows_are_the_lines_around_the_ranges() {
        let texts = [
            "",
            "\n",
            "a",
            "a\n",
            "\n\n\n",
            "ab\ncd\nef",
            "ab\ncd\nef\n",
            "<a>\n  <b/>\n\n  <c/>\n</a>\n",
        ];
        for text in texts {
            let lines = LineIndex::new(text);
            for start in 0..=text.len() {
                for end in start..=text.len() {
                    let w = Window::around(text, &lines, std::iter::once(start..end));
                    let (first, last, line) = scanned(text, start, end);
                    assert_eq!(
                        (w.offset, w.offset + w.text.len(), w.line_start),
                        (first, last, line),
                        "{text:?} {start}..{end}"
                    );
                }
            }
        }
        // Several ranges: from the first start to the last end; none: the start.
        let text = "1\n2\n3\n4\n5\n6\n";
        let lines = LineIndex::new(text);
        let w = Window::around(text, &lines, [6..7, 2..3].into_iter());
        assert_eq!((w.text, w.line_start), ("1\n2\n3\n4\n5\n", 1));
        let w = Window::around(text, &lines, std::iter::empty());
        assert_eq!((w.text, w.line_start), ("1\n2\n", 1));
    }
}
