//! Repository-rule benchmark: the built-in `repo/*` rules over 100,000 generated domain
//! definitions, to show that comparing a whole repository costs time linear in the number
//! of keys (hash maps), not quadratic in files.
//!
//! Run with `cargo bench --bench repo`. Environment:
//!
//! - `VIRT_LINT_BENCH_DEFINITIONS`: how many definitions (default 100000);
//! - `VIRT_LINT_BENCH_ROUNDS`: timed rounds (default 3, after 1 warm-up);
//! - `VIRT_LINT_BENCH_PER_RULE=1`: also time each rule's comparison alone.
//!
//! Each definition is a small virsh-style guest with a name, UUID, MAC address, disk and
//! VNC display (one in ten on a fixed port). One in 1000 copies the UUID of the one before it, and one in 1000 its
//! MAC address, so that the rules find something. Measured separately: reading the keys
//! (parse + [`repo::extract`], what the CLI does per file, on one thread) and comparing
//! them ([`repo::evaluate`], once per run), the latter also at a tenth and half of the
//! definitions to show how it scales.

use std::time::Duration;

use virt_lint::document::Document;
use virt_lint::repo::{self, Facts, RunDocument};
use virt_lint::rules;

const DEFAULT_DEFINITIONS: usize = 100_000;
const DEFAULT_ROUNDS: usize = 3;

#[path = "common/mod.rs"]
mod common;
use common::{env_count, mix, timed};

fn main() {
    let n = env_count("VIRT_LINT_BENCH_DEFINITIONS", DEFAULT_DEFINITIONS);
    let rounds = env_count("VIRT_LINT_BENCH_ROUNDS", DEFAULT_ROUNDS);
    let rules = rules::load_builtin().expect("the built-in rules load");
    let repo_rules = repo::repo_rules(&rules);
    assert!(!repo_rules.is_empty(), "no repository rules enabled");

    let texts: Vec<String> = (0..n).map(definition).collect();
    let names: Vec<String> = (0..n).map(|i| format!("vms/guest-{i:06}.xml")).collect();
    let bytes: usize = texts.iter().map(String::len).sum();

    let extract_all = || -> Vec<Facts> {
        texts
            .iter()
            .map(|t| {
                let doc = Document::parse(t).expect("parses");
                repo::extract(&doc, &repo_rules, &rules.definitions)
            })
            .collect()
    };
    let facts = extract_all();
    let keys: usize = facts
        .iter()
        .flat_map(|f| &f.rules)
        .map(|r| r.entries.len() + r.against.len())
        .sum();
    let docs = |count: usize| -> Vec<RunDocument<'_>> {
        names
            .iter()
            .zip(&facts)
            .take(count)
            .map(|(name, facts)| RunDocument {
                name,
                host: None,
                facts,
            })
            .collect()
    };
    let all = docs(n);
    if std::env::var_os("VIRT_LINT_BENCH_PER_RULE").is_some() {
        println!("compare keys, one rule at a time:");
        for r in &repo_rules {
            let (t, _) = timed(|| repo::evaluate(&all, std::slice::from_ref(r)));
            println!("{:>8.1} ms  {}", t.as_secs_f64() * 1e3, r.id);
        }
    }
    let findings = repo::evaluate(&all, &repo_rules);
    let mut per_rule: Vec<(String, usize)> = Vec::new();
    for f in &findings {
        match per_rule.iter_mut().find(|(id, _)| *id == f.rule_id) {
            Some((_, c)) => *c += 1,
            None => per_rule.push((f.rule_id.clone(), 1)),
        }
    }

    let mut extract_times = Vec::new();
    let sizes = [n / 10, n / 2, n];
    let mut evaluate_times: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    for round in 0..=rounds {
        let (t, f) = timed(extract_all);
        assert_eq!(f.len(), n);
        for (slot, &size) in sizes.iter().enumerate() {
            let subset = docs(size);
            let (t, found) = timed(|| repo::evaluate(&subset, &repo_rules));
            if size == n {
                assert_eq!(found.len(), findings.len(), "findings changed");
            }
            if round > 0 {
                evaluate_times[slot].push(t);
            }
        }
        if round > 0 {
            extract_times.push(t);
        }
    }

    println!("virt-lint repository rules (cargo bench --bench repo)");
    println!();
    println!(
        "definitions: {n} generated ({:.1} MB), {} repository rules, {keys} keys",
        bytes as f64 / 1e6,
        repo_rules.len()
    );
    println!("timing:      median of {rounds} rounds after 1 warm-up, one thread");
    println!();
    println!("| step                                 | definitions |   median | per definition |");
    println!("|--------------------------------------|------------:|---------:|---------------:|");
    let extract = median(&mut extract_times);
    row("read keys (parse + extract)", n, extract);
    for (slot, &size) in sizes.iter().enumerate() {
        row(
            "compare keys (evaluate)",
            size,
            median(&mut evaluate_times[slot]),
        );
    }
    println!();
    let small = median(&mut evaluate_times[0]).as_secs_f64() / sizes[0] as f64;
    let large = median(&mut evaluate_times[2]).as_secs_f64() / sizes[2] as f64;
    println!(
        "compare cost per definition at {} vs {}: {:.2}x (1.0 = linear)",
        sizes[2],
        sizes[0],
        large / small
    );
    println!("findings: {}", findings.len());
    for (id, count) in per_rule {
        println!("  {count:>7}  {id}");
    }
}

fn row(step: &str, definitions: usize, t: Duration) {
    println!(
        "| {step:<36} | {definitions:>11} | {:>5.0} ms | {:>11.2} µs |",
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e6 / definitions as f64
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    let k = times.len();
    if k % 2 == 1 {
        times[k / 2]
    } else {
        (times[k / 2 - 1] + times[k / 2]) / 2
    }
}

/// Definition `i`: unique name, UUID, MAC, disk and port, except one in 1000 that copies
/// the UUID (and one in 1000 the MAC address) of definition `i - 1`.
fn definition(i: usize) -> String {
    let uuid_of = |i: usize| {
        let a = mix(i as u64);
        let b = mix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    };
    let mac_of = |i: usize| {
        format!(
            "52:54:00:{:02x}:{:02x}:{:02x}",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        )
    };
    let uuid = if i % 1000 == 999 {
        uuid_of(i - 1)
    } else {
        uuid_of(i)
    };
    let mac = if i % 1000 == 499 {
        mac_of(i - 1)
    } else {
        mac_of(i)
    };
    // One guest in ten has a fixed port (5900 + i/10: no two alike); the others let
    // libvirt choose.
    let graphics = if i.is_multiple_of(10) {
        format!(
            "<graphics type='vnc' port='{}' autoport='no'/>",
            5900 + i / 10
        )
    } else {
        "<graphics type='vnc' port='-1' autoport='yes'/>".to_string()
    };
    format!(
        "<domain type='kvm'>
  <name>guest-{i:06}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/guest-{i:06}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/srv/iso/installer.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='{mac}'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    {graphics}
  </devices>
</domain>
"
    )
}
