//! `data_config.shuffle` through the reader thread: every row once per epoch, rows kept whole (features, labels,
//! grouping key move together), deterministic per (seed, epoch), and resumes continue the same stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use plec_spec::test_dir::TestDir;
use plec_spec::testing::{build, dense, id, tower, Head};
use plec_spec::{Metric, ModelSpec, Pooling};
use plec_trainer::data::{self, DataPlan, Message};
use plec_trainer::model::FeatureInput;
use plec_trainer::shuffle::ShufflePlan;
use tch::Tensor;

/// Rows of the test files: ids `0..ROWS`, split over two files at `SPLIT` (neither a multiple of the batch size).
const ROWS: u64 = 100;
const SPLIT: u64 = 37;
const BATCH: usize = 8;

/// The multi-valued `tags` of row `r`: `r % 3 + 1` values.
fn tags(r: u64) -> Vec<i64> {
    (0..r % 3 + 1).map(|k| ((r + k) % 13) as i64).collect()
}

fn write_rows(path: &Path, rows: std::ops::Range<u64>) {
    let mut text = String::from("row_id,user,tags,x,clk\n");
    for r in rows {
        let tags: Vec<String> = tags(r).iter().map(|t| t.to_string()).collect();
        text.push_str(&format!("{r},{},{},{},{}\n", r % 10, tags.join("|"), r as f32 * 0.5, r % 2));
    }
    std::fs::write(path, text).expect("write csv");
}

/// A folder with `a.csv` (rows `0..SPLIT`) and `b.csv` (the rest).
fn data_dir(name: &str) -> TestDir {
    let dir = TestDir::new(&format!("shuffle-{name}"));
    write_rows(&dir.join("a.csv"), 0..SPLIT);
    write_rows(&dir.join("b.csv"), SPLIT..ROWS);
    dir
}

fn model_spec() -> ModelSpec {
    let tags = id("tags", 13, 4).multi(Pooling::Sum).separator("|");
    let mut spec =
        build(&[id("user", 10, 4), tags, dense("x", 1, 0.0)], &[], &[tower("ctr", &[], Head::Binary).label("clk")]);
    spec.towers[0].metrics.push(Metric::GroupedAuc { grouping_key: "row_id".into() });
    spec
}

fn plan(dir: &Path, shuffle: Option<ShufflePlan>) -> DataPlan {
    DataPlan {
        files: vec![dir.join("a.csv"), dir.join("b.csv")],
        batch_size: BATCH,
        epochs: Some(2),
        start_epoch: 0,
        skip_rows: 0,
        drop_remainder: false,
        shuffle,
    }
}

fn shuffled(seed: u64, buffer_batches: usize) -> Option<ShufflePlan> {
    Some(ShufflePlan { seed, buffer_batches })
}

fn ints(t: &Tensor) -> Vec<i64> {
    Vec::<i64>::try_from(&t.contiguous().view([-1])).expect("int tensor")
}

fn floats(t: &Tensor) -> Vec<f32> {
    Vec::<f32>::try_from(&t.contiguous().view([-1])).expect("float tensor")
}

/// The ids a bag feature holds per row (table rows, through the batch's de-duplicated row list).
fn bag_values(feature: &FeatureInput, table_rows: &[Tensor]) -> Vec<Vec<i64>> {
    let FeatureInput::Bag { table, indices, offsets, .. } = feature else { panic!("expected an id feature") };
    let (rows, indices, offsets) = (ints(&table_rows[*table]), ints(indices), ints(offsets));
    let bounds: Vec<usize> = offsets.iter().map(|&o| o as usize).chain([indices.len()]).collect();
    bounds.windows(2).map(|w| indices[w[0]..w[1]].iter().map(|&i| rows[i as usize]).collect()).collect()
}

/// Row ids of each batch, by epoch; checks that every row's columns belong to that row (values derived from the
/// id exactly as `write_rows` wrote them).
fn read(plan: DataPlan) -> BTreeMap<u64, Vec<Vec<u64>>> {
    let (rx, handle) = data::spawn(model_spec(), plan).expect("reader");
    let mut epochs: BTreeMap<u64, Vec<Vec<u64>>> = BTreeMap::new();
    let mut current = Vec::new();
    for message in rx {
        match message {
            Message::Batch(batch) => {
                let ids: Vec<u64> = batch.groups["row_id"].iter().map(|k| k.parse().expect("row id")).collect();
                assert_eq!(ids.len(), batch.rows);
                let users = bag_values(&batch.input.features[0], &batch.input.table_rows);
                let bags = bag_values(&batch.input.features[1], &batch.input.table_rows);
                let FeatureInput::Dense(x) = &batch.input.features[2] else { panic!("expected a dense feature") };
                let (x, clk) = (floats(x), floats(&batch.targets.columns["clk"]));
                for (i, &r) in ids.iter().enumerate() {
                    assert_eq!(users[i], vec![(r % 10) as i64], "user of row {r}");
                    assert_eq!(bags[i], tags(r), "tags of row {r}");
                    assert_eq!(x[i], r as f32 * 0.5, "x of row {r}");
                    assert_eq!(clk[i], (r % 2) as f32, "clk of row {r}");
                }
                current.push(ids);
            }
            Message::EpochEnd(epoch) => {
                epochs.insert(epoch, std::mem::take(&mut current));
            }
            Message::Failed(error) => panic!("reader failed: {error}"),
        }
    }
    handle.join().expect("reader thread");
    assert!(current.is_empty(), "batches after the last epoch end");
    epochs
}

fn flat(batches: &[Vec<u64>]) -> Vec<u64> {
    batches.concat()
}

fn file_order() -> Vec<u64> {
    (0..ROWS).collect()
}

#[test]
fn unshuffled_reads_rows_in_file_order_in_batches_that_never_span_files() {
    let dir = data_dir("in-order");
    let epochs = read(plan(&dir, None));
    assert_eq!(epochs.len(), 2);
    for batches in epochs.values() {
        assert_eq!(flat(batches), file_order());
        // a.csv: 37 = 4 * 8 + 5; b.csv: 63 = 7 * 8 + 7.
        let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [8, 8, 8, 8, 5, 8, 8, 8, 8, 8, 8, 8, 7]);
    }
}

#[test]
fn shuffle_reads_every_row_once_per_epoch_in_a_seeded_order() {
    let dir = data_dir("once");
    let a = read(plan(&dir, shuffled(5, 2)));
    assert_eq!(a.len(), 2);
    for batches in a.values() {
        let rows = flat(batches);
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(sorted, file_order(), "every row exactly once");
        assert_ne!(rows, file_order());
        // Full batches across file boundaries; only the epoch's last batch is short (100 = 12 * 8 + 4).
        let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [vec![8; 12], vec![4]].concat());
    }
    assert_ne!(a[&0], a[&1], "each epoch has its own order");
    assert_eq!(read(plan(&dir, shuffled(5, 2))), a, "the same seed gives the same batches");
    assert_ne!(flat(&read(plan(&dir, shuffled(6, 2)))[&0]), flat(&a[&0]), "another seed, another order");
}

#[test]
fn rows_mix_across_batches_and_files() {
    let dir = data_dir("mix");
    let epochs = read(plan(&dir, shuffled(5, 4)));
    for batches in epochs.values() {
        // Unshuffled, batch i holds a contiguous run of one file; shuffled, some batch holds rows of both files.
        assert!(batches.iter().any(|b| b.iter().any(|&r| r < SPLIT) && b.iter().any(|&r| r >= SPLIT)));
        assert!(batches.iter().any(|b| b.iter().max().expect("row") - b.iter().min().expect("row") >= BATCH as u64));
    }
    // Draws wait for a full buffer (4 batches = 32 rows): batch i is drawn once at least 32 + 8i rows were read,
    // overshooting by at most 7 (one input batch), so it holds only rows among the first 8i + 39 read. The
    // epoch's file order is random: `read_at(a_first, r)` is row r's place in the read order.
    let read_at = |a_first: bool, r: u64| match (a_first, r < SPLIT) {
        (true, _) => r,
        (false, true) => r + (ROWS - SPLIT),
        (false, false) => r - SPLIT,
    };
    for batches in epochs.values() {
        let fits = |a_first: bool| {
            batches.iter().enumerate().all(|(i, b)| b.iter().all(|&r| read_at(a_first, r) < 8 * i as u64 + 39))
        };
        assert!(fits(true) || fits(false), "a batch holds a row read after it was drawn");
    }
}

#[test]
fn a_buffer_of_one_batch_over_one_file_still_permutes_rows() {
    let dir = data_dir("one");
    let mut plan = plan(&dir, shuffled(9, 1));
    plan.files = vec![dir.join("a.csv")];
    plan.epochs = Some(1);
    let batches = &read(plan)[&0];
    let rows = flat(batches);
    let mut sorted = rows.clone();
    sorted.sort();
    assert_eq!(sorted, (0..SPLIT).collect::<Vec<_>>());
    assert_ne!(rows, (0..SPLIT).collect::<Vec<_>>());
    // The buffer fills to one batch (the reader's next 8 rows of the file), then a batch takes all of them:
    // batch i is a permutation of rows 8i .. 8i + 8.
    for (i, batch) in batches.iter().enumerate() {
        let mut sorted = batch.clone();
        sorted.sort();
        let start = (i * BATCH) as u64;
        assert_eq!(sorted, (start..(start + BATCH as u64).min(SPLIT)).collect::<Vec<_>>(), "batch {i}");
    }
}

#[test]
fn drop_remainder_drops_only_the_epochs_last_short_batch() {
    let dir = data_dir("drop");
    let mut plan = plan(&dir, shuffled(5, 2));
    plan.drop_remainder = true;
    let dropped = read(plan.clone());
    plan.drop_remainder = false;
    let kept = read(plan);
    for (epoch, batches) in &kept {
        assert_eq!(batches.len(), 13);
        assert_eq!(dropped[epoch], batches[..12].to_vec(), "the same draws, without the short batch");
    }
}

#[test]
fn a_resume_continues_the_uninterrupted_stream() {
    let dir = data_dir("resume");
    let full = read(plan(&dir, shuffled(5, 2)));
    // Resume after 3 batches of epoch 0, and after 12 batches of epoch 1 (only the short last batch is left).
    for (epoch, done) in [(0u64, 3usize), (1, 12)] {
        let mut resumed = plan(&dir, shuffled(5, 2));
        resumed.start_epoch = epoch;
        resumed.skip_rows = (done * BATCH) as u64;
        let got = read(resumed);
        assert_eq!(got[&epoch], full[&epoch][done..].to_vec(), "epoch {epoch} after {done} batches");
        if epoch == 0 {
            assert_eq!(got[&1], full[&1], "the next epoch is unchanged");
        }
        assert_eq!(got.len(), full.len() - epoch as usize);
    }
}
