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

/// Apply non-overlapping edits to `text`. Edits are sorted here; the caller guarantees
/// that no two overlap.
pub fn apply(text: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.content.len()).sum::<usize>());
    let mut last = 0;
    for edit in sorted {
        debug_assert!(edit.range.start >= last, "overlapping edits");
        out.push_str(&text[last..edit.range.start]);
        out.push_str(&edit.content);
        last = edit.range.end;
    }
    out.push_str(&text[last..]);
    out
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
        assert_eq!(apply(text, &edits[..2]), "<a x='2'><b/><c/></a>");
        assert!(edits[0].conflicts_with(&edits[2]));
        assert!(!edits[1].conflicts_with(&edits[0]));
        assert!(Edit::insertion(3, "a").conflicts_with(&Edit::insertion(3, "b")));
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
