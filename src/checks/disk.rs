//! The certificate and key files on disk: read, validate, and turn into findings.

use std::path::Path;

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use crate::certs::{self, CertSummary, FileError, ParsedCert, Validity};
use crate::findings::{Finding, Severity};
use crate::variables::{VariableError, Variables};

/// What the files on disk hold, and whether the pair could be served as it is.
#[derive(Debug, Default)]
pub struct DiskPair {
    pub chain: Vec<ParsedCert>,
    pub findings: Vec<Finding>,
    /// The leaf parses, is within its validity period, and the key matches it.
    pub usable: bool,
}

impl DiskPair {
    pub fn leaf(&self) -> Option<&CertSummary> {
        self.chain.first().map(|cert| &cert.summary)
    }
}

/// Reads `cert_file` and `key_file` and checks that they form a pair valid at `now`.
pub fn read_pair(variables: &Variables, now: OffsetDateTime) -> Result<DiskPair, VariableError> {
    let cert_path = variables.path("cert_file")?;
    let key_path = variables.path("key_file")?;
    let mut pair = DiskPair::default();

    match certs::read_chain_file(&cert_path) {
        Ok(chain) => pair.chain = chain,
        Err(error) => pair.findings.push(file_finding(&error, &cert_path)),
    }
    let key = match certs::read_key_file(&key_path) {
        Ok(key) => Some(key),
        Err(error) => {
            pair.findings.push(file_finding(&error, &key_path));
            None
        }
    };

    let Some(leaf) = pair.chain.first() else {
        return Ok(pair);
    };
    let summary = &leaf.summary;
    let evidence = json!({
        "path": cert_path,
        "not_before": format_time(summary.not_before),
        "not_after": format_time(summary.not_after),
        "sha256": summary.sha256,
        "chain_length": pair.chain.len(),
    });

    let mut in_period = false;
    match summary.validity_at(now) {
        Validity::Expired => pair.findings.push(Finding::new(
            "disk.expired",
            Severity::Error,
            t!("finding.disk.expired", path = cert_path.display(), date = format_time(summary.not_after)),
            evidence,
        )),
        Validity::NotYetValid => pair.findings.push(Finding::new(
            "disk.not_yet_valid",
            Severity::Error,
            t!("finding.disk.not_yet_valid", path = cert_path.display(), date = format_time(summary.not_before)),
            evidence,
        )),
        Validity::Valid => {
            in_period = true;
            pair.findings.push(Finding::new(
                "disk.valid",
                Severity::Ok,
                t!(
                    "finding.disk.valid",
                    path = cert_path.display(),
                    date = format_time(summary.not_after),
                    days = summary.days_left(now)
                ),
                evidence,
            ));
        }
    }

    let mut key_matches = false;
    if let Some(key) = key {
        match certs::key_matches(leaf, &key) {
            Ok(true) => key_matches = true,
            Ok(false) => pair.findings.push(Finding::new(
                "disk.key_mismatch",
                Severity::Error,
                t!("finding.disk.key_mismatch", key = key_path.display(), cert = cert_path.display()),
                json!({ "cert_file": cert_path, "key_file": key_path }),
            )),
            Err(error) => pair.findings.push(Finding::new(
                "disk.invalid",
                Severity::Error,
                t!("finding.disk.invalid", path = key_path.display(), detail = error.to_string()),
                json!({ "path": key_path, "detail": error.to_string() }),
            )),
        }
    }

    pair.usable = in_period && key_matches;
    Ok(pair)
}

/// Turns a failure to read a file into a `disk.*` finding.
fn file_finding(error: &FileError, path: &Path) -> Finding {
    let evidence = json!({ "path": path, "detail": error.to_string() });
    match error {
        FileError::Missing { .. } => Finding::new(
            "disk.missing",
            Severity::Error,
            t!("finding.disk.missing", path = path.display()),
            evidence,
        ),
        FileError::Unreadable { source, .. } => Finding::new(
            "disk.unreadable",
            Severity::Error,
            t!("finding.disk.unreadable", path = path.display(), detail = source.to_string()),
            evidence,
        ),
        FileError::Invalid { source, .. } => Finding::new(
            "disk.invalid",
            Severity::Error,
            t!("finding.disk.invalid", path = path.display(), detail = source.to_string()),
            evidence,
        ),
        FileError::TooLarge { size, .. } => Finding::new(
            "disk.invalid",
            Severity::Error,
            t!("finding.disk.too_large", path = path.display(), size = size),
            evidence,
        ),
    }
}

/// Formats a time as users read it in reports: `2026-12-04 19:54:10 UTC`.
pub fn format_time(time: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time.to_offset(time::UtcOffset::UTC).format(format).unwrap_or_else(|_| time.to_string())
}
