//! Rule selection: which rules of a [`RuleSet`] run, from `select`, `extend-select` and
//! `ignore` lists (command line and config file), as ruff does it.
//!
//! A selector is `ALL`, a rule id (`windows/hypervclock-missing`), a group prefix
//! (`hyperv/`, or `hyperv`) or a tag (`security`). Layers apply in order (built-in
//! defaults, then the config file, then the command line): a layer's `select` replaces the
//! set, `extend-select` adds to it, `ignore` removes from it. Within a layer the most
//! specific matching selector wins (id > group > tag > `ALL`); on a tie, `ignore` wins.
//! Rules marked `default: off` run only when a selector picks them.

use std::collections::BTreeSet;
use std::fmt;

use crate::rules::{Rule, RuleSet};

/// What selection needs to know about a rule.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo<'a> {
    pub id: &'a str,
    pub tags: &'a [String],
    /// False for rules marked `default: off`.
    pub default_on: bool,
}

impl<'a> RuleInfo<'a> {
    pub fn of(rule: &'a Rule) -> Self {
        RuleInfo {
            id: &rule.id,
            tags: &rule.tags,
            default_on: rule.default_enabled,
        }
    }

    fn group(&self) -> &'a str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

/// One parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    All,
    Rule(String),
    Group(String),
    Tag(String),
}

impl Selector {
    /// Classify `text` against the rules: an error (with a suggestion) when it names
    /// nothing.
    pub fn parse(text: &str, rules: &[RuleInfo<'_>]) -> Result<Selector, String> {
        let text = text.trim();
        if text == "ALL" {
            return Ok(Selector::All);
        }
        if let Some(group) = text.strip_suffix('/')
            && !group.contains('/')
            && rules.iter().any(|r| r.group() == group)
        {
            return Ok(Selector::Group(group.to_string()));
        }
        if text.contains('/') && !text.ends_with('/') {
            if rules.iter().any(|r| r.id == text) {
                return Ok(Selector::Rule(text.to_string()));
            }
        } else if !text.contains('/') {
            if rules.iter().any(|r| r.group() == text) {
                return Ok(Selector::Group(text.to_string()));
            }
            if rules.iter().any(|r| r.tags.iter().any(|t| t == text)) {
                return Ok(Selector::Tag(text.to_string()));
            }
        }
        let mut message = format!("unknown rule, group or tag `{text}`");
        match suggest(text, candidates(rules).iter().map(String::as_str)) {
            Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
            None => message.push_str("; `virt-lint rules` lists the rules"),
        }
        Err(message)
    }

    pub fn matches(&self, rule: &RuleInfo<'_>) -> bool {
        match self {
            Selector::All => true,
            Selector::Rule(id) => rule.id == id,
            Selector::Group(g) => rule.group() == g,
            Selector::Tag(t) => rule.tags.iter().any(|x| x == t),
        }
    }

    /// Higher is more specific.
    fn specificity(&self) -> u8 {
        match self {
            Selector::All => 0,
            Selector::Tag(_) => 1,
            Selector::Group(_) => 2,
            Selector::Rule(_) => 3,
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::All => f.write_str("ALL"),
            Selector::Rule(id) => f.write_str(id),
            Selector::Group(g) => write!(f, "{g}/"),
            Selector::Tag(t) => f.write_str(t),
        }
    }
}

/// Everything a selector may name: `ALL`, ids, `group/` prefixes and tags.
fn candidates(rules: &[RuleInfo<'_>]) -> Vec<String> {
    let mut set = BTreeSet::new();
    set.insert("ALL".to_string());
    for r in rules {
        set.insert(r.id.to_string());
        set.insert(format!("{}/", r.group()));
        for t in r.tags {
            set.insert(t.clone());
        }
    }
    set.into_iter().collect()
}

/// One layer of selection (the config file's, or the command line's).
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// Replaces the selection when present.
    pub select: Option<Vec<Selector>>,
    pub extend_select: Vec<Selector>,
    pub ignore: Vec<Selector>,
}

impl Layer {
    pub fn is_empty(&self) -> bool {
        self.select.is_none() && self.extend_select.is_empty() && self.ignore.is_empty()
    }
}

/// Whether each rule of `rules` runs, after the layers in order.
pub fn enabled(rules: &[RuleInfo<'_>], layers: &[&Layer]) -> Vec<bool> {
    rules
        .iter()
        .map(|rule| {
            let mut on = rule.default_on;
            for layer in layers {
                on = decide(rule, layer, on);
            }
            on
        })
        .collect()
}

fn decide(rule: &RuleInfo<'_>, layer: &Layer, current: bool) -> bool {
    let mut best: Option<(u8, bool)> = None;
    let mut consider = |selectors: &[Selector], on: bool| {
        for s in selectors.iter().filter(|s| s.matches(rule)) {
            let candidate = (s.specificity(), on);
            best = Some(match best {
                // A tie goes to `ignore` (false < true, so take the smaller).
                Some(b) if b.0 > candidate.0 || (b.0 == candidate.0 && !b.1) => b,
                _ => candidate,
            });
        }
    };
    if let Some(select) = &layer.select {
        consider(select, true);
    }
    consider(&layer.extend_select, true);
    consider(&layer.ignore, false);
    match best {
        Some((_, on)) => on,
        None if layer.select.is_some() => false,
        None => current,
    }
}

/// Enable exactly the rules `keep` marks (parallel to `rules.rules`).
pub fn apply(rules: &mut RuleSet, keep: &[bool]) {
    let mut flags = keep.iter();
    rules.select(|_, _| *flags.next().unwrap_or(&false));
}

/// The closest candidate to `word` (edit distance at most a third of its length, or a
/// candidate that contains it), if any.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if !word.is_empty() && (c.contains(word) || c.trim_end_matches('/') == word) {
            1
        } else {
            distance(&word.to_lowercase(), &c.to_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Levenshtein distance, in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(id: &'a str, tags: &'a [String], default_on: bool) -> RuleInfo<'a> {
        RuleInfo {
            id,
            tags,
            default_on,
        }
    }

    fn sel(list: &[&str], rules: &[RuleInfo<'_>]) -> Vec<Selector> {
        list.iter()
            .map(|s| Selector::parse(s, rules).unwrap())
            .collect()
    }

    #[test]
    fn layers_select_extend_and_ignore_by_specificity() {
        let security = vec!["security".to_string()];
        let none: Vec<String> = Vec::new();
        let rules = [
            info("windows/hpet-disabled-without-stimer", &none, true),
            info("windows/hypervclock-missing", &none, true),
            info("hyperv/synic-requires-vpindex", &security, true),
            info("disk/cache-none", &security, false),
        ];
        assert_eq!(enabled(&rules, &[]), [true, true, true, false]);
        let config = Layer {
            ignore: sel(&["windows/"], &rules),
            ..Layer::default()
        };
        assert_eq!(enabled(&rules, &[&config]), [false, false, true, false]);
        // A more specific selector of the next layer brings one back.
        let cli = Layer {
            extend_select: sel(&["windows/hypervclock-missing"], &rules),
            ..Layer::default()
        };
        assert_eq!(
            enabled(&rules, &[&config, &cli]),
            [false, true, true, false]
        );
        // `select` replaces; a tag picks the default-off rule too.
        let cli = Layer {
            select: Some(sel(&["security"], &rules)),
            ..Layer::default()
        };
        assert_eq!(
            enabled(&rules, &[&config, &cli]),
            [false, false, true, true]
        );
        // Within a layer: the id beats the group; on a tie ignore wins.
        let layer = Layer {
            select: Some(sel(&["ALL"], &rules)),
            ignore: sel(&["hyperv/", "windows/hypervclock-missing"], &rules),
            extend_select: sel(&["hyperv/synic-requires-vpindex", "windows/"], &rules),
        };
        assert_eq!(enabled(&rules, &[&layer]), [true, false, true, true]);
    }

    #[test]
    fn unknown_selectors_suggest_the_closest_name() {
        let tags = vec!["security".to_string()];
        let rules = [
            info("windows/hypervclock-missing", &tags, true),
            info("hyperv/synic-requires-vpindex", &[], true),
        ];
        assert_eq!(
            Selector::parse("windows/hypervclock-mising", &rules).unwrap_err(),
            "unknown rule, group or tag `windows/hypervclock-mising`; did you mean `windows/hypervclock-missing`?"
        );
        assert_eq!(
            Selector::parse("hyprv/", &rules).unwrap_err(),
            "unknown rule, group or tag `hyprv/`; did you mean `hyperv/`?"
        );
        assert_eq!(
            Selector::parse("securty", &rules).unwrap_err(),
            "unknown rule, group or tag `securty`; did you mean `security`?"
        );
        assert_eq!(
            Selector::parse("nothing-like-it", &rules).unwrap_err(),
            "unknown rule, group or tag `nothing-like-it`; `virt-lint rules` lists the rules"
        );
        assert_eq!(
            Selector::parse("hyperv", &rules).unwrap(),
            Selector::Group("hyperv".into())
        );
        assert_eq!(
            Selector::parse("all", &rules).unwrap_err(),
            "unknown rule, group or tag `all`; did you mean `ALL`?"
        );
    }
}
