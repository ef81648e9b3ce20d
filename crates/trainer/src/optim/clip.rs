//! Gradient clipping of the dense gradients (`grad_clipping`), as `torch.nn.utils.clip_grad_norm_` /
//! `clip_grad_value_`.

use plec_config::spec::GradClipping;
use tch::Tensor;

pub fn clip(params: &[Tensor], clipping: &GradClipping) {
    let grads: Vec<Tensor> = params.iter().map(Tensor::grad).filter(Tensor::defined).collect();
    if grads.is_empty() {
        return;
    }
    tch::no_grad(|| match *clipping {
        GradClipping::Value { max_gradient } => {
            for g in &grads {
                let _ = g.shallow_clone().clamp_(-max_gradient as f64, max_gradient as f64);
            }
        }
        GradClipping::Norm { max_gradient, norm_type } => {
            let p = norm_type as f64;
            let total = if p.is_infinite() {
                grads.iter().map(|g| g.abs().max().double_value(&[])).fold(0.0, f64::max)
            } else {
                grads
                    .iter()
                    .map(|g| g.abs().pow_tensor_scalar(p).sum(tch::Kind::Double).double_value(&[]))
                    .sum::<f64>()
                    .powf(1.0 / p)
            };
            let coef = (max_gradient as f64 / (total + 1e-6)).min(1.0);
            for g in &grads {
                let _ = g.shallow_clone().g_mul_scalar_(coef);
            }
        }
    });
}
