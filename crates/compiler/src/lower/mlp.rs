//! MLP blocks (docs/semantics.md section 3) at inference: Gemm (BatchNorm folded in) -> LayerNormalization ->
//! activation; Dropout is dropped.
//!
//! BatchNorm folding (eval mode): with s = gamma / sqrt(running_var + eps), the Gemm weight becomes `W * s` (per
//! output row) and its bias `beta - running_mean * s` (plus `b * s` if the Linear had a bias). The folded tensors
//! keep the Linear's names, `<fc>.weight` and `<fc>.bias`; the `<fc>.bn.*` tensors do not appear in the model.

use plec_spec::artifact::names::{self, fc, leaf};
use plec_spec::{Activation, Mlp, MlpLayer, Norm, NORM_EPS};

use super::dense::{DenseKind, DenseRole};
use super::graph::{attr_float, attr_int, Graph};
use crate::error::CompileError;
use crate::weights::Tensor;

/// The Gemm weight `[units, in]` and optional bias `[units]` of block `prefix`, BatchNorm folded in.
pub(crate) fn linear_params(
    g: &mut Graph,
    prefix: &str,
    layer: &MlpLayer,
) -> Result<(Tensor, Option<Tensor>), CompileError> {
    let weight = g.take(&names::weight(prefix))?;
    let bias = if layer.bias { Some(g.take(&names::bias(prefix))?) } else { None };
    if layer.norm != Norm::Batch {
        return Ok((weight, bias));
    }
    let gamma = g.take(&names::param(prefix, leaf::BN_WEIGHT))?.to_f32();
    let beta = g.take(&names::param(prefix, leaf::BN_BIAS))?.to_f32();
    let mean = g.take(&names::param(prefix, leaf::BN_RUNNING_MEAN))?.to_f32();
    let var = g.take(&names::param(prefix, leaf::BN_RUNNING_VAR))?.to_f32();
    let units = layer.units;
    let inputs = weight.shape.get(1).copied().unwrap_or(0);
    let w = weight.to_f32();
    let b = bias.map(|b| b.to_f32());
    let mut folded_w = Vec::with_capacity(w.len());
    let mut folded_b = Vec::with_capacity(units);
    for u in 0..units {
        // f64 so the folded values are the exactly rounded f32 of the real-number result.
        let scale = gamma[u] as f64 / (var[u] as f64 + NORM_EPS as f64).sqrt();
        for i in 0..inputs {
            folded_w.push((w[u * inputs + i] as f64 * scale) as f32);
        }
        let linear_bias = b.as_ref().map_or(0.0, |b| b[u] as f64);
        folded_b.push((beta[u] as f64 + (linear_bias - mean[u] as f64) * scale) as f32);
    }
    Ok((Tensor::from_f32(vec![units, inputs], &folded_w), Some(Tensor::from_f32(vec![units], &folded_b))))
}

/// Lowers `mlp` under `module` on `input` `[batch, in]`; returns the output tensor `[batch, units]`. Its Gemms are
/// recorded as dense layers of `kind`.
pub(crate) fn lower_mlp(
    g: &mut Graph,
    kind: DenseKind,
    module: &str,
    mlp: &Mlp,
    input: &str,
) -> Result<String, CompileError> {
    lower_blocks(g, kind, module, mlp, input, 0)
}

/// Lowers the blocks of `mlp` from block `from` on (their input: `input`), as `lower_mlp`.
pub(crate) fn lower_blocks(
    g: &mut Graph,
    kind: DenseKind,
    module: &str,
    mlp: &Mlp,
    input: &str,
    from: usize,
) -> Result<String, CompileError> {
    let mut x = input.to_string();
    for (j, (_, layer)) in mlp.widths().enumerate().skip(from) {
        let prefix = fc(module, j);
        let (weight, bias) = linear_params(g, &prefix, layer)?;
        let w_name = names::weight(&prefix);
        g.add_initializer(&w_name, weight);
        let inputs = with_bias(g, &prefix, bias, vec![x.clone(), w_name]);
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let role = DenseRole { kind, block: j, experts: 1, mlp_weights: mlp_weights(mlp) };
        x = g.dense(role, &prefix, &refs)?;
        x = norm_and_activation(g, &prefix, layer, &x)?;
    }
    Ok(x)
}

/// `inputs` and, with a bias, `<prefix>.bias` (added as an initializer).
pub(crate) fn with_bias(g: &mut Graph, prefix: &str, bias: Option<Tensor>, mut inputs: Vec<String>) -> Vec<String> {
    if let Some(bias) = bias {
        let b_name = names::bias(prefix);
        g.add_initializer(&b_name, bias);
        inputs.push(b_name);
    }
    inputs
}

/// What follows block `prefix`'s product `x`: its LayerNorm (`<prefix>.ln`) if it has one, then its activation.
pub(crate) fn norm_and_activation(
    g: &mut Graph,
    prefix: &str,
    layer: &MlpLayer,
    x: &str,
) -> Result<String, CompileError> {
    let mut x = x.to_string();
    if layer.norm == Norm::Layer {
        let scale = g.param(&names::param(prefix, leaf::LN_WEIGHT))?;
        let shift = g.param(&names::param(prefix, leaf::LN_BIAS))?;
        x = g.node(
            "LayerNormalization",
            &format!("{prefix}.ln"),
            &[&x, &scale, &shift],
            vec![attr_int("axis", -1), attr_float("epsilon", NORM_EPS)],
        );
    }
    Ok(activation(g, prefix, layer.activation, &x))
}

/// Weights of all blocks of `mlp`.
pub(crate) fn mlp_weights(mlp: &Mlp) -> usize {
    mlp.widths().map(|(inputs, layer)| inputs * layer.units).sum()
}

/// Applies `activation` to `x`; node names are `<prefix>.<activation>`.
pub(crate) fn activation(g: &mut Graph, prefix: &str, activation: Activation, x: &str) -> String {
    match activation {
        Activation::Identity => x.to_string(),
        Activation::Relu => g.node("Relu", &format!("{prefix}.relu"), &[x], vec![]),
        Activation::Sigmoid => g.node("Sigmoid", &format!("{prefix}.sigmoid"), &[x], vec![]),
        Activation::Tanh => g.node("Tanh", &format!("{prefix}.tanh"), &[x], vec![]),
        Activation::LeakyRelu { negative_slope } => {
            g.node("LeakyRelu", &format!("{prefix}.leaky_relu"), &[x], vec![attr_float("alpha", negative_slope)])
        }
        Activation::Elu { alpha } => g.node("Elu", &format!("{prefix}.elu"), &[x], vec![attr_float("alpha", alpha)]),
        Activation::Silu => {
            let s = g.node("Sigmoid", &format!("{prefix}.silu.sigmoid"), &[x], vec![]);
            g.node("Mul", &format!("{prefix}.silu"), &[x, &s], vec![])
        }
        Activation::Gelu if g.opset >= 20 => g.node("Gelu", &format!("{prefix}.gelu"), &[x], vec![]),
        Activation::Gelu => {
            // 0.5 * x * (1 + erf(x / sqrt(2))): exact GELU, PyTorch's default.
            let inv_sqrt2 = g.scalar_f32(std::f32::consts::FRAC_1_SQRT_2);
            let one = g.scalar_f32(1.0);
            let half = g.scalar_f32(0.5);
            let scaled = g.node("Mul", &format!("{prefix}.gelu.scale"), &[x, &inv_sqrt2], vec![]);
            let erf = g.node("Erf", &format!("{prefix}.gelu.erf"), &[&scaled], vec![]);
            let plus = g.node("Add", &format!("{prefix}.gelu.add"), &[&erf, &one], vec![]);
            let half_x = g.node("Mul", &format!("{prefix}.gelu.half"), &[x, &half], vec![]);
            g.node("Mul", &format!("{prefix}.gelu"), &[&half_x, &plus], vec![])
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::weights::Weights;

    #[test]
    fn batch_norm_folds_into_the_gemm() {
        let t = |shape: Vec<usize>, v: &[f32]| Tensor::from_f32(shape, v);
        let tensors: BTreeMap<String, Tensor> = [
            ("m.fc_0.weight", t(vec![2, 2], &[1.0, 2.0, 3.0, 4.0])),
            ("m.fc_0.bn.weight", t(vec![2], &[2.0, 1.0])),
            ("m.fc_0.bn.bias", t(vec![2], &[0.5, -1.0])),
            ("m.fc_0.bn.running_mean", t(vec![2], &[1.0, 0.0])),
            ("m.fc_0.bn.running_var", t(vec![2], &[3.0, 0.25])),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let mut g = Graph::new(Weights { tensors }, 17);
        let layer = MlpLayer { units: 2, bias: false, norm: Norm::Batch, activation: Activation::Relu, dropout: 0.0 };
        let (w, b) = linear_params(&mut g, "m.fc_0", &layer).unwrap();
        // Hand-derived: s = gamma / sqrt(var + 1e-5) = [1.1546986, 1.99996]; W' = W * s per row; b' = beta - mean * s.
        let expected_w = [1.1546986f32, 2.3093972, 5.99988, 7.99984];
        for (got, want) in w.to_f32().iter().zip(expected_w) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        let b = b.unwrap().to_f32();
        assert!((b[0] - -0.6546986).abs() < 1e-6 && b[1] == -1.0, "{b:?}");
        assert!(g.leftover_params().is_empty());
    }
}
