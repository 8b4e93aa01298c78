//! The formatting habits of one file (indent step, quote character, line ending), detected
//! once so that inserted XML looks as if the file's author had written it.

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// One level of indentation: some spaces, or a tab.
    pub indent: String,
    /// `'` or `"`: the quote most attributes in the file use.
    pub quote: char,
    /// `"\n"` or `"\r\n"`.
    pub line_ending: &'static str,
}

impl Style {
    pub fn detect(text: &str, tree: &roxmltree::Document<'_>) -> Style {
        Style {
            indent: detect_indent(text),
            quote: detect_quote(text, tree),
            line_ending: if text.contains("\r\n") { "\r\n" } else { "\n" },
        }
    }
}

/// The quote character an attribute was written with.
pub fn attribute_quote(text: &str, attribute: &roxmltree::Attribute<'_, '_>) -> char {
    let value = attribute.range_value();
    match text.as_bytes().get(value.start.wrapping_sub(1)) {
        Some(b'"') => '"',
        _ => '\'',
    }
}

fn detect_quote(text: &str, tree: &roxmltree::Document<'_>) -> char {
    let (mut single, mut double) = (0usize, 0usize);
    for node in tree.descendants().filter(|n| n.is_element()) {
        for attribute in node.attributes() {
            match attribute_quote(text, &attribute) {
                '"' => double += 1,
                _ => single += 1,
            }
        }
    }
    // virsh writes single quotes, so that wins a tie (and an attribute-less file).
    if double > single { '"' } else { '\'' }
}

/// The most common positive difference between the indentation of consecutive
/// non-blank lines; tabs when lines are indented with tabs. Two spaces (virsh) by default.
fn detect_indent(text: &str) -> String {
    let mut tabs = 0usize;
    let mut steps: HashMap<usize, usize> = HashMap::new();
    let mut previous = 0usize;
    for line in text.lines() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.trim().is_empty() {
            continue;
        }
        let lead = &line[..line.len() - trimmed.len()];
        if lead.starts_with('\t') {
            tabs += 1;
            continue;
        }
        let width = lead.len();
        if width > previous {
            *steps.entry(width - previous).or_default() += 1;
        }
        previous = width;
    }
    let spaces: usize = steps.values().sum();
    if tabs > spaces {
        return "\t".into();
    }
    let step = steps
        .into_iter()
        .max_by_key(|&(step, count)| (count, std::cmp::Reverse(step)))
        .map_or(2, |(step, _)| step);
    " ".repeat(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(text: &str) -> Style {
        let tree = roxmltree::Document::parse(text).unwrap();
        Style::detect(text, &tree)
    }

    #[test]
    fn virsh_style() {
        let s = style(
            "<domain type='kvm'>\n  <name>a</name>\n  <os>\n    <type arch='x86_64'>hvm</type>\n  </os>\n</domain>\n",
        );
        assert_eq!(
            s,
            Style {
                indent: "  ".into(),
                quote: '\'',
                line_ending: "\n"
            }
        );
    }

    #[test]
    fn tabs_double_quotes_crlf() {
        let s = style(
            "<domain type=\"kvm\">\r\n\t<os>\r\n\t\t<type arch=\"x86_64\">hvm</type>\r\n\t</os>\r\n</domain>",
        );
        assert_eq!(
            s,
            Style {
                indent: "\t".into(),
                quote: '"',
                line_ending: "\r\n"
            }
        );
    }

    #[test]
    fn four_spaces() {
        let s = style("<a>\n    <b>\n        <c/>\n    </b>\n    <d/>\n</a>");
        assert_eq!(s.indent, "    ");
    }
}
