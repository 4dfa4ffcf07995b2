//! Finding rotated siblings of a log file.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Maximum number of rotated files [`find_rotated`] returns.
const MAX_ROTATED: usize = 5;

/// Finds rotated copies of `log` in its directory and returns them newest first (by
/// modification time, then by name), at most five.
///
/// For `1Panel.log` this matches dated names such as `1Panel-2026-11-30.log` and
/// `1Panel-2026-11-30.log.gz`, and logrotate names such as `1Panel.log.1`,
/// `1Panel.log.2.gz` and `1Panel.log-20261130.gz`. The part after the name must start
/// with a digit, so a different log such as `1Panel-agent.log` does not match. An
/// unreadable directory gives an empty list.
pub fn find_rotated(log: &Path) -> Vec<PathBuf> {
    let Some(name) = log.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    let directory = match log.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(directory) else {
        return Vec::new();
    };

    let mut found: Vec<(SystemTime, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let candidate = entry.file_name().to_str()?.to_owned();
            if !is_rotated_name(name, &candidate) {
                return None;
            }
            let metadata = entry.metadata().ok()?;
            if !metadata.is_file() {
                return None;
            }
            let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            Some((modified, candidate, entry.path()))
        })
        .collect();

    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found
        .into_iter()
        .take(MAX_ROTATED)
        .map(|(_, _, path)| path)
        .collect()
}

/// Returns whether `candidate` is a rotated copy of the log named `name`.
fn is_rotated_name(name: &str, candidate: &str) -> bool {
    if candidate == name {
        return false;
    }

    let stem = name.strip_suffix(".log").unwrap_or(name);
    let logrotate_suffix = candidate.strip_prefix(name).and_then(rotation_suffix);
    let dated_suffix = candidate
        .strip_prefix(stem)
        .and_then(rotation_suffix)
        .filter(|suffix| is_log_extension(suffix));

    logrotate_suffix.is_some() || dated_suffix.is_some()
}

/// Returns the rest of `suffix` after a `-`, `.` or `_` separator that is followed by a
/// digit.
fn rotation_suffix(suffix: &str) -> Option<&str> {
    let rest = suffix.strip_prefix(['-', '.', '_'])?;
    rest.starts_with(|c: char| c.is_ascii_digit())
        .then_some(rest)
}

fn is_log_extension(suffix: &str) -> bool {
    suffix.ends_with(".log") || suffix.ends_with(".log.gz") || suffix.ends_with(".gz")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::Duration;

    fn touch(dir: &Path, name: &str, age_minutes: u64) -> PathBuf {
        let path = dir.join(name);
        let file = File::create(&path).expect("create file");
        let modified = SystemTime::now() - Duration::from_secs(age_minutes * 60);
        file.set_modified(modified).expect("set mtime");
        path
    }

    fn names(paths: &[PathBuf]) -> Vec<&str> {
        paths
            .iter()
            .filter_map(|path| path.file_name()?.to_str())
            .collect()
    }

    #[test]
    fn rotated_files_newest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = touch(dir.path(), "1Panel.log", 0);
        touch(dir.path(), "1Panel-2026-11-28.log.gz", 3 * 24 * 60);
        touch(dir.path(), "1Panel-2026-11-30.log", 24 * 60);
        touch(dir.path(), "1Panel-2026-11-29.log.gz", 2 * 24 * 60);
        touch(dir.path(), "1Panel.log.1", 60);
        touch(dir.path(), "1Panel-agent.log", 1);
        touch(dir.path(), "1Panel.log.bak", 1);
        touch(dir.path(), "other-2026-11-30.log", 1);
        fs::create_dir(dir.path().join("1Panel-2026-12-01.log")).expect("create dir");

        let rotated = find_rotated(&log);

        assert_eq!(
            names(&rotated),
            [
                "1Panel.log.1",
                "1Panel-2026-11-30.log",
                "1Panel-2026-11-29.log.gz",
                "1Panel-2026-11-28.log.gz",
            ]
        );
    }

    #[test]
    fn rotated_list_is_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = touch(dir.path(), "error.log", 0);
        for day in 1..=9 {
            touch(dir.path(), &format!("error.log-2026110{day}.gz"), 100 - day);
        }

        let rotated = find_rotated(&log);

        assert_eq!(rotated.len(), MAX_ROTATED);
        assert_eq!(names(&rotated)[0], "error.log-20261109.gz");
        assert_eq!(names(&rotated)[4], "error.log-20261105.gz");
    }

    #[test]
    fn rotated_missing_directory_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("absent").join("1Panel.log");

        assert!(find_rotated(&log).is_empty());
    }
}
