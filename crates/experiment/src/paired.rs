//! Paired comparisons of two models trained with the same seeds: the per-seed differences, their mean and sample
//! standard deviation, and a two-sided paired t-test, so that a gain can be told from seed noise.

use super::summary::markdown_table;
use super::RunResult;

/// `metric(a) - metric(b)` per seed that both models ran, and the paired t-test of those differences.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    pub seeds: Vec<u64>,
    pub differences: Vec<f64>,
    pub mean: f64,
    /// Sample standard deviation (n - 1) of the differences; 0 for one seed.
    pub sd: f64,
    /// `mean / (sd / sqrt(n))` with n - 1 degrees of freedom; `None` with fewer than 2 seeds or when every
    /// difference is the same (sd 0).
    pub t: Option<f64>,
    /// Two-sided p-value of `t`: the probability of a |t| at least this large if the models did not differ.
    pub p: Option<f64>,
}

impl Paired {
    /// Pairs `a`'s and `b`'s runs by seed (seeds missing from either, or without a finite value, are left out);
    /// `None` when no seed pairs up.
    pub fn of(a: &[RunResult], b: &[RunResult], metric: &str) -> Option<Paired> {
        let value = |r: &RunResult| r.metrics.get(metric).copied().flatten().filter(|v| v.is_finite());
        let mut pairs: Vec<(u64, f64)> = a
            .iter()
            .filter_map(|ra| {
                let rb = b.iter().find(|rb| rb.seed == ra.seed)?;
                Some((ra.seed, value(ra)? - value(rb)?))
            })
            .collect();
        pairs.sort_by_key(|(seed, _)| *seed);
        if pairs.is_empty() {
            return None;
        }
        let differences: Vec<f64> = pairs.iter().map(|(_, d)| *d).collect();
        let n = differences.len() as f64;
        let mean = differences.iter().sum::<f64>() / n;
        let sd = if differences.len() > 1 {
            (differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        let t = (differences.len() > 1 && sd > 0.0).then(|| mean / (sd / n.sqrt()));
        let p = t.map(|t| student_t_two_sided_p(t, differences.len() as u64 - 1));
        Some(Paired { seeds: pairs.iter().map(|(s, _)| *s).collect(), differences, mean, sd, t, p })
    }
}

/// P(|T| >= |t|) for Student's t with `df` >= 1 degrees of freedom, from the closed forms for integer df
/// (Abramowitz & Stegun 26.7.3 and 26.7.4), with theta = atan(|t| / sqrt(df)).
pub fn student_t_two_sided_p(t: f64, df: u64) -> f64 {
    let theta = (t.abs() / (df.max(1) as f64).sqrt()).atan();
    let (sin, cos2) = (theta.sin(), theta.cos().powi(2));
    // A = P(|T| < |t|).
    let inside = if df.is_multiple_of(2) {
        // sin(theta) * (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... up to cos^(df-2)).
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..df / 2 {
            term *= cos2 * (2 * k - 1) as f64 / (2 * k) as f64;
            sum += term;
        }
        sin * sum
    } else {
        // 2/pi * (theta + sin(theta) * (cos + 2/3 cos^3 + 2*4/(3*5) cos^5 + ... up to cos^(df-2))).
        let cos = theta.cos();
        let mut sum = 0.0;
        if df > 1 {
            let mut term = cos;
            sum = cos;
            for k in 1..(df - 1) / 2 {
                term *= cos2 * (2 * k) as f64 / (2 * k + 1) as f64;
                sum += term;
            }
        }
        2.0 / std::f64::consts::PI * (theta + sin * sum)
    };
    (1.0 - inside).clamp(0.0, 1.0)
}

/// One row per comparison: `(label, task, paired)`; a column per seed, then mean ± sd, t (df) and p.
pub fn paired_table(comparisons: &[(String, String, Option<Paired>)]) -> String {
    let mut seeds: Vec<u64> = comparisons.iter().flat_map(|(_, _, p)| p.iter().flat_map(|p| p.seeds.clone())).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let mut headers = vec!["comparison".to_string(), "task".to_string()];
    headers.extend(seeds.iter().map(|s| format!("seed {s}")));
    headers.extend(["mean ± sd".into(), "paired t (df)".into(), "p (two-sided)".into()]);
    let rows: Vec<Vec<String>> = comparisons
        .iter()
        .map(|(label, task, paired)| {
            let mut row = vec![label.clone(), task.clone()];
            row.extend(seeds.iter().map(|s| {
                paired
                    .as_ref()
                    .and_then(|p| p.seeds.iter().position(|x| x == s).map(|i| format!("{:+.5}", p.differences[i])))
                    .unwrap_or_else(|| "—".into())
            }));
            match paired {
                Some(p) => {
                    row.push(format!("{:+.5} ± {:.5}", p.mean, p.sd));
                    row.push(p.t.map_or("—".into(), |t| format!("{t:+.2} ({})", p.seeds.len() - 1)));
                    row.push(p.p.map_or("—".into(), |p| format!("{p:.3}")));
                }
                None => row.extend(["n/a".to_string(), "—".into(), "—".into()]),
            }
            row
        })
        .collect();
    markdown_table(&headers, &rows)
}
