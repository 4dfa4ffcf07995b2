//! Test PKI: a throw-away certificate authority that issues server certificates.
//!
//! Used by `certwiz demo` to build its scenario and by tests. Every certificate gets a random
//! serial number and every leaf a fresh key, so two leaves for the same name always differ in
//! fingerprint.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Validity of a generated authority, counted from now.
const AUTHORITY_DAYS_BEFORE: i64 = 365;
const AUTHORITY_DAYS_AFTER: i64 = 3650;

/// Serial number length in bytes; RFC 5280 allows at most 20.
const SERIAL_LEN: usize = 16;

/// Algorithm of a generated private key.
///
/// RSA is missing because rcgen cannot generate RSA keys with the ring backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
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

/// Issued leaf certificate with its private key.
pub struct Issued {
    /// Leaf certificate, PEM.
    pub cert_pem: String,
    /// PKCS#8 private key, PEM. Never printed by `Debug`.
    pub key_pem: String,
    /// Leaf certificate, DER.
    pub der: Vec<u8>,
}

impl fmt::Debug for Issued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issued")
            .field("sha256", &hex::encode(Sha256::digest(&self.der)))
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Requested contents of a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// Subject alternative names: DNS names or IP address literals. The first one is also the
    /// subject common name.
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub key: KeyKind,
}

impl LeafSpec {
    /// Returns a spec for an ECDSA P-256 leaf valid from one hour ago until `days` days from now.
    pub fn valid_for(names: &[&str], days: i64) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            names: names.iter().map(|name| name.to_string()).collect(),
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
            key: KeyKind::EcdsaP256,
        }
    }

    /// Returns a spec for an ECDSA P-256 leaf that was valid for 90 days and expired yesterday.
    pub fn expired(names: &[&str]) -> LeafSpec {
        let now = OffsetDateTime::now_utc();
        LeafSpec {
            names: names.iter().map(|name| name.to_string()).collect(),
            not_before: now - Duration::days(91),
            not_after: now - Duration::days(1),
            key: KeyKind::EcdsaP256,
        }
    }
}

/// Certificate authority: a CA certificate and the key that signs with it.
pub struct Authority {
    common_name: String,
    certificate: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
    /// URL that leaves issued by this authority name as where to fetch it (AIA caIssuers), as
    /// public CAs do.
    ca_issuers_url: Option<String>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// Generates a self-signed root CA with an ECDSA P-256 key, valid from a year ago for ten
    /// years.
    pub fn new(common_name: &str) -> Result<Authority, rcgen::Error> {
        let key = KeyPair::generate_for(KeyKind::EcdsaP256.algorithm())?;
        let params = authority_params(common_name)?;
        let certificate = params.self_signed(&key)?;

        Ok(Authority {
            common_name: common_name.to_string(),
            certificate,
            issuer: Issuer::new(params, key),
            ca_issuers_url: None,
        })
    }

    /// Generates an intermediate CA signed by this authority.
    pub fn intermediate(&self, common_name: &str) -> Result<Authority, rcgen::Error> {
        let key = KeyPair::generate_for(KeyKind::EcdsaP256.algorithm())?;
        let params = authority_params(common_name)?;
        let certificate = params.signed_by(&key, &self.issuer)?;

        Ok(Authority {
            common_name: common_name.to_string(),
            certificate,
            issuer: Issuer::new(params, key),
            ca_issuers_url: None,
        })
    }

    /// Makes leaves issued from now on name `url` as where to fetch this authority's certificate,
    /// like the leaves of public CAs do.
    pub fn publishing_at(mut self, url: &str) -> Authority {
        self.ca_issuers_url = Some(url.to_string());
        self
    }

    /// Returns this authority's own certificate as PEM.
    pub fn cert_pem(&self) -> String {
        self.certificate.pem()
    }

    /// Returns this authority's own certificate as DER.
    pub fn cert_der(&self) -> &[u8] {
        self.certificate.der()
    }

    /// Issues a server leaf certificate with a fresh key, signed by this authority.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate_for(spec.key.algorithm())?;
        let mut params = leaf_params(spec)?;
        if let Some(url) = &self.ca_issuers_url {
            params.custom_extensions.push(ca_issuers_extension(url));
        }
        let certificate = params.signed_by(&key, &self.issuer)?;

        Ok(Issued {
            cert_pem: certificate.pem(),
            key_pem: key.serialize_pem(),
            der: certificate.der().to_vec(),
        })
    }
}

fn authority_params(common_name: &str) -> Result<CertificateParams, rcgen::Error> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();

    params.distinguished_name = distinguished_name(common_name);
    params.serial_number = Some(random_serial()?);
    params.not_before = now - Duration::days(AUTHORITY_DAYS_BEFORE);
    params.not_after = now + Duration::days(AUTHORITY_DAYS_AFTER);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.use_authority_key_identifier_extension = true;

    Ok(params)
}

fn leaf_params(spec: &LeafSpec) -> Result<CertificateParams, rcgen::Error> {
    // `CertificateParams::new` turns IP literals into IP address SANs and the rest into DNS SANs.
    let mut params = CertificateParams::new(spec.names.clone())?;
    let common_name = spec.names.first().map_or("certwiz test leaf", String::as_str);

    params.distinguished_name = distinguished_name(common_name);
    params.serial_number = Some(random_serial()?);
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;

    Ok(params)
}

/// Builds an Authority Information Access extension with one caIssuers URL (RFC 5280 4.2.2.1).
///
/// Panics if `url` is 100 bytes or longer, which keeps every DER length in one byte.
pub fn ca_issuers_extension(url: &str) -> rcgen::CustomExtension {
    const ID_AD_CA_ISSUERS: [u8; 10] = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    assert!(url.len() < 100, "caIssuers URL too long for the short DER form");

    let mut description = ID_AD_CA_ISSUERS.to_vec();
    // uniformResourceIdentifier is GeneralName choice [6], an implicit IA5String.
    description.push(0x86);
    description.push(url.len() as u8);
    description.extend_from_slice(url.as_bytes());

    let mut access = vec![0x30, description.len() as u8];
    access.extend(description);
    let mut content = vec![0x30, access.len() as u8];
    content.extend(access);

    rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], content)
}

fn distinguished_name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// Returns a random positive serial number from the ring CSPRNG (through rustls).
fn random_serial() -> Result<SerialNumber, rcgen::Error> {
    let mut bytes = [0u8; SERIAL_LEN];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| rcgen::Error::RingUnspecified)?;

    // A clear top bit keeps the DER integer positive; a set next bit keeps its length fixed.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;

    Ok(SerialNumber::from_slice(&bytes))
}

/// Writes `stem.crt` (leaf PEM followed by `chain_extra` PEMs) and `stem.key` (mode 0600) in
/// `dir`, replacing existing files, and returns their paths in that order.
pub fn write_pair(
    dir: &Path,
    stem: &str,
    issued: &Issued,
    chain_extra: &[String],
) -> io::Result<(PathBuf, PathBuf)> {
    let cert_path = dir.join(format!("{stem}.crt"));
    let key_path = dir.join(format!("{stem}.key"));

    fs::write(&cert_path, chain_pem(&issued.cert_pem, chain_extra))?;
    write_private(&key_path, issued.key_pem.as_bytes())?;

    Ok((cert_path, key_path))
}

fn chain_pem(leaf_pem: &str, chain_extra: &[String]) -> String {
    let mut chain = String::new();
    for pem in std::iter::once(leaf_pem).chain(chain_extra.iter().map(String::as_str)) {
        chain.push_str(pem);
        if !pem.ends_with('\n') {
            chain.push('\n');
        }
    }
    chain
}

/// Writes `contents` to a file readable only by its owner.
fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;

    // `mode` applies only to a new file, so an existing one is narrowed before the key is written.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    use x509_parser::pem::Pem;
    use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

    fn parse(der: &[u8]) -> X509Certificate<'_> {
        let (rest, cert) = X509Certificate::from_der(der).expect("rcgen output is valid DER");
        assert!(rest.is_empty());
        cert
    }

    fn san_names(cert: &X509Certificate<'_>) -> Vec<String> {
        let san = cert
            .subject_alternative_name()
            .expect("SAN extension parses")
            .expect("SAN extension is present");
        san.value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => dns.to_string(),
                GeneralName::IPAddress(bytes) => format!("ip:{}", hex::encode(bytes)),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn leaf_signature_verifies_against_root() {
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();

        let leaf = parse(&issued.der);
        let root_cert = parse(root.cert_der());

        assert!(leaf.verify_signature(Some(root_cert.public_key())).is_ok());
        assert_eq!(leaf.issuer(), root_cert.subject());
    }

    #[test]
    fn leaf_signature_fails_against_other_root() {
        let root = Authority::new("certwiz test root").unwrap();
        let other = Authority::new("certwiz other root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();

        let leaf = parse(&issued.der);
        let other_cert = parse(other.cert_der());

        assert!(leaf.verify_signature(Some(other_cert.public_key())).is_err());
    }

    #[test]
    fn intermediate_chain_verifies() {
        let root = Authority::new("certwiz test root").unwrap();
        let intermediate = root.intermediate("certwiz test intermediate").unwrap();
        let issued = intermediate
            .issue(&LeafSpec::valid_for(&["example.test"], 30))
            .unwrap();

        let leaf = parse(&issued.der);
        let intermediate_cert = parse(intermediate.cert_der());
        let root_cert = parse(root.cert_der());

        assert!(leaf.verify_signature(Some(intermediate_cert.public_key())).is_ok());
        assert!(intermediate_cert.verify_signature(Some(root_cert.public_key())).is_ok());
        assert!(intermediate_cert.is_ca());
        assert_eq!(intermediate_cert.issuer(), root_cert.subject());
        assert!(!leaf.is_ca());
    }

    #[test]
    fn expired_spec_ends_before_now() {
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::expired(&["example.test"])).unwrap();

        let leaf = parse(&issued.der);
        let not_after = leaf.validity().not_after.to_datetime();
        let not_before = leaf.validity().not_before.to_datetime();
        let now = OffsetDateTime::now_utc();

        assert!(not_after < now, "not_after {not_after} is not before {now}");
        assert!(not_after > now - Duration::days(2));
        assert!(not_before < not_after);
        assert!(!leaf.validity().is_valid());
    }

    #[test]
    fn valid_for_spec_covers_now() {
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();

        let leaf = parse(&issued.der);
        let not_after = leaf.validity().not_after.to_datetime();
        let now = OffsetDateTime::now_utc();

        assert!(leaf.validity().is_valid());
        assert!(not_after > now + Duration::days(29));
        assert!(not_after < now + Duration::days(31));
    }

    #[test]
    fn names_become_dns_and_ip_sans() {
        let root = Authority::new("certwiz test root").unwrap();
        let spec = LeafSpec::valid_for(&["example.test", "127.0.0.1", "::1"], 30);
        let issued = root.issue(&spec).unwrap();

        let leaf = parse(&issued.der);

        assert_eq!(
            san_names(&leaf),
            vec![
                "example.test".to_string(),
                "ip:7f000001".to_string(),
                format!("ip:{}", "0".repeat(31) + "1"),
            ]
        );
        let common_name = leaf.subject().iter_common_name().next().unwrap();
        assert_eq!(common_name.as_str().unwrap(), "example.test");
    }

    #[test]
    fn invalid_name_is_error() {
        let root = Authority::new("certwiz test root").unwrap();
        // A DNS SAN is an IA5String, which cannot hold non-ASCII characters.
        let spec = LeafSpec::valid_for(&["bücher.example"], 30);

        assert!(root.issue(&spec).is_err());
    }

    #[test]
    fn same_name_gets_distinct_serials_and_fingerprints() {
        let root = Authority::new("certwiz test root").unwrap();
        let spec = LeafSpec::valid_for(&["example.test"], 30);
        let first = root.issue(&spec).unwrap();
        let second = root.issue(&spec).unwrap();

        assert_ne!(first.der, second.der);
        assert_ne!(parse(&first.der).raw_serial(), parse(&second.der).raw_serial());
        assert_eq!(parse(&first.der).raw_serial().len(), SERIAL_LEN);
    }

    #[test]
    fn key_kinds_use_their_algorithm() {
        let root = Authority::new("certwiz test root").unwrap();
        let cases = [
            (KeyKind::EcdsaP256, "1.2.840.10045.2.1"),
            (KeyKind::EcdsaP384, "1.2.840.10045.2.1"),
            (KeyKind::Ed25519, "1.3.101.112"),
        ];

        for (kind, oid) in cases {
            let mut spec = LeafSpec::valid_for(&["example.test"], 30);
            spec.key = kind;
            let issued = root.issue(&spec).unwrap();

            let leaf = parse(&issued.der);
            let key = KeyPair::from_pem(&issued.key_pem).unwrap();

            assert_eq!(leaf.public_key().algorithm.algorithm.to_id_string(), oid, "{kind:?}");
            assert_eq!(leaf.public_key().subject_public_key.data.as_ref(), key.public_key_raw());
        }
    }

    #[test]
    fn debug_hides_key_pem() {
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();
        let key_body: String = issued
            .key_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();

        let debug = format!("{issued:?} {root:?}");

        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(!debug.contains(&key_body[..32]), "{debug}");
        assert!(debug.contains(&hex::encode(Sha256::digest(&issued.der))));
    }

    #[test]
    fn write_pair_writes_chain_and_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = Authority::new("certwiz test root").unwrap();
        let intermediate = root.intermediate("certwiz test intermediate").unwrap();
        let issued = intermediate
            .issue(&LeafSpec::valid_for(&["example.test"], 30))
            .unwrap();

        let (cert_path, key_path) =
            write_pair(dir.path(), "site", &issued, &[intermediate.cert_pem()]).unwrap();

        assert_eq!(cert_path, dir.path().join("site.crt"));
        assert_eq!(key_path, dir.path().join("site.key"));

        let chain = fs::read(&cert_path).unwrap();
        let ders: Vec<Vec<u8>> = Pem::iter_from_buffer(&chain)
            .map(|pem| pem.unwrap().contents)
            .collect();
        assert_eq!(ders, vec![issued.der.clone(), intermediate.cert_der().to_vec()]);

        assert_eq!(fs::read_to_string(&key_path).unwrap(), issued.key_pem);
        let mode = fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn write_pair_narrows_existing_key_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("site.key");
        fs::write(&key_path, "old").unwrap();
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o644)).unwrap();
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();

        write_pair(dir.path(), "site", &issued, &[]).unwrap();

        let mode = fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read_to_string(&key_path).unwrap(), issued.key_pem);
    }

    #[test]
    fn write_pair_missing_dir_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let root = Authority::new("certwiz test root").unwrap();
        let issued = root.issue(&LeafSpec::valid_for(&["example.test"], 30)).unwrap();

        let error = write_pair(&dir.path().join("absent"), "site", &issued, &[]).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
