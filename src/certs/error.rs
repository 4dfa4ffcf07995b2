//! Error types for certificate and private key parsing.

use std::io;
use std::path::PathBuf;

use x509_parser::der_parser::error::BerError;
use x509_parser::error::X509Error;

/// Failure to parse certificate or private key bytes.
///
/// No variant carries private key bytes, so the Display and Debug output are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The input contains no certificate: it is empty, or its PEM has no CERTIFICATE section.
    #[error("no certificate found")]
    NoCertificate,

    /// The input contains no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY section.
    #[error("no private key found")]
    NoPrivateKey,

    /// The PEM structure is malformed (missing END line, bad base64, ...).
    #[error("invalid PEM: {0}")]
    Pem(String),

    /// The DER encoding is malformed or is not the expected structure. The detail is a short
    /// phrase such as "unexpected tag", without parser internals.
    #[error("malformed DER ({0})")]
    Der(String),

    /// One certificate of a PEM chain failed to parse. `position` counts from 1 (the leaf).
    #[error("certificate {position} in the chain: {source}")]
    ChainEntry {
        position: usize,
        source: Box<CertError>,
    },

    /// The private key container parsed, but the key inside is malformed or of an unsupported
    /// algorithm or curve (for example P-521 or Ed448).
    #[error("unsupported {0} private key (supported: RSA, ECDSA P-256, ECDSA P-384, Ed25519)")]
    UnsupportedKey(String),

    /// The private key is password-protected and cannot be loaded without the password.
    #[error("private key is encrypted, which is not supported")]
    EncryptedKey,

    /// The private key type cannot produce its public key, so it cannot be compared with a certificate.
    #[error("cannot derive the public key from the private key")]
    PublicKeyUnavailable,
}

/// Failure to read a certificate or private key file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path does not exist (or is a dangling symlink).
    #[error("file not found: {}", path.display())]
    Missing { path: PathBuf },

    /// The path exists but cannot be read: permission denied, a directory, a FIFO, ...
    #[error("cannot read {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },

    /// The file was read but its contents do not parse.
    #[error("invalid content in {}: {source}", path.display())]
    Invalid { path: PathBuf, source: CertError },

    /// The file exceeds [`super::MAX_FILE_SIZE`]. `size` is in bytes.
    #[error("file {} is too large ({size} bytes)", path.display())]
    TooLarge { path: PathBuf, size: u64 },
}

/// Describes an x509-parser failure in a few words, e.g. "unexpected tag", leaving out the
/// parser's type names, which mean nothing to the reader of a report.
pub(crate) fn describe_parse_error(error: &x509_parser::nom::Err<X509Error>) -> String {
    match error {
        x509_parser::nom::Err::Incomplete(_) => "truncated".to_string(),
        x509_parser::nom::Err::Error(error) | x509_parser::nom::Err::Failure(error) => {
            describe_x509_error(error)
        }
    }
}

/// Describes one x509-parser error in a few words, like [`describe_parse_error`].
pub(crate) fn describe_x509_error(error: &X509Error) -> String {
    match error {
        X509Error::Der(ber) => describe_ber_error(ber).to_string(),
        X509Error::Generic | X509Error::NomError(_) => "unexpected structure".to_string(),
        X509Error::InvalidSPKI => "invalid public key".to_string(),
        // The remaining variants display as short phrases, e.g. "invalid serial".
        other => other.to_string(),
    }
}

fn describe_ber_error(error: &BerError) -> &'static str {
    match error {
        BerError::UnexpectedTag { .. }
        | BerError::InvalidTag
        | BerError::UnknownTag(_)
        | BerError::UnexpectedClass { .. } => "unexpected tag",
        BerError::InvalidLength => "invalid length",
        BerError::Incomplete(_) => "truncated",
        BerError::InvalidDateTime => "invalid date",
        BerError::IntegerTooLarge | BerError::IntegerNegative => "invalid integer",
        BerError::StringInvalidCharset => "invalid characters in a string",
        BerError::DerConstraintFailed(_)
        | BerError::IndefiniteLengthUnexpected
        | BerError::ConstructExpected
        | BerError::ConstructUnexpected => "not canonical DER",
        BerError::BerMaxDepth => "nested too deeply",
        _ => "unexpected structure",
    }
}
