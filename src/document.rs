//! One parsed input: the original text (never normalised), its roxmltree tree and a
//! line index for turning byte offsets into `line:column`.

use std::fmt;
use std::ops::Range;

/// Byte offset -> 1-based line and column, built once per text.
///
/// roxmltree's own `text_pos_at` rescans the text on every call; this index answers in
/// `O(log lines)`. Columns count characters, as rustc and most editors do.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(newline_offsets(text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// The 1-based line and column of byte `offset` in `text` (the text the index was built on).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Position {
            line: line + 1,
            column: column + 1,
        }
    }

    /// Byte range of 1-based `line`, without its line terminator.
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let start = self.starts[line - 1];
        let mut end = self.starts.get(line).map_or(text.len(), |&s| s - 1);
        if end > start && text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }
}

fn newline_offsets(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'\n').then_some(i))
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Why a text could not become a [`Document`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub position: Option<Position>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Decode bytes read from a file as UTF-8, reporting where the first invalid byte is.
pub fn decode(bytes: Vec<u8>) -> Result<String, ParseError> {
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // Everything before `valid` is UTF-8, so the index can place the bad byte.
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let position = LineIndex::new(prefix).position(prefix, valid);
        ParseError {
            message: format!(
                "invalid UTF-8: byte 0x{:02X} at offset {valid} is not valid UTF-8 (libvirt XML must be UTF-8)",
                bytes[valid]
            ),
            position: Some(position),
        }
    })
}

/// A parsed XML text.
pub struct Document<'a> {
    pub text: &'a str,
    pub tree: roxmltree::Document<'a>,
    pub lines: LineIndex,
}

impl<'a> Document<'a> {
    /// Parse `text` (DTDs refused, as roxmltree does by default: entity expansion is a
    /// denial-of-service vector and libvirt never writes a DTD).
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        let lines = LineIndex::new(text);
        if text.trim_start_matches('\u{feff}').trim().is_empty() {
            return Err(ParseError {
                message: "the file is empty".into(),
                position: None,
            });
        }
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            ..roxmltree::ParsingOptions::default()
        };
        match roxmltree::Document::parse_with_options(text, options) {
            Ok(tree) => Ok(Document { text, tree, lines }),
            Err(err) => {
                let pos = err.pos();
                let message = match err {
                    roxmltree::Error::DtdDetected => {
                        "a DTD (<!DOCTYPE ...>) is not allowed: libvirt XML has none, and entity expansion is refused".to_string()
                    }
                    other => format!("malformed XML: {}", strip_position(&other.to_string())),
                };
                Err(ParseError {
                    message,
                    position: Some(Position {
                        line: pos.row as usize,
                        column: pos.col as usize,
                    }),
                })
            }
        }
    }

    pub fn root(&self) -> roxmltree::Node<'_, 'a> {
        self.tree.root_element()
    }

    pub fn position(&self, offset: usize) -> Position {
        self.lines.position(self.text, offset)
    }
}

/// roxmltree appends " at LINE:COL" to its messages; we print the position ourselves.
fn strip_position(message: &str) -> String {
    match message.rfind(" at ") {
        Some(i)
            if message[i + 4..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':') =>
        {
            message[..i].to_string()
        }
        _ => message.to_string(),
    }
}

/// The byte range of an element's start tag (`<name ...>` or `<name .../>`).
pub fn start_tag_range(node: roxmltree::Node<'_, '_>) -> Range<usize> {
    let range = node.range();
    let text = node.document().input_text();
    let from = node
        .attributes()
        .next_back()
        .map_or(range.start + 1, |a| a.range().end);
    let end = text[from..range.end]
        .find('>')
        .map_or(range.end, |i| from + i + 1);
    range.start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "ab\r\nçd\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position { line: 1, column: 1 });
        assert_eq!(index.position(text, 4), Position { line: 2, column: 1 });
        // 'ç' is two bytes but one column.
        assert_eq!(index.position(text, 6), Position { line: 2, column: 2 });
        assert_eq!(index.position(text, 8), Position { line: 3, column: 1 });
        assert_eq!(index.line_range(text, 1), 0..2);
        assert_eq!(index.line_range(text, 2), 4..7);
        assert_eq!(index.line_range(text, 3), 8..9);
    }

    #[test]
    fn malformed_xml_reports_line_and_column() {
        let err = Document::parse("<domain>\n  <name>x</nam>\n</domain>")
            .err()
            .unwrap();
        assert_eq!(
            err.position,
            Some(Position {
                line: 2,
                column: 10
            })
        );
        assert!(
            err.message.starts_with("malformed XML: "),
            "{}",
            err.message
        );
        assert!(!err.message.contains(" at 2:"), "{}", err.message);
    }

    #[test]
    fn dtd_and_empty_are_refused() {
        let err = Document::parse("<!DOCTYPE d [<!ENTITY x 'y'>]><d/>")
            .err()
            .unwrap();
        assert!(err.message.contains("DTD"));
        assert_eq!(
            Document::parse(" \n").err().unwrap().message,
            "the file is empty"
        );
    }

    #[test]
    fn invalid_utf8_is_located() {
        let err = decode(b"<a>\ncaf\xE9</a>".to_vec()).unwrap_err();
        assert_eq!(err.position, Some(Position { line: 2, column: 4 }));
        assert!(err.message.contains("0xE9"));
    }

    #[test]
    fn start_tag_range_covers_attributes() {
        let text = "<a x='>'><b/><c  y=\"1\" /></a>";
        let doc = Document::parse(text).unwrap();
        let root = doc.root();
        assert_eq!(&text[start_tag_range(root)], "<a x='>'>");
        let c = root.last_element_child().unwrap();
        assert_eq!(&text[start_tag_range(c)], "<c  y=\"1\" />");
    }
}
