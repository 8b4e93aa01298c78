//! Config files: `.virt-lint.yaml` (or `virt-lint.yaml`), found by walking up from each
//! linted file (the closest wins, nothing is merged), or named with `--config`;
//! `--isolated` ignores them. This module reads and checks one file; [`crate::settings`]
//! combines it with the command line into what a run uses.
//!
//! ```yaml
//! select: [ALL]                  # replaces the default selection
//! extend-select: [security]      # adds to it
//! ignore: [windows/]             # removes from it
//! exclude: ["generated/**"]      # globs, relative to this file's folder
//! rules: [team-rules/]           # more rule files or folders, relative to this file
//! fail-on: error                 # error | warning | info
//! libvirt-version: "9.0"         # the oldest libvirt the definitions must work with
//! per-rule:
//!   windows/hpet-disabled-without-stimer:
//!     severity: error            # error | warning | info
//!     unsafe-fixes: true         # apply this rule's unsafe fix without --unsafe-fixes
//!     fix: 1                     # 0 = the rule's fix, 1.. = its alternatives (or a title)
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::document::{LineIndex, Position};
use crate::rules::Severity;
use crate::yaml::Scalar;

/// The names looked for in each folder, in order of preference.
pub const FILE_NAMES: [&str; 2] = [".virt-lint.yaml", "virt-lint.yaml"];

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    /// A command-line option, e.g. `--select`.
    CommandLine(&'static str),
    File {
        path: PathBuf,
        position: Position,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::CommandLine(flag) => write!(f, "command line {flag}"),
            Source::File { path, position } => write!(f, "{}:{position}", path.display()),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub source: Source,
}

/// A config file that cannot be used: file, position, message (with a suggestion where
/// there is one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub position: Option<Position>,
    pub message: String,
    /// The offending source line, for a caret under `position`.
    pub line_text: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}:{}: {}", self.file, p, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Which fix of a rule `--fix` applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixChoice {
    /// 0 = the rule's own fix, N = its Nth alternative.
    Index(usize),
    /// The title of the fix or of an alternative.
    Title(String),
}

/// The `per-rule` settings of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOptions {
    pub severity: Option<Located<Severity>>,
    pub unsafe_fixes: Option<Located<bool>>,
    pub fix: Option<Located<FixChoice>>,
}

/// One parsed config file. Paths in it are already resolved against its folder.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub path: PathBuf,
    pub select: Option<Vec<Located<String>>>,
    pub extend_select: Vec<Located<String>>,
    pub ignore: Vec<Located<String>>,
    pub exclude: Vec<Located<String>>,
    pub rules: Vec<Located<PathBuf>>,
    pub fail_on: Option<Located<Severity>>,
    pub libvirt_version: Option<Located<String>>,
    pub per_rule: Vec<(Located<String>, RuleOptions)>,
    /// The text, for positioning errors found later (unknown rule ids).
    pub text: String,
}

impl Config {
    /// The folder relative paths and globs of this file are resolved against.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// An error at a setting of this file.
    pub fn error_at(&self, source: &Source, message: impl Into<String>) -> ConfigError {
        let position = match source {
            Source::File { position, .. } => Some(*position),
            _ => None,
        };
        error(
            &self.path.display().to_string(),
            &self.text,
            position,
            message,
        )
    }
}

fn error(
    file: &str,
    text: &str,
    position: Option<Position>,
    message: impl Into<String>,
) -> ConfigError {
    let line_text = position
        .filter(|p| p.line >= 1 && p.line <= text.lines().count())
        .map(|p| {
            let lines = LineIndex::new(text);
            text[lines.line_range(text, p.line)].to_string()
        });
    ConfigError {
        file: file.to_string(),
        position,
        message: message.into(),
        line_text,
    }
}

/// The config file that applies to `file` (a path to lint): the closest `.virt-lint.yaml`
/// or `virt-lint.yaml` in its folder or any folder above.
pub fn discover(file: &Path) -> Option<PathBuf> {
    find_in_ancestors(&search_start(file)?)
}

/// The folder the search for `file`'s config file starts in: `file` itself when it is a
/// folder, else its folder, made absolute.
pub fn search_start(file: &Path) -> Option<PathBuf> {
    let absolute = absolute(file)?;
    if absolute.is_dir() {
        Some(absolute)
    } else {
        absolute.parent().map(Path::to_path_buf)
    }
}

/// `path` made absolute, with `.` and `..` resolved lexically (so that `../other/vm.xml`
/// does not pass through the current folder when looking upwards).
pub fn absolute(path: &Path) -> Option<PathBuf> {
    let joined = std::path::absolute(path).ok()?;
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The closest config file in `dir` or above.
pub fn find_in_ancestors(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find_map(|d| {
        FILE_NAMES
            .iter()
            .map(|name| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Read and check the config file at `path`.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: shown.clone(),
            position: None,
            message: format!("cannot read the config file: {e}"),
            line_text: None,
        }]
    })?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    parse(&absolute, &text)
}

// ---------------------------------------------------------------------------------------
// Raw YAML shapes

const KEYS: &[&str] = &[
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "rules",
    "fail-on",
    "libvirt-version",
    "per-rule",
];
const RULE_KEYS: &[&str] = &["severity", "unsafe-fixes", "fix"];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    select: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    extend_select: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    fail_on: Option<Spanned<String>>,
    #[serde(default)]
    libvirt_version: Option<Spanned<Scalar>>,
    #[serde(default)]
    per_rule: Option<SpannedMap<Spanned<RawRuleOptions>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRuleOptions {
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    unsafe_fixes: Option<Spanned<bool>>,
    #[serde(default)]
    fix: Option<Spanned<Scalar>>,
}

/// A mapping whose keys keep their positions, in the order written.
struct SpannedMap<V>(Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = SpannedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of rule ids to settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(SpannedMap(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

fn position_of<T>(text: &str, at: &Spanned<T>) -> Position {
    let loc = at.referenced;
    let _ = text;
    Position {
        line: (loc.line() as usize).max(1),
        column: (loc.column() as usize).max(1),
    }
}

/// Parse config `text` read from `path` (absolute).
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    let shown = path.display().to_string();
    let meaningful = text
        .lines()
        .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#') && l.trim() != "---");
    let raw: RawConfig = if meaningful {
        serde_saphyr::from_str(text).map_err(|e| vec![yaml_error(&shown, text, &e)])?
    } else {
        RawConfig::default()
    };
    let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let mut errors = Vec::new();
    let at = |s: &dyn Fn() -> Position| Source::File {
        path: path.to_path_buf(),
        position: s(),
    };
    let loc = |v: &Spanned<String>| Located {
        value: v.value.trim().to_string(),
        source: at(&|| position_of(text, v)),
    };
    let mut config = Config {
        path: path.to_path_buf(),
        text: text.to_string(),
        ..Config::default()
    };
    config.select = raw
        .select
        .as_ref()
        .map(|l| l.value.iter().map(loc).collect());
    config.extend_select = raw.extend_select.iter().map(loc).collect();
    config.ignore = raw.ignore.iter().map(loc).collect();
    for glob in &raw.exclude {
        if let Err(e) = globset::Glob::new(&glob.value) {
            errors.push(error(
                &shown,
                text,
                Some(position_of(text, glob)),
                format!("invalid glob `{}`: {}", glob.value, e.kind()),
            ));
        }
    }
    config.exclude = raw.exclude.iter().map(loc).collect();
    config.rules = raw
        .rules
        .iter()
        .map(|r| Located {
            value: dir.join(&r.value),
            source: at(&|| position_of(text, r)),
        })
        .collect();
    for r in &config.rules {
        if !r.value.exists() {
            errors.push(config.error_at(
                &r.source,
                format!("no such rule file or folder: {}", r.value.display()),
            ));
        }
    }
    if let Some(f) = &raw.fail_on {
        match severity(&f.value) {
            Ok(s) => {
                config.fail_on = Some(Located {
                    value: s,
                    source: at(&|| position_of(text, f)),
                })
            }
            Err(m) => errors.push(error(&shown, text, Some(position_of(text, f)), m)),
        }
    }
    if let Some(v) = &raw.libvirt_version {
        // Cannot panic: a constant pattern, compiled whenever a config sets the version.
        let ok = regex_lite::Regex::new(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
            .expect("valid regex")
            .is_match(&v.value.0);
        if ok {
            config.libvirt_version = Some(Located {
                value: v.value.0.clone(),
                source: at(&|| position_of(text, v)),
            });
        } else {
            errors.push(error(
                &shown,
                text,
                Some(position_of(text, v)),
                format!(
                    "invalid libvirt-version `{}`: expected MAJOR.MINOR or MAJOR.MINOR.MICRO, e.g. 9.0 or 10.10",
                    v.value.0
                ),
            ));
        }
    }
    for (id, options) in raw.per_rule.map(|m| m.0).unwrap_or_default() {
        let mut parsed = RuleOptions::default();
        if let Some(s) = &options.value.severity {
            match severity(&s.value) {
                Ok(sev) => {
                    parsed.severity = Some(Located {
                        value: sev,
                        source: at(&|| position_of(text, s)),
                    })
                }
                Err(m) => errors.push(error(&shown, text, Some(position_of(text, s)), m)),
            }
        }
        if let Some(u) = &options.value.unsafe_fixes {
            parsed.unsafe_fixes = Some(Located {
                value: u.value,
                source: at(&|| position_of(text, u)),
            });
        }
        if let Some(f) = &options.value.fix {
            let value = match f.value.0.parse::<usize>() {
                Ok(n) => FixChoice::Index(n),
                Err(_) => FixChoice::Title(f.value.0.clone()),
            };
            parsed.fix = Some(Located {
                value,
                source: at(&|| position_of(text, f)),
            });
        }
        config.per_rule.push((loc(&id), parsed));
    }
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

fn severity(text: &str) -> Result<Severity, String> {
    match text.trim() {
        "error" => Ok(Severity::Error),
        "warning" => Ok(Severity::Warning),
        "info" => Ok(Severity::Info),
        other => {
            let mut m = format!("invalid severity `{other}`: expected error, warning or info");
            if let Some(s) = crate::select::suggest(other, ["error", "warning", "info"]) {
                m.push_str(&format!("; did you mean `{s}`?"));
            }
            Err(m)
        }
    }
}

fn yaml_error(name: &str, text: &str, err: &serde_saphyr::Error) -> ConfigError {
    let (position, mut message) = crate::yaml::error_parts(err);
    // serde: "unknown field `selct`, expected one of `select`, ..." -> add a suggestion.
    let original = message.clone();
    if let Some(rest) = original.strip_prefix("unknown field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        let keys = if rest.contains("expected one of severity") {
            RULE_KEYS
        } else {
            KEYS
        };
        message = format!("unknown key `{field}`; expected one of {}", keys.join(", "));
        if let Some(s) = crate::select::suggest(field, keys.iter().copied()) {
            message.push_str(&format!("; did you mean `{s}`?"));
        }
    }
    error(name, text, position, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Config, Vec<ConfigError>> {
        parse(Path::new("/repo/.virt-lint.yaml"), text)
    }

    fn first_error(text: &str) -> String {
        parse_text(text).unwrap_err()[0].to_string()
    }

    #[test]
    fn every_key_is_read_with_its_position() {
        let c = parse_text(
            "# team settings\nselect: [ALL]\nextend-select: [security]\nignore:\n  - windows/\nexclude: ['generated/**']\nfail-on: error\nlibvirt-version: '9.0'\nper-rule:\n  windows/hpet-disabled-without-stimer:\n    severity: error\n    unsafe-fixes: true\n    fix: 1\n  hyperv/synic-requires-vpindex: {fix: turn HPET on}\n",
        )
        .unwrap();
        let sel: Vec<&str> = c
            .select
            .as_ref()
            .unwrap()
            .iter()
            .map(|l| l.value.as_str())
            .collect();
        assert_eq!(sel, ["ALL"]);
        assert_eq!(c.ignore[0].value, "windows/");
        assert_eq!(c.ignore[0].source.to_string(), "/repo/.virt-lint.yaml:5:5");
        assert_eq!(c.extend_select[0].value, "security");
        assert_eq!(c.exclude[0].value, "generated/**");
        assert_eq!(c.fail_on.as_ref().unwrap().value, Severity::Error);
        assert_eq!(
            c.fail_on.as_ref().unwrap().source.to_string(),
            "/repo/.virt-lint.yaml:7:10"
        );
        assert_eq!(c.libvirt_version.as_ref().unwrap().value, "9.0");
        assert_eq!(c.per_rule.len(), 2);
        let (id, o) = &c.per_rule[0];
        assert_eq!(id.value, "windows/hpet-disabled-without-stimer");
        assert_eq!(id.source.to_string(), "/repo/.virt-lint.yaml:10:3");
        assert_eq!(o.severity.as_ref().unwrap().value, Severity::Error);
        assert!(o.unsafe_fixes.as_ref().unwrap().value);
        assert_eq!(o.fix.as_ref().unwrap().value, FixChoice::Index(1));
        assert_eq!(
            c.per_rule[1].1.fix.as_ref().unwrap().value,
            FixChoice::Title("turn HPET on".into())
        );
    }

    #[test]
    fn empty_or_comment_only_files_are_defaults() {
        let c = parse_text("# nothing yet\n").unwrap();
        assert!(c.select.is_none() && c.ignore.is_empty() && c.per_rule.is_empty());
        assert!(parse_text("").is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_place_and_suggest() {
        assert_eq!(
            first_error("ignore: [windows/]\nselct: [ALL]\n"),
            "/repo/.virt-lint.yaml:2:1: unknown key `selct`; expected one of select, extend-select, ignore, exclude, rules, fail-on, libvirt-version, per-rule; did you mean `select`?"
        );
        assert_eq!(
            first_error("per-rule:\n  windows/x:\n    severity: error\n    sevrity: info\n"),
            "/repo/.virt-lint.yaml:4:5: unknown key `sevrity`; expected one of severity, unsafe-fixes, fix; did you mean `severity`?"
        );
        assert_eq!(
            first_error("fail-on: warn\n"),
            "/repo/.virt-lint.yaml:1:10: invalid severity `warn`: expected error, warning or info; did you mean `warning`?"
        );
        assert_eq!(
            first_error("libvirt-version: 9\n"),
            "/repo/.virt-lint.yaml:1:18: invalid libvirt-version `9`: expected MAJOR.MINOR or MAJOR.MINOR.MICRO, e.g. 9.0 or 10.10"
        );
        // Written plain, a version keeps its text: 10.10 is not 10.1, 9.0 not 9.
        for (written, read) in [
            ("10.10", "10.10"),
            ("9.0", "9.0"),
            ("'10.1'", "10.1"),
            ("8.10.0", "8.10.0"),
        ] {
            let c = parse_text(&format!("libvirt-version: {written}\n")).unwrap();
            assert_eq!(c.libvirt_version.unwrap().value, read, "{written}");
        }
        assert_eq!(
            first_error("exclude: ['a/[b']\n"),
            "/repo/.virt-lint.yaml:1:11: invalid glob `a/[b`: unclosed character class; missing ']'"
        );
        assert_eq!(
            first_error("rules: [missing/]\n"),
            "/repo/.virt-lint.yaml:1:9: no such rule file or folder: /repo/missing/"
        );
        let e = &parse_text("fail-on: warn\n").unwrap_err()[0];
        assert_eq!(e.line_text.as_deref(), Some("fail-on: warn"));
    }

    #[test]
    fn the_closest_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join(".virt-lint.yaml"), "").unwrap();
        std::fs::write(root.join("a/b/virt-lint.yaml"), "").unwrap();
        let file = root.join("a/b/c/vm.xml");
        assert_eq!(discover(&file), Some(root.join("a/b/virt-lint.yaml")));
        assert_eq!(
            discover(&root.join("a/vm.xml")),
            Some(root.join(".virt-lint.yaml"))
        );
        // Both names in one folder: the dotted one.
        std::fs::write(root.join("a/b/.virt-lint.yaml"), "").unwrap();
        assert_eq!(discover(&file), Some(root.join("a/b/.virt-lint.yaml")));
    }
}
