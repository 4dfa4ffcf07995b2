//! Answers given ahead of time: a TOML file mapping question ids to choice ids, read with
//! `--answers` and written from a run with `--record-answers`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_i18n::t;

use crate::flow::{Flow, Step};
use crate::report::{AnswerSource, Report};

/// Choice ids an action state accepts in an answers file.
pub const APPROVE: &str = "yes";
pub const DECLINE: &str = "no";

/// Validated answers: every key is a question or action of the flow, every value one of its choices.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    choices: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswersError {
    #[error("{}", t!("answers.error.unreadable", path = path.display(), detail = detail))]
    Unreadable { path: PathBuf, detail: String },
    #[error("{}", t!("answers.error.syntax", path = path.display(), detail = detail))]
    Syntax { path: PathBuf, detail: String },
    #[error("{}", t!("answers.error.unknown_question", path = path.display(), id = id, known = known.join(", ")))]
    UnknownQuestion { path: PathBuf, id: String, known: Vec<String> },
    #[error("{}", t!("answers.error.unknown_choice", path = path.display(), id = id, choice = choice, known = known.join(", ")))]
    UnknownChoice { path: PathBuf, id: String, choice: String, known: Vec<String> },
}

impl Answers {
    /// Reads an answers file and checks it against `flow`.
    pub fn load(path: &Path, flow: &Flow) -> Result<Answers, AnswersError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| AnswersError::Unreadable { path: path.to_path_buf(), detail: error.to_string() })?;
        let choices: BTreeMap<String, String> = toml::from_str(&text)
            .map_err(|error| AnswersError::Syntax { path: path.to_path_buf(), detail: error.to_string().trim().to_string() })?;
        Answers::validate(choices, flow, path)
    }

    fn validate(choices: BTreeMap<String, String>, flow: &Flow, path: &Path) -> Result<Answers, AnswersError> {
        let askable: Vec<String> = flow
            .states
            .iter()
            .filter(|state| matches!(state.step, Step::Question { .. } | Step::Action { .. }))
            .map(|state| state.id.clone())
            .collect();

        for (id, choice) in &choices {
            let Some(index) = flow.index_of(id).filter(|_| askable.contains(id)) else {
                return Err(AnswersError::UnknownQuestion { path: path.to_path_buf(), id: id.clone(), known: askable });
            };
            let known = valid_choices(&flow.state(index).step);
            if !known.contains(choice) {
                return Err(AnswersError::UnknownChoice {
                    path: path.to_path_buf(),
                    id: id.clone(),
                    choice: choice.clone(),
                    known,
                });
            }
        }
        Ok(Answers { choices })
    }

    /// Returns the answer given for state `id`.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.choices.get(id).map(String::as_str)
    }
}

/// Renders the answers of a run as an answers file that `--answers` replays: `id = "choice"`
/// for each question and action in the order they were answered, with where the answer came
/// from as a comment. Answers from the prompt, the answers file, the defaults and `--yes` are
/// all written, so a replay takes the same path without prompting.
///
/// An answers file holds one answer per id. When a flow asked the same question twice, the
/// first answer is written and a later different one is noted in a comment.
pub fn record(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# certwiz {} answers for flow `{}`, run started {}.", report.certwiz_version, report.flow, report.started_at);
    let _ = writeln!(out, "# Replay them with --answers FILE on a run of the same flow.");
    out.push('\n');

    let mut written: BTreeMap<&str, &str> = BTreeMap::new();
    for answer in &report.answers {
        match written.get(answer.question.as_str()) {
            None => {
                written.insert(&answer.question, &answer.choice);
                let source = source_name(answer.source);
                let _ = writeln!(out, "{} = {}  # {source}", toml_key(&answer.question), toml_string(&answer.choice));
            }
            Some(first) if *first != answer.choice => {
                let _ = writeln!(out, "# {} was answered again with {}; replays use the first answer.", answer.question, toml_string(&answer.choice));
            }
            Some(_) => {}
        }
    }
    out
}

fn source_name(source: AnswerSource) -> &'static str {
    match source {
        AnswerSource::Prompt => "prompt",
        AnswerSource::AnswersFile => "answers file",
        AnswerSource::Default => "default",
        AnswerSource::Yes => "--yes",
    }
}

/// A TOML key: bare when the id allows it, quoted otherwise.
fn toml_key(id: &str) -> String {
    let bare = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        id.to_string()
    } else {
        toml_string(id)
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn valid_choices(step: &Step) -> Vec<String> {
    match step {
        Step::Question { choices, .. } => choices.iter().map(|choice| choice.id.clone()).collect(),
        Step::Action { .. } => vec![APPROVE.to_string(), DECLINE.to_string()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::embedded;

    fn panel() -> Flow {
        embedded("panel").unwrap().unwrap()
    }

    fn parse(text: &str) -> Result<Answers, AnswersError> {
        let choices = toml::from_str(text).unwrap();
        Answers::validate(choices, &panel(), Path::new("answers.toml"))
    }

    #[test]
    fn valid_answers_load() {
        let answers = parse("warning = \"expired\"\nreconfirm = \"done\"\nfull-restart = \"yes\"\n").unwrap();
        assert_eq!(answers.get("reconfirm"), Some("done"));
        assert_eq!(answers.get("full-restart"), Some("yes"));
    }

    #[test]
    fn unknown_question_lists_known_ids() {
        let error = parse("warnings = \"expired\"\n").unwrap_err();
        match error {
            AnswersError::UnknownQuestion { id, known, .. } => {
                assert_eq!(id, "warnings");
                assert!(known.contains(&"warning".to_string()));
                assert!(!known.contains(&"check-status".to_string()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_choice_lists_valid_choices() {
        let error = parse("reconfirm = \"later\"\n").unwrap_err();
        match error {
            AnswersError::UnknownChoice { choice, known, .. } => {
                assert_eq!(choice, "later");
                let flow = panel();
                let reconfirm = flow.state(flow.index_of("reconfirm").unwrap());
                assert_eq!(known, valid_choices(&reconfirm.step));
                assert!(known.contains(&"done".to_string()), "{known:?}");
                assert!(known.contains(&"cannot".to_string()), "{known:?}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    fn recorded(answers: &[(&str, &str, AnswerSource)]) -> Report {
        let mut report = Report::new("panel", crate::i18n::Lang::En);
        for (question, choice, source) in answers {
            report.answers.push(crate::report::AnswerRecord { question: question.to_string(), choice: choice.to_string(), source: *source });
        }
        report
    }

    #[test]
    fn recorded_answers_replay() {
        let report = recorded(&[
            ("warning", "name", AnswerSource::Prompt),
            ("full-restart", "yes", AnswerSource::Yes),
            ("reconfirm", "done", AnswerSource::Default),
        ]);
        let text = record(&report);
        assert!(text.contains("warning = \"name\"  # prompt\n"), "{text}");
        assert!(text.contains("full-restart = \"yes\"  # --yes\n"), "{text}");

        let answers = parse(&text).unwrap();
        assert_eq!(answers.get("warning"), Some("name"));
        assert_eq!(answers.get("full-restart"), Some("yes"));
        assert_eq!(answers.get("reconfirm"), Some("done"));
    }

    #[test]
    fn repeated_question_keeps_first_answer() {
        let report = recorded(&[("reconfirm", "done", AnswerSource::Prompt), ("reconfirm", "cannot", AnswerSource::Prompt)]);
        let text = record(&report);
        assert_eq!(text.matches("reconfirm = ").count(), 1, "{text}");
        assert!(text.contains("# reconfirm was answered again with \"cannot\""), "{text}");
        assert_eq!(parse(&text).unwrap().get("reconfirm"), Some("done"));
    }

    #[test]
    fn odd_ids_are_quoted() {
        assert_eq!(toml_key("check status"), "\"check status\"");
        assert_eq!(toml_key("full-restart"), "full-restart");
        let parsed: BTreeMap<String, String> = toml::from_str(&format!("{} = {}", toml_key("a b"), toml_string("say \"hi\"\n"))).unwrap();
        assert_eq!(parsed["a b"], "say \"hi\"\n");
    }

    #[test]
    fn check_state_is_not_answerable() {
        assert!(matches!(parse("check-status = \"healthy\"\n"), Err(AnswersError::UnknownQuestion { .. })));
    }
}
