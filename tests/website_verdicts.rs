//! `certwiz diagnose website` verdicts that a first trial got wrong, against a real nginx on a
//! 127.0.0.1 high port: two blocks sharing an old certificate until one was renewed, a wrong
//! port, and an `expected_cert_file` issued for another name.

mod support;
mod website_support;

use support::{fingerprint, set_mtime_from_now};
use website_support::{free_port, write_files, Nginx, Pki};

/// Seconds the renewed file's mtime is set ahead, so it is clearly newer than the nginx workers.
const MTIME_AHEAD_SECS: i64 = 5;

const SHOP: &str = "shop.example.test";
const BLOG: &str = "blog.example.test";

#[test]
fn shared_old_certificate_renewed_is_stale() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let old = pki.expired(&["*.example.test"]);
    let (shop_cert, shop_key) = write_files(
        &nginx.path("sites/shop/ssl"),
        "fullchain.pem",
        &old.cert_pem,
        "privkey.pem",
        &old.key_pem,
    );
    let (blog_cert, blog_key) = write_files(
        &nginx.path("sites/blog/ssl"),
        "fullchain.pem",
        &old.cert_pem,
        "privkey.pem",
        &old.key_pem,
    );
    nginx.write_site("shop", &nginx.server_block(SHOP, &shop_cert, &shop_key, ""));
    nginx.write_site("blog", &nginx.server_block(BLOG, &blog_cert, &blog_key, ""));
    nginx.start();

    // Only shop's files get the renewal, and nobody reloads nginx.
    let renewed = pki.valid(&["*.example.test"]);
    write_files(
        &nginx.path("sites/shop/ssl"),
        "fullchain.pem",
        &renewed.cert_pem,
        "privkey.pem",
        &renewed.key_pem,
    );
    set_mtime_from_now(&shop_cert, MTIME_AHEAD_SECS);
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose(SHOP, &pki.ca_file(), root.path())
        .yes()
        .run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "test-config", "reload", "verify", "resolved"],
        "{}",
        report.pretty()
    );
    let ids = report.finding_ids();
    assert!(ids.contains(&"site.reload_before_change"), "{ids:?}");
    assert!(!ids.contains(&"site.served_other_block"), "{ids:?}");
    let shared = report.finding("site.served_old_shared");
    assert_eq!(shared["severity"], "info");
    assert_eq!(
        shared["evidence"]["ssl_certificate"],
        blog_cert.display().to_string()
    );
    assert_eq!(report.sha256("served"), fingerprint(&renewed.der));
}

#[test]
fn wrong_port_is_unreachable() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let issued = pki.valid(&[SHOP]);
    let (cert, key) = write_files(
        &nginx.path("sites/shop/ssl"),
        "fullchain.pem",
        &issued.cert_pem,
        "privkey.pem",
        &issued.key_pem,
    );
    nginx.write_site("shop", &nginx.server_block(SHOP, &cert, &key, ""));
    nginx.start();
    let root = tempfile::tempdir().expect("create an empty root");
    let wrong_port = free_port();

    let output = nginx
        .diagnose(SHOP, &pki.ca_file(), root.path())
        .set("port", wrong_port.to_string())
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "unreachable"],
        "{}",
        report.pretty()
    );
    let no_listener = report.finding("site.no_listener");
    assert_eq!(no_listener["severity"], "error");
    let message = no_listener["message"].as_str().unwrap_or("");
    assert!(message.contains(&nginx.port.to_string()), "{message}");
    assert!(message.contains("Check the port"), "{message}");
    assert!(report.finding_ids().contains(&"endpoint.unreachable"));
    assert!(report.actions().is_empty(), "{}", report.pretty());
    let next_step = report.0["next_step"].as_str().unwrap_or("");
    assert!(next_step.contains("Check the port"), "{}", report.pretty());
}

#[test]
fn expected_file_for_other_name_is_rejected() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let expired = pki.expired(&[SHOP]);
    let (cert, key) = write_files(
        &nginx.path("sites/shop/ssl"),
        "fullchain.pem",
        &expired.cert_pem,
        "privkey.pem",
        &expired.key_pem,
    );
    nginx.write_site("shop", &nginx.server_block(SHOP, &cert, &key, ""));
    nginx.start();
    // A renewal for another site, newer than the file nginx reads.
    let other = pki.valid(&["b.other.test"]);
    let (other_cert, _) = write_files(
        &nginx.path("conf/ssl"),
        "b.other.test.pem",
        &other.cert_pem,
        "b.other.test.key",
        &other.key_pem,
    );
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose(SHOP, &pki.ca_file(), root.path())
        .set_path("expected_cert_file", &other_cert)
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    let ids = report.finding_ids();
    assert!(!ids.contains(&"site.renewed_elsewhere"), "{ids:?}");
    let wrong = report.finding("site.expected_wrong_name");
    assert_eq!(wrong["severity"], "error");
    assert_eq!(wrong["evidence"]["expected_sans"][0], "b.other.test");
    assert_eq!(
        report.path(),
        ["check-site", "replace-files", "file-bad"],
        "{}",
        report.pretty()
    );
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn expected_wildcard_file_covers_domain() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let expired = pki.expired(&[SHOP]);
    let (cert, key) = write_files(
        &nginx.path("sites/shop/ssl"),
        "fullchain.pem",
        &expired.cert_pem,
        "privkey.pem",
        &expired.key_pem,
    );
    nginx.write_site("shop", &nginx.server_block(SHOP, &cert, &key, ""));
    nginx.start();
    let renewed = pki.valid(&["*.example.test"]);
    let (copied, _) = write_files(
        &nginx.path("conf/ssl"),
        "wildcard.pem",
        &renewed.cert_pem,
        "wildcard.key",
        &renewed.key_pem,
    );
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose(SHOP, &pki.ca_file(), root.path())
        .set_path("expected_cert_file", &copied)
        .run();

    output.assert_code(1);
    let report = output.report();
    assert!(!report.finding_ids().contains(&"site.expected_wrong_name"));
    assert_eq!(
        report.finding("site.renewed_elsewhere")["evidence"]["expected_sha256"],
        fingerprint(&renewed.der)
    );
    assert_eq!(
        report.path(),
        ["check-site", "move-files", "wrong-file"],
        "{}",
        report.pretty()
    );
}
