//! The experiments' charts, drawn with [`crate::plot`] (no fonts: the legend is written beside the picture).

use std::path::Path;

use super::summary::Row;
use crate::error::Result;
use crate::plot::{colour_name, plot, Series};

/// Half the width of the mean tick of an error bar, in x units (models sit at x = 0, 1, 2, ...).
const TICK: f64 = 0.15;

/// An error bar at `x`: a horizontal tick at the mean and a vertical line from mean - sd to mean + sd.
fn error_bar(name: &str, x: f64, mean: f64, sd: f64) -> Series {
    let points = vec![(x - TICK, mean), (x + TICK, mean), (x, mean), (x, mean - sd), (x, mean + sd)];
    Series { name: name.to_string(), points }
}

/// Census: the first task's metric per model on top, the second's below; one colour per model (row order).
pub fn census_chart(path: &Path, rows: &[Row]) -> Result<Vec<String>> {
    let panel = |task: usize| -> Vec<Series> {
        rows.iter()
            .enumerate()
            .map(|(i, row)| match row.stats.get(task).copied().flatten() {
                Some(s) => error_bar(&row.model, i as f64, s.mean, s.sd),
                None => Series { name: row.model.clone(), points: Vec::new() },
            })
            .collect()
    };
    plot(path, &panel(0), &panel(1))?;
    Ok(legend(rows.iter().map(|r| r.model.as_str())))
}

/// Synthetic: top, each multi-task model's gain (mean over tasks) against the correlation; bottom, each model's
/// metric (mean over tasks) against the correlation, the single-task baseline first.
pub fn synthetic_chart(path: &Path, by_correlation: &[(f64, Vec<Row>)]) -> Result<(Vec<String>, Vec<String>)> {
    let Some((_, first)) = by_correlation.first() else {
        plot(path, &[], &[])?;
        return Ok((Vec::new(), Vec::new()));
    };
    let mean = |values: Vec<Option<f64>>| -> Option<f64> {
        let values: Vec<f64> = values.into_iter().collect::<Option<_>>()?;
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let series = |index: usize, value: &dyn Fn(&Row) -> Option<f64>| -> Series {
        let points = by_correlation.iter().filter_map(|(p, rows)| Some((*p, value(rows.get(index)?)?))).collect();
        Series { name: first[index].model.clone(), points }
    };
    let gains: Vec<Series> = (1..first.len()).map(|i| series(i, &|row: &Row| mean(row.gains.clone()))).collect();
    let metrics: Vec<Series> = (0..first.len())
        .map(|i| series(i, &|row: &Row| mean(row.stats.iter().map(|s| s.map(|s| s.mean)).collect())))
        .collect();
    plot(path, &gains, &metrics)?;
    Ok((legend(first[1..].iter().map(|r| r.model.as_str())), legend(first.iter().map(|r| r.model.as_str()))))
}

/// `"<colour>: <name>"` per series, in plotting order.
fn legend<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    names.enumerate().map(|(i, name)| format!("{}: {name}", colour_name(i))).collect()
}
