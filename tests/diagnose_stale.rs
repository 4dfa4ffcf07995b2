//! `certwiz diagnose` against a real HTTPS process that still serves the certificate it loaded
//! at start-up, after a renewal on disk: restart and verify, a restart that reloads the wrong
//! file, and a restart that is not approved.

mod support;

use std::fs;

use support::{fingerprint, is_running, set_mtime_from_now, Site};

/// Seconds the renewed file's mtime is set ahead, so it is clearly newer than the process.
const MTIME_AHEAD_SECS: i64 = 5;

/// Starts a server on an expired `site.crt`/`site.key`, then renews both files on disk.
/// Returns the site and the fingerprints of the expired and the renewed leaf.
fn stale_site() -> (Site, String, String) {
    let mut site = Site::new();
    let expired = site.issue_expired();
    site.install(&expired);
    site.start_site_server();

    let renewed = site.issue_valid();
    site.install(&renewed);
    set_mtime_from_now(&site.cert_file(), MTIME_AHEAD_SECS);

    (site, fingerprint(&expired.der), fingerprint(&renewed.der))
}

#[test]
fn stale_process_restart_resolves() {
    let (site, expired_sha, renewed_sha) = stale_site();
    let first_pid = site.server().started.pid;

    let output = site.diagnose().yes().json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "resolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "full-restart", "verify", "resolved"]);
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.valid",
            "stale.process_started_before_change",
            "stale.served_differs_from_disk",
            "action.succeeded",
            "served.trusted",
            "served.matches_disk",
            "verify.serving_disk_cert",
        ]
    );
    assert_eq!(report.finding("stale.process_started_before_change")["evidence"]["pid"], first_pid);

    let actions = report.actions();
    assert_eq!(actions.len(), 1, "{}", report.pretty());
    assert_eq!(actions[0]["state"], "full-restart");
    assert_eq!(actions[0]["approved"], true);
    assert_eq!(actions[0]["exit_code"], 0);
    assert_eq!(actions[0]["command"][1], "__demo-restart");

    assert_eq!(report.sha256("served"), renewed_sha);
    assert_eq!(report.sha256("disk"), renewed_sha);
    assert_eq!(report.sha256("served_initially"), expired_sha);

    let restarted = site.server().current();
    assert_ne!(restarted.pid, first_pid);
    assert!(is_running(restarted.pid), "restarted server {} is not running", restarted.pid);
}

#[test]
fn restart_on_old_files_ends_inspect_logs() {
    let mut site = Site::new();
    let expired = site.issue_expired();
    // The server loads a copy of the old pair, so a restart reloads the old certificate
    // while the flow reads the renewed pair at site.crt/site.key.
    let (old_cert, old_key) = site.write_pair("old", &expired, &[]);
    site.start_server(&old_cert, &old_key);
    let first_pid = site.server().started.pid;
    let port = site.server().port();

    let renewed = site.issue_valid();
    site.install(&renewed);
    set_mtime_from_now(&site.cert_file(), MTIME_AHEAD_SECS);

    let output = site.diagnose().set("verify_attempts", "3").yes().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(
        report.path(),
        ["warning", "check-status", "full-restart", "verify", "inspect-logs"]
    );
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.valid",
            "stale.process_started_before_change",
            "stale.served_differs_from_disk",
            "action.succeeded",
            "served.expired",
            "stale.served_differs_from_disk",
            "verify.still_stale",
            "logs.clean",
        ]
    );
    assert_eq!(report.finding("verify.still_stale")["evidence"]["attempts"], 3);
    assert_eq!(report.actions()[0]["exit_code"], 0);
    assert_eq!(report.sha256("served"), fingerprint(&expired.der));
    assert_eq!(report.sha256("disk"), fingerprint(&renewed.der));

    // The restart did run: a new process serves the old file.
    assert_ne!(site.server().current().pid, first_pid);

    let logs = report.0["logs"].as_array().expect("logs is a list");
    assert_eq!(logs.len(), 1, "{}", report.pretty());
    assert_eq!(logs[0]["file"], site.log_file().display().to_string());
    let server_log = fs::read_to_string(site.log_file()).expect("read server log");
    let listen = format!("listen at https://127.0.0.1:{port}");
    let picked: Vec<&str> = logs[0]["lines"]
        .as_array()
        .expect("lines is a list")
        .iter()
        .map(|line| line["text"].as_str().unwrap_or_default())
        .collect();
    let listen_lines: Vec<&&str> = picked.iter().filter(|text| text.ends_with(&listen)).collect();
    assert_eq!(listen_lines.len(), 2, "one per start, picked: {picked:?}");
    for text in &picked {
        assert!(
            server_log.lines().any(|line| line.trim() == *text),
            "picked line {text:?} is not in the server log:\n{server_log}"
        );
    }
    assert!(output.stderr.contains(&listen), "{}", output.context());
}

#[test]
fn unapproved_restart_aborts() {
    let (site, expired_sha, renewed_sha) = stale_site();
    let first_pid = site.server().started.pid;

    let output = site.diagnose().json().run();

    output.assert_code(3);
    let report = output.report();
    assert_eq!(report.outcome(), "aborted", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "full-restart"]);
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.valid",
            "stale.process_started_before_change",
            "stale.served_differs_from_disk",
            "run.unapproved",
        ]
    );

    let actions = report.actions();
    assert_eq!(actions.len(), 1, "{}", report.pretty());
    assert_eq!(actions[0]["approved"], false);
    assert!(actions[0]["exit_code"].is_null(), "{}", report.pretty());
    assert_eq!(report.sha256("served"), expired_sha);
    assert_eq!(report.sha256("disk"), renewed_sha);

    let current = site.server().current();
    assert_eq!(current.pid, first_pid, "the restart ran");
    assert!(is_running(first_pid), "server {first_pid} stopped");
}
