//! Figure specifications: plain data that says what to draw.
//!
//! All fields are public so specs can be built with struct literals; the
//! constructors and `with_*` methods are shorthands for the common cases.

use crate::Color;

/// A complete figure: a chart with its title, axis labels and image size.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Drawn centred above the chart.
    pub title: String,
    /// Describes the x axis; put the unit inside, e.g. `"switch interval (ms)"`.
    pub x_label: String,
    /// Describes the y axis; put the unit inside, e.g. `"makespan (s)"`.
    pub y_label: String,
    /// Image size in pixels. `None` means [`Size::DEFAULT`], except for a
    /// timeline, whose default height grows with its number of rows.
    pub size: Option<Size>,
    /// What to draw.
    pub chart: Chart,
}

impl Figure {
    /// A figure of the default size.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        chart: impl Into<Chart>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            size: None,
            chart: chart.into(),
        }
    }

    /// The same figure with an explicit image size.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = Some(Size { width, height });
        self
    }

    /// The size the image will have: [`Figure::size`] if set, otherwise the
    /// default for this kind of chart. Useful for `width`/`height` attributes
    /// in HTML.
    pub fn pixel_size(&self) -> Size {
        match (&self.size, &self.chart) {
            (Some(size), _) => *size,
            (None, Chart::Timeline(t)) => Size {
                width: Size::DEFAULT.width,
                height: crate::draw::timeline::default_height(t.rows.len()),
            },
            (None, _) => Size::DEFAULT,
        }
    }
}

/// An image size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Size {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Size {
    /// 960 × 600, a 16:10 figure that reads well on screen and on paper.
    pub const DEFAULT: Size = Size {
        width: 960,
        height: 600,
    };
    /// The smallest size accepted: below it, labels would not fit.
    pub const MIN: Size = Size {
        width: 320,
        height: 200,
    };
    /// The largest size accepted, which bounds memory use (an RGB buffer of
    /// 8192 × 8192 is 192 MiB).
    pub const MAX: Size = Size {
        width: 8192,
        height: 8192,
    };
}

/// The kinds of chart.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    /// Lines through points, with optional confidence bands.
    Line(LineChart),
    /// Grouped bars: one group per category, one bar per series.
    Bars(BarChart),
    /// Empirical cumulative distribution functions of samples.
    Cdf(CdfChart),
    /// A Gantt chart of states over time, one row per entity.
    Timeline(TimelineChart),
}

impl From<LineChart> for Chart {
    fn from(chart: LineChart) -> Self {
        Chart::Line(chart)
    }
}

impl From<BarChart> for Chart {
    fn from(chart: BarChart) -> Self {
        Chart::Bars(chart)
    }
}

impl From<CdfChart> for Chart {
    fn from(chart: CdfChart) -> Self {
        Chart::Cdf(chart)
    }
}

impl From<TimelineChart> for Chart {
    fn from(chart: TimelineChart) -> Self {
        Chart::Timeline(chart)
    }
}

/// Named series of (x, y) points joined by lines.
///
/// Points are drawn in increasing x order, whatever order they are given in
/// (ties keep their given order), so a sweep's rows can be passed unsorted.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// The series, drawn and listed in the legend in this order.
    pub series: Vec<LineSeries>,
    /// Logarithmic x axis (every x must then be > 0).
    pub log_x: bool,
    /// Logarithmic y axis (every y, and every CI end, must then be > 0).
    pub log_y: bool,
    /// Draw a marker at each point; each series gets its own marker shape so
    /// series stay apart in greyscale too.
    pub markers: bool,
    /// Shift each series a little along x (series `i` of `n` by
    /// `(i - (n-1)/2)` × 1.5% of the x range), so series that coincide stay
    /// visible side by side. The x values themselves are not changed.
    pub dodge: bool,
    /// Horizontal reference lines: (y, label), drawn dashed and labelled.
    pub reference_lines: Vec<(f64, String)>,
    /// Join each series' points with a line. Without lines the chart is a
    /// scatter plot: every point gets its series' marker, whatever `markers` says.
    pub lines: bool,
}

impl LineChart {
    /// Linear axes, lines with markers.
    pub fn new(series: Vec<LineSeries>) -> Self {
        Self {
            series,
            log_x: false,
            log_y: false,
            markers: true,
            dodge: false,
            reference_lines: Vec::new(),
            lines: true,
        }
    }

    /// The same chart as a scatter plot: markers only, no lines.
    pub fn scatter(mut self) -> Self {
        self.lines = false;
        self.markers = true;
        self
    }

    /// The same chart with logarithmic axes as given.
    pub fn with_log_axes(mut self, log_x: bool, log_y: bool) -> Self {
        self.log_x = log_x;
        self.log_y = log_y;
        self
    }
}

/// One line of a [`LineChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct LineSeries {
    /// Shown in the legend.
    pub name: String,
    /// The (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// A 95% confidence band: one (low, high) pair per point, drawn as a
    /// translucent band around the line.
    pub ci: Option<Vec<(f64, f64)>>,
    /// `None` takes the next colour of [`PALETTE`](crate::PALETTE).
    pub color: Option<Color>,
}

impl LineSeries {
    /// A series without a confidence band, in the default colour.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            ci: None,
            color: None,
        }
    }

    /// The same series with a confidence band, one (low, high) per point.
    pub fn with_ci(mut self, ci: Vec<(f64, f64)>) -> Self {
        self.ci = Some(ci);
        self
    }

    /// The same series in the given colour.
    pub fn with_color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }
}

/// Grouped bars: a group per category along x, a bar per series in each group.
///
/// The value axis always includes zero, since bar lengths are read from it.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// The category labels along x, in order.
    pub categories: Vec<String>,
    /// The series: bars of one series share a colour and a legend entry.
    pub series: Vec<BarSeries>,
}

impl BarChart {
    /// A chart of the given categories and series.
    pub fn new(categories: Vec<String>, series: Vec<BarSeries>) -> Self {
        Self { categories, series }
    }
}

/// One series of a [`BarChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct BarSeries {
    /// Shown in the legend.
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
    /// Optional error bars: one (low, high) pair per value, in data units
    /// (not offsets), e.g. a 95% confidence interval.
    pub errors: Option<Vec<(f64, f64)>>,
    /// `None` takes the next colour of [`PALETTE`](crate::PALETTE).
    pub color: Option<Color>,
}

impl BarSeries {
    /// A series without error bars, in the default colour.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
            errors: None,
            color: None,
        }
    }

    /// The same series with error bars, one (low, high) per value.
    pub fn with_errors(mut self, errors: Vec<(f64, f64)>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// The same series in the given colour.
    pub fn with_color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }
}

/// Empirical cumulative distribution functions, one per series, built from
/// raw samples. The y axis is the fraction of samples ≤ x, from 0 to 1.
///
/// A series of more than [`CdfChart::MAX_STEPS`] samples is drawn through that
/// many evenly spaced quantiles (always including the minimum and maximum):
/// the curve is then exact to within 1/`MAX_STEPS` in y, below a pixel at
/// any supported size, and the SVG stays small.
#[derive(Clone, Debug, PartialEq)]
pub struct CdfChart {
    /// The series, drawn and listed in the legend in this order.
    pub series: Vec<CdfSeries>,
    /// Logarithmic x axis (every sample must then be > 0).
    pub log_x: bool,
}

impl CdfChart {
    /// The most steps a CDF curve is drawn with.
    pub const MAX_STEPS: usize = 2048;

    /// A chart with a linear x axis.
    pub fn new(series: Vec<CdfSeries>) -> Self {
        Self {
            series,
            log_x: false,
        }
    }

    /// The same chart with a logarithmic x axis.
    pub fn with_log_x(mut self) -> Self {
        self.log_x = true;
        self
    }
}

/// One distribution of a [`CdfChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct CdfSeries {
    /// Shown in the legend.
    pub name: String,
    /// Raw samples, in any order.
    pub samples: Vec<f64>,
    /// `None` takes the next colour of [`PALETTE`](crate::PALETTE).
    pub color: Option<Color>,
}

impl CdfSeries {
    /// A series in the default colour.
    pub fn new(name: impl Into<String>, samples: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            samples,
            color: None,
        }
    }

    /// The same series in the given colour.
    pub fn with_color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }
}

/// A Gantt chart: one row per entity, coloured spans for the state each
/// entity is in over time, and hand-off arrows between rows.
///
/// Rows are drawn top to bottom in the given order and labelled on the left.
/// The legend lists the states (and hand-offs, if there are any).
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineChart {
    /// The rows, top to bottom.
    pub rows: Vec<TimelineRow>,
    /// The states spans refer to by index: names for the legend, and colours.
    pub states: Vec<State>,
    /// Transfers between rows, drawn as thin vertical arrows.
    pub handoffs: Vec<Handoff>,
    /// Draw only `[start, end]`; spans are clipped to it. `None` draws
    /// everything, from the earliest span start to the latest span end.
    pub window: Option<(f64, f64)>,
    /// The legend entry for hand-off arrows.
    pub handoff_label: String,
}

impl TimelineChart {
    /// A timeline without hand-offs or window.
    pub fn new(rows: Vec<TimelineRow>, states: Vec<State>) -> Self {
        Self {
            rows,
            states,
            handoffs: Vec::new(),
            window: None,
            handoff_label: "hand-off".to_string(),
        }
    }

    /// The same timeline with these hand-offs.
    pub fn with_handoffs(mut self, handoffs: Vec<Handoff>) -> Self {
        self.handoffs = handoffs;
        self
    }

    /// The same timeline, drawn only between `start` and `end`.
    pub fn with_window(mut self, start: f64, end: f64) -> Self {
        self.window = Some((start, end));
        self
    }
}

/// One row of a [`TimelineChart`].
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineRow {
    /// Drawn left of the row.
    pub label: String,
    /// The row's spans; later spans are drawn over earlier ones.
    pub spans: Vec<Span>,
}

impl TimelineRow {
    /// A row with the given label and spans.
    pub fn new(label: impl Into<String>, spans: Vec<Span>) -> Self {
        Self {
            label: label.into(),
            spans,
        }
    }
}

/// An interval of time a row spends in one state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// Start time, in the unit of the x axis.
    pub start: f64,
    /// End time (≥ `start`).
    pub end: f64,
    /// Index into [`TimelineChart::states`].
    pub state: usize,
}

impl Span {
    /// A span from `start` to `end` in state `state`.
    pub fn new(start: f64, end: f64, state: usize) -> Self {
        Self { start, end, state }
    }
}

/// A state of a timeline: its legend name and colour.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Shown in the legend.
    pub name: String,
    /// `None` takes the state's colour of [`PALETTE`](crate::PALETTE) by index.
    pub color: Option<Color>,
}

impl State {
    /// A state in the default colour.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            color: None,
        }
    }

    /// The same state in the given colour.
    pub fn with_color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }
}

/// A transfer from one row to another at an instant, e.g. a resource passing
/// between two workers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Handoff {
    /// When it happens, in the unit of the x axis.
    pub time: f64,
    /// Index of the row giving up.
    pub from_row: usize,
    /// Index of the row receiving; the arrowhead points at it.
    pub to_row: usize,
}

impl Handoff {
    /// A hand-off at `time` from `from_row` to `to_row`.
    pub fn new(time: f64, from_row: usize, to_row: usize) -> Self {
        Self {
            time,
            from_row,
            to_row,
        }
    }
}
