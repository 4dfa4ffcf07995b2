//! Test fixtures: rcgen certificates and keys, and openssl-made RSA files.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SignatureAlgorithm,
};
use time::OffsetDateTime;

/// Key algorithm of a generated fixture.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
}

impl KeyKind {
    fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
        }
    }
}

/// A generated certificate with its key pair.
pub(crate) struct Generated {
    pub cert: rcgen::Certificate,
    pub key: KeyPair,
}

pub(crate) fn generate_key(kind: KeyKind) -> KeyPair {
    KeyPair::generate_for(kind.algorithm()).expect("generate key pair")
}

fn params(
    common_name: &str,
    sans: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> CertificateParams {
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("valid SANs");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

/// Builds a self-signed certificate with rcgen's default subject "CN=rcgen self signed cert".
pub(crate) fn self_signed(
    kind: KeyKind,
    sans: &[&str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Generated {
    let key = generate_key(kind);
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).expect("valid SANs");
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).expect("self-sign");
    Generated { cert, key }
}

/// A leaf certificate for "leaf.example" signed by an intermediate "CN=Test Intermediate".
pub(crate) struct IssuedChain {
    pub leaf: Generated,
    pub intermediate: Generated,
}

pub(crate) fn issued_chain() -> IssuedChain {
    let now = OffsetDateTime::now_utc();
    let not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(90);

    let ca_key = generate_key(KeyKind::EcdsaP256);
    let mut ca_params = params("Test Intermediate", &[], not_before, not_after);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign CA");
    let issuer = Issuer::new(ca_params, &ca_key);

    let leaf_key = generate_key(KeyKind::EcdsaP256);
    let leaf_params = params("leaf.example", &["leaf.example"], not_before, not_after);
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("sign leaf");

    IssuedChain {
        leaf: Generated {
            cert: leaf_cert,
            key: leaf_key,
        },
        intermediate: Generated {
            cert: ca_cert,
            key: ca_key,
        },
    }
}

/// Runs `openssl` with `args` in `dir` and panics with its stderr on failure.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Paths of an openssl-made RSA certificate and its key in two encodings.
pub(crate) struct RsaFiles {
    pub cert: PathBuf,
    pub pkcs8_key: PathBuf,
    pub pkcs1_key: PathBuf,
}

/// Writes a 2048-bit RSA key (PKCS#8 and PKCS#1) and a self-signed certificate into `dir`.
pub(crate) fn rsa_files(dir: &Path) -> RsaFiles {
    openssl(dir, &["genrsa", "-out", "rsa.pkcs8.key", "2048"]);
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "rsa.pkcs8.key",
            "-traditional",
            "-out",
            "rsa.pkcs1.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "rsa.pkcs8.key",
            "-subj",
            "/CN=rsa.example",
            "-days",
            "30",
            "-out",
            "rsa.crt",
        ],
    );
    RsaFiles {
        cert: dir.join("rsa.crt"),
        pkcs8_key: dir.join("rsa.pkcs8.key"),
        pkcs1_key: dir.join("rsa.pkcs1.key"),
    }
}
