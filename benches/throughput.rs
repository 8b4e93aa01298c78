//! Throughput benchmark: parse-only versus full lint over generated domain XML.
//!
//! Run with `cargo bench --bench throughput`. Environment:
//!
//! - `VIRT_LINT_BENCH_FILES`: how many documents to generate (default 2000);
//! - `VIRT_LINT_BENCH_ROUNDS`: timed rounds per measurement (default 5, after 1 warm-up);
//! - `VIRT_LINT_BENCH_PER_RULE=0`: skip timing each rule alone (for profilers);
//! - `VIRT_LINT_BENCH_SHOW_RULES`: how many of the costliest rules to list (default 15).
//! - `VIRT_LINT_BENCH_ONLY_RULE=ID` (or `none`): no timing; parse and lint the corpus once
//!   with only that rule enabled (or none, or `all` of them), for an instruction count under
//!   `valgrind --tool=callgrind`: a rule's cost is its count less the count with `none`,
//!   steadier than times on a busy machine.
//!
//! The documents are virsh-style (`virsh dumpxml`) q35 x86_64 KVM guests of roughly
//! 4–6 KB, generated deterministically from their index: about 40 % Windows guests
//! (libosinfo metadata, Hyper-V enlightenments, HPET/hypervclock timers) in several
//! configurations, some of which the built-in rules flag, and 60 % Linux guests.
//!
//! Each round runs the three measurements back to back (parse only, lint on one thread,
//! lint on rayon's pool as the CLI does) so that clock-speed drift affects them alike;
//! the table reports the median round of each.

use std::hint::black_box;
use std::time::Duration;

use rayon::prelude::*;
use virt_lint::document::Document;
use virt_lint::engine;
use virt_lint::rules::{self, RuleSet};

const DEFAULT_FILES: usize = 2000;
const DEFAULT_ROUNDS: usize = 5;
const WARM_UP_ROUNDS: usize = 1;
/// The project's aim for the cost of linting relative to parsing alone.
const TARGET_RATIO: f64 = 1.5;

#[path = "common/mod.rs"]
mod common;
use common::{env_count, mix, timed};

fn main() {
    // `cargo bench` passes `--bench` (and any filter); this harness takes no arguments.
    let files = env_count("VIRT_LINT_BENCH_FILES", DEFAULT_FILES);
    let rounds = env_count("VIRT_LINT_BENCH_ROUNDS", DEFAULT_ROUNDS);

    let corpus: Vec<String> = (0..files).map(domain_xml).collect();
    let windows = (0..files).filter(|&i| is_windows(i)).count();
    let bytes: usize = corpus.iter().map(String::len).sum();
    let (smallest, largest) = corpus
        .iter()
        .map(String::len)
        .fold((usize::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));

    let mut rules = rules::load_builtin().expect("the built-in rules load");
    if std::env::var("VIRT_LINT_BENCH_EACH_RULE").as_deref() == Ok("1") {
        each_rule_under_callgrind(&corpus, &rules);
        return;
    }
    if let Ok(only) = std::env::var("VIRT_LINT_BENCH_ONLY_RULE") {
        if only != "all" {
            rules.select(|rule, _| rule.id == only);
        }
        assert!(
            only == "none" || only == "all" || rules.enabled().count() == 1,
            "VIRT_LINT_BENCH_ONLY_RULE: no rule {only}"
        );
        let findings = lint_all(&corpus, &rules);
        println!("{only}: {findings} findings in {files} files");
        return;
    }

    // One untimed pass: every document must parse and be a domain, and the findings
    // are tallied per rule to show that the rules ran.
    let mut per_rule = vec![0usize; rules.rules.len()];
    let mut files_with_findings = 0;
    for (i, text) in corpus.iter().enumerate() {
        let doc = Document::parse(text)
            .unwrap_or_else(|e| panic!("generated document {i} does not parse: {e}"));
        assert!(
            engine::is_domain(&doc),
            "generated document {i} is not a domain"
        );
        let findings = engine::lint(&doc, &rules);
        files_with_findings += usize::from(!findings.is_empty());
        for finding in &findings {
            per_rule[finding.rule] += 1;
        }
    }
    let expected_findings: usize = per_rule.iter().sum();

    let threads = rayon::current_num_threads();
    let mut parse_times = Vec::with_capacity(rounds);
    let mut round_ratios = Vec::with_capacity(rounds);
    let mut lint_times = Vec::with_capacity(rounds);
    let mut par_times = Vec::with_capacity(rounds);
    for round in 0..WARM_UP_ROUNDS + rounds {
        let (t_parse, parsed) = timed(|| parse_all(&corpus));
        let (t_lint, findings) = timed(|| lint_all(&corpus, &rules));
        let (t_par, par_findings) = timed(|| lint_all_parallel(&corpus, &rules));
        assert_eq!(parsed, files);
        assert_eq!(
            findings, expected_findings,
            "single-threaded lint findings changed"
        );
        assert_eq!(
            par_findings, expected_findings,
            "parallel lint findings changed"
        );
        if round >= WARM_UP_ROUNDS {
            parse_times.push(t_parse);
            lint_times.push(t_lint);
            round_ratios.push(t_lint.as_secs_f64() / t_parse.as_secs_f64());
            par_times.push(t_par);
        }
    }
    round_ratios.sort_by(f64::total_cmp);
    let parse = Stats::new(&mut parse_times);
    let lint = Stats::new(&mut lint_times);
    let par = Stats::new(&mut par_times);

    let mb = bytes as f64 / 1e6;
    println!("virt-lint throughput (cargo bench --bench throughput)");
    println!();
    println!(
        "corpus:  {files} generated domain XML files ({windows} Windows, {} Linux), {mb:.2} MB, {:.1}-{:.1} KB each",
        files - windows,
        smallest as f64 / 1e3,
        largest as f64 / 1e3,
    );
    println!("rules:   {} built-in", rules.rules.len());
    println!(
        "timing:  median of {rounds} rounds after {WARM_UP_ROUNDS} warm-up; MB = 10^6 bytes; spread = (max - min) / median"
    );
    println!();
    println!("| measurement          | threads |   median |    files/s |     MB/s | spread |");
    println!("|----------------------|--------:|---------:|-----------:|---------:|-------:|");
    for (name, threads, stats) in [
        ("parse only", 1, &parse),
        ("lint (parse + rules)", 1, &lint),
        ("lint (rayon)", threads, &par),
    ] {
        let secs = stats.median.as_secs_f64();
        println!(
            "| {name:<20} | {threads:>7} | {:>5.1} ms | {:>10.0} | {:>8.1} | {:>5.1}% |",
            secs * 1e3,
            files as f64 / secs,
            mb / secs,
            stats.spread() * 100.0,
        );
    }
    println!();
    let ratio = lint.median.as_secs_f64() / parse.median.as_secs_f64();
    println!(
        "lint/parse (1 thread):  {ratio:.2}x (aim <= {TARGET_RATIO:.1}x: {})",
        if ratio <= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  each round's ratio:   median {:.2}x, {:.2}x-{:.2}x (drift in clock speed cancels out)",
        round_ratios[round_ratios.len() / 2],
        round_ratios[0],
        round_ratios[round_ratios.len() - 1],
    );
    println!(
        "rayon speed-up:         {:.2}x on {threads} threads",
        lint.median.as_secs_f64() / par.median.as_secs_f64()
    );
    println!(
        "findings per lint pass: {expected_findings} in {files_with_findings} of {files} files"
    );
    for (rule, count) in rules.rules.iter().zip(&per_rule) {
        println!("  {count:>7}  {}", rule.id);
    }
    if std::env::var("VIRT_LINT_BENCH_PER_RULE").as_deref() != Ok("0") {
        print_costliest_rules(&corpus, &rules);
    }
}

/// Each enabled rule alone over the parsed corpus, the costliest first: where to look
/// when linting grows dearer than parsing. A rule's cost is the best of a few runs with
/// only that rule enabled, less the best run with no rule enabled (what every lint pays
/// whatever its rules: the prefilter scan and the element index).
fn print_costliest_rules(corpus: &[String], rules: &RuleSet) {
    const REPEATS: usize = 3;
    let docs: Vec<Document> = corpus
        .iter()
        .map(|t| Document::parse(t).expect("parses"))
        .collect();
    let best = |set: &RuleSet| {
        (0..REPEATS)
            .map(|_| {
                timed(|| {
                    docs.iter()
                        .map(|d| engine::lint(d, set).len())
                        .sum::<usize>()
                })
                .0
            })
            .min()
            .unwrap_or_default()
    };
    let mut none = rules.clone();
    none.select(|_, _| false);
    let base = best(&none);
    let mut costs: Vec<(Duration, &str)> = Vec::new();
    for (index, rule) in rules.enabled() {
        let mut one = rules.clone();
        one.select(|r, _| r.id == rules.rules[index].id);
        assert_eq!(one.enabled().count(), 1, "{} alone", rule.id);
        costs.push((best(&one).saturating_sub(base), rule.id.as_str()));
    }
    costs.sort_unstable_by(|a, b| b.cmp(a));
    let total: Duration = costs.iter().map(|(t, _)| *t).sum();
    println!();
    println!(
        "per-document overhead with no rule enabled: {:.1} ms over the corpus",
        base.as_secs_f64() * 1e3
    );
    println!(
        "rule evaluation, each rule alone over the parsed corpus (best of {REPEATS}, less that overhead; a rule alone also pays for the prefilter facts it asks for, which rules run together share): {:.1} ms in all; the costliest:",
        total.as_secs_f64() * 1e3
    );
    let shown = std::env::var("VIRT_LINT_BENCH_SHOW_RULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    for (t, id) in costs.iter().take(shown) {
        println!("  {:>8.2} ms  {id}", t.as_secs_f64() * 1e3);
    }
}

/// `VIRT_LINT_BENCH_EACH_RULE=1`: the parsed corpus linted with no rule, then with each
/// rule alone, each pass preceded by a call to [`pass_boundary`]. Under
/// `valgrind --tool=callgrind --dump-before='*pass_boundary*'` every pass is then a
/// profile part of its own (part 2 is no rule, part 3 the first rule listed, ...), so
/// one run gives every rule's instruction count: `scripts/rule-costs.sh` does this.
fn each_rule_under_callgrind(corpus: &[String], rules: &RuleSet) {
    let docs: Vec<Document> = corpus
        .iter()
        .map(|t| Document::parse(t).expect("parses"))
        .collect();
    let mut passes: Vec<(String, RuleSet)> = Vec::new();
    let mut none = rules.clone();
    none.select(|_, _| false);
    passes.push(("(no rule)".to_owned(), none));
    for (_, rule) in rules.enabled() {
        let mut one = rules.clone();
        one.select(|r, _| r.id == rule.id);
        passes.push((rule.id.clone(), one));
    }
    // Warm up what is remembered from one document to the next (regex answers), so that
    // the first pass does not pay for it alone.
    let warm: usize = docs.iter().map(|d| engine::lint(d, rules).len()).sum();
    black_box(warm);
    for (id, set) in &passes {
        pass_boundary(id);
        let findings: usize = docs.iter().map(|d| engine::lint(d, set).len()).sum();
        black_box(findings);
    }
    pass_boundary("(end)");
    for (id, _) in &passes {
        println!("pass {id}");
    }
}

/// Marks the start of a pass for callgrind (see [`each_rule_under_callgrind`]).
#[inline(never)]
fn pass_boundary(id: &str) {
    black_box(id);
}

/// Parse every document; the number parsed.
fn parse_all(corpus: &[String]) -> usize {
    corpus
        .iter()
        .map(|text| {
            let doc = Document::parse(black_box(text)).expect("parses");
            drop(black_box(doc));
            1
        })
        .sum()
}

/// What the CLI does per file once the text is read: parse, check the root, lint.
fn lint_one(text: &str, rules: &RuleSet) -> usize {
    let doc = Document::parse(black_box(text)).expect("parses");
    if !engine::is_domain(&doc) {
        return 0;
    }
    engine::lint(&doc, rules).len()
}

/// Lint every document on this thread; the number of findings.
fn lint_all(corpus: &[String], rules: &RuleSet) -> usize {
    corpus.iter().map(|text| lint_one(text, rules)).sum()
}

/// Lint every document on rayon's global pool, as `virt-lint check` does.
fn lint_all_parallel(corpus: &[String], rules: &RuleSet) -> usize {
    corpus.par_iter().map(|text| lint_one(text, rules)).sum()
}

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn new(times: &mut [Duration]) -> Stats {
        times.sort_unstable();
        let n = times.len();
        let median = if n % 2 == 1 {
            times[n / 2]
        } else {
            (times[n / 2 - 1] + times[n / 2]) / 2
        };
        Stats {
            median,
            min: times[0],
            max: times[n - 1],
        }
    }

    fn spread(&self) -> f64 {
        (self.max - self.min).as_secs_f64() / self.median.as_secs_f64()
    }
}

// ---------------------------------------------------------------------------------------
// Corpus generation

/// Two guests in five are Windows.
fn is_windows(i: usize) -> bool {
    matches!(i % 5, 1 | 3)
}

/// The Hyper-V configurations Windows guests come with, and what they trigger.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hyperv {
    /// What virt-manager writes since 2024: the full set with stimer. Clean.
    Modern,
    /// Older virt-manager: relaxed, vapic, spinlocks, with HPET off
    /// (windows/hpet-disabled-without-stimer).
    Legacy,
    /// Legacy, and the hypervclock timer was never added (also windows/hypervclock-missing).
    LegacyNoClock,
    /// stimer added by hand without what it needs (hyperv/stimer-requires-synic, and
    /// -hypervclock or -direct-requires-stimer in some).
    StimerOnly,
    /// synic, tlbflush and ipi without vpindex (hyperv/*-requires-vpindex).
    NoVpindex,
    /// Nested virtualisation: evmcs without vapic (hyperv/evmcs-requires-vapic).
    Nested,
    /// `<hyperv mode='passthrough'/>`. Clean.
    Passthrough,
}

impl Hyperv {
    fn pick(bits: u64) -> Hyperv {
        match bits % 20 {
            0..=7 => Hyperv::Modern,
            8..=11 => Hyperv::Legacy,
            12..=13 => Hyperv::LegacyNoClock,
            14 => Hyperv::StimerOnly,
            15 => Hyperv::NoVpindex,
            16 => Hyperv::Nested,
            _ => Hyperv::Passthrough,
        }
    }
}

struct Os {
    short: &'static str,
    libosinfo: &'static str,
}

const WINDOWS: [Os; 4] = [
    Os {
        short: "win10",
        libosinfo: "http://microsoft.com/win/10",
    },
    Os {
        short: "win11",
        libosinfo: "http://microsoft.com/win/11",
    },
    Os {
        short: "win2k19",
        libosinfo: "http://microsoft.com/win/2k19",
    },
    Os {
        short: "win2k22",
        libosinfo: "http://microsoft.com/win/2k22",
    },
];

const LINUX: [Os; 5] = [
    Os {
        short: "fedora40",
        libosinfo: "http://fedoraproject.org/fedora/40",
    },
    Os {
        short: "ubuntu22.04",
        libosinfo: "http://ubuntu.com/ubuntu/22.04",
    },
    Os {
        short: "debian12",
        libosinfo: "http://debian.org/debian/12",
    },
    Os {
        short: "rhel9.4",
        libosinfo: "http://redhat.com/rhel/9.4",
    },
    Os {
        short: "almalinux9",
        libosinfo: "http://almalinux.org/almalinux/9",
    },
];

const MACHINES: [&str; 4] = ["pc-q35-6.2", "pc-q35-7.2", "pc-q35-8.2", "pc-q35-9.0"];

/// Hands out PCI buses behind pcie-root-ports, as virt-manager does: one root port per
/// device, bus numbers in order.
struct Pci {
    next_bus: u32,
}

impl Pci {
    fn next(&mut self) -> String {
        let bus = self.next_bus;
        self.next_bus += 1;
        format!(
            "<address type='pci' domain='0x0000' bus='0x{bus:02x}' slot='0x00' function='0x0'/>"
        )
    }
}

/// Document `i` of the corpus.
fn domain_xml(i: usize) -> String {
    let h = mix(i as u64);
    let h2 = mix(h);
    let windows = is_windows(i);
    let os = if windows {
        &WINDOWS[(h % 4) as usize]
    } else {
        &LINUX[(h % 5) as usize]
    };
    let hyperv = windows.then(|| Hyperv::pick(h >> 8));
    let memory_kib = 1024 * 1024 * [2u64, 4, 8, 16][((h >> 16) % 4) as usize];
    let vcpus = [2, 4, 8][((h >> 20) % 3) as usize];
    // Desktops (every Windows guest, a third of the Linux ones) get SPICE with its
    // channel and USB redirection; Linux servers get VNC.
    let desktop = windows || (h >> 36).is_multiple_of(3);
    let data_disks = 1 + ((h >> 24) % 2) as usize;
    let machine = MACHINES[((h >> 28) % 4) as usize];
    let second_nic = !windows && (h >> 32).is_multiple_of(4);
    let uuid = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        0x8000 | ((h2 >> 48) & 0x3fff),
        h2 & 0xffff_ffff_ffff,
    );
    let name = format!("{}-{i:05}", os.short);

    let mut x = String::with_capacity(6 * 1024);
    let w = &mut x;
    line(w, 0, "<domain type='kvm'>");
    line(w, 1, &format!("<name>{name}</name>"));
    line(w, 1, &format!("<uuid>{uuid}</uuid>"));
    line(w, 1, "<metadata>");
    line(
        w,
        2,
        "<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">",
    );
    line(w, 3, &format!("<libosinfo:os id=\"{}\"/>", os.libosinfo));
    line(w, 2, "</libosinfo:libosinfo>");
    line(w, 1, "</metadata>");
    line(w, 1, &format!("<memory unit='KiB'>{memory_kib}</memory>"));
    line(
        w,
        1,
        &format!("<currentMemory unit='KiB'>{memory_kib}</currentMemory>"),
    );
    line(w, 1, &format!("<vcpu placement='static'>{vcpus}</vcpu>"));
    line(w, 1, "<os>");
    line(
        w,
        2,
        &format!("<type arch='x86_64' machine='{machine}'>hvm</type>"),
    );
    if windows && (h2 >> 8).is_multiple_of(2) {
        line(
            w,
            2,
            "<loader readonly='yes' secure='yes' type='pflash'>/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd</loader>",
        );
        line(
            w,
            2,
            &format!(
                "<nvram template='/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd'>/var/lib/libvirt/qemu/nvram/{name}_VARS.fd</nvram>"
            ),
        );
    }
    line(w, 2, "<boot dev='hd'/>");
    line(w, 1, "</os>");

    line(w, 1, "<features>");
    line(w, 2, "<acpi/>");
    line(w, 2, "<apic/>");
    if let Some(hv) = hyperv {
        hyperv_features(w, hv, h2);
    }
    line(w, 2, "<vmport state='off'/>");
    if windows && (h2 >> 8).is_multiple_of(2) {
        line(w, 2, "<smm state='on'/>");
    }
    line(w, 1, "</features>");
    line(
        w,
        1,
        "<cpu mode='host-passthrough' check='none' migratable='on'>",
    );
    line(
        w,
        2,
        &format!("<topology sockets='1' dies='1' cores='{vcpus}' threads='1'/>"),
    );
    line(w, 1, "</cpu>");

    // Clock: Windows keeps local time; HPET is mostly off (virt-manager's default),
    // sometimes left out or on.
    line(
        w,
        1,
        if windows {
            "<clock offset='localtime'>"
        } else {
            "<clock offset='utc'>"
        },
    );
    line(w, 2, "<timer name='rtc' tickpolicy='catchup'/>");
    line(w, 2, "<timer name='pit' tickpolicy='delay'/>");
    match (h2 >> 12) % 10 {
        0..=7 => line(w, 2, "<timer name='hpet' present='no'/>"),
        8 => {}
        _ => line(w, 2, "<timer name='hpet' present='yes'/>"),
    }
    let hypervclock = match hyperv {
        Some(Hyperv::LegacyNoClock) => false,
        Some(Hyperv::StimerOnly) => (h2 >> 16).is_multiple_of(2),
        Some(_) => true,
        None => false,
    };
    if hypervclock {
        line(w, 2, "<timer name='hypervclock' present='yes'/>");
    }
    line(w, 1, "</clock>");
    line(w, 1, "<on_poweroff>destroy</on_poweroff>");
    line(w, 1, "<on_reboot>restart</on_reboot>");
    line(w, 1, "<on_crash>destroy</on_crash>");
    line(w, 1, "<pm>");
    line(w, 2, "<suspend-to-mem enabled='no'/>");
    line(w, 2, "<suspend-to-disk enabled='no'/>");
    line(w, 1, "</pm>");

    line(w, 1, "<devices>");
    line(w, 2, "<emulator>/usr/bin/qemu-system-x86_64</emulator>");
    let mut pci = Pci { next_bus: 1 };
    let mut sata_unit = 0;
    for d in 0..data_disks {
        let file = if d == 0 {
            format!("/var/lib/libvirt/images/{name}.qcow2")
        } else {
            format!("/var/lib/libvirt/images/{name}-data{d}.qcow2")
        };
        line(w, 2, "<disk type='file' device='disk'>");
        line(w, 3, "<driver name='qemu' type='qcow2' discard='unmap'/>");
        line(w, 3, &format!("<source file='{file}'/>"));
        if windows {
            line(
                w,
                3,
                &format!("<target dev='sd{}' bus='sata'/>", drive_letter(sata_unit)),
            );
            line(
                w,
                3,
                &format!(
                    "<address type='drive' controller='0' bus='0' target='0' unit='{sata_unit}'/>"
                ),
            );
            sata_unit += 1;
        } else {
            line(
                w,
                3,
                &format!("<target dev='vd{}' bus='virtio'/>", drive_letter(d)),
            );
            line(w, 3, &pci.next());
        }
        line(w, 2, "</disk>");
    }
    // An installation CD-ROM: the virtio drivers for Windows, left empty on half the Linux guests.
    if windows || (h2 >> 24).is_multiple_of(2) {
        line(w, 2, "<disk type='file' device='cdrom'>");
        line(w, 3, "<driver name='qemu' type='raw'/>");
        if windows {
            line(
                w,
                3,
                "<source file='/var/lib/libvirt/images/virtio-win.iso'/>",
            );
        }
        line(
            w,
            3,
            &format!("<target dev='sd{}' bus='sata'/>", drive_letter(sata_unit)),
        );
        line(w, 3, "<readonly/>");
        line(
            w,
            3,
            &format!(
                "<address type='drive' controller='0' bus='0' target='0' unit='{sata_unit}'/>"
            ),
        );
        line(w, 2, "</disk>");
    }

    let nics = if second_nic { 2 } else { 1 };
    let nic_model = if windows { "e1000e" } else { "virtio" };
    let mut devices = Vec::new();
    for n in 0..nics {
        let mut s = String::new();
        let network = if n == 0 { "default" } else { "storage" };
        line(&mut s, 2, "<interface type='network'>");
        line(
            &mut s,
            3,
            &format!(
                "<mac address='52:54:00:{:02x}:{:02x}:{:02x}'/>",
                ((i >> 16) & 0xff) as u8 ^ (n as u8 * 0x80),
                (i >> 8) & 0xff,
                i & 0xff
            ),
        );
        line(&mut s, 3, &format!("<source network='{network}'/>"));
        line(&mut s, 3, &format!("<model type='{nic_model}'/>"));
        line(&mut s, 3, &pci.next());
        line(&mut s, 2, "</interface>");
        devices.push(s);
    }
    let usb_address = pci.next();
    let serial_address = pci.next();

    // Controllers, in libvirt's order.
    line(
        w,
        2,
        "<controller type='usb' index='0' model='qemu-xhci' ports='15'>",
    );
    line(w, 3, &usb_address);
    line(w, 2, "</controller>");
    line(w, 2, "<controller type='pci' index='0' model='pcie-root'/>");
    let balloon_address = pci.next();
    let rng_address = pci.next();
    let root_ports = pci.next_bus - 1;
    for port in 1..=root_ports {
        let slot = 2 + (port - 1) / 8;
        let function = (port - 1) % 8;
        line(
            w,
            2,
            &format!("<controller type='pci' index='{port}' model='pcie-root-port'>"),
        );
        line(w, 3, "<model name='pcie-root-port'/>");
        line(
            w,
            3,
            &format!("<target chassis='{port}' port='0x{:x}'/>", 0x10 + port - 1),
        );
        let multi = if function == 0 {
            " multifunction='on'"
        } else {
            ""
        };
        line(
            w,
            3,
            &format!(
                "<address type='pci' domain='0x0000' bus='0x00' slot='0x{slot:02x}' function='0x{function:x}'{multi}/>"
            ),
        );
        line(w, 2, "</controller>");
    }
    line(w, 2, "<controller type='sata' index='0'>");
    line(
        w,
        3,
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>",
    );
    line(w, 2, "</controller>");
    line(w, 2, "<controller type='virtio-serial' index='0'>");
    line(w, 3, &serial_address);
    line(w, 2, "</controller>");
    for d in &devices {
        w.push_str(d);
    }
    line(w, 2, "<serial type='pty'>");
    line(w, 3, "<target type='isa-serial' port='0'>");
    line(w, 4, "<model name='isa-serial'/>");
    line(w, 3, "</target>");
    line(w, 2, "</serial>");
    line(w, 2, "<console type='pty'>");
    line(w, 3, "<target type='serial' port='0'/>");
    line(w, 2, "</console>");
    if desktop {
        line(w, 2, "<channel type='spicevmc'>");
        line(w, 3, "<target type='virtio' name='com.redhat.spice.0'/>");
        line(
            w,
            3,
            "<address type='virtio-serial' controller='0' bus='0' port='1'/>",
        );
        line(w, 2, "</channel>");
    }
    if !windows {
        line(w, 2, "<channel type='unix'>");
        line(
            w,
            3,
            "<target type='virtio' name='org.qemu.guest_agent.0'/>",
        );
        line(
            w,
            3,
            "<address type='virtio-serial' controller='0' bus='0' port='2'/>",
        );
        line(w, 2, "</channel>");
    }
    line(w, 2, "<input type='tablet' bus='usb'>");
    line(w, 3, "<address type='usb' bus='0' port='1'/>");
    line(w, 2, "</input>");
    line(w, 2, "<input type='mouse' bus='ps2'/>");
    line(w, 2, "<input type='keyboard' bus='ps2'/>");
    if windows && (h2 >> 8).is_multiple_of(2) {
        line(w, 2, "<tpm model='tpm-crb'>");
        line(w, 3, "<backend type='emulator' version='2.0'/>");
        line(w, 2, "</tpm>");
    }
    if desktop {
        line(w, 2, "<graphics type='spice' autoport='yes'>");
        line(w, 3, "<listen type='address'/>");
        line(w, 3, "<image compression='off'/>");
        line(w, 2, "</graphics>");
    } else {
        line(w, 2, "<graphics type='vnc' port='-1' autoport='yes'>");
        line(w, 3, "<listen type='address'/>");
        line(w, 2, "</graphics>");
    }
    if windows {
        line(w, 2, "<sound model='ich9'>");
        line(
            w,
            3,
            "<address type='pci' domain='0x0000' bus='0x00' slot='0x1b' function='0x0'/>",
        );
        line(w, 2, "</sound>");
        line(w, 2, "<audio id='1' type='spice'/>");
    }
    line(w, 2, "<video>");
    if windows {
        line(
            w,
            3,
            "<model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/>",
        );
    } else {
        line(w, 3, "<model type='virtio' heads='1' primary='yes'/>");
    }
    line(
        w,
        3,
        "<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>",
    );
    line(w, 2, "</video>");
    for port in 2..=if desktop { 3 } else { 1 } {
        line(w, 2, "<redirdev bus='usb' type='spicevmc'>");
        line(
            w,
            3,
            &format!("<address type='usb' bus='0' port='{port}'/>"),
        );
        line(w, 2, "</redirdev>");
    }
    if windows && (hyperv == Some(Hyperv::Modern)) && (h2 >> 20).is_multiple_of(2) {
        line(w, 2, "<panic model='hyperv'/>");
    }
    line(w, 2, "<memballoon model='virtio'>");
    line(w, 3, &balloon_address);
    line(w, 2, "</memballoon>");
    line(w, 2, "<rng model='virtio'>");
    line(w, 3, "<backend model='random'>/dev/urandom</backend>");
    line(w, 3, &rng_address);
    line(w, 2, "</rng>");
    line(w, 1, "</devices>");
    line(w, 0, "</domain>");
    x
}

/// The `<hyperv>` element (and `<kvm>` hidden state, which Windows guests often carry).
fn hyperv_features(w: &mut String, hv: Hyperv, bits: u64) {
    if hv == Hyperv::Passthrough {
        line(w, 2, "<hyperv mode='passthrough'/>");
        return;
    }
    let on = |w: &mut String, name: &str| line(w, 3, &format!("<{name} state='on'/>"));
    line(w, 2, "<hyperv mode='custom'>");
    on(w, "relaxed");
    if hv != Hyperv::Nested {
        on(w, "vapic");
    }
    line(w, 3, "<spinlocks state='on' retries='8191'/>");
    match hv {
        Hyperv::Modern | Hyperv::Nested => {
            on(w, "vpindex");
            on(w, "runtime");
            on(w, "synic");
            if (bits >> 24).is_multiple_of(3) {
                line(w, 3, "<stimer state='on'>");
                line(w, 4, "<direct state='on'/>");
                line(w, 3, "</stimer>");
            } else {
                on(w, "stimer");
            }
            on(w, "reset");
            line(w, 3, "<vendor_id state='on' value='KVM Hyper-V'/>");
            on(w, "frequencies");
            on(w, "reenlightenment");
            on(w, "tlbflush");
            on(w, "ipi");
            if hv == Hyperv::Nested {
                on(w, "evmcs");
            }
        }
        Hyperv::StimerOnly => {
            if (bits >> 24).is_multiple_of(2) {
                on(w, "stimer");
            } else {
                line(w, 3, "<stimer>");
                line(w, 4, "<direct state='on'/>");
                line(w, 3, "</stimer>");
            }
        }
        Hyperv::NoVpindex => {
            on(w, "runtime");
            on(w, "synic");
            on(w, "stimer");
            on(w, "tlbflush");
            on(w, "ipi");
        }
        Hyperv::Legacy | Hyperv::LegacyNoClock | Hyperv::Passthrough => {}
    }
    line(w, 2, "</hyperv>");
    if (bits >> 28).is_multiple_of(4) {
        line(w, 2, "<kvm>");
        line(w, 3, "<hidden state='on'/>");
        line(w, 2, "</kvm>");
    }
}

/// `a`, `b`, ... for disk target names.
fn drive_letter(n: usize) -> char {
    (b'a' + n as u8) as char
}

/// One line of XML at `depth` levels of virsh's two-space indentation.
fn line(w: &mut String, depth: usize, text: &str) {
    for _ in 0..depth {
        w.push_str("  ");
    }
    w.push_str(text);
    w.push('\n');
}
