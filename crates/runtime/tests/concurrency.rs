//! Many threads running one model at once get exactly what sequential runs give.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use plec_runtime::synthetic::synthetic_inputs;
use plec_runtime::{Model, RunOptions};

const THREADS: usize = 8;
const RUNS_PER_THREAD: usize = 12;

#[test]
fn concurrent_runs_equal_sequential_runs() {
    let options = RunOptions { max_sessions: Some(3), intra_threads: Some(1), ..RunOptions::default() };
    let model = Model::load(test_model_path(), &options).unwrap();
    let batches: Vec<_> =
        (0..THREADS * RUNS_PER_THREAD).map(|i| synthetic_inputs(model.signature(), 1 + i % 17, i as u64)).collect();
    let sequential: Vec<_> = batches.iter().map(|inputs| model.run(inputs).unwrap()).collect();

    let concurrent: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (model, batches) = (&model, &batches);
                scope.spawn(move || {
                    (0..RUNS_PER_THREAD)
                        .map(|r| {
                            let index = r * THREADS + t;
                            (index, model.run(&batches[index]).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_by_key(|(index, _)| *index);
        all.into_iter().map(|(_, outputs)| outputs).collect()
    });

    assert_eq!(concurrent.len(), sequential.len());
    for (index, (a, b)) in concurrent.iter().zip(&sequential).enumerate() {
        // NaN rows (missing prices) compare equal bit for bit.
        for ((name, x), (_, y)) in a.tensors.iter().zip(&b.tensors) {
            assert_eq!(x.shape, y.shape, "batch {index} output {name}");
            let xb: Vec<u32> = x.values.iter().map(|v| v.to_bits()).collect();
            let yb: Vec<u32> = y.values.iter().map(|v| v.to_bits()).collect();
            assert_eq!(xb, yb, "batch {index} output {name}");
        }
    }
    assert!(model.session_count() <= 3, "the pool grew past its limit: {}", model.session_count());
    assert!(model.session_count() >= 1);
}
