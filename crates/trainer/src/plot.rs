//! Charts as PNG files, drawn with plotters on an RGB buffer: panels in a grid under one caption, each with a
//! title, axis labels, ticks and a legend. Text uses the DejaVu Sans subset compiled in (`fonts/`), so no system
//! font is looked up.

use std::path::Path;
use std::sync::OnceLock;

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{file_err, io_err, Result, TrainError};

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
const CAPTION_HEIGHT: u32 = 44;

/// One point of a series, with an optional error bar from `low` to `high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub error: Option<(f64, f64)>,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y, error: None }
    }
}

/// A named series; its name is its legend entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

/// Where the x axis puts its ticks.
#[derive(Debug, Clone, PartialEq)]
pub enum XTicks {
    /// Chosen by plotters from the data's range.
    Auto,
    /// Exactly these, each with its label (categories such as model names, or the correlations measured).
    At(Vec<(f64, String)>),
}

/// Where a panel's legend goes (none when a panel has one unnamed series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    None,
    UpperRight,
    LowerRight,
    UpperLeft,
    LowerLeft,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: XTicks,
    pub series: Vec<Series>,
    /// Join each series' points with a line (off for categories such as models).
    pub lines: bool,
    /// Write each point's value beside it (for panels of a few points).
    pub value_labels: bool,
    pub legend: Legend,
}

/// Panels laid out row by row, `columns` to a row, under `caption`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub caption: String,
    pub panels: Vec<Panel>,
    pub columns: usize,
    /// Pixels of one panel.
    pub panel_size: (u32, u32),
}

impl Figure {
    /// Width and height of the picture in pixels.
    pub fn size(&self) -> (u32, u32) {
        let columns = self.columns.clamp(1, self.panels.len().max(1));
        let rows = self.panels.len().max(1).div_ceil(columns);
        (self.panel_size.0 * columns as u32, self.panel_size.1 * rows as u32 + CAPTION_HEIGHT)
    }
}

/// The compiled-in font, registered once per process; `false` if it were unreadable.
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// Writes `figure` to `path` as an RGB PNG.
pub fn draw(path: &Path, figure: &Figure) -> Result<()> {
    if !font_ready() {
        return Err(file_err(path, "the compiled-in chart font could not be read"));
    }
    let (width, height) = figure.size();
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    render(&mut pixels, (width, height), figure).map_err(|e| file_err(path, format!("drawing the chart: {e}")))?;
    let file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let png_err = |source: png::EncodingError| TrainError::Png { path: path.to_path_buf(), source };
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(&pixels).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn render(pixels: &mut [u8], size: (u32, u32), figure: &Figure) -> DrawResult {
    let root = BitMapBackend::with_buffer(pixels, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(CAPTION_HEIGHT);
    top.draw_text(&figure.caption, &(FONT, 22).into_font().color(&BLACK), (16, 12))?;
    let columns = figure.columns.clamp(1, figure.panels.len().max(1));
    let rows = figure.panels.len().max(1).div_ceil(columns);
    for (area, panel) in body.split_evenly((rows, columns)).iter().zip(&figure.panels) {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

/// The data's x and y ranges (error bars included), padded so no point sits on the frame.
fn ranges(panel: &Panel) -> Option<((f64, f64), (f64, f64))> {
    let points = || panel.series.iter().flat_map(|s| &s.points).filter(|p| p.x.is_finite() && p.y.is_finite());
    let mut xs: Vec<f64> = points().map(|p| p.x).collect();
    if let XTicks::At(ticks) = &panel.x_ticks {
        xs.extend(ticks.iter().map(|t| t.0));
    }
    let ys: Vec<f64> = points()
        .flat_map(|p| [Some(p.y), p.error.map(|e| e.0), p.error.map(|e| e.1)])
        .flatten()
        .filter(|y| y.is_finite())
        .collect();
    let span = |values: &[f64], below: f64, above: f64| -> Option<(f64, f64)> {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo > hi {
            return None;
        }
        let width = if hi > lo { hi - lo } else { lo.abs().max(1.0) * 0.1 };
        Some((lo - width * below, hi + width * above))
    };
    // Room for the legend's box above (or below) the data, and for value labels right of the last point.
    let legend_room = 0.1 + 0.1 * panel.series.len() as f64;
    let (below, above) = match panel.legend {
        Legend::UpperRight | Legend::UpperLeft => (0.08, legend_room),
        Legend::LowerRight | Legend::LowerLeft => (legend_room, 0.08),
        Legend::None => (0.08, 0.08),
    };
    let x_pad = if panel.value_labels { 0.2 } else { 0.06 };
    Some((span(&xs, x_pad, x_pad)?, span(&ys, below, above)?))
}

/// Decimals that tell apart values `span` apart: three significant digits of the span.
pub fn decimals_for(span: f64) -> usize {
    if !(span.is_finite() && span > 0.0) {
        return 4;
    }
    (2.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
}

fn draw_panel(area: &DrawingArea<BitMapBackend<'_>, Shift>, panel: &Panel) -> DrawResult {
    let Some(((x0, x1), (y0, y1))) = ranges(panel) else {
        let style = (FONT, 16).into_font().color(&BLACK);
        area.draw_text(&format!("{}: no data", panel.title), &style, (60, 40))?;
        return Ok(());
    };
    let digits = decimals_for(y1 - y0);
    let ticks = match &panel.x_ticks {
        XTicks::At(ticks) => ticks.clone(),
        XTicks::Auto => nice_ticks(x0, x1).into_iter().map(|x| (x, format_axis(x, x1 - x0))).collect(),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(76)
        .build_cartesian_2d(TickedAxis { lo: x0, hi: x1, ticks: ticks.iter().map(|t| t.0).collect() }, y0..y1)?;
    let x_label = |x: &f64| ticks.iter().find(|t| (t.0 - x).abs() < 1e-9).map(|t| t.1.clone()).unwrap_or_default();
    let y_label = |y: &f64| format!("{y:.digits$}");
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (i, series) in panel.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let points: Vec<&Point> = series.points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).collect();
        let line_style = colour.stroke_width(2);
        if panel.lines && points.len() > 1 {
            chart.draw_series(LineSeries::new(points.iter().map(|p| (p.x, p.y)), line_style))?;
        }
        for (p, (low, high)) in points.iter().filter_map(|p| p.error.map(|e| (p, e))) {
            chart.draw_series(std::iter::once(ErrorBar::new_vertical(p.x, low, p.y, high, line_style, 10)))?;
        }
        let marker = if points.len() > 40 { 2 } else { 4 };
        let annotation = chart.draw_series(points.iter().map(|p| Circle::new((p.x, p.y), marker, colour.filled())))?;
        if panel.legend != Legend::None {
            annotation
                .label(&series.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3)));
        }
        if panel.value_labels {
            let style = (FONT, 13).into_font().color(&colour);
            chart.draw_series(
                points.iter().map(|p| Text::new(format!("  {:.digits$}", p.y), (p.x, p.y), style.clone())),
            )?;
        }
    }
    let position = match panel.legend {
        Legend::None => return Ok(()),
        Legend::UpperRight => SeriesLabelPosition::UpperRight,
        Legend::LowerRight => SeriesLabelPosition::LowerRight,
        Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
        Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
    };
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}

/// A linear f64 axis from `lo` to `hi` whose ticks are exactly `ticks` (model names or measured correlations
/// need ticks where the data is, not at round numbers).
struct TickedAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// About eight ticks at round numbers (1, 2 or 5 times a power of ten) within `lo..hi`.
fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / 8.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// A tick label with as many decimals as the axis span needs (none for steps).
fn format_axis(value: f64, span: f64) -> String {
    if span >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.*}", decimals_for(span).saturating_sub(1))
    }
}
