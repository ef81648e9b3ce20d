//! Input checks: every mistake a caller can make gets an error naming the input, row and value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use plec_runtime::{tensor, InputError, RawInputs, RawTensor, RuntimeError};

fn error_of(inputs: &RawInputs) -> String {
    let model = load_test_model();
    match model.run(inputs) {
        Err(RuntimeError::Input(error)) => error.to_string(),
        Err(other) => panic!("expected an input error, got {other}"),
        Ok(_) => panic!("expected an input error, the run succeeded"),
    }
}

/// `inputs` with the tensor named like `tensor` swapped for it.
fn replace(inputs: RawInputs, tensor: RawTensor) -> RawInputs {
    RawInputs {
        tensors: inputs.tensors.into_iter().map(|t| if t.name == tensor.name { tensor.clone() } else { t }).collect(),
    }
}

fn without(inputs: RawInputs, name: &str) -> RawInputs {
    RawInputs { tensors: inputs.tensors.into_iter().filter(|t| t.name != name).collect() }
}

#[test]
fn missing_input() {
    insta::assert_snapshot!(error_of(&without(valid_inputs(), "city")), @"missing input `city` (string [batch]); the model's inputs are: user_id, tags, city, price, vec");
}

#[test]
fn unknown_input() {
    let inputs = valid_inputs().with(tensor::string("colour", vec![3], vec!["r".into(), "g".into(), "b".into()]));
    insta::assert_snapshot!(error_of(&inputs), @"unknown input `colour`; the model's inputs are: user_id, tags, city, price, vec");
}

#[test]
fn duplicate_input() {
    let inputs = valid_inputs().with(tensor::float("price", vec![3], vec![1.0, 2.0, 3.0]));
    insta::assert_snapshot!(error_of(&inputs), @"input `price` is given twice");
}

#[test]
fn wrong_dtype() {
    let inputs = replace(valid_inputs(), tensor::float("user_id", vec![3], vec![1.0, 2.0, 3.0]));
    insta::assert_snapshot!(error_of(&inputs), @"input `user_id`: expected int64 values, got float");
}

#[test]
fn wrong_rank() {
    let inputs = replace(valid_inputs(), tensor::float("price", vec![3, 1], vec![1.0, 2.0, 3.0]));
    insta::assert_snapshot!(error_of(&inputs), @"input `price`: expected shape [batch], got [3, 1]");
}

#[test]
fn wrong_fixed_dimension() {
    let inputs = replace(valid_inputs(), tensor::float("vec", vec![3, 3], vec![0.0; 9]));
    insta::assert_snapshot!(error_of(&inputs), @"input `vec`: expected shape [batch, 2], got [3, 3]");
}

#[test]
fn data_not_matching_shape() {
    let inputs = replace(valid_inputs(), tensor::int64("tags", vec![3, 2], vec![1, 2, 3, 4, 5]));
    insta::assert_snapshot!(error_of(&inputs), @"input `tags`: shape [3, 2] holds 6 values, but 5 were given");
}

#[test]
fn batch_sizes_disagree() {
    let inputs = replace(valid_inputs(), tensor::float("price", vec![2], vec![1.0, 2.0]));
    insta::assert_snapshot!(error_of(&inputs), @"input `price` has batch size 2, but `user_id` has 3: all inputs need the same rows");
}

#[test]
fn ids_outside_the_valid_range_are_listed_with_row_and_value() {
    let inputs = replace(valid_inputs(), tensor::int64("user_id", vec![3], vec![5, 100, -7]));
    insta::assert_snapshot!(error_of(&inputs), @r"
    2 bad input values:
      input `user_id` row 1: value 100 is outside the valid ids [0, 100) (missing is -1)
      input `user_id` row 2: value -7 is outside the valid ids [0, 100) (missing is -1)
    ");
}

#[test]
fn the_missing_id_is_not_a_bad_value() {
    let inputs = replace(valid_inputs(), tensor::int64("user_id", vec![3], vec![-1, 0, 99]));
    assert!(load_test_model().run(&inputs).is_ok());
}

#[test]
fn strings_with_nul_are_bad_values_with_position() {
    let inputs = replace(valid_inputs(), tensor::string("city", vec![3], vec!["a".into(), "b\0c".into(), "".into()]));
    insta::assert_snapshot!(error_of(&inputs), @r#"
    1 bad input value:
      input `city` row 1: value "b\0c" contains a NUL character, which ONNX Runtime strings cannot hold
    "#);
}

#[test]
fn long_lists_of_bad_values_are_cut_but_counted() {
    let rows = 25;
    let model = load_test_model();
    let inputs = plec_runtime::synthetic::synthetic_inputs(model.signature(), rows, 1);
    let inputs = replace(inputs, tensor::int64("user_id", vec![rows], (0..rows as i64).map(|i| 1000 + i).collect()));
    let error = error_of(&inputs);
    assert!(error.starts_with("25 bad input values:\n  input `user_id` row 0: value 1000 "), "{error}");
    assert!(error.ends_with("\n  ... and 15 more"), "{error}");
    assert_eq!(error.lines().count(), 1 + plec_runtime::validate::MAX_LISTED_BAD_VALUES + 1);
}

#[test]
fn bad_values_in_multi_valued_inputs_name_the_position() {
    let signature = load_test_model().signature().clone();
    let mut signature = signature;
    signature.inputs[1].valid_range = Some([0, 10]);
    let inputs = valid_inputs();
    let bad = plec_runtime::validate::find_bad_values(&signature, &inputs);
    let text: Vec<String> = bad.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(text.join("\n"), @"input `tags` row 2 position 0: value 500 is outside the valid ids [0, 10) (missing is -1)");
    assert!(matches!(plec_runtime::validate::check(&signature, &inputs), Err(InputError::BadValues { total: 1, .. })));
}
