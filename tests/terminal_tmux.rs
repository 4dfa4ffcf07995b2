//! `certwiz demo` in a real terminal: a detached tmux session on a private socket runs it,
//! the test reads the screen with `capture-pane` and answers with `send-keys`.
//!
//! Needs `tmux` on PATH; the tests fail with a clear message when it is missing.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use support::{eventually, is_running, EXE};

/// Upper bound on waiting for one screen state; the demo reaches each prompt in well under a
/// second on a quiet machine.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// A detached tmux session on its own server, killed when dropped.
struct Tmux {
    socket: String,
    status_file: PathBuf,
}

impl Tmux {
    /// Starts `certwiz ARGS` in a 160x50 terminal. Its exit code goes to a file when it ends,
    /// and the shell then waits, so the screen can still be read.
    fn start(dir: &Path, args: &[&str]) -> Tmux {
        let number = SESSIONS.fetch_add(1, Ordering::SeqCst);
        let socket = format!("certwiz-test-{}-{number}", std::process::id());
        let status_file = dir.join("status");
        let script = r#"exe="$1"; status="$2"; shift 2; "$exe" "$@"; echo "$?" > "$status"; exec sleep 600"#;

        let mut command = Command::new("tmux");
        command
            .args(["-u", "-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "demo", "-x", "160", "-y", "50"])
            .args(["sh", "-c", script, "certwiz-test", EXE])
            .arg(&status_file)
            .args(args)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        let tmux = Tmux { socket, status_file };
        let output = run_tmux(&mut command);
        assert!(output.status.success(), "tmux new-session failed: {}", String::from_utf8_lossy(&output.stderr));
        tmux
    }

    fn command(&self, args: &[&str]) -> Output {
        run_tmux(Command::new("tmux").args(["-L", &self.socket]).args(args))
    }

    /// Returns the whole screen and its scrollback, wrapped lines joined.
    fn screen(&self) -> String {
        let output = self.command(&["capture-pane", "-p", "-J", "-S", "-500", "-t", "demo"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "demo"];
        args.extend_from_slice(keys);
        let output = self.command(&args);
        assert!(output.status.success(), "tmux send-keys {keys:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// Waits until the screen shows `text`; fails with the screen when it does not.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {text:?}:\n{screen}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for certwiz to exit and returns its exit code.
    fn exit_code(&self) -> i32 {
        let mut code = None;
        let finished = eventually(SCREEN_TIMEOUT, || {
            code = fs::read_to_string(&self.status_file).ok().and_then(|text| text.trim().parse().ok());
            code.is_some()
        });
        assert!(finished, "certwiz did not exit:\n{}", self.screen());
        code.unwrap_or(-1)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]);
    }
}

fn run_tmux(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot run tmux (is it installed?): {error}"))
}

/// Returns the pid in "Started the demo HTTPS server (pid N)".
fn demo_server_pid(screen: &str) -> u32 {
    screen
        .split("demo HTTPS server (pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no demo server pid on the screen:\n{screen}"))
}

#[test]
fn interactive_demo_resolves_with_keys() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let answers = dir.path().join("answers.toml");
    let answers_arg = answers.display().to_string();
    let tmux = Tmux::start(dir.path(), &["demo", "--lang", "en", "--record-answers", &answers_arg]);

    let screen = tmux.wait_for("Which warning does the browser show?");
    for option in ["The certificate has expired", "Not sure, check everything", "↑↓ to move, Enter to choose, Esc to stop"] {
        assert!(screen.contains(option), "missing {option:?}:\n{screen}");
    }
    // Enter takes the default, which the cursor starts on.
    tmux.send(&["Enter"]);

    let screen = tmux.wait_for("__demo-restart --state");
    tmux.wait_for("now?");
    assert!(screen.contains("[3] full-restart · Restart the panel process"), "{screen}");
    tmux.send(&["y", "Enter"]);

    assert_eq!(tmux.exit_code(), 0, "{}", tmux.screen());
    let screen = tmux.screen();
    // The prompt shows the chosen answer once; the transcript does not echo it again.
    assert!(screen.contains("> Which warning does the browser show? Not sure, check everything"), "{screen}");
    assert!(!screen.contains("→ Not sure, check everything"), "{screen}");
    assert!(screen.contains("a fresh handshake (attempt"), "{screen}");
    assert!(screen.contains("Verdict: resolved:"), "{screen}");

    let recorded = fs::read_to_string(&answers).expect("the answers file is written");
    assert!(recorded.contains("warning = \"unsure\"  # prompt\n"), "{recorded}");
    assert!(recorded.contains("full-restart = \"yes\"  # prompt\n"), "{recorded}");
}

#[test]
fn ctrl_c_at_prompt_exits_130() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let report = dir.path().join("partial.md");
    let report_arg = report.display().to_string();
    let tmux = Tmux::start(dir.path(), &["demo", "--lang", "en", "--report", &report_arg]);

    let screen = tmux.wait_for("Which warning does the browser show?");
    let pid = demo_server_pid(&screen);
    assert!(is_running(pid), "the demo server {pid} is not running:\n{screen}");
    tmux.send(&["C-c"]);

    assert_eq!(tmux.exit_code(), 130, "{}", tmux.screen());
    assert!(eventually(Duration::from_secs(5), || !is_running(pid)), "the demo server {pid} is still running");
    let markdown = fs::read_to_string(&report).expect("the partial report is written");
    assert!(markdown.contains("This run was interrupted with Ctrl-C"), "{markdown}");
    assert!(markdown.contains("| Outcome | **aborted** |"), "{markdown}");
}
