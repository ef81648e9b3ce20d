//! Towers (section 5): an optional MLP per task, then Linear(num_class). When every tower has the same MLP they
//! run as one bank. DBMTL's relation MLPs (section 4b) sit between the two.

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

/// A DBMTL relation MLP and the towers whose relation outputs it reads after the tower's own task output.
struct RelationMlp {
    related: Vec<usize>,
    bank: MlpBank,
}

pub struct Towers {
    mlps: TowerMlps,
    relations: Vec<Option<RelationMlp>>,
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
        let relations = towers
            .iter()
            .map(|t| match &t.relation {
                Some(r) => Ok(Some(RelationMlp {
                    related: r.towers.clone(),
                    bank: MlpBank::new(factory, &[names::relation(&t.name)], &r.mlp)?,
                })),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        let heads = towers
            .iter()
            .map(|t| {
                let prefix = names::tower_output(&t.name);
                Ok((factory.single(&names::weight(&prefix))?, factory.single(&names::bias(&prefix))?))
            })
            .collect::<Result<_>>()?;
        Ok(Towers { mlps, relations, heads })
    }

    pub fn trainable(&self, out: &mut Vec<Tensor>) {
        match &self.mlps {
            TowerMlps::None => {}
            TowerMlps::Together(bank) => bank.trainable(out),
            TowerMlps::Each(banks) => banks.iter().flatten().for_each(|b| b.trainable(out)),
        }
        for relation in self.relations.iter().flatten() {
            relation.bank.trainable(out);
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
        let hidden = self.relate(hidden, train)?;
        let logits = hidden
            .iter()
            .zip(&self.heads)
            .map(|(h, (w, b))| b.f_unsqueeze(0)?.f_addmm(h, &w.f_transpose(0, 1)?))
            .collect::<Result<_, _>>()?;
        Ok(logits)
    }

    /// Each tower's relation output in tower order: its relation MLP over `[own task output, related towers'
    /// relation outputs...]` (TorchEasyRec's `torch.cat(..., dim=1)`), or its task output without one.
    fn relate(&self, task: Vec<Tensor>, train: bool) -> Result<Vec<Tensor>> {
        let mut out: Vec<Tensor> = Vec::with_capacity(task.len());
        for (own, relation) in task.into_iter().zip(&self.relations) {
            let Some(relation) = relation else {
                out.push(own);
                continue;
            };
            let mut parts = vec![own];
            for &r in &relation.related {
                let earlier = out.get(r).ok_or_else(|| {
                    crate::error::TrainError::Config(format!("a relation reads tower {r}, which is not an earlier one"))
                })?;
                parts.push(earlier.shallow_clone());
            }
            let input = Tensor::f_cat(&parts, 1)?;
            out.push(relation.bank.forward(&BankInput { groups: vec![(&input, 1)] }, train)?.f_select(0, 0)?);
        }
        Ok(out)
    }
}
