//! Colour, decided once from `--color`, `NO_COLOR`, `CLICOLOR_FORCE` and whether stderr is a terminal.

use std::io::IsTerminal;

use owo_colors::{OwoColorize, Style};

use crate::findings::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Styles for everything certwiz prints; plain unless colour was chosen.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub enabled: bool,
}

impl Styles {
    /// Decides colour once. `--color` wins; then `NO_COLOR`, then `CLICOLOR_FORCE`, then the terminal.
    pub fn decide(choice: ColorChoice) -> Styles {
        let env_set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if env_set("NO_COLOR") => false,
            ColorChoice::Auto if std::env::var("CLICOLOR_FORCE").is_ok_and(|value| value != "0") => true,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |term| term != "dumb")
            }
        };
        Styles { enabled }
    }

    pub fn plain() -> Styles {
        Styles { enabled: false }
    }

    fn paint(&self, text: &str, style: Style) -> String {
        if self.enabled {
            text.style(style).to_string()
        } else {
            text.to_string()
        }
    }

    pub fn heading(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(text, Style::new().dimmed())
    }

    pub fn command(&self, text: &str) -> String {
        self.paint(text, Style::new().cyan().bold())
    }

    pub fn good(&self, text: &str) -> String {
        self.paint(text, Style::new().green().bold())
    }

    pub fn bad(&self, text: &str) -> String {
        self.paint(text, Style::new().red().bold())
    }

    /// The marker printed before a finding of this severity.
    pub fn marker(&self, severity: Severity) -> String {
        match severity {
            Severity::Ok => self.paint("✓", Style::new().green()),
            Severity::Info => self.paint("·", Style::new().blue()),
            Severity::Warning => self.paint("!", Style::new().yellow().bold()),
            Severity::Error => self.paint("✗", Style::new().red().bold()),
        }
    }
}
