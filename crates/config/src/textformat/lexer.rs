//! Tokens of the protobuf text format, with their line and column.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A name, or a keyword-like literal (`true`, `inf`, an enum value).
    Ident(String),
    /// A number as written, sign included (so that messages can quote it).
    Number(String),
    /// A string literal with escapes resolved (adjacent literals are concatenated).
    Str(Vec<u8>),
    Punct(char),
    Eof,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) | Token::Number(s) => write!(f, "`{s}`"),
            Token::Str(bytes) => write!(f, "string \"{}\"", String::from_utf8_lossy(bytes).escape_debug()),
            Token::Punct(c) => write!(f, "`{c}`"),
            Token::Eof => write!(f, "end of file"),
        }
    }
}

/// 1-based position in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub token: Token,
    pub pos: Pos,
}

pub struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
    col: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer { chars: text.char_indices().peekable(), line: 1, col: 1 }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn bump(&mut self) -> Option<char> {
        let (_, c) = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, col: self.col }
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

    /// The next token, or an error message at a position.
    pub fn next_token(&mut self) -> Result<Spanned, (Pos, String)> {
        self.skip_space_and_comments();
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Ok(Spanned { token: Token::Eof, pos });
        };
        let token = if c.is_ascii_alphabetic() || c == '_' {
            Token::Ident(self.take_while(|c| c.is_ascii_alphanumeric() || c == '_'))
        } else if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' {
            self.number(pos)?
        } else if c == '"' || c == '\'' {
            let mut bytes = self.string(pos)?;
            // Adjacent string literals concatenate, as in C.
            loop {
                self.skip_space_and_comments();
                match self.peek() {
                    Some('"') | Some('\'') => {
                        let next = self.pos();
                        bytes.extend(self.string(next)?);
                    }
                    _ => break,
                }
            }
            Token::Str(bytes)
        } else if "{}<>[]:,;".contains(c) {
            self.bump();
            Token::Punct(c)
        } else {
            return Err((pos, format!("unexpected character `{}`", c.escape_debug())));
        };
        Ok(Spanned { token, pos })
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if !keep(c) {
                break;
            }
            out.push(c);
            self.bump();
        }
        out
    }

    fn number(&mut self, pos: Pos) -> Result<Token, (Pos, String)> {
        let mut text = String::new();
        if let Some(sign @ ('-' | '+')) = self.peek() {
            text.push(sign);
            self.bump();
            self.skip_space_and_comments();
        }
        // `-inf`, `-nan`, `-infinity`.
        if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
            text.push_str(&word);
            return Ok(Token::Number(text));
        }
        let mut prev = ' ';
        while let Some(c) = self.peek() {
            let exponent_sign = (c == '-' || c == '+') && (prev == 'e' || prev == 'E') && !text.contains(['x', 'X']);
            if c.is_ascii_alphanumeric() || c == '.' || exponent_sign {
                text.push(c);
                prev = c;
                self.bump();
            } else {
                break;
            }
        }
        if text.is_empty() || text == "-" || text == "+" || text == "." {
            return Err((pos, format!("expected a number, found `{text}`")));
        }
        Ok(Token::Number(text))
    }

    fn string(&mut self, pos: Pos) -> Result<Vec<u8>, (Pos, String)> {
        let Some(quote) = self.bump() else {
            return Err((pos, "expected a string".into()));
        };
        let mut out = Vec::new();
        loop {
            let here = self.pos();
            match self.bump() {
                None | Some('\n') => return Err((pos, "unterminated string literal".into())),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => self.escape(&mut out, here)?,
                Some(c) => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>, pos: Pos) -> Result<(), (Pos, String)> {
        let bad = |what: &str| (pos, format!("invalid escape sequence: {what}"));
        let Some(c) = self.bump() else {
            return Err(bad("backslash at end of input"));
        };
        match c {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'a' => out.push(0x07),
            'b' => out.push(0x08),
            'f' => out.push(0x0c),
            'v' => out.push(0x0b),
            '\\' | '\'' | '"' | '?' => out.push(c as u8),
            'x' | 'X' => {
                let digits = self.take_digits(16, 2);
                let value = u8::from_str_radix(&digits, 16).map_err(|_| bad("`\\x` needs hex digits"))?;
                out.push(value);
            }
            '0'..='7' => {
                let mut digits = c.to_string();
                digits.push_str(&self.take_digits(8, 2));
                let value = u32::from_str_radix(&digits, 8).map_err(|_| bad("octal escape"))?;
                out.push(u8::try_from(value).map_err(|_| bad("octal escape above \\377"))?);
            }
            'u' | 'U' => {
                let width = if c == 'u' { 4 } else { 8 };
                let digits = self.take_digits(16, width);
                let value = u32::from_str_radix(&digits, 16).ok().and_then(char::from_u32);
                let ch = value.ok_or_else(|| bad(&format!("`\\{c}{digits}` is not a unicode scalar value")))?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            other => return Err(bad(&format!("`\\{}`", other.escape_debug()))),
        }
        Ok(())
    }

    fn take_digits(&mut self, radix: u32, max: usize) -> String {
        let mut out = String::new();
        while out.len() < max {
            match self.peek() {
                Some(c) if c.is_digit(radix) => {
                    out.push(c);
                    self.bump();
                }
                _ => break,
            }
        }
        out
    }
}
