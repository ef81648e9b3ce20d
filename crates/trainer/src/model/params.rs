//! Creating the model's tensors from `ModelSpec::params()`: every tensor the model builds must be a parameter the
//! spec names (with its shape), and every parameter the spec names must be built, so the names cannot diverge.
//!
//! Experts of one kind are stored as one stacked tensor (a "bank", `[experts, ...]`) so that a layer's experts run
//! as one batched matmul; each expert's named parameter is a view into its bank, registered in the `VarStore`
//! under its own name, so checkpoints and the ONNX compiler see one tensor per name.

use std::collections::BTreeMap;

use plec_spec::artifact::names::{Param, ParamKind};
use tch::{nn, Device, Kind, Tensor};

use crate::error::{alloc_err, Result, TrainError};

/// Hands out the spec's parameters, one name at a time, and checks at the end that none was left over.
pub struct ParamFactory {
    expected: BTreeMap<String, Param>,
    vs: nn::VarStore,
}

impl ParamFactory {
    pub fn new(params: Vec<Param>, device: Device) -> Self {
        let expected = params.into_iter().map(|p| (p.name.clone(), p)).collect();
        ParamFactory { expected, vs: nn::VarStore::new(device) }
    }

    fn take(&mut self, name: &str) -> Result<Param> {
        self.expected
            .remove(name)
            .ok_or_else(|| TrainError::Naming(format!("the model builds `{name}`, which ModelSpec::params() lacks")))
    }

    /// Stacks the parameters `names` (one per expert, equal shapes) into one bank tensor `[names.len(), ...shape]`,
    /// initialised per kind, and registers each slice under its own name. Returns the bank.
    pub fn bank(&mut self, names: &[String]) -> Result<Tensor> {
        let mut params = Vec::with_capacity(names.len());
        for name in names {
            params.push(self.take(name)?);
        }
        let Some(first) = params.first() else {
            return Err(TrainError::Naming("an empty parameter bank".into()));
        };
        if let Some(odd) = params.iter().find(|p| p.shape != first.shape || p.kind != first.kind) {
            return Err(TrainError::Naming(format!("`{}` and `{}` differ in shape or kind", first.name, odd.name)));
        }
        let mut dims = vec![params.len() as i64];
        dims.extend(first.shape.iter().map(|&d| d as i64));
        let what = || format!("the bank of {} experts holding `{}`", params.len(), first.name);
        let device = self.vs.device();
        let bank = Tensor::f_empty(dims.as_slice(), (Kind::Float, device))
            .and_then(|bank| tch::no_grad(|| init(&bank, first)).map(|_| bank))
            .map_err(|e| alloc_err(what(), &dims, device, e))?;
        let bank = if first.kind.is_trainable() { bank.f_set_requires_grad(true)? } else { bank };
        for (e, param) in params.iter().enumerate() {
            self.register(&param.name, bank.f_select(0, e as i64)?);
        }
        Ok(bank)
    }

    /// One parameter on its own (embedding tables, gates, tower heads). Embedding tables are not autograd leaves:
    /// the trainer gathers the rows a batch touches and updates them itself.
    pub fn single(&mut self, name: &str) -> Result<Tensor> {
        let param = self.take(name)?;
        let dims: Vec<i64> = param.shape.iter().map(|&d| d as i64).collect();
        let device = self.vs.device();
        // Embedding tables are the tensors a config makes huge (num_buckets, hash_bucket_size, embedding_dim).
        let tensor = Tensor::f_empty(dims.as_slice(), (Kind::Float, device))
            .and_then(|tensor| tch::no_grad(|| init(&tensor, &param)).map(|_| tensor))
            .map_err(|e| alloc_err(format!("parameter `{name}`"), &dims, device, e))?;
        let trainable = param.kind.is_trainable() && param.kind != ParamKind::Embedding;
        let tensor = if trainable { tensor.f_set_requires_grad(true)? } else { tensor };
        self.register(name, tensor.shallow_clone());
        Ok(tensor)
    }

    fn register(&self, name: &str, tensor: Tensor) {
        let mut parts: Vec<&str> = name.split('.').collect();
        let last = parts.pop().unwrap_or(name);
        let mut path = self.vs.root();
        for part in parts {
            path = path.sub(part);
        }
        // Registered as non-trainable: plec's own optimizers own the update, the VarStore is the name registry.
        let _ = path.add(last, tensor, false);
    }

    /// Checks that every spec parameter was built and returns the store of named tensors.
    pub fn finish(self) -> Result<nn::VarStore> {
        if let Some(name) = self.expected.keys().next() {
            return Err(TrainError::Naming(format!("ModelSpec::params() names `{name}`, which the model never built")));
        }
        Ok(self.vs)
    }
}

/// Initialisation per `ParamKind` (see `plec_spec::artifact::names`): PyTorch's Linear default, torchrec's embedding
/// default, norms at identity.
fn init(tensor: &Tensor, param: &Param) -> Result<Tensor, tch::TchError> {
    let mut t = tensor.shallow_clone();
    match param.kind {
        ParamKind::Embedding => {
            let bound = (1.0 / param.fan_in.max(1) as f64).sqrt();
            t.f_uniform_(-bound, bound)
        }
        ParamKind::LinearWeight | ParamKind::LinearBias => {
            let bound = 1.0 / (param.fan_in.max(1) as f64).sqrt();
            t.f_uniform_(-bound, bound)
        }
        ParamKind::NormWeight | ParamKind::RunningVar => t.f_fill_(1.0),
        ParamKind::NormBias | ParamKind::RunningMean => t.f_fill_(0.0),
    }
}
