//! The legend, drawn in a panel of its own beside or below the chart so it
//! can never hide data.
//!
//! It goes to the right of the chart when it is narrow enough (at most a
//! third of the width) and short enough; otherwise its entries flow in rows
//! below the chart.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::Color as _;

use crate::frame::{clean, draw_err, rgb, text_size, text_style, Theme, TEXT};
use crate::marker::{draw_vertical_arrow, Marker};
use crate::{Color, PlotError};

/// What an entry shows next to its label.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Swatch {
    /// A line sample, optionally with the series' marker on it.
    Line {
        color: Color,
        marker: Option<Marker>,
    },
    /// A marker alone (scatter plots).
    Point { color: Color, marker: Marker },
    /// A filled square (bars, timeline states).
    Block(Color),
    /// A hand-off arrow.
    Arrow,
}

/// One legend entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) label: String,
    pub(crate) swatch: Swatch,
}

/// Shared lengths of a legend, in pixels.
struct Metrics {
    row_height: i32,
    swatch_width: i32,
    gap: i32,
    pad: i32,
    /// Horizontal room between entries sharing a row (below placement).
    spacing: i32,
}

impl Metrics {
    fn new<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<Self, PlotError> {
        let text_height = text_size(area, "Xg", &text_style(theme.legend_size()))?.1;
        Ok(Metrics {
            row_height: text_height * 17 / 10,
            swatch_width: theme.px(30.0),
            gap: theme.px(8.0),
            pad: theme.px(14.0),
            spacing: theme.px(26.0),
        })
    }

    fn entry_width(&self, label_width: i32) -> i32 {
        self.swatch_width + self.gap + label_width
    }
}

/// Splits `body` into a chart area and a legend panel, draws the legend in
/// its panel, and returns the chart area.
pub(crate) fn draw_beside<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    theme: &Theme,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let metrics = Metrics::new(body, theme)?;
    let style = text_style(theme.legend_size());
    let labels: Vec<String> = entries.iter().map(|e| clean(&e.label)).collect();
    let mut widths = Vec::with_capacity(labels.len());
    for label in &labels {
        widths.push(text_size(body, label, &style)?.0);
    }
    let (body_width, body_height) = body.dim_in_pixel();
    let (body_width, body_height) = (body_width as i32, body_height as i32);

    let widest = widths.iter().copied().max().unwrap_or(0);
    let right_width = 2 * metrics.pad + metrics.entry_width(widest);
    let right_height = theme.margin() + metrics.row_height * entries.len() as i32;
    if right_width * 3 <= body_width && right_height <= body_height {
        let (chart, panel) = body.split_horizontally(body_width - right_width);
        let first_row = theme.margin();
        for (i, (entry, label)) in entries.iter().zip(&labels).enumerate() {
            let y = first_row + metrics.row_height * i as i32 + metrics.row_height / 2;
            draw_entry(
                &panel,
                entry.swatch,
                label,
                (metrics.pad, y),
                &metrics,
                theme,
            )?;
        }
        return Ok(chart);
    }

    let rows = flow(&widths, body_width - 2 * metrics.pad, &metrics);
    let panel_height = metrics.row_height * rows.len() as i32 + metrics.pad / 2;
    let (chart, panel) = body.split_vertically(body_height - panel_height);
    for (r, row) in rows.iter().enumerate() {
        let row_width: i32 = row
            .iter()
            .map(|&i| metrics.entry_width(widths[i]))
            .sum::<i32>()
            + metrics.spacing * (row.len() as i32 - 1);
        let mut x = (body_width - row_width).max(0) / 2;
        let y = metrics.row_height * r as i32 + metrics.row_height / 2;
        for &i in row {
            draw_entry(
                &panel,
                entries[i].swatch,
                &labels[i],
                (x, y),
                &metrics,
                theme,
            )?;
            x += metrics.entry_width(widths[i]) + metrics.spacing;
        }
    }
    Ok(chart)
}

/// Greedily packs entries (by label width) into rows no wider than `room`;
/// returns the entry indices of each row. Every row has at least one entry.
fn flow(widths: &[i32], room: i32, metrics: &Metrics) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (i, &w) in widths.iter().enumerate() {
        let needed = metrics.entry_width(w);
        match rows.last_mut() {
            Some(row) if used + metrics.spacing + needed <= room => {
                row.push(i);
                used += metrics.spacing + needed;
            }
            _ => {
                rows.push(vec![i]);
                used = needed;
            }
        }
    }
    rows
}

/// Draws one entry: its swatch starting at `x`, then its label, both
/// vertically centred on `y`.
fn draw_entry<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    label: &str,
    (x, y): (i32, i32),
    metrics: &Metrics,
    theme: &Theme,
) -> Result<(), PlotError> {
    let w = metrics.swatch_width;
    let half = metrics.row_height * 3 / 10;
    match swatch {
        Swatch::Line { color, marker } => {
            let line = rgb(color).stroke_width(theme.line_width());
            panel
                .draw(&PathElement::new(vec![(x, y), (x + w, y)], line))
                .map_err(draw_err)?;
            if let Some(marker) = marker {
                marker.draw(panel, (x + w / 2, y), theme.marker_radius(), rgb(color))?;
            }
        }
        Swatch::Point { color, marker } => {
            marker.draw(panel, (x + w / 2, y), theme.marker_radius(), rgb(color))?;
        }
        Swatch::Block(color) => {
            let left = x + w / 2 - half;
            let square = Rectangle::new(
                [(left, y - half), (left + 2 * half, y + half)],
                rgb(color).filled(),
            );
            panel.draw(&square).map_err(draw_err)?;
        }
        Swatch::Arrow => {
            let head = theme.px(7.0);
            draw_vertical_arrow(
                panel,
                x + w / 2,
                (y - half - 2, y + half + 2),
                head,
                1,
                TEXT.into(),
            )?;
        }
    }
    let style = text_style(theme.legend_size()).pos(Pos::new(HPos::Left, VPos::Center));
    panel
        .draw_text(label, &style, (x + w + metrics.gap, y))
        .map_err(draw_err)
}
