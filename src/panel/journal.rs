//! The panel's systemd unit: its restart state (`systemctl show`) and its journal
//! (`journalctl -u`). Both tools run as argv with a timeout; a machine without them, or a unit
//! they do not know, gives `None` rather than an error.

use std::time::Duration;

use crate::action::{self, ActionError};

/// Time either tool may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// Journal lines read, the newest ones.
pub const JOURNAL_LINES: u32 = 200;

/// Unit state as reported by `systemctl show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnitState {
    pub active_state: String,
    pub sub_state: String,
    /// Automatic restarts since the unit was last started by hand (systemd 235 and later).
    pub restarts: Option<u32>,
}

impl UnitState {
    /// Returns whether systemd is between two automatic restarts of a failed process.
    pub fn is_restarting(&self) -> bool {
        self.sub_state == "auto-restart" || self.active_state == "activating"
    }
}

/// Journal output, or why there is none.
#[derive(Debug)]
pub enum Journal {
    /// `journalctl` is not installed.
    Unavailable,
    /// `journalctl` ran but failed, for example without permission to read the journal.
    Failed { detail: String },
    /// The output, oldest line first.
    Lines(Vec<u8>),
}

/// Returns whether `unit` is safe to pass as one argument: a plain unit name, not an option.
pub fn is_unit_name(unit: &str) -> bool {
    !unit.is_empty()
        && !unit.starts_with('-')
        && unit.len() <= 256
        && unit.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | ':' | '-' | '\\'))
}

/// Reads the unit's state; `None` when systemctl is missing, fails or does not know the unit.
pub async fn unit_state(unit: &str) -> Option<UnitState> {
    if !is_unit_name(unit) {
        return None;
    }
    let argv = ["systemctl", "show", unit, "--property=LoadState,ActiveState,SubState,NRestarts"].map(str::to_string);
    let outcome = action::run_command(&argv, TOOL_TIMEOUT).await.ok()?;
    if !outcome.success() {
        return None;
    }
    parse_unit_state(&outcome.stdout_tail)
}

/// Parses `systemctl show` output (`Name=value` lines).
pub fn parse_unit_state(text: &str) -> Option<UnitState> {
    let value = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_string())
    };
    if value("LoadState").as_deref() != Some("loaded") {
        return None;
    }
    Some(UnitState {
        active_state: value("ActiveState").unwrap_or_default(),
        sub_state: value("SubState").unwrap_or_default(),
        restarts: value("NRestarts").and_then(|count| count.parse().ok()),
    })
}

/// Returns the command line that reads the unit's journal.
pub fn journal_argv(unit: &str) -> Vec<String> {
    let lines = JOURNAL_LINES.to_string();
    ["journalctl", "-u", unit, "--no-pager", "-n", lines.as_str(), "-o", "short-iso"].map(str::to_string).to_vec()
}

/// Reads the newest [`JOURNAL_LINES`] journal lines of `unit`.
pub async fn read_journal(unit: &str) -> Journal {
    if !is_unit_name(unit) {
        return Journal::Failed { detail: format!("`{unit}` is not a systemd unit name") };
    }
    match action::run_command(&journal_argv(unit), TOOL_TIMEOUT).await {
        Err(ActionError::NotFound { .. }) => Journal::Unavailable,
        Err(error) => Journal::Failed { detail: error.to_string() },
        Ok(outcome) if outcome.success() => Journal::Lines(outcome.stdout_tail.into_bytes()),
        Ok(outcome) => {
            let detail = outcome.stderr_tail.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim().to_string();
            let detail = if detail.is_empty() { format!("exit code {:?}", outcome.exit_code) } else { detail };
            Journal::Failed { detail }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarting_unit_is_parsed() {
        let state = parse_unit_state("LoadState=loaded\nActiveState=activating\nSubState=auto-restart\nNRestarts=57\n").unwrap();
        assert!(state.is_restarting());
        assert_eq!(state.restarts, Some(57));
    }

    #[test]
    fn running_unit_is_not_restarting() {
        let state = parse_unit_state("LoadState=loaded\nActiveState=active\nSubState=running\nNRestarts=0\n").unwrap();
        assert!(!state.is_restarting());
    }

    #[test]
    fn unknown_unit_is_none() {
        assert_eq!(parse_unit_state("LoadState=not-found\nActiveState=inactive\n"), None);
        assert_eq!(parse_unit_state(""), None);
    }

    #[test]
    fn option_like_unit_is_rejected() {
        assert!(is_unit_name("1panel-core.service"));
        assert!(!is_unit_name("--all"));
        assert!(!is_unit_name("a b"));
        assert!(!is_unit_name(""));
    }

    #[test]
    fn journal_command_reads_newest_lines() {
        assert_eq!(journal_argv("1panel.service"), ["journalctl", "-u", "1panel.service", "--no-pager", "-n", "200", "-o", "short-iso"]);
    }
}
