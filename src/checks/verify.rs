//! The `verify` check: a fresh handshake, retried while the service comes back.

use std::time::Duration;

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use super::disk::read_pair;
use super::endpoint::{served_findings, target};
use super::status::comparison_finding;
use super::CheckOutput;
use crate::findings::{Finding, Severity};
use crate::probe;
use crate::progress::Progress;
use crate::variables::{VariableError, Variables};

/// Probes until the endpoint serves the usable file on disk, or the attempts run out.
pub async fn run(variables: &Variables, progress: &dyn Progress) -> Result<CheckOutput, VariableError> {
    let target = target(variables)?;
    let attempts = variables.count("verify_attempts")?;
    let interval = variables.seconds("verify_interval_secs")?;

    let now = OffsetDateTime::now_utc();
    let disk = read_pair(variables, now)?;
    let mut output = CheckOutput::new("file-bad");
    output.disk = disk.leaf().cloned();
    if !disk.usable {
        output.findings = disk.findings;
        return Ok(output);
    }
    let disk_leaf = disk.leaf().cloned();

    let mut last = None;
    for attempt in 1..=attempts {
        progress.update(&t!("progress.verify_attempt", attempt = attempt, attempts = attempts));
        let served = served_findings(&target, probe::probe(&target).await, OffsetDateTime::now_utc());
        let matches = served.leaf.as_ref().zip(disk_leaf.as_ref()).is_some_and(|(s, d)| s.sha256 == d.sha256);
        if matches {
            output.served = served.leaf.clone();
            output.findings = served.findings;
            if let (Some(served_leaf), Some(disk_leaf)) = (&output.served, &disk_leaf) {
                output.findings.push(comparison_finding(served_leaf, disk_leaf));
            }
            output.outcome = if served.acceptable { "serving-disk-cert" } else { "file-bad" };
            if served.acceptable {
                output.findings.push(Finding::new(
                    "verify.serving_disk_cert",
                    Severity::Ok,
                    t!("finding.verify.serving_disk_cert", attempt = attempt),
                    json!({ "attempt": attempt, "sha256": output.served.as_ref().map(|leaf| leaf.sha256.clone()) }),
                ));
            }
            return Ok(output);
        }
        last = Some(served);
        if attempt < attempts {
            tokio::time::sleep(interval).await;
        }
    }

    // Every attempt above either failed or served another certificate than the one on disk.
    let last = last.expect("verify_attempts is at least 1");
    output.served = last.leaf.clone();
    output.findings = last.findings;
    let waited = Duration::from_secs(interval.as_secs() * u64::from(attempts.saturating_sub(1)));
    match (&output.served, &disk_leaf) {
        (Some(served_leaf), Some(disk_leaf)) => {
            output.findings.push(comparison_finding(served_leaf, disk_leaf));
            output.findings.push(Finding::new(
                "verify.still_stale",
                Severity::Error,
                t!("finding.verify.still_stale", attempts = attempts, seconds = waited.as_secs()),
                json!({ "attempts": attempts, "served_sha256": served_leaf.sha256, "disk_sha256": disk_leaf.sha256 }),
            ));
            output.outcome = "still-stale";
        }
        _ => {
            output.findings.push(Finding::new(
                "verify.unreachable",
                Severity::Error,
                t!("finding.verify.unreachable", attempts = attempts, seconds = waited.as_secs()),
                json!({ "attempts": attempts }),
            ));
            output.outcome = "unreachable";
        }
    }
    Ok(output)
}
