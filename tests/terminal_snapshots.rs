//! Snapshots of what people read: the transcript on stderr and the summary on stdout of
//! `certwiz demo` in English and Chinese, and its Markdown report. Ports, dates, temporary
//! paths, pids, durations and fingerprints change from run to run and are replaced by filters.
//!
//! After an intended change of the output, review and accept the new snapshots with
//! `cargo insta review`, or rerun with `INSTA_UPDATE=always` and read the diff.

mod support;

use std::fs;

use support::{Certwiz, Output, EXE};

/// Replaces the parts of the output that differ between runs.
fn filters() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let exe = regex_escape(EXE);
    let rules: Vec<(String, &str)> = vec![
        (exe, "[EXE]"),
        (r"[^\s`]*/certwiz-demo-[A-Za-z0-9]+".to_string(), "[TMP]"),
        (r"[^\s`]*/\.tmp[A-Za-z0-9]+".to_string(), "[TMP]"),
        (r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?( UTC|Z)?".to_string(), "[DATE]"),
        (r"127\.0\.0\.1:\d+".to_string(), "127.0.0.1:[PORT]"),
        (r"port \d+".to_string(), "port [PORT]"),
        (r"pid \d+".to_string(), "pid [PID]"),
        (r"process \d+".to_string(), "process [PID]"),
        (r"进程 \d+".to_string(), "进程 [PID]"),
        (r"`\d+` \|".to_string(), "`[N]` |"),
        (r"\d+ (ms|毫秒)".to_string(), "[N] $1"),
        (r"\d+ (days|天)".to_string(), "[N] $1"),
        (r"attempt \d+".to_string(), "attempt [N]"),
        (r"第 \d+ 次".to_string(), "第 [N] 次"),
        (r"([0-9A-F]{2}:){31}[0-9A-F]{2}".to_string(), "[SHA256]"),
        (r"([0-9a-f]{2}:){3,}[0-9a-f]{2}".to_string(), "[SERIAL]"),
    ];
    for (pattern, replacement) in rules {
        settings.add_filter(&pattern, replacement);
    }
    settings
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn human_output(output: &Output) -> String {
    format!("--- stderr ---\n{}\n--- stdout ---\n{}", output.stderr, output.stdout)
}

fn demo(lang: &str) -> Output {
    let output = Certwiz::new(["demo", "--yes", "--non-interactive"]).lang(Some(lang)).run();
    output.assert_code(0);
    output
}

#[test]
fn demo_transcript_english() {
    let output = demo("en");
    filters().bind(|| insta::assert_snapshot!("demo_transcript_en", human_output(&output)));
}

#[test]
fn demo_transcript_chinese() {
    let output = demo("zh-CN");
    filters().bind(|| insta::assert_snapshot!("demo_transcript_zh_cn", human_output(&output)));
}

#[test]
fn demo_markdown_report_english() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.md");
    let output = Certwiz::new(["demo", "--yes", "--non-interactive"]).arg("--report").arg(&path).run();
    output.assert_code(0);
    let markdown = fs::read_to_string(&path).expect("the Markdown report is written");
    filters().bind(|| insta::assert_snapshot!("demo_report_en", markdown));
}
