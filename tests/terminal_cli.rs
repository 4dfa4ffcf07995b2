//! Terminal behaviour of the command line: the colour decision (`--color`, `NO_COLOR`,
//! `CLICOLOR_FORCE`) and the generated completion scripts and man page.

mod support;

use support::Certwiz;

const ESCAPE: &str = "\x1b[";

/// Runs a command that fails on bad input, so stderr carries the styled `error:` prefix.
fn failing_run(color: Option<&str>, env: &[(&str, &str)]) -> support::Output {
    let mut command = Certwiz::new(["flows", "validate", "/nonexistent/flow.toml"]);
    if let Some(color) = color {
        command = command.arg("--color").arg(color);
    }
    for (name, value) in env {
        command = command.env(name, value);
    }
    let output = command.run();
    output.assert_code(2);
    output
}

#[test]
fn color_auto_is_plain_when_not_a_terminal() {
    let output = failing_run(None, &[("NO_COLOR", "")]);
    assert!(!output.stderr.contains(ESCAPE), "{:?}", output.stderr);
}

#[test]
fn color_always_wins_over_no_color() {
    let output = failing_run(Some("always"), &[("NO_COLOR", "1")]);
    assert!(output.stderr.contains(ESCAPE), "{:?}", output.stderr);
}

#[test]
fn color_never_wins_over_clicolor_force() {
    let output = failing_run(Some("never"), &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert!(!output.stderr.contains(ESCAPE), "{:?}", output.stderr);
}

#[test]
fn clicolor_force_colours_a_pipe() {
    let output = failing_run(None, &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")]);
    assert!(output.stderr.contains(ESCAPE), "{:?}", output.stderr);
}

#[test]
fn no_color_beats_clicolor_force() {
    let output = failing_run(None, &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!output.stderr.contains(ESCAPE), "{:?}", output.stderr);
}

#[test]
fn completions_exist_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = Certwiz::new(["completions", shell]).run();
        output.assert_code(0);
        assert!(output.stdout.contains("certwiz"), "{shell}: {}", output.context());
        assert!(output.stdout.contains("diagnose"), "{shell}: {}", output.context());
        assert!(output.stdout.contains("record-answers"), "{shell}: {}", output.context());
        assert!(!output.stdout.contains("__demo-server"), "{shell} completes a hidden command");
    }
}

#[test]
fn unknown_shell_is_rejected() {
    let output = Certwiz::new(["completions", "tcsh"]).run();
    output.assert_code(2);
    assert!(output.stderr.contains("tcsh"), "{}", output.context());
}

#[test]
fn man_page_is_roff() {
    let output = Certwiz::new(["man"]).run();
    output.assert_code(0);
    assert!(output.stdout.starts_with(".ie") || output.stdout.contains("\n.TH "), "{}", output.context());
    assert!(output.stdout.contains(".TH certwiz"), "{}", output.context());
    assert!(output.stdout.contains("diagnose"), "{}", output.context());
    assert!(output.stdout.contains("Find out why a server still serves the old certificate"), "{}", output.context());
}

#[test]
fn man_page_follows_language() {
    let output = Certwiz::new(["man"]).lang(Some("zh-CN")).run();
    output.assert_code(0);
    assert!(output.stdout.contains("找出续期后服务器仍在使用旧证书的原因"), "{}", output.context());
}
