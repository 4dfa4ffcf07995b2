//! Ctrl-C (SIGINT) while certwiz runs a slow restart command: the command is stopped, the
//! partial report and the answers so far are written, and certwiz exits with 130.

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use support::{eventually, is_running, Site, EXE};

/// Returns the pids of the children of `parent` whose command line starts with `program`.
fn children_running(parent: u32, program: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let mut pids = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)).and_then(|ppid| ppid.parse::<u32>().ok());
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent) && cmdline.starts_with(program.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Kills the child if the test fails before it exits.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigint_during_command_exits_130() {
    let mut site = Site::new();
    let expired = site.issue_expired();
    let (cert, key) = site.write_pair("old", &expired, &[]);
    site.start_server(&cert, &key);
    site.install(&site.issue_valid());
    support::set_mtime_from_now(&site.cert_file(), 5);

    let out = tempfile::tempdir().expect("create a temporary directory");
    let report = out.path().join("partial.json");
    let answers = out.path().join("partial.toml");
    let port = site.server().port().to_string();
    let mut command = Command::new(EXE);
    command
        .args(["diagnose", "--non-interactive", "--yes", "--lang", "en", "--root"])
        .arg(site.root.path())
        .args(["--set", "host=127.0.0.1", "--set", &format!("port={port}"), "--set", "server_name=localhost"])
        .args(["--set", &format!("cert_file={}", site.cert_file().display())])
        .args(["--set", &format!("key_file={}", site.key_file().display())])
        .args(["--set", &format!("ca_file={}", site.ca_file().display())])
        .args(["--set", "restart_command=sleep 30", "--set", "timeout_secs=3"])
        .arg("--report")
        .arg(&report)
        .arg("--record-answers")
        .arg(&answers)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = Guard(command.spawn().expect("start certwiz"));
    let pid = child.0.id();

    // Reads stderr on a thread and reports when the restart command is shown.
    let stderr = child.0.stderr.take().expect("stderr is piped");
    let (shown, command_shown) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut transcript = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("$ sleep 30") {
                let _ = shown.send(());
            }
            transcript.push_str(&line);
            transcript.push('\n');
        }
        transcript
    });
    command_shown.recv_timeout(Duration::from_secs(30)).expect("certwiz shows the restart command");

    let mut sleepers = Vec::new();
    assert!(eventually(Duration::from_secs(10), || {
        sleepers = children_running(pid, "sleep");
        !sleepers.is_empty()
    }));
    // The child shows in /proc as soon as it is forked, a moment before certwiz records its
    // process group for the Ctrl-C cleanup. A signal inside that moment would miss it.
    thread::sleep(Duration::from_millis(300));
    // SAFETY: kill only sends a signal to the certwiz child this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) }, 0);

    let mut status = None;
    assert!(eventually(Duration::from_secs(15), || {
        status = child.0.try_wait().ok().flatten();
        status.is_some()
    }));
    let transcript = reader.join().unwrap_or_default();
    assert_eq!(status.and_then(|status| status.code()), Some(130), "{transcript}");
    for sleeper in sleepers {
        let stopped = eventually(Duration::from_secs(5), || !is_running(sleeper));
        let stat = fs::read_to_string(format!("/proc/{sleeper}/stat")).unwrap_or_default();
        assert!(stopped, "sleep {sleeper} outlived certwiz: {stat}\n{transcript}");
    }

    let partial: Value = serde_json::from_str(&fs::read_to_string(&report).expect("the partial report is written")).expect("it is JSON");
    assert_eq!(partial["interrupted"], true, "{partial:#}");
    assert_eq!(partial["outcome"], "aborted");
    assert_eq!(partial["path"].as_array().and_then(|path| path.last()).and_then(Value::as_str), Some("full-restart"));
    assert!(partial["certificates"]["served"]["sha256"].is_string(), "{partial:#}");
    let recorded = fs::read_to_string(&answers).expect("the answers so far are written");
    assert!(recorded.contains("full-restart = \"yes\"  # --yes\n"), "{recorded}");
}
