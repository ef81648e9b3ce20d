//! Reading an experiment's `results.md` back: its heading and the per-run tables under `## Runs` (one, or one per
//! `### correlation P`), so its chart can be redrawn without the run folders ([`redraw_chart`]).

use std::collections::BTreeMap;
use std::path::Path;

use super::chart::{census_chart, synthetic_chart, ChartTitle};
use super::RunResult;
use crate::error::{file_err, io_err, Result};

/// Which experiment wrote a results file, told by its heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Experiment {
    Census,
    Synthetic,
}

/// One section of a results file: its parameter (if any) and the runs per model.
pub type Section = (Option<f64>, BTreeMap<String, Vec<RunResult>>);

/// The runs of a results file.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsFile {
    pub experiment: Experiment,
    /// The heading without `# `, e.g. `Census-Income (KDD): test AUC`.
    pub heading: String,
    /// The split the runs were scored on (`test`, `validation`): the heading's word after `: `.
    pub split: String,
    /// Census: one section without a correlation; synthetic: one per correlation, in file order.
    pub sections: Vec<Section>,
}

fn bad(path: &Path, line: usize, message: impl std::fmt::Display) -> crate::ExperimentError {
    file_err(path, format!("line {line}: {message}"))
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
}

/// Parses the text of a results file written by `plec experiment census|synthetic`; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<ResultsFile> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let first = lines.next().map(|(_, l)| l).unwrap_or_default();
    let heading = first.strip_prefix("# ").unwrap_or_default().trim().to_string();
    let experiment = if heading.starts_with("Census-Income") {
        Experiment::Census
    } else if heading.starts_with("Synthetic") {
        Experiment::Synthetic
    } else {
        return Err(bad(path, 1, "expected `# Census-Income ...` or `# Synthetic ...`, the heading of a results file"));
    };
    let split = heading
        .split_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .ok_or_else(|| bad(path, 1, "expected `: <split> <metric>` in the heading"))?
        .to_string();
    if !lines.any(|(_, l)| l.trim() == "## Runs") {
        return Err(file_err(path, "no `## Runs` section (the per-run tables)"));
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut correlation = None;
    let mut header: Option<Vec<String>> = None;
    for (number, line) in lines {
        let line = line.trim();
        if let Some(p) = line.strip_prefix("### correlation ") {
            let p: f64 = p.trim().parse().map_err(|_| bad(path, number, format!("`{p}` is not a correlation")))?;
            correlation = Some(p);
            header = None;
        } else if line.starts_with("| run | seed |") {
            if experiment == Experiment::Synthetic && correlation.is_none() {
                return Err(bad(path, number, "a run table before any `### correlation P` heading"));
            }
            header = Some(cells(line));
            sections.push((correlation, BTreeMap::new()));
        } else if line.starts_with("| ---") {
            continue;
        } else if let (Some(columns), true) = (&header, line.starts_with('|')) {
            let run = parse_run(&cells(line), columns, path, number)?;
            if let Some((_, runs)) = sections.last_mut() {
                runs.entry(run.arm.clone()).or_default().push(run);
            }
        } else {
            header = None;
        }
    }
    if sections.iter().all(|(_, runs)| runs.is_empty()) {
        return Err(file_err(path, "no runs under `## Runs` (expected a `| run | seed | <metric> ... |` table)"));
    }
    Ok(ResultsFile { experiment, heading, split, sections })
}

/// One row of a run table: run, seed, then a number or `—` per metric column.
fn parse_run(row: &[String], columns: &[String], path: &Path, line: usize) -> Result<RunResult> {
    if row.len() != columns.len() {
        return Err(bad(
            path,
            line,
            format!("{} cells, expected {} as in the table's header", row.len(), columns.len()),
        ));
    }
    let seed = row[1].parse().map_err(|_| bad(path, line, format!("seed `{}` is not a whole number", row[1])))?;
    let mut metrics = BTreeMap::new();
    for (name, cell) in columns.iter().zip(row).skip(2) {
        let value = match cell.as_str() {
            "—" => None,
            number => Some(number.parse::<f64>().map_err(|_| {
                bad(path, line, format!("column `{name}`: `{number}` is not a number (or `—` for none)"))
            })?),
        };
        metrics.insert(name.clone(), value);
    }
    Ok(RunResult { arm: row[0].clone(), seed, metrics })
}

/// Draws the chart of the results file `results` into `chart`, as the experiment that wrote it would.
pub fn redraw_chart(results: &Path, chart: &Path) -> Result<()> {
    let text = std::fs::read_to_string(results).map_err(|e| io_err(results, e))?;
    let file = parse(&text, results)?;
    let title = ChartTitle { heading: &file.heading, split: &file.split };
    match file.experiment {
        Experiment::Census => {
            let runs = file.sections.into_iter().next().map(|(_, runs)| runs).unwrap_or_default();
            census_chart(chart, title, &runs, &super::census::MULTI_TASK)
        }
        Experiment::Synthetic => {
            let sections: Vec<(f64, BTreeMap<String, Vec<RunResult>>)> =
                file.sections.into_iter().filter_map(|(p, runs)| Some((p?, runs))).collect();
            synthetic_chart(chart, title, &sections, &super::synthetic::MULTI_TASK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{correlation_runs, runs_table};

    fn run(arm: &str, seed: u64, metrics: &[(&str, Option<f64>)]) -> RunResult {
        let metrics = metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        RunResult { arm: arm.into(), seed, metrics }
    }

    /// Values with six decimals: the tables' precision, so they read back exactly.
    fn census_runs() -> BTreeMap<String, Vec<RunResult>> {
        let mut all = BTreeMap::new();
        for (arm, base) in [("single_income", 0.941335), ("mmoe", 0.940614), ("ple", 0.941931)] {
            let runs = (1..=3)
                .map(|seed| {
                    let income = Some(base - 0.000123 * seed as f64);
                    run(arm, seed, &[("auc_income", income), ("auc_never_married", Some(0.993591))])
                })
                .collect();
            all.insert(arm.to_string(), runs);
        }
        all.insert("single_never_married".into(), vec![run("single_never_married", 1, &[("auc_income", None)])]);
        all
    }

    fn round6(runs: &BTreeMap<String, Vec<RunResult>>) -> BTreeMap<String, Vec<RunResult>> {
        let mut out = runs.clone();
        for r in out.values_mut().flatten() {
            for v in r.metrics.values_mut() {
                *v = v.map(|x| (x * 1e6).round() / 1e6);
            }
        }
        out
    }

    fn close(a: &BTreeMap<String, Vec<RunResult>>, b: &BTreeMap<String, Vec<RunResult>>) {
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        assert_eq!(a.values().flatten().count(), b.values().flatten().count());
        for (x, y) in a.values().flatten().zip(b.values().flatten()) {
            assert_eq!((&x.arm, x.seed), (&y.arm, y.seed));
            // The table has a column per metric of any run: a metric a run lacks reads back as `None`.
            for k in x.metrics.keys().chain(y.metrics.keys()) {
                let (v, w) = (x.metrics.get(k).copied().flatten(), y.metrics.get(k).copied().flatten());
                match (&v, w) {
                    (Some(v), Some(w)) => assert!((v - w).abs() < 1e-12, "{} {k}: {v} vs {w}", x.arm),
                    (v, w) => assert_eq!(*v, w, "{} {k}", x.arm),
                }
            }
        }
    }

    #[test]
    fn a_census_run_table_reads_back_to_the_same_numbers() {
        let runs = census_runs();
        let text = format!("# Census-Income (KDD): validation AUC\n\nprose\n\n## Runs\n\n{}", runs_table(&runs, &[]));
        let file = parse(&text, Path::new("r.md")).expect("parse");
        assert_eq!((file.experiment, file.split.as_str()), (Experiment::Census, "validation"));
        assert_eq!(file.heading, "Census-Income (KDD): validation AUC");
        assert_eq!(file.sections.len(), 1);
        assert_eq!(file.sections[0].0, None);
        close(&file.sections[0].1, &round6(&runs));
    }

    #[test]
    fn synthetic_run_tables_read_back_per_correlation() {
        let at = |p: f64| {
            let mut runs = BTreeMap::new();
            for arm in ["single_task1", "mmoe"] {
                let mse = Some(0.0123456789 + p / 100.0);
                runs.insert(arm.to_string(), vec![run(arm, 2, &[("mean_squared_error_task1", mse)])]);
            }
            runs
        };
        let mut text = "# Synthetic two-task regression: test MSE (lower is better)\n\n## Runs\n\n".to_string();
        for p in [0.0, 0.5, 1.0] {
            text.push_str(&correlation_runs(p, &at(p)));
        }
        let file = parse(&text, Path::new("r.md")).expect("parse");
        assert_eq!(file.experiment, Experiment::Synthetic);
        let ps: Vec<Option<f64>> = file.sections.iter().map(|s| s.0).collect();
        assert_eq!(ps, [Some(0.0), Some(0.5), Some(1.0)]);
        for (p, runs) in &file.sections {
            close(runs, &round6(&at(p.unwrap_or(f64::NAN))));
        }
    }

    #[test]
    fn bad_files_are_refused_naming_the_line() {
        let path = Path::new("r.md");
        let message = |text: &str| parse(text, path).expect_err("refused").to_string();
        assert!(message("# Other\n").contains("line 1"));
        assert!(message("# Census-Income (KDD): test AUC\n\nno runs\n").contains("## Runs"));
        let table = "| run | seed | auc_income |\n| --- | --- | --- |\n| ple | 1 | 0.9x |\n";
        let text = format!("# Census-Income (KDD): test AUC\n## Runs\n{table}");
        let m = message(&text);
        assert!(m.contains("r.md") && m.contains("line 5") && m.contains("auc_income") && m.contains("0.9x"), "{m}");
        let short = "# Census-Income (KDD): test AUC\n## Runs\n| run | seed | a |\n| --- |\n| ple | 1 |\n";
        assert!(message(short).contains("line 5"));
        let orphan = format!("# Synthetic two-task regression: test MSE\n## Runs\n{table}");
        assert!(message(&orphan).contains("correlation"));
    }
}
