//! Repository rules (`scope: repo`) over a folder of definitions: each finding is reported
//! in its file and names the other file that holds the same key.

mod common;

use std::path::Path;

use common::{Run, run_in};

/// A small, otherwise clean Linux guest; `parts` override its identity and devices.
struct Guest<'a> {
    name: &'a str,
    uuid: &'a str,
    mac: &'a str,
    network: &'a str,
    disk: &'a str,
    /// Extra lines inside `<disk>` (`<readonly/>`, a `<backingStore>`).
    disk_extra: &'a str,
    graphics: &'a str,
}

impl Default for Guest<'_> {
    fn default() -> Self {
        Guest {
            name: "web",
            uuid: "0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64",
            mac: "52:54:00:0d:4e:8b",
            network: "default",
            disk: "/srv/guests/web.qcow2",
            disk_extra: "",
            graphics: "<graphics type='vnc' port='-1' autoport='yes'/>",
        }
    }
}

impl Guest<'_> {
    fn xml(&self) -> String {
        format!(
            "<domain type='kvm'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>2097152</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>{disk_extra}
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='{mac}'/>
      <source network='{network}'/>
      <model type='virtio'/>
    </interface>
    {graphics}
  </devices>
</domain>
",
            name = self.name,
            uuid = self.uuid,
            disk = self.disk,
            disk_extra = self.disk_extra,
            mac = self.mac,
            network = self.network,
            graphics = self.graphics,
        )
    }
}

/// Write `files` into a fresh `vms/` folder and run `virt-lint --format concise vms`.
fn lint_folder(files: &[(&str, String)], extra_args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let vms = dir.path().join("vms");
    std::fs::create_dir(&vms).unwrap();
    for (name, xml) in files {
        std::fs::write(vms.join(name), xml).unwrap();
    }
    let mut args = vec!["--format", "concise"];
    args.extend_from_slice(extra_args);
    args.push("vms");
    run_in(dir.path(), &args, None)
}

fn repo_lines(r: &Run) -> Vec<&str> {
    r.stdout.lines().filter(|l| l.contains("[repo/")).collect()
}

#[test]
fn two_definitions_with_one_uuid_are_reported_at_both_files() {
    let a = Guest::default();
    let b = Guest {
        name: "web-copy",
        uuid: "0D4E8B7291C34A6FB5E07C2A1F9D3B64",
        mac: "52:54:00:0d:4e:8c",
        disk: "/srv/guests/web-copy.qcow2",
        ..Guest::default()
    };
    let r = lint_folder(&[("a.xml", a.xml()), ("b.xml", b.xml())], &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        "vms/a.xml:3:3: error[repo/duplicate-uuid] UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in vms/b.xml:3:3)\n\
         vms/b.xml:3:3: error[repo/duplicate-uuid] UUID 0D4E8B7291C34A6FB5E07C2A1F9D3B64 is also used by another domain definition (also in vms/a.xml:3:3)\n\
         Found 2 errors in 2 files (2 files checked).\n"
    );
    assert_eq!(r.stderr, "");

    // The default format shows the UUID in its file and names the other.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.xml"), a.xml()).unwrap();
    std::fs::write(dir.path().join("b.xml"), b.xml()).unwrap();
    let r = run_in(dir.path(), &["--color", "never", "a.xml", "b.xml"], None);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert!(
        r.stdout.starts_with(
            "error[repo/duplicate-uuid]: UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in b.xml:3:3)\n --> a.xml:3:3\n  |\n3 |   <uuid>0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64</uuid>\n  |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        ),
        "{}",
        r.stdout
    );
    // With --fail-on error the run still fails: these are errors.
    let r = lint_folder(
        &[("a.xml", a.xml()), ("b.xml", b.xml())],
        &["--fail-on", "error"],
    );
    assert_eq!(r.code, 1);
}

#[test]
fn every_holder_of_a_key_is_reported_and_counts_the_others() {
    let g = |name, mac, disk| Guest {
        name,
        mac,
        disk,
        ..Guest::default()
    };
    let r = lint_folder(
        &[
            ("a.xml", g("a", "52:54:00:00:00:0a", "/a.qcow2").xml()),
            ("b.xml", g("b", "52:54:00:00:00:0b", "/b.qcow2").xml()),
            ("c.xml", g("c", "52:54:00:00:00:0c", "/c.qcow2").xml()),
        ],
        &[],
    );
    assert_eq!(
        repo_lines(&r),
        [
            "vms/a.xml:3:3: error[repo/duplicate-uuid] UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in vms/b.xml:3:3 and 1 more)",
            "vms/b.xml:3:3: error[repo/duplicate-uuid] UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in vms/a.xml:3:3 and 1 more)",
            "vms/c.xml:3:3: error[repo/duplicate-uuid] UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in vms/a.xml:3:3 and 1 more)",
        ]
    );
}

#[test]
fn names_macs_disks_and_ports() {
    let a = Guest {
        graphics: "<graphics type='vnc' port='5905' autoport='no'/>",
        ..Guest::default()
    };
    let b = Guest {
        uuid: "7f0e2a9c-3b1d-4c8e-9a5f-6e2d1c0b9a87",
        mac: "52-54-00-0D-4E-8B",
        network: "default",
        disk: "/srv//guests/./web.qcow2",
        disk_extra: "\n      <readonly/>",
        graphics: "<graphics type='spice' port='0x1711'/>",
        ..Guest::default()
    };
    let r = lint_folder(&[("a.xml", a.xml()), ("b.xml", b.xml())], &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        repo_lines(&r),
        [
            "vms/a.xml:2:3: error[repo/duplicate-name] domain name `web` is also used by another definition (also in vms/b.xml:2:3)",
            "vms/a.xml:12:15: error[repo/shared-writable-disk] this disk's backing object is also used by another domain, and not every user is read-only or shareable (also in vms/b.xml:12:15)",
            "vms/a.xml:16:12: error[repo/duplicate-mac] MAC address 52:54:00:0d:4e:8b is also used by another domain (also in vms/b.xml:17:12)",
            "vms/a.xml:20:26: warning[repo/duplicate-fixed-graphics-port] graphics port 5905 is also fixed for another domain of this host (also in vms/b.xml:21:28)",
            "vms/b.xml:2:3: error[repo/duplicate-name] domain name `web` is also used by another definition (also in vms/a.xml:2:3)",
            "vms/b.xml:12:15: error[repo/shared-writable-disk] this disk's backing object is also used by another domain, and not every user is read-only or shareable (also in vms/a.xml:12:15)",
            "vms/b.xml:17:12: error[repo/duplicate-mac] MAC address 52-54-00-0D-4E-8B is also used by another domain (also in vms/a.xml:16:12)",
            "vms/b.xml:21:28: warning[repo/duplicate-fixed-graphics-port] graphics port 0x1711 is also fixed for another domain of this host (also in vms/a.xml:20:26)",
        ],
        "{}",
        r.stdout
    );
}

#[test]
fn macs_on_different_networks_are_a_warning_and_read_only_sharing_is_fine() {
    let a = Guest {
        disk_extra: "\n      <readonly/>",
        ..Guest::default()
    };
    let b = Guest {
        name: "web2",
        uuid: "7f0e2a9c-3b1d-4c8e-9a5f-6e2d1c0b9a87",
        network: "isolated",
        disk_extra: "\n      <readonly/>",
        ..Guest::default()
    };
    let r = lint_folder(&[("a.xml", a.xml()), ("b.xml", b.xml())], &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        repo_lines(&r),
        [
            "vms/a.xml:17:12: warning[repo/duplicate-mac] MAC address 52:54:00:0d:4e:8b is also used by another domain (also in vms/b.xml:17:12)",
            "vms/b.xml:17:12: warning[repo/duplicate-mac] MAC address 52:54:00:0d:4e:8b is also used by another domain (also in vms/a.xml:17:12)",
        ]
    );
    let r = lint_folder(
        &[("a.xml", a.xml()), ("b.xml", b.xml())],
        &["--fail-on", "error"],
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
}

#[test]
fn a_writable_disk_that_is_another_guests_backing_file() {
    let base = Guest {
        name: "golden",
        uuid: "7f0e2a9c-3b1d-4c8e-9a5f-6e2d1c0b9a87",
        mac: "52:54:00:00:00:01",
        disk: "/srv/guests/golden.qcow2",
        ..Guest::default()
    };
    let clone = Guest {
        disk: "/srv/guests/clone.qcow2",
        disk_extra: "\n      <backingStore type='file'>\n        <format type='qcow2'/>\n        <source file='/srv/guests/golden.qcow2'/>\n      </backingStore>",
        ..Guest::default()
    };
    let r = lint_folder(
        &[("clone.xml", clone.xml()), ("golden.xml", base.xml())],
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        repo_lines(&r),
        [
            "vms/golden.xml:12:15: error[repo/writable-disk-is-anothers-backing-file] /srv/guests/golden.qcow2 is writable here and is another domain's backing file (also in vms/clone.xml:15:17)",
        ]
    );
}

#[test]
fn a_users_repository_rule() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "rules:
  - id: site/duplicate-title
    scope: repo
    severity: info
    summary: Two domains share a title
    explanation: Titles are what the dashboard shows; keep them apart.
    unique:
      for-each: title
      key: .
      as: case
      label: the same title
    message: \"title `{.}` is also used by another domain\"
    examples:
      - fires: |
          <domain><title>Web</title></domain>
          <domain><title>web</title></domain>
      - passes: |
          <domain><title>Web</title></domain>
          <domain><title>DB</title></domain>
",
    )
    .unwrap();
    let r = run_in(dir.path(), &["test-rules", "rules.yaml"], None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        "ok    site/duplicate-title example 1 (fires) at rules.yaml:14\n\
         ok    site/duplicate-title example 2 (passes) at rules.yaml:17\n\
         2 passed, 0 failed\n"
    );
    write(
        dir.path(),
        "a.xml",
        "<domain>\n  <title>Web</title>\n</domain>\n",
    );
    write(
        dir.path(),
        "b.xml",
        "<domain>\n  <title>WEB</title>\n</domain>\n",
    );
    let r = run_in(
        dir.path(),
        &[
            "--rules",
            "rules.yaml",
            "--format",
            "concise",
            "--fail-on",
            "info",
            "a.xml",
            "b.xml",
        ],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.transcript());
    let site: Vec<&str> = r.stdout.lines().filter(|l| l.contains("[site/")).collect();
    assert_eq!(
        site,
        [
            "a.xml:2:3: info[site/duplicate-title] title `Web` is also used by another domain (also in b.xml:2:3)",
            "b.xml:2:3: info[site/duplicate-title] title `WEB` is also used by another domain (also in a.xml:2:3)",
        ]
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn repository_rule_mistakes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let case = |body: &str| {
        write(
            dir.path(),
            "r.yaml",
            &format!(
                "rules:\n  - id: site/x\n    severity: error\n    summary: s\n    explanation: e\n    message: m\n{body}"
            ),
        );
        let r = run_in(dir.path(), &["rules", "--rules", "r.yaml"], None);
        assert_eq!(r.code, 2, "{}", r.transcript());
        r.stderr.lines().next().unwrap().to_string()
    };
    assert_eq!(
        case("    scope: fleet\n    unique: {for-each: uuid, key: .}\n"),
        "error: r.yaml:7:12: unknown scope `fleet`: expected `file` or `repo`"
    );
    assert_eq!(
        case("    unique: {for-each: uuid, key: .}\n"),
        "error: r.yaml:7:13: a rule-level `unique` needs `scope: repo` (within one file, write the `unique` condition under `when`)"
    );
    assert_eq!(
        case("    scope: repo\n"),
        "error: r.yaml:2:9: a `scope: repo` rule needs a `unique` block"
    );
    assert_eq!(
        case("    scope: repo\n    unique: {for-each: uuid, key: ., as: guid}\n"),
        "error: r.yaml:8:42: unknown normalisation `guid` (known: text, case, number, mac, uuid, quantity, path)"
    );
    assert_eq!(
        case("    scope: repo\n    unique: {for-each: 'uuid[', key: .}\n"),
        "error: r.yaml:8:30: invalid selector `uuid[`: unexpected end of selector, expected an expression"
    );
    assert_eq!(
        case("    scope: repo\n    report-at: uuid\n    unique: {for-each: uuid, key: .}\n"),
        "error: r.yaml:2:9: a `scope: repo` rule has no `for-each`, `when`, `report-at`, `fix` or `alternatives` (write `for-each` inside `unique`)"
    );
    assert_eq!(
        case(""),
        "error: r.yaml:2:9: rule `site/x` is missing required field `when`"
    );
}

#[test]
fn readme_repository_rule_example_passes_its_own_examples() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let section = readme
        .split("### Repository rules")
        .nth(1)
        .expect("README has the section");
    let yaml = section
        .split("```yaml\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "readme-rule.yaml", yaml);
    let r = run_in(dir.path(), &["test-rules", "readme-rule.yaml"], None);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(r.stdout.ends_with("2 passed, 0 failed\n"), "{}", r.stdout);
}

#[test]
fn selection_and_suppression_apply_to_repository_rules() {
    let a = Guest::default();
    let b = Guest {
        name: "web-copy",
        mac: "52:54:00:0d:4e:8c",
        disk: "/srv/guests/web-copy.qcow2",
        ..Guest::default()
    };
    let files = || vec![("a.xml", a.xml()), ("b.xml", b.xml())];
    let r = lint_folder(&files(), &["--ignore", "repo/duplicate-uuid"]);
    assert_eq!(r.code, 0, "{}", r.transcript());
    assert!(repo_lines(&r).is_empty(), "{}", r.stdout);
    let r = lint_folder(&files(), &["--select", "repo/"]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(repo_lines(&r).len(), 2, "{}", r.stdout);

    // A suppression comment silences its file's side of the clash; the other file still
    // reports it, and the directive is not reported as unused.
    let silenced = a.xml().replace(
        "  <uuid>",
        "  <!-- virt-lint: ignore repo/duplicate-uuid - a deliberate copy -->\n  <uuid>",
    );
    let r = lint_folder(&[("a.xml", silenced), ("b.xml", b.xml())], &[]);
    assert_eq!(r.code, 1, "{}", r.transcript());
    assert_eq!(
        r.stdout,
        "vms/b.xml:3:3: error[repo/duplicate-uuid] UUID 0d4e8b72-91c3-4a6f-b5e0-7c2a1f9d3b64 is also used by another domain definition (also in vms/a.xml:4:3)\n\
         Found 1 error in 1 file (2 files checked).\n"
    );
}

#[test]
fn machine_formats_carry_the_other_place() {
    let a = Guest::default();
    let b = Guest {
        name: "web-copy",
        mac: "52:54:00:0d:4e:8c",
        disk: "/srv/guests/web-copy.qcow2",
        ..Guest::default()
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.xml", &a.xml());
    write(dir.path(), "b.xml", &b.xml());
    let r = run_in(dir.path(), &["--format", "json", "a.xml", "b.xml"], None);
    assert_eq!(r.code, 1, "{}", r.transcript());
    // Whitespace removed (in strings too) to compare the shape.
    let related = "\"related\":[{\"message\":\"thesameUUID\",\"path\":\"b.xml\",\"start\":{\"line\":3,\"column\":3},\"byte_range\":{\"start\":46,\"end\":95}}]";
    let compact: String = r.stdout.split_whitespace().collect();
    assert!(compact.contains(related), "{}", r.stdout);
    let r = run_in(dir.path(), &["--format", "sarif", "a.xml", "b.xml"], None);
    assert_eq!(r.code, 1, "{}", r.transcript());
    let compact: String = r.stdout.split_whitespace().collect();
    assert!(
        compact.contains("\"relatedLocations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"b.xml\",\"uriBaseId\":\"%SRCROOT%\"},\"region\":{\"startLine\":3,\"startColumn\":3,\"charOffset\":46,\"charLength\":49}},\"message\":{\"text\":\"thesameUUID\"},\"id\":1}]"),
        "{}",
        r.stdout
    );
}
