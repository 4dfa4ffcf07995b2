//! The files a run writes: `--report FILE.md` or `FILE.json` and `--record-answers FILE.toml`.
//! Both are checked before the run starts and written whole through a temporary file and a
//! rename. When a signal ends the run, the caller writes them from the last published state.

use std::io::Write;
use std::path::{Path, PathBuf};

use rust_i18n::t;

use super::redact::{lock, scrub_private_keys, Redactor, SharedRedactor};
use super::{markdown, Report};
use crate::flow::{Flow, Step, Text};

/// Format of a `--report` file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Json,
}

/// A `--report` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFile {
    pub path: PathBuf,
    pub format: ReportFormat,
}

/// An output path that cannot be used, or a write that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    #[error("{}", t!("report.error.extension", path = path.display()))]
    ReportExtension { path: PathBuf },
    #[error("{}", t!("report.error.answers_extension", path = path.display()))]
    AnswersExtension { path: PathBuf },
    #[error("{}", t!("report.error.no_directory", path = path.display(), dir = dir.display()))]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("{}", t!("report.error.is_directory", path = path.display()))]
    IsDirectory { path: PathBuf },
    #[error("{}", t!("report.error.write", path = path.display(), detail = detail))]
    Write { path: PathBuf, detail: String },
}

impl ReportFile {
    /// Picks the format from the extension (`.md`, `.markdown`, `.json`, any case) and checks
    /// that the file can be created.
    pub fn parse(path: &Path) -> Result<ReportFile, OutputError> {
        let extension = path.extension().map(|extension| extension.to_string_lossy().to_ascii_lowercase());
        let format = match extension.as_deref() {
            Some("md" | "markdown") => ReportFormat::Markdown,
            Some("json") => ReportFormat::Json,
            _ => return Err(OutputError::ReportExtension { path: path.to_path_buf() }),
        };
        check_destination(path)?;
        Ok(ReportFile { path: path.to_path_buf(), format })
    }
}

/// Checks a `--record-answers` path: a `.toml` file in an existing directory.
pub fn check_answers_path(path: &Path) -> Result<(), OutputError> {
    let is_toml = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("toml"));
    if !is_toml {
        return Err(OutputError::AnswersExtension { path: path.to_path_buf() });
    }
    check_destination(path)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn check_destination(path: &Path) -> Result<(), OutputError> {
    if path.is_dir() {
        return Err(OutputError::IsDirectory { path: path.to_path_buf() });
    }
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(OutputError::NoDirectory { path: path.to_path_buf(), dir: dir.to_path_buf() });
    }
    Ok(())
}

/// Writes `contents` to a temporary file next to `path` and renames it over `path`, so a
/// reader never sees half a file. The file is readable by everyone (0644): it holds no keys.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), OutputError> {
    let failed = |error: &dyn std::fmt::Display| OutputError::Write { path: path.to_path_buf(), detail: error.to_string() };
    let mut file = tempfile::Builder::new()
        .prefix(".certwiz-")
        .suffix(".tmp")
        .tempfile_in(parent_dir(path))
        .map_err(|error| failed(&error))?;
    file.write_all(contents.as_bytes()).map_err(|error| failed(&error))?;
    set_readable(file.as_file()).map_err(|error| failed(&error))?;
    file.persist(path).map_err(|error| failed(&error.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_readable(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Files one run writes besides the transcript, and the redactor they share.
pub struct Outputs {
    pub report_file: Option<ReportFile>,
    pub answers_file: Option<PathBuf>,
    pub redactor: Option<SharedRedactor>,
    pub flow: Flow,
}

impl Outputs {
    /// Returns the report as it may be shown or written: keys removed, names redacted when asked.
    pub fn shareable(&self, report: &Report) -> Report {
        match &self.redactor {
            Some(redactor) => report.shareable(Some(&mut lock(redactor))),
            None => report.shareable(None),
        }
    }

    /// Renders a shareable report as Markdown. The report's values are redacted already, so
    /// only the flow's own texts are redacted here. Ids, evidence keys and labels stay as
    /// they are, and private keys are removed from the whole text once more.
    pub fn markdown(&self, report: &Report) -> String {
        let text = match &self.redactor {
            Some(redactor) => {
                let flow = redacted_flow(&self.flow, &mut lock(redactor));
                markdown::render(report, &flow)
            }
            None => markdown::render(report, &self.flow),
        };
        scrub_private_keys(&text)
    }

    /// Writes the `--report` and `--record-answers` files from a shareable report.
    pub fn write_files(&self, report: &Report) -> Result<(), OutputError> {
        if let Some(file) = &self.report_file {
            let text = match file.format {
                ReportFormat::Json => format!("{}\n", report.to_json()),
                ReportFormat::Markdown => self.markdown(report),
            };
            write_atomic(&file.path, &text)?;
        }
        if let Some(path) = &self.answers_file {
            write_atomic(path, &crate::answers::record(report))?;
        }
        Ok(())
    }
}

/// Returns a copy of `flow` whose titles, texts and choice labels are redacted; ids stay.
fn redacted_flow(flow: &Flow, redactor: &mut Redactor) -> Flow {
    redactor.learn_flow(flow);
    let mut copy = flow.clone();
    let mut edit = |text: &mut Text| {
        text.en = redactor.redact(&text.en);
        text.zh_cn = redactor.redact(&text.zh_cn);
    };
    edit(&mut copy.title);
    for state in &mut copy.states {
        edit(&mut state.title);
        if let Some(text) = &mut state.text {
            edit(text);
        }
        match &mut state.step {
            Step::Question { choices, .. } => choices.iter_mut().for_each(|choice| edit(&mut choice.text)),
            Step::End { next_step, .. } => edit(next_step),
            Step::Check { .. } | Step::Action { .. } => {}
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_format_follows_extension() {
        let dir = tempfile::tempdir().unwrap();
        let markdown = ReportFile::parse(&dir.path().join("r.MD")).unwrap();
        assert_eq!(markdown.format, ReportFormat::Markdown);
        let json = ReportFile::parse(&dir.path().join("r.json")).unwrap();
        assert_eq!(json.format, ReportFormat::Json);
    }

    #[test]
    fn unknown_report_extension_is_rejected() {
        let error = ReportFile::parse(Path::new("report.txt")).unwrap_err();
        assert_eq!(error, OutputError::ReportExtension { path: PathBuf::from("report.txt") });
        assert!(matches!(ReportFile::parse(Path::new("report")), Err(OutputError::ReportExtension { .. })));
    }

    #[test]
    fn missing_directory_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/report.md");
        let error = ReportFile::parse(&path).unwrap_err();
        assert_eq!(error, OutputError::NoDirectory { path: path.clone(), dir: dir.path().join("missing") });
    }

    #[test]
    fn directory_as_report_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.md");
        std::fs::create_dir(&path).unwrap();
        assert_eq!(ReportFile::parse(&path).unwrap_err(), OutputError::IsDirectory { path });
    }

    #[test]
    fn answers_path_needs_toml() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_answers_path(&dir.path().join("a.toml")).is_ok());
        assert!(matches!(check_answers_path(&dir.path().join("a.txt")), Err(OutputError::AnswersExtension { .. })));
    }

    fn outputs_with_redactor() -> Outputs {
        let redactor = std::sync::Arc::new(std::sync::Mutex::new(Redactor::new()));
        // The panel flow is embedded and valid; its tests check both.
        let flow = crate::flow::embedded("panel").expect("a panel flow").expect("a valid panel flow");
        Outputs { report_file: None, answers_file: None, redactor: Some(redactor), flow }
    }

    #[test]
    fn markdown_keeps_evidence_keys_and_finding_ids() {
        let outputs = outputs_with_redactor();
        let mut report = Report::new("panel", crate::i18n::Lang::En);
        report.path = vec!["warning".to_string(), "check-status".to_string()];
        let evidence = serde_json::json!({ "certificate": { "id": 4, "domain": "shop.example.id" }, "path": "/www/shop.example.id.pem" });
        let mut settings = crate::findings::Finding::new("panel.settings", crate::findings::Severity::Info, "read shop.example.id", evidence);
        settings.state = "check-status".to_string();
        report.findings.push(settings);
        let mut invalid = crate::findings::Finding::new("served.invalid", crate::findings::Severity::Error, "bad", serde_json::json!({}));
        invalid.state = "check-status".to_string();
        report.findings.push(invalid);

        let shareable = outputs.shareable(&report);
        let text = outputs.markdown(&shareable);
        for kept in ["| `panel.settings` | certificate.id | `4` |", "| `panel.settings` | certificate.domain | `host-1` |", "`served.invalid`"] {
            assert!(text.contains(kept), "missing {kept:?} in\n{text}");
        }
        assert!(!text.contains("shop.example"), "{text}");
    }

    #[test]
    fn atomic_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.md");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "temporary file left behind: {names:?}");
    }
}
