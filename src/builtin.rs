//! Built-in operations of action states: work certwiz does itself instead of running a command.

use rust_i18n::t;
use serde_json::json;
use time::OffsetDateTime;

use crate::checks::disk::format_time;
use crate::findings::{Finding, Severity};
use crate::flow::BuiltinAction;
use crate::panel::sync::{self, SyncError, SyncPlan, SyncRun, SyncStep};
use crate::variables::{VariableError, Variables};

/// Result of a built-in operation.
pub struct Applied {
    pub success: bool,
    pub findings: Vec<Finding>,
    /// Steps carried out, one line each, for the report.
    pub operations: Vec<String>,
}

/// Lists what the operation would do, one line each, to show before asking for consent.
pub fn describe(action: BuiltinAction, variables: &Variables) -> Result<Vec<String>, VariableError> {
    match action {
        // Without a usable plan nothing will be written, and `apply` reports the reason as a finding.
        BuiltinAction::PanelSyncFiles => Ok(match plan_sync(variables) {
            Ok(Ok(plan)) => describe_sync(&plan),
            Ok(Err(error)) => describe_rejection(&error.to_string()),
            Err(error) => describe_rejection(&error.to_string()),
        }),
    }
}

/// Performs the operation. Called only after consent.
pub fn apply(action: BuiltinAction, variables: &Variables) -> Applied {
    match action {
        BuiltinAction::PanelSyncFiles => apply_sync(variables),
    }
}

/// Reads the database and files afresh; the outer error is a bad variable, the inner one a
/// reason not to write.
fn plan_sync(variables: &Variables) -> Result<Result<SyncPlan, SyncError>, VariableError> {
    let cert_file = variables.path("cert_file")?;
    let key_file = variables.path("key_file")?;
    let db_file = variables.path("db_file")?;
    let certificates_db = variables.optional_path("ssl_db_file").unwrap_or_else(|| db_file.clone());
    Ok(sync::plan(&db_file, &certificates_db, &cert_file, &key_file, OffsetDateTime::now_utc()))
}

/// Lists a step that will change nothing. The second line keeps the consent prompt from
/// presenting the first one as a command to run.
fn describe_rejection(detail: &str) -> Vec<String> {
    vec![t!("builtin.panel_sync.reject", detail = detail).into_owned(), t!("builtin.panel_sync.no_change_fails").into_owned()]
}

fn describe_sync(plan: &SyncPlan) -> Vec<String> {
    let cert = plan.cert_file.display().to_string();
    let key = plan.key_file.display().to_string();
    if plan.already_current {
        return vec![
            t!("builtin.panel_sync.nothing", cert = cert, key = key, id = plan.row.id).into_owned(),
            t!("builtin.panel_sync.no_change").into_owned(),
        ];
    }

    let mut lines = vec![
        t!(
            "builtin.panel_sync.write_cert",
            path = cert,
            id = plan.row.id,
            db = plan.certificates_db.display(),
            domain = plan.row.primary_domain,
            date = format_time(plan.leaf.not_after),
            sha256 = plan.leaf.sha256
        )
        .into_owned(),
        t!("builtin.panel_sync.write_key", path = key).into_owned(),
    ];
    for target in plan.existing_targets() {
        lines.push(t!("builtin.panel_sync.backup", path = target.display()).into_owned());
    }
    lines.push(t!("builtin.panel_sync.check").into_owned());
    lines
}

fn apply_sync(variables: &Variables) -> Applied {
    let plan = match plan_sync(variables) {
        Ok(Ok(plan)) => plan,
        Ok(Err(error)) => return rejected(&error.to_string()),
        Err(error) => return rejected(&error.to_string()),
    };

    let run = sync::apply(&plan, OffsetDateTime::now_utc());
    let operations = run.steps.iter().map(describe_step).collect();
    let finding = sync_finding(&plan, &run);
    Applied { success: run.result.is_ok(), findings: vec![finding], operations }
}

fn rejected(detail: &str) -> Applied {
    let finding = Finding::new(
        "panel.sync_rejected",
        Severity::Error,
        t!("builtin.panel_sync.rejected", detail = detail),
        json!({ "detail": detail }),
    );
    Applied { success: false, findings: vec![finding], operations: Vec::new() }
}

/// Returns a file's permission bits as `0644`, or `?` when the file cannot be read.
fn mode_of(path: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|metadata| format!("{:04o}", metadata.permissions().mode() & 0o7777)).unwrap_or_else(|_| "?".to_string())
}

fn describe_step(step: &SyncStep) -> String {
    match step {
        SyncStep::BackedUp { file, backup } => {
            t!("builtin.panel_sync.backed_up", file = file.display(), backup = backup.display(), mode = mode_of(backup))
        }
        SyncStep::Replaced { file } => t!("builtin.panel_sync.replaced", file = file.display(), mode = mode_of(file)),
        SyncStep::RolledBack { file } => t!("builtin.panel_sync.rolled_back", file = file.display()),
        SyncStep::Unchanged { file } => t!("builtin.panel_sync.unchanged", file = file.display()),
    }
    .into_owned()
}

fn sync_finding(plan: &SyncPlan, run: &SyncRun) -> Finding {
    let backups: Vec<String> = run.backups().iter().map(|path| path.display().to_string()).collect();
    let evidence = json!({
        "ssl_id": plan.row.id,
        "cert_file": plan.cert_file,
        "key_file": plan.key_file,
        "sha256": plan.leaf.sha256,
        "not_after": format_time(plan.leaf.not_after),
        "chain_length": plan.chain_length,
        "backups": backups,
        "written": !plan.already_current,
    });
    let cert = plan.cert_file.display().to_string();
    let key = plan.key_file.display().to_string();

    match &run.result {
        Err(error) => {
            let mut evidence = evidence;
            evidence["detail"] = json!(error.to_string());
            Finding::new("panel.sync_failed", Severity::Error, t!("builtin.panel_sync.failed", detail = error.to_string()), evidence)
        }
        Ok(()) if plan.already_current => Finding::new(
            "panel.files_synced",
            Severity::Ok,
            t!("builtin.panel_sync.nothing", cert = cert, key = key, id = plan.row.id),
            evidence,
        ),
        Ok(()) if backups.is_empty() => Finding::new(
            "panel.files_synced",
            Severity::Ok,
            t!("builtin.panel_sync.synced_new", cert = cert, key = key, id = plan.row.id, date = format_time(plan.leaf.not_after)),
            evidence,
        ),
        Ok(()) => Finding::new(
            "panel.files_synced",
            Severity::Ok,
            t!(
                "builtin.panel_sync.synced",
                cert = cert,
                key = key,
                id = plan.row.id,
                date = format_time(plan.leaf.not_after),
                backups = backups.join(", ")
            ),
            evidence,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables_without_database() -> Variables {
        Variables::from_pairs([("cert_file", "/nonexistent/server.crt"), ("key_file", "/nonexistent/server.key"), ("db_file", "")])
    }

    #[test]
    fn sync_without_database_describes_no_change() {
        let lines = describe(BuiltinAction::PanelSyncFiles, &variables_without_database()).unwrap();

        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].contains("db_file"), "{lines:?}");
    }

    #[test]
    fn sync_without_database_is_rejected() {
        let applied = apply(BuiltinAction::PanelSyncFiles, &variables_without_database());

        assert!(!applied.success);
        assert!(applied.operations.is_empty());
        assert_eq!(applied.findings.len(), 1);
        assert_eq!(applied.findings[0].id, "panel.sync_rejected");
    }
}
