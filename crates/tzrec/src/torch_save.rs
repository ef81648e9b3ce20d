//! One tensor saved by `torch.save` (the zip format PyTorch has written since 1.6): `<archive>/data.pkl` holds
//! `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)`, where `storage`
//! is the persistent id `('storage', torch.<Dtype>Storage, key, location, numel)` naming the member
//! `<archive>/data/<key>`: the raw little-endian elements. Floating tensors are returned as f32.

use crate::pickle::{self, Value};
use crate::zip;

/// The element types of a stored tensor plec can read, by their legacy storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    F16,
    BF16,
}

impl Dtype {
    fn from_storage(name: &str) -> Option<Dtype> {
        match name {
            "FloatStorage" => Some(Dtype::F32),
            "DoubleStorage" => Some(Dtype::F64),
            "HalfStorage" => Some(Dtype::F16),
            "BFloat16Storage" => Some(Dtype::BF16),
            _ => None,
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }

    fn to_f32(self, raw: &[u8]) -> f32 {
        match self {
            Dtype::F32 => f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
            Dtype::F64 => f64::from_le_bytes([raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]]) as f32,
            Dtype::F16 => f16_to_f32(u16::from_le_bytes([raw[0], raw[1]])),
            Dtype::BF16 => f32::from_bits(u32::from(u16::from_le_bytes([raw[0], raw[1]])) << 16),
        }
    }
}

/// IEEE half to single precision (exact: every half is a float).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        (0, m) => {
            // Subnormal: m * 2^-24, exact in f32.
            let value = m as f32 * 2f32.powi(-24);
            return if sign != 0 { -value } else { value };
        }
        (0x1f, m) => 0x7f80_0000 | (m << 13),
        (e, m) => ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// A dense row-major tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads the tensor saved in `archive` (the bytes of one `torch.save` output).
pub fn read_tensor(archive: &[u8]) -> Result<Tensor, String> {
    let members = zip::entries(archive).map_err(|e| e.to_string())?;
    let member = |suffix: &str| members.iter().find(|m| m.name.ends_with(suffix));
    let pickle_entry = member("/data.pkl").ok_or("no data.pkl member")?;
    let prefix = pickle_entry.name.trim_end_matches("data.pkl");
    if let Some(order) = member("/byteorder") {
        let text = &archive[order.data_start..order.data_start + order.size];
        if text != b"little" {
            return Err(format!(
                "byte order `{}`; only little-endian archives are read",
                String::from_utf8_lossy(text)
            ));
        }
    }
    let pickled = pickle_entry.checked_data(archive).map_err(|e| e.to_string())?;
    let root = pickle::parse(pickled).map_err(|e| format!("data.pkl: {e}"))?;
    let Value::Object { callable, args, .. } = &root else {
        return Err("data.pkl does not hold a tensor".into());
    };
    if callable.global() != Some(("torch._utils", "_rebuild_tensor_v2")) {
        return Err(format!("data.pkl holds {callable:?}, not a plain tensor (_rebuild_tensor_v2)"));
    }
    let bad = |what: &str| format!("data.pkl: _rebuild_tensor_v2 with an unexpected {what}");
    let [storage, offset, size, stride, ..] = &args[..] else { return Err(bad("argument list")) };
    let Value::PersistentId(id) = storage else { return Err(bad("storage")) };
    let id = id.items().ok_or_else(|| bad("storage id"))?;
    let [_, class, key, _location, _numel] = id else { return Err(bad("storage id")) };
    let class = class.global().map(|(_, name)| name).ok_or_else(|| bad("storage class"))?;
    let dtype = Dtype::from_storage(class)
        .ok_or_else(|| format!("tensor of {class}: only float32, float64, float16 and bfloat16 tensors are read"))?;
    let key = key.as_str().ok_or_else(|| bad("storage key"))?;
    let ints = |v: &Value, what: &str| -> Result<Vec<usize>, String> {
        v.items()
            .ok_or_else(|| bad(what))?
            .iter()
            .map(|x| x.as_int().and_then(|i| usize::try_from(i).ok()).ok_or_else(|| bad(what)))
            .collect()
    };
    let shape = ints(size, "size")?;
    let stride = ints(stride, "stride")?;
    let offset = offset.as_int().and_then(|i| usize::try_from(i).ok()).ok_or_else(|| bad("storage offset"))?;
    if stride.len() != shape.len() {
        return Err(bad("stride"));
    }
    let data = member(&format!("{prefix}data/{key}")).ok_or_else(|| format!("no storage member data/{key}"))?;
    let storage = data.checked_data(archive).map_err(|e| e.to_string())?;
    let held = storage.len() / dtype.size();
    // The view may not claim more elements than its storage holds, nor reach past it; checked before allocating.
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= held.max(1));
    let count =
        count.ok_or_else(|| format!("the tensor's shape {shape:?} claims more elements than its storage's {held}"))?;
    let last = shape
        .iter()
        .zip(&stride)
        .try_fold(offset, |last, (&n, &s)| last.checked_add(n.saturating_sub(1).checked_mul(s)?));
    if count > 0 && last.is_none_or(|last| last >= held) {
        return Err(format!("the tensor view reaches past the {held} elements its storage holds"));
    }
    let contiguous = shape
        .iter()
        .zip(&stride)
        .rev()
        .try_fold(1usize, |expected, (&n, &s)| (n <= 1 || s == expected).then_some(expected * n));
    if contiguous.is_some() {
        let bytes = &storage[offset * dtype.size()..(offset + count) * dtype.size()];
        let values = bytes.chunks_exact(dtype.size()).map(|raw| dtype.to_f32(raw)).collect();
        return Ok(Tensor { dtype, shape, values });
    }
    let mut values = Vec::with_capacity(count);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..count {
        let element = offset + index.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>();
        let at = element * dtype.size();
        values.push(dtype.to_f32(&storage[at..at + dtype.size()]));
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(Tensor { dtype, shape, values })
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_values_convert_exactly() {
        // Bit patterns from the IEEE 754 binary16 definition.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
