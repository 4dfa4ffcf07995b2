//! The certificate and key a `website_ssls` row stores, checked the way the panel checks a pair
//! before it writes `secret/`: the chain parses, the key belongs to the leaf, and (beyond what
//! the panel checks) the leaf is within its validity period.

use time::OffsetDateTime;

use crate::certs::{self, CertSummary, ParsedCert, PrivateKey, Validity};

/// Reason a stored pair cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairProblem {
    #[error("the certificate does not parse: {detail}")]
    InvalidCertificate { detail: String },

    #[error("the private key is missing or does not parse: {detail}")]
    InvalidKey { detail: String },

    #[error("the private key does not belong to the certificate")]
    KeyMismatch,

    #[error("the certificate expired on {not_after}")]
    Expired { not_after: String },

    #[error("the certificate is valid only from {not_before}")]
    NotYetValid { not_before: String },
}

/// A parsed certificate chain and key, and the first reason they cannot be served, if any.
#[derive(Debug)]
pub struct StoredPair {
    pub chain: Vec<ParsedCert>,
    pub key: Option<PrivateKey>,
    pub problem: Option<PairProblem>,
}

impl StoredPair {
    pub fn leaf(&self) -> Option<&CertSummary> {
        self.chain.first().map(|cert| &cert.summary)
    }

    /// Returns whether the pair parses, matches and is within its validity period.
    pub fn usable(&self) -> bool {
        self.problem.is_none()
    }
}

/// Parses `cert_pem` and `key_pem` and checks them at `now`.
pub fn check_pair(cert_pem: &[u8], key_pem: &[u8], now: OffsetDateTime) -> StoredPair {
    let chain = match certs::parse_chain(cert_pem) {
        Ok(chain) if !chain.is_empty() => chain,
        Ok(_) => return failed(Vec::new(), PairProblem::InvalidCertificate { detail: certs::CertError::NoCertificate.to_string() }),
        Err(error) => return failed(Vec::new(), PairProblem::InvalidCertificate { detail: error.to_string() }),
    };
    let key = match certs::parse_key(key_pem) {
        Ok(key) => key,
        Err(error) => return failed(chain, PairProblem::InvalidKey { detail: error.to_string() }),
    };

    let problem = pair_problem(&chain[0], &key, now);
    StoredPair { chain, key: Some(key), problem }
}

fn failed(chain: Vec<ParsedCert>, problem: PairProblem) -> StoredPair {
    StoredPair { chain, key: None, problem: Some(problem) }
}

fn pair_problem(leaf: &ParsedCert, key: &PrivateKey, now: OffsetDateTime) -> Option<PairProblem> {
    match certs::key_matches(leaf, key) {
        Ok(true) => {}
        Ok(false) => return Some(PairProblem::KeyMismatch),
        Err(error) => return Some(PairProblem::InvalidKey { detail: error.to_string() }),
    }

    let summary = &leaf.summary;
    match summary.validity_at(now) {
        Validity::Valid => None,
        Validity::Expired => Some(PairProblem::Expired { not_after: crate::checks::disk::format_time(summary.not_after) }),
        Validity::NotYetValid => {
            Some(PairProblem::NotYetValid { not_before: crate::checks::disk::format_time(summary.not_before) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Authority, LeafSpec};

    fn authority() -> Authority {
        Authority::new("pair test root").unwrap()
    }

    #[test]
    fn valid_pair_is_usable() {
        let issued = authority().issue(&LeafSpec::valid_for(&["localhost"], 30)).unwrap();

        let pair = check_pair(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes(), OffsetDateTime::now_utc());

        assert!(pair.usable(), "{:?}", pair.problem);
        assert_eq!(pair.chain.len(), 1);
    }

    #[test]
    fn expired_pair_names_date() {
        let issued = authority().issue(&LeafSpec::expired(&["localhost"])).unwrap();

        let pair = check_pair(issued.cert_pem.as_bytes(), issued.key_pem.as_bytes(), OffsetDateTime::now_utc());

        assert!(matches!(pair.problem, Some(PairProblem::Expired { .. })), "{:?}", pair.problem);
        assert!(pair.leaf().is_some());
    }

    #[test]
    fn foreign_key_is_mismatch() {
        let ca = authority();
        let one = ca.issue(&LeafSpec::valid_for(&["localhost"], 30)).unwrap();
        let other = ca.issue(&LeafSpec::valid_for(&["localhost"], 30)).unwrap();

        let pair = check_pair(one.cert_pem.as_bytes(), other.key_pem.as_bytes(), OffsetDateTime::now_utc());

        assert_eq!(pair.problem, Some(PairProblem::KeyMismatch));
    }

    #[test]
    fn empty_key_is_invalid_key() {
        let issued = authority().issue(&LeafSpec::valid_for(&["localhost"], 30)).unwrap();

        let pair = check_pair(issued.cert_pem.as_bytes(), b"", OffsetDateTime::now_utc());

        assert!(matches!(pair.problem, Some(PairProblem::InvalidKey { .. })), "{:?}", pair.problem);
    }

    #[test]
    fn garbage_certificate_is_invalid() {
        let pair = check_pair(b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", b"", OffsetDateTime::now_utc());

        assert!(matches!(pair.problem, Some(PairProblem::InvalidCertificate { .. })), "{:?}", pair.problem);
        assert!(pair.leaf().is_none());
    }
}
