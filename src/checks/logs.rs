//! The `logs` check: the tail of each log file, with the lines about TLS, certificates and panics.

use rust_i18n::t;
use serde_json::json;

use super::CheckOutput;
use crate::findings::{Finding, Severity};
use crate::logs::{self, LineKind, LogError, LogScan};
use crate::variables::Variables;

/// Bytes read from the end of each log file, however large the file is.
pub const TAIL_BYTES: u64 = 4 * 1024 * 1024;

/// Lines kept per file, the newest ones.
pub const MAX_LINES: usize = 30;

/// Scans every file in `log_files`; the outcome is `found` when any picked line points at a problem.
pub fn run(variables: &Variables) -> CheckOutput {
    let files = variables.list("log_files");
    let mut output = CheckOutput::new("clean");

    if files.is_empty() {
        output.findings.push(Finding::new("logs.none", Severity::Info, t!("finding.logs.none"), json!({})));
        return output;
    }

    for file in &files {
        match logs::scan_log(file.as_ref(), TAIL_BYTES, MAX_LINES) {
            Ok(scan) => {
                output.findings.extend(scan_findings(&scan));
                output.logs.push(scan);
            }
            Err(error) => output.findings.push(error_finding(&error, file)),
        }
    }

    let problem = |finding: &Finding| finding.id.starts_with("logs.") && finding.severity >= Severity::Warning;
    if output.findings.iter().any(problem) {
        output.outcome = "found";
    }
    output
}

fn count(scan: &LogScan, kinds: &[LineKind]) -> usize {
    scan.lines.iter().filter(|line| kinds.contains(&line.kind)).count()
}

/// Turns the picked lines of one scan into `logs.*` findings.
pub(crate) fn scan_findings(scan: &LogScan) -> Vec<Finding> {
    let path = scan.file.display().to_string();
    let mut findings = Vec::new();
    let kinds: [(&str, Severity, &[LineKind]); 3] = [
        ("logs.panics", Severity::Error, &[LineKind::Panic]),
        ("logs.certificate_errors", Severity::Error, &[LineKind::Certificate, LineKind::Error]),
        ("logs.tls_errors", Severity::Warning, &[LineKind::TlsHandshake]),
    ];
    for (id, severity, line_kinds) in kinds {
        let matching = count(scan, line_kinds);
        if matching == 0 {
            continue;
        }
        let last = scan.lines.iter().rev().find(|line| line_kinds.contains(&line.kind));
        let message_key = format!("finding.{id}");
        findings.push(Finding::new(
            id,
            severity,
            t!(&message_key, count = matching, path = path),
            json!({ "path": path, "count": matching, "last": last }),
        ));
    }
    if findings.is_empty() {
        findings.push(Finding::new(
            "logs.clean",
            Severity::Info,
            t!("finding.logs.clean", path = path, bytes = scan.bytes_read),
            json!({ "path": path, "bytes_read": scan.bytes_read, "picked": scan.picked_total }),
        ));
    }
    findings
}

/// Turns a failure to scan `file` into a `logs.missing` or `logs.unreadable` finding.
pub(crate) fn error_finding(error: &LogError, file: &str) -> Finding {
    let evidence = json!({ "path": file, "detail": error.to_string() });
    match error {
        LogError::Missing { .. } => {
            Finding::new("logs.missing", Severity::Info, t!("finding.logs.missing", path = file), evidence)
        }
        LogError::Unreadable { source, .. } => Finding::new(
            "logs.unreadable",
            Severity::Warning,
            t!("finding.logs.unreadable", path = file, detail = source.to_string()),
            evidence,
        ),
        LogError::Gzip { detail, .. } => Finding::new(
            "logs.unreadable",
            Severity::Warning,
            t!("finding.logs.unreadable", path = file, detail = detail),
            evidence,
        ),
    }
}
