//! The model of a repository rule (`scope: repo`): what `load.rs` compiles its `unique:`
//! block into. Evaluating it across documents is [`crate::repo`]'s business.

use crate::condition::{Condition, KeyPart, Unique};
use crate::rules::Severity;
use crate::selector::Selector;

/// Items of other documents whose keys the primary items must not equal.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Against {
    pub for_each: Selector,
    pub key: Vec<KeyPart>,
}

/// The compiled `unique:` block of a repository rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RepoCheck {
    /// The items each document contributes (relative to `<domain>`), their key (parts,
    /// each with its normalisation and default) and the related location's label: the
    /// same vocabulary as the within-file `unique` condition. An item whose key parts
    /// are all empty has no key and is left out.
    pub unique: Unique,
    /// Items only collide within the same group (relative to the item; composite).
    pub group_by: Vec<Selector>,
    /// Equal keys in different groups are reported too, at this severity.
    pub across_groups: Option<Severity>,
    /// Equal keys are a finding only when at least one of the items meets this.
    pub if_any: Option<Condition>,
    /// Only documents of the same host (live connection) collide; files are one host.
    pub per_host: bool,
    pub against: Option<Against>,
}
