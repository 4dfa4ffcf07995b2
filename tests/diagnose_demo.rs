//! `certwiz demo`: the built-in scenario runs unattended and fixes the stale certificate.

mod support;

use std::path::Path;

use support::{eventually, is_running, Certwiz};

#[test]
fn demo_unattended_resolves() {
    let output = Certwiz::new(["demo", "--yes", "--non-interactive", "--json"]).run();

    output.assert_code(0);
    let report = output.report();
    assert_eq!(report.outcome(), "resolved", "{}", report.pretty());
    assert_eq!(report.0["flow"], "panel");
    assert_eq!(report.path(), ["warning", "check-status", "full-restart", "verify", "resolved"]);
    let ids = report.finding_ids();
    for id in [
        "served.expired",
        "disk.valid",
        "stale.served_differs_from_disk",
        "action.succeeded",
        "verify.serving_disk_cert",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert_eq!(report.actions().len(), 1, "{}", report.pretty());
    assert_eq!(report.actions()[0]["approved"], true);
    assert_eq!(report.actions()[0]["exit_code"], 0);
    assert_eq!(report.sha256("served"), report.sha256("disk"));
    assert_ne!(report.sha256("served_initially"), report.sha256("served"));

    // The demo removes its directory and stops the restarted server when it ends.
    let variables = &report.0["variables"];
    let cert_file = variables["cert_file"].as_str().expect("cert_file is a string");
    let workspace = Path::new(cert_file).parent().expect("cert_file has a directory");
    assert!(!workspace.exists(), "{} was left behind", workspace.display());
    let restarted_pid = report.actions()[0]["stdout_tail"]
        .as_str()
        .and_then(|tail| tail.split("pid ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no pid in the restart output\n{}", report.pretty()));
    assert!(
        eventually(std::time::Duration::from_secs(5), || !is_running(restarted_pid)),
        "demo server {restarted_pid} is still running"
    );
}
