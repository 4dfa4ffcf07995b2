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
    /// Find the nginx server block for a domain, map its certificate files to the host, and
    /// compare them with what the port serves.
    SiteStatus,
    /// Everything `status` does, plus the 1Panel settings database: the third copy of the
    /// certificate, HTTPS turned off, a restart loop and the renewal timeline.
    PanelStatus,
    /// Read the panel's logs, their newest rotated copies and the unit's journal.
    PanelLogs,
}

impl CheckKind {
    pub const ALL: [CheckKind; 7] = [
        CheckKind::Status,
        CheckKind::Disk,
        CheckKind::Verify,
        CheckKind::Logs,
        CheckKind::SiteStatus,
        CheckKind::PanelStatus,
        CheckKind::PanelLogs,
    ];

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
            CheckKind::SiteStatus => "site-status",
            CheckKind::PanelStatus => "panel-status",
            CheckKind::PanelLogs => "panel-logs",
        }
    }

    /// Outcomes this check can end with; a check state must wire each one to a next state.
    pub fn outcomes(self) -> &'static [&'static str] {
        match self {
            CheckKind::Status => &["healthy", "stale", "other-file", "file-bad", "unreachable"],
            CheckKind::Disk => &["valid", "invalid"],
            CheckKind::Verify => &["serving-disk-cert", "still-stale", "file-bad", "unreachable"],
            CheckKind::Logs => &["found", "clean"],
            CheckKind::SiteStatus => &[
                "healthy",
                "stale",
                "wrong-file",
                "chain-incomplete",
                "sni-fallthrough",
                "stale-inode",
                "file-bad",
                "config-unknown",
                "unreachable",
            ],
            CheckKind::PanelStatus => &[
                "healthy",
                "stale",
                "other-file",
                "file-bad",
                "unreachable",
                "file-behind-db",
                "db-unusable",
                "ssl-disabled",
                "restart-loop",
            ],
            CheckKind::PanelLogs => &["found", "clean"],
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
            CheckKind::SiteStatus => &[
                "domain",
                "host",
                "port",
                "container",
                "nginx_dump_command",
                "conf_file",
                "expected_cert_file",
                "test_command",
                "reload_command",
                "log_files",
                "ca_file",
                "timeout_secs",
                "action_timeout_secs",
            ],
            CheckKind::PanelStatus => &[
                "host",
                "port",
                "server_name",
                "cert_file",
                "key_file",
                "ca_file",
                "timeout_secs",
                "db_file",
                "ssl_db_file",
                "panel_version",
                "unit",
                "log_files",
            ],
            CheckKind::PanelLogs => &["log_files", "unit"],
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
pub enum BuiltinAction {
    /// Write the panel certificate from its database row into `cert_file` and `key_file`,
    /// keeping a backup of the pair it replaces.
    PanelSyncFiles,
}

impl BuiltinAction {
    pub const ALL: [BuiltinAction; 1] = [BuiltinAction::PanelSyncFiles];

    /// Parses the name a flow file uses.
    pub fn from_name(name: &str) -> Option<BuiltinAction> {
        BuiltinAction::ALL.into_iter().find(|action| action.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinAction::PanelSyncFiles => "panel-sync-files",
        }
    }

    /// Flow variables the operation reads; a flow that uses it must declare them.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            BuiltinAction::PanelSyncFiles => &["db_file", "ssl_db_file", "cert_file", "key_file"],
        }
    }
}
