//! The 1Panel install on this machine (or under `--root`): where it lives and which version it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Path of the control script that records the install base.
pub const CTL_PATH: &str = "usr/local/bin/1pctl";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PanelVersion {
    V1,
    V2,
}

/// What the control script and the file layout tell about the install.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Install {
    pub ctl: PathBuf,
    /// `BASE_DIR` as the script writes it, before `--root` is applied.
    pub base_dir: String,
    /// `BASE_DIR` under the root certwiz reads from.
    pub base_path: PathBuf,
    pub version: PanelVersion,
    pub version_text: Option<String>,
    pub original_port: Option<u16>,
}

/// Joins an absolute path from the panel's point of view onto `root`.
pub fn under_root(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Reads `1pctl` under `root`; `None` when there is no readable script.
pub fn detect(root: &Path) -> Option<Install> {
    let ctl = root.join(CTL_PATH);
    let script = std::fs::read_to_string(&ctl).ok()?;
    let settings = shell_assignments(&script);

    let base_dir = settings.get("BASE_DIR").cloned().unwrap_or_else(|| "/opt".to_string());
    let base_path = under_root(root, &base_dir);
    let version_text = settings.get("ORIGINAL_VERSION").cloned();
    let original_port = settings.get("ORIGINAL_PORT").and_then(|port| port.parse().ok());

    let v2_by_text = version_text.as_deref().is_some_and(|text| text.trim_start_matches('v').starts_with('2'));
    let v2_by_layout = root.join("usr/local/bin/1panel-core").exists() || base_path.join("1panel/db/core.db").exists();
    let version = if v2_by_text || v2_by_layout { PanelVersion::V2 } else { PanelVersion::V1 };

    Some(Install { ctl, base_dir, base_path, version, version_text, original_port })
}

/// Facts that flow defaults refer to as `{{panel.*}}`.
pub fn facts(root: &Path, install: Option<&Install>) -> BTreeMap<String, String> {
    let base = install.map(|install| install.base_path.clone()).unwrap_or_else(|| under_root(root, "/opt"));
    let mut facts = BTreeMap::new();
    facts.insert("panel.base_dir".to_string(), base.display().to_string());

    let Some(install) = install else {
        return facts;
    };
    if let Some(port) = install.original_port {
        facts.insert("panel.port".to_string(), port.to_string());
    }
    let (restart, log) = match install.version {
        PanelVersion::V1 => ("1pctl restart", "1Panel.log"),
        PanelVersion::V2 => ("1pctl restart core", "1Panel-Core.log"),
    };
    facts.insert("panel.restart_command".to_string(), restart.to_string());
    facts.insert("panel.log_files".to_string(), base.join("1panel/log").join(log).display().to_string());
    facts
}

/// Reads `NAME=value` lines of a shell script, without running it.
fn shell_assignments(script: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for line in script.lines() {
        let line = line.trim();
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !is_name || values.contains_key(name) {
            continue;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        values.insert(name.to_string(), value.to_string());
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_ctl(root: &Path, body: &str) {
        let path = root.join(CTL_PATH);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    #[test]
    fn v1_script_gives_base_dir_and_port() {
        let root = tempfile::tempdir().unwrap();
        write_ctl(root.path(), "#!/bin/bash\nBASE_DIR=/data\nORIGINAL_PORT=23456\nORIGINAL_VERSION=v1.10.14-lts\n");
        let install = detect(root.path()).unwrap();
        assert_eq!(install.version, PanelVersion::V1);
        assert_eq!(install.base_path, root.path().join("data"));
        let facts = facts(root.path(), Some(&install));
        assert_eq!(facts["panel.port"], "23456");
        assert_eq!(facts["panel.restart_command"], "1pctl restart");
        assert!(facts["panel.log_files"].ends_with("data/1panel/log/1Panel.log"));
    }

    #[test]
    fn v2_version_text_picks_core_restart() {
        let root = tempfile::tempdir().unwrap();
        write_ctl(root.path(), "BASE_DIR=\"/opt\"\nORIGINAL_VERSION=v2.0.8\n");
        let install = detect(root.path()).unwrap();
        assert_eq!(install.version, PanelVersion::V2);
        let facts = facts(root.path(), Some(&install));
        assert_eq!(facts["panel.restart_command"], "1pctl restart core");
        assert!(facts["panel.log_files"].ends_with("1Panel-Core.log"));
    }

    #[test]
    fn no_script_falls_back_to_opt() {
        let root = tempfile::tempdir().unwrap();
        assert!(detect(root.path()).is_none());
        let facts = facts(root.path(), None);
        assert_eq!(facts["panel.base_dir"], root.path().join("opt").display().to_string());
        assert!(!facts.contains_key("panel.restart_command"));
    }
}
