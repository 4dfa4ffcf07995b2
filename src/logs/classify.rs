//! Line classification and timestamp parsing for 1Panel (Go) and nginx logs.

use time::macros::format_description;
use time::PrimitiveDateTime;

use super::LineKind;

/// Level tags of fatal log lines (logrus and similar loggers).
const PANIC_TAGS: &[&str] = &["[panic]", "[fatal]", "level=panic", "level=fatal"];

/// Phrases of a server that cannot start because it cannot bind its port: Go `net`
/// (`listen tcp :8443: bind: address already in use`) and nginx (`bind() to 0.0.0.0:443
/// failed (98: Address already in use)`).
const STARTUP_FAILURE_PHRASES: &[&str] = &[
    "address already in use",
    "bind: permission denied",
    "bind: cannot assign requested address",
    "bind() to ",
    "still could not bind()",
];

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
    // Matches renew, renewal, renewed and renewing.
    "renew",
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

/// Words that name a certificate in a renewal or success line.
const CERTIFICATE_WORDS: &[&str] = &["certificate", "cert ", "证书"];

/// Words of a line that reports success.
const SUCCESS_WORDS: &[&str] = &["success", "succeeded", "成功"];

/// Words in renewal lines that report a failure whatever else the line reports.
const FAILURE_WORDS: &[&str] = &["fail", "失败"];

/// Words in renewal lines that report a failure unless the line also reports success, as in
/// `certificate renewed successfully, 0 errors`.
const ERROR_WORDS: &[&str] = &["error", "错误"];

/// Chinese words for renewing, updating or requesting a certificate.
const RENEWAL_WORDS_ZH: &[&str] = &["更新", "续签", "申请", "成功"];

/// Phrases of a certificate or key that cannot be loaded, matched or validated: Go
/// `crypto/tls` and `crypto/x509`, nginx and OpenSSL.
const CERTIFICATE_PHRASES: &[&str] = &[
    // nginx: `cannot load certificate "..."` and `cannot load certificate key "..."`.
    "cannot load certificate",
    "private key does not match public key",
    "key values mismatch",
    "x509:",
    "certificate has expired",
    "certificate is not yet valid",
    "pem_read_bio",
    "ssl_ctx_use_privatekey",
    "ssl_ctx_use_certificate",
    "ssl_ctx_set0_chain",
    "no \"ssl_certificate\" is defined",
    "failed to find any pem data",
    "failed to find certificate pem data",
    "loadx509keypair",
    // Go `crypto/tls` errors while loading a pair, such as `tls: failed to parse private key`
    // and `tls: found a certificate rather than a key in the PEM for the private key`.
    "tls: failed to",
    "tls: found a certificate rather than a key",
    "tls: private key",
    "tls: unknown public key algorithm",
    "tls: no certificates configured",
    "failed to load certificate",
    "failed to load key",
    "failed to load private key",
    "unable to load certificate",
    "unable to load private key",
    "could not load certificate",
    "could not read private key",
];

/// Errors that Go's `os` package and nginx report for a file they cannot open.
const FILE_ERROR_PHRASES: &[&str] = &[
    "no such file or directory",
    "permission denied",
    "is a directory",
];

/// Parts of the paths of certificate and key files.
const CERTIFICATE_FILE_WORDS: &[&str] = &[
    ".crt",
    ".pem",
    ".key",
    ".cer",
    "cert",
    "privkey",
    "fullchain",
    "/ssl/",
    "secret/server",
];

/// Phrases of a server reporting its listening address.
const LISTEN_PHRASES: &[&str] = &["listen at ", "listening on ", "listening at "];

/// Error and higher level tags (bracketed tags, nginx levels, logrus text).
const ERROR_LEVEL_TAGS: &[&str] = &[
    "[error]",
    "[err]",
    "[crit]",
    "[alert]",
    "[emerg]",
    "level=error",
];

/// Looser signs of an error-level line (zap's tab-separated level, Go error messages).
const ERROR_WORD_MARKERS: &[&str] = &["\terror\t", " error ", "error:"];

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

/// Keys that put an RFC 3339 timestamp first on a logfmt line, as logrus's text formatter
/// does (`time="2026-12-04T20:01:09Z" level=info msg="..."`).
const LOGFMT_TIME_KEYS: &[&str] = &["time=", "ts="];

/// Classifies one log line, or returns `None` for a line that does not matter for
/// certificate diagnosis.
///
/// The first matching rule wins, in this order: panic or start-up failure, TLS handshake,
/// failed renewal (as [`LineKind::Error`]), renewal or certificate success, certificate,
/// listen, other errors.
pub fn classify(line: &str) -> Option<LineKind> {
    let lower = line.to_lowercase();
    let lower = lower.as_str();

    if is_panic(lower) || contains_any(lower, STARTUP_FAILURE_PHRASES) {
        Some(LineKind::Panic)
    } else if contains_any(lower, HANDSHAKE_PHRASES) {
        Some(LineKind::TlsHandshake)
    } else if is_renewal(lower) && reports_failure(lower) {
        Some(LineKind::Error)
    } else if is_renewal(lower) {
        Some(LineKind::Renewal)
    } else if is_certificate_problem(lower) {
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

/// Returns whether `lower` is about renewing a certificate, or reports that something
/// about a certificate succeeded.
fn is_renewal(lower: &str) -> bool {
    let chinese_certificate_job = lower.contains("证书") && contains_any(lower, RENEWAL_WORDS_ZH);
    let chinese_certificate_failure =
        lower.contains("证书") && contains_any(lower, &["失败", "错误"]);
    let certificate_success =
        contains_any(lower, CERTIFICATE_WORDS) && contains_any(lower, SUCCESS_WORDS);

    contains_any(lower, RENEWAL_PHRASES)
        || chinese_certificate_job
        || chinese_certificate_failure
        || certificate_success
}

/// Returns whether a renewal line reports a failure: a failure word, an error level, or an
/// error word on a line that does not also report success.
fn reports_failure(lower: &str) -> bool {
    contains_any(lower, FAILURE_WORDS)
        || contains_any(lower, ERROR_LEVEL_TAGS)
        || (contains_any(lower, ERROR_WORDS) && !contains_any(lower, SUCCESS_WORDS))
}

/// Returns whether `lower` reports a certificate or key that cannot be loaded, matched or
/// validated, including a certificate or key file that cannot be opened.
fn is_certificate_problem(lower: &str) -> bool {
    let unopenable_file =
        contains_any(lower, FILE_ERROR_PHRASES) && contains_any(lower, CERTIFICATE_FILE_WORDS);

    contains_any(lower, CERTIFICATE_PHRASES) || unopenable_file
}

/// Returns whether `lower` is an error-level line about TLS or certificates, or an nginx
/// `[emerg]` line, which means nginx refused its configuration and keeps the old one.
fn is_relevant_error(lower: &str) -> bool {
    let error_level =
        contains_any(lower, ERROR_LEVEL_TAGS) || contains_any(lower, ERROR_WORD_MARKERS);

    lower.contains("[emerg]") || (error_level && contains_any(lower, TLS_WORDS))
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
/// `log` and nginx), `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS` (ISO 8601), and
/// `time="..."` or `ts=...` (logrus and other logfmt loggers). Each may carry fractional
/// seconds and a zone (`Z`, `+08:00`, `+0800`). The time is kept as the log writes it:
/// the zone is skipped, not applied.
pub(super) fn parse_timestamp(line: &str) -> Option<String> {
    timestamp_prefix(line.trim_start()).map(|(timestamp, _)| timestamp)
}

/// Splits a leading timestamp off `line` and returns it normalised, with the rest.
fn timestamp_prefix(line: &str) -> Option<(String, &str)> {
    if let Some(value) = strip_logfmt_time_key(line) {
        return logfmt_timestamp(value);
    }

    let (candidate, bracketed) = match line.strip_prefix('[') {
        Some(inner) => (inner, true),
        None => (line, false),
    };

    let (normalised, mut rest) = split_timestamp(candidate)?;
    if bracketed {
        rest = rest.strip_prefix(']')?;
    }

    Some((normalised, rest))
}

/// Returns the value after a logfmt time key at the start of `line`, if there is one.
fn strip_logfmt_time_key(line: &str) -> Option<&str> {
    LOGFMT_TIME_KEYS.iter().find_map(|key| {
        let prefix = line.get(..key.len())?;
        prefix.eq_ignore_ascii_case(key).then(|| &line[key.len()..])
    })
}

/// Parses a logfmt time value, quoted or bare, and returns it normalised, with the rest.
fn logfmt_timestamp(value: &str) -> Option<(String, &str)> {
    match value.strip_prefix('"') {
        Some(quoted) => {
            let (normalised, rest) = split_timestamp(quoted)?;
            Some((normalised, rest.strip_prefix('"')?))
        }
        None => split_timestamp(value),
    }
}

/// Splits a timestamp with optional fractional seconds and zone off the start of
/// `candidate`, and returns it normalised, with the rest.
fn split_timestamp(candidate: &str) -> Option<(String, &str)> {
    let stamp = candidate.get(..19)?;
    let normalised = normalise_timestamp(stamp)?;
    let rest = skip_zone(skip_fraction(&candidate[19..]));

    Some((normalised, rest))
}

/// Returns `stamp` (exactly 19 bytes) as `YYYY-MM-DD HH:MM:SS` if it is a valid date
/// and time in one of the accepted shapes.
fn normalise_timestamp(stamp: &str) -> Option<String> {
    let bytes = stamp.as_bytes();
    let date_separator = bytes[4];
    let shape_ok = matches!(date_separator, b'-' | b'/')
        && bytes[7] == date_separator
        // A lower-case `t` because `classify` strips timestamps from lower-cased lines.
        && matches!(bytes[10], b' ' | b'T' | b't')
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

/// Skips a zone written right after the time: `Z`, `+08:00`, `+0800` or `-05`.
fn skip_zone(rest: &str) -> &str {
    if let Some(after) = rest.strip_prefix(['Z', 'z']) {
        return after;
    }
    let Some(offset) = rest.strip_prefix(['+', '-']) else {
        return rest;
    };

    let Some(after_hours) = strip_two_digits(offset) else {
        return rest;
    };
    let minutes = after_hours.strip_prefix(':').unwrap_or(after_hours);
    strip_two_digits(minutes).unwrap_or(after_hours)
}

fn strip_two_digits(text: &str) -> Option<&str> {
    let digits = text.get(..2)?;
    digits
        .bytes()
        .all(|byte| byte.is_ascii_digit())
        .then(|| &text[2..])
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
    fn classify_recognises_load_and_startup_failures() {
        let cases: &[(&str, LineKind)] = &[
            ("tls: failed to load certificate", LineKind::Certificate),
            ("2026/12/04 20:01:09 tls: failed to parse private key", LineKind::Certificate),
            (
                "2026/12/04 20:01:09 tls: found a certificate rather than a key in the PEM for the private key",
                LineKind::Certificate,
            ),
            ("open /opt/1panel/secret/server.crt: no such file or directory", LineKind::Certificate),
            (
                "2026/12/04 20:01:09 open /opt/1panel/secret/server.key: permission denied",
                LineKind::Certificate,
            ),
            ("listen tcp :8443: bind: address already in use", LineKind::Panic),
            (
                "2026/12/04 20:01:09 listen tcp4 0.0.0.0:8443: bind: address already in use",
                LineKind::Panic,
            ),
            ("listen tcp :443: bind: permission denied", LineKind::Panic),
            (
                "2026/12/04 20:01:09 [emerg] 1#1: bind() to 0.0.0.0:443 failed (98: Address already in use)",
                LineKind::Panic,
            ),
            (
                "2026/12/04 20:01:09 [emerg] 1#1: SSL_CTX_use_PrivateKey(\"/etc/nginx/ssl/key.pem\") failed (SSL: error:05800074:x509 certificate routines::key values mismatch)",
                LineKind::Certificate,
            ),
            (
                "2026/12/04 20:01:09 [emerg] 1#1: cannot load certificate key \"/etc/nginx/ssl/key.pem\": PEM_read_bio_PrivateKey() failed (SSL: error:1E08010C:DECODER routines::unsupported)",
                LineKind::Certificate,
            ),
            (
                "2026/12/04 20:01:09 [emerg] 1#1: no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in /etc/nginx/conf.d/a.conf:3",
                LineKind::Certificate,
            ),
        ];

        for (line, expected) in cases {
            assert_eq!(classify(line), Some(*expected), "line: {line}");
        }
    }

    #[test]
    fn classify_success_lines_are_renewal() {
        let lines = [
            "[info] certificate renewed successfully",
            "[2026-12-04 20:01:09] [INFO] certificate renewed successfully, 0 errors",
            "2026/12/04 20:01:09 [info] certificate for shop.example.com renewed successfully",
            "time=\"2026-12-04T20:01:09Z\" level=info msg=\"certificate loaded successfully\" file=/opt/1panel/secret/server.crt",
            "[2026-12-04 20:01:09] [INFO] 证书续签成功",
        ];

        for line in lines {
            assert_eq!(classify(line), Some(LineKind::Renewal), "line: {line}");
        }
    }

    #[test]
    fn classify_failed_renewal_is_error() {
        let lines = [
            "[2026-12-04 20:01:09] [ERROR] certificate renewal failed: acme: error: 429",
            "[2026-12-04 20:01:09] [INFO] renew certificate error: timeout",
            "[2026-12-04 20:01:09] [ERROR] certificate renewed successfully but the reload returned status 1",
        ];

        for line in lines {
            assert_eq!(classify(line), Some(LineKind::Error), "line: {line}");
        }
    }

    #[test]
    fn classify_fatal_error_after_zoned_timestamp() {
        assert_eq!(
            classify("2026-12-04T20:01:09.123+08:00 fatal error: concurrent map writes"),
            Some(LineKind::Panic)
        );
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
            (
                "time=\"2026-12-04T20:01:09Z\" level=error msg=x",
                "2026-12-04 20:01:09",
            ),
            (
                "time=2026-12-04T20:01:10+08:00 level=info msg=x",
                "2026-12-04 20:01:10",
            ),
            (
                "ts=2026-12-04T20:01:11.123456Z caller=main.go:12",
                "2026-12-04 20:01:11",
            ),
            ("2026-12-04T20:01:12.123+08:00 x", "2026-12-04 20:01:12"),
            ("[2026-12-04T20:01:13+0800] x", "2026-12-04 20:01:13"),
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
            "time=\"2026-13-04T20:01:09Z\" month 13",
            "time=\"2026-12-04T20:01:09Z level=info missing quote",
            "timestamp=2026-12-04T20:01:09Z other key",
            "[2026-12-04T20:01:13+08:00 missing bracket",
        ];

        for line in lines {
            assert_eq!(parse_timestamp(line), None, "line: {line}");
        }
    }
}
