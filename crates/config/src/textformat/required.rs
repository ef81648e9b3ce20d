//! Missing `required` fields, reported with their full paths.
//!
//! A field that tzrec's schema marks `required` but that has a default there (e.g. `group_type`, optimizer `lr`)
//! is not demanded: plec uses the default, as the schema page allows.

use protobuf::reflect::{MessageDescriptor, ReflectFieldRef, ReflectValueRef};
use protobuf::MessageDyn;

use crate::diagnostics::Diagnostic;

pub fn missing_required(message: &dyn MessageDyn, descriptor: &MessageDescriptor) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    walk(message, descriptor, "", &mut out);
    out
}

fn walk(message: &dyn MessageDyn, descriptor: &MessageDescriptor, path: &str, out: &mut Vec<Diagnostic>) {
    for field in descriptor.fields() {
        let field_path = if path.is_empty() { field.name().to_string() } else { format!("{path}.{}", field.name()) };
        match field.get_reflect(message) {
            ReflectFieldRef::Optional(value) => match value.value() {
                None if field.is_required() && !field.proto().has_default_value() => out.push(Diagnostic::new(
                    field_path,
                    format!("missing required field `{}` of {}", field.name(), descriptor.name()),
                )),
                Some(ReflectValueRef::Message(sub)) => walk(&*sub, &sub.descriptor_dyn(), &field_path, out),
                _ => {}
            },
            ReflectFieldRef::Repeated(items) => {
                for i in 0..items.len() {
                    if let ReflectValueRef::Message(sub) = items.get(i) {
                        walk(&*sub, &sub.descriptor_dyn(), &format!("{field_path}[{i}]"), out);
                    }
                }
            }
            ReflectFieldRef::Map(_) => {}
        }
    }
}
