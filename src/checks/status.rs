//! The `status` check: which layer is stale, the process or the file?

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use super::disk::{format_time, read_pair, DiskPair};
use super::endpoint::{served_findings, target, Served};
use super::CheckOutput;
use crate::certs::CertSummary;
use crate::findings::{Finding, Severity};
use crate::probe;
use crate::process::{self, ListenerProcess};
use crate::variables::{VariableError, Variables};

/// Precision of process start times: /proc/stat gives the boot time in whole seconds, so a
/// start time computed from it can be up to one second early.
pub const START_TIME_PRECISION: Duration = Duration::from_secs(1);

/// Probes the endpoint, reads the files and compares them and the process start time.
pub async fn run(variables: &Variables, now: OffsetDateTime) -> Result<CheckOutput, VariableError> {
    let target = target(variables)?;
    let disk = read_pair(variables, now)?;
    let served = served_findings(&target, probe::probe(&target).await, now);
    let listener = find_listener(variables)?;

    let mut output = CheckOutput::new("unreachable");
    output.served = served.leaf.clone();
    output.disk = disk.leaf().cloned();
    output.findings.extend(served.findings.iter().cloned());
    output.findings.extend(disk.findings.iter().cloned());

    let same = same_leaf(served.leaf.as_ref(), disk.leaf());
    let order = match listener {
        Listener::Found(timeline) => {
            output.findings.push(timeline_finding(&timeline, same));
            Some(timeline.order())
        }
        Listener::Unknown(finding) => {
            output.findings.extend(finding);
            None
        }
    };

    output.outcome = decide(&served, &disk, order, &mut output.findings);
    Ok(output)
}

/// Picks the outcome and adds the comparison findings.
fn decide(served: &Served, disk: &DiskPair, order: Option<Order>, findings: &mut Vec<Finding>) -> &'static str {
    let Some(served_leaf) = &served.leaf else {
        return "unreachable";
    };
    let Some(disk_leaf) = disk.leaf() else {
        return "file-bad";
    };

    let same = served_leaf.sha256 == disk_leaf.sha256;
    findings.push(comparison_finding(served_leaf, disk_leaf));

    if !disk.usable {
        return "file-bad";
    }
    if !same && disk_leaf.not_after < served_leaf.not_after {
        findings.push(Finding::new(
            "disk.older_than_served",
            Severity::Error,
            t!("finding.disk.older_than_served", disk = format_time(disk_leaf.not_after), served = format_time(served_leaf.not_after)),
            json!({ "disk_not_after": format_time(disk_leaf.not_after), "served_not_after": format_time(served_leaf.not_after) }),
        ));
        return "file-bad";
    }
    if !same {
        // A process that started after the file changed would serve the file if it loaded it,
        // so a restart cannot help.
        return if order == Some(Order::StartedAfter) { "other-file" } else { "stale" };
    }
    // The process serves the file, so what the browser dislikes is the file itself.
    if served.acceptable {
        "healthy"
    } else {
        "file-bad"
    }
}

/// Returns whether the served leaf is the leaf on disk, or `None` when either is missing.
fn same_leaf(served: Option<&CertSummary>, disk: Option<&CertSummary>) -> Option<bool> {
    served.zip(disk).map(|(served, disk)| served.sha256 == disk.sha256)
}

/// Compares the served leaf with the leaf on disk by SHA-256 fingerprint.
pub fn comparison_finding(served: &CertSummary, disk: &CertSummary) -> Finding {
    let evidence = json!({ "served_sha256": served.sha256, "disk_sha256": disk.sha256 });
    if served.sha256 == disk.sha256 {
        Finding::new("served.matches_disk", Severity::Ok, t!("finding.served.matches_disk"), evidence)
    } else {
        Finding::new(
            "stale.served_differs_from_disk",
            Severity::Error,
            t!(
                "finding.stale.served_differs_from_disk",
                served = format_time(served.not_after),
                disk = format_time(disk.not_after)
            ),
            evidence,
        )
    }
}

/// The process listening on the port, or the finding that explains why it is not known.
enum Listener {
    Found(Timeline),
    /// No process, or one whose start cannot be compared with the file. The finding, if any,
    /// names the reason.
    Unknown(Option<Finding>),
}

/// When the listening process started and when the certificate file last changed.
#[derive(Debug, Clone)]
struct Timeline {
    process: ListenerProcess,
    cert_file: PathBuf,
    modified: SystemTime,
}

impl Timeline {
    fn order(&self) -> Order {
        order(self.process.started_at, self.modified)
    }
}

/// Order of a process start and a file change, as far as start times are precise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// The file changed more than [`START_TIME_PRECISION`] after the process started.
    StartedBefore,
    /// The process started more than [`START_TIME_PRECISION`] after the file changed.
    StartedAfter,
    /// The two are within [`START_TIME_PRECISION`] of each other.
    Unknown,
}

fn order(started: SystemTime, modified: SystemTime) -> Order {
    match modified.duration_since(started) {
        Ok(gap) if gap > START_TIME_PRECISION => Order::StartedBefore,
        Ok(_) => Order::Unknown,
        Err(error) if error.duration() > START_TIME_PRECISION => Order::StartedAfter,
        Err(_) => Order::Unknown,
    }
}

/// Finds the process listening on `port` and the mtime of `cert_file`.
fn find_listener(variables: &Variables) -> Result<Listener, VariableError> {
    let port = variables.port("port")?;
    let cert_file = variables.path("cert_file")?;

    let process = match process::find_listener(port) {
        Ok(Some(process)) => process,
        Ok(None) => {
            return Ok(Listener::Unknown(Some(Finding::new(
                "process.not_found",
                Severity::Info,
                t!("finding.process.not_found", port = port),
                json!({ "port": port }),
            ))));
        }
        Err(error) => {
            return Ok(Listener::Unknown(Some(Finding::new(
                "process.not_found",
                Severity::Info,
                t!("finding.process.unknown", port = port, detail = error.to_string()),
                json!({ "port": port, "detail": error.to_string() }),
            ))));
        }
    };
    // `disk.*` findings report a certificate file that cannot be read.
    let Ok(modified) = process::file_mtime(&cert_file) else {
        return Ok(Listener::Unknown(None));
    };

    Ok(Listener::Found(Timeline { process, cert_file, modified }))
}

/// Builds the finding on the order of the process start and the file change, given whether
/// the process serves the file's leaf (`same`, `None` when either leaf is missing).
fn timeline_finding(timeline: &Timeline, same: Option<bool>) -> Finding {
    let pid = timeline.process.pid;
    let command = &timeline.process.command;
    let started = format_system_time(timeline.process.started_at);
    let changed = format_system_time(timeline.modified);
    let evidence = timeline_evidence(timeline, &started, &changed);

    let (id, severity, message) = match (timeline.order(), same) {
        (Order::StartedBefore, Some(false)) => (
            "stale.process_started_before_change",
            Severity::Warning,
            t!("finding.stale.process_started_before_change", pid = pid, command = command, started = started, changed = changed),
        ),
        (Order::StartedAfter, Some(false)) => (
            "stale.process_reads_other_file",
            Severity::Error,
            t!(
                "finding.stale.process_reads_other_file",
                pid = pid,
                command = command,
                started = started,
                changed = changed,
                path = timeline.cert_file.display()
            ),
        ),
        (Order::StartedAfter, _) => (
            "process.started_after_change",
            Severity::Info,
            t!("finding.process.started_after_change", pid = pid, command = command, started = started, changed = changed),
        ),
        (Order::StartedBefore, Some(true)) => (
            "process.timeline",
            Severity::Info,
            t!("finding.process.rewritten_same_certificate", pid = pid, command = command, started = started, changed = changed),
        ),
        (Order::StartedBefore, None) => (
            "process.timeline",
            Severity::Info,
            t!("finding.process.changed_after_start", pid = pid, command = command, started = started, changed = changed),
        ),
        (Order::Unknown, _) => (
            "process.timeline",
            Severity::Info,
            t!("finding.process.order_unknown", pid = pid, command = command, started = started, changed = changed),
        ),
    };
    Finding::new(id, severity, message, evidence)
}

fn timeline_evidence(timeline: &Timeline, started: &str, changed: &str) -> serde_json::Value {
    json!({
        "pid": timeline.process.pid,
        "command": timeline.process.command,
        "process_started": started,
        "cert_file": timeline.cert_file,
        "cert_file_modified": changed,
    })
}

/// Formats a process or file time in whole seconds, like [`format_time`]: process start times
/// are only precise to about a second ([`START_TIME_PRECISION`]), so more digits would mislead.
pub fn format_system_time(time: SystemTime) -> String {
    format_time(OffsetDateTime::from(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis)
    }

    fn timeline(started: SystemTime, modified: SystemTime) -> Timeline {
        Timeline {
            process: ListenerProcess { pid: 42, ppid: 1, command: "1panel".to_string(), started_at: started },
            cert_file: PathBuf::from("/opt/1panel/secret/server.crt"),
            modified,
        }
    }

    #[test]
    fn order_needs_more_than_precision() {
        let cases = [
            (at(1_000, 0), at(1_001, 1), Order::StartedBefore),
            (at(1_000, 0), at(1_001, 0), Order::Unknown),
            (at(1_000, 0), at(1_000, 0), Order::Unknown),
            (at(1_001, 0), at(1_000, 0), Order::Unknown),
            (at(1_001, 1), at(1_000, 0), Order::StartedAfter),
        ];

        for (started, modified, expected) in cases {
            assert_eq!(order(started, modified), expected, "started {started:?}, modified {modified:?}");
        }
    }

    #[test]
    fn changed_file_serving_other_leaf_warns() {
        let finding = timeline_finding(&timeline(at(1_000, 0), at(5_000, 0)), Some(false));

        assert_eq!(finding.id, "stale.process_started_before_change");
        assert_eq!(finding.severity, Severity::Warning);
    }

    #[test]
    fn rewritten_same_leaf_is_neutral() {
        let finding = timeline_finding(&timeline(at(1_000, 0), at(5_000, 0)), Some(true));

        assert_eq!(finding.id, "process.timeline");
        assert_eq!(finding.severity, Severity::Info);
        assert!(!finding.message.contains("old certificate"), "{}", finding.message);
    }

    #[test]
    fn close_times_report_unknown_order() {
        let finding = timeline_finding(&timeline(at(1_000, 0), at(1_000, 600)), Some(false));

        assert_eq!(finding.id, "process.timeline");
        assert_eq!(finding.severity, Severity::Info);
        assert!(finding.message.contains("unknown"), "{}", finding.message);
    }

    #[test]
    fn later_start_serving_other_leaf_is_other_file() {
        let finding = timeline_finding(&timeline(at(5_000, 0), at(1_000, 0)), Some(false));

        assert_eq!(finding.id, "stale.process_reads_other_file");
        assert_eq!(finding.severity, Severity::Error);
        assert!(finding.message.contains("/opt/1panel/secret/server.crt"), "{}", finding.message);
    }

    #[test]
    fn later_start_serving_same_leaf_is_info() {
        let finding = timeline_finding(&timeline(at(5_000, 0), at(1_000, 0)), Some(true));

        assert_eq!(finding.id, "process.started_after_change");
        assert_eq!(finding.severity, Severity::Info);
    }

    #[test]
    fn times_print_whole_seconds() {
        let text = format_system_time(at(1_700_000_000, 789));

        assert_eq!(text, "2023-11-14 22:13:20 UTC");
    }
}
