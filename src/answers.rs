//! Answers given ahead of time: a TOML file mapping question ids to choice ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_i18n::t;

use crate::flow::{Flow, Step};

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
                assert_eq!(known, vec!["done".to_string(), "cannot".to_string()]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn check_state_is_not_answerable() {
        assert!(matches!(parse("check-status = \"healthy\"\n"), Err(AnswersError::UnknownQuestion { .. })));
    }
}
