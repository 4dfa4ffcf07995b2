//! Drives a flow from its start to an end state: runs checks, asks questions, runs approved actions.

use rust_i18n::t;
use serde_json::json;

use crate::action::{self, ActionError};
use crate::answers::{Answers, APPROVE};
use crate::checks::{CheckOutput, Checks};
use crate::engine::{self, EngineError, Input};
use crate::findings::{Finding, Severity};
use crate::builtin;
use crate::flow::{ActionCommand, BuiltinAction, CheckKind, Choice, Flow, State, StateIndex, Step};
use crate::progress::{Progress, Silent, Spinner};
use crate::prompt::{Prompter, Reply};
use crate::report::{ActionRecord, AnswerRecord, AnswerSource, Outcome, Report};
use crate::transcript::Transcript;
use crate::variables::{VariableError, Variables};

/// Sources of answers for questions and consent for actions.
pub struct Settings {
    pub answers: Answers,
    /// Approve every action (`--yes`).
    pub assume_yes: bool,
    /// Show a spinner on slow steps.
    pub spinner: bool,
}

/// Failure that stops a run before an end state.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Variable(#[from] VariableError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{}", t!("run.error.too_many_steps", steps = engine::MAX_STEPS))]
    TooManySteps,
}

/// The result of a run: the report, and whether Ctrl-C ended it.
pub struct Ended {
    pub report: Report,
    pub interrupted: bool,
}

/// Next step of a run after one state.
enum Next {
    Go(StateIndex),
    Finish,
    Abort(Stop),
    Interrupt,
}

/// Reason a run stops at a question or action before an end state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A non-interactive run had no answer or approval for the state.
    Unanswered,
    /// The user pressed Escape at the prompt.
    Cancelled,
    /// The user or the answers file declined the action.
    Declined,
}

pub struct Session<'a> {
    pub flow: &'a Flow,
    /// Values the flow starts with; checks may fill in more as they discover them.
    pub variables: Variables,
    pub checks: &'a mut dyn Checks,
    /// `None` in non-interactive runs.
    pub prompter: Option<&'a mut dyn Prompter>,
    pub settings: Settings,
    pub transcript: &'a mut Transcript,
}

impl Session<'_> {
    /// Walks the flow from its start state until an end state, an abort or Ctrl-C.
    pub fn run(mut self) -> Result<Ended, RunError> {
        let lang = self.transcript.lang;
        let mut report = Report::new(&self.flow.id, lang);
        report.variables = self.variables.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
        self.transcript.title(&format!("certwiz · {} ({})", self.flow.title.get(lang), self.flow.id));

        let mut at = self.flow.start;
        for step in 1..=engine::MAX_STEPS {
            // Ctrl-C arrived while the previous state ran: take no further step.
            if crate::interrupt::interrupted() {
                report.outcome = Outcome::Aborted;
                report.verdict = t!("run.interrupted").into_owned();
                return Ok(Ended { report, interrupted: true });
            }
            let state = self.flow.state(at);
            report.path.push(state.id.clone());
            crate::report::snapshot::publish(&report);
            // A prompt shows the question's text itself, so the transcript does not repeat it.
            let prompted = matches!(state.step, Step::Question { .. })
                && self.prompter.is_some()
                && self.settings.answers.get(&state.id).is_none();
            self.transcript.state(step, state, !prompted);

            match self.visit(state, &mut report)? {
                Next::Go(next) => at = next,
                Next::Finish => return Ok(Ended { report, interrupted: false }),
                Next::Abort(stop) => {
                    report.outcome = Outcome::Aborted;
                    report.verdict = aborted_verdict(state, &report);
                    report.next_step = match stop {
                        Stop::Unanswered => t!("run.aborted.next_step"),
                        Stop::Cancelled => t!("run.cancelled.next_step", id = &state.id),
                        Stop::Declined => t!("run.declined.next_step", id = &state.id),
                    }
                    .into_owned();
                    return Ok(Ended { report, interrupted: false });
                }
                Next::Interrupt => {
                    report.outcome = Outcome::Aborted;
                    report.verdict = t!("run.interrupted").into_owned();
                    return Ok(Ended { report, interrupted: true });
                }
            }
        }
        Err(RunError::TooManySteps)
    }

    fn visit(&mut self, state: &State, report: &mut Report) -> Result<Next, RunError> {
        match &state.step {
            Step::Check { check, .. } => {
                let output = self.check(*check, state, report)?;
                Ok(Next::Go(engine::next(self.flow, self.index(state), Input::Outcome(output.outcome))?))
            }
            Step::Question { choices, default } => self.question(state, choices, *default, report),
            Step::Action { command: ActionCommand::Variable(variable), requires_valid_files, .. } => {
                self.action(state, variable, *requires_valid_files, report)
            }
            Step::Action { command: ActionCommand::Builtin(action), requires_valid_files, .. } => {
                self.builtin(state, *action, *requires_valid_files, report)
            }
            Step::End { outcome, check, next_step } => {
                if let Some(check) = check {
                    self.check(*check, state, report)?;
                }
                let lang = self.transcript.lang;
                report.outcome = (*outcome).into();
                report.verdict = state.text.as_ref().unwrap_or(&state.title).get(lang).to_string();
                report.next_step = next_step.get(lang).to_string();
                Ok(Next::Finish)
            }
        }
    }

    fn index(&self, state: &State) -> StateIndex {
        // `state` was taken from this flow, so its id is present.
        self.flow.index_of(&state.id).expect("state belongs to the flow")
    }

    fn progress(&self, message: &str) -> Box<dyn Progress> {
        if self.settings.spinner {
            Box::new(Spinner::start(message))
        } else {
            Box::new(Silent)
        }
    }

    fn check(&mut self, check: CheckKind, state: &State, report: &mut Report) -> Result<CheckOutput, RunError> {
        let progress = self.progress(state.title.get(self.transcript.lang));
        let output = self.checks.run(check, &self.variables, progress.as_ref());
        drop(progress);
        let output = output?;

        for (name, value) in &output.discovered {
            self.transcript.note(&t!("run.discovered", name = name, value = value));
            self.variables.set(name, value);
            report.variables.insert(name.clone(), value.clone());
        }

        // Certificates are recorded and published first, so that `--redact` has learnt their
        // names before the findings that mention them are printed.
        if let Some(served) = &output.served {
            report.record_served(served.clone());
        }
        if let Some(disk) = &output.disk {
            report.certificates.disk = Some(disk.clone());
        }
        crate::report::snapshot::publish(report);
        self.record_findings(state, output.findings.clone(), report);
        for scan in &output.logs {
            self.show_log_lines(scan);
        }
        report.logs.extend(output.logs.iter().cloned());
        Ok(output)
    }

    fn record_findings(&mut self, state: &State, findings: Vec<Finding>, report: &mut Report) {
        for mut finding in findings {
            finding.state = state.id.clone();
            self.transcript.finding(&finding);
            report.findings.push(finding);
        }
    }

    fn show_log_lines(&mut self, scan: &crate::logs::LogScan) {
        if scan.lines.is_empty() {
            return;
        }
        self.transcript.note(&t!("run.log_lines", path = scan.file.display(), count = scan.lines.len()));
        // A parsed timestamp comes from the text itself, so it is not printed again.
        for line in &scan.lines {
            let text = self.transcript.styles.dim(&format!("  {}", line.text));
            self.transcript.note(&text);
        }
    }

    fn question(&mut self, state: &State, choices: &[Choice], default: Option<usize>, report: &mut Report) -> Result<Next, RunError> {
        let lang = self.transcript.lang;
        let (index, source) = if let Some(answer) = self.settings.answers.get(&state.id) {
            // The answers file was validated against this flow, so the choice exists.
            let index = choices.iter().position(|choice| choice.id == answer).expect("validated answer");
            (index, AnswerSource::AnswersFile)
        } else if let Some(prompter) = self.prompter.as_deref_mut() {
            let message = state.text.as_ref().unwrap_or(&state.title).get(lang);
            let options: Vec<String> = choices.iter().map(|choice| choice.text.get(lang).to_string()).collect();
            match prompter.select(message, &options, default) {
                Reply::Answer(index) => (index, AnswerSource::Prompt),
                Reply::Cancelled => return Ok(self.cancelled(state, report)),
                Reply::Interrupted => return Ok(Next::Interrupt),
            }
        } else if let Some(index) = default {
            (index, AnswerSource::Default)
        } else {
            return Ok(self.unanswered(state, choices, report));
        };

        let choice = &choices[index];
        let source_text = match source {
            // The prompt has already shown the chosen answer.
            AnswerSource::Prompt => None,
            AnswerSource::AnswersFile => Some(t!("run.answer_source.answers_file")),
            AnswerSource::Default => Some(t!("run.answer_source.default")),
            AnswerSource::Yes => Some(t!("run.answer_source.yes")),
        };
        if let Some(source_text) = source_text {
            self.transcript.note(&t!("run.answer_line", choice = choice.text.get(lang), source = source_text));
        }
        report.answers.push(AnswerRecord { question: state.id.clone(), choice: choice.id.clone(), source });
        Ok(Next::Go(engine::next(self.flow, self.index(state), Input::Choice(&choice.id))?))
    }

    fn unanswered(&mut self, state: &State, choices: &[Choice], report: &mut Report) -> Next {
        let known: Vec<&str> = choices.iter().map(|choice| choice.id.as_str()).collect();
        let finding = Finding::new(
            "run.unanswered",
            Severity::Error,
            t!("run.unanswered", id = &state.id, choices = known.join(", ")),
            json!({ "question": state.id, "choices": known }),
        );
        self.record_findings(state, vec![finding], report);
        Next::Abort(Stop::Unanswered)
    }

    fn cancelled(&mut self, state: &State, report: &mut Report) -> Next {
        let finding = Finding::new(
            "run.cancelled",
            Severity::Info,
            t!("run.cancelled", id = &state.id),
            json!({ "state": state.id }),
        );
        self.record_findings(state, vec![finding], report);
        Next::Abort(Stop::Cancelled)
    }

    fn action(&mut self, state: &State, command_variable: &str, requires_valid_files: bool, report: &mut Report) -> Result<Next, RunError> {
        let index = self.index(state);
        let go = |flow: &Flow, outcome: &str| -> Result<Next, RunError> { Ok(Next::Go(engine::next(flow, index, Input::Outcome(outcome))?)) };

        let argv = match action::split_command(self.variables.text(command_variable)) {
            Ok(argv) => argv,
            Err(error) => {
                let finding = command_finding(command_variable, self.variables.text(command_variable), &error);
                self.record_findings(state, vec![finding], report);
                return go(self.flow, "failed");
            }
        };

        if requires_valid_files && !self.files_usable(state, &argv, report)? {
            return go(self.flow, crate::flow::ACTION_BLOCKED);
        }

        self.transcript.command(&argv);
        match self.consent(state, &argv, report) {
            Consent::Approved => {}
            Consent::Declined(stop) => {
                report.actions.push(ActionRecord::declined(&state.id, argv));
                return Ok(Next::Abort(stop));
            }
            Consent::Interrupted => {
                report.actions.push(ActionRecord::declined(&state.id, argv));
                return Ok(Next::Interrupt);
            }
        }

        // The files may have changed while the prompt waited, so check them again after the yes.
        if requires_valid_files && !self.files_usable(state, &argv, report)? {
            return go(self.flow, crate::flow::ACTION_BLOCKED);
        }

        let timeout = self.variables.seconds("action_timeout_secs")?;
        crate::report::snapshot::publish(report);
        if crate::interrupt::interrupted() {
            let mut record = ActionRecord::declined(&state.id, argv);
            record.approved = true;
            report.actions.push(record);
            return Ok(Next::Interrupt);
        }
        let progress = self.progress(&t!("progress.running", command = argv.join(" ")));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let result = match runtime {
            Ok(runtime) => runtime.block_on(action::run_command(&argv, timeout)),
            Err(error) => Err(ActionError::Spawn { program: argv[0].clone(), source: error }),
        };
        drop(progress);

        match result {
            Ok(outcome) => {
                let success = outcome.success();
                let finding = if success {
                    Finding::new(
                        "action.succeeded",
                        Severity::Ok,
                        t!("run.action.succeeded", ms = outcome.duration_ms),
                        json!({ "command": outcome.argv, "exit_code": outcome.exit_code }),
                    )
                } else {
                    let reason = failure_reason(&outcome, timeout);
                    let stderr = telling_line(&outcome.stderr_tail);
                    let message = if stderr.is_empty() {
                        t!("run.action.failed_without_output", reason = reason)
                    } else {
                        t!("run.action.failed", reason = reason, stderr = stderr)
                    };
                    Finding::new(
                        "action.failed",
                        Severity::Error,
                        message,
                        json!({ "command": outcome.argv, "exit_code": outcome.exit_code, "timed_out": outcome.timed_out, "stderr_tail": outcome.stderr_tail }),
                    )
                };
                self.record_findings(state, vec![finding], report);
                report.actions.push(ActionRecord::ran(&state.id, outcome));
                go(self.flow, if success { "done" } else { "failed" })
            }
            Err(error) => {
                let finding = command_finding(command_variable, self.variables.text(command_variable), &error);
                self.record_findings(state, vec![finding], report);
                let mut record = ActionRecord::declined(&state.id, argv);
                record.approved = true;
                report.actions.push(record);
                go(self.flow, "failed")
            }
        }
    }

    /// Re-reads the certificate and key files right before an action, so that a restart never
    /// runs onto a pair that would not load.
    fn files_usable(&mut self, state: &State, operations: &[String], report: &mut Report) -> Result<bool, RunError> {
        let pair = self.checks.run(CheckKind::Disk, &self.variables, &Silent)?;
        if pair.outcome == "valid" {
            return Ok(true);
        }
        let mut findings = pair.findings;
        findings.push(Finding::new(
            "action.blocked",
            Severity::Error,
            t!("run.action.blocked"),
            json!({ "command": operations }),
        ));
        self.record_findings(state, findings, report);
        Ok(false)
    }

    /// Runs a built-in operation after the same consent as a command.
    fn builtin(&mut self, state: &State, action: BuiltinAction, requires_valid_files: bool, report: &mut Report) -> Result<Next, RunError> {
        let index = self.index(state);
        let operations = builtin::describe(action, &self.variables)?;
        if requires_valid_files && !self.files_usable(state, &operations, report)? {
            return Ok(Next::Go(engine::next(self.flow, index, Input::Outcome(crate::flow::ACTION_BLOCKED))?));
        }

        for operation in &operations {
            self.transcript.note(&format!("• {operation}"));
        }
        match self.consent(state, &operations, report) {
            Consent::Approved => {}
            Consent::Declined(stop) => {
                report.actions.push(ActionRecord::builtin(&state.id, action.name(), operations, false, None));
                return Ok(Next::Abort(stop));
            }
            Consent::Interrupted => {
                report.actions.push(ActionRecord::builtin(&state.id, action.name(), operations, false, None));
                return Ok(Next::Interrupt);
            }
        }

        crate::report::snapshot::publish(report);
        let progress = self.progress(state.title.get(self.transcript.lang));
        if requires_valid_files && !self.files_usable(state, &operations, report)? {
            return Ok(Next::Go(engine::next(self.flow, index, Input::Outcome(crate::flow::ACTION_BLOCKED))?));
        }
        let applied = builtin::apply(action, &self.variables);
        drop(progress);
        self.record_findings(state, applied.findings, report);
        let record = ActionRecord::builtin(&state.id, action.name(), applied.operations, true, Some(applied.success));
        report.actions.push(record);
        let outcome = if applied.success { "done" } else { "failed" };
        Ok(Next::Go(engine::next(self.flow, index, Input::Outcome(outcome))?))
    }

    fn consent(&mut self, state: &State, argv: &[String], report: &mut Report) -> Consent {
        let (approved, source) = if let Some(answer) = self.settings.answers.get(&state.id) {
            (answer == APPROVE, AnswerSource::AnswersFile)
        } else if self.settings.assume_yes {
            (true, AnswerSource::Yes)
        } else if let Some(prompter) = self.prompter.as_deref_mut() {
            let message = if argv.len() == 1 || !argv.iter().any(|word| word.contains(' ')) {
                t!("run.action.confirm", command = argv.join(" "))
            } else {
                t!("run.action.confirm_operations", count = argv.len())
            };
            match prompter.confirm(&message) {
                Reply::Answer(approved) => (approved, AnswerSource::Prompt),
                Reply::Cancelled => (false, AnswerSource::Prompt),
                Reply::Interrupted => return Consent::Interrupted,
            }
        } else {
            let finding = Finding::new(
                "run.unapproved",
                Severity::Error,
                t!("run.unapproved", id = &state.id),
                json!({ "action": state.id, "command": argv }),
            );
            self.record_findings(state, vec![finding], report);
            return Consent::Declined(Stop::Unanswered);
        };

        let choice = if approved { "yes" } else { "no" };
        report.answers.push(AnswerRecord { question: state.id.clone(), choice: choice.to_string(), source });
        if approved {
            Consent::Approved
        } else {
            self.transcript.note(&t!("run.action.declined"));
            Consent::Declined(Stop::Declined)
        }
    }
}

enum Consent {
    Approved,
    Declined(Stop),
    Interrupted,
}

/// Names the state the run stopped at and the problems found so far, so an aborted run still
/// reports what the checks established.
fn aborted_verdict(state: &State, report: &Report) -> String {
    let problems: Vec<&str> = report
        .findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error && !finding.id.starts_with("run."))
        .map(|finding| finding.id.as_str())
        .collect();
    if problems.is_empty() {
        t!("run.aborted.verdict_clean", id = &state.id).into_owned()
    } else {
        t!("run.aborted.verdict", id = &state.id, findings = problems.join(", ")).into_owned()
    }
}

fn command_finding(variable: &str, text: &str, error: &ActionError) -> Finding {
    let (id, message) = match error {
        ActionError::EmptyCommand => ("action.no_command", t!("run.action.no_command", variable = variable)),
        ActionError::NotFound { program } => ("action.not_found", t!("run.action.not_found", program = program, variable = variable)),
        other => ("action.invalid_command", t!("run.action.invalid_command", variable = variable, detail = other.to_string())),
    };
    Finding::new(id, Severity::Error, message, json!({ "variable": variable, "value": text }))
}

/// Describes why a command failed: it timed out, exited with a code, or a signal ended it.
fn failure_reason(outcome: &action::CommandOutcome, timeout: std::time::Duration) -> String {
    if outcome.timed_out {
        return t!("run.action.timed_out", seconds = timeout.as_secs()).into_owned();
    }
    match (outcome.exit_code, outcome.signal) {
        (Some(code), _) => t!("run.action.exit_code", code = code).into_owned(),
        (None, Some(signal)) => t!("run.action.killed_by_signal", signal = signal).into_owned(),
        (None, None) => t!("run.action.no_exit_status").into_owned(),
    }
}

/// Picks the line of a failed command's output that gives the reason: the first nginx-style error line
/// (`[emerg]`, `[alert]`, `[crit]`, `[error]`), else the last non-empty line. `nginx -t` prints its
/// reason first and a generic "test failed" last.
fn telling_line(text: &str) -> String {
    const LEVELS: [&str; 4] = ["[emerg]", "[alert]", "[crit]", "[error]"];
    let error_line = text.lines().find(|line| LEVELS.iter().any(|level| line.contains(level)));
    let last_line = || text.lines().rev().find(|line| !line.trim().is_empty());
    error_line.or_else(last_line).unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::telling_line;

    #[test]
    fn telling_line_prefers_nginx_error() {
        let output = "nginx: [emerg] cannot load certificate \"/x.pem\"\nnginx: configuration file /etc/nginx.conf test failed\n";
        assert_eq!(telling_line(output), "nginx: [emerg] cannot load certificate \"/x.pem\"");
    }

    #[test]
    fn telling_line_falls_back_to_last_line() {
        assert_eq!(telling_line("first\nsecond\n\n"), "second");
        assert_eq!(telling_line(""), "");
    }
}
