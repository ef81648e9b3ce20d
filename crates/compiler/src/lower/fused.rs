//! Fused layout (see `crate::options::Layout::Fused`).

use plec_config::ModelSpec;

use super::graph::Graph;
use crate::error::CompileError;

pub(crate) fn lower_layers(
    g: &mut Graph,
    spec: &ModelSpec,
    input: &str,
    expose_gates: bool,
) -> Result<Vec<String>, CompileError> {
    let _ = (g, spec, input, expose_gates);
    Err(CompileError::Spec("fused layout not implemented yet".into()))
}
