//! Processes listening on a TCP port, their start times, and file modification times.
//!
//! Linux only: sockets and processes are read from /proc through the `procfs` crate.

use std::collections::HashSet;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use procfs::net::{TcpNetEntry, TcpState};
use procfs::process::{FDTarget, Process};
use procfs::ProcError;

/// A process with a listening TCP socket open.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListenerProcess {
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Executable name from /proc/PID/stat (`comm`, at most 15 bytes), or argv[0] if that is empty.
    pub command: String,
    pub started_at: SystemTime,
}

/// Failure to read process or socket information from /proc.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("process {pid} not found")]
    NotFound { pid: i32 },

    #[error("permission denied reading process {pid}")]
    PermissionDenied { pid: i32 },

    #[error("failed to read {path}: {source}")]
    Proc { path: String, source: ProcError },

    #[error("start time of process {pid} is out of range")]
    StartTimeOutOfRange { pid: i32 },
}

/// Finds the main process listening on TCP `port` (IPv4 or IPv6, any address).
///
/// Several processes can hold the same socket: an nginx master and its workers, or forked
/// children. This returns the one whose parent does not hold it (the nginx master), and the
/// oldest of those if there are several. An nginx reload keeps the master and starts new
/// workers, so use [`find_listeners`] to see worker start times.
///
/// Returns `Ok(None)` if nothing listens, or if no process holding the socket can be
/// inspected (another user's process when not running as root). Only the network namespace
/// of this process is searched, so a server in a container with its own network namespace
/// shows up as the port forwarder that publishes the port (for example docker-proxy), if any.
pub fn find_listener(port: u16) -> Result<Option<ListenerProcess>, ProcessError> {
    let holders = find_listeners(port)?;
    Ok(main_process(&holders).cloned())
}

/// Finds every inspectable process with a listening TCP socket on `port` open, ordered by pid.
pub fn find_listeners(port: u16) -> Result<Vec<ListenerProcess>, ProcessError> {
    let inodes = listening_inodes(port)?;
    if inodes.is_empty() {
        return Ok(Vec::new());
    }

    let mut holders = Vec::new();
    let processes = procfs::process::all_processes().map_err(|source| ProcessError::Proc {
        path: "/proc".to_string(),
        source,
    })?;
    for process in processes {
        let process = match process {
            Ok(process) => process,
            Err(err) => {
                tracing::debug!(error = %err, "skipping unreadable /proc entry");
                continue;
            }
        };
        if !holds_any_socket(&process, &inodes) {
            continue;
        }
        match describe_process(&process) {
            Ok(holder) => holders.push(holder),
            // The process may exit between the fd scan and reading its stat.
            Err(err) => tracing::debug!(pid = process.pid, error = %err, "skipping listener"),
        }
    }

    if holders.is_empty() {
        tracing::debug!(
            port,
            "port is listening but no process holding it can be inspected"
        );
    }
    holders.sort_by_key(|holder| holder.pid);
    Ok(holders)
}

/// Returns the start time of process `pid`: boot time plus the `starttime` field of
/// /proc/PID/stat. The resolution is one second, because /proc/stat gives the boot time
/// in whole seconds.
pub fn process_start_time(pid: i32) -> Result<SystemTime, ProcessError> {
    let process = Process::new(pid).map_err(|err| process_error(pid, err))?;
    let stat = process.stat().map_err(|err| process_error(pid, err))?;
    start_time_from_ticks(pid, stat.starttime)
}

/// Returns the modification time of `path`, following symlinks (as nginx does when it opens it).
pub fn file_mtime(path: &Path) -> Result<SystemTime, io::Error> {
    std::fs::metadata(path)?.modified()
}

/// Collects the socket inodes in LISTEN state on `port` from /proc/net/tcp and /proc/net/tcp6.
fn listening_inodes(port: u16) -> Result<HashSet<u64>, ProcessError> {
    let mut entries = read_socket_table("/proc/net/tcp", procfs::net::tcp())?;
    entries.extend(read_socket_table("/proc/net/tcp6", procfs::net::tcp6())?);

    let inodes = entries
        .iter()
        .filter(|entry| entry.state == TcpState::Listen && entry.local_address.port() == port)
        .map(|entry| entry.inode)
        .collect();
    Ok(inodes)
}

/// Treats a missing table as empty, because /proc/net/tcp6 is absent when IPv6 is disabled.
fn read_socket_table(
    path: &str,
    table: procfs::ProcResult<Vec<TcpNetEntry>>,
) -> Result<Vec<TcpNetEntry>, ProcessError> {
    match table {
        Ok(entries) => Ok(entries),
        Err(ProcError::NotFound(_)) => {
            tracing::debug!(path, "socket table not found, treating it as empty");
            Ok(Vec::new())
        }
        Err(source) => Err(ProcessError::Proc {
            path: path.to_string(),
            source,
        }),
    }
}

/// Returns whether one of the process's file descriptors is one of `inodes`.
/// Processes whose fd directory cannot be read (permission, exited) count as not holding.
fn holds_any_socket(process: &Process, inodes: &HashSet<u64>) -> bool {
    let fds = match process.fd() {
        Ok(fds) => fds,
        Err(err) => {
            tracing::debug!(pid = process.pid, error = %err, "cannot list file descriptors");
            return false;
        }
    };

    fds.flatten()
        .any(|fd| matches!(fd.target, FDTarget::Socket(inode) if inodes.contains(&inode)))
}

fn describe_process(process: &Process) -> Result<ListenerProcess, ProcessError> {
    let pid = process.pid;
    let stat = process.stat().map_err(|err| process_error(pid, err))?;

    let command = if stat.comm.is_empty() {
        first_argument(process).unwrap_or_default()
    } else {
        stat.comm.clone()
    };

    Ok(ListenerProcess {
        pid,
        ppid: stat.ppid,
        command,
        started_at: start_time_from_ticks(pid, stat.starttime)?,
    })
}

fn first_argument(process: &Process) -> Option<String> {
    process.cmdline().ok()?.into_iter().next()
}

/// Picks the holders whose parent is not a holder, then the oldest of them (lowest pid on ties).
fn main_process(holders: &[ListenerProcess]) -> Option<&ListenerProcess> {
    let pids: HashSet<i32> = holders.iter().map(|holder| holder.pid).collect();

    holders
        .iter()
        .filter(|holder| !pids.contains(&holder.ppid))
        .min_by_key(|holder| (holder.started_at, holder.pid))
}

fn start_time_from_ticks(pid: i32, start_ticks: u64) -> Result<SystemTime, ProcessError> {
    let boot_secs = procfs::boot_time_secs().map_err(|source| ProcessError::Proc {
        path: "/proc/stat".to_string(),
        source,
    })?;
    let ticks_per_second = procfs::ticks_per_second().max(1);

    let since_boot = Duration::from_secs(start_ticks / ticks_per_second)
        + Duration::from_nanos((start_ticks % ticks_per_second) * 1_000_000_000 / ticks_per_second);
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(boot_secs))
        .and_then(|boot| boot.checked_add(since_boot))
        .ok_or(ProcessError::StartTimeOutOfRange { pid })
}

fn process_error(pid: i32, err: ProcError) -> ProcessError {
    match err {
        ProcError::NotFound(_) => ProcessError::NotFound { pid },
        ProcError::PermissionDenied(_) => ProcessError::PermissionDenied { pid },
        source => ProcessError::Proc {
            path: format!("/proc/{pid}"),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::process::{Child, ChildStdin, Command, Stdio};

    /// A python3 child that listens on 127.0.0.1 and exits when its stdin closes.
    /// With `fork`, the listener forks once after listen(), like an nginx master and worker.
    struct PythonListener {
        child: Child,
        stdin: Option<ChildStdin>,
        port: u16,
        forked_pid: Option<i32>,
    }

    const LISTEN_SCRIPT: &str = r#"
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen()
forked = 0
if sys.argv[1] == "fork":
    forked = os.fork()
    if forked == 0:
        sys.stdin.read()
        os._exit(0)
print(s.getsockname()[1], forked, flush=True)
sys.stdin.read()
if forked:
    os.waitpid(forked, 0)
"#;

    impl PythonListener {
        fn spawn(mode: &str) -> PythonListener {
            let mut child = Command::new("python3")
                .args(["-c", LISTEN_SCRIPT, mode])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn python3");
            let stdin = child.stdin.take();
            let stdout = child.stdout.take().expect("piped stdout");

            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("read port line");
            let mut fields = line.split_whitespace();
            let port = fields
                .next()
                .and_then(|field| field.parse().ok())
                .unwrap_or_else(|| panic!("unexpected output {line:?}"));
            let forked_pid = fields
                .next()
                .and_then(|field| field.parse::<i32>().ok())
                .filter(|pid| *pid != 0);

            PythonListener {
                child,
                stdin,
                port,
                forked_pid,
            }
        }

        fn pid(&self) -> i32 {
            i32::try_from(self.child.id()).expect("pid fits i32")
        }
    }

    impl Drop for PythonListener {
        fn drop(&mut self) {
            // Closing stdin ends both python processes; kill is the fallback.
            drop(self.stdin.take());
            if self.child.try_wait().ok().flatten().is_none() {
                let deadline = std::time::Instant::now() + Duration::from_secs(5);
                while std::time::Instant::now() < deadline {
                    if self.child.try_wait().ok().flatten().is_some() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local addr").port()
    }

    #[test]
    fn find_listener_finds_own_process() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let now = SystemTime::now();

        let found = find_listener(port).expect("scan").expect("listener found");

        assert_eq!(found.pid, std::process::id() as i32);
        assert!(found.started_at <= now, "{found:?}");
        assert!(
            found.started_at > now - Duration::from_secs(24 * 3600),
            "{found:?}"
        );
        assert!(!found.command.is_empty());
    }

    #[test]
    fn find_listener_finds_child_process() {
        let child = PythonListener::spawn("single");

        let found = find_listener(child.port)
            .expect("scan")
            .expect("listener found");

        assert_eq!(found.pid, child.pid());
        assert_eq!(found.ppid, std::process::id() as i32);
        assert!(found.command.starts_with("python"), "{found:?}");
    }

    #[test]
    fn find_listener_prefers_parent_over_forked_child() {
        let child = PythonListener::spawn("fork");
        let forked_pid = child.forked_pid.expect("forked pid printed");

        let all = find_listeners(child.port).expect("scan");
        let main = find_listener(child.port)
            .expect("scan")
            .expect("listener found");

        let pids: Vec<i32> = all.iter().map(|holder| holder.pid).collect();
        assert!(pids.contains(&child.pid()), "{all:?}");
        assert!(pids.contains(&forked_pid), "{all:?}");
        assert_eq!(main.pid, child.pid());
    }

    #[test]
    fn find_listener_free_port_is_none() {
        let port = free_port();

        let found = find_listener(port).expect("scan");

        assert_eq!(found, None);
    }

    #[test]
    fn find_listener_ignores_connected_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let client_port = client.local_addr().expect("client addr").port();

        let found = find_listener(client_port).expect("scan");

        assert_eq!(found, None);
    }

    #[test]
    fn process_start_time_of_child_is_recent() {
        let before = SystemTime::now();
        let child = PythonListener::spawn("single");
        let after = SystemTime::now();

        let started = process_start_time(child.pid()).expect("start time");

        // Boot time has one-second resolution and start ticks are truncated, so allow two seconds.
        assert!(
            started >= before - Duration::from_secs(2),
            "{started:?} vs {before:?}"
        );
        assert!(started <= after, "{started:?} vs {after:?}");
    }

    #[test]
    fn process_start_time_unknown_pid() {
        // Above the kernel's PID_MAX_LIMIT (2^22), so no process can have it.
        let err = process_start_time(i32::MAX).expect_err("must fail");

        assert!(
            matches!(err, ProcessError::NotFound { pid: i32::MAX }),
            "{err:?}"
        );
    }

    #[test]
    fn file_mtime_follows_symlink() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("fullchain.pem");
        let link = dir.path().join("live.pem");
        let file = std::fs::File::create(&target).expect("create target");
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(978_307_200);
        file.set_modified(old).expect("set mtime");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");

        let mtime = file_mtime(&link).expect("mtime");

        assert_eq!(mtime, old);
        assert_eq!(
            mtime,
            std::fs::metadata(&target)
                .expect("metadata")
                .modified()
                .expect("mtime")
        );
        let link_mtime = std::fs::symlink_metadata(&link)
            .expect("lstat")
            .modified()
            .expect("mtime");
        assert_ne!(mtime, link_mtime);
    }

    #[test]
    fn file_mtime_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");

        let err = file_mtime(&dir.path().join("absent.pem")).expect_err("must fail");

        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
