//! Metrics (section 7) vs exact pairwise computations, hand-derived and published values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use plec_metrics::auc::{binned_auc, exact_auc, grouped_auc};
use plec_metrics::{auc_legend, compute, TowerValues};
use plec_spec::testing::head_tower;
use plec_spec::{Loss, Metric};

/// P(score of a random positive > that of a random negative) + 0.5 P(tie), over all pairs.
fn pairwise_auc(scores: &[f32], labels: &[f32]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (i, &si) in scores.iter().enumerate() {
        for (j, &sj) in scores.iter().enumerate() {
            if labels[i] > 0.5 && labels[j] <= 0.5 {
                pairs += 1.0;
                wins += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    wins / pairs
}

fn lcg(seed: &mut u64) -> f32 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*seed >> 40) as f32 / (1u64 << 24) as f32
}

#[test]
fn exact_auc_equals_the_pairwise_definition_with_ties() {
    let mut seed = 9;
    let scores: Vec<f32> = (0..300).map(|_| (lcg(&mut seed) * 20.0).floor() / 20.0).collect();
    let labels: Vec<f32> = scores.iter().map(|s| if lcg(&mut seed) < *s { 1.0 } else { 0.0 }).collect();
    let got = exact_auc(&scores, &labels).expect("auc");
    assert!((got - pairwise_auc(&scores, &labels)).abs() < 1e-12);
}

#[test]
fn binned_auc_equals_pairwise_when_scores_sit_on_the_thresholds() {
    // Scores on the grid k/(n-1): each bin holds equal scores, so binning loses nothing.
    let n = 11u32;
    let mut seed = 4;
    let scores: Vec<f32> = (0..500).map(|_| (lcg(&mut seed) * 10.0).floor() / 10.0).collect();
    let labels: Vec<f32> = scores.iter().map(|s| if lcg(&mut seed) < *s { 1.0 } else { 0.0 }).collect();
    let got = binned_auc(&scores, &labels, n).expect("auc");
    assert!((got - pairwise_auc(&scores, &labels)).abs() < 1e-9, "{got}");
    // Off the grid, scores in one bin count as ties: [0.1, 0.15] vs [0.12] with thresholds {0, 0.5, 1} -> 0.5.
    assert_eq!(binned_auc(&[0.1, 0.15, 0.12], &[1.0, 1.0, 0.0], 3), Some(0.5));
    assert_eq!(binned_auc(&[0.1, 0.2], &[1.0, 1.0], 200), None);
}

#[test]
fn grouped_auc_averages_groups_with_both_classes() {
    let scores = [0.9, 0.1, 0.4, 0.6, 0.3, 0.7, 0.2];
    let labels = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0];
    let groups: Vec<String> = ["a", "a", "b", "b", "c", "c", "d"].iter().map(|s| s.to_string()).collect();
    // a: 1.0; b: 0.0; c: all positive (skipped); d: one negative (skipped).
    assert_eq!(grouped_auc(&scores, &labels, &groups), Some(0.5));
}

#[test]
fn accuracy_and_errors_by_hand() {
    let mut t = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }, 1);
    t.metrics = vec![Metric::Accuracy { threshold: 0.5 }, Metric::MeanAbsoluteError, Metric::MeanSquaredError];
    let values = TowerValues {
        scores: vec![0.9, 0.5, 0.2, 0.7],
        classes: vec![],
        labels: vec![1.0, 1.0, 0.0, 0.0],
        groups: vec![],
    };
    let got = compute(&t, &values);
    // 0.5 is not above the threshold: correct are rows 0 and 2.
    assert_eq!(got["accuracy_ctr"], Some(0.5));
    assert!((got["mean_absolute_error_ctr"].expect("mae") - (0.1 + 0.5 + 0.2 + 0.7) / 4.0).abs() < 1e-7);
    assert!((got["mean_squared_error_ctr"].expect("mse") - (0.01 + 0.25 + 0.04 + 0.49) / 4.0).abs() < 1e-7);
}

#[test]
fn softmax_accuracy_compares_the_argmax_class() {
    let mut t = head_tower("kind", "k", 4, Loss::SoftmaxCrossEntropy { label_smoothing: 0.0 }, 3);
    t.metrics = vec![Metric::Accuracy { threshold: 0.5 }];
    let values = TowerValues { scores: vec![], classes: vec![2, 0, 1], labels: vec![2.0, 1.0, 1.0], groups: vec![] };
    let got = compute(&t, &values)["accuracy_kind"].expect("accuracy");
    assert!((got - 2.0 / 3.0).abs() < 1e-12);
}

#[test]
fn exact_auc_matches_a_published_example_and_counts_ties_half() {
    // scikit-learn's roc_auc_score documentation example.
    assert_eq!(exact_auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]), Some(0.75));
    // One positive tied with one of two negatives, above the other: (0.5 + 1) / 2.
    assert_eq!(exact_auc(&[0.3, 0.3, 0.1], &[1.0, 0.0, 0.0]), Some(0.75));
    assert_eq!(exact_auc(&[0.3, 0.2], &[0.0, 0.0]), None);
}

#[test]
fn every_binned_auc_comes_with_the_exact_auc_of_the_same_scores() {
    let mut t = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }, 1);
    t.metrics = vec![Metric::Auc { thresholds: 200 }];
    // Rare positives and scores crowded near 0, with ties: most samples share the lowest of the 200 bins.
    let mut seed = 17;
    let scores: Vec<f32> = (0..2000).map(|_| (lcg(&mut seed).powi(4) * 2000.0).floor() / 2000.0).collect();
    let labels: Vec<f32> = scores.iter().map(|s| if lcg(&mut seed) < 0.05 + *s { 1.0 } else { 0.0 }).collect();
    let values = TowerValues { scores: scores.clone(), classes: vec![], labels: labels.clone(), groups: vec![] };
    let got = compute(&t, &values);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["auc_ctr", "exact_auc_ctr"]);
    let exact = got["exact_auc_ctr"].expect("exact auc");
    let binned = got["auc_ctr"].expect("binned auc");
    assert!((exact - pairwise_auc(&scores, &labels)).abs() < 1e-12, "{exact}");
    assert_eq!(Some(binned), binned_auc(&scores, &labels, 200));
    // The bins merge the low scores into ties, so the two differ here (the reason both are reported).
    assert!((exact - binned).abs() > 1e-3, "exact {exact} vs binned {binned}");
}

#[test]
fn the_auc_legend_names_both_kinds_per_tower() {
    let mut t = head_tower("ctr", "clk", 4, Loss::BinaryCrossEntropy { label_smoothing: 0.0 }, 1);
    t.metrics = vec![Metric::Auc { thresholds: 200 }, Metric::MeanSquaredError];
    let mut other = t.clone();
    other.name = "cvr".into();
    other.metrics = vec![Metric::MeanSquaredError];
    let legend = auc_legend(&[t, other]);
    assert_eq!(legend.len(), 1, "{legend:?}");
    assert!(legend[0].starts_with("auc_ctr: binned AUC (200 thresholds"), "{}", legend[0]);
    assert!(legend[0].contains("exact_auc_ctr: exact ROC AUC"), "{}", legend[0]);
}
