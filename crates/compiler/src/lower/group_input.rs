//! The group input (docs/semantics.md sections 1, 2 and 2b): every feature's part (`super::features`; runs of
//! single ids together, `super::joint`, when asked), then every sequence encoder's output (`super::sequence`),
//! side by side.

use plec_spec::ModelSpec;

use super::features::lower_feature;
use super::graph::{attr_int, Graph};
use super::joint;
use super::sequence::lower_sequences;
use crate::error::CompileError;

/// Declares one graph input per feature and returns the group input tensor `[batch, input_width]` (the features
/// side by side, in order: `ModelSpec::check` guarantees their offsets and widths), recorded as
/// `Graph::structure.group_input`. Sequence encoders' outputs follow the features (section 2b). With `joint`,
/// runs of single-id features are looked up together.
pub(crate) fn lower_group_input(g: &mut Graph, spec: &ModelSpec, joint: bool) -> Result<String, CompileError> {
    let runs = if joint { joint::runs(spec) } else { Vec::new() };
    let mut parts = Vec::new();
    let mut i = 0;
    while i < spec.features.len() {
        if let Some((index, run)) = runs.iter().enumerate().find(|(_, run)| run.start == i) {
            parts.push(joint::lower_run(g, spec, index, run.clone())?);
            i = run.end;
        } else {
            let feature = &spec.features[i];
            parts.push(lower_feature(g, spec, feature, &format!("features.{}", feature.name))?);
            i += 1;
        }
    }
    parts.extend(lower_sequences(g, spec)?);
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let input = g.node("Concat", "features.concat", &refs, vec![attr_int("axis", 1)]);
    g.structure.group_input = input.clone();
    Ok(input)
}
