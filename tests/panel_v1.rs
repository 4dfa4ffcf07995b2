//! `certwiz diagnose` against fake 1Panel v1 installs: a settings database in the panel's schema,
//! `secret/server.crt|key`, `log/1Panel.log`, and a demo HTTPS server standing in for the panel.
//! Each case asserts the verdict: file behind the database, HTTPS off, restart loop, a database
//! pair that must not be written, all three copies in agreement, a corrupt database and a WAL.

mod panel_support;
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use panel_support::{files_containing, PanelTree, Version};
use rusqlite::Connection;
use support::{closed_port, fingerprint, set_mtime_from_now, PlainHttpServer};

/// Asserts that neither output nor the report carries key material.
fn assert_no_key_material(output: &support::Output) {
    for (name, text) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        assert!(!text.contains("PRIVATE KEY"), "{name} contains key material\n{}", output.context());
    }
}

#[test]
fn file_behind_db_writes_files_and_resolves() {
    let mut tree = PanelTree::new(Version::V1);
    let old = tree.issue_expired();
    tree.install_files(&old);
    set_mtime_from_now(&tree.cert_file(), -120);
    let port = tree.start_server();
    let renewed = tree.issue_valid();
    tree.insert_certificate(3, &renewed);
    tree.select_certificate(3, port);
    let answers = tree.answers_file("reconfirm = \"write-files\"\n");

    let output = tree.diagnose().answers(&answers).yes().json().run();

    output.assert_code(0);
    assert_no_key_material(&output);
    let report = output.report();
    assert_eq!(report.outcome(), "resolved", "{}", report.pretty());
    assert_eq!(
        report.path(),
        ["warning", "check-status", "reconfirm", "sync-files", "full-restart", "verify", "resolved"]
    );
    let ids = report.finding_ids();
    for id in ["panel.settings", "panel.file_behind_db", "panel.timeline", "panel.files_synced", "action.succeeded", "verify.serving_disk_cert"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }

    let behind = &report.finding("panel.file_behind_db")["evidence"];
    assert_eq!(behind["ssl_id"], 3);
    assert_eq!(behind["restart_helps"], false);
    assert_eq!(behind["db_sha256"], fingerprint(&renewed.der));
    assert_eq!(behind["file_sha256"], fingerprint(&old.der));

    // Port, address and name came from the database, not from --set.
    let variables = &report.0["variables"];
    assert_eq!(variables["port"], port.to_string());
    assert_eq!(variables["host"], "127.0.0.1");
    assert_eq!(variables["server_name"], "localhost");
    assert_eq!(variables["panel_version"], "1");
    assert_eq!(variables["unit"], "", "the host's systemd does not describe a copy under --root");
    assert_eq!(variables["db_file"], tree.settings_db().display().to_string());

    let backups = files_containing(tree.cert_file().parent().unwrap(), "certwiz-backup");
    assert_eq!(backups.len(), 2, "{backups:?}");
    let cert_backup = backups.iter().find(|path| path.display().to_string().contains("server.crt")).expect("certificate backup");
    let key_backup = backups.iter().find(|path| path.display().to_string().contains("server.key")).expect("key backup");
    assert_eq!(fs::read_to_string(cert_backup).unwrap(), old.cert_pem);
    assert_eq!(fs::read_to_string(key_backup).unwrap(), old.key_pem);
    assert_eq!(fs::metadata(key_backup).unwrap().permissions().mode() & 0o777, 0o600);

    let actions = report.actions();
    assert_eq!(actions.len(), 2, "{}", report.pretty());
    assert_eq!(actions[0]["state"], "sync-files");
    assert_eq!(actions[0]["builtin"], "panel-sync-files");
    assert_eq!(actions[0]["exit_code"], 0);
    let operations = actions[0]["operations"].to_string();
    assert!(operations.contains(&cert_backup.display().to_string()), "{operations}");
    assert!(operations.contains(&key_backup.display().to_string()), "{operations}");
    let synced_backups = report.finding("panel.files_synced")["evidence"]["backups"].to_string();
    assert!(synced_backups.contains(&cert_backup.display().to_string()), "{synced_backups}");
    assert_eq!(actions[1]["state"], "full-restart");
    assert_eq!(actions[1]["exit_code"], 0);

    assert_eq!(fs::read_to_string(tree.cert_file()).unwrap(), renewed.cert_pem);
    assert_eq!(fs::read_to_string(tree.key_file()).unwrap(), renewed.key_pem);
    assert_eq!(fs::metadata(tree.key_file()).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(report.sha256("served"), fingerprint(&renewed.der));
    assert_ne!(tree.server().current().pid, tree.server().started.pid, "the panel was not restarted");
}

#[test]
fn ssl_disabled_ends_at_ssl_disabled() {
    let tree = PanelTree::new(Version::V1);
    let server = PlainHttpServer::start();
    let port = server.port().to_string();
    tree.settings(&[("SSL", "disable"), ("SSLType", "self"), ("ServerPort", &port), ("BindAddress", "0.0.0.0")]);

    let output = tree.diagnose().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "ssl-disabled"]);
    let ids = report.finding_ids();
    for id in ["endpoint.not_tls", "panel.settings", "panel.ssl_disabled"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let disabled = &report.finding("panel.ssl_disabled")["evidence"];
    assert_eq!(disabled["ssl"], "disable");
    assert_eq!(disabled["endpoint_speaks_tls"], false);
    assert!(report.actions().is_empty(), "{}", report.pretty());
    assert!(server.connections() >= 1, "certwiz never connected");
}

#[test]
fn ssl_disabled_in_chinese() {
    let tree = PanelTree::new(Version::V1);
    let server = PlainHttpServer::start();
    let port = server.port().to_string();
    tree.settings(&[("SSL", "disable"), ("ServerPort", &port)]);

    let output = tree.diagnose().lang(Some("zh-CN")).json().run();

    output.assert_code(1);
    let report = output.report();
    let message = report.finding("panel.ssl_disabled")["message"].as_str().unwrap_or_default();
    assert!(message.contains("HTTPS 已关闭"), "{message}");
    assert!(report.0["verdict"].as_str().unwrap_or_default().contains("面板设置中已关闭 HTTPS"), "{}", report.pretty());
}

#[test]
fn startup_panics_are_a_restart_loop() {
    let tree = PanelTree::new(Version::V1);
    let port = closed_port();
    let certificate = tree.issue_valid();
    let other = tree.issue_valid();
    tree.install_files(&certificate);
    fs::write(tree.key_file(), &other.key_pem).unwrap();
    tree.settings(&[("SSL", "enable"), ("SSLType", "import-paste"), ("ServerPort", &port.to_string())]);
    let mut log = format!("[2026-11-30 03:00:01] [INFO] listen at https://0.0.0.0:{port} [tcp4]\n");
    for _ in 0..4 {
        log.push_str("panic: tls: private key does not match public key\n\ngoroutine 1 [running]:\nmain.main()\n");
    }
    fs::write(tree.main_log(), log).unwrap();

    let output = tree.diagnose().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "restart-loop"]);
    let looping = report.finding("panel.restart_loop");
    assert_eq!(looping["state"], "check-status");
    assert_eq!(looping["evidence"]["startup_failures"], 4);
    assert_eq!(looping["evidence"]["certificate_cause"], true);
    assert_eq!(looping["evidence"]["log_file"], tree.main_log().display().to_string());
    let panics = report.finding("logs.panics");
    assert_eq!(panics["state"], "restart-loop");
    assert_eq!(panics["evidence"]["count"], 4);
    let next_step = report.0["next_step"].as_str().unwrap_or_default();
    assert!(next_step.contains("1pctl reset https"), "{next_step}");
    assert!(!report.finding_ids().contains(&"panel.file_behind_db"), "{}", report.pretty());
}

#[test]
fn missing_file_loop_is_file_behind_db() {
    let tree = PanelTree::new(Version::V1);
    let port = closed_port();
    let renewed = tree.issue_valid();
    tree.insert_certificate(5, &renewed);
    tree.select_certificate(5, port);
    let panic = "panic: open /opt/1panel/secret/server.crt: no such file or directory\n";
    fs::write(tree.main_log(), panic.repeat(3)).unwrap();
    let answers = tree.answers_file("reconfirm = \"cannot\"\n");

    let output = tree.diagnose().answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    let ids = report.finding_ids();
    for id in ["disk.missing", "panel.file_behind_db", "panel.restart_loop"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(report.finding("panel.file_behind_db")["evidence"]["file_sha256"].is_null());
    assert!(!tree.cert_file().exists(), "a file was written without consent");
}

#[test]
fn unusable_row_is_never_written() {
    let mut tree = PanelTree::new(Version::V1);
    let old = tree.issue_expired();
    tree.install_files(&old);
    let port = tree.start_server();
    let renewed = tree.issue_valid();
    let stranger = tree.issue_valid();
    let mismatched = certwiz::pki::Issued { cert_pem: renewed.cert_pem.clone(), key_pem: stranger.key_pem.clone(), der: renewed.der.clone() };
    tree.insert_certificate(3, &mismatched);
    tree.select_certificate(3, port);
    // `--yes` approves every action, yet the flow never offers to write an unusable pair: the
    // sync's own rejection of such a pair is covered by the unit tests in `panel::sync`.
    let output = tree.diagnose().yes().json().run();

    output.assert_code(1);
    assert_no_key_material(&output);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "renew-db-certificate"], "{}", report.pretty());
    let ids = report.finding_ids();
    assert!(ids.contains(&"panel.db_certificate_unusable"), "{ids:?}");
    assert!(!ids.contains(&"panel.file_behind_db"), "{ids:?}");
    assert!(report.actions().is_empty(), "{}", report.pretty());
    assert_eq!(fs::read_to_string(tree.cert_file()).unwrap(), old.cert_pem);
    assert_eq!(fs::read_to_string(tree.key_file()).unwrap(), old.key_pem);
    assert!(files_containing(tree.cert_file().parent().unwrap(), "certwiz").is_empty());
    assert_eq!(tree.server().current().pid, tree.server().started.pid, "the panel was restarted");
}

#[test]
fn three_matching_copies_are_healthy() {
    let mut tree = PanelTree::new(Version::V1);
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    set_mtime_from_now(&tree.cert_file(), -60);
    let port = tree.start_server();
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);

    let output = tree.diagnose().json().run();

    output.assert_code(0);
    assert_no_key_material(&output);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "browser-check", "healthy"]);
    let ids = report.finding_ids();
    for id in ["served.matches_disk", "panel.settings", "panel.db_matches_file", "panel.timeline"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let settings = &report.finding("panel.settings")["evidence"];
    assert_eq!(settings["settings"]["SSL"], "enable");
    assert_eq!(settings["settings"]["SSLID"], "2");
    assert_eq!(settings["tls_mode"], "on");
    assert_eq!(settings["certificate"]["private_key"], "present");
    assert_eq!(settings["certificate"]["leaf"]["sha256"], fingerprint(&certificate.der));
    let timeline = &report.finding("panel.timeline")["evidence"];
    assert!(timeline["process_started"].is_string(), "{timeline}");
    assert!(timeline["cert_file_modified"].is_string(), "{timeline}");
}

#[test]
fn corrupt_db_is_a_finding() {
    let mut tree = PanelTree::new(Version::V1);
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    set_mtime_from_now(&tree.cert_file(), -60);
    let port = tree.start_server();
    fs::write(tree.settings_db(), "not a database, ".repeat(512)).unwrap();

    let output = tree.diagnose().set("port", port.to_string()).set("server_name", "localhost").json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "healthy", "{}", report.pretty());
    let unreadable = report.finding("panel.db_unreadable");
    assert_eq!(unreadable["evidence"]["db_file"], tree.settings_db().display().to_string());
    assert!(unreadable["message"].as_str().unwrap_or_default().contains("not a readable SQLite database"), "{unreadable}");
    assert!(!output.stderr.contains("panicked"), "{}", output.context());
}

#[test]
fn rows_only_in_the_wal_are_read() {
    let mut tree = PanelTree::new(Version::V1);
    let old = tree.issue_expired();
    tree.install_files(&old);
    let port = tree.start_server();
    let renewed = tree.issue_valid();

    // The panel keeps its connection open in WAL mode, and so does this writer. The rows below
    // therefore stay in 1Panel.db-wal and do not reach the main file during the run.
    let writer = Connection::open(tree.settings_db()).unwrap();
    writer.execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;").unwrap();
    panel_support::insert_certificate(&writer, 3, &renewed);
    panel_support::insert_settings(
        &writer,
        &[("SSL", "enable"), ("SSLType", "select"), ("SSLID", "3"), ("ServerPort", &port.to_string()), ("BindDomain", "localhost")],
    );
    let wal = tree.settings_db().with_extension("db-wal");
    assert!(fs::metadata(&wal).map(|metadata| metadata.len()).unwrap_or(0) > 0, "no WAL content");
    let answers = tree.answers_file("reconfirm = \"cannot\"\n");

    let output = tree.diagnose().answers(&answers).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "inspect-logs"]);
    assert_eq!(report.finding("panel.file_behind_db")["evidence"]["db_sha256"], fingerprint(&renewed.der));
    assert_eq!(report.0["variables"]["port"], port.to_string());
    drop(writer);
}

#[test]
fn ssl_disabled_with_tls_listener_says_not_applied() {
    let mut tree = PanelTree::new(Version::V1);
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    let port = tree.start_server();
    tree.settings(&[("SSL", "disable"), ("SSLType", "self"), ("ServerPort", &port.to_string()), ("BindDomain", "localhost")]);

    let output = tree.diagnose().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "ssl-disabled"]);
    let ids = report.finding_ids();
    assert!(!ids.contains(&"panel.ssl_disabled"), "{ids:?}");
    let served = report.finding("panel.ssl_disabled_tls_served");
    assert_eq!(served["evidence"]["endpoint_speaks_tls"], true);
    let message = served["message"].as_str().unwrap_or_default();
    assert!(message.contains("answers with TLS"), "{message}");
    assert!(message.contains("restarted"), "{message}");
    let verdict = report.0["verdict"].as_str().unwrap_or_default();
    assert!(!verdict.contains("port serves plain HTTP"), "{verdict}");
    assert!(verdict.contains("has not been restarted"), "{verdict}");
}

#[test]
fn unusable_row_offers_renewal_in_the_panel() {
    let mut tree = PanelTree::new(Version::V1);
    let old = tree.issue_expired();
    tree.install_files(&old);
    let port = tree.start_server();
    let stored = tree.issue_expired();
    tree.insert_certificate(3, &stored);
    tree.select_certificate(3, port);

    let output = tree.diagnose().json().run();

    output.assert_code(1);
    let report = output.report();
    // Neither re-confirming nor writing the expired database pair can help, so no question is asked.
    assert_eq!(report.path(), ["warning", "check-status", "renew-db-certificate"], "{}", report.pretty());
    let unusable = report.finding("panel.db_certificate_unusable")["message"].as_str().unwrap_or_default().to_string();
    assert!(unusable.contains("Websites → Certificates"), "{unusable}");
    assert!(report.0["next_step"].as_str().unwrap_or_default().contains("Websites → Certificates"), "{}", report.pretty());
    assert!(report.actions().is_empty(), "{}", report.pretty());
    assert_eq!(fs::read_to_string(tree.cert_file()).unwrap(), old.cert_pem);
}

#[test]
fn missing_settings_db_is_named() {
    let tree = PanelTree::new(Version::V1);
    fs::remove_file(tree.settings_db()).unwrap();

    let output = tree.diagnose().set("port", closed_port().to_string()).json().run();

    let report = output.report();
    let unreadable = report.finding("panel.db_unreadable");
    assert_eq!(unreadable["evidence"]["db_file"], tree.settings_db().display().to_string());
    assert!(unreadable["message"].as_str().unwrap_or_default().contains("not found"), "{unreadable}");
    assert_eq!(report.0["variables"]["db_file"], tree.settings_db().display().to_string());
}

#[test]
fn missing_ctl_is_not_detected() {
    let root = tempfile::tempdir().unwrap();

    let output = support::Certwiz::diagnose()
        .arg("--root")
        .arg(root.path())
        .set("port", closed_port().to_string())
        .set("timeout_secs", "2")
        .json()
        .run();

    let report = output.report();
    let finding = report.finding("panel.not_detected");
    assert_eq!(finding["severity"], "info");
    assert_eq!(finding["evidence"]["ctl"], root.path().join("usr/local/bin/1pctl").display().to_string());
    assert_eq!(finding["evidence"]["base_dir"], root.path().join("opt").display().to_string());
    assert!(!report.finding_ids().contains(&"panel.db_unreadable"), "{}", report.pretty());
}

#[test]
fn empty_renewal_log_says_none_found() {
    let mut tree = PanelTree::new(Version::V1);
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    set_mtime_from_now(&tree.cert_file(), -60);
    let port = tree.start_server();
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);

    let output = tree.diagnose().json().run();

    let report = output.report();
    let message = report.finding("panel.timeline")["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("last renewal log line none found,"), "{message}");
    assert!(!message.contains("- (server local time)"), "{message}");
}
