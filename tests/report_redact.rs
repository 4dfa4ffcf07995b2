//! `--redact` and private keys. Names, addresses and homes planted in certificates, variables
//! and log files reach no output form, and one value gets one placeholder in all of them. A
//! planted private key appears in none of them, redacted or not.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use certwiz::pki::LeafSpec;
use serde_json::Value;
use support::{closed_port, Certwiz, Output, Site};

/// Base64 body of the planted key: what must never be printed or written.
const KEY_BODY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPLANTEDPLANTEDPLANTEDPLANTED";

fn planted_key() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n{KEY_BODY}\n-----END PRIVATE KEY-----")
}

/// Values that identify the user's machine and must not survive `--redact`.
const SECRETS: &[&str] = &["shop.example.com", "example.com", "gateway", "203.0.113.", "2001:db8", "198.51.100.", "alice", "ops@"];

/// Builds a site whose disk certificate names a domain, a single-label host and two addresses,
/// with a server log that mentions them, a user's home, an e-mail address and two private keys.
fn planted_site() -> Site {
    let site = Site::new();
    let names = ["shop.example.com", "gateway", "203.0.113.7", "2001:db8::7"];
    site.install(&site.issue(LeafSpec::valid_for(&names, 90)));

    let log = format!(
        "2026/01/02 10:00:00 http: TLS handshake error from 198.51.100.23:5555: remote error: tls: bad certificate\n\
         2026/01/02 10:00:01 [error] failed to load certificate /home/alice/certs/shop.example.com.crt for shop.example.com\n\
         2026/01/02 10:00:02 [error] tls: upstream gateway [2001:db8::9]:443 sent a bad certificate, session of alice\n\
         2026/01/02 10:00:03 [error] acme: certificate renewal failed for account ops@shop.example.com\n\
         2026/01/02 10:00:04 [error] tls: failed to parse key: -----BEGIN PRIVATE KEY-----{KEY_BODY}-----END PRIVATE KEY-----\n\
         2026/01/02 10:00:05 [error] tls: private key follows\n{}\n",
        planted_key()
    );
    fs::write(site.log_file(), log).expect("write the server log");
    site
}

/// Every output of one run: the JSON report on stdout, the transcript on stderr, the Markdown
/// report and the recorded answers.
struct Outputs {
    run: Output,
    markdown: String,
    answers: String,
}

impl Outputs {
    fn all(&self) -> [(&str, &str); 4] {
        [("stdout", &self.run.stdout), ("stderr", &self.run.stderr), ("report.md", &self.markdown), ("answers.toml", &self.answers)]
    }

    fn report(&self) -> Value {
        serde_json::from_str(&self.run.stdout).unwrap_or_else(|error| panic!("stdout is not JSON: {error}\n{}", self.run.context()))
    }
}

/// Runs the panel flow as user `alice` against a closed port, so that it ends in
/// `inspect-logs` and reads the log. `log_files` also names a private key, as a pasted
/// variable would.
fn diagnose(site: &Site, redact: bool) -> Certwiz {
    let log_files = format!("{},{}", site.log_file().display(), planted_key());
    let command = site
        .diagnose_port(closed_port())
        .set("server_name", "shop.example.com")
        .set("log_files", log_files)
        .env("USER", "alice");
    if redact {
        command.arg("--redact")
    } else {
        command
    }
}

/// Runs with `--json`, `--report report.md` and `--record-answers answers.toml`.
fn run(site: &Site, redact: bool) -> Outputs {
    let out = tempfile::tempdir().expect("create a temporary directory");
    let markdown = out.path().join("report.md");
    let answers = out.path().join("answers.toml");
    let run = diagnose(site, redact).json().arg("--report").arg(&markdown).arg("--record-answers").arg(&answers).run();
    run.assert_code(1);
    Outputs { markdown: read(&markdown, &run), answers: read(&answers, &run), run }
}

/// Runs with `--report report.json`; returns the run and the file.
fn run_with_json_file(site: &Site, redact: bool) -> (Output, String) {
    let out = tempfile::tempdir().expect("create a temporary directory");
    let json: PathBuf = out.path().join("report.json");
    let run = diagnose(site, redact).arg("--report").arg(&json).run();
    run.assert_code(1);
    let text = read(&json, &run);
    (run, text)
}

fn read(path: &Path, run: &Output) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}\n{}", path.display(), run.context()))
}

/// Returns the text of the first picked log line that contains `marker`.
fn log_line<'a>(report: &'a Value, marker: &str) -> &'a str {
    report["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|scan| scan["lines"].as_array().into_iter().flatten())
        .filter_map(|line| line["text"].as_str())
        .find(|text| text.contains(marker))
        .unwrap_or_else(|| panic!("no log line with {marker:?} in {report:#}"))
}

#[test]
fn redacted_outputs_hold_no_names_or_addresses() {
    let site = planted_site();
    let outputs = run(&site, true);

    for (name, text) in outputs.all() {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{name} contains {secret:?}:\n{text}");
        }
    }
    assert_eq!(outputs.report()["redacted"], true);
}

#[test]
fn redacted_json_file_holds_no_names_or_addresses() {
    let site = planted_site();
    let (run, json) = run_with_json_file(&site, true);
    for secret in SECRETS {
        assert!(!json.contains(secret), "report.json contains {secret:?}:\n{json}");
        assert!(!run.stderr.contains(secret), "stderr contains {secret:?}:\n{}", run.stderr);
    }
    let report: Value = serde_json::from_str(&json).expect("the report file is JSON");
    assert_eq!(report["redacted"], true);
}

#[test]
fn placeholders_agree_across_outputs() {
    let site = planted_site();
    let outputs = run(&site, true);
    let report = outputs.report();

    let sans: Vec<&str> = report["certificates"]["disk"]["sans"]
        .as_array()
        .expect("the disk certificate has SANs")
        .iter()
        .map(|name| name.as_str().unwrap_or_default())
        .collect();
    assert_eq!(sans.len(), 4, "{sans:?}");
    let (domain, gateway) = (sans[0], sans[1]);
    assert!(domain.starts_with("host-"), "{sans:?}");
    assert!(gateway.starts_with("host-"), "{sans:?}");
    assert_ne!(gateway, domain, "{sans:?}");
    assert!(sans[2].starts_with("ip-"), "{sans:?}");
    assert!(sans[3].starts_with("ip-"), "{sans:?}");
    assert_eq!(report["variables"]["server_name"], domain);

    let loaded = log_line(&report, "failed to load certificate");
    assert!(loaded.contains(&format!("/certs/{domain}.crt for {domain}")), "{loaded}");
    assert!(loaded.contains("~user-"), "{loaded}");
    let upstream = log_line(&report, "upstream");
    assert!(upstream.contains(&format!("upstream {gateway} [ip-")), "{upstream}");
    assert!(upstream.contains("session of user-"), "{upstream}");
    let account = log_line(&report, "acme:");
    assert!(account.contains(&format!("@{domain}")), "{account}");

    for (name, text) in [("stderr", &outputs.run.stderr), ("report.md", &outputs.markdown)] {
        for line in [loaded, upstream, account] {
            assert!(text.contains(line), "{name} lacks {line:?}:\n{text}");
        }
    }
}

#[test]
fn loopback_stays_readable_when_redacted() {
    let site = planted_site();
    let outputs = run(&site, true);
    assert_eq!(outputs.report()["variables"]["host"], "127.0.0.1");
    assert!(outputs.run.stderr.contains("cannot connect to 127.0.0.1:"), "{}", outputs.run.stderr);
}

#[test]
fn private_key_never_appears_redacted_or_not() {
    let site = planted_site();
    for redact in [false, true] {
        let outputs = run(&site, redact);
        for (name, text) in outputs.all() {
            assert!(!text.contains(KEY_BODY), "{name} (redact = {redact}) contains the key:\n{text}");
            assert!(!text.contains("PRIVATE KEY-----"), "{name} (redact = {redact}) contains a key marker:\n{text}");
        }
        let (run, json) = run_with_json_file(&site, redact);
        assert!(!json.contains(KEY_BODY), "report.json (redact = {redact}) contains the key:\n{json}");
        assert!(!run.stderr.contains(KEY_BODY), "stderr (redact = {redact}) contains the key:\n{}", run.stderr);

        // The run did read the key lines: the places they were removed from are marked.
        assert!(outputs.run.stderr.contains("[private key removed]"), "{}", outputs.run.stderr);
        assert!(outputs.markdown.contains("[private key removed]"), "{}", outputs.markdown);
        assert!(json.contains("[private key removed]"), "{json}");
    }
}

#[test]
fn unredacted_outputs_keep_names() {
    let site = planted_site();
    let outputs = run(&site, false);
    let report = outputs.report();
    assert_eq!(report["redacted"], false);
    assert_eq!(report["variables"]["server_name"], "shop.example.com");
    assert!(outputs.run.stderr.contains("/home/alice/certs/shop.example.com.crt"), "{}", outputs.run.stderr);
    assert!(outputs.markdown.contains("198.51.100.23"), "{}", outputs.markdown);
}

/// Returns a PEM body of `lines` lines of 64 base64 characters and a short last line.
fn long_key_body(lines: usize) -> Vec<String> {
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".chars().collect();
    let mut body: Vec<String> = (0..lines).map(|line| (0..64).map(|column| alphabet[(line * 5 + column * 3) % 64]).collect()).collect();
    body.push("UExBTlRFRFRBSUw=".to_string());
    body
}

/// Writes a 1Panel certificate log named after `domain` in which every line, the key's too,
/// carries a log prefix, and which names a user in an `ssh://` URL.
fn write_prefixed_key_log(site: &Site, domain: &str) -> (PathBuf, Vec<String>) {
    let body = long_key_body(25);
    let mut log = String::from("2026/01/02 10:00:00 [ERROR] tls: upload to ssh://dave@10.1.2.3/certs failed\n");
    log.push_str("2026/01/02 10:00:01 [ERROR] tls: -----BEGIN RSA PRIVATE KEY-----\n");
    for line in &body {
        log.push_str(&format!("2026/01/02 10:00:01 [ERROR] tls: {line}\n"));
    }
    log.push_str("2026/01/02 10:00:01 [ERROR] tls: -----END RSA PRIVATE KEY-----\n");
    let path = site.path(&format!("{domain}-ssl-1.log"));
    fs::write(&path, log).expect("write the certificate log");
    (path, body)
}

/// Runs the panel flow for `domain` against a closed port with the prefixed key log, writing
/// `report.md` and `report.json`; returns the run and both files.
fn run_with_key_log(site: &Site, domain: &str, log: &Path, redact: bool) -> (Output, String, String) {
    let out = tempfile::tempdir().expect("create a temporary directory");
    let (markdown, json) = (out.path().join("report.md"), out.path().join("report.json"));
    let command = site.diagnose_port(closed_port()).set("server_name", domain).set_path("log_files", log).env("USER", "alice");
    let command = if redact { command.arg("--redact") } else { command };
    let run = command.arg("--report").arg(&markdown).run();
    run.assert_code(1);
    let markdown = read(&markdown, &run);

    let command = site.diagnose_port(closed_port()).set("server_name", domain).set_path("log_files", log).env("USER", "alice");
    let command = if redact { command.arg("--redact") } else { command };
    let json_run = command.arg("--report").arg(&json).run();
    json_run.assert_code(1);
    let json = read(&json, &json_run);
    (run, markdown, json)
}

#[test]
fn prefixed_key_lines_never_appear() {
    let site = planted_site();
    let (log, body) = write_prefixed_key_log(&site, "shop.example.com");
    for redact in [false, true] {
        let (run, markdown, json) = run_with_key_log(&site, "shop.example.com", &log, redact);
        for (name, text) in [("stderr", &run.stderr), ("report.md", &markdown), ("report.json", &json)] {
            for line in &body {
                assert!(!text.contains(line.as_str()), "{name} (redact = {redact}) contains key line {line:?}:\n{text}");
            }
            assert!(!text.contains("PRIVATE KEY-----"), "{name} (redact = {redact}) contains a key marker:\n{text}");
            assert!(text.contains("[private key removed]"), "{name} (redact = {redact}) does not mark the removed key:\n{text}");
        }
    }
}

#[test]
fn domain_in_log_file_name_is_redacted() {
    let site = planted_site();
    let domain = "panel.corp-alpha.test";
    let (log, _) = write_prefixed_key_log(&site, domain);
    let (run, markdown, json) = run_with_key_log(&site, domain, &log, true);
    for (name, text) in [("stderr", &run.stderr), ("report.md", &markdown), ("report.json", &json)] {
        assert!(!text.contains("corp-alpha"), "{name} contains the domain:\n{text}");
    }

    let report: Value = serde_json::from_str(&json).expect("the report file is JSON");
    let placeholder = report["variables"]["server_name"].as_str().expect("server_name is set");
    assert!(placeholder.starts_with("host-"), "{placeholder}");
    let file = report["logs"][0]["file"].as_str().expect("the log was scanned");
    assert!(file.ends_with(&format!("/{placeholder}-ssl-1.log")), "{file}");
}

#[test]
fn url_user_is_redacted() {
    let site = planted_site();
    let (log, _) = write_prefixed_key_log(&site, "shop.example.com");
    let (run, markdown, json) = run_with_key_log(&site, "shop.example.com", &log, true);
    for (name, text) in [("stderr", &run.stderr), ("report.md", &markdown), ("report.json", &json)] {
        assert!(!text.contains("dave"), "{name} contains the user name:\n{text}");
        assert!(text.contains("ssh://user-"), "{name} lacks the user placeholder:\n{text}");
    }
}

#[test]
fn finding_ids_stay_when_redacted() {
    let site = planted_site();
    fs::write(site.cert_file(), "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n").expect("break the certificate file");
    let outputs = run(&site, true);
    let report = outputs.report();
    let ids: Vec<&str> = report["findings"].as_array().into_iter().flatten().filter_map(|finding| finding["id"].as_str()).collect();
    assert!(ids.contains(&"disk.invalid"), "{ids:?}");
    for (name, text) in [("stderr", outputs.run.stderr.as_str()), ("report.md", outputs.markdown.as_str())] {
        assert!(text.contains("disk.invalid"), "{name} lacks the finding id:\n{text}");
    }
}
