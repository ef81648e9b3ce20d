//! The loss log (`loss_log.txt`): when a training step is logged, the mean loss per task since the last logged
//! step, and the file's lines.
//!
//! Steps are logged every `log_step_count_steps` and also often enough that every run draws a curve of at least
//! [`CURVE_POINTS`] points ([`logs_at`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{io_err, Result};

/// Per-task mean losses, one JSON object a line, at the steps [`logs_at`] picks.
pub const LOSS_LOG_FILE: &str = "loss_log.txt";

/// The fewest points a run's loss curve gets (a run shorter than this logs every step).
pub const CURVE_POINTS: u64 = 20;

/// Whether `step` (1-based) is logged. Every `log_every` steps, and besides: when the run's length is known in
/// advance (`total`: a step budget), every `total / CURVE_POINTS` steps; when it is not (epochs over data whose row
/// count is only known once read), on [`doubling_grid`], which depends on the step alone, so a resumed run keeps
/// the same cadence.
pub fn logs_at(step: u64, total: Option<u64>, log_every: u64) -> bool {
    if step == 0 {
        return false;
    }
    step.is_multiple_of(log_every.max(1))
        || match total {
            Some(total) => step.is_multiple_of((total / CURVE_POINTS).max(1)),
            None => doubling_grid(step),
        }
}

/// [`CURVE_POINTS`] steps 1 apart, then as many 2 apart, then 4 apart, and so on: a run of any length `n >= 20`
/// gets at least 20 points and about 20 more each time `n` doubles (about 310 for a million steps).
pub fn doubling_grid(step: u64) -> bool {
    // Block b logs every 2^b steps, after the CURVE_POINTS * (2^b - 1) steps of the blocks before it.
    let mut start = 0u64;
    for b in 0..63 {
        let interval = 1u64 << b;
        let end = start.saturating_add(CURVE_POINTS.saturating_mul(interval));
        if step <= end {
            return (step - start).is_multiple_of(interval);
        }
        start = end;
    }
    false
}

/// Summed per-task losses over the steps since the window was last emptied.
#[derive(Debug, Clone)]
pub struct LossWindow {
    sums: Vec<f64>,
    steps: u64,
}

impl LossWindow {
    pub fn new(tasks: usize) -> LossWindow {
        LossWindow { sums: vec![0.0; tasks], steps: 0 }
    }

    pub fn add(&mut self, losses: &[f64]) {
        for (sum, loss) in self.sums.iter_mut().zip(losses) {
            *sum += loss;
        }
        self.steps += 1;
    }

    /// Each task's mean loss over the window, which is then emptied; `None` when it holds no step.
    pub fn take_means(&mut self, towers: &[String]) -> Option<BTreeMap<String, f64>> {
        if self.steps == 0 {
            return None;
        }
        let means = towers.iter().zip(&self.sums).map(|(t, s)| (t.clone(), s / self.steps as f64)).collect();
        self.sums.iter_mut().for_each(|s| *s = 0.0);
        self.steps = 0;
        Some(means)
    }
}

/// Appends `{"global_step": step, "losses": {task: mean}}` to the model dir's loss log.
pub fn append(model_dir: &Path, step: u64, losses: &BTreeMap<String, f64>) -> Result<()> {
    let path = model_dir.join(LOSS_LOG_FILE);
    let line = serde_json::json!({ "global_step": step, "losses": losses }).to_string();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| io_err(&path, e))?;
    writeln!(file, "{line}").map_err(|e| io_err(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(total: Option<u64>, log_every: u64, steps: u64) -> Vec<u64> {
        (1..=steps).filter(|&s| logs_at(s, total, log_every)).collect()
    }

    #[test]
    fn a_known_length_is_cut_into_twenty_plus_the_log_every_steps() {
        // 48 steps: every 48 / 20 = 2 steps, plus every 10th.
        let expected: Vec<u64> = (1..=48).filter(|s| s % 2 == 0 || s % 10 == 0).collect();
        assert_eq!(logged(Some(48), 10, 48), expected);
        assert_eq!(expected.len(), 24);
        // Shorter than 20 steps: every step.
        assert_eq!(logged(Some(7), 100, 7), vec![1, 2, 3, 4, 5, 6, 7]);
        // 1000 steps, log_every 330: every 50, and 330, 660, 990.
        let long = logged(Some(1000), 330, 1000);
        assert_eq!(long.len(), 20 + 3);
        assert!(long.contains(&50) && long.contains(&330) && long.contains(&990) && !long.contains(&51));
    }

    #[test]
    fn an_unknown_length_doubles_the_interval_every_twenty_points() {
        let steps = logged(None, 1_000_000, 140);
        let mut expected: Vec<u64> = (1..=20).collect();
        expected.extend((1..=20).map(|j| 20 + 2 * j)); // 22 ..= 60
        expected.extend((1..=20).map(|j| 60 + 4 * j)); // 64 ..= 140
        assert_eq!(steps, expected);
        // Any run of at least 20 steps has at least 20 points, and a long one not too many.
        for n in [20, 21, 48, 96, 1000, 12_345] {
            assert!(logged(None, 1_000_000, n).len() >= 20, "{n} steps");
        }
        assert!((300..330).contains(&logged(None, 1_000_000, 1_000_000).len()));
        // log_every adds its own steps.
        assert!(logged(None, 7, 140).contains(&7));
        assert!(!logs_at(0, None, 1));
    }

    #[test]
    fn the_window_means_each_task_and_empties() {
        let towers = vec!["a".to_string(), "b".to_string()];
        let mut window = LossWindow::new(2);
        assert_eq!(window.take_means(&towers), None);
        window.add(&[1.0, 4.0]);
        window.add(&[3.0, 8.0]);
        let means = window.take_means(&towers).expect("two steps");
        assert_eq!(means["a"], 2.0);
        assert_eq!(means["b"], 6.0);
        assert_eq!(window.take_means(&towers), None);
    }
}
