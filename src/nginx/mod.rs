//! nginx and OpenResty configuration: read it from `nginx -T` or from the files, list the
//! server blocks, and pick the block nginx uses for a domain on an address and port.

mod config;
mod glob;
mod select;
mod server;
mod syntax;

use std::path::PathBuf;

pub use config::{
    normalize, parse_dump, read_files, Config, MAX_FILES, MAX_FILE_BYTES, MAX_INCLUDE_DEPTH,
};
pub use select::{normalize_name, select, NameMatch, Selection};
pub use server::{
    parse_listen, server_blocks, Listen, ListenAddress, ServerBlock, DEFAULT_LISTEN_PORT,
};
pub use syntax::{parse_text, Directive};

/// A configuration that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum NginxError {
    #[error("{}:{line}: {detail}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        detail: String,
    },

    #[error(
        "the text holds no \"# configuration file PATH:\" header, so it is not `nginx -T` output"
    )]
    NotADump,

    #[error("configuration file {} not found", path.display())]
    Missing { path: PathBuf },

    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{} is {size} bytes, larger than the {max}-byte limit for a configuration file", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },

    #[error("{}:{line}: include nested deeper than {max} levels; does a file include itself?", file.display())]
    IncludeDepth {
        file: PathBuf,
        line: usize,
        max: usize,
    },

    #[error("the configuration consists of more than {max} files")]
    TooManyFiles { max: usize },
}
