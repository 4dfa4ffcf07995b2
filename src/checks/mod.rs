//! The checks a flow runs, behind a trait so the runner can be driven without I/O in tests.

pub mod disk;
pub mod endpoint;
pub mod logs;
pub mod panel;
pub mod site;
pub mod status;
pub mod verify;

use time::OffsetDateTime;

use crate::certs::CertSummary;
use crate::findings::Finding;
use crate::flow::CheckKind;
use crate::logs::LogScan;
use crate::progress::Progress;
use crate::variables::{VariableError, Variables};

/// Evidence a check collected and the outcome it ended with.
#[derive(Debug, Clone)]
pub struct CheckOutput {
    pub outcome: &'static str,
    pub findings: Vec<Finding>,
    pub served: Option<CertSummary>,
    pub disk: Option<CertSummary>,
    pub logs: Vec<LogScan>,
    /// Variables the check found out, such as the certificate path a server block names; later
    /// states read them like any other variable.
    pub discovered: Vec<(String, String)>,
}

impl CheckOutput {
    pub fn new(outcome: &'static str) -> CheckOutput {
        CheckOutput { outcome, findings: Vec::new(), served: None, disk: None, logs: Vec::new(), discovered: Vec::new() }
    }
}

/// Runs checks; the runner depends only on this trait, so tests can drive it without I/O.
pub trait Checks {
    fn run(&mut self, check: CheckKind, variables: &Variables, progress: &dyn Progress) -> Result<CheckOutput, VariableError>;
}

/// The real checks: TLS probes, file reads, `/proc` and log files.
pub struct LiveChecks {
    runtime: tokio::runtime::Runtime,
}

impl LiveChecks {
    pub fn new() -> std::io::Result<LiveChecks> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(LiveChecks { runtime })
    }
}

impl Checks for LiveChecks {
    fn run(&mut self, check: CheckKind, variables: &Variables, progress: &dyn Progress) -> Result<CheckOutput, VariableError> {
        let now = OffsetDateTime::now_utc();
        match check {
            CheckKind::Status => self.runtime.block_on(status::run(variables, now)),
            CheckKind::Verify => self.runtime.block_on(verify::run(variables, progress)),
            CheckKind::Disk => {
                let pair = disk::read_pair(variables, now)?;
                let mut output = CheckOutput::new(if pair.usable { "valid" } else { "invalid" });
                output.disk = pair.leaf().cloned();
                output.findings = pair.findings;
                Ok(output)
            }
            CheckKind::Logs => Ok(logs::run(variables)),
            CheckKind::SiteStatus => self.runtime.block_on(site::run(variables, now)),
            CheckKind::PanelStatus => self.runtime.block_on(panel::run_status(variables, now)),
            CheckKind::PanelLogs => Ok(self.runtime.block_on(panel::run_logs(variables))),
        }
    }
}

/// Checks up front that every variable the flow's checks and actions read has a usable value,
/// so a bad `--set` ends the run before anything is probed.
pub fn validate_variables(flow: &crate::flow::Flow, variables: &Variables) -> Result<(), VariableError> {
    use crate::flow::Step;
    for state in &flow.states {
        match &state.step {
            Step::Check { check, .. } | Step::End { check: Some(check), .. } => match check {
                CheckKind::Status | CheckKind::PanelStatus => {
                    endpoint::target(variables)?;
                    variables.path("cert_file")?;
                    variables.path("key_file")?;
                }
                CheckKind::Verify => {
                    endpoint::target(variables)?;
                    variables.count("verify_attempts")?;
                    variables.seconds("verify_interval_secs")?;
                }
                CheckKind::Disk => {
                    variables.path("cert_file")?;
                    variables.path("key_file")?;
                }
                CheckKind::Logs | CheckKind::PanelLogs => {}
                CheckKind::SiteStatus => site::validate(variables)?,
            },
            Step::Action { .. } => {
                variables.seconds("action_timeout_secs")?;
            }
            _ => {}
        }
    }
    Ok(())
}
