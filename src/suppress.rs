//! Inline suppressions: XML comments that silence findings.
//!
//! ```xml
//! <!-- virt-lint: ignore windows/hpet-disabled-without-stimer - the vendor image needs it -->
//! <timer name='hpet' present='no'/>
//! ```
//!
//! `ignore RULE[, RULE]` applies to the next element and everything inside it;
//! `ignore-file RULE[, RULE]`, before the root element, to the whole file. A rule may be
//! an id, a group (`hyperv/`), a tag or `ALL`. The optional reason follows a lone `-`
//! (XML forbids `--` inside a comment). Directives that cannot be read or name an unknown
//! rule become `virt-lint/invalid-suppression` findings; directives that silence nothing
//! become `virt-lint/unused-suppression` findings.

use std::ops::Range;

use crate::condition::Condition;
use crate::document::Document;
use crate::engine::Finding;
use crate::rules::{About, Lazy, Message, MessagePart, Origin, Rule, RuleLogic, RuleSet, Severity};
use crate::select::{RuleInfo, Selector};

pub const INVALID: &str = "virt-lint/invalid-suppression";
pub const UNUSED: &str = "virt-lint/unused-suppression";
/// The origin of [`meta_rules`] (they have no rule file).
pub const META_ORIGIN: &str = "src/suppress.rs";

/// How suppressions are treated in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--no-inline-ignores`: directives are plain comments.
    pub disabled: bool,
    /// `--require-reason`: a directive without a reason is invalid.
    pub require_reason: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The next element and its subtree.
    Next,
    /// The whole file.
    File,
}

/// One readable directive.
#[derive(Debug, Clone)]
pub struct Directive {
    /// The comment, `<!--` to `-->`.
    pub comment: Range<usize>,
    pub scope: Scope,
    pub selectors: Vec<(String, Selector)>,
    pub reason: Option<String>,
    /// What it covers (the next element, or the whole text).
    pub covers: Range<usize>,
}

/// A directive that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub comment: Range<usize>,
    pub message: String,
}

/// The rules that report on suppressions themselves; added to every rule set so that
/// they can be selected, ignored and explained like any other.
pub fn meta_rules() -> Vec<Rule> {
    let rule = |id: &str, summary: &str, explanation: &str| Rule {
        id: id.to_string(),
        severity: Severity::Warning,
        tags: vec!["suppression".to_string()],
        default_enabled: true,
        libvirt: Default::default(),
        explanation: explanation.to_string(),
        about: Lazy::new(About {
            summary: summary.to_string(),
            references: Vec::new(),
            origin: Origin {
                file: META_ORIGIN.to_string(),
                line: 0,
            },
        }),
        logic: Lazy::new(RuleLogic {
            for_each: None,
            // Never true: these findings come from the suppression pass, not from a
            // condition.
            when: Condition::Any(Vec::new()),
            report_at: Vec::new(),
            message: Message {
                parts: vec![MessagePart::Text(summary.to_string())],
            },
            fix: None,
            alternatives: Vec::new(),
        }),
        examples: Vec::new(),
        repo: None,
    };
    vec![
        rule(
            INVALID,
            "A `virt-lint:` comment that cannot be used",
            "A comment starting with `virt-lint:` must read `virt-lint: ignore RULE[, RULE] - reason` \
             (before an element) or `virt-lint: ignore-file RULE - reason` (before the root element), \
             and name known rules, groups or tags. With --require-reason, the reason is mandatory. \
             A directive that cannot be read silences nothing.",
        ),
        rule(
            UNUSED,
            "A suppression comment that silences nothing",
            "The rule no longer fires where the comment applies, so the comment can go. \
             Stale suppressions hide new findings later.",
        ),
    ]
}

/// Read every `virt-lint:` comment of `doc`. `known` is every rule of the run, enabled
/// or not, for validating names.
pub fn parse(doc: &Document<'_>, known: &[RuleInfo<'_>]) -> (Vec<Directive>, Vec<Problem>) {
    let mut directives = Vec::new();
    let mut problems = Vec::new();
    let root = doc.root();
    for node in doc.tree.descendants().filter(|n| n.is_comment()) {
        let Some(text) = node.text() else { continue };
        let body = text.trim();
        let Some(rest) = body.strip_prefix("virt-lint") else {
            continue;
        };
        let comment = node.range();
        let problem = |message: String| Problem {
            comment: comment.clone(),
            message,
        };
        let Some(rest) = rest.trim_start().strip_prefix(':') else {
            problems.push(problem(
                "expected `virt-lint: ignore RULE` or `virt-lint: ignore-file RULE`".to_string(),
            ));
            continue;
        };
        let rest = rest.trim_start();
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, rest) = rest.split_at(word_end);
        let scope = match word {
            "ignore" => Scope::Next,
            "ignore-file" => Scope::File,
            other => {
                let mut message = format!("unknown directive `{other}`");
                match crate::select::suggest(other, ["ignore", "ignore-file"]) {
                    Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
                    None => message.push_str("; expected `ignore` or `ignore-file`"),
                }
                problems.push(problem(message));
                continue;
            }
        };
        let (list, reason) = split_reason(rest);
        let mut selectors = Vec::new();
        let mut bad = None;
        for name in list.split(',').map(str::trim) {
            if name.is_empty() {
                bad = Some(format!(
                    "`{word}` needs a rule id, group or tag (rules are separated by `,`; a reason follows ` - `)"
                ));
                break;
            }
            if name.contains(char::is_whitespace) {
                bad = Some(format!(
                    "unexpected `{name}`: separate rules with `,` and put the reason after ` - `"
                ));
                break;
            }
            match Selector::parse(name, known) {
                Ok(s) => selectors.push((name.to_string(), s)),
                Err(e) => {
                    bad = Some(e);
                    break;
                }
            }
        }
        if let Some(message) = bad {
            problems.push(problem(message));
            continue;
        }
        let covers = match scope {
            Scope::File => {
                if node.range().start > root.range().start {
                    problems.push(problem(
                        "`ignore-file` must come before the root element".to_string(),
                    ));
                    continue;
                }
                0..doc.text.len()
            }
            Scope::Next => match node.next_siblings().find(|n| n.is_element()) {
                Some(element) => element.range(),
                None => {
                    problems.push(problem(
                        "no element follows this `ignore` in its parent, so it applies to nothing"
                            .to_string(),
                    ));
                    continue;
                }
            },
        };
        directives.push(Directive {
            comment,
            scope,
            selectors,
            reason,
            covers,
        });
    }
    (directives, problems)
}

/// Split `RULES - reason` at the first `-` that stands alone.
fn split_reason(text: &str) -> (&str, Option<String>) {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-'
            && (i == 0 || bytes[i - 1].is_ascii_whitespace())
            && bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace())
        {
            let reason = text[i + 1..].trim();
            return (&text[..i], (!reason.is_empty()).then(|| reason.to_string()));
        }
    }
    (text, None)
}

/// Drop the findings that directives silence, and add findings about the directives
/// themselves (when `rules` has those rules enabled). `known` lists every rule of the
/// run, enabled or not. The result is sorted like [`crate::engine::lint`]'s.
pub fn apply(
    doc: &Document<'_>,
    rules: &RuleSet,
    known: &[RuleInfo<'_>],
    findings: Vec<Finding>,
    options: Options,
) -> Vec<Finding> {
    if options.disabled {
        return findings;
    }
    let (directives, mut problems) = parse(doc, known);
    let mut used: Vec<Vec<bool>> = directives
        .iter()
        .map(|d| vec![false; d.selectors.len()])
        .collect();
    let infos: Vec<RuleInfo<'_>> = rules.rules.iter().map(RuleInfo::of).collect();
    let mut kept = Vec::with_capacity(findings.len());
    for finding in findings {
        let info = infos.get(finding.rule).copied().unwrap_or(RuleInfo {
            id: &finding.rule_id,
            tags: &[],
            default_on: true,
        });
        let mut silenced = false;
        for (d, directive) in directives.iter().enumerate() {
            if !directive.covers.contains(&finding.range.start) {
                continue;
            }
            for (s, (_, selector)) in directive.selectors.iter().enumerate() {
                if selector.matches(&info) {
                    used[d][s] = true;
                    silenced = true;
                }
            }
        }
        if !silenced {
            kept.push(finding);
        }
    }
    if options.require_reason {
        for d in directives.iter().filter(|d| d.reason.is_none()) {
            problems.push(Problem {
                comment: d.comment.clone(),
                message: "this suppression gives no reason (--require-reason); add one after ` - `"
                    .to_string(),
            });
        }
    }
    for problem in problems {
        if let Some(f) = meta_finding(doc, rules, INVALID, problem.comment, problem.message) {
            kept.push(f);
        }
    }
    for (d, directive) in directives.iter().enumerate() {
        for (s, (name, selector)) in directive.selectors.iter().enumerate() {
            // A rule that is not enabled here cannot fire: not worth a finding.
            let enabled = infos.iter().enumerate().any(|(i, info)| {
                rules.is_enabled(i) && selector.matches(info) && !is_meta(info.id)
            });
            if used[d][s] || !enabled {
                continue;
            }
            let what = match directive.scope {
                Scope::Next => "the next element",
                Scope::File => "this file",
            };
            let message = format!("unused suppression: `{name}` reports nothing in {what}");
            if let Some(f) = meta_finding(doc, rules, UNUSED, directive.comment.clone(), message) {
                kept.push(f);
            }
        }
    }
    kept.sort_by(|a, b| (a.range.start, &a.rule_id).cmp(&(b.range.start, &b.rule_id)));
    kept
}

fn is_meta(id: &str) -> bool {
    id == INVALID || id == UNUSED
}

fn meta_finding(
    doc: &Document<'_>,
    rules: &RuleSet,
    id: &str,
    range: Range<usize>,
    message: String,
) -> Option<Finding> {
    let index = rules.rules.iter().position(|r| r.id == id)?;
    if !rules.is_enabled(index) {
        return None;
    }
    Some(Finding {
        rule: index,
        rule_id: id.to_string(),
        severity: rules.rules[index].severity,
        message,
        position: doc.position(range.start),
        range,
        context: doc.root().id(),
        related: Vec::new(),
    })
}

/// Each directive comment with the element it applies to, for checking that a fix neither
/// removed nor moved one.
pub fn anchors(doc: &Document<'_>) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for node in doc.tree.descendants().filter(|n| n.is_comment()) {
        let Some(text) = node.text() else { continue };
        if !text.trim_start().starts_with("virt-lint") {
            continue;
        }
        // The element by its path of names (and `name` attributes), not its whole start
        // tag: a fix may change the element's other attributes without moving the comment.
        let target = node.next_siblings().find(|n| n.is_element()).map(|e| {
            let mut steps: Vec<String> = e
                .ancestors()
                .filter(|n| n.is_element())
                .map(|n| match n.attribute("name") {
                    Some(v) => format!("{}[@name='{v}']", n.tag_name().name()),
                    None => n.tag_name().name().to_string(),
                })
                .collect();
            steps.reverse();
            steps.join("/")
        });
        out.push((text.to_string(), target));
    }
    out
}

/// Why `after` (a fix of `before`) is refused because of suppression comments, if it is.
pub fn check_preserved(before: &Document<'_>, after: &Document<'_>) -> Result<(), String> {
    let a = anchors(before);
    let b = anchors(after);
    for (comment, target) in &a {
        if !b.iter().any(|(c, t)| c == comment && t == target) {
            return Err(format!(
                "a fix would remove or move the suppression <!--{comment}-->; nothing was written"
            ));
        }
    }
    Ok(())
}

/// Insert `<!-- virt-lint: ignore RULES -->` above the element of every finding, indented
/// like that element. Returns the new text and how many comments were added.
pub fn add_ignores(doc: &Document<'_>, findings: &[Finding]) -> (String, usize) {
    let text = doc.text;
    // The element each finding belongs to: the innermost one containing its start.
    let mut per_element: Vec<(usize, Vec<String>)> = Vec::new();
    for f in findings {
        if is_meta(&f.rule_id) {
            continue;
        }
        let element = doc
            .tree
            .descendants()
            .rfind(|n| n.is_element() && n.range().contains(&f.range.start))
            .unwrap_or_else(|| doc.root());
        let at = element.range().start;
        match per_element.iter_mut().find(|(s, _)| *s == at) {
            Some((_, ids)) if !ids.contains(&f.rule_id) => ids.push(f.rule_id.clone()),
            Some(_) => {}
            None => per_element.push((at, vec![f.rule_id.clone()])),
        }
    }
    per_element.sort_by_key(|(at, _)| *at);
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::with_capacity(text.len() + per_element.len() * 64);
    let mut last = 0;
    for (at, ids) in &per_element {
        let line_start = text[..*at].rfind('\n').map_or(0, |i| i + 1);
        let before = &text[line_start..*at];
        let comment = format!("<!-- virt-lint: ignore {} -->", ids.join(", "));
        out.push_str(&text[last..*at]);
        if before.chars().all(|c| c == ' ' || c == '\t') {
            // Alone on its line: the comment gets a line of its own, same indentation.
            out.push_str(&comment);
            out.push_str(newline);
            out.push_str(before);
        } else {
            out.push_str(&comment);
        }
        last = *at;
    }
    out.push_str(&text[last..]);
    (out, per_element.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::rules::load_builtin;

    fn rules() -> RuleSet {
        let mut set = load_builtin().unwrap();
        set.extend(meta_rules());
        set
    }

    const WIN10: &str = "<domain type='kvm'>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features>
    <hyperv mode='custom'>
      <relaxed state='on'/>
    </hyperv>
  </features>
  <clock offset='localtime'>
    <!-- virt-lint: ignore windows/hpet-disabled-without-stimer - vendor image needs it -->
    <timer name='hpet' present='no'/>
    <timer name='hypervclock' present='yes'/>
  </clock>
  <metadata><libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'><libosinfo:os id='http://microsoft.com/win/10'/></libosinfo:libosinfo></metadata>
</domain>
";

    fn run(text: &str, options: Options) -> Vec<(String, String, usize)> {
        let set = rules();
        let infos: Vec<RuleInfo<'_>> = set.rules.iter().map(RuleInfo::of).collect();
        let doc = Document::parse(text).unwrap();
        let findings = engine::lint(&doc, &set);
        apply(&doc, &set, &infos, findings, options)
            .into_iter()
            .map(|f| (f.rule_id, f.message, f.position.line))
            .collect()
    }

    #[test]
    fn split_reason_needs_a_lone_dash() {
        assert_eq!(split_reason(" a/b-c, d/e "), (" a/b-c, d/e ", None));
        assert_eq!(
            split_reason(" a/b-c - because - really "),
            (" a/b-c ", Some("because - really".to_string()))
        );
        assert_eq!(split_reason(" a/b -"), (" a/b ", None));
    }

    #[test]
    fn a_suppression_silences_its_element_only() {
        let plain = run(&WIN10.replace("<!-- virt-lint: ignore windows/hpet-disabled-without-stimer - vendor image needs it -->\n", ""), Options::default());
        assert!(
            plain
                .iter()
                .any(|f| f.0 == "windows/hpet-disabled-without-stimer"),
            "{plain:?}"
        );
        let suppressed = run(WIN10, Options::default());
        assert!(
            !suppressed
                .iter()
                .any(|f| f.0 == "windows/hpet-disabled-without-stimer"),
            "{suppressed:?}"
        );
        assert_eq!(suppressed.len(), plain.len() - 1, "{suppressed:?}");
        let off = run(
            WIN10,
            Options {
                disabled: true,
                ..Options::default()
            },
        );
        let ids = |v: &[(String, String, usize)]| -> Vec<String> {
            v.iter().map(|f| f.0.clone()).collect()
        };
        assert_eq!(ids(&off), ids(&plain));
    }

    #[test]
    fn unused_invalid_and_reasonless_directives_are_reported() {
        let text = WIN10
            .replace(
                "<timer name='hypervclock' present='yes'/>",
                "<!-- virt-lint: ignore hyperv/synic-requires-vpindex -->\n    <timer name='hypervclock' present='yes'/>\n    <!-- virt-lint: ignore windows/hpet-disabld-without-stimer -->\n    <!-- virt-lint: ignor windows/ -->\n    <!-- virt-lint: ignore windows/ because -->\n    <!-- virt-lint: ignore -->",
            )
            .replace("<domain", "<!-- virt-lint: ignore-file hyperv/ -->\n<domain");
        let got = run(
            &text,
            Options {
                require_reason: true,
                ..Options::default()
            },
        );
        let expected = vec![
            (INVALID.to_string(), "this suppression gives no reason (--require-reason); add one after ` - `".to_string(), 1),
            (UNUSED.to_string(), "unused suppression: `hyperv/` reports nothing in this file".to_string(), 1),
            (UNUSED.to_string(), "unused suppression: `hyperv/synic-requires-vpindex` reports nothing in the next element".to_string(), 12),
            (INVALID.to_string(), "this suppression gives no reason (--require-reason); add one after ` - `".to_string(), 12),
            (INVALID.to_string(), "unknown rule, group or tag `windows/hpet-disabld-without-stimer`; did you mean `windows/hpet-disabled-without-stimer`?".to_string(), 14),
            (INVALID.to_string(), "unknown directive `ignor`; did you mean `ignore`?".to_string(), 15),
            (INVALID.to_string(), "unexpected `windows/ because`: separate rules with `,` and put the reason after ` - `".to_string(), 16),
            (INVALID.to_string(), "`ignore` needs a rule id, group or tag (rules are separated by `,`; a reason follows ` - `)".to_string(), 17),
        ];
        // Sorting is by position, then rule id: compare as sets of lines for clarity. The
        // rules' own findings on this guest are not the subject here.
        let mut got_sorted = got.clone();
        got_sorted.retain(|g| g.0.starts_with("virt-lint/"));
        got_sorted.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
        let mut expected_sorted = expected;
        expected_sorted.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
        assert_eq!(got_sorted, expected_sorted);
    }

    #[test]
    fn add_ignores_writes_indented_comments_that_silence_everything() {
        let text = WIN10.replace(
            "    <!-- virt-lint: ignore windows/hpet-disabled-without-stimer - vendor image needs it -->\n",
            "",
        );
        let set = rules();
        let doc = Document::parse(&text).unwrap();
        let findings = engine::lint(&doc, &set);
        assert!(!findings.is_empty());
        let (new, added) = add_ignores(&doc, &findings);
        assert_eq!(added, findings.len());
        assert!(
            new.contains("  <clock offset='localtime'>\n    <!-- virt-lint: ignore windows/hpet-disabled-without-stimer -->\n    <timer name='hpet' present='no'/>"),
            "{new}"
        );
        assert!(run(&new, Options::default()).is_empty());
        // Only insertions: removing the added lines gives the original back.
        let stripped: String = new
            .lines()
            .filter(|l| !l.trim_start().starts_with("<!-- virt-lint: ignore"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(stripped, text);
    }

    #[test]
    fn moving_a_directive_is_detected() {
        let before = Document::parse(WIN10).unwrap();
        let moved_text = WIN10.replace(
            "vendor image needs it -->\n",
            "vendor image needs it -->\n    <timer name='rtc' tickpolicy='catchup'/>\n",
        );
        let moved = Document::parse(&moved_text).unwrap();
        assert!(
            check_preserved(&before, &moved)
                .unwrap_err()
                .contains("remove or move")
        );
        let same = Document::parse(WIN10).unwrap();
        assert!(check_preserved(&before, &same).is_ok());
    }
}
