//! The report as a Markdown transcript in the run's language, for pasting into a ticket:
//! each visited state with its evidence, answers and commands, the verdict, and the flowchart
//! as a Mermaid diagram with the path taken marked.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use rust_i18n::t;

use super::{ActionRecord, AnswerSource, Report};
use crate::certs::CertSummary;
use crate::checks::disk::format_time;
use crate::findings::{Finding, Severity};
use crate::flow::{self, Flow, State, Step};
use crate::logs::LogScan;

/// Renders `report` of a run of `flow` as Markdown, in the report's language.
pub fn render(report: &Report, flow: &Flow) -> String {
    let mut markdown = Markdown { out: String::new(), locale: report.lang.code(), report, flow };
    markdown.header();
    markdown.verdict();
    markdown.steps();
    markdown.leftover_evidence();
    markdown.flowchart();
    markdown.variables();
    markdown.out
}

/// Reads one field of a certificate for a table row.
type CertificateField = fn(&CertSummary) -> String;

/// A certificate of the report and the column label it gets.
struct LabelledCertificate<'a> {
    label: String,
    summary: &'a CertSummary,
}

struct Markdown<'a> {
    out: String,
    locale: &'static str,
    report: &'a Report,
    flow: &'a Flow,
}

impl Markdown<'_> {
    fn line(&mut self, text: &str) {
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn text(&self, key: &str) -> String {
        t!(key, locale = self.locale).into_owned()
    }

    fn header(&mut self) {
        let report = self.report;
        let title = self.flow.title.get(report.lang).to_string();
        self.line(&format!("# {}", escape(&t!("report.md.title", locale = self.locale, flow = title))));
        self.line("");

        let yes_no = |value: bool| if value { self.text("report.md.yes") } else { self.text("report.md.no") };
        let rows = [
            (self.text("report.md.version"), code_cell(&report.certwiz_version)),
            (self.text("report.md.flow"), format!("{} ({})", cell(&title), code_cell(&report.flow))),
            (self.text("report.md.started"), cell(&report.started_at)),
            (self.text("report.md.language"), code_cell(report.lang.code())),
            (self.text("report.md.outcome"), format!("**{}**", cell(&self.outcome_name()))),
            (self.text("report.md.redacted"), yes_no(report.redacted)),
        ];
        self.line(&format!("| {} | {} |", self.text("report.md.field"), self.text("report.md.value")));
        self.line("|---|---|");
        for (field, value) in rows {
            self.line(&format!("| {} | {value} |", cell(&field)));
        }
        self.line("");

        if report.interrupted {
            self.line(&format!("> {}", escape(&self.text("report.md.interrupted"))));
            self.line("");
        }
        if report.redacted {
            self.line(&format!("> {}", escape(&self.text("report.md.redacted_note"))));
            self.line("");
        }
    }

    fn outcome_name(&self) -> String {
        let key = format!("outcome.{}", self.report.outcome.name());
        t!(&key, locale = self.locale).into_owned()
    }

    fn verdict(&mut self) {
        let report = self.report;
        self.line(&format!("## {}", self.text("report.md.verdict")));
        self.line("");
        self.line(&format!("**{}**: {}", escape(&self.outcome_name()), escape(&report.verdict)));
        self.line("");
        if !report.next_step.is_empty() {
            self.line(&format!("**{}**: {}", escape(&self.text("report.md.next_step")), escape(&report.next_step)));
            self.line("");
        }
        let path: Vec<String> = report.path.iter().map(|id| code(id)).collect();
        self.line(&format!("**{}**: {}", escape(&self.text("report.md.path")), path.join(" → ")));
        self.line("");
    }

    fn steps(&mut self) {
        self.line(&format!("## {}", self.text("report.md.steps")));
        self.line("");
        let mut listed = BTreeSet::new();
        for id in &self.report.path {
            if !listed.insert(id.as_str()) {
                continue;
            }
            let steps: Vec<String> = self
                .report
                .path
                .iter()
                .enumerate()
                .filter(|(_, visited)| *visited == id)
                .map(|(index, _)| (index + 1).to_string())
                .collect();
            match self.flow.index_of(id) {
                Some(index) => self.state(self.flow.state(index), &steps.join(", ")),
                None => self.line(&format!("### {}", code(id))),
            }
        }
    }

    fn state(&mut self, state: &State, steps: &str) {
        let report = self.report;
        let lang = report.lang;
        let title = t!("report.md.step", locale = self.locale, steps = steps, title = state.title.get(lang));
        self.line(&format!("### {} ({})", escape(&title), code(&state.id)));
        self.line("");
        self.line(&format!("*{}*", escape(&self.kind(&state.step))));
        self.line("");
        if let Some(text) = &state.text {
            self.line(&escape(text.get(lang)));
            self.line("");
        }

        self.answers(state);
        self.actions(&state.id);
        let findings: Vec<&Finding> = report.findings.iter().filter(|finding| finding.state == state.id).collect();
        self.findings(&findings);
        self.certificates(&certificates_seen_by(report, &findings, self.locale));
        for scan in logs_named_by(report, &findings) {
            self.log_scan(scan);
        }
        if let Step::End { .. } = state.step {
            self.line(&format!("**{}**: {}", escape(&self.text("report.md.outcome")), escape(&self.outcome_name())));
            self.line("");
        }
    }

    fn kind(&self, step: &Step) -> String {
        match step {
            Step::Check { check, .. } => t!("report.md.kind.check", locale = self.locale, check = check.name()).into_owned(),
            Step::Question { .. } => self.text("report.md.kind.question"),
            Step::Action { .. } => self.text("report.md.kind.action"),
            Step::End { .. } => self.text("report.md.kind.end"),
        }
    }

    fn source(&self, source: AnswerSource) -> String {
        match source {
            AnswerSource::Prompt => self.text("report.md.source.prompt"),
            AnswerSource::AnswersFile => self.text("report.md.source.answers_file"),
            AnswerSource::Default => self.text("report.md.source.default"),
            AnswerSource::Yes => self.text("report.md.source.yes"),
        }
    }

    /// Writes the answers to a question. Approvals of actions are written with the action.
    fn answers(&mut self, state: &State) {
        let Step::Question { choices, .. } = &state.step else { return };
        let report = self.report;
        for answer in report.answers.iter().filter(|answer| answer.question == state.id) {
            let label = choices
                .iter()
                .find(|choice| choice.id == answer.choice)
                .map(|choice| choice.text.get(report.lang).to_string())
                .unwrap_or_default();
            let line = t!(
                "report.md.answer_line",
                locale = self.locale,
                heading = escape(&self.text("report.md.answer")),
                label = escape(&label),
                choice = code(&answer.choice),
                source = escape(&self.source(answer.source))
            );
            self.line(&line);
            self.line("");
        }
    }

    fn approval(&self, state: &str, approved: bool) -> String {
        let word = if approved { self.text("report.md.approved") } else { self.text("report.md.declined") };
        match self.report.answers.iter().find(|answer| answer.question == state) {
            Some(answer) => format!("{word} ({})", self.source(answer.source)),
            None => word,
        }
    }

    fn actions(&mut self, state: &str) {
        let report = self.report;
        let actions: Vec<&ActionRecord> = report.actions.iter().filter(|action| action.state == state).collect();
        for action in actions {
            self.action(action);
        }
    }

    fn action(&mut self, action: &ActionRecord) {
        let mut rows = Vec::new();
        if !action.command.is_empty() {
            let command = shlex::try_join(action.command.iter().map(String::as_str)).unwrap_or_else(|_| action.command.join(" "));
            rows.push((self.text("report.md.command"), code_cell(&command)));
        }
        if let Some(builtin) = &action.builtin {
            rows.push((self.text("report.md.builtin"), code_cell(builtin)));
        }
        rows.push((self.text("report.md.approval"), cell(&self.approval(&action.state, action.approved))));
        let exit_code = match action.exit_code {
            Some(code) => code.to_string(),
            None if action.approved => "—".to_string(),
            None => self.text("report.md.not_run"),
        };
        rows.push((self.text("report.md.exit_code"), code_cell(&exit_code)));
        if action.timed_out {
            rows.push((self.text("report.md.timed_out"), self.text("report.md.yes")));
        }
        if let Some(ms) = action.duration_ms {
            rows.push((self.text("report.md.duration"), cell(&t!("report.md.duration_ms", locale = self.locale, ms = ms))));
        }
        self.table(&[self.text("report.md.field"), self.text("report.md.value")], rows.into_iter().map(|(a, b)| vec![cell(&a), b]));

        if !action.operations.is_empty() {
            self.line(&format!("**{}**:", escape(&self.text("report.md.operations"))));
            self.line("");
            for operation in &action.operations {
                self.line(&format!("- {}", escape(operation)));
            }
            self.line("");
        }
        for (key, tail) in [("report.md.stdout", &action.stdout_tail), ("report.md.stderr", &action.stderr_tail)] {
            if !tail.trim().is_empty() {
                self.line(&format!("**{}**:", escape(&self.text(key))));
                self.line("");
                self.line(&fence(tail.trim_end(), "text"));
                self.line("");
            }
        }
    }

    fn findings(&mut self, findings: &[&Finding]) {
        if findings.is_empty() {
            return;
        }
        self.line(&format!("#### {}", self.text("report.md.findings")));
        self.line("");
        let header = [self.text("report.md.severity"), self.text("report.md.finding"), self.text("report.md.message")];
        let rows: Vec<Vec<String>> = findings
            .iter()
            .map(|finding| vec![self.severity(finding.severity), code_cell(&finding.id), cell(&finding.message)])
            .collect();
        self.table(&header, rows.into_iter());

        let mut evidence = Vec::new();
        for finding in findings {
            for (field, value) in flatten(&finding.evidence) {
                evidence.push(vec![code_cell(&finding.id), cell(&field), code_cell(&value)]);
            }
        }
        if !evidence.is_empty() {
            self.line(&format!("#### {}", self.text("report.md.evidence")));
            self.line("");
            let header = [self.text("report.md.finding"), self.text("report.md.field"), self.text("report.md.value")];
            self.table(&header, evidence.into_iter());
        }
    }

    fn severity(&self, severity: Severity) -> String {
        let (marker, key) = match severity {
            Severity::Ok => ("✓", "report.md.severity.ok"),
            Severity::Info => ("·", "report.md.severity.info"),
            Severity::Warning => ("!", "report.md.severity.warning"),
            Severity::Error => ("✗", "report.md.severity.error"),
        };
        format!("{marker} {}", self.text(key))
    }

    fn certificates(&mut self, certificates: &[LabelledCertificate<'_>]) {
        if certificates.is_empty() {
            return;
        }
        self.line(&format!("#### {}", self.text("report.md.certificates")));
        self.line("");
        let mut header = vec![self.text("report.md.field")];
        header.extend(certificates.iter().map(|certificate| certificate.label.clone()));
        let fields: [(&str, CertificateField); 7] = [
            ("report.md.cert.subject", |summary| summary.subject.clone()),
            ("report.md.cert.sans", |summary| summary.sans.join(", ")),
            ("report.md.cert.issuer", |summary| summary.issuer.clone()),
            ("report.md.cert.serial", |summary| summary.serial.clone()),
            ("report.md.cert.not_before", |summary| format_time(summary.not_before)),
            ("report.md.cert.not_after", |summary| format_time(summary.not_after)),
            ("report.md.cert.sha256", |summary| summary.sha256.clone()),
        ];
        let rows: Vec<Vec<String>> = fields
            .iter()
            .map(|(key, value)| {
                let mut row = vec![cell(&self.text(key))];
                row.extend(certificates.iter().map(|certificate| code_cell(&value(certificate.summary))));
                row
            })
            .collect();
        self.table(&header, rows.into_iter());
    }

    fn log_scan(&mut self, scan: &LogScan) {
        let path = scan.file.display().to_string();
        self.line(&format!("#### {}", escape(&t!("report.md.logs", locale = self.locale, path = path))));
        self.line("");
        let read = t!(
            "report.md.logs_read",
            locale = self.locale,
            lines = scan.lines.len(),
            picked = scan.picked_total,
            bytes = scan.bytes_read,
            size = scan.file_size
        );
        self.line(&escape(&read));
        self.line("");
        if !scan.lines.is_empty() {
            let mut text = String::new();
            for line in &scan.lines {
                let kind = serde_json::to_value(line.kind).ok().and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default();
                let _ = writeln!(text, "{} [{kind}] {}", line.timestamp.as_deref().unwrap_or("-"), line.text);
            }
            self.line(&fence(text.trim_end(), "text"));
            self.line("");
        }
    }

    /// Certificates and log scans that no state's findings point at, so nothing is left out.
    fn leftover_evidence(&mut self) {
        let report = self.report;
        let all_findings: Vec<&Finding> = report.findings.iter().collect();
        let named = named_fingerprints(&all_findings);
        let certificates: Vec<LabelledCertificate<'_>> = labelled_certificates(report, self.locale)
            .into_iter()
            .filter(|certificate| !named.contains_key(&certificate.summary.sha256))
            .collect();
        let named_logs: Vec<&LogScan> = logs_named_by(report, &all_findings);
        let logs: Vec<&LogScan> = report.logs.iter().filter(|scan| !named_logs.iter().any(|named| std::ptr::eq(*named, *scan))).collect();
        if certificates.is_empty() && logs.is_empty() {
            return;
        }
        self.line(&format!("## {}", self.text("report.md.other_evidence")));
        self.line("");
        self.certificates(&certificates);
        for scan in logs {
            self.log_scan(scan);
        }
    }

    fn flowchart(&mut self) {
        self.line(&format!("## {}", self.text("report.md.flowchart")));
        self.line("");
        self.line(&escape(&self.text("report.md.flowchart_note")));
        self.line("");
        let taken: Vec<(&str, &str)> =
            self.report.answers.iter().map(|answer| (answer.question.as_str(), answer.choice.as_str())).collect();
        let diagram = flow::mermaid::render_run(self.flow, self.report.lang, &self.report.path, &taken);
        self.line(&fence(diagram.trim_end(), "mermaid"));
        self.line("");
    }

    fn variables(&mut self) {
        if self.report.variables.is_empty() {
            return;
        }
        self.line(&format!("## {}", self.text("report.md.variables")));
        self.line("");
        let header = [self.text("report.md.name"), self.text("report.md.value")];
        let rows: Vec<Vec<String>> =
            self.report.variables.iter().map(|(name, value)| vec![code_cell(name), code_cell(value)]).collect();
        self.table(&header, rows.into_iter());
    }

    /// Writes a table; `header` is plain text, the row cells are already escaped.
    fn table(&mut self, header: &[String], rows: impl Iterator<Item = Vec<String>>) {
        let header: Vec<String> = header.iter().map(|title| cell(title)).collect();
        self.line(&format!("| {} |", header.join(" | ")));
        self.line(&format!("|{}", "---|".repeat(header.len())));
        for row in rows {
            self.line(&format!("| {} |", row.join(" | ")));
        }
        self.line("");
    }
}

/// Returns the distinct first-served, served and on-disk certificates, each labelled with every
/// role it has ("Served / On disk" when the server serves the file).
fn labelled_certificates<'a>(report: &'a Report, locale: &str) -> Vec<LabelledCertificate<'a>> {
    let certificates = &report.certificates;
    let roles = [
        ("report.md.cert.served_initially", &certificates.served_initially),
        ("report.md.cert.served", &certificates.served),
        ("report.md.cert.disk", &certificates.disk),
    ];
    let mut labelled: Vec<LabelledCertificate<'a>> = Vec::new();
    for (key, summary) in roles {
        let Some(summary) = summary.as_ref() else { continue };
        let role = t!(key, locale = locale).into_owned();
        match labelled.iter_mut().find(|known| known.summary.sha256 == summary.sha256) {
            Some(known) => known.label = format!("{} / {role}", known.label),
            None => labelled.push(LabelledCertificate { label: role, summary }),
        }
    }
    labelled
}

/// Returns the certificates whose fingerprint one of `findings` names in its evidence, each
/// labelled with the role those findings give it. A step that saw the old certificate served
/// and the renewed one on disk labels them so, even if the run later served the renewed one.
fn certificates_seen_by<'a>(report: &'a Report, findings: &[&Finding], locale: &str) -> Vec<LabelledCertificate<'a>> {
    let named = named_fingerprints(findings);
    let mut seen = Vec::new();
    for certificate in labelled_certificates(report, locale) {
        let Some(role_keys) = named.get(&certificate.summary.sha256) else { continue };
        let roles: Vec<String> = ROLE_KEYS
            .iter()
            .filter(|key| role_keys.contains(*key))
            .map(|key| t!(*key, locale = locale).into_owned())
            .collect();
        seen.push(LabelledCertificate { label: roles.join(" / "), summary: certificate.summary });
    }
    seen
}

/// Catalog keys of the roles a step can give a certificate, in the order labels list them.
const ROLE_KEYS: [&str; 3] = ["report.md.cert.served", "report.md.cert.disk", "report.md.cert.named"];

/// Maps each fingerprint that `findings` name in their evidence to the catalog keys of the
/// roles they name it in: `served_sha256` is the served certificate, `disk_sha256` the one on
/// disk, and a plain `sha256` takes its role from the finding id (`served.*`, `disk.*`).
fn named_fingerprints(findings: &[&Finding]) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut named: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for finding in findings {
        let namespace = finding.id.split('.').next().unwrap_or_default();
        let plain_role = match namespace {
            "served" | "verify" | "endpoint" => "report.md.cert.served",
            "disk" => "report.md.cert.disk",
            _ => "report.md.cert.named",
        };
        for (key, role) in [("sha256", plain_role), ("served_sha256", "report.md.cert.served"), ("disk_sha256", "report.md.cert.disk")] {
            if let Some(fingerprint) = finding.evidence.get(key).and_then(|value| value.as_str()) {
                named.entry(fingerprint.to_string()).or_default().insert(role);
            }
        }
    }
    named
}

/// Returns the log scans whose file one of `findings` names as its evidence `path`.
fn logs_named_by<'a>(report: &'a Report, findings: &[&Finding]) -> Vec<&'a LogScan> {
    let paths: Vec<&str> = findings.iter().filter_map(|finding| finding.evidence.get("path").and_then(|value| value.as_str())).collect();
    report
        .logs
        .iter()
        .filter(|scan| {
            let file = scan.file.to_string_lossy();
            paths.iter().any(|path| *path == file)
        })
        .collect()
}

/// Flattens evidence into `(field, value)` rows: nested fields get dotted names, lists of
/// plain values are joined with commas.
fn flatten(value: &serde_json::Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    flatten_into("", value, &mut rows);
    rows
}

fn flatten_into(prefix: &str, value: &serde_json::Value, rows: &mut Vec<(String, String)>) {
    use serde_json::Value;
    let name = |key: &str| if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                flatten_into(&name(key), field, rows);
            }
        }
        Value::Array(items) if items.iter().all(|item| !item.is_object() && !item.is_array()) => {
            let texts: Vec<String> = items.iter().map(scalar).collect();
            rows.push((prefix.to_string(), texts.join(", ")));
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten_into(&format!("{prefix}[{index}]"), item, rows);
            }
        }
        other => rows.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => "—".to_string(),
        other => other.to_string(),
    }
}

/// Escapes text so that Markdown shows it as written and no HTML gets through.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '*' | '_' | '[' | ']' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            other => out.push(other),
        }
    }
    out
}

/// Escapes text for a table cell: one line, and a `|` does not end the cell.
fn cell(text: &str) -> String {
    escape(text).replace('|', "\\|").replace("\r\n", "<br>").replace('\n', "<br>")
}

/// Formats an inline code span, with a fence longer than any backtick run inside.
fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = longest_backtick_run(&text);
    let ticks = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// Formats a code span for a table cell, where GitHub Flavored Markdown needs `|` escaped even
/// inside code.
fn code_cell(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    code(text).replace('|', "\\|")
}

/// Formats a fenced code block, with a fence longer than any backtick run inside.
fn fence(text: &str, info: &str) -> String {
    let ticks = "`".repeat(longest_backtick_run(text).max(2) + 1);
    format!("{ticks}{info}\n{text}\n{ticks}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::embedded;
    use crate::i18n::Lang;
    use crate::report::{AnswerRecord, Outcome};
    use serde_json::json;

    fn sample(lang: Lang) -> Report {
        let mut report = Report::new("panel", lang);
        report.path = ["warning", "check-status", "full-restart", "verify", "resolved"].map(String::from).to_vec();
        report.outcome = Outcome::Resolved;
        report.verdict = "The endpoint now serves the certificate on disk.".to_string();
        report.next_step = "Reload the page.".to_string();
        report.answers.push(AnswerRecord { question: "warning".into(), choice: "expired".into(), source: AnswerSource::Prompt });
        report.answers.push(AnswerRecord { question: "full-restart".into(), choice: "yes".into(), source: AnswerSource::Yes });
        let mut finding = Finding::new(
            "stale.process_started_before_change",
            Severity::Warning,
            "process 42 started before the file changed | really",
            json!({ "pid": 42, "process_started": "2026-01-01 10:00:00.000 UTC", "cert_file_modified": "2026-01-02 10:00:00.000 UTC" }),
        );
        finding.state = "check-status".to_string();
        report.findings.push(finding);
        let mut action = ActionRecord::declined("full-restart", vec!["systemctl".into(), "restart".into(), "1panel".into()]);
        action.approved = true;
        action.exit_code = Some(0);
        action.duration_ms = Some(120);
        report.actions.push(action);
        report.variables.insert("port".into(), "8443".into());
        report
    }

    fn panel() -> Flow {
        embedded("panel").unwrap().unwrap()
    }

    #[test]
    fn english_report_has_every_section() {
        let text = render(&sample(Lang::En), &panel());
        assert!(text.starts_with("# certwiz report: 1Panel panel certificate\n"), "{text}");
        for expected in [
            "## Verdict",
            "**resolved**: The endpoint now serves the certificate on disk.",
            "**Next step**: Reload the page.",
            "### Step 1: The warning (`warning`)",
            "**Answer**: The certificate has expired (`expired`), answered at the prompt",
            "| Command | `systemctl restart 1panel` |",
            "| Approval | approved (--yes) |",
            "| Exit code | `0` |",
            "process 42 started before the file changed \\| really",
            "| `stale.process_started_before_change` | process\\_started | `2026-01-01 10:00:00.000 UTC` |",
            "```mermaid\nflowchart TD\n",
            "class s0 visited",
            "| `port` | `8443` |",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn chinese_report_uses_chinese_headings() {
        let text = render(&sample(Lang::ZhCn), &panel());
        assert!(text.starts_with("# certwiz 诊断报告：1Panel 面板证书\n"), "{text}");
        for expected in ["## 结论", "**已解决**", "### 第 1 步：浏览器警告 (`warning`)", "## 流程图", "检查正在使用的证书"] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        assert!(!text.contains("## Verdict"));
    }

    #[test]
    fn repeated_state_is_listed_once_with_its_steps() {
        let mut report = sample(Lang::En);
        report.path = ["warning", "check-status", "reconfirm", "recheck-files", "reconfirm"].map(String::from).to_vec();
        let text = render(&report, &panel());
        assert_eq!(text.matches("(`reconfirm`)").count(), 1, "{text}");
        assert!(text.contains("### Step 3, 5: Re-confirm the certificate (`reconfirm`)"), "{text}");
    }

    fn summary(sha256: &str) -> CertSummary {
        CertSummary {
            subject: format!("CN={sha256}"),
            sans: vec!["localhost".to_string()],
            issuer: "CN=Test CA".to_string(),
            serial: "01".to_string(),
            not_before: time::OffsetDateTime::UNIX_EPOCH,
            not_after: time::OffsetDateTime::UNIX_EPOCH,
            sha256: sha256.to_string(),
        }
    }

    /// Returns the text of the step section whose heading ends with `(`id`)`.
    fn step_section<'a>(text: &'a str, id: &str) -> &'a str {
        let heading = format!("(`{id}`)\n");
        let start = text.find(&heading).unwrap_or_else(|| panic!("no step {id} in\n{text}"));
        let end = text[start..].find("\n### ").map_or(text.len(), |end| start + end);
        &text[start..end]
    }

    #[test]
    fn step_certificates_show_roles_seen_at_that_step() {
        let mut report = sample(Lang::En);
        report.record_served(summary("OLD"));
        report.record_served(summary("NEW"));
        report.certificates.disk = Some(summary("NEW"));
        let mut stale = Finding::new(
            "stale.served_differs_from_disk",
            Severity::Warning,
            "the served certificate differs from the file",
            json!({ "served_sha256": "OLD", "disk_sha256": "NEW" }),
        );
        stale.state = "check-status".to_string();
        report.findings.push(stale);
        let mut verified = Finding::new("verify.serving_disk_cert", Severity::Ok, "now served", json!({ "served_sha256": "NEW", "disk_sha256": "NEW" }));
        verified.state = "verify".to_string();
        report.findings.push(verified);

        let text = render(&report, &panel());
        let check_status = step_section(&text, "check-status");
        assert!(check_status.contains("| Field | Served | On disk |"), "{check_status}");
        assert!(!check_status.contains("Served / On disk"), "{check_status}");
        let verify = step_section(&text, "verify");
        assert!(verify.contains("| Field | Served / On disk |"), "{verify}");
    }

    #[test]
    fn chinese_answer_uses_chinese_punctuation() {
        let mut report = sample(Lang::ZhCn);
        report.answers[0].choice = "unsure".to_string();
        let text = render(&report, &panel());
        assert!(text.contains("（`unsure`），在提示中回答"), "{text}");
        assert!(!text.contains("`), "), "{text}");
    }

    #[test]
    fn flowchart_marks_the_chosen_answer() {
        let mut report = sample(Lang::En);
        report.answers[0].choice = "unsure".to_string();
        let text = render(&report, &panel());
        let flowchart = &text[text.find("```mermaid").expect("a flowchart")..];
        let edges: Vec<&str> = flowchart.lines().filter(|line| line.contains("-->")).collect();
        let unsure = edges.iter().position(|edge| edge.trim().starts_with("s0 -->|unsure|")).expect("an unsure edge");
        let expired = edges.iter().position(|edge| edge.trim().starts_with("s0 -->|expired|")).expect("an expired edge");
        assert!(flowchart.contains(&format!("linkStyle {unsure} ")), "{flowchart}");
        assert!(!flowchart.contains(&format!("linkStyle {expired} ")), "{flowchart}");
    }

    #[test]
    fn code_spans_outlast_backticks() {
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(fence("```\nx", "text"), "````text\n```\nx\n````");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<script>&"), "&lt;script&gt;&amp;");
        assert_eq!(cell("a|b\nc"), "a\\|b<br>c");
    }
}
