//! The built-in rule pack: the YAML files under `rules/`, embedded by `build.rs`.
//!
//! `build.rs` compiles them with the same loader the library uses, so a broken built-in
//! rule fails the build with the loader's own message.

/// Built-in rule files: `(path, contents)`.
pub const SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
