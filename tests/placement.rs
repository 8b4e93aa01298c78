//! The placement tables (src/fix/placement_table.rs) against libvirt's own formatter
//! output: every `qemuxml2xmloutdata` file of the shared corpus writes each parent's
//! children in the tables' order, and never more than one of a child the tables (from
//! libvirt's schema) allow once. Also: the committed table is what
//! scripts/placement/derive.py makes of that corpus today.
//!
//! End to end: a rule pack whose fixes insert elements into many parents fixes a guest
//! (golden diff), and libvirt itself (`virsh` with the test driver) writes the fixed
//! definition back with every parent's children in the same order.
//!
//! The corpus is VIRT_LINT_CORPUS, else ../shared/corpus next to the repository; without
//! it (or without virsh) the tests skip with a printed reason, unless
//! VIRT_LINT_REQUIRE_TOOLS is set.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use virt_lint::fix::placement;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> Option<PathBuf> {
    let dir = std::env::var_os("VIRT_LINT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../shared/corpus"));
    if dir.join("libvirt").is_dir() {
        return Some(dir);
    }
    if std::env::var_os("VIRT_LINT_REQUIRE_TOOLS").is_some() {
        panic!(
            "the corpus {} is required (VIRT_LINT_REQUIRE_TOOLS is set) but missing",
            dir.display()
        );
    }
    eprintln!(
        "skipped: no corpus at {} (set VIRT_LINT_CORPUS to the corpus folder)",
        dir.display()
    );
    None
}

fn formatter_outputs(corpus: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus.join("libvirt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("qemuxml2xmloutdata__") && n.ends_with(".xml"))
        })
        .collect();
    files.sort();
    files
}

/// What in `text` disagrees with the tables, one line per problem.
fn disagreements(text: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(text).unwrap();
    let mut problems = Vec::new();
    for parent in doc.descendants().filter(|n| n.is_element()) {
        let Some(table) = placement::table_of(parent) else {
            continue;
        };
        let children: Vec<&str> = parent
            .children()
            .filter(|c| c.is_element() && c.tag_name().namespace().is_none())
            .map(|c| c.tag_name().name())
            .collect();
        let mut last: Option<(&str, usize)> = None;
        for name in &children {
            let Some(rank) = table.rank(name) else {
                continue;
            };
            if let Some((before, r)) = last
                && r > rank
            {
                problems.push(format!(
                    "{}: <{name}> written after <{before}>, the table has it before",
                    table.key
                ));
            }
            last = Some((name, rank));
        }
        for child in table.children.iter().filter(|c| c.once) {
            let count = children.iter().filter(|n| **n == child.name).count();
            if count > 1 {
                problems.push(format!(
                    "{}: {count} <{}> children, the schema allows one",
                    table.key, child.name
                ));
            }
        }
    }
    problems
}

#[test]
fn libvirt_formatter_output_agrees_with_the_tables() {
    let Some(corpus) = corpus() else {
        return;
    };
    let files = formatter_outputs(&corpus);
    assert!(
        files.len() > 100,
        "only {} qemuxml2xmloutdata files in {}",
        files.len(),
        corpus.display()
    );
    let mut failures = Vec::new();
    let mut checked_parents = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        checked_parents += roxmltree::Document::parse(&text)
            .unwrap()
            .descendants()
            .filter(|n| placement::table_of(*n).is_some())
            .count();
        for problem in disagreements(&text) {
            failures.push(format!("{}: {problem}", file.display()));
        }
    }
    eprintln!(
        "placement: {} files, {checked_parents} parent elements checked",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_check_notices_a_wrong_order_and_a_duplicate() {
    let text = "<domain><devices/><os/><features><hyperv/><hyperv/></features></domain>";
    assert_eq!(
        disagreements(text),
        [
            "domain: <os> written after <devices>, the table has it before",
            "domain/features: 2 <hyperv> children, the schema allows one",
        ]
    );
}

#[test]
fn the_committed_table_is_what_the_script_derives() {
    let Some(corpus) = corpus() else {
        return;
    };
    let root = manifest_dir();
    let out = match Command::new("python3")
        .arg(root.join("scripts/placement/derive.py"))
        .arg("--corpus")
        .arg(&corpus)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipped: python3 is not available ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "derive.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = std::fs::read_to_string(root.join("src/fix/placement_table.rs")).unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "src/fix/placement_table.rs is out of date: run `python3 scripts/placement/derive.py > src/fix/placement_table.rs`"
    );
}

const GUEST: &str = "fixtures/placement/guest.xml";
const RULES: &str = "tests/rule-files/placement.yaml";

#[test]
fn inserted_elements_golden_diff() {
    let r = common::run(&["--rules", RULES, "--unsafe-fixes", "--diff", GUEST]);
    common::golden("placement/guest.diff", &r.transcript());
    assert_eq!(r.code, 1);
}

/// The element of `other` at the same place as `node`: same names down the path, and the
/// same index among same-named siblings at each step.
fn counterpart<'a, 'i>(
    node: roxmltree::Node<'_, '_>,
    other: roxmltree::Node<'a, 'i>,
) -> Option<roxmltree::Node<'a, 'i>> {
    let mut steps = Vec::new();
    let mut current = node;
    while let Some(parent) = current.parent().filter(|p| p.is_element()) {
        let name = current.tag_name().name();
        let index = parent
            .children()
            .filter(|c| c.has_tag_name(name))
            .position(|c| c == current)?;
        steps.push((name, index));
        current = parent;
    }
    let mut found = other;
    for (name, index) in steps.into_iter().rev() {
        found = found
            .children()
            .filter(|c| c.has_tag_name(name))
            .nth(index)?;
    }
    Some(found)
}

fn element_names<'a>(node: roxmltree::Node<'a, '_>) -> Vec<&'a str> {
    node.children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect()
}

#[test]
fn libvirt_writes_the_fixed_guest_back_in_the_same_order() {
    if !common::have_tool("virsh") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("guest.xml");
    std::fs::copy(common::root().join(GUEST), &file).unwrap();
    let rules = common::root().join(RULES);
    let r = common::run_in(
        dir.path(),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--unsafe-fixes",
            "--fix",
            "guest.xml",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.transcript());
    let fixed = std::fs::read_to_string(&file).unwrap();
    let out = Command::new("virsh")
        .args(["-q", "-c", "test:///default"])
        .arg(format!(
            "define {}; dumpxml placement-guest",
            file.display()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dumped = String::from_utf8(out.stdout).unwrap();
    let ours = roxmltree::Document::parse(&fixed).unwrap();
    let theirs = roxmltree::Document::parse(&dumped).unwrap();
    let mut compared = 0;
    for node in ours.descendants().filter(|n| n.is_element()) {
        let Some(other) = counterpart(node, theirs.root_element()) else {
            continue;
        };
        // Elements only one side has (libvirt adds defaults) do not count.
        let (mine, libvirts) = (element_names(node), element_names(other));
        let shared = |list: &[&str], with: &[&str]| -> Vec<String> {
            list.iter()
                .filter(|n| with.contains(n))
                .map(|n| n.to_string())
                .collect()
        };
        assert_eq!(
            shared(&mine, &libvirts),
            shared(&libvirts, &mine),
            "children of <{}> in another order than libvirt's:\n{fixed}\n--- virsh dumpxml:\n{dumped}",
            node.tag_name().name()
        );
        compared += 1;
    }
    assert!(compared > 10, "only {compared} elements compared");
}
