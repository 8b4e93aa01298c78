//! Embeds every `rules/**/*.yaml` file in the binary, so an installed virt-lint needs no
//! files beside it, and checks them at build time: the build script compiles the rule
//! files with the library's own loader (the modules below are the library's source
//! files), so a broken built-in rule fails `cargo build` with file, line and column.

// The loader's modules are compiled here for one function; the rest is unused.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

#[path = "src/condition.rs"]
mod condition;
#[path = "src/document.rs"]
mod document;
#[path = "src/rules/mod.rs"]
mod rules;
#[path = "src/selector/mod.rs"]
mod selector;
#[path = "src/yaml.rs"]
mod yaml;

/// What the loader needs of the fixer: the load-time check of edits.
#[path = "src/fix"]
mod fix {
    pub mod validate;
}

/// The build script compiles the rule files it was given: it has no embedded ones.
mod builtin {
    pub const SOURCES: &[(&str, &str)] = &[];

    pub fn compiled() -> crate::rules::RuleSet {
        crate::rules::RuleSet::default()
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// `file`'s path below `base`, with `/` separators.
fn relative_name(base: &Path, file: &Path) -> String {
    file.strip_prefix(base)
        .expect("rule files are below their folder")
        .to_string_lossy()
        .replace('\\', "/")
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let rules_dir = root.join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&rules_dir, &mut files);
    files.sort();
    let mut named: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|file| (relative_name(&root, &file), file))
        .collect();
    // For the startup benchmark (scripts/startup-bench.sh): more rule files to embed as
    // if they were built in.
    println!("cargo:rerun-if-env-changed=VIRT_LINT_EXTRA_BUILTIN_RULES");
    if let Some(extra) = std::env::var_os("VIRT_LINT_EXTRA_BUILTIN_RULES") {
        let extra = PathBuf::from(extra);
        println!("cargo:rerun-if-changed={}", extra.display());
        let mut files = Vec::new();
        collect(&extra, &mut files);
        files.sort();
        named.extend(
            files
                .into_iter()
                .map(|file| (format!("extra/{}", relative_name(&extra, &file)), file)),
        );
    }
    let mut sources = Vec::new();
    let mut code = String::from("&[\n");
    for (name, file) in &named {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        code.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            file.display().to_string()
        ));
        sources.push((name.clone(), text));
    }
    code.push_str("]\n");

    let (set, errors) = rules::load::compile(&sources);
    if !errors.is_empty() {
        for e in &errors {
            println!("cargo:warning={e}");
            eprintln!("{e}");
        }
        panic!("{} error(s) in the built-in rule files", errors.len());
    }

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("builtin_rules.rs"), code).expect("write OUT_DIR");
    // The compiled set, without examples and explanations (see `Rule`'s serde attributes);
    // each rule's logic apart, to be read when a document needs it.
    let (head, logic) = rules::compiled::write(&set).expect("the rule model serialises");
    std::fs::write(out.join("builtin_rules.bin"), head).expect("write OUT_DIR");
    std::fs::write(out.join("builtin_logic.bin"), logic).expect("write OUT_DIR");
}
