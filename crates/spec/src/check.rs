//! [`ModelSpec::check`]: the invariants every consumer of a spec relies on, checked on the spec alone (in the
//! spirit of naga's validator: the front end builds specs that pass, and the trainer, the compiler and hand-built
//! test specs are checked against the same rules instead of re-checking shapes piecemeal).
//!
//! - features sit side by side in the group input: offsets chain from 0 and the widths add up to `input_width`;
//! - an embedded feature names an existing table whose shape is `[transform rows, feature width]`; a dense one is
//!   `value_dim` wide;
//! - sequence groups: queries as above (with sequence tables), sequences side by side per position; encoders
//!   read an existing group, are its sequence width wide and follow the features in the group input;
//! - widths chain: group input -> layer 1 -> ... -> last layer -> every tower (and its MLP) -> head;
//! - a layer's experts all output the layer's `output_width` (gates mix them side by side);
//! - there is a tower, every layer has an expert, and every layer but the last has a shared gate;
//! - each tower's outputs are the ones its losses and class count produce ([`head_outputs`]);
//! - the model kind fits its parts: PLE has no bottom MLP, MMoE module or relation; MMoE is one MMoE layer; DBMTL
//!   has at most one; an MMoE layer has shared experts only and no shared gate; only MMoE layers have gate MLPs;
//!   a relation MLP reads its tower's task output and the relation outputs of earlier towers.

use crate::{
    head_outputs, EncoderKind, Encoding, Feature, LayerModule, Mlp, ModelKind, ModelSpec, SequenceEncoding,
    TableCollection,
};

/// A broken invariant of a [`ModelSpec`], naming where in the spec (`layers[1].task_expert.input_width`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("model spec {path}: {problem}")]
pub struct SpecError {
    pub path: String,
    pub problem: SpecProblem,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecProblem {
    #[error("is {found}, expected {expected}")]
    Width { expected: usize, found: usize },
    #[error("starts at column {found} of the group input, expected {expected}")]
    Offset { expected: usize, found: usize },
    #[error("refers to table {index}, the spec has {count}")]
    NoSuchTable { index: usize, count: usize },
    #[error("table `{table}` is [{rows}, {dim}], the feature needs [{need_rows}, {need_dim}]")]
    TableShape { table: String, rows: u64, dim: usize, need_rows: u64, need_dim: usize },
    #[error("is a {found:?} table, the feature needs a {expected:?} table (`{table}`)")]
    Collection { table: String, found: TableCollection, expected: TableCollection },
    #[error("refers to sequence group {index}, the spec has {count}")]
    NoSuchGroup { index: usize, count: usize },
    #[error("reads a query {query} wide and a sequence {sequence} wide: DIN needs 0 < query <= sequence")]
    Query { query: usize, sequence: usize },
    #[error("is {found}, expected {expected}: every layer but the last has a shared gate")]
    SharedGate { expected: bool, found: bool },
    #[error("are {found:?}, the tower's losses and {num_class} class(es) give {expected:?}")]
    Outputs { expected: Vec<String>, found: Vec<String>, num_class: usize },
    #[error("is empty: a tower needs at least one loss")]
    NoLoss,
    #[error("is empty: the model needs at least one task tower")]
    NoTowers,
    #[error("has no experts: a layer needs at least one task or shared expert")]
    NoExperts,
    #[error("does not fit a {kind:?} model: {why}")]
    Kind { kind: ModelKind, why: &'static str },
    #[error("names tower {found}, expected an earlier tower than {tower}")]
    Relation { tower: usize, found: usize },
}

fn fail<T>(path: impl Into<String>, problem: SpecProblem) -> Result<T, SpecError> {
    Err(SpecError { path: path.into(), problem })
}

fn width(path: impl Into<String>, expected: usize, found: usize) -> Result<(), SpecError> {
    if expected == found {
        Ok(())
    } else {
        fail(path, SpecProblem::Width { expected, found })
    }
}

fn check_mlp(path: &str, mlp: &Mlp, input: usize) -> Result<(), SpecError> {
    width(format!("{path}.input_width"), input, mlp.input_width)
}

impl ModelSpec {
    /// Checks the spec's invariants (see the module documentation); the first broken one is the error.
    pub fn check(&self) -> Result<(), SpecError> {
        self.check_features()?;
        self.check_kind()?;
        let width_after_layers = self.check_layers()?;
        self.check_towers(width_after_layers)
    }

    fn check_kind(&self) -> Result<(), SpecError> {
        let kind = self.kind;
        let bad = |path: String, why| fail(path, SpecProblem::Kind { kind, why });
        let mmoe_layers = self.layers.iter().filter(|l| l.module == LayerModule::Mmoe).count();
        match kind {
            ModelKind::Ple if self.bottom_mlp.is_some() => return bad("bottom_mlp".into(), "PLE has no bottom MLP"),
            ModelKind::Ple if mmoe_layers > 0 => return bad("layers".into(), "PLE layers are extraction networks"),
            ModelKind::Mmoe if self.layers.len() != 1 || mmoe_layers != 1 => {
                return bad("layers".into(), "MMoE is one MMoE module")
            }
            ModelKind::Mmoe if self.bottom_mlp.is_some() => return bad("bottom_mlp".into(), "MMoE has no bottom MLP"),
            ModelKind::Dbmtl if self.layers.len() > 1 || mmoe_layers != self.layers.len() => {
                return bad("layers".into(), "DBMTL has at most one MMoE module")
            }
            _ => {}
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let path = format!("layers[{i}]");
            if layer.module == LayerModule::Mmoe && (layer.experts_per_task > 0 || layer.has_shared_gate) {
                return bad(path, "an MMoE module has shared experts only and no shared gate");
            }
            if layer.module == LayerModule::Ple && layer.gate_mlp.is_some() {
                return bad(format!("{path}.gate_mlp"), "only MMoE gates have an MLP");
            }
        }
        if kind != ModelKind::Dbmtl {
            if let Some(i) = self.towers.iter().position(|t| t.relation.is_some()) {
                return bad(format!("towers[{i}].relation"), "only DBMTL towers have relation MLPs");
            }
        }
        Ok(())
    }

    fn check_features(&self) -> Result<(), SpecError> {
        let offset = self.check_placed("features", &self.features, TableCollection::Bag)?;
        let mut offset = offset;
        for (i, group) in self.sequence_groups.iter().enumerate() {
            let path = format!("sequence_groups[{i}]");
            let query = self.check_placed(&format!("{path}.query"), &group.query, TableCollection::Sequence)?;
            width(format!("{path}.query_width"), query, group.query_width)?;
            let mut position = 0;
            for (j, feature) in group.sequence.iter().enumerate() {
                let fpath = format!("{path}.sequence[{j}]");
                if feature.offset != position {
                    let problem = SpecProblem::Offset { expected: position, found: feature.offset };
                    return fail(format!("{fpath}.offset"), problem);
                }
                match &feature.encoding {
                    SequenceEncoding::Dense { .. } => width(format!("{fpath}.width"), 1, feature.width)?,
                    SequenceEncoding::Embedding { table, transform } => {
                        self.check_table(&fpath, *table, transform.rows(), feature.width, TableCollection::Sequence)?
                    }
                }
                position += feature.width;
            }
            width(format!("{path}.sequence_width"), position, group.sequence_width)?;
        }
        for (i, encoder) in self.encoders.iter().enumerate() {
            let path = format!("encoders[{i}]");
            let Some(group) = self.sequence_groups.get(encoder.input) else {
                let problem = SpecProblem::NoSuchGroup { index: encoder.input, count: self.sequence_groups.len() };
                return fail(format!("{path}.input"), problem);
            };
            if encoder.offset != offset {
                return fail(format!("{path}.offset"), SpecProblem::Offset { expected: offset, found: encoder.offset });
            }
            width(format!("{path}.width"), group.sequence_width, encoder.width)?;
            match &encoder.kind {
                EncoderKind::Din { mlp } => {
                    check_mlp(&format!("{path}.kind.mlp"), mlp, 4 * group.sequence_width)?;
                    if group.query_width > group.sequence_width || group.query_width == 0 {
                        let problem = SpecProblem::Query { query: group.query_width, sequence: group.sequence_width };
                        return fail(format!("{path}.kind"), problem);
                    }
                }
                EncoderKind::SimpleAttention => width(
                    format!("sequence_groups[{}].query_width", encoder.input),
                    group.sequence_width,
                    group.query_width,
                )?,
                EncoderKind::Pooling { .. } => {}
            }
            offset += encoder.width;
        }
        width("input_width", offset, self.input_width)
    }

    /// Features side by side from column 0, each embedded one reading a `collection` table of its shape; returns
    /// their total width.
    fn check_placed(&self, path: &str, features: &[Feature], collection: TableCollection) -> Result<usize, SpecError> {
        let mut offset = 0;
        for (i, feature) in features.iter().enumerate() {
            let path = format!("{path}[{i}]");
            if feature.offset != offset {
                return fail(format!("{path}.offset"), SpecProblem::Offset { expected: offset, found: feature.offset });
            }
            match &feature.encoding {
                Encoding::Dense { value_dim, .. } => width(format!("{path}.width"), *value_dim, feature.width)?,
                Encoding::Embedding { table, transform, .. } => {
                    self.check_table(&path, *table, transform.rows(), feature.width, collection)?
                }
            }
            offset += feature.width;
        }
        Ok(offset)
    }

    fn check_table(
        &self,
        path: &str,
        table: usize,
        need_rows: u64,
        need_dim: usize,
        collection: TableCollection,
    ) -> Result<(), SpecError> {
        let Some(t) = self.tables.get(table) else {
            let problem = SpecProblem::NoSuchTable { index: table, count: self.tables.len() };
            return fail(format!("{path}.encoding.table"), problem);
        };
        if t.rows != need_rows || t.dim != need_dim {
            let problem =
                SpecProblem::TableShape { table: t.name.clone(), rows: t.rows, dim: t.dim, need_rows, need_dim };
            return fail(format!("{path}.encoding.table"), problem);
        }
        if t.collection != collection {
            let problem = SpecProblem::Collection { table: t.name.clone(), found: t.collection, expected: collection };
            return fail(format!("{path}.encoding.table"), problem);
        }
        Ok(())
    }

    /// Returns the width the towers read.
    fn check_layers(&self) -> Result<usize, SpecError> {
        let mut input = self.input_width;
        if let Some(bottom) = &self.bottom_mlp {
            check_mlp("bottom_mlp", bottom, input)?;
            input = bottom.output_width();
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let path = format!("layers[{i}]");
            width(format!("{path}.input_width"), input, layer.input_width)?;
            if let Some(gate_mlp) = &layer.gate_mlp {
                check_mlp(&format!("{path}.gate_mlp"), gate_mlp, input)?;
            }
            if layer.experts_per_task + layer.shared_experts == 0 {
                return fail(path, SpecProblem::NoExperts);
            }
            check_mlp(&format!("{path}.task_expert"), &layer.task_expert, input)?;
            check_mlp(&format!("{path}.shared_expert"), &layer.shared_expert, input)?;
            if layer.experts_per_task > 0 {
                width(
                    format!("{path}.task_expert.output_width"),
                    layer.output_width,
                    layer.task_expert.output_width(),
                )?;
            }
            if layer.shared_experts > 0 {
                let found = layer.shared_expert.output_width();
                width(format!("{path}.shared_expert.output_width"), layer.output_width, found)?;
            }
            let expected = i + 1 < self.layers.len();
            if layer.has_shared_gate != expected {
                let problem = SpecProblem::SharedGate { expected, found: layer.has_shared_gate };
                return fail(format!("{path}.has_shared_gate"), problem);
            }
            input = layer.output_width;
        }
        Ok(input)
    }

    fn check_towers(&self, input: usize) -> Result<(), SpecError> {
        if self.towers.is_empty() {
            return fail("towers", SpecProblem::NoTowers);
        }
        for (i, tower) in self.towers.iter().enumerate() {
            let path = format!("towers[{i}]");
            width(format!("{path}.input_width"), input, tower.input_width)?;
            if let Some(mlp) = &tower.mlp {
                check_mlp(&format!("{path}.mlp"), mlp, input)?;
            }
            if let Some(relation) = &tower.relation {
                let mut reads = tower.task_output_width();
                for &other in &relation.towers {
                    if other >= i {
                        return fail(
                            format!("{path}.relation.towers"),
                            SpecProblem::Relation { tower: i, found: other },
                        );
                    }
                    // An earlier tower's relation output is what its own head reads.
                    reads += self.towers[other].head_input_width();
                }
                check_mlp(&format!("{path}.relation.mlp"), &relation.mlp, reads)?;
            }
            if tower.losses.is_empty() {
                return fail(format!("{path}.losses"), SpecProblem::NoLoss);
            }
            let expected = head_outputs(&tower.name, tower.num_class, &tower.losses);
            if expected != tower.outputs {
                let names = |outputs: &[crate::Output]| outputs.iter().map(|o| o.name.clone()).collect();
                let problem = SpecProblem::Outputs {
                    expected: names(&expected),
                    found: names(&tower.outputs),
                    num_class: tower.num_class,
                };
                return fail(format!("{path}.outputs"), problem);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{build, dense, id, layer, tower, Head};
    use crate::{Loss, ModelSpec, Transform};

    use super::{SpecError, SpecProblem};

    /// Two layers, two towers (one with an MLP), an id, a dense and a table-sharing feature: every invariant
    /// has something to break.
    fn good() -> ModelSpec {
        build(
            &[id("user", 10, 4), dense("price", 2, 0.0), id("clicks", 10, 4).table("user_emb")],
            &[layer("l1", 2, 1, &[8, 6]), layer("l2", 1, 1, &[5])],
            &[tower("ctr", &[3], Head::Binary), tower("kind", &[], Head::Softmax(2))],
        )
    }

    fn broken(edit: impl FnOnce(&mut ModelSpec)) -> SpecError {
        let mut spec = good();
        edit(&mut spec);
        spec.check().expect_err("the broken spec passed")
    }

    fn at(path: &str, problem: SpecProblem) -> SpecError {
        SpecError { path: path.into(), problem }
    }

    #[test]
    fn the_builders_spec_passes() {
        assert_eq!(good().check(), Ok(()));
    }

    #[test]
    fn a_feature_off_its_offset() {
        let error = broken(|s| s.features[1].offset = 3);
        assert_eq!(error, at("features[1].offset", SpecProblem::Offset { expected: 4, found: 3 }));
    }

    #[test]
    fn a_dense_feature_of_the_wrong_width() {
        let error = broken(|s| s.features[1].width = 1);
        assert_eq!(error, at("features[1].width", SpecProblem::Width { expected: 2, found: 1 }));
    }

    #[test]
    fn group_input_width_not_the_sum_of_the_features() {
        let error = broken(|s| s.input_width = 11);
        assert_eq!(error, at("input_width", SpecProblem::Width { expected: 10, found: 11 }));
    }

    #[test]
    fn a_table_index_past_the_tables() {
        let error = broken(|s| {
            if let crate::Encoding::Embedding { table, .. } = &mut s.features[2].encoding {
                *table = 5;
            }
        });
        assert_eq!(error, at("features[2].encoding.table", SpecProblem::NoSuchTable { index: 5, count: 1 }));
    }

    #[test]
    fn a_table_that_does_not_fit_its_feature() {
        let error = broken(|s| {
            if let crate::Encoding::Embedding { transform, .. } = &mut s.features[2].encoding {
                *transform = Transform::NumBuckets(12);
            }
        });
        let problem =
            SpecProblem::TableShape { table: "user_emb".into(), rows: 10, dim: 4, need_rows: 12, need_dim: 4 };
        assert_eq!(error, at("features[2].encoding.table", problem));
    }

    #[test]
    fn a_layer_reading_the_wrong_width() {
        let error = broken(|s| s.layers[1].input_width = 7);
        assert_eq!(error, at("layers[1].input_width", SpecProblem::Width { expected: 6, found: 7 }));
    }

    #[test]
    fn an_expert_reading_the_wrong_width() {
        let error = broken(|s| s.layers[0].shared_expert.input_width = 9);
        assert_eq!(error, at("layers[0].shared_expert.input_width", SpecProblem::Width { expected: 10, found: 9 }));
    }

    #[test]
    fn experts_not_producing_the_layers_width() {
        let error = broken(|s| s.layers[0].task_expert.layers[1].units = 7);
        assert_eq!(error, at("layers[0].task_expert.output_width", SpecProblem::Width { expected: 6, found: 7 }));
    }

    #[test]
    fn a_shared_gate_on_the_last_layer_or_missing_before_it() {
        let error = broken(|s| s.layers[1].has_shared_gate = true);
        assert_eq!(error, at("layers[1].has_shared_gate", SpecProblem::SharedGate { expected: false, found: true }));
        let error = broken(|s| s.layers[0].has_shared_gate = false);
        assert_eq!(error, at("layers[0].has_shared_gate", SpecProblem::SharedGate { expected: true, found: false }));
    }

    #[test]
    fn a_tower_reading_the_wrong_width() {
        let error = broken(|s| s.towers[1].input_width = 6);
        assert_eq!(error, at("towers[1].input_width", SpecProblem::Width { expected: 5, found: 6 }));
        let error = broken(|s| s.towers[0].mlp.as_mut().map_or((), |m| m.input_width = 6));
        assert_eq!(error, at("towers[0].mlp.input_width", SpecProblem::Width { expected: 5, found: 6 }));
    }

    #[test]
    fn head_outputs_that_do_not_follow_the_loss_and_classes() {
        let error = broken(|s| s.towers[0].outputs.clear());
        let expected = vec!["logits_ctr".to_string(), "probs_ctr".to_string()];
        assert_eq!(error, at("towers[0].outputs", SpecProblem::Outputs { expected, found: vec![], num_class: 1 }));
        // Three classes give no `probs1`: the 2-class outputs no longer fit.
        let error = broken(|s| s.towers[1].num_class = 3);
        assert!(matches!(&error.problem, SpecProblem::Outputs { num_class: 3, .. }), "{error}");
        assert_eq!(error.path, "towers[1].outputs");
    }

    #[test]
    fn no_towers_or_a_layer_without_experts() {
        assert_eq!(broken(|s| s.towers.clear()), at("towers", SpecProblem::NoTowers));
        let error = broken(|s| {
            s.layers[1].experts_per_task = 0;
            s.layers[1].shared_experts = 0;
        });
        assert_eq!(error, at("layers[1]", SpecProblem::NoExperts));
    }

    #[test]
    fn a_tower_without_a_loss() {
        let error = broken(|s| s.towers[1].losses = Vec::<Loss>::new());
        assert_eq!(error, at("towers[1].losses", SpecProblem::NoLoss));
    }

    #[test]
    fn the_message_names_the_path_and_what_was_expected() {
        let error = broken(|s| s.layers[1].input_width = 7);
        assert_eq!(error.to_string(), "model spec layers[1].input_width: is 7, expected 6");
    }

    fn catalog_spec(name: &str) -> ModelSpec {
        crate::testing::catalog().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).expect("a catalog spec")
    }

    #[test]
    fn dbmtl_parameters_by_hand() {
        // Input 4 + 1 + 3 = 8; bottom [10]: 90; two experts [6]: 2 x 66; three gates 10 -> 2: 3 x 22;
        // ctr: MLP [4] on 6 (28) + head 5; cvr: MLP [3] (21), relation on 3 + ctr's 4 -> 5 (40), head 6;
        // ltv: relation on its 6 + ctr's 4 + cvr's relation 5 -> 3 (48), head 4.
        let spec = catalog_spec("dbmtl");
        assert_eq!(spec.dense_param_count(), 90 + 132 + 66 + 28 + 5 + 21 + 40 + 6 + 48 + 4);
        // MMoE: 3 experts [8, 4] on 8 (72 + 36 each), gate MLPs [6] (54 each) and gates 6 -> 3 (21 each).
        let spec = catalog_spec("mmoe_gate_mlp");
        assert_eq!(spec.dense_param_count(), 3 * 108 + 2 * (54 + 21) + (20 + 5) + 5);
    }

    #[test]
    fn a_relation_to_a_later_tower_or_outside_dbmtl() {
        let mut spec = catalog_spec("dbmtl");
        if let Some(relation) = spec.towers[1].relation.as_mut() {
            relation.towers = vec![2];
        }
        assert_eq!(spec.check(), Err(at("towers[1].relation.towers", SpecProblem::Relation { tower: 1, found: 2 })));
        let mut spec = catalog_spec("dbmtl");
        spec.kind = crate::ModelKind::Ple;
        let error = spec.check().expect_err("a PLE with a bottom MLP passed");
        assert_eq!(error.to_string(), "model spec bottom_mlp: does not fit a Ple model: PLE has no bottom MLP");
        let mut spec = catalog_spec("mmoe_gate_mlp");
        spec.layers[0].experts_per_task = 1;
        assert_eq!(spec.check().map_err(|e| e.path), Err("layers[0]".to_string()));
    }
}
