//! Filters between a run and the terminal: the transcript writer and the prompts remove
//! private keys always, and redact names when `--redact` is given.

use std::io::{self, Write};

use super::redact::{lock, KeyScrubber, SharedRedactor};
use crate::prompt::{Prompter, Reply};

/// A partial line longer than this is written out without waiting for its end.
const MAX_PENDING_BYTES: usize = 64 * 1024;

/// Writes whole lines to `inner` after removing private keys and, with a redactor, names.
pub struct FilteredWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
    scrubber: KeyScrubber,
    redactor: Option<SharedRedactor>,
}

impl<W: Write> FilteredWriter<W> {
    pub fn new(inner: W, redactor: Option<SharedRedactor>) -> FilteredWriter<W> {
        FilteredWriter { inner, pending: Vec::new(), scrubber: KeyScrubber::default(), redactor }
    }

    fn emit(&mut self, bytes: &[u8], newline: bool) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        let Some(kept) = self.scrubber.line(&text) else {
            return Ok(());
        };
        let kept = match &self.redactor {
            Some(redactor) => lock(redactor).redact_styled(&kept),
            None => kept,
        };
        self.inner.write_all(kept.as_bytes())?;
        if newline {
            self.inner.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<W: Write> Write for FilteredWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&byte| byte == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.emit(&line[..end], true)?;
        }
        if self.pending.len() > MAX_PENDING_BYTES {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line, false)?;
        }
        Ok(buf.len())
    }

    /// Flushes the lines written so far; a partial line waits for its end or the drop.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for FilteredWriter<W> {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.pending);
        // Output on drop is best effort, like the transcript it carries.
        if !line.is_empty() {
            let _ = self.emit(&line, false);
        }
        let _ = self.inner.flush();
    }
}

/// Redacts the question and the choices before another prompter shows them.
pub struct RedactingPrompter<'a> {
    inner: &'a mut dyn Prompter,
    redactor: SharedRedactor,
}

impl<'a> RedactingPrompter<'a> {
    pub fn new(inner: &'a mut dyn Prompter, redactor: SharedRedactor) -> RedactingPrompter<'a> {
        RedactingPrompter { inner, redactor }
    }

    fn redact(&self, text: &str) -> String {
        lock(&self.redactor).redact(text)
    }
}

impl Prompter for RedactingPrompter<'_> {
    fn select(&mut self, message: &str, options: &[String], default: Option<usize>) -> Reply<usize> {
        let message = self.redact(message);
        let options: Vec<String> = options.iter().map(|option| self.redact(option)).collect();
        self.inner.select(&message, &options, default)
    }

    fn confirm(&mut self, message: &str) -> Reply<bool> {
        let message = self.redact(message);
        self.inner.confirm(&message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::redact::{Redactor, KEY_REMOVED};
    use std::sync::{Arc, Mutex};

    fn filtered(chunks: &[&str], redactor: Option<SharedRedactor>) -> String {
        let mut out = Vec::new();
        {
            let mut writer = FilteredWriter::new(&mut out, redactor);
            for chunk in chunks {
                writer.write_all(chunk.as_bytes()).unwrap();
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_split_across_writes_are_redacted_whole() {
        let redactor = Arc::new(Mutex::new(Redactor::new()));
        let text = filtered(&["connect to shop.exa", "mple.com failed\n", "from 198.51.100.4\n"], Some(redactor));
        assert_eq!(text, "connect to host-1 failed\nfrom ip-1\n");
    }

    #[test]
    fn key_lines_are_dropped_without_redactor() {
        let text = filtered(&["a\n-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\nb shop.example.com"], None);
        assert_eq!(text, format!("a\n{KEY_REMOVED}\nb shop.example.com"));
    }

    struct Recorder(Vec<String>);

    impl Prompter for Recorder {
        fn select(&mut self, message: &str, options: &[String], _default: Option<usize>) -> Reply<usize> {
            self.0.push(message.to_string());
            self.0.extend(options.iter().cloned());
            Reply::Answer(0)
        }

        fn confirm(&mut self, message: &str) -> Reply<bool> {
            self.0.push(message.to_string());
            Reply::Answer(true)
        }
    }

    #[test]
    fn prompts_are_redacted() {
        let redactor = Arc::new(Mutex::new(Redactor::new()));
        let mut recorder = Recorder(Vec::new());
        let mut prompter = RedactingPrompter::new(&mut recorder, redactor);
        assert_eq!(prompter.select("Is shop.example.com right?", &["yes, 203.0.113.1".to_string()], None), Reply::Answer(0));
        assert_eq!(prompter.confirm("Run `/home/alice/restart` now?"), Reply::Answer(true));
        assert_eq!(recorder.0, ["Is host-1 right?", "yes, ip-1", "Run `~user-1/restart` now?"]);
    }
}
