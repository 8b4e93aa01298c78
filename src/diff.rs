//! Unified diffs with `a/` and `b/` headers, which `git apply` and `patch -p1` accept.

use similar::TextDiff;

/// The diff turning `old` into `new` for the file shown as `name`; empty when equal.
pub fn unified(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let name = name.strip_prefix("./").unwrap_or(name);
    let diff = TextDiff::from_lines(old, new);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_hunks() {
        let d = unified("vm.xml", "a\nb\nc\n", "a\nb\nx\nc\n");
        assert_eq!(
            d,
            "--- a/vm.xml\n+++ b/vm.xml\n@@ -1,3 +1,4 @@\n a\n b\n+x\n c\n"
        );
        assert_eq!(unified("vm.xml", "a\n", "a\n"), "");
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = unified("./vm.xml", "a\nb", "a\nc");
        assert_eq!(
            d,
            "--- a/vm.xml\n+++ b/vm.xml\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
        );
    }
}
