//! Activations of `plec_config::spec::Activation`, with PyTorch's definitions.

use plec_config::spec::Activation;
use tch::Tensor;

pub fn apply(activation: Activation, x: &Tensor) -> Tensor {
    match activation {
        Activation::Identity => x.shallow_clone(),
        Activation::Relu => x.relu(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => x.gelu("none"),
        Activation::Silu => x.silu(),
        Activation::LeakyRelu { negative_slope } => x.where_self(&x.gt(0.0), &(x * negative_slope as f64)),
        // alpha * (exp(x) - 1) below zero; expm1 keeps precision near 0.
        Activation::Elu { alpha } => x.where_self(&x.gt(0.0), &(x.expm1() * alpha as f64)),
    }
}
