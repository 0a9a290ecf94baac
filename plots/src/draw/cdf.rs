//! Empirical CDFs: one step curve per series, from raw samples.

use std::iter;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{extent, Axis, Padding, Scale};
use crate::color::pick;
use crate::frame::{self, draw_err, fit_x_axis, rgb, y_tick_target, Grid, PlaneSpec, Theme};
use crate::legend::{Entry, Swatch};
use crate::spec::{CdfChart, CdfSeries, Figure};
use crate::PlotError;

pub(crate) fn legend(chart: &CdfChart) -> Vec<Entry> {
    let entry = |(i, s): (usize, &CdfSeries)| Entry {
        label: s.name.clone(),
        swatch: Swatch::Line {
            color: pick(s.color, i),
            marker: None,
        },
    };
    chart.series.iter().enumerate().map(entry).collect()
}

pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    chart: &CdfChart,
    theme: &Theme,
) -> Result<(), PlotError> {
    let scale = Scale::from_log(chart.log_x);
    let sorted: Vec<Vec<f64>> = chart
        .series
        .iter()
        .map(|s| {
            let mut v: Vec<f64> = s.samples.iter().map(|&x| scale.to_plot(x)).collect();
            v.sort_by(f64::total_cmp);
            v
        })
        .collect();
    let ends = sorted
        .iter()
        .flat_map(|v| v.first().into_iter().chain(v.last()).copied());
    let xs = extent(ends).ok_or(PlotError::Empty("a CDF chart needs at least one sample"))?;
    let x = fit_x_axis(area, theme, |target| {
        Axis::fit("x", scale, xs, Padding::both(0.03), target)
    })?;
    let y = Axis::fit(
        "y",
        Scale::Linear,
        (0.0, 1.0),
        Padding::both(0.03),
        y_tick_target(area, theme),
    )?;
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
    for (i, (series, samples)) in chart.series.iter().zip(&sorted).enumerate() {
        // Run the curve from the left edge at 0 to the right edge at 1, as a
        // CDF does beyond its samples.
        let path: Vec<(f64, f64)> = iter::once((x.lo, 0.0))
            .chain(steps(samples, CdfChart::MAX_STEPS))
            .chain(iter::once((x.hi, 1.0)))
            .collect();
        let style = rgb(pick(series.color, i)).stroke_width(theme.line_width());
        plane
            .draw_series(iter::once(PathElement::new(path, style)))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// The staircase of the empirical CDF of `sorted` samples: at each sample,
/// a vertical rise by its share. With more than `max_steps` samples, only
/// the samples at `max_steps` evenly spaced ranks (always the first and the
/// last) get a corner, each at its exact cumulative fraction, so the curve
/// is off by less than 1/`max_steps` in y anywhere.
fn steps(sorted: &[f64], max_steps: usize) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let picks: Vec<usize> = if n <= max_steps {
        (0..n).collect()
    } else {
        (0..=max_steps)
            .map(|k| (k * n).div_ceil(max_steps).saturating_sub(1))
            .collect()
    };
    let mut path = Vec::with_capacity(2 * picks.len());
    let mut level = 0.0;
    for i in picks {
        path.push((sorted[i], level));
        level = (i + 1) as f64 / n as f64;
        path.push((sorted[i], level));
    }
    path
}

#[cfg(test)]
mod tests {
    use super::steps;

    #[test]
    fn small_samples_get_every_step() {
        let path = steps(&[1.0, 2.0, 2.0], 10);
        let expected = [
            (1.0, 0.0),
            (1.0, 1.0 / 3.0),
            (2.0, 1.0 / 3.0),
            (2.0, 2.0 / 3.0),
            (2.0, 2.0 / 3.0),
            (2.0, 1.0),
        ];
        assert_eq!(path, expected);
    }

    #[test]
    fn large_samples_are_thinned_but_keep_both_ends() {
        let samples: Vec<f64> = (0..10_000).map(f64::from).collect();
        let path = steps(&samples, 100);
        assert_eq!(path.len(), 2 * 101);
        assert_eq!(path.first(), Some(&(0.0, 0.0)));
        assert_eq!(path.last(), Some(&(9999.0, 1.0)));
        // Each corner sits on the exact ECDF.
        for &(x, y) in path.iter().skip(1).step_by(2) {
            assert_eq!(y, (x + 1.0) / 10_000.0);
        }
    }
}
