//! Reading rule files: YAML (serde-saphyr) into raw structs, then compiling selectors,
//! conditions, messages and fixes. Every error names the file, line and column.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use super::{
    EditSpec, Example, ExampleKind, FixSpec, Message, MessagePart, Origin, Rule, RuleSet, Safety,
    Severity,
};
use crate::condition::{Comparison, Condition, Definitions, ValueTest};
use crate::document::{LineIndex, Position};
use crate::selector::{Namespaces, Selector};

/// Built-in rule files, embedded by `build.rs`: `(path, contents)`.
const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// A rule file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub position: Option<Position>,
    pub message: String,
    /// The offending source line, for a caret under `position`.
    pub line_text: Option<String>,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}: {}", self.file, p, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for RuleError {}

/// The built-in rules alone.
pub fn load_builtin() -> Result<RuleSet, Vec<RuleError>> {
    load_rule_sets(&[])
}

/// Built-in rules plus the rule files found at `paths` (files, or folders searched for
/// `*.yaml`/`*.yml`). All errors are collected, not just the first.
pub fn load_rule_sets(paths: &[PathBuf]) -> Result<RuleSet, Vec<RuleError>> {
    let mut sources: Vec<(String, String)> = BUILTIN
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    let mut errors = Vec::new();
    for path in paths {
        match read_rule_paths(path) {
            Ok(found) => sources.extend(found),
            Err(e) => errors.push(e),
        }
    }
    let (set, compile_errors) = compile(&sources);
    errors.extend(compile_errors);
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

fn read_error(file: &Path, e: impl fmt::Display) -> RuleError {
    RuleError {
        file: file.display().to_string(),
        position: None,
        message: format!("cannot read rules: {e}"),
        line_text: None,
    }
}

fn read_rule_paths(path: &Path) -> Result<Vec<(String, String)>, RuleError> {
    let meta = std::fs::metadata(path).map_err(|e| read_error(path, e))?;
    let mut files = Vec::new();
    if meta.is_dir() {
        for entry in ignore::WalkBuilder::new(path)
            .standard_filters(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build()
        {
            let entry = entry.map_err(|e| read_error(path, e))?;
            let p = entry.path();
            if p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            {
                files.push(p.to_path_buf());
            }
        }
    } else {
        files.push(path.to_path_buf());
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).map_err(|e| read_error(&f, e))?;
            Ok((f.display().to_string(), text))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Raw YAML shapes

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFile {
    #[serde(default)]
    namespaces: Option<Spanned<OrderedMap>>,
    #[serde(default)]
    definitions: Option<HashMap<String, Spanned<RawCondition>>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    id: Spanned<String>,
    severity: Severity,
    summary: String,
    explanation: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    for_each: Option<Spanned<String>>,
    when: Spanned<RawCondition>,
    #[serde(default)]
    report_at: Option<Spanned<OneOrMany>>,
    message: Spanned<String>,
    #[serde(default)]
    fix: Option<Spanned<RawFix>>,
    #[serde(default)]
    alternatives: Vec<Spanned<RawFix>>,
    #[serde(default)]
    examples: Vec<Spanned<RawExample>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCondition {
    all: Option<Vec<Spanned<RawCondition>>>,
    any: Option<Vec<Spanned<RawCondition>>>,
    not: Option<Box<Spanned<RawCondition>>>,
    present: Option<Spanned<String>>,
    absent: Option<Spanned<String>>,
    is: Option<Spanned<String>>,
    value: Option<Spanned<String>>,
    equals: Option<Scalar>,
    #[serde(rename = "in")]
    in_: Option<Vec<Scalar>>,
    matches: Option<Spanned<String>>,
    greater_than: Option<f64>,
    at_least: Option<f64>,
    less_than: Option<f64>,
    at_most: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFix {
    title: String,
    safety: Safety,
    edits: Vec<Spanned<RawEdit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEdit {
    ensure: Option<Spanned<String>>,
    attributes: Option<OrderedMap>,
    when_created: Option<HashMap<String, OrderedMap>>,
    set: Option<Spanned<String>>,
    to: Option<Scalar>,
    remove: Option<Spanned<String>>,
    replace_text: Option<Spanned<String>>,
    with: Option<Scalar>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExample {
    fires: Option<String>,
    passes: Option<String>,
    fixed: Option<String>,
}

/// Any YAML scalar, kept as text (`8191`, `on`, `'yes'` all become strings).
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or a list of strings.
struct OneOrMany(Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a selector or a list of selectors")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    out.push(item);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping of scalars that keeps the order it was written in.
#[derive(Default)]
struct OrderedMap(Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------------------
// Compilation

/// One rule file while it is being compiled.
struct FileCtx<'s> {
    name: &'s str,
    text: &'s str,
    lines: LineIndex,
    namespaces: Namespaces,
}

impl FileCtx<'_> {
    fn error_at_offset(&self, offset: usize, message: impl Into<String>) -> RuleError {
        let position = self.lines.position(self.text, offset);
        let range = self.lines.line_range(self.text, position.line);
        RuleError {
            file: self.name.to_string(),
            position: Some(position),
            message: message.into(),
            line_text: Some(self.text[range].to_string()),
        }
    }

    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> RuleError {
        self.error_at_offset(self.offset_of(at, 0), message)
    }

    /// Byte offset of character `inner` inside the scalar at `at` (skipping an opening quote).
    fn offset_of<T>(&self, at: &Spanned<T>, inner: usize) -> usize {
        let loc = at.referenced;
        let start = loc
            .span()
            .byte_offset()
            .map(|b| b as usize)
            .unwrap_or_else(|| {
                let line = (loc.line() as usize).max(1);
                self.lines.line_range(self.text, line).start
                    + (loc.column() as usize).saturating_sub(1)
            })
            .min(self.text.len());
        let quoted = matches!(self.text.as_bytes().get(start), Some(b'\'' | b'"'));
        (start + usize::from(quoted) + inner).min(self.text.len())
    }

    fn line_of<T>(&self, at: &Spanned<T>) -> usize {
        at.referenced.line() as usize
    }

    fn selector(&self, src: &Spanned<String>) -> Result<Selector, RuleError> {
        Selector::parse(&src.value, &self.namespaces).map_err(|e| {
            self.error_at_offset(
                self.offset_of(src, e.offset),
                format!("invalid selector `{}`: {}", src.value, e.message),
            )
        })
    }
}

fn yaml_error(name: &str, text: &str, err: &serde_saphyr::Error) -> RuleError {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // "line 3 column 15: message" -> "message"
    let message = match first.split_once(": ") {
        Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
        _ => first.to_string(),
    };
    let lines = LineIndex::new(text);
    let position = err.location().map(|loc| Position {
        line: loc.line() as usize,
        column: loc.column() as usize,
    });
    let line_text = position
        .filter(|p| p.line >= 1 && p.line <= text.lines().count().max(1))
        .map(|p| text[lines.line_range(text, p.line)].to_string());
    RuleError {
        file: name.to_string(),
        position,
        message,
        line_text,
    }
}

const RULE_ID_PATTERN: &str = r"^[a-z0-9]+(-[a-z0-9]+)*/[a-z0-9]+(-[a-z0-9]+)*$";

fn compile(sources: &[(String, String)]) -> (RuleSet, Vec<RuleError>) {
    let mut errors = Vec::new();
    let mut parsed: Vec<(FileCtx, RawFile)> = Vec::new();
    for (name, text) in sources {
        let raw: RawFile = match serde_saphyr::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(yaml_error(name, text, &e));
                continue;
            }
        };
        let mut ctx = FileCtx {
            name,
            text,
            lines: LineIndex::new(text),
            namespaces: Namespaces::builtin(),
        };
        if let Some(ns) = &raw.namespaces {
            for (prefix, uri) in &ns.value.0 {
                ctx.namespaces.insert(prefix.clone(), uri.clone());
            }
        }
        parsed.push((ctx, raw));
    }

    // Definitions are global: first their names (so `is:` can refer forward and across
    // files), then their conditions.
    let mut defs = Definitions::default();
    let mut def_origin: Vec<String> = Vec::new();
    let mut def_sources = Vec::new();
    for (file_index, (ctx, raw)) in parsed.iter().enumerate() {
        let mut names: Vec<_> = raw.definitions.iter().flatten().collect();
        names.sort_by_key(|(_, c)| (c.referenced.line(), c.referenced.column()));
        for (name, cond) in names {
            if let Some(i) = defs.index(name) {
                errors.push(ctx.error(
                    cond,
                    format!(
                        "definition `{name}` is already defined at {}",
                        def_origin[i]
                    ),
                ));
                continue;
            }
            defs.names.push(name.clone());
            def_origin.push(format!("{}:{}", ctx.name, ctx.line_of(cond)));
            def_sources.push((file_index, cond));
        }
    }
    for (file_index, cond) in &def_sources {
        let ctx = &parsed[*file_index].0;
        match compile_condition(ctx, cond, &defs) {
            Ok(c) => defs.conditions.push(c),
            Err(e) => {
                errors.push(e);
                defs.conditions.push(Condition::All(vec![]));
            }
        }
    }
    if errors.is_empty()
        && let Some(cycle) = find_cycle(&defs)
    {
        let (file_index, cond) = &def_sources[cycle[0]];
        let names: Vec<_> = cycle.iter().map(|&i| defs.names[i].as_str()).collect();
        errors.push(parsed[*file_index].0.error(
            cond,
            format!(
                "definitions refer to each other in a cycle: {}",
                names.join(" -> ")
            ),
        ));
    }

    // Cannot panic: a constant pattern, compiled by every test run.
    let id_pattern = Regex::new(RULE_ID_PATTERN).expect("valid pattern");
    let mut rules: Vec<Rule> = Vec::new();
    for (ctx, raw) in &parsed {
        for raw_rule in &raw.rules {
            match compile_rule(ctx, raw_rule, &defs, &id_pattern) {
                Ok(rule) => {
                    if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                        errors.push(ctx.error(
                            &raw_rule.value.id,
                            format!(
                                "duplicate rule id `{}`: already defined at {}",
                                rule.id, other.origin
                            ),
                        ));
                    } else {
                        rules.push(rule);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
    }
    (
        RuleSet {
            rules,
            definitions: defs,
        },
        errors,
    )
}

fn find_cycle(defs: &Definitions) -> Option<Vec<usize>> {
    // 0 = unvisited, 1 = on stack, 2 = done
    fn visit(
        i: usize,
        defs: &Definitions,
        state: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        stack.push(i);
        let mut next = Vec::new();
        defs.conditions[i].referenced_definitions(&mut next);
        for j in next {
            if state[j] == 1 {
                let from = stack.iter().position(|&k| k == j).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(j);
                return Some(cycle);
            }
            if state[j] == 0
                && let Some(c) = visit(j, defs, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[i] = 2;
        None
    }
    let mut state = vec![0u8; defs.conditions.len()];
    (0..state.len()).find_map(|i| {
        if state[i] == 0 {
            visit(i, defs, &mut state, &mut Vec::new())
        } else {
            None
        }
    })
}

fn compile_condition(
    ctx: &FileCtx,
    raw: &Spanned<RawCondition>,
    defs: &Definitions,
) -> Result<Condition, RuleError> {
    let c = &raw.value;
    let tests = [
        c.equals.is_some(),
        c.in_.is_some(),
        c.matches.is_some(),
        c.greater_than.is_some(),
        c.at_least.is_some(),
        c.less_than.is_some(),
        c.at_most.is_some(),
    ];
    let kinds = [
        c.all.is_some(),
        c.any.is_some(),
        c.not.is_some(),
        c.present.is_some(),
        c.absent.is_some(),
        c.is.is_some(),
        c.value.is_some(),
    ];
    let kind_count = kinds.iter().filter(|&&k| k).count();
    let test_count = tests.iter().filter(|&&t| t).count();
    const KINDS: &str = "`all`, `any`, `not`, `present`, `absent`, `is` or `value`";
    if kind_count != 1 {
        return Err(ctx.error(
            raw,
            if kind_count == 0 {
                format!("a condition needs one of {KINDS}")
            } else {
                format!("a condition takes exactly one of {KINDS}; split it with `all:`")
            },
        ));
    }
    if c.value.is_none() && test_count > 0 {
        return Err(ctx.error(
            raw,
            "`equals`, `in`, `matches` and the numeric tests go with `value:`",
        ));
    }
    let list = |items: &Vec<Spanned<RawCondition>>| {
        items
            .iter()
            .map(|i| compile_condition(ctx, i, defs))
            .collect::<Result<Vec<_>, _>>()
    };
    if let Some(items) = &c.all {
        return Ok(Condition::All(list(items)?));
    }
    if let Some(items) = &c.any {
        return Ok(Condition::Any(list(items)?));
    }
    if let Some(inner) = &c.not {
        return Ok(Condition::Not(Box::new(compile_condition(
            ctx, inner, defs,
        )?)));
    }
    if let Some(s) = &c.present {
        return Ok(Condition::Present(ctx.selector(s)?));
    }
    if let Some(s) = &c.absent {
        return Ok(Condition::Absent(ctx.selector(s)?));
    }
    if let Some(name) = &c.is {
        return defs.index(&name.value).map(Condition::Is).ok_or_else(|| {
            let known = if defs.names.is_empty() {
                "none are defined".to_string()
            } else {
                format!("known: {}", defs.names.join(", "))
            };
            ctx.error(
                name,
                format!("unknown definition `{}` ({known})", name.value),
            )
        });
    }
    // Cannot panic: this function returns early unless `value` is set.
    let selector = ctx.selector(c.value.as_ref().expect("checked above"))?;
    if test_count != 1 {
        return Err(ctx.error(
            raw,
            "`value:` needs exactly one test: `equals`, `in`, `matches`, `greater-than`, `at-least`, `less-than` or `at-most`",
        ));
    }
    let test = if let Some(v) = &c.equals {
        ValueTest::Equals(v.0.clone())
    } else if let Some(list) = &c.in_ {
        ValueTest::In(list.iter().map(|s| s.0.clone()).collect())
    } else if let Some(pattern) = &c.matches {
        ValueTest::Matches(
            Regex::new(&pattern.value)
                .map_err(|e| ctx.error(pattern, format!("invalid regular expression: {e}")))?,
        )
    } else {
        let (op, bound) = [
            (Comparison::GreaterThan, c.greater_than),
            (Comparison::AtLeast, c.at_least),
            (Comparison::LessThan, c.less_than),
            (Comparison::AtMost, c.at_most),
        ]
        .into_iter()
        .find_map(|(op, v)| v.map(|v| (op, v)))
        // Cannot panic: `test_count == 1` and the other three tests are absent.
        .expect("one test present");
        ValueTest::Compare(op, bound)
    };
    Ok(Condition::Value(selector, test))
}

fn compile_rule(
    ctx: &FileCtx,
    raw: &Spanned<RawRule>,
    defs: &Definitions,
    id_pattern: &Regex,
) -> Result<Rule, RuleError> {
    let r = &raw.value;
    if !id_pattern.is_match(&r.id.value) {
        return Err(ctx.error(
            &r.id,
            format!(
                "rule id `{}` must look like `group/kebab-name` (lower-case letters, digits and dashes)",
                r.id.value
            ),
        ));
    }
    let for_each = r.for_each.as_ref().map(|s| ctx.selector(s)).transpose()?;
    let when = compile_condition(ctx, &r.when, defs)?;
    let mut report_at = Vec::new();
    if let Some(list) = &r.report_at {
        for source in &list.value.0 {
            let spanned = Spanned::new(source.clone(), list.referenced, list.defined);
            // A single selector is located exactly; one of a list, at the list.
            let selector = if list.value.0.len() == 1 {
                ctx.selector(&spanned)?
            } else {
                Selector::parse(source, &ctx.namespaces).map_err(|e| {
                    ctx.error(
                        list,
                        format!("invalid selector `{source}` in report-at: {}", e.message),
                    )
                })?
            };
            report_at.push(selector);
        }
    }
    let message = compile_message(ctx, &r.message)?;
    let fix = r.fix.as_ref().map(|f| compile_fix(ctx, f)).transpose()?;
    let alternatives = r
        .alternatives
        .iter()
        .map(|f| compile_fix(ctx, f))
        .collect::<Result<Vec<_>, _>>()?;
    let raw_fixes = r.fix.iter().chain(&r.alternatives);
    for (spec, raw_fix) in fix.iter().chain(&alternatives).zip(raw_fixes) {
        crate::fix::validate::check_fix(spec, for_each.is_some()).map_err(|(i, message)| {
            match raw_fix.value.edits.get(i) {
                Some(edit) => ctx.error(edit, message),
                None => ctx.error(raw_fix, message),
            }
        })?;
    }
    let mut examples = Vec::new();
    for ex in &r.examples {
        let e = &ex.value;
        let (kind, xml) = match (&e.fires, &e.passes) {
            (Some(x), None) => (ExampleKind::Fires, x),
            (None, Some(x)) => (ExampleKind::Passes, x),
            _ => return Err(ctx.error(ex, "an example has exactly one of `fires` or `passes`")),
        };
        if e.fixed.is_some() && kind == ExampleKind::Passes {
            return Err(ctx.error(ex, "`fixed` belongs to a `fires` example"));
        }
        if e.fixed.is_some() && fix.is_none() {
            return Err(ctx.error(ex, "`fixed` needs the rule to have a `fix`"));
        }
        examples.push(Example {
            kind,
            xml: xml.clone(),
            fixed: e.fixed.clone(),
            line: ctx.line_of(ex),
        });
    }
    Ok(Rule {
        id: r.id.value.clone(),
        severity: r.severity,
        summary: r.summary.trim().to_string(),
        explanation: r.explanation.trim_end().to_string(),
        references: r.references.clone(),
        for_each,
        when,
        report_at,
        message,
        fix,
        alternatives,
        examples,
        origin: Origin {
            file: ctx.name.to_string(),
            line: ctx.line_of(&r.id),
        },
    })
}

/// `{selector}` holes; `{{` and `}}` are literal braces.
fn compile_message(ctx: &FileCtx, src: &Spanned<String>) -> Result<Message, RuleError> {
    let text = &src.value;
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let Some(close) = text[i..].find('}') else {
                    return Err(ctx.error_at_offset(
                        ctx.offset_of(src, i),
                        "unclosed `{` in message (write `{{` for a brace)",
                    ));
                };
                let inner = &text[i + 1..i + close];
                let selector = Selector::parse(inner, &ctx.namespaces).map_err(|e| {
                    ctx.error_at_offset(
                        ctx.offset_of(src, i + 1 + e.offset),
                        format!("invalid selector `{inner}` in message: {}", e.message),
                    )
                })?;
                if !literal.is_empty() {
                    parts.push(MessagePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(MessagePart::Value(selector));
                while chars.peek().is_some_and(|&(j, _)| j <= i + close) {
                    chars.next();
                }
            }
            '}' => {
                return Err(ctx.error_at_offset(
                    ctx.offset_of(src, i),
                    "unmatched `}` in message (write `}}` for a brace)",
                ));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(MessagePart::Text(literal));
    }
    Ok(Message { parts })
}

fn compile_fix(ctx: &FileCtx, raw: &Spanned<RawFix>) -> Result<FixSpec, RuleError> {
    let f = &raw.value;
    if f.edits.is_empty() {
        return Err(ctx.error(raw, "a fix needs at least one edit"));
    }
    let edits = f
        .edits
        .iter()
        .map(|e| compile_edit(ctx, e))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FixSpec {
        title: f.title.trim().to_string(),
        safety: f.safety,
        edits,
    })
}

fn compile_edit(ctx: &FileCtx, raw: &Spanned<RawEdit>) -> Result<EditSpec, RuleError> {
    let e = &raw.value;
    let kinds = [
        e.ensure.is_some(),
        e.set.is_some(),
        e.remove.is_some(),
        e.replace_text.is_some(),
    ];
    if kinds.iter().filter(|&&k| k).count() != 1 {
        return Err(ctx.error(
            raw,
            "an edit takes exactly one of `ensure`, `set`, `remove` or `replace-text`",
        ));
    }
    let misplaced = |key: &str, owner: &str| ctx.error(raw, format!("`{key}` goes with `{owner}`"));
    if e.attributes.is_some() && e.ensure.is_none() {
        return Err(misplaced("attributes", "ensure"));
    }
    if e.when_created.is_some() && e.ensure.is_none() {
        return Err(misplaced("when-created", "ensure"));
    }
    if e.to.is_some() && e.set.is_none() {
        return Err(misplaced("to", "set"));
    }
    if e.with.is_some() && e.replace_text.is_none() {
        return Err(misplaced("with", "replace-text"));
    }
    if let Some(src) = &e.ensure {
        let selector = ctx.selector(src)?;
        let path = selector
            .simple_path()
            .filter(|steps| steps.iter().all(|s| s.prefix.is_none()))
            .ok_or_else(|| {
                ctx.error(
                    src,
                    "`ensure` takes a plain element path: child names with `[@attr='value']` predicates only (no `*`, `//`, `..`, functions or namespace prefixes)",
                )
            })?;
        let attributes = e
            .attributes
            .as_ref()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        let mut when_created: Vec<(String, Vec<(String, String)>)> = e
            .when_created
            .iter()
            .flatten()
            .map(|(element, attrs)| (element.clone(), attrs.0.clone()))
            .collect();
        when_created.sort();
        for (element, _) in &when_created {
            if !path.iter().any(|step| &step.name == element) {
                return Err(ctx.error(
                    raw,
                    format!(
                        "`when-created` names <{element}>, which is not a step of `{}`",
                        src.value
                    ),
                ));
            }
        }
        let names = attributes
            .iter()
            .chain(when_created.iter().flat_map(|(_, a)| a));
        for (name, _) in names {
            if !is_xml_name(name) {
                return Err(ctx.error(raw, format!("`{name}` is not a valid attribute name")));
            }
        }
        return Ok(EditSpec::Ensure {
            path,
            source: src.value.clone(),
            attributes,
            when_created,
        });
    }
    if let Some(src) = &e.set {
        let selector = ctx.selector(src)?;
        let (element, attribute) = selector.split_attribute().ok_or_else(|| {
            ctx.error(src, "`set` takes a path ending in an attribute, like `clock/timer[@name='hpet']/@present`")
        })?;
        let value =
            e.to.as_ref()
                .ok_or_else(|| ctx.error(raw, "`set` needs `to:` (the new value)"))?;
        return Ok(EditSpec::Set {
            element,
            attribute,
            value: value.0.clone(),
        });
    }
    if let Some(src) = &e.remove {
        return Ok(EditSpec::Remove(ctx.selector(src)?));
    }
    // Cannot panic: exactly one kind is present (checked first) and the others returned.
    let src = e.replace_text.as_ref().expect("one kind present");
    let text = e
        .with
        .as_ref()
        .ok_or_else(|| ctx.error(raw, "`replace-text` needs `with:` (the new text)"))?;
    Ok(EditSpec::ReplaceText {
        selector: ctx.selector(src)?,
        text: text.0.clone(),
    })
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The names under which built-in rule files are embedded (`rules/...yaml`).
pub fn builtin_files() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}
