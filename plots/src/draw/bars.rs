//! Grouped bar charts: categories along x, one bar per series in each
//! group, optional error bars.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{extent, Axis, Padding, Scale};
use crate::color::pick;
use crate::frame::{
    self, draw_err, rgb, text_size, text_style, y_tick_target, Grid, PlaneSpec, Theme, TEXT,
};
use crate::legend::{Entry, Swatch};
use crate::spec::{BarChart, BarSeries, Figure};
use crate::PlotError;

/// Share of a category's slot taken by its group of bars.
const GROUP_WIDTH: f64 = 0.8;
/// Share of a bar's width left blank each side, so neighbours stay apart.
const BAR_INSET: f64 = 0.06;
/// Error bar caps span this share of the bar width.
const CAP_WIDTH: f64 = 0.4;

pub(crate) fn legend(chart: &BarChart) -> Vec<Entry> {
    let entry = |(i, s): (usize, &BarSeries)| Entry {
        label: s.name.clone(),
        swatch: Swatch::Block(pick(s.color, i)),
    };
    chart.series.iter().enumerate().map(entry).collect()
}

pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    chart: &BarChart,
    theme: &Theme,
) -> Result<(), PlotError> {
    let (x, x_tick_size) = category_axis(area, chart, theme)?;
    let y = value_axis(chart, y_tick_target(area, theme))?;
    let spec = PlaneSpec {
        x: &x,
        y: &y,
        x_label: &fig.x_label,
        y_label: &fig.y_label,
        grid: Grid { x: false, y: true },
        x_tick_size,
        y_tick_size: theme.tick_size(),
    };
    let plane = frame::plane(area, &spec, theme)?;
    let plot = plane.plotting_area();
    if y.lo < 0.0 {
        // Bars grow both ways: mark where they start.
        let zero = PathElement::new(vec![(x.lo, 0.0), (x.hi, 0.0)], TEXT.stroke_width(1));
        plot.draw(&zero).map_err(draw_err)?;
    }

    let bar_width = GROUP_WIDTH / chart.series.len() as f64;
    let inset = bar_width * BAR_INSET;
    for (j, s) in chart.series.iter().enumerate() {
        let fill = rgb(pick(s.color, j)).filled();
        for (c, &v) in s.values.iter().enumerate() {
            let left = c as f64 - GROUP_WIDTH / 2.0 + j as f64 * bar_width;
            let bar = Rectangle::new([(left + inset, 0.0), (left + bar_width - inset, v)], fill);
            plot.draw(&bar).map_err(draw_err)?;
        }
    }
    // Error bars after all bars, so a neighbouring bar never covers one.
    let whisker = TEXT.stroke_width(theme.px(1.5).max(1) as u32);
    for (j, s) in chart.series.iter().enumerate() {
        let Some(errors) = &s.errors else { continue };
        for (c, &(lo, hi)) in errors.iter().enumerate() {
            let mid = c as f64 - GROUP_WIDTH / 2.0 + (j as f64 + 0.5) * bar_width;
            let cap = bar_width * CAP_WIDTH / 2.0;
            for path in [
                vec![(mid, lo), (mid, hi)],
                vec![(mid - cap, lo), (mid + cap, lo)],
                vec![(mid - cap, hi), (mid + cap, hi)],
            ] {
                plot.draw(&PathElement::new(path, whisker))
                    .map_err(draw_err)?;
            }
        }
    }
    Ok(())
}

/// The value axis: always includes zero (bar lengths are read from it), and
/// pads only away from zero, so bars stand on the axis.
fn value_axis(chart: &BarChart, target: usize) -> Result<Axis, PlotError> {
    let values = chart.series.iter().flat_map(|s| {
        let errors = s.errors.iter().flatten().flat_map(|&(lo, hi)| [lo, hi]);
        s.values.iter().copied().chain(errors)
    });
    let (lo, hi) = extent(values.chain([0.0])).unwrap_or((0.0, 0.0));
    let padding = Padding {
        below: if lo < 0.0 { 0.05 } else { 0.0 },
        above: if hi > 0.0 { 0.05 } else { 0.0 },
    };
    Axis::fit("y", Scale::Linear, (lo, hi), padding, target)
}

/// The category axis and its label size. Labels that do not fit their
/// slots are first shrunk (to 75% at most), then only every k-th category
/// is labelled, so labels never run into each other.
fn category_axis<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &BarChart,
    theme: &Theme,
) -> Result<(Axis, f64), PlotError> {
    let size = theme.tick_size();
    let style = text_style(size);
    let mut widest = 1;
    for label in &chart.categories {
        widest = widest.max(text_size(area, &frame::clean(label), &style)?.0);
    }
    let plot_width = f64::from(area.dim_in_pixel().0) - f64::from(theme.px(150.0));
    let room = plot_width / chart.categories.len() as f64 * 0.9;
    let shrink = (room / f64::from(widest)).clamp(0.75, 1.0);
    let needed = f64::from(widest) * shrink;
    let stride = if needed <= room {
        1
    } else {
        (needed / room.max(1.0)).ceil() as usize
    };
    let labels: Vec<String> = chart
        .categories
        .iter()
        .enumerate()
        .map(|(i, label)| {
            if i % stride == 0 {
                label.clone()
            } else {
                String::new()
            }
        })
        .collect();
    Ok((Axis::categories(&labels), size * shrink))
}
