//! Lexer and recursive-descent parser: turns selector source text into the
//! compiled AST that `eval` runs, reporting errors with byte offsets.
//!
//! Besides building the tree, the parser resolves namespace prefixes to URIs,
//! checks function names and arities, rewrites numeric predicates `[n]` to
//! `[position()=n]`, folds `//name` into a single descendant step where that
//! is equivalent, and turns `@name op literal` into a direct attribute test.

use std::ops::Range;

use super::eval::{num_to_string, str_to_num};
use super::{Namespaces, SelectorError};

/// The namespace bound to the `xml` prefix by the XML specification.
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

// ---------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------

/// A location path: an optional leading `/` and a sequence of steps.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct LocationPath {
    /// Starts at the document root instead of the context node.
    pub absolute: bool,
    pub steps: Vec<Step>,
    /// How the evaluator walks it, worked out once here rather than per evaluation.
    pub plan: super::eval::Plan,
}

impl LocationPath {
    /// When the path is a lone relative attribute step `@name` or `@prefix:name` (no
    /// predicate): the attribute's namespace URI and local name.
    pub fn lone_attribute(&self) -> Option<(Option<&str>, &str)> {
        lone_attribute(self.absolute, &self.steps)
    }

    pub fn new(absolute: bool, steps: Vec<Step>) -> LocationPath {
        let plan = super::eval::Plan::of(absolute, &steps);
        LocationPath {
            absolute,
            steps,
            plan,
        }
    }
}

/// [`LocationPath::lone_attribute`] of a path's parts.
pub(super) fn lone_attribute(absolute: bool, steps: &[Step]) -> Option<(Option<&str>, &str)> {
    match steps {
        [step] if !absolute && step.axis == Axis::Attribute && step.predicates.is_empty() => {
            match &step.test {
                NodeTest::Name {
                    namespace, local, ..
                } => Some((namespace.as_deref(), local)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The axes reachable through the abbreviated syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Axis {
    /// `name`
    Child,
    /// `//name` without positional predicates (equivalent, and cheaper).
    Descendant,
    /// The step implied by `//` when it cannot be folded into the next step.
    DescendantOrSelf,
    /// `@name`
    Attribute,
    /// `.`
    SelfNode,
    /// `..`
    Parent,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) enum NodeTest {
    /// `name` or `prefix:name`; `namespace` is the resolved URI.
    Name {
        prefix: Option<Box<str>>,
        namespace: Option<Box<str>>,
        local: Box<str>,
    },
    /// `*`
    AnyName,
    /// `prefix:*`, holding the resolved URI.
    NamespaceAny(Box<str>),
    /// `node()`
    Node,
    /// `text()`
    Text,
    /// `comment()`
    Comment,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Step {
    pub axis: Axis,
    pub test: NodeTest,
    pub predicates: Vec<Expr>,
    /// Some predicate reads `position()` or `last()`, so candidates must be
    /// collected before the predicates can be evaluated.
    pub positional: bool,
    /// `n` when the only predicate that reads positions is the last one and it is a
    /// number (`source[2]`, `source[@mode='bind'][2]`): the step then selects the n-th
    /// candidate the earlier predicates accept, found without collecting candidates.
    pub nth: Option<usize>,
    /// Source text of the step including its predicates (for a step implied
    /// by `//`, the `//` itself).
    pub span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator that gives the same result with the operands swapped.
    pub fn mirror(self) -> Self {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) enum Func {
    Not,
    True,
    False,
    StartsWith,
    Contains,
    StringLength,
    Count,
    LocalName,
    NamespaceUri,
    Name,
    NormalizeSpace,
    String,
    Number,
    Position,
    Last,
    /// `quantity(path [, default-unit])`: libvirt's scaled integer in bytes.
    Quantity,
    /// `int(value [, default])`: an integer in C's base-0 notation (`31`, `0x1f`, `037`);
    /// `default` when the value is empty (an absent attribute).
    Int,
    /// `lower-case(value)`.
    LowerCase,
    /// `mac(value)`: a MAC address in libvirt's canonical form, or ''.
    Mac,
    /// `uuid(value)`: a UUID in canonical form, or ''.
    Uuid,
    /// `hex(number [, digits])`: lower-case hexadecimal, zero-padded to `digits`.
    Hex,
    /// `bitmap-max(value)`: the largest member of a libvirt bitmap (`0-3,^3` is 2), NaN
    /// for an empty or unreadable one.
    BitmapMax,
}

/// What a function accepts: name, minimum and maximum argument count, and
/// whether its argument must be a node-set (a location path).
struct FuncSig {
    name: &'static str,
    func: Func,
    min: usize,
    max: usize,
    node_set_arg: bool,
}

const fn sig(
    name: &'static str,
    func: Func,
    min: usize,
    max: usize,
    node_set_arg: bool,
) -> FuncSig {
    FuncSig {
        name,
        func,
        min,
        max,
        node_set_arg,
    }
}

const FUNCTIONS: &[FuncSig] = &[
    sig("not", Func::Not, 1, 1, false),
    sig("true", Func::True, 0, 0, false),
    sig("false", Func::False, 0, 0, false),
    sig("starts-with", Func::StartsWith, 2, 2, false),
    sig("contains", Func::Contains, 2, 2, false),
    sig("string-length", Func::StringLength, 0, 1, false),
    sig("count", Func::Count, 1, 1, true),
    sig("local-name", Func::LocalName, 0, 1, true),
    sig("namespace-uri", Func::NamespaceUri, 0, 1, true),
    sig("name", Func::Name, 0, 1, true),
    sig("normalize-space", Func::NormalizeSpace, 0, 1, false),
    sig("string", Func::String, 0, 1, false),
    sig("number", Func::Number, 0, 1, false),
    sig("position", Func::Position, 0, 0, false),
    sig("last", Func::Last, 0, 0, false),
    sig("quantity", Func::Quantity, 1, 2, false),
    sig("int", Func::Int, 0, 2, false),
    sig("lower-case", Func::LowerCase, 0, 1, false),
    sig("mac", Func::Mac, 0, 1, false),
    sig("uuid", Func::Uuid, 0, 1, false),
    sig("hex", Func::Hex, 1, 2, false),
    sig("bitmap-max", Func::BitmapMax, 1, 1, false),
];

/// A literal operand of a direct attribute comparison.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Literal {
    /// The string form (a string literal, or the XPath string of a number).
    pub text: Box<str>,
    /// The number form (`number(text)` for a string literal).
    pub number: f64,
    /// The literal was a number, so `=` and `!=` compare numerically.
    pub is_number: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// `@name op literal` (or mirrored): a direct attribute lookup.
    AttrCompare {
        namespace: Option<Box<str>>,
        local: Box<str>,
        op: CmpOp,
        value: Literal,
    },
    Neg(Box<Expr>),
    /// `+ - * div mod`, as XPath numbers.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Literal(Box<str>),
    Number(f64),
    Path(LocationPath),
    Call(Func, Vec<Expr>),
}

/// Static XPath 1.0 type of an expression (always known in this subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    NodeSet,
    Boolean,
    Number,
    String,
}

impl Expr {
    pub fn ty(&self) -> Type {
        match self {
            Expr::Or(_) | Expr::And(_) | Expr::Compare(..) | Expr::AttrCompare { .. } => {
                Type::Boolean
            }
            Expr::Neg(_) | Expr::Arith(..) | Expr::Number(_) => Type::Number,
            Expr::Literal(_) => Type::String,
            Expr::Path(_) => Type::NodeSet,
            Expr::Call(f, _) => match f {
                Func::Not | Func::True | Func::False | Func::StartsWith | Func::Contains => {
                    Type::Boolean
                }
                Func::StringLength
                | Func::Count
                | Func::Number
                | Func::Position
                | Func::Last
                | Func::Quantity
                | Func::Int
                | Func::BitmapMax => Type::Number,
                Func::LowerCase | Func::Mac | Func::Uuid | Func::Hex => Type::String,
                Func::LocalName
                | Func::NamespaceUri
                | Func::Name
                | Func::NormalizeSpace
                | Func::String => Type::String,
            },
        }
    }

    /// Whether the value depends on the context position or size. Paths
    /// start new contexts for their own predicates, so they never do.
    /// `n` when this predicate is `position() = n` (what `[n]` stands for) with `n` a
    /// whole number from 1.
    pub fn nth(&self) -> Option<usize> {
        match self {
            Expr::Compare(CmpOp::Eq, l, r) => match (&**l, &**r) {
                (Expr::Call(Func::Position, args), Expr::Number(n))
                    if args.is_empty() && *n >= 1.0 && n.fract() == 0.0 && *n < 1e9 =>
                {
                    Some(*n as usize)
                }
                _ => None,
            },
            _ => None,
        }
    }

    pub fn uses_position(&self) -> bool {
        match self {
            Expr::Call(Func::Position | Func::Last, _) => true,
            Expr::Call(_, args) => args.iter().any(Expr::uses_position),
            Expr::Or(v) | Expr::And(v) => v.iter().any(Expr::uses_position),
            Expr::Compare(_, l, r) => l.uses_position() || r.uses_position(),
            Expr::Neg(e) => e.uses_position(),
            Expr::Arith(_, l, r) => l.uses_position() || r.uses_position(),
            Expr::AttrCompare { .. } | Expr::Literal(_) | Expr::Number(_) | Expr::Path(_) => false,
        }
    }
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Slash,
    DoubleSlash,
    LBracket,
    RBracket,
    LParen,
    RParen,
    At,
    Comma,
    Dot,
    DotDot,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Minus,
    Plus,
    Literal(Box<str>),
    Number(f64),
    /// `local` or `prefix:local`; ranges into the source.
    Name {
        prefix: Option<Range<usize>>,
        local: Range<usize>,
    },
    /// `prefix:*`
    NsStar {
        prefix: Range<usize>,
    },
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Range<usize>,
}

fn err(offset: usize, message: impl Into<String>) -> SelectorError {
    SelectorError {
        offset,
        message: message.into(),
    }
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && !c.is_whitespace())
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// End of the NCName starting at `start` (which must be a name start).
fn name_end(src: &str, start: usize) -> usize {
    src[start..]
        .char_indices()
        .find(|&(_, c)| !is_name_char(c))
        .map_or(src.len(), |(i, _)| start + i)
}

fn digits_end(src: &str, start: usize) -> usize {
    src[start..]
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .map_or(src.len(), |i| start + i)
}

fn lex(src: &str) -> Result<Vec<Token>, SelectorError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        if is_xml_space(c) {
            i += 1;
            continue;
        }
        let start = i;
        let next = bytes.get(i + 1).copied();
        let tok = match c {
            '/' if next == Some(b'/') => {
                i += 2;
                Tok::DoubleSlash
            }
            '/' => {
                i += 1;
                Tok::Slash
            }
            '.' if next == Some(b'.') => {
                i += 2;
                Tok::DotDot
            }
            '.' if next.is_some_and(|b| b.is_ascii_digit()) => {
                i = digits_end(src, i + 1);
                Tok::Number(src[start..i].parse().unwrap_or(f64::NAN))
            }
            '.' => {
                i += 1;
                Tok::Dot
            }
            '0'..='9' => {
                i = digits_end(src, i);
                if bytes.get(i) == Some(&b'.') {
                    i = digits_end(src, i + 1);
                }
                Tok::Number(src[start..i].parse().unwrap_or(f64::NAN))
            }
            '!' if next == Some(b'=') => {
                i += 2;
                Tok::Ne
            }
            '!' => return Err(err(start, "expected '=' after '!'")),
            '<' | '>' => {
                let or_equal = next == Some(b'=');
                i += if or_equal { 2 } else { 1 };
                match (c, or_equal) {
                    ('<', false) => Tok::Lt,
                    ('<', true) => Tok::Le,
                    ('>', false) => Tok::Gt,
                    _ => Tok::Ge,
                }
            }
            '\'' | '"' => {
                let Some(len) = src[i + 1..].find(c) else {
                    return Err(err(start, "unterminated string literal"));
                };
                i += len + 2;
                Tok::Literal(src[start + 1..i - 1].into())
            }
            '$' => return Err(err(start, "variables are not supported")),
            '|' => return Err(err(start, "the union operator '|' is not supported")),
            c if is_name_start(c) => {
                i = name_end(src, i);
                let after_space = src[i..]
                    .find(|c: char| !is_xml_space(c))
                    .map_or(src.len(), |n| i + n);
                if src[after_space..].starts_with("::") {
                    return Err(err(
                        start,
                        format!(
                            "axis syntax like '{}::' is not supported; use the abbreviated form",
                            &src[start..i]
                        ),
                    ));
                }
                if bytes.get(i) == Some(&b':') {
                    let prefix = start..i;
                    match src[i + 1..].chars().next() {
                        Some('*') => {
                            i += 2;
                            Tok::NsStar { prefix }
                        }
                        Some(c) if is_name_start(c) => {
                            let local_start = i + 1;
                            i = name_end(src, local_start);
                            Tok::Name {
                                prefix: Some(prefix),
                                local: local_start..i,
                            }
                        }
                        _ => {
                            return Err(err(
                                i + 1,
                                format!("expected a local name after '{}:'", &src[prefix]),
                            ));
                        }
                    }
                } else {
                    Tok::Name {
                        prefix: None,
                        local: start..i,
                    }
                }
            }
            _ => {
                let single = match c {
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '@' => Tok::At,
                    ',' => Tok::Comma,
                    '*' => Tok::Star,
                    '=' => Tok::Eq,
                    '-' => Tok::Minus,
                    '+' => Tok::Plus,
                    _ => return Err(err(start, format!("unexpected character '{c}'"))),
                };
                i += 1;
                single
            }
        };
        toks.push(Token {
            tok,
            span: start..i,
        });
    }
    toks.push(Token {
        tok: Tok::End,
        span: src.len()..src.len(),
    });
    Ok(toks)
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// Parses a whole selector, which must be a single location path.
pub(super) fn parse_selector(src: &str, ns: &Namespaces) -> Result<LocationPath, SelectorError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        ns,
    };
    p.selector()
}

/// Parses a whole XPath expression (a location path, a comparison, arithmetic, a
/// function call, ...).
pub(super) fn parse_expression(src: &str, ns: &Namespaces) -> Result<Expr, SelectorError> {
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        ns,
    };
    if *p.peek_tok() == Tok::End {
        return Err(err(0, "empty expression"));
    }
    let e = p.expr()?;
    let t = p.peek().clone();
    if t.tok != Tok::End {
        return Err(err(
            t.span.start,
            format!("unexpected {} after the expression", p.describe(&t)),
        ));
    }
    Ok(e)
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    ns: &'s Namespaces,
}

impl<'s> Parser<'s> {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn peek_tok(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek2_tok(&self) -> &Tok {
        &self.toks[(self.pos + 1).min(self.toks.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// End offset of the last consumed token.
    fn last_end(&self) -> usize {
        self.pos.checked_sub(1).map_or(0, |i| self.toks[i].span.end)
    }

    fn text(&self, t: &Token) -> &'s str {
        &self.src[t.span.clone()]
    }

    /// A token for an error message: quoted, unless it is a string literal
    /// (which carries its own quotes).
    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::Literal(_) => self.text(t).to_owned(),
            _ => format!("'{}'", self.text(t)),
        }
    }

    /// Whether the next token is the unprefixed name `kw` (used for the
    /// operator names `and`, `or`, `div`, `mod` in operator position).
    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek_tok(), Tok::Name { prefix: None, local } if &self.src[local.clone()] == kw)
    }

    fn at_node_type_test(&self) -> bool {
        matches!(self.peek_tok(), Tok::Name { prefix: None, local }
            if matches!(&self.src[local.clone()], "text" | "node" | "comment" | "processing-instruction"))
            && *self.peek2_tok() == Tok::LParen
    }

    fn at_function_call(&self) -> bool {
        matches!(self.peek_tok(), Tok::Name { .. })
            && *self.peek2_tok() == Tok::LParen
            && !self.at_node_type_test()
    }

    fn at_step_start(&self) -> bool {
        matches!(
            self.peek_tok(),
            Tok::Name { .. } | Tok::NsStar { .. } | Tok::Star | Tok::At | Tok::Dot | Tok::DotDot
        )
    }

    fn at_path_start(&self) -> bool {
        matches!(self.peek_tok(), Tok::Slash | Tok::DoubleSlash) || self.at_step_start()
    }

    fn expect(&mut self, tok: Tok, message: &str) -> Result<Token, SelectorError> {
        if *self.peek_tok() == tok {
            Ok(self.bump())
        } else {
            Err(err(self.peek().span.start, message))
        }
    }

    fn selector(&mut self) -> Result<LocationPath, SelectorError> {
        let first = self.peek().clone();
        if first.tok == Tok::End {
            return Err(err(0, "empty selector"));
        }
        if self.at_function_call() {
            return Err(err(
                first.span.start,
                format!(
                    "a selector must be a location path; function calls like '{}()' are only allowed inside predicates",
                    self.text(&first)
                ),
            ));
        }
        if !self.at_path_start() {
            let message = match first.tok {
                Tok::Literal(_) | Tok::Number(_) | Tok::LParen | Tok::Minus => {
                    "a selector must be a location path".to_owned()
                }
                _ => format!("unexpected '{}'", self.text(&first)),
            };
            return Err(err(first.span.start, message));
        }
        let path = self.location_path()?;
        let t = self.peek().clone();
        let is_operator = matches!(
            t.tok,
            Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge
        ) || self.at_keyword("and")
            || self.at_keyword("or");
        match t.tok {
            Tok::End => Ok(path),
            _ if is_operator => Err(err(
                t.span.start,
                format!(
                    "unexpected '{}': a selector must be a location path; put tests in a predicate, e.g. .[...]",
                    self.text(&t)
                ),
            )),
            Tok::Name { .. } | Tok::NsStar { .. } | Tok::At => Err(err(
                t.span.start,
                format!("unexpected '{}'; steps are separated by '/'", self.text(&t)),
            )),
            _ => Err(err(t.span.start, format!("unexpected '{}'", self.text(&t)))),
        }
    }

    fn expected_step(&self) -> SelectorError {
        let t = self.peek();
        if t.tok == Tok::End {
            err(t.span.start, "unexpected end of selector, expected a step")
        } else {
            err(
                t.span.start,
                format!("expected a step, found {}", self.describe(t)),
            )
        }
    }

    fn location_path(&mut self) -> Result<LocationPath, SelectorError> {
        let mut steps = Vec::new();
        let mut absolute = false;
        let mut pending_descendant = None;
        match self.peek_tok() {
            Tok::Slash => {
                self.bump();
                absolute = true;
                if !self.at_step_start() {
                    // `/` alone: the document root.
                    return Ok(LocationPath::new(absolute, steps));
                }
            }
            Tok::DoubleSlash => {
                absolute = true;
                pending_descendant = Some(self.bump().span);
            }
            _ => {}
        }
        loop {
            let step = self.step()?;
            push_step(&mut steps, step, pending_descendant.take());
            match self.peek_tok() {
                Tok::Slash => {
                    self.bump();
                }
                Tok::DoubleSlash => pending_descendant = Some(self.bump().span),
                _ => break,
            }
        }
        Ok(LocationPath::new(absolute, steps))
    }

    fn resolve_prefix(&self, prefix: &Range<usize>) -> Result<Box<str>, SelectorError> {
        let name = &self.src[prefix.clone()];
        match self.ns.get(name) {
            Some(uri) => Ok(uri.into()),
            None if name == "xml" => Ok(NS_XML.into()),
            None => Err(err(
                prefix.start,
                format!("unknown namespace prefix '{name}'"),
            )),
        }
    }

    fn name_test(
        &self,
        prefix: &Option<Range<usize>>,
        local: &Range<usize>,
    ) -> Result<NodeTest, SelectorError> {
        Ok(NodeTest::Name {
            prefix: prefix.as_ref().map(|p| self.src[p.clone()].into()),
            namespace: prefix
                .as_ref()
                .map(|p| self.resolve_prefix(p))
                .transpose()?,
            local: self.src[local.clone()].into(),
        })
    }

    fn step(&mut self) -> Result<Step, SelectorError> {
        if !self.at_step_start() {
            return Err(self.expected_step());
        }
        let first = self.bump();
        let (axis, test) = match &first.tok {
            Tok::Dot => (Axis::SelfNode, NodeTest::Node),
            Tok::DotDot => (Axis::Parent, NodeTest::Node),
            Tok::Star => (Axis::Child, NodeTest::AnyName),
            Tok::NsStar { prefix } => (
                Axis::Child,
                NodeTest::NamespaceAny(self.resolve_prefix(prefix)?),
            ),
            Tok::Name { prefix, .. } if *self.peek_tok() == Tok::LParen => {
                let name = self.text(&first);
                let test = match (prefix, name) {
                    (None, "text") => NodeTest::Text,
                    (None, "node") => NodeTest::Node,
                    (None, "comment") => NodeTest::Comment,
                    (None, "processing-instruction") => {
                        return Err(err(
                            first.span.start,
                            "processing-instruction() is not supported",
                        ));
                    }
                    _ => {
                        return Err(err(
                            first.span.start,
                            format!(
                                "'{name}()' cannot be a step; function calls are only allowed inside predicates"
                            ),
                        ));
                    }
                };
                self.bump();
                self.expect(Tok::RParen, "expected ')'")?;
                (Axis::Child, test)
            }
            Tok::Name { prefix, local } => (Axis::Child, self.name_test(prefix, local)?),
            Tok::At => {
                let t = self.bump();
                let test = match &t.tok {
                    Tok::Name { prefix, local } => self.name_test(prefix, local)?,
                    Tok::Star => NodeTest::AnyName,
                    Tok::NsStar { prefix } => NodeTest::NamespaceAny(self.resolve_prefix(prefix)?),
                    _ => return Err(err(t.span.start, "expected a name after '@'")),
                };
                (Axis::Attribute, test)
            }
            _ => {
                return Err(err(
                    first.span.start,
                    format!("expected a step, found {}", self.describe(&first)),
                ));
            }
        };
        let mut predicates = Vec::new();
        let mut positional = false;
        while *self.peek_tok() == Tok::LBracket {
            self.bump();
            let expr = self.expr()?;
            self.expect(Tok::RBracket, "expected ']'")?;
            let expr = if expr.ty() == Type::Number {
                Expr::Compare(
                    CmpOp::Eq,
                    Box::new(Expr::Call(Func::Position, Vec::new())),
                    Box::new(expr),
                )
            } else {
                expr
            };
            positional |= expr.uses_position();
            predicates.push(expr);
        }
        let nth = match predicates.split_last() {
            Some((last, before)) if !before.iter().any(Expr::uses_position) => last.nth(),
            _ => None,
        };
        Ok(Step {
            axis,
            test,
            predicates,
            positional,
            nth,
            span: first.span.start..self.last_end(),
        })
    }

    fn expr(&mut self) -> Result<Expr, SelectorError> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> Result<Expr, SelectorError> {
        let first = self.and_expr()?;
        if !self.at_keyword("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.at_keyword("or") {
            self.bump();
            items.push(self.and_expr()?);
        }
        Ok(Expr::Or(items))
    }

    fn and_expr(&mut self) -> Result<Expr, SelectorError> {
        let first = self.equality_expr()?;
        if !self.at_keyword("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.at_keyword("and") {
            self.bump();
            items.push(self.equality_expr()?);
        }
        Ok(Expr::And(items))
    }

    fn equality_expr(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.relational_expr()?;
        loop {
            let op = match self.peek_tok() {
                Tok::Eq => CmpOp::Eq,
                Tok::Ne => CmpOp::Ne,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.relational_expr()?;
            left = make_compare(op, left, right);
        }
    }

    fn relational_expr(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.additive_expr()?;
        loop {
            let op = match self.peek_tok() {
                Tok::Lt => CmpOp::Lt,
                Tok::Le => CmpOp::Le,
                Tok::Gt => CmpOp::Gt,
                Tok::Ge => CmpOp::Ge,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.additive_expr()?;
            left = make_compare(op, left, right);
        }
    }

    fn additive_expr(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.multiplicative_expr()?;
        loop {
            let op = match self.peek_tok() {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.multiplicative_expr()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative_expr(&mut self) -> Result<Expr, SelectorError> {
        let mut left = self.unary_expr()?;
        loop {
            // In operator position `*` multiplies and `div`/`mod` are operators.
            let op = if *self.peek_tok() == Tok::Star {
                ArithOp::Mul
            } else if self.at_keyword("div") {
                ArithOp::Div
            } else if self.at_keyword("mod") {
                ArithOp::Mod
            } else {
                return Ok(left);
            };
            self.bump();
            let right = self.unary_expr()?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary_expr(&mut self) -> Result<Expr, SelectorError> {
        if *self.peek_tok() == Tok::Minus {
            self.bump();
            return Ok(match self.unary_expr()? {
                Expr::Number(n) => Expr::Number(-n),
                other => Expr::Neg(Box::new(other)),
            });
        }
        self.primary_expr()
    }

    fn primary_expr(&mut self) -> Result<Expr, SelectorError> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Literal(s) => {
                self.bump();
                Ok(Expr::Literal(s.clone()))
            }
            Tok::Number(n) => {
                self.bump();
                Ok(Expr::Number(*n))
            }
            Tok::LParen => {
                self.bump();
                let e = self.expr()?;
                self.expect(Tok::RParen, "expected ')'")?;
                Ok(e)
            }
            Tok::Plus => Err(err(
                t.span.start,
                "a number has no leading '+' (XPath has no unary plus)",
            )),
            _ if self.at_function_call() => self.function_call(),
            _ if self.at_path_start() => Ok(Expr::Path(self.location_path()?)),
            Tok::End => Err(err(
                t.span.start,
                "unexpected end of selector, expected an expression",
            )),
            _ => Err(err(
                t.span.start,
                format!("expected an expression, found {}", self.describe(&t)),
            )),
        }
    }

    fn function_call(&mut self) -> Result<Expr, SelectorError> {
        let name_tok = self.bump();
        let name = self.text(&name_tok);
        let Some(sig) = FUNCTIONS.iter().find(|s| s.name == name) else {
            return Err(err(
                name_tok.span.start,
                format!("unknown function '{name}'"),
            ));
        };
        self.bump(); // `(`
        let mut args = Vec::new();
        if *self.peek_tok() != Tok::RParen {
            loop {
                let start = self.peek().span.start;
                let arg = self.expr()?;
                if sig.node_set_arg && arg.ty() != Type::NodeSet {
                    return Err(err(
                        start,
                        format!("{name}() expects a location path argument"),
                    ));
                }
                args.push(arg);
                if *self.peek_tok() == Tok::Comma {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen, "expected ',' or ')'")?;
        if args.len() < sig.min || args.len() > sig.max {
            let expected = match (sig.min, sig.max) {
                (0, 0) => "no arguments".to_owned(),
                (1, 1) => "1 argument".to_owned(),
                (a, b) if a == b => format!("{a} arguments"),
                (a, b) => format!("{a} or {b} arguments"),
            };
            return Err(err(
                name_tok.span.start,
                format!("{name}() takes {expected}, found {}", args.len()),
            ));
        }
        Ok(Expr::Call(sig.func, args))
    }
}

/// Appends `step`, first applying a preceding `//` (whose span is `descendant`).
/// `//name` is folded into one descendant step unless the step's predicates
/// depend on position (then `//x[1]` must stay "first x child of each node").
fn push_step(steps: &mut Vec<Step>, mut step: Step, descendant: Option<Range<usize>>) {
    if let Some(span) = descendant {
        if step.axis == Axis::Child && !step.positional {
            step.axis = Axis::Descendant;
            step.span.start = span.start;
        } else {
            steps.push(Step {
                axis: Axis::DescendantOrSelf,
                test: NodeTest::Node,
                predicates: Vec::new(),
                positional: false,
                nth: None,
                span,
            });
        }
    }
    steps.push(step);
}

/// `@name` alone (relative, one attribute name step, no predicates).
fn single_attribute(e: &Expr) -> Option<(Option<&str>, &str)> {
    let Expr::Path(p) = e else { return None };
    p.lone_attribute()
}

fn literal(e: &Expr) -> Option<Literal> {
    match e {
        Expr::Literal(s) => Some(Literal {
            text: s.clone(),
            number: str_to_num(s),
            is_number: false,
        }),
        Expr::Number(n) => Some(Literal {
            text: num_to_string(*n).into(),
            number: *n,
            is_number: true,
        }),
        _ => None,
    }
}

fn make_compare(op: CmpOp, left: Expr, right: Expr) -> Expr {
    for (attr, lit, op) in [(&left, &right, op), (&right, &left, op.mirror())] {
        if let (Some((namespace, local)), Some(value)) = (single_attribute(attr), literal(lit)) {
            return Expr::AttrCompare {
                namespace: namespace.map(Into::into),
                local: local.into(),
                op,
                value,
            };
        }
    }
    Expr::Compare(op, Box::new(left), Box::new(right))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<LocationPath, SelectorError> {
        parse_selector(src, &Namespaces::builtin())
    }

    #[track_caller]
    fn parse_err(src: &str) -> (usize, String) {
        match parse(src) {
            Ok(p) => panic!("{src:?} parsed unexpectedly: {p:?}"),
            Err(e) => (e.offset, e.message),
        }
    }

    #[track_caller]
    fn assert_err(src: &str, offset: usize, message: &str) {
        assert_eq!(parse_err(src), (offset, message.to_owned()), "for {src:?}");
    }

    #[test]
    fn accepts_spec_examples() {
        for src in [
            "features/hyperv/stimer[@state='on']",
            "metadata/libosinfo:libosinfo/libosinfo:os[starts-with(@id, 'http://microsoft.com/win/')]",
            "os/type[@arch and @arch!='i686' and @arch!='x86_64']",
            ".[@type!='kvm']",
            "devices/disk[@device='disk'][not(driver/@cache)]",
            "clock/timer[@name='hpet']/@present",
            ".",
            "..",
            "/",
            "/domain/devices",
            "//disk",
            "a//b/..//@x",
            "devices/*[self-test]",
            "qemu:commandline/qemu:*",
            "@*",
            "devices/disk/text()",
            "node()/comment()",
            "a[count(b) > 2][position() = last()]",
            "a[ -1 < -(2) ]",
            "a[.5 = 0.5][\"dq\" = 'sq'][1.]",
            "a [ @b = 'c' ] / d",
            "a[/domain/@type = //x/@y]",
            "a[string-length() = string-length(normalize-space(string(.)))]",
            "a[number(@x) >= 1 or local-name(..) = name(.) or namespace-uri() = '']",
            "a[contains(@x, 'y') and true() and not(false())]",
            "élément/über-ding_1.x",
            "@xml:lang",
        ] {
            if let Err(e) = parse(src) {
                panic!("{src:?}: {e:?}");
            }
        }
    }

    #[test]
    fn empty_selector() {
        assert_err("", 0, "empty selector");
        assert_err("   ", 0, "empty selector");
    }

    #[test]
    fn missing_step() {
        assert_err("a/", 2, "unexpected end of selector, expected a step");
        assert_err("a//", 3, "unexpected end of selector, expected a step");
        assert_err("//", 2, "unexpected end of selector, expected a step");
        assert_err("a/]", 2, "expected a step, found ']'");
        assert_err("a/'x'", 2, "expected a step, found 'x'");
        assert_err("a/(b)", 2, "expected a step, found '('");
    }

    #[test]
    fn attribute_name_errors() {
        assert_err("@", 1, "expected a name after '@'");
        assert_err("a/@[x]", 3, "expected a name after '@'");
        assert_err("a/@ 1", 4, "expected a name after '@'");
    }

    #[test]
    fn bracket_and_paren_errors() {
        assert_err("a[@b='x'", 8, "expected ']'");
        assert_err("a[@b='x')", 8, "expected ']'");
        assert_err("a[@b c]", 5, "expected ']'");
        assert_err("a)", 1, "unexpected ')'");
        assert_err("a/b]", 3, "unexpected ']'");
        assert_err("a[(@b]", 5, "expected ')'");
        assert_err("a[not(@b]", 8, "expected ',' or ')'");
        assert_err("a[]", 2, "expected an expression, found ']'");
        assert_err(
            "a[",
            2,
            "unexpected end of selector, expected an expression",
        );
        assert_err("a[@b=]", 5, "expected an expression, found ']'");
        assert_err("a[@b and]", 8, "expected an expression, found ']'");
        assert_err("text(", 5, "expected ')'");
    }

    #[test]
    fn lexical_errors() {
        assert_err("a[@b='x]", 5, "unterminated string literal");
        assert_err("a[@b=\"x']", 5, "unterminated string literal");
        assert_err("a#b", 1, "unexpected character '#'");
        assert_err("a[@b!'x']", 4, "expected '=' after '!'");
        assert_err("a:", 2, "expected a local name after 'a:'");
        assert_err("a:/b", 2, "expected a local name after 'a:'");
        assert_err("a[1 :]", 4, "unexpected character ':'");
    }

    #[test]
    fn unsupported_syntax() {
        assert_err(
            "child::a",
            0,
            "axis syntax like 'child::' is not supported; use the abbreviated form",
        );
        assert_err(
            "a/attribute :: b",
            2,
            "axis syntax like 'attribute::' is not supported; use the abbreviated form",
        );
        assert_err("a[$x]", 2, "variables are not supported");
        assert_err("a|b", 1, "the union operator '|' is not supported");
        assert_err(
            "a[+1]",
            2,
            "a number has no leading '+' (XPath has no unary plus)",
        );
        assert_err("a[@x +]", 6, "expected an expression, found ']'");
        assert_err(
            "a/processing-instruction()",
            2,
            "processing-instruction() is not supported",
        );
    }

    #[test]
    fn namespace_prefix_errors() {
        assert_err("foo:bar", 0, "unknown namespace prefix 'foo'");
        assert_err("a/foo:*", 2, "unknown namespace prefix 'foo'");
        assert_err("a/@foo:x", 3, "unknown namespace prefix 'foo'");
        assert_err("a[nope:x = 1]", 2, "unknown namespace prefix 'nope'");
        let mut ns = Namespaces::builtin();
        ns.insert("foo", "urn:foo");
        assert!(parse_selector("foo:bar/@foo:x", &ns).is_ok());
    }

    #[test]
    fn function_errors() {
        assert_err("a[frob(1)]", 2, "unknown function 'frob'");
        assert_err("a[qemu:count(b)]", 2, "unknown function 'qemu:count'");
        assert_err("a[not()]", 2, "not() takes 1 argument, found 0");
        assert_err("a[true(1)]", 2, "true() takes no arguments, found 1");
        assert_err(
            "a[starts-with(@x)]",
            2,
            "starts-with() takes 2 arguments, found 1",
        );
        assert_err(
            "a[string(@x, @y)]",
            2,
            "string() takes 0 or 1 arguments, found 2",
        );
        assert_err(
            "a[count('x') = 1]",
            8,
            "count() expects a location path argument",
        );
        assert_err(
            "a[local-name(1)]",
            13,
            "local-name() expects a location path argument",
        );
    }

    #[test]
    fn top_level_must_be_a_path() {
        assert_err(
            "count(a)",
            0,
            "a selector must be a location path; function calls like 'count()' are only allowed inside predicates",
        );
        assert_err("'x'", 0, "a selector must be a location path");
        assert_err("(a)", 0, "a selector must be a location path");
        assert_err(
            "a = 'b'",
            2,
            "unexpected '=': a selector must be a location path; put tests in a predicate, e.g. .[...]",
        );
        assert_err(
            "a and b",
            2,
            "unexpected 'and': a selector must be a location path; put tests in a predicate, e.g. .[...]",
        );
        assert_err("a b", 2, "unexpected 'b'; steps are separated by '/'");
        assert_err("]", 0, "unexpected ']'");
        assert_err(
            "a/count(b)",
            2,
            "'count()' cannot be a step; function calls are only allowed inside predicates",
        );
    }

    #[test]
    fn double_slash_folding() {
        let p = parse("//disk").unwrap();
        assert!(p.absolute);
        assert_eq!(p.steps.len(), 1);
        assert_eq!(p.steps[0].axis, Axis::Descendant);
        assert_eq!(p.steps[0].span, 0..6);

        // A positional predicate keeps the descendant-or-self step.
        let p = parse("a//disk[1]").unwrap();
        let axes: Vec<_> = p.steps.iter().map(|s| s.axis).collect();
        assert_eq!(axes, [Axis::Child, Axis::DescendantOrSelf, Axis::Child]);
        assert_eq!(p.steps[1].span, 1..3);
        assert!(p.steps[2].positional);

        let p = parse("a//@x").unwrap();
        let axes: Vec<_> = p.steps.iter().map(|s| s.axis).collect();
        assert_eq!(axes, [Axis::Child, Axis::DescendantOrSelf, Axis::Attribute]);
    }

    #[test]
    fn numeric_predicate_becomes_position_test() {
        let p = parse("a[2]").unwrap();
        let step = &p.steps[0];
        assert!(step.positional);
        assert!(matches!(
            &step.predicates[0],
            Expr::Compare(CmpOp::Eq, l, r)
                if matches!(**l, Expr::Call(Func::Position, _)) && matches!(**r, Expr::Number(n) if n == 2.0)
        ));
        // Not positional: a boolean predicate, even one that contains a path with its own positions.
        let nth = |src: &str| parse(src).unwrap().steps[0].nth;
        assert_eq!(nth("a[2]"), Some(2));
        assert_eq!(nth("a[@x = 'y'][2]"), Some(2));
        assert_eq!(nth("a[2][@x]"), None);
        assert_eq!(nth("a[position() > 1][1]"), None);
        assert_eq!(nth("a[1.5]"), None);
        assert_eq!(nth("a[last()]"), None);
        assert_eq!(nth("a"), None);
        assert!(!parse("a[b[1]]").unwrap().steps[0].positional);
        assert!(parse("a[position() > 1]").unwrap().steps[0].positional);
        assert!(parse("a[count(b)]").unwrap().steps[0].positional);
    }

    #[test]
    fn attribute_comparison_is_compiled_to_a_lookup() {
        let p = parse("a['on' = @state][@n < 3][@qemu:x != 'y']").unwrap();
        let preds = &p.steps[0].predicates;
        assert!(matches!(
            &preds[0],
            Expr::AttrCompare { namespace: None, local, op: CmpOp::Eq, value }
                if &**local == "state" && &*value.text == "on" && !value.is_number
        ));
        assert!(matches!(
            &preds[1],
            Expr::AttrCompare { op: CmpOp::Lt, value, .. } if value.is_number && value.number == 3.0
        ));
        assert!(matches!(
            &preds[2],
            Expr::AttrCompare { namespace: Some(ns), op: CmpOp::Ne, .. }
                if &**ns == "http://libvirt.org/schemas/domain/qemu/1.0"
        ));
        // `3 > @n` mirrors to `@n < 3`.
        let p = parse("a[3 > @n]").unwrap();
        assert!(matches!(
            &p.steps[0].predicates[0],
            Expr::AttrCompare { op: CmpOp::Lt, .. }
        ));
        // Not a single attribute: general comparison.
        let p = parse("a[b/@n = 'x']").unwrap();
        assert!(matches!(&p.steps[0].predicates[0], Expr::Compare(..)));
    }

    #[test]
    fn operator_names_are_element_names_in_step_position() {
        let p = parse("and/or[or and and]").unwrap();
        assert!(matches!(&p.steps[0].test, NodeTest::Name { local, .. } if &**local == "and"));
        assert!(matches!(&p.steps[1].predicates[0], Expr::And(v) if v.len() == 2));
        // Element named `text` vs the text() node test.
        let p = parse("text/text()").unwrap();
        assert!(matches!(&p.steps[0].test, NodeTest::Name { local, .. } if &**local == "text"));
        assert_eq!(p.steps[1].test, NodeTest::Text);
    }

    #[test]
    fn prefixes_resolve_to_uris() {
        let p = parse("libosinfo:os/qemu:*").unwrap();
        assert_eq!(
            p.steps[0].test,
            NodeTest::Name {
                prefix: Some("libosinfo".into()),
                namespace: Some("http://libosinfo.org/xmlns/libvirt/domain/1.0".into()),
                local: "os".into(),
            }
        );
        assert_eq!(
            p.steps[1].test,
            NodeTest::NamespaceAny("http://libvirt.org/schemas/domain/qemu/1.0".into())
        );
    }

    #[test]
    fn step_spans_cover_predicates() {
        let src = "clock/timer[@name='hpet']/@present";
        let p = parse(src).unwrap();
        let spans: Vec<_> = p.steps.iter().map(|s| &src[s.span.clone()]).collect();
        assert_eq!(spans, ["clock", "timer[@name='hpet']", "@present"]);
    }
}
