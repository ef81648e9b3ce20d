//! Single-id features looked up together (fused and wide layouts): a run of consecutive `num_buckets` features
//! with one id each, no default and tables of one width computes its rows with one set of ops instead of one per
//! feature (docs/semantics.md section 2 holds for each feature alike):
//!
//! ```text
//! ids [k, batch] = Concat(inputs) reshaped     valid = 0 <= ids < n          (n: each feature's buckets)
//! row = where(valid, ids + offset, zero_row)   Gather(joint table, row) [k, batch, dim] -> [batch, k * dim]
//! ```
//!
//! The joint table (`features.joint_<i>.table`) is the run's tables stacked in order of first use (a table read by
//! several features of the run appears once; `offset` is where each feature's table starts), plus one zero row
//! that every invalid id reads: a zero vector, as the per-feature mask gives. Few nodes matter at batch 1, where
//! a call costs about as much per node as per arithmetic (BENCHMARKS.md, issue 24).

use plec_spec::{EmbeddingTable, Encoding, Feature, ModelSpec, TableCollection, Transform};

use super::graph::{attr_int, attr_ints, i64_tensor, Dim, Graph};
use crate::error::CompileError;
use crate::weights::Tensor;
use onnx_protobuf::tensor_proto::DataType;

/// A feature's table and bucket count when it can join a run.
fn single_id(spec: &ModelSpec, feature: &Feature) -> Option<(usize, u64)> {
    match &feature.encoding {
        Encoding::Embedding { table, transform: Transform::NumBuckets(n), multi: None, default_value: None } => {
            Some((*table, *n))
        }
        _ => None,
    }
    .filter(|(table, _)| spec.tables.get(*table).is_some_and(|t| t.collection == TableCollection::Bag))
}

/// Runs of at least two consecutive features (index ranges into `spec.features`) that can be looked up together:
/// single ids, tables of one width, and every reader of their tables inside the run.
pub(crate) fn runs(spec: &ModelSpec) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < spec.features.len() {
        let mut end = start;
        while end < spec.features.len() && fits(spec, start, end) {
            end += 1;
        }
        // Drop features from the end until every table's readers are inside the run.
        while end > start && !closed(spec, start..end) {
            end -= 1;
        }
        if end - start >= 2 {
            runs.push(start..end);
            start = end;
        } else {
            start += 1;
        }
    }
    runs
}

/// Whether feature `i` can join the run starting at `start`.
fn fits(spec: &ModelSpec, start: usize, i: usize) -> bool {
    let dim = |i: usize| single_id(spec, &spec.features[i]).map(|(t, _)| spec.tables[t].dim);
    dim(i).is_some() && dim(i) == dim(start)
}

/// Whether every feature reading a table of `run` is in `run`.
fn closed(spec: &ModelSpec, run: std::ops::Range<usize>) -> bool {
    let names: Vec<&str> = spec.features[run.clone()].iter().map(|f| f.name.as_str()).collect();
    spec.features[run]
        .iter()
        .filter_map(|f| single_id(spec, f))
        .all(|(table, _)| spec.tables[table].features.iter().all(|reader| names.contains(&reader.as_str())))
}

/// Declares the inputs of the features `run` and returns their embeddings side by side, `[batch, k * dim]`.
pub(crate) fn lower_run(
    g: &mut Graph,
    spec: &ModelSpec,
    index: usize,
    run: std::ops::Range<usize>,
) -> Result<String, CompileError> {
    let p = format!("features.joint_{index}");
    let features = &spec.features[run];
    let mut tables: Vec<&EmbeddingTable> = Vec::new();
    let (mut offsets, mut buckets, mut inputs) = (Vec::new(), Vec::new(), Vec::new());
    for feature in features {
        let (table, n) = single_id(spec, feature)
            .ok_or_else(|| CompileError::Internal(format!("feature `{}` is not a single id", feature.name)))?;
        let table = &spec.tables[table];
        let position = match tables.iter().position(|t| t.name == table.name) {
            Some(i) => i,
            None => {
                tables.push(table);
                tables.len() - 1
            }
        };
        offsets.push(tables[..position].iter().map(|t| t.rows as i64).sum::<i64>());
        buckets.push(n as i64);
        if !g.has_input(&feature.name) {
            g.add_input(&feature.name, DataType::INT64, &[Dim::Named("batch")]);
        }
        inputs.push(feature.name.as_str());
    }
    let (k, dim) = (features.len(), tables[0].dim);
    let total: i64 = tables.iter().map(|t| t.rows as i64).sum();
    let table = joint_table(g, &format!("{p}.table"), &tables, total as usize, dim)?;

    let flat = g.node("Concat", &format!("{p}.ids_flat"), &inputs, vec![attr_int("axis", 0)]);
    let shape = g.ints(&[k as i64, -1]);
    let ids = g.node("Reshape", &format!("{p}.ids"), &[&flat, &shape], vec![]);
    let column =
        |g: &mut Graph, name: &str, values: &[i64]| g.constant(&format!("{p}.{name}"), i64_tensor(&[k, 1], values));
    let n = column(g, "buckets", &buckets);
    let offset = column(g, "offsets", &offsets);
    let zero = g.scalar_i64(0);
    let ge = g.node("GreaterOrEqual", &format!("{p}.ge0"), &[&ids, &zero], vec![]);
    let lt = g.node("Less", &format!("{p}.lt_n"), &[&ids, &n], vec![]);
    let valid = g.node("And", &format!("{p}.valid"), &[&ge, &lt], vec![]);
    let shifted = g.node("Add", &format!("{p}.shifted"), &[&ids, &offset], vec![]);
    let zero_row = g.scalar_i64(total);
    let rows = g.node("Where", &format!("{p}.row"), &[&valid, &shifted, &zero_row], vec![]);
    let emb = g.lookup(&format!("{p}.gather"), &table, &rows);
    let batch_first = g.node("Transpose", &format!("{p}.batch_first"), &[&emb], vec![attr_ints("perm", &[1, 0, 2])]);
    let side_by_side = g.ints(&[0, (k * dim) as i64]);
    Ok(g.node("Reshape", &p, &[&batch_first, &side_by_side], vec![]))
}

/// The run's tables stacked, plus one zero row, as the initializer `name` `[total + 1, dim]`.
fn joint_table(
    g: &mut Graph,
    name: &str,
    tables: &[&EmbeddingTable],
    total: usize,
    dim: usize,
) -> Result<String, CompileError> {
    let mut data = Vec::with_capacity((total + 1) * dim * 4);
    for table in tables {
        let tensor = g.take(&table.param_name())?;
        if tensor.shape != [table.rows as usize, dim] || tensor.data.len() != tensor.numel() * 4 {
            return Err(CompileError::Internal(format!(
                "table `{}` is not [{}, {dim}] float32",
                table.name, table.rows
            )));
        }
        data.extend_from_slice(&tensor.data);
    }
    data.resize((total + 1) * dim * 4, 0);
    g.add_initializer(name, Tensor { shape: vec![total + 1, dim], data });
    g.structure.tables.push(name.to_string());
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plec_spec::testing::catalog;

    fn spec(name: &str) -> ModelSpec {
        catalog().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).unwrap()
    }

    #[test]
    fn runs_hold_only_single_ids_of_one_width_whose_tables_they_own() {
        for (name, spec) in catalog() {
            let runs = runs(&spec);
            for run in &runs {
                assert!(run.len() >= 2, "{name}: {run:?}");
                let dims: Vec<usize> = spec.features[run.clone()]
                    .iter()
                    .map(|f| single_id(&spec, f).map(|(t, _)| spec.tables[t].dim).unwrap())
                    .collect();
                assert!(dims.iter().all(|&d| d == dims[0]), "{name}: {dims:?}");
                assert!(closed(&spec, run.clone()), "{name}: {run:?}");
            }
            // Disjoint and in order.
            assert!(runs.windows(2).all(|w| w[0].end <= w[1].start), "{name}: {runs:?}");
        }
    }

    #[test]
    fn a_table_read_outside_the_run_keeps_its_features_out() {
        // `sequences`: user_id and item_id, both plain num_buckets ids of width 4, side by side.
        let mut s = spec("sequences");
        let names: Vec<&str> = s.features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(&names[..2], &["user_id", "item_id"]);
        assert_eq!(runs(&s), vec![0..2]);
        // Another (outside) reader of item_id's table: item_id cannot join, and user_id alone is no run.
        let table = single_id(&s, &s.features[1]).unwrap().0;
        s.tables[table].features.push("elsewhere".into());
        assert_eq!(runs(&s), Vec::<std::ops::Range<usize>>::new());
    }
}
