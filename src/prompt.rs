//! Questions at the terminal, behind a trait so runs can be driven without one.

use inquire::error::InquireError;
use inquire::ui::RenderConfig;
use inquire::{Confirm, Select};

use crate::style::Styles;

/// What the person at the terminal did with a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    Answer(T),
    /// Escape, or the terminal is gone: no answer.
    Cancelled,
    /// Ctrl-C.
    Interrupted,
}

/// Asks questions. Implemented by the terminal prompter; tests drive runs with answers files instead.
pub trait Prompter {
    /// Lets the user pick one of `options`; returns its index.
    fn select(&mut self, message: &str, options: &[String], default: Option<usize>) -> Reply<usize>;
    /// Asks for a yes or no; the default is no.
    fn confirm(&mut self, message: &str) -> Reply<bool>;
}

/// Prompts on the terminal with inquire, on stderr.
pub struct TerminalPrompter {
    render: RenderConfig<'static>,
    help_select: String,
}

impl TerminalPrompter {
    pub fn new(styles: Styles, help_select: String) -> TerminalPrompter {
        let render = if styles.enabled { RenderConfig::default_colored() } else { RenderConfig::empty() };
        TerminalPrompter { render, help_select }
    }
}

fn reply<T>(result: Result<T, InquireError>) -> Reply<T> {
    match result {
        Ok(value) => Reply::Answer(value),
        Err(InquireError::OperationInterrupted) => Reply::Interrupted,
        Err(_) => Reply::Cancelled,
    }
}

impl Prompter for TerminalPrompter {
    fn select(&mut self, message: &str, options: &[String], default: Option<usize>) -> Reply<usize> {
        let labels: Vec<String> = options.to_vec();
        let mut select = Select::new(message, labels.clone())
            .with_render_config(self.render)
            .with_help_message(&self.help_select);
        if let Some(default) = default {
            select = select.with_starting_cursor(default);
        }
        match reply(select.raw_prompt()) {
            Reply::Answer(option) => Reply::Answer(option.index),
            Reply::Cancelled => Reply::Cancelled,
            Reply::Interrupted => Reply::Interrupted,
        }
    }

    fn confirm(&mut self, message: &str) -> Reply<bool> {
        let confirm = Confirm::new(message).with_default(false).with_render_config(self.render);
        reply(confirm.prompt())
    }
}
