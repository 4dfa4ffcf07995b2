//! Certificate chains and private keys read from files: parsing, summaries and key matching.
//!
//! Files are read with a size limit ([`MAX_FILE_SIZE`]) and only if they are regular files.
//! Malformed content is reported as [`FileError::Invalid`] with a [`CertError`] inside.
//! Private key bytes never appear in errors or Debug output.

mod chain;
mod error;
mod file;
mod key;
mod summary;

#[cfg(test)]
mod test_support;

pub use chain::{parse_chain, read_chain_file, ParsedCert};
pub use error::{CertError, FileError};
pub use file::MAX_FILE_SIZE;
pub use key::{key_matches, parse_key, read_key_file, KeyEncoding, PrivateKey};
pub use summary::{CertSummary, Validity};
