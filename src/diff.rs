//! Unified diffs of fixes. Headers are chosen so that the patch applies from the folder
//! virt-lint ran in: a file below it gets `a/PATH` and `b/PATH` (for `git apply` and
//! `patch -p1`); a file given by absolute path or outside it gets its absolute path in
//! both headers (for `patch -p1 -d /`, or `git apply --unsafe-paths -p0`).

use std::path::{Component, Path, PathBuf};

use similar::TextDiff;

/// How a patch names `path`: relative (`vms/win10.xml`, no `./`) when it is below the
/// current folder, absolute (`/etc/libvirt/qemu/win10.xml`) otherwise.
pub fn patch_path(path: &Path) -> String {
    let mut relative = PathBuf::new();
    let mut below = path.is_relative();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(part) => relative.push(part),
            _ => below = false,
        }
    }
    if below && !relative.as_os_str().is_empty() {
        return slashes(&relative);
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    // Resolve `..` lexically (the file may not exist: standard input's name).
    let mut normal = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    slashes(&normal)
}

fn slashes(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The diff turning `old` into `new` for the file named `path` by [`patch_path`]; empty
/// when equal.
pub fn unified(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let (from, to) = if path.starts_with('/') {
        (path.to_string(), path.to_string())
    } else {
        let path = path.strip_prefix("./").unwrap_or(path);
        (format!("a/{path}"), format!("b/{path}"))
    };
    let diff = TextDiff::from_lines(old, new);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&from, &to)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// ANSI colours for a unified diff, as `git diff --color` shows one: bold headers, cyan
/// hunk lines, red removals, green additions.
pub fn colorize(patch: &str) -> String {
    let mut out = String::with_capacity(patch.len() + patch.len() / 4);
    for line in patch.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("--- ") || body.starts_with("+++ ") {
            "\x1b[1m"
        } else if body.starts_with("@@") {
            "\x1b[36m"
        } else if body.starts_with('-') {
            "\x1b[31m"
        } else if body.starts_with('+') {
            "\x1b[32m"
        } else {
            ""
        };
        if style.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(style);
            out.push_str(body);
            out.push_str("\x1b[0m");
            out.push_str(end);
        }
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
        let d = unified("/etc/vm.xml", "a\n", "b\n");
        assert!(d.starts_with("--- /etc/vm.xml\n+++ /etc/vm.xml\n"), "{d}");
    }

    #[test]
    fn patch_paths() {
        assert_eq!(patch_path(Path::new("./vms/./a.xml")), "vms/a.xml");
        assert_eq!(patch_path(Path::new("/etc/libvirt/../x.xml")), "/etc/x.xml");
        let parent = std::env::current_dir()
            .unwrap()
            .parent()
            .unwrap()
            .join("x.xml");
        assert_eq!(patch_path(Path::new("../x.xml")), slashes(&parent));
    }

    #[test]
    fn colours() {
        assert_eq!(
            colorize("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n c\n"),
            "\x1b[1m--- a/x\x1b[0m\n\x1b[1m+++ b/x\x1b[0m\n\x1b[36m@@ -1 +1 @@\x1b[0m\n\x1b[31m-a\x1b[0m\n\x1b[32m+b\x1b[0m\n c\n"
        );
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
