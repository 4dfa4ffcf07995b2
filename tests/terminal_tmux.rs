//! `certwiz demo` in a real terminal: a detached tmux session on a private socket runs it,
//! the test reads the screen with `capture-pane` and answers with `send-keys`.
//!
//! Needs `tmux` on PATH; the tests fail with a clear message when it is missing.

mod support;

use std::fs;
use std::time::Duration;

use support::tmux::Tmux;
use support::{eventually, is_running};

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
    let tmux = Tmux::start(dir.path(), None, &["demo", "--lang", "en", "--record-answers", &answers_arg]);

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
    let tmux = Tmux::start(dir.path(), None, &["demo", "--lang", "en", "--report", &report_arg]);

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
