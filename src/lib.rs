//! virt-lint: lint and fix libvirt domain XML.
//!
//! The pipeline: [`inputs`] finds documents, [`document`] parses them, [`engine`] runs the
//! [`rules`] (conditions in [`condition`], selectors in [`selector`]) and yields findings,
//! [`fix`] turns findings into verified byte-range edits, [`report`] prints them and
//! [`write`](mod@write) writes fixed files atomically. [`pipeline`] is the per-document path from
//! bytes to findings (and a verified fixed text) that every caller shares; [`cli`] does
//! the binary's I/O and reporting around it. [`reference`](mod@reference) writes the rules reference
//! (`docs/rules.md`).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod builtin;
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub mod cli;
pub mod condition;
pub mod config;
pub mod diff;
pub mod document;
pub mod engine;
pub mod examples;
pub mod fix;
pub mod inputs;
pub mod live;
pub mod pipeline;
pub mod reference;
pub mod repo;
pub mod report;
pub mod rules;
pub mod select;
pub mod selector;
pub mod settings;
pub mod style;
pub mod suppress;
#[cfg(test)]
mod test_support;
pub mod write;
pub mod yaml;
