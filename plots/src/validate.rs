//! Checks a figure before anything is drawn, so that drawing code can assume
//! valid data and both backends fail the same way.
//!
//! Checks run in spec order and the first problem is returned, so the error
//! for a given spec is deterministic.

use crate::spec::{BarChart, CdfChart, Chart, Figure, LineChart, Size, TimelineChart};
use crate::PlotError;

/// Returns the first problem with `fig`, if any.
pub(crate) fn check(fig: &Figure) -> Result<(), PlotError> {
    check_size(fig.pixel_size())?;
    match &fig.chart {
        Chart::Line(c) => check_line(c),
        Chart::Bars(c) => check_bars(c),
        Chart::Cdf(c) => check_cdf(c),
        Chart::Timeline(c) => check_timeline(c),
    }
}

fn check_size(size: Size) -> Result<(), PlotError> {
    let ok = (Size::MIN.width..=Size::MAX.width).contains(&size.width)
        && (Size::MIN.height..=Size::MAX.height).contains(&size.height);
    if ok {
        Ok(())
    } else {
        Err(PlotError::InvalidSize {
            width: size.width,
            height: size.height,
        })
    }
}

const LOW_HIGH: (&str, &str) = ("low end", "high end");

fn series_place(name: &str) -> String {
    format!("series \"{name}\"")
}

fn finite(value: f64, place: &str, what: impl FnOnce() -> String) -> Result<(), PlotError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(PlotError::NonFinite {
            place: place.to_string(),
            what: what(),
            value,
        })
    }
}

/// Call only with finite values.
fn positive_if_log(
    log: bool,
    axis: &'static str,
    value: f64,
    place: &str,
    what: impl FnOnce() -> String,
) -> Result<(), PlotError> {
    if !log || value > 0.0 {
        Ok(())
    } else {
        Err(PlotError::NotPositiveOnLogAxis {
            place: place.to_string(),
            what: what(),
            value,
            axis,
        })
    }
}

/// Checks a (low, high) pair: both ends finite, and not backwards. `ends`
/// names the two ends in messages, e.g. ("low end", "high end").
fn interval(
    (lo, hi): (f64, f64),
    ends: (&str, &str),
    place: &str,
    what: impl Fn() -> String,
) -> Result<(), PlotError> {
    finite(lo, place, || format!("{} {}", what(), ends.0))?;
    finite(hi, place, || format!("{} {}", what(), ends.1))?;
    if lo <= hi {
        Ok(())
    } else {
        Err(PlotError::Reversed {
            place: place.to_string(),
            what: what(),
            lo,
            hi,
        })
    }
}

fn check_line(chart: &LineChart) -> Result<(), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::Empty("a line chart needs at least one series"));
    }
    for s in &chart.series {
        let place = series_place(&s.name);
        if s.points.is_empty() {
            return Err(PlotError::EmptySeries {
                series: s.name.clone(),
            });
        }
        for (i, &(x, y)) in s.points.iter().enumerate() {
            finite(x, &place, || format!("point {i} x"))?;
            finite(y, &place, || format!("point {i} y"))?;
            positive_if_log(chart.log_x, "x", x, &place, || format!("point {i} x"))?;
            positive_if_log(chart.log_y, "y", y, &place, || format!("point {i} y"))?;
        }
        let Some(ci) = &s.ci else { continue };
        if ci.len() != s.points.len() {
            return Err(PlotError::CiLength {
                series: s.name.clone(),
                points: s.points.len(),
                intervals: ci.len(),
            });
        }
        for (i, &(lo, hi)) in ci.iter().enumerate() {
            interval((lo, hi), LOW_HIGH, &place, || {
                format!("confidence interval {i}")
            })?;
            // hi >= lo, so checking lo covers both ends.
            positive_if_log(chart.log_y, "y", lo, &place, || {
                format!("confidence interval {i} low end")
            })?;
        }
    }
    Ok(())
}

fn check_bars(chart: &BarChart) -> Result<(), PlotError> {
    if chart.categories.is_empty() {
        return Err(PlotError::Empty("a bar chart needs at least one category"));
    }
    if chart.series.is_empty() {
        return Err(PlotError::Empty("a bar chart needs at least one series"));
    }
    for s in &chart.series {
        let place = series_place(&s.name);
        if s.values.len() != chart.categories.len() {
            return Err(PlotError::BarCount {
                series: s.name.clone(),
                values: s.values.len(),
                categories: chart.categories.len(),
            });
        }
        for (i, &v) in s.values.iter().enumerate() {
            finite(v, &place, || format!("value {i}"))?;
        }
        let Some(errors) = &s.errors else { continue };
        if errors.len() != s.values.len() {
            return Err(PlotError::ErrorBarCount {
                series: s.name.clone(),
                values: s.values.len(),
                errors: errors.len(),
            });
        }
        for (i, &e) in errors.iter().enumerate() {
            interval(e, LOW_HIGH, &place, || format!("error bar {i}"))?;
        }
    }
    Ok(())
}

fn check_cdf(chart: &CdfChart) -> Result<(), PlotError> {
    if chart.series.is_empty() {
        return Err(PlotError::Empty("a CDF chart needs at least one series"));
    }
    for s in &chart.series {
        let place = series_place(&s.name);
        if s.samples.is_empty() {
            return Err(PlotError::EmptySeries {
                series: s.name.clone(),
            });
        }
        for (i, &v) in s.samples.iter().enumerate() {
            finite(v, &place, || format!("sample {i}"))?;
            positive_if_log(chart.log_x, "x", v, &place, || format!("sample {i}"))?;
        }
    }
    Ok(())
}

fn check_timeline(chart: &TimelineChart) -> Result<(), PlotError> {
    if chart.rows.is_empty() {
        return Err(PlotError::Empty("a timeline needs at least one row"));
    }
    if let Some((start, end)) = chart.window {
        finite(start, "time window", || "start".to_string())?;
        finite(end, "time window", || "end".to_string())?;
        if start >= end {
            return Err(PlotError::InvalidWindow { start, end });
        }
    }
    for row in &chart.rows {
        let place = format!("timeline row \"{}\"", row.label);
        for (i, span) in row.spans.iter().enumerate() {
            interval((span.start, span.end), ("start", "end"), &place, || {
                format!("span {i}")
            })?;
            if span.state >= chart.states.len() {
                return Err(PlotError::UnknownState {
                    row: row.label.clone(),
                    span: i,
                    state: span.state,
                    states: chart.states.len(),
                });
            }
        }
    }
    let rows = chart.rows.len();
    for (i, h) in chart.handoffs.iter().enumerate() {
        finite(h.time, "hand-offs", || format!("hand-off {i} time"))?;
        for row in [h.from_row, h.to_row] {
            if row >= rows {
                return Err(PlotError::UnknownRow {
                    handoff: i,
                    row,
                    rows,
                });
            }
        }
    }
    let has_time = chart.window.is_some()
        || !chart.handoffs.is_empty()
        || chart.rows.iter().any(|r| !r.spans.is_empty());
    if !has_time {
        return Err(PlotError::Empty(
            "a timeline needs a span, a hand-off or a time window",
        ));
    }
    Ok(())
}
