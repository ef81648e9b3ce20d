//! Activations of `plec_spec::Activation`, with PyTorch's definitions.

use plec_spec::Activation;
use tch::{TchError, Tensor};

pub fn apply(activation: Activation, x: &Tensor) -> Result<Tensor, TchError> {
    match activation {
        Activation::Identity => Ok(x.shallow_clone()),
        Activation::Relu => x.f_relu(),
        Activation::Sigmoid => x.f_sigmoid(),
        Activation::Tanh => x.f_tanh(),
        Activation::Gelu => x.f_gelu("none"),
        Activation::Silu => x.f_silu(),
        Activation::LeakyRelu { negative_slope } => {
            x.f_where_self(&x.f_gt(0.0)?, &x.f_mul_scalar(negative_slope as f64)?)
        }
        // alpha * (exp(x) - 1) below zero; expm1 keeps precision near 0.
        Activation::Elu { alpha } => x.f_where_self(&x.f_gt(0.0)?, &x.f_expm1()?.f_mul_scalar(alpha as f64)?),
    }
}
