//! Protobuf text-format reader over rust-protobuf's reflection.
//!
//! rust-protobuf's own parser rejects list syntax (`hidden_units: [1024, 512]`), which every real config uses, so
//! plec reads the whole format itself: list syntax for scalars and messages, `#` comments, `{}` and `<>`, an optional
//! colon before messages, enums by name or number, string escapes and concatenation, signed / exponent / `inf` /
//! `nan` numbers, repeated fields in any order, maps as `key`/`value` entries. A field of a `oneof` replaces its
//! siblings (with a warning). Errors name `file:line:col`, the message type and the field; unknown fields get the
//! closest known name as a suggestion.

mod lexer;
mod required;
mod suggest;

use protobuf::reflect::{FieldDescriptor, MessageDescriptor, ReflectValueBox, RuntimeFieldType, RuntimeType};
use protobuf::{MessageDyn, MessageFull};

use crate::diagnostics::{ConfigError, Diagnostic};
use lexer::{Lexer, Pos, Spanned, Token};

/// Model kinds of TorchEasyRec's `ModelConfig.model` oneof that plec does not compile.
const OTHER_MODEL_KINDS: &[&str] = &[
    "dlrm",
    "deepfm",
    "multi_tower",
    "multi_tower_din",
    "mask_net",
    "wide_and_deep",
    "dcn_v1",
    "dcn_v2",
    "xdeepfm",
    "wukong",
    "simple_multi_task",
    "dc2vr",
    "dlrm_hstu",
    "pepnet",
    "ultra_hstu",
    "dssm",
    "dssm_v2",
    "dat",
    "hstu_match",
    "mind",
    "tdm",
    "rocket_launching",
    "sid_rqvae",
    "sid_rqkmeans",
];

/// Parses `text` as a message of type `M`; `source` names the text in messages. Missing required fields are all
/// reported, with their paths.
pub fn parse<M: MessageFull>(text: &str, source: &str) -> Result<M, ConfigError> {
    parse_with_warnings(text, source).map(|(m, _)| m)
}

/// Like [`parse`], also returning warnings (e.g. a oneof member replaced by a sibling).
pub fn parse_with_warnings<M: MessageFull>(text: &str, source: &str) -> Result<(M, Vec<Diagnostic>), ConfigError> {
    let mut message = M::new();
    let mut parser = Parser::new(text, source)?;
    parser.message_body(&mut message, &M::descriptor(), "", None)?;
    let missing = required::missing_required(&message, &M::descriptor());
    if !missing.is_empty() {
        return Err(ConfigError::Invalid(missing));
    }
    Ok((message, parser.warnings))
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    current: Spanned,
    source: &'a str,
    warnings: Vec<Diagnostic>,
    /// Nesting depth: bounded so that hostile input cannot overflow the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 64;

type ParseResult<T> = Result<T, ConfigError>;

impl<'a> Parser<'a> {
    fn new(text: &'a str, source: &'a str) -> ParseResult<Self> {
        let mut lexer = Lexer::new(text);
        let current = lexer.next_token().map_err(|(pos, msg)| error_at(source, pos, msg))?;
        Ok(Parser { lexer, current, source, warnings: Vec::new(), depth: 0 })
    }

    fn advance(&mut self) -> ParseResult<Spanned> {
        let next = self.lexer.next_token().map_err(|(pos, msg)| error_at(self.source, pos, msg))?;
        Ok(std::mem::replace(&mut self.current, next))
    }

    fn error(&self, pos: Pos, message: impl Into<String>) -> ConfigError {
        error_at(self.source, pos, message.into())
    }

    fn is_punct(&self, c: char) -> bool {
        self.current.token == Token::Punct(c)
    }

    fn eat_punct(&mut self, c: char) -> ParseResult<bool> {
        if self.is_punct(c) {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect_punct(&mut self, c: char, context: &str) -> ParseResult<()> {
        if self.eat_punct(c)? {
            Ok(())
        } else {
            Err(self.error(self.current.pos, format!("expected `{c}` {context}, found {}", self.current.token)))
        }
    }

    /// Fields until `close` (or end of input at top level). `path` is the dotted path of this message.
    fn message_body(
        &mut self,
        message: &mut dyn MessageDyn,
        descriptor: &MessageDescriptor,
        path: &str,
        close: Option<char>,
    ) -> ParseResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(self.current.pos, format!("messages nested deeper than {MAX_DEPTH} levels")));
        }
        let mut seen: Vec<(String, Pos)> = Vec::new();
        loop {
            match (&self.current.token, close) {
                (Token::Eof, None) => break,
                (Token::Eof, Some(c)) => {
                    return Err(self.error(
                        self.current.pos,
                        format!("end of file inside {} `{path}`: missing `{c}`", descriptor.name()),
                    ))
                }
                (Token::Punct(c), Some(expected)) if *c == expected => {
                    self.advance()?;
                    break;
                }
                _ => {}
            }
            self.field(message, descriptor, path, &mut seen)?;
            // Fields may be separated by `,` or `;`.
            if !self.eat_punct(',')? {
                self.eat_punct(';')?;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn field(
        &mut self,
        message: &mut dyn MessageDyn,
        descriptor: &MessageDescriptor,
        path: &str,
        seen: &mut Vec<(String, Pos)>,
    ) -> ParseResult<()> {
        let Spanned { token, pos } = self.advance()?;
        let Token::Ident(name) = token else {
            if token == Token::Punct('[') {
                return Err(self.error(pos, "extension and Any fields (`[...]`) are not supported in plec configs"));
            }
            return Err(self.error(pos, format!("expected a field name of {}, found {token}", descriptor.name())));
        };
        let Some(field) = descriptor.field_by_name(&name) else {
            return Err(self.unknown_field(pos, &name, descriptor));
        };
        let field_path = join(path, &name);
        if field.is_singular() {
            self.note_singular(message, &field, descriptor, (&name, pos), seen)?;
        }
        match field.runtime_field_type() {
            RuntimeFieldType::Singular(RuntimeType::Message(sub)) => {
                self.eat_punct(':')?;
                let close = self.open_message(&field, &field_path)?;
                let target = field.mut_message(message);
                self.message_body(target, &sub, &field_path, Some(close))
            }
            RuntimeFieldType::Singular(ty) => {
                self.expect_punct(':', &format!("after field `{name}`"))?;
                if self.is_punct('[') {
                    return Err(self.error(
                        self.current.pos,
                        format!("field `{name}` of {} is not repeated: a list is not allowed here", descriptor.name()),
                    ));
                }
                let value = self.scalar(&ty, &field, descriptor)?;
                field.set_singular_field(message, value);
                Ok(())
            }
            RuntimeFieldType::Repeated(ty) => self.repeated_field(message, &field, descriptor, &ty, &field_path),
            RuntimeFieldType::Map(key_type, value_type) => {
                self.eat_punct(':')?;
                let entries = self.eat_punct('[')?;
                loop {
                    if entries && self.eat_punct(']')? {
                        break;
                    }
                    let (key, value) = self.map_entry(&key_type, &value_type, &field, &field_path)?;
                    field.mut_map(message).insert(key, value);
                    if !entries {
                        break;
                    }
                    if !self.eat_punct(',')? {
                        self.expect_punct(']', &format!("after an entry of map `{name}`"))?;
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// A singular field may be set once; setting a member of a oneof replaces its sibling, with a warning.
    fn note_singular(
        &mut self,
        message: &dyn MessageDyn,
        field: &FieldDescriptor,
        descriptor: &MessageDescriptor,
        (name, pos): (&str, Pos),
        seen: &mut Vec<(String, Pos)>,
    ) -> ParseResult<()> {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
            return Err(self.error(
                pos,
                format!(
                    "field `{name}` of {} is set twice (first at line {}); it is not repeated",
                    descriptor.name(),
                    first.line
                ),
            ));
        }
        if let Some(oneof) = field.containing_oneof() {
            for sibling in oneof.fields() {
                if sibling.name() != name && sibling.has_field(message) {
                    self.warnings.push(Diagnostic::new(
                        location(self.source, pos),
                        format!(
                            "`{name}` replaces `{}` set earlier: both are members of oneof `{}` in {}",
                            sibling.name(),
                            oneof.name(),
                            descriptor.name()
                        ),
                    ));
                }
            }
        }
        seen.push((name.to_string(), pos));
        Ok(())
    }

    /// A repeated field's value: one element, or a `[...]` list of them, appended to what is there.
    fn repeated_field(
        &mut self,
        message: &mut dyn MessageDyn,
        field: &FieldDescriptor,
        descriptor: &MessageDescriptor,
        ty: &RuntimeType,
        field_path: &str,
    ) -> ParseResult<()> {
        let name = field.name();
        let is_message = matches!(ty, RuntimeType::Message(_));
        let had_colon = self.eat_punct(':')?;
        if !had_colon && !is_message {
            return Err(self.error(self.current.pos, format!("expected `:` after field `{name}`")));
        }
        let mut index = field.get_repeated(message).len();
        if self.eat_punct('[')? {
            if self.eat_punct(']')? {
                return Ok(());
            }
            loop {
                let value = self.repeated_element(ty, field, descriptor, &format!("{field_path}[{index}]"))?;
                field.mut_repeated(message).push(value);
                index += 1;
                if self.eat_punct(']')? {
                    break;
                }
                self.expect_punct(',', &format!("or `]` in the list of `{name}`"))?;
            }
            Ok(())
        } else {
            let value = self.repeated_element(ty, field, descriptor, &format!("{field_path}[{index}]"))?;
            field.mut_repeated(message).push(value);
            Ok(())
        }
    }

    fn unknown_field(&self, pos: Pos, name: &str, descriptor: &MessageDescriptor) -> ConfigError {
        if descriptor.full_name() == "tzrec.protos.ModelConfig" && OTHER_MODEL_KINDS.contains(&name) {
            return self.error(
                pos,
                format!("this config describes a `{name}` model; plec compiles `ple`, `mmoe` and `dbmtl` models"),
            );
        }
        let names: Vec<String> = descriptor.fields().map(|f| f.name().to_string()).collect();
        let mut message = format!("unknown field `{name}` in {}", descriptor.name());
        if let Some(best) = suggest::closest(name, names.iter().map(String::as_str)) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        self.error(pos, message)
    }

    /// `{` or `<` opening a message; returns the matching closer.
    fn open_message(&mut self, field: &FieldDescriptor, path: &str) -> ParseResult<char> {
        if self.eat_punct('{')? {
            Ok('}')
        } else if self.eat_punct('<')? {
            Ok('>')
        } else {
            Err(self.error(
                self.current.pos,
                format!("expected `{{` to open message `{}` ({path}), found {}", field.name(), self.current.token),
            ))
        }
    }

    fn repeated_element(
        &mut self,
        ty: &RuntimeType,
        field: &FieldDescriptor,
        owner: &MessageDescriptor,
        path: &str,
    ) -> ParseResult<ReflectValueBox> {
        match ty {
            RuntimeType::Message(sub) => {
                let close = self.open_message(field, path)?;
                let mut element = sub.new_instance();
                self.message_body(&mut *element, sub, path, Some(close))?;
                Ok(ReflectValueBox::Message(element))
            }
            scalar => self.scalar(scalar, field, owner),
        }
    }

    fn map_entry(
        &mut self,
        key_type: &RuntimeType,
        value_type: &RuntimeType,
        field: &FieldDescriptor,
        path: &str,
    ) -> ParseResult<(ReflectValueBox, ReflectValueBox)> {
        let open_pos = self.current.pos;
        let close = self.open_message(field, path)?;
        let owner = field.containing_message();
        let (mut key, mut value) = (None, None);
        while !self.eat_punct(close)? {
            let Spanned { token, pos } = self.advance()?;
            match token {
                Token::Ident(n) if n == "key" => {
                    self.expect_punct(':', "after `key`")?;
                    key = Some(self.scalar(key_type, field, &owner)?);
                }
                Token::Ident(n) if n == "value" => {
                    if let RuntimeType::Message(sub) = value_type {
                        self.eat_punct(':')?;
                        let inner_close = self.open_message(field, path)?;
                        let mut element = sub.new_instance();
                        self.message_body(&mut *element, sub, path, Some(inner_close))?;
                        value = Some(ReflectValueBox::Message(element));
                    } else {
                        self.expect_punct(':', "after `value`")?;
                        value = Some(self.scalar(value_type, field, &owner)?);
                    }
                }
                other => {
                    return Err(self.error(
                        pos,
                        format!("expected `key` or `value` in an entry of map `{}`, found {other}", field.name()),
                    ))
                }
            }
            if !self.eat_punct(',')? {
                self.eat_punct(';')?;
            }
        }
        match (key, value) {
            (Some(k), Some(v)) => Ok((k, v)),
            (None, _) => Err(self.error(open_pos, format!("entry of map `{}` has no `key`", field.name()))),
            (Some(_), None) => Err(self.error(open_pos, format!("entry of map `{}` has no `value`", field.name()))),
        }
    }

    fn scalar(
        &mut self,
        ty: &RuntimeType,
        field: &FieldDescriptor,
        owner: &MessageDescriptor,
    ) -> ParseResult<ReflectValueBox> {
        let Spanned { token, pos } = self.advance()?;
        let what = || format!("field `{}` of {}", field.name(), owner.name());
        let mismatch = |expected: &str, token: &Token| format!("expected {expected} for {}, found {token}", what());
        let value = match ty {
            RuntimeType::String | RuntimeType::VecU8 => match token {
                Token::Str(bytes) if *ty == RuntimeType::VecU8 => ReflectValueBox::Bytes(bytes),
                Token::Str(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => ReflectValueBox::String(s),
                    Err(_) => return Err(self.error(pos, format!("string for {} is not valid UTF-8", what()))),
                },
                other => return Err(self.error(pos, mismatch("a quoted string", &other))),
            },
            RuntimeType::Bool => match &token {
                Token::Ident(w) if matches!(w.as_str(), "true" | "True" | "t") => ReflectValueBox::Bool(true),
                Token::Ident(w) if matches!(w.as_str(), "false" | "False" | "f") => ReflectValueBox::Bool(false),
                Token::Number(n) if n == "1" => ReflectValueBox::Bool(true),
                Token::Number(n) if n == "0" => ReflectValueBox::Bool(false),
                other => return Err(self.error(pos, mismatch("`true` or `false`", other))),
            },
            RuntimeType::Enum(e) => match &token {
                Token::Ident(w) => match e.value_by_name(w) {
                    Some(v) => ReflectValueBox::Enum(e.clone(), v.value()),
                    None => {
                        let names: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
                        let mut msg = format!("unknown value `{w}` for enum {} ({})", e.name(), what());
                        if let Some(best) = suggest::closest(w, names.iter().map(String::as_str)) {
                            msg.push_str(&format!("; did you mean `{best}`?"));
                        }
                        msg.push_str(&format!("; expected one of: {}", names.join(", ")));
                        return Err(self.error(pos, msg));
                    }
                },
                Token::Number(n) => match parse_int(n).and_then(|v| i32::try_from(v).ok()) {
                    Some(v) if e.value_by_number(v).is_some() => ReflectValueBox::Enum(e.clone(), v),
                    _ => return Err(self.error(pos, format!("`{n}` is not a value of enum {} ({})", e.name(), what()))),
                },
                other => return Err(self.error(pos, mismatch(&format!("a value of enum {}", e.name()), other))),
            },
            RuntimeType::F32 | RuntimeType::F64 => {
                let text = match &token {
                    Token::Number(n) => n.clone(),
                    Token::Ident(w) => w.clone(),
                    other => return Err(self.error(pos, mismatch("a number", other))),
                };
                let Some(v) = parse_float(&text) else {
                    return Err(self.error(pos, mismatch("a number", &token)));
                };
                if *ty == RuntimeType::F32 {
                    ReflectValueBox::F32(v as f32)
                } else {
                    ReflectValueBox::F64(v)
                }
            }
            RuntimeType::I32 | RuntimeType::I64 | RuntimeType::U32 | RuntimeType::U64 => {
                let (expected, min, max): (&str, i128, i128) = match ty {
                    RuntimeType::I32 => ("a 32-bit integer", i32::MIN.into(), i32::MAX.into()),
                    RuntimeType::I64 => ("a 64-bit integer", i64::MIN.into(), i64::MAX.into()),
                    RuntimeType::U32 => ("an unsigned 32-bit integer", 0, u32::MAX.into()),
                    _ => ("an unsigned 64-bit integer", 0, u64::MAX.into()),
                };
                let Token::Number(n) = &token else {
                    return Err(self.error(pos, mismatch(expected, &token)));
                };
                let Some(v) = parse_int(n).filter(|v| (min..=max).contains(v)) else {
                    return Err(self.error(pos, mismatch(expected, &token)));
                };
                match ty {
                    RuntimeType::I32 => ReflectValueBox::I32(v as i32),
                    RuntimeType::I64 => ReflectValueBox::I64(v as i64),
                    RuntimeType::U32 => ReflectValueBox::U32(v as u32),
                    _ => ReflectValueBox::U64(v as u64),
                }
            }
            RuntimeType::Message(_) => {
                return Err(self.error(pos, format!("expected a message for {}", what())));
            }
        };
        Ok(value)
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i128::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() {
            return None;
        }
        digits.parse::<i128>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_float(text: &str) -> Option<f64> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = body.to_ascii_lowercase();
    let value = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => {
            let trimmed = lower.strip_suffix('f').unwrap_or(&lower);
            if trimmed.starts_with("0x") {
                parse_int(trimmed)? as f64
            } else if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit() || b"+-.e".contains(&b)) {
                return None;
            } else {
                trimmed.parse::<f64>().ok()?
            }
        }
    };
    Some(if negative { -value } else { value })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn location(source: &str, pos: Pos) -> String {
    format!("{source}:{}:{}", pos.line, pos.col)
}

fn error_at(source: &str, pos: Pos, message: String) -> ConfigError {
    ConfigError::Syntax(Diagnostic::new(location(source, pos), message))
}

#[cfg(test)]
mod tests;

/// The closest of `candidates` to a misspelt `name`, for "did you mean" hints elsewhere in the front end.
pub fn closest_name<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    suggest::closest(name, candidates)
}
