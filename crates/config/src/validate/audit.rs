//! Nothing in a config is ignored silently: for every message plec reads, each field is either used, accepted
//! without effect (listed with the reason, and reported by `plec check`), or "not supported yet" (an error).
//! A field counts as set only when it differs from its default, so `trainable: true` is fine.

use protobuf::reflect::ReflectFieldRef;
use protobuf::MessageDyn;

use super::validator::Validator;

/// How plec treats the fields of one message type.
pub(crate) struct Policy {
    /// Fields plec reads and honours.
    pub used: &'static [&'static str],
    /// Fields plec accepts but that change nothing in plec, with why.
    pub inert: &'static [(&'static str, &'static str)],
}

impl Validator {
    /// Reports every set field of `message` that `policy` does not cover as not supported yet.
    pub(crate) fn audit(&mut self, message: &dyn MessageDyn, path: &str, policy: &Policy) {
        let descriptor = message.descriptor_dyn();
        for field in descriptor.fields() {
            let set = match field.get_reflect(message) {
                ReflectFieldRef::Optional(value) => match value.value() {
                    None => false,
                    Some(v) => v != field.singular_default_value(),
                },
                ReflectFieldRef::Repeated(items) => !items.is_empty(),
                ReflectFieldRef::Map(map) => !map.is_empty(),
            };
            if !set || policy.used.contains(&field.name()) {
                continue;
            }
            let field_path = format!("{path}.{}", field.name());
            match policy.inert.iter().find(|(name, _)| *name == field.name()) {
                Some((_, why)) => self.note_ignored(&field_path, why),
                None => {
                    self.error(&field_path, format!("not supported yet: `{}` of {}", field.name(), descriptor.name()))
                }
            }
        }
    }

    pub(crate) fn note_ignored(&mut self, path: &str, why: &str) {
        // One note per field path pattern (indices stripped), so 16 features do not give 16 notes.
        let pattern = strip_indices(path);
        if !self.ignored.iter().any(|d| d.location == pattern) {
            self.ignored
                .push(crate::diagnostics::Diagnostic::new(pattern, format!("accepted, no effect in plec: {why}")));
        }
    }
}

fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[*]");
            }
            ']' => in_index = false,
            _ if !in_index => out.push(c),
            _ => {}
        }
    }
    out
}
