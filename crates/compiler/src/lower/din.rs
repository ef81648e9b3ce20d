//! The DIN attention MLP's first block without its `[q, s, q - s, q * s]` input (docs/semantics.md section 2b).
//!
//! With the block's weight (BatchNorm folded) split by input into `Wq, Ws, Wd, Wp` (`[units, Ds]` each), its
//! product is `q Wq' + s Ws' + (q - s) Wd' + (q * s) Wp' = q (Wq + Wd)' + [s, q * s] [Ws - Wd; Wp]'`: the query's
//! part is one Gemm per row (`<fc_0>.query`, bias included) instead of one per position, and the positions' part
//! one MatMul over `[s, q * s]`, half the width of the four-part input, which is never built. The sum is the same
//! function; only the float32 rounding order differs. Measured on TorchEasyRec's `ple_has_sequence`: BENCHMARKS.md,
//! issue 24, fourth attempt.

use plec_spec::artifact::names::{self, fc};
use plec_spec::Mlp;

use super::dense::{DenseKind, DenseRole};
use super::graph::{attr_int, Graph};
use super::mlp::{linear_params, lower_blocks, lower_mlp, mlp_weights, norm_and_activation, with_bias};
use crate::error::CompileError;
use crate::weights::Tensor;

/// The attention MLP's output `[batch * T, units]` for query `q` `[batch, Ds]` (already padded to the sequence
/// width) and sequence `s` `[batch, T, Ds]`, under module `ep`.
pub(crate) fn attention_mlp(
    g: &mut Graph,
    ep: &str,
    mlp: &Mlp,
    q: &str,
    sequence: &str,
    width: usize,
) -> Result<String, CompileError> {
    let axis1 = g.ints(&[1]);
    let q_row = g.node("Unsqueeze", &format!("{ep}.query_row"), &[q, &axis1], vec![]);
    let prod = g.node("Mul", &format!("{ep}.prod"), &[&q_row, sequence], vec![]);
    let Some((inputs, first)) = mlp.widths().next() else {
        // No hidden block: the output Linear reads the four-part input itself.
        let shape = g.node("Shape", &format!("{ep}.shape"), &[sequence], vec![]);
        let queries = g.node("Expand", &format!("{ep}.queries"), &[&q_row, &shape], vec![]);
        let diff = g.node("Sub", &format!("{ep}.diff"), &[&q_row, sequence], vec![]);
        let parts = [queries.as_str(), sequence, &diff, &prod];
        let input = g.node("Concat", &format!("{ep}.attn_input"), &parts, vec![attr_int("axis", -1)]);
        let flat = g.ints(&[-1, 4 * width as i64]);
        let flat = g.node("Reshape", &format!("{ep}.attn_input_2d"), &[&input, &flat], vec![]);
        return lower_mlp(g, DenseKind::Attention, ep, mlp, &flat);
    };
    if inputs != 4 * width {
        return Err(CompileError::Internal(format!("`{ep}` attention MLP reads {inputs} inputs, not 4 x {width}")));
    }
    let prefix = fc(ep, 0);
    let (weight, bias) = linear_params(g, &prefix, first)?;
    let units = first.units;
    let (query_weight, keys_weight) = split(&weight.to_f32(), units, width);
    let wq = format!("{}.query", names::weight(&prefix));
    g.add_initializer(&wq, Tensor::from_f32(vec![units, width], &query_weight));
    let wk = format!("{}.keys", names::weight(&prefix));
    g.add_initializer(&wk, Tensor::from_f32(vec![2 * width, units], &keys_weight));
    let query_inputs = with_bias(g, &prefix, bias, vec![q.to_string(), wq]);
    let refs: Vec<&str> = query_inputs.iter().map(String::as_str).collect();
    let role = DenseRole { kind: DenseKind::Attention, block: 0, experts: 1, mlp_weights: mlp_weights(mlp) };
    let by_row = g.dense(role, &format!("{prefix}.query"), &refs)?;
    let by_row = g.node("Unsqueeze", &format!("{prefix}.query_row"), &[&by_row, &axis1], vec![]);
    let keys = g.node("Concat", &format!("{ep}.keys_input"), &[sequence, &prod], vec![attr_int("axis", -1)]);
    let by_position = g.node("MatMul", &format!("{prefix}.keys"), &[&keys, &wk], vec![]);
    let x = g.node("Add", &prefix, &[&by_position, &by_row], vec![]);
    let x = norm_and_activation(g, &prefix, first, &x)?;
    let flat = g.ints(&[-1, units as i64]);
    let flat = g.node("Reshape", &format!("{prefix}.rows"), &[&x, &flat], vec![]);
    lower_blocks(g, DenseKind::Attention, ep, mlp, &flat, 1)
}

/// `(Wq + Wd)` as `[units, width]`, and `[Ws - Wd; Wp]` transposed as `[2 width, units]`, from the block weight
/// `[units, 4 width]` (row-major).
fn split(w: &[f32], units: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
    let at = |u: usize, part: usize, i: usize| w[u * 4 * width + part * width + i] as f64;
    let mut query = Vec::with_capacity(units * width);
    for u in 0..units {
        for i in 0..width {
            query.push((at(u, 0, i) + at(u, 2, i)) as f32);
        }
    }
    let mut keys = vec![0f32; 2 * width * units];
    for u in 0..units {
        for i in 0..width {
            keys[i * units + u] = (at(u, 1, i) - at(u, 2, i)) as f32;
            keys[(width + i) * units + u] = at(u, 3, i) as f32;
        }
    }
    (query, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_weights_compute_the_four_part_product() {
        // units 2, width 2: y = W [q, s, q - s, q * s] against q (Wq + Wd)' + [s, q * s] [Ws - Wd; Wp]'.
        let w: Vec<f32> = (0..16).map(|v| (v as f32 - 7.5) / 4.0).collect();
        let (q, s) = ([0.5f32, -2.0], [1.5f32, 0.25]);
        let input: Vec<f32> =
            q.iter().chain(&s).copied().chain((0..2).map(|i| q[i] - s[i])).chain((0..2).map(|i| q[i] * s[i])).collect();
        let (query, keys) = split(&w, 2, 2);
        for u in 0..2 {
            let direct: f32 = (0..8).map(|i| w[u * 8 + i] * input[i]).sum();
            let by_row: f32 = (0..2).map(|i| query[u * 2 + i] * q[i]).sum();
            let positions = [s[0], s[1], q[0] * s[0], q[1] * s[1]];
            let by_position: f32 = (0..4).map(|i| keys[i * 2 + u] * positions[i]).sum();
            assert!((direct - (by_row + by_position)).abs() < 1e-5, "unit {u}: {direct} vs {}", by_row + by_position);
        }
    }
}
