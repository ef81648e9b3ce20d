//! The arithmetic precision a model was compiled at (`plec compile --precision`), recorded in the model's metadata
//! (`plec.precision`) so that `plec verify` compares its outputs at the matching tolerance
//! ([`crate::artifact::tolerance::Tolerance::for_output_at`]).

/// Metadata key holding [`Precision::name`]; a model without it is float32 (models compiled before int8 existed).
pub const METADATA_KEY: &str = "plec.precision";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Every parameter and every activation in float32.
    #[default]
    Float32,
    /// Embedding tables int8 with a float16 scale per row (dequantized after the lookup); expert layers (of experts
    /// large enough) and large tower layers int8 per output channel with activations quantized at run time; gates,
    /// output layers and small layers float32. The compiler's `Int8Options` hold the thresholds.
    Int8,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Float32 => "float32",
            Precision::Int8 => "int8",
        }
    }

    /// The precision recorded in a model's metadata value (`None`: the key is absent, a float32 model).
    pub fn from_metadata(value: Option<&str>) -> Result<Precision, String> {
        match value {
            None => Ok(Precision::Float32),
            Some(text) => text.parse().map_err(|e| format!("metadata {METADATA_KEY}: {e}")),
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "float32" | "fp32" => Ok(Precision::Float32),
            "int8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision `{other}` (expected `float32` or `int8`)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_parse_by_name_and_absent_metadata_is_float32() {
        assert_eq!("int8".parse::<Precision>(), Ok(Precision::Int8));
        assert_eq!("float32".parse::<Precision>(), Ok(Precision::Float32));
        assert_eq!(
            "int4".parse::<Precision>(),
            Err("unknown precision `int4` (expected `float32` or `int8`)".to_string())
        );
        assert_eq!(Precision::from_metadata(None), Ok(Precision::Float32));
        assert_eq!(Precision::from_metadata(Some("int8")), Ok(Precision::Int8));
        assert!(Precision::from_metadata(Some("bf16")).unwrap_err().starts_with("metadata plec.precision: "));
    }
}
