//! A check of serialized protobuf messages before rust-protobuf parses them: rust-protobuf reserves the length a
//! field claims (up to 10 million elements for a packed field) before it reads the field, so a few bytes could
//! claim tens of megabytes per field. Walking the wire format with the message's descriptor, every
//! length-delimited field must fit the bytes left in its enclosing message, and messages may nest at most
//! [`MAX_NESTING`] levels (rust-protobuf's own recursion limit).

use protobuf::reflect::{MessageDescriptor, RuntimeFieldType, RuntimeType};

pub const MAX_NESTING: usize = 100;

/// Checks `bytes` as a serialized `descriptor` message; the error names the field, its byte offset and the claim.
pub fn check_lengths(bytes: &[u8], descriptor: &MessageDescriptor) -> Result<(), String> {
    check(bytes, 0, descriptor, 0)
}

fn varint(bytes: &[u8], at: &mut usize, base: usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or_else(|| format!("truncated at byte {}", base + *at))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("a varint longer than 10 bytes before byte {}", base + *at))
}

fn check(bytes: &[u8], base: usize, descriptor: &MessageDescriptor, depth: usize) -> Result<(), String> {
    if depth > MAX_NESTING {
        return Err(format!("messages nest deeper than {MAX_NESTING} levels at byte {base}"));
    }
    let mut at = 0usize;
    while at < bytes.len() {
        let field_at = base + at;
        let key = varint(bytes, &mut at, base)?;
        let number = u32::try_from(key >> 3).unwrap_or(0);
        let field = descriptor.field_by_number(number);
        let name = || field.as_ref().map_or_else(|| number.to_string(), |f| format!("`{}`", f.name()));
        let len = match key & 7 {
            0 => varint(bytes, &mut at, base).map(|_| 0)?,
            1 => 8,
            5 => 4,
            2 => varint(bytes, &mut at, base)?,
            other => return Err(format!("field {} at byte {field_at}: wire type {other} is not read", name())),
        };
        let left = (bytes.len() - at) as u64;
        if len > left {
            return Err(format!(
                "{}: field {} at byte {field_at} claims {len} bytes, {left} are left",
                descriptor.name(),
                name()
            ));
        }
        let end = at + len as usize;
        if key & 7 == 2 {
            let inner = field.as_ref().and_then(|f| match f.runtime_field_type() {
                RuntimeFieldType::Singular(RuntimeType::Message(m))
                | RuntimeFieldType::Repeated(RuntimeType::Message(m)) => Some(m),
                _ => None,
            });
            if let Some(inner) = inner {
                check(&bytes[at..end], base + at, &inner, depth + 1)?;
            }
        }
        at = end;
    }
    Ok(())
}
