//! The closed set of checks a flow file can wire together.

use serde::Serialize;

/// A check the engine can run. Flow files name these; they cannot add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// Probe the endpoint, read the files on disk, compare them and the process start time.
    Status,
    /// Read the certificate and key files again and validate the pair.
    Disk,
    /// Probe again with bounded retries until the service serves the file on disk.
    Verify,
    /// Read the tail of each log file and pick the lines about TLS, certificates and panics.
    Logs,
}

impl CheckKind {
    pub const ALL: [CheckKind; 4] = [CheckKind::Status, CheckKind::Disk, CheckKind::Verify, CheckKind::Logs];

    /// Parses the name a flow file uses.
    pub fn from_name(name: &str) -> Option<CheckKind> {
        CheckKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Status => "status",
            CheckKind::Disk => "disk",
            CheckKind::Verify => "verify",
            CheckKind::Logs => "logs",
        }
    }

    /// Outcomes this check can end with; a check state must wire each one to a next state.
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            CheckKind::Status => &["healthy", "stale", "file-bad", "unreachable"],
            CheckKind::Disk => &["valid", "invalid"],
            CheckKind::Verify => &["serving-disk-cert", "still-stale", "file-bad", "unreachable"],
            CheckKind::Logs => &["found", "clean"],
        }
    }

    /// Flow variables this check reads; a flow that uses the check must declare them.
    pub fn variables(self) -> &'static [&'static str] {
        const ENDPOINT_AND_FILES: &[&str] =
            &["host", "port", "server_name", "cert_file", "key_file", "ca_file", "timeout_secs"];
        match self {
            CheckKind::Status => ENDPOINT_AND_FILES,
            CheckKind::Disk => &["cert_file", "key_file"],
            CheckKind::Verify => &[
                "host",
                "port",
                "server_name",
                "cert_file",
                "key_file",
                "ca_file",
                "timeout_secs",
                "verify_attempts",
                "verify_interval_secs",
            ],
            CheckKind::Logs => &["log_files"],
        }
    }
}

/// Outcomes of an action state.
pub const ACTION_OUTCOMES: &[&str] = &["done", "failed"];

/// The extra outcome of an action state with `requires_valid_files`: the files failed validation.
pub const ACTION_BLOCKED: &str = "blocked";

/// Variables every action state reads besides its command.
pub const ACTION_VARIABLES: &[&str] = &["action_timeout_secs"];

/// Operations certwiz performs itself in an action state (`builtin = "..."`). A closed set, like
/// the checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinAction {}

impl BuiltinAction {
    pub const ALL: [BuiltinAction; 0] = [];

    /// Parses the name a flow file uses.
    pub fn from_name(name: &str) -> Option<BuiltinAction> {
        BuiltinAction::ALL.into_iter().find(|action| action.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {}
    }

    /// Flow variables the operation reads; a flow that uses it must declare them.
    pub fn variables(self) -> &'static [&'static str] {
        match self {}
    }
}
