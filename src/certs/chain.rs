//! Certificate chains from PEM or DER bytes and files.

use std::path::Path;

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::file::read_bounded;
use super::{CertError, CertSummary, FileError};

/// One certificate of a chain: its DER bytes and the parsed summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCert {
    pub der: CertificateDer<'static>,
    pub summary: CertSummary,
}

impl ParsedCert {
    /// Parses one DER-encoded certificate.
    pub fn from_der(der: Vec<u8>) -> Result<ParsedCert, CertError> {
        let summary = CertSummary::from_der(&der)?;
        Ok(ParsedCert {
            der: CertificateDer::from(der),
            summary,
        })
    }

    /// Returns whether the certificate is a CA certificate (basicConstraints CA:TRUE), which
    /// can issue certificates but is not meant to be a server's own certificate. A duplicated
    /// basicConstraints extension counts as absent.
    pub fn is_ca(&self) -> bool {
        self.parsed().is_some_and(|certificate| certificate.is_ca())
    }

    /// Returns whether the certificate names itself as its issuer (same raw subject and issuer
    /// names), as a root CA does.
    pub fn is_self_issued(&self) -> bool {
        self.parsed()
            .is_some_and(|certificate| certificate.subject().as_raw() == certificate.issuer().as_raw())
    }

    /// Parses the DER again. `from_der` accepted these bytes, so this returns `None` only if
    /// the two parsers disagree.
    fn parsed(&self) -> Option<X509Certificate<'_>> {
        X509Certificate::from_der(self.der.as_ref())
            .ok()
            .map(|(_, certificate)| certificate)
    }
}

/// Parses a certificate chain, keeping the file order (normally the leaf first).
///
/// Input containing a `-----BEGIN ` line is read as PEM: every CERTIFICATE section is parsed
/// and other sections (private keys, CSRs, unknown labels) are skipped. Any other input must
/// be exactly one DER certificate.
pub fn parse_chain(bytes: &[u8]) -> Result<Vec<ParsedCert>, CertError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CertError::NoCertificate);
    }

    if contains_pem_begin(bytes) {
        parse_pem_chain(bytes)
    } else {
        ParsedCert::from_der(bytes.to_vec()).map(|cert| vec![cert])
    }
}

/// Reads and parses a certificate chain file of at most [`super::MAX_FILE_SIZE`] bytes.
pub fn read_chain_file(path: &Path) -> Result<Vec<ParsedCert>, FileError> {
    let bytes = read_bounded(path)?;

    parse_chain(&bytes).map_err(|source| FileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_pem_chain(bytes: &[u8]) -> Result<Vec<ParsedCert>, CertError> {
    let mut chain = Vec::new();

    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(|err| CertError::Pem(describe_pem_error(&err)))?;
        if kind != SectionKind::Certificate {
            continue;
        }

        let cert = ParsedCert::from_der(der).map_err(|source| CertError::ChainEntry {
            position: chain.len() + 1,
            source: Box::new(source),
        })?;
        chain.push(cert);
    }

    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    Ok(chain)
}

pub(crate) fn contains_pem_begin(bytes: &[u8]) -> bool {
    bytes
        .windows(b"-----BEGIN ".len())
        .any(|window| window == b"-----BEGIN ")
}

/// Describes a PEM error without quoting input, because the input may contain a private key.
pub(crate) fn describe_pem_error(err: &pem::Error) -> String {
    match err {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "missing END line for section {}",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { .. } => "malformed BEGIN line".to_string(),
        pem::Error::Base64Decode(_) => "invalid base64 in a section body".to_string(),
        pem::Error::SectionTooLarge => "section too large".to_string(),
        pem::Error::NoItemsFound => "no PEM sections".to_string(),
        other => format!("unexpected PEM error {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::test_support::{issued_chain, openssl, rsa_files, self_signed, KeyKind};
    use time::macros::datetime;

    fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("write fixture");
        path
    }

    #[test]
    fn parse_chain_keeps_leaf_then_intermediate() {
        let chain = issued_chain();
        let pem = format!("{}{}", chain.leaf.cert.pem(), chain.intermediate.cert.pem());

        let parsed = parse_chain(pem.as_bytes()).expect("parse");

        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].summary.subject, "CN=leaf.example");
        assert_eq!(parsed[0].summary.issuer, "CN=Test Intermediate");
        assert_eq!(parsed[1].summary.subject, "CN=Test Intermediate");
        assert_eq!(parsed[0].der.as_ref(), chain.leaf.cert.der().as_ref());
        assert_eq!(
            parsed[1].der.as_ref(),
            chain.intermediate.cert.der().as_ref()
        );
    }

    #[test]
    fn parse_chain_skips_key_sections() {
        let chain = issued_chain();
        let pem = format!(
            "{}{}{}",
            chain.leaf.key.serialize_pem(),
            chain.leaf.cert.pem(),
            chain.intermediate.cert.pem()
        );

        let parsed = parse_chain(pem.as_bytes()).expect("parse");

        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].summary.subject, "CN=leaf.example");
    }

    #[test]
    fn parse_chain_accepts_single_der() {
        let generated = self_signed(
            KeyKind::Ed25519,
            &["der.example"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2034-01-01 00:00 UTC),
        );

        let parsed = parse_chain(generated.cert.der()).expect("parse");

        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].summary.sans, vec!["der.example"]);
    }

    #[test]
    fn parse_chain_key_only_pem_has_no_certificate() {
        let chain = issued_chain();

        let err = parse_chain(chain.leaf.key.serialize_pem().as_bytes())
            .expect_err("key-only PEM must fail");

        assert!(matches!(err, CertError::NoCertificate), "{err:?}");
    }

    #[test]
    fn parse_chain_empty_input_has_no_certificate() {
        for input in [&b""[..], b"  \n\t\n"] {
            let err = parse_chain(input).expect_err("empty input must fail");
            assert!(
                matches!(err, CertError::NoCertificate),
                "{input:?}: {err:?}"
            );
        }
    }

    #[test]
    fn parse_chain_garbage_is_der_error() {
        let err = parse_chain(b"this is not a certificate").expect_err("garbage must fail");

        assert!(matches!(err, CertError::Der(_)), "{err:?}");
    }

    #[test]
    fn parse_chain_truncated_pem_is_pem_error() {
        let chain = issued_chain();
        let pem = chain.leaf.cert.pem();
        let truncated = &pem[..pem.len() / 2];

        let err = parse_chain(truncated.as_bytes()).expect_err("truncated PEM must fail");

        match err {
            CertError::Pem(message) => assert!(message.contains("CERTIFICATE"), "{message}"),
            other => panic!("expected Pem, got {other:?}"),
        }
    }

    #[test]
    fn parse_chain_bad_second_entry_reports_position() {
        let chain = issued_chain();
        // Valid base64 whose DER is not a certificate.
        let bogus = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        let pem = format!("{}{bogus}", chain.leaf.cert.pem());

        let err = parse_chain(pem.as_bytes()).expect_err("bogus entry must fail");

        match err {
            CertError::ChainEntry { position, source } => {
                assert_eq!(position, 2);
                assert!(matches!(*source, CertError::Der(_)), "{source:?}");
            }
            other => panic!("expected ChainEntry, got {other:?}"),
        }
    }

    #[test]
    fn bad_entry_detail_is_short() {
        let chain = issued_chain();
        let bogus = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        let pem = format!("{}{bogus}", chain.leaf.cert.pem());

        let err = parse_chain(pem.as_bytes()).expect_err("bogus entry must fail");

        let message = err.to_string();
        assert_eq!(message, "certificate 2 in the chain: malformed DER (unexpected tag)");
    }

    #[test]
    fn truncated_der_detail_is_short() {
        let chain = issued_chain();
        let der = chain.leaf.cert.der();
        let truncated = &der[..der.len() / 2];

        let err = parse_chain(truncated).expect_err("truncated DER must fail");

        let message = err.to_string();
        assert!(message.starts_with("malformed DER ("), "{message}");
        for internal in ["Der(", "Tag(", "Some(", "Parsing Error", "Needed"] {
            assert!(!message.contains(internal), "{message}");
        }
    }

    #[test]
    fn ca_flag_only_on_ca_certificate() {
        let chain = issued_chain();
        let pem = format!("{}{}", chain.leaf.cert.pem(), chain.intermediate.cert.pem());

        let parsed = parse_chain(pem.as_bytes()).expect("parse");

        assert!(!parsed[0].is_ca());
        assert!(parsed[1].is_ca());
    }

    #[test]
    fn self_issued_only_for_self_signed_ca() {
        let chain = issued_chain();
        let pem = format!("{}{}", chain.leaf.cert.pem(), chain.intermediate.cert.pem());

        let parsed = parse_chain(pem.as_bytes()).expect("parse");

        assert!(!parsed[0].is_self_issued());
        assert!(parsed[1].is_self_issued());
    }

    #[test]
    fn pem_error_does_not_quote_key_bytes() {
        let chain = issued_chain();
        let key_pem = chain.leaf.key.serialize_pem();
        let body_line = key_pem.lines().nth(1).expect("key body line").to_string();
        let corrupted = key_pem.replacen(&body_line, &format!("{body_line}!"), 1);
        let input = format!("{}{corrupted}", chain.leaf.cert.pem());

        let err = parse_chain(input.as_bytes()).expect_err("bad base64 must fail");

        let rendered = format!("{err} {err:?}");
        assert!(matches!(err, CertError::Pem(_)), "{err:?}");
        assert!(!rendered.contains(&body_line[..16]), "{rendered}");
    }

    #[test]
    fn read_chain_file_fingerprint_matches_openssl() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = rsa_files(dir.path());

        let parsed = read_chain_file(&files.cert).expect("read");
        let output = openssl(
            dir.path(),
            &[
                "x509",
                "-in",
                "rsa.crt",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-serial",
            ],
        );

        let fingerprint_line = output
            .lines()
            .find(|line| line.contains("Fingerprint="))
            .expect("fingerprint line");
        let openssl_fingerprint = fingerprint_line.split('=').nth(1).expect("value");
        assert_eq!(parsed[0].summary.sha256, openssl_fingerprint);

        let serial_line = output
            .lines()
            .find(|line| line.starts_with("serial="))
            .expect("serial line");
        let openssl_serial = serial_line
            .trim_start_matches("serial=")
            .to_ascii_lowercase();
        assert_eq!(parsed[0].summary.serial.replace(':', ""), openssl_serial);
        assert_eq!(parsed[0].summary.subject, "CN=rsa.example");
    }

    #[test]
    fn read_chain_file_der_matches_pem() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = rsa_files(dir.path());
        openssl(
            dir.path(),
            &[
                "x509", "-in", "rsa.crt", "-outform", "DER", "-out", "rsa.der",
            ],
        );

        let from_pem = read_chain_file(&files.cert).expect("read PEM");
        let from_der = read_chain_file(&dir.path().join("rsa.der")).expect("read DER");

        assert_eq!(from_pem, from_der);
    }

    #[test]
    fn read_chain_file_empty_file_is_invalid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "empty.pem", b"");

        let err = read_chain_file(&path).expect_err("empty file must fail");

        assert!(
            matches!(
                err,
                FileError::Invalid {
                    source: CertError::NoCertificate,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn read_chain_file_garbage_is_invalid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "garbage.pem", &[0xff, 0x00, 0x13, 0x37, 0x42]);

        let err = read_chain_file(&path).expect_err("garbage must fail");

        match err {
            FileError::Invalid { path: p, source } => {
                assert_eq!(p, path);
                assert!(matches!(source, CertError::Der(_)), "{source:?}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn read_chain_file_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing.pem");

        let err = read_chain_file(&path).expect_err("missing file must fail");

        assert!(
            matches!(err, FileError::Missing { path: ref p } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn read_chain_file_directory_is_unreadable() {
        let dir = tempfile::tempdir().expect("tempdir");

        let err = read_chain_file(dir.path()).expect_err("directory must fail");

        assert!(matches!(err, FileError::Unreadable { .. }), "{err:?}");
    }
}
