//! Line charts: lines through points (or a scatter of markers), translucent
//! confidence bands, markers.

use std::iter;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{extent, Axis, Padding, Scale, Tick};
use crate::color::pick;
use crate::frame::{self, draw_err, fit_x_axis, rgb, y_tick_target, Grid, PlaneSpec, Theme};
use crate::legend::{Entry, Swatch};
use crate::marker::Marker;
use crate::spec::{Figure, LineChart, LineSeries};
use crate::PlotError;

/// Opacity of confidence bands: light enough that overlapping bands and
/// the lines through them stay readable.
const BAND_OPACITY: f64 = 0.2;

pub(crate) fn legend(chart: &LineChart) -> Vec<Entry> {
    let entry = |(i, s): (usize, &LineSeries)| Entry {
        label: s.name.clone(),
        swatch: if chart.lines {
            Swatch::Line {
                color: pick(s.color, i),
                marker: chart.markers.then(|| Marker::nth(i)),
            }
        } else {
            Swatch::Point {
                color: pick(s.color, i),
                marker: Marker::nth(i),
            }
        },
    };
    chart.series.iter().enumerate().map(entry).collect()
}

/// A series in plot coordinates, sorted by x.
struct Prepared {
    color: RGBColor,
    marker: Marker,
    points: Vec<(f64, f64)>,
    /// (x, low, high) per point.
    band: Option<Vec<(f64, f64, f64)>>,
}

/// Most distinct x values a log axis labels one by one.
const MAX_DATA_TICKS: usize = 12;

/// A tick label: integers as they are, others with up to 3 significant digits.
fn short_number(v: f64) -> String {
    if v == v.round() && v.abs() < 1e6 {
        format!("{v:.0}")
    } else {
        let digits = (2 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
        let s = format!("{v:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        s
    }
}

fn prepare(chart: &LineChart, sx: Scale, sy: Scale) -> Vec<Prepared> {
    let n = chart.series.len();
    let shift = if chart.dodge && n > 1 {
        let xs = extent(
            chart
                .series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| sx.to_plot(p.0))),
        );
        xs.map_or(0.0, |(lo, hi)| 0.015 * (hi - lo).max(f64::MIN_POSITIVE))
    } else {
        0.0
    };
    let prepare_one = |(i, s): (usize, &LineSeries)| {
        // Sort by x (stable on ties) so a sweep's rows can come in any order.
        let mut order: Vec<usize> = (0..s.points.len()).collect();
        order.sort_by(|&a, &b| s.points[a].0.total_cmp(&s.points[b].0));
        let offset = shift * (i as f64 - (n as f64 - 1.0) / 2.0);
        let x_of = |j: usize| sx.to_plot(s.points[j].0) + offset;
        Prepared {
            color: rgb(pick(s.color, i)),
            marker: Marker::nth(i),
            points: order
                .iter()
                .map(|&j| (x_of(j), sy.to_plot(s.points[j].1)))
                .collect(),
            band: s.ci.as_ref().map(|ci| {
                order
                    .iter()
                    .map(|&j| (x_of(j), sy.to_plot(ci[j].0), sy.to_plot(ci[j].1)))
                    .collect()
            }),
        }
    };
    chart.series.iter().enumerate().map(prepare_one).collect()
}

pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    chart: &LineChart,
    theme: &Theme,
) -> Result<(), PlotError> {
    let (sx, sy) = (Scale::from_log(chart.log_x), Scale::from_log(chart.log_y));
    let series = prepare(chart, sx, sy);
    let empty = || PlotError::Empty("a line chart needs at least one point");
    let xs = extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.0))).ok_or_else(empty)?;
    let band_ends = series
        .iter()
        .flat_map(|s| s.band.iter().flatten().flat_map(|b| [b.1, b.2]));
    let ys = extent(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(band_ends),
    )
    .ok_or_else(empty)?;
    let ys = chart
        .reference_lines
        .iter()
        .map(|(v, _)| sy.to_plot(*v))
        .fold(ys, |(lo, hi), v| (lo.min(v), hi.max(v)));
    let mut x = fit_x_axis(area, theme, |target| {
        Axis::fit("x", sx, xs, Padding::both(0.05), target)
    })?;
    if chart.log_x {
        // A log axis labels the data's own x values when they are few (a
        // sweep's 1, 2, 4, 8, 64), not only whole decades.
        let mut values: Vec<f64> = chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        if (2..=MAX_DATA_TICKS).contains(&values.len()) {
            x.ticks = values
                .iter()
                .map(|&v| Tick {
                    pos: v.log10(),
                    label: short_number(v),
                })
                .collect();
        }
    }
    let y = Axis::fit("y", sy, ys, Padding::both(0.05), y_tick_target(area, theme))?;
    let spec = PlaneSpec {
        x: &x,
        y: &y,
        x_label: &fig.x_label,
        y_label: &fig.y_label,
        grid: Grid { x: true, y: true },
        x_tick_size: theme.tick_size(),
        y_tick_size: theme.tick_size(),
    };
    let mut plane = frame::plane(area, &spec, theme)?;

    // Bands first, so no band covers a line.
    for s in &series {
        if let Some(band) = &s.band {
            draw_band(&plane, band, s.color, theme)?;
        }
    }
    for s in series.iter().filter(|_| chart.lines) {
        let line = PathElement::new(s.points.clone(), s.color.stroke_width(theme.line_width()));
        plane.draw_series(iter::once(line)).map_err(draw_err)?;
    }
    let pixels = frame::pixel_area(&plane);
    let grey = RGBColor(0x55, 0x55, 0x55);
    // Labels already drawn: (left, right, top, bottom) in pixels.
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    for (v, label) in &chart.reference_lines {
        let yv = sy.to_plot(*v);
        let (x0, x1) = (x.lo, x.hi);
        let dashes = 40;
        for k in 0..dashes {
            let a = x0 + (x1 - x0) * k as f64 / dashes as f64;
            let b = a + (x1 - x0) * 0.6 / dashes as f64;
            let dash = PathElement::new(
                vec![(a, yv), (b, yv)],
                grey.stroke_width(theme.line_width()),
            );
            plane.draw_series(iter::once(dash)).map_err(draw_err)?;
        }
        let at = frame::to_pixel(&plane, x0, yv);
        let style = frame::text_style(theme.tick_size()).color(&grey);
        let (w, h) = pixels.estimate_text_size(label, &style).map_err(draw_err)?;
        let pos = label_position(
            &placed,
            (at.0 + theme.px(6.0), at.1 - theme.px(16.0)),
            (w as i32, h as i32),
            theme.px(12.0),
        );
        placed.push((pos.0, pos.0 + w as i32, pos.1, pos.1 + h as i32));
        pixels
            .draw(&Text::new(label.clone(), pos, style))
            .map_err(draw_err)?;
    }
    for s in &series {
        // A lone point, or a scatter, has no line, so it always gets markers.
        if chart.markers || !chart.lines || s.points.len() == 1 {
            for &(px, py) in &s.points {
                let at = frame::to_pixel(&plane, px, py);
                s.marker.draw(&pixels, at, theme.marker_radius(), s.color)?;
            }
        }
    }
    Ok(())
}

/// Where a reference line's label of `size` goes: at `at`, or further right
/// past every label already `placed` that it would overlap (lines close
/// together, like ±20% and ±25%, keep readable labels).
fn label_position(
    placed: &[(i32, i32, i32, i32)],
    at: (i32, i32),
    size: (i32, i32),
    gap: i32,
) -> (i32, i32) {
    let mut x = at.0;
    let (top, bottom) = (at.1, at.1 + size.1);
    let mut moved = true;
    while moved {
        moved = false;
        for &(l, r, t, b) in placed {
            let overlaps = x < r && l < x + size.0 && top < b && t < bottom;
            if overlaps {
                x = r + gap;
                moved = true;
            }
        }
    }
    (x, at.1)
}

/// A confidence band as one translucent polygon (one polygon, not one per
/// segment, so overlaps never double the opacity). A single point gets a
/// whisker instead.
fn draw_band<DB: DrawingBackend>(
    plane: &frame::Plane<'_, DB>,
    band: &[(f64, f64, f64)],
    color: RGBColor,
    theme: &Theme,
) -> Result<(), PlotError> {
    let area = plane.plotting_area();
    if let [(x, lo, hi)] = band {
        let whisker = PathElement::new(
            vec![(*x, *lo), (*x, *hi)],
            color.stroke_width(theme.line_width()),
        );
        return area.draw(&whisker).map_err(draw_err);
    }
    let upper = band.iter().map(|&(x, _, hi)| (x, hi));
    let lower = band.iter().rev().map(|&(x, lo, _)| (x, lo));
    let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
    area.draw(&Polygon::new(outline, color.mix(BAND_OPACITY).filled()))
        .map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::label_position;

    #[test]
    fn labels_of_close_lines_move_right_past_each_other() {
        let size = (100, 20);
        let first = (10, 110, 10, 30);
        // 5 pixels lower: it would overlap, so it goes right of the first.
        assert_eq!(label_position(&[first], (10, 15), size, 8), (118, 15));
        // Far below: it stays.
        assert_eq!(label_position(&[first], (10, 60), size, 8), (10, 60));
        // Past two labels, whichever order they were placed in.
        let second = (118, 218, 12, 32);
        assert_eq!(
            label_position(&[second, first], (10, 14), size, 8),
            (226, 14)
        );
    }
}
