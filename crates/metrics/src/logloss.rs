//! Binary logloss of probabilities, for comparing two models' scores (the trainer's losses work on logits in
//! libtorch).

/// Probabilities are clamped to [EPS, 1 - EPS] (as torchmetrics / sklearn do).
const EPS: f64 = 1e-7;

/// Mean binary cross entropy of probabilities `scores` against 0/1 `labels` (a label above 0.5 is positive).
pub fn logloss(scores: &[f32], labels: &[f32]) -> f64 {
    let n = scores.len().max(1) as f64;
    let total: f64 = scores
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = (p as f64).clamp(EPS, 1.0 - EPS);
            if y > 0.5 {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    total / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logloss_matches_hand_values() {
        // -(ln 0.8 + ln(1 - 0.4)) / 2 = (0.2231436 + 0.5108256) / 2
        let l = logloss(&[0.8, 0.4], &[1.0, 0.0]);
        assert!((l - 0.3669846).abs() < 1e-6, "{l}");
        // A certain, wrong prediction is clamped, not infinite: -ln(1e-7).
        assert!((logloss(&[0.0], &[1.0]) - 16.118096).abs() < 1e-5);
    }
}
