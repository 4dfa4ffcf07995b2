//! Flow files: the troubleshooting flowchart as data, parsed and validated into a [`Flow`].

mod check_kind;
mod embedded;
pub mod mermaid;
mod raw;
mod validate;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

pub use check_kind::{BuiltinAction, CheckKind, ACTION_BLOCKED, ACTION_OUTCOMES, ACTION_VARIABLES};
pub use embedded::{embedded, embedded_names};
pub use validate::{FlowError, FlowErrors};

use crate::i18n::Lang;

/// A validated flow: every reference is an index, every text exists in both languages.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub title: Text,
    pub start: StateIndex,
    pub variables: BTreeMap<String, Variable>,
    pub states: Vec<State>,
    /// Origin of the flow for messages: `flows/NAME.toml` for an embedded flow, else the file path.
    pub source: String,
}

pub type StateIndex = usize;

/// A text in English and Simplified Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::ZhCn => &self.zh_cn,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Variable {
    /// Default value; may hold `{{fact}}` placeholders filled from the detected install.
    pub default: String,
    pub help: Text,
}

#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub title: Text,
    pub text: Option<Text>,
    pub step: Step,
}

/// Work a state performs, from a closed set: flow files wire these together and cannot add code.
#[derive(Debug, Clone)]
pub enum Step {
    Check {
        check: CheckKind,
        next: BTreeMap<String, StateIndex>,
    },
    Question {
        choices: Vec<Choice>,
        default: Option<usize>,
    },
    Action {
        command: ActionCommand,
        requires_valid_files: bool,
        next: BTreeMap<String, StateIndex>,
    },
    End {
        outcome: EndOutcome,
        /// Evidence collected before the run ends, such as the log lines.
        check: Option<CheckKind>,
        next_step: Text,
    },
}

/// Command or operation an action state runs.
#[derive(Debug, Clone)]
pub enum ActionCommand {
    /// The command line held by this variable, split into argv.
    Variable(String),
    /// An operation certwiz performs itself, such as writing certificate files.
    Builtin(BuiltinAction),
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub id: String,
    pub text: Text,
    pub next: StateIndex,
}

/// Final outcome of a run that reaches an end state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EndOutcome {
    Healthy,
    Resolved,
    Unresolved,
}

impl EndOutcome {
    pub fn from_name(name: &str) -> Option<EndOutcome> {
        match name {
            "healthy" => Some(EndOutcome::Healthy),
            "resolved" => Some(EndOutcome::Resolved),
            "unresolved" => Some(EndOutcome::Unresolved),
            _ => None,
        }
    }
}

impl Flow {
    /// Parses and validates flow text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Flow, FlowErrors> {
        validate::parse(text, source)
    }

    /// Reads and validates a flow file.
    pub fn load(path: &Path) -> Result<Flow, FlowErrors> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| FlowErrors::unreadable(&source, &err))?;
        Flow::parse(&text, &source)
    }

    pub fn state(&self, index: StateIndex) -> &State {
        &self.states[index]
    }

    pub fn index_of(&self, id: &str) -> Option<StateIndex> {
        self.states.iter().position(|state| state.id == id)
    }

    /// Check kinds any state of this flow runs.
    pub fn checks(&self) -> impl Iterator<Item = CheckKind> + '_ {
        self.states.iter().filter_map(|state| match &state.step {
            Step::Check { check, .. } => Some(*check),
            Step::End { check, .. } => *check,
            _ => None,
        })
    }
}
