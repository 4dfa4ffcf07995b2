//! The live endpoint: build the probe target from variables and turn the probe into findings.

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use super::disk::format_time;
use crate::certs::{self, CertSummary, Validity};
use crate::findings::{Finding, Severity};
use crate::probe::{ProbeError, ProbeTarget, ServedChain, Verdict};
use crate::variables::{VariableError, Variables};

/// Days before `notAfter` from which a served certificate counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 14;

/// Builds the probe target from `host`, `port`, `server_name`, `timeout_secs` and `ca_file`.
pub fn target(variables: &Variables) -> Result<ProbeTarget, VariableError> {
    let mut target = ProbeTarget::new(variables.required("host")?, variables.port("port")?);
    target.timeout = variables.seconds("timeout_secs")?;
    target.server_name = Some(variables.text("server_name").to_string()).filter(|name| !name.is_empty());
    if let Some(name) = &target.server_name {
        if rustls_pki_types::ServerName::try_from(name.as_str()).is_err() {
            return Err(VariableError::Invalid {
                name: "server_name".to_string(),
                value: name.clone(),
                expected: t!("variables.expected.host_name").into_owned(),
            });
        }
    }

    if let Some(ca_file) = variables.optional_path("ca_file") {
        let chain = certs::read_chain_file(&ca_file).map_err(|error| VariableError::Unusable {
            name: "ca_file".to_string(),
            detail: error.to_string(),
        })?;
        target.extra_roots = chain.into_iter().map(|cert| cert.der).collect();
    }
    Ok(target)
}

/// The served leaf and what it tells, or the reason nothing was served.
pub struct Served {
    pub leaf: Option<CertSummary>,
    pub findings: Vec<Finding>,
    /// The served chain is usable by a browser: trusted (or only untrusted), in its period, name fine.
    pub acceptable: bool,
}

/// Turns a probe result into `endpoint.*` and `served.*` findings.
pub fn served_findings(target: &ProbeTarget, result: Result<ServedChain, ProbeError>, now: OffsetDateTime) -> Served {
    let address = format!("{}:{}", target.host, target.port);
    let chain = match result {
        Ok(chain) => chain,
        Err(error) => {
            return Served { leaf: None, findings: vec![probe_error_finding(&address, &error)], acceptable: false };
        }
    };

    let Some(leaf_der) = chain.chain.first() else {
        let finding = Finding::new(
            "endpoint.not_tls",
            Severity::Error,
            t!("finding.endpoint.no_certificate", address = address),
            json!({ "address": address }),
        );
        return Served { leaf: None, findings: vec![finding], acceptable: false };
    };
    let leaf = match CertSummary::from_der(leaf_der.as_ref()) {
        Ok(leaf) => leaf,
        Err(error) => {
            let finding = Finding::new(
                "served.invalid",
                Severity::Error,
                t!("finding.served.invalid", address = address, detail = error.to_string()),
                json!({ "address": address, "detail": error.to_string() }),
            );
            return Served { leaf: None, findings: vec![finding], acceptable: false };
        }
    };

    let evidence = json!({
        "address": chain.address.to_string(),
        "server_name": target.server_name,
        "protocol": chain.protocol,
        "chain_length": chain.chain.len(),
        "sha256": leaf.sha256,
        "not_after": format_time(leaf.not_after),
        "verdict": chain.verdict,
    });
    let mut findings = Vec::new();
    let mut acceptable = true;

    match leaf.validity_at(now) {
        Validity::Expired => {
            acceptable = false;
            findings.push(Finding::new(
                "served.expired",
                Severity::Error,
                t!("finding.served.expired", address = address, date = format_time(leaf.not_after)),
                evidence.clone(),
            ));
        }
        Validity::NotYetValid => {
            acceptable = false;
            findings.push(Finding::new(
                "served.not_yet_valid",
                Severity::Error,
                t!("finding.served.not_yet_valid", address = address, date = format_time(leaf.not_before)),
                evidence.clone(),
            ));
        }
        Validity::Valid if leaf.days_left(now) < EXPIRING_SOON_DAYS => findings.push(Finding::new(
            "served.expiring_soon",
            Severity::Warning,
            t!("finding.served.expiring_soon", address = address, days = leaf.days_left(now)),
            evidence.clone(),
        )),
        Validity::Valid => {}
    }

    match &chain.verdict {
        Verdict::Trusted => findings.push(Finding::new(
            "served.trusted",
            Severity::Ok,
            t!("finding.served.trusted", address = address, subject = leaf.subject),
            evidence.clone(),
        )),
        // The period is reported above from the leaf's own dates.
        Verdict::Expired | Verdict::NotYetValid => {}
        Verdict::NameMismatch { presented } if target.server_name.is_none() => findings.push(Finding::new(
            "served.name_not_checked",
            Severity::Info,
            t!("finding.served.name_not_checked", names = presented.join(", ")),
            evidence.clone(),
        )),
        Verdict::NameMismatch { presented } => {
            acceptable = false;
            findings.push(Finding::new(
                "served.name_mismatch",
                Severity::Error,
                t!(
                    "finding.served.name_mismatch",
                    name = target.server_name.as_deref().unwrap_or(&target.host),
                    names = presented.join(", ")
                ),
                evidence.clone(),
            ));
        }
        Verdict::Untrusted => findings.push(Finding::new(
            "served.untrusted",
            Severity::Warning,
            t!("finding.served.untrusted", issuer = leaf.issuer),
            evidence.clone(),
        )),
        Verdict::ChainIncomplete => {
            acceptable = false;
            findings.push(Finding::new(
                "served.chain_incomplete",
                Severity::Error,
                t!("finding.served.chain_incomplete", issuer = leaf.issuer),
                evidence.clone(),
            ));
        }
        Verdict::Revoked => {
            acceptable = false;
            findings.push(Finding::new("served.revoked", Severity::Error, t!("finding.served.revoked"), evidence.clone()));
        }
        Verdict::Other(detail) => {
            acceptable = false;
            findings.push(Finding::new(
                "served.rejected",
                Severity::Error,
                t!("finding.served.rejected", detail = detail),
                evidence.clone(),
            ));
        }
    }

    Served { leaf: Some(leaf), findings, acceptable }
}

fn probe_error_finding(address: &str, error: &ProbeError) -> Finding {
    let evidence = json!({ "address": address, "detail": error.to_string() });
    let (id, message) = match error {
        ProbeError::Resolve { host, source } => {
            ("endpoint.unreachable", t!("finding.endpoint.unresolved", host = host, detail = source.to_string()))
        }
        ProbeError::Unreachable { source, .. } => {
            ("endpoint.unreachable", t!("finding.endpoint.unreachable", address = address, detail = source.to_string()))
        }
        ProbeError::Timeout { after, .. } => {
            ("endpoint.timeout", t!("finding.endpoint.timeout", address = address, seconds = after.as_secs()))
        }
        ProbeError::NotTls { detail, .. } => {
            ("endpoint.not_tls", t!("finding.endpoint.not_tls", address = address, detail = detail))
        }
        ProbeError::Handshake { detail, .. } => {
            ("endpoint.handshake_failed", t!("finding.endpoint.handshake_failed", address = address, detail = detail))
        }
        other => ("endpoint.probe_failed", t!("finding.endpoint.probe_failed", detail = other.to_string())),
    };
    Finding::new(id, Severity::Error, message, evidence)
}
