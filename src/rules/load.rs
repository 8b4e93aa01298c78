//! Reading rule files: YAML (serde-saphyr) into raw structs, then compiling selectors,
//! conditions, messages and fixes. Every error names the file, line and column.

use std::fmt;
use std::path::{Path, PathBuf};

use regex_lite::Regex;
use serde_saphyr::{Location, Spanned};

use super::raw::{
    self, OrderedMap, RawCondition, RawDefinition, RawDisjoint, RawEdit, RawEditKind, RawEdits,
    RawFile, RawFix, RawKeys, RawRef, RawRule, RawTest, RawUnique, RawVersionWindow, Scalar,
};
use super::repo::{Against, RepoCheck};
use super::{
    About, EditSpec, EditValue, Example, ExampleKind, FixSpec, Lazy, Message, MessagePart, Origin,
    Rule, RuleLogic, RuleSet, Template, Version, VersionWindow,
};
use crate::condition::{
    Condition, Definitions, Disjoint, KeyPart, Pattern, Unique, ValueCondition, ValueTest,
};
use crate::document::{LineIndex, Position};
use crate::selector::{Expression, Namespaces, Normalize, Selector};

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

/// The built-in rules alone, as build.rs compiled them: loads in microseconds, but
/// without explanations and examples (see [`load_documented`]).
pub fn load_builtin() -> Result<RuleSet, Vec<RuleError>> {
    Ok(crate::builtin::compiled())
}

/// Built-in rules plus the rule files found at `paths` (files, or folders searched for
/// `*.yaml`/`*.yml`). All errors are collected, not just the first. Without `paths`,
/// the compiled built-in set (no explanations or examples); with them, everything is
/// compiled from YAML, since user rules may refer to built-in definitions.
pub fn load_rule_sets(paths: &[PathBuf]) -> Result<RuleSet, Vec<RuleError>> {
    if paths.is_empty() {
        return load_builtin();
    }
    load_documented(paths)
}

/// Built-in rules plus the rule files at `paths`, all compiled from YAML with their
/// explanations and examples: for `rule`, `rules`, `test-rules` and documentation.
pub fn load_documented(paths: &[PathBuf]) -> Result<RuleSet, Vec<RuleError>> {
    let mut sources: Vec<(String, String)> = crate::builtin::SOURCES
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

    /// An error at the YAML node `at` (inside its opening quote, if any).
    fn error<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> RuleError {
        let start = self.start_of(at.referenced);
        let quoted = matches!(self.text.as_bytes().get(start), Some(b'\'' | b'"'));
        self.error_at_offset(start + usize::from(quoted), message)
    }

    fn error_at(&self, at: Location, message: impl Into<String>) -> RuleError {
        self.error_at_offset(self.start_of(at), message)
    }

    /// Byte offset where the YAML node at `loc` starts.
    fn start_of(&self, loc: Location) -> usize {
        loc.span()
            .byte_offset()
            .map(|b| b as usize)
            .unwrap_or_else(|| {
                let line = (loc.line() as usize).max(1);
                self.lines.line_range(self.text, line).start
                    + (loc.column() as usize).saturating_sub(1)
            })
            .min(self.text.len())
    }

    /// Byte offset in the file of byte `inner` of the scalar value at `at`, through quotes,
    /// escapes, and the folding and indentation of multi-line scalars.
    fn offset_of(&self, at: &Spanned<String>, inner: usize) -> usize {
        scalar_offset(self.text, self.start_of(at.referenced), &at.value, inner)
    }

    fn expression(&self, src: &Spanned<String>) -> Result<Expression, RuleError> {
        Expression::parse(&src.value, &self.namespaces).map_err(|e| {
            self.error_at_offset(
                self.offset_of(src, e.offset),
                format!("invalid expression `{}`: {}", src.value, e.message),
            )
        })
    }

    /// `as: NAME` (text when absent).
    fn normalize(&self, name: Option<&Spanned<String>>) -> Result<Normalize, RuleError> {
        match name {
            None => Ok(Normalize::Text),
            Some(n) => Normalize::from_name(&n.value).ok_or_else(|| {
                self.error(
                    n,
                    format!(
                        "unknown normalisation `{}` (known: {})",
                        n.value,
                        Normalize::NAMES.join(", ")
                    ),
                )
            }),
        }
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

/// Byte offset in `text` of byte `inner` of `value`, the decoded YAML scalar written at
/// `start`. Walks the source and the value side by side: a quote opens the scalar,
/// `\` escapes (double quotes) and `''` (single quotes) stand for one character, a block
/// scalar's header line is skipped, and line breaks with their indentation stand for the
/// newline or space they fold into.
fn scalar_offset(text: &str, start: usize, value: &str, inner: usize) -> usize {
    let src = text.as_bytes();
    let mut s = start;
    #[derive(PartialEq)]
    enum Style {
        Plain,
        Single,
        Double,
        Block,
    }
    let style = match src.get(s) {
        Some(b'\'') => {
            s += 1;
            Style::Single
        }
        Some(b'"') => {
            s += 1;
            Style::Double
        }
        Some(b'|' | b'>') => {
            // The header line (`|`, `>-`, `|2`, a comment) ends at the line break.
            while s < src.len() && src[s] != b'\n' {
                s += 1;
            }
            Style::Block
        }
        _ => Style::Plain,
    };
    let is_space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    for (i, c) in value.char_indices() {
        if i >= inner || s >= src.len() {
            break;
        }
        let mut buf = [0u8; 4];
        let want = c.encode_utf8(&mut buf).as_bytes();
        loop {
            if s >= src.len() {
                break;
            }
            if src[s..].starts_with(want) && !(style == Style::Double && src[s] == b'\\') {
                s += want.len();
                if style == Style::Single && c == '\'' && src.get(s) == Some(&b'\'') {
                    s += 1;
                }
                break;
            }
            match src[s] {
                b'\\' if style == Style::Double => {
                    let len = match src.get(s + 1) {
                        Some(b'x') => 4,
                        Some(b'u') => 6,
                        Some(b'U') => 10,
                        Some(b'\r' | b'\n') => {
                            // An escaped line break: skip it and the next line's indent.
                            s += 2;
                            while s < src.len() && is_space(src[s]) {
                                s += 1;
                            }
                            continue;
                        }
                        _ => 2,
                    };
                    s = (s + len).min(src.len());
                    break;
                }
                b if is_space(b) => {
                    // Folding or indentation: the value's whitespace (or nothing) for a run
                    // of source whitespace.
                    let run_start = s;
                    while s < src.len() && is_space(src[s]) {
                        s += 1;
                    }
                    if c.is_whitespace() {
                        break;
                    }
                    if s == run_start {
                        break;
                    }
                }
                _ => {
                    // Something the value does not hold at this place: give up aligning.
                    return s.min(text.len());
                }
            }
        }
    }
    // Land on the character itself, not on the line break or indentation before it.
    let target = value.get(inner..).and_then(|rest| rest.chars().next());
    if target.is_some_and(|c| !c.is_whitespace()) {
        loop {
            if style == Style::Double
                && src.get(s) == Some(&b'\\')
                && matches!(src.get(s + 1), Some(b'\r' | b'\n'))
            {
                s += 2;
            } else if s < src.len() && is_space(src[s]) {
                s += 1;
            } else {
                break;
            }
        }
    }
    s.min(text.len())
}

fn yaml_error(name: &str, text: &str, err: &serde_saphyr::Error) -> RuleError {
    let (position, message) = crate::yaml::error_parts(err);
    let lines = LineIndex::new(text);
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

pub(crate) fn compile(sources: &[(String, String)]) -> (RuleSet, Vec<RuleError>) {
    let mut errors = Vec::new();
    let mut parsed: Vec<(FileCtx, RawFile)> = Vec::new();
    for (name, text) in sources {
        let ctx = FileCtx {
            name,
            text,
            lines: LineIndex::new(text),
            namespaces: Namespaces::builtin(),
        };
        let (result, problems) = raw::parse_file(text);
        errors.extend(problems.iter().map(|p| ctx.error_at(p.at, &p.message)));
        let raw = match result {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(yaml_error(name, text, &e));
                continue;
            }
        };
        let mut ctx = ctx;
        if let Some(ns) = &raw.namespaces {
            for (prefix, uri) in &ns.value.0 {
                ctx.namespaces.insert(prefix.clone(), uri.clone());
            }
        }
        parsed.push((ctx, raw));
    }

    // Definitions are global: first their names (so `is:` can refer forward and across
    // files), then their conditions.
    let mut defs = DefCtx {
        parsed: &parsed,
        defs: Definitions::default(),
        at: Vec::new(),
        templates: Vec::new(),
        instances: std::collections::HashMap::new(),
        in_progress: Vec::new(),
    };
    let mut def_origin: Vec<(String, String)> = Vec::new();
    let mut plain = Vec::new();
    for (file_index, (ctx, raw)) in parsed.iter().enumerate() {
        for (name, def) in &raw.definitions {
            if let Some((_, origin)) = def_origin.iter().find(|(n, _)| *n == name.value) {
                errors.push(ctx.error(
                    name,
                    format!("definition `{}` is already defined at {origin}", name.value),
                ));
                continue;
            }
            def_origin.push((
                name.value.clone(),
                format!("{}:{}", ctx.name, ctx.line_of(name)),
            ));
            if def.value.params.is_empty() {
                defs.defs.names.push(name.value.clone());
                defs.at.push((file_index, def.referenced));
                plain.push((file_index, def));
            } else {
                defs.templates.push((name.value.clone(), file_index, def));
            }
        }
    }
    for (file_index, def) in &plain {
        let ctx = &parsed[*file_index].0;
        let cond = Spanned::new(def.value.condition.clone(), def.referenced, def.defined);
        match compile_condition(ctx, &cond, &mut defs) {
            Ok(c) => defs.defs.conditions.push(Lazy::new(c)),
            Err(e) => {
                errors.push(e);
                defs.defs.conditions.push(Lazy::new(Condition::All(vec![])));
            }
        }
    }
    // A definition with parameters must at least compile with its parameters' names.
    for (name, file_index, def) in defs.templates.clone() {
        let args: Vec<(String, String)> = def
            .value
            .params
            .iter()
            .map(|p| (p.value.clone(), p.value.clone()))
            .collect();
        let ctx = &parsed[file_index].0;
        let mut cond = def.value.condition.clone();
        cond.substitute(&args);
        // A trial: whatever it instantiates is dropped again.
        let (count, instances) = (defs.defs.names.len(), defs.instances.clone());
        let trial = compile_condition(
            ctx,
            &Spanned::new(cond, def.referenced, def.defined),
            &mut defs,
        );
        defs.defs.names.truncate(count);
        defs.defs.conditions.truncate(count);
        defs.at.truncate(count);
        defs.instances = instances;
        if let Err(e) = trial {
            errors.push(RuleError {
                message: format!("{} (in definition `{name}`)", e.message),
                ..e
            });
        }
    }

    let mut groups = Groups {
        parsed: &parsed,
        groups: Vec::new(),
        in_progress: Vec::new(),
    };
    for (file_index, (ctx, raw)) in parsed.iter().enumerate() {
        for (name, edits) in &raw.edit_groups {
            if let Some((_, other, _)) = groups.groups.iter().find(|(n, _, _)| *n == name.value) {
                errors.push(ctx.error(
                    name,
                    format!(
                        "edit group `{}` is already defined in {}",
                        name.value, parsed[*other].0.name
                    ),
                ));
                continue;
            }
            groups.groups.push((name.value.clone(), file_index, edits));
        }
    }

    // Cannot panic: a constant pattern, compiled by every test run.
    let id_pattern = Regex::new(RULE_ID_PATTERN).expect("valid pattern");
    let mut rules: Vec<Rule> = Vec::new();
    for (ctx, raw) in &parsed {
        for raw_rule in &raw.rules {
            match compile_rule(ctx, raw_rule, &mut defs, &mut groups, &id_pattern) {
                Ok(rule) => {
                    if let Some(other) = rules.iter().find(|r| r.id == rule.id) {
                        let at = raw_rule
                            .value
                            .id
                            .as_ref()
                            .map_or(raw_rule.referenced, |i| i.referenced);
                        errors.push(ctx.error_at(
                            at,
                            format!(
                                "duplicate rule id `{}`: already defined at {}",
                                rule.id,
                                other.origin()
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
    let defs_at = defs.at;
    let defs = defs.defs;
    if errors.is_empty()
        && let Some(cycle) = find_cycle(&defs)
    {
        let (file_index, at) = defs_at[cycle[0]];
        let names: Vec<_> = cycle.iter().map(|&i| defs.names[i].as_str()).collect();
        errors.push(parsed[file_index].0.error_at(
            at,
            format!(
                "definitions refer to each other in a cycle: {}",
                names.join(" -> ")
            ),
        ));
    }
    // Report in reading order: by file, then by place.
    let file_order = |name: &str| sources.iter().position(|(n, _)| n == name);
    errors.sort_by_key(|e| (file_order(&e.file), e.position.map(|p| (p.line, p.column))));
    errors.dedup();
    (RuleSet::new(rules, defs), errors)
}

/// The definitions while rules are compiled: plain ones by index, ones with parameters
/// instantiated on first use (once per distinct set of arguments).
struct DefCtx<'p> {
    parsed: &'p [(FileCtx<'p>, RawFile)],
    defs: Definitions,
    /// Where each definition of `defs` is written: file index and location.
    at: Vec<(usize, Location)>,
    /// Definitions with parameters: name, file index, text.
    templates: Vec<(String, usize, &'p Spanned<RawDefinition>)>,
    /// Instantiations already compiled, by `name(param=arg, ...)`.
    instances: std::collections::HashMap<String, usize>,
    in_progress: Vec<String>,
}

impl DefCtx<'_> {
    /// The index of the definition `r` names, instantiating one with parameters.
    fn resolve(&mut self, ctx: &FileCtx, r: &Spanned<RawRef>) -> Result<usize, RuleError> {
        let name = &r.value.name;
        let at = r.value.name_at.unwrap_or(r.referenced);
        if let Some(i) = self.defs.index(name) {
            if !r.value.args.is_empty() {
                return Err(ctx.error_at(at, format!("definition `{name}` takes no parameters")));
            }
            return Ok(i);
        }
        let Some((_, file_index, def)) = self.templates.iter().find(|(n, _, _)| n == name).cloned()
        else {
            let mut known: Vec<&str> = self.defs.names.iter().map(String::as_str).collect();
            known.extend(self.templates.iter().map(|(n, _, _)| n.as_str()));
            let known: Vec<&str> = known.into_iter().filter(|n| !n.contains('(')).collect();
            let known = if known.is_empty() {
                "none are defined".to_string()
            } else {
                format!("known: {}", known.join(", "))
            };
            return Err(ctx.error_at(at, format!("unknown definition `{name}` ({known})")));
        };
        let params: Vec<&str> = def.value.params.iter().map(|p| p.value.as_str()).collect();
        let mut args: Vec<(String, String)> = Vec::new();
        for (param, value) in &r.value.args {
            let param = match (param.as_str(), params.as_slice()) {
                ("", [only]) => (*only).to_string(),
                ("", _) => {
                    return Err(ctx.error_at(
                        at,
                        format!(
                            "definition `{name}` takes parameters {}: name them, as `{{{name}: {{{}: ...}}}}`",
                            params.join(", "),
                            params[0]
                        ),
                    ));
                }
                (p, _) if params.contains(&p) => p.to_string(),
                (p, _) => {
                    return Err(ctx.error_at(
                        at,
                        format!(
                            "definition `{name}` has no parameter `{p}` (its parameters: {})",
                            params.join(", ")
                        ),
                    ));
                }
            };
            args.push((param, value.clone()));
        }
        let missing: Vec<&str> = params
            .iter()
            .filter(|p| !args.iter().any(|(a, _)| a == *p))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(ctx.error_at(
                at,
                format!(
                    "definition `{name}` needs {} {}: write `{{{name}: ...}}`",
                    if missing.len() == 1 {
                        "parameter"
                    } else {
                        "parameters"
                    },
                    missing.join(", ")
                ),
            ));
        }
        args.sort();
        let key = format!(
            "{name}({})",
            args.iter()
                .map(|(p, v)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(&i) = self.instances.get(&key) {
            return Ok(i);
        }
        if self.in_progress.contains(&key) {
            return Err(ctx.error_at(at, format!("definition `{key}` refers to itself")));
        }
        self.in_progress.push(key.clone());
        let mut cond = def.value.condition.clone();
        cond.substitute(&args);
        let parsed = self.parsed;
        let def_ctx = &parsed[file_index].0;
        let compiled = compile_condition(
            def_ctx,
            &Spanned::new(cond, def.referenced, def.defined),
            self,
        );
        self.in_progress.pop();
        let compiled = compiled.map_err(|e| RuleError {
            message: format!(
                "{} (in `{key}`, used at {}:{})",
                e.message,
                ctx.name,
                at.line()
            ),
            ..e
        })?;
        let index = self.defs.names.len();
        self.defs.push(key.clone(), compiled);
        self.at.push((file_index, def.referenced));
        self.instances.insert(key, index);
        Ok(index)
    }
}

/// The named edit groups, expanded where `use:` names them.
struct Groups<'p> {
    parsed: &'p [(FileCtx<'p>, RawFile)],
    /// Name, file index, edits.
    groups: Vec<(String, usize, &'p Spanned<RawEdits>)>,
    in_progress: Vec<String>,
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
        defs.conditions[i].get().referenced_definitions(&mut next);
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
    defs: &mut DefCtx,
) -> Result<Condition, RuleError> {
    let mut list = |items: &Vec<Spanned<RawCondition>>| {
        items
            .iter()
            .map(|i| compile_condition(ctx, i, defs))
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(match &raw.value {
        RawCondition::All(items) => Condition::All(list(items)?),
        RawCondition::Any(items) => Condition::Any(list(items)?),
        RawCondition::Not(inner) => Condition::Not(Box::new(compile_condition(ctx, inner, defs)?)),
        RawCondition::Present(s) => Condition::Present(ctx.selector(s)?),
        RawCondition::Absent(s) => Condition::Absent(ctx.selector(s)?),
        RawCondition::Is(r) => Condition::Is(defs.resolve(ctx, r)?),
        RawCondition::Value {
            select,
            normalize,
            test,
        } => {
            let selector = ctx.selector(select)?;
            let normalize = ctx.normalize(normalize.as_ref())?;
            let test = match test {
                RawTest::Equals(v) => ValueTest::Equals(v.0.clone()),
                RawTest::In(list) => ValueTest::In(list.iter().map(|s| s.0.clone()).collect()),
                RawTest::Matches(pattern) => {
                    ValueTest::Matches(Pattern::new(&pattern.value).map_err(|e| {
                        ctx.error(pattern, format!("invalid regular expression: {e}"))
                    })?)
                }
                RawTest::Compare(op, bound) => {
                    let n = if normalize.is_numeric() {
                        normalize
                            .text(&bound.value.0)
                            .and_then(|k| k.number())
                            .unwrap_or(f64::NAN)
                    } else {
                        crate::selector::xpath_number(&bound.value.0)
                    };
                    if n.is_nan() {
                        return Err(
                            ctx.error(bound, format!("`{}` is not a number", bound.value.0))
                        );
                    }
                    if !matches!(
                        normalize,
                        Normalize::Text | Normalize::Number | Normalize::Quantity
                    ) {
                        return Err(ctx.error(
                            bound,
                            format!(
                                "numeric tests need numbers; `as: {normalize}` values are text"
                            ),
                        ));
                    }
                    ValueTest::Compare(*op, n)
                }
            };
            Condition::Value(ValueCondition {
                selector,
                normalize,
                test,
            })
        }
        RawCondition::Test(src) => Condition::Test(ctx.expression(src)?),
        RawCondition::Unique(u) => Condition::Unique(compile_unique(ctx, u)?),
        RawCondition::Disjoint(d) => Condition::Disjoint(compile_disjoint(ctx, d)?),
        // Already reported while reading; the set will not be used.
        RawCondition::Invalid => Condition::All(vec![]),
    })
}

fn compile_unique(ctx: &FileCtx, raw: &Spanned<RawUnique>) -> Result<Unique, RuleError> {
    let u = &raw.value;
    let (for_each, key) = compile_items(
        ctx,
        raw,
        u.for_each.as_ref(),
        u.key.as_ref(),
        u.normalize.as_ref(),
    )?;
    let except = match &u.except {
        Some(values) if values.value.0.len() != key.len() => {
            return Err(ctx.error(
                values,
                format!(
                    "`except` has {} value(s) but the key has {} part(s): give one value per part",
                    values.value.0.len(),
                    key.len()
                ),
            ));
        }
        Some(values) => Some(values.value.0.iter().map(|v| v.0.clone()).collect()),
        None => None,
    };
    Ok(Unique {
        for_each,
        key,
        label: u.label.clone().unwrap_or_else(|| DEFAULT_LABEL.to_string()),
        except,
        split: std::sync::OnceLock::new(),
    })
}

fn compile_disjoint(ctx: &FileCtx, raw: &Spanned<RawDisjoint>) -> Result<Disjoint, RuleError> {
    let d = &raw.value;
    let (Some(for_each), Some(set)) = (&d.for_each, &d.set) else {
        return Err(missing(
            ctx,
            raw,
            "disjoint",
            &[("for-each", d.for_each.is_none()), ("set", d.set.is_none())],
        ));
    };
    Ok(Disjoint {
        for_each: ctx.selector(for_each)?,
        set: ctx.selector(set)?,
        label: d.label.clone().unwrap_or_else(|| DEFAULT_LABEL.to_string()),
    })
}

/// The related place's label of a `unique` or `disjoint` that names none.
const DEFAULT_LABEL: &str = "first defined here";

/// "`KIND` is missing `a` and `b`", for the keys whose flag is set.
fn missing<T>(ctx: &FileCtx, raw: &Spanned<T>, kind: &str, keys: &[(&str, bool)]) -> RuleError {
    let names: Vec<String> = keys
        .iter()
        .filter(|(_, absent)| *absent)
        .map(|(key, _)| format!("`{key}`"))
        .collect();
    ctx.error(raw, format!("`{kind}` is missing {}", names.join(" and ")))
}

/// The `for-each`, `key` and `as` of a `unique` (the condition, or a repository rule's):
/// the items' selector and the parts of their key.
fn compile_items<T>(
    ctx: &FileCtx,
    raw: &Spanned<T>,
    for_each: Option<&Spanned<String>>,
    keys: Option<&Spanned<RawKeys>>,
    normalize: Option<&Spanned<String>>,
) -> Result<(Selector, Vec<KeyPart>), RuleError> {
    let (Some(for_each), Some(keys)) = (for_each, keys) else {
        return Err(missing(
            ctx,
            raw,
            "unique",
            &[("for-each", for_each.is_none()), ("key", keys.is_none())],
        ));
    };
    let normalize = ctx.normalize(normalize)?;
    let for_each = ctx.selector(for_each)?;
    let mut key = Vec::new();
    match &keys.value {
        RawKeys::One(text) => key.push(KeyPart {
            selector: ctx.selector(&Spanned::new(text.clone(), keys.referenced, keys.defined))?,
            normalize,
            default: None,
        }),
        RawKeys::Many(parts) => {
            if parts.is_empty() {
                return Err(ctx.error(keys, "`key` needs at least one part"));
            }
            for part in parts {
                let p = &part.value;
                let source = match (&p.plain, &p.value) {
                    (Some(text), _) => Spanned::new(text.clone(), part.referenced, part.defined),
                    (None, Some(v)) => v.clone(),
                    (None, None) => {
                        return Err(ctx.error(part, "a key part needs `value:` (a selector)"));
                    }
                };
                key.push(KeyPart {
                    selector: ctx.selector(&source)?,
                    normalize: match &p.normalize {
                        Some(n) => ctx.normalize(Some(n))?,
                        None => normalize,
                    },
                    default: p.default.as_ref().map(|d| d.0.clone()),
                });
            }
        }
    }
    Ok((for_each, key))
}

/// `default: on` / `off` (also true/false, yes/no).
fn compile_default(ctx: &FileCtx, raw: Option<&Spanned<Scalar>>) -> Result<bool, RuleError> {
    let Some(raw) = raw else {
        return Ok(true);
    };
    match raw.value.0.as_str() {
        "on" | "true" | "yes" | "True" | "TRUE" => Ok(true),
        "off" | "false" | "no" | "False" | "FALSE" => Ok(false),
        other => Err(ctx.error(raw, format!("`default` is `on` or `off`, not `{other}`"))),
    }
}

/// A libvirt version written in a rule file (`9.0`, `10.10`, `5.7.0`; a [`Scalar`] keeps
/// the text, so `10.10` is not read as the number 10.1).
fn compile_version(ctx: &FileCtx, key: &str, raw: &Spanned<Scalar>) -> Result<Version, RuleError> {
    Version::parse(&raw.value.0).ok_or_else(|| {
        ctx.error(
            raw,
            format!(
                "`{key}` takes a libvirt version like 9.0 or 5.7.0, not `{}`",
                raw.value.0
            ),
        )
    })
}

/// `libvirt: {since, before}`: the releases the rule applies to; `since` must come
/// before `before`.
fn compile_window(
    ctx: &FileCtx,
    raw: Option<&Spanned<RawVersionWindow>>,
) -> Result<VersionWindow, RuleError> {
    let Some(raw) = raw else {
        return Ok(VersionWindow::default());
    };
    let since = raw
        .value
        .since
        .as_ref()
        .map(|v| compile_version(ctx, "since", v))
        .transpose()?;
    let before = raw
        .value
        .before
        .as_ref()
        .map(|v| compile_version(ctx, "before", v))
        .transpose()?;
    if let (Some(s), Some(b), Some(at)) = (since, before, &raw.value.before)
        && s >= b
    {
        return Err(ctx.error(
            at,
            format!("`libvirt`: `since: {s}` must be older than `before: {b}`"),
        ));
    }
    if since.is_none() && before.is_none() {
        return Err(ctx.error(
            raw,
            "`libvirt` needs `since`, `before` or both (e.g. `libvirt: {since: 9.0}`)",
        ));
    }
    Ok(VersionWindow { since, before })
}

fn compile_rule(
    ctx: &FileCtx,
    raw: &Spanned<RawRule>,
    defs: &mut DefCtx,
    groups: &mut Groups,
    id_pattern: &Regex,
) -> Result<Rule, RuleError> {
    let r = &raw.value;
    let missing = r.missing();
    let list = missing
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let fields = if missing.len() == 1 {
        "field"
    } else {
        "fields"
    };
    let (Some(id), Some(severity), Some(summary), Some(explanation), Some(message)) =
        (&r.id, r.severity, &r.summary, &r.explanation, &r.message)
    else {
        return Err(match &r.id {
            Some(id) => ctx.error(
                id,
                format!("rule `{}` is missing required {fields} {list}", id.value),
            ),
            None => ctx.error(raw, format!("a rule is missing required {fields} {list}")),
        });
    };
    let repo = compile_scope(ctx, r, id, defs)?;
    if !missing.is_empty() {
        return Err(ctx.error(
            id,
            format!("rule `{}` is missing required {fields} {list}", id.value),
        ));
    }
    if !id_pattern.is_match(&id.value) {
        return Err(ctx.error(
            id,
            format!(
                "rule id `{}` must look like `group/kebab-name` (lower-case letters, digits and dashes)",
                id.value
            ),
        ));
    }
    let mut tags = Vec::new();
    for tag in &r.tags {
        let valid = tag.value.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !valid {
            return Err(ctx.error(
                tag,
                format!(
                    "tag `{}` must be lower-case letters, digits and dashes",
                    tag.value
                ),
            ));
        }
        if !tags.contains(&tag.value) {
            tags.push(tag.value.clone());
        }
    }
    let default_enabled = compile_default(ctx, r.default.as_ref())?;
    let libvirt = compile_window(ctx, r.libvirt.as_ref())?;
    let for_each = r.for_each.as_ref().map(|s| ctx.selector(s)).transpose()?;
    let when = match &r.when {
        Some(when) => compile_condition(ctx, when, defs)?,
        // Only a repository rule has no `when` (`missing` said so otherwise).
        None => Condition::All(Vec::new()),
    };
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
    let message = compile_message(ctx, message)?;
    let fix = r
        .fix
        .as_ref()
        .map(|f| compile_fix(ctx, f, defs, groups, for_each.is_some()))
        .transpose()?;
    let alternatives = r
        .alternatives
        .iter()
        .map(|f| compile_fix(ctx, f, defs, groups, for_each.is_some()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut examples = Vec::new();
    for ex in &r.examples {
        let e = &ex.value;
        let (kind, xml) = match (&e.fires, &e.passes) {
            (Some(x), None) => (ExampleKind::Fires, x),
            (None, Some(x)) => (ExampleKind::Passes, x),
            _ => return Err(ctx.error(ex, "an example has exactly one of `fires` or `passes`")),
        };
        if let Some(fixed) = &e.fixed {
            if kind == ExampleKind::Passes {
                return Err(ctx.error(fixed, "`fixed` belongs to a `fires` example"));
            }
            if fix.is_none() {
                return Err(ctx.error(fixed, "`fixed` needs the rule to have a `fix`"));
            }
        }
        examples.push(Example {
            kind,
            xml: xml.value.clone(),
            fixed: e.fixed.as_ref().map(|f| f.value.clone()),
            line: ctx.line_of(ex),
        });
    }
    Ok(Rule {
        id: id.value.clone(),
        severity,
        tags,
        default_enabled,
        libvirt,
        explanation: explanation.trim_end().to_string(),
        about: Lazy::new(About {
            summary: summary.trim().to_string(),
            references: r.references.clone(),
            origin: Origin {
                file: ctx.name.to_string(),
                line: ctx.line_of(id),
            },
        }),
        logic: Lazy::new(RuleLogic {
            for_each,
            when,
            report_at,
            message,
            fix,
            alternatives,
        }),
        examples,
        repo: repo.map(Box::new),
    })
}

/// `scope:` and, for a repository rule, its `unique:` block.
fn compile_scope(
    ctx: &FileCtx,
    r: &RawRule,
    id: &Spanned<String>,
    defs: &mut DefCtx,
) -> Result<Option<RepoCheck>, RuleError> {
    match &r.scope {
        None => {}
        Some(s) if s.value == "file" || s.value == "repo" => {}
        Some(s) => {
            return Err(ctx.error(
                s,
                format!("unknown scope `{}`: expected `file` or `repo`", s.value),
            ));
        }
    }
    if !r.is_repo() {
        if let Some(unique) = &r.unique {
            return Err(ctx.error(
                unique,
                "a rule-level `unique` needs `scope: repo` (within one file, write the `unique` condition under `when`)",
            ));
        }
        return Ok(None);
    }
    let Some(unique) = &r.unique else {
        return Err(ctx.error(id, "a `scope: repo` rule needs a `unique` block"));
    };
    if r.for_each.is_some()
        || r.when.is_some()
        || r.report_at.is_some()
        || r.fix.is_some()
        || !r.alternatives.is_empty()
    {
        return Err(ctx.error(
            id,
            "a `scope: repo` rule has no `for-each`, `when`, `report-at`, `fix` or `alternatives` (write `for-each` inside `unique`)",
        ));
    }
    let u = &unique.value;
    let (for_each, key) = compile_items(
        ctx,
        unique,
        u.for_each.as_ref(),
        u.key.as_ref(),
        u.normalize.as_ref(),
    )?;
    let against = match &u.against {
        Some(a) => {
            let v = &a.value;
            let (for_each, key) =
                // Keys are compared as the rule's own are, unless `against` says otherwise.
                compile_items(
                    ctx,
                    a,
                    v.for_each.as_ref(),
                    v.key.as_ref(),
                    v.normalize.as_ref().or(u.normalize.as_ref()),
                )?;
            Some(Against { for_each, key })
        }
        None => None,
    };
    let mut group_by = Vec::new();
    if let Some(list) = &u.group_by {
        for source in &list.value.0 {
            group_by.push(Selector::parse(source, &ctx.namespaces).map_err(|e| {
                ctx.error(
                    list,
                    format!("invalid selector `{source}` in group-by: {}", e.message),
                )
            })?);
        }
    }
    Ok(Some(RepoCheck {
        unique: Unique {
            for_each,
            key,
            label: u
                .label
                .clone()
                .unwrap_or_else(|| "the other definition".to_string()),
            except: None,
            split: std::sync::OnceLock::new(),
        },
        group_by,
        across_groups: u.across_groups,
        if_any: u
            .if_any
            .as_ref()
            .map(|c| compile_condition(ctx, c, defs))
            .transpose()?,
        per_host: u.per_host.unwrap_or(false),
        against,
    }))
}

/// `{expression}` and `{expression...}` holes; `{{` and `}}` are literal braces.
fn compile_message(ctx: &FileCtx, src: &Spanned<String>) -> Result<Message, RuleError> {
    compile_holes(ctx, src, "message")
}

/// Text with `{expression}` holes (a message, or a value an edit writes).
fn compile_holes(ctx: &FileCtx, src: &Spanned<String>, what: &str) -> Result<Message, RuleError> {
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
                        format!("unclosed `{{` in {what} (write `{{{{` for a brace)"),
                    ));
                };
                let inner = &text[i + 1..i + close];
                let (source, every) = match inner.strip_suffix("...") {
                    Some(rest) => (rest, true),
                    None => (inner, false),
                };
                let expr = Expression::parse(source, &ctx.namespaces).map_err(|e| {
                    ctx.error_at_offset(
                        ctx.offset_of(src, i + 1 + e.offset),
                        format!("invalid expression `{source}` in {what}: {}", e.message),
                    )
                })?;
                if !literal.is_empty() {
                    parts.push(MessagePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(if every {
                    MessagePart::Every(expr)
                } else {
                    MessagePart::Value(expr)
                });
                while chars.peek().is_some_and(|&(j, _)| j <= i + close) {
                    chars.next();
                }
            }
            '}' => {
                return Err(ctx.error_at_offset(
                    ctx.offset_of(src, i),
                    format!("unmatched `}}` in {what} (write `}}}}` for a brace)"),
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

fn compile_fix(
    ctx: &FileCtx,
    raw: &Spanned<RawFix>,
    defs: &mut DefCtx,
    groups: &mut Groups,
    for_each: bool,
) -> Result<FixSpec, RuleError> {
    let f = &raw.value;
    let mut missing = Vec::new();
    if f.title.is_none() {
        missing.push("`title`");
    }
    if f.safety.is_none() {
        missing.push("`safety`");
    }
    if f.edits.is_none() {
        missing.push("`edits`");
    }
    let (Some(title), Some(safety), Some(raw_edits)) = (&f.title, f.safety, &f.edits) else {
        let fields = if missing.len() == 1 {
            "field"
        } else {
            "fields"
        };
        return Err(ctx.error(
            raw,
            format!("a fix is missing required {fields} {}", missing.join(", ")),
        ));
    };
    if raw_edits.is_empty() {
        return Err(ctx.error(raw, "a fix needs at least one edit"));
    }
    let mut edits = Vec::new();
    for e in raw_edits {
        compile_edits(ctx, e, defs, groups, for_each, &mut edits)?;
    }
    if let (Some(otherwise), None) = (&f.otherwise, &f.when) {
        return Err(ctx.error(
            otherwise,
            "`otherwise` says why a fix is not offered where its `when` does not hold: it needs `when`",
        ));
    }
    let when = f
        .when
        .as_ref()
        .map(|w| compile_condition(ctx, w, defs))
        .transpose()?;
    Ok(FixSpec {
        when,
        otherwise: f.otherwise.as_ref().map(|o| o.value.trim().to_string()),
        ..FixSpec::new(title.trim(), safety, edits)
    })
}

/// Compile one edit into `out` (a `use:` adds the edits of its group), checking that the
/// fixer can apply it.
fn compile_edits(
    ctx: &FileCtx,
    raw: &Spanned<RawEdit>,
    defs: &mut DefCtx,
    groups: &mut Groups,
    for_each: bool,
    out: &mut Vec<EditSpec>,
) -> Result<(), RuleError> {
    // `when:` applies to the edit, or to every edit of the group it uses.
    if let Some(when) = &raw.value.when {
        let condition = compile_condition(ctx, when, defs)?;
        let mut inner = Vec::new();
        compile_edits_of(ctx, raw, defs, groups, for_each, &mut inner)?;
        out.extend(
            inner
                .into_iter()
                .map(|edit| EditSpec::When(condition.clone(), Box::new(edit))),
        );
        return Ok(());
    }
    compile_edits_of(ctx, raw, defs, groups, for_each, out)
}

/// [`compile_edits`] without the edit's `when:`.
fn compile_edits_of(
    ctx: &FileCtx,
    raw: &Spanned<RawEdit>,
    defs: &mut DefCtx,
    groups: &mut Groups,
    for_each: bool,
    out: &mut Vec<EditSpec>,
) -> Result<(), RuleError> {
    if let RawEditKind::Use(name) = &raw.value.kind {
        let Some((_, file_index, edits)) = groups
            .groups
            .iter()
            .find(|(n, _, _)| *n == name.value)
            .cloned()
        else {
            let known: Vec<&str> = groups.groups.iter().map(|(n, _, _)| n.as_str()).collect();
            return Err(ctx.error(
                name,
                format!(
                    "unknown edit group `{}` ({})",
                    name.value,
                    if known.is_empty() {
                        "none are defined".to_string()
                    } else {
                        format!("known: {}", known.join(", "))
                    }
                ),
            ));
        };
        if groups.in_progress.contains(&name.value) {
            return Err(ctx.error(name, format!("edit group `{}` uses itself", name.value)));
        }
        groups.in_progress.push(name.value.clone());
        let parsed = groups.parsed;
        let group_ctx = &parsed[file_index].0;
        let mut result = Ok(());
        for edit in &edits.value {
            result = compile_edits(group_ctx, edit, defs, groups, for_each, out);
            if result.is_err() {
                break;
            }
        }
        groups.in_progress.pop();
        return result;
    }
    let edit = compile_edit(ctx, raw)?;
    let check = FixSpec::new("", crate::rules::Safety::Safe, vec![edit]);
    crate::fix::validate::check_fix(&check, for_each)
        .map_err(|(_, message)| ctx.error(raw, message))?;
    out.extend(check.edits);
    Ok(())
}

/// A template (`{expression}` holes) written at `at`.
fn compile_template(
    ctx: &FileCtx,
    text: &str,
    at: &Spanned<impl Sized>,
) -> Result<Template, RuleError> {
    compile_holes(
        ctx,
        &Spanned::new(text.to_string(), at.referenced, at.defined),
        "value",
    )
}

/// `to:`/`with:` and `map:` of a set or replace-text.
fn compile_value(
    ctx: &FileCtx,
    kind: &str,
    target: &Spanned<String>,
    template: Option<&Spanned<Scalar>>,
    map: Option<&Spanned<OrderedMap>>,
) -> Result<EditValue, RuleError> {
    let key = if kind == "set" { "to" } else { "with" };
    if template.is_none() && map.is_none() {
        return Err(ctx.error(
            target,
            format!(
                "`{kind}` needs `{key}:` (the new value) or `map:` (a table of old to new values)"
            ),
        ));
    }
    Ok(EditValue {
        template: template
            .map(|t| compile_template(ctx, &t.value.0, t))
            .transpose()?,
        map: map.map(|m| m.value.0.clone()).unwrap_or_default(),
    })
}

fn compile_edit(ctx: &FileCtx, raw: &Spanned<RawEdit>) -> Result<EditSpec, RuleError> {
    let since = match &raw.value.since {
        Some(v) => Some(Version::parse(&v.value.0).ok_or_else(|| {
            ctx.error(
                v,
                format!(
                    "`since` takes a libvirt version like 5.7.0, not `{}`",
                    v.value.0
                ),
            )
        })?),
        None => None,
    };
    Ok(match &raw.value.kind {
        RawEditKind::Ensure {
            path: src,
            attributes,
            when_created,
        } => {
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
            let attributes: Vec<(String, String)> =
                attributes.as_ref().map(|a| a.0.clone()).unwrap_or_default();
            let mut created: Vec<(String, Vec<(String, String)>)> = when_created
                .iter()
                .flat_map(|w| w.value.iter())
                .map(|(element, attrs)| (element.clone(), attrs.0.clone()))
                .collect();
            created.sort();
            for (element, _) in &created {
                if !path.iter().any(|step| &step.name == element) {
                    let at = when_created
                        .as_ref()
                        .map_or(raw.referenced, |w| w.referenced);
                    return Err(ctx.error_at(
                        at,
                        format!(
                            "`when-created` names <{element}>, which is not a step of `{}`",
                            src.value
                        ),
                    ));
                }
            }
            let names = attributes.iter().chain(created.iter().flat_map(|(_, a)| a));
            for (name, _) in names {
                if !is_xml_name(name) {
                    return Err(ctx.error(raw, format!("`{name}` is not a valid attribute name")));
                }
            }
            EditSpec::Ensure {
                path,
                source: src.value.clone(),
                attributes: attributes
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), compile_template(ctx, value, raw)?)))
                    .collect::<Result<_, RuleError>>()?,
                when_created: created,
                since,
            }
        }
        RawEditKind::Set { target, to, map } => {
            let selector = ctx.selector(target)?;
            let (element, attribute) = selector.split_attribute().ok_or_else(|| {
                ctx.error(target, "`set` takes a path ending in an attribute, like `clock/timer[@name='hpet']/@present`")
            })?;
            EditSpec::Set {
                element,
                attribute,
                value: compile_value(ctx, "set", target, to.as_ref(), map.as_ref())?,
                since,
            }
        }
        RawEditKind::Remove(target) => EditSpec::Remove(ctx.selector(target)?),
        RawEditKind::ReplaceText { target, with, map } => EditSpec::ReplaceText {
            selector: ctx.selector(target)?,
            text: compile_value(ctx, "replace-text", target, with.as_ref(), map.as_ref())?,
        },
        RawEditKind::CopyAttributes {
            target,
            from,
            names,
        } => {
            let from = from.as_ref().ok_or_else(|| {
                ctx.error(target, "`copy-attributes` needs `from:` (the element to copy from, relative to each target)")
            })?;
            for name in names {
                if !is_xml_name(name) {
                    return Err(ctx.error(raw, format!("`{name}` is not a valid attribute name")));
                }
            }
            EditSpec::CopyAttributes {
                element: ctx.selector(target)?,
                from: ctx.selector(from)?,
                names: names.clone(),
            }
        }
        // Expanded by `compile_edits`.
        RawEditKind::Use(name) => {
            return Err(ctx.error(name, "`use` cannot appear here"));
        }
        // Already reported while reading; the set will not be used.
        RawEditKind::Invalid => EditSpec::Remove(
            // Cannot panic: a constant selector, compiled by the tests of invalid edits.
            Selector::parse("*[false()]", &ctx.namespaces).expect("valid selector"),
        ),
    })
}

fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The names under which built-in rule files are embedded (`rules/...yaml`).
pub fn builtin_files() -> Vec<&'static str> {
    crate::builtin::SOURCES
        .iter()
        .map(|(name, _)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compile one file named `t.yaml`; the errors as `line:col: message`, each followed
    /// by the text under the caret (up to the end of the line).
    fn errors(text: &str) -> Vec<String> {
        let (_, errors) = compile(&[("t.yaml".into(), text.into())]);
        errors
            .iter()
            .map(|e| {
                let p = e.position.expect("positioned");
                let line = e.line_text.as_deref().unwrap_or_default();
                let under: String = line.chars().skip(p.column - 1).collect();
                format!("{p}: {} | {}", e.message, under.trim_end())
            })
            .collect()
    }

    fn rules(text: &str) -> RuleSet {
        let (set, errors) = compile(&[("t.yaml".into(), text.into())]);
        assert!(errors.is_empty(), "{errors:?}");
        set
    }

    pub(super) const HEAD: &str = "rules:\n  - id: acme/x\n    severity: info\n    summary: s\n    explanation: e\n    message: m\n";

    #[test]
    fn every_missing_field_at_the_id_naming_the_rule() {
        assert_eq!(
            errors("rules:\n  - severity: info\n    id: acme/x\n    message: m\n"),
            [
                "3:9: rule `acme/x` is missing required fields `summary`, `explanation`, `when` | acme/x"
            ]
        );
        assert_eq!(
            errors("rules:\n  - severity: info\n"),
            [
                "2:5: a rule is missing required fields `id`, `summary`, `explanation`, `when`, `message` | severity: info"
            ]
        );
    }

    #[test]
    fn unknown_keys_suggest_the_nearest_and_all_are_reported() {
        let text = format!(
            "{HEAD}    when:\n      presnt: name\n    fix:\n      titel: t\n      safety: safe\n      edits:\n        - ensure: a\n          atributes: {{x: y}}\n    summry: x\n"
        );
        assert_eq!(
            errors(&text),
            [
                "8:7: unknown key presnt; did you mean present? | presnt: name",
                "8:7: a condition needs one of `all`, `any`, `not`, `present`, `absent`, `is`, `test`, `unique`, `disjoint` or `value` | presnt: name",
                "10:7: unknown key titel; did you mean title? | titel: t",
                "10:7: a fix is missing required field `title` | titel: t",
                "14:11: unknown key atributes; did you mean attributes? | atributes: {x: y}",
                "15:5: unknown key summry; did you mean summary? | summry: x",
            ]
        );
        assert_eq!(
            errors("ruels: []\n"),
            ["1:1: unknown key ruels; did you mean rules? | ruels: []"]
        );
        assert_eq!(
            errors(&format!("{HEAD}    when: {{zzz: name}}\n")),
            [
                "7:12: unknown key zzz in a condition; known keys: all, any, not, present, absent, is, test, unique, disjoint, value, equals, in, matches, greater-than, at-least, less-than, at-most, as | zzz: name}",
                "7:12: a condition needs one of `all`, `any`, `not`, `present`, `absent`, `is`, `test`, `unique`, `disjoint` or `value` | zzz: name}",
            ]
        );
    }

    #[test]
    fn one_kind_per_condition_and_edit() {
        let cond = |c: &str| errors(&format!("{HEAD}    when: {c}\n"));
        assert_eq!(
            cond("{present: a, absent: b}"),
            [
                "7:24: a condition takes one kind; `absent` follows `present`: split them with `all:` | absent: b}"
            ]
        );
        assert_eq!(
            cond("{value: a, equals: x, in: [y]}"),
            [
                "7:33: `value:` takes one test; `in` follows `equals`: split them with `all:` | in: [y]}"
            ]
        );
        assert_eq!(
            cond("{equals: x}"),
            ["7:12: `equals` goes with `value:` (the selector it tests) | equals: x}"]
        );
        assert_eq!(
            cond("{value: a}"),
            [
                "7:19: `value:` needs a test: equals, in, matches, greater-than, at-least, less-than, at-most | a}"
            ]
        );
        assert_eq!(
            cond("{present: a, equals: x}"),
            ["7:24: `equals` is a test for `value:`, not for `present` | equals: x}"]
        );
        assert_eq!(
            cond("{value: a, greater-than: lots}"),
            ["7:36: `lots` is not a number | lots}"]
        );
        let edit = |e: &str| {
            errors(&format!(
                "{HEAD}    when: {{present: a}}\n    fix:\n      title: t\n      safety: safe\n      edits:\n        - {e}\n"
            ))
        };
        assert_eq!(
            edit("{ensure: a, remove: b}"),
            [
                "12:23: an edit takes one kind; `remove` follows `ensure`: make them two edits | remove: b}"
            ]
        );
        assert_eq!(
            edit("{remove: a, to: b}"),
            ["12:23: `to` goes with `set` | to: b}"]
        );
        assert_eq!(
            edit("{set: a/@b}"),
            [
                "12:17: `set` needs `to:` (the new value) or `map:` (a table of old to new values) | a/@b}"
            ]
        );
        assert_eq!(
            edit("{to: b}"),
            [
                "12:12: `to` goes with `set` | to: b}",
                "12:12: an edit needs one of ensure, set, remove, replace-text, copy-attributes, use | to: b}",
            ]
        );
        assert_eq!(
            edit("{remove: a, since: 1.0}"),
            ["12:23: `since` goes with `ensure` or `set` | since: 1.0}"]
        );
        assert_eq!(
            edit("{ensure: a, since: 'x.y'}"),
            ["12:31: `since` takes a libvirt version like 5.7.0, not `x.y` | x.y'}"]
        );
    }

    #[test]
    fn carets_inside_escaped_and_folded_strings() {
        let at = |when: &str| {
            let e = errors(&format!("{HEAD}    when:\n{when}"));
            assert_eq!(e.len(), 1, "{e:?}");
            e[0].split(" | ").nth(1).unwrap().to_string()
        };
        // The selector error is at the `]` that should have closed the predicate: `@x=1`
        // then end of input; the caret points at the first character after `1`.
        assert_eq!(at("      present: \"a[@x=\\\"1\\\"][@y=2\"\n"), "\"");
        assert_eq!(at("      present: \"a[@x=\\\"1\\\"] ! b\"\n"), "! b\"");
        assert_eq!(at("      present: 'a[@x=''1''] ! b'\n"), "! b'");
        assert_eq!(at("      present: \"\\u0061[@x='1'] ! b\"\n"), "! b\"");
        assert_eq!(
            at("      present: >-\n        a[@x='1']\n        ! b\n"),
            "! b"
        );
        assert_eq!(at("      present: |-\n        a[@x='1'] ! b\n"), "! b");
        assert_eq!(at("      present: a[@x='1']\n        ! b\n"), "! b");
        assert_eq!(
            at("      present: \"a[@x='1'] \\\n        ! b\"\n"),
            "! b\""
        );
    }

    #[test]
    fn metadata_tags_default_and_since() {
        let set = rules(&format!(
            "{HEAD}    tags: [security, windows, security]\n    default: off\n    when: {{absent: name}}\n    fix:\n      title: t\n      safety: safe\n      edits:\n        - ensure: features/hyperv/stimer\n          since: 5.0\n        - ensure: features/acpi\n          since: 0.9.1\n  - id: acme/y\n    severity: info\n    summary: s\n    explanation: e\n    message: m\n    when: {{absent: name}}\n"
        ));
        let x = &set.rules[0];
        assert_eq!(x.tags, ["security", "windows"]);
        assert!(!x.default_enabled);
        assert!(set.rules[1].default_enabled);
        assert!(set.rules[1].tags.is_empty());
        assert_eq!(
            x.fix.as_ref().unwrap().since(),
            Some(Version {
                major: 5,
                minor: 0,
                micro: 0
            })
        );
        assert_eq!(set.enabled().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
        let mut chosen = set.clone();
        chosen.select(|rule, _| rule.tags.iter().any(|t| t == "windows"));
        assert_eq!(chosen.enabled().map(|(i, _)| i).collect::<Vec<_>>(), [0]);
        assert!(set.only(0).is_enabled(0));
        assert_eq!(
            errors(&format!(
                "{HEAD}    when: {{absent: a}}\n    default: maybe\n"
            )),
            ["8:14: `default` is `on` or `off`, not `maybe` | maybe"]
        );
        assert_eq!(
            errors(&format!(
                "{HEAD}    when: {{absent: a}}\n    tags: [Security]\n"
            )),
            ["8:12: tag `Security` must be lower-case letters, digits and dashes | Security]"]
        );
        assert_eq!(Version::parse("11.3.0").unwrap().to_string(), "11.3.0");
        assert_eq!(Version::parse("7").unwrap().to_string(), "7.0.0");
        for bad in ["", "1.", "1.2.3.4", "v1", "1.x"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn existing_syntax_compiles_to_the_same_model() {
        let set = rules(&format!(
            "{HEAD}    for-each: devices/disk\n    report-at: [target, .]\n    when:\n      all:\n        - any:\n            - value: '@device'\n              equals: disk\n            - value: target/@bus\n              in: [virtio, 'sata']\n        - not: {{matches: x, value: '@type'}}\n        - value: driver/@queues\n          greater-than: 8\n    fix:\n      title: t\n      safety: unsafe\n      edits:\n        - set: driver/@cache\n          to: none\n        - replace-text: serial\n          with: 42\n        - remove: boot\n        - ensure: driver\n          attributes: {{io: native}}\n"
        ));
        let rule = &set.rules[0];
        let text = format!("{:?}", rule.when);
        assert!(text.starts_with("All([Any([Value("), "{text}");
        assert!(text.contains("Not(Value("), "{text}");
        assert!(text.contains("Compare(GreaterThan, 8.0)"), "{text}");
        assert_eq!(rule.report_at.len(), 2);
        let fix = rule.fix.as_ref().unwrap();
        assert_eq!(fix.safety, crate::rules::Safety::Unsafe);
        assert!(
            matches!(&fix.edits[0], EditSpec::Set { attribute, value, .. } if attribute == "cache" && value.template.as_ref().and_then(|t| t.literal_text()).as_deref() == Some("none"))
        );
        assert!(
            matches!(&fix.edits[1], EditSpec::ReplaceText { text, .. } if text.template.as_ref().and_then(|t| t.literal_text()).as_deref() == Some("42"))
        );
        assert!(matches!(&fix.edits[2], EditSpec::Remove(_)));
        assert!(
            matches!(&fix.edits[3], EditSpec::Ensure { attributes, since: None, .. } if attributes.len() == 1 && attributes[0].0 == "io" && attributes[0].1.literal_text().as_deref() == Some("native"))
        );
    }

    #[test]
    fn unique_test_and_normalisation_keys() {
        let set = rules(&format!(
            "{HEAD}    when:\n      all:\n        - unique: {{for-each: devices/disk/target, key: '@dev', as: case}}\n        - unique:\n            for-each: devices/*/address\n            as: number\n            key: ['@bus', {{value: '@slot', as: text}}, {{value: '@function', default: 0}}]\n            label: first here\n        - test: count(devices/disk) * 2 > 1\n        - value: memory\n          as: quantity\n          at-least: 1 GiB\n"
        ));
        let text = format!("{:?}", set.rules[0].when);
        assert!(text.contains("normalize: Case"), "{text}");
        assert!(text.contains("label: \"first here\""), "{text}");
        assert!(text.contains("label: \"first defined here\""), "{text}");
        assert!(text.contains("Compare(AtLeast, 1073741824.0)"), "{text}");
        assert!(text.contains("default: Some(\"0\")"), "{text}");
        let when = |w: &str| errors(&format!("{HEAD}    when: {w}\n"));
        assert_eq!(
            when("{unique: {key: '@dev'}}"),
            ["7:20: `unique` is missing `for-each` | {key: '@dev'}}"]
        );
        // `disjoint`: both keys, selectors that parse, no others; the label is optional.
        assert_eq!(
            when("{disjoint: {label: x}}"),
            ["7:22: `disjoint` is missing `for-each` and `set` | {label: x}}"]
        );
        assert_eq!(
            when("{disjoint: {for-each: a, set: '@cpus', sort: x}}"),
            ["7:50: unknown key sort; did you mean set? | sort: x}}"]
        );
        assert_eq!(
            when("{disjoint: {for-each: a, set: '@'}}"),
            ["7:43: invalid selector `@`: expected a name after '@' | '}}"]
        );
        let set = rules(&format!(
            "{HEAD}    when: {{disjoint: {{for-each: cpu/numa/cell, set: '@cpus'}}}}\n"
        ));
        match &set.rules[0].when {
            Condition::Disjoint(d) => {
                assert_eq!(
                    (d.for_each.source(), d.set.source(), d.label.as_str()),
                    ("cpu/numa/cell", "@cpus", "first defined here")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            when("{unique: {for-each: a, key: b, as: hex}}"),
            [
                "7:46: unknown normalisation `hex` (known: text, case, number, mac, uuid, quantity, path) | hex}}"
            ]
        );
        assert_eq!(
            when("{unique: {for-each: a, key: [], sort: x}}"),
            [
                "7:39: `key` needs at least one part | [], sort: x}}",
                "7:43: unknown key sort in unique; known keys: for-each, key, as, label, except | sort: x}}",
            ]
        );
        assert_eq!(
            when("{unique: {for-each: a, key: [b, c], except: 0}}"),
            [
                "7:55: `except` has 1 value(s) but the key has 2 part(s): give one value per part | 0}}"
            ]
        );
        assert_eq!(
            when("{unique: {for-each: a, key: b, except: {x: 0}}}"),
            ["7:50: invalid type: map, expected a value or a list of values | {x: 0}}}"]
        );
        // The `except` values read for a key, e.g. `[b, c]`.
        let except_for = |key: &str, e: &str| {
            let set = rules(&format!(
                "{HEAD}    when: {{unique: {{for-each: a, key: {key}, except: {e}}}}}\n"
            ));
            match &set.rules[0].when {
                Condition::Unique(u) => u.except.clone(),
                other => panic!("{other:?}"),
            }
        };
        let except = |e: &str| except_for("[b, c]", e);
        assert_eq!(
            except("[0, x]"),
            Some(vec!["0".to_string(), "x".to_string()])
        );
        // In a list, values stay as written, quoted or not.
        assert_eq!(
            except("[0x1f, 10.10]"),
            Some(vec!["0x1f".to_string(), "10.10".to_string()])
        );
        assert_eq!(
            except("[0, '0x1f']"),
            Some(vec!["0".to_string(), "0x1f".to_string()])
        );
        // Alone, YAML has read it already: a whole number keeps its value (0x1f is 31),
        // a fraction is refused, since its digits may be gone.
        let alone = |e: &str| except_for("b", e);
        assert_eq!(alone("0x1f"), Some(vec!["31".to_string()]));
        assert_eq!(alone("'0x1f'"), Some(vec!["0x1f".to_string()]));
        assert_eq!(
            errors(&format!(
                "{HEAD}    when: {{unique: {{for-each: a, key: b, except: 10.10}}}}\n"
            )),
            [
                "7:50: `10.1` was read as a number, which may have lost digits (`10.10` reads as 10.1): put the value in quotes | 10.10}}"
            ]
        );
        assert_eq!(
            when("{test: 'count(a) >'}"),
            [
                "7:29: invalid expression `count(a) >`: unexpected end of selector, expected an expression | '}"
            ]
        );
        assert_eq!(
            when("{value: a, as: mac, greater-than: 3}"),
            ["7:45: numeric tests need numbers; `as: mac` values are text | 3}"]
        );
        assert_eq!(
            when("{as: mac, present: a}"),
            ["7:16: `as` goes with `value:` | mac, present: a}"]
        );
        assert_eq!(
            errors(
                "rules:\n  - id: acme/x\n    severity: info\n    summary: s\n    explanation: e\n    when: {absent: a}\n    message: \"{count(a) +}\"\n"
            ),
            [
                "7:26: invalid expression `count(a) +` in message: unexpected end of selector, expected an expression | }\""
            ]
        );
    }

    /// The text after applying (unsafe included) the fixes of the one rule of `yaml`.
    fn fixed(yaml: &str, xml: &str) -> String {
        let set = rules(yaml);
        crate::fix::fix_text(xml, &set, crate::rules::Safety::Unsafe)
            .unwrap_or_else(|e| panic!("{e}"))
            .text
    }

    fn rule_with(when: &str, edits: &str) -> String {
        format!(
            "{HEAD}    when: {when}\n    fix:\n      title: t\n      safety: unsafe\n      edits:\n{edits}"
        )
    }

    #[test]
    fn templates_map_and_copied_attributes() {
        let xml = "<domain><memory unit='GiB'>4</memory><currentMemory unit='KiB'>9</currentMemory>\
            <devices><disk><driver cache='writeback'/></disk><disk><driver cache='unsafe'/></disk>\
            <disk><driver cache='directsync'/></disk></devices></domain>";
        // A value from the document: relative to the element the edit changes.
        assert_eq!(
            fixed(
                &rule_with(
                    "{test: \"currentMemory != memory or currentMemory/@unit != memory/@unit\"}",
                    "        - replace-text: currentMemory\n          with: \"{../memory}\"\n        - copy-attributes: currentMemory\n          from: ../memory\n          names: [unit]\n"
                ),
                xml
            ),
            xml.replace(
                "<currentMemory unit='KiB'>9<",
                "<currentMemory unit='GiB'>4<"
            )
        );
        // A table: listed values are rewritten, others stay.
        let map_rule = rule_with(
            "{present: \"devices/disk/driver[@cache='writeback' or @cache='unsafe']\"}",
            "        - set: devices/disk/driver/@cache\n          map: {writeback: none, unsafe: none}\n",
        );
        assert_eq!(
            fixed(&map_rule, xml),
            xml.replace("'writeback'", "'none'")
                .replace("'unsafe'", "'none'")
        );
        // A table with a fallback template for the other values.
        let fallback = rule_with(
            "{present: \"devices/disk/driver[@cache='directsync']\"}",
            "        - set: devices/disk/driver/@cache\n          map: {writeback: none}\n          to: \"{../../../memory/@unit}-{@cache}\"\n",
        );
        assert_eq!(
            fixed(&fallback, xml),
            xml.replace("'writeback'", "'none'")
                .replace("'unsafe'", "'GiB-unsafe'")
                .replace("'directsync'", "'GiB-directsync'")
        );
        // A copied attribute the source lacks is removed; all attributes when unnamed.
        let copy = rule_with(
            "{present: currentMemory/@dumpCore}",
            "        - copy-attributes: currentMemory\n          from: ../memory\n          names: [unit, dumpCore]\n",
        );
        let xml2 = "<domain><memory>4</memory><currentMemory unit='GiB' dumpCore='on'>4</currentMemory></domain>";
        assert_eq!(
            fixed(&copy, xml2),
            "<domain><memory>4</memory><currentMemory>4</currentMemory></domain>"
        );
        let all = rule_with(
            "{absent: currentMemory/@unit}",
            "        - copy-attributes: currentMemory\n          from: ../memory\n",
        );
        assert_eq!(
            fixed(
                &all,
                "<domain><memory unit='MiB' dumpCore='off'>4</memory><currentMemory>4</currentMemory></domain>"
            ),
            "<domain><memory unit='MiB' dumpCore='off'>4</memory><currentMemory unit='MiB' dumpCore='off'>4</currentMemory></domain>"
        );
        // `ensure` attribute templates are rendered at the rule's context.
        let ensure = rule_with(
            "{absent: metadata/note}",
            "        - ensure: metadata/note\n          attributes: {of: \"{name}\", vcpus: \"{vcpu * 2}\"}\n",
        );
        assert_eq!(
            fixed(
                &ensure,
                "<domain><name>db1</name><vcpu>3</vcpu><metadata/></domain>"
            ),
            "<domain><name>db1</name><vcpu>3</vcpu><metadata><note of='db1' vcpus='6'/></metadata></domain>"
        );
        assert_eq!(
            errors(&rule_with(
                "{absent: a}",
                "        - set: a/@b\n          to: \"{count(}\"\n"
            )),
            [
                "13:23: invalid expression `count(` in value: unexpected end of selector, expected an expression | }\""
            ]
        );
        assert_eq!(
            errors(&rule_with("{absent: a}", "        - copy-attributes: a\n")),
            [
                "12:28: `copy-attributes` needs `from:` (the element to copy from, relative to each target) | a"
            ]
        );
        assert_eq!(
            errors(&rule_with(
                "{absent: a}",
                "        - remove: a\n          map: {x: y}\n"
            )),
            ["13:11: `map` goes with `set` or `replace-text` | map: {x: y}"]
        );
    }

    #[test]
    fn edit_groups_expand_in_place() {
        let text = format!(
            "edit-groups:\n  inner:\n    - ensure: features/b\n  outer:\n    - ensure: features/a\n    - use: inner\n    - ensure: features/c\n{}",
            rule_with(
                "{absent: features/c}",
                "        - use: outer\n        - ensure: features/d\n"
            )
        );
        let set = rules(&text);
        let paths: Vec<String> = set.rules[0]
            .fix
            .as_ref()
            .unwrap()
            .edits
            .iter()
            .map(|e| match e {
                EditSpec::Ensure { source, .. } => source.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            paths,
            ["features/a", "features/b", "features/c", "features/d"]
        );
        let group_errors = |groups: &str, edits: &str| {
            errors(&format!(
                "edit-groups:\n{groups}{}",
                rule_with("{absent: a}", edits)
            ))
        };
        assert_eq!(
            group_errors("  g: [{ensure: a}]\n", "        - use: h\n"),
            ["14:16: unknown edit group `h` (known: g) | h"]
        );
        assert_eq!(
            group_errors("  g:\n    - use: g\n", "        - use: g\n"),
            ["3:12: edit group `g` uses itself | g"]
        );
        assert_eq!(
            group_errors("  g: [{ensure: 'a[1]'}]\n", "        - use: g\n"),
            [
                "2:17: `ensure` takes a plain element path: child names with `[@attr='value']` predicates only (no `*`, `//`, `..`, functions or namespace prefixes) | a[1]'}]"
            ]
        );
    }

    #[test]
    fn definitions_with_parameters() {
        let defs = "definitions:\n  hv:\n    params: [feature]\n    present: \"features/hyperv/{feature}[@state='on']\"\n  both:\n    params: [a, b]\n    all:\n      - is: {hv: '{a}'}\n      - is: {hv: {feature: '{b}'}}\n";
        let set = rules(&format!(
            "{defs}{HEAD}    when:\n      all:\n        - is: {{hv: stimer}}\n        - is: {{both: {{a: synic, b: vpindex}}}}\n        - is: {{hv: {{feature: stimer}}}}\n"
        ));
        // One instance per distinct argument list, shared.
        assert_eq!(
            set.definitions.names,
            [
                "hv(feature=stimer)",
                "hv(feature=synic)",
                "hv(feature=vpindex)",
                "both(a=synic, b=vpindex)"
            ]
        );
        let doc = |features: &str| {
            format!("<domain><features><hyperv>{features}</hyperv></features></domain>")
        };
        let fires = |xml: &str| {
            let d = crate::document::Document::parse(xml).unwrap();
            !crate::engine::lint(&d, &set).is_empty()
        };
        assert!(fires(&doc(
            "<stimer state='on'/><synic state='on'/><vpindex state='on'/>"
        )));
        assert!(!fires(&doc("<stimer state='on'/><synic state='on'/>")));
        let when = |w: &str| errors(&format!("{defs}{HEAD}    when: {w}\n"));
        assert_eq!(
            when("{is: hv}"),
            ["16:16: definition `hv` needs parameter feature: write `{hv: ...}` | hv}"]
        );
        assert_eq!(
            when("{is: {hv: {x: 1}}}"),
            [
                "16:17: definition `hv` has no parameter `x` (its parameters: feature) | hv: {x: 1}}}"
            ]
        );
        assert_eq!(
            when("{is: {both: x}}"),
            [
                "16:17: definition `both` takes parameters a, b: name them, as `{both: {a: ...}}` | both: x}}"
            ]
        );
        assert_eq!(
            when("{is: {windows: x}}"),
            ["16:17: unknown definition `windows` (known: hv, both) | windows: x}}"]
        );
        assert_eq!(
            errors(&format!(
                "definitions:\n  plain: {{present: a}}\n{HEAD}    when: {{is: {{plain: x}}}}\n"
            )),
            ["9:17: definition `plain` takes no parameters | plain: x}}"]
        );
        assert_eq!(
            errors("definitions:\n  loop:\n    params: [p]\n    is: {loop: '{p}'}\nrules: []\n"),
            [
                "4:10: definition `loop(p=p)` refers to itself (in `loop(p=p)`, used at t.yaml:4) (in definition `loop`) | loop: '{p}'}"
            ]
        );
    }
}
