//! `certwiz diagnose website` against a real nginx on a 127.0.0.1 high port. Cases: healthy,
//! stale then reloaded, a reload that `nginx -t` stops, and a leaf without its intermediate.
//! Also a renewal copied where nginx does not read it, and a domain that falls through to the
//! default server.

mod support;
mod website_support;

use std::fs;
use std::time::Duration;

use certwiz::pki::LeafSpec;
use support::{eventually, fingerprint, set_mtime_from_now, Certwiz};
use website_support::{write_files, Nginx, Pki};

/// Seconds the renewed file's mtime is set ahead, so it is clearly newer than the nginx workers.
const MTIME_AHEAD_SECS: i64 = 5;

const DOMAIN: &str = "site-a.test";

/// A running nginx with one site for [`DOMAIN`] serving `served` from `ssl/fullchain.pem`.
struct OneSite {
    nginx: Nginx,
    pki: Pki,
    root: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn one_site(expired: bool) -> OneSite {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let issued = if expired {
        pki.expired(&[DOMAIN])
    } else {
        pki.valid(&[DOMAIN])
    };
    let (cert, key) = write_files(
        &nginx.path("sites/a/ssl"),
        "fullchain.pem",
        &issued.cert_pem,
        "privkey.pem",
        &issued.key_pem,
    );
    nginx.write_site("a", &nginx.server_block(DOMAIN, &cert, &key, ""));
    nginx.start();
    let root = tempfile::tempdir().expect("create an empty root");
    OneSite {
        nginx,
        pki,
        root,
        cert,
        key,
    }
}

impl OneSite {
    fn diagnose(&self) -> Certwiz {
        self.nginx
            .diagnose(DOMAIN, &self.pki.ca_file(), self.root.path())
    }
}

#[test]
fn healthy_site_is_healthy() {
    let site = one_site(false);

    let output = site.diagnose().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    assert_eq!(report.path(), ["check-site", "healthy"]);
    let block = report.finding("site.server_block");
    assert_eq!(block["severity"], "ok");
    assert_eq!(
        block["evidence"]["location"],
        format!("{}:1", site.nginx.path("conf/conf.d/a.conf").display())
    );
    assert_eq!(report.finding("served.matches_disk")["severity"], "ok");
    assert_eq!(
        report.0["variables"]["cert_file"],
        site.cert.display().to_string()
    );
    assert_eq!(
        report.0["variables"]["key_file"],
        site.key.display().to_string()
    );
    assert_eq!(report.0["variables"]["server_name"], DOMAIN);
    assert_eq!(
        report.0["variables"]["log_files"],
        site.nginx.error_log().display().to_string()
    );
    let config = report.finding("site.config_read");
    assert_eq!(config["evidence"]["server_blocks"], 1);
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn stale_site_reload_resolves() {
    let site = one_site(true);
    let expired_sha = fingerprint(
        &fs::read(&site.cert)
            .map(|pem| pem_der(&pem))
            .expect("read the expired certificate"),
    );
    let master = site.nginx.master_pid();
    let workers_before = site.nginx.worker_pids();

    let renewed = site.pki.valid(&[DOMAIN]);
    write_files(
        &site.nginx.path("sites/a/ssl"),
        "fullchain.pem",
        &renewed.cert_pem,
        "privkey.pem",
        &renewed.key_pem,
    );
    set_mtime_from_now(&site.cert, MTIME_AHEAD_SECS);

    let output = site.diagnose().yes().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "resolved", "{}", report.pretty());
    assert_eq!(
        report.path(),
        ["check-site", "test-config", "reload", "verify", "resolved"]
    );
    let reload_finding = report.finding("site.reload_before_change");
    assert_eq!(reload_finding["evidence"]["master_pid"], master);
    assert_eq!(
        report.finding("stale.served_differs_from_disk")["severity"],
        "error"
    );
    assert_eq!(report.finding("verify.serving_disk_cert")["severity"], "ok");
    assert_eq!(report.sha256("served_initially"), expired_sha);
    assert_eq!(report.sha256("served"), fingerprint(&renewed.der));

    let actions = report.actions();
    assert_eq!(actions.len(), 2, "{}", report.pretty());
    assert_eq!(actions[0]["state"], "test-config");
    assert_eq!(
        actions[0]["command"].as_array().map(Vec::len).unwrap_or(0),
        8,
        "{}",
        report.pretty()
    );
    assert_eq!(actions[0]["command"][7], "-t");
    assert_eq!(actions[1]["state"], "reload");
    assert_eq!(actions[1]["exit_code"], 0);

    // A reload keeps the master and replaces the workers; certwiz reads the reload time from them.
    // The old workers shut down gracefully, which can take a moment on a busy machine.
    assert_eq!(site.nginx.master_pid(), master);
    let replaced = eventually(Duration::from_secs(10), || {
        site.nginx
            .worker_pids()
            .iter()
            .all(|pid| !workers_before.contains(pid))
    });
    let workers_after = site.nginx.worker_pids();
    assert!(replaced, "{workers_before:?} → {workers_after:?}");
    assert!(!workers_after.is_empty());

    let again = site.diagnose().run();
    let again = again.report();
    assert_eq!(again.outcome(), "healthy", "{}", again.pretty());
    let evidence = &again.finding("site.reload_before_change")["evidence"];
    assert_eq!(evidence["master_pid"], master);
    assert_eq!(evidence["workers"][0]["pid"], workers_after[0]);
}

#[test]
fn failed_config_test_ends_inspect_logs() {
    let site = one_site(true);
    let renewed = site.pki.valid(&[DOMAIN]);
    write_files(
        &site.nginx.path("sites/a/ssl"),
        "fullchain.pem",
        &renewed.cert_pem,
        "privkey.pem",
        &renewed.key_pem,
    );
    set_mtime_from_now(&site.cert, MTIME_AHEAD_SECS);
    // Someone added a site whose certificate does not exist: `nginx -T` and `nginx -t` fail,
    // while the running nginx keeps serving with the configuration it loaded.
    let missing = site.nginx.path("sites/b/ssl/fullchain.pem");
    let broken = site
        .nginx
        .server_block("site-b.test", &missing, &site.key, "");
    site.nginx.write_site("b", &broken);

    let output = site
        .diagnose()
        .set_path("conf_file", &site.nginx.main_conf())
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(
        report.path(),
        ["check-site", "test-config", "test-failed", "inspect-logs"],
        "{}",
        report.pretty()
    );
    let dump = report.finding("site.dump_failed");
    assert!(
        dump["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot load certificate"),
        "{}",
        report.pretty()
    );
    assert_eq!(
        report.finding("site.config_read")["evidence"]["source"],
        site.nginx.main_conf().display().to_string()
    );

    let failed = report.finding("action.failed");
    assert_eq!(failed["state"], "test-config");
    let stderr = failed["evidence"]["stderr_tail"].as_str().unwrap_or("");
    assert!(
        stderr.contains("[emerg] cannot load certificate"),
        "{stderr}"
    );
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    // The action's message names only nginx's last line; the state after it names the error.
    let explained = report
        .findings()
        .iter()
        .filter(|finding| finding["state"] == "test-failed")
        .filter_map(|finding| finding["message"].as_str())
        .find(|message| message.contains("[emerg] cannot load certificate"));
    assert!(
        explained.is_some_and(|message| message.contains(&missing.display().to_string())),
        "{}",
        report.pretty()
    );
    assert_eq!(
        report.actions().len(),
        1,
        "the reload must not run\n{}",
        report.pretty()
    );

    let logs = report.0["logs"].as_array().expect("logs is a list");
    assert_eq!(
        logs[0]["file"],
        site.nginx.error_log().display().to_string()
    );
    let picked: Vec<&str> = logs[0]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|line| line["text"].as_str())
        .collect();
    assert!(
        picked
            .iter()
            .any(|line| line.contains("[emerg]") && line.contains("cannot load certificate")),
        "{picked:?}"
    );
    assert!(
        report.finding_ids().contains(&"logs.certificate_errors"),
        "{:?}",
        report.finding_ids()
    );
}

#[test]
fn leaf_without_intermediate_is_chain_incomplete() {
    let pki = Pki::new();
    let intermediate = pki
        .root
        .intermediate("certwiz website test intermediate")
        .expect("intermediate")
        .publishing_at("http://127.0.0.1:9/int.crt");
    let leaf = intermediate
        .issue(&LeafSpec::valid_for(&[DOMAIN], 90))
        .expect("issue a leaf");
    let mut nginx = Nginx::new();
    let dir = nginx.path("live/site-a");
    let fullchain = format!("{}{}", leaf.cert_pem, intermediate.cert_pem());
    write_files(
        &dir,
        "fullchain.pem",
        &fullchain,
        "privkey.pem",
        &leaf.key_pem,
    );
    let (cert, key) = write_files(
        &dir,
        "cert.pem",
        &leaf.cert_pem,
        "privkey.pem",
        &leaf.key_pem,
    );
    nginx.write_site("a", &nginx.server_block(DOMAIN, &cert, &key, ""));
    nginx.start();
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx.diagnose(DOMAIN, &pki.ca_file(), root.path()).run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "fix-chain", "chain-incomplete"],
        "{}",
        report.pretty()
    );
    assert_eq!(
        report.finding("served.chain_incomplete")["severity"],
        "error"
    );
    let leaf_only = report.finding("site.leaf_only_certificate");
    assert_eq!(
        leaf_only["evidence"]["ssl_certificate"],
        cert.display().to_string()
    );
    assert_eq!(
        leaf_only["evidence"]["fullchain"],
        dir.join("fullchain.pem").display().to_string()
    );
    assert_eq!(leaf_only["evidence"]["fullchain_length"], 2);
    assert!(report.actions().is_empty());
}

#[test]
fn fixed_chain_conf_reloads_full_chain() {
    let pki = Pki::new();
    let intermediate = pki
        .root
        .intermediate("certwiz website test intermediate")
        .expect("intermediate")
        .publishing_at("http://127.0.0.1:9/int.crt");
    let leaf = intermediate
        .issue(&LeafSpec::valid_for(&[DOMAIN], 90))
        .expect("issue a leaf");
    let mut nginx = Nginx::new();
    let dir = nginx.path("live/site-a");
    let fullchain = format!("{}{}", leaf.cert_pem, intermediate.cert_pem());
    let (full, key) = write_files(
        &dir,
        "fullchain.pem",
        &fullchain,
        "privkey.pem",
        &leaf.key_pem,
    );
    let (cert, _) = write_files(
        &dir,
        "cert.pem",
        &leaf.cert_pem,
        "privkey.pem",
        &leaf.key_pem,
    );
    nginx.write_site("a", &nginx.server_block(DOMAIN, &cert, &key, ""));
    nginx.start();
    // The user points ssl_certificate at the full chain but has not reloaded yet.
    nginx.write_site("a", &nginx.server_block(DOMAIN, &full, &key, ""));
    set_mtime_from_now(&nginx.path("conf/conf.d/a.conf"), MTIME_AHEAD_SECS);
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose(DOMAIN, &pki.ca_file(), root.path())
        .yes()
        .run();

    output.assert_code(0);
    let report = output.report();
    // verify compares leaves, and the leaf is unchanged: its first probe can still reach an old
    // worker with the old chain, and then the flow checks the whole site once more.
    let path = report.path();
    assert_eq!(
        path[..4],
        ["check-site", "test-config", "reload", "verify"],
        "{}",
        report.pretty()
    );
    assert!(
        path[4..] == ["resolved"] || path[4..] == ["after-reload", "resolved"],
        "{path:?}"
    );
    let differs = report.finding("site.chain_differs");
    assert_eq!(differs["evidence"]["served_chain_length"], 1);
    assert_eq!(differs["evidence"]["disk_chain_length"], 2);
    let message = differs["message"].as_str().unwrap_or("");
    assert!(message.contains("served: 1, in the file: 2"), "{message}");
    assert_eq!(
        report.0["variables"]["cert_file"],
        full.display().to_string()
    );
    // The last verdict on the served chain is from after the reload: complete and trusted.
    let verdicts: Vec<&str> = report
        .finding_ids()
        .into_iter()
        .filter(|id| *id == "served.trusted" || *id == "served.chain_incomplete")
        .collect();
    assert_eq!(
        verdicts.first(),
        Some(&"served.chain_incomplete"),
        "{verdicts:?}"
    );
    assert_eq!(verdicts.last(), Some(&"served.trusted"), "{verdicts:?}");
}

#[test]
fn renewal_copied_elsewhere_is_wrong_file() {
    let site = one_site(true);
    // The renewal went to a directory nginx does not read.
    let renewed = site.pki.valid(&[DOMAIN]);
    let (copied, _) = write_files(
        &site.nginx.path("conf/ssl"),
        "site-a.pem",
        &renewed.cert_pem,
        "site-a.key",
        &renewed.key_pem,
    );

    let output = site
        .diagnose()
        .set_path("expected_cert_file", &copied)
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "move-files", "wrong-file"],
        "{}",
        report.pretty()
    );
    let elsewhere = report.finding("site.renewed_elsewhere");
    assert_eq!(
        elsewhere["evidence"]["expected_cert_file"],
        copied.display().to_string()
    );
    assert_eq!(
        elsewhere["evidence"]["ssl_certificate"],
        site.cert.display().to_string()
    );
    assert_eq!(
        elsewhere["evidence"]["expected_sha256"],
        fingerprint(&renewed.der)
    );
    assert!(
        report.actions().is_empty(),
        "nothing may run\n{}",
        report.pretty()
    );
}

#[test]
fn unknown_domain_falls_through_to_default() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let a = pki.valid(&["site-a.test"]);
    let b = pki.valid(&["site-b.test"]);
    let (a_cert, a_key) = write_files(
        &nginx.path("sites/a/ssl"),
        "fullchain.pem",
        &a.cert_pem,
        "privkey.pem",
        &a.key_pem,
    );
    let (b_cert, b_key) = write_files(
        &nginx.path("sites/b/ssl"),
        "fullchain.pem",
        &b.cert_pem,
        "privkey.pem",
        &b.key_pem,
    );
    nginx.write_site("a", &nginx.server_block("site-a.test", &a_cert, &a_key, ""));
    nginx.write_site(
        "b",
        &nginx.server_block("site-b.test", &b_cert, &b_key, " default_server"),
    );
    nginx.start();
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose("site-c.test", &pki.ca_file(), root.path())
        .yes()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "fix-server-block", "sni-fallthrough"],
        "{}",
        report.pretty()
    );
    let fell = report.finding("site.no_name_match");
    assert_eq!(fell["severity"], "error");
    assert_eq!(
        fell["evidence"]["location"],
        format!("{}:1", nginx.path("conf/conf.d/b.conf").display())
    );
    assert_eq!(report.finding("served.name_mismatch")["severity"], "error");
    assert_eq!(report.sha256("served"), fingerprint(&b.der));
    assert!(report.actions().is_empty());
}

#[test]
fn second_block_on_port_is_selected_by_sni() {
    let pki = Pki::new();
    let mut nginx = Nginx::new();
    let a = pki.valid(&["site-a.test"]);
    let b = pki.valid(&["site-b.test"]);
    let (a_cert, a_key) = write_files(
        &nginx.path("sites/a/ssl"),
        "fullchain.pem",
        &a.cert_pem,
        "privkey.pem",
        &a.key_pem,
    );
    let (b_cert, b_key) = write_files(
        &nginx.path("sites/b/ssl"),
        "fullchain.pem",
        &b.cert_pem,
        "privkey.pem",
        &b.key_pem,
    );
    nginx.write_site(
        "a",
        &nginx.server_block("site-a.test", &a_cert, &a_key, " default_server"),
    );
    nginx.write_site(
        "b",
        &nginx.server_block("*.b.test site-b.test", &b_cert, &b_key, ""),
    );
    nginx.start();
    let root = tempfile::tempdir().expect("create an empty root");

    let output = nginx
        .diagnose("site-b.test", &pki.ca_file(), root.path())
        .run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["check-site", "healthy"],
        "{}",
        report.pretty()
    );
    assert_eq!(
        report.0["variables"]["cert_file"],
        b_cert.display().to_string()
    );
    assert_eq!(
        report.finding("site.server_block")["evidence"]["name_match"]["pattern"],
        "site-b.test"
    );
}

#[test]
fn missing_domain_is_invalid_input() {
    let root = tempfile::tempdir().expect("create an empty root");

    let output = Certwiz::diagnose()
        .arg("website")
        .arg("--root")
        .arg(root.path())
        .run();

    output.assert_code(2);
    assert!(output.stderr.contains("domain"), "{}", output.context());
}

#[test]
fn url_as_domain_is_invalid_input() {
    let root = tempfile::tempdir().expect("create an empty root");

    let output = Certwiz::diagnose()
        .arg("website")
        .arg("--root")
        .arg(root.path())
        .set("domain", "https://site-a.test/")
        .run();

    output.assert_code(2);
    assert!(
        output.stderr.contains("https://site-a.test/"),
        "{}",
        output.context()
    );
    assert!(
        output.stderr.contains("example.com"),
        "{}",
        output.context()
    );
}

/// Returns the DER of the first certificate in PEM bytes.
fn pem_der(pem: &[u8]) -> Vec<u8> {
    let chain = certwiz::certs::parse_chain(pem).expect("a PEM certificate");
    chain[0].der.to_vec()
}
