//! What `certwiz diagnose` shows and stores of a log file. Each picked line appears once, and
//! messages read right for one line and for many in both languages. No private key material
//! reaches the transcript, the JSON report or the Markdown report.

mod support;

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use support::{Certwiz, Output};

/// A flow with one `logs` check: `found` ends unresolved (exit 1), `clean` ends healthy.
const LOG_FLOW: &str = r#"
id = "log-check"
start = "inspect"
title = { en = "Log check", zh-CN = "日志检查" }

[variables.log_files]
default = ""
help = { en = "Logs to read.", zh-CN = "要读取的日志。" }

[[state]]
id = "inspect"
kind = "check"
check = "logs"
title = { en = "Read the logs", zh-CN = "读取日志" }
on = { found = "found", clean = "clean" }

[[state]]
id = "found"
kind = "end"
outcome = "unresolved"
title = { en = "Problems in the logs", zh-CN = "日志中有问题" }
next_step = { en = "Read the log lines.", zh-CN = "请查看日志。" }

[[state]]
id = "clean"
kind = "end"
outcome = "healthy"
title = { en = "Clean logs", zh-CN = "日志正常" }
next_step = { en = "Nothing to do.", zh-CN = "无需操作。" }
"#;

/// Base64 body lines of a key block. The second contains `LoadX509KeyPair`, which a line
/// picker that did not know it was inside a key would take for a certificate error line.
const KEY_BODY: [&str; 2] = [
    "MHcCAQEEIGx0b3Rvc2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0oAoGCCqG",
    "SM49AwEHoUQDQgAELoadX509KeyPairc2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2Vj",
];

/// A temporary directory with the flow file and the logs of one test.
struct LogDir {
    dir: tempfile::TempDir,
}

impl LogDir {
    fn new() -> LogDir {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        fs::write(dir.path().join("flow.toml"), LOG_FLOW).expect("write flow.toml");
        LogDir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_log(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).expect("write log");
        path
    }

    /// Returns `certwiz diagnose --non-interactive` running the log flow on `log`.
    fn diagnose(&self, log: &Path) -> Certwiz {
        Certwiz::diagnose()
            .arg("--flow-file")
            .arg(self.path("flow.toml"))
            .set_path("log_files", log)
    }
}

fn finding_message(output: &Output, id: &str) -> String {
    let report = output.report();
    match report.finding(id)["message"].as_str() {
        Some(message) => message.to_string(),
        None => panic!("{id} has no message\n{}", output.context()),
    }
}

#[test]
fn log_line_timestamp_shown_once() {
    let logs = LogDir::new();
    let log = logs.write_log(
        "server.log",
        "2026/12/04 20:01:00 http: TLS handshake error from 127.0.0.1:5555: EOF\n\
         time=\"2026-12-04T20:01:09Z\" level=error msg=\"tls: failed to load certificate\"\n",
    );

    let output = logs.diagnose(&log).run();

    output.assert_code(1);
    for line in [
        "2026/12/04 20:01:00 http: TLS handshake error from 127.0.0.1:5555: EOF",
        "time=\"2026-12-04T20:01:09Z\" level=error msg=\"tls: failed to load certificate\"",
    ] {
        assert_eq!(output.stderr.matches(line).count(), 1, "{line}\n{}", output.context());
    }
    assert!(!output.stderr.contains("2026-12-04 20:01:00"), "{}", output.context());
    assert!(!output.stderr.contains("2026-12-04 20:01:09"), "{}", output.context());
}

#[test]
fn logrus_timestamp_is_parsed() {
    let logs = LogDir::new();
    let log = logs.write_log(
        "server.log",
        "time=\"2026-12-04T20:01:09Z\" level=error msg=\"tls: failed to load certificate\"\n",
    );

    let output = logs.diagnose(&log).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.0["logs"][0]["lines"][0]["timestamp"], "2026-12-04 20:01:09", "{}", report.pretty());
    assert_eq!(report.0["logs"][0]["lines"][0]["kind"], "certificate", "{}", report.pretty());
}

#[test]
fn one_line_message_is_singular() {
    let logs = LogDir::new();
    let log = logs.write_log("server.log", "2026/12/04 20:01:00 http: TLS handshake error from 127.0.0.1:5555: EOF\n");
    let path_text = log.display();

    let english = logs.diagnose(&log).json().run();
    let chinese = logs.diagnose(&log).json().lang(Some("zh-CN")).run();

    english.assert_code(1);
    chinese.assert_code(1);
    assert_eq!(
        finding_message(&english, "logs.tls_errors"),
        format!("{path_text} contains 1 line with a TLS handshake error")
    );
    assert_eq!(finding_message(&chinese, "logs.tls_errors"), format!("{path_text} 中有 1 行 TLS 握手错误"));
}

#[test]
fn many_line_message_is_plural() {
    let logs = LogDir::new();
    let line = "2026/12/04 20:01:00 open /opt/1panel/secret/server.crt: no such file or directory\n";
    let log = logs.write_log("server.log", &line.repeat(3));
    let path_text = log.display();

    let english = logs.diagnose(&log).json().run();
    let chinese = logs.diagnose(&log).json().lang(Some("zh-CN")).run();

    english.assert_code(1);
    chinese.assert_code(1);
    assert_eq!(
        finding_message(&english, "logs.certificate_errors"),
        format!("{path_text} contains 3 lines with certificate errors")
    );
    assert_eq!(finding_message(&chinese, "logs.certificate_errors"), format!("{path_text} 中有 3 行证书错误"));
}

#[test]
fn empty_log_is_called_empty() {
    let logs = LogDir::new();
    let log = logs.write_log("server.log", "");
    let path_text = log.display();

    let english = logs.diagnose(&log).json().run();
    let chinese = logs.diagnose(&log).json().lang(Some("zh-CN")).run();

    english.assert_code(0);
    chinese.assert_code(0);
    assert_eq!(finding_message(&english, "logs.clean"), format!("the log {path_text} is empty"));
    assert_eq!(finding_message(&chinese, "logs.clean"), format!("日志 {path_text} 为空"));
}

#[test]
fn single_line_log_reports_tls_error() {
    let logs = LogDir::new();
    let log = logs.path("server.log");
    let mut file = BufWriter::new(File::create(&log).expect("create log"));
    for _ in 0..160 {
        file.write_all(&[b'x'; 64 * 1024]).expect("write noise");
    }
    file.write_all(b" http: TLS handshake error from 127.0.0.1:5555: EOF\n").expect("write end");
    file.flush().expect("flush log");
    drop(file);

    let output = logs.diagnose(&log).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.finding_ids(), ["logs.tls_errors"], "{}", report.pretty());
    let text = report.0["logs"][0]["lines"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with('…'), "{text}");
    assert!(text.ends_with("TLS handshake error from 127.0.0.1:5555: EOF"), "{text}");
}

#[test]
fn private_key_never_reaches_output() {
    let logs = LogDir::new();
    let log = logs.write_log(
        "server.log",
        &format!(
            "2026/12/04 20:01:00 x509: failed to parse private key key=-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n\
             2026/12/04 20:01:01 x509: failed to parse private key: -----BEGIN EC PRIVATE KEY-----\n\
             {}\n{}\n\
             -----END EC PRIVATE KEY-----\n",
            KEY_BODY[0], KEY_BODY[1]
        ),
    );
    let markdown = logs.path("report.md");

    let output = logs.diagnose(&log).json().arg("--report").arg(&markdown).run();

    output.assert_code(1);
    let markdown = fs::read_to_string(&markdown).expect("read the Markdown report");
    for (name, text) in [("stdout", &output.stdout), ("stderr", &output.stderr), ("report.md", &markdown)] {
        assert!(!text.contains("MIIEvQ"), "{name}:\n{text}");
        assert!(!text.contains(KEY_BODY[0]), "{name}:\n{text}");
        assert!(!text.contains(KEY_BODY[1]), "{name}:\n{text}");
        assert!(!text.contains("BEGIN PRIVATE KEY"), "{name}:\n{text}");
    }
    let report = output.report();
    let texts: Vec<&str> =
        report.0["logs"][0]["lines"].as_array().expect("lines is a list").iter().filter_map(|line| line["text"].as_str()).collect();
    assert_eq!(
        texts,
        [
            "2026/12/04 20:01:00 x509: failed to parse private key key=[private key removed]",
            "2026/12/04 20:01:01 x509: failed to parse private key: [private key removed]",
        ],
        "{}",
        report.pretty()
    );
}
