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
/// Returns the legend and each panel's vertical span.
pub fn census_chart(path: &Path, rows: &[Row]) -> Result<(Vec<String>, [String; 2])> {
    let panel = |task: usize| -> Vec<Series> {
        rows.iter()
            .enumerate()
            .map(|(i, row)| match row.stats.get(task).copied().flatten() {
                Some(s) => error_bar(&row.model, i as f64, s.mean, s.sd),
                None => Series { name: row.model.clone(), points: Vec::new() },
            })
            .collect()
    };
    let (top, bottom) = (panel(0), panel(1));
    plot(path, &top, &bottom)?;
    Ok((legend(rows.iter().map(|r| r.model.as_str())), [y_span(&top), y_span(&bottom)]))
}

/// Synthetic: top, each multi-task model's gain (mean over tasks) against the correlation; bottom, each model's
/// metric (mean over tasks) against the correlation, the single-task baseline first.
/// Returns each panel's legend and vertical span.
pub fn synthetic_chart(path: &Path, by_correlation: &[(f64, Vec<Row>)]) -> Result<[(Vec<String>, String); 2]> {
    let Some((_, first)) = by_correlation.first() else {
        plot(path, &[], &[])?;
        return Ok([(Vec::new(), y_span(&[])), (Vec::new(), y_span(&[]))]);
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
    Ok([
        (legend(first[1..].iter().map(|r| r.model.as_str())), y_span(&gains)),
        (legend(first.iter().map(|r| r.model.as_str())), y_span(&metrics)),
    ])
}

/// `"y from <min> to <max>"`: the vertical span of a panel (the picture has no axis labels).
pub fn y_span(series: &[Series]) -> String {
    let ys = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|y| y.is_finite());
    let (lo, hi) = ys.fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if lo > hi {
        "no data".into()
    } else {
        format!("y from {lo:.5} to {hi:.5}")
    }
}

/// `"<colour>: <name>"` per series, in plotting order.
fn legend<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    names.enumerate().map(|(i, name)| format!("{}: {name}", colour_name(i))).collect()
}
