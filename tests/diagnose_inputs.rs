//! Invalid input ends a run with exit code 2 and a message naming the bad value, before
//! anything is probed: broken flow files, bad `--set` values, bad answers files and an unknown
//! flow name.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{Certwiz, Output, PlainHttpServer, Site};

fn panel_flow_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/flows/panel.toml");
    fs::read_to_string(path).expect("read flows/panel.toml")
}

/// Writes flows/panel.toml with `valid = "verify"` (in `recheck-files`) pointing at a state
/// that does not exist. Returns the file path and the 1-based line of the broken target.
fn write_broken_flow(dir: &Path) -> (PathBuf, usize) {
    let text = panel_flow_text();
    assert_eq!(text.matches("valid = \"verify\"").count(), 1, "flows/panel.toml changed");
    let broken = text.replacen("valid = \"verify\"", "valid = \"verfy\"", 1);
    let line = broken
        .lines()
        .position(|line| line.contains("\"verfy\""))
        .expect("the broken target is in the text")
        + 1;

    let path = dir.join("broken-panel.toml");
    fs::write(&path, broken).expect("write the broken flow");
    (path, line)
}

/// Asserts exit code 2, an `error:` line on stderr that contains every one of `needles`, no
/// report on stdout and no panic.
fn assert_invalid_input(output: &Output, needles: &[&str]) {
    output.assert_code(2);
    assert!(output.stderr.starts_with("error: "), "{}", output.context());
    for needle in needles {
        assert!(output.stderr.contains(needle), "stderr lacks {needle:?}\n{}", output.context());
    }
    assert!(output.stdout.trim().is_empty(), "{}", output.context());
    assert!(!output.stderr.contains("panicked"), "{}", output.context());
}

#[test]
fn broken_flow_file_names_path_line_state() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let (path, line) = write_broken_flow(dir.path());
    let location = format!("{}:{line}:", path.display());

    let diagnose = Certwiz::diagnose().arg("--flow-file").arg(&path).json().run();
    let validate = Certwiz::new(["flows", "validate"]).arg(&path).run();

    for output in [&diagnose, &validate] {
        assert_invalid_input(output, &[&location, "`recheck-files`", "`verfy`"]);
    }
}

#[test]
fn flow_syntax_error_names_path_line() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("truncated.toml");
    let text = format!("{}[[state]\n", panel_flow_text());
    let line = text.lines().count();
    fs::write(&path, text).expect("write the flow");

    let output = Certwiz::new(["flows", "validate"]).arg(&path).run();

    assert_invalid_input(&output, &[&format!("{}:{line}:", path.display())]);
}

#[test]
fn intact_flow_copy_validates() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("panel.toml");
    fs::write(&path, panel_flow_text()).expect("write the flow");

    let output = Certwiz::new(["flows", "validate"]).arg(&path).run();

    output.assert_code(0);
    assert!(output.stdout.contains(&path.display().to_string()), "{}", output.context());
    assert!(output.stdout.contains("`panel` is valid"), "{}", output.context());
}

#[test]
fn unknown_variable_is_rejected() {
    let site = Site::new();

    let output = site.diagnose_port(443).set("nosuch", "1").json().run();

    assert_invalid_input(&output, &["`nosuch`", "`panel`", "port", "cert_file"]);
}

#[test]
fn out_of_range_port_is_rejected() {
    let site = Site::new();

    let output = site.diagnose_port(443).set("port", "99999").json().run();

    assert_invalid_input(&output, &["`port`", "`99999`", "1-65535"]);
}

#[test]
fn unknown_question_in_answers_is_rejected() {
    let site = Site::new();
    site.install(&site.issue_valid());
    let listener = PlainHttpServer::start();
    let answers = site.answers_file("warnings = \"expired\"\n");

    let output = site.diagnose_port(listener.port()).answers(&answers).json().run();

    let path = answers.display().to_string();
    assert_invalid_input(&output, &[&path, "`warnings`", "warning", "full-restart", "reconfirm"]);
    assert_eq!(listener.connections(), 0, "certwiz probed the endpoint");
}

#[test]
fn unknown_choice_in_answers_lists_choices() {
    let site = Site::new();
    site.install(&site.issue_valid());
    let listener = PlainHttpServer::start();
    let answers = site.answers_file("reconfirm = \"later\"\n");

    let output = site.diagnose_port(listener.port()).answers(&answers).json().run();

    let path = answers.display().to_string();
    assert_invalid_input(&output, &[&path, "`later`", "`reconfirm`", "done, write-files, cannot"]);
    assert_eq!(listener.connections(), 0, "certwiz probed the endpoint");
}

#[test]
fn unknown_flow_name_lists_flows() {
    let output = Certwiz::diagnose().arg("nosuchflow").json().run();

    assert_invalid_input(&output, &["`nosuchflow`", "panel", "--flow-file"]);
}

#[test]
fn missing_or_invalid_ca_file_is_rejected() {
    let site = Site::new();
    let garbage = site.path("garbage.pem");
    fs::write(&garbage, "not a certificate\n").expect("write garbage CA file");

    let missing = site.diagnose_port(443).set("ca_file", "/nonexistent/ca.pem").json().run();
    let invalid = site.diagnose_port(443).set_path("ca_file", &garbage).json().run();

    assert_invalid_input(&missing, &["`ca_file`", "/nonexistent/ca.pem"]);
    assert_invalid_input(&invalid, &["`ca_file`", &garbage.display().to_string()]);
}

#[test]
fn invalid_server_name_is_rejected() {
    let site = Site::new();
    site.install(&site.issue_valid());
    let listener = PlainHttpServer::start();

    let output = site
        .diagnose_port(listener.port())
        .set("server_name", "bad_name!")
        .json()
        .run();

    assert_invalid_input(&output, &["`server_name`", "bad_name!"]);
    assert_eq!(listener.connections(), 0, "certwiz probed the endpoint");
}
