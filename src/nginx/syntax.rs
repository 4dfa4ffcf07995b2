//! nginx configuration syntax: words, `;`, blocks in `{}`, `#` comments and quoted strings.
//!
//! The rules follow nginx's own reader (`ngx_conf_read_token` in nginx 1.22): a `#` starts a
//! comment only where a new word could start, quotes open only at the start of a word, a
//! backslash escapes the next character, and `${name}` keeps its braces inside a word. The
//! bodies of OpenResty's `*_by_lua_block` directives are Lua, so they are skipped as raw text.

use std::path::{Path, PathBuf};

use super::NginxError;

/// One directive: its name, arguments (quotes removed), where it was written, and its block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub file: PathBuf,
    /// 1-based line of the directive name.
    pub line: usize,
    /// Child directives of a block directive such as `server { ... }`; `None` for `name args;`.
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    /// Returns the child directives, or an empty slice for a simple directive.
    pub fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or(&[])
    }
}

/// Parses the text of one configuration file. `file` names it in errors and in each directive.
pub fn parse_text(text: &str, file: &Path) -> Result<Vec<Directive>, NginxError> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
        file,
    };
    let directives = parse_block(&mut lexer, None)?;
    Ok(directives)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

struct Lexer<'a> {
    chars: Vec<char>,
    at: usize,
    line: usize,
    file: &'a Path,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.at).copied()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error_at(&self, line: usize, detail: impl Into<String>) -> NginxError {
        NginxError::Syntax {
            file: self.file.to_path_buf(),
            line,
            detail: detail.into(),
        }
    }

    /// Returns the next token with the line it starts on, or `None` at the end of the text.
    fn next_token(&mut self) -> Result<Option<(Token, usize)>, NginxError> {
        self.skip_space_and_comments();
        let line = self.line;
        let Some(c) = self.peek() else {
            return Ok(None);
        };

        let token = match c {
            ';' => {
                self.bump();
                Token::Semicolon
            }
            '{' => {
                self.bump();
                Token::Open
            }
            '}' => {
                self.bump();
                Token::Close
            }
            '"' | '\'' => {
                self.bump();
                Token::Word(self.quoted(c, line)?)
            }
            _ => Token::Word(self.word()),
        };
        Ok(Some((token, line)))
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '#' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn quoted(&mut self, quote: char, line: usize) -> Result<String, NginxError> {
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error_at(line, "unterminated quoted string")),
                Some('\\') => match self.bump() {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some(c) if c == quote || c == '\\' => value.push(c),
                    // nginx keeps the backslash of any other escape, e.g. in a regex.
                    Some(c) => {
                        value.push('\\');
                        value.push(c);
                    }
                    None => return Err(self.error_at(line, "unterminated quoted string")),
                },
                Some(c) if c == quote => return Ok(value),
                Some(c) => value.push(c),
            }
        }
    }

    fn word(&mut self) -> String {
        let mut value = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ';' || c == '}' {
                break;
            }
            if c == '{' && !value.ends_with('$') {
                break;
            }
            self.bump();
            if c == '{' {
                // `${name}`: the braces belong to the variable, not to a block.
                value.push(c);
                while let Some(c) = self.bump() {
                    value.push(c);
                    if c == '}' {
                        break;
                    }
                }
                continue;
            }
            if c == '\\' {
                if let Some(next) = self.bump() {
                    value.push('\\');
                    value.push(next);
                }
                continue;
            }
            value.push(c);
        }
        value
    }

    /// Skips a Lua block body up to and including its closing `}`, honouring Lua strings and
    /// comments so that braces inside them do not count.
    fn skip_lua_block(&mut self, line: usize) -> Result<(), NginxError> {
        let mut depth = 1usize;
        while let Some(c) = self.bump() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                '"' | '\'' => self.skip_lua_string(c),
                '[' if matches!(self.peek(), Some('[' | '=')) => self.skip_lua_long_bracket(),
                '-' if self.peek() == Some('-') => {
                    self.bump();
                    if self.peek() == Some('[') {
                        self.bump();
                        self.skip_lua_long_bracket();
                    } else {
                        while let Some(c) = self.bump() {
                            if c == '\n' {
                                break;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Err(self.error_at(
            line,
            "unexpected end of file in a Lua block, expecting \"}\"",
        ))
    }

    fn skip_lua_string(&mut self, quote: char) {
        while let Some(c) = self.bump() {
            if c == '\\' {
                self.bump();
            } else if c == quote || c == '\n' {
                return;
            }
        }
    }

    /// Skips `[==[ ... ]==]` after its first `[`; anything else is left as ordinary text.
    fn skip_lua_long_bracket(&mut self) {
        let mut level = 0;
        while self.peek() == Some('=') {
            self.bump();
            level += 1;
        }
        if self.peek() != Some('[') {
            return;
        }
        self.bump();
        while let Some(c) = self.bump() {
            if c != ']' {
                continue;
            }
            let mut closing = 0;
            while self.peek() == Some('=') {
                self.bump();
                closing += 1;
            }
            if closing == level && self.peek() == Some(']') {
                self.bump();
                return;
            }
        }
    }
}

/// Parses directives until the end of the text (`open` is `None`) or the `}` that closes the
/// block opened on line `open`.
fn parse_block(lexer: &mut Lexer<'_>, open: Option<usize>) -> Result<Vec<Directive>, NginxError> {
    let mut directives = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut start_line = 0;

    loop {
        let Some((token, line)) = lexer.next_token()? else {
            if let Some(name) = words.first() {
                return Err(lexer.error_at(
                    start_line,
                    format!("directive \"{name}\" is not terminated by \";\""),
                ));
            }
            if let Some(open) = open {
                return Err(lexer.error_at(open, "unexpected end of file, expecting \"}\""));
            }
            return Ok(directives);
        };

        match token {
            Token::Word(word) => {
                if words.is_empty() {
                    start_line = line;
                }
                words.push(word);
            }
            Token::Semicolon => {
                let (name, args) = split_directive(lexer, &mut words, line, ";")?;
                directives.push(Directive {
                    name,
                    args,
                    file: lexer.file.to_path_buf(),
                    line: start_line,
                    block: None,
                });
            }
            Token::Open => {
                let (name, args) = split_directive(lexer, &mut words, line, "{")?;
                let block = if name.ends_with("_by_lua_block") {
                    lexer.skip_lua_block(line)?;
                    Vec::new()
                } else {
                    parse_block(lexer, Some(line))?
                };
                directives.push(Directive {
                    name,
                    args,
                    file: lexer.file.to_path_buf(),
                    line: start_line,
                    block: Some(block),
                });
            }
            Token::Close => {
                if let Some(name) = words.first() {
                    return Err(lexer.error_at(
                        start_line,
                        format!("directive \"{name}\" is not terminated by \";\""),
                    ));
                }
                if open.is_none() {
                    return Err(lexer.error_at(line, "unexpected \"}\""));
                }
                return Ok(directives);
            }
        }
    }
}

fn split_directive(
    lexer: &Lexer<'_>,
    words: &mut Vec<String>,
    line: usize,
    token: &str,
) -> Result<(String, Vec<String>), NginxError> {
    let mut taken = std::mem::take(words).into_iter();
    match taken.next() {
        Some(name) => Ok((name, taken.collect())),
        None => Err(lexer.error_at(line, format!("unexpected \"{token}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Directive> {
        parse_text(text, Path::new("/etc/nginx/nginx.conf")).expect("valid configuration")
    }

    #[test]
    fn simple_and_block_directives() {
        let directives = parse("worker_processes 1;\nhttp {\n  server { listen 443 ssl; }\n}\n");

        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0].name, "worker_processes");
        assert_eq!(directives[0].args, ["1"]);
        assert_eq!(directives[1].name, "http");
        assert_eq!(directives[1].line, 2);
        let server = &directives[1].children()[0];
        assert_eq!(server.name, "server");
        assert_eq!(server.line, 3);
        assert_eq!(server.children()[0].args, ["443", "ssl"]);
    }

    #[test]
    fn quotes_and_escapes_are_removed() {
        let directives =
            parse("ssl_certificate \"/etc/ssl/my site/cert.pem\";\nreturn 200 'it\\'s';\n");

        assert_eq!(directives[0].args, ["/etc/ssl/my site/cert.pem"]);
        assert_eq!(directives[1].args, ["200", "it's"]);
    }

    #[test]
    fn comments_end_at_line_end() {
        let directives =
            parse("# server { listen 80; }\nserver_name a.test; # b.test;\nlisten 80;");

        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0].args, ["a.test"]);
        assert_eq!(directives[1].line, 3);
    }

    #[test]
    fn variable_braces_stay_in_word() {
        let directives = parse("ssl_certificate /certs/${ssl_server_name}.pem;");

        assert_eq!(directives[0].args, ["/certs/${ssl_server_name}.pem"]);
    }

    #[test]
    fn lua_block_body_is_skipped() {
        let text = "server {\n content_by_lua_block {\n  local t = {1, 2} -- }\n  ngx.say(#t, \"}\")\n }\n listen 80;\n}\n";

        let directives = parse(text);

        let server = directives[0].children();
        assert_eq!(server.len(), 2);
        assert_eq!(server[0].name, "content_by_lua_block");
        assert_eq!(server[1].name, "listen");
        assert_eq!(server[1].line, 6);
    }

    #[test]
    fn unclosed_block_names_its_line() {
        let error = parse_text("http {\n server {\n", Path::new("/x.conf")).expect_err("must fail");

        assert!(
            matches!(&error, NginxError::Syntax { line: 2, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("expecting \"}\""), "{error}");
    }

    #[test]
    fn missing_semicolon_is_error() {
        let error = parse_text("listen 80\n}", Path::new("/x.conf")).expect_err("must fail");

        assert!(
            error.to_string().contains("\"listen\" is not terminated"),
            "{error}"
        );
    }

    #[test]
    fn stray_close_is_error() {
        let error = parse_text("listen 80;\n}\n", Path::new("/x.conf")).expect_err("must fail");

        assert!(
            matches!(&error, NginxError::Syntax { line: 2, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn unterminated_quote_is_error() {
        let error =
            parse_text("server_name \"a.test;\n", Path::new("/x.conf")).expect_err("must fail");

        assert!(
            error.to_string().contains("unterminated quoted string"),
            "{error}"
        );
    }
}
