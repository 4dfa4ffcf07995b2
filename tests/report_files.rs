//! `--report FILE.md|FILE.json` and `--record-answers FILE.toml`: what the files hold, how bad
//! paths are rejected before anything runs, and that recorded answers replay the same path.

mod support;

use std::fs;

use serde_json::Value;
use support::Certwiz;

fn demo() -> Certwiz {
    Certwiz::new(["demo", "--yes", "--non-interactive"])
}

#[test]
fn markdown_report_holds_run_and_flowchart() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.md");
    let output = demo().json().arg("--report").arg(&path).run();
    output.assert_code(0);
    let report = output.report();
    let markdown = fs::read_to_string(&path).expect("the Markdown report is written");

    let version = format!("| certwiz version | `{}` |", env!("CARGO_PKG_VERSION"));
    for expected in [
        "# certwiz report: ",
        version.as_str(),
        "(`panel`) |",
        "| Language | `en` |",
        "| Outcome | **resolved** |",
        "## Verdict",
        "**Next step**: ",
        "### Step 1: The warning (`warning`)",
        "**Answer**: Not sure, check everything (`unsure`), the default",
        "### Step 3: Restart the panel process (`full-restart`)",
        "| Approval | approved (--yes) |",
        "| Exit code | `0` |",
        "| Names (SAN) | `localhost, 127.0.0.1` |",
        "```mermaid\nflowchart TD\n",
        "    classDef visited ",
        "## Variables",
    ] {
        assert!(markdown.contains(expected), "missing {expected:?} in\n{markdown}");
    }
    // The demo renews the file within a second of the server's start, so which timeline
    // finding it gets depends on the precision of process start times on this machine.
    let timeline = ["stale.process_started_before_change", "process.timeline"]
        .into_iter()
        .find(|id| report.finding_ids().contains(id))
        .unwrap_or_else(|| panic!("no process timeline finding in {:?}", report.finding_ids()));
    for field in ["process\\_started", "cert\\_file\\_modified"] {
        let row = format!("| `{timeline}` | {field} | `");
        assert!(markdown.contains(&row), "missing {row:?} in\n{markdown}");
    }
    for field in ["served_initially", "served", "disk"] {
        let fingerprint = report.sha256(field);
        assert!(markdown.contains(fingerprint), "{field} fingerprint {fingerprint} missing in\n{markdown}");
    }
    let started = report.0["started_at"].as_str().expect("started_at is a string");
    assert!(markdown.contains(&format!("| Started | {started} |")), "{markdown}");
    // Every visited state is marked in the diagram.
    assert_eq!(markdown.matches(" visited\n").count(), report.path().len(), "{markdown}");
}

#[test]
fn chinese_markdown_report_uses_chinese() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("报告.md");
    let output = demo().lang(Some("zh-CN")).arg("--report").arg(&path).run();
    output.assert_code(0);
    let markdown = fs::read_to_string(&path).expect("the Markdown report is written");

    for expected in ["# certwiz 诊断报告：", "| 语言 | `zh-CN` |", "## 结论", "**已解决**", "## 诊断步骤", "### 第 1 步：", "## 流程图", "| 批准 | 已批准 (--yes) |"] {
        assert!(markdown.contains(expected), "missing {expected:?} in\n{markdown}");
    }
    assert!(!markdown.contains("## Verdict"), "{markdown}");
}

#[test]
fn json_report_file_equals_stdout() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.JSON");
    let output = demo().json().arg("--report").arg(&path).run();
    output.assert_code(0);

    let file: Value = serde_json::from_str(&fs::read_to_string(&path).expect("the JSON report is written")).expect("the file is JSON");
    assert_eq!(file, output.report().0);
    assert_eq!(file["flow"], "panel");
    assert_eq!(file["certwiz_version"], env!("CARGO_PKG_VERSION"));
    assert!(output.stderr.contains(&format!("Report written to {}", path.display())), "{}", output.context());
}

#[test]
fn unknown_report_extension_is_rejected_before_running() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("report.txt");
    let output = demo().arg("--report").arg(&path).run();

    output.assert_code(2);
    assert!(output.stderr.contains(&path.display().to_string()), "{}", output.context());
    assert!(output.stderr.contains(".md"), "{}", output.context());
    assert!(output.stderr.contains(".json"), "{}", output.context());
    assert!(!output.stderr.contains("check-status"), "the flow ran:\n{}", output.context());
    assert!(!path.exists());
}

#[test]
fn report_in_missing_directory_is_rejected() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let missing = dir.path().join("no-such-dir");
    let output = demo().arg("--report").arg(missing.join("report.md")).run();

    output.assert_code(2);
    assert!(output.stderr.contains(&format!("directory {} does not exist", missing.display())), "{}", output.context());
}

#[test]
fn answers_file_must_be_toml() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let output = demo().arg("--record-answers").arg(dir.path().join("answers.txt")).run();

    output.assert_code(2);
    assert!(output.stderr.contains("answers.txt"), "{}", output.context());
    assert!(output.stderr.contains(".toml"), "{}", output.context());
}

#[test]
fn recorded_answers_replay_the_same_path() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let answers = dir.path().join("answers.toml");
    let recorded = demo().json().arg("--record-answers").arg(&answers).run();
    recorded.assert_code(0);

    let text = fs::read_to_string(&answers).expect("the answers file is written");
    assert!(text.contains("warning = \"unsure\"  # default\n"), "{text}");
    assert!(text.contains("full-restart = \"yes\"  # --yes\n"), "{text}");

    // The replay has no --yes: the recorded approval is the only consent it gets.
    let replayed = Certwiz::new(["demo", "--non-interactive", "--json"]).answers(&answers).run();
    replayed.assert_code(0);
    assert_eq!(replayed.report().path(), recorded.report().path());
    let replayed_report = replayed.report();
    let sources: Vec<&str> = replayed_report.0["answers"]
        .as_array()
        .expect("answers is an array")
        .iter()
        .map(|answer| answer["source"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(sources, ["answers-file", "answers-file"]);
}

#[test]
fn declined_answer_replays_as_abort() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let answers = dir.path().join("answers.toml");
    fs::write(&answers, "warning = \"expired\"\nfull-restart = \"no\"\n").expect("write answers");
    let recorded_again = dir.path().join("again.toml");

    let output = Certwiz::new(["demo", "--non-interactive", "--json"])
        .answers(&answers)
        .arg("--record-answers")
        .arg(&recorded_again)
        .run();
    output.assert_code(3);
    let text = fs::read_to_string(&recorded_again).expect("the answers file is written");
    assert!(text.contains("warning = \"expired\"  # answers file\n"), "{text}");
    assert!(text.contains("full-restart = \"no\"  # answers file\n"), "{text}");
}
