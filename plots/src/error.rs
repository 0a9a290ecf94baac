//! The one error type of this crate.

use crate::spec::Size;

/// Why a figure could not be rendered.
///
/// Messages name the offending series (or timeline row) and value, so a
/// caller can pass them on to a user as they are. To test for an error,
/// use `matches!` or compare messages: an error that holds a NaN is not
/// equal to itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The figure has nothing to draw (no series, no categories, no rows…).
    #[error("nothing to draw: {0}")]
    Empty(&'static str),

    /// A series has no points (or a CDF series no samples).
    #[error("series \"{series}\" has no data")]
    EmptySeries {
        /// The series' name.
        series: String,
    },

    /// A number is NaN or infinite. Such values are never skipped silently:
    /// a figure must not quietly show less than its data.
    #[error("{place}: {what} is {value}, but values must be finite")]
    NonFinite {
        /// The series, row or setting the value belongs to.
        place: String,
        /// Which value, e.g. `point 3 y`.
        what: String,
        /// The value itself.
        value: f64,
    },

    /// A value on a logarithmic axis is zero or negative.
    #[error("{place}: {what} is {value}, but the {axis} axis is logarithmic and needs values > 0")]
    NotPositiveOnLogAxis {
        /// The series the value belongs to.
        place: String,
        /// Which value, e.g. `point 0 x`.
        what: String,
        /// The value itself.
        value: f64,
        /// `"x"` or `"y"`.
        axis: &'static str,
    },

    /// A series' confidence band does not have one interval per point.
    #[error("series \"{series}\" has {points} points but {intervals} confidence intervals")]
    CiLength {
        /// The series' name.
        series: String,
        /// Number of points.
        points: usize,
        /// Number of intervals.
        intervals: usize,
    },

    /// A bar series does not have one value per category.
    #[error("series \"{series}\" has {values} values but the chart has {categories} categories")]
    BarCount {
        /// The series' name.
        series: String,
        /// Number of values.
        values: usize,
        /// Number of categories.
        categories: usize,
    },

    /// A bar series does not have one error bar per value.
    #[error("series \"{series}\" has {values} values but {errors} error bars")]
    ErrorBarCount {
        /// The series' name.
        series: String,
        /// Number of values.
        values: usize,
        /// Number of error bars.
        errors: usize,
    },

    /// An interval (confidence interval, error bar, span) ends before it starts.
    #[error("{place}: {what} runs from {lo} to {hi}, backwards")]
    Reversed {
        /// The series or row the interval belongs to.
        place: String,
        /// Which interval, e.g. `span 4`.
        what: String,
        /// Its lower end (or start).
        lo: f64,
        /// Its upper end (or end).
        hi: f64,
    },

    /// A timeline's time window is empty or backwards.
    #[error("time window [{start}, {end}] is empty; it needs start < end")]
    InvalidWindow {
        /// Window start.
        start: f64,
        /// Window end.
        end: f64,
    },

    /// A timeline span names a state that is not defined.
    #[error("timeline row \"{row}\": span {span} has state {state}, but only {states} states are defined")]
    UnknownState {
        /// The row's label.
        row: String,
        /// Index of the span in its row.
        span: usize,
        /// The state index given.
        state: usize,
        /// How many states the timeline defines.
        states: usize,
    },

    /// A hand-off names a row that does not exist.
    #[error("hand-off {handoff} refers to row {row}, but the timeline has {rows} rows")]
    UnknownRow {
        /// Index of the hand-off.
        handoff: usize,
        /// The row index given.
        row: usize,
        /// How many rows the timeline has.
        rows: usize,
    },

    /// The requested image size is outside the supported range.
    #[error(
        "image size {width}x{height} is out of range: width must be {}..={} and height {}..={} pixels",
        Size::MIN.width, Size::MAX.width, Size::MIN.height, Size::MAX.height
    )]
    InvalidSize {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },

    /// The data spans a range too wide to draw (values near the limits of `f64`).
    #[error("the {axis} axis range [{lo}, {hi}] is too wide to draw")]
    RangeTooWide {
        /// `"x"` or `"y"`.
        axis: &'static str,
        /// Smallest value on the axis.
        lo: f64,
        /// Largest value on the axis.
        hi: f64,
    },

    /// A string is not a `#RRGGBB` colour.
    #[error("\"{0}\" is not a colour; expected #RRGGBB")]
    InvalidColor(String),

    /// The embedded font could not be parsed (a build problem, not a data problem).
    #[error("the embedded font could not be loaded")]
    Font,

    /// The drawing backend failed.
    #[error("drawing failed: {0}")]
    Draw(String),

    /// Encoding the PNG failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}
