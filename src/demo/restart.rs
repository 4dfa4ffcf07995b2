//! Process control for the demo server: the `__demo-restart` command ("restart the service")
//! and the start and stop helpers that `certwiz demo` uses.
//!
//! The server records itself in `DIR/server.json`. A restart stops the recorded process,
//! starts the recorded argv again as a detached process and waits until the new process has
//! recorded itself and accepts TCP connections.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::{Deserialize, Serialize};

use super::server::{ServerArgs, SUBCOMMAND};
use crate::cli::{Cli, Command as CliCommand};

/// File name of the server state inside the state directory.
pub const STATE_FILE: &str = "server.json";

/// Time a server gets to exit after SIGTERM before it gets SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// Time a server gets to disappear after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(2);

/// Time a new server gets to record its state and accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

const POLL_INTERVAL: Duration = Duration::from_millis(50);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// Arguments of the hidden `__demo-restart` command.
#[derive(Debug, Clone, clap::Args)]
pub struct RestartArgs {
    /// Directory holding the server's state (pid, port, original arguments).
    #[arg(long)]
    pub state: PathBuf,
}

/// Contents of `server.json`: the running server and how to start it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub pid: u32,
    pub port: u16,
    /// Full argv, executable first, with the listen port fixed to `port`.
    pub args: Vec<String>,
}

/// Error of a start, stop or restart of the demo server.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot read server state {}: {source}", .path.display())]
    ReadState { path: PathBuf, source: io::Error },

    #[error("invalid server state {}: {source}", .path.display())]
    ParseState {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("invalid server state {}: pid {pid} is not a valid process id", .path.display())]
    InvalidPid { path: PathBuf, pid: u32 },

    #[error("invalid server state {}: args are not a `{SUBCOMMAND}` command line: {args:?}", .path.display())]
    NotServerCommand { path: PathBuf, args: Vec<String> },

    #[error("failed to send {signal} to process {pid}: {source}")]
    Signal {
        pid: u32,
        signal: &'static str,
        source: io::Error,
    },

    #[error("process {pid} is still running {waited:?} after SIGKILL")]
    StillRunning { pid: u32, waited: Duration },

    #[error("failed to open log {}: {source}", .path.display())]
    OpenLog { path: PathBuf, source: io::Error },

    #[error("failed to start {}: {source}", .exe.display())]
    Spawn { exe: PathBuf, source: io::Error },

    #[error("failed to check server process {pid}: {source}")]
    Wait { pid: u32, source: io::Error },

    #[error("server exited ({status}) before it was ready; see log {}", .log.display())]
    ExitedEarly { status: ExitStatus, log: PathBuf },

    #[error("server (pid {pid}) was not ready within {waited:?} and was killed; see log {}", .log.display())]
    NotReady {
        pid: u32,
        waited: Duration,
        log: PathBuf,
    },
}

impl From<ControlError> for io::Error {
    fn from(error: ControlError) -> io::Error {
        let kind = match &error {
            ControlError::ReadState { source, .. }
            | ControlError::OpenLog { source, .. }
            | ControlError::Spawn { source, .. } => source.kind(),
            ControlError::ParseState { .. }
            | ControlError::InvalidPid { .. }
            | ControlError::NotServerCommand { .. } => io::ErrorKind::InvalidData,
            ControlError::StillRunning { .. } | ControlError::NotReady { .. } => {
                io::ErrorKind::TimedOut
            }
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, error)
    }
}

/// Restarts the server recorded in `args.state`; exits 0 once the new server accepts
/// connections, or prints the error to stderr and exits 1.
pub fn run(args: RestartArgs) -> ExitCode {
    match restart_server(&args.state) {
        Ok(info) => {
            println!("demo server restarted: pid {}, port {}", info.pid, info.port);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("certwiz: demo server restart failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Returns the path of `server.json` in a state directory.
pub fn state_path(state: &Path) -> PathBuf {
    state.join(STATE_FILE)
}

/// Reads and validates `server.json` in `state`.
pub fn read_state(state: &Path) -> io::Result<ServerInfo> {
    Ok(load_state(state)?)
}

/// Starts a server with `exe __demo-server ARGS` as a detached process and waits until it
/// accepts connections. Relative paths in `args` are made absolute first.
pub fn start_server(exe: &Path, args: &ServerArgs) -> io::Result<ServerInfo> {
    let args = args.to_absolute()?;
    fs::create_dir_all(&args.state)?;

    let mut argv = vec![SUBCOMMAND.into()];
    argv.extend(args.to_args());

    let child = spawn_detached(exe.as_os_str(), &argv, &args.log)?;
    Ok(wait_ready(child, &args)?)
}

/// Stops the server recorded in `state`: SIGTERM, then SIGKILL after 5 s. Succeeds at once
/// when the recorded process is gone or is not a demo server any more.
pub fn stop_server(state: &Path) -> io::Result<()> {
    let info = load_state(state)?;
    Ok(stop_process(info.pid)?)
}

/// Stops the server recorded in `state`, starts its recorded argv again and waits until the
/// new process accepts connections.
pub fn restart_server(state: &Path) -> io::Result<ServerInfo> {
    let info = load_state(state)?;
    let args = recorded_server_args(&info, state)?;

    stop_process(info.pid)?;

    // `recorded_server_args` has parsed the argv, so it has an executable and a subcommand.
    let (exe, rest) = info.args.split_first().ok_or_else(|| not_server_command(&info, state))?;
    let child = spawn_detached(OsStr::new(exe), rest, &args.log)?;
    Ok(wait_ready(child, &args)?)
}

fn load_state(state: &Path) -> Result<ServerInfo, ControlError> {
    let path = state_path(state);
    let text = fs::read_to_string(&path).map_err(|source| ControlError::ReadState {
        path: path.clone(),
        source,
    })?;
    let info: ServerInfo = serde_json::from_str(&text).map_err(|source| ControlError::ParseState {
        path: path.clone(),
        source,
    })?;

    // kill(2) treats 0, -1 and other non-positive pids as process groups, and pid 1 is init.
    if info.pid <= 1 || i32::try_from(info.pid).is_err() {
        return Err(ControlError::InvalidPid {
            path,
            pid: info.pid,
        });
    }

    Ok(info)
}

/// Parses the recorded argv with the real command-line parser.
fn recorded_server_args(info: &ServerInfo, state: &Path) -> Result<ServerArgs, ControlError> {
    match Cli::try_parse_from(&info.args) {
        Ok(Cli {
            command: CliCommand::DemoServer(args),
            ..
        }) => Ok(args),
        _ => Err(not_server_command(info, state)),
    }
}

fn not_server_command(info: &ServerInfo, state: &Path) -> ControlError {
    ControlError::NotServerCommand {
        path: state_path(state),
        args: info.args.clone(),
    }
}

/// Starts `exe args` in a new session with stdin from /dev/null and stdout and stderr
/// appended to `log`, so it outlives the caller and keeps none of the caller's pipes open.
fn spawn_detached<S: AsRef<OsStr>>(exe: &OsStr, args: &[S], log: &Path) -> Result<Child, ControlError> {
    let open_error = |source| ControlError::OpenLog {
        path: log.to_path_buf(),
        source,
    };
    let stdout = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(open_error)?;
    let stderr = stdout.try_clone().map_err(open_error)?;

    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);

    // SAFETY: the closure runs between fork and exec, where only async-signal-safe calls are
    // allowed. It calls setsid(2), which is one, and allocates nothing on success.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }

    command.spawn().map_err(|source| ControlError::Spawn {
        exe: PathBuf::from(exe),
        source,
    })
}

/// Waits until `child` has recorded itself in `server.json` and accepts TCP connections on
/// the recorded port. Kills it when it is not ready in time.
fn wait_ready(mut child: Child, args: &ServerArgs) -> Result<ServerInfo, ControlError> {
    let pid = child.id();
    let deadline = Instant::now() + READY_TIMEOUT;

    loop {
        let status = child
            .try_wait()
            .map_err(|source| ControlError::Wait { pid, source })?;
        if let Some(status) = status {
            return Err(ControlError::ExitedEarly {
                status,
                log: args.log.clone(),
            });
        }

        if let Ok(info) = load_state(&args.state) {
            if info.pid == pid && accepts_connections(args.listen.ip(), info.port) {
                reap_in_background(child);
                return Ok(info);
            }
        }

        if Instant::now() >= deadline {
            // Errors are ignored because the child may have exited since `try_wait`.
            let _ = child.kill();
            let _ = child.wait();
            return Err(ControlError::NotReady {
                pid,
                waited: READY_TIMEOUT,
                log: args.log.clone(),
            });
        }

        thread::sleep(POLL_INTERVAL);
    }
}

fn accepts_connections(ip: IpAddr, port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::new(ip, port), CONNECT_TIMEOUT).is_ok()
}

/// Waits for `child` on a background thread, so a server that this process started does not
/// stay a zombie after it exits.
fn reap_in_background(mut child: Child) {
    let spawned = thread::Builder::new()
        .name("demo-server-reaper".to_string())
        .spawn(move || child.wait());
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start a thread to reap the demo server");
    }
}

/// Sends SIGTERM to a demo server, then SIGKILL if it is still running after `STOP_TIMEOUT`.
fn stop_process(pid: u32) -> Result<(), ControlError> {
    // A recorded pid that now belongs to another program is left alone.
    if !is_demo_server(pid) {
        return Ok(());
    }

    send_signal(pid, libc::SIGTERM, "SIGTERM")?;
    if wait_gone(pid, STOP_TIMEOUT) {
        return Ok(());
    }

    send_signal(pid, libc::SIGKILL, "SIGKILL")?;
    if wait_gone(pid, KILL_TIMEOUT) {
        return Ok(());
    }

    Err(ControlError::StillRunning {
        pid,
        waited: KILL_TIMEOUT,
    })
}

/// Returns whether `pid` is a live (not zombie) process running the demo server subcommand.
///
/// NOTE: any demo server matches, including one that uses another state directory.
fn is_demo_server(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    let Ok(process) = procfs::process::Process::new(pid) else {
        return false;
    };

    let alive = process
        .stat()
        .is_ok_and(|stat| !matches!(stat.state, 'Z' | 'X' | 'x'));
    let is_server = process
        .cmdline()
        .is_ok_and(|argv| argv.iter().any(|arg| arg == SUBCOMMAND));

    alive && is_server
}

fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while is_demo_server(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
    true
}

fn send_signal(pid: u32, signal: libc::c_int, name: &'static str) -> Result<(), ControlError> {
    let signal_error = |source| ControlError::Signal {
        pid,
        signal: name,
        source,
    };
    let target = i32::try_from(pid).map_err(|_| signal_error(io::ErrorKind::InvalidInput.into()))?;

    // SAFETY: kill(2) takes plain integers and touches no memory of this process. `target` is
    // a single process: `load_state` rejects pids below 2.
    if unsafe { libc::kill(target, signal) } == 0 {
        return Ok(());
    }

    let error = io::Error::last_os_error();
    match error.raw_os_error() {
        // The process exited between the check and the signal.
        Some(libc::ESRCH) => Ok(()),
        _ => Err(signal_error(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_state_file(dir: &Path, text: &str) {
        fs::write(state_path(dir), text).unwrap();
    }

    fn info_with_pid(pid: u32) -> String {
        serde_json::to_string(&ServerInfo {
            pid,
            port: 8443,
            args: vec!["/usr/bin/certwiz".into(), SUBCOMMAND.into()],
        })
        .unwrap()
    }

    #[test]
    fn read_state_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();

        let error = read_state(dir.path()).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains(&state_path(dir.path()).display().to_string()));
    }

    #[test]
    fn read_state_garbage_is_invalid_data() {
        let dir = tempfile::tempdir().unwrap();
        write_state_file(dir.path(), "{ not json");

        let error = read_state(dir.path()).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn read_state_rejects_group_pids() {
        let dir = tempfile::tempdir().unwrap();

        for pid in [0, 1, u32::MAX, i32::MAX as u32 + 1] {
            write_state_file(dir.path(), &info_with_pid(pid));

            let error = read_state(dir.path()).unwrap_err();

            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "pid {pid}");
        }
    }

    #[test]
    fn read_state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        write_state_file(dir.path(), &info_with_pid(4242));

        let info = read_state(dir.path()).unwrap();

        assert_eq!(info.pid, 4242);
        assert_eq!(info.port, 8443);
        assert_eq!(info.args[1], SUBCOMMAND);
    }

    #[test]
    fn restart_rejects_foreign_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let info = ServerInfo {
            pid: 4242,
            port: 8443,
            args: vec!["/bin/sh".into(), "-c".into(), "true".into()],
        };
        write_state_file(dir.path(), &serde_json::to_string(&info).unwrap());

        let error = restart_server(dir.path()).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("/bin/sh"), "{error}");
    }

    #[test]
    fn stop_leaves_other_programs_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
        write_state_file(dir.path(), &info_with_pid(sleeper.id()));

        let result = stop_server(dir.path());
        let still_running = sleeper.try_wait().unwrap().is_none();
        let _ = sleeper.kill();
        let _ = sleeper.wait();

        assert!(result.is_ok(), "{result:?}");
        assert!(still_running);
    }

    #[test]
    fn stop_escalates_to_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        // A shell that ignores SIGTERM and carries the subcommand name in its argv.
        let mut stubborn = Command::new("sh")
            .args(["-c", "trap '' TERM; while :; do sleep 0.05; done", SUBCOMMAND])
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(200));
        write_state_file(dir.path(), &info_with_pid(stubborn.id()));

        let started = Instant::now();
        let result = stop_server(dir.path());
        let elapsed = started.elapsed();
        let status = stubborn.wait().unwrap();

        assert!(result.is_ok(), "{result:?}");
        assert!(elapsed >= STOP_TIMEOUT, "stopped after {elapsed:?}");
        assert!(elapsed < STOP_TIMEOUT + KILL_TIMEOUT, "stopped after {elapsed:?}");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
    }

    #[test]
    fn start_missing_executable_is_spawn_error() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServerArgs {
            state: dir.path().to_path_buf(),
            cert: dir.path().join("site.crt"),
            key: dir.path().join("site.key"),
            listen: "127.0.0.1:0".parse().unwrap(),
            log: dir.path().join("server.log"),
        };

        let error = start_server(&dir.path().join("no-such-binary"), &args).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("no-such-binary"), "{error}");
    }

    #[test]
    fn start_early_exit_reports_status_and_log() {
        let dir = tempfile::tempdir().unwrap();
        let args = ServerArgs {
            state: dir.path().to_path_buf(),
            cert: dir.path().join("site.crt"),
            key: dir.path().join("site.key"),
            listen: "127.0.0.1:0".parse().unwrap(),
            log: dir.path().join("server.log"),
        };

        // `false` exits 1 at once, like a server that fails to load its certificate.
        let error = start_server(Path::new("/bin/false"), &args).unwrap_err();

        let message = error.to_string();
        assert!(message.contains("exit status: 1"), "{message}");
        assert!(message.contains("server.log"), "{message}");
    }
}
