//! Exit codes: a stable contract that scripts and support staff rely on.

/// The endpoint is healthy, or the problem was fixed and a fresh check confirmed it.
pub const OK: u8 = 0;
/// A problem was found and is not resolved.
pub const PROBLEM: u8 = 1;
/// Invalid input: flags, variables, flow file or answers file.
pub const INVALID_INPUT: u8 = 2;
/// The run was aborted: an action was declined or a question had no answer.
pub const ABORTED: u8 = 3;
/// Interrupted by Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;
