//! Test specs of the MMoE and DBMTL kinds (semantics section 4b), built on [`super::build`]'s features and
//! towers.

use super::{build, dense, hash, id, layer, mlp, tower, FeatureDef, Head, TowerDef};
use crate::{Activation, LayerModule, ModelKind, ModelSpec, Norm, Relation};

/// MMoE's module: `experts` experts of `units` and, optionally, a gate MLP of `gate_units` per task.
#[derive(Debug, Clone)]
pub struct MmoeDef {
    pub experts: usize,
    pub units: Vec<usize>,
    pub gate_units: Option<Vec<usize>>,
    pub norm: Norm,
}

pub fn mmoe_module(experts: usize, units: &[usize], gate_units: Option<&[usize]>) -> MmoeDef {
    MmoeDef { experts, units: units.to_vec(), gate_units: gate_units.map(<[usize]>::to_vec), norm: Norm::None }
}

impl MmoeDef {
    pub fn norm(mut self, norm: Norm) -> Self {
        self.norm = norm;
        self
    }

    fn layer(&self, input_width: usize) -> crate::ExtractionLayer {
        let expert = mlp(input_width, &self.units, self.norm, Activation::Relu);
        crate::ExtractionLayer {
            name: "mmoe".into(),
            input_width,
            experts_per_task: 0,
            task_expert: crate::Mlp { input_width, layers: Vec::new() },
            shared_experts: self.experts,
            output_width: expert.output_width(),
            shared_expert: expert,
            has_shared_gate: false,
            gate_mlp: self.gate_units.as_ref().map(|u| mlp(input_width, u, self.norm, Activation::Relu)),
            module: LayerModule::Mmoe,
        }
    }
}

/// A DBMTL relation: tower `tower` reads the outputs of `related` (in order) through an MLP of `units`.
pub struct RelationDef<'a> {
    pub tower: &'a str,
    pub related: &'a [&'a str],
    pub units: &'a [usize],
}

pub fn relation<'a>(tower: &'a str, related: &'a [&'a str], units: &'a [usize]) -> RelationDef<'a> {
    RelationDef { tower, related, units }
}

/// An MMoE model; panics if it breaks an invariant.
pub fn mmoe(features: &[FeatureDef], module: MmoeDef, towers: &[TowerDef]) -> ModelSpec {
    dbmtl_like(ModelKind::Mmoe, features, None, Some(module), towers, &[])
}

/// A DBMTL model; panics if it breaks an invariant.
pub fn dbmtl(
    features: &[FeatureDef],
    bottom: Option<&[usize]>,
    module: Option<MmoeDef>,
    towers: &[TowerDef],
    relations: &[RelationDef],
) -> ModelSpec {
    dbmtl_like(ModelKind::Dbmtl, features, bottom, module, towers, relations)
}

fn dbmtl_like(
    kind: ModelKind,
    features: &[FeatureDef],
    bottom: Option<&[usize]>,
    module: Option<MmoeDef>,
    towers: &[TowerDef],
    relations: &[RelationDef],
) -> ModelSpec {
    // A one-layer PLE gives the features, settings and towers; the model part is replaced below.
    let mut spec = build(features, &[layer("l", 0, 1, &[1])], towers);
    spec.kind = kind;
    let mut width = spec.input_width;
    spec.bottom_mlp = bottom.map(|units| mlp(width, units, Norm::None, Activation::Relu));
    if let Some(bottom) = &spec.bottom_mlp {
        width = bottom.output_width();
    }
    spec.layers = module.iter().map(|m| m.layer(width)).collect();
    if let Some(layer) = spec.layers.first() {
        width = layer.output_width;
    }
    spec.towers = towers.iter().map(|t| t.build(width)).collect();
    for def in relations {
        let index = |name: &str| {
            spec.towers.iter().position(|t| t.name == name).unwrap_or_else(|| panic!("no tower `{name}` in the spec"))
        };
        let (own, related): (usize, Vec<usize>) = (index(def.tower), def.related.iter().map(|r| index(r)).collect());
        let reads = spec.towers[own].task_output_width()
            + related.iter().map(|&r| spec.towers[r].head_input_width()).sum::<usize>();
        let relation_mlp = mlp(reads, def.units, Norm::None, Activation::Relu);
        spec.towers[own].relation = Some(Relation { towers: related, mlp: relation_mlp });
    }
    if let Err(error) = spec.check() {
        panic!("the test spec is inconsistent: {error}");
    }
    spec
}

/// The catalog's MMoE and DBMTL specs (after [`super::catalog`]'s PLE ones).
pub fn family_catalog() -> Vec<(&'static str, ModelSpec)> {
    use Head::*;
    let simple = || vec![id("user_id", 10, 4), dense("score", 1, 0.0), hash("pid", 7, 3)];
    vec![
        (
            "dbmtl",
            dbmtl(
                &simple(),
                Some(&[10]),
                Some(mmoe_module(2, &[6], None)),
                &[tower("ctr", &[4], Binary), tower("cvr", &[3], Binary), tower("ltv", &[], Regression)],
                &[relation("cvr", &["ctr"], &[5]), relation("ltv", &["ctr", "cvr"], &[3])],
            ),
        ),
        (
            "mmoe_gate_mlp",
            mmoe(
                &simple(),
                mmoe_module(3, &[8, 4], Some(&[6])),
                &[tower("ctr", &[4], Binary), tower("cvr", &[], Binary)],
            ),
        ),
        (
            "dbmtl_bottom_only",
            dbmtl(
                &simple(),
                Some(&[8, 6]),
                None,
                &[tower("ctr", &[4], Softmax(2)), tower("cvr", &[4], Softmax(2))],
                &[relation("cvr", &["ctr"], &[4])],
            ),
        ),
    ]
}
