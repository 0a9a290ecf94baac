//! What every figure shares: the theme (sizes and colours), the title, and
//! the chart plane with its axes, ticks, grid and axis labels.

use std::ops::Range;

use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::Axis;
use crate::{font, spec, PlotError};

/// The chart type every figure draws on: plot coordinates on both axes
/// (see [`crate::axis`]), with the tick positions we chose.
pub(crate) type Plane<'a, DB> = ChartContext<'a, DB, Cartesian2d<AxisCoord, AxisCoord>>;

/// A linear plotters coordinate whose grid lines and tick labels are exactly
/// the ticks of an [`Axis`]. (plotters' own `WithKeyPoints` would do, but it
/// cannot be combined with custom label formatting for `f64` axes.)
#[derive(Clone)]
pub(crate) struct AxisCoord {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl AxisCoord {
    fn new(axis: &Axis) -> Self {
        Self {
            inner: (axis.lo..axis.hi).into(),
            ticks: axis.positions(),
            minor: axis.minor.clone(),
        }
    }
}

impl Ranged for AxisCoord {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    /// Labelled ticks for bold (labelled) grid lines, minor ticks for light ones.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

/// Near-black for text: softer than pure black next to coloured data.
pub(crate) const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const AXIS: RGBColor = RGBColor(0x55, 0x55, 0x55);
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
const MINOR_GRID: RGBColor = RGBColor(0xEE, 0xEE, 0xEE);

/// Converts any plotters drawing error to ours.
pub(crate) fn draw_err<E: std::error::Error + Send + Sync>(
    e: DrawingAreaErrorKind<E>,
) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Converts a caller's colour to plotters'.
pub(crate) fn rgb(c: crate::Color) -> RGBColor {
    RGBColor(c.r, c.g, c.b)
}

/// Sizes in pixels, all scaled with the image width so that a larger image
/// is a magnified one rather than one with tiny text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Theme {
    scale: f64,
}

impl Theme {
    /// The reference width, at which sizes are as written below.
    const REFERENCE_WIDTH: f64 = 960.0;

    pub(crate) fn new(size: spec::Size) -> Self {
        let scale = (f64::from(size.width) / Self::REFERENCE_WIDTH).clamp(0.6, 4.0);
        Self { scale }
    }

    /// A length of `px` pixels at the reference width.
    pub(crate) fn px(&self, px: f64) -> i32 {
        (px * self.scale).round() as i32
    }

    // Text sizes are in plotters' unit, 1.24 × the em in pixels (an 18 is
    // an em of 14.5 px).

    pub(crate) fn title_size(&self) -> f64 {
        28.0 * self.scale
    }
    pub(crate) fn label_size(&self) -> f64 {
        21.0 * self.scale
    }
    pub(crate) fn tick_size(&self) -> f64 {
        18.0 * self.scale
    }
    pub(crate) fn legend_size(&self) -> f64 {
        18.0 * self.scale
    }
    pub(crate) fn line_width(&self) -> u32 {
        self.px(2.0).max(1) as u32
    }
    pub(crate) fn marker_radius(&self) -> i32 {
        self.px(4.5).max(2)
    }
    fn tick_mark(&self) -> i32 {
        self.px(5.0).max(2)
    }
    /// Height of the band the title is centred in.
    pub(crate) fn title_band(&self) -> i32 {
        self.px(54.0)
    }
    /// Room between the plot area and the edge of its region.
    pub(crate) fn margin(&self) -> i32 {
        self.px(14.0)
    }
}

/// Text in the embedded font.
pub(crate) fn text_style(size: f64) -> TextStyle<'static> {
    FontDesc::new(font::FAMILY, size, FontStyle::Normal).color(&TEXT)
}

/// Width and height of `text` when drawn in `style`.
pub(crate) fn text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: &TextStyle,
) -> Result<(i32, i32), PlotError> {
    let (w, h) = area.estimate_text_size(text, style).map_err(draw_err)?;
    Ok((w as i32, h as i32))
}

/// Replaces control characters (newlines, tabs…) with spaces: they cannot
/// be drawn, and most are not even allowed in an SVG file.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Draws the title centred in `band`, shrinking it (to 60% at most) if it
/// would not fit the width.
pub(crate) fn draw_title<DB: DrawingBackend>(
    band: &DrawingArea<DB, Shift>,
    title: &str,
    theme: &Theme,
) -> Result<(), PlotError> {
    let title = clean(title);
    let (width, height) = band.dim_in_pixel();
    let room = f64::from(width) * 0.96;
    let mut size = theme.title_size();
    let natural = f64::from(text_size(band, &title, &text_style(size))?.0);
    if natural > room {
        size *= (room / natural).max(0.6);
    }
    let style = text_style(size).pos(Pos::new(HPos::Center, VPos::Center));
    band.draw_text(&title, &style, (width as i32 / 2, height as i32 / 2))
        .map_err(draw_err)
}

/// Which grid lines to draw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    /// Vertical lines at the x ticks.
    pub(crate) x: bool,
    /// Horizontal lines at the y ticks.
    pub(crate) y: bool,
}

/// Everything [`plane`] needs besides the area.
pub(crate) struct PlaneSpec<'s> {
    pub(crate) x: &'s Axis,
    pub(crate) y: &'s Axis,
    pub(crate) x_label: &'s str,
    pub(crate) y_label: &'s str,
    pub(crate) grid: Grid,
    /// Size of the x tick labels (bar charts shrink it to fit categories).
    pub(crate) x_tick_size: f64,
    /// Size of the y tick labels (timelines shrink it to fit rows).
    pub(crate) y_tick_size: f64,
}

/// Builds the chart plane in `area` and draws its axes, ticks, grid and
/// axis labels. The label areas are sized from the measured tick labels, so
/// nothing is clipped however long the labels are.
pub(crate) fn plane<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    spec: &PlaneSpec,
    theme: &Theme,
) -> Result<Plane<'a, DB>, PlotError> {
    let x_ticks = text_style(spec.x_tick_size);
    let y_ticks = text_style(spec.y_tick_size);
    let axis_label = text_style(theme.label_size());

    let widest_y = max_text_width(area, spec.y, &y_ticks)?;
    let last_x_half = match spec.x.ticks.last() {
        Some(t) => text_size(area, &t.label, &x_ticks)?.0 / 2,
        None => 0,
    };
    let label_height = text_size(area, "Xg", &axis_label)?.1;
    let tick_height = text_size(area, "0", &x_ticks)?.1;
    // plotters leaves twice the tick-mark length between axis and tick labels.
    let gap = 2 * theme.tick_mark();
    let y_area = widest_y + gap + theme.px(10.0) + label_height;
    let x_area = tick_height + gap + theme.px(12.0) + label_height;

    let mut chart = ChartBuilder::on(area)
        .margin_top(theme.margin().max(tick_height / 2 + 2))
        .margin_bottom(theme.margin() / 2)
        .margin_left(theme.margin() / 2)
        .margin_right(theme.margin().max(last_x_half + 4))
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(AxisCoord::new(spec.x), AxisCoord::new(spec.y))
        .map_err(draw_err)?;

    let x_label = clean(spec.x_label);
    let y_label = clean(spec.y_label);
    let (x_axis, y_axis) = (spec.x, spec.y);
    let x_fmt = |v: &f64| clean(&x_axis.label_at(*v));
    let y_fmt = |v: &f64| clean(&y_axis.label_at(*v));
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style(axis_label)
        .x_label_style(x_ticks)
        .y_label_style(y_ticks)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(MINOR_GRID.stroke_width(1))
        .axis_style(AXIS.stroke_width(1))
        .set_all_tick_mark_size(theme.tick_mark());
    if !spec.grid.x {
        mesh.disable_x_mesh();
    }
    if !spec.grid.y {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(draw_err)?;
    Ok(chart)
}

fn max_text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    axis: &Axis,
    style: &TextStyle,
) -> Result<i32, PlotError> {
    let mut widest = 0;
    for tick in &axis.ticks {
        widest = widest.max(text_size(area, &clean(&tick.label), style)?.0);
    }
    Ok(widest)
}

/// The area of `plane`'s plot region in pixel coordinates (origin at its
/// top-left corner), for drawing shapes whose size is in pixels.
pub(crate) fn pixel_area<DB: DrawingBackend>(plane: &Plane<'_, DB>) -> DrawingArea<DB, Shift> {
    plane.plotting_area().strip_coord_spec()
}

/// Where plot point (x, y) falls in [`pixel_area`].
pub(crate) fn to_pixel<DB: DrawingBackend>(plane: &Plane<'_, DB>, x: f64, y: f64) -> (i32, i32) {
    let (bx, by) = plane.backend_coord(&(x, y));
    let (ox, oy) = plane.plotting_area().get_base_pixel();
    (bx - ox, by - oy)
}

/// Fits the x axis with as many ticks as fit the width without their labels
/// touching: `make(target)` builds the axis for about `target` ticks.
pub(crate) fn fit_x_axis<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    make: impl Fn(usize) -> Result<Axis, PlotError>,
) -> Result<Axis, PlotError> {
    let plot_width = area.dim_in_pixel().0 as i32 - theme.px(150.0);
    let style = text_style(theme.tick_size());
    let mut target = (plot_width / theme.px(80.0).max(1)).clamp(2, 10) as usize;
    loop {
        let axis = make(target)?;
        let widest = max_text_width(area, &axis, &style)?;
        let needed = axis.ticks.len() as i32 * (widest + theme.px(16.0));
        if needed <= plot_width || target <= 2 {
            return Ok(axis);
        }
        target -= 1;
    }
}

/// About how many y ticks suit the height of `area`.
pub(crate) fn y_tick_target<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
) -> usize {
    let plot_height = area.dim_in_pixel().1 as i32 - theme.px(110.0);
    (plot_height / theme.px(70.0).max(1)).clamp(2, 10) as usize
}
