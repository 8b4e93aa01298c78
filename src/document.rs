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
        let mut column = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        // A byte order mark is not a column: editors do not show it.
        if line == 0 && offset >= 3 && text.starts_with('\u{feff}') {
            column -= 1;
        }
        Position {
            line: line + 1,
            column: column + 1,
        }
    }

    /// The 0-based line that byte `offset` is on.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset) - 1
    }

    /// Where 0-based `line` starts, or `None` past the last line.
    pub fn start_of(&self, line: usize) -> Option<usize> {
        self.starts.get(line).copied()
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
    pub kind: ParseErrorKind,
}

/// What kind of problem a [`ParseError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Not UTF-8.
    Encoding,
    /// Nothing but whitespace.
    Empty,
    /// Not well-formed XML.
    Malformed,
    /// The text has a `<!DOCTYPE>`, which is refused; `root` is the name of its root
    /// element (as written, prefix included) when it could be found.
    Doctype { root: Option<String> },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Decode bytes read from a file as UTF-8, reporting where the first invalid byte is.
pub fn decode(bytes: Vec<u8>) -> Result<String, ParseError> {
    String::from_utf8(bytes).map_err(|e| invalid_utf8(e.as_bytes(), e.utf8_error()))
}

/// [`decode`] without taking ownership.
pub fn decode_str(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| invalid_utf8(bytes, e))
}

fn invalid_utf8(bytes: &[u8], error: std::str::Utf8Error) -> ParseError {
    let valid = error.valid_up_to();
    // Everything before `valid` is UTF-8, so the index can place the bad byte.
    let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
    let position = LineIndex::new(prefix).position(prefix, valid);
    ParseError {
        message: format!(
            "invalid UTF-8: byte 0x{:02X} at offset {valid} is not valid UTF-8 (libvirt XML must be UTF-8)",
            bytes.get(valid).copied().unwrap_or_default()
        ),
        position: Some(position),
        kind: ParseErrorKind::Encoding,
    }
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
                kind: ParseErrorKind::Empty,
            });
        }
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            ..roxmltree::ParsingOptions::default()
        };
        match roxmltree::Document::parse_with_options(text, options) {
            Ok(tree) => Ok(Document { text, tree, lines }),
            Err(roxmltree::Error::DtdDetected) => {
                let doctype = find_doctype(text);
                Err(ParseError {
                    message: "a DTD (<!DOCTYPE ...>) is not allowed: libvirt XML has none, and entity expansion is refused".to_string(),
                    position: Some(lines.position(text, doctype.as_ref().map_or(0, |d| d.start))),
                    kind: ParseErrorKind::Doctype {
                        root: doctype.and_then(|d| d.root),
                    },
                })
            }
            Err(err) => {
                let pos = err.pos();
                Err(ParseError {
                    message: format!("malformed XML: {}", strip_position(&err.to_string())),
                    position: Some(Position {
                        line: pos.row as usize,
                        column: pos.col as usize,
                    }),
                    kind: ParseErrorKind::Malformed,
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

/// Where a text's `<!DOCTYPE` is, and the name of the root element after it.
struct Doctype {
    start: usize,
    root: Option<String>,
}

/// Find the `<!DOCTYPE ...>` declaration of a prolog and the root element's name after it,
/// without expanding anything: quoted strings, comments and processing instructions are
/// skipped, so a `>` or `]` inside them does not end the declaration early.
fn find_doctype(text: &str) -> Option<Doctype> {
    let start = text.find("<!DOCTYPE")?;
    let bytes = text.as_bytes();
    let mut i = start + "<!DOCTYPE".len();
    let mut depth = 0usize; // inside the internal subset `[...]`
    let mut end = None;
    while i < bytes.len() {
        match bytes[i] {
            q @ (b'"' | b'\'') => {
                i = text[i + 1..]
                    .find(q as char)
                    .map_or(bytes.len(), |j| i + 1 + j);
            }
            b'<' if text[i..].starts_with("<!--") => {
                i = text[i..].find("-->").map_or(bytes.len(), |j| i + j + 2);
            }
            b'<' if text[i..].starts_with("<?") => {
                i = text[i..].find("?>").map_or(bytes.len(), |j| i + j + 1);
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => {
                end = Some(i + 1);
                break;
            }
            _ => {}
        }
        i += 1;
    }
    let root = end.and_then(|end| root_name_after(&text[end..]));
    Some(Doctype { start, root })
}

/// The name of the first element of `rest`, skipping whitespace, comments and processing
/// instructions.
fn root_name_after(mut rest: &str) -> Option<String> {
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->")? + 3..];
        } else if let Some(after) = rest.strip_prefix("<?") {
            rest = &after[after.find("?>")? + 2..];
        } else {
            let name = rest.strip_prefix('<')?;
            let end = name
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(name.len());
            return (end > 0).then(|| name[..end].to_string());
        }
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
    fn a_byte_order_mark_does_not_shift_columns() {
        let text = "\u{feff}<domain type='kvm'>\n<x/></domain>";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 3), Position { line: 1, column: 1 });
        assert_eq!(index.position(text, 11), Position { line: 1, column: 9 });
        assert_eq!(index.position(text, 23), Position { line: 2, column: 1 });
        let doc = Document::parse(text).unwrap();
        let attr = doc.root().attributes().next().unwrap();
        assert_eq!(
            doc.position(attr.range().start),
            Position { line: 1, column: 9 }
        );
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
            err.kind,
            ParseErrorKind::Doctype {
                root: Some("d".into())
            }
        );
        assert_eq!(
            Document::parse(" \n").err().unwrap().message,
            "the file is empty"
        );
    }

    #[test]
    fn doctype_position_and_root_name() {
        let text = "<?xml version='1.0'?>\n<!-- a > b -->\n<!DOCTYPE busconfig PUBLIC \"-//x//DTD >//EN\"\n \"http://x/b.dtd\" [\n  <!ENTITY a ']>'>\n  <!-- ]> -->\n]>\n<?pi >?>\n<!-- c --> <busconfig a='1'/>\n";
        let err = Document::parse(text).err().unwrap();
        assert_eq!(err.position, Some(Position { line: 3, column: 1 }));
        assert_eq!(
            err.kind,
            ParseErrorKind::Doctype {
                root: Some("busconfig".into())
            }
        );
        let err = Document::parse("<!DOCTYPE domain>\n<domain/>")
            .err()
            .unwrap();
        assert_eq!(
            err.kind,
            ParseErrorKind::Doctype {
                root: Some("domain".into())
            }
        );
        // Unterminated: the root is unknown, the position still found.
        let err = Document::parse("\n<!DOCTYPE x [ <!ENTITY").err().unwrap();
        assert_eq!(err.kind, ParseErrorKind::Doctype { root: None });
        assert_eq!(err.position, Some(Position { line: 2, column: 1 }));
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
