//! Human-relevant fields of one X.509 certificate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serializer;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::error::{describe_parse_error, describe_x509_error};
use super::CertError;

/// Summary of one certificate: names, issuer, serial, validity window and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    /// Subject distinguished name in RFC 4514 style, as x509-parser prints it ("CN=example.com").
    pub subject: String,
    /// DNS names and IP addresses from the subjectAltName extension, in certificate order.
    pub sans: Vec<String>,
    /// Issuer distinguished name, formatted like `subject`.
    pub issuer: String,
    /// Serial number as lower-case hex bytes separated by ':', without the DER sign byte, as
    /// `openssl x509 -serial` prints it.
    pub serial: String,
    /// Start of the validity window (inclusive), serialized as RFC 3339.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of the validity window (inclusive), serialized as RFC 3339.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER encoding as upper-case hex bytes separated by ':',
    /// the format of `openssl x509 -fingerprint -sha256`.
    pub sha256: String,
}

/// Position of an instant relative to a certificate's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Validity {
    Valid,
    NotYetValid,
    Expired,
}

impl CertSummary {
    /// Parses one DER-encoded certificate and rejects trailing bytes after it.
    pub fn from_der(der: &[u8]) -> Result<CertSummary, CertError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|err| CertError::Der(describe_parse_error(&err)))?;
        if !rest.is_empty() {
            return Err(CertError::Der(format!(
                "{} trailing bytes after the certificate",
                rest.len()
            )));
        }

        Ok(CertSummary {
            subject: cert.subject().to_string(),
            sans: subject_alt_names(&cert)?,
            issuer: cert.issuer().to_string(),
            serial: format_serial(cert.raw_serial()),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            sha256: sha256_fingerprint(der),
        })
    }

    /// Returns where `now` falls relative to `not_before..=not_after` (both ends valid, as in RFC 5280).
    pub fn validity_at(&self, now: OffsetDateTime) -> Validity {
        if now < self.not_before {
            Validity::NotYetValid
        } else if now > self.not_after {
            Validity::Expired
        } else {
            Validity::Valid
        }
    }

    /// Returns the whole days from `now` to `not_after`, truncated toward zero.
    ///
    /// The result is negative once the certificate has been expired for a full day.
    pub fn days_left(&self, now: OffsetDateTime) -> i64 {
        (self.not_after - now).whole_days()
    }
}

/// Collects DNS names and IP addresses and skips other name types (email, URI, ...).
fn subject_alt_names(cert: &X509Certificate<'_>) -> Result<Vec<String>, CertError> {
    let extension = cert
        .subject_alternative_name()
        .map_err(|err| CertError::Der(format!("subjectAltName: {}", describe_x509_error(&err))))?;
    let Some(extension) = extension else {
        return Ok(Vec::new());
    };

    let names = extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_string()),
            GeneralName::IPAddress(octets) => ip_from_octets(octets).map(|ip| ip.to_string()),
            _ => None,
        })
        .collect();
    Ok(names)
}

/// Converts a 4- or 16-byte iPAddress SAN. Other lengths are malformed and yield None.
fn ip_from_octets(octets: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        return Some(IpAddr::V6(Ipv6Addr::from(v6)));
    }
    None
}

/// Formats a DER serial number, dropping the leading 00 that DER adds before a first byte of
/// 0x80 or more to keep the integer positive.
fn format_serial(raw: &[u8]) -> String {
    let magnitude = match raw {
        [0, next, ..] if *next >= 0x80 => &raw[1..],
        _ => raw,
    };
    magnitude
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn sha256_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Serializes as RFC 3339 by hand, because this crate enables `time` without its `serde` feature.
fn serialize_rfc3339<S: Serializer>(
    instant: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let text = instant
        .format(&Rfc3339)
        .map_err(serde::ser::Error::custom)?;
    serializer.serialize_str(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::test_support::{self_signed, KeyKind};
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn from_der_reads_names_and_dates() {
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com", "www.example.com", "127.0.0.1", "::1"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2024-04-01 00:00 UTC),
        );

        let summary = CertSummary::from_der(generated.cert.der()).expect("parse");

        assert_eq!(summary.subject, "CN=rcgen self signed cert");
        assert_eq!(summary.issuer, summary.subject);
        assert_eq!(
            summary.sans,
            vec!["example.com", "www.example.com", "127.0.0.1", "::1"]
        );
        assert_eq!(summary.not_before, datetime!(2024-01-01 00:00 UTC));
        assert_eq!(summary.not_after, datetime!(2024-04-01 00:00 UTC));
    }

    #[test]
    fn from_der_formats_serial_and_fingerprint() {
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2034-01-01 00:00 UTC),
        );
        let der = generated.cert.der();

        let summary = CertSummary::from_der(der).expect("parse");

        let digest = Sha256::digest(der.as_ref());
        let expected: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(summary.sha256, expected.join(":"));
        assert_eq!(summary.sha256.len(), 32 * 3 - 1);
        assert!(summary
            .serial
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':'));
        assert!(!summary.serial.chars().any(|c| c.is_ascii_uppercase()));
    }

    #[test]
    fn serial_drops_der_sign_byte() {
        let key = rcgen::KeyPair::generate().expect("P-256 key generation");
        let mut params = rcgen::CertificateParams::new(vec!["example.com".to_string()]).expect("valid name");
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x80, 0x01]));
        let certificate = params.self_signed(&key).expect("self-signing");
        let der = certificate.der();

        let summary = CertSummary::from_der(der).expect("parse");

        let padded_integer = [0x02, 0x03, 0x00, 0x80, 0x01];
        assert!(der.windows(padded_integer.len()).any(|window| window == padded_integer));
        assert_eq!(summary.serial, "80:01");
    }

    #[test]
    fn from_der_rejects_trailing_bytes() {
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2034-01-01 00:00 UTC),
        );
        let mut der = generated.cert.der().to_vec();
        der.extend_from_slice(b"xx");

        let err = CertSummary::from_der(&der).expect_err("trailing bytes must fail");

        assert!(
            matches!(err, CertError::Der(ref m) if m.contains("2 trailing bytes")),
            "{err:?}"
        );
    }

    #[test]
    fn from_der_rejects_garbage() {
        let err = CertSummary::from_der(b"\x30\x03\x01\x01").expect_err("garbage must fail");

        assert!(matches!(err, CertError::Der(_)), "{err:?}");
    }

    #[test]
    fn validity_at_window_edges() {
        let not_before = datetime!(2024-01-01 00:00 UTC);
        let not_after = datetime!(2024-04-01 00:00 UTC);
        let generated = self_signed(KeyKind::EcdsaP256, &["example.com"], not_before, not_after);
        let summary = CertSummary::from_der(generated.cert.der()).expect("parse");

        let cases = [
            (not_before - Duration::seconds(1), Validity::NotYetValid),
            (not_before, Validity::Valid),
            (not_after, Validity::Valid),
            (not_after + Duration::seconds(1), Validity::Expired),
        ];
        for (now, expected) in cases {
            assert_eq!(summary.validity_at(now), expected, "at {now}");
        }
    }

    #[test]
    fn expired_cert_reports_expired_and_negative_days() {
        let now = OffsetDateTime::now_utc();
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com"],
            now - Duration::days(100),
            now - Duration::days(10),
        );
        let summary = CertSummary::from_der(generated.cert.der()).expect("parse");

        assert_eq!(summary.validity_at(now), Validity::Expired);
        assert_eq!(summary.days_left(now), -10);
    }

    #[test]
    fn days_left_truncates_toward_zero() {
        let not_after = datetime!(2024-04-01 00:00 UTC);
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com"],
            datetime!(2024-01-01 00:00 UTC),
            not_after,
        );
        let summary = CertSummary::from_der(generated.cert.der()).expect("parse");

        assert_eq!(summary.days_left(not_after - Duration::hours(36)), 1);
        assert_eq!(summary.days_left(not_after - Duration::hours(12)), 0);
        assert_eq!(summary.days_left(not_after + Duration::hours(12)), 0);
        assert_eq!(summary.days_left(not_after + Duration::hours(36)), -1);
    }

    #[test]
    fn summary_serializes_dates_as_rfc3339() {
        let generated = self_signed(
            KeyKind::EcdsaP256,
            &["example.com"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2024-04-01 12:30 UTC),
        );
        let summary = CertSummary::from_der(generated.cert.der()).expect("parse");

        let json = serde_json::to_value(&summary).expect("serialize");

        assert_eq!(json["not_before"], "2024-01-01T00:00:00Z");
        assert_eq!(json["not_after"], "2024-04-01T12:30:00Z");
        assert_eq!(json["sans"][0], "example.com");
    }
}
