//! Tests of the data path on small files written to temporary folders.

mod edge_sequence_tests;
mod encode_tests;
pub(crate) mod fixtures;
mod inputs_tests;
mod raw_tests;
mod reader_tests;
mod sequence_tests;
mod weighted_tests;
