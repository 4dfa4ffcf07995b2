//! Progress on slow steps: a spinner on a terminal, nothing elsewhere.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Receives progress messages while a step runs.
pub trait Progress {
    fn update(&self, message: &str);
}

/// Ignores progress, for non-terminal output and tests.
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _message: &str) {}
}

/// A spinner on standard error, cleared when dropped.
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// Starts a spinner on stderr; indicatif draws nothing when stderr is not a terminal.
    pub fn start(message: &str) -> Spinner {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        // The template is a constant, so parsing it cannot fail.
        let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid spinner template");
        bar.set_style(style);
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner { bar }
    }
}

impl Progress for Spinner {
    fn update(&self, message: &str) {
        self.bar.set_message(message.to_string());
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
