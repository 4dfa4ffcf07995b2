//! SIGTERM, SIGHUP and SIGINT sent to certwiz by another process. The demo server and the
//! temporary directory go away and the terminal leaves raw mode. The partial report is written
//! and printed, and the exit code is 128 + the signal number.
//!
//! The demo runs in a detached tmux session on a private socket, so the prompt puts a real
//! terminal in raw mode. Needs `tmux` on PATH; the tests fail with a clear message when it is
//! missing.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::tmux::{processes, Tmux, TIMEOUT};
use support::{eventually, is_running, Site, EXE};

/// Help line that inquire shows only while the select prompt waits for a key.
const SELECT_HELP: &str = "Esc to stop";

/// Returns the pids of `certwiz __demo-server` processes whose command line names a path
/// inside `workspace`.
fn demo_servers(workspace: &Path) -> Vec<u32> {
    let workspace = workspace.display().to_string();
    processes()
        .into_iter()
        .filter(|process| process.argv.iter().any(|word| word == "__demo-server"))
        .filter(|process| process.argv.iter().any(|word| word.starts_with(&workspace)))
        .map(|process| process.pid)
        .collect()
}

/// Returns the `certwiz-demo-*` entries in `tmpdir`.
fn demo_workspaces(tmpdir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(tmpdir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("certwiz-demo-"))
        .map(|entry| entry.path())
        .collect()
}

/// Returns the text after `heading` on the screen line that starts with it.
fn summary_line<'a>(screen: &'a str, heading: &str) -> &'a str {
    screen
        .lines()
        .find_map(|line| line.trim_start().strip_prefix(heading))
        .unwrap_or_else(|| panic!("no {heading:?} line on the screen:\n{screen}"))
        .trim()
}

/// Sends `signal` to the process `pid`.
fn send_signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pids fit in pid_t");
    // SAFETY: kill(2) only sends a signal to a certwiz process that this test started.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill({pid}, {signal}) failed: {}", std::io::Error::last_os_error());
}

/// Runs `certwiz demo` until its first prompt, sends `signal` to certwiz, and checks that the
/// demo cleaned up after itself and exited with `expected_code`.
fn signal_at_first_prompt(signal: libc::c_int, expected_code: i32) -> Interrupted {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let tmpdir = dir.path().join("tmp");
    fs::create_dir(&tmpdir).expect("create TMPDIR");
    let report = dir.path().join("partial.json");
    let answers = dir.path().join("answers.toml");
    let (report_arg, answers_arg) = (report.display().to_string(), answers.display().to_string());
    let tmux = Tmux::start(dir.path(), Some(&tmpdir), &["demo", "--lang", "en", "--report", &report_arg, "--record-answers", &answers_arg]);

    tmux.wait_for(SELECT_HELP);
    let workspaces = demo_workspaces(&tmpdir);
    assert_eq!(workspaces.len(), 1, "expected one demo workspace in {}: {workspaces:?}", tmpdir.display());
    let workspace = &workspaces[0];
    assert!(workspace.join("server.key").is_file(), "the demo wrote no key in {}", workspace.display());
    let servers = demo_servers(workspace);
    assert_eq!(servers.len(), 1, "expected one demo server for {}: {servers:?}", workspace.display());

    send_signal(tmux.certwiz_pid(), signal);

    let code = tmux.exit_code();
    let screen = tmux.screen();
    assert_eq!(code, expected_code, "{screen}");
    let server = servers[0];
    assert!(eventually(Duration::from_secs(5), || !is_running(server)), "the demo server {server} is still running:\n{screen}");
    assert_eq!(demo_servers(workspace), Vec::<u32>::new(), "a demo server outlived certwiz:\n{screen}");
    assert!(!workspace.exists(), "the demo workspace {} is still there:\n{screen}", workspace.display());

    let settings = tmux.terminal_settings();
    let flags: Vec<&str> = settings.split_whitespace().map(|word| word.trim_end_matches(';')).collect();
    for flag in ["icanon", "echo", "isig"] {
        assert!(flags.contains(&flag), "the terminal lacks {flag} after certwiz exited:\n{settings}");
    }

    let text = fs::read_to_string(&report).unwrap_or_else(|error| panic!("the partial report is not written ({error}):\n{screen}"));
    let partial: Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("the partial report is not JSON ({error}):\n{text}"));
    Interrupted { screen, partial, answers, _dir: dir }
}

/// What a demo that a signal ended left behind.
struct Interrupted {
    screen: String,
    /// The `--report` file, parsed.
    partial: Value,
    /// The `--record-answers` path.
    answers: PathBuf,
    _dir: tempfile::TempDir,
}

#[test]
fn sigterm_at_prompt_cleans_up_demo() {
    let Interrupted { screen, partial, answers, _dir } = signal_at_first_prompt(libc::SIGTERM, 143);

    assert_eq!(partial["interrupted"], true, "{partial:#}");
    assert_eq!(partial["outcome"], "aborted", "{partial:#}");
    assert_eq!(partial["verdict"], "Interrupted by SIGTERM.", "{partial:#}");
    assert_eq!(summary_line(&screen, "Verdict:"), "aborted: Interrupted by SIGTERM.", "{screen}");
    let next_step = summary_line(&screen, "Next step:");
    assert!(next_step.contains(&format!("--answers {}", answers.display())), "{screen}");
    assert!(answers.is_file(), "the answers file the next step names is not written:\n{screen}");
}

#[test]
fn sighup_at_prompt_cleans_up_demo() {
    let Interrupted { screen, partial, .. } = signal_at_first_prompt(libc::SIGHUP, 129);

    assert_eq!(partial["interrupted"], true, "{partial:#}");
    assert_eq!(partial["verdict"], "Interrupted by SIGHUP.", "{partial:#}");
    assert!(!summary_line(&screen, "Next step:").is_empty(), "{screen}");
}

#[test]
fn ctrl_c_summary_suggests_answers_file() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let tmpdir = dir.path().join("tmp");
    fs::create_dir(&tmpdir).expect("create TMPDIR");
    let answers = dir.path().join("answers.toml");
    let answers_arg = answers.display().to_string();
    let tmux = Tmux::start(dir.path(), Some(&tmpdir), &["demo", "--lang", "en", "--record-answers", &answers_arg]);

    tmux.wait_for(SELECT_HELP);
    tmux.send(&["C-c"]);

    assert_eq!(tmux.exit_code(), 130, "{}", tmux.screen());
    let screen = tmux.screen();
    assert_eq!(summary_line(&screen, "Verdict:"), "aborted: Interrupted with Ctrl-C.", "{screen}");
    let next_step = summary_line(&screen, "Next step:");
    assert!(next_step.contains("Run the same command again"), "{screen}");
    assert!(next_step.contains(&format!("--answers {}", answers.display())), "{screen}");
    assert!(answers.is_file(), "the answers file the next step names is not written:\n{screen}");
    assert_eq!(demo_workspaces(&tmpdir), Vec::<PathBuf>::new(), "{screen}");
}

/// Kills the child if the test fails before it exits.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `certwiz diagnose --non-interactive --yes --json` run against a site whose server still
/// serves an expired certificate, with stdout and stderr read on threads.
struct Diagnose {
    // Declared first so that certwiz stops before the site's server and files go away.
    child: Guard,
    stdout: thread::JoinHandle<String>,
    stderr: thread::JoinHandle<String>,
    lines: mpsc::Receiver<String>,
    _site: Site,
}

/// Exit code and output of a run that got a signal.
struct SignalledRun {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Diagnose {
    /// Starts the run with `restart_command` and `verify_attempts`, one second apart.
    fn start(restart_command: &str, verify_attempts: u32) -> Diagnose {
        let mut site = Site::new();
        let expired = site.issue_expired();
        let (cert, key) = site.write_pair("old", &expired, &[]);
        site.start_server(&cert, &key);
        site.install(&site.issue_valid());
        support::set_mtime_from_now(&site.cert_file(), 5);

        let port = site.server().port().to_string();
        let mut command = Command::new(EXE);
        command
            .args(["diagnose", "--non-interactive", "--yes", "--json", "--lang", "en", "--root"])
            .arg(site.root.path())
            .args(["--set", "host=127.0.0.1", "--set", &format!("port={port}"), "--set", "server_name=localhost"])
            .args(["--set", &format!("cert_file={}", site.cert_file().display())])
            .args(["--set", &format!("key_file={}", site.key_file().display())])
            .args(["--set", &format!("ca_file={}", site.ca_file().display())])
            .args(["--set", &format!("restart_command={restart_command}"), "--set", "timeout_secs=3"])
            .args(["--set", &format!("verify_attempts={verify_attempts}"), "--set", "verify_interval_secs=1"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = Guard(command.spawn().expect("start certwiz"));
        let stdout = read_on_thread(child.0.stdout.take());

        // Stderr goes line by line to the test, and whole to the assertion messages.
        let pipe = child.0.stderr.take().expect("stderr is piped");
        let (sender, lines) = mpsc::channel();
        let stderr = thread::spawn(move || {
            let mut transcript = String::new();
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = sender.send(line.clone());
                transcript.push_str(&line);
                transcript.push('\n');
            }
            transcript
        });
        Diagnose { child, stdout, stderr, lines, _site: site }
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Waits until stderr shows a line containing `text`.
    fn wait_for_line(&self, text: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return,
                Ok(_) => {}
                Err(error) => panic!("stderr never showed {text:?} ({error})"),
            }
        }
    }

    /// Sends `signal` to certwiz and waits for it to exit.
    fn signal(mut self, signal: libc::c_int) -> SignalledRun {
        send_signal(self.pid(), signal);
        let mut status = None;
        let exited = eventually(TIMEOUT, || {
            status = self.child.0.try_wait().ok().flatten();
            status.is_some()
        });
        assert!(exited, "certwiz did not exit after signal {signal}");
        SignalledRun {
            code: status.and_then(|status| status.code()),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.join().unwrap_or_default(),
        }
    }
}

impl SignalledRun {
    /// Parses stdout as the JSON report.
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}\n--- stderr ---\n{}", self.stdout, self.stderr))
    }
}

fn read_on_thread(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error only shortens the captured output, which the asserts then show.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[test]
fn sigint_during_verify_prints_json() {
    // `true` restarts nothing, so verify keeps probing the expired certificate for 30 s.
    let run = Diagnose::start("true", 30);
    run.wait_for_line("] verify ·");
    // Inside the pause between two probes, where the runner does not look for the signal.
    thread::sleep(Duration::from_millis(1500));
    let run = run.signal(libc::SIGINT);

    assert_eq!(run.code, Some(130), "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["outcome"], "aborted", "{report:#}");
    assert_eq!(report["verdict"], "Interrupted with Ctrl-C.", "{report:#}");
    assert_eq!(report["path"].as_array().and_then(|path| path.last()).and_then(Value::as_str), Some("verify"), "{report:#}");
    assert!(!report["next_step"].as_str().unwrap_or_default().is_empty(), "{report:#}");
}

#[test]
fn sigterm_during_command_stops_it() {
    let run = Diagnose::start("sleep 30", 1);
    run.wait_for_line("$ sleep 30");
    let pid = run.pid();
    let mut sleepers = Vec::new();
    let started = eventually(TIMEOUT, || {
        sleepers = processes().into_iter().filter(|process| process.ppid == pid && process.argv.first().is_some_and(|program| program == "sleep")).map(|process| process.pid).collect();
        !sleepers.is_empty()
    });
    assert!(started, "certwiz never started `sleep 30`");
    // The child shows in /proc as soon as it is forked, a moment before certwiz records its
    // process group for the cleanup. A signal inside that moment would miss it.
    thread::sleep(Duration::from_millis(300));
    let run = run.signal(libc::SIGTERM);

    assert_eq!(run.code, Some(143), "{}", run.stderr);
    for sleeper in &sleepers {
        assert!(eventually(Duration::from_secs(5), || !is_running(*sleeper)), "sleep {sleeper} outlived certwiz:\n{}", run.stderr);
    }
    let report = run.report();
    assert_eq!(report["interrupted"], true, "{report:#}");
    assert_eq!(report["verdict"], "Interrupted by SIGTERM.", "{report:#}");
    assert_eq!(report["path"].as_array().and_then(|path| path.last()).and_then(Value::as_str), Some("full-restart"), "{report:#}");
}
