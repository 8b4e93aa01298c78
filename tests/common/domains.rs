//! The generator of the fixer's property tests (`tests/fix_properties.rs`), shared with
//! the mutation tests (`tests/mutations.rs`): domain XML in random styles (indent unit,
//! quote character, line ending, declaration, final newline, comments) with random
//! Hyper-V / clock content, so that every built-in fix is exercised.
#![allow(dead_code)]

use std::fmt;

use proptest::prelude::*;
use proptest::sample::select;

// ---------------------------------------------------------------------------------------
// The generated document model
// ---------------------------------------------------------------------------------------

/// Where a comment sits in its parent element.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// On its own line before the first child.
    First,
    /// On its own line after the last child.
    Last,
    /// On the start tag's line, right after it.
    AfterStartTag,
    /// On the last child's line, right after it.
    AfterLastChild,
}

#[derive(Debug, Clone)]
struct Comment {
    text: &'static str,
    place: Place,
}

/// How an element without children (and without a comment) is written.
#[derive(Debug, Clone, Copy)]
enum Empty {
    /// `<x/>`
    SelfClosing,
    /// `<x />`
    SelfClosingSpace,
    /// `<x></x>`
    Pair,
    /// `<x>` and `</x>` on two lines.
    Lines,
}

#[derive(Debug, Clone)]
struct Feature {
    name: &'static str,
    /// `None`: no `state` attribute (only generated for `<stimer>`).
    state: Option<bool>,
    /// `<direct state=.../>` inside `<stimer>`.
    direct: Option<bool>,
}

#[derive(Debug, Clone)]
struct Hyperv {
    mode: Option<&'static str>,
    /// All children on the `<hyperv>` line.
    inline: bool,
    children: Vec<Feature>,
    empty: Empty,
}

#[derive(Debug, Clone)]
struct Features {
    /// All children on the `<features>` line (as virt-manager's `<features><acpi/><apic/>`
    /// hand-edits have it).
    inline: bool,
    acpi: bool,
    hyperv: Option<Hyperv>,
    vmport: bool,
    empty: Empty,
}

#[derive(Debug, Clone)]
struct Timer {
    name: &'static str,
    /// For hpet/hypervclock: `present='yes'|'no'`, or no attribute.
    present: Option<bool>,
}

#[derive(Debug, Clone)]
struct Clock {
    inline: bool,
    offset: &'static str,
    timers: Vec<Timer>,
    empty: Empty,
}

#[derive(Debug, Clone)]
struct Domain {
    unit: &'static str,
    quote: char,
    crlf: bool,
    declaration: bool,
    final_newline: bool,
    windows_metadata: bool,
    arch: Option<&'static str>,
    features: Option<Features>,
    clock: Option<Clock>,
    comment_before_root: Option<&'static str>,
    comment_features: Option<Comment>,
    comment_hyperv: Option<Comment>,
    comment_clock: Option<Comment>,
    comment_devices: Option<Comment>,
}

/// A generated document and the style it was written in.
#[derive(Clone)]
pub struct Case {
    pub text: String,
    pub unit: &'static str,
    pub quote: char,
    pub crlf: bool,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Case {{ unit: {:?}, quote: {:?}, crlf: {} }}",
            self.unit, self.quote, self.crlf
        )?;
        writeln!(f, "exact: {:?}", self.text)?;
        write!(f, "--- readable\n{}\n---", self.text.replace('\r', "␍"))
    }
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

/// One child element as lines: (depth relative to the child, content).
type Lines = Vec<(usize, String)>;

struct Out {
    text: String,
    unit: &'static str,
    eol: &'static str,
}

impl Out {
    fn line(&mut self, depth: usize, content: &str) {
        for _ in 0..depth {
            self.text.push_str(self.unit);
        }
        self.text.push_str(content);
        self.text.push_str(self.eol);
    }

    fn lines(&mut self, depth: usize, lines: &[(usize, String)]) {
        for (rel, content) in lines {
            self.line(depth + rel, content);
        }
    }
}

/// `<start>children</name>` as lines, with an optional comment.
fn element(
    start: &str,
    name: &str,
    children: &[Lines],
    comment: Option<&Comment>,
    empty: Empty,
    inline: bool,
) -> Lines {
    if children.is_empty() && comment.is_none() {
        return match empty {
            Empty::SelfClosing => vec![(0, format!("<{start}/>"))],
            Empty::SelfClosingSpace => vec![(0, format!("<{start} />"))],
            Empty::Pair => vec![(0, format!("<{start}></{name}>"))],
            Empty::Lines => vec![(0, format!("<{start}>")), (0, format!("</{name}>"))],
        };
    }
    let text = comment
        .map(|c| format!("<!--{}-->", c.text))
        .unwrap_or_default();
    let place = comment.map(|c| match c.place {
        Place::AfterLastChild if children.is_empty() => Place::First,
        p => p,
    });
    if inline {
        let mut s = format!("<{start}>");
        if matches!(place, Some(Place::First | Place::AfterStartTag)) {
            s.push_str(&text);
        }
        for child in children {
            for (_, content) in child {
                s.push_str(content);
            }
        }
        if matches!(place, Some(Place::Last | Place::AfterLastChild)) {
            s.push_str(&text);
        }
        s.push_str(&format!("</{name}>"));
        return vec![(0, s)];
    }
    let mut lines = vec![(0, format!("<{start}>"))];
    if matches!(place, Some(Place::AfterStartTag)) {
        lines[0].1.push(' ');
        lines[0].1.push_str(&text);
    }
    if matches!(place, Some(Place::First)) {
        lines.push((1, text.clone()));
    }
    for child in children {
        lines.extend(
            child
                .iter()
                .map(|(rel, content)| (rel + 1, content.clone())),
        );
    }
    if matches!(place, Some(Place::AfterLastChild)) {
        let last = lines.last_mut().expect("a child");
        last.1.push(' ');
        last.1.push_str(&text);
    }
    if matches!(place, Some(Place::Last)) {
        lines.push((1, text));
    }
    lines.push((0, format!("</{name}>")));
    lines
}

fn on(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn feature_lines(f: &Feature) -> Lines {
    let state = f
        .state
        .map(|s| format!(" state='{}'", on(s)))
        .unwrap_or_default();
    match f.direct {
        Some(d) => vec![
            (0, format!("<{}{state}>", f.name)),
            (1, format!("<direct state='{}'/>", on(d))),
            (0, format!("</{}>", f.name)),
        ],
        None => vec![(0, format!("<{}{state}/>", f.name))],
    }
}

fn timer_lines(t: &Timer) -> Lines {
    let extra = match t.name {
        "rtc" => " tickpolicy='catchup'".to_string(),
        "pit" => " tickpolicy='delay'".to_string(),
        _ => t
            .present
            .map(|p| format!(" present='{}'", yes(p)))
            .unwrap_or_default(),
    };
    vec![(0, format!("<timer name='{}'{extra}/>", t.name))]
}

impl Domain {
    fn render(&self) -> Case {
        let eol = if self.crlf { "\r\n" } else { "\n" };
        let mut out = Out {
            text: String::new(),
            unit: self.unit,
            eol,
        };
        if self.declaration {
            out.line(0, "<?xml version='1.0' encoding='UTF-8'?>");
        }
        if let Some(text) = self.comment_before_root {
            out.line(0, &format!("<!--{text}-->"));
        }
        out.line(0, "<domain type='kvm'>");
        out.line(1, "<name>guest</name>");
        if self.windows_metadata {
            out.line(1, "<metadata>");
            out.line(
                2,
                "<libosinfo:libosinfo xmlns:libosinfo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>",
            );
            out.line(3, "<libosinfo:os id='http://microsoft.com/win/10'/>");
            out.line(2, "</libosinfo:libosinfo>");
            out.line(1, "</metadata>");
        }
        out.line(1, "<memory unit='KiB'>4194304</memory>");
        out.line(1, "<vcpu placement='static'>2</vcpu>");
        out.line(1, "<os>");
        match self.arch {
            Some(arch) => out.line(2, &format!("<type arch='{arch}' machine='q35'>hvm</type>")),
            None => out.line(2, "<type>hvm</type>"),
        }
        out.line(1, "</os>");
        if let Some(features) = &self.features {
            let mut children: Vec<Lines> = Vec::new();
            if features.acpi {
                children.push(vec![(0, "<acpi/>".into())]);
                children.push(vec![(0, "<apic/>".into())]);
            }
            if let Some(hyperv) = &features.hyperv {
                let start = match hyperv.mode {
                    Some(mode) => format!("hyperv mode='{mode}'"),
                    None => "hyperv".into(),
                };
                let grandchildren: Vec<Lines> = hyperv.children.iter().map(feature_lines).collect();
                children.push(element(
                    &start,
                    "hyperv",
                    &grandchildren,
                    self.comment_hyperv.as_ref(),
                    hyperv.empty,
                    hyperv.inline,
                ));
            }
            if features.vmport {
                children.push(vec![(0, "<vmport state='off'/>".into())]);
            }
            out.lines(
                1,
                &element(
                    "features",
                    "features",
                    &children,
                    self.comment_features.as_ref(),
                    features.empty,
                    features.inline,
                ),
            );
        }
        if let Some(clock) = &self.clock {
            let children: Vec<Lines> = clock.timers.iter().map(timer_lines).collect();
            out.lines(
                1,
                &element(
                    &format!("clock offset='{}'", clock.offset),
                    "clock",
                    &children,
                    self.comment_clock.as_ref(),
                    clock.empty,
                    clock.inline,
                ),
            );
        }
        let emulator = vec![(
            0,
            "<emulator>/usr/bin/qemu-system-x86_64</emulator>".to_string(),
        )];
        out.lines(
            1,
            &element(
                "devices",
                "devices",
                &[emulator],
                self.comment_devices.as_ref(),
                Empty::Lines,
                false,
            ),
        );
        out.line(0, "</domain>");
        let mut text = out.text;
        if !self.final_newline {
            text.truncate(text.len() - eol.len());
        }
        if self.quote == '"' {
            // No comment text contains a quote, so this only touches attribute values.
            text = text.replace('\'', "\"");
        }
        Case {
            text,
            unit: self.unit,
            quote: self.quote,
            crlf: self.crlf,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Comment texts: no quotes (so the quote checks stay simple), some markup-looking.
const COMMENT_TEXTS: &[&str] = &[
    " keep me ",
    " hyperv tuned for win10 ",
    " <hyperv/> ",
    " a > b ",
    "x",
    " </clock> ",
    " -x- ",
    " TODO: synic/stimer ",
];

fn comment_text() -> impl Strategy<Value = &'static str> {
    select(COMMENT_TEXTS)
}

fn comment() -> impl Strategy<Value = Option<Comment>> {
    let place = prop_oneof![
        Just(Place::First),
        Just(Place::Last),
        Just(Place::AfterStartTag),
        Just(Place::AfterLastChild),
    ];
    proptest::option::of((comment_text(), place).prop_map(|(text, place)| Comment { text, place }))
}

fn empty() -> impl Strategy<Value = Empty> {
    prop_oneof![
        Just(Empty::SelfClosing),
        Just(Empty::SelfClosingSpace),
        Just(Empty::Pair),
        Just(Empty::Lines)
    ]
}

fn simple_feature(name: &'static str) -> impl Strategy<Value = Option<Feature>> {
    proptest::option::of(any::<bool>()).prop_map(move |state| {
        state.map(|s| Feature {
            name,
            state: Some(s),
            direct: None,
        })
    })
}

fn stimer() -> impl Strategy<Value = Option<Feature>> {
    proptest::option::weighted(
        0.7,
        (
            proptest::option::weighted(0.6, any::<bool>()),
            proptest::option::weighted(0.6, proptest::bool::weighted(0.7)),
        ),
    )
    .prop_map(|s| {
        s.map(|(state, direct)| Feature {
            name: "stimer",
            state,
            direct,
        })
    })
}

fn hyperv_children() -> impl Strategy<Value = Vec<Feature>> {
    (
        simple_feature("relaxed"),
        simple_feature("vapic"),
        simple_feature("vpindex"),
        simple_feature("synic"),
        stimer(),
        simple_feature("tlbflush"),
        simple_feature("ipi"),
        simple_feature("evmcs"),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| {
            [a, b, c, d, e, f, g, h]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
}

fn hyperv() -> impl Strategy<Value = Hyperv> {
    let mode = prop_oneof![
        4 => Just(None),
        4 => Just(Some("custom")),
        1 => Just(Some("passthrough")),
    ];
    (
        mode,
        proptest::bool::weighted(0.2),
        hyperv_children(),
        empty(),
    )
        .prop_map(|(mode, inline, children, empty)| Hyperv {
            mode,
            inline,
            children,
            empty,
        })
}

fn features() -> impl Strategy<Value = Features> {
    (
        proptest::bool::weighted(0.15),
        any::<bool>(),
        proptest::option::weighted(0.85, hyperv()),
        proptest::bool::weighted(0.3),
        empty(),
    )
        .prop_map(|(inline, acpi, hyperv, vmport, empty)| Features {
            inline,
            acpi,
            hyperv,
            vmport,
            empty,
        })
}

fn clock() -> impl Strategy<Value = Clock> {
    let timer_present = proptest::option::weighted(0.85, any::<bool>());
    (
        proptest::bool::weighted(0.15),
        select(&["utc", "localtime"][..]),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(timer_present.clone()),
        proptest::option::of(timer_present),
        empty(),
    )
        .prop_flat_map(|(inline, offset, rtc, pit, hpet, hypervclock, empty)| {
            let mut timers = Vec::new();
            if rtc {
                timers.push(Timer {
                    name: "rtc",
                    present: None,
                });
            }
            if pit {
                timers.push(Timer {
                    name: "pit",
                    present: None,
                });
            }
            if let Some(present) = hpet {
                timers.push(Timer {
                    name: "hpet",
                    present,
                });
            }
            if let Some(present) = hypervclock {
                timers.push(Timer {
                    name: "hypervclock",
                    present,
                });
            }
            Just(timers).prop_shuffle().prop_map(move |timers| Clock {
                inline,
                offset,
                timers,
                empty,
            })
        })
}

fn domain() -> impl Strategy<Value = Domain> {
    let style = (
        select(&["  ", "    ", "\t"][..]),
        select(&['\'', '"'][..]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    );
    let content = (
        any::<bool>(),
        prop_oneof![
            4 => Just(Some("x86_64")),
            2 => Just(None),
            1 => Just(Some("aarch64")),
        ],
        proptest::option::weighted(0.85, features()),
        proptest::option::weighted(0.75, clock()),
    );
    let comments = (
        proptest::option::weighted(0.3, comment_text()),
        comment(),
        comment(),
        comment(),
        comment(),
    );
    (style, content, comments).prop_map(
        |(
            (unit, quote, crlf, declaration, final_newline),
            (windows_metadata, arch, features, clock),
            (comment_before_root, comment_features, comment_hyperv, comment_clock, comment_devices),
        )| Domain {
            unit,
            quote,
            crlf,
            declaration,
            final_newline,
            windows_metadata,
            arch,
            features,
            clock,
            comment_before_root,
            comment_features,
            comment_hyperv,
            comment_clock,
            comment_devices,
        },
    )
}

/// The generator: a domain document in a random style, with random fixable violations.
pub fn case() -> impl Strategy<Value = Case> {
    domain().prop_map(|d| d.render())
}
