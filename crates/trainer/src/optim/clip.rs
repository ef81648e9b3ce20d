//! Gradient clipping of the dense gradients (`grad_clipping`), as `torch.nn.utils.clip_grad_norm_` /
//! `clip_grad_value_`.

use plec_spec::GradClipping;
use tch::{TchError, Tensor};

pub fn clip(params: &[Tensor], clipping: &GradClipping) -> Result<(), TchError> {
    let mut grads = Vec::with_capacity(params.len());
    for p in params {
        let g = p.f_grad()?;
        if g.defined() {
            grads.push(g);
        }
    }
    if grads.is_empty() {
        return Ok(());
    }
    tch::no_grad(|| match *clipping {
        GradClipping::Value { max_gradient } => {
            for g in &grads {
                let _ = g.shallow_clone().f_clamp_(-max_gradient as f64, max_gradient as f64)?;
            }
            Ok(())
        }
        GradClipping::Norm { max_gradient, norm_type } => {
            let p = norm_type as f64;
            let mut total = 0.0f64;
            for g in &grads {
                let abs = g.f_abs()?;
                if p.is_infinite() {
                    total = total.max(abs.f_max()?.f_double_value(&[])?);
                } else {
                    total += abs.f_pow_tensor_scalar(p)?.f_sum(tch::Kind::Double)?.f_double_value(&[])?;
                }
            }
            if !p.is_infinite() {
                total = total.powf(1.0 / p);
            }
            let coef = (max_gradient as f64 / (total + 1e-6)).min(1.0);
            for g in &grads {
                let _ = g.shallow_clone().f_mul_scalar_(coef)?;
            }
            Ok(())
        }
    })
}
