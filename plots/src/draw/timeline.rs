//! Timelines (Gantt charts): a row per entity, spans coloured by state,
//! hand-off arrows between rows.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{extent, row_center, Axis, Padding, Scale};
use crate::color::pick;
use crate::frame::{self, draw_err, fit_x_axis, rgb, Grid, PlaneSpec, Theme, TEXT};
use crate::legend::{Entry, Swatch};
use crate::marker::draw_vertical_arrow;
use crate::spec::{Figure, Size, Span, TimelineChart};
use crate::PlotError;

/// Share of a row's height covered by its spans; the rest separates rows.
const BAR_HEIGHT: f64 = 0.72;
/// Every other row gets a faint shade, to guide the eye along it. It is
/// translucent so that the grid lines drawn before it still show through.
const STRIPE_OPACITY: f64 = 0.04;

/// The default image height for `rows` rows: room for title and axes plus
/// a fixed pitch per row, within the supported sizes.
pub(crate) fn default_height(rows: usize) -> u32 {
    const FIXED: usize = 160;
    const ROW_PITCH: usize = 32;
    let height = FIXED.saturating_add(ROW_PITCH.saturating_mul(rows));
    height.clamp(340, Size::MAX.height as usize) as u32
}

pub(crate) fn legend(chart: &TimelineChart) -> Vec<Entry> {
    let mut entries: Vec<Entry> = chart
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| Entry {
            label: s.name.clone(),
            swatch: Swatch::Block(pick(s.color, i)),
        })
        .collect();
    if !chart.handoffs.is_empty() {
        entries.push(Entry {
            label: chart.handoff_label.clone(),
            swatch: Swatch::Arrow,
        });
    }
    entries
}

pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
    chart: &TimelineChart,
    theme: &Theme,
) -> Result<(), PlotError> {
    let n = chart.rows.len();
    let times = time_extent(chart)?;
    let x = fit_x_axis(area, theme, |target| {
        Axis::fit("x", Scale::Linear, times, Padding::NONE, target)
    })?;
    let (y, y_tick_size) = row_axis(area, chart, theme);
    let spec = PlaneSpec {
        x: &x,
        y: &y,
        x_label: &fig.x_label,
        y_label: &fig.y_label,
        grid: Grid { x: true, y: false },
        x_tick_size: theme.tick_size(),
        y_tick_size,
    };
    let plane = frame::plane(area, &spec, theme)?;
    let plot = plane.plotting_area();

    for i in (1..n).step_by(2) {
        let c = row_center(n, i);
        let stripe = Rectangle::new(
            [(x.lo, c - 0.5), (x.hi, c + 0.5)],
            BLACK.mix(STRIPE_OPACITY).filled(),
        );
        plot.draw(&stripe).map_err(draw_err)?;
    }
    for (i, row) in chart.rows.iter().enumerate() {
        let c = row_center(n, i);
        for span in visible_spans(&row.spans, (x.lo, x.hi)) {
            let color = rgb(pick(chart.states[span.state].color, span.state));
            let top_left = (span.start, c + BAR_HEIGHT / 2.0);
            let bottom_right = (span.end, c - BAR_HEIGHT / 2.0);
            plot.draw(&Rectangle::new([top_left, bottom_right], color.filled()))
                .map_err(draw_err)?;
        }
    }
    draw_handoffs(&plane, chart, &x, theme)
}

/// The row axis and its label size. Labels are shrunk to fit their rows,
/// down to 75% of the tick size; below that, only every k-th row is
/// labelled, so labels never overlap.
fn row_axis<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &TimelineChart,
    theme: &Theme,
) -> (Axis, f64) {
    // The axes' label areas take some 100 pixels of the height.
    let plot_height = f64::from(area.dim_in_pixel().1 as i32 - theme.px(100.0)).max(1.0);
    let pitch = plot_height / chart.rows.len() as f64;
    let smallest = theme.tick_size() * 0.75;
    let size = (pitch * 0.7).clamp(smallest, theme.tick_size());
    let stride = if pitch * 0.9 >= size {
        1
    } else {
        (size / (pitch * 0.9)).ceil() as usize
    };
    let labels: Vec<String> = chart.rows.iter().map(|r| r.label.clone()).collect();
    let mut axis = Axis::rows(&labels);
    // Ticks are in row order, so this keeps rows 0, k, 2k…
    let mut index = 0;
    axis.ticks.retain(|_| {
        index += 1;
        (index - 1) % stride == 0
    });
    (axis, size)
}

/// The time range: the window if given, else from the earliest span start
/// (or hand-off) to the latest span end (or hand-off).
fn time_extent(chart: &TimelineChart) -> Result<(f64, f64), PlotError> {
    if let Some(window) = chart.window {
        return Ok(window);
    }
    let spans = chart
        .rows
        .iter()
        .flat_map(|r| r.spans.iter().flat_map(|s| [s.start, s.end]));
    let handoffs = chart.handoffs.iter().map(|h| h.time);
    extent(spans.chain(handoffs)).ok_or(PlotError::Empty(
        "a timeline needs a span, a hand-off or a time window",
    ))
}

/// The spans to draw within `[lo, hi]`: clipped to it, with empty ones
/// dropped, and back-to-back spans of one state merged (fewer shapes, and
/// no hairline seams between them in the PNG).
fn visible_spans(spans: &[Span], (lo, hi): (f64, f64)) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for span in spans {
        let (start, end) = (span.start.max(lo), span.end.min(hi));
        if start >= end {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.state == span.state && last.end == start => last.end = end,
            _ => out.push(Span {
                start,
                end,
                state: span.state,
            }),
        }
    }
    out
}

/// Hand-offs inside the time range, as arrows from the giving row's centre
/// to the receiving row's centre.
fn draw_handoffs<DB: DrawingBackend>(
    plane: &frame::Plane<'_, DB>,
    chart: &TimelineChart,
    x: &Axis,
    theme: &Theme,
) -> Result<(), PlotError> {
    let n = chart.rows.len();
    let pixels = frame::pixel_area(plane);
    let row_pitch =
        (frame::to_pixel(plane, x.lo, 0.0).1 - frame::to_pixel(plane, x.lo, 1.0).1).abs();
    let head = theme.px(8.0).min(row_pitch * 2 / 5).max(3);
    let width = theme.px(1.25).max(1) as u32;
    let color = TEXT.mix(0.9);
    for h in chart
        .handoffs
        .iter()
        .filter(|h| (x.lo..=x.hi).contains(&h.time))
    {
        let (px, from) = frame::to_pixel(plane, h.time, row_center(n, h.from_row));
        let (_, to) = frame::to_pixel(plane, h.time, row_center(n, h.to_row));
        draw_vertical_arrow(&pixels, px, (from, to), head, width, color)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_clipped_and_merged() {
        let spans = [
            Span::new(0.0, 2.0, 0),
            Span::new(2.0, 3.0, 0),
            Span::new(3.0, 9.0, 1),
            Span::new(9.5, 12.0, 1),
        ];
        let visible = visible_spans(&spans, (1.0, 10.0));
        assert_eq!(
            visible,
            [
                Span::new(1.0, 3.0, 0),
                Span::new(3.0, 9.0, 1),
                Span::new(9.5, 10.0, 1)
            ]
        );
    }

    #[test]
    fn default_height_grows_with_rows_within_limits() {
        assert_eq!(default_height(1), 340);
        assert!(default_height(20) > default_height(10));
        assert_eq!(default_height(usize::MAX), Size::MAX.height);
    }
}
