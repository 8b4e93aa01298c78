//! Live libvirt domains through `virsh`: list a connection's domains, read each persistent
//! definition (`dumpxml --inactive`), and define a fixed one again.
//!
//! Nothing here lints or prints: the CLI turns each [`Fetched`] domain into an input named
//! `URI/NAME` and reports it like a file. Every failure is a [`LiveError`] that names its
//! cause (virsh missing, a connection that fails, a domain that does not exist) and the
//! connection or domain it concerns, so that one bad URI never hides the other domains.
//!
//! Domains are read in parallel, but never with more than [`MAX_VIRSH_PROCESSES`] virsh
//! processes at a time: each one opens its own connection to libvirtd.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most virsh processes run at once.
pub const MAX_VIRSH_PROCESSES: usize = 4;

/// The environment variable that names the virsh program (default: `virsh` on `PATH`).
pub const VIRSH_ENV: &str = "VIRT_LINT_VIRSH";

/// One domain of one connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LiveDomain {
    pub uri: String,
    pub name: String,
}

impl LiveDomain {
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        LiveDomain {
            uri: uri.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for LiveDomain {
    /// `URI/NAME`: how findings, diffs and errors name a live domain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.uri, self.name)
    }
}

/// What went wrong talking to libvirt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveErrorKind {
    /// The virsh program could not be started.
    VirshMissing,
    /// The connection URI could not be opened.
    Connect,
    /// The connection has no such domain.
    UnknownDomain,
    /// virsh failed for another reason (its own message is kept).
    Virsh,
}

/// A failure, with the connection or domain it concerns (`subject`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveError {
    pub kind: LiveErrorKind,
    /// `URI`, `URI/NAME`, or the virsh program.
    pub subject: String,
    pub message: String,
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

impl std::error::Error for LiveError {}

/// Which domains of each connection to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `--all-domains`: every persistent or running domain `virsh list --all` shows.
    All,
    /// `--domain NAME` (repeatable), in the order given.
    Named(Vec<String>),
}

/// One domain read from a connection: its definition, or why it could not be read.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub domain: LiveDomain,
    pub xml: Result<String, LiveError>,
}

/// The virsh program and how to call it.
#[derive(Debug, Clone)]
pub struct Virsh {
    program: OsString,
}

impl Default for Virsh {
    /// `$VIRT_LINT_VIRSH`, else `virsh` from `PATH`.
    fn default() -> Self {
        Virsh::new(std::env::var_os(VIRSH_ENV).unwrap_or_else(|| "virsh".into()))
    }
}

impl Virsh {
    pub fn new(program: impl Into<OsString>) -> Self {
        Virsh {
            program: program.into(),
        }
    }

    /// The names of every domain of `uri` (`virsh list --all --name`), sorted.
    pub fn list_domains(&self, uri: &str) -> Result<Vec<String>, LiveError> {
        let out = self.run(uri, None, &["list", "--all", "--name"])?;
        let mut names: Vec<String> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The persistent definition of `domain`: what it will boot with next time.
    pub fn dump_inactive(&self, domain: &LiveDomain) -> Result<String, LiveError> {
        self.run(
            &domain.uri,
            Some(&domain.name),
            &["dumpxml", "--inactive", "--", &domain.name],
        )
    }

    /// Define `xml` on `domain`'s connection, from a temporary file (`virsh define FILE`);
    /// virsh's own report (e.g. `Domain 'x' defined from /tmp/...`), trimmed.
    pub fn define(&self, domain: &LiveDomain, xml: &str) -> Result<String, LiveError> {
        let subject = domain.to_string();
        let local = |e: io::Error| LiveError {
            kind: LiveErrorKind::Virsh,
            subject: subject.clone(),
            message: format!("cannot write the temporary definition: {e}"),
        };
        let mut file = tempfile::Builder::new()
            .prefix("virt-lint-")
            .suffix(".xml")
            .tempfile()
            .map_err(local)?;
        file.write_all(xml.as_bytes()).map_err(local)?;
        file.flush().map_err(local)?;
        let path = file.path().to_string_lossy().into_owned();
        let out = self.run(&domain.uri, Some(&domain.name), &["define", "--", &path])?;
        Ok(out.trim().to_string())
    }

    /// Run `virsh -c URI ARGS`; its standard output, or the classified failure.
    fn run(&self, uri: &str, domain: Option<&str>, args: &[&str]) -> Result<String, LiveError> {
        let output = Command::new(&self.program)
            .arg("-c")
            .arg(uri)
            .args(args)
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .output()
            .map_err(|e| self.spawn_error(e))?;
        if output.status.success() {
            return String::from_utf8(output.stdout).map_err(|_| LiveError {
                kind: LiveErrorKind::Virsh,
                subject: subject(uri, domain),
                message: format!("`virsh {}` printed invalid UTF-8", args[0]),
            });
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(classify(uri, domain, args[0], &stderr, output.status))
    }

    fn spawn_error(&self, e: io::Error) -> LiveError {
        let program = self.program.to_string_lossy().into_owned();
        let message = match e.kind() {
            io::ErrorKind::NotFound => format!(
                "not installed or not on PATH; install libvirt-clients (Debian, Ubuntu) or libvirt-client (Fedora), or name the program in {VIRSH_ENV}"
            ),
            _ => format!("cannot run it: {e}"),
        };
        LiveError {
            kind: LiveErrorKind::VirshMissing,
            subject: program,
            message,
        }
    }
}

fn subject(uri: &str, domain: Option<&str>) -> String {
    match domain {
        Some(name) => format!("{uri}/{name}"),
        None => uri.to_string(),
    }
}

/// Turn virsh's failure into an error that names its cause.
fn classify(
    uri: &str,
    domain: Option<&str>,
    command: &str,
    stderr: &str,
    status: std::process::ExitStatus,
) -> LiveError {
    // virsh prefixes each line with `error: `; the generic lines add nothing.
    let details: Vec<&str> = stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("error: ").trim())
        .filter(|l| !l.is_empty())
        .collect();
    let has = |needle: &str| details.iter().any(|l| l.contains(needle));
    let specific = |generic: &[&str]| {
        let kept: Vec<&str> = details
            .iter()
            .copied()
            .filter(|l| !generic.iter().any(|g| l.starts_with(g)))
            .collect();
        if kept.is_empty() {
            format!("virsh {command} exited with {status}")
        } else {
            kept.join("; ")
        }
    };
    if has("failed to connect to the hypervisor") {
        return LiveError {
            kind: LiveErrorKind::Connect,
            subject: uri.to_string(),
            message: format!(
                "cannot connect: {}",
                specific(&["failed to connect to the hypervisor"])
            ),
        };
    }
    if let Some(name) = domain
        && (has("failed to get domain") || has("Domain not found"))
    {
        return LiveError {
            kind: LiveErrorKind::UnknownDomain,
            subject: uri.to_string(),
            message: format!("no domain named `{name}`"),
        };
    }
    LiveError {
        kind: LiveErrorKind::Virsh,
        subject: subject(uri, domain),
        message: format!("virsh {command} failed: {}", specific(&[])),
    }
}

/// Read the domains `selection` names from every connection of `uris`, at most `limit`
/// virsh processes at a time.
///
/// Returns the domains in a fixed order (connections as given; per connection, names as
/// given or sorted), and the connections that could not be listed. A missing virsh is
/// reported once, however many connections there are.
pub fn fetch(
    virsh: &Virsh,
    uris: &[String],
    selection: &Selection,
    limit: usize,
) -> (Vec<Fetched>, Vec<LiveError>) {
    let mut uris: Vec<&String> = uris.iter().collect();
    let mut seen = std::collections::HashSet::new();
    uris.retain(|u| seen.insert(*u));

    // Listing first: it checks the connection once, whatever the selection.
    let listed = bounded_map(&uris, limit, |uri| virsh.list_domains(uri));
    let mut errors: Vec<LiveError> = Vec::new();
    let mut wanted: Vec<LiveDomain> = Vec::new();
    for (uri, listing) in uris.iter().zip(listed) {
        match (listing, selection) {
            (Ok(names), Selection::All) => {
                wanted.extend(names.into_iter().map(|n| LiveDomain::new(*uri, n)));
            }
            (Ok(_), Selection::Named(names)) => {
                let mut seen = std::collections::HashSet::new();
                wanted.extend(
                    names
                        .iter()
                        .filter(|n| seen.insert(*n))
                        .map(|n| LiveDomain::new(*uri, n)),
                );
            }
            (Err(e), _) => {
                if e.kind != LiveErrorKind::VirshMissing || !errors.contains(&e) {
                    errors.push(e);
                }
            }
        }
    }
    let dumps = bounded_map(&wanted, limit, |d| virsh.dump_inactive(d));
    let fetched = wanted
        .into_iter()
        .zip(dumps)
        .map(|(domain, xml)| Fetched { domain, xml })
        .collect();
    (fetched, errors)
}

/// `f` over every item on at most `limit` threads at once; results in item order.
pub fn bounded_map<T: Sync, R: Send>(
    items: &[T],
    limit: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let workers = limit.max(1).min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        // Cannot panic: the workers take every index below `items.len()` before the scope
        // ends (a worker that panicked has already propagated out of `thread::scope`).
        .map(|r| r.expect("every item was processed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;

    fn failed() -> std::process::ExitStatus {
        std::process::ExitStatus::from_raw(1 << 8)
    }

    #[test]
    fn names_are_uri_slash_name() {
        let d = LiveDomain::new("qemu+ssh://host/system", "win10");
        assert_eq!(d.to_string(), "qemu+ssh://host/system/win10");
    }

    #[test]
    fn connection_failures_name_the_uri_and_the_cause() {
        let e = classify(
            "test:///nowhere/node.xml",
            None,
            "list",
            "I/O warning : failed to load external entity \"/nowhere/node.xml\"\nerror: failed to connect to the hypervisor\nerror: XML error: failed to parse xml document '/nowhere/node.xml'\n",
            failed(),
        );
        assert_eq!(e.kind, LiveErrorKind::Connect);
        assert_eq!(
            e.to_string(),
            "test:///nowhere/node.xml: cannot connect: I/O warning : failed to load external entity \"/nowhere/node.xml\"; XML error: failed to parse xml document '/nowhere/node.xml'"
        );
    }

    #[test]
    fn unknown_domains_and_other_failures() {
        let e = classify(
            "test:///default",
            Some("nosuch"),
            "dumpxml",
            "error: failed to get domain 'nosuch'\n",
            failed(),
        );
        assert_eq!(e.kind, LiveErrorKind::UnknownDomain);
        assert_eq!(e.to_string(), "test:///default: no domain named `nosuch`");

        let e = classify(
            "test:///default",
            Some("win10"),
            "define",
            "error: Failed to define domain from /tmp/x.xml\nerror: XML error: bad\n",
            failed(),
        );
        assert_eq!(e.kind, LiveErrorKind::Virsh);
        assert_eq!(
            e.to_string(),
            "test:///default/win10: virsh define failed: Failed to define domain from /tmp/x.xml; XML error: bad"
        );
        let e = classify("test:///default", None, "list", "", failed());
        assert_eq!(
            e.message,
            "virsh list failed: virsh list exited with exit status: 1"
        );
    }

    #[test]
    fn a_missing_virsh_is_reported_once_for_all_connections() {
        let virsh = Virsh::new("/nonexistent/virt-lint-test/virsh");
        let (fetched, errors) = fetch(
            &virsh,
            &["test:///a".into(), "test:///b".into(), "test:///a".into()],
            &Selection::All,
            4,
        );
        assert!(fetched.is_empty());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].kind, LiveErrorKind::VirshMissing);
        assert!(
            errors[0]
                .to_string()
                .starts_with("/nonexistent/virt-lint-test/virsh: not installed or not on PATH; "),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn bounded_map_keeps_order_and_the_bound() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<usize> = (0..24).collect();
        let out = bounded_map(&items, 3, |&i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!((2..=3).contains(&most), "at most 3 at once, saw {most}");
        assert_eq!(bounded_map(&[] as &[usize], 3, |&i| i), Vec::<usize>::new());
        assert_eq!(bounded_map(&[1, 2], 0, |&i| i + 1), vec![2, 3]);
    }
}
