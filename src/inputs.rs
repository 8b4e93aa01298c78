//! Finding the inputs of a run: files, folders (walked for `*.xml`, honouring
//! `.gitignore`), glob patterns the shell left unexpanded, and `-` for standard input.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

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

/// An argument that names nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

/// Expand the command-line arguments into inputs, sorted by path (standard input last)
/// and without duplicates, plus the arguments that matched nothing.
pub fn discover(args: &[String]) -> (Vec<Input>, Vec<InputError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut stdin = false;
    for arg in args {
        if arg == "-" {
            stdin = true;
            continue;
        }
        let path = Path::new(arg);
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => match walk(path, None) {
                Ok(found) => inputs.extend(found),
                Err(e) => errors.push(InputError {
                    path: arg.clone(),
                    message: e,
                }),
            },
            Ok(_) => inputs.push(path.to_path_buf()),
            Err(_) if is_glob(arg) => match expand_glob(arg) {
                Ok(found) if found.is_empty() => errors.push(InputError {
                    path: arg.clone(),
                    message: "no file matches this pattern".into(),
                }),
                Ok(found) => inputs.extend(found),
                Err(e) => errors.push(InputError {
                    path: arg.clone(),
                    message: e,
                }),
            },
            Err(e) => errors.push(InputError {
                path: arg.clone(),
                message: match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file or directory".into(),
                    _ => e.to_string(),
                },
            }),
        }
    }
    inputs.sort();
    inputs.dedup();
    let mut inputs: Vec<Input> = inputs.into_iter().map(Input::File).collect();
    if stdin {
        inputs.push(Input::Stdin);
    }
    (inputs, errors)
}

fn is_glob(arg: &str) -> bool {
    arg.contains(['*', '?', '['])
}

/// Walk `dir` for files: `*.xml` (or those `matcher` accepts), honouring ignore files.
fn walk(dir: &Path, matcher: Option<&GlobMatcher>) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .require_git(false)
        .hidden(true)
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| e.to_string())?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let keep = match matcher {
            Some(m) => m.is_match(path.strip_prefix("./").unwrap_or(path)),
            None => path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xml")),
        };
        if keep {
            found.push(path.to_path_buf());
        }
    }
    Ok(found)
}

/// Expand a pattern such as `vms/**/*.xml` from its longest literal directory prefix.
fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>, String> {
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
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    walk(&base, Some(&matcher))
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
        let (inputs, errors) = discover(&[format!("{r}/vms"), format!("{r}/missing.xml")]);
        assert_eq!(
            inputs,
            vec![
                Input::File(root.join("vms/a/one.xml")),
                Input::File(root.join("vms/two.xml"))
            ]
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "no such file or directory");

        let (inputs, errors) = discover(&[format!("{r}/vms/**/*.xml"), "-".into()]);
        assert!(errors.is_empty());
        assert_eq!(
            inputs,
            vec![
                Input::File(root.join("vms/a/one.xml")),
                Input::File(root.join("vms/two.xml")),
                Input::Stdin
            ]
        );
        let (inputs, errors) = discover(&[format!("{r}/vms/*.xml")]);
        assert_eq!(inputs, vec![Input::File(root.join("vms/two.xml"))]);
        assert!(errors.is_empty());
        let (_, errors) = discover(&[format!("{r}/vms/*.yaml")]);
        assert_eq!(errors[0].message, "no file matches this pattern");
    }
}
