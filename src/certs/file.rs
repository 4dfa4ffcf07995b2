//! Bounded reading of certificate and key files.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::FileError;

/// Maximum size in bytes of a certificate or key file. A full PEM chain is a few KiB.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Reads a whole regular file of at most [`MAX_FILE_SIZE`] bytes.
///
/// Directories, FIFOs and devices are rejected as [`FileError::Unreadable`] without reading.
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
    let file = open_nonblocking(path)?;

    let metadata = file.metadata().map_err(|source| unreadable(path, source))?;
    check_regular_file(path, &metadata)?;
    if metadata.len() > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: metadata.len(),
        });
    }

    read_at_most(path, file)
}

/// Opens with O_NONBLOCK so that a FIFO without a writer cannot block the open.
fn open_nonblocking(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => FileError::Missing {
                path: path.to_path_buf(),
            },
            _ => unreadable(path, source),
        })
}

fn check_regular_file(path: &Path, metadata: &std::fs::Metadata) -> Result<(), FileError> {
    if metadata.is_file() {
        return Ok(());
    }

    let source = if metadata.is_dir() {
        io::Error::new(io::ErrorKind::IsADirectory, "is a directory")
    } else {
        io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")
    };
    Err(unreadable(path, source))
}

/// Reads up to one byte past the limit, so a file that grew after the size check is still caught.
fn read_at_most(path: &Path, file: File) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| unreadable(path, source))?;

    let size = bytes.len() as u64;
    if size > MAX_FILE_SIZE {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    Ok(bytes)
}

fn unreadable(path: &Path, source: io::Error) -> FileError {
    FileError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_bounded_returns_contents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cert.pem");
        std::fs::write(&path, b"hello").expect("write");

        let bytes = read_bounded(&path).expect("read");

        assert_eq!(bytes, b"hello");
    }

    #[test]
    fn read_bounded_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("absent.pem");

        let err = read_bounded(&path).expect_err("missing file must fail");

        assert!(
            matches!(err, FileError::Missing { path: ref p } if *p == path),
            "{err:?}"
        );
    }

    #[test]
    fn read_bounded_directory_is_unreadable() {
        let dir = tempfile::tempdir().expect("tempdir");

        let err = read_bounded(dir.path()).expect_err("directory must fail");

        match err {
            FileError::Unreadable { path, source } => {
                assert_eq!(path, dir.path());
                assert_eq!(source.kind(), io::ErrorKind::IsADirectory);
            }
            other => panic!("expected Unreadable, got {other:?}"),
        }
    }

    #[test]
    fn read_bounded_fifo_is_unreadable_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cert.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(status.success());

        // A blocking open would hang forever, so the read runs on a thread with a deadline.
        let (sender, receiver) = std::sync::mpsc::channel();
        let fifo_path = path.clone();
        std::thread::spawn(move || sender.send(read_bounded(&fifo_path)));
        let result = receiver
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("read_bounded blocked on a fifo");

        let err = result.expect_err("fifo must fail");
        assert!(matches!(err, FileError::Unreadable { .. }), "{err:?}");
    }

    #[test]
    fn read_bounded_oversized_file_is_too_large() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("huge.pem");
        let file = File::create(&path).expect("create");
        file.set_len(MAX_FILE_SIZE + 1).expect("set_len");

        let err = read_bounded(&path).expect_err("oversized file must fail");

        match err {
            FileError::TooLarge { size, .. } => assert_eq!(size, MAX_FILE_SIZE + 1),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn read_bounded_file_at_limit_is_accepted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("limit.pem");
        let file = File::create(&path).expect("create");
        file.set_len(MAX_FILE_SIZE).expect("set_len");

        let bytes = read_bounded(&path).expect("file at the limit must be read");

        assert_eq!(bytes.len() as u64, MAX_FILE_SIZE);
    }
}
