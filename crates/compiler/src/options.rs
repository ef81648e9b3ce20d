//! What `compile` can be asked to do.

/// Lowest and highest ai.onnx opset plec emits. 17 is the first with LayerNormalization; 21 is the newest that
/// every ONNX Runtime plec supports (1.31) runs. Opsets 20 and up use the native `Gelu` op instead of its Erf
/// expansion; nothing else differs.
pub const MIN_OPSET: i64 = 17;
pub const MAX_OPSET: i64 = 21;
pub const DEFAULT_OPSET: i64 = 17;

/// How experts are laid out in the graph; both compute the same function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Every expert is its own chain of named Gemm + activation nodes; every gate its own Gemm -> Softmax ->
    /// weighted sum. Readable and diffable; node names follow the parameter names.
    #[default]
    Explicit,
    /// Experts as in the explicit layout (ONNX Runtime runs pre-packed 2-D Gemms fastest); the gates reading the
    /// same input are one Gemm, and each layer stacks its experts once and mixes every gate with one MatMul.
    /// Faster at serving batch sizes.
    Fused,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Explicit => "explicit",
            Layout::Fused => "fused",
        }
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "explicit" => Ok(Layout::Explicit),
            "fused" => Ok(Layout::Fused),
            other => Err(format!("unknown layout `{other}` (expected `explicit` or `fused`)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    pub layout: Layout,
    /// ai.onnx opset, `MIN_OPSET..=MAX_OPSET`.
    pub opset: i64,
    /// Also output every gate's softmax, as `<gate>.softmax` ([batch, experts]).
    pub expose_gates: bool,
    /// The config text, stored verbatim in the model's metadata (`plec.config`).
    pub config_text: String,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            layout: Layout::Explicit,
            opset: DEFAULT_OPSET,
            expose_gates: false,
            config_text: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_parse_by_name() {
        assert_eq!("fused".parse::<Layout>(), Ok(Layout::Fused));
        assert_eq!("explicit".parse::<Layout>(), Ok(Layout::Explicit));
        assert_eq!(
            "bogus".parse::<Layout>(),
            Err("unknown layout `bogus` (expected `explicit` or `fused`)".to_string())
        );
        assert_eq!(CompileOptions::default().opset, 17);
    }
}
