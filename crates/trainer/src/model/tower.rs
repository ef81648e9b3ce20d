//! Towers (section 5): an optional MLP per task, then Linear(num_class). When every tower has the same MLP they
//! run as one bank.

use plec_spec::artifact::names;
use plec_spec::Tower;
use tch::Tensor;

use super::mlp::{BankInput, MlpBank};
use super::params::ParamFactory;
use crate::error::Result;

enum TowerMlps {
    None,
    /// One bank over all towers (identical MLP shapes).
    Together(MlpBank),
    /// One bank of one per tower (`None` = no MLP).
    Each(Vec<Option<MlpBank>>),
}

pub struct Towers {
    mlps: TowerMlps,
    heads: Vec<(Tensor, Tensor)>,
}

impl Towers {
    pub fn new(factory: &mut ParamFactory, towers: &[Tower]) -> Result<Self> {
        let first = towers.first().and_then(|t| t.mlp.as_ref());
        let mlps = if towers.iter().all(|t| t.mlp.is_none()) {
            TowerMlps::None
        } else if let (Some(mlp), true) = (first, towers.iter().all(|t| t.mlp.as_ref() == first)) {
            let modules: Vec<String> = towers.iter().map(|t| names::tower(&t.name)).collect();
            TowerMlps::Together(MlpBank::new(factory, &modules, mlp)?)
        } else {
            TowerMlps::Each(
                towers
                    .iter()
                    .map(|t| match &t.mlp {
                        Some(mlp) => MlpBank::new(factory, &[names::tower(&t.name)], mlp).map(Some),
                        None => Ok(None),
                    })
                    .collect::<Result<_>>()?,
            )
        };
        let heads = towers
            .iter()
            .map(|t| {
                let prefix = names::tower_output(&t.name);
                Ok((factory.single(&names::weight(&prefix))?, factory.single(&names::bias(&prefix))?))
            })
            .collect::<Result<_>>()?;
        Ok(Towers { mlps, heads })
    }

    pub fn trainable(&self, out: &mut Vec<Tensor>) {
        match &self.mlps {
            TowerMlps::None => {}
            TowerMlps::Together(bank) => bank.trainable(out),
            TowerMlps::Each(banks) => banks.iter().flatten().for_each(|b| b.trainable(out)),
        }
        for (w, b) in &self.heads {
            out.push(w.shallow_clone());
            out.push(b.shallow_clone());
        }
    }

    /// Logits `[batch, num_class]` per tower from the last layer's task outputs.
    pub fn forward(&self, inputs: &[Tensor], train: bool) -> Result<Vec<Tensor>> {
        let hidden: Vec<Tensor> = match &self.mlps {
            TowerMlps::None => inputs.iter().map(Tensor::shallow_clone).collect(),
            TowerMlps::Together(bank) => {
                let out = bank.forward(&BankInput { groups: inputs.iter().map(|x| (x, 1)).collect() }, train)?;
                (0..inputs.len() as i64).map(|t| out.f_select(0, t)).collect::<Result<_, _>>()?
            }
            TowerMlps::Each(banks) => inputs
                .iter()
                .zip(banks)
                .map(|(x, bank)| match bank {
                    Some(bank) => Ok(bank.forward(&BankInput { groups: vec![(x, 1)] }, train)?.f_select(0, 0)?),
                    None => Ok(x.shallow_clone()),
                })
                .collect::<Result<_>>()?,
        };
        let logits = hidden
            .iter()
            .zip(&self.heads)
            .map(|(h, (w, b))| b.f_unsqueeze(0)?.f_addmm(h, &w.f_transpose(0, 1)?))
            .collect::<Result<_, _>>()?;
        Ok(logits)
    }
}
