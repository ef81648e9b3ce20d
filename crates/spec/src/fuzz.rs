//! Bounded, reproducible fuzzing of plec's readers of untrusted bytes (cargo feature `testing`): each target
//! mutates the repository's own files (fixtures, golden sets, configs) and asserts that its reader returns Ok or a
//! typed error — never panics — and never holds more than a bound of live bytes (checked by
//! [`CountingAllocator`], which the fuzz test binary installs). Cases are numbered and derived from a seed, so a
//! failure names the case and reruns exactly: `PLEC_FUZZ_SEED=<seed> PLEC_FUZZ_CASES=<n>`. The test suite runs a
//! few hundred cases per target; `scripts/fuzz` runs many more with fresh seeds.

mod counting_alloc;
mod mutate;

use std::panic::{catch_unwind, AssertUnwindSafe};

pub use counting_alloc::{counting, disarm, with_bound, CountingAllocator};
pub use mutate::mutate;

use crate::splitmix::{mix64, SplitMix64};

/// The seed when `PLEC_FUZZ_SEED` is unset.
pub const DEFAULT_SEED: u64 = 0x706c_6563_6675_7a7a;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Installs (once) a panic hook that lifts the panicking thread's bound before the default hook prints the
/// message and backtrace, which allocate far more than a reader's bound.
fn disarm_on_panic() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            disarm();
            previous(info)
        }));
    });
}

/// One reader under test.
pub struct Target<'a> {
    /// Names the target in messages.
    pub name: &'static str,
    /// The files mutated: each is also run unmutated first.
    pub seeds: Vec<Vec<u8>>,
    /// Cases when `PLEC_FUZZ_CASES` is unset.
    pub cases: u64,
    /// The most live bytes the reader may hold for an input of this many bytes.
    pub bound: &'a dyn Fn(usize) -> usize,
}

/// What a run saw, for the report `scripts/fuzz` prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub cases: u64,
    pub ok: u64,
    pub errors: u64,
    /// The largest peak of live bytes over the cases, and its ratio to the bound.
    pub peak: usize,
    pub peak_of_bound: f64,
}

/// Runs `target`: `read` returns whether the input was accepted (`Ok`) or refused with a typed error (`Err`);
/// a panic fails the run naming the case, an allocation past the bound aborts it naming the case.
pub fn run<E>(target: &Target<'_>, read: impl Fn(&[u8]) -> Result<(), E>) -> Summary {
    assert!(counting(), "the fuzz binary must install plec_spec::fuzz::CountingAllocator");
    disarm_on_panic();
    assert!(!target.seeds.is_empty(), "fuzz target {} has no seed files", target.name);
    let seed = env_u64("PLEC_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env_u64("PLEC_FUZZ_CASES").unwrap_or(target.cases);
    let name_hash = target.name.bytes().fold(0u64, |h, b| mix64(h ^ u64::from(b)));
    let mut summary = Summary { cases: 0, ok: 0, errors: 0, peak: 0, peak_of_bound: 0.0 };
    let total = target.seeds.len() as u64 + cases;
    // Reported only (how long a target ran), never asserted.
    let started = std::time::Instant::now();
    for case in 0..total {
        let input = match usize::try_from(case).ok().and_then(|i| target.seeds.get(i)) {
            Some(seed_file) => seed_file.clone(),
            None => {
                let mut rng = SplitMix64::new(mix64(seed ^ name_hash) ^ mix64(case));
                let base = &target.seeds[(rng.next_u64() % target.seeds.len() as u64) as usize];
                mutate(&mut rng, base, &target.seeds)
            }
        };
        let bound = (target.bound)(input.len());
        let (outcome, peak) =
            with_bound(target.name, case, bound, || catch_unwind(AssertUnwindSafe(|| read(&input).is_ok())));
        match outcome {
            Ok(true) => summary.ok += 1,
            Ok(false) => summary.errors += 1,
            Err(_) => {
                let kept = std::env::temp_dir().join(format!("plec-fuzz-{}-{seed}-{case}.bin", target.name));
                let _ = std::fs::write(&kept, &input);
                panic!(
                    "fuzz {} case {case} (PLEC_FUZZ_SEED={seed}) panicked on a {}-byte input, kept in {}",
                    target.name,
                    input.len(),
                    kept.display()
                );
            }
        }
        summary.cases += 1;
        summary.peak = summary.peak.max(peak);
        summary.peak_of_bound = summary.peak_of_bound.max(peak as f64 / bound.max(1) as f64);
    }
    eprintln!(
        "fuzz {}: {} cases ({} accepted, {} refused) in {:.1} s, peak {} bytes ({:.0}% of the bound), seed {seed}",
        target.name,
        summary.cases,
        summary.ok,
        summary.errors,
        started.elapsed().as_secs_f64(),
        summary.peak,
        summary.peak_of_bound * 100.0
    );
    summary
}
