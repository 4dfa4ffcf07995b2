//! Findings: what a check established, with a stable id, a severity and the evidence behind it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Error,
}

/// One fact a check established. `id` is stable and documented; `message` is in the run's language.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub message: String,
    pub evidence: serde_json::Value,
    /// State whose check produced it.
    pub state: String,
}

impl Finding {
    pub fn new(id: &str, severity: Severity, message: impl Into<String>, evidence: serde_json::Value) -> Finding {
        Finding { id: id.to_string(), severity, message: message.into(), evidence, state: String::new() }
    }
}
