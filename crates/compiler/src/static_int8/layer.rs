//! One static int8 layer: `QLinearConv` for a uint8 writer, `QGemm` for a float writer, and the views and
//! dequantization around them.

use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::{NodeProto, TensorProto};

use super::chains::Uint8Output;
use crate::calibration::Calibration;
use crate::error::CompileError;
use crate::lower::dense::DenseLayer;
use crate::lower::graph::{attr_int, node_proto, Graph, MS_DOMAIN};

/// Input widths up to which a uint8 writer keeps symmetric weights (all zero points 0), which selects ONNX
/// Runtime's indirect convolution kernel; wider inputs get one zero point of -1, which selects its GEMM kernel
/// (same values: that channel's stored weights are one lower). Measured per layer shape at batch 1 / 256 / 8192
/// (BENCHMARKS.md, issue 24): the indirect kernel is faster up to 256 inputs (4.8 against 6.3 ms at 8192 for
/// 256 -> 1024) and much slower from 512 (7.8 against 3.9 ms for 1024 -> 512).
pub(crate) const MAX_INDIRECT_CONV_INPUTS: usize = 256;

/// A layer's int8 weight (`[out, in]`).
pub(crate) struct StaticWeight {
    /// `<fc>.weight`.
    pub name: String,
    /// int8 `[out, in]`, row-major.
    pub quant: Vec<u8>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
    /// `<fc>.bias` and its values.
    pub bias: Option<(String, Vec<f32>)>,
}

/// The NHWC view `[1, batch, 1, width]` of a `[batch, width]` activation.
pub(crate) fn nhwc_shape(width: usize) -> [i64; 4] {
    [1, -1, 1, width as i64]
}

/// Stores output channel 0 (`channel`, int8 bytes) one lower, for zero point -1: the same weights, and the zero
/// point that selects ONNX Runtime's GEMM kernel ([`MAX_INDIRECT_CONV_INPUTS`]).
fn lower_first_channel(channel: &mut [u8], name: &str) -> Result<(), CompileError> {
    for q in channel {
        let Some(lower) = (*q as i8).checked_sub(1) else {
            return Err(CompileError::Internal(format!("`{name}` holds -128")));
        };
        *q = lower as u8;
    }
    Ok(())
}

/// `<x>.quant_scale` (float) and `<x>.quant_zero_point` (uint8) from `x`'s calibrated range, added once.
pub(crate) fn activation_params(
    g: &mut Graph,
    x: &str,
    calibration: &Calibration,
) -> Result<(String, String), CompileError> {
    let (s, z) = (format!("{x}.quant_scale"), format!("{x}.quant_zero_point"));
    if !g.initializers.contains_key(&s) {
        let (scale, zero) = activation_scale(x, calibration)?;
        g.add_f32_initializer(&s, vec![], &[scale]);
        g.initializers.insert(z.clone(), uint8_scalar(&z, zero));
    }
    Ok((s, z))
}

/// `x`'s calibrated uint8 scale and zero point.
pub(crate) fn activation_scale(x: &str, calibration: &Calibration) -> Result<(f32, u8), CompileError> {
    match calibration.range(x) {
        Some(range) => Ok(range.uint8()),
        None => Err(CompileError::Internal(format!("no calibrated range for `{x}`"))),
    }
}

/// A uint8 writer as `com.microsoft.QLinearConv {channels_last = 1}` over NHWC views: reads `<input>.quant`,
/// writes `<relu>.quant`, weight `<fc>.weight.quant` `[out, in, 1, 1]`.
pub(crate) fn qlinear_conv(
    g: &mut Graph,
    layer: &DenseLayer,
    written: &Uint8Output,
    calibration: &Calibration,
    mut weight: StaticWeight,
) -> Result<NodeProto, CompileError> {
    let (out, inputs) = (layer.out, layer.inputs);
    let zero_points = conv_zero_points(&mut weight.quant, inputs, out, &weight.name)?;
    let (xs, xz) = activation_params(g, &layer.input, calibration)?;
    let (ys, yz) = activation_params(g, &written.relu, calibration)?;
    let x_scale = activation_scale(&layer.input, calibration)?.0;
    let dims = vec![out as i64, inputs as i64, 1, 1];
    let [q, s, z, bias] = weight_initializers(g, weight, dims, zero_points, x_scale);
    let x = format!("{}.quant", layer.input);
    let y = format!("{}.quant", written.relu);
    let ins = [x.as_str(), &xs, &xz, &q, &s, &z, &ys, &yz, &bias];
    let ins = if bias.is_empty() { &ins[..8] } else { &ins[..] };
    Ok(node_proto(MS_DOMAIN, "QLinearConv", &layer.node, ins, &[&y], vec![attr_int("channels_last", 1)]))
}

/// A float writer as `com.microsoft.QGemm` (`transB = 1`) reading `<input>.quant.rows`.
pub(crate) fn qgemm(
    g: &mut Graph,
    gemm: &NodeProto,
    layer: &DenseLayer,
    calibration: &Calibration,
    weight: StaticWeight,
) -> Result<NodeProto, CompileError> {
    let (xs, xz) = activation_params(g, &layer.input, calibration)?;
    let x_scale = activation_scale(&layer.input, calibration)?.0;
    let dims = vec![layer.out as i64, layer.inputs as i64];
    let [q, s, z, bias] = weight_initializers(g, weight, dims, vec![0; layer.out], x_scale);
    let x = format!("{}.quant.rows", layer.input);
    let output = gemm.output.first().cloned().unwrap_or_else(|| gemm.name.clone());
    let ins = [x.as_str(), &xs, &xz, &q, &s, &z, &bias];
    Ok(node_proto(MS_DOMAIN, "QGemm", &gemm.name, &ins, &[&output], vec![attr_int("transB", 1)]))
}

/// `Reshape(<x>.quant) -> <x>.quant.rows`, the `[batch, width]` view `QGemm` reads.
pub(crate) fn rows_view(g: &mut Graph, x: &str, width: usize) -> NodeProto {
    let shape = g.ints(&[-1, width as i64]);
    let (quant, rows) = (format!("{x}.quant"), format!("{x}.quant.rows"));
    node_proto("", "Reshape", &rows, &[&quant, &shape], &[&rows], vec![])
}

/// The float form of a uint8 output for its other readers: `DequantizeLinear -> <relu>.dequant`, then the
/// `[batch, width]` view under the ReLU output's own name.
pub(crate) fn dequantized(
    g: &mut Graph,
    written: &Uint8Output,
    width: usize,
    calibration: &Calibration,
) -> Result<[NodeProto; 2], CompileError> {
    let relu = written.relu.as_str();
    let (ys, yz) = activation_params(g, relu, calibration)?;
    let shape = g.ints(&[-1, width as i64]);
    let (quant, dequant) = (format!("{relu}.quant"), format!("{relu}.dequant"));
    Ok([
        node_proto("", "DequantizeLinear", &dequant, &[&quant, &ys, &yz], &[&dequant], vec![]),
        node_proto("", "Reshape", relu, &[&dequant, &shape], &[relu], vec![]),
    ])
}

/// The weight zero points of a `QLinearConv` over `inputs`: all 0 (the indirect convolution kernel), or, past
/// [`MAX_INDIRECT_CONV_INPUTS`], -1 for channel 0, whose stored weights (`quant`, int8 `[out, inputs]`) go one
/// lower (the GEMM kernel).
pub(crate) fn conv_zero_points(
    quant: &mut [u8],
    inputs: usize,
    out: usize,
    name: &str,
) -> Result<Vec<u8>, CompileError> {
    let mut zero_points = vec![0u8; out];
    if inputs > MAX_INDIRECT_CONV_INPUTS && out > 0 {
        lower_first_channel(&mut quant[..inputs], name)?;
        zero_points[0] = (-1i8) as u8;
    }
    Ok(zero_points)
}

/// One layer's weight initializers, with the int32 bias for input scale `x_scale` (see [`add_weights`]).
fn weight_initializers(
    g: &mut Graph,
    weight: StaticWeight,
    dims: Vec<i64>,
    zero_points: Vec<u8>,
    x_scale: f32,
) -> [String; 4] {
    let (bias_name, bias) = match &weight.bias {
        Some((b, values)) => (b.as_str(), Some(int32_bias(values, x_scale, &weight.scales))),
        None => ("", None),
    };
    let weights = QuantWeights { quant: weight.quant, scales: weight.scales, zero_points, bias };
    add_weights(g, &weight.name, bias_name, dims, weights)
}

/// An int8 matmul's weights as initializers read them.
pub(crate) struct QuantWeights {
    /// int8 `[out, in]`, row-major.
    pub quant: Vec<u8>,
    /// One scale and one zero point per output channel.
    pub scales: Vec<f32>,
    pub zero_points: Vec<u8>,
    /// In integer product steps.
    pub bias: Option<Vec<i32>>,
}

/// Adds `<weight>.quant` (`dims`), `<weight>.scale`, `<weight>.zero_point` and, with a bias, the int32
/// `<bias>.quant`; returns their names ("" for no bias).
pub(crate) fn add_weights(g: &mut Graph, weight: &str, bias: &str, dims: Vec<i64>, w: QuantWeights) -> [String; 4] {
    let out = w.scales.len();
    let names = [format!("{weight}.quant"), format!("{weight}.scale"), format!("{weight}.zero_point")];
    g.initializers.insert(names[0].clone(), int_tensor(&names[0], DataType::INT8, dims, w.quant));
    g.add_f32_initializer(&names[1], vec![out], &w.scales);
    g.initializers.insert(names[2].clone(), int_tensor(&names[2], DataType::INT8, vec![out as i64], w.zero_points));
    let bias_name = match w.bias {
        Some(values) => {
            let name = format!("{bias}.quant");
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            g.initializers.insert(name.clone(), int_tensor(&name, DataType::INT32, vec![out as i64], raw));
            name
        }
        None => String::new(),
    };
    let [q, s, z] = names;
    [q, s, z, bias_name]
}

/// The int32 bias added to the integer products: `round(b / (x_scale * w_scale))` per channel (0 where a
/// channel's weights are all zero), saturated to the int32 range.
pub(crate) fn int32_bias(bias: &[f32], x_scale: f32, w_scales: &[f32]) -> Vec<i32> {
    bias.iter()
        .zip(w_scales)
        .map(|(&b, &w)| {
            let step = x_scale as f64 * w as f64;
            if step > 0.0 {
                (b as f64 / step).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32
            } else {
                0
            }
        })
        .collect()
}

pub(crate) fn uint8_scalar(name: &str, value: u8) -> TensorProto {
    int_tensor(name, DataType::UINT8, vec![], vec![value])
}

fn int_tensor(name: &str, data_type: DataType, dims: Vec<i64>, raw: Vec<u8>) -> TensorProto {
    TensorProto { name: name.into(), dims, data_type: data_type as i32, raw_data: raw, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_int32_bias_is_the_float_bias_in_product_steps() {
        // x step 0.5, weight steps 0.1 and 0 (an all-zero channel): 1.0 / 0.05 = 20; -0.26 / 0.05 = -5.2 -> -5.
        assert_eq!(int32_bias(&[1.0, 3.0, -0.26], 0.5, &[0.1, 0.0, 0.1]), vec![20, 0, -5]);
        // Far past the int32 range: saturated, not wrapped.
        assert_eq!(int32_bias(&[1e12, -1e12], 1e-3, &[1e-3, 1e-3]), vec![i32::MAX, i32::MIN]);
    }
}
