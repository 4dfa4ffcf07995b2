//! The flow file as written: TOML deserialised with spans, before any reference is checked.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    pub id: Spanned<String>,
    pub start: Spanned<String>,
    pub title: Spanned<RawText>,
    #[serde(default)]
    pub variables: BTreeMap<String, Spanned<RawVariable>>,
    #[serde(default, rename = "state")]
    pub states: Vec<Spanned<RawState>>,
}

/// A text in both languages the tool speaks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawText {
    #[serde(default)]
    pub en: Option<String>,
    #[serde(default, rename = "zh-CN")]
    pub zh_cn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariable {
    pub default: String,
    pub help: RawText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub id: Spanned<String>,
    pub kind: Spanned<String>,
    pub title: Option<RawText>,
    pub text: Option<RawText>,

    /// Check states (and end states that collect evidence): the check kind to run.
    pub check: Option<Spanned<String>>,
    /// Check and action states: outcome id to next state id.
    #[serde(default)]
    pub on: BTreeMap<String, Spanned<String>>,

    /// Question states.
    #[serde(default)]
    pub choices: Vec<Spanned<RawChoice>>,
    pub default: Option<Spanned<String>>,

    /// Action states: the variable that holds the command line.
    pub command: Option<Spanned<String>>,
    /// Action states: a built-in operation instead of a command.
    pub builtin: Option<Spanned<String>>,
    /// Action states: re-check the certificate and key files right before running.
    #[serde(default)]
    pub requires_valid_files: bool,

    /// End states.
    pub outcome: Option<Spanned<String>>,
    pub next_step: Option<RawText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChoice {
    pub id: String,
    pub text: RawText,
    pub next: Spanned<String>,
}
