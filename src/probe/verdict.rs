//! Maps verifier errors to a [`Verdict`], including the rule that distinguishes a missing
//! intermediate from an untrusted CA.


use rustls::CertificateError;
use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use super::Verdict;
use crate::certs::CertSummary;

/// Maps an error from `WebPkiServerVerifier::verify_server_cert` on `leaf` and `intermediates`.
/// `known_intermediates` come from the user's files and only feed [`unknown_issuer`].
pub(super) fn from_error(
    error: &rustls::Error,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    known_intermediates: &[CertificateDer<'_>],
) -> Verdict {
    match error {
        rustls::Error::InvalidCertificate(certificate_error) => {
            from_certificate_error(certificate_error, leaf, intermediates, known_intermediates)
        }
        other => Verdict::Other(other.to_string()),
    }
}

fn from_certificate_error(
    error: &CertificateError,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    known_intermediates: &[CertificateDer<'_>],
) -> Verdict {
    match error {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => Verdict::Expired,

        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            Verdict::NotYetValid
        }

        CertificateError::NotValidForName => Verdict::NameMismatch {
            presented: presented_names(leaf).unwrap_or_default(),
        },

        // webpki formats its own list as e.g. `DnsName("example.com")`, so the names are read
        // from the leaf and that list is only the fallback.
        CertificateError::NotValidForNameContext { presented, .. } => Verdict::NameMismatch {
            presented: presented_names(leaf).unwrap_or_else(|| presented.clone()),
        },

        CertificateError::UnknownIssuer => unknown_issuer(leaf, intermediates, known_intermediates),

        CertificateError::Revoked => Verdict::Revoked,

        CertificateError::BadSignature if has_stale_issuer(leaf, intermediates) => {
            Verdict::ChainIncomplete
        }

        other => Verdict::Other(rustls::Error::InvalidCertificate(other.clone()).to_string()),
    }
}

/// Decides between [`Verdict::ChainIncomplete`] and [`Verdict::Untrusted`] for a chain that does
/// not lead to a trusted root.
///
/// The rule walks up from the leaf. At each step it looks for a presented certificate whose
/// subject is the current certificate's issuer and whose key verifies the current certificate's
/// signature. Then:
/// - the walk reaches a self-issued certificate: the chain is complete up to a root that is not
///   trusted, so `Untrusted`;
/// - the walk stops at a certificate that one of `known_intermediates` issued: the server left
///   out an intermediate that the user's own files contain, so `ChainIncomplete`. Self-issued
///   certificates among them are roots, which servers need not send, and are skipped;
/// - no presented certificate issued the leaf and the leaf names its issuer's download URL
///   (AIA caIssuers): the server left out the leaf's issuer, so `ChainIncomplete`. A stale
///   intermediate with the right name but the wrong key counts as left out;
/// - otherwise `Untrusted`. When the walk stops at a presented CA certificate whose issuer was
///   not sent, the likely cause is a root missing from the trust store, because servers are not
///   expected to send the root.
///
/// A leaf issued directly by a private root (such as a panel's self-made CA) that the server
/// correctly does not send looks the same on the wire as a missing intermediate. Leaves from
/// public CAs name their issuer's download URL and private ones rarely do, which is why the URL
/// or a known intermediate is needed before the verdict is `ChainIncomplete`.
pub(super) fn unknown_issuer(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    known_intermediates: &[CertificateDer<'_>],
) -> Verdict {
    let Ok((_, leaf)) = X509Certificate::from_der(leaf) else {
        return Verdict::Untrusted;
    };
    let presented = parse_all(intermediates);

    let mut used = vec![false; presented.len()];
    let mut current = &leaf;
    let mut steps = 0;

    // Each step marks one presented certificate as used, so the walk ends after at most
    // `presented.len()` steps.
    loop {
        if is_self_issued(current) {
            return Verdict::Untrusted;
        }

        let issuer = presented
            .iter()
            .enumerate()
            .find(|(index, candidate)| !used[*index] && issued(candidate, current));
        match issuer {
            Some((index, candidate)) => {
                used[index] = true;
                current = candidate;
                steps += 1;
            }
            None => break,
        }
    }

    if steps == 0 && names_ca_issuers(&leaf) {
        return Verdict::ChainIncomplete;
    }

    let known_issuer = parse_all(known_intermediates)
        .iter()
        .any(|candidate| !is_self_issued(candidate) && issued(candidate, current));
    if known_issuer {
        Verdict::ChainIncomplete
    } else {
        Verdict::Untrusted
    }
}

/// Parses each certificate, skipping those that do not parse.
fn parse_all<'a>(certificates: &'a [CertificateDer<'_>]) -> Vec<X509Certificate<'a>> {
    certificates
        .iter()
        .filter_map(|der| {
            X509Certificate::from_der(der)
                .ok()
                .map(|(_, certificate)| certificate)
        })
        .collect()
}

/// Returns whether the certificate names where to download its issuer (AIA caIssuers).
fn names_ca_issuers(certificate: &X509Certificate<'_>) -> bool {
    certificate.extensions().iter().any(|extension| match extension.parsed_extension() {
        ParsedExtension::AuthorityInfoAccess(access) => access
            .accessdescs
            .iter()
            .any(|description| description.access_method == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS),
        _ => false,
    })
}

/// Returns whether the server sent a certificate named as the leaf's issuer that did not sign
/// the leaf, e.g. the previous intermediate of a CA that has since re-keyed it. webpki reports
/// this as a bad signature, but the fix is the same as for a missing intermediate.
fn has_stale_issuer(leaf: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> bool {
    let Ok((_, leaf)) = X509Certificate::from_der(leaf) else {
        return false;
    };

    let named_issuers: Vec<X509Certificate<'_>> = parse_all(intermediates)
        .into_iter()
        .filter(|candidate| candidate.subject().as_raw() == leaf.issuer().as_raw())
        .collect();

    !named_issuers.is_empty()
        && !named_issuers
            .iter()
            .any(|candidate| issued(candidate, &leaf))
}

fn is_self_issued(certificate: &X509Certificate<'_>) -> bool {
    certificate.subject().as_raw() == certificate.issuer().as_raw()
}

/// Returns whether `issuer` issued `subject`: names match and the signature verifies.
fn issued(issuer: &X509Certificate<'_>, subject: &X509Certificate<'_>) -> bool {
    issuer.subject().as_raw() == subject.issuer().as_raw()
        && subject.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Returns the DNS names and IP addresses in the leaf's subjectAltName, or `None` when the leaf
/// does not parse.
fn presented_names(leaf: &CertificateDer<'_>) -> Option<Vec<String>> {
    CertSummary::from_der(leaf).ok().map(|summary| summary.sans)
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair};
    use rustls_pki_types::UnixTime;

    use super::*;

    fn leaf_for(names: &[&str]) -> CertificateDer<'static> {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let params = CertificateParams::new(names).expect("valid test names");
        let key = KeyPair::generate().expect("P-256 key generation");
        params
            .self_signed(&key)
            .expect("self-signing")
            .der()
            .clone()
    }

    #[test]
    fn expiry_errors_map_to_expired() {
        let leaf = leaf_for(&["example.test"]);
        let context = CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(2_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_000)),
        };

        assert_eq!(
            from_certificate_error(&CertificateError::Expired, &leaf, &[], &[]),
            Verdict::Expired
        );
        assert_eq!(
            from_certificate_error(&context, &leaf, &[], &[]),
            Verdict::Expired
        );
    }

    #[test]
    fn not_valid_yet_maps_to_not_yet_valid() {
        let leaf = leaf_for(&["example.test"]);

        let verdict = from_certificate_error(&CertificateError::NotValidYet, &leaf, &[], &[]);

        assert_eq!(verdict, Verdict::NotYetValid);
    }

    #[test]
    fn name_error_lists_dns_and_ip_names() {
        let leaf = leaf_for(&["example.test", "192.0.2.7", "2001:db8::1"]);

        let verdict = from_certificate_error(&CertificateError::NotValidForName, &leaf, &[], &[]);

        let expected = vec![
            "example.test".to_string(),
            "192.0.2.7".to_string(),
            "2001:db8::1".to_string(),
        ];
        assert_eq!(
            verdict,
            Verdict::NameMismatch {
                presented: expected
            }
        );
    }

    #[test]
    fn revoked_maps_to_revoked() {
        let leaf = leaf_for(&["example.test"]);

        let verdict = from_certificate_error(&CertificateError::Revoked, &leaf, &[], &[]);

        assert_eq!(verdict, Verdict::Revoked);
    }

    #[test]
    fn other_errors_keep_message() {
        let leaf = leaf_for(&["example.test"]);

        let verdict = from_error(
            &rustls::Error::InvalidCertificate(CertificateError::BadSignature),
            &leaf,
            &[],
            &[],
        );

        let Verdict::Other(message) = verdict else {
            panic!("expected Verdict::Other, got {verdict:?}");
        };
        assert!(message.contains("BadSignature"), "message: {message}");
    }

    #[test]
    fn self_signed_leaf_is_untrusted() {
        let leaf = leaf_for(&["example.test"]);

        assert_eq!(unknown_issuer(&leaf, &[], &[]), Verdict::Untrusted);
    }

    #[test]
    fn unparsable_leaf_is_untrusted() {
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01]);

        assert_eq!(unknown_issuer(&garbage, &[], &[]), Verdict::Untrusted);
    }
}
