//! `certwiz diagnose` against fake 1Panel v2 installs: settings in `db/core.db`, certificate rows
//! in `db/agent.db`, the listener's log `1Panel-Core.log`, unit `1panel-core.service`, and
//! `systemctl`/`journalctl` replaced by scripts.

mod panel_support;
mod support;

use std::fs;
use std::io::Write;

use panel_support::{files_containing, PanelTree, Version};
use support::{closed_port, fingerprint, set_mtime_from_now};

#[test]
fn v2_defaults_pick_core_commands_and_logs() {
    let mut tree = PanelTree::new(Version::V2);
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    set_mtime_from_now(&tree.cert_file(), -60);
    let port = tree.start_server();
    tree.insert_certificate(1, &certificate);
    tree.select_certificate(1, port);

    // No restart command is set, so the install's default shows in the report.
    let output = tree.diagnose_with_defaults().json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "browser-check", "healthy"]);
    let variables = &report.0["variables"];
    assert_eq!(variables["restart_command"], "1pctl restart core");
    assert_eq!(variables["unit"], "", "the host's systemd does not describe a copy under --root");
    assert!(report.finding_ids().contains(&"panel.host_tools_skipped"), "{}", report.pretty());
    assert_eq!(variables["panel_version"], "2");
    assert_eq!(variables["db_file"], tree.settings_db().display().to_string());
    assert_eq!(variables["ssl_db_file"], tree.certificates_db().display().to_string());
    assert_eq!(variables["port"], port.to_string());
    let logs: Vec<&str> = variables["log_files"].as_str().unwrap_or_default().split(',').collect();
    assert_eq!(logs[0], tree.main_log().display().to_string());
    assert!(logs[1].ends_with("/log/1Panel.log"), "{logs:?}");

    let settings = &report.finding("panel.settings")["evidence"];
    assert_eq!(settings["settings"]["SSL"], "Enable");
    assert_eq!(settings["tls_mode"], "on");
    assert_eq!(settings["version"], "2");
    assert!(report.finding_ids().contains(&"panel.db_matches_file"));
}

#[test]
fn v2_agent_row_written_with_answers() {
    let mut tree = PanelTree::new(Version::V2);
    let old = tree.issue_expired();
    tree.install_files(&old);
    set_mtime_from_now(&tree.cert_file(), -120);
    let port = tree.start_server();
    let renewed = tree.issue_valid();
    tree.insert_certificate(4, &renewed);
    tree.select_certificate(4, port);
    let answers = tree.answers_file("reconfirm = \"write-files\"\nsync-files = \"yes\"\nfull-restart = \"yes\"\n");

    let output = tree.diagnose().answers(&answers).json().run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(
        report.path(),
        ["warning", "check-status", "reconfirm", "sync-files", "full-restart", "verify", "resolved"]
    );
    assert_eq!(report.finding("panel.file_behind_db")["evidence"]["ssl_id"], 4);
    assert_eq!(report.sha256("served"), fingerprint(&renewed.der));
    assert_eq!(fs::read_to_string(tree.cert_file()).unwrap(), renewed.cert_pem);
    let backups = files_containing(tree.cert_file().parent().unwrap(), "certwiz-backup");
    assert_eq!(backups.len(), 2, "{backups:?}");
    let sources: Vec<&str> = report.0["answers"].as_array().unwrap().iter().map(|answer| answer["source"].as_str().unwrap_or_default()).collect();
    assert!(sources.iter().all(|source| *source != "yes"), "{sources:?}");
}

#[test]
fn v2_write_without_consent_aborts() {
    let mut tree = PanelTree::new(Version::V2);
    let old = tree.issue_expired();
    tree.install_files(&old);
    let port = tree.start_server();
    let renewed = tree.issue_valid();
    tree.insert_certificate(4, &renewed);
    tree.select_certificate(4, port);
    let answers = tree.answers_file("reconfirm = \"write-files\"\n");

    let output = tree.diagnose().answers(&answers).json().run();

    output.assert_code(3);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "reconfirm", "sync-files"]);
    assert!(report.finding_ids().contains(&"run.unapproved"));
    let actions = report.actions();
    assert_eq!(actions[0]["approved"], false);
    let planned = actions[0]["operations"].to_string();
    assert!(planned.contains(&tree.cert_file().display().to_string()), "{planned}");
    assert!(planned.contains("certwiz-backup"), "{planned}");
    assert_eq!(fs::read_to_string(tree.cert_file()).unwrap(), old.cert_pem);
    assert!(files_containing(tree.cert_file().parent().unwrap(), "certwiz").is_empty());
}

#[test]
fn v2_restarting_unit_is_restart_loop() {
    let tree = PanelTree::new(Version::V2);
    let port = closed_port();
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);
    tree.fake_tool("systemctl", "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nNRestarts=12\n");
    tree.fake_tool(
        "journalctl",
        "2026-11-30T03:00:02+0800 host 1panel-core[812]: panic: open /opt/1panel/secret/server.key: permission denied\n",
    );
    fs::write(tree.main_log(), "[2026-11-30 02:59:58] [INFO] init logger successfully\n").unwrap();
    let rotated = tree.main_log().with_file_name("1Panel-Core-2026-11-29.log.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(b"2026/11/29 10:00:00 http: TLS handshake error from 192.0.2.1:5555: remote error: tls: bad certificate\n")
        .unwrap();
    fs::write(&rotated, encoder.finish().unwrap()).unwrap();
    tree.write(
        "opt/1panel/log/ssl/localhost-ssl-2.log",
        "2026/11/30 02:00:00 开始申请证书,域名 [localhost] 申请方式 [DNS 账号]\n2026/11/30 02:00:20 申请 [localhost] 证书成功！！\n",
    );

    // A copy under --root gets no unit by default, so name it as a user would for a live tree.
    let output = tree.diagnose().set("unit", "1panel-core.service").json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "restart-loop"]);
    let looping = &report.finding("panel.restart_loop")["evidence"];
    assert_eq!(looping["unit"], "1panel-core.service");
    assert_eq!(looping["unit_state"]["restarts"], 12);
    assert!(looping["log_file"].is_null(), "{looping}");

    let timeline = &report.finding("panel.timeline")["evidence"];
    assert_eq!(timeline["last_renewal_log_line"]["time_local"], "2026-11-30 02:00:20");

    let scanned: Vec<&str> = report.0["logs"].as_array().unwrap().iter().map(|scan| scan["file"].as_str().unwrap_or_default()).collect();
    assert!(scanned.contains(&rotated.display().to_string().as_str()), "{scanned:?}");
    assert!(scanned.iter().any(|file| file.ends_with("localhost-ssl-2.log")), "{scanned:?}");
    let journal = "journalctl -u 1panel-core.service --no-pager -n 200 -o short-iso";
    assert!(scanned.contains(&journal), "{scanned:?}");
    let journal_panics = report
        .findings()
        .iter()
        .find(|finding| finding["id"] == "logs.panics" && finding["evidence"]["path"] == journal)
        .unwrap_or_else(|| panic!("no journal panic finding\n{}", report.pretty()));
    assert_eq!(journal_panics["evidence"]["count"], 1);
    let handshake = report
        .findings()
        .iter()
        .find(|finding| finding["id"] == "logs.tls_errors")
        .unwrap_or_else(|| panic!("no handshake finding\n{}", report.pretty()));
    assert_eq!(handshake["evidence"]["path"], rotated.display().to_string());
}

#[test]
fn v2_missing_journalctl_is_skipped() {
    let tree = PanelTree::new(Version::V2);
    let port = closed_port();
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);

    // Only the fake systemctl is on PATH, so journalctl is not found.
    fs::remove_file(tree.fake_bin().join("journalctl")).unwrap();
    let output = support::Certwiz::diagnose()
        .arg("--root")
        .arg(tree.root.path())
        .set_path("ca_file", &tree.ca_file())
        .set("timeout_secs", "3")
        .env("PATH", &tree.fake_bin().display().to_string())
        .json()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "inspect-logs"]);
    let ids = report.finding_ids();
    assert!(!ids.contains(&"panel.journal_failed"), "{ids:?}");
    let scanned = report.0["logs"].to_string();
    assert!(!scanned.contains("journalctl"), "{scanned}");
}

#[test]
fn v2_empty_journal_is_not_a_clean_log() {
    let tree = PanelTree::new(Version::V2);
    let port = closed_port();
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);

    // The fake journalctl prints `-- No entries --`, as the real one does for an unknown unit.
    let output = tree.diagnose().set("unit", "1panel-core.service").json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "inspect-logs"]);
    assert_eq!(report.finding("panel.journal_empty")["evidence"]["unit"], "1panel-core.service");
    let scanned = report.0["logs"].to_string();
    assert!(!scanned.contains("journalctl"), "{scanned}");
    let ids = report.finding_ids();
    assert!(!ids.contains(&"panel.host_tools_skipped"), "{ids:?}");
}

#[test]
fn v2_copy_under_root_skips_host_tools() {
    let tree = PanelTree::new(Version::V2);
    let port = closed_port();
    let certificate = tree.issue_valid();
    tree.install_files(&certificate);
    tree.insert_certificate(2, &certificate);
    tree.select_certificate(2, port);
    tree.fake_tool("systemctl", "LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nNRestarts=12\n");
    tree.fake_tool("journalctl", "2026-11-30T03:00:02+0800 host 1panel-core[812]: panic: open server.key: permission denied\n");

    let output = tree.diagnose().json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.path(), ["warning", "check-status", "inspect-logs"], "{}", report.pretty());
    let skipped: Vec<_> = report.findings().iter().filter(|finding| finding["id"] == "panel.host_tools_skipped").collect();
    assert_eq!(skipped.len(), 1, "{}", report.pretty());
    assert_eq!(skipped[0]["evidence"]["root"], tree.root.path().display().to_string());
    assert!(!report.finding_ids().contains(&"panel.restart_loop"), "{}", report.pretty());
    assert!(!report.0["logs"].to_string().contains("journalctl"), "{}", report.pretty());
}

#[test]
fn v2_write_files_keeps_certificate_mode() {
    use std::os::unix::fs::PermissionsExt;

    let mut tree = PanelTree::new(Version::V2);
    let old = tree.issue_expired();
    tree.install_files(&old);
    fs::set_permissions(tree.cert_file(), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(tree.key_file(), fs::Permissions::from_mode(0o640)).unwrap();
    set_mtime_from_now(&tree.cert_file(), -120);
    let port = tree.start_server();
    let renewed = tree.issue_valid();
    tree.insert_certificate(4, &renewed);
    tree.select_certificate(4, port);
    let answers = tree.answers_file("reconfirm = \"write-files\"\nsync-files = \"yes\"\nfull-restart = \"yes\"\n");

    let output = tree.diagnose().answers(&answers).json().run();

    output.assert_code(0);
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&tree.cert_file()), 0o644);
    assert_eq!(mode(&tree.key_file()), 0o600);
    let backups = files_containing(tree.cert_file().parent().unwrap(), "certwiz-backup");
    let key_backup = backups.iter().find(|path| path.display().to_string().contains("server.key")).expect("key backup");
    let cert_backup = backups.iter().find(|path| path.display().to_string().contains("server.crt")).expect("certificate backup");
    assert_eq!(mode(key_backup), 0o600);
    assert_eq!(mode(cert_backup), 0o644);
    // The planned operations, shown before consent, name the modes.
    let shown = &output.stderr;
    assert!(shown.contains("(mode 0600)"), "{}", output.context());
    assert!(shown.contains("keeping the file's current mode"), "{}", output.context());
    assert!(shown.contains("the key's backup gets 0600"), "{}", output.context());
    // The report's operations name the modes the files ended with.
    let done = output.report().actions()[0]["operations"].to_string();
    assert!(done.contains("server.crt (mode 0644)"), "{done}");
    assert!(done.contains("server.key (mode 0600)"), "{done}");
}
