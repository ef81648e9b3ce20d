//! The ai.onnx opsets plec emits (read by the options and by the errors that refuse others).

/// Lowest and highest ai.onnx opset plec emits. 17 is the first with LayerNormalization; 21 is the newest that
/// every ONNX Runtime plec supports (1.31) runs. Opsets 20 and up use the native `Gelu` op instead of its Erf
/// expansion; nothing else differs.
pub const MIN_OPSET: i64 = 17;
pub const MAX_OPSET: i64 = 21;
pub const DEFAULT_OPSET: i64 = 17;
/// Models with sequence features split their strings inside the graph with `StringSplit`, new in opset 20; such
/// models default to this opset and refuse older ones.
pub const SEQUENCE_MIN_OPSET: i64 = 20;
