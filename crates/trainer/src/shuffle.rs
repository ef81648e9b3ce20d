//! `data_config.shuffle` (TorchEasyRec's semantics): each epoch reads its files in a random order and mixes rows
//! across batches through a buffer of `shuffle_buffer_size` batches. Rows are shuffled after encoding, so a bad
//! cell is still reported with its file and row. The random stream depends only on (seed, epoch): a resumed run
//! regenerates it and skips the rows it already trained on.

use plec_data::datagen::rng::{hash3, Rng};
use plec_data::{EncodedBatch, EncodedFeature, EncodedSequence, EncodedSequenceGroup, SequenceValues};

use crate::error::{Result, TrainError};

/// Tag of the shuffle stream in `hash3`, so it never coincides with another stream drawn from the same seed.
const SHUFFLE_TAG: u64 = 0x5348_5546_464c_4521;

/// How the reader shuffles training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShufflePlan {
    /// The training seed (`--seed`).
    pub seed: u64,
    /// The buffer holds this many batches of rows (at least 1).
    pub buffer_batches: usize,
}

/// The random stream of one epoch: file order first, then row draws.
pub fn epoch_rng(seed: u64, epoch: u64) -> Rng {
    Rng::new(hash3(seed, SHUFFLE_TAG, epoch))
}

/// Uniform in `0..n` (`n > 0`) by multiply-shift (Lemire): the bias is below `n / 2^64`.
fn below(rng: &mut Rng, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// Fisher-Yates shuffle.
pub fn shuffle_in_place<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, below(rng, i + 1));
    }
}

/// A buffered row: (slot of its encoded batch, row in that batch).
pub type RowAt = (usize, usize);

struct Stored {
    batch: EncodedBatch,
    /// Rows of `batch` not yet released.
    remaining: usize,
}

/// Encoded batches whose rows wait to be drawn in random order.
pub struct ShuffleBuffer {
    batch_size: usize,
    /// Draw once at least this many rows are buffered (`buffer_batches * batch_size`).
    capacity: usize,
    slots: Vec<Option<Stored>>,
    free_slots: Vec<usize>,
    rows: Vec<RowAt>,
    rng: Rng,
}

impl ShuffleBuffer {
    pub fn new(batch_size: usize, plan: ShufflePlan, rng: Rng) -> ShuffleBuffer {
        let batch_size = batch_size.max(1);
        ShuffleBuffer {
            batch_size,
            capacity: plan.buffer_batches.max(1) * batch_size,
            slots: Vec::new(),
            free_slots: Vec::new(),
            rows: Vec::new(),
            rng,
        }
    }

    /// Enough rows to draw a batch before reading more.
    pub fn is_full(&self) -> bool {
        self.rows.len() >= self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn push(&mut self, batch: EncodedBatch) {
        if batch.num_rows == 0 {
            return;
        }
        let rows = batch.num_rows;
        let stored = Some(Stored { batch, remaining: rows });
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.slots[slot] = stored;
                slot
            }
            None => {
                self.slots.push(stored);
                self.slots.len() - 1
            }
        };
        self.rows.extend((0..rows).map(|row| (slot, row)));
    }

    /// The next batch's rows: `batch_size` rows (fewer when fewer are buffered) drawn uniformly at random without
    /// replacement. Pass them to [`ShuffleBuffer::gather`] (optional) and then [`ShuffleBuffer::release`].
    pub fn draw(&mut self) -> Vec<RowAt> {
        let n = self.batch_size.min(self.rows.len());
        (0..n)
            .map(|_| {
                let i = below(&mut self.rng, self.rows.len());
                self.rows.swap_remove(i)
            })
            .collect()
    }

    /// Frees the batches whose rows have all been drawn and released.
    pub fn release(&mut self, picks: &[RowAt]) {
        for &(slot, _) in picks {
            if let Some(stored) = self.slots[slot].as_mut() {
                stored.remaining -= 1;
                if stored.remaining == 0 {
                    self.slots[slot] = None;
                    self.free_slots.push(slot);
                }
            }
        }
    }

    fn stored(&self, slot: usize) -> Result<&EncodedBatch> {
        self.slots
            .get(slot)
            .and_then(|s| s.as_ref())
            .map(|s| &s.batch)
            .ok_or_else(|| internal(format!("buffer slot {slot} is empty")))
    }

    /// One batch of the picked rows, in pick order. Rows are copied in (slot, row) order, which walks the buffer
    /// sequentially instead of jumping across it, and land at their pick's place in the (small) output.
    pub fn gather(&self, picks: &[RowAt]) -> Result<EncodedBatch> {
        let sources: Vec<&EncodedBatch> = picks.iter().map(|&(slot, _)| self.stored(slot)).collect::<Result<_>>()?;
        let Some(first) = sources.first() else {
            return Err(internal("no rows to gather".into()));
        };
        let mut order: Vec<usize> = (0..picks.len()).collect();
        order.sort_unstable_by_key(|&p| picks[p]);
        let n = picks.len();
        let mut features = Vec::with_capacity(first.features.len());
        for (f, template) in first.features.iter().enumerate() {
            let what = format!("{f}");
            features.push(gather_feature(template, &sources, picks, &order, &what, &|b| b.features.get(f))?);
        }
        let sequence_groups = first
            .sequence_groups
            .iter()
            .enumerate()
            .map(|(g, group)| gather_sequence_group(g, group, &sources, picks, &order))
            .collect::<Result<_>>()?;
        let column = |name: &str, get: &dyn Fn(&EncodedBatch) -> Option<&Vec<f32>>| -> Result<Vec<f32>> {
            let mut values = vec![0f32; n];
            for &p in &order {
                values[p] = get(sources[p])
                    .and_then(|v| v.get(picks[p].1))
                    .copied()
                    .ok_or_else(|| internal(format!("column {name:?} lacks a buffered row")))?;
            }
            Ok(values)
        };
        let mut labels = first.labels.clone();
        for (name, values) in labels.iter_mut() {
            *values = column(name, &|b| b.labels.get(name))?;
        }
        let mut sample_weights = first.sample_weights.clone();
        for (name, values) in sample_weights.iter_mut() {
            *values = column(name, &|b| b.sample_weights.get(name))?;
        }
        let mut groups = first.groups.clone();
        for (name, keys) in groups.iter_mut() {
            *keys = picks
                .iter()
                .zip(&sources)
                .map(|(&(_, row), source)| {
                    source
                        .groups
                        .get(name)
                        .and_then(|k| k.get(row))
                        .cloned()
                        .ok_or_else(|| internal(format!("column {name:?} lacks a buffered row")))
                })
                .collect::<Result<_>>()?;
        }
        Ok(EncodedBatch { num_rows: n, features, sequence_groups, labels, sample_weights, groups, skipped: Vec::new() })
    }
}

/// Batches encoded by one spec always agree; this reports a broken invariant instead of panicking.
fn internal(what: String) -> TrainError {
    TrainError::Unusable(format!("shuffle buffer: {what} (internal error)"))
}

/// Row `picks[p]` of `sources[p]`'s feature (`get`) for every pick, in pick order.
fn gather_feature(
    template: &EncodedFeature,
    sources: &[&EncodedBatch],
    picks: &[RowAt],
    order: &[usize],
    what: &str,
    get: &dyn Fn(&EncodedBatch) -> Option<&EncodedFeature>,
) -> Result<EncodedFeature> {
    let n = picks.len();
    Ok(match template {
        EncodedFeature::Ids { table, pooling, weights: template_weights, .. } => {
            let bag = |p: usize| -> Result<(&[i64], Option<&[f32]>)> {
                let row = picks[p].1;
                match get(sources[p]) {
                    Some(EncodedFeature::Ids { indices, offsets, weights, .. }) => {
                        let range = offsets[row] as usize..offsets[row + 1] as usize;
                        Ok((&indices[range.clone()], weights.as_ref().map(|w| &w[range])))
                    }
                    _ => Err(internal(format!("feature {what} changed kind between batches"))),
                }
            };
            let mut lengths = vec![0i64; n];
            for &p in order {
                lengths[p] = bag(p)?.0.len() as i64;
            }
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0i64);
            for length in &lengths {
                offsets.push(offsets[offsets.len() - 1] + length);
            }
            let mut indices = vec![0i64; offsets[n] as usize];
            let mut weights = template_weights.as_ref().map(|_| vec![0f32; offsets[n] as usize]);
            for &p in order {
                let range = offsets[p] as usize..offsets[p + 1] as usize;
                let (ids, bag_weights) = bag(p)?;
                let to = &mut indices[range.clone()];
                match ids {
                    // Most bags hold one id: a plain store beats a `memcpy` call.
                    [id] => to[0] = *id,
                    ids => to.copy_from_slice(ids),
                }
                match (weights.as_mut(), bag_weights) {
                    (Some(to), Some(from)) => to[range].copy_from_slice(from),
                    (None, None) => {}
                    _ => return Err(internal(format!("feature {what} changed weighting between batches"))),
                }
            }
            EncodedFeature::Ids { table: *table, indices, offsets, pooling: *pooling, weights }
        }
        EncodedFeature::Dense { width, .. } => {
            let width = *width;
            let mut values = vec![0f32; n * width];
            for &p in order {
                let row = picks[p].1;
                let Some(EncodedFeature::Dense { values: from, .. }) = get(sources[p]) else {
                    return Err(internal(format!("feature {what} changed kind between batches")));
                };
                values[p * width..(p + 1) * width].copy_from_slice(&from[row * width..(row + 1) * width]);
            }
            EncodedFeature::Dense { width, values }
        }
    })
}

/// A sequence group's queries (as features) and sequences (positions of each picked row) in pick order.
fn gather_sequence_group(
    g: usize,
    template: &EncodedSequenceGroup,
    sources: &[&EncodedBatch],
    picks: &[RowAt],
    order: &[usize],
) -> Result<EncodedSequenceGroup> {
    fn group(b: &EncodedBatch, g: usize) -> Option<&EncodedSequenceGroup> {
        b.sequence_groups.get(g)
    }
    let mut query = Vec::with_capacity(template.query.len());
    for (q, feature) in template.query.iter().enumerate() {
        let what = format!("query {q} of sequence group {g}");
        query.push(gather_feature(feature, sources, picks, order, &what, &|b| {
            group(b, g).and_then(|s| s.query.get(q))
        })?);
    }
    let mut sequence = Vec::with_capacity(template.sequence.len());
    for (k, feature) in template.sequence.iter().enumerate() {
        let source = |p: usize| -> Result<(&EncodedSequence, usize, usize)> {
            let row = picks[p].1;
            let seq = group(sources[p], g)
                .and_then(|s| s.sequence.get(k))
                .ok_or_else(|| internal(format!("sequence {k} of group {g} is missing from a buffered batch")))?;
            // Rows' positions follow each other: the row starts after the lengths before it.
            let start: usize = seq.lengths[..row].iter().map(|&l| l as usize).sum();
            let length = *seq.lengths.get(row).ok_or_else(|| internal("a buffered row is out of range".into()))?;
            Ok((seq, start, length as usize))
        };
        let mut lengths = vec![0u32; picks.len()];
        for &p in order {
            lengths[p] = source(p)?.2 as u32;
        }
        let mut starts = Vec::with_capacity(picks.len() + 1);
        starts.push(0usize);
        for length in &lengths {
            starts.push(starts[starts.len() - 1] + *length as usize);
        }
        let total = starts[picks.len()];
        let values = match &feature.values {
            SequenceValues::Rows { table, .. } => {
                let mut rows = vec![0i64; total];
                for &p in order {
                    let (seq, start, length) = source(p)?;
                    let SequenceValues::Rows { rows: from, .. } = &seq.values else {
                        return Err(internal(format!("sequence {k} of group {g} changed kind between batches")));
                    };
                    rows[starts[p]..starts[p] + length].copy_from_slice(&from[start..start + length]);
                }
                SequenceValues::Rows { table: *table, rows }
            }
            SequenceValues::Dense(_) => {
                let mut values = vec![0f32; total];
                for &p in order {
                    let (seq, start, length) = source(p)?;
                    let SequenceValues::Dense(from) = &seq.values else {
                        return Err(internal(format!("sequence {k} of group {g} changed kind between batches")));
                    };
                    values[starts[p]..starts[p] + length].copy_from_slice(&from[start..start + length]);
                }
                SequenceValues::Dense(values)
            }
        };
        sequence.push(EncodedSequence { lengths, values });
    }
    Ok(EncodedSequenceGroup { query, sequence })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use plec_spec::Pooling;

    /// Rows `ids[i]` with a bag of `ids[i] % 3` values (`10 * id + k`), a weighted bag of `(id + 1) % 3` values
    /// (`100 + id` weighing `id + k / 4`), a dense pair `(id, -id)`, label `id / 100` and grouping key `"g<id>"`.
    fn batch(ids: &[i64]) -> EncodedBatch {
        let mut indices = Vec::new();
        let mut offsets = vec![0i64];
        let (mut weighted, mut weights, mut weighted_offsets) = (Vec::new(), Vec::new(), vec![0i64]);
        for &id in ids {
            indices.extend((0..id % 3).map(|k| 10 * id + k));
            offsets.push(indices.len() as i64);
            for k in 0..(id + 1) % 3 {
                weighted.push(100 + id);
                weights.push(id as f32 + k as f32 / 4.0);
            }
            weighted_offsets.push(weighted.len() as i64);
        }
        let dense = ids.iter().flat_map(|&id| [id as f32, -id as f32]).collect();
        EncodedBatch {
            num_rows: ids.len(),
            sequence_groups: Vec::new(),
            features: vec![
                EncodedFeature::Ids { table: 1, indices, offsets, pooling: Pooling::Mean, weights: None },
                EncodedFeature::Ids {
                    table: 0,
                    indices: weighted,
                    offsets: weighted_offsets,
                    pooling: Pooling::Sum,
                    weights: Some(weights),
                },
                EncodedFeature::Dense { width: 2, values: dense },
            ],
            labels: BTreeMap::from([("clk".to_string(), ids.iter().map(|&id| id as f32 / 100.0).collect())]),
            sample_weights: BTreeMap::new(),
            groups: BTreeMap::from([("user".to_string(), ids.iter().map(|id| format!("g{id}")).collect())]),
            skipped: Vec::new(),
        }
    }

    fn plan(buffer_batches: usize) -> ShufflePlan {
        ShufflePlan { seed: 1, buffer_batches }
    }

    #[test]
    fn gather_takes_every_column_of_the_picked_rows_across_batches() {
        let mut buffer = ShuffleBuffer::new(4, plan(2), epoch_rng(1, 0));
        buffer.push(batch(&[1, 2, 3]));
        buffer.push(batch(&[4, 5]));
        // Slot 0 holds ids 1..=3, slot 1 ids 4, 5.
        let gathered = buffer.gather(&[(1, 1), (0, 0), (0, 2), (1, 0)]).expect("gather");
        assert_eq!(gathered, batch(&[5, 1, 3, 4]));
    }

    #[test]
    fn gather_of_no_rows_is_an_error() {
        let buffer = ShuffleBuffer::new(4, plan(1), epoch_rng(1, 0));
        assert!(buffer.gather(&[]).is_err());
    }

    #[test]
    fn draws_fill_batches_and_release_frees_slots_for_reuse() {
        let mut buffer = ShuffleBuffer::new(2, plan(2), epoch_rng(7, 0));
        buffer.push(batch(&[1, 2]));
        assert!(!buffer.is_full());
        buffer.push(batch(&[3, 4]));
        assert!(buffer.is_full());
        let mut seen = Vec::new();
        while !buffer.is_empty() {
            let picks = buffer.draw();
            assert_eq!(picks.len(), 2);
            seen.extend(buffer.gather(&picks).expect("gather").groups["user"].clone());
            buffer.release(&picks);
        }
        seen.sort();
        assert_eq!(seen, ["g1", "g2", "g3", "g4"]);
        assert_eq!(buffer.free_slots.len(), 2, "both batches were freed");
        buffer.push(batch(&[9]));
        assert_eq!(buffer.rows.len(), 1);
        assert!(buffer.slots[buffer.rows[0].0].is_some(), "a freed slot is reused");
        assert_eq!(buffer.draw().len(), 1, "the last draw takes what is left");
    }

    #[test]
    fn fisher_yates_permutes_and_depends_on_the_seed() {
        let original: Vec<u32> = (0..50).collect();
        let shuffled = |seed, epoch| {
            let mut items = original.clone();
            shuffle_in_place(&mut items, &mut epoch_rng(seed, epoch));
            items
        };
        let a = shuffled(1, 0);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, original);
        assert_ne!(a, original);
        assert_eq!(a, shuffled(1, 0));
        assert_ne!(a, shuffled(2, 0));
        assert_ne!(a, shuffled(1, 1));
    }

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut rng = epoch_rng(3, 0);
        let mut hits = [0usize; 5];
        for _ in 0..1000 {
            hits[below(&mut rng, 5)] += 1;
        }
        // 200 expected per value; a fair generator stays far inside these bounds.
        assert!(hits.iter().all(|&h| (120..280).contains(&h)), "{hits:?}");
    }
}
