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

/// Kinds of picked lines that give one `logs.*` finding together.
#[derive(Debug, Clone, Copy)]
enum LineGroup {
    Panics,
    CertificateErrors,
    TlsErrors,
}

impl LineGroup {
    const ALL: [LineGroup; 3] = [LineGroup::Panics, LineGroup::CertificateErrors, LineGroup::TlsErrors];

    fn id(self) -> &'static str {
        match self {
            LineGroup::Panics => "logs.panics",
            LineGroup::CertificateErrors => "logs.certificate_errors",
            LineGroup::TlsErrors => "logs.tls_errors",
        }
    }

    fn severity(self) -> Severity {
        match self {
            LineGroup::Panics | LineGroup::CertificateErrors => Severity::Error,
            LineGroup::TlsErrors => Severity::Warning,
        }
    }

    fn kinds(self) -> &'static [LineKind] {
        match self {
            LineGroup::Panics => &[LineKind::Panic],
            LineGroup::CertificateErrors => &[LineKind::Certificate, LineKind::Error],
            LineGroup::TlsErrors => &[LineKind::TlsHandshake],
        }
    }

    /// Returns the message for `count` lines in `path`, with a separate text for one line
    /// so that English reads "1 line" and "2 lines".
    fn message(self, count: usize, path: &str) -> String {
        let message = match (self, count) {
            (LineGroup::Panics, 1) => t!("finding.logs.panics_one", path = path),
            (LineGroup::Panics, _) => t!("finding.logs.panics", count = count, path = path),
            (LineGroup::CertificateErrors, 1) => t!("finding.logs.certificate_errors_one", path = path),
            (LineGroup::CertificateErrors, _) => t!("finding.logs.certificate_errors", count = count, path = path),
            (LineGroup::TlsErrors, 1) => t!("finding.logs.tls_errors_one", path = path),
            (LineGroup::TlsErrors, _) => t!("finding.logs.tls_errors", count = count, path = path),
        };
        message.into_owned()
    }
}

/// Turns the picked lines of one scan into `logs.*` findings.
// NOTE: counts cover the kept lines (at most `MAX_LINES` per file), not every line the tail
// holds, so a busy log reports at most `MAX_LINES` lines of a kind.
pub(crate) fn scan_findings(scan: &LogScan) -> Vec<Finding> {
    let path = scan.file.display().to_string();
    let mut findings = Vec::new();

    for group in LineGroup::ALL {
        let kinds = group.kinds();
        let matching = scan.lines.iter().filter(|line| kinds.contains(&line.kind)).count();
        if matching == 0 {
            continue;
        }

        let last = scan.lines.iter().rev().find(|line| kinds.contains(&line.kind));
        findings.push(Finding::new(
            group.id(),
            group.severity(),
            group.message(matching, &path),
            json!({ "path": path, "count": matching, "last": last }),
        ));
    }

    if findings.is_empty() {
        findings.push(clean_finding(scan, &path));
    }
    findings
}

/// Returns the `logs.clean` finding for a scan without problem lines, saying when the log is
/// empty and how much of it was read.
fn clean_finding(scan: &LogScan, path: &str) -> Finding {
    let message = if scan.bytes_read == 0 && !scan.truncated {
        t!("finding.logs.empty", path = path)
    } else if scan.truncated {
        t!("finding.logs.clean", path = path, bytes = scan.bytes_read)
    } else {
        t!("finding.logs.clean_whole", path = path)
    };

    Finding::new(
        "logs.clean",
        Severity::Info,
        message,
        json!({ "path": path, "bytes_read": scan.bytes_read, "picked": scan.picked_total }),
    )
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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::io::Write;
    use std::path::Path;

    use super::*;

    fn write_log(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        fs::write(&path, text).expect("write log");
        path.display().to_string()
    }

    fn scan(path: &str) -> LogScan {
        logs::scan_log(Path::new(path), TAIL_BYTES, MAX_LINES).expect("scan log")
    }

    fn messages(findings: &[Finding]) -> Vec<(&str, &str)> {
        findings.iter().map(|finding| (finding.id.as_str(), finding.message.as_str())).collect()
    }

    #[test]
    fn one_line_messages_are_singular() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_log(
            dir.path(),
            "one.log",
            "\
panic: tls: private key does not match public key
2026/12/04 20:01:00 tls: failed to load certificate
2026/12/04 20:01:01 http: TLS handshake error from 127.0.0.1:5555: EOF
",
        );

        let findings = scan_findings(&scan(&path));

        assert_eq!(
            messages(&findings),
            [
                ("logs.panics", format!("{path} contains 1 line about a crash (panic) or start-up failure").as_str()),
                ("logs.certificate_errors", format!("{path} contains 1 line with a certificate error").as_str()),
                ("logs.tls_errors", format!("{path} contains 1 line with a TLS handshake error").as_str()),
            ]
        );
    }

    #[test]
    fn many_line_messages_are_plural() {
        let dir = tempfile::tempdir().expect("tempdir");
        let line = "2026/12/04 20:01:01 http: TLS handshake error from 127.0.0.1:5555: EOF\n";
        let path = write_log(dir.path(), "many.log", &line.repeat(2));

        let findings = scan_findings(&scan(&path));

        assert_eq!(
            messages(&findings),
            [("logs.tls_errors", format!("{path} contains 2 lines with TLS handshake errors").as_str())]
        );
        assert_eq!(findings[0].evidence["count"], 2);
    }

    #[test]
    fn empty_log_is_reported_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_log(dir.path(), "empty.log", "");

        let findings = scan_findings(&scan(&path));

        assert_eq!(messages(&findings), [("logs.clean", format!("the log {path} is empty").as_str())]);
        assert_eq!(findings[0].evidence["bytes_read"], 0);
    }

    #[test]
    fn clean_whole_log_names_no_byte_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_log(dir.path(), "quiet.log", "[2026-12-04 20:01:00] [INFO] listen at https://0.0.0.0:8443\n");

        let findings = scan_findings(&scan(&path));

        assert_eq!(
            messages(&findings),
            [(
                "logs.clean",
                format!("{path} contains no TLS handshake errors, certificate errors, crashes or start-up failures").as_str()
            )]
        );
    }

    #[test]
    fn clean_tail_names_byte_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_log(dir.path(), "big.log", &"[2026-12-04 20:01:00] [INFO] ok\n".repeat(10));
        let tail = logs::scan_log(Path::new(&path), 64, MAX_LINES).expect("scan log");

        let findings = scan_findings(&tail);

        assert_eq!(
            messages(&findings),
            [(
                "logs.clean",
                format!("the last 64 bytes of {path} contain no TLS handshake errors, certificate errors, crashes or start-up failures")
                    .as_str()
            )]
        );
    }

    #[test]
    fn single_line_log_is_found() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("single.log");
        let mut file = std::io::BufWriter::new(fs::File::create(&path).expect("create log"));
        for _ in 0..160 {
            file.write_all(&[b'x'; 64 * 1024]).expect("write noise");
        }
        file.write_all(b" http: TLS handshake error from 127.0.0.1:5555: EOF\n").expect("write end");
        file.flush().expect("flush log");
        drop(file);
        let path = path.display().to_string();

        let output = run(&Variables::from_pairs([("log_files", path.as_str())]));

        assert_eq!(output.outcome, "found");
        let ids: Vec<&str> = output.findings.iter().map(|finding| finding.id.as_str()).collect();
        assert_eq!(ids, ["logs.tls_errors"]);
    }
}
