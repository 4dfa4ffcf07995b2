//! `certwiz diagnose` when the endpoint serves no certificate: a closed port, a port that
//! speaks plain HTTP, and the closed-port run in Chinese.

mod support;

use support::{closed_port, set_mtime_from_now, PlainHttpServer, Site};

/// Returns a site with a valid `site.crt`/`site.key` written an hour ago and no server.
fn site_with_valid_files() -> Site {
    let site = Site::new();
    site.install(&site.issue_valid());
    set_mtime_from_now(&site.cert_file(), -3600);
    site
}

#[test]
fn closed_port_is_unreachable() {
    let site = site_with_valid_files();
    let port = closed_port();

    let output = site.diagnose_port(port).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "inspect-logs"]);
    assert_eq!(
        report.finding_ids(),
        ["endpoint.unreachable", "disk.valid", "process.not_found", "logs.missing"]
    );
    let unreachable = report.finding("endpoint.unreachable");
    assert_eq!(unreachable["evidence"]["address"], format!("127.0.0.1:{port}"));
    assert!(report.0["certificates"]["served"].is_null(), "{}", report.pretty());
    assert!(report.actions().is_empty(), "{}", report.pretty());
}

#[test]
fn plain_http_port_is_not_tls() {
    let site = site_with_valid_files();
    let server = PlainHttpServer::start();

    let output = site.diagnose_port(server.port()).json().run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.outcome(), "unresolved", "{}", report.pretty());
    assert_eq!(report.path(), ["warning", "check-status", "inspect-logs"]);
    assert_eq!(
        report.finding_ids(),
        ["endpoint.not_tls", "disk.valid", "process.started_after_change", "logs.missing"]
    );
    // This test process owns the listening socket.
    let process = report.finding("process.started_after_change");
    assert_eq!(process["evidence"]["pid"], std::process::id());
    assert!(server.connections() >= 1, "certwiz never connected");
    assert!(report.0["certificates"]["served"].is_null(), "{}", report.pretty());
}

#[test]
fn closed_port_in_chinese() {
    let site = site_with_valid_files();
    let port = closed_port();

    let output = site.diagnose_port(port).lang(Some("zh-CN")).run();

    output.assert_code(1);
    assert!(output.stderr.contains("无法连接"), "{}", output.context());
    assert!(output.stderr.contains(&format!("127.0.0.1:{port}")), "{}", output.context());
    // The end state's text from flows/panel.toml, in Chinese.
    assert!(output.stdout.contains("自动步骤未能解决问题"), "{}", output.context());
    assert!(!output.stdout.contains("The automatic steps"), "{}", output.context());
}

#[test]
fn chinese_locale_env_picks_chinese_report() {
    let site = site_with_valid_files();
    let port = closed_port();

    let output = site
        .diagnose_port(port)
        .lang(None)
        .env("LANG", "zh_CN.UTF-8")
        .json()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(report.0["lang"], "zh-CN");
    let message = report.finding("endpoint.unreachable")["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains("无法连接"), "{message}");
}

#[test]
fn unreadable_log_message_names_path_once() {
    let site = site_with_valid_files();
    let log_dir = site.path("logs");
    std::fs::create_dir(&log_dir).expect("create log directory");

    let output = site
        .diagnose_port(closed_port())
        .set_path("log_files", &log_dir)
        .json()
        .run();

    output.assert_code(1);
    let report = output.report();
    assert_eq!(
        report.finding_ids(),
        ["endpoint.unreachable", "disk.valid", "process.not_found", "logs.unreadable"]
    );
    let message = report.finding("logs.unreadable")["message"].as_str().unwrap_or_default();
    assert_eq!(message.matches(&log_dir.display().to_string()).count(), 1, "{message}");
}
