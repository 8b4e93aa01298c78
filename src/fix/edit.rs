//! Byte-range splices on the original text: the only way virt-lint changes a file.

use std::ops::Range;

/// Replace `range` of the original text with `content` (an empty range inserts, an empty
/// content deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub content: String,
}

impl Edit {
    pub fn insertion(at: usize, content: impl Into<String>) -> Edit {
        Edit {
            range: at..at,
            content: content.into(),
        }
    }

    pub fn replacement(range: Range<usize>, content: impl Into<String>) -> Edit {
        Edit {
            range,
            content: content.into(),
        }
    }

    pub fn deletion(range: Range<usize>) -> Edit {
        Edit {
            range,
            content: String::new(),
        }
    }

    /// Two edits conflict when their ranges overlap or touch: two insertions at one offset
    /// would otherwise depend on the order they are applied in.
    pub fn conflicts_with(&self, other: &Edit) -> bool {
        self.range.start <= other.range.end && other.range.start <= self.range.end
    }
}

/// Apply non-overlapping edits to `text`. Edits are sorted here; the planner and
/// [`select_fixes`](super::select_fixes) guarantee that no two overlap and that every range
/// lies on character boundaries of `text`. Should that ever not hold, the edits are
/// refused rather than the program panicking.
pub fn apply(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.content.len()).sum::<usize>());
    let mut last = 0;
    for edit in sorted {
        let kept = text
            .get(last..edit.range.start)
            .filter(|_| edit.range.start <= edit.range.end && text.is_char_boundary(edit.range.end))
            .ok_or_else(|| {
                format!(
                    "internal error: edits overlap or split a character at byte {}",
                    edit.range.start
                )
            })?;
        out.push_str(kept);
        out.push_str(&edit.content);
        last = edit.range.end;
    }
    out.push_str(text.get(last..).unwrap_or_default());
    Ok(out)
}

/// Escape text for an attribute value quoted with `quote`. Tab, CR and LF become
/// character references, since a parser normalises them to spaces in attribute values.
pub fn escape_attribute(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '"' if quote == '"' => out.push_str("&quot;"),
            '\'' if quote == '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape character data.
pub fn escape_text(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_order_and_keeps_the_rest() {
        let text = "<a x='1'><b/></a>";
        let edits = [
            Edit::insertion(13, "<c/>"),
            Edit::replacement(6..7, "2"),
            Edit::deletion(9..13),
        ];
        // deletion 9..13 removes "<b/>", the insertion at 12 would overlap it: test the two
        // that do not overlap.
        assert_eq!(apply(text, &edits[..2]).unwrap(), "<a x='2'><b/><c/></a>");
        assert!(edits[0].conflicts_with(&edits[2]));
        assert!(!edits[1].conflicts_with(&edits[0]));
        assert!(Edit::insertion(3, "a").conflicts_with(&Edit::insertion(3, "b")));
    }

    #[test]
    fn overlapping_or_misplaced_edits_are_refused_not_panicked_on() {
        let text = "<a>é</a>";
        assert!(apply(text, &[Edit::deletion(1..3), Edit::deletion(2..4)]).is_err());
        assert!(apply(text, &[Edit::insertion(4, "x")]).is_err());
        assert!(apply(text, &[Edit::insertion(99, "x")]).is_err());
        assert_eq!(
            apply(text, &[Edit::insertion(3, "x")]).unwrap(),
            "<a>xé</a>"
        );
    }

    #[test]
    fn escaping_respects_the_quote() {
        assert_eq!(escape_attribute("a'b\"c&<", '\''), "a&apos;b\"c&amp;&lt;");
        assert_eq!(escape_attribute("a'b\"c", '"'), "a'b&quot;c");
        let value = "tab\there\r\nnext";
        let escaped = escape_attribute(value, '\'');
        assert_eq!(escaped, "tab&#9;here&#13;&#10;next");
        let xml = format!("<a x='{escaped}'/>");
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().attribute("x"), Some(value));
        assert_eq!(escape_text("1 < 2 & 3 > 2"), "1 &lt; 2 &amp; 3 &gt; 2");
    }
}
