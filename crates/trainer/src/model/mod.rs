//! The PLE, MMoE and DBMTL models (sections 1-5 of the semantics) on libtorch.

pub mod activation;
pub mod embedding;
pub mod extraction;
pub mod input;
pub mod mlp;
pub mod params;
pub mod sequence;
pub mod tower;

use std::collections::BTreeMap;

use plec_spec::artifact::names;
use plec_spec::{ModelSpec, OutputKind};
use tch::{nn, Device, Tensor};

use crate::error::{During, Result, TrainError};
use embedding::Embeddings;
pub use embedding::GatheredRows;
use extraction::CgcLayer;
pub use input::{EncodedFeature, FeatureInput, ModelInput, Targets};
use params::ParamFactory;
use sequence::SequenceEncoders;
use tower::Towers;

pub struct PleModel {
    pub spec: ModelSpec,
    device: Device,
    vs: nn::VarStore,
    embeddings: Embeddings,
    encoders: SequenceEncoders,
    /// DBMTL's bottom MLP (a bank of one).
    bottom: Option<mlp::MlpBank>,
    layers: Vec<CgcLayer>,
    towers: Towers,
}

/// What one forward pass produced.
pub struct Forward {
    /// `[batch, num_class]` per tower, in tower order.
    pub logits: Vec<Tensor>,
    /// The embedding rows the batch read (autograd leaves in training).
    pub gathered: GatheredRows,
}

impl PleModel {
    /// A freshly initialised model (uses tch's global RNG: seed it first for reproducible weights).
    pub fn new(spec: &ModelSpec, device: Device) -> Result<Self> {
        // Every spec the trainer builds a model for keeps the invariants the layers below rely on.
        spec.check()?;
        let mut factory = ParamFactory::new(spec.params(), device);
        let embeddings = Embeddings::new(&mut factory, spec)?;
        let encoders = SequenceEncoders::new(&mut factory, spec)?;
        let bottom = match &spec.bottom_mlp {
            Some(bottom) => Some(mlp::MlpBank::new(&mut factory, &[names::BOTTOM_MLP.to_string()], bottom)?),
            None => None,
        };
        let tower_names: Vec<String> = spec.towers.iter().map(|t| t.name.clone()).collect();
        let layers =
            spec.layers.iter().map(|layer| CgcLayer::new(&mut factory, layer, &tower_names)).collect::<Result<_>>()?;
        let towers = Towers::new(&mut factory, &spec.towers)?;
        let vs = factory.finish()?;
        Ok(PleModel { spec: spec.clone(), device, vs, embeddings, encoders, bottom, layers, towers })
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn forward(&self, input: &ModelInput, train: bool) -> Result<Forward> {
        let (features, gathered) = self.embeddings.forward(input, train)?;
        // The encoders' outputs follow the features in the group input (semantics section 2b).
        let group = if self.encoders.is_empty() {
            features
        } else {
            let mut parts = vec![features];
            parts.extend(self.encoders.forward(input, &gathered.rows, train)?);
            Tensor::f_cat(&parts, 1)?
        };
        let group = match &self.bottom {
            Some(bank) => bank.forward(&mlp::BankInput { groups: vec![(&group, 1)] }, train)?.f_select(0, 0)?,
            None => group,
        };
        let tasks = self.spec.towers.len();
        let mut xs: Vec<Tensor> = (0..tasks).map(|_| group.shallow_clone()).collect();
        let mut shared = group;
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.forward(&xs, &shared, i == 0, train)?;
            xs = out.tasks;
            if let Some(s) = out.shared {
                shared = s;
            }
        }
        let logits = self.towers.forward(&xs, train)?;
        Ok(Forward { logits, gathered })
    }

    /// The named outputs of section 5 from the towers' logits.
    pub fn outputs(&self, logits: &[Tensor]) -> Result<BTreeMap<String, Tensor>> {
        let mut out = BTreeMap::new();
        for (tower, logits) in self.spec.towers.iter().zip(logits) {
            for output in &tower.outputs {
                let value = match (output.kind, tower.num_class) {
                    (OutputKind::Logits, 1) | (OutputKind::Regression, _) => logits.f_squeeze_dim(1)?,
                    (OutputKind::Logits, _) => logits.shallow_clone(),
                    (OutputKind::Probs, 1) => logits.f_squeeze_dim(1)?.f_sigmoid()?,
                    (OutputKind::Probs, _) => logits.f_softmax(-1, None)?,
                    (OutputKind::Probs1, _) => logits.f_softmax(-1, None)?.f_select(1, 1)?,
                };
                out.insert(output.name.clone(), value);
            }
        }
        Ok(out)
    }

    /// Embedding tables, in `spec.tables` order.
    pub fn tables(&self) -> &[Tensor] {
        &self.embeddings.tables
    }

    /// Every trainable dense tensor (expert banks `[E, ...]`, gates, heads), in a fixed order.
    pub fn dense_trainable(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.encoders.trainable(&mut out);
        if let Some(bank) = &self.bottom {
            bank.trainable(&mut out);
        }
        for layer in &self.layers {
            layer.trainable(&mut out);
        }
        self.towers.trainable(&mut out);
        out
    }

    /// Every parameter and buffer by its `plec_spec::artifact::names` name (views into banks where banked).
    pub fn named_tensors(&self) -> BTreeMap<String, Tensor> {
        self.vs.variables().into_iter().collect()
    }

    /// Overwrites parameters from `tensors` (name -> values); every model parameter must be present with its shape.
    pub fn load_named(&self, tensors: &BTreeMap<String, Tensor>, source: &str) -> Result<()> {
        let mine = self.named_tensors();
        for (name, target) in &mine {
            let Some(value) = tensors.get(name) else {
                return Err(TrainError::Checkpoint {
                    path: source.into(),
                    message: format!("missing tensor `{name}`"),
                });
            };
            if value.size() != target.size() {
                return Err(TrainError::Checkpoint {
                    path: source.into(),
                    message: format!(
                        "tensor `{name}` has shape {:?}, the model expects {:?}",
                        value.size(),
                        target.size()
                    ),
                });
            }
            tch::no_grad(|| target.shallow_clone().f_copy_(&value.f_to_device(self.device)?))
                .during(|| format!("loading tensor `{name}` from {source}"))?;
        }
        if let Some(extra) = tensors.keys().find(|n| !mine.contains_key(*n)) {
            return Err(TrainError::Checkpoint {
                path: source.into(),
                message: format!("tensor `{extra}` is not a parameter of this model"),
            });
        }
        Ok(())
    }
}
