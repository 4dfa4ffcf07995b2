//! Private keys and matching them against certificates.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::sign::SigningKey;
use rustls::SignatureAlgorithm;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::PrivateKeyDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::chain::{contains_pem_begin, describe_pem_error};
use super::error::describe_parse_error;
use super::file::read_bounded;
use super::{CertError, FileError, ParsedCert};

/// Container format of a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum KeyEncoding {
    /// PKCS#8 PrivateKeyInfo ("BEGIN PRIVATE KEY").
    Pkcs8,
    /// PKCS#1 RSAPrivateKey ("BEGIN RSA PRIVATE KEY").
    Pkcs1,
    /// SEC1 ECPrivateKey ("BEGIN EC PRIVATE KEY").
    Sec1,
}

impl fmt::Display for KeyEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            KeyEncoding::Pkcs8 => "PKCS#8",
            KeyEncoding::Pkcs1 => "PKCS#1",
            KeyEncoding::Sec1 => "SEC1",
        };
        f.write_str(name)
    }
}

/// A loaded RSA, ECDSA (P-256, P-384) or Ed25519 private key.
///
/// Debug shows only the encoding and algorithm. The type has no Display or Serialize,
/// so the key bytes can only leave through [`PrivateKey::der`].
pub struct PrivateKey {
    der: PrivateKeyDer<'static>,
    signing_key: Arc<dyn SigningKey>,
}

impl PrivateKey {
    /// Returns the DER container format.
    pub fn encoding(&self) -> KeyEncoding {
        encoding_of(&self.der)
    }

    /// Returns the signature algorithm family (RSA, ECDSA or ED25519).
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.signing_key.algorithm()
    }

    /// Returns the DER bytes, for building a TLS configuration.
    pub fn der(&self) -> &PrivateKeyDer<'static> {
        &self.der
    }
}

impl Clone for PrivateKey {
    fn clone(&self) -> Self {
        PrivateKey {
            der: self.der.clone_key(),
            signing_key: Arc::clone(&self.signing_key),
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("encoding", &self.encoding())
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// Parses a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key from PEM or DER bytes.
///
/// PEM input uses the first key section and skips certificates around it.
/// Encrypted keys are rejected with [`CertError::EncryptedKey`].
pub fn parse_key(bytes: &[u8]) -> Result<PrivateKey, CertError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CertError::NoPrivateKey);
    }

    let der = if contains_pem_begin(bytes) {
        key_der_from_pem(bytes)?
    } else {
        PrivateKeyDer::try_from(bytes.to_vec())
            .map_err(|reason| CertError::Der(reason.to_string()))?
    };

    let signing_key = rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|_| CertError::UnsupportedKey(encoding_of(&der).to_string()))?;
    Ok(PrivateKey { der, signing_key })
}

/// Reads and parses a private key file of at most [`super::MAX_FILE_SIZE`] bytes.
pub fn read_key_file(path: &Path) -> Result<PrivateKey, FileError> {
    let bytes = read_bounded(path)?;

    parse_key(&bytes).map_err(|source| FileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Returns whether `key` is the private key of `leaf`, by comparing SubjectPublicKeyInfo bytes.
///
/// This is the comparison rustls 0.23 `CertifiedKey::keys_match` makes, but it reads the
/// certificate with x509-parser, so certificates that webpki rejects (for example with an
/// unknown critical extension) can still be checked.
pub fn key_matches(leaf: &ParsedCert, key: &PrivateKey) -> Result<bool, CertError> {
    let (_, cert) =
        X509Certificate::from_der(&leaf.der).map_err(|err| CertError::Der(describe_parse_error(&err)))?;
    let Some(key_spki) = key.signing_key.public_key() else {
        return Err(CertError::PublicKeyUnavailable);
    };

    // NOTE: an EC certificate that stores its point in compressed form compares as a
    // mismatch, because the key side is always encoded uncompressed.
    Ok(key_spki.as_ref() == cert.public_key().raw)
}

fn key_der_from_pem(bytes: &[u8]) -> Result<PrivateKeyDer<'static>, CertError> {
    // Encrypted PKCS#8 has its own label, and encrypted traditional PEM adds a Proc-Type header.
    if contains(bytes, b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || contains(bytes, b"Proc-Type: 4,ENCRYPTED")
    {
        return Err(CertError::EncryptedKey);
    }

    PrivateKeyDer::from_pem_slice(bytes).map_err(|err| match err {
        pem::Error::NoItemsFound => CertError::NoPrivateKey,
        other => CertError::Pem(describe_pem_error(&other)),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn encoding_of(der: &PrivateKeyDer<'_>) -> KeyEncoding {
    match der {
        PrivateKeyDer::Pkcs1(_) => KeyEncoding::Pkcs1,
        PrivateKeyDer::Sec1(_) => KeyEncoding::Sec1,
        // PrivateKeyDer is non_exhaustive, and its only other variant in rustls-pki-types 1.16 is PKCS#8.
        _ => KeyEncoding::Pkcs8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::test_support::{
        generate_key, issued_chain, openssl, rsa_files, self_signed, Generated, KeyKind,
    };
    use crate::certs::{parse_chain, read_chain_file};
    use rustls::sign::CertifiedKey;
    use time::macros::datetime;

    fn generated(kind: KeyKind) -> Generated {
        self_signed(
            kind,
            &["key.example"],
            datetime!(2024-01-01 00:00 UTC),
            datetime!(2034-01-01 00:00 UTC),
        )
    }

    fn leaf_of(generated: &Generated) -> ParsedCert {
        let mut chain = parse_chain(generated.cert.pem().as_bytes()).expect("parse cert");
        chain.remove(0)
    }

    /// Returns what rustls itself concludes, as a reference for `key_matches`.
    fn rustls_keys_match(leaf: &ParsedCert, key: &PrivateKey) -> bool {
        let certified = CertifiedKey::new(vec![leaf.der.clone()], Arc::clone(&key.signing_key));
        match certified.keys_match() {
            Ok(()) => true,
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => false,
            Err(other) => panic!("rustls could not compare keys: {other}"),
        }
    }

    #[test]
    fn key_matches_own_certificate_for_each_curve() {
        let cases = [
            (KeyKind::EcdsaP256, SignatureAlgorithm::ECDSA),
            (KeyKind::EcdsaP384, SignatureAlgorithm::ECDSA),
            (KeyKind::Ed25519, SignatureAlgorithm::ED25519),
        ];
        for (kind, algorithm) in cases {
            let generated = generated(kind);
            let leaf = leaf_of(&generated);

            let key = parse_key(generated.key.serialize_pem().as_bytes()).expect("parse key");

            assert_eq!(key.algorithm(), algorithm, "{kind:?}");
            assert_eq!(key.encoding(), KeyEncoding::Pkcs8, "{kind:?}");
            assert!(key_matches(&leaf, &key).expect("compare"), "{kind:?}");
            assert!(rustls_keys_match(&leaf, &key), "{kind:?}");
        }
    }

    #[test]
    fn key_matches_rejects_other_key_of_same_type() {
        for kind in [KeyKind::EcdsaP256, KeyKind::EcdsaP384, KeyKind::Ed25519] {
            let leaf = leaf_of(&generated(kind));
            let other_key = generate_key(kind);

            let key = parse_key(other_key.serialize_pem().as_bytes()).expect("parse key");

            assert!(!key_matches(&leaf, &key).expect("compare"), "{kind:?}");
            assert!(!rustls_keys_match(&leaf, &key), "{kind:?}");
        }
    }

    #[test]
    fn key_matches_rejects_key_of_other_type() {
        let leaf = leaf_of(&generated(KeyKind::EcdsaP256));
        let key = parse_key(generate_key(KeyKind::Ed25519).serialize_pem().as_bytes())
            .expect("parse key");

        assert!(!key_matches(&leaf, &key).expect("compare"));
    }

    #[test]
    fn key_matches_leaf_not_intermediate() {
        let chain = issued_chain();
        let pem = format!("{}{}", chain.leaf.cert.pem(), chain.intermediate.cert.pem());
        let parsed = parse_chain(pem.as_bytes()).expect("parse chain");

        let key = parse_key(chain.leaf.key.serialize_pem().as_bytes()).expect("parse key");

        assert!(key_matches(&parsed[0], &key).expect("compare leaf"));
        assert!(!key_matches(&parsed[1], &key).expect("compare intermediate"));
    }

    #[test]
    fn parse_key_accepts_der_pkcs8() {
        let generated = generated(KeyKind::EcdsaP384);
        let leaf = leaf_of(&generated);

        let key = parse_key(&generated.key.serialize_der()).expect("parse DER key");

        assert_eq!(key.encoding(), KeyEncoding::Pkcs8);
        assert!(key_matches(&leaf, &key).expect("compare"));
    }

    #[test]
    fn parse_key_skips_certificate_before_key() {
        let generated = generated(KeyKind::EcdsaP256);
        let combined = format!("{}{}", generated.cert.pem(), generated.key.serialize_pem());

        let key = parse_key(combined.as_bytes()).expect("parse key");

        assert!(key_matches(&leaf_of(&generated), &key).expect("compare"));
    }

    #[test]
    fn read_key_file_rsa_pkcs8_and_pkcs1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = rsa_files(dir.path());
        let leaf = read_chain_file(&files.cert).expect("read cert").remove(0);

        let pkcs8 = read_key_file(&files.pkcs8_key).expect("read PKCS#8");
        let pkcs1 = read_key_file(&files.pkcs1_key).expect("read PKCS#1");

        assert_eq!(pkcs8.encoding(), KeyEncoding::Pkcs8);
        assert_eq!(pkcs1.encoding(), KeyEncoding::Pkcs1);
        assert_eq!(pkcs8.algorithm(), SignatureAlgorithm::RSA);
        assert!(key_matches(&leaf, &pkcs8).expect("compare PKCS#8"));
        assert!(key_matches(&leaf, &pkcs1).expect("compare PKCS#1"));
        assert!(rustls_keys_match(&leaf, &pkcs1));
    }

    #[test]
    fn read_key_file_rsa_der_pkcs1() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = rsa_files(dir.path());
        openssl(
            dir.path(),
            &[
                "rsa",
                "-in",
                "rsa.pkcs1.key",
                "-traditional",
                "-outform",
                "DER",
                "-out",
                "rsa.pkcs1.der",
            ],
        );
        let leaf = read_chain_file(&files.cert).expect("read cert").remove(0);

        let key = read_key_file(&dir.path().join("rsa.pkcs1.der")).expect("read DER key");

        assert_eq!(key.encoding(), KeyEncoding::Pkcs1);
        assert!(key_matches(&leaf, &key).expect("compare"));
    }

    #[test]
    fn read_key_file_ec_sec1() {
        let dir = tempfile::tempdir().expect("tempdir");
        openssl(
            dir.path(),
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "ec.key",
            ],
        );
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "ec.key",
                "-subj",
                "/CN=ec.example",
                "-days",
                "30",
                "-out",
                "ec.crt",
            ],
        );
        let leaf = read_chain_file(&dir.path().join("ec.crt"))
            .expect("read cert")
            .remove(0);

        let key = read_key_file(&dir.path().join("ec.key")).expect("read SEC1 key");

        assert_eq!(key.encoding(), KeyEncoding::Sec1);
        assert_eq!(key.algorithm(), SignatureAlgorithm::ECDSA);
        assert!(key_matches(&leaf, &key).expect("compare"));
    }

    #[test]
    fn mismatched_rsa_key_reports_false() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = rsa_files(dir.path());
        openssl(dir.path(), &["genrsa", "-out", "other.key", "2048"]);
        let leaf = read_chain_file(&files.cert).expect("read cert").remove(0);

        let other = read_key_file(&dir.path().join("other.key")).expect("read key");

        assert!(!key_matches(&leaf, &other).expect("compare"));
    }

    #[test]
    fn read_key_file_encrypted_key_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        openssl(dir.path(), &["genrsa", "-out", "plain.key", "2048"]);
        openssl(
            dir.path(),
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "plain.key",
                "-passout",
                "pass:secret",
                "-out",
                "encrypted.key",
            ],
        );

        let err = read_key_file(&dir.path().join("encrypted.key")).expect_err("must fail");

        assert!(
            matches!(
                err,
                FileError::Invalid {
                    source: CertError::EncryptedKey,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn read_key_file_unsupported_curve() {
        let dir = tempfile::tempdir().expect("tempdir");
        openssl(
            dir.path(),
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp521r1",
                "-out",
                "p521.key",
            ],
        );

        let err = read_key_file(&dir.path().join("p521.key")).expect_err("must fail");

        match err {
            FileError::Invalid {
                source: CertError::UnsupportedKey(encoding),
                ..
            } => assert_eq!(encoding, "PKCS#8"),
            other => panic!("expected UnsupportedKey, got {other:?}"),
        }
    }

    #[test]
    fn read_key_file_certificate_only_has_no_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cert.pem");
        std::fs::write(&path, generated(KeyKind::EcdsaP256).cert.pem()).expect("write");

        let err = read_key_file(&path).expect_err("must fail");

        assert!(
            matches!(
                err,
                FileError::Invalid {
                    source: CertError::NoPrivateKey,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn read_key_file_bad_input_is_invalid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_pem = generate_key(KeyKind::EcdsaP256).serialize_pem();
        let truncated = &key_pem[..key_pem.len() / 2];
        let cases: [(&str, &[u8]); 3] = [
            ("empty.key", b""),
            ("garbage.key", b"\x30\x82\x01\x00garbage"),
            ("truncated.key", truncated.as_bytes()),
        ];

        for (name, contents) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).expect("write");

            let err = read_key_file(&path).expect_err("bad key must fail");

            assert!(matches!(err, FileError::Invalid { .. }), "{name}: {err:?}");
        }
    }

    #[test]
    fn read_key_file_missing_and_directory() {
        let dir = tempfile::tempdir().expect("tempdir");

        let missing = read_key_file(&dir.path().join("absent.key")).expect_err("must fail");
        let directory = read_key_file(dir.path()).expect_err("must fail");

        assert!(matches!(missing, FileError::Missing { .. }), "{missing:?}");
        assert!(
            matches!(directory, FileError::Unreadable { .. }),
            "{directory:?}"
        );
    }

    #[test]
    fn private_key_debug_hides_bytes() {
        let generated = generated(KeyKind::EcdsaP256);
        let der = generated.key.serialize_der();
        let key = parse_key(&der).expect("parse key");

        let debug_output = format!("{key:?} {:?}", key.clone());

        assert!(debug_output.contains("Pkcs8"), "{debug_output}");
        assert!(debug_output.contains("ECDSA"), "{debug_output}");
        let tail = &der[der.len() - 8..];
        let tail_decimal = format!("{tail:?}").trim_matches(['[', ']']).to_string();
        let tail_hex = hex::encode(tail);
        assert!(!debug_output.contains(&tail_decimal), "{debug_output}");
        assert!(
            !debug_output.to_lowercase().contains(&tail_hex),
            "{debug_output}"
        );
    }
}
