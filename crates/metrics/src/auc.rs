//! AUC: binned (torchmetrics' `BinaryAUROC(thresholds=n)`, tzrec's `auc`) and exact (`exact_auc_<tower>` beside
//! every `auc`, and per group in `grouped_auc`).

/// The ROC AUC over `thresholds` evenly spaced thresholds in [0, 1]: a sample is predicted positive at threshold
/// `t` when `score >= t`; the ROC points are joined by the trapezoid rule. `None` without both classes.
pub fn binned_auc(scores: &[f32], labels: &[f32], thresholds: u32) -> Option<f64> {
    let n = thresholds.max(2) as usize;
    let grid: Vec<f32> = (0..n).map(|k| (k as f64 / (n - 1) as f64) as f32).collect();
    // Per threshold bin k: samples whose score lies in [grid[k], grid[k + 1]); scores below 0 are in no bin.
    let mut pos = vec![0u64; n];
    let mut neg = vec![0u64; n];
    let (mut total_pos, mut total_neg) = (0u64, 0u64);
    for (&s, &y) in scores.iter().zip(labels) {
        let positive = y > 0.5;
        if positive {
            total_pos += 1;
        } else {
            total_neg += 1;
        }
        let bin = grid.partition_point(|&t| t <= s);
        if bin == 0 {
            continue;
        }
        if positive {
            pos[bin - 1] += 1;
        } else {
            neg[bin - 1] += 1;
        }
    }
    if total_pos == 0 || total_neg == 0 {
        return None;
    }
    // From the highest threshold down, true/false positives only grow: (fpr, tpr) with fpr increasing.
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut area = 0.0;
    let mut prev = (0.0f64, 0.0f64);
    for k in (0..n).rev() {
        tp += pos[k];
        fp += neg[k];
        let point = (fp as f64 / total_neg as f64, tp as f64 / total_pos as f64);
        if k < n - 1 {
            area += (point.0 - prev.0) * (point.1 + prev.1) / 2.0;
        }
        prev = point;
    }
    Some(area)
}

/// Exact ROC AUC (the probability that a random positive outscores a random negative, ties counting half), via
/// ranks (the Mann-Whitney U statistic): one sort, O(n log n). `None` without both classes.
pub fn exact_auc(scores: &[f32], labels: &[f32]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0f64, 0u64);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Tied scores share the mean of ranks i+1..=j+1.
        let mean_rank = (i + j + 2) as f64 / 2.0;
        for &idx in &order[i..=j] {
            if labels[idx] > 0.5 {
                rank_sum += mean_rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = scores.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean of the exact AUCs of each group (by key) that has both classes; `None` if no group has.
pub fn grouped_auc(scores: &[f32], labels: &[f32], groups: &[String]) -> Option<f64> {
    let mut by_group: std::collections::BTreeMap<&str, (Vec<f32>, Vec<f32>)> = std::collections::BTreeMap::new();
    for ((s, y), g) in scores.iter().zip(labels).zip(groups) {
        let entry = by_group.entry(g.as_str()).or_default();
        entry.0.push(*s);
        entry.1.push(*y);
    }
    let aucs: Vec<f64> = by_group.values().filter_map(|(s, y)| exact_auc(s, y)).collect();
    if aucs.is_empty() {
        None
    } else {
        Some(aucs.iter().sum::<f64>() / aucs.len() as f64)
    }
}
