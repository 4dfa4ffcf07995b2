//! Inputs that used to get wrong or unreadable verdicts: a CA certificate as `cert_file`, a host
//! with a port, an IPv6 host, a restart command that fails, and a malformed certificate file.

mod support;

use std::fs;

use certwiz::pki::{write_pair, Issued};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use support::{closed_port, set_mtime_from_now, Certwiz, Output, Site, NAMES};

/// Words of Rust's Debug output that must never reach a message.
const RUST_INTERNALS: [&str; 6] = ["Some(", "None", "Der(", "Tag(", "UnexpectedTag", "Parsing Error"];

fn assert_no_internals(message: &str) {
    for internal in RUST_INTERNALS {
        assert!(!message.contains(internal), "{internal:?} in {message:?}");
    }
}

/// Generates a self-signed CA certificate for the site's names, with its own key.
fn ca_certificate() -> Issued {
    let key = KeyPair::generate().expect("P-256 key generation");
    let names: Vec<String> = NAMES.iter().map(|name| name.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("valid names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let certificate = params.self_signed(&key).expect("self-signing");
    Issued {
        cert_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
        der: certificate.der().to_vec(),
    }
}

/// Asserts exit code 2, an `error:` line naming every one of `needles`, and no report.
fn assert_invalid_input(output: &Output, needles: &[&str]) {
    output.assert_code(2);
    assert!(output.stderr.starts_with("error: "), "{}", output.context());
    for needle in needles {
        assert!(output.stderr.contains(needle), "stderr lacks {needle:?}\n{}", output.context());
    }
    assert!(output.stdout.trim().is_empty(), "{}", output.context());
}

#[test]
fn ca_certificate_as_cert_file_is_file_bad() {
    let mut site = Site::new();
    let served = site.issue_valid();
    let (served_cert, served_key) = site.write_pair("served", &served, &[]);
    write_pair(site.dir.path(), "site", &ca_certificate(), &[]).expect("write the CA pair");
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_server(&served_cert, &served_key);
    let answers = site.answers_file("reconfirm = \"cannot\"\n");

    let output = site.diagnose().answers(&answers).yes().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    let ids = report.finding_ids();
    assert!(!ids.contains(&"disk.valid"), "{ids:?}");
    let ca = report.finding("disk.ca_certificate");
    assert_eq!(ca["severity"], "error");
    assert!(ca["message"].as_str().unwrap_or_default().contains("CA certificate"), "{ca}");
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn host_with_port_is_invalid_input() {
    let site = Site::new();

    for host in ["127.0.0.1:18441", "[::1]:18441", "localhost:443"] {
        let output = site.diagnose_port(closed_port()).set("host", host).json().run();

        assert_invalid_input(&output, &["`host`", host, "`port`"]);
    }
}

#[test]
fn ipv6_address_printed_with_brackets() {
    let site = Site::new();
    let port = closed_port();

    let output = site.diagnose_port(port).set("host", "::1").json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path()[..2], ["warning", "check-status"]);
    let endpoint = &report.findings()[0];
    let message = endpoint["message"].as_str().unwrap_or_default();
    assert!(endpoint["id"].as_str().unwrap_or_default().starts_with("endpoint."), "{endpoint}");
    assert!(message.contains(&format!("[::1]:{port}")), "{message}");
}

#[test]
fn failed_restart_names_exit_code_or_signal() {
    let mut site = Site::new();
    let expired = site.issue_expired();
    site.install(&expired);
    site.start_site_server();
    site.install(&site.issue_valid());
    set_mtime_from_now(&site.cert_file(), 5);

    let cases = [
        ("sh -c 'exit 7'", "the command failed (exit code 7)"),
        ("sh -c 'kill -KILL $$'", "the command failed (killed by signal 9)"),
    ];
    for (command, expected) in cases {
        let output = site.diagnose().set("restart_command", command).yes().json().run();

        output.assert_code(1);
        let report = output.report();
        assert_eq!(report.path(), ["warning", "check-status", "full-restart", "inspect-logs"], "{command}");
        let failed = report.finding("action.failed");
        let message = failed["message"].as_str().unwrap_or_default();
        assert_eq!(message, expected, "{command}");
        assert_no_internals(message);
    }
}

#[test]
fn malformed_certificate_detail_is_short() {
    let mut site = Site::new();
    let leaf = site.issue_valid();
    let (served_cert, served_key) = site.write_pair("served", &leaf, &[]);
    // Valid base64 whose DER is an INTEGER inside a SEQUENCE, not a certificate.
    let bogus = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    site.install(&leaf);
    let leaf_pem = fs::read_to_string(site.cert_file()).expect("read site.crt");
    fs::write(site.cert_file(), format!("{leaf_pem}{bogus}")).expect("write site.crt");
    site.start_server(&served_cert, &served_key);
    let answers = site.answers_file("reconfirm = \"cannot\"\n");

    let output = Certwiz::diagnose()
        .arg("--root")
        .arg(site.root.path())
        .set("host", "127.0.0.1")
        .set("port", site.server().port().to_string())
        .set("server_name", "localhost")
        .set_path("cert_file", &site.cert_file())
        .set_path("key_file", &site.key_file())
        .set_path("ca_file", &site.ca_file())
        .set("timeout_secs", "3")
        .answers(&answers)
        .json()
        .run();

    output.assert_code(1);
    let report = output.report();
    let invalid = report.finding("disk.invalid");
    let message = invalid["message"].as_str().unwrap_or_default();
    assert!(message.contains("certificate 2 in the chain: malformed DER (unexpected tag)"), "{message}");
    assert_no_internals(message);
}
