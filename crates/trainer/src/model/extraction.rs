//! One extraction layer (CGC, section 4): task and shared experts, softmax task gates over [own..., shared...], and
//! (except at the last layer) a shared gate over [task 0's..., task 1's..., ..., shared...]. An MMoE module
//! (section 4b) is such a layer with shared experts only, no shared gate and optionally a gate MLP per task.

use plec_spec::artifact::names;
use plec_spec::{ExtractionLayer, Mlp};
use tch::{TchError, Tensor};

use super::mlp::{BankInput, MlpBank};
use super::params::ParamFactory;
use crate::error::Result;

/// How a layer's experts are banked: all together when task and shared experts have the same MLP (one batched
/// matmul per Linear), otherwise a task bank and a shared bank.
enum Experts {
    One(MlpBank),
    Split { task: Option<MlpBank>, shared: Option<MlpBank> },
}

struct Gate {
    /// MMoE's gate MLP, read before the final Linear.
    mlp: Option<MlpBank>,
    weight: Tensor,
    bias: Tensor,
}

impl Gate {
    fn new(factory: &mut ParamFactory, prefix: &str, mlp: Option<&Mlp>) -> Result<Self> {
        let mlp = match mlp {
            Some(mlp) => Some(MlpBank::new(factory, &[prefix.to_string()], mlp)?),
            None => None,
        };
        Ok(Gate { mlp, weight: factory.single(&names::weight(prefix))?, bias: factory.single(&names::bias(prefix))? })
    }

    /// `softmax(mlp(x) W^T + b)` (or of `x` without a gate MLP), `[batch, experts]`.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let hidden = match &self.mlp {
            Some(bank) => bank.forward(&BankInput { groups: vec![(x, 1)] }, train)?.f_select(0, 0)?,
            None => x.shallow_clone(),
        };
        Ok(self.bias.f_unsqueeze(0)?.f_addmm(&hidden, &self.weight.f_transpose(0, 1)?)?.f_softmax(-1, None)?)
    }

    fn trainable(&self, out: &mut Vec<Tensor>) {
        if let Some(bank) = &self.mlp {
            bank.trainable(out);
        }
        out.push(self.weight.shallow_clone());
        out.push(self.bias.shallow_clone());
    }
}

pub struct CgcLayer {
    tasks: usize,
    per_task: usize,
    shared: usize,
    experts: Experts,
    task_gates: Vec<Gate>,
    shared_gate: Option<Gate>,
}

/// The outputs of a layer: one per task, and the shared vector for the next layer (absent at the last).
pub struct LayerOutput {
    pub tasks: Vec<Tensor>,
    pub shared: Option<Tensor>,
}

impl CgcLayer {
    pub fn new(factory: &mut ParamFactory, layer: &ExtractionLayer, towers: &[String]) -> Result<Self> {
        let task_modules: Vec<String> = towers
            .iter()
            .flat_map(|t| (0..layer.experts_per_task).map(move |e| layer.task_expert_module(t, e)))
            .collect();
        let shared_modules: Vec<String> = (0..layer.shared_experts).map(|e| layer.shared_expert_module(e)).collect();
        // Parameters are created in spec order (task experts, shared experts, gates) whichever way they are banked.
        let experts =
            if layer.task_expert == layer.shared_expert && !task_modules.is_empty() && !shared_modules.is_empty() {
                let all: Vec<String> = task_modules.iter().chain(&shared_modules).cloned().collect();
                Experts::One(MlpBank::new(factory, &all, &layer.task_expert)?)
            } else {
                let task = if task_modules.is_empty() {
                    None
                } else {
                    Some(MlpBank::new(factory, &task_modules, &layer.task_expert)?)
                };
                let shared = if shared_modules.is_empty() {
                    None
                } else {
                    Some(MlpBank::new(factory, &shared_modules, &layer.shared_expert)?)
                };
                Experts::Split { task, shared }
            };
        let task_gates = towers
            .iter()
            .map(|t| Gate::new(factory, &layer.task_gate_module(t), layer.gate_mlp.as_ref()))
            .collect::<Result<_>>()?;
        let shared_gate =
            if layer.has_shared_gate { Some(Gate::new(factory, &layer.shared_gate_module(), None)?) } else { None };
        Ok(CgcLayer {
            tasks: towers.len(),
            per_task: layer.experts_per_task,
            shared: layer.shared_experts,
            experts,
            task_gates,
            shared_gate,
        })
    }

    pub fn trainable(&self, out: &mut Vec<Tensor>) {
        match &self.experts {
            Experts::One(bank) => bank.trainable(out),
            Experts::Split { task, shared } => {
                for bank in [task, shared].into_iter().flatten() {
                    bank.trainable(out);
                }
            }
        }
        for gate in self.task_gates.iter().chain(&self.shared_gate) {
            gate.trainable(out);
        }
    }

    /// `tasks[t]` = x_t, `shared` = s; `same_input` when they are all one tensor (the first layer), so each Linear
    /// of the first MLP layer is a single wide matmul.
    pub fn forward(&self, tasks: &[Tensor], shared: &Tensor, same_input: bool, train: bool) -> Result<LayerOutput> {
        let task_groups = || -> Vec<(&Tensor, usize)> { tasks.iter().map(|x| (x, self.per_task)).collect() };
        // `[task 0's..., task 1's..., shared...]`, each `[batch, width]` along dim 0.
        let outputs = match &self.experts {
            Experts::One(bank) => {
                let groups = if same_input {
                    vec![(shared, self.tasks * self.per_task + self.shared)]
                } else {
                    let mut g = task_groups();
                    g.push((shared, self.shared));
                    g
                };
                bank.forward(&BankInput { groups }, train)?
            }
            Experts::Split { task, shared: shared_bank } => {
                let mut parts = Vec::new();
                if let Some(bank) = task {
                    let groups = if same_input { vec![(shared, self.tasks * self.per_task)] } else { task_groups() };
                    parts.push(bank.forward(&BankInput { groups }, train)?);
                }
                if let Some(bank) = shared_bank {
                    parts.push(bank.forward(&BankInput { groups: vec![(shared, self.shared)] }, train)?);
                }
                Tensor::f_cat(&parts, 0)?
            }
        };
        let shared_start = (self.tasks * self.per_task) as i64;
        let mut ys = Vec::with_capacity(self.tasks);
        for (t, (x, gate)) in tasks.iter().zip(&self.task_gates).enumerate() {
            let g = gate.forward(x, train)?;
            let (own, shared_n) = (self.per_task as i64, self.shared as i64);
            // Own experts and shared experts mixed separately: no copy of the selected expert outputs.
            let mut y: Option<Tensor> = None;
            if own > 0 {
                y = Some(mix(&outputs.f_narrow(0, t as i64 * own, own)?, &g.f_narrow(1, 0, own)?)?);
            }
            if shared_n > 0 {
                let part = mix(&outputs.f_narrow(0, shared_start, shared_n)?, &g.f_narrow(1, own, shared_n)?)?;
                y = Some(match y {
                    Some(y) => y.f_add(&part)?,
                    None => part,
                });
            }
            ys.push(y.ok_or_else(|| crate::error::TrainError::Config("an extraction layer without experts".into()))?);
        }
        let shared_next = match &self.shared_gate {
            Some(gate) => Some(mix(&outputs, &gate.forward(shared, train)?)?),
            None => None,
        };
        Ok(LayerOutput { tasks: ys, shared: shared_next })
    }
}

/// `sum_e gate[:, e] * experts[e]`: experts `[E, batch, width]`, gate `[batch, E]` -> `[batch, width]`.
fn mix(experts: &Tensor, gate: &Tensor) -> Result<Tensor, TchError> {
    experts.f_mul(&gate.f_transpose(0, 1)?.f_unsqueeze(-1)?)?.f_sum_dim_intlist(0, false, None)
}
