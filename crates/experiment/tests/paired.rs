//! Paired comparisons by seed: differences, paired t and its p-value against published t-table values and a
//! hand computation.

use std::collections::BTreeMap;

use plec_experiment::paired::{paired_table, student_t_two_sided_p, Paired};
use plec_experiment::RunResult;

#[test]
fn two_sided_p_values_match_the_t_table() {
    // Two-sided critical values of Student's t (published tables, 6 digits): (df, t, p).
    let table = [
        (1, 12.706205, 0.05),
        (2, 4.302653, 0.05),
        (3, 3.182446, 0.05),
        (4, 2.776445, 0.05),
        (4, 4.604095, 0.01),
        (5, 2.570582, 0.05),
        (9, 2.262157, 0.05),
        (10, 1.812461, 0.10),
    ];
    for (df, t, p) in table {
        let got = student_t_two_sided_p(t, df);
        assert!((got - p).abs() < 2e-6, "df {df}, t {t}: {got} vs {p}");
        assert!((student_t_two_sided_p(-t, df) - got).abs() < 1e-15, "symmetric in t");
    }
    assert!((student_t_two_sided_p(0.0, 4) - 1.0).abs() < 1e-15);
    // df 1 is the Cauchy distribution: P(|T| >= 1) = 1/2.
    assert!((student_t_two_sided_p(1.0, 1) - 0.5).abs() < 1e-12);
}

fn run(arm: &str, seed: u64, value: Option<f64>) -> RunResult {
    RunResult { arm: arm.into(), seed, metrics: BTreeMap::from([("m".to_string(), value)]) }
}

#[test]
fn differences_pair_runs_by_seed() {
    let a = [run("a", 3, Some(0.6)), run("a", 1, Some(0.5)), run("a", 2, Some(0.7)), run("a", 4, Some(0.9))];
    // Seed 4 has no b run and seed 5 no a run: both are left out. b's seeds are in another order.
    let b = [run("b", 2, Some(0.5)), run("b", 1, Some(0.4)), run("b", 3, Some(0.6)), run("b", 5, Some(0.1))];
    let paired = Paired::of(&a, &b, "m").expect("paired");
    assert_eq!(paired.seeds, [1, 2, 3]);
    let expected = [0.1, 0.2, 0.0];
    for (got, want) in paired.differences.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{:?}", paired.differences);
    }
    // Mean 0.1, sd sqrt((0 + 0.01 + 0.01) / 2) = 0.1, t = 0.1 / (0.1 / sqrt 3) = sqrt 3 with 2 df, and for 2 df
    // P(|T| >= t) = 1 - t / sqrt(2 + t^2) = 1 - sqrt(3/5).
    assert!((paired.mean - 0.1).abs() < 1e-12 && (paired.sd - 0.1).abs() < 1e-12, "{paired:?}");
    assert!((paired.t.expect("t") - 3f64.sqrt()).abs() < 1e-9, "{paired:?}");
    assert!((paired.p.expect("p") - (1.0 - 0.6f64.sqrt())).abs() < 1e-9, "{paired:?}");

    let table = paired_table(&[("a − b".into(), "m".into(), Some(paired)), ("c − b".into(), "m".into(), None)]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0],
        "| comparison | task | seed 1 | seed 2 | seed 3 | mean ± sd | paired t (df) | p (two-sided) |"
    );
    assert_eq!(lines[2], "| a − b | m | +0.10000 | +0.20000 | +0.00000 | +0.10000 ± 0.10000 | +1.73 (2) | 0.225 |");
    assert_eq!(lines[3], "| c − b | m | — | — | — | n/a | — | — |");
}

#[test]
fn no_t_without_spread_or_a_second_seed() {
    // Binary fractions, so that both differences are exactly 0.25.
    let a = [run("a", 1, Some(0.75)), run("a", 2, Some(0.625))];
    let b = [run("b", 1, Some(0.5)), run("b", 2, Some(0.375)), run("b", 3, None)];
    let same = Paired::of(&a, &b, "m").expect("paired");
    assert_eq!((same.t, same.p), (None, None), "every difference equal: sd 0");
    let one = Paired::of(&a[..1], &b, "m").expect("paired");
    assert_eq!((one.seeds.len(), one.sd, one.t), (1, 0.0, None));
    let missing = [run("a", 3, Some(0.6))];
    assert_eq!(Paired::of(&missing, &b, "m"), None, "b's seed 3 has no value");
}
