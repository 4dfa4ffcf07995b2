//! Log scanning: picks the certificate, TLS and renewal lines out of the tail of a
//! 1Panel or nginx log file, including gzip-compressed rotated files.
//!
//! Private key blocks are removed from the lines as they are read, so no picked line, and
//! nothing printed or stored from it, carries key material.

mod classify;
mod rotated;
mod tail;

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::report::redact::{KeyScrubber, KEY_REMOVED};

pub use classify::classify;
pub use rotated::find_rotated;

/// Maximum number of characters kept in [`LogLine::text`], including the ellipsis that
/// marks a shortened line.
const MAX_TEXT_CHARS: usize = 400;

/// Marks text that was cut off: at the end of a shortened line, or at the start of a line
/// whose start lies before the tail.
const ELLIPSIS: char = '…';

/// Maximum number of decompressed bytes processed from one `.gz` file, so a gzip bomb
/// ends the scan with `truncated = true` instead of running for minutes.
const MAX_DECOMPRESSED_BYTES: u64 = 256 * 1024 * 1024;

/// Kind of a log line that matters for certificate diagnosis.
///
/// A failed renewal is a [`LineKind::Error`]. Renewal lines that report progress or
/// success are [`LineKind::Renewal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A TLS handshake failed between a client and the server.
    TlsHandshake,
    /// The server could not load, match or validate a certificate or its key.
    Certificate,
    /// The server process crashed (Go `panic:` or a fatal log level) or failed to start
    /// because it cannot bind its port.
    Panic,
    /// A certificate renewal job started or succeeded, or a line reports that something
    /// about a certificate succeeded (`certificate loaded successfully`).
    Renewal,
    /// The server reported the address it listens on.
    Listen,
    /// An error-level line that mentions TLS or certificates, a failed renewal, or an
    /// nginx `[emerg]` line (nginx refuses to load or reload its configuration).
    Error,
}

/// One picked log line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    /// Timestamp from the start of the line, normalised to `YYYY-MM-DD HH:MM:SS` and kept
    /// in the zone the log writes. The timestamp is also in `text`.
    pub timestamp: Option<String>,
    /// Kind that [`classify`] assigned to the line.
    pub kind: LineKind,
    /// Trimmed line text, at most 400 characters, with invalid UTF-8 and control
    /// characters replaced by U+FFFD and private key material by `[private key removed]`.
    /// A long line keeps its start and ends in `…`. A line whose start lies before the
    /// tail (the tail contains no complete line) starts with `…` and keeps its end.
    pub text: String,
}

/// Result of scanning the tail of one log file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogScan {
    /// Scanned file.
    pub file: PathBuf,
    /// Size of the file on disk in bytes (compressed size for a `.gz` file).
    pub file_size: u64,
    /// Number of log bytes scanned: read from disk for a plain file, or kept from the
    /// decompressed output for a `.gz` file. Never more than `max_bytes`.
    pub bytes_read: u64,
    /// Whether part of the log was skipped: text before the tail, or decompressed output
    /// beyond the gzip limit.
    pub truncated: bool,
    /// Last `max_lines` picked lines, oldest first.
    pub lines: Vec<LogLine>,
    /// Number of lines picked before keeping only the last `max_lines`.
    pub picked_total: usize,
}

/// Error while scanning a log file.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log file does not exist.
    #[error("log file not found: {}", path.display())]
    Missing { path: PathBuf },

    /// The path exists but cannot be read as a log file (permissions, a directory, a
    /// FIFO or an I/O error).
    #[error("cannot read log file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: io::Error },

    /// A `.gz` file has an invalid header or corrupt or truncated compressed data.
    #[error("invalid gzip data in {}: {detail}", path.display())]
    Gzip { path: PathBuf, detail: String },
}

/// Scans the last `max_bytes` of the log at `path` and returns its last `max_lines`
/// lines that [`classify`] picks.
///
/// A plain file is read from `size - max_bytes` onwards, and the partial first line of
/// that tail is dropped unless it is the only line. A file whose name ends in `.gz` is
/// decompressed as a stream that keeps only the last `max_bytes` of output, and stops
/// after 256 MiB of output.
pub fn scan_log(path: &Path, max_bytes: u64, max_lines: usize) -> Result<LogScan, LogError> {
    let file_size = regular_file_size(path)?;
    let mut file = File::open(path).map_err(|source| open_error(path, source))?;

    let tail = if is_gzip_name(path) {
        read_gzip(path, &mut file, file_size, max_bytes)?
    } else {
        tail::read_plain_tail(&mut file, file_size, max_bytes).map_err(|source| {
            LogError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        })?
    };

    let (lines, picked_total) = pick_lines(&tail.bytes, tail.starts_mid_line, max_lines);

    Ok(LogScan {
        file: path.to_path_buf(),
        file_size,
        bytes_read: tail.bytes_read,
        truncated: tail.truncated,
        lines,
        picked_total,
    })
}

/// Picks lines from log text that did not come from a file, such as `journalctl` output;
/// `source` names the text in the scan.
pub fn scan_text(source: PathBuf, bytes: &[u8], max_lines: usize) -> LogScan {
    let (lines, picked_total) = pick_lines(bytes, false, max_lines);
    let size = bytes.len() as u64;

    LogScan {
        file: source,
        file_size: size,
        bytes_read: size,
        truncated: false,
        lines,
        picked_total,
    }
}

/// Returns the size of the regular file at `path`, rejecting directories and special
/// files such as FIFOs, whose `open` or `read` could block forever.
fn regular_file_size(path: &Path) -> Result<u64, LogError> {
    let metadata = fs::metadata(path).map_err(|source| open_error(path, source))?;

    let problem = if metadata.is_dir() {
        Some(io::Error::from(io::ErrorKind::IsADirectory))
    } else if !metadata.is_file() {
        Some(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    } else {
        None
    };

    match problem {
        Some(source) => Err(LogError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
        None => Ok(metadata.len()),
    }
}

fn open_error(path: &Path, source: io::Error) -> LogError {
    if source.kind() == io::ErrorKind::NotFound {
        LogError::Missing {
            path: path.to_path_buf(),
        }
    } else {
        LogError::Unreadable {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("gz"))
}

fn read_gzip(
    path: &Path,
    file: &mut File,
    file_size: u64,
    max_bytes: u64,
) -> Result<tail::Tail, LogError> {
    // An empty file is an empty log, not a gzip error.
    if file_size == 0 {
        return Ok(tail::Tail::default());
    }

    let reader = io::BufReader::new(file);
    tail::read_gzip_tail(reader, max_bytes, MAX_DECOMPRESSED_BYTES).map_err(|source| {
        if tail::is_gzip_format_error(&source) {
            LogError::Gzip {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        } else {
            LogError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Classifies every line of `bytes` and returns the last `max_lines` picked lines,
/// oldest first, with the number picked before that cap. `starts_mid_line` marks the
/// first line as one whose start was cut off.
fn pick_lines(bytes: &[u8], starts_mid_line: bool, max_lines: usize) -> (Vec<LogLine>, usize) {
    let mut newest = VecDeque::with_capacity(max_lines.min(1024));
    let mut picked_total = 0;
    // Every line passes through the scrubber, picked or not, so it can follow a key block
    // across lines.
    let mut scrubber = KeyScrubber::default();

    for (index, raw) in bytes.split(|&byte| byte == b'\n').enumerate() {
        let is_fragment = starts_mid_line && index == 0;
        let Some(line) = scrubbed_line(raw, is_fragment, &mut scrubber) else {
            continue;
        };

        let Some(line) = pick_line(&line, is_fragment) else {
            continue;
        };
        picked_total += 1;

        if max_lines == 0 {
            continue;
        }
        if newest.len() == max_lines {
            newest.pop_front();
        }
        newest.push_back(line);
    }

    (newest.into(), picked_total)
}

/// Returns the trimmed text of `raw` with private key material removed, or `None` for an
/// empty line or a line inside a key block.
fn scrubbed_line(raw: &[u8], is_fragment: bool, scrubber: &mut KeyScrubber) -> Option<String> {
    let line = String::from_utf8_lossy(raw);
    let line = if is_fragment {
        remove_key_before_cut(&line)
    } else {
        line
    };

    let line = scrubber.line(&line)?;
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    Some(line.to_string())
}

/// Returns `fragment` without the key material before its first `-----END ... PRIVATE
/// KEY-----` marker when no `BEGIN` marker comes before it, because the key block then
/// started before the cut and the scrubber cannot see its start.
fn remove_key_before_cut(fragment: &str) -> std::borrow::Cow<'_, str> {
    const END: &str = "-----END ";
    const DASHES: &str = "-----";

    let Some(end_start) = fragment.find(END) else {
        return fragment.into();
    };
    if fragment[..end_start].contains("-----BEGIN ") {
        return fragment.into();
    }

    let label_start = end_start + END.len();
    let Some(label_length) = fragment[label_start..].find(DASHES) else {
        return fragment.into();
    };
    let label_end = label_start + label_length;
    if !fragment[label_start..label_end].ends_with("PRIVATE KEY") {
        return fragment.into();
    }

    format!("{KEY_REMOVED}{}", &fragment[label_end + DASHES.len()..]).into()
}

/// Classifies one scrubbed line and returns it as a [`LogLine`] when it is picked.
fn pick_line(line: &str, is_fragment: bool) -> Option<LogLine> {
    if is_fragment {
        // The marker keeps rules that look at the start of a line, such as `panic:`, from
        // matching text that only happens to follow the cut.
        let kind = classify(&format!("{ELLIPSIS}{line}"))?;
        return Some(LogLine {
            timestamp: None,
            kind,
            text: fragment_text(line),
        });
    }

    let kind = classify(line)?;
    Some(LogLine {
        timestamp: classify::parse_timestamp(line),
        kind,
        text: clean_text(line),
    })
}

/// Returns `line` shortened to [`MAX_TEXT_CHARS`] characters, with control characters
/// replaced so that printing a log line cannot send escape sequences to a terminal.
fn clean_text(line: &str) -> String {
    let char_count = line.chars().count();
    let keep = if char_count > MAX_TEXT_CHARS {
        MAX_TEXT_CHARS - 1
    } else {
        char_count
    };

    let mut text: String = line.chars().take(keep).map(printable).collect();

    if keep < char_count {
        text.push(ELLIPSIS);
    }
    text
}

/// Returns a line whose start was cut off as `…` and its last characters, at most
/// [`MAX_TEXT_CHARS`] in all, with control characters replaced.
///
/// The end is kept because that is where a log line states its error.
fn fragment_text(line: &str) -> String {
    let char_count = line.chars().count();
    let skip = char_count.saturating_sub(MAX_TEXT_CHARS - 1);

    let mut text = String::from(ELLIPSIS);
    text.extend(line.chars().skip(skip).map(printable));
    text
}

/// Replaces a control character other than tab with U+FFFD.
fn printable(c: char) -> char {
    if c.is_control() && c != '\t' {
        char::REPLACEMENT_CHARACTER
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const NOISE_LINE: &[u8] =
        b"[2026-11-30 02:00:00] [INFO] [websocket] client connected, nothing to see here\n";

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).expect("write test file");
        path
    }

    fn noise_block(size: usize) -> Vec<u8> {
        NOISE_LINE.iter().copied().cycle().take(size).collect()
    }

    /// Writes `mib` MiB of noise lines, with `head` before and `tail_text` after them.
    fn write_big_log(path: &Path, head: &[u8], mib: usize, tail_text: &[u8]) {
        let block = noise_block(NOISE_LINE.len() * (1024 * 1024 / NOISE_LINE.len()));
        let mut file = io::BufWriter::new(File::create(path).expect("create big log"));
        file.write_all(head).expect("write head");
        let mut written = 0;
        while written < mib * 1024 * 1024 {
            file.write_all(&block).expect("write noise");
            written += block.len();
        }
        file.write_all(tail_text).expect("write tail");
        file.flush().expect("flush big log");
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish gzip")
    }

    #[test]
    fn mixed_lines_get_kinds_and_timestamps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = "\
[2026-11-30 03:00:00] [INFO] [websocket] client connected
[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:10086
2026/11/30 03:00:02 http: TLS handshake error from 1.2.3.4:5555: remote error: tls: bad certificate
[2026-11-30 03:00:03] [INFO] The scheduled certificate update task is currently in progress
[2026-11-30 03:00:04] [ERROR] Failed to update the SSL certificate File for 1Panel System domain
panic: open /opt/1panel/secret/server.crt: no such file or directory
just a line without anything
";
        let path = write_file(dir.path(), "1Panel.log", log.as_bytes());

        let scan = scan_log(&path, 1024 * 1024, 100).expect("scan");

        let kinds: Vec<LineKind> = scan.lines.iter().map(|line| line.kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::Listen,
                LineKind::TlsHandshake,
                LineKind::Renewal,
                LineKind::Error,
                LineKind::Panic,
            ]
        );
        let timestamps: Vec<Option<&str>> = scan
            .lines
            .iter()
            .map(|line| line.timestamp.as_deref())
            .collect();
        assert_eq!(
            timestamps,
            [
                Some("2026-11-30 03:00:01"),
                Some("2026-11-30 03:00:02"),
                Some("2026-11-30 03:00:03"),
                Some("2026-11-30 03:00:04"),
                None,
            ]
        );
        assert_eq!(scan.picked_total, 5);
        assert!(!scan.truncated);
        assert_eq!(scan.bytes_read, log.len() as u64);
        assert_eq!(scan.file_size, log.len() as u64);
        assert_eq!(
            scan.lines[0].text,
            "[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:10086"
        );
    }

    #[test]
    fn max_lines_keeps_newest_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log: String = (0..10)
            .map(|i| format!("[2026-11-30 03:00:0{i}] [INFO] listen at https://0.0.0.0:{i}\n"))
            .collect();
        let path = write_file(dir.path(), "1Panel.log", log.as_bytes());

        let scan = scan_log(&path, 1024 * 1024, 3).expect("scan");

        assert_eq!(scan.picked_total, 10);
        let ports: Vec<&str> = scan
            .lines
            .iter()
            .map(|line| line.text.rsplit(':').next().unwrap_or_default())
            .collect();
        assert_eq!(ports, ["7", "8", "9"]);
    }

    #[test]
    fn big_file_finds_match_near_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1Panel.log");
        let matching_line =
            b"2026/11/30 03:00:02 http: TLS handshake error from 1.2.3.4:5555: EOF\n";
        write_big_log(
            &path,
            b"",
            50,
            &[matching_line.as_slice(), NOISE_LINE].concat(),
        );
        let max_bytes = 1024 * 1024;

        let scan = scan_log(&path, max_bytes, 10).expect("scan");

        assert!(scan.truncated);
        assert!(scan.bytes_read <= max_bytes);
        assert!(scan.file_size > 50 * 1024 * 1024);
        assert_eq!(scan.lines.len(), 1);
        assert_eq!(scan.lines[0].kind, LineKind::TlsHandshake);
    }

    #[test]
    fn big_file_ignores_match_before_tail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("1Panel.log");
        let early = b"panic: open /opt/1panel/secret/server.crt: no such file or directory\n";
        write_big_log(&path, early, 8, b"");

        let scan = scan_log(&path, 1024 * 1024, 10).expect("scan");

        assert!(scan.truncated);
        assert!(scan.lines.is_empty());
        assert_eq!(scan.picked_total, 0);
    }

    #[test]
    fn tail_drops_partial_first_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = "[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:1\n";
        let second = "[2026-11-30 03:00:02] [INFO] listen at https://0.0.0.0:2\n";
        let path = write_file(dir.path(), "a.log", format!("{first}{second}").as_bytes());

        // The tail starts one byte into the first line, which must not be picked.
        let cut_inside =
            scan_log(&path, (first.len() + second.len() - 1) as u64, 10).expect("scan inside line");
        // The tail starts exactly at the second line, which is complete.
        let cut_at_boundary = scan_log(&path, second.len() as u64, 10).expect("scan at boundary");

        assert_eq!(cut_inside.lines.len(), 1);
        assert!(cut_inside.lines[0].text.ends_with(":2"));
        assert_eq!(cut_at_boundary.lines.len(), 1);
        assert!(cut_at_boundary.lines[0].text.ends_with(":2"));
    }

    /// Writes one line of `size` noise bytes followed by `end`, with no newline before it.
    fn write_single_line_log(path: &Path, size: usize, end: &[u8]) {
        let mut file = io::BufWriter::new(File::create(path).expect("create single-line log"));
        let chunk = [b'x'; 64 * 1024];
        let mut written = 0;
        while written < size {
            file.write_all(&chunk).expect("write noise");
            written += chunk.len();
        }
        file.write_all(end).expect("write end");
        file.flush().expect("flush single-line log");
    }

    #[test]
    fn single_line_log_keeps_cut_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let end = " http: TLS handshake error from 1.2.3.4:5555: EOF";
        let with_newline = dir.path().join("with-newline.log");
        write_single_line_log(
            &with_newline,
            10 * 1024 * 1024,
            format!("{end}\n").as_bytes(),
        );
        let without_newline = dir.path().join("without-newline.log");
        write_single_line_log(&without_newline, 10 * 1024 * 1024, end.as_bytes());

        for path in [with_newline, without_newline] {
            let scan = scan_log(&path, 4 * 1024 * 1024, 30).expect("scan");

            assert!(scan.truncated, "{}", path.display());
            assert_eq!(scan.picked_total, 1, "{}", path.display());
            let line = &scan.lines[0];
            assert_eq!(line.kind, LineKind::TlsHandshake);
            assert_eq!(line.timestamp, None);
            assert!(line.text.starts_with(ELLIPSIS), "{}", line.text);
            assert!(line.text.ends_with(end), "{}", line.text);
            assert_eq!(line.text.chars().count(), MAX_TEXT_CHARS);
        }
    }

    #[test]
    fn cut_line_start_is_not_line_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_file(dir.path(), "cut.log", b"xxxxxxxxxxpanic: boom\n");

        // The tail starts at `panic:`, which is not where the line starts.
        let scan = scan_log(&path, "panic: boom\n".len() as u64, 10).expect("scan");

        assert!(scan.lines.is_empty(), "{:?}", scan.lines);
    }

    #[test]
    fn private_key_in_line_is_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = "[2026-12-04 20:01:09] [ERROR] tls: failed to parse private key key=-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n";
        let path = write_file(dir.path(), "key.log", log.as_bytes());

        let scan = scan_log(&path, 1024, 10).expect("scan");

        assert_eq!(scan.lines.len(), 1);
        let line = &scan.lines[0];
        assert_eq!(line.kind, LineKind::Certificate);
        assert_eq!(
            line.text,
            format!(
                "[2026-12-04 20:01:09] [ERROR] tls: failed to parse private key key={KEY_REMOVED}"
            )
        );
    }

    #[test]
    fn private_key_block_lines_are_not_picked() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The second body line contains `Renew`, so it would be picked as a renewal line if
        // it were not known to be part of a key.
        let log = "\
[2026-12-04 20:01:09] [ERROR] tls: failed to parse private key: -----BEGIN EC PRIVATE KEY-----
MHcCAQEEIGx0b3Rvc2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0oAoGCCqG
SM49AwEHoUQDQgAERenewSSLc2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0
-----END EC PRIVATE KEY-----
[2026-12-04 20:01:10] [INFO] listen at https://0.0.0.0:8443
";
        let path = write_file(dir.path(), "block.log", log.as_bytes());

        let scan = scan_log(&path, 1024, 10).expect("scan");

        let texts: Vec<&str> = scan.lines.iter().map(|line| line.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                format!(
                    "[2026-12-04 20:01:09] [ERROR] tls: failed to parse private key: {KEY_REMOVED}"
                )
                .as_str(),
                "[2026-12-04 20:01:10] [INFO] listen at https://0.0.0.0:8443",
            ]
        );
        assert_eq!(scan.picked_total, 2);
    }

    #[test]
    fn cut_line_drops_key_before_end_marker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cut-key.log");
        let key_end =
            "RenewSSLc2VjcmV0c2VjcmV0-----END PRIVATE KEY----- tls: failed to parse private key";
        write_single_line_log(
            &path,
            4096,
            format!("key=-----BEGIN PRIVATE KEY-----MIIEvQIBADAN{key_end}\n").as_bytes(),
        );

        // The tail starts inside the key, after its BEGIN marker.
        let scan = scan_log(&path, (key_end.len() + 1) as u64, 10).expect("scan");

        assert_eq!(scan.lines.len(), 1);
        assert_eq!(
            scan.lines[0].text,
            format!("{ELLIPSIS}{KEY_REMOVED} tls: failed to parse private key")
        );
    }

    #[test]
    fn scan_text_removes_private_keys() {
        let text = b"Dec 04 20:01:09 host 1panel[7]: tls: failed to parse private key -----BEGIN RSA PRIVATE KEY-----MIIEpAIBAAKCAQEA\n";

        let scan = scan_text(PathBuf::from("journalctl -u 1panel"), text, 10);

        assert_eq!(scan.lines.len(), 1);
        assert!(
            scan.lines[0].text.ends_with(KEY_REMOVED),
            "{}",
            scan.lines[0].text
        );
        assert!(
            !scan.lines[0].text.contains("MIIE"),
            "{}",
            scan.lines[0].text
        );
    }

    #[test]
    fn gzip_rotated_file_is_scanned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = "[2026-11-29 03:00:01] [INFO] 开始更新系统证书\n[2026-11-29 03:00:05] [INFO] 更新系统证书成功\n";
        let path = write_file(
            dir.path(),
            "1Panel-2026-11-29.log.gz",
            &gzip(log.as_bytes()),
        );

        let scan = scan_log(&path, 1024 * 1024, 10).expect("scan");

        assert_eq!(scan.lines.len(), 2);
        assert!(scan.lines.iter().all(|line| line.kind == LineKind::Renewal));
        assert_eq!(
            scan.lines[1].timestamp.as_deref(),
            Some("2026-11-29 03:00:05")
        );
        assert_eq!(scan.bytes_read, log.len() as u64);
        assert!(!scan.truncated);
    }

    #[test]
    fn gzip_tail_keeps_last_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = b"panic: early crash that lies before the tail\n".to_vec();
        log.extend(noise_block(4 * 1024 * 1024));
        log.extend(b"2026/11/30 03:00:02 [emerg] 1#1: cannot load certificate \"/www/sites/a/ssl/fullchain.pem\": BIO_new_file() failed\n");
        let path = write_file(dir.path(), "error.log.1.gz", &gzip(&log));

        let scan = scan_log(&path, 64 * 1024, 10).expect("scan");

        assert!(scan.truncated);
        assert!(scan.bytes_read <= 64 * 1024);
        assert_eq!(scan.lines.len(), 1);
        assert_eq!(scan.lines[0].kind, LineKind::Certificate);
    }

    #[test]
    fn corrupt_gzip_is_gzip_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let not_gzip = write_file(
            dir.path(),
            "1Panel-2026-11-28.log.gz",
            b"plain text, not gzip\n",
        );
        let mut cut = gzip(&noise_block(100_000));
        cut.truncate(cut.len() / 2);
        let truncated = write_file(dir.path(), "1Panel-2026-11-27.log.gz", &cut);
        let mut flipped = gzip(&noise_block(100_000));
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xFF;
        let corrupted = write_file(dir.path(), "1Panel-2026-11-26.log.gz", &flipped);

        let not_gzip_result = scan_log(&not_gzip, 1024, 10);
        let truncated_result = scan_log(&truncated, 1024, 10);
        let corrupted_result = scan_log(&corrupted, 1024, 10);

        assert!(
            matches!(not_gzip_result, Err(LogError::Gzip { .. })),
            "{not_gzip_result:?}"
        );
        assert!(
            matches!(truncated_result, Err(LogError::Gzip { .. })),
            "{truncated_result:?}"
        );
        assert!(
            matches!(corrupted_result, Err(LogError::Gzip { .. })),
            "{corrupted_result:?}"
        );
    }

    #[test]
    fn empty_gzip_file_is_empty_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_file(dir.path(), "1Panel-2026-11-26.log.gz", b"");

        let scan = scan_log(&path, 1024, 10).expect("scan");

        assert!(scan.lines.is_empty());
        assert_eq!(scan.bytes_read, 0);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = b"2026/11/30 03:00:02 x509: certificate has expired \xff\xfe for ".to_vec();
        log.extend(b"\x1b[31mred\n");
        let path = write_file(dir.path(), "bad.log", &log);

        let scan = scan_log(&path, 1024, 10).expect("scan");

        assert_eq!(scan.lines.len(), 1);
        let text = &scan.lines[0].text;
        assert_eq!(scan.lines[0].kind, LineKind::Certificate);
        assert!(text.contains('\u{FFFD}'), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn long_line_text_is_shortened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = format!("x509: certificate has expired {}\n", "é".repeat(1000));
        let path = write_file(dir.path(), "long.log", log.as_bytes());

        let scan = scan_log(&path, 1024 * 1024, 10).expect("scan");

        let text = &scan.lines[0].text;
        assert_eq!(text.chars().count(), MAX_TEXT_CHARS);
        assert!(text.ends_with('…'));
    }

    #[test]
    fn missing_file_is_missing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope.log");

        let result = scan_log(&path, 1024, 10);

        assert!(
            matches!(&result, Err(LogError::Missing { path: reported }) if reported == &path),
            "{result:?}"
        );
    }

    #[test]
    fn directory_is_unreadable() {
        let dir = tempfile::tempdir().expect("tempdir");

        let result = scan_log(dir.path(), 1024, 10);

        match result {
            Err(LogError::Unreadable { path, source }) => {
                assert_eq!(path, dir.path());
                assert_eq!(source.kind(), io::ErrorKind::IsADirectory);
            }
            other => panic!("expected Unreadable, got {other:?}"),
        }
    }

    #[test]
    fn fifo_is_unreadable_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pipe.log");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(status.success());

        let result = scan_log(&path, 1024, 10);

        assert!(
            matches!(result, Err(LogError::Unreadable { .. })),
            "{result:?}"
        );
    }
}
