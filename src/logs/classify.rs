//! Line classification and timestamp parsing for 1Panel (Go) and nginx logs.

use time::macros::format_description;
use time::PrimitiveDateTime;

use super::LineKind;

/// Level tags of fatal log lines (logrus and similar loggers).
const PANIC_TAGS: &[&str] = &["[panic]", "[fatal]", "level=panic", "level=fatal"];

/// Phrases of a failed TLS handshake: Go `net/http` and nginx.
const HANDSHAKE_PHRASES: &[&str] = &[
    "tls handshake error",
    "ssl_do_handshake() failed",
    "handshake failure",
    "ssl handshake",
    "ssl handshaking",
    "tls: handshake",
];

/// Phrases of 1Panel's certificate renewal job (English and Chinese builds) and of ACME
/// clients that report progress or success.
const RENEWAL_PHRASES: &[&str] = &[
    "certificate update task",
    "update the ssl certificate",
    "has been successfully updated",
    "renewing certificate",
    "certificate renewed",
    "renewal",
    "开始更新系统证书",
    "更新系统证书成功",
    // The per-certificate log (`log/ssl/<domain>-ssl-<id>.log`) of 1Panel v1.10 in English,
    // and the lines of lego, the ACME client that writes there too.
    "applying for certificate",
    "certificate successful",
    "certificate failed",
    "acme: obtaining bundled san certificate",
    "server responded with a certificate",
];

/// Words in renewal lines that report a failure.
const FAILURE_WORDS: &[&str] = &["fail", "error", "失败", "错误"];

/// Chinese words for renewing, updating or requesting a certificate.
const RENEWAL_WORDS_ZH: &[&str] = &["更新", "续签", "申请", "成功"];

/// Phrases of a certificate or key that cannot be loaded, matched or validated: Go
/// `crypto/tls` and `crypto/x509`, nginx and OpenSSL.
const CERTIFICATE_PHRASES: &[&str] = &[
    "cannot load certificate",
    "private key does not match public key",
    "key values mismatch",
    "x509:",
    "certificate has expired",
    "certificate is not yet valid",
    "pem_read_bio",
    "ssl_ctx_use_privatekey",
    "ssl_ctx_use_certificate",
    "failed to find any pem data",
    "failed to find certificate pem data",
    "loadx509keypair",
];

/// Phrases of a server reporting its listening address.
const LISTEN_PHRASES: &[&str] = &["listen at ", "listening on ", "listening at "];

/// Error and higher level markers (logrus text, bracketed tags, nginx levels).
const ERROR_LEVEL_MARKERS: &[&str] = &[
    "[error]",
    "[err]",
    "[crit]",
    "[alert]",
    "[emerg]",
    "level=error",
    "\terror\t",
    " error ",
    "error:",
];

/// Words that tie an error line to TLS or certificates.
const TLS_WORDS: &[&str] = &[
    "certificate",
    "cert ",
    ".crt",
    ".pem",
    "x509",
    "ssl",
    "tls",
    "证书",
];

/// Classifies one log line, or returns `None` for a line that does not matter for
/// certificate diagnosis.
///
/// The first matching rule wins, in this order: panic, TLS handshake, failed renewal
/// (as [`LineKind::Error`]), renewal, certificate, listen, other errors.
pub fn classify(line: &str) -> Option<LineKind> {
    let lower = line.to_lowercase();
    let lower = lower.as_str();

    if is_panic(lower) {
        Some(LineKind::Panic)
    } else if contains_any(lower, HANDSHAKE_PHRASES) {
        Some(LineKind::TlsHandshake)
    } else if is_renewal(lower) && contains_any(lower, FAILURE_WORDS) {
        Some(LineKind::Error)
    } else if is_renewal(lower) {
        Some(LineKind::Renewal)
    } else if contains_any(lower, CERTIFICATE_PHRASES) {
        Some(LineKind::Certificate)
    } else if contains_any(lower, LISTEN_PHRASES) {
        Some(LineKind::Listen)
    } else if is_relevant_error(lower) {
        Some(LineKind::Error)
    } else {
        None
    }
}

fn is_panic(lower: &str) -> bool {
    let message = strip_timestamp(lower.trim_start());
    message.starts_with("panic:")
        || message.starts_with("fatal error:")
        || lower.contains(" panic: ")
        || contains_any(lower, PANIC_TAGS)
}

fn is_renewal(lower: &str) -> bool {
    let chinese_certificate_job = lower.contains("证书") && contains_any(lower, RENEWAL_WORDS_ZH);
    let chinese_certificate_failure =
        lower.contains("证书") && contains_any(lower, &["失败", "错误"]);

    contains_any(lower, RENEWAL_PHRASES) || chinese_certificate_job || chinese_certificate_failure
}

/// Returns whether `lower` is an error-level line about TLS or certificates, or an nginx
/// `[emerg]` line, which means nginx refused its configuration and keeps the old one.
fn is_relevant_error(lower: &str) -> bool {
    lower.contains("[emerg]")
        || (contains_any(lower, ERROR_LEVEL_MARKERS) && contains_any(lower, TLS_WORDS))
}

fn contains_any(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|needle| haystack.contains(needle))
}

/// Returns `line` without a leading timestamp and its separator, if it has one.
fn strip_timestamp(line: &str) -> &str {
    match timestamp_prefix(line) {
        Some((_, rest)) => rest.trim_start(),
        None => line,
    }
}

/// Parses the timestamp at the start of `line` and returns it as `YYYY-MM-DD HH:MM:SS`.
///
/// Accepted prefixes are `[YYYY-MM-DD HH:MM:SS]` (1Panel), `YYYY/MM/DD HH:MM:SS` (Go
/// `log` and nginx) and `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` (ISO 8601),
/// each optionally followed by fractional seconds.
pub(super) fn parse_timestamp(line: &str) -> Option<String> {
    timestamp_prefix(line.trim_start()).map(|(timestamp, _)| timestamp)
}

/// Splits a leading timestamp off `line` and returns it normalised, with the rest.
fn timestamp_prefix(line: &str) -> Option<(String, &str)> {
    let (candidate, bracketed) = match line.strip_prefix('[') {
        Some(inner) => (inner, true),
        None => (line, false),
    };

    let stamp = candidate.get(..19)?;
    let normalised = normalise_timestamp(stamp)?;
    let mut rest = skip_fraction(&candidate[19..]);
    if bracketed {
        rest = rest.strip_prefix(']')?;
    }

    Some((normalised, rest))
}

/// Returns `stamp` (exactly 19 bytes) as `YYYY-MM-DD HH:MM:SS` if it is a valid date
/// and time in one of the accepted shapes.
fn normalise_timestamp(stamp: &str) -> Option<String> {
    let bytes = stamp.as_bytes();
    let date_separator = bytes[4];
    let shape_ok = matches!(date_separator, b'-' | b'/')
        && bytes[7] == date_separator
        && matches!(bytes[10], b' ' | b'T')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !shape_ok {
        return None;
    }

    let normalised = format!(
        "{}-{}-{} {}",
        &stamp[0..4],
        &stamp[5..7],
        &stamp[8..10],
        &stamp[11..19]
    );
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&normalised, &format).ok()?;

    Some(normalised)
}

fn skip_fraction(rest: &str) -> &str {
    match rest.strip_prefix(['.', ',']) {
        Some(fraction) => fraction.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_recognises_known_shapes() {
        let cases: &[(&str, LineKind)] = &[
            ("[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:10086", LineKind::Listen),
            (
                "2026/11/30 03:00:02 http: TLS handshake error from 1.2.3.4:5555: remote error: tls: bad certificate",
                LineKind::TlsHandshake,
            ),
            ("panic: open /opt/1panel/secret/server.crt: no such file or directory", LineKind::Panic),
            ("[2026-11-30 03:00:02] panic: runtime error: invalid memory address", LineKind::Panic),
            ("fatal error: concurrent map writes", LineKind::Panic),
            ("tls: private key does not match public key", LineKind::Certificate),
            (
                "[2026-11-30 03:00:00] [INFO] The scheduled certificate update task is currently in progress",
                LineKind::Renewal,
            ),
            (
                "[2026-11-30 03:00:00] [INFO] Update the SSL certificate for the [panel.example.com] domain",
                LineKind::Renewal,
            ),
            (
                "[2026-11-30 03:00:09] [INFO] The SSL certificate for 1Panel has been successfully updated",
                LineKind::Renewal,
            ),
            (
                "[2026-11-30 03:00:09] [ERROR] Failed to update the SSL certificate File for 1Panel System domain",
                LineKind::Error,
            ),
            ("[2026-11-30 03:00:00] [INFO] 开始更新系统证书", LineKind::Renewal),
            ("[2026-11-30 03:00:05] [INFO] 更新系统证书成功", LineKind::Renewal),
            ("[2026-11-30 03:00:05] [ERROR] 系统证书更新失败: timeout", LineKind::Error),
            ("[2026-11-30 03:00:05] [ERROR] 读取证书错误", LineKind::Error),
            (
                "2026/11/30 03:00:02 [emerg] 1#1: cannot load certificate \"/www/sites/a/ssl/fullchain.pem\": BIO_new_file() failed",
                LineKind::Certificate,
            ),
            (
                "2026/11/30 03:00:02 [crit] 31#31: *7 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) while SSL handshaking",
                LineKind::TlsHandshake,
            ),
            (
                "2026/11/30 03:00:02 [emerg] 1#1: SSL_CTX_use_PrivateKey(\"/www/sites/a/ssl/privkey.pem\") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)",
                LineKind::Certificate,
            ),
            (
                "[2026-11-30 03:00:02] [ERROR] request failed: x509: certificate has expired or is not yet valid",
                LineKind::Certificate,
            ),
            ("[2026-11-30 03:00:02] [ERROR] reload ssl config failed", LineKind::Error),
            (
                "2026/11/30 03:00:02 [emerg] 1#1: unknown directive \"ssl_certificat\" in /etc/nginx/conf.d/a.conf:12",
                LineKind::Error,
            ),
        ];

        for (line, expected) in cases {
            assert_eq!(classify(line), Some(*expected), "line: {line}");
        }
    }

    #[test]
    fn classify_recognises_certificate_log_lines() {
        let cases: &[(&str, LineKind)] = &[
            (
                "2026/11/30 02:00:00 Start applying for certificate, domain name [panel.example.com] application method [DNS account]",
                LineKind::Renewal,
            ),
            ("2026/11/30 02:00:20 Application for [panel.example.com] certificate successful! !", LineKind::Renewal),
            ("2026/11/30 02:00:20 Application for [panel.example.com] certificate failed, timeout", LineKind::Error),
            ("2026/11/30 02:00:00 开始申请证书,域名 [panel.example.com] 申请方式 [DNS 账号]", LineKind::Renewal),
            ("2026/11/30 02:00:20 申请 [panel.example.com] 证书成功！！", LineKind::Renewal),
            ("2026/11/30 02:00:20 申请  [panel.example.com] 证书失败, timeout", LineKind::Error),
            ("2026/11/30 02:00:05 [INFO] [panel.example.com] acme: Obtaining bundled SAN certificate", LineKind::Renewal),
            ("2026/11/30 02:00:19 [INFO] [panel.example.com] Server responded with a certificate.", LineKind::Renewal),
        ];

        for (line, expected) in cases {
            assert_eq!(classify(line), Some(*expected), "line: {line}");
        }
    }

    #[test]
    fn classify_ignores_unrelated_lines() {
        let lines = [
            "[2026-11-30 03:00:00] [INFO] [websocket] client connected",
            "[2026-11-30 03:00:00] [ERROR] database is locked",
            "2026/11/30 03:00:02 [notice] 1#1: signal process started",
            "",
        ];

        for line in lines {
            assert_eq!(classify(line), None, "line: {line}");
        }
    }

    #[test]
    fn classify_is_case_insensitive() {
        assert_eq!(
            classify("2026/11/30 03:00:02 HTTP: TLS HANDSHAKE ERROR from 1.2.3.4:5555: EOF"),
            Some(LineKind::TlsHandshake)
        );
        assert_eq!(classify("PANIC: boom"), Some(LineKind::Panic));
    }

    #[test]
    fn timestamp_accepts_known_prefixes() {
        let cases = [
            ("[2026-11-30 03:00:01] [INFO] x", "2026-11-30 03:00:01"),
            ("2026/11/30 03:00:02 [emerg] 1#1: x", "2026-11-30 03:00:02"),
            ("2026-11-30T03:00:03.123+08:00 x", "2026-11-30 03:00:03"),
            ("[2026-11-30 03:00:04.567] x", "2026-11-30 03:00:04"),
            ("   2026-11-30 03:00:05 x", "2026-11-30 03:00:05"),
        ];

        for (line, expected) in cases {
            assert_eq!(
                parse_timestamp(line).as_deref(),
                Some(expected),
                "line: {line}"
            );
        }
    }

    #[test]
    fn timestamp_rejects_invalid_prefixes() {
        let lines = [
            "panic: boom",
            "[2026-13-30 03:00:01] month 13",
            "2026/11/31 03:00:01 november 31",
            "2026-11-30 25:00:01 hour 25",
            "[2026-11-30 03:00:01 missing bracket",
            "2026.11.30 03:00:01 dots",
            "证书证书证书证书证书证书证书",
            "short",
        ];

        for line in lines {
            assert_eq!(parse_timestamp(line), None, "line: {line}");
        }
    }
}
