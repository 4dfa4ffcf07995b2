//! Running repair commands (such as `1pctl restart core`) as child processes with a
//! timeout, without a shell.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::oneshot;

/// Maximum bytes kept from the end of stdout and of stderr.
const MAX_OUTPUT_TAIL: usize = 64 * 1024;

/// Time between SIGTERM and SIGKILL for a process group that is being stopped.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// Time to keep reading output after the direct child exits. A daemon started by the
/// command can hold the pipes open for good, so the outcome cannot wait for EOF.
const DRAIN_GRACE: Duration = Duration::from_millis(300);

/// Interval between checks whether a process group is gone.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Process groups started by [`run_command`] that are still running.
static RUNNING_GROUPS: ProcessGroups = ProcessGroups::new();

/// Error while preparing or running a command.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The command text or argument list is empty.
    #[error("empty command")]
    EmptyCommand,

    /// The command text cannot be split into words, for example because of an
    /// unbalanced quote.
    #[error("invalid command text, check for an unbalanced quote: {text}")]
    Unparsable { text: String },

    /// The program does not exist or is not on `PATH`.
    #[error("program not found: {program}")]
    NotFound { program: String },

    /// Starting the program, or waiting for it, failed for a reason other than a
    /// missing program (for example permission denied).
    #[error("failed to run {program}: {source}")]
    Spawn { program: String, source: io::Error },
}

/// Result of one finished (or stopped) command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommandOutcome {
    /// Program and arguments that were run.
    pub argv: Vec<String>,
    /// Exit code, or `None` if a signal ended the program.
    pub exit_code: Option<i32>,
    /// Number of the signal that ended the program, if any.
    pub signal: Option<i32>,
    /// Whether the timeout expired and the process group was stopped.
    pub timed_out: bool,
    /// Time from start to the exit of the program, in milliseconds.
    pub duration_ms: u64,
    /// Last 64 KiB of stdout, with invalid UTF-8 replaced.
    pub stdout_tail: String,
    /// Last 64 KiB of stderr, with invalid UTF-8 replaced.
    pub stderr_tail: String,
}

impl CommandOutcome {
    /// Returns whether the program exited with code 0 before the timeout.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Splits `text` into words as a POSIX shell would (quotes, backslashes, `#` comments),
/// without expanding variables or globs. The words are never passed to a shell.
pub fn split_command(text: &str) -> Result<Vec<String>, ActionError> {
    let words = shlex::split(text).ok_or_else(|| ActionError::Unparsable {
        text: text.to_owned(),
    })?;

    if words.is_empty() {
        return Err(ActionError::EmptyCommand);
    }
    Ok(words)
}

/// Runs `argv` (program and arguments, no shell) in its own process group and returns
/// its exit status and the tails of its output.
///
/// Stdin is `/dev/null`. When `timeout` expires, the whole process group receives
/// SIGTERM and, if it is still running 2 s later, SIGKILL. Output is read for at most
/// 300 ms after the program exits, so a command that leaves a daemon holding its
/// stdout still returns promptly. Background threads keep draining the pipes after
/// that, so the daemon's later writes succeed while this process runs.
pub async fn run_command(
    argv: &[String],
    timeout: Duration,
) -> Result<CommandOutcome, ActionError> {
    run_command_in(&RUNNING_GROUPS, argv, timeout).await
}

/// Stops every process group that [`run_command`] started and that is still running:
/// SIGTERM first, then SIGKILL for groups still present after 2 s.
///
/// Meant for Ctrl-C handling. It blocks the calling thread for up to 2 s.
pub fn kill_running_children() {
    RUNNING_GROUPS.kill_all();
}

async fn run_command_in(
    groups: &ProcessGroups,
    argv: &[String],
    timeout: Duration,
) -> Result<CommandOutcome, ActionError> {
    let (program, arguments) = argv.split_first().ok_or(ActionError::EmptyCommand)?;
    let started = Instant::now();

    let mut child = spawn(program, arguments)?;
    let Some(pgid) = child.id().and_then(|pid| i32::try_from(pid).ok()) else {
        // Only an already reaped child has no id, and a fresh one has not been reaped.
        return Err(spawn_error(
            program,
            io::Error::other("child has no process id"),
        ));
    };
    // NOTE: the group stays registered if this future is dropped before the end, so
    // that kill_running_children can still stop it after a cancelled run.
    groups.insert(pgid);

    let stdout = TailReader::start(
        "stdout",
        child.stdout.take().map(ChildStdout::into_owned_fd),
    );
    let stderr = TailReader::start(
        "stderr",
        child.stderr.take().map(ChildStderr::into_owned_fd),
    );

    let waited = wait_or_stop(&mut child, pgid, timeout).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    groups.remove(pgid);
    let (status, timed_out) = waited.map_err(|source| spawn_error(program, source))?;

    let drain_deadline = tokio::time::Instant::now() + DRAIN_GRACE;
    let stdout_tail = stdout.finish(drain_deadline).await;
    let stderr_tail = stderr.finish(drain_deadline).await;

    Ok(CommandOutcome {
        argv: argv.to_vec(),
        exit_code: status.code(),
        signal: status.signal(),
        timed_out,
        duration_ms,
        stdout_tail,
        stderr_tail,
    })
}

fn spawn(program: &str, arguments: &[String]) -> Result<Child, ActionError> {
    Command::new(program)
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ActionError::NotFound {
                    program: program.to_owned(),
                }
            } else {
                spawn_error(program, source)
            }
        })
}

fn spawn_error(program: &str, source: io::Error) -> ActionError {
    ActionError::Spawn {
        program: program.to_owned(),
        source,
    }
}

/// Waits for `child` until `timeout`, then stops its process group. Returns the exit
/// status and whether the timeout expired.
async fn wait_or_stop(
    child: &mut Child,
    pgid: i32,
    timeout: Duration,
) -> io::Result<(ExitStatus, bool)> {
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => Ok((status?, false)),
        Err(_elapsed) => {
            tracing::warn!(
                pgid,
                ?timeout,
                "command timed out, stopping its process group"
            );
            let status = stop_group(child, pgid).await?;
            Ok((status, true))
        }
    }
}

/// Sends SIGTERM to the group, waits up to [`KILL_GRACE`] for the child and the rest of
/// the group to exit, then sends SIGKILL to whatever is left.
async fn stop_group(child: &mut Child, pgid: i32) -> io::Result<ExitStatus> {
    signal_group(pgid, libc::SIGTERM);
    let deadline = tokio::time::Instant::now() + KILL_GRACE;

    let early_status = tokio::time::timeout_at(deadline, child.wait()).await;
    while group_exists(pgid) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    if group_exists(pgid) {
        signal_group(pgid, libc::SIGKILL);
    }

    match early_status {
        Ok(status) => status,
        Err(_elapsed) => child.wait().await,
    }
}

/// Sends `signal` to every process in group `pgid`. A group that is already gone
/// (ESRCH) is not an error.
fn signal_group(pgid: i32, signal: libc::c_int) {
    // SAFETY: killpg has no memory-safety preconditions. The group id comes from a
    // child spawned with process_group(0), so it is that child's pid and never 0 or 1.
    let result = unsafe { libc::killpg(pgid, signal) };
    if result != 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, signal, %error, "failed to signal process group");
        }
    }
}

/// Returns whether any process (including an unreaped zombie) is still in group `pgid`.
fn group_exists(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    let result = unsafe { libc::killpg(pgid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Set of running process group ids, shared with the Ctrl-C handler.
struct ProcessGroups {
    pgids: Mutex<Option<HashSet<i32>>>,
}

impl ProcessGroups {
    const fn new() -> Self {
        Self {
            pgids: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<HashSet<i32>>> {
        // The set stays consistent even if a holder panicked, because each change is a
        // single insert or remove.
        self.pgids.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn insert(&self, pgid: i32) {
        self.lock().get_or_insert_with(HashSet::new).insert(pgid);
    }

    fn remove(&self, pgid: i32) {
        if let Some(pgids) = self.lock().as_mut() {
            pgids.remove(&pgid);
        }
    }

    fn snapshot(&self) -> Vec<i32> {
        self.lock()
            .as_ref()
            .map(|pgids| pgids.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Sends SIGTERM to every registered group, waits up to [`KILL_GRACE`] for them to
    /// go away, then sends SIGKILL to the rest.
    fn kill_all(&self) {
        let pgids = self.snapshot();
        if pgids.is_empty() {
            return;
        }

        tracing::info!(count = pgids.len(), "stopping running commands");
        for &pgid in &pgids {
            signal_group(pgid, libc::SIGTERM);
        }

        // NOTE: a direct child stays a zombie, and so keeps its group alive, until the
        // runtime that runs run_command reaps it. If that runtime cannot make progress
        // meanwhile, this waits the full grace period before SIGKILL.
        let deadline = Instant::now() + KILL_GRACE;
        while pgids.iter().any(|&pgid| group_exists(pgid)) && Instant::now() < deadline {
            std::thread::sleep(POLL_INTERVAL);
        }
        for &pgid in &pgids {
            if group_exists(pgid) {
                signal_group(pgid, libc::SIGKILL);
            }
        }
    }
}

/// Thread that reads one output pipe into a bounded tail buffer.
///
/// The reader is a plain thread rather than a runtime task, so it keeps draining the
/// pipe after [`run_command`] returns and after its runtime is dropped. A daemon that
/// inherited the pipe would otherwise get SIGPIPE or EPIPE at its next write once the
/// read end closed. The thread ends at EOF, when the last writer closes the pipe.
struct TailReader {
    buffer: Arc<Mutex<TailBuffer>>,
    done: Option<oneshot::Receiver<()>>,
}

impl TailReader {
    /// Starts reading `pipe`, a child's stdout or stderr converted to a blocking fd.
    fn start(stream: &'static str, pipe: Option<io::Result<OwnedFd>>) -> Self {
        let buffer = Arc::new(Mutex::new(TailBuffer::default()));
        let done = match pipe {
            Some(Ok(fd)) => spawn_reader(stream, File::from(fd), Arc::clone(&buffer)),
            Some(Err(error)) => {
                tracing::warn!(stream, %error, "cannot read command output");
                None
            }
            None => None,
        };
        Self { buffer, done }
    }

    /// Waits until the pipe reaches EOF or `deadline` passes, and returns the tail read
    /// so far.
    async fn finish(self, deadline: tokio::time::Instant) -> String {
        if let Some(done) = self.done {
            let _ = tokio::time::timeout_at(deadline, done).await;
        }
        lock_buffer(&self.buffer).to_lossy_string()
    }
}

fn spawn_reader(
    stream: &'static str,
    pipe: File,
    buffer: Arc<Mutex<TailBuffer>>,
) -> Option<oneshot::Receiver<()>> {
    let (done_sender, done_receiver) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("command-{stream}"))
        .spawn(move || {
            read_into(pipe, &buffer);
            let _ = done_sender.send(());
        });

    match spawned {
        Ok(_detached) => Some(done_receiver),
        Err(error) => {
            // The pipe closes with the dropped closure, and the output is lost.
            tracing::warn!(stream, %error, "cannot start thread to read command output");
            None
        }
    }
}

fn read_into(mut pipe: File, buffer: &Mutex<TailBuffer>) {
    let mut chunk = vec![0u8; 8 * 1024];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => lock_buffer(buffer).push(&chunk[..count]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                tracing::debug!(%error, "reading command output failed");
                break;
            }
        }
    }
}

fn lock_buffer(buffer: &Mutex<TailBuffer>) -> MutexGuard<'_, TailBuffer> {
    // A push either completes or panics before changing the buffer, so a poisoned
    // lock still guards consistent bytes.
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Last [`MAX_OUTPUT_TAIL`] bytes of an output stream.
#[derive(Default)]
struct TailBuffer {
    bytes: VecDeque<u8>,
    dropped_any: bool,
}

impl TailBuffer {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let overflow = self.bytes.len().saturating_sub(MAX_OUTPUT_TAIL);
        if overflow > 0 {
            self.bytes.drain(..overflow);
            self.dropped_any = true;
        }
    }

    fn to_lossy_string(&self) -> String {
        let (front, back) = self.bytes.as_slices();
        let mut bytes = [front, back].concat();
        if self.dropped_any {
            // Skip UTF-8 continuation bytes left over from a character cut at the start.
            let continuation = bytes
                .iter()
                .take(3)
                .take_while(|&&byte| byte & 0xC0 == 0x80)
                .count();
            bytes.drain(..continuation);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_TIMEOUT: Duration = Duration::from_secs(10);

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn split_plain_words() {
        let words = split_command("1pctl restart core").expect("split");

        assert_eq!(words, ["1pctl", "restart", "core"]);
    }

    #[test]
    fn split_quoted_arguments() {
        let words = split_command(r#"systemctl  restart "my service" 'a b' c\ d"#).expect("split");

        assert_eq!(words, ["systemctl", "restart", "my service", "a b", "c d"]);
    }

    #[test]
    fn split_keeps_shell_syntax_literal() {
        let words = split_command("echo $HOME; rm -rf *").expect("split");

        assert_eq!(words, ["echo", "$HOME;", "rm", "-rf", "*"]);
    }

    #[test]
    fn split_unbalanced_quote_is_unparsable() {
        let result = split_command(r#"nginx -s "reload"#);

        assert!(
            matches!(&result, Err(ActionError::Unparsable { text }) if text == r#"nginx -s "reload"#),
            "{result:?}"
        );
    }

    #[test]
    fn split_empty_is_empty_command() {
        for text in ["", "   \t", "# only a comment"] {
            let result = split_command(text);

            assert!(
                matches!(result, Err(ActionError::EmptyCommand)),
                "text {text:?}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn run_true_exits_zero() {
        let outcome = run_command(&argv(&["true"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert_eq!(outcome.exit_code, Some(0));
        assert_eq!(outcome.signal, None);
        assert!(!outcome.timed_out);
        assert!(outcome.success());
    }

    #[tokio::test]
    async fn run_exit_code_is_reported() {
        let outcome = run_command(&argv(&["sh", "-c", "exit 3"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert_eq!(outcome.exit_code, Some(3));
        assert!(!outcome.success());
    }

    #[tokio::test]
    async fn run_separates_stdout_and_stderr() {
        let outcome = run_command(&argv(&["sh", "-c", "echo out; echo err >&2"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert_eq!(outcome.stdout_tail, "out\n");
        assert_eq!(outcome.stderr_tail, "err\n");
    }

    #[tokio::test]
    async fn run_arguments_reach_program_unchanged() {
        let outcome = run_command(&argv(&["printf", "%s|", "a b", "$HOME", "*"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert_eq!(outcome.stdout_tail, "a b|$HOME|*|");
    }

    #[tokio::test]
    async fn run_stdin_is_empty() {
        let outcome = run_command(&argv(&["wc", "-c"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert_eq!(outcome.stdout_tail.trim(), "0");
    }

    #[tokio::test]
    async fn run_timeout_stops_sleep() {
        let started = Instant::now();

        let outcome = run_command(&argv(&["sleep", "30"]), Duration::from_millis(200))
            .await
            .expect("run");

        assert!(outcome.timed_out);
        assert!(!outcome.success());
        assert_eq!(outcome.signal, Some(libc::SIGTERM));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn run_timeout_kills_term_ignoring_group() {
        let started = Instant::now();
        let script = "trap '' TERM; sleep 30 & echo $!; wait";

        let outcome = run_command(&argv(&["sh", "-c", script]), Duration::from_millis(200))
            .await
            .expect("run");

        assert!(outcome.timed_out);
        assert_eq!(outcome.signal, Some(libc::SIGKILL));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let sleep_pid: u32 = outcome.stdout_tail.trim().parse().expect("pid of sleep");
        assert!(
            process_ends_within(sleep_pid, Duration::from_secs(1)).await,
            "grandchild {sleep_pid} survived SIGKILL of its group"
        );
    }

    /// Returns the process group id from output that starts with `started <pid>`.
    fn group_id_after_started(stdout: &str) -> Option<i32> {
        stdout.split_whitespace().nth(1)?.parse().ok()
    }

    /// Returns whether process `pid` is gone or a zombie within `limit`. A killed
    /// grandchild stays a zombie until its new parent reaps it.
    async fn process_ends_within(pid: u32, limit: Duration) -> bool {
        let started = Instant::now();
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state letter follows the parenthesised command name.
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            if matches!(state, None | Some("Z" | "X")) {
                return true;
            }
            if started.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn run_missing_program_is_not_found() {
        let result = run_command(&argv(&["certwiz-no-such-program", "x"]), TEST_TIMEOUT).await;

        assert!(
            matches!(&result, Err(ActionError::NotFound { program }) if program == "certwiz-no-such-program"),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn run_empty_argv_is_empty_command() {
        let result = run_command(&[], TEST_TIMEOUT).await;

        assert!(
            matches!(result, Err(ActionError::EmptyCommand)),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn run_non_executable_is_spawn_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("not-executable");
        std::fs::write(&path, "#!/bin/sh\n").expect("write file");
        let program = path.to_string_lossy().into_owned();

        let result = run_command(std::slice::from_ref(&program), TEST_TIMEOUT).await;

        assert!(
            matches!(&result, Err(ActionError::Spawn { program: reported, .. }) if *reported == program),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn run_large_output_keeps_tail() {
        // seq 1 40000 prints 228,894 bytes.
        let outcome = run_command(&argv(&["seq", "1", "40000"]), TEST_TIMEOUT)
            .await
            .expect("run");

        assert!(outcome.stdout_tail.len() <= MAX_OUTPUT_TAIL);
        assert!(outcome.stdout_tail.len() > MAX_OUTPUT_TAIL - 8);
        assert!(outcome.stdout_tail.ends_with("\n39999\n40000\n"));
        assert!(!outcome.stdout_tail.contains("\n1000\n"));
    }

    #[tokio::test]
    async fn run_returns_while_daemon_holds_stdout() {
        let started = Instant::now();

        let outcome = run_command(
            &argv(&["sh", "-c", "sleep 20 & echo started $$"]),
            TEST_TIMEOUT,
        )
        .await
        .expect("run");

        let elapsed = started.elapsed();
        let pgid = group_id_after_started(&outcome.stdout_tail);
        if let Some(pgid) = pgid {
            signal_group(pgid, libc::SIGKILL);
        }
        assert!(
            outcome.stdout_tail.starts_with("started "),
            "{:?}",
            outcome.stdout_tail
        );
        assert!(pgid.is_some(), "no group id in {:?}", outcome.stdout_tail);
        assert_eq!(outcome.exit_code, Some(0));
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    }

    #[test]
    fn daemon_writes_after_runtime_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("written");
        let marker_arg = marker.to_string_lossy().into_owned();
        // The background subshell writes to the inherited stdout pipe one second after
        // the command returns, and creates the marker only if that write succeeded.
        let script = r#"(sleep 1; echo late && touch "$1") & echo started $$"#;
        let command = argv(&["sh", "-c", script, "sh", &marker_arg]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");

        let outcome = runtime
            .block_on(run_command(&command, TEST_TIMEOUT))
            .expect("run");
        drop(runtime);

        let started = Instant::now();
        while !marker.exists() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(pgid) = group_id_after_started(&outcome.stdout_tail) {
            signal_group(pgid, libc::SIGKILL);
        }
        assert!(marker.exists(), "the late write to stdout failed");
    }

    #[tokio::test]
    async fn kill_all_stops_registered_groups() {
        let groups: &'static ProcessGroups = Box::leak(Box::new(ProcessGroups::new()));
        let sleep = argv(&["sleep", "30"]);
        let run = tokio::spawn(async move { run_command_in(groups, &sleep, TEST_TIMEOUT).await });

        let wait_started = Instant::now();
        while groups.snapshot().is_empty() && wait_started.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(groups.snapshot().len(), 1);
        tokio::task::spawn_blocking(move || groups.kill_all())
            .await
            .expect("kill_all task");
        let outcome = run.await.expect("run task").expect("run");

        assert_eq!(outcome.signal, Some(libc::SIGTERM));
        assert!(!outcome.timed_out);
        assert!(groups.snapshot().is_empty());
    }

    #[test]
    fn tail_buffer_skips_cut_character() {
        let mut buffer = TailBuffer::default();
        buffer.push("é".repeat(MAX_OUTPUT_TAIL).as_bytes());

        let text = buffer.to_lossy_string();

        assert!(!text.contains(char::REPLACEMENT_CHARACTER));
        assert_eq!(text.len(), MAX_OUTPUT_TAIL);
    }
}
