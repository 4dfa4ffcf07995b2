//! The runner driven through its traits: scripted check outcomes and prompt replies, no I/O.

use std::collections::VecDeque;

use certwiz::answers::Answers;
use certwiz::checks::{CheckOutput, Checks};
use certwiz::flow::{embedded, CheckKind, Flow};
use certwiz::i18n::Lang;
use certwiz::progress::Progress;
use certwiz::prompt::{Prompter, Reply};
use certwiz::report::{AnswerSource, Outcome};
use certwiz::run::{Ended, Session, Settings};
use certwiz::transcript::Transcript;
use certwiz::variables::{VariableError, Variables};

/// Returns scripted outcomes in order and records which checks ran.
struct ScriptedChecks {
    outcomes: VecDeque<&'static str>,
    ran: Vec<CheckKind>,
}

impl Checks for ScriptedChecks {
    fn run(&mut self, check: CheckKind, _variables: &Variables, _progress: &dyn Progress) -> Result<CheckOutput, VariableError> {
        self.ran.push(check);
        let outcome = self.outcomes.pop_front().unwrap_or_else(|| panic!("no scripted outcome left for {check:?}"));
        Ok(CheckOutput::new(outcome))
    }
}

/// Replies to prompts from a script.
struct ScriptedPrompter {
    selections: VecDeque<Reply<usize>>,
    confirmations: VecDeque<Reply<bool>>,
}

impl Prompter for ScriptedPrompter {
    fn select(&mut self, _message: &str, _options: &[String], _default: Option<usize>) -> Reply<usize> {
        self.selections.pop_front().expect("a scripted selection")
    }

    fn confirm(&mut self, _message: &str) -> Reply<bool> {
        self.confirmations.pop_front().expect("a scripted confirmation")
    }
}

fn panel() -> Flow {
    embedded("panel").unwrap().unwrap()
}

/// Variables that satisfy every check and action of the panel flow; the scripted checks ignore them.
fn variables() -> Variables {
    Variables::from_pairs([("action_timeout_secs", "5"), ("restart_command", "true")])
}

fn run(outcomes: &[&'static str], prompter: Option<ScriptedPrompter>, assume_yes: bool) -> (Ended, Vec<CheckKind>) {
    let flow = panel();
    let mut prompter = prompter;
    let mut checks = ScriptedChecks { outcomes: outcomes.iter().copied().collect(), ran: Vec::new() };
    let mut transcript = Transcript::silent(Lang::En);
    let session = Session {
        flow: &flow,
        variables: variables(),
        checks: &mut checks,
        prompter: prompter.as_mut().map(|prompter| prompter as &mut dyn Prompter),
        settings: Settings { answers: Answers::default(), assume_yes, spinner: false },
        transcript: &mut transcript,
    };
    let ended = session.run().expect("the run reaches an end");
    (ended, checks.ran)
}

#[test]
fn healthy_status_ends_healthy_with_defaults() {
    let (ended, ran) = run(&["healthy"], None, false);
    assert_eq!(ended.report.outcome, Outcome::Healthy);
    assert_eq!(ended.report.path, ["warning", "check-status", "browser-check", "healthy"]);
    assert_eq!(ran, [CheckKind::PanelStatus]);
    assert!(ended.report.answers.iter().all(|answer| answer.source == AnswerSource::Default));
}

#[test]
fn stale_status_restarts_and_verifies() {
    let (ended, ran) = run(&["stale", "valid", "valid", "serving-disk-cert"], None, true);
    assert_eq!(ended.report.outcome, Outcome::Resolved);
    assert_eq!(ended.report.path, ["warning", "check-status", "full-restart", "verify", "resolved"]);
    assert_eq!(ran, [CheckKind::PanelStatus, CheckKind::Disk, CheckKind::Disk, CheckKind::Verify]);
    assert_eq!(ended.report.actions.len(), 1);
    assert_eq!(ended.report.actions[0].command, ["true"]);
    assert_eq!(ended.report.actions[0].exit_code, Some(0));
}

#[test]
fn unapproved_action_aborts_without_running() {
    let (ended, _) = run(&["stale", "valid"], None, false);
    assert_eq!(ended.report.outcome, Outcome::Aborted);
    assert_eq!(ended.report.path.last().map(String::as_str), Some("full-restart"));
    assert!(!ended.report.actions[0].approved);
    assert_eq!(ended.report.actions[0].exit_code, None);
    assert!(ended.report.findings.iter().any(|finding| finding.id == "run.unapproved"));
}

#[test]
fn prompt_answers_drive_the_flow() {
    let prompter = ScriptedPrompter {
        selections: VecDeque::from([Reply::Answer(0)]),
        confirmations: VecDeque::from([Reply::Answer(false)]),
    };
    let (ended, _) = run(&["stale", "valid"], Some(prompter), false);
    assert_eq!(ended.report.answers[0].choice, "expired");
    assert_eq!(ended.report.answers[0].source, AnswerSource::Prompt);
    assert_eq!(ended.report.answers[1].question, "full-restart");
    assert_eq!(ended.report.answers[1].choice, "no");
    assert_eq!(ended.report.outcome, Outcome::Aborted);
    assert!(!ended.interrupted);
}

#[test]
fn ctrl_c_at_prompt_interrupts() {
    let prompter = ScriptedPrompter { selections: VecDeque::from([Reply::Interrupted]), confirmations: VecDeque::new() };
    let (ended, ran) = run(&[], Some(prompter), false);
    assert!(ended.interrupted);
    assert_eq!(ended.report.path, ["warning"]);
    assert!(ran.is_empty());
}

#[test]
fn invalid_files_block_the_restart() {
    let (ended, ran) = run(&["stale", "invalid"], None, true);
    assert_eq!(ran, [CheckKind::PanelStatus, CheckKind::Disk]);
    assert_eq!(ended.report.path, ["warning", "check-status", "full-restart", "reconfirm"]);
    assert!(ended.report.actions.is_empty());
    assert!(ended.report.findings.iter().any(|finding| finding.id == "action.blocked"));
}

#[test]
fn reconfirm_without_answer_aborts() {
    let (ended, _) = run(&["file-bad"], None, true);
    assert_eq!(ended.report.outcome, Outcome::Aborted);
    assert_eq!(ended.report.path.last().map(String::as_str), Some("reconfirm"));
    assert!(ended.report.findings.iter().any(|finding| finding.id == "run.unanswered"));
}

#[test]
fn failed_verify_collects_logs_and_ends_unresolved() {
    let (ended, ran) = run(&["stale", "valid", "valid", "still-stale", "found"], None, true);
    assert_eq!(ended.report.outcome, Outcome::Unresolved);
    assert_eq!(ended.report.path.last().map(String::as_str), Some("inspect-logs"));
    assert_eq!(ran, [CheckKind::PanelStatus, CheckKind::Disk, CheckKind::Disk, CheckKind::Verify, CheckKind::PanelLogs]);
}

#[test]
fn declined_restart_names_state_and_problems() {
    let prompter = ScriptedPrompter {
        selections: VecDeque::from([Reply::Answer(3)]),
        confirmations: VecDeque::from([Reply::Answer(false)]),
    };
    let (ended, _) = run(&["stale", "valid"], Some(prompter), false);
    assert_eq!(ended.report.outcome, Outcome::Aborted);
    assert!(ended.report.verdict.contains("`full-restart`"), "{}", ended.report.verdict);
    assert!(ended.report.next_step.contains("You declined `full-restart`"), "{}", ended.report.next_step);
}

#[test]
fn escape_at_question_is_cancelled_not_unanswered() {
    let prompter = ScriptedPrompter { selections: VecDeque::from([Reply::Cancelled]), confirmations: VecDeque::new() };
    let (ended, _) = run(&[], Some(prompter), false);
    let ids: Vec<&str> = ended.report.findings.iter().map(|finding| finding.id.as_str()).collect();
    assert_eq!(ids, ["run.cancelled"]);
    assert!(ended.report.verdict.contains("no problem was found"), "{}", ended.report.verdict);
    assert!(ended.report.next_step.contains("`warning`"), "{}", ended.report.next_step);
}

#[test]
fn files_broken_during_prompt_block_the_restart() {
    let prompter = ScriptedPrompter {
        selections: VecDeque::from([Reply::Answer(3), Reply::Cancelled]),
        confirmations: VecDeque::from([Reply::Answer(true)]),
    };
    let (ended, ran) = run(&["stale", "valid", "invalid"], Some(prompter), false);
    assert_eq!(ran, [CheckKind::PanelStatus, CheckKind::Disk, CheckKind::Disk]);
    assert!(ended.report.actions.is_empty(), "the restart ran: {:?}", ended.report.actions);
    assert!(ended.report.findings.iter().any(|finding| finding.id == "action.blocked"));
    assert_eq!(ended.report.path.last().map(String::as_str), Some("reconfirm"));
}
