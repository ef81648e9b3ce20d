//! The reader and validator never panic, whatever the input: property tests over random text and over random
//! edits of real configs (bounded: a few seconds in CI).

use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../examples/ple_taobao.config");
const SMALL: &str = include_str!("../../../tests/configs/all_feature_kinds.config");

/// Bytes that matter to the grammar, so random edits hit interesting states often.
const ALPHABET: &[u8] = b"{}<>[]:,;#\"'\\-+.e0123456789 \n_abxfinDEP";

fn load(text: &str) {
    // Either outcome is fine; only a panic fails the property.
    let _ = plec_config::load_str(text, "fuzz.config");
}

fn edit(base: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = base.as_bytes().to_vec();
    for &(at, op, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = at % bytes.len();
        let byte = ALPHABET[byte as usize % ALPHABET.len()];
        match op % 3 {
            0 => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_text(text in "\\PC{0,200}") {
        load(&text);
    }

    #[test]
    fn random_grammar_soup(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let text: String = bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
        load(&text);
    }

    #[test]
    fn edits_of_the_small_config(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        load(&edit(SMALL, &edits));
    }

    #[test]
    fn edits_of_the_example_config(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4)) {
        load(&edit(EXAMPLE, &edits));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("model_config {}", "{ ".repeat(100_000));
    let err = plec_config::load_str(&text, "deep.config").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("deep.config:1:"), "{err}");
}

#[test]
fn huge_numbers_and_odd_values_are_errors() {
    for text in [
        "model_dir: 1e999999",
        "data_config { batch_size: 1e3 }",
        "data_config { batch_size: 0x }",
        "data_config { batch_size: - }",
    ] {
        assert!(plec_config::load_str(text, "odd.config").is_err(), "{text} should not load");
    }
}
