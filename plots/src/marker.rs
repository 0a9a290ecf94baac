//! Point markers and arrows, drawn in pixel coordinates so that their size
//! does not depend on the axes. Used by the charts and by the legend.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::frame::draw_err;
use crate::PlotError;

/// A filled marker shape. Series cycle through them so that they stay
/// distinguishable in greyscale print, not only by colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Hexagon,
}

impl Marker {
    const ALL: [Marker; 6] = [
        Marker::Circle,
        Marker::Square,
        Marker::TriangleUp,
        Marker::Diamond,
        Marker::TriangleDown,
        Marker::Hexagon,
    ];

    /// The marker of series number `index`.
    pub(crate) fn nth(index: usize) -> Marker {
        Self::ALL[index % Self::ALL.len()]
    }

    /// Draws the marker centred at `(x, y)`, about `r` pixels in radius.
    /// Shapes are sized to look equally heavy (a square of side 2r would
    /// look bigger than a circle of radius r).
    pub(crate) fn draw<DB: DrawingBackend>(
        self,
        area: &DrawingArea<DB, Shift>,
        (x, y): (i32, i32),
        r: i32,
        color: RGBColor,
    ) -> Result<(), PlotError> {
        let style = color.filled();
        let rf = f64::from(r);
        let at = |dx: f64, dy: f64| (x + (dx * rf).round() as i32, y + (dy * rf).round() as i32);
        match self {
            Marker::Circle => area.draw(&Circle::new((x, y), r, style)),
            Marker::Square => area.draw(&Rectangle::new([at(-0.85, -0.85), at(0.85, 0.85)], style)),
            Marker::TriangleUp => area.draw(&Polygon::new(
                vec![at(0.0, -1.25), at(1.1, 0.7), at(-1.1, 0.7)],
                style,
            )),
            Marker::TriangleDown => area.draw(&Polygon::new(
                vec![at(0.0, 1.25), at(1.1, -0.7), at(-1.1, -0.7)],
                style,
            )),
            Marker::Diamond => area.draw(&Polygon::new(
                vec![at(0.0, -1.3), at(1.05, 0.0), at(0.0, 1.3), at(-1.05, 0.0)],
                style,
            )),
            Marker::Hexagon => area.draw(&Polygon::new(
                vec![
                    at(0.0, -1.1),
                    at(0.95, -0.55),
                    at(0.95, 0.55),
                    at(0.0, 1.1),
                    at(-0.95, 0.55),
                    at(-0.95, -0.55),
                ],
                style,
            )),
        }
        .map_err(draw_err)
    }
}

/// Draws a vertical arrow at `x` from `y_from` to `y_to`, with a filled head
/// of length `head` whose tip touches `y_to`. A zero-length arrow (a
/// transfer within one row) is drawn as a dot, so it is still visible.
pub(crate) fn draw_vertical_arrow<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x: i32,
    (y_from, y_to): (i32, i32),
    head: i32,
    width: u32,
    color: RGBAColor,
) -> Result<(), PlotError> {
    if y_from == y_to {
        return area
            .draw(&Circle::new((x, y_to), head / 2, color.filled()))
            .map_err(draw_err);
    }
    let direction = if y_to > y_from { 1 } else { -1 };
    let head = head.min((y_to - y_from).abs());
    let base = y_to - direction * head;
    let half_width = (head * 2 / 5).max(2);
    area.draw(&PathElement::new(
        vec![(x, y_from), (x, base)],
        color.stroke_width(width),
    ))
    .map_err(draw_err)?;
    area.draw(&Polygon::new(
        vec![(x, y_to), (x - half_width, base), (x + half_width, base)],
        color.filled(),
    ))
    .map_err(draw_err)
}
