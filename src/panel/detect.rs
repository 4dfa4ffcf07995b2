//! Finding the install: the control script `1pctl` and the files that tell v1 from v2.

use std::collections::BTreeMap;
use std::path::Path;

use super::{under_root, Install, PanelVersion};

/// Path of the control script that records the install base.
pub const CTL_PATH: &str = "usr/local/bin/1pctl";

/// Largest control script read; the real one is about 10 KiB.
const MAX_CTL_BYTES: u64 = 1024 * 1024;

/// Reads `1pctl` under `root`; `None` when there is no readable script.
pub fn detect(root: &Path) -> Option<Install> {
    let ctl = root.join(CTL_PATH);
    let script = read_script(&ctl)?;
    let settings = shell_assignments(&script);

    let base_dir = settings
        .get("BASE_DIR")
        .filter(|value| !value.is_empty())
        .cloned()
        .unwrap_or_else(|| "/opt".to_string());
    let base_path = under_root(root, &base_dir);
    let version_text = settings.get("ORIGINAL_VERSION").cloned();
    let original_port = settings.get("ORIGINAL_PORT").and_then(|port| port.parse().ok());

    let version = version_from_text(version_text.as_deref()).unwrap_or_else(|| version_from_layout(root, &base_path));
    Some(Install { ctl, base_dir, base_path, version, version_text, original_port })
}

fn read_script(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > MAX_CTL_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the major version from `ORIGINAL_VERSION` (`v1.10.20-lts`, `v2.0.8`); `None` when
/// the text names no known major version, such as the installer's `version` placeholder.
fn version_from_text(text: Option<&str>) -> Option<PanelVersion> {
    let text = text?.trim().trim_start_matches(['v', 'V']);
    let major = text.split('.').next()?;
    match major {
        "1" => Some(PanelVersion::V1),
        "2" => Some(PanelVersion::V2),
        _ => None,
    }
}

/// Tells the version from files only version 2 installs: its binaries, its unit and `core.db`.
fn version_from_layout(root: &Path, base_path: &Path) -> PanelVersion {
    let v2_files = [
        root.join("usr/local/bin/1panel-core"),
        root.join("etc/systemd/system/1panel-core.service"),
        base_path.join("1panel/db/core.db"),
    ];
    if v2_files.iter().any(|path| path.exists()) {
        PanelVersion::V2
    } else {
        PanelVersion::V1
    }
}

/// Reads `NAME=value` lines of a shell script, without running it. Like the panel, which reads
/// them with `grep '^NAME='`, only lines that start with the name count; the first one wins.
fn shell_assignments(script: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for line in script.lines() {
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

    fn write(root: &Path, path: &str, body: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    #[test]
    fn v1_script_gives_base_dir_and_port() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), CTL_PATH, "#!/bin/bash\nBASE_DIR=/data\nORIGINAL_PORT=23456\nORIGINAL_VERSION=v1.10.14-lts\n");

        let install = detect(root.path()).unwrap();

        assert_eq!(install.version, PanelVersion::V1);
        assert_eq!(install.base_dir, "/data");
        assert_eq!(install.base_path, root.path().join("data"));
        assert_eq!(install.original_port, Some(23456));
        assert_eq!(install.settings_db(), root.path().join("data/1panel/db/1Panel.db"));
    }

    #[test]
    fn v2_version_text_picks_core_db() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), CTL_PATH, "BASE_DIR=\"/opt\"\nORIGINAL_VERSION=v2.0.8\n");

        let install = detect(root.path()).unwrap();

        assert_eq!(install.version, PanelVersion::V2);
        assert_eq!(install.settings_db(), root.path().join("opt/1panel/db/core.db"));
        assert_eq!(install.certificates_db(), root.path().join("opt/1panel/db/agent.db"));
    }

    #[test]
    fn placeholder_version_falls_back_to_layout() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), CTL_PATH, "BASE_DIR=/srv\nORIGINAL_VERSION=version\n");
        write(root.path(), "srv/1panel/db/core.db", "");

        assert_eq!(detect(root.path()).unwrap().version, PanelVersion::V2);
    }

    #[test]
    fn v2_unit_file_marks_v2() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), CTL_PATH, "BASE_DIR=/opt\n");
        write(root.path(), "etc/systemd/system/1panel-core.service", "[Service]\n");

        assert_eq!(detect(root.path()).unwrap().version, PanelVersion::V2);
    }

    #[test]
    fn indented_assignment_is_ignored() {
        let root = tempfile::tempdir().unwrap();
        write(root.path(), CTL_PATH, "function x() {\n    BASE_DIR=/wrong\n}\nBASE_DIR=/right\n");

        assert_eq!(detect(root.path()).unwrap().base_dir, "/right");
    }

    #[test]
    fn no_script_is_none() {
        let root = tempfile::tempdir().unwrap();
        assert!(detect(root.path()).is_none());
    }

    #[test]
    fn script_directory_is_none() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(CTL_PATH)).unwrap();
        assert!(detect(root.path()).is_none());
    }
}
