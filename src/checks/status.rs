//! The `status` check: which layer is stale, the process or the file?

use std::time::SystemTime;

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use super::disk::{format_time, read_pair, DiskPair};
use super::endpoint::{served_findings, target, Served};
use super::CheckOutput;
use crate::certs::CertSummary;
use crate::findings::{Finding, Severity};
use crate::probe;
use crate::process;
use crate::variables::{VariableError, Variables};

/// Probes the endpoint, reads the files and compares them and the process start time.
pub async fn run(variables: &Variables, now: OffsetDateTime) -> Result<CheckOutput, VariableError> {
    let target = target(variables)?;
    let disk = read_pair(variables, now)?;
    let served = served_findings(&target, probe::probe(&target).await, now);

    let mut output = CheckOutput::new("unreachable");
    output.served = served.leaf.clone();
    output.disk = disk.leaf().cloned();
    output.findings.extend(served.findings.iter().cloned());
    output.findings.extend(disk.findings.iter().cloned());

    let process_findings = process_findings(variables)?;
    output.findings.extend(process_findings);

    output.outcome = decide(&served, &disk, &mut output.findings);
    Ok(output)
}

/// Picks the outcome and adds the comparison findings.
fn decide(served: &Served, disk: &DiskPair, findings: &mut Vec<Finding>) -> &'static str {
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
        return "stale";
    }
    // The process serves the file, so what the browser dislikes is the file itself.
    if served.acceptable {
        "healthy"
    } else {
        "file-bad"
    }
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

/// Compares the start time of the process listening on the port with the certificate file's mtime.
fn process_findings(variables: &Variables) -> Result<Vec<Finding>, VariableError> {
    let port = variables.port("port")?;
    let cert_path = variables.path("cert_file")?;

    let listener = match process::find_listener(port) {
        Ok(Some(listener)) => listener,
        Ok(None) => {
            return Ok(vec![Finding::new(
                "process.not_found",
                Severity::Info,
                t!("finding.process.not_found", port = port),
                json!({ "port": port }),
            )]);
        }
        Err(error) => {
            return Ok(vec![Finding::new(
                "process.not_found",
                Severity::Info,
                t!("finding.process.unknown", port = port, detail = error.to_string()),
                json!({ "port": port, "detail": error.to_string() }),
            )]);
        }
    };
    let Ok(modified) = process::file_mtime(&cert_path) else {
        return Ok(Vec::new());
    };

    let started = format_system_time(listener.started_at);
    let changed = format_system_time(modified);
    let evidence = json!({
        "pid": listener.pid,
        "command": listener.command,
        "process_started": started,
        "cert_file": cert_path,
        "cert_file_modified": changed,
    });
    let finding = if listener.started_at < modified {
        Finding::new(
            "stale.process_started_before_change",
            Severity::Warning,
            t!("finding.stale.process_started_before_change", pid = listener.pid, command = listener.command, started = started, changed = changed),
            evidence,
        )
    } else {
        Finding::new(
            "process.started_after_change",
            Severity::Info,
            t!("finding.process.started_after_change", pid = listener.pid, command = listener.command, started = started, changed = changed),
            evidence,
        )
    };
    Ok(vec![finding])
}

/// Formats a process or file time with milliseconds, because a restart and a renewal often fall
/// within the same second.
pub fn format_system_time(time: SystemTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] UTC");
    let time = OffsetDateTime::from(time);
    time.format(format).unwrap_or_else(|_| format_time(time))
}
