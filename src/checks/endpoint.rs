//! The live endpoint: build the probe target from variables and turn the probe into findings.

use std::net::Ipv6Addr;

use rust_i18n::t;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::json;
use time::OffsetDateTime;

use super::disk::format_time;
use crate::certs::{self, CertSummary, ParsedCert, Validity};
use crate::findings::{Finding, Severity};
use crate::probe::{ProbeError, ProbeTarget, ServedChain, Verdict};
use crate::variables::{VariableError, Variables};

/// Days before `notAfter` from which a served certificate counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 14;

/// Builds the probe target from `host`, `port`, `server_name`, `timeout_secs`, `ca_file` and
/// `cert_file`.
///
/// The self-signed certificates in `ca_file` become extra roots and the others known
/// intermediates. The certificates after the leaf in `cert_file` are known intermediates too,
/// read on a best-effort basis because the `disk.*` findings report a bad `cert_file`.
pub fn target(variables: &Variables) -> Result<ProbeTarget, VariableError> {
    let host = parse_host(variables.required("host")?)?;
    let mut target = ProbeTarget::new(host, variables.port("port")?);
    target.timeout = variables.seconds("timeout_secs")?;
    target.server_name = Some(variables.text("server_name").to_string()).filter(|name| !name.is_empty());
    if let Some(name) = &target.server_name {
        if ServerName::try_from(name.as_str()).is_err() {
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
        let (roots, intermediates) = split_ca_file(chain);
        target.extra_roots = roots;
        target.known_intermediates = intermediates;
    }
    if let Some(cert_file) = variables.optional_path("cert_file") {
        if let Ok(chain) = certs::read_chain_file(&cert_file) {
            target.known_intermediates.extend(chain.into_iter().skip(1).map(|cert| cert.der));
        }
    }
    Ok(target)
}

/// Splits the certificates of a CA file into roots (self-signed) and intermediates.
///
/// A file without any self-signed certificate is taken as the CA the user trusts, so all of
/// its certificates become roots. NOTE: a server that leaves out such an intermediate is then
/// reported as trusted, because the intermediate itself is a trust anchor.
fn split_ca_file(chain: Vec<ParsedCert>) -> (Vec<CertificateDer<'static>>, Vec<CertificateDer<'static>>) {
    if !chain.iter().any(ParsedCert::is_self_issued) {
        return (chain.into_iter().map(|cert| cert.der).collect(), Vec::new());
    }

    let (roots, intermediates): (Vec<ParsedCert>, Vec<ParsedCert>) = chain.into_iter().partition(ParsedCert::is_self_issued);
    (
        roots.into_iter().map(|cert| cert.der).collect(),
        intermediates.into_iter().map(|cert| cert.der).collect(),
    )
}

/// Accepts a DNS name or an IP address (an IPv6 address with or without brackets). A value
/// with a port, such as `127.0.0.1:8443`, gets its own message, because the port goes in `port`.
fn parse_host(text: &str) -> Result<String, VariableError> {
    if ServerName::try_from(strip_brackets(text)).is_ok() {
        return Ok(text.to_string());
    }

    let expected = if has_port_suffix(text) {
        t!("variables.expected.host_without_port")
    } else {
        t!("variables.expected.host_name")
    };
    Err(VariableError::Invalid {
        name: "host".to_string(),
        value: text.to_string(),
        expected: expected.into_owned(),
    })
}

/// Returns whether `text` is a host followed by `:PORT`, e.g. `example.com:443` or `[::1]:443`.
fn has_port_suffix(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    if port.parse::<u16>().is_err() {
        return false;
    }

    match host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        Some(inner) => inner.parse::<Ipv6Addr>().is_ok(),
        None => !host.contains(':') && ServerName::try_from(host).is_ok(),
    }
}

/// Removes the brackets around an IPv6 literal such as `[::1]`.
fn strip_brackets(host: &str) -> &str {
    host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(host)
}

/// Formats `host:port` as people read it, with brackets around an IPv6 address (`[::1]:443`).
pub fn display_address(host: &str, port: u16) -> String {
    match strip_brackets(host).parse::<Ipv6Addr>() {
        Ok(ip) => format!("[{ip}]:{port}"),
        Err(_) => format!("{host}:{port}"),
    }
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
    let address = display_address(&target.host, target.port);
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
        Verdict::Untrusted => findings.push(untrusted_finding(&chain.chain, &leaf, &evidence)),
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

/// Names the top of the served chain and its issuer, the CA that is not trusted.
fn untrusted_finding(chain: &[CertificateDer<'static>], leaf: &CertSummary, evidence: &serde_json::Value) -> Finding {
    let top = chain_top(leaf, chain);
    let mut evidence = evidence.clone();
    evidence["top_subject"] = json!(top.subject);
    evidence["top_issuer"] = json!(top.issuer);
    Finding::new(
        "served.untrusted",
        Severity::Warning,
        t!("finding.served.untrusted", subject = top.subject, issuer = top.issuer),
        evidence,
    )
}

/// Returns the last certificate reached by following issuer names up from `leaf` through the
/// presented `chain`, which servers may send out of order.
fn chain_top(leaf: &CertSummary, chain: &[CertificateDer<'static>]) -> CertSummary {
    let upper: Vec<CertSummary> = chain.iter().skip(1).filter_map(|der| CertSummary::from_der(der.as_ref()).ok()).collect();
    let mut used = vec![false; upper.len()];
    let mut top = leaf;

    // Each step marks one certificate as used, so the walk ends after at most `upper.len()` steps.
    while top.subject != top.issuer {
        let next = upper.iter().enumerate().find(|(index, candidate)| !used[*index] && candidate.subject == top.issuer);
        let Some((index, candidate)) = next else {
            break;
        };
        used[index] = true;
        top = candidate;
    }
    top.clone()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Authority, LeafSpec};

    fn expected_for(host: &str) -> String {
        match parse_host(host) {
            Err(VariableError::Invalid { name, value, expected }) => {
                assert_eq!(name, "host");
                assert_eq!(value, host);
                expected
            }
            other => panic!("{host}: expected an invalid host, got {other:?}"),
        }
    }

    #[test]
    fn host_accepts_names_and_addresses() {
        for host in ["example.com", "panel_1.internal", "127.0.0.1", "::1", "[::1]", "2001:db8::7"] {
            assert_eq!(parse_host(host).as_deref(), Ok(host));
        }
    }

    #[test]
    fn host_with_port_names_port_variable() {
        for host in ["127.0.0.1:18441", "example.com:443", "[::1]:18441"] {
            let expected = expected_for(host);

            assert!(expected.contains("`port`"), "{host}: {expected}");
        }
    }

    #[test]
    fn malformed_host_expects_host_name() {
        for host in ["https://example.com", "exa mple.com", "[::1"] {
            let expected = expected_for(host);

            assert!(!expected.contains("`port`"), "{host}: {expected}");
        }
    }

    #[test]
    fn ipv6_address_gets_brackets() {
        assert_eq!(display_address("::1", 18441), "[::1]:18441");
        assert_eq!(display_address("[::1]", 18441), "[::1]:18441");
        assert_eq!(display_address("127.0.0.1", 443), "127.0.0.1:443");
        assert_eq!(display_address("example.com", 443), "example.com:443");
    }

    fn parsed(der: &[u8]) -> ParsedCert {
        ParsedCert::from_der(der.to_vec()).expect("certificate parses")
    }

    #[test]
    fn ca_file_roots_and_intermediates_split() {
        let root = Authority::new("split root").expect("root CA");
        let intermediate = root.intermediate("split intermediate").expect("intermediate CA");

        let (roots, intermediates) = split_ca_file(vec![parsed(intermediate.cert_der()), parsed(root.cert_der())]);

        assert_eq!(roots, vec![CertificateDer::from(root.cert_der().to_vec())]);
        assert_eq!(intermediates, vec![CertificateDer::from(intermediate.cert_der().to_vec())]);
    }

    #[test]
    fn ca_file_without_root_is_all_roots() {
        let root = Authority::new("split root").expect("root CA");
        let intermediate = root.intermediate("split intermediate").expect("intermediate CA");

        let (roots, intermediates) = split_ca_file(vec![parsed(intermediate.cert_der())]);

        assert_eq!(roots.len(), 1);
        assert!(intermediates.is_empty());
    }

    #[test]
    fn target_knows_chain_after_leaf() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Authority::new("target root").expect("root CA");
        let intermediate = root.intermediate("target intermediate").expect("intermediate CA");
        let leaf = intermediate.issue(&LeafSpec::valid_for(&["localhost"], 90)).expect("leaf");
        let (cert, key) = crate::pki::write_pair(dir.path(), "site", &leaf, &[intermediate.cert_pem()]).expect("write pair");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, root.cert_pem()).expect("write ca.pem");
        let (cert, key, ca_file) = (cert.display().to_string(), key.display().to_string(), ca_file.display().to_string());
        let variables = Variables::from_pairs([
            ("host", "127.0.0.1"),
            ("port", "443"),
            ("timeout_secs", "3"),
            ("cert_file", cert.as_str()),
            ("key_file", key.as_str()),
            ("ca_file", ca_file.as_str()),
        ]);

        let target = target(&variables).expect("variables are valid");

        assert_eq!(target.extra_roots, vec![CertificateDer::from(root.cert_der().to_vec())]);
        assert_eq!(target.known_intermediates, vec![CertificateDer::from(intermediate.cert_der().to_vec())]);
    }

    #[test]
    fn chain_top_follows_issuer_names() {
        let root = Authority::new("top root").expect("root CA");
        let upper = root.intermediate("top upper").expect("intermediate CA");
        let lower = upper.intermediate("top lower").expect("intermediate CA");
        let leaf = lower.issue(&LeafSpec::valid_for(&["localhost"], 90)).expect("leaf");
        let leaf_summary = CertSummary::from_der(&leaf.der).expect("leaf parses");
        // Sent out of order: the upper intermediate before the lower one.
        let chain = [&leaf.der[..], upper.cert_der(), lower.cert_der()].map(|der| CertificateDer::from(der.to_vec()));

        let top = chain_top(&leaf_summary, &chain);

        assert_eq!(top.subject, "CN=top upper");
        assert_eq!(top.issuer, "CN=top root");
    }
}
