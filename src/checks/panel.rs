//! The `panel-status` and `panel-logs` checks for a 1Panel install.
//!
//! `panel-status` runs the `status` comparison (served certificate against the files) and adds
//! the third copy, the certificate row in the panel's database, plus its settings, a restart
//! loop and a timeline. Without a panel database (`db_file` empty) it returns exactly what
//! `status` returns. `panel-logs` scans the panel's logs, their rotated copies and the unit's
//! journal.

use std::path::{Path, PathBuf};

use rust_i18n::t;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::disk::format_time;
use super::logs::{error_finding, scan_findings, MAX_LINES, TAIL_BYTES};
use super::status::{self, format_system_time};
use super::CheckOutput;
use crate::certs::CertSummary;
use crate::findings::{Finding, Severity};
use crate::logs::{self, LineKind, LogScan};
use crate::panel::db::{parse_time, CertificateRow, DbError, PanelDb, Settings, TlsMode};
use crate::panel::journal::{self, Journal, UnitState};
use crate::panel::pair::{check_pair, StoredPair};
use crate::process;
use crate::variables::{VariableError, Variables};

/// Start-up failures in a log tail, with no successful start after them, that make a loop.
const LOOP_PANICS: usize = 2;

/// Automatic restarts by systemd that make a loop.
const LOOP_RESTARTS: u32 = 2;

/// Picked lines kept per log when looking for a restart loop; more than a report shows.
const LOOP_SCAN_LINES: usize = 200;

/// Rotated copies scanned per log, newest first: the renewal job runs daily, so the last two
/// days hold its last run even just after midnight rotation.
const ROTATED_PER_LOG: usize = 2;

/// The panel certificate as the database stores it.
struct DatabaseCertificate {
    row: CertificateRow,
    pair: StoredPair,
}

/// Runs `status`, then compares with the panel database when `db_file` names one.
pub async fn run_status(variables: &Variables, now: OffsetDateTime) -> Result<CheckOutput, VariableError> {
    let mut output = status::run(variables, now).await?;
    output.findings.extend(install_findings(variables));
    let Some(db_file) = variables.optional_path("db_file") else {
        return Ok(output);
    };
    let port = variables.port("port")?;
    let cert_file = variables.path("cert_file")?;
    let certificates_db = variables.optional_path("ssl_db_file").unwrap_or_else(|| db_file.clone());
    let scans = scan_for_loop(&variables.list("log_files"));

    let settings = match PanelDb::open(&db_file).and_then(|db| db.settings()) {
        Ok(settings) => settings,
        Err(error) => {
            output.findings.push(db_finding(&error));
            if let Some(finding) = restart_loop_finding(&output, port, &scans, variables.text("unit")).await {
                output.findings.push(finding);
                output.outcome = "restart-loop";
            }
            return Ok(output);
        }
    };

    let database = database_certificate(&settings, &certificates_db, now, &mut output.findings);
    output.findings.push(settings_finding(variables, &db_file, &certificates_db, &settings, database.as_ref()));

    if settings.tls_mode() == TlsMode::Off {
        output.findings.push(ssl_disabled_finding(&settings, port, output.served.is_some()));
        output.outcome = "ssl-disabled";
        return Ok(output);
    }

    let mut file_behind = false;
    if let Some(database) = &database {
        let comparison = compare_with_file(database, output.disk.as_ref(), &cert_file);
        file_behind = comparison.file_behind;
        output.findings.extend(comparison.finding);
        output.findings.push(timeline_finding(database, &cert_file, port, &scans));
    }

    let restart_loop = restart_loop_finding(&output, port, &scans, variables.text("unit")).await;
    let looping = restart_loop.is_some();
    output.findings.extend(restart_loop);

    // Writing the newer database pair helps whatever else is wrong, a loop included, so it wins.
    // When the file is bad and the database pair is unusable too, neither re-confirming nor
    // writing the files can help: the certificate itself must be renewed in the panel.
    let database_unusable = database.as_ref().is_some_and(|database| database.pair.problem.is_some());
    if file_behind {
        output.outcome = "file-behind-db";
    } else if output.outcome == "file-bad" && database_unusable {
        output.outcome = "db-unusable";
    } else if looping {
        output.outcome = "restart-loop";
    }
    Ok(output)
}

/// Reads and checks the `website_ssls` row the settings point at, if any; failures become findings.
fn database_certificate(settings: &Settings, certificates_db: &Path, now: OffsetDateTime, findings: &mut Vec<Finding>) -> Option<DatabaseCertificate> {
    let id = settings.certificate_id()?;
    let row = match PanelDb::open(certificates_db).and_then(|db| db.certificate(id)) {
        Ok(row) => row,
        Err(DbError::NoRow { path, id }) => {
            findings.push(Finding::new(
                "panel.certificate_missing",
                Severity::Warning,
                t!("finding.panel.certificate_missing", id = id, db = path.display()),
                json!({ "ssl_id": id, "db_file": path }),
            ));
            return None;
        }
        Err(error) => {
            findings.push(db_finding(&error));
            return None;
        }
    };

    let pair = check_pair(row.pem.as_bytes(), row.private_key.expose().as_bytes(), now);
    if let Some(problem) = &pair.problem {
        findings.push(Finding::new(
            "panel.db_certificate_unusable",
            Severity::Warning,
            t!("finding.panel.db_certificate_unusable", id = row.id, detail = problem.to_string()),
            json!({ "ssl_id": row.id, "detail": problem.to_string(), "leaf": pair.leaf().map(leaf_evidence) }),
        ));
    }
    Some(DatabaseCertificate { row, pair })
}

fn db_finding(error: &DbError) -> Finding {
    Finding::new(
        "panel.db_unreadable",
        Severity::Warning,
        t!("finding.panel.db_unreadable", detail = error.to_string()),
        json!({ "db_file": error.path(), "detail": error.to_string() }),
    )
}

/// Lists everything read from the databases, except key material.
fn settings_finding(
    variables: &Variables,
    db_file: &Path,
    certificates_db: &Path,
    settings: &Settings,
    database: Option<&DatabaseCertificate>,
) -> Finding {
    let certificate = database.map(|database| {
        let mut evidence = database.row.evidence();
        evidence["leaf"] = database.pair.leaf().map(leaf_evidence).unwrap_or(Value::Null);
        evidence["chain_length"] = json!(database.pair.chain.len());
        evidence
    });
    let evidence = json!({
        "version": variables.text("panel_version"),
        "db_file": db_file,
        "ssl_db_file": certificates_db,
        "settings": settings,
        "tls_mode": settings.tls_mode(),
        "certificate": certificate,
    });
    let or_dash = |value: Option<&str>| value.filter(|text| !text.is_empty()).unwrap_or("-").to_string();
    Finding::new(
        "panel.settings",
        Severity::Info,
        t!(
            "finding.panel.settings",
            version = or_dash(Some(variables.text("panel_version"))),
            db = db_file.display(),
            ssl = or_dash(settings.ssl.as_deref()),
            ssl_type = or_dash(settings.ssl_type.as_deref()),
            ssl_id = or_dash(settings.ssl_id.as_deref()),
            port = or_dash(settings.server_port.as_deref())
        ),
        evidence,
    )
}

fn leaf_evidence(leaf: &CertSummary) -> Value {
    json!({
        "subject": leaf.subject,
        "sans": leaf.sans,
        "not_before": format_time(leaf.not_before),
        "not_after": format_time(leaf.not_after),
        "sha256": leaf.sha256,
    })
}

/// Reports HTTPS turned off in the settings. A port that still completes a TLS handshake gets its
/// own finding, because then the running process has not applied the setting or is not the panel.
fn ssl_disabled_finding(settings: &Settings, port: u16, endpoint_speaks_tls: bool) -> Finding {
    let value = settings.ssl.clone().unwrap_or_default();
    let evidence = json!({ "ssl": value, "port": port, "endpoint_speaks_tls": endpoint_speaks_tls });
    if endpoint_speaks_tls {
        return Finding::new(
            "panel.ssl_disabled_tls_served",
            Severity::Warning,
            t!("finding.panel.ssl_disabled_tls_served", value = value, port = port),
            evidence,
        );
    }
    Finding::new("panel.ssl_disabled", Severity::Warning, t!("finding.panel.ssl_disabled", value = value, port = port), evidence)
}

/// Returns whether `install_root` names a copy of a machine rather than this one (`/`).
fn reads_copy(variables: &Variables) -> bool {
    let root = variables.text("install_root");
    !root.is_empty() && Path::new(root) != Path::new("/")
}

/// Reports how the install was found: no `1pctl` under the root while the default file paths
/// are in use, or a copy of a machine whose systemd state and journal the host's tools do not
/// describe.
fn install_findings(variables: &Variables) -> Vec<Finding> {
    let mut findings = Vec::new();
    let root = variables.text("install_root");
    if root.is_empty() {
        return findings;
    }
    let root = Path::new(root);

    // Without an install the version is empty, and the finding matters only while a file path
    // still comes from the `/opt` fallback rather than from `--set`.
    let detected = !variables.text("panel_version").is_empty();
    let base = root.join("opt");
    let uses_fallback = ["cert_file", "key_file"].iter().any(|name| Path::new(variables.text(name)).starts_with(&base));
    if !detected && uses_fallback {
        let ctl = root.join(crate::panel::CTL_PATH);
        findings.push(Finding::new(
            "panel.not_detected",
            Severity::Info,
            t!("finding.panel.not_detected", ctl = ctl.display(), base = base.display()),
            json!({ "ctl": ctl, "base_dir": base }),
        ));
    }

    if detected && reads_copy(variables) && variables.text("unit").is_empty() {
        findings.push(Finding::new(
            "panel.host_tools_skipped",
            Severity::Info,
            t!("finding.panel.host_tools_skipped", root = root.display()),
            json!({ "root": root }),
        ));
    }
    findings
}

/// The database row compared with the certificate file.
struct Comparison {
    finding: Option<Finding>,
    /// The database contains a usable pair that is newer than the file, or the file has none.
    file_behind: bool,
}

fn compare_with_file(database: &DatabaseCertificate, disk: Option<&CertSummary>, cert_file: &Path) -> Comparison {
    let Some(stored) = database.pair.leaf() else {
        return Comparison { finding: None, file_behind: false };
    };
    let id = database.row.id;
    let path = cert_file.display().to_string();
    let mut evidence = json!({
        "ssl_id": id,
        "cert_file": path,
        "db_sha256": stored.sha256,
        "db_not_after": format_time(stored.not_after),
        "db_expire_date": database.row.expire_date,
        "file_sha256": disk.map(|leaf| leaf.sha256.clone()),
        "file_not_after": disk.map(|leaf| format_time(leaf.not_after)),
    });

    if disk.is_some_and(|leaf| leaf.sha256 == stored.sha256) {
        let finding = Finding::new("panel.db_matches_file", Severity::Ok, t!("finding.panel.db_matches_file", path = path, id = id), evidence);
        return Comparison { finding: Some(finding), file_behind: false };
    }

    let file_older = disk.is_none_or(|leaf| leaf.not_after < stored.not_after);
    if file_older && database.pair.usable() {
        let file_date = disk.map(|leaf| format_time(leaf.not_after)).unwrap_or_else(|| t!("panel.no_certificate").into_owned());
        evidence["restart_helps"] = json!(false);
        let finding = Finding::new(
            "panel.file_behind_db",
            Severity::Error,
            t!("finding.panel.file_behind_db", id = id, db_date = format_time(stored.not_after), path = path, file_date = file_date),
            evidence,
        );
        return Comparison { finding: Some(finding), file_behind: true };
    }

    let finding = match disk {
        Some(leaf) if leaf.not_after > stored.not_after => Some(Finding::new(
            "panel.db_behind_file",
            Severity::Warning,
            t!(
                "finding.panel.db_behind_file",
                path = path,
                file_date = format_time(leaf.not_after),
                id = id,
                db_date = format_time(stored.not_after)
            ),
            evidence,
        )),
        Some(leaf) if leaf.not_after == stored.not_after => Some(Finding::new(
            "panel.db_differs_from_file",
            Severity::Warning,
            t!("finding.panel.db_differs_from_file", path = path, id = id, date = format_time(leaf.not_after)),
            evidence,
        )),
        // The database pair is newer but unusable, and `panel.db_certificate_unusable` gives the reason.
        _ => None,
    };
    Comparison { finding, file_behind: false }
}

/// Orders the renewal, the file write and the process start, so a reader sees which came last.
fn timeline_finding(database: &DatabaseCertificate, cert_file: &Path, port: u16, scans: &[LogScan]) -> Finding {
    let issued = database.pair.leaf().map(|leaf| format_time(leaf.not_before));
    let saved = database.row.updated_at.as_deref().and_then(parse_time).map(format_time);
    let renewal_log = last_renewal_line(scans);
    let file_written = process::file_mtime(cert_file).ok().map(format_system_time);
    let process_started = match process::find_listener(port) {
        Ok(Some(listener)) => Some(format_system_time(listener.started_at)),
        _ => None,
    };
    let renewal_log_time = renewal_log.as_ref().and_then(|(time, _)| time.clone());

    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
    Finding::new(
        "panel.timeline",
        Severity::Info,
        t!(
            "finding.panel.timeline",
            issued = dash(&issued),
            saved = dash(&saved),
            renewal_log = match &renewal_log_time {
                Some(time) => t!("panel.local_time", time = time),
                None => t!("panel.none_found"),
            },
            file = dash(&file_written),
            process = dash(&process_started)
        ),
        json!({
            "db_certificate_issued": issued,
            "db_row_saved": saved,
            "last_renewal_log_line": renewal_log.map(|(time, text)| json!({ "time_local": time, "text": text })),
            "cert_file_modified": file_written,
            "process_started": process_started,
        }),
    )
}

/// Returns the timestamp (as the log writes it, in the server's local time) and text of the
/// newest renewal line.
fn last_renewal_line(scans: &[LogScan]) -> Option<(Option<String>, String)> {
    scans
        .iter()
        .flat_map(|scan| scan.lines.iter())
        .filter(|line| line.kind == LineKind::Renewal && line.timestamp.is_some())
        .max_by(|a, b| a.timestamp.cmp(&b.timestamp))
        .map(|line| (line.timestamp.clone(), line.text.clone()))
}

fn scan_for_loop(files: &[String]) -> Vec<LogScan> {
    files
        .iter()
        .filter_map(|file| logs::scan_log(Path::new(file), TAIL_BYTES, LOOP_SCAN_LINES).ok())
        .collect()
}

/// Start-up failures in one log tail after its last successful start.
struct LogLoop<'a> {
    scan: &'a LogScan,
    panics: usize,
    last: &'a str,
}

/// Finds the log whose tail ends in repeated start-up failures with no successful start
/// (`listen at ...`) after them.
fn log_loop(scans: &[LogScan]) -> Option<LogLoop<'_>> {
    scans.iter().find_map(|scan| {
        let last_listen = scan.lines.iter().rposition(|line| line.kind == LineKind::Listen);
        let after_listen = match last_listen {
            Some(index) => &scan.lines[index + 1..],
            None => &scan.lines[..],
        };
        let panics: Vec<&str> = after_listen.iter().filter(|line| line.kind == LineKind::Panic).map(|line| line.text.as_str()).collect();
        let last = panics.last()?;
        (panics.len() >= LOOP_PANICS).then_some(LogLoop { scan, panics: panics.len(), last })
    })
}

/// Reports a restart loop: nothing listens on the port, and the log or systemd shows the panel
/// failing at start-up again and again.
async fn restart_loop_finding(output: &CheckOutput, port: u16, scans: &[LogScan], unit: &str) -> Option<Finding> {
    if output.served.is_some() || matches!(process::find_listener(port), Ok(Some(_))) {
        return None;
    }
    let unit_state = if unit.is_empty() { None } else { journal::unit_state(unit).await };
    let unit_loops = unit_state.as_ref().is_some_and(|state| state.is_restarting() && state.restarts.is_some_and(|count| count >= LOOP_RESTARTS));
    let log = log_loop(scans);
    if log.is_none() && !unit_loops {
        return None;
    }

    let certificate_cause = log.as_ref().is_some_and(|log| mentions_certificate(log.last));
    let evidence = json!({
        "port": port,
        "log_file": log.as_ref().map(|log| log.scan.file.display().to_string()),
        "startup_failures": log.as_ref().map(|log| log.panics),
        "last_failure": log.as_ref().map(|log| log.last),
        "certificate_cause": certificate_cause,
        "unit": unit,
        "unit_state": unit_state,
    });
    let message = match &log {
        Some(log) => t!("finding.panel.restart_loop", port = port, count = log.panics, path = log.scan.file.display(), last = log.last),
        None => t!("finding.panel.restart_loop_unit", port = port, unit = unit, restarts = restart_count(unit_state.as_ref())),
    };
    Some(Finding::new("panel.restart_loop", Severity::Error, message, evidence))
}

fn restart_count(state: Option<&UnitState>) -> u32 {
    state.and_then(|state| state.restarts).unwrap_or(0)
}

/// Returns whether a start-up failure is about the certificate or key files.
fn mentions_certificate(line: &str) -> bool {
    let lower = line.to_lowercase();
    ["server.crt", "server.key", "tls:", "x509", "pem"].iter().any(|word| lower.contains(word))
}

/// Scans `log_files`, their newest rotated copies and the journal of `unit`.
pub async fn run_logs(variables: &Variables) -> CheckOutput {
    let mut output = CheckOutput::new("clean");
    let files = with_rotated(&variables.list("log_files"));
    let unit = variables.text("unit");

    let journal = if unit.is_empty() { Journal::Unavailable } else { journal::read_journal(unit).await };
    if files.is_empty() && !matches!(journal, Journal::Lines(_)) {
        output.findings.push(Finding::new("logs.none", Severity::Info, t!("finding.logs.none"), json!({})));
    }

    for file in &files {
        match logs::scan_log(Path::new(file), TAIL_BYTES, MAX_LINES) {
            Ok(scan) => {
                output.findings.extend(scan_findings(&scan));
                output.logs.push(scan);
            }
            Err(error) => output.findings.push(error_finding(&error, file)),
        }
    }

    match journal {
        Journal::Unavailable => {}
        Journal::Failed { detail } => output.findings.push(Finding::new(
            "panel.journal_failed",
            Severity::Info,
            t!("finding.panel.journal_failed", unit = unit, detail = detail),
            json!({ "unit": unit, "detail": detail }),
        )),
        Journal::Lines(bytes) if journal_is_empty(&bytes) => output.findings.push(Finding::new(
            "panel.journal_empty",
            Severity::Info,
            t!("finding.panel.journal_empty", unit = unit),
            json!({ "unit": unit }),
        )),
        Journal::Lines(bytes) => {
            let source = PathBuf::from(journal::journal_argv(unit).join(" "));
            let scan = logs::scan_text(source, &bytes, MAX_LINES);
            output.findings.extend(scan_findings(&scan));
            output.logs.push(scan);
        }
    }

    let problem = |finding: &Finding| finding.id.starts_with("logs.") && finding.severity >= Severity::Warning;
    if output.findings.iter().any(problem) {
        output.outcome = "found";
    }
    output
}

/// Returns whether journal output contains no entries, only journalctl's own `-- ... --` notes
/// such as `-- No entries --`.
fn journal_is_empty(bytes: &[u8]) -> bool {
    String::from_utf8_lossy(bytes).lines().map(str::trim).all(|line| line.is_empty() || (line.starts_with("-- ") && line.ends_with(" --")))
}

/// Lists each file followed by its newest rotated copies.
fn with_rotated(files: &[String]) -> Vec<String> {
    let mut all = Vec::new();
    for file in files {
        all.push(file.clone());
        for rotated in logs::find_rotated(Path::new(file)).into_iter().take(ROTATED_PER_LOG) {
            let text = rotated.display().to_string();
            if !all.contains(&text) {
                all.push(text);
            }
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LogLine;
    use crate::panel::db::SecretText;
    use crate::pki::{Authority, Issued, LeafSpec};

    fn issue(ca: &Authority, spec: LeafSpec) -> Issued {
        ca.issue(&spec).unwrap()
    }

    fn stored(issued: &Issued, key_pem: &str) -> DatabaseCertificate {
        let row = CertificateRow {
            id: 3,
            primary_domain: "localhost".to_string(),
            domains: String::new(),
            provider: "dnsAccount".to_string(),
            status: "ready".to_string(),
            auto_renew: "1".to_string(),
            expire_date: None,
            start_date: None,
            updated_at: None,
            pem: issued.cert_pem.clone(),
            private_key: SecretText::new(key_pem.to_string()),
        };
        let pair = check_pair(row.pem.as_bytes(), key_pem.as_bytes(), OffsetDateTime::now_utc());
        DatabaseCertificate { row, pair }
    }

    fn summary(issued: &Issued) -> CertSummary {
        CertSummary::from_der(&issued.der).unwrap()
    }

    fn finding_id(comparison: &Comparison) -> Option<&str> {
        comparison.finding.as_ref().map(|finding| finding.id.as_str())
    }

    #[test]
    fn newer_usable_row_puts_file_behind() {
        let ca = Authority::new("compare test root").unwrap();
        let old = issue(&ca, LeafSpec::expired(&["localhost"]));
        let renewed = issue(&ca, LeafSpec::valid_for(&["localhost"], 90));

        let comparison = compare_with_file(&stored(&renewed, &renewed.key_pem), Some(&summary(&old)), Path::new("server.crt"));

        assert!(comparison.file_behind);
        assert_eq!(finding_id(&comparison), Some("panel.file_behind_db"));
    }

    #[test]
    fn missing_file_with_usable_row_is_behind() {
        let ca = Authority::new("compare test root").unwrap();
        let renewed = issue(&ca, LeafSpec::valid_for(&["localhost"], 90));

        let comparison = compare_with_file(&stored(&renewed, &renewed.key_pem), None, Path::new("server.crt"));

        assert!(comparison.file_behind);
    }

    #[test]
    fn same_leaf_matches() {
        let ca = Authority::new("compare test root").unwrap();
        let current = issue(&ca, LeafSpec::valid_for(&["localhost"], 90));

        let comparison = compare_with_file(&stored(&current, &current.key_pem), Some(&summary(&current)), Path::new("server.crt"));

        assert!(!comparison.file_behind);
        assert_eq!(finding_id(&comparison), Some("panel.db_matches_file"));
    }

    #[test]
    fn older_row_is_behind_file() {
        let ca = Authority::new("compare test root").unwrap();
        let longer = issue(&ca, LeafSpec::valid_for(&["localhost"], 300));
        let shorter = issue(&ca, LeafSpec::valid_for(&["localhost"], 30));

        let comparison = compare_with_file(&stored(&shorter, &shorter.key_pem), Some(&summary(&longer)), Path::new("server.crt"));

        assert!(!comparison.file_behind);
        assert_eq!(finding_id(&comparison), Some("panel.db_behind_file"));
    }

    #[test]
    fn newer_unusable_row_is_not_behind() {
        let ca = Authority::new("compare test root").unwrap();
        let old = issue(&ca, LeafSpec::expired(&["localhost"]));
        let renewed = issue(&ca, LeafSpec::valid_for(&["localhost"], 90));
        let stranger = issue(&ca, LeafSpec::valid_for(&["localhost"], 90));

        let comparison = compare_with_file(&stored(&renewed, &stranger.key_pem), Some(&summary(&old)), Path::new("server.crt"));

        assert!(!comparison.file_behind);
        assert_eq!(finding_id(&comparison), None);
    }

    #[test]
    fn no_db_file_gives_status_result() {
        let ca = Authority::new("status test root").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = crate::pki::write_pair(dir.path(), "site", &issue(&ca, LeafSpec::valid_for(&["localhost"], 90)), &[]).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
        let cert = cert.display().to_string();
        let key = key.display().to_string();
        let variables = Variables::from_pairs([
            ("host", "127.0.0.1"),
            ("port", port.as_str()),
            ("server_name", ""),
            ("cert_file", cert.as_str()),
            ("key_file", key.as_str()),
            ("ca_file", ""),
            ("timeout_secs", "2"),
            ("db_file", ""),
            ("log_files", ""),
        ]);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let now = OffsetDateTime::now_utc();

        let plain = runtime.block_on(status::run(&variables, now)).unwrap();
        let panel = runtime.block_on(run_status(&variables, now)).unwrap();

        assert_eq!(panel.outcome, plain.outcome);
        let ids = |output: &CheckOutput| output.findings.iter().map(|finding| finding.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&panel), ids(&plain));
        assert_eq!(panel.outcome, "unreachable");
    }

    fn scan(lines: &[(LineKind, &str)]) -> LogScan {
        LogScan {
            file: PathBuf::from("1Panel.log"),
            file_size: 0,
            bytes_read: 0,
            truncated: false,
            lines: lines.iter().map(|(kind, text)| LogLine { timestamp: None, kind: *kind, text: text.to_string() }).collect(),
            picked_total: lines.len(),
        }
    }

    #[test]
    fn panics_after_last_start_are_a_loop() {
        let scans = [scan(&[
            (LineKind::Listen, "listen at https://0.0.0.0:1"),
            (LineKind::Panic, "panic: open /opt/1panel/secret/server.crt: no such file or directory"),
            (LineKind::Panic, "panic: open /opt/1panel/secret/server.crt: no such file or directory"),
        ])];

        let found = log_loop(&scans).unwrap();

        assert_eq!(found.panics, 2);
        assert!(mentions_certificate(found.last));
    }

    #[test]
    fn start_after_panics_is_no_loop() {
        let scans = [scan(&[
            (LineKind::Panic, "panic: tls: private key does not match public key"),
            (LineKind::Panic, "panic: tls: private key does not match public key"),
            (LineKind::Listen, "listen at https://0.0.0.0:1"),
        ])];

        assert!(log_loop(&scans).is_none());
    }

    #[test]
    fn single_panic_is_no_loop() {
        let scans = [scan(&[(LineKind::Panic, "panic: runtime error")])];
        assert!(log_loop(&scans).is_none());
    }

    #[test]
    fn no_entries_note_is_empty_journal() {
        assert!(journal_is_empty(b"-- No entries --\n"));
        assert!(journal_is_empty(b""));
        assert!(!journal_is_empty(b"-- Boot 1a2b --\n2026-11-30T03:00:02+0800 host 1panel[1]: panic: x\n"));
    }

    #[test]
    fn rotated_copies_follow_their_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("1Panel.log");
        for name in ["1Panel.log", "1Panel-2026-11-29.log.gz", "1Panel-2026-11-28.log", "1Panel-2026-11-27.log"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }

        let files = with_rotated(&[log.display().to_string()]);

        assert_eq!(files.len(), 1 + ROTATED_PER_LOG, "{files:?}");
        assert_eq!(files[0], log.display().to_string());
    }
}
