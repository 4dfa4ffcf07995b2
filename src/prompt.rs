//! Questions at the terminal, behind a trait so runs can be driven without one.

use inquire::error::InquireError;
use std::borrow::Cow;

use inquire::ui::{Color, RenderConfig, Styled};
use inquire::{Confirm, Select};

use rust_i18n::t;

use crate::style::Styles;

/// Result of a prompt at the terminal.
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
        let canceled = Styled::new(canceled_indicator(&rust_i18n::locale()));
        let render = if styles.enabled {
            RenderConfig::default_colored().with_canceled_prompt_indicator(canceled.with_fg(Color::DarkRed))
        } else {
            RenderConfig::empty().with_canceled_prompt_indicator(canceled)
        };
        TerminalPrompter { render, help_select }
    }
}

/// Returns what a prompt cancelled with Esc shows in place of the answer, in `locale`.
fn canceled_indicator(locale: &str) -> &'static str {
    match t!("prompt.canceled_indicator", locale = locale) {
        // Catalog texts are borrowed from a static table, so they live long enough.
        Cow::Borrowed(text) => text,
        // A missing catalog entry comes back as an owned `locale.key` string.
        Cow::Owned(_) => "<canceled>",
    }
}

/// Reads a yes or no typed in English or Chinese.
fn parse_yes_no(text: &str) -> Result<bool, ()> {
    match text.trim().to_lowercase().as_str() {
        "y" | "yes" | "是" | "是的" | "好" => Ok(true),
        "n" | "no" | "否" | "不" | "不是" => Ok(false),
        _ => Err(()),
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
        let yes = t!("prompt.yes").into_owned();
        let no = t!("prompt.no").into_owned();
        let help = t!("prompt.confirm_help").into_owned();
        let error = t!("prompt.confirm_error").into_owned();
        let formatter = |answer: bool| if answer { yes.clone() } else { no.clone() };
        let default_formatter = |_: bool| t!("prompt.default_no").into_owned();

        let confirm = Confirm::new(message)
            .with_default(false)
            .with_render_config(self.render)
            .with_help_message(&help)
            .with_error_message(&error)
            .with_parser(&parse_yes_no)
            .with_formatter(&formatter)
            .with_default_value_formatter(&default_formatter);
        reply(confirm.prompt())
    }
}

#[cfg(test)]
mod tests {
    use super::{canceled_indicator, parse_yes_no};

    #[test]
    fn yes_no_accepts_both_languages() {
        for text in ["y", "Yes", " 是 "] {
            assert_eq!(parse_yes_no(text), Ok(true), "{text}");
        }
        for text in ["n", "NO", "否"] {
            assert_eq!(parse_yes_no(text), Ok(false), "{text}");
        }
        assert_eq!(parse_yes_no("maybe"), Err(()));
    }

    #[test]
    fn canceled_indicator_follows_language() {
        assert_eq!(canceled_indicator("zh-CN"), "<已取消>");
        assert_eq!(canceled_indicator("en"), "<canceled>");
    }
}
