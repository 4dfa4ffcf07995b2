//! `docs/report-schema.md` lists exactly the JSON fields certwiz produces: every field of a
//! report with every optional part filled is documented, every documented field is in it, and
//! real runs produce no field the document lacks.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use certwiz::certs::CertSummary;
use certwiz::findings::{Finding, Severity};
use certwiz::i18n::Lang;
use certwiz::logs::{LineKind, LogLine, LogScan};
use certwiz::report::{ActionRecord, AnswerRecord, AnswerSource, Report};
use serde_json::{json, Value};
use support::{closed_port, Certwiz, Site};

/// Objects whose keys are data, not schema: they are documented as a whole.
const FREE_FORM: &[&str] = &["findings[].evidence", "variables"];

/// The certificate slots that `certificates.*` in the document stands for.
const CERTIFICATE_SLOTS: &[&str] = &["served", "served_initially", "disk"];

/// Returns the field paths of the table under `## Fields` in the schema document.
fn documented_fields() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report-schema.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let section = text.split("\n## Fields\n").nth(1).expect("the document has a `## Fields` section");
    let section = section.split("\n## ").next().unwrap_or(section);

    let mut fields = BTreeSet::new();
    for line in section.lines() {
        let Some(cell) = line.strip_prefix("| `") else { continue };
        let Some((field, _)) = cell.split_once('`') else { continue };
        match field.strip_prefix("certificates.*.") {
            Some(rest) => {
                for slot in CERTIFICATE_SLOTS {
                    fields.insert(format!("certificates.{slot}.{rest}"));
                }
            }
            None => {
                fields.insert(field.to_string());
            }
        }
    }
    assert!(fields.len() > 40, "found only {} fields in {}", fields.len(), path.display());
    fields
}

/// Collects the field paths of a JSON report in the document's notation.
fn produced_fields(report: &Value) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    collect("", report, &mut fields);
    fields
}

fn collect(path: &str, value: &Value, fields: &mut BTreeSet<String>) {
    if !path.is_empty() {
        fields.insert(path.to_string());
    }
    if FREE_FORM.contains(&path) {
        return;
    }
    let child = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match value {
        Value::Object(object) => {
            for (key, field) in object {
                collect(&child(key), field, fields);
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|item| item.is_object()) {
                collect(&format!("{path}[]"), item, fields);
            }
            // The element path itself is not a field; only its members are.
            fields.remove(&format!("{path}[]"));
        }
        _ => {}
    }
}

fn certificate(name: &str) -> CertSummary {
    CertSummary {
        subject: format!("CN={name}"),
        sans: vec![name.to_string()],
        issuer: "CN=certwiz test CA".to_string(),
        serial: "01:02".to_string(),
        not_before: time::OffsetDateTime::UNIX_EPOCH,
        not_after: time::OffsetDateTime::UNIX_EPOCH,
        sha256: format!("{name}-fingerprint"),
    }
}

/// Builds a report with every optional part present: a built-in action, a first-served
/// certificate, and a log scan with a line.
fn full_report() -> Value {
    let mut report = Report::new("panel", Lang::En);
    report.path.push("warning".to_string());
    report.findings.push(Finding::new("served.expired", Severity::Error, "expired", json!({ "address": "127.0.0.1:443" })));
    report.answers.push(AnswerRecord { question: "warning".into(), choice: "expired".into(), source: AnswerSource::Prompt });
    report.actions.push(ActionRecord::builtin("sync-files", "panel-sync-files", vec!["write server.crt".into()], true, Some(true)));
    report.record_served(certificate("old.example"));
    report.record_served(certificate("new.example"));
    report.certificates.disk = Some(certificate("new.example"));
    report.logs.push(LogScan {
        file: PathBuf::from("/var/log/1panel.log"),
        file_size: 10,
        bytes_read: 10,
        truncated: false,
        lines: vec![LogLine { timestamp: Some("2026-01-01 10:00:00".into()), kind: LineKind::Panic, text: "panic: x".into() }],
        picked_total: 1,
    });
    report.variables.insert("port".into(), "443".into());
    serde_json::from_str(&report.to_json()).expect("the report is JSON")
}

#[test]
fn documented_fields_match_full_report() {
    let documented = documented_fields();
    let produced = produced_fields(&full_report());

    let undocumented: Vec<&String> = produced.difference(&documented).collect();
    assert!(undocumented.is_empty(), "fields missing from docs/report-schema.md: {undocumented:?}");
    let unknown: Vec<&String> = documented.difference(&produced).collect();
    assert!(unknown.is_empty(), "docs/report-schema.md lists fields the report does not have: {unknown:?}");
}

#[test]
fn demo_run_fields_are_documented() {
    let output = Certwiz::new(["demo", "--yes", "--non-interactive", "--json"]).run();
    output.assert_code(0);
    let produced = produced_fields(&output.report().0);

    let documented = documented_fields();
    let undocumented: Vec<&String> = produced.difference(&documented).collect();
    assert!(undocumented.is_empty(), "fields missing from docs/report-schema.md: {undocumented:?}");
    assert!(produced.contains("certificates.served_initially.sha256"), "{produced:?}");
    assert!(produced.contains("actions[].duration_ms"), "{produced:?}");
}

#[test]
fn log_reading_run_fields_are_documented() {
    let site = Site::new();
    site.install(&site.issue_valid());
    fs::write(site.log_file(), "2026/01/02 10:00:00 http: TLS handshake error from 127.0.0.1:5555: EOF\n").expect("write the log");
    let output = site.diagnose_port(closed_port()).json().run();
    output.assert_code(1);
    let produced = produced_fields(&output.report().0);

    let documented = documented_fields();
    let undocumented: Vec<&String> = produced.difference(&documented).collect();
    assert!(undocumented.is_empty(), "fields missing from docs/report-schema.md: {undocumented:?}");
    assert!(produced.contains("logs[].lines[].timestamp"), "{produced:?}");
}
