//! Built-in operations of action states: work certwiz does itself instead of running a command.

use crate::findings::Finding;
use crate::flow::BuiltinAction;
use crate::variables::{VariableError, Variables};

/// Result of a built-in operation.
pub struct Applied {
    pub success: bool,
    pub findings: Vec<Finding>,
    /// Steps carried out, one line each, for the report.
    pub operations: Vec<String>,
}

/// Lists what the operation would do, one line each, to show before asking for consent.
pub fn describe(action: BuiltinAction, _variables: &Variables) -> Result<Vec<String>, VariableError> {
    match action {}
}

/// Performs the operation. Called only after consent.
pub fn apply(action: BuiltinAction, _variables: &Variables) -> Applied {
    match action {}
}
