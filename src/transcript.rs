//! The human-readable progress of a run, written to stderr as it happens.

use std::io::Write;

use crate::findings::Finding;
use crate::flow::State;
use crate::i18n::Lang;
use crate::style::Styles;

/// Writes what the run does, step by step, for the person watching.
pub struct Transcript {
    pub styles: Styles,
    pub lang: Lang,
    writer: Box<dyn Write>,
}

impl Transcript {
    pub fn new(styles: Styles, lang: Lang, writer: Box<dyn Write>) -> Transcript {
        Transcript { styles, lang, writer }
    }

    /// A transcript that writes nothing, for `--quiet` runs and tests.
    pub fn silent(lang: Lang) -> Transcript {
        Transcript::new(Styles::plain(), lang, Box::new(std::io::sink()))
    }

    // Progress output is best effort: a closed stderr must not stop the diagnosis.
    fn line(&mut self, text: &str) {
        let _ = writeln!(self.writer, "{text}");
    }

    pub fn title(&mut self, text: &str) {
        let text = self.styles.heading(text);
        self.line(&text);
    }

    /// Prints the heading of a visited state, and its text unless `show_text` is false.
    pub fn state(&mut self, step: usize, state: &State, show_text: bool) {
        let heading = format!("[{step}] {} · {}", state.id, state.title.get(self.lang));
        let heading = self.styles.heading(&heading);
        self.line("");
        self.line(&heading);
        if let Some(text) = state.text.as_ref().filter(|_| show_text) {
            let text = format!("    {}", text.get(self.lang));
            self.line(&text);
        }
    }

    pub fn finding(&mut self, finding: &Finding) {
        let marker = self.styles.marker(finding.severity);
        let id = self.styles.dim(&finding.id);
        let text = format!("    {marker} {} {id}", finding.message);
        self.line(&text);
    }

    pub fn note(&mut self, text: &str) {
        let text = format!("    {text}");
        self.line(&text);
    }

    pub fn command(&mut self, argv: &[String]) {
        let command = self.styles.command(&format!("$ {}", shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))));
        let text = format!("    {command}");
        self.line(&text);
    }
}
