//! The report of one run: what was visited, found, asked and done, as JSON and as Markdown.
//!
//! `docs/report-schema.md` documents every JSON field; a test compares it with real runs.

pub mod filter;
pub mod markdown;
pub mod output;
pub mod redact;
pub mod snapshot;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::action::CommandOutcome;
use crate::certs::CertSummary;
use crate::findings::Finding;
use crate::flow::EndOutcome;
use crate::i18n::Lang;
use crate::logs::LogScan;

/// Version of the JSON report layout; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Final outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Healthy,
    Resolved,
    Unresolved,
    Aborted,
}

impl From<EndOutcome> for Outcome {
    fn from(outcome: EndOutcome) -> Outcome {
        match outcome {
            EndOutcome::Healthy => Outcome::Healthy,
            EndOutcome::Resolved => Outcome::Resolved,
            EndOutcome::Unresolved => Outcome::Unresolved,
        }
    }
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Healthy | Outcome::Resolved => crate::exit::OK,
            Outcome::Unresolved => crate::exit::PROBLEM,
            Outcome::Aborted => crate::exit::ABORTED,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Healthy => "healthy",
            Outcome::Resolved => "resolved",
            Outcome::Unresolved => "unresolved",
            Outcome::Aborted => "aborted",
        }
    }
}

/// Source of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerSource {
    Prompt,
    AnswersFile,
    Default,
    Yes,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerRecord {
    pub question: String,
    pub choice: String,
    pub source: AnswerSource,
}

/// A command the flow proposed, whether it was approved, and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub state: String,
    pub command: Vec<String>,
    pub approved: bool,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: Option<u64>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// Name of the built-in operation, for actions certwiz performs itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
    /// Steps of the built-in operation, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
}

impl ActionRecord {
    /// Builds the record of a built-in operation; `succeeded` is `None` when it did not run.
    pub fn builtin(state: &str, name: &str, operations: Vec<String>, approved: bool, succeeded: Option<bool>) -> ActionRecord {
        let mut record = ActionRecord::declined(state, Vec::new());
        record.approved = approved;
        record.builtin = Some(name.to_string());
        record.operations = operations;
        record.exit_code = succeeded.map(|succeeded| if succeeded { 0 } else { 1 });
        record
    }

    pub fn declined(state: &str, command: Vec<String>) -> ActionRecord {
        ActionRecord {
            state: state.to_string(),
            command,
            approved: false,
            exit_code: None,
            timed_out: false,
            duration_ms: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            builtin: None,
            operations: Vec::new(),
        }
    }

    pub fn ran(state: &str, outcome: CommandOutcome) -> ActionRecord {
        ActionRecord {
            state: state.to_string(),
            command: outcome.argv,
            approved: true,
            exit_code: outcome.exit_code,
            timed_out: outcome.timed_out,
            duration_ms: Some(outcome.duration_ms),
            stdout_tail: outcome.stdout_tail,
            stderr_tail: outcome.stderr_tail,
            builtin: None,
            operations: Vec::new(),
        }
    }
}

/// Leaf summaries of the certificate the endpoint served and the one on disk.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Certificates {
    /// The most recent served leaf (after a fix, the one verify saw).
    pub served: Option<CertSummary>,
    /// The first served leaf, when a later probe saw another one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_initially: Option<CertSummary>,
    pub disk: Option<CertSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub certwiz_version: String,
    pub flow: String,
    pub lang: Lang,
    /// When the run started, RFC 3339 in UTC.
    pub started_at: String,
    /// Host names, addresses and user names were replaced by placeholders (`--redact`).
    pub redacted: bool,
    /// Ctrl-C ended the run; the report contains what happened until then.
    pub interrupted: bool,
    pub outcome: Outcome,
    /// State ids in visiting order.
    pub path: Vec<String>,
    pub verdict: String,
    pub next_step: String,
    pub findings: Vec<Finding>,
    pub answers: Vec<AnswerRecord>,
    pub actions: Vec<ActionRecord>,
    pub certificates: Certificates,
    pub logs: Vec<LogScan>,
    pub variables: BTreeMap<String, String>,
}

impl Report {
    pub fn new(flow: &str, lang: Lang) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            certwiz_version: env!("CARGO_PKG_VERSION").to_string(),
            flow: flow.to_string(),
            lang,
            started_at: now_rfc3339(),
            redacted: false,
            interrupted: false,
            outcome: Outcome::Aborted,
            path: Vec::new(),
            verdict: String::new(),
            next_step: String::new(),
            findings: Vec::new(),
            answers: Vec::new(),
            actions: Vec::new(),
            certificates: Certificates::default(),
            logs: Vec::new(),
            variables: BTreeMap::new(),
        }
    }

    /// Records a served leaf, keeping the first one when a later probe saw another.
    pub fn record_served(&mut self, leaf: CertSummary) {
        match &self.certificates.served {
            Some(previous) if previous.sha256 != leaf.sha256 && self.certificates.served_initially.is_none() => {
                self.certificates.served_initially = Some(previous.clone());
            }
            _ => {}
        }
        self.certificates.served = Some(leaf);
    }

    pub fn to_json(&self) -> String {
        // Every field is a plain string, number, list or map, so serialisation cannot fail.
        serde_json::to_string_pretty(self).expect("report serialises to JSON")
    }

    /// Returns a copy fit to leave the machine: private key blocks are always removed, and with
    /// a `redactor` host names, addresses, user names and home directories become placeholders.
    pub fn shareable(&self, redactor: Option<&mut redact::Redactor>) -> Report {
        let mut copy = self.clone();
        copy.scrub_log_keys();
        match redactor {
            Some(redactor) => {
                redactor.learn_report(self);
                copy.edit_strings(&mut |text| redactor.redact(text));
                copy.redacted = true;
            }
            None => copy.edit_strings(&mut |text| redact::scrub_private_keys(text)),
        }
        copy
    }

    /// Drops the log lines that hold a private key. A key logged line by line behind a log
    /// prefix arrives as one picked line per PEM line, so one scrubber follows a whole scan.
    fn scrub_log_keys(&mut self) {
        for scan in &mut self.logs {
            let mut scrubber = redact::KeyScrubber::default();
            scan.lines.retain_mut(|line| match scrubber.line(&line.text) {
                Some(kept) => {
                    line.text = kept;
                    true
                }
                None => false,
            });
        }
    }

    /// Applies `edit` to every string that can hold names, addresses, paths or pasted text.
    /// Ids, fingerprints, serials and dates are left alone.
    fn edit_strings(&mut self, edit: &mut dyn FnMut(&str) -> String) {
        self.verdict = edit(&self.verdict);
        self.next_step = edit(&self.next_step);
        for finding in &mut self.findings {
            finding.message = edit(&finding.message);
            edit_json(&mut finding.evidence, edit);
        }
        for action in &mut self.actions {
            edit_all(&mut action.command, edit);
            edit_all(&mut action.operations, edit);
            action.stdout_tail = edit(&action.stdout_tail);
            action.stderr_tail = edit(&action.stderr_tail);
        }
        let certificates = &mut self.certificates;
        for summary in [&mut certificates.served, &mut certificates.served_initially, &mut certificates.disk].into_iter().flatten() {
            summary.subject = edit(&summary.subject);
            summary.issuer = edit(&summary.issuer);
            edit_all(&mut summary.sans, edit);
        }
        for scan in &mut self.logs {
            scan.file = PathBuf::from(edit(&scan.file.to_string_lossy()));
            for line in &mut scan.lines {
                line.text = edit(&line.text);
            }
        }
        for value in self.variables.values_mut() {
            *value = edit(value);
        }
    }
}

fn edit_all(texts: &mut [String], edit: &mut dyn FnMut(&str) -> String) {
    for text in texts {
        *text = edit(text);
    }
}

/// Applies `edit` to every string value inside `value`; object keys are field names and stay.
fn edit_json(value: &mut serde_json::Value, edit: &mut dyn FnMut(&str) -> String) {
    match value {
        serde_json::Value::String(text) => *text = edit(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| edit_json(item, edit)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|field| edit_json(field, edit)),
        _ => {}
    }
}

fn now_rfc3339() -> String {
    // Formatting the current UTC time as RFC 3339 only fails for years beyond 9999.
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}
