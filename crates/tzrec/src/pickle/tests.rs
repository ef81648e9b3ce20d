//! Pickles made by CPython's `pickle.dumps` of
//! `{"a": [1, -2, 300, 70000, -(2**40)], "t": (1.5, None, True), "s": "héllo", "b": b"\x00\x01",
//!   "n": {"x": ("x", "x")}}` at protocols 2 and 4; the expected values are that literal, written out by hand.

use super::{parse, Value};

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

const PROTOCOL_2: &str = "80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000ff655801000000747103473ff80000000000004e888771045801000000737105580600000068c3a96c6c6f71065801000000627107635f636f646563730a656e636f64650a710858020000000001710958060000006c6174696e31710a86710b52710c58010000006e710d7d710e580100000078710f680f680f86711073752e";
const PROTOCOL_4: &str = "8004955c000000000000007d94288c0161945d94284b014afeffffff4d2c014a701101008a060000000000ff658c017494473ff80000000000004e8887948c0173948c0668c3a96c6c6f948c01629443020001948c016e947d948c017894680b680b869473752e";

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

fn common(value: &Value) {
    let ints: Vec<i64> = value.get("a").unwrap().items().unwrap().iter().map(|v| v.as_int().unwrap()).collect();
    assert_eq!(ints, vec![1, -2, 300, 70000, -(1i64 << 40)]);
    assert_eq!(value.get("t"), Some(&Value::Tuple(vec![Value::Float(1.5), Value::None, Value::Bool(true)].into())));
    assert_eq!(value.get("s"), Some(&s("héllo")));
    // The memo (BINGET / `h`) returns the stored string twice.
    assert_eq!(value.get("n").unwrap().get("x"), Some(&Value::Tuple(vec![s("x"), s("x")].into())));
}

#[test]
fn protocol_4_decodes_to_the_dumped_literal() {
    let value = parse(&hex(PROTOCOL_4)).unwrap();
    common(&value);
    assert_eq!(value.get("b"), Some(&Value::Bytes(vec![0, 1].into())));
}

#[test]
fn protocol_2_decodes_to_the_dumped_literal() {
    let value = parse(&hex(PROTOCOL_2)).unwrap();
    common(&value);
    // Protocol 2 has no bytes opcode: CPython writes `_codecs.encode(text, "latin1")`, kept uncalled.
    let bytes = value.get("b").unwrap();
    assert_eq!(bytes.class(), Some(("_codecs", "encode")));
}

#[test]
fn truncated_and_unknown_input_is_an_error_not_a_panic() {
    let full = hex(PROTOCOL_4);
    for cut in [1, 5, 20, full.len() - 1] {
        assert!(parse(&full[..cut]).is_err(), "cut at {cut} parsed");
    }
    let error = parse(&[0x80, 0x04, 0xff]).unwrap_err();
    assert_eq!(error.to_string(), "byte 2: unsupported pickle opcode 0xff");
    assert!(parse(&[0x80, 0x09]).unwrap_err().message.contains("protocol 9"));
}

/// PROTO 4, then `ops`, then STOP.
fn pickle(ops: &[u8]) -> Vec<u8> {
    [&[0x80, 0x04][..], ops, b"."].concat()
}

#[test]
fn a_container_filled_after_it_was_memoized_is_seen_filled() {
    // x = [1]; [x, x] as CPython writes it: EMPTY_LIST, MEMOIZE, then APPENDS; the second use is a BINGET.
    let value = parse(&pickle(b"](]\x94(K\x01eh\x00e")).unwrap();
    let inner = Value::List(vec![Value::Int(1)].into());
    assert_eq!(value.items(), Some(&[inner.clone(), inner][..]));
}

#[test]
fn a_list_holding_itself_is_refused() {
    // x = []; x.append(x)
    let error = parse(&pickle(b"]\x94h\x00a")).unwrap_err();
    assert!(error.message.contains("cycle"), "{error}");
    assert_eq!(error.offset, 2, "the EMPTY_LIST that starts the cycle");
}

#[test]
fn nesting_past_the_limit_is_refused_and_at_the_limit_read() {
    // `n` EMPTY_LISTs, then `n - 1` APPENDs: a list nested n levels deep.
    let nested = |n: usize| pickle(&[vec![b']'; n], vec![b'a'; n - 1]].concat());
    let mut value = parse(&nested(super::MAX_DEPTH + 1)).unwrap();
    let mut levels = 0;
    while let Some([inner]) = value.items() {
        value = inner.clone();
        levels += 1;
    }
    assert_eq!(levels, super::MAX_DEPTH);
    let error = parse(&nested(super::MAX_DEPTH + 2)).unwrap_err();
    assert!(error.message.contains(&format!("deeper than {} levels", super::MAX_DEPTH)), "{error}");
}

#[test]
fn a_claimed_length_past_the_end_is_an_error_before_any_allocation() {
    // BINUNICODE8 claiming 2^62 bytes.
    let error = parse(&pickle(&[&[0x8d][..], &(1u64 << 62).to_le_bytes()].concat())).unwrap_err();
    assert!(error.message.contains("truncated"), "{error}");
    assert_eq!(error.offset, 2);
}
