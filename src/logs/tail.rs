//! Reading the last bytes of a plain or gzip-compressed log.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Size of one read from the gzip decoder.
const CHUNK_SIZE: usize = 64 * 1024;

/// Maximum buffer size reserved up front for a plain-file tail.
const MAX_CAPACITY_HINT: usize = 16 * 1024 * 1024;

/// Last bytes of a log, starting at a line boundary unless the tail contains no complete line.
#[derive(Debug, Default)]
pub(super) struct Tail {
    /// Log bytes from the first complete line of the tail to the end, or the end of the one
    /// line the tail cuts into.
    pub bytes: Vec<u8>,
    /// Bytes read from disk (plain file) or kept from the decompressed output (gzip).
    pub bytes_read: u64,
    /// Whether bytes before the tail, or after the decompression limit, were skipped.
    pub truncated: bool,
    /// Whether `bytes` start inside a line whose start lies before the tail.
    pub starts_mid_line: bool,
}

/// Reads the last `max_bytes` of `file` and drops the partial line the tail starts in,
/// unless that line is the only one.
pub(super) fn read_plain_tail(file: &mut File, file_size: u64, max_bytes: u64) -> io::Result<Tail> {
    let start = file_size.saturating_sub(max_bytes);
    let starts_at_line = start == 0 || byte_at(file, start - 1)? == Some(b'\n');

    file.seek(SeekFrom::Start(start))?;
    // The size is only a hint, capped so a huge `max_bytes` cannot force one huge allocation.
    let capacity = usize::try_from(file_size - start).map_or(0, |size| size.min(MAX_CAPACITY_HINT));
    let mut bytes = Vec::with_capacity(capacity);
    // `take` keeps the read bounded even if the file grows while it is read.
    file.take(max_bytes).read_to_end(&mut bytes)?;

    let bytes_read = bytes.len() as u64;
    let starts_mid_line = !starts_at_line && drop_partial_first_line(&mut bytes);

    Ok(Tail {
        bytes,
        bytes_read,
        truncated: start > 0,
        starts_mid_line,
    })
}

fn byte_at(file: &mut File, offset: u64) -> io::Result<Option<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut byte = [0u8; 1];
    let count = file.read(&mut byte)?;
    Ok((count == 1).then_some(byte[0]))
}

/// Drops the partial line at the start of `bytes` and returns whether `bytes` still start
/// mid-line.
///
/// A partial line that is the only line (no newline, or only a final one) is kept, because
/// in a log of one huge line it is all there is to read.
fn drop_partial_first_line(bytes: &mut Vec<u8>) -> bool {
    let last_index = bytes.len().saturating_sub(1);
    match bytes.iter().position(|&byte| byte == b'\n') {
        Some(newline) if newline < last_index => {
            bytes.drain(..=newline);
            false
        }
        _ => !bytes.is_empty(),
    }
}

/// Decompresses gzip data from `reader` as a stream and keeps only the last `max_bytes`
/// of output, stopping once `max_decompressed` bytes of output have been processed.
///
/// Concatenated gzip members are read as one stream, as `gzip -d` does.
pub(super) fn read_gzip_tail<R: io::BufRead>(
    reader: R,
    max_bytes: u64,
    max_decompressed: u64,
) -> io::Result<Tail> {
    let mut decoder = flate2::bufread::MultiGzDecoder::new(reader);
    let mut ring = RingTail::new(max_bytes);
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut total: u64 = 0;
    let mut hit_limit = false;

    loop {
        let remaining = max_decompressed - total;
        if remaining == 0 {
            hit_limit = true;
            break;
        }

        let want = usize::try_from(remaining).map_or(CHUNK_SIZE, |r| r.min(CHUNK_SIZE));
        let count = match decoder.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };

        total += count as u64;
        ring.push(&chunk[..count]);
    }

    // Whether output continues past the limit is unknown, so reaching the limit
    // counts as truncated.
    let truncated = hit_limit || ring.dropped_any();
    let starts_at_line = ring.starts_at_line();
    let mut bytes: Vec<u8> = ring.bytes.into();
    let bytes_read = bytes.len() as u64;
    let starts_mid_line = !starts_at_line && drop_partial_first_line(&mut bytes);

    Ok(Tail {
        bytes,
        bytes_read,
        truncated,
        starts_mid_line,
    })
}

/// Returns whether `error` from the gzip decoder means bad compressed data rather than
/// a failed read of the file.
///
/// flate2 1.1 reports a bad header, a corrupt deflate stream and a checksum mismatch as
/// `InvalidInput`, and data that ends mid-stream as `UnexpectedEof`. `InvalidData` is
/// accepted as well because it can only come from the decoder, not from reading a file.
pub(super) fn is_gzip_format_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof
    )
}

/// Bounded buffer that keeps the last `capacity` bytes pushed into it.
struct RingTail {
    bytes: VecDeque<u8>,
    capacity: usize,
    /// Last byte dropped from the front. The kept bytes start a line when it is `\n`.
    last_dropped: Option<u8>,
}

impl RingTail {
    fn new(max_bytes: u64) -> Self {
        let capacity = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        Self {
            bytes: VecDeque::with_capacity(capacity.min(MAX_CAPACITY_HINT)),
            capacity,
            last_dropped: None,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        if chunk.len() >= self.capacity {
            // The whole ring and the front of the chunk fall out of the window.
            let keep_from = chunk.len() - self.capacity;
            let dropped = if keep_from > 0 {
                Some(chunk[keep_from - 1])
            } else {
                self.bytes.back().copied()
            };
            self.last_dropped = dropped.or(self.last_dropped);
            self.bytes.clear();
            self.bytes.extend(&chunk[keep_from..]);
            return;
        }

        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.capacity);
        if overflow > 0 {
            self.last_dropped = self.bytes.get(overflow - 1).copied();
            self.bytes.drain(..overflow);
        }
        self.bytes.extend(chunk);
    }

    fn dropped_any(&self) -> bool {
        self.last_dropped.is_some()
    }

    fn starts_at_line(&self) -> bool {
        matches!(self.last_dropped, None | Some(b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("finish gzip")
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        // 64 MiB of zeros compress to about 64 KiB.
        let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
        let limit = 4 * 1024 * 1024;

        let tail = read_gzip_tail(bomb.as_slice(), 1024, limit).expect("read bomb");

        assert!(tail.truncated);
        assert!(tail.bytes_read <= 1024);
    }

    #[test]
    fn gzip_exactly_at_limit_is_truncated() {
        let data = b"line one\nline two\n";
        let compressed = gzip(data);

        let tail =
            read_gzip_tail(compressed.as_slice(), 1024, data.len() as u64).expect("read gzip");

        assert!(tail.truncated);
        assert_eq!(tail.bytes, data);
    }

    #[test]
    fn gzip_concatenated_members_are_read() {
        let mut both = gzip(b"first member\n");
        both.extend(gzip(b"second member\n"));

        let tail = read_gzip_tail(both.as_slice(), 1024, 1 << 20).expect("read gzip");

        assert_eq!(tail.bytes, b"first member\nsecond member\n");
        assert!(!tail.truncated);
    }

    #[test]
    fn partial_first_line_is_dropped_before_complete_lines() {
        let mut bytes = b"tial line\nnext line\n".to_vec();

        let starts_mid_line = drop_partial_first_line(&mut bytes);

        assert!(!starts_mid_line);
        assert_eq!(bytes, b"next line\n");
    }

    #[test]
    fn partial_only_line_is_kept() {
        let cases: [&[u8]; 2] = [
            b"tial line without newline",
            b"tial line with final newline\n",
        ];

        for case in cases {
            let mut bytes = case.to_vec();

            let starts_mid_line = drop_partial_first_line(&mut bytes);

            assert!(starts_mid_line, "{}", String::from_utf8_lossy(case));
            assert_eq!(bytes, case);
        }
    }

    #[test]
    fn partial_empty_tail_is_not_mid_line() {
        let mut bytes = Vec::new();

        assert!(!drop_partial_first_line(&mut bytes));
        assert!(bytes.is_empty());
    }

    #[test]
    fn gzip_single_long_line_is_kept() {
        let mut line = vec![b'x'; 100_000];
        line.extend(b" http: TLS handshake error from 1.2.3.4:5555: EOF\n");
        let compressed = gzip(&line);

        let tail = read_gzip_tail(compressed.as_slice(), 1024, 1 << 20).expect("read gzip");

        assert!(tail.truncated);
        assert!(tail.starts_mid_line);
        assert_eq!(tail.bytes.len(), 1024);
        assert!(tail.bytes.ends_with(b"EOF\n"));
    }

    #[test]
    fn ring_tail_tracks_line_start() {
        let mut inside_line = RingTail::new(8);
        inside_line.push(b"abc\ndef");
        inside_line.push(b"ghij");
        let mut at_line_start = RingTail::new(4);
        at_line_start.push(b"abc\n");
        at_line_start.push(b"defg");
        let mut big_chunk = RingTail::new(3);
        big_chunk.push(b"ab\ncde");

        assert_eq!(Vec::from(inside_line.bytes.clone()), b"\ndefghij");
        assert!(inside_line.dropped_any());
        assert!(!inside_line.starts_at_line());
        assert!(at_line_start.starts_at_line());
        assert_eq!(Vec::from(at_line_start.bytes.clone()), b"defg");
        assert!(big_chunk.starts_at_line());
        assert_eq!(Vec::from(big_chunk.bytes.clone()), b"cde");
    }
}
