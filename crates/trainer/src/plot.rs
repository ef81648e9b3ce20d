//! Training curves as a PNG, drawn by hand (no fonts): the top panel is each task's loss against the step, the
//! bottom panel each AUC metric against the step; one colour per series, in the order `plot` lists them.

use std::path::Path;

use crate::error::{io_err, Result};

const WIDTH: usize = 800;
const PANEL: usize = 300;
const MARGIN: usize = 20;
const COLOURS: [[u8; 3]; 8] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [255, 127, 14],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [23, 190, 207],
];

/// A named series of (step, value) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

struct Canvas {
    pixels: Vec<u8>,
    height: usize,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < WIDTH && (y as usize) < self.height {
            let i = (y as usize * WIDTH + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&colour);
        }
    }

    /// Bresenham line, 2 px thick.
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: [u8; 3]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, colour);
            self.set(x, y + 1, colour);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn panel(&mut self, top: usize, series: &[Series]) {
        let grey = [160, 160, 160];
        let (left, right) = (MARGIN as i64, (WIDTH - MARGIN) as i64);
        let (y_top, y_bottom) = ((top + MARGIN) as i64, (top + PANEL - MARGIN) as i64);
        self.line((left, y_bottom), (right, y_bottom), grey);
        self.line((left, y_top), (left, y_bottom), grey);
        let points = series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in points {
            x_min = x_min.min(x);
            x_max = x_max.max(x);
            y_min = y_min.min(y);
            y_max = y_max.max(y);
        }
        if x_min > x_max {
            return;
        }
        let x_span = (x_max - x_min).max(1e-12);
        let y_span = (y_max - y_min).max(1e-12);
        let to_px = |(x, y): (f64, f64)| {
            let px = left + ((x - x_min) / x_span * (right - left) as f64) as i64;
            let py = y_bottom - ((y - y_min) / y_span * (y_bottom - y_top) as f64) as i64;
            (px, py)
        };
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let pts: Vec<(i64, i64)> =
                s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()).map(|&p| to_px(p)).collect();
            if pts.len() == 1 {
                for d in -2..=2 {
                    self.line((pts[0].0 - 2, pts[0].1 + d), (pts[0].0 + 2, pts[0].1 + d), colour);
                }
            }
            for pair in pts.windows(2) {
                self.line(pair[0], pair[1], colour);
            }
        }
    }
}

/// Writes `losses` (top) and `metrics` (bottom) to `path` as an RGB PNG.
pub fn plot(path: &Path, losses: &[Series], metrics: &[Series]) -> Result<()> {
    let height = 2 * PANEL;
    let mut canvas = Canvas { pixels: vec![255; WIDTH * height * 3], height };
    canvas.panel(0, losses);
    canvas.panel(PANEL, metrics);
    let file = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| io_err(path, e))?;
    writer.write_image_data(&canvas.pixels).map_err(|e| io_err(path, e))?;
    writer.finish().map_err(|e| io_err(path, e))
}

/// Colour of the `i`-th series, for a legend printed beside the picture.
pub fn colour_name(i: usize) -> &'static str {
    ["blue", "red", "green", "orange", "purple", "brown", "pink", "cyan"][i % COLOURS.len()]
}
