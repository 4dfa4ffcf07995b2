//! What the `status` check concludes from the order of the listener's start and the last change
//! of the certificate file. The cases are a process that reads another file, a file rewritten
//! with the same certificate, and a change within the precision of process start times.

mod support;

use std::fs::File;

use certwiz::pki::LeafSpec;
use support::{is_running, set_mtime_from_now, Report, Site, NAMES};

/// Asserts that a time in a finding's evidence is printed in whole seconds, the precision of
/// process start times: `2026-01-02 03:04:05 UTC`.
fn assert_whole_seconds(report: &Report, id: &str, field: &str) {
    let value = report.finding(id)["evidence"][field].as_str().unwrap_or_default().to_string();
    assert_eq!(value.len(), "2026-01-02 03:04:05 UTC".len(), "{field}: {value}");
    assert!(value.ends_with(" UTC"), "{field}: {value}");
    assert!(!value.contains('.'), "{field}: {value}");
}

#[test]
fn process_started_after_change_reads_other_file() {
    let mut site = Site::new();
    let other = site.issue(LeafSpec::valid_for(&NAMES, 30));
    let (other_cert, other_key) = site.write_pair("other", &other, &[]);
    site.install(&site.issue_valid());
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_server(&other_cert, &other_key);
    let pid = site.server().started.pid;

    let output = site.diagnose().yes().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "other-file"]);
    assert_eq!(
        report.finding_ids(),
        ["served.trusted", "disk.valid", "stale.process_reads_other_file", "stale.served_differs_from_disk"]
    );
    let other_file = report.finding("stale.process_reads_other_file");
    assert_eq!(other_file["severity"], "error");
    assert_eq!(other_file["evidence"]["pid"], pid);
    let message = other_file["message"].as_str().unwrap_or_default();
    assert!(message.contains(&site.cert_file().display().to_string()), "{message}");
    assert_whole_seconds(&report, "stale.process_reads_other_file", "process_started");
    assert_whole_seconds(&report, "stale.process_reads_other_file", "cert_file_modified");

    // No restart ran, although --yes approves one.
    assert!(report.actions().is_empty(), "{}", report.pretty());
    assert_eq!(site.server().current().pid, pid);
    assert!(is_running(pid), "server {pid} stopped");
}

#[test]
fn same_certificate_rewritten_later_is_neutral() {
    let mut site = Site::new();
    let leaf = site.issue_valid();
    site.install(&leaf);
    site.start_site_server();
    // The renewal job writes the same certificate again after the start.
    site.install(&leaf);
    set_mtime_from_now(&site.cert_file(), 5);

    let output = site.diagnose().json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    assert_eq!(report.finding_ids(), ["served.trusted", "disk.valid", "process.timeline", "served.matches_disk"]);
    let timeline = report.finding("process.timeline");
    assert_eq!(timeline["severity"], "info");
    let message = timeline["message"].as_str().unwrap_or_default();
    assert!(!message.contains("old certificate"), "{message}");
}

#[test]
fn change_within_precision_has_unknown_order() {
    let mut site = Site::new();
    let expired = site.issue_expired();
    let (old_cert, old_key) = site.write_pair("old", &expired, &[]);
    site.start_server(&old_cert, &old_key);
    let pid = site.server().started.pid;
    site.install(&site.issue_valid());
    // The file's mtime is the start time computed from /proc, which is precise to about 1 s.
    let started = certwiz::process::process_start_time(pid as i32).expect("read the server's start time");
    let file = File::options().write(true).open(site.cert_file()).expect("open site.crt");
    file.set_modified(started).expect("set the mtime of site.crt");

    let output = site.diagnose().json().run();

    output.assert_code(3);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "full-restart"]);
    assert_eq!(
        report.finding_ids(),
        ["served.expired", "disk.valid", "process.timeline", "stale.served_differs_from_disk", "run.unapproved"]
    );
    let timeline = report.finding("process.timeline");
    assert_eq!(timeline["severity"], "info");
    assert!(timeline["message"].as_str().unwrap_or_default().contains("unknown"), "{timeline}");
}
