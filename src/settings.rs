//! Effective settings: the built-in defaults, then the config file that applies (see
//! [`crate::config`]), then the command line, combined into the rule set and options a
//! file is linted with. Every value remembers where it came from (`virt-lint config`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};

use crate::config::{self, Config, ConfigError, FixChoice, Located, Source};
use crate::rules::{self, RuleError, RuleSet, Safety, Severity, Version};
use crate::select::{self, Layer, RuleInfo, Selector};
use crate::suppress;

/// The settings given on the command line.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub rules: Vec<PathBuf>,
    pub fail_on: Option<Severity>,
    /// `--libvirt-version X.Y`: the libvirt release the definitions are checked for.
    pub libvirt_version: Option<Version>,
    /// `--config PATH`: this file for every input, no discovery.
    pub config: Option<PathBuf>,
    /// `--isolated`: no config file at all.
    pub isolated: bool,
}

/// Why settings could not be made.
#[derive(Debug, Clone)]
pub enum SettingsError {
    Rules(Vec<RuleError>),
    Config(Vec<ConfigError>),
    /// A bad command-line value (an unknown rule in `--select`, a bad glob).
    Usage(String),
}

/// One `exclude` glob with the folder it is relative to.
#[derive(Debug, Clone)]
pub struct Exclude {
    pub pattern: Located<String>,
    pub base: PathBuf,
    matcher: GlobMatcher,
}

impl Exclude {
    fn new(pattern: Located<String>, base: PathBuf) -> Result<Exclude, String> {
        let glob = GlobBuilder::new(pattern.value.trim_end_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| format!("invalid glob `{}`: {}", pattern.value, e.kind()))?;
        Ok(Exclude {
            matcher: glob.compile_matcher(),
            pattern,
            base,
        })
    }

    /// Whether `path` (absolute) or a folder it is in matches. A pattern without `/`
    /// matches a file or folder name anywhere below the base, as in `.gitignore`.
    pub fn matches(&self, path: &Path) -> bool {
        let Ok(relative) = path.strip_prefix(&self.base) else {
            return false;
        };
        let anywhere = !self.pattern.value.trim_end_matches('/').contains('/');
        let mut prefix = PathBuf::new();
        for component in relative.components() {
            prefix.push(component);
            if self.matcher.is_match(&prefix)
                || (anywhere && self.matcher.is_match(Path::new(component.as_os_str())))
            {
                return true;
            }
        }
        false
    }
}

/// What one file is linted with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: Option<Arc<Config>>,
    /// Every rule (suppressions may name any), with per-rule overrides applied; its
    /// enabled set is the selection.
    pub rules: RuleSet,
    pub fail_on: Located<Severity>,
    pub exclude: Vec<Exclude>,
    pub layers: Vec<(String, Layer)>,
    /// Per-rule changes, for `virt-lint config`: `(rule, what, source)`.
    pub overrides: Vec<(String, String, Source)>,
    /// The libvirt release the definitions are checked for (also set on `rules`); the
    /// default is the newest the rules know.
    pub libvirt_version: Located<Version>,
    pub rule_paths: Vec<Located<PathBuf>>,
}

impl Settings {
    pub fn known(&self) -> Vec<RuleInfo<'_>> {
        self.rules.rules.iter().map(RuleInfo::of).collect()
    }

    pub fn is_excluded(&self, path: &Path) -> bool {
        let Some(absolute) = config::absolute(path) else {
            return false;
        };
        self.exclude.iter().any(|e| e.matches(&absolute))
    }

    /// `virt-lint config`: each effective setting and where it came from.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "config file: {}",
            match &self.config {
                Some(c) => c.path.display().to_string(),
                None => "none".to_string(),
            }
        );
        let _ = writeln!(
            out,
            "fail-on: {} ({})",
            self.fail_on.value, self.fail_on.source
        );
        let v = &self.libvirt_version;
        match v.source {
            Source::Default => {
                let _ = writeln!(
                    out,
                    "libvirt-version: {} (default: the newest the rules know)",
                    v.value
                );
            }
            _ => {
                let _ = writeln!(out, "libvirt-version: {} ({})", v.value, v.source);
            }
        }
        for r in &self.rule_paths {
            let _ = writeln!(out, "rules: {} ({})", r.value.display(), r.source);
        }
        for e in &self.exclude {
            let _ = writeln!(
                out,
                "exclude: {} (relative to {}; {})",
                e.pattern.value,
                e.base.display(),
                e.pattern.source
            );
        }
        for (origin, layer) in &self.layers {
            if let Some(select) = &layer.select {
                let _ = writeln!(out, "select: {} ({origin})", list(select));
            }
            if !layer.extend_select.is_empty() {
                let _ = writeln!(
                    out,
                    "extend-select: {} ({origin})",
                    list(&layer.extend_select)
                );
            }
            if !layer.ignore.is_empty() {
                let _ = writeln!(out, "ignore: {} ({origin})", list(&layer.ignore));
            }
        }
        for (rule, what, source) in &self.overrides {
            let _ = writeln!(out, "per-rule: {rule}: {what} ({source})");
        }
        let _ = writeln!(
            out,
            "enabled rules ({} of {}):",
            self.rules.enabled().count(),
            self.rules.rules.len()
        );
        for (_, rule) in self.rules.enabled() {
            let fix = match &rule.fix {
                Some(f) => format!(", {} fix: {}", f.safety.as_str(), f.title),
                None => String::new(),
            };
            let _ = writeln!(out, "  {} ({}{fix})", rule.id, rule.severity);
        }
        out
    }
}

fn list(selectors: &[Selector]) -> String {
    selectors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Makes [`Settings`] for inputs, one per config file (cached).
pub struct Resolver {
    cli: CommandLine,
    explicit: Option<PathBuf>,
    cache: HashMap<Option<PathBuf>, Arc<Settings>>,
    /// The config file found from each folder searched (the files of one folder share
    /// the search).
    found: HashMap<PathBuf, Option<PathBuf>>,
}

impl Resolver {
    pub fn new(cli: CommandLine) -> Self {
        Resolver {
            explicit: cli.config.clone(),
            cli,
            cache: HashMap::new(),
            found: HashMap::new(),
        }
    }

    /// The config file for an input (`None` = standard input, looked up from the
    /// current folder).
    pub fn config_for(&mut self, input: Option<&Path>) -> Option<PathBuf> {
        if self.cli.isolated {
            return None;
        }
        if let Some(path) = &self.explicit {
            return Some(path.clone());
        }
        let folder = match input {
            Some(path) => config::search_start(path)?,
            None => std::env::current_dir().ok()?,
        };
        self.found
            .entry(folder)
            .or_insert_with_key(|folder| config::find_in_ancestors(folder))
            .clone()
    }

    /// The settings for an input.
    pub fn settings_for(&mut self, input: Option<&Path>) -> Result<Arc<Settings>, SettingsError> {
        let config = self.config_for(input);
        self.settings(config)
    }

    /// The settings with the config file at `path` (or none).
    pub fn settings(&mut self, path: Option<PathBuf>) -> Result<Arc<Settings>, SettingsError> {
        if let Some(s) = self.cache.get(&path) {
            return Ok(s.clone());
        }
        let config = match &path {
            Some(p) => Some(Arc::new(config::load(p).map_err(SettingsError::Config)?)),
            None => None,
        };
        let settings = Arc::new(build(&self.cli, config)?);
        self.cache.insert(path, settings.clone());
        Ok(settings)
    }
}

fn build(cli: &CommandLine, config: Option<Arc<Config>>) -> Result<Settings, SettingsError> {
    let mut rule_paths: Vec<Located<PathBuf>> = cli
        .rules
        .iter()
        .map(|p| Located {
            value: p.clone(),
            source: Source::CommandLine("--rules"),
        })
        .collect();
    if let Some(c) = &config {
        rule_paths.extend(c.rules.iter().cloned());
    }
    let paths: Vec<PathBuf> = rule_paths.iter().map(|r| r.value.clone()).collect();
    let mut all = rules::load_rule_sets(&paths).map_err(SettingsError::Rules)?;
    all.extend(suppress::meta_rules());

    let mut errors = Vec::new();
    let mut overrides = Vec::new();
    if let Some(c) = &config {
        apply_per_rule(c, &mut all, &mut overrides, &mut errors);
    }

    let infos: Vec<RuleInfo<'_>> = all.rules.iter().map(RuleInfo::of).collect();
    let mut layers: Vec<(String, Layer)> = Vec::new();
    if let Some(c) = &config {
        let mut parse = |list: &[Located<String>]| -> Vec<Selector> {
            list.iter()
                .filter_map(|l| match Selector::parse(&l.value, &infos) {
                    Ok(s) => Some(s),
                    Err(m) => {
                        errors.push(c.error_at(&l.source, m));
                        None
                    }
                })
                .collect()
        };
        let layer = Layer {
            select: c.select.as_deref().map(&mut parse),
            extend_select: parse(&c.extend_select),
            ignore: parse(&c.ignore),
        };
        if !layer.is_empty() {
            layers.push((c.path.display().to_string(), layer));
        }
    }
    if !errors.is_empty() {
        return Err(SettingsError::Config(errors));
    }
    let parse_cli = |flag: &str, list: &[String]| -> Result<Vec<Selector>, SettingsError> {
        list.iter()
            .flat_map(|s| s.split(','))
            .map(|s| {
                Selector::parse(s, &infos).map_err(|m| SettingsError::Usage(format!("{flag}: {m}")))
            })
            .collect()
    };
    let cli_layer = Layer {
        select: cli
            .select
            .as_deref()
            .map(|l| parse_cli("--select", l))
            .transpose()?,
        extend_select: parse_cli("--extend-select", &cli.extend_select)?,
        ignore: parse_cli("--ignore", &cli.ignore)?,
    };
    if !cli_layer.is_empty() {
        layers.push(("command line".to_string(), cli_layer));
    }
    let layer_refs: Vec<&Layer> = layers.iter().map(|(_, l)| l).collect();
    let keep = select::enabled(&infos, &layer_refs);
    select::apply(&mut all, &keep);

    let fail_on = match (cli.fail_on, config.as_ref().and_then(|c| c.fail_on.clone())) {
        (Some(s), _) => Located {
            value: s,
            source: Source::CommandLine("--fail-on"),
        },
        (None, Some(from_file)) => from_file,
        (None, None) => Located {
            value: Severity::Warning,
            source: Source::Default,
        },
    };
    let mut exclude = Vec::new();
    let cwd = std::env::current_dir().unwrap_or_default();
    for pattern in &cli.exclude {
        let located = Located {
            value: pattern.clone(),
            source: Source::CommandLine("--exclude"),
        };
        exclude.push(
            Exclude::new(located, cwd.clone())
                .map_err(|m| SettingsError::Usage(format!("--exclude: {m}")))?,
        );
    }
    if let Some(c) = &config {
        for pattern in &c.exclude {
            let e = Exclude::new(pattern.clone(), c.dir().to_path_buf())
                .map_err(|m| SettingsError::Config(vec![c.error_at(&pattern.source, m)]))?;
            exclude.push(e);
        }
    }
    let from_file = config
        .as_ref()
        .and_then(|c| c.libvirt_version.as_ref().map(|v| (c, v)));
    let libvirt_version = match (cli.libvirt_version, from_file) {
        (Some(v), _) => Located {
            value: v,
            source: Source::CommandLine("--libvirt-version"),
        },
        (None, Some((c, v))) => match Version::parse(&v.value) {
            Some(version) => Located {
                value: version,
                source: v.source.clone(),
            },
            None => {
                let message = format!("invalid libvirt-version `{}`", v.value);
                return Err(SettingsError::Config(vec![c.error_at(&v.source, message)]));
            }
        },
        (None, None) => Located {
            value: all.newest_known(),
            source: Source::Default,
        },
    };
    all.set_libvirt_version(match libvirt_version.source {
        Source::Default => None,
        _ => Some(libvirt_version.value),
    });
    Ok(Settings {
        libvirt_version,
        config,
        rules: all,
        fail_on,
        exclude,
        layers,
        overrides,
        rule_paths,
    })
}

/// Severity overrides, fix choices and unsafe-fix opt-ins of the config's `per-rule`.
fn apply_per_rule(
    c: &Config,
    all: &mut RuleSet,
    overrides: &mut Vec<(String, String, Source)>,
    errors: &mut Vec<ConfigError>,
) {
    for (id, options) in &c.per_rule {
        let Some(rule) = all.rules.iter_mut().find(|r| r.id == id.value) else {
            let ids: Vec<String> = all.rules.iter().map(|r| r.id.clone()).collect();
            let mut m = format!("unknown rule `{}` in per-rule", id.value);
            match select::suggest(&id.value, ids.iter().map(String::as_str)) {
                Some(s) => m.push_str(&format!("; did you mean `{s}`?")),
                None => m.push_str("; `virt-lint rules` lists the rules"),
            }
            errors.push(c.error_at(&id.source, m));
            continue;
        };
        if let Some(s) = &options.severity {
            rule.severity = s.value;
            overrides.push((
                rule.id.clone(),
                format!("severity {}", s.value),
                s.source.clone(),
            ));
        }
        if let Some(choice) = &options.fix {
            let count = rule.alternatives.len();
            let index = match &choice.value {
                FixChoice::Index(n) if *n <= count && (rule.fix.is_some() || *n > 0) => Some(*n),
                FixChoice::Index(_) => None,
                FixChoice::Title(t) => rule
                    .fix
                    .iter()
                    .chain(&rule.alternatives)
                    .position(|f| &f.title == t)
                    .map(|i| if rule.fix.is_some() { i } else { i + 1 }),
            };
            match index {
                Some(0) => {}
                Some(n) => {
                    let chosen = rule.alternatives.remove(n - 1);
                    if let Some(previous) = rule.fix.replace(chosen) {
                        rule.alternatives.insert(0, previous);
                    }
                }
                None => {
                    let titles: Vec<String> = rule
                        .fix
                        .iter()
                        .map(|f| format!("0 = {}", f.title))
                        .chain(
                            rule.alternatives
                                .iter()
                                .enumerate()
                                .map(|(i, f)| format!("{} = {}", i + 1, f.title)),
                        )
                        .collect();
                    let m = if titles.is_empty() {
                        format!("`{}` has no fix to choose", rule.id)
                    } else {
                        format!(
                            "no such fix of `{}`; its fixes are: {}",
                            rule.id,
                            titles.join("; ")
                        )
                    };
                    errors.push(c.error_at(&choice.source, m));
                    continue;
                }
            }
            if let Some(f) = &rule.fix {
                overrides.push((
                    rule.id.clone(),
                    format!("fix: {}", f.title),
                    choice.source.clone(),
                ));
            }
        }
        if let Some(u) = options.unsafe_fixes.as_ref().filter(|u| u.value) {
            match rule.fix.as_mut() {
                Some(f) => {
                    f.safety = Safety::Safe;
                    overrides.push((
                        rule.id.clone(),
                        "unsafe fix applied like a safe one".to_string(),
                        u.source.clone(),
                    ));
                }
                None => errors.push(c.error_at(&u.source, format!("`{}` has no fix", rule.id))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn located(v: &str) -> Located<String> {
        Located {
            value: v.to_string(),
            source: Source::Default,
        }
    }

    #[test]
    fn exclude_globs() {
        let e = Exclude::new(located("generated"), PathBuf::from("/repo")).unwrap();
        assert!(e.matches(Path::new("/repo/generated/vm.xml")));
        assert!(e.matches(Path::new("/repo/a/generated/vm.xml")));
        assert!(!e.matches(Path::new("/repo/a/vm.xml")));
        assert!(!e.matches(Path::new("/elsewhere/generated/vm.xml")));
        let e = Exclude::new(located("vms/*-test.xml"), PathBuf::from("/repo")).unwrap();
        assert!(e.matches(Path::new("/repo/vms/a-test.xml")));
        assert!(!e.matches(Path::new("/repo/x/vms/a-test.xml")));
        assert!(!e.matches(Path::new("/repo/vms/sub/a-test.xml")));
        let e = Exclude::new(located("*.xml"), PathBuf::from("/repo")).unwrap();
        assert!(e.matches(Path::new("/repo/deep/down/a.xml")));
    }

    #[test]
    fn each_folder_finds_its_closest_config_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::create_dir_all(root.join("a/c")).unwrap();
        std::fs::write(root.join("a/.virt-lint.yaml"), "").unwrap();
        std::fs::write(root.join("a/b/virt-lint.yaml"), "").unwrap();
        let mut r = Resolver::new(CommandLine::default());
        let mut config_for = |file: &str| r.config_for(Some(&root.join(file)));
        for _ in 0..2 {
            assert_eq!(config_for("a/x.xml"), Some(root.join("a/.virt-lint.yaml")));
            assert_eq!(
                config_for("a/b/y.xml"),
                Some(root.join("a/b/virt-lint.yaml"))
            );
            assert_eq!(
                config_for("a/b/../z.xml"),
                Some(root.join("a/.virt-lint.yaml"))
            );
            assert_eq!(
                config_for("a/c/w.xml"),
                Some(root.join("a/.virt-lint.yaml"))
            );
            assert_eq!(config_for("a/b"), Some(root.join("a/b/virt-lint.yaml")));
        }
        // One search per folder: a, a/b, a/c.
        assert_eq!(r.found.len(), 3);
    }

    #[test]
    fn config_and_command_line_layers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".virt-lint.yaml");
        std::fs::write(
            &path,
            "ignore: [windows/]\nfail-on: error\nper-rule:\n  windows/hpet-disabled-without-stimer:\n    severity: error\n    fix: 1\n    unsafe-fixes: true\n",
        )
        .unwrap();
        let mut r = Resolver::new(CommandLine::default());
        let s = r.settings(Some(path.clone())).unwrap();
        let enabled: Vec<&str> = s.rules.enabled().map(|(_, r)| r.id.as_str()).collect();
        assert!(
            !enabled.iter().any(|id| id.starts_with("windows/")),
            "{enabled:?}"
        );
        assert!(enabled.contains(&suppress::UNUSED));
        assert_eq!(s.fail_on.value, Severity::Error);
        let rule = s.rules.get("windows/hpet-disabled-without-stimer").unwrap();
        assert_eq!(rule.severity, Severity::Error);
        let fix = rule.fix.as_ref().unwrap();
        assert!(fix.title.contains("HPET on"), "{}", fix.title);
        assert_eq!(fix.safety, Safety::Safe);
        assert!(rule.alternatives[0].title.contains("synthetic timer"));

        let mut r = Resolver::new(CommandLine {
            extend_select: vec!["windows/hpet-disabled-without-stimer".into()],
            fail_on: Some(Severity::Info),
            ..CommandLine::default()
        });
        let s = r.settings(Some(path.clone())).unwrap();
        let ids: Vec<&str> = s
            .rules
            .enabled()
            .map(|(_, r)| r.id.as_str())
            .filter(|i| i.starts_with("windows/"))
            .collect();
        assert_eq!(ids, ["windows/hpet-disabled-without-stimer"]);
        assert_eq!(s.fail_on.source, Source::CommandLine("--fail-on"));
        let described = s.describe();
        assert!(
            described.contains(&format!("ignore: windows/ ({})", path.display())),
            "{described}"
        );
        assert!(
            described
                .contains("extend-select: windows/hpet-disabled-without-stimer (command line)"),
            "{described}"
        );
        assert!(
            described.contains(&format!(
                "per-rule: windows/hpet-disabled-without-stimer: severity error ({}:5:15)",
                path.display()
            )),
            "{described}"
        );

        let mut r = Resolver::new(CommandLine {
            select: Some(vec!["hyprv/".into()]),
            ..CommandLine::default()
        });
        match r.settings(None) {
            Err(SettingsError::Usage(m)) => assert_eq!(
                m,
                "--select: unknown rule, group or tag `hyprv/`; did you mean `hyperv/`?"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_rules_in_the_config_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("virt-lint.yaml");
        std::fs::write(&path, "ignore: [windws/]\nper-rule:\n  windows/hypervclock-mising: {severity: info}\n  hyperv/synic-requires-vpindex: {fix: 3}\n").unwrap();
        let mut r = Resolver::new(CommandLine::default());
        let Err(SettingsError::Config(errors)) = r.settings(Some(path.clone())) else {
            panic!("expected config errors")
        };
        let shown: Vec<String> = errors
            .iter()
            .map(|e| e.to_string().replace(&path.display().to_string(), "F"))
            .collect();
        assert_eq!(
            shown,
            [
                "F:3:3: unknown rule `windows/hypervclock-mising` in per-rule; did you mean `windows/hypervclock-missing`?",
                "F:4:40: no such fix of `hyperv/synic-requires-vpindex`; its fixes are: 0 = turn vpindex on",
                "F:1:10: unknown rule, group or tag `windws/`; did you mean `windows/`?",
            ]
        );
    }
}
