//! The report of one run: what was visited, found, asked and done, as JSON and as text.

use std::collections::BTreeMap;

use serde::Serialize;

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
}
