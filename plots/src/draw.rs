//! Drawing a validated figure on any plotters backend: the shared frame
//! (background, title, legend), then the chart itself.

pub(crate) mod bars;
pub(crate) mod cdf;
pub(crate) mod line;
pub(crate) mod timeline;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::frame::{draw_err, draw_title, Theme};
use crate::spec::{Chart, Figure};
use crate::{legend, PlotError};

/// Draws `fig`, which must have passed validation, onto `root`.
pub(crate) fn figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
) -> Result<(), PlotError> {
    let theme = Theme::new(fig.pixel_size());
    root.fill(&WHITE).map_err(draw_err)?;
    let (title_band, body) = root.split_vertically(theme.title_band());
    draw_title(&title_band, &fig.title, &theme)?;
    let entries = match &fig.chart {
        Chart::Line(c) => line::legend(c),
        Chart::Bars(c) => bars::legend(c),
        Chart::Cdf(c) => cdf::legend(c),
        Chart::Timeline(c) => timeline::legend(c),
    };
    // One line or one distribution needs no legend: the axis label names it.
    let lone = matches!(&fig.chart, Chart::Line(_) | Chart::Cdf(_)) && entries.len() == 1;
    let area = if lone {
        body
    } else {
        legend::draw_beside(&body, &entries, &theme)?
    };
    match &fig.chart {
        Chart::Line(c) => line::draw(&area, fig, c, &theme),
        Chart::Bars(c) => bars::draw(&area, fig, c, &theme),
        Chart::Cdf(c) => cdf::draw(&area, fig, c, &theme),
        Chart::Timeline(c) => timeline::draw(&area, fig, c, &theme),
    }
}
