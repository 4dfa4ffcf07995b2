//! Records the first bytes a peer sends, to tell a peer that does not speak TLS from a TLS
//! handshake that failed.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ProbeError;

/// Number of received bytes kept, enough to show an HTTP status line in an error.
const RECORDED_LEN: usize = 64;

/// TLS record content types (RFC 8446 section 5.1 and RFC 6520): change_cipher_spec, alert,
/// handshake, application_data, heartbeat.
const TLS_CONTENT_TYPES: std::ops::RangeInclusive<u8> = 20..=24;

/// Major version byte of every TLS record header (SSL 3.0 through TLS 1.3).
const TLS_MAJOR_VERSION: u8 = 3;

/// Stream wrapper that keeps a copy of the first [`RECORDED_LEN`] bytes read.
#[derive(Debug)]
pub(super) struct RecordingStream<S> {
    inner: S,
    received: Vec<u8>,
}

impl<S> RecordingStream<S> {
    pub(super) fn new(inner: S) -> Self {
        Self {
            inner,
            received: Vec::with_capacity(RECORDED_LEN),
        }
    }

    /// Returns the first bytes received so far, at most [`RECORDED_LEN`].
    pub(super) fn received(&self) -> &[u8] {
        &self.received
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RecordingStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let filled_before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);

        if let Poll::Ready(Ok(())) = result {
            let room = RECORDED_LEN - self.received.len();
            let new_bytes = &buf.filled()[filled_before..];
            let copied = &new_bytes[..new_bytes.len().min(room)];
            self.received.extend_from_slice(copied);
        }

        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RecordingStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Classifies a failed handshake from its error and what the peer sent.
///
/// The peer is not speaking TLS when it closed or reset the connection before sending any byte,
/// or when its first bytes are not a TLS record header. Every other failure is a handshake
/// failure. Deciding on the bytes, not on the rustls error kind, keeps a malformed message from
/// a real TLS server out of [`ProbeError::NotTls`].
pub(super) fn classify_failure<S>(
    address: SocketAddr,
    error: &io::Error,
    stream: &RecordingStream<S>,
) -> ProbeError {
    let received = stream.received();
    let address = address.to_string();

    if received.is_empty() && is_closed(error) {
        return ProbeError::NotTls {
            address,
            detail: format!("connection closed before any TLS record ({error})"),
        };
    }

    if !received.is_empty() && !starts_with_tls_record(received) {
        return ProbeError::NotTls {
            address,
            detail: format!("peer sent \"{}\"", received.escape_ascii()),
        };
    }

    ProbeError::Handshake {
        address,
        detail: error.to_string(),
    }
}

/// Returns whether `error` means the peer closed or reset the connection.
fn is_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Returns whether `bytes` begin like a TLS record header: a known content type followed by
/// major version 3.
fn starts_with_tls_record(bytes: &[u8]) -> bool {
    let content_type_ok = bytes
        .first()
        .is_some_and(|byte| TLS_CONTENT_TYPES.contains(byte));
    let version_ok = bytes.get(1).is_none_or(|&byte| byte == TLS_MAJOR_VERSION);

    content_type_ok && version_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_record_header_detected() {
        let handshake_record = [22, 3, 3, 0, 42];

        assert!(starts_with_tls_record(&handshake_record));
        assert!(starts_with_tls_record(&[21]));
    }

    #[test]
    fn http_response_not_tls_record() {
        assert!(!starts_with_tls_record(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!starts_with_tls_record(&[22, 1]));
    }
}
