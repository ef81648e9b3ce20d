//! Towers and named outputs (docs/semantics.md section 5): optional MLP, the output Gemm `tower.<t>.output`
//! `[batch, num_class]`, then per output kind: `logits_<t>` (Squeeze to [batch] when num_class is 1, else
//! Identity), `probs_<t>` (Sigmoid or Softmax), `probs1_<t>` (column 1 of a 2-class softmax), `y_<t>` (Squeeze).
//! A DBMTL relation MLP (`tower.<t>.relation`, semantics section 4b) sits between the tower MLP and the output
//! Gemm, reading `tower.<t>.relation.concat`: the tower's own MLP output, then the related towers' relation
//! outputs.

use onnx_protobuf::tensor_proto::DataType;
use plec_spec::artifact::names::{self, tower as tower_module, tower_output};
use plec_spec::{ModelSpec, OutputKind, Tower};

use super::dense::{DenseKind, DenseRole};
use super::graph::{attr_int, Dim, Graph};
use super::mlp::lower_mlp;
use crate::error::CompileError;

/// Every tower on its input `ys[t]`, in tower order (a relation reads earlier towers' relation outputs).
pub(crate) fn lower_towers(g: &mut Graph, spec: &ModelSpec, ys: &[String]) -> Result<(), CompileError> {
    let mut relation_outputs: Vec<String> = Vec::with_capacity(ys.len());
    for (tower, y) in spec.towers.iter().zip(ys) {
        let mut x = y.clone();
        if let Some(mlp) = &tower.mlp {
            x = lower_mlp(g, DenseKind::Tower, &tower_module(&tower.name), mlp, &x)?;
        }
        if let Some(relation) = &tower.relation {
            let module = names::relation(&tower.name);
            let mut parts = vec![x.as_str()];
            for &r in &relation.towers {
                let earlier = relation_outputs.get(r).ok_or_else(|| {
                    CompileError::Internal(format!("tower `{}` relates to a later tower", tower.name))
                })?;
                parts.push(earlier);
            }
            let joined = g.node("Concat", &format!("{module}.concat"), &parts, vec![attr_int("axis", 1)]);
            x = lower_mlp(g, DenseKind::Tower, &module, &relation.mlp, &joined)?;
        }
        lower_head(g, tower, &x)?;
        relation_outputs.push(x);
    }
    Ok(())
}

/// The output Gemm and the named outputs of `tower`, reading `x`.
fn lower_head(g: &mut Graph, tower: &Tower, x: &str) -> Result<(), CompileError> {
    let head = tower_output(&tower.name);
    let w = g.param(&names::weight(&head))?;
    let b = g.param(&names::bias(&head))?;
    let out2d = g.dense(DenseRole::linear(DenseKind::Output), &head, &[x, &w, &b])?;
    let named = |kind: OutputKind| tower.outputs.iter().find(|o| o.kind == kind).map(|o| o.name.clone());
    let squeezed = |g: &mut Graph, name: &str| {
        let axes = g.ints(&[1]);
        g.node("Squeeze", name, &[&out2d, &axes], vec![])
    };
    let logits_name = named(OutputKind::Logits);
    let logits = match (&logits_name, tower.num_class) {
        (Some(name), 1) => Some(squeezed(g, name)),
        (Some(name), _) => Some(g.node("Identity", name, &[&out2d], vec![])),
        (None, _) => None,
    };
    let needs_probs = named(OutputKind::Probs).is_some() || named(OutputKind::Probs1).is_some();
    let probs = if needs_probs {
        let name = named(OutputKind::Probs).unwrap_or_else(|| format!("{head}.softmax"));
        Some(if tower.num_class == 1 {
            let flat = match &logits {
                Some(l) => l.clone(),
                None => squeezed(g, &format!("{head}.squeeze")),
            };
            g.node("Sigmoid", &name, &[&flat], vec![])
        } else {
            g.node("Softmax", &name, &[&out2d], vec![attr_int("axis", -1)])
        })
    } else {
        None
    };
    for output in &tower.outputs {
        match output.kind {
            OutputKind::Logits | OutputKind::Probs => {}
            OutputKind::Probs1 => {
                let probs = probs.clone().ok_or_else(|| CompileError::Internal("probs1 without probs".into()))?;
                let one = g.scalar_i64(1);
                g.node("Gather", &output.name, &[&probs, &one], vec![attr_int("axis", 1)]);
            }
            OutputKind::Regression => {
                squeezed(g, &output.name);
            }
        }
        let mut dims = vec![Dim::Named("batch")];
        dims.extend(output.dims.iter().map(|&d| Dim::Fixed(d)));
        g.add_output(&output.name, DataType::FLOAT, &dims);
    }
    Ok(())
}
