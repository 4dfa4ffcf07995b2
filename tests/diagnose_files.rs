//! `certwiz diagnose` when the certificate files themselves are wrong: an expired pair that the
//! server also serves, and a renewed certificate next to the old key. Both lead to `reconfirm`,
//! and a restart must never run.

mod support;

use support::{fingerprint, is_running, set_mtime_from_now, Site};

/// Starts a server on an expired `site.crt`/`site.key` whose mtime lies well before the
/// server's start. Returns the site and the leaf's fingerprint.
fn expired_site() -> (Site, String) {
    let mut site = Site::new();
    let expired = site.issue_expired();
    site.install(&expired);
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_site_server();
    (site, fingerprint(&expired.der))
}

#[test]
fn expired_files_reconfirmed_still_expired() {
    let (site, expired_sha) = expired_site();
    let answers = site.answers_file("reconfirm = \"done\"\n");

    let output = site.diagnose().answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(
        report.path(),
        ["warning", "check-status", "reconfirm", "recheck-files", "inspect-logs"]
    );
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.expired",
            "process.started_after_change",
            "served.matches_disk",
            "disk.expired",
            "logs.clean",
        ]
    );
    assert_eq!(report.finding("disk.expired")["state"], "check-status");
    assert_eq!(report.findings()[4]["state"], "recheck-files");
    assert_eq!(report.sha256("served"), expired_sha);
    assert_eq!(report.sha256("disk"), expired_sha);
    assert!(report.actions().is_empty(), "{}", report.pretty());

    let answers = report.0["answers"].as_array().expect("answers is a list");
    let reconfirm = answers.iter().find(|answer| answer["question"] == "reconfirm");
    let reconfirm = reconfirm.unwrap_or_else(|| panic!("no reconfirm answer: {answers:?}"));
    assert_eq!(reconfirm["choice"], "done");
    assert_eq!(reconfirm["source"], "answers-file");
}

#[test]
fn expired_files_unanswered_aborts_at_reconfirm() {
    let (site, _) = expired_site();

    let output = site.diagnose().yes().json().run();

    output.assert_code(3);
    let report = output.report();
    assert_eq!(report.outcome(), "aborted", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm"]);
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.expired",
            "process.started_after_change",
            "served.matches_disk",
            "run.unanswered",
        ]
    );
    let unanswered = report.finding("run.unanswered");
    assert_eq!(unanswered["state"], "reconfirm");
    assert_eq!(unanswered["evidence"]["choices"], serde_json::json!(["done", "write-files", "cannot"]));
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn key_mismatch_goes_to_reconfirm_without_restart() {
    let mut site = Site::new();
    let expired = site.issue_expired();
    site.install(&expired);
    site.start_site_server();
    let first_pid = site.server().started.pid;

    // Only the certificate was replaced, so site.key still contains the old key.
    let renewed = site.issue_valid();
    std::fs::write(site.cert_file(), &renewed.cert_pem).expect("write renewed certificate");
    set_mtime_from_now(&site.cert_file(), 5);
    let answers = site.answers_file("reconfirm = \"cannot\"\n");

    // `--yes` approves any restart, so only the flow can keep the restart from running.
    let output = site.diagnose().yes().answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    assert_eq!(
        report.finding_ids(),
        [
            "served.expired",
            "disk.valid",
            "disk.key_mismatch",
            "stale.process_started_before_change",
            "stale.served_differs_from_disk",
            "logs.clean",
        ]
    );
    let mismatch = &report.finding("disk.key_mismatch")["evidence"];
    assert_eq!(mismatch["cert_file"], site.cert_file().display().to_string());
    assert_eq!(mismatch["key_file"], site.key_file().display().to_string());
    assert_eq!(report.sha256("disk"), fingerprint(&renewed.der));
    assert_eq!(report.sha256("served"), fingerprint(&expired.der));

    assert!(report.actions().is_empty(), "{}", report.pretty());
    assert_eq!(site.server().current().pid, first_pid, "the restart ran");
    assert!(is_running(first_pid), "server {first_pid} stopped");

    for (name, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(!text.contains("PRIVATE KEY"), "{name} contains key material");
    }
}
