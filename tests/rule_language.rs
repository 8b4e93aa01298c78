//! The rule language end to end: uniqueness findings point back at the first occurrence
//! (related locations in the text output), computed conditions and message holes.

mod common;

use common::{golden, run};

#[test]
fn duplicates_point_back_at_the_first_occurrence() {
    let r = run(&["fixtures/rules/duplicates.xml"]);
    golden("cli/duplicates.txt", &r.transcript());
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("first used here"), "{}", r.transcript());
}

#[test]
fn concise_output_names_each_duplicate_once() {
    let r = run(&["--format", "concise", "fixtures/rules/duplicates.xml"]);
    let lines: Vec<&str> = r.stdout.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[..5],
        [
            "fixtures/rules/duplicates.xml:5:5: error[cpu/topology-mismatch] the CPU topology gives 8 vCPUs but <vcpu> is 6: libvirt refuses to define this domain",
            "fixtures/rules/duplicates.xml:13:7: error[disk/duplicate-target-dev] disk target `vda` is already used by another disk: libvirt refuses to define this domain",
            "fixtures/rules/duplicates.xml:14:7: error[devices/duplicate-pci-address] PCI address 0000:00:04.0 is already used by another device: libvirt refuses to define this domain",
            "fixtures/rules/duplicates.xml:17:12: error[net/multicast-or-invalid-mac] MAC address `01:00:5e:00:00:01` is not a unicast address (multicast, all zero or malformed): libvirt refuses it",
            "fixtures/rules/duplicates.xml:19:26: warning[graphics/remote-listen-without-auth] vnc console listens on 0.0.0.0 without a password: anyone on the network can use it",
        ]
    );
}
