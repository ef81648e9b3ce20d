//! What `compile` can be asked to do.

use plec_spec::artifact::precision::Precision;
use plec_spec::ModelSpec;

use crate::calibration::Calibration;
use crate::error::CompileError;
pub use crate::opset::{DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, SEQUENCE_MIN_OPSET};

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
    /// The first block of a layer's experts that read one tensor is one wide Gemm (weights concatenated along the
    /// output axis; one int8 matmul under `--precision int8`), the deeper blocks and the gating as in the fused
    /// layout. Fewer, larger matmuls, but measured slower than `Fused` on ONNX Runtime's CPU kernels
    /// (BENCHMARKS.md, issue 24).
    Wide,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Explicit => "explicit",
            Layout::Fused => "fused",
            Layout::Wide => "wide",
        }
    }
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "explicit" => Ok(Layout::Explicit),
            "fused" => Ok(Layout::Fused),
            "wide" => Ok(Layout::Wide),
            other => Err(format!("unknown layout `{other}` (expected `explicit`, `fused` or `wide`)")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    pub layout: Layout,
    /// ai.onnx opset, `MIN_OPSET..=MAX_OPSET`; `None`: [`DEFAULT_OPSET`], or [`SEQUENCE_MIN_OPSET`] for a model
    /// with sequence features (see [`CompileOptions::opset_for`]).
    pub opset: Option<i64>,
    /// Also output every gate's softmax, as `<gate>.softmax` ([batch, experts]).
    pub expose_gates: bool,
    /// The config text, stored verbatim in the model's metadata (`plec.config`).
    pub config_text: String,
    /// float32, or int8 (`crate::quantize`); recorded in the metadata (`plec.precision`) when not float32.
    pub precision: Precision,
    /// How `Precision::Int8` quantizes (ignored for float32).
    pub int8: Int8Options,
    /// With `Precision::Int8`: activation ranges observed on calibration rows (`crate::calibration_model`);
    /// the int8 dense layers then run static int8 (`crate::static_int8`) instead of quantizing activations at
    /// run time.
    pub calibration: Option<Calibration>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            layout: Layout::Explicit,
            opset: None,
            expose_gates: false,
            config_text: String::new(),
            precision: Precision::Float32,
            int8: Int8Options::default(),
            calibration: None,
        }
    }
}

impl CompileOptions {
    /// The opset `spec` compiles at: the one asked for, or the default for the spec; refuses opsets outside
    /// `MIN_OPSET..=MAX_OPSET` and, for a spec with sequence features, below [`SEQUENCE_MIN_OPSET`].
    pub fn opset_for(&self, spec: &ModelSpec) -> Result<i64, CompileError> {
        let sequence = spec.sequence_groups.iter().flat_map(|g| &g.sequence).next();
        let opset = match (self.opset, sequence) {
            (Some(opset), _) => opset,
            (None, Some(_)) => SEQUENCE_MIN_OPSET,
            (None, None) => DEFAULT_OPSET,
        };
        if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
            return Err(CompileError::UnsupportedOpset(opset));
        }
        match sequence {
            Some(feature) if opset < SEQUENCE_MIN_OPSET => {
                Err(CompileError::SequenceOpset { opset, feature: feature.name.clone() })
            }
            _ => Ok(opset),
        }
    }
}

/// Tower MLP blocks with fewer weights than this stay float32: alone, a narrower int8 Gemm is slower than float32
/// at batch 1 (quantizing its activations costs more than the small product saves). Measurements: BENCHMARKS.md,
/// sections "int8" and issue 24.
pub const MIN_INT8_WEIGHTS: usize = 65_536;

/// Experts whose blocks hold fewer weights than this in all stay float32; the others are int8 in every block,
/// narrow ones included (in the whole model their float32 Gemms cost more than quantizing their inputs; an expert
/// of a few 64-wide blocks stays float32, where int8 moved golden outputs the most). Measurements: BENCHMARKS.md,
/// issue 24.
pub const MIN_INT8_EXPERT_WEIGHTS: usize = 16_384;

/// Embedding tables with fewer elements than this (64 KiB in float32) stay float32: they sit in cache, int8
/// saves under 48 KB each, and the dequantization costs four nodes per lookup (BENCHMARKS.md, "int8").
pub const MIN_INT8_TABLE_ELEMENTS: usize = 16_384;

/// How a table's scales are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableScale {
    /// One scale per row (what `--precision int8` does).
    #[default]
    PerRow,
    /// One scale for the whole table, stored per row: a deliberately poor choice (a table with one outlier row
    /// loses every other row's resolution), kept only so tests can prove the eval-data accuracy check catches it.
    PerTensor,
}

impl std::str::FromStr for TableScale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "per-row" => Ok(TableScale::PerRow),
            "per-tensor" => Ok(TableScale::PerTensor),
            other => Err(format!("unknown table scale `{other}` (expected `per-row` or `per-tensor`)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int8Options {
    /// Tower Gemms with fewer weights stay float32.
    pub min_weights: usize,
    /// Experts with fewer weights (all blocks together) stay float32.
    pub min_expert_weights: usize,
    /// Embedding tables with fewer elements stay float32.
    pub min_table_elements: usize,
    pub table_scale: TableScale,
    /// Static int8: the experts of a layer that read one tensor and share a shape run as one stacked chain
    /// (`crate::static_int8`'s stacks: fewer nodes, faster up to a few hundred rows per call); `false` keeps one
    /// convolution per expert block (faster from about 1,024 rows per call). Measurements: BENCHMARKS.md, issue 24.
    pub stack_experts: bool,
}

impl Default for Int8Options {
    fn default() -> Self {
        Int8Options {
            min_weights: MIN_INT8_WEIGHTS,
            min_expert_weights: MIN_INT8_EXPERT_WEIGHTS,
            min_table_elements: MIN_INT8_TABLE_ELEMENTS,
            table_scale: TableScale::PerRow,
            stack_experts: true,
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
        assert_eq!("wide".parse::<Layout>(), Ok(Layout::Wide));
        assert_eq!(
            "bogus".parse::<Layout>(),
            Err("unknown layout `bogus` (expected `explicit`, `fused` or `wide`)".to_string())
        );
        assert_eq!(CompileOptions::default().opset, None);
    }

    #[test]
    fn sequence_features_need_opset_20_and_default_to_it() {
        let spec = |name: &str| plec_spec::testing::catalog().into_iter().find(|(n, _)| *n == name).unwrap().1;
        let (plain, sequences) = (spec("mmoe"), spec("sequences"));
        let default = CompileOptions::default();
        assert_eq!(default.opset_for(&plain).unwrap(), 17);
        assert_eq!(default.opset_for(&sequences).unwrap(), 20);
        let at = |opset| CompileOptions { opset: Some(opset), ..Default::default() };
        assert_eq!(at(21).opset_for(&sequences).unwrap(), 21);
        assert_eq!(at(18).opset_for(&plain).unwrap(), 18);
        assert_eq!(
            at(19).opset_for(&sequences).unwrap_err().to_string(),
            "opset 19 cannot compile sequence feature `clicks__item_id`: sequence inputs are split inside the graph \
             by StringSplit, which needs ai.onnx opset 20 or newer (leave --opset out or pass 20 or 21)"
        );
        assert_eq!(
            at(16).opset_for(&sequences).unwrap_err().to_string(),
            "opset 16 is not supported: plec emits ai.onnx opsets 17..=21"
        );
    }
}
