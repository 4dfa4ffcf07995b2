//! `certwiz diagnose` against servers that already serve their certificate file: healthy runs
//! for RSA, ECDSA and Ed25519 leaves, and a chain with an intermediate that the server sends
//! or leaves out.

mod support;

use certwiz::pki::{Authority, Issued, KeyKind, LeafSpec};
use support::{fingerprint, openssl_rsa_pki, set_mtime_from_now, Site, NAMES};

const HEALTHY_PATH: [&str; 4] = ["warning", "check-status", "browser-check", "healthy"];

const HEALTHY_FINDINGS: [&str; 4] = [
    "served.trusted",
    "disk.valid",
    "process.started_after_change",
    "served.matches_disk",
];

/// Asserts a healthy run whose served and disk leaf is `leaf_der`.
fn assert_healthy(site: &Site, leaf_der: &[u8], issuer: &str) {
    let output = site.diagnose().json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    assert_eq!(report.path(), HEALTHY_PATH);
    assert_eq!(report.finding_ids(), HEALTHY_FINDINGS);
    assert!(report.actions().is_empty(), "{}", report.pretty());

    let sha256 = fingerprint(leaf_der);
    assert_eq!(report.sha256("served"), sha256);
    assert_eq!(report.sha256("disk"), sha256);
    let served = &report.0["certificates"]["served"];
    assert_eq!(served["subject"], "CN=localhost");
    assert_eq!(served["issuer"], issuer);
    assert_eq!(served["sans"], serde_json::json!(NAMES));
}

#[test]
fn rcgen_leaves_are_healthy() {
    for key in [KeyKind::EcdsaP256, KeyKind::Ed25519] {
        let mut site = Site::new();
        let leaf = site.issue(LeafSpec {
            key,
            ..LeafSpec::valid_for(&NAMES, 90)
        });
        site.install(&leaf);
        set_mtime_from_now(&site.cert_file(), -60);
        site.start_site_server();

        assert_healthy(&site, &leaf.der, "CN=certwiz itest root");
    }
}

#[test]
fn openssl_rsa_leaf_is_healthy() {
    let mut site = Site::new();
    let rsa = openssl_rsa_pki(site.dir.path());
    // The RSA files replace the site's own: the server loads them and the flow reads them.
    std::fs::copy(&rsa.cert_file, site.cert_file()).expect("copy RSA certificate");
    std::fs::copy(&rsa.key_file, site.key_file()).expect("copy RSA key");
    std::fs::copy(&rsa.ca_file, site.ca_file()).expect("copy RSA CA");
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_site_server();

    assert_healthy(&site, &rsa.leaf_der, "CN=certwiz itest RSA root");
}

/// Issues an intermediate CA under the site root and a leaf under it. The leaf names where to
/// download its issuer (AIA caIssuers), as leaves of public CAs do. certwiz reads the URL only
/// as a sign of a public chain and does not fetch it.
fn intermediate_leaf(site: &Site) -> (Authority, Issued) {
    let intermediate = site
        .ca
        .intermediate("certwiz itest intermediate")
        .expect("generate an intermediate CA")
        .publishing_at("http://127.0.0.1:9/intermediate.der");
    let leaf = intermediate
        .issue(&LeafSpec::valid_for(&NAMES, 90))
        .expect("issue a leaf certificate");
    (intermediate, leaf)
}

#[test]
fn intermediate_sent_is_trusted() {
    let mut site = Site::new();
    let (intermediate, leaf) = intermediate_leaf(&site);
    site.write_pair("site", &leaf, &[intermediate.cert_pem()]);
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_site_server();

    let output = site.diagnose().json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    assert_eq!(report.path(), HEALTHY_PATH);
    assert_eq!(report.finding_ids(), HEALTHY_FINDINGS);
    let trusted = &report.finding("served.trusted")["evidence"];
    assert_eq!(trusted["chain_length"], 2);
    assert_eq!(trusted["verdict"], "Trusted");
    assert_eq!(report.finding("disk.valid")["evidence"]["chain_length"], 2);
    assert_eq!(report.sha256("served"), fingerprint(&leaf.der));
    assert_eq!(report.0["certificates"]["served"]["issuer"], "CN=certwiz itest intermediate");
}

#[test]
fn intermediate_missing_is_chain_incomplete() {
    let mut site = Site::new();
    let (_, leaf) = intermediate_leaf(&site);
    site.install(&leaf);
    set_mtime_from_now(&site.cert_file(), -60);
    site.start_site_server();
    let answers = site.answers_file("reconfirm = \"cannot\"\n");

    let output = site.diagnose().answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    assert_eq!(
        report.finding_ids(),
        [
            "served.chain_incomplete",
            "disk.valid",
            "process.started_after_change",
            "served.matches_disk",
            "logs.clean",
        ]
    );
    let incomplete = &report.finding("served.chain_incomplete")["evidence"];
    assert_eq!(incomplete["chain_length"], 1);
    assert_eq!(incomplete["verdict"], "ChainIncomplete");
    assert!(report.actions().is_empty(), "{}", report.pretty());
}
