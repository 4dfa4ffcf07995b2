//! The pure transition function of the flowchart: no I/O, no prompts, only the flow and an input.

use crate::flow::{Flow, StateIndex, Step};

/// What happened in a state, as the engine needs it to move on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A check or action ended with this outcome id.
    Outcome(&'a str),
    /// A question was answered with this choice id.
    Choice(&'a str),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("state `{state}` has no transition for outcome `{outcome}`")]
    NoTransition { state: String, outcome: String },
    #[error("state `{state}` has no choice `{choice}`")]
    NoChoice { state: String, choice: String },
    #[error("state `{state}` does not take {input:?}")]
    WrongInput { state: String, input: String },
    #[error("state `{state}` is an end state")]
    Ended { state: String },
}

/// Returns the state that follows `at` after `input`.
pub fn next(flow: &Flow, at: StateIndex, input: Input<'_>) -> Result<StateIndex, EngineError> {
    let state = flow.state(at);
    let wrong_input = || EngineError::WrongInput { state: state.id.clone(), input: format!("{input:?}") };

    match (&state.step, input) {
        (Step::Check { next, .. } | Step::Action { next, .. }, Input::Outcome(outcome)) => {
            next.get(outcome).copied().ok_or_else(|| EngineError::NoTransition {
                state: state.id.clone(),
                outcome: outcome.to_string(),
            })
        }
        (Step::Question { choices, .. }, Input::Choice(choice)) => choices
            .iter()
            .find(|candidate| candidate.id == choice)
            .map(|candidate| candidate.next)
            .ok_or_else(|| EngineError::NoChoice { state: state.id.clone(), choice: choice.to_string() }),
        (Step::End { .. }, _) => Err(EngineError::Ended { state: state.id.clone() }),
        _ => Err(wrong_input()),
    }
}

/// Upper bound on states one run visits; a flow that loops through questions stops here.
pub const MAX_STEPS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::embedded;

    fn panel() -> Flow {
        embedded("panel").expect("panel flow is embedded").expect("panel flow is valid")
    }

    fn id(flow: &Flow, index: StateIndex) -> &str {
        &flow.state(index).id
    }

    #[test]
    fn stale_status_leads_to_full_restart() {
        let flow = panel();
        let at = flow.index_of("check-status").unwrap();
        let next = next(&flow, at, Input::Outcome("stale")).unwrap();
        assert_eq!(id(&flow, next), "full-restart");
    }

    #[test]
    fn failed_verify_leads_to_logs() {
        let flow = panel();
        let at = flow.index_of("verify").unwrap();
        let next = next(&flow, at, Input::Outcome("still-stale")).unwrap();
        assert_eq!(id(&flow, next), "inspect-logs");
    }

    #[test]
    fn choice_follows_its_target() {
        let flow = panel();
        let at = flow.index_of("reconfirm").unwrap();
        let next = next(&flow, at, Input::Choice("done")).unwrap();
        assert_eq!(id(&flow, next), "recheck-files");
    }

    #[test]
    fn unknown_choice_is_an_error() {
        let flow = panel();
        let at = flow.index_of("reconfirm").unwrap();
        let error = next(&flow, at, Input::Choice("maybe")).unwrap_err();
        assert_eq!(error, EngineError::NoChoice { state: "reconfirm".into(), choice: "maybe".into() });
    }

    #[test]
    fn outcome_on_question_is_wrong_input() {
        let flow = panel();
        let at = flow.index_of("warning").unwrap();
        assert!(matches!(next(&flow, at, Input::Outcome("healthy")), Err(EngineError::WrongInput { .. })));
    }

    #[test]
    fn end_state_has_no_next() {
        let flow = panel();
        let at = flow.index_of("resolved").unwrap();
        assert!(matches!(next(&flow, at, Input::Outcome("found")), Err(EngineError::Ended { .. })));
    }
}
