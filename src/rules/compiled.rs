//! The compiled form of a rule set, written by `build.rs` for the built-in rules and
//! read at start-up by [`crate::builtin`].
//!
//! Two byte strings. The head holds the rules' metadata (ids, severities, tags, ...), the
//! shared definitions, the prefilter and the newest libvirt release the rules name: what
//! a run needs before it looks at a document. The logic holds each rule's
//! [`RuleLogic`](super::RuleLogic) serialised on its own; the head records where each
//! rule's bytes are, and a rule's logic is deserialised only when a document needs it
//! ([`super::Lazy`]). So start-up costs a few microseconds per rule, whatever the
//! rules check, and a document pays for the rules its elements can trigger.

use super::prefilter::Prefilter;
use super::{Lazy, RuleSet, Version};

#[derive(serde::Serialize, serde::Deserialize)]
struct Head {
    /// The rules without their logic (`Rule::logic` is not serialised).
    set: RuleSet,
    /// Parallel to `set.rules`: where each rule's [`super::About`] and
    /// [`super::RuleLogic`] are in the second byte string.
    parts: Vec<[(u32, u32); 2]>,
    /// Parallel to `set.definitions.names`: where each definition's condition is.
    definitions: Vec<(u32, u32)>,
    prefilter: Prefilter,
    newest: Version,
}

/// `(head, logic)` for `set`. Fails only if a rule cannot be serialised.
pub fn write(set: &RuleSet) -> Result<(Vec<u8>, Vec<u8>), postcard::Error> {
    let mut bytes = Vec::new();
    let mut append = |part: Vec<u8>| -> Result<(u32, u32), postcard::Error> {
        let start = bytes.len();
        bytes.extend(part);
        let offset = |n: usize| u32::try_from(n).map_err(|_| postcard::Error::SerializeBufferFull);
        Ok((offset(start)?, offset(bytes.len())?))
    };
    let mut parts = Vec::with_capacity(set.rules.len());
    for rule in &set.rules {
        parts.push([
            append(postcard::to_allocvec(rule.about.get())?)?,
            append(postcard::to_allocvec(rule.logic.get())?)?,
        ]);
    }
    let definitions = set
        .definitions
        .conditions
        .iter()
        .map(|c| append(postcard::to_allocvec(c.get())?))
        .collect::<Result<_, _>>()?;
    let head = Head {
        set: set.clone(),
        parts,
        definitions,
        prefilter: Prefilter::new(set),
        newest: set.newest_known(),
    };
    Ok((postcard::to_allocvec(&head)?, bytes))
}

/// The rule set [`write`](fn@write) wrote as `head` and `logic`.
pub fn load(head: &[u8], bytes: &'static [u8]) -> Result<RuleSet, postcard::Error> {
    let Head {
        mut set,
        parts,
        definitions,
        prefilter,
        newest,
    } = postcard::from_bytes(head)?;
    let part = |(start, end): (u32, u32)| {
        bytes
            .get(start as usize..end as usize)
            .ok_or(postcard::Error::DeserializeUnexpectedEnd)
    };
    for (rule, &[about, logic]) in set.rules.iter_mut().zip(&parts) {
        rule.about = Lazy::compiled(part(about)?);
        rule.logic = Lazy::compiled(part(logic)?);
    }
    set.definitions.conditions = definitions
        .into_iter()
        .map(|range| part(range).map(Lazy::compiled))
        .collect::<Result<_, _>>()?;
    if parts.len() != set.rules.len()
        || set.definitions.conditions.len() != set.definitions.names.len()
    {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    set.prefilter = std::sync::OnceLock::from(std::sync::Arc::new(prefilter));
    set.newest = std::sync::OnceLock::from(newest);
    Ok(set)
}
