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
    /// The leaf parses, is not a CA certificate, is within its validity period, and the key
    /// matches it.
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

    let is_ca = leaf.is_ca();
    if is_ca {
        pair.findings.push(Finding::new(
            "disk.ca_certificate",
            Severity::Error,
            t!("finding.disk.ca_certificate", path = cert_path.display(), subject = summary.subject),
            json!({ "path": cert_path, "subject": summary.subject, "sha256": summary.sha256 }),
        ));
    }

    let in_period = summary.validity_at(now) == Validity::Valid;
    // A CA certificate in its period is no valid server certificate, so `disk.ca_certificate`
    // above replaces `disk.valid`.
    if !(in_period && is_ca) {
        pair.findings.push(period_finding(summary, &cert_path, pair.chain.len(), now));
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

    pair.usable = in_period && key_matches && !is_ca;
    Ok(pair)
}

/// Says whether the certificate file's leaf is within its validity period at `now`.
fn period_finding(summary: &CertSummary, path: &Path, chain_length: usize, now: OffsetDateTime) -> Finding {
    let evidence = json!({
        "path": path,
        "not_before": format_time(summary.not_before),
        "not_after": format_time(summary.not_after),
        "sha256": summary.sha256,
        "chain_length": chain_length,
    });
    match summary.validity_at(now) {
        Validity::Expired => Finding::new(
            "disk.expired",
            Severity::Error,
            t!("finding.disk.expired", path = path.display(), date = format_time(summary.not_after)),
            evidence,
        ),
        Validity::NotYetValid => Finding::new(
            "disk.not_yet_valid",
            Severity::Error,
            t!("finding.disk.not_yet_valid", path = path.display(), date = format_time(summary.not_before)),
            evidence,
        ),
        Validity::Valid => Finding::new(
            "disk.valid",
            Severity::Ok,
            t!(
                "finding.disk.valid",
                path = path.display(),
                date = format_time(summary.not_after),
                days = summary.days_left(now)
            ),
            evidence,
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{write_pair, Authority, Issued, LeafSpec};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// Writes `pair.crt` and `pair.key` and returns variables that point at them.
    fn variables_for(dir: &Path, issued: &Issued) -> Variables {
        let (cert, key) = write_pair(dir, "pair", issued, &[]).expect("write the pair");
        let cert = cert.display().to_string();
        let key = key.display().to_string();
        Variables::from_pairs([("cert_file", cert.as_str()), ("key_file", key.as_str())])
    }

    /// Generates a self-signed CA certificate with its own key, as a user may pick by mistake.
    fn ca_pair() -> Issued {
        let key = KeyPair::generate().expect("P-256 key generation");
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("valid name");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let certificate = params.self_signed(&key).expect("self-signing");
        Issued { cert_pem: certificate.pem(), key_pem: key.serialize_pem(), der: certificate.der().to_vec() }
    }

    fn ids(pair: &DiskPair) -> Vec<&str> {
        pair.findings.iter().map(|finding| finding.id.as_str()).collect()
    }

    #[test]
    fn server_leaf_is_valid_and_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Authority::new("disk test root").expect("root CA");
        let leaf = ca.issue(&LeafSpec::valid_for(&["localhost"], 90)).expect("leaf");

        let pair = read_pair(&variables_for(dir.path(), &leaf), OffsetDateTime::now_utc()).expect("variables are set");

        assert_eq!(ids(&pair), ["disk.valid"]);
        assert!(pair.usable);
    }

    #[test]
    fn ca_certificate_is_not_usable() {
        let dir = tempfile::tempdir().expect("tempdir");

        let pair = read_pair(&variables_for(dir.path(), &ca_pair()), OffsetDateTime::now_utc()).expect("variables are set");

        assert_eq!(ids(&pair), ["disk.ca_certificate"]);
        assert_eq!(pair.findings[0].severity, Severity::Error);
        assert!(!pair.usable);
    }
}
