//! Turns a [`RawFlow`] into a [`Flow`], collecting every error with its line and state id.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use rust_i18n::t;
use toml::Spanned;

use super::raw::{RawChoice, RawFlow, RawState, RawText};
use super::{
    ActionCommand, BuiltinAction, CheckKind, Choice, EndOutcome, Flow, State, StateIndex, Step, Text, Variable, ACTION_BLOCKED, ACTION_OUTCOMES,
    ACTION_VARIABLES,
};

/// One problem in a flow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub source: String,
    /// 1-based line, when the problem sits at a known place.
    pub line: Option<usize>,
    pub state: Option<String>,
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(state) = &self.state {
            write!(f, ": {} `{state}`", t!("flow.error.state"))?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in one flow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowErrors(pub Vec<FlowError>);

impl FlowErrors {
    pub fn unreadable(source: &str, err: &std::io::Error) -> FlowErrors {
        FlowErrors(vec![FlowError {
            source: source.to_string(),
            line: None,
            state: None,
            message: t!("flow.error.unreadable", error = err.to_string()).into_owned(),
        }])
    }
}

impl fmt::Display for FlowErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FlowErrors {}

pub(super) fn parse(text: &str, source: &str) -> Result<Flow, FlowErrors> {
    let mut checker = Checker { text, source, errors: Vec::new() };

    let raw: RawFlow = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            let line = err.span().map(|span| checker.line_of(span.start));
            let message = err.message().trim().to_string();
            checker.errors.push(FlowError { source: source.to_string(), line, state: None, message });
            return Err(FlowErrors(checker.errors));
        }
    };

    let flow = checker.resolve(raw);
    if checker.errors.is_empty() {
        // Every error path above pushes an error, so a flow is present here.
        Ok(flow.expect("a flow without errors was resolved"))
    } else {
        Err(FlowErrors(checker.errors))
    }
}

struct Checker<'a> {
    text: &'a str,
    source: &'a str,
    errors: Vec<FlowError>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&byte| byte == b'\n').count() + 1
    }

    fn error(&mut self, offset: usize, state: Option<&str>, message: impl Into<String>) {
        self.errors.push(FlowError {
            source: self.source.to_string(),
            line: Some(self.line_of(offset)),
            state: state.map(str::to_string),
            message: message.into(),
        });
    }

    /// Checks both languages of a text; `what` names the field in the message.
    fn text(&mut self, raw: &RawText, offset: usize, state: Option<&str>, what: &str) -> Text {
        let mut pick = |value: &Option<String>, lang: &str| match value.as_deref().map(str::trim) {
            Some(value) if !value.is_empty() => value.to_string(),
            _ => {
                let message = t!("flow.error.missing_text", field = what, lang = lang);
                self.error(offset, state, message);
                String::new()
            }
        };
        let en = pick(&raw.en, "en");
        let zh_cn = pick(&raw.zh_cn, "zh-CN");
        Text { en, zh_cn }
    }

    fn resolve(&mut self, raw: RawFlow) -> Option<Flow> {
        let title = self.text(raw.title.get_ref(), raw.title.span().start, None, "title");

        let mut variables = BTreeMap::new();
        for (name, variable) in &raw.variables {
            let offset = variable.span().start;
            let help = self.text(&variable.get_ref().help, offset, None, &format!("variables.{name}.help"));
            variables.insert(name.clone(), Variable { default: variable.get_ref().default.clone(), help });
        }

        let mut indices: HashMap<String, StateIndex> = HashMap::new();
        for (index, state) in raw.states.iter().enumerate() {
            let id = state.get_ref().id.get_ref();
            if indices.insert(id.clone(), index).is_some() {
                self.error(state.get_ref().id.span().start, Some(id), t!("flow.error.duplicate_state"));
            }
        }
        if raw.states.is_empty() {
            self.error(0, None, t!("flow.error.no_states"));
        }

        let states: Vec<State> = raw
            .states
            .iter()
            .map(|state| self.state(state, &indices, &variables))
            .collect();

        let start = match indices.get(raw.start.get_ref()) {
            Some(&index) => index,
            None => {
                let message = t!("flow.error.unknown_start", id = raw.start.get_ref());
                self.error(raw.start.span().start, None, message);
                0
            }
        };

        if self.errors.is_empty() {
            self.check_graph(&raw, &states, start);
        }

        Some(Flow {
            id: raw.id.into_inner(),
            title,
            start,
            variables,
            states,
            source: self.source.to_string(),
        })
    }

    fn state(
        &mut self,
        spanned: &Spanned<RawState>,
        indices: &HashMap<String, StateIndex>,
        variables: &BTreeMap<String, Variable>,
    ) -> State {
        let raw = spanned.get_ref();
        let id = raw.id.get_ref().as_str();
        let offset = raw.id.span().start;

        let title = match &raw.title {
            Some(title) => self.text(title, offset, Some(id), "title"),
            None => {
                self.error(offset, Some(id), t!("flow.error.missing_field", field = "title"));
                Text { en: String::new(), zh_cn: String::new() }
            }
        };
        let text = raw.text.as_ref().map(|text| self.text(text, offset, Some(id), "text"));

        let step = match raw.kind.get_ref().as_str() {
            "check" => self.check_step(raw, indices, variables),
            "question" => self.question_step(raw, indices),
            "action" => self.action_step(raw, indices, variables),
            "end" => self.end_step(raw, variables),
            other => {
                let message = t!("flow.error.unknown_kind", kind = other);
                self.error(raw.kind.span().start, Some(id), message);
                Step::End { outcome: EndOutcome::Unresolved, check: None, next_step: title.clone() }
            }
        };

        self.reject_foreign_fields(raw);
        State { id: id.to_string(), title, text, step }
    }

    /// Rejects fields that belong to another kind of state, so a typo does not pass silently.
    fn reject_foreign_fields(&mut self, raw: &RawState) {
        let kind = raw.kind.get_ref().as_str();
        let id = raw.id.get_ref().as_str();
        let offset = raw.id.span().start;
        let present: [(&str, bool, &[&str]); 8] = [
            ("check", raw.check.is_some(), &["check", "end"]),
            ("on", !raw.on.is_empty(), &["check", "action"]),
            ("choices", !raw.choices.is_empty(), &["question"]),
            ("default", raw.default.is_some(), &["question"]),
            ("command", raw.command.is_some(), &["action"]),
            ("builtin", raw.builtin.is_some(), &["action"]),
            ("outcome", raw.outcome.is_some(), &["end"]),
            ("next_step", raw.next_step.is_some(), &["end"]),
        ];
        for (field, is_present, allowed) in present {
            if is_present && !allowed.contains(&kind) && ["check", "question", "action", "end"].contains(&kind) {
                self.error(offset, Some(id), t!("flow.error.foreign_field", field = field, kind = kind));
            }
        }
        if raw.requires_valid_files && kind != "action" {
            let message = t!("flow.error.foreign_field", field = "requires_valid_files", kind = kind);
            self.error(offset, Some(id), message);
        }
    }

    fn check_kind(&mut self, raw: &RawState, check: &Spanned<String>) -> Option<CheckKind> {
        let kind = CheckKind::from_name(check.get_ref());
        if kind.is_none() {
            let known: Vec<&str> = CheckKind::ALL.iter().map(|kind| kind.name()).collect();
            let message = t!("flow.error.unknown_check", check = check.get_ref(), known = known.join(", "));
            self.error(check.span().start, Some(raw.id.get_ref()), message);
        }
        kind
    }

    fn require_variables(&mut self, raw: &RawState, names: &[&str], variables: &BTreeMap<String, Variable>) {
        for name in names {
            if !variables.contains_key(*name) {
                let message = t!("flow.error.undeclared_variable", name = name);
                self.error(raw.id.span().start, Some(raw.id.get_ref()), message);
            }
        }
    }

    /// Resolves `on` so that it wires exactly the `expected` outcomes.
    fn transitions(
        &mut self,
        raw: &RawState,
        expected: &[&str],
        indices: &HashMap<String, StateIndex>,
    ) -> BTreeMap<String, StateIndex> {
        let id = raw.id.get_ref().as_str();
        let mut next = BTreeMap::new();
        for (outcome, target) in &raw.on {
            if !expected.contains(&outcome.as_str()) {
                let message = t!("flow.error.unknown_outcome", outcome = outcome, known = expected.join(", "));
                self.error(target.span().start, Some(id), message);
                continue;
            }
            match indices.get(target.get_ref()) {
                Some(&index) => {
                    next.insert(outcome.clone(), index);
                }
                None => {
                    let message = t!("flow.error.unknown_target", target = target.get_ref());
                    self.error(target.span().start, Some(id), message);
                }
            }
        }
        for outcome in expected {
            if !raw.on.contains_key(*outcome) {
                let message = t!("flow.error.unwired_outcome", outcome = outcome);
                self.error(raw.id.span().start, Some(id), message);
            }
        }
        next
    }

    fn check_step(
        &mut self,
        raw: &RawState,
        indices: &HashMap<String, StateIndex>,
        variables: &BTreeMap<String, Variable>,
    ) -> Step {
        let Some(check) = &raw.check else {
            self.error(raw.id.span().start, Some(raw.id.get_ref()), t!("flow.error.missing_field", field = "check"));
            return Step::Check { check: CheckKind::Status, next: BTreeMap::new() };
        };
        let Some(kind) = self.check_kind(raw, check) else {
            return Step::Check { check: CheckKind::Status, next: BTreeMap::new() };
        };
        self.require_variables(raw, kind.variables(), variables);
        let next = self.transitions(raw, kind.outcomes(), indices);
        Step::Check { check: kind, next }
    }

    fn question_step(&mut self, raw: &RawState, indices: &HashMap<String, StateIndex>) -> Step {
        let id = raw.id.get_ref().as_str();
        if raw.text.is_none() {
            self.error(raw.id.span().start, Some(id), t!("flow.error.missing_field", field = "text"));
        }
        if raw.choices.is_empty() {
            self.error(raw.id.span().start, Some(id), t!("flow.error.no_choices"));
        }

        let mut seen = HashSet::new();
        let mut choices = Vec::new();
        for spanned in &raw.choices {
            let choice: &RawChoice = spanned.get_ref();
            let offset = spanned.span().start;
            if !seen.insert(choice.id.clone()) {
                self.error(offset, Some(id), t!("flow.error.duplicate_choice", choice = &choice.id));
            }
            let text = self.text(&choice.text, offset, Some(id), &format!("choices.{}.text", choice.id));
            let next = match indices.get(choice.next.get_ref()) {
                Some(&index) => index,
                None => {
                    let message = t!("flow.error.unknown_target", target = choice.next.get_ref());
                    self.error(choice.next.span().start, Some(id), message);
                    0
                }
            };
            choices.push(Choice { id: choice.id.clone(), text, next });
        }

        let default = raw.default.as_ref().and_then(|default| {
            let position = choices.iter().position(|choice| &choice.id == default.get_ref());
            if position.is_none() {
                let known: Vec<&str> = choices.iter().map(|choice| choice.id.as_str()).collect();
                let message = t!("flow.error.unknown_default", choice = default.get_ref(), known = known.join(", "));
                self.error(default.span().start, Some(id), message);
            }
            position
        });
        Step::Question { choices, default }
    }

    fn action_step(
        &mut self,
        raw: &RawState,
        indices: &HashMap<String, StateIndex>,
        variables: &BTreeMap<String, Variable>,
    ) -> Step {
        let id = raw.id.get_ref().as_str();
        let command = match (&raw.command, &raw.builtin) {
            (Some(command), None) => {
                self.require_variables(raw, &[command.get_ref().as_str()], variables);
                ActionCommand::Variable(command.get_ref().clone())
            }
            (None, Some(builtin)) => match BuiltinAction::from_name(builtin.get_ref()) {
                Some(action) => {
                    self.require_variables(raw, action.variables(), variables);
                    ActionCommand::Builtin(action)
                }
                None => {
                    let known: Vec<&str> = BuiltinAction::ALL.iter().map(|action| action.name()).collect();
                    let message = t!("flow.error.unknown_builtin", builtin = builtin.get_ref(), known = known.join(", "));
                    self.error(builtin.span().start, Some(id), message);
                    ActionCommand::Variable(String::new())
                }
            },
            _ => {
                self.error(raw.id.span().start, Some(id), t!("flow.error.command_or_builtin"));
                ActionCommand::Variable(String::new())
            }
        };
        self.require_variables(raw, ACTION_VARIABLES, variables);
        if raw.requires_valid_files {
            self.require_variables(raw, CheckKind::Disk.variables(), variables);
        }

        let mut expected: Vec<&str> = ACTION_OUTCOMES.to_vec();
        if raw.requires_valid_files {
            expected.push(ACTION_BLOCKED);
        }
        let next = self.transitions(raw, &expected, indices);
        Step::Action { command, requires_valid_files: raw.requires_valid_files, next }
    }

    fn end_step(&mut self, raw: &RawState, variables: &BTreeMap<String, Variable>) -> Step {
        let id = raw.id.get_ref().as_str();
        let offset = raw.id.span().start;

        let outcome = match &raw.outcome {
            Some(name) => EndOutcome::from_name(name.get_ref()).unwrap_or_else(|| {
                let message = t!("flow.error.unknown_outcome", outcome = name.get_ref(), known = "healthy, resolved, unresolved");
                self.error(name.span().start, Some(id), message);
                EndOutcome::Unresolved
            }),
            None => {
                self.error(offset, Some(id), t!("flow.error.missing_field", field = "outcome"));
                EndOutcome::Unresolved
            }
        };
        let check = raw.check.as_ref().and_then(|check| self.check_kind(raw, check));
        if let Some(check) = check {
            self.require_variables(raw, check.variables(), variables);
        }
        let next_step = match &raw.next_step {
            Some(text) => self.text(text, offset, Some(id), "next_step"),
            None => {
                self.error(offset, Some(id), t!("flow.error.missing_field", field = "next_step"));
                Text { en: String::new(), zh_cn: String::new() }
            }
        };
        Step::End { outcome, check, next_step }
    }

    /// Finds states the start cannot reach and states that cannot reach an end.
    fn check_graph(&mut self, raw: &RawFlow, states: &[State], start: StateIndex) {
        let successors: Vec<Vec<StateIndex>> = states.iter().map(successors).collect();

        let reachable = walk(start, |index| successors[index].clone(), states.len());
        for (index, state) in states.iter().enumerate() {
            if !reachable[index] {
                let offset = raw.states[index].get_ref().id.span().start;
                self.error(offset, Some(&state.id), t!("flow.error.unreachable_state"));
            }
        }

        let mut predecessors = vec![Vec::new(); states.len()];
        for (from, targets) in successors.iter().enumerate() {
            for &to in targets {
                predecessors[to].push(from);
            }
        }
        let mut ends_reachable = vec![false; states.len()];
        for (index, state) in states.iter().enumerate() {
            if matches!(state.step, Step::End { .. }) {
                let from_end = walk(index, |node| predecessors[node].clone(), states.len());
                for (node, reached) in from_end.into_iter().enumerate() {
                    ends_reachable[node] |= reached;
                }
            }
        }
        for (index, state) in states.iter().enumerate() {
            if reachable[index] && !ends_reachable[index] {
                let offset = raw.states[index].get_ref().id.span().start;
                self.error(offset, Some(&state.id), t!("flow.error.dead_end"));
            }
        }
    }
}

fn successors(state: &State) -> Vec<StateIndex> {
    match &state.step {
        Step::Check { next, .. } | Step::Action { next, .. } => next.values().copied().collect(),
        Step::Question { choices, .. } => choices.iter().map(|choice| choice.next).collect(),
        Step::End { .. } => Vec::new(),
    }
}

/// Marks every node reachable from `from` by following `edges`.
fn walk(from: StateIndex, edges: impl Fn(StateIndex) -> Vec<StateIndex>, count: usize) -> Vec<bool> {
    let mut seen = vec![false; count];
    let mut queue = VecDeque::from([from]);
    seen[from] = true;
    while let Some(node) = queue.pop_front() {
        for next in edges(node) {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    seen
}
