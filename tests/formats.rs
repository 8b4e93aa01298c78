//! Machine-readable output: JSON (golden), SARIF (validated against the SARIF 2.1.0
//! schema), GitHub annotations, GitLab Code Quality, JUnit, and `--output`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{golden, root, run, run_in};

const WIN10: &str = "fixtures/win10-hpet-off.xml";
/// The motivating guest also gets windows/hyperv-set-incomplete (info, first in the file);
/// these tests are about the formats, so they look at its warning alone.
const ONE_FINDING: &str = "--ignore=windows/hyperv-set-incomplete";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

#[test]
fn json_schema_v1() {
    let r = run(&[
        "--format",
        "json",
        ONE_FINDING,
        WIN10,
        "fixtures/win10-healthy.xml",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    golden("formats/win10.json", &r.stdout);
    let v = json(&r.stdout);
    assert_eq!(v["version"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["path"], WIN10);
    assert_eq!(f["rule"], "windows/hpet-disabled-without-stimer");
    assert_eq!(f["start"]["line"], 32);
    assert_eq!(f["start"]["column"], 5);
    assert_eq!(f["fix"]["safety"], "unsafe");
    // The byte range is what the positions say.
    let text = std::fs::read_to_string(root().join(WIN10)).unwrap();
    let (s, e) = (
        f["byte_range"]["start"].as_u64().unwrap() as usize,
        f["byte_range"]["end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&text[s..e], "<timer name='hpet' present='no'/>");
    // The summary stays off standard output.
    assert_eq!(
        r.stderr,
        "Found 1 warning in 1 file (2 files checked).\n(1 hidden unsafe fix can be enabled with `--unsafe-fixes`.)\n"
    );
}

#[test]
fn json_reports_input_errors() {
    let r = run(&["--format", "json", "fixtures/invalid/malformed.xml"]);
    assert_eq!(r.code, 2);
    let v = json(&r.stdout);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["errors"][0]["path"], "fixtures/invalid/malformed.xml");
    assert_eq!(v["errors"][0]["line"], 8);
}

#[test]
fn github_annotations() {
    let r = run(&["--format", "github", ONE_FINDING, WIN10]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        "::warning file=fixtures/win10-hpet-off.xml,line=32,col=5,endLine=32,endColumn=38,title=windows/hpet-disabled-without-stimer::HPET is off and the Hyper-V synthetic timer (stimer) is not enabled: Windows falls back to port-I/O timers and burns host CPU while idle\n"
    );
}

#[test]
fn gitlab_code_quality() {
    let r = run(&["--format", "gitlab", ONE_FINDING, "fixtures/fix", WIN10]);
    assert_eq!(r.code, 1);
    assert!(!r.stdout.starts_with('\u{feff}'));
    let v = json(&r.stdout);
    let issues = v.as_array().unwrap();
    assert!(issues.len() > 5);
    let mut prints: Vec<&str> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), issues.len(), "fingerprints must be unique");
    let hpet = issues
        .iter()
        .find(|i| i["location"]["path"] == WIN10)
        .unwrap();
    assert_eq!(hpet["check_name"], "windows/hpet-disabled-without-stimer");
    assert_eq!(hpet["severity"], "minor");
    assert_eq!(hpet["location"]["lines"]["begin"], 32);
}

#[test]
fn junit_one_case_per_file() {
    let r = run(&[
        "--format",
        "junit",
        ONE_FINDING,
        WIN10,
        "fixtures/win10-healthy.xml",
    ]);
    assert_eq!(r.code, 1);
    golden("formats/win10.junit.xml", &r.stdout);
    let doc = roxmltree::Document::parse(&r.stdout).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[1].attribute("name"), Some(WIN10));
    assert_eq!(
        cases[1]
            .children()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        1
    );
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.sarif");
    let r = run(&["--format", "sarif", "-o", out.to_str().unwrap(), WIN10]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    let v = json(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(v["version"], "2.1.0");
}

fn sarif_of(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--format", "sarif"];
    all.extend_from_slice(args);
    json(&run_in(dir, &all, None).stdout)
}

#[test]
fn sarif_content() {
    let v = sarif_of(&root(), &[ONE_FINDING, WIN10]);
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "windows/hpet-disabled-without-stimer")
        .unwrap();
    assert!(rule["shortDescription"]["text"].as_str().unwrap().len() > 10);
    assert!(rule["fullDescription"]["text"].as_str().unwrap().len() > 10);
    assert!(
        rule["help"]["text"]
            .as_str()
            .unwrap()
            .contains("References")
    );
    assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    let result = &run["results"][0];
    let location = &result["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], WIN10);
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 32);
    assert_eq!(location["region"]["endColumn"], 38);
    assert!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("file:///")
    );
    assert_eq!(result["fixes"].as_array().unwrap().len(), 2);
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        result["ruleId"]
    );
}

#[test]
fn sarif_fingerprints_survive_unrelated_edits() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(WIN10)).unwrap();
    std::fs::write(dir.path().join("vm.xml"), &text).unwrap();
    let before = sarif_of(dir.path(), &[ONE_FINDING, "vm.xml"]);
    let moved = text.replace("<clock", "<!-- three\n     more\n     lines -->\n  <clock");
    std::fs::write(dir.path().join("vm.xml"), moved).unwrap();
    let after = sarif_of(dir.path(), &[ONE_FINDING, "vm.xml"]);
    let result = |v: &serde_json::Value| v["runs"][0]["results"][0].clone();
    assert_ne!(
        result(&before)["locations"][0]["physicalLocation"]["region"]["startLine"],
        result(&after)["locations"][0]["physicalLocation"]["region"]["startLine"]
    );
    assert_eq!(
        result(&before)["partialFingerprints"],
        result(&after)["partialFingerprints"]
    );
}

/// Validate with Python's `jsonschema` (installed by .ci/run); skip with a reason when
/// it is missing locally.
fn validate_with_python(schema: &Path, document: &Path) -> Option<Result<(), String>> {
    let probe = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        if std::env::var_os("VIRT_LINT_REQUIRE_TOOLS").is_some() {
            panic!(
                "python3 with the jsonschema module is required (VIRT_LINT_REQUIRE_TOOLS is set)"
            );
        }
        eprintln!("skipped: python3 with the jsonschema module is not installed");
        return None;
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             doc = json.load(open(sys.argv[2]))\n\
             errors = list(jsonschema.Draft7Validator(schema).iter_errors(doc))\n\
             for e in errors: print(list(e.absolute_path), e.message)\n\
             sys.exit(1 if errors else 0)",
        ])
        .arg(schema)
        .arg(document)
        .output()
        .expect("run python3");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr))
    })
}

#[test]
fn sarif_of_the_fixtures_validates_against_the_schema() {
    let schema = root().join("../shared/schemas/sarif-2.1.0.json");
    if !schema.exists() {
        if std::env::var_os("VIRT_LINT_REQUIRE_TOOLS").is_some() {
            panic!("{} is required but missing", schema.display());
        }
        eprintln!("skipped: {} not found", schema.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fixtures.sarif");
    // Every fixture: findings with fixes, skipped and broken files (notifications).
    let r = run(&[
        "--format",
        "sarif",
        "--unsafe-fixes",
        "-o",
        out.to_str().unwrap(),
        "fixtures",
    ]);
    assert_eq!(r.code, 2, "the invalid fixtures exit 2\n{}", r.stderr);
    let v = json(&std::fs::read_to_string(&out).unwrap());
    assert!(v["runs"][0]["results"].as_array().unwrap().len() > 10);
    if let Some(result) = validate_with_python(&schema, &out) {
        result.unwrap_or_else(|e| panic!("SARIF does not validate:\n{e}"));
    }
}
