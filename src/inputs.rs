//! Finding the inputs of a run: files, folders (walked for `*.xml`, honouring
//! `.gitignore`), glob patterns the shell left unexpanded, `-` for standard input, and
//! documents that are not files (handed over in memory, e.g. live domains).

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// One document to lint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// A document that is not a file, e.g. a live domain named `qemu:///system/win10`:
    /// linted and diffed under `name`, never written.
    Document {
        name: String,
        bytes: Vec<u8>,
    },
}

impl Input {
    /// The name shown in reports (`stdin_name` for standard input).
    pub fn name(&self, stdin_name: &str) -> String {
        match self {
            Input::Stdin => stdin_name.to_string(),
            Input::File(path) => path.display().to_string(),
            Input::Document { name, .. } => name.clone(),
        }
    }

    /// The input's bytes.
    pub fn read(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Input::Stdin => {
                let mut buf = Vec::new();
                io::stdin().lock().read_to_end(&mut buf)?;
                Ok(Cow::Owned(buf))
            }
            Input::File(path) => std::fs::read(path).map(Cow::Owned),
            Input::Document { bytes, .. } => Ok(Cow::Borrowed(bytes)),
        }
    }

    /// Replace a file's contents atomically. Standard input and in-memory documents
    /// cannot be written back.
    pub fn write(&self, contents: &[u8]) -> io::Result<()> {
        match self {
            Input::File(path) => crate::write::atomic_write(path, contents),
            Input::Stdin | Input::Document { .. } => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this input is not a file and cannot be written in place",
            )),
        }
    }
}

/// An argument, or a path met in a walk, that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

/// What the command-line arguments name.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Sorted by path, each real file once, standard input last.
    pub inputs: Vec<Input>,
    /// Arguments that named nothing, and files or folders of a walk that could not be
    /// read: errors (exit 2), reported while everything else is still linted.
    pub errors: Vec<InputError>,
    /// Worth saying, not failing for: symlink loops that were not followed.
    pub notes: Vec<InputError>,
}

/// Folders of version-control systems, never walked (other hidden folders are).
const VCS_FOLDERS: &[&str] = &[".git", ".hg", ".svn", ".jj", ".bzr", "_darcs", ".pijul"];

/// Expand the command-line arguments into inputs.
///
/// Folders are walked for `*.xml`, hidden folders included (`.config/libvirt/...`) but
/// not version-control ones, `.gitignore` and `.ignore` honoured, symlinks to files and
/// folders followed. A file reached by several paths (libvirt's `autostart/` links) is
/// linted once, under its most direct path. Paths are shown without a leading `./`.
pub fn discover(args: &[String]) -> Discovered {
    let mut found = Discovered::default();
    let mut files = Vec::new();
    let mut stdin = false;
    for arg in args {
        if arg == "-" {
            stdin = true;
            continue;
        }
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, None, &mut files, &mut found),
            Ok(_) => files.push(normalise(path)),
            Err(_) if is_glob(arg) => {
                let before = files.len();
                match expand_glob(arg, &mut files, &mut found) {
                    Ok(()) if files.len() == before => found.errors.push(InputError {
                        path: arg.clone(),
                        message: "no file matches this pattern".into(),
                    }),
                    Ok(()) => {}
                    Err(e) => found.errors.push(InputError {
                        path: arg.clone(),
                        message: e,
                    }),
                }
            }
            Err(e) => found.errors.push(InputError {
                path: arg.clone(),
                message: match e.kind() {
                    io::ErrorKind::NotFound if std::fs::symlink_metadata(path).is_ok() => {
                        "broken symlink (its target does not exist)".into()
                    }
                    io::ErrorKind::NotFound => "no such file or directory".into(),
                    _ => e.to_string(),
                },
            }),
        }
    }
    found.inputs = once_per_file(files).into_iter().map(Input::File).collect();
    if stdin {
        found.inputs.push(Input::Stdin);
    }
    found
}

/// `path` without `.` components: `./vms/a.xml` is shown as `vms/a.xml`.
fn normalise(path: &Path) -> PathBuf {
    let clean: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if clean.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        clean
    }
}

/// Sort, and keep one path per real file: the most direct one (no symlink on the way),
/// else the first.
fn once_per_file(mut files: Vec<PathBuf>) -> Vec<PathBuf> {
    files.sort();
    files.dedup();
    let mut by_real: std::collections::HashMap<PathBuf, usize> = Default::default();
    let mut keep: Vec<Option<PathBuf>> = Vec::with_capacity(files.len());
    for file in files {
        let Ok(real) = std::fs::canonicalize(&file) else {
            // Reading it will report the problem.
            keep.push(Some(file));
            continue;
        };
        let direct = std::path::absolute(&file).is_ok_and(|a| a == real);
        match by_real.get(&real) {
            Some(&i) => {
                let current_direct = keep[i]
                    .as_ref()
                    .and_then(|p| std::path::absolute(p).ok())
                    .is_some_and(|a| a == real);
                if direct && !current_direct {
                    keep[i] = Some(file);
                }
            }
            None => {
                by_real.insert(real, keep.len());
                keep.push(Some(file));
            }
        }
    }
    let mut out: Vec<PathBuf> = keep.into_iter().flatten().collect();
    out.sort();
    out
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

fn is_xml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
}

/// Walk `dir` for files: `*.xml` (or those `matcher` accepts). Errors (an unreadable
/// folder, a broken link to an `.xml` file) are recorded and the walk goes on.
fn walk(
    dir: &Path,
    matcher: Option<&GlobMatcher>,
    files: &mut Vec<PathBuf>,
    found: &mut Discovered,
) {
    let wanted = |path: &Path| match matcher {
        Some(m) => m.is_match(path),
        None => is_xml(path),
    };
    let walker = ignore::WalkBuilder::new(dir)
        .require_git(false)
        .hidden(false)
        .follow_links(true)
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|name| VCS_FOLDERS.contains(&name)))
        })
        .build();
    for entry in walker {
        match entry {
            Ok(entry) => {
                let path = normalise(entry.path());
                if entry.file_type().is_some_and(|t| t.is_file()) && wanted(&path) {
                    files.push(path);
                }
            }
            Err(e) => walk_error(e, &wanted, found),
        }
    }
}

/// Record a walk error: a loop is a note; an unreadable folder, or an `.xml` path that
/// cannot be followed, is an error. (A broken link that is not an `.xml` file is not
/// something virt-lint would lint: it is ignored.)
fn walk_error(error: ignore::Error, wanted: &dyn Fn(&Path) -> bool, found: &mut Discovered) {
    let mut path = None;
    let mut e = &error;
    loop {
        match e {
            ignore::Error::WithPath { path: p, err } => {
                path.get_or_insert_with(|| p.clone());
                e = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                e = err;
            }
            _ => break,
        }
    }
    match e {
        ignore::Error::Loop { ancestor, child } => found.notes.push(InputError {
            path: normalise(child).display().to_string(),
            message: format!(
                "symlink loop (leads back to {}); not followed",
                normalise(ancestor).display()
            ),
        }),
        ignore::Error::Io(io) => {
            let Some(path) = path else {
                found.errors.push(InputError {
                    path: "?".into(),
                    message: io.to_string(),
                });
                return;
            };
            let path = normalise(&path);
            let is_link =
                std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
            if is_link && io.kind() == io::ErrorKind::NotFound {
                if wanted(&path) {
                    found.errors.push(InputError {
                        path: path.display().to_string(),
                        message: "broken symlink (its target does not exist)".into(),
                    });
                }
                return;
            }
            let what = if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
                "cannot read folder"
            } else {
                "cannot read"
            };
            // Without walkdir's "IO error for operation on PATH" wrapping.
            let os_error = io.raw_os_error().or_else(|| {
                io.get_ref()
                    .and_then(|inner| inner.source())
                    .and_then(|source| source.downcast_ref::<io::Error>())
                    .and_then(io::Error::raw_os_error)
            });
            let cause = os_error.map_or_else(
                || io.to_string(),
                |code| io::Error::from_raw_os_error(code).to_string(),
            );
            found.errors.push(InputError {
                path: path.display().to_string(),
                message: format!("{what}: {cause}"),
            });
        }
        other => found.errors.push(InputError {
            path: path.map_or_else(|| "?".into(), |p| normalise(&p).display().to_string()),
            message: other.to_string(),
        }),
    }
}

/// Expand a pattern such as `vms/**/*.xml` from its longest literal directory prefix.
fn expand_glob(
    pattern: &str,
    files: &mut Vec<PathBuf>,
    found: &mut Discovered,
) -> Result<(), String> {
    let mut pattern = pattern;
    while let Some(rest) = pattern.strip_prefix("./") {
        pattern = rest.trim_start_matches('/');
    }
    let glob = GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob pattern: {e}"))?;
    let matcher = glob.compile_matcher();
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|part| !is_glob(part))
        .collect();
    let base = if literal.is_empty() {
        PathBuf::from(".")
    } else if pattern.starts_with('/') && literal.len() == 1 {
        PathBuf::from("/")
    } else {
        PathBuf::from(literal.join("/"))
    };
    if base.is_dir() {
        walk(&base, Some(&matcher), files, found);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_globs_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("vms/a")).unwrap();
        std::fs::write(root.join("vms/a/one.xml"), "<domain/>").unwrap();
        std::fs::write(root.join("vms/two.xml"), "<domain/>").unwrap();
        std::fs::write(root.join("vms/notes.txt"), "x").unwrap();
        std::fs::write(root.join("vms/ignored.xml"), "<domain/>").unwrap();
        std::fs::write(root.join("vms/.gitignore"), "ignored.xml\n").unwrap();
        let r = root.display();
        let Discovered { inputs, errors, .. } =
            discover(&[format!("{r}/vms"), format!("{r}/missing.xml")]);
        assert_eq!(
            inputs,
            vec![
                Input::File(root.join("vms/a/one.xml")),
                Input::File(root.join("vms/two.xml"))
            ]
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "no such file or directory");

        let Discovered { inputs, errors, .. } =
            discover(&[format!("{r}/vms/**/*.xml"), "-".into()]);
        assert!(errors.is_empty());
        assert_eq!(
            inputs,
            vec![
                Input::File(root.join("vms/a/one.xml")),
                Input::File(root.join("vms/two.xml")),
                Input::Stdin
            ]
        );
        let Discovered { inputs, errors, .. } = discover(&[format!("{r}/vms/*.xml")]);
        assert_eq!(inputs, vec![Input::File(root.join("vms/two.xml"))]);
        assert!(errors.is_empty());
        let errors = discover(&[format!("{r}/vms/*.yaml")]).errors;
        assert_eq!(errors[0].message, "no file matches this pattern");
    }
}
