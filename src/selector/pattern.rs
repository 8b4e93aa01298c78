//! A fast matcher for the simple `matches:` patterns rules use most (`^[0-9]+$`, a MAC
//! address, `^(vnet|vif|macvtap|macvlan)`), so that a value seen once does not pay for
//! a general regex engine's search.
//!
//! [`Simple::compile`] accepts a well-defined subset of regex syntax and returns `None`
//! for anything else (the caller then uses `regex_lite`). The subset:
//!
//! - the pattern may start with `^` (otherwise a match may start anywhere: `[/\n]`) and
//!   may end with `$`, and has no other anchor;
//! - literal printable ASCII characters that are not meta characters, escaped ASCII
//!   punctuation (`\.`, `\:`, `\-`, `\$`; not `\<` or `\>`), and `\n`, `\t`, `\r`;
//! - bracket classes of such characters and ranges (`[0-9a-fA-F]`, `[-_.]`), not
//!   negated, with `-` literal only first or last, and no nested classes, set operations
//!   (`&&`, `--`, `~~`) or escape classes (`\d`, `\s`, `\w`);
//! - groups `( ... )` and `(?: ... )`, with alternation `|` only inside a group (at the
//!   top level, `^a|b` would anchor only its first branch);
//! - the greedy quantifiers `?`, `*`, `+`, `{n}`, `{n,}` and `{n,m}` (counts up to 64).
//!
//! Flags (`(?i)`), `.`, negated classes, `\d`-style classes, word boundaries, lazy
//! quantifiers are outside the subset. So are patterns needing
//! more than 64 character positions once counted repetitions are written out.
//!
//! Every set in the subset holds ASCII characters only, so matching the text's bytes is
//! the same as matching its characters: a byte of a multi-byte character is in no set.
//!
//! The pattern is compiled into a position automaton (Glushkov's construction): one
//! position per character set in the written-out pattern, and for each position the
//! positions that may come next. A match runs over the text with the set of live
//! positions in a `u64`. `^` anchors at the start of the text and `$` only at its very
//! end (as in `regex_lite` without the `m` flag: no allowance for a final newline).

/// A pattern in the subset, compiled (see the module documentation).
#[derive(Debug, Clone)]
pub struct Simple {
    /// For each byte, the positions whose set holds it (none for a non-ASCII byte).
    by_byte: Box<[u64; 256]>,
    /// The positions that may match the first character.
    first: u64,
    /// The positions a match may end at.
    last: u64,
    /// For each position, the positions that may follow it.
    follow: Vec<u64>,
    /// Whether the empty text is in the pattern's language.
    nullable: bool,
    /// Whether the pattern ends in `$`: the whole text must match, not a prefix.
    to_end: bool,
    /// Whether the pattern starts with `^`; otherwise a match may start anywhere.
    anchored: bool,
}

/// The parsed pattern.
enum Node {
    /// One character from a set of ASCII characters (a bit per character).
    Set(u128),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    /// `min` to `max` (`None`: any number of) repetitions.
    Repeat(Box<Node>, u32, Option<u32>),
}

/// The largest count a `{n,m}` may have.
const MAX_COUNT: u32 = 64;

impl Simple {
    /// The compiled pattern, or `None` when `source` is outside the subset.
    pub fn compile(source: &str) -> Option<Simple> {
        let (anchored, body) = match source.strip_prefix('^') {
            Some(body) => (true, body),
            None => (false, source),
        };
        let mut parser = Parser {
            bytes: body.as_bytes(),
            at: 0,
        };
        let node = parser.concat()?;
        let to_end = match parser.peek() {
            None => false,
            Some(b'$') if parser.at + 1 == parser.bytes.len() => true,
            // `|` at the top level, `)` without `(`, `$` before the end.
            Some(_) => return None,
        };
        let mut build = Builder {
            by_byte: Box::new([0; 256]),
            follow: Vec::new(),
        };
        let shape = build.linearize(&node)?;
        Some(Simple {
            by_byte: build.by_byte,
            first: shape.first,
            last: shape.last,
            follow: build.follow,
            nullable: shape.nullable,
            to_end,
            anchored,
        })
    }

    /// Whether the pattern matches `text` (a prefix of it, without `$`).
    pub fn is_match(&self, text: &str) -> bool {
        if self.nullable && (!self.to_end || !self.anchored) {
            // The empty match at the start (or, unanchored, at the end).
            return true;
        }
        // Unanchored, a match may also start at each byte.
        let restart = if self.anchored { 0 } else { self.first };
        let mut next = self.first;
        let mut accepting = self.nullable;
        for &byte in text.as_bytes() {
            let live = (next | restart) & self.by_byte[byte as usize];
            if live == 0 && self.anchored {
                return false;
            }
            accepting = live & self.last != 0;
            if accepting && !self.to_end {
                return true;
            }
            next = 0;
            let mut rest = live;
            while rest != 0 {
                next |= self.follow[rest.trailing_zeros() as usize];
                rest &= rest - 1;
            }
        }
        accepting
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    /// A sequence of quantified atoms, up to `|`, `)`, `$` or the end.
    fn concat(&mut self) -> Option<Node> {
        let mut items = Vec::new();
        while let Some(b) = self.peek() {
            let atom = match b {
                b'|' | b')' | b'$' => break,
                b'(' => {
                    self.at += 1;
                    if self.peek() == Some(b'?') {
                        // Only `(?:`; flags and named groups are outside the subset.
                        if self.bytes.get(self.at + 1) != Some(&b':') {
                            return None;
                        }
                        self.at += 2;
                    }
                    let group = self.alternation()?;
                    if self.bump() != Some(b')') {
                        return None;
                    }
                    group
                }
                b'[' => {
                    self.at += 1;
                    Node::Set(self.class()?)
                }
                b'\\' => {
                    self.at += 1;
                    Node::Set(bit(escaped(self.bump()?)?))
                }
                _ => {
                    self.at += 1;
                    Node::Set(bit(plain_literal(b)?))
                }
            };
            items.push(self.quantified(atom)?);
        }
        Some(Node::Concat(items))
    }

    /// Branches joined by `|`, up to `)` (inside a group).
    fn alternation(&mut self) -> Option<Node> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some(b'|') {
            self.at += 1;
            branches.push(self.concat()?);
        }
        Some(Node::Alt(branches))
    }

    /// `atom` with the quantifier that follows it, if any.
    fn quantified(&mut self, atom: Node) -> Option<Node> {
        let (min, max) = match self.peek() {
            Some(b'?') => (0, Some(1)),
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'{') => {
                self.at += 1;
                let min = self.count()?;
                let max = if self.peek() == Some(b',') {
                    self.at += 1;
                    if self.peek() == Some(b'}') {
                        None
                    } else {
                        Some(self.count()?)
                    }
                } else {
                    Some(min)
                };
                if self.peek() != Some(b'}') || max.is_some_and(|max| max < min) {
                    return None;
                }
                (min, max)
            }
            _ => return Some(atom),
        };
        self.at += 1;
        // A second quantifier (`a*?` lazy, `a**`) is outside the subset.
        if matches!(self.peek(), Some(b'?' | b'*' | b'+' | b'{')) {
            return None;
        }
        Some(Node::Repeat(Box::new(atom), min, max))
    }

    /// A decimal count of at most [`MAX_COUNT`].
    fn count(&mut self) -> Option<u32> {
        let start = self.at;
        let mut n: u32 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            n = n * 10 + u32::from(d - b'0');
            if n > MAX_COUNT {
                return None;
            }
            self.at += 1;
        }
        (self.at > start).then_some(n)
    }

    /// A bracket class after its `[`, up to and including its `]`.
    fn class(&mut self) -> Option<u128> {
        let mut set: u128 = 0;
        let mut first = true;
        loop {
            let b = self.bump()?;
            let lo = match b {
                b']' if !first => return (set != 0).then_some(set),
                b'-' if first || self.peek() == Some(b']') => b'-',
                b'\\' => escaped(self.bump()?)?,
                _ => class_literal(b)?,
            };
            first = false;
            let is_range = self.peek() == Some(b'-') && self.bytes.get(self.at + 1) != Some(&b']');
            if is_range {
                // `[--z]` and `[\--z]` read too much like the `--` set difference.
                if lo == b'-' {
                    return None;
                }
                self.at += 1;
                let hi = match self.bump()? {
                    b'\\' => escaped(self.bump()?)?,
                    b => class_literal(b)?,
                };
                if hi < lo {
                    return None;
                }
                for c in lo..=hi {
                    set |= bit(c);
                }
            } else {
                set |= bit(lo);
            }
        }
    }
}

fn bit(c: u8) -> u128 {
    1 << c
}

/// A character standing for itself outside a class.
fn plain_literal(b: u8) -> Option<u8> {
    match b {
        b'\\' | b'.' | b'+' | b'*' | b'?' | b'(' | b')' | b'|' | b'[' | b']' | b'{' | b'}'
        | b'^' | b'$' | b'#' => None,
        b' '..=b'~' => Some(b),
        _ => None,
    }
}

/// A character standing for itself inside a class (`-` is handled by the caller).
fn class_literal(b: u8) -> Option<u8> {
    match b {
        b'\\' | b'[' | b']' | b'^' | b'-' | b'&' | b'~' => None,
        b' '..=b'~' => Some(b),
        _ => None,
    }
}

/// The character `\b` stands for: escaped ASCII punctuation (`\<` and `\>` are word
/// boundaries), and the newline, tab and carriage return; other letters and digits are
/// classes, assertions or errors.
fn escaped(b: u8) -> Option<u8> {
    match b {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        _ => (b.is_ascii_punctuation() && b != b'<' && b != b'>').then_some(b),
    }
}

/// What a part of the pattern contributes to the automaton.
struct Shape {
    first: u64,
    last: u64,
    nullable: bool,
}

impl Shape {
    const EMPTY: Shape = Shape {
        first: 0,
        last: 0,
        nullable: true,
    };
}

struct Builder {
    by_byte: Box<[u64; 256]>,
    follow: Vec<u64>,
}

impl Builder {
    /// Gives `node`'s sets their positions (fresh ones for each written-out repetition)
    /// and links them; `None` when more than 64 positions are needed.
    fn linearize(&mut self, node: &Node) -> Option<Shape> {
        match node {
            Node::Set(set) => {
                let p = self.follow.len();
                if p == 64 {
                    return None;
                }
                self.follow.push(0);
                for c in 0..128 {
                    if set & bit(c) != 0 {
                        self.by_byte[c as usize] |= 1 << p;
                    }
                }
                Some(Shape {
                    first: 1 << p,
                    last: 1 << p,
                    nullable: false,
                })
            }
            Node::Concat(items) => {
                let mut shape = Shape::EMPTY;
                for item in items {
                    let next = self.linearize(item)?;
                    shape = self.then(shape, next);
                }
                Some(shape)
            }
            Node::Alt(branches) => {
                let mut shape = Shape {
                    first: 0,
                    last: 0,
                    nullable: false,
                };
                for branch in branches {
                    let next = self.linearize(branch)?;
                    shape.first |= next.first;
                    shape.last |= next.last;
                    shape.nullable |= next.nullable;
                }
                Some(shape)
            }
            Node::Repeat(inner, min, max) => {
                let mut shape = Shape::EMPTY;
                for _ in 0..*min {
                    let copy = self.linearize(inner)?;
                    shape = self.then(shape, copy);
                }
                match max {
                    Some(max) => {
                        for _ in *min..*max {
                            let mut copy = self.linearize(inner)?;
                            copy.nullable = true;
                            shape = self.then(shape, copy);
                        }
                    }
                    None => {
                        let mut copy = self.linearize(inner)?;
                        self.link(copy.last, copy.first);
                        copy.nullable = true;
                        shape = self.then(shape, copy);
                    }
                }
                Some(shape)
            }
        }
    }

    /// `a` followed by `b`.
    fn then(&mut self, a: Shape, b: Shape) -> Shape {
        self.link(a.last, b.first);
        Shape {
            first: a.first | if a.nullable { b.first } else { 0 },
            last: b.last | if b.nullable { a.last } else { 0 },
            nullable: a.nullable && b.nullable,
        }
    }

    /// Every position in `from` may be followed by every position in `to`.
    fn link(&mut self, from: u64, to: u64) {
        let mut rest = from;
        while rest != 0 {
            self.follow[rest.trailing_zeros() as usize] |= to;
            rest &= rest - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A small deterministic generator (an LCG), so that failures repeat.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % n.max(1)
        }
    }

    /// The bytes position `p` accepts.
    fn bytes_of(simple: &Simple, p: usize) -> Vec<u8> {
        (0..128u8)
            .filter(|&b| simple.by_byte[b as usize] & (1 << p) != 0)
            .collect()
    }

    /// Texts the automaton walks through (most of them matches), of varied lengths.
    fn walks(simple: &Simple, rng: &mut Rng, count: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..count {
            let mut text = String::new();
            let mut next = simple.first;
            let mut at_last = simple.nullable;
            while next != 0 && text.len() < 40 {
                if at_last && rng.below(4) == 0 {
                    break;
                }
                let live: Vec<usize> = (0..64).filter(|p| next & (1 << p) != 0).collect();
                let p = live[rng.below(live.len())];
                let bytes = bytes_of(simple, p);
                text.push(bytes[rng.below(bytes.len())] as char);
                at_last = simple.last & (1 << p) != 0;
                next = simple.follow[p];
            }
            out.push(text);
        }
        out
    }

    /// Texts near the walks: every ASCII byte at each place, bytes inserted and removed,
    /// prefixes, and non-ASCII or newline additions.
    fn texts_for(simple: &Simple, seed: u64) -> BTreeSet<String> {
        let mut rng = Rng(seed);
        let mut texts = BTreeSet::new();
        for extra in ["", "\n", "é", "a", "0", ":", "\r\n", "ü0", "\u{212a}"] {
            texts.insert(extra.to_owned());
        }
        let some: Vec<u8> = (0..128u8).step_by(7).chain(*b"09afAFxX:-_. ").collect();
        for walk in walks(simple, &mut rng, 16) {
            let bytes = walk.as_bytes();
            for i in 0..=bytes.len() {
                texts.insert(walk[..i].to_owned());
                for tail in ["\n", "é", "x", "0"] {
                    texts.insert(format!("{}{tail}{}", &walk[..i], &walk[i..]));
                }
                for &b in &some {
                    let mut t = bytes.to_vec();
                    t.insert(i, b);
                    texts.insert(String::from_utf8(t).expect("ASCII"));
                }
                if i < bytes.len() {
                    let mut t = bytes.to_vec();
                    t.remove(i);
                    texts.insert(String::from_utf8(t).expect("ASCII"));
                    for b in 0..128u8 {
                        let mut t = bytes.to_vec();
                        t[i] = b;
                        texts.insert(String::from_utf8(t).expect("ASCII"));
                    }
                }
            }
            texts.insert(format!("{walk}{walk}"));
        }
        texts
    }

    /// `source` is in the subset and agrees with `regex_lite` on the texts near it.
    fn assert_agrees(source: &str) {
        let simple = Simple::compile(source).unwrap_or_else(|| panic!("{source} not simple"));
        let regex = regex_lite::Regex::new(source).expect("a valid regex");
        let texts = texts_for(&simple, source.len() as u64);
        let mut matched = 0;
        for text in &texts {
            let expected = regex.is_match(text);
            assert_eq!(simple.is_match(text), expected, "{source} on {text:?}");
            matched += usize::from(expected);
        }
        assert!(matched > 0, "{source}: no text matched");
    }

    /// The `matches:` patterns of the rule files (YAML aliases skipped).
    fn rule_patterns() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("rules folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&path).expect("a rule file");
                    for line in text.lines() {
                        if let Some((_, rest)) = line.split_once("matches: ") {
                            out.extend(yaml_scalar(rest.trim()));
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
            &mut out,
        );
        out
    }

    /// A one-line YAML scalar as the rules write patterns: quoted or plain, maybe
    /// after an anchor (`&name`); `None` for an alias (`*name`).
    fn yaml_scalar(text: &str) -> Option<String> {
        let mut text = text;
        if text.starts_with('*') {
            return None;
        }
        if text.starts_with('&') {
            text = text.split_once(' ')?.1.trim_start();
        }
        if let Some(inner) = text.strip_prefix('\'') {
            return Some(inner.strip_suffix('\'')?.replace("''", "'"));
        }
        if let Some(inner) = text.strip_prefix('"') {
            let inner = inner.strip_suffix('"')?;
            let mut out = String::new();
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    c @ ('\\' | '"' | '/') => out.push(c),
                    _ => return None,
                }
            }
            return Some(out);
        }
        Some(text.to_owned())
    }

    #[test]
    fn rule_patterns_in_the_subset_agree_with_regex_lite() {
        let patterns = rule_patterns();
        assert!(patterns.len() > 20, "{patterns:?}");
        let simple: Vec<&String> = patterns
            .iter()
            .filter(|p| Simple::compile(p).is_some())
            .collect();
        for source in &simple {
            assert_agrees(source);
        }
        for expected in [
            "^[0-9a-fA-F][02468aAcCeE](:[0-9a-fA-F]{2}){5}$",
            "^(vnet|vif|macvtap|macvlan)",
            "^[0-9]+$",
            "^(0[xX])?0*[1-9a-fA-F]",
            "[/\\n]",
        ] {
            assert!(
                simple.iter().any(|p| *p == expected),
                "{expected}: {simple:?}"
            );
        }
    }

    #[test]
    fn each_construct_agrees_with_regex_lite() {
        for source in [
            // Literals, escapes, anchors.
            "^",
            "^$",
            "^a",
            "^a$",
            "^abc",
            "^abc$",
            "^a b",
            "^\\.",
            "^\\.$",
            "^a\\:b\\-c\\$$",
            "^\\$",
            "^/dev/",
            "^x,y=z@w%",
            "^\\(\\)\\[\\]\\{\\}\\|\\*\\+\\?\\^",
            "^&~-",
            // Classes and ranges.
            "^[0-9]",
            "^[0-9a-fA-F]$",
            "^[-a]$",
            "^[a-]$",
            "^[-]$",
            "^[.$*|(]$",
            "^[\\]\\-\\[\\^]$",
            "^[!-/]$",
            "^[A-Za-z0-9. ]",
            // Groups and alternation.
            "^(ab)",
            "^(?:ab)$",
            "^()a$",
            "^(a|b)$",
            "^(a|)$",
            "^(vnet|vif|macvtap|macvlan)",
            "^(vnet|vif|macvtap|macvlan)$",
            "^(hd|sd|vd|xvd|ubd)[a-z]+[0-9]+$",
            "^((a|b)(c|d))+$",
            // Quantifiers.
            "^a?$",
            "^a*$",
            "^a+$",
            "^a*",
            "^a+",
            "^a{3}",
            "^a{3}$",
            "^a{0}$",
            "^a{2,}$",
            "^a{2,4}$",
            "^a{0,3}b$",
            "^[0-9]+$",
            "^0*[1-9]",
            "^(0[xX])?0*[1-9a-fA-F]",
            "^(0[xX])?0+$",
            "^(0[xX])?0*[1-9a-fA-F][0-9a-fA-F]{4,}$",
            "^[A-Za-z0-9. ]{1,8}$",
            "^[0-9a-fA-F][02468aAcCeE](:[0-9a-fA-F]{2}){5}$",
            "^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$",
            "^(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/([0-9]{2}|[0-9]{4})$",
            "^(a*)*$",
            "^(a?b?)+c$",
            "^(ab|a)(bc|c)?$",
            // Unanchored, and the control escapes.
            "[/\\n]",
            "\\.",
            "a",
            "ab$",
            "(ab|b)c",
            "a*$",
            "x?",
            "[0-9]{2}:",
            "^a\\tb\\r$",
            "\\n$",
        ] {
            assert_agrees(source);
        }
    }

    #[test]
    fn dollar_is_the_very_end_of_the_text() {
        let simple = Simple::compile("^ab$").unwrap();
        let regex = regex_lite::Regex::new("^ab$").unwrap();
        for text in ["ab", "ab\n", "ab\r\n", "ab\n\n", "\nab"] {
            assert_eq!(simple.is_match(text), regex.is_match(text), "{text:?}");
        }
        assert!(!simple.is_match("ab\n"));
    }

    #[test]
    fn patterns_outside_the_subset_are_refused() {
        for source in [
            "a|b",
            "^a|b",
            "^a|b$",
            "(?i)^x",
            "^(?i)x",
            "^(?i:x)",
            "^(?P<n>x)",
            "^[^a]",
            "^\\d",
            "^\\s*x",
            "^\\w",
            "^\\bx",
            "^\\<x",
            "^\\v",
            "^.",
            "^a.b",
            "^a$b",
            "^(a$)",
            "^a^",
            "^a*?",
            "^a+?",
            "^a??",
            "^a{2}?",
            "^a{1,2",
            "^a{,2}",
            "^a{3,2}",
            "^a{ 2}",
            "^a{1000}",
            "^*",
            "^(a",
            "^a)",
            "^[]a]",
            "^[a",
            "^[[:alpha:]]",
            "^[a-z&&b]",
            "^[a--z]",
            "^[--z]",
            "^[a-z-0]",
            "^[z-a]",
            "^[a~~b]",
            "^é",
            "^[é]",
            "^\t",
            "^[0-9a-f]{64}[0-9]",
        ] {
            assert!(Simple::compile(source).is_none(), "{source} accepted");
        }
    }
}
