//! Checks made when a rule is loaded: edits the fixer could never apply safely (removing
//! `<domain>` itself, rewriting a comment) are rule-file errors, not fix-time surprises.
//! What only the document can tell (a `node()` that turns out to be a comment) is refused
//! at fix time by [`plan`](super::plan), with a reason.

use crate::rules::{EditSpec, FixSpec};
use crate::selector::Targets;

/// Why an edit of `fix` cannot work: the index of the edit and the message. `for_each`:
/// the rule runs once per selected element (so `.` is that element, not `<domain>`).
pub fn check_fix(fix: &FixSpec, for_each: bool) -> Result<(), (usize, String)> {
    for (index, edit) in fix.edits.iter().enumerate() {
        check_edit(edit, for_each).map_err(|message| (index, message))?;
    }
    Ok(())
}

fn check_edit(edit: &EditSpec, for_each: bool) -> Result<(), String> {
    match edit {
        EditSpec::Remove(selector) => match selector.targets() {
            Targets::DocumentRoot => Err(format!(
                "`remove: {selector}` would remove the whole document"
            )),
            Targets::Context if !for_each => Err(format!(
                "`remove: {selector}` would remove <domain> itself; to remove selected elements, select them with `for-each` and remove `.`"
            )),
            Targets::Comments => Err(format!(
                "`remove: {selector}` removes comments, and a fix never drops a comment"
            )),
            _ => Ok(()),
        },
        EditSpec::ReplaceText { selector, .. } => match selector.targets() {
            Targets::Attributes => Err(format!(
                "`replace-text: {selector}` selects attributes; use `set` to change an attribute"
            )),
            Targets::Comments => Err(format!(
                "`replace-text: {selector}` selects comments; a fix never changes a comment"
            )),
            Targets::DocumentRoot => Err(format!(
                "`replace-text: {selector}` selects the document itself, not an element"
            )),
            Targets::Context if !for_each => Err(format!(
                "`replace-text: {selector}` would replace everything inside <domain>"
            )),
            _ => Ok(()),
        },
        EditSpec::CopyAttributes { element, .. } => match element.targets() {
            Targets::Elements | Targets::Context | Targets::AnyNode => Ok(()),
            _ => Err(format!("`copy-attributes: {element}` must select elements")),
        },
        EditSpec::Ensure { .. } | EditSpec::Set { .. } => Ok(()),
        EditSpec::When(_, edit) => check_edit(edit, for_each),
    }
}
