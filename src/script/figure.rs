//! Figures in scripts: `table.plot(options)` and `report.timeline(name, options)`.
//!
//! Both build a [`gilsim_plots::Figure`], render it to SVG and PNG and stage
//! `<out>/<name>.svg` and `<out>/<name>.png` like a table's CSV: written only
//! if the whole script succeeds. The plots crate checks the figure (sizes,
//! non-finite numbers, log axes); this module checks the table first so that
//! an error names the row and column.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::options::{closest, Opts};
use super::result::RunReport;
use crate::output::staging::check_relative;
use crate::output::table::{Cell, Table};
use gilsim_engine::{SimDuration, SimTime, ThreadState};
use gilsim_plots::{
    okabe_ito, render_png, render_svg, BarChart, BarSeries, CdfChart, CdfSeries, Chart, Color,
    Figure, Handoff, LineChart, LineSeries, Size, Span, State, TimelineChart, TimelineRow,
};
use rhai::Map;
use std::sync::Arc;

/// Options of `Table.plot`.
pub(crate) const PLOT_OPTIONS: &[&str] = &[
    "x",
    "y",
    "series",
    "kind",
    "ci",
    "log_x",
    "log_y",
    "title",
    "x_label",
    "y_label",
    "name",
    "width",
    "height",
    "caption",
    "dodge",
    "reference_lines",
    "low",
    "high",
];

/// Options of `Report.timeline`.
const TIMELINE_OPTIONS: &[&str] = &[
    "from",
    "to",
    "title",
    "width",
    "height",
    "caption",
    "state_labels",
];

/// Units recognised at the end of a column name, and how axis labels show them.
const UNITS: &[(&str, &str)] = &[
    ("s", "s"),
    ("ms", "ms"),
    ("us", "µs"),
    ("ns", "ns"),
    ("pct", "%"),
    ("bytes", "bytes"),
    ("kb", "kB"),
    ("mb", "MB"),
    ("gb", "GB"),
];

/// The colour of each thread state in timelines, in [`ThreadState::ALL`]
/// order: running states cool (blue, purple, green), states that want a
/// resource warm (vermillion for the GIL, orange for a core), blocked light.
pub const STATE_COLORS: [(ThreadState, Color); 6] = [
    (ThreadState::Python, okabe_ito::BLUE),
    (ThreadState::NativeHoldingGil, okabe_ito::REDDISH_PURPLE),
    (ThreadState::NativeReleasedGil, okabe_ito::BLUISH_GREEN),
    (ThreadState::WaitingGil, okabe_ito::VERMILLION),
    (ThreadState::Runnable, okabe_ito::ORANGE),
    (ThreadState::Blocked, okabe_ito::SKY_BLUE),
];

/// A column name split into its statistic prefix, words and unit:
/// `latency_p99_ms_mean` is ("mean ", "latency p99", Some("ms")).
fn split_column(col: &str) -> (&'static str, String, Option<&'static str>) {
    let (stat, base) = if let Some(b) = col.strip_suffix("_mean") {
        ("mean ", b)
    } else if let Some(b) = col.strip_suffix("_ci95") {
        ("95% CI of ", b)
    } else {
        ("", col)
    };
    let words: Vec<&str> = base.split('_').filter(|w| !w.is_empty()).collect();
    if let [rest @ .., before, last] = &words[..] {
        if *before != "per" {
            if let Some((_, unit)) = UNITS.iter().find(|(u, _)| u == last) {
                let mut w = rest.to_vec();
                w.push(before);
                return (stat, human_words(&w.join("_")), Some(unit));
            }
        }
    }
    (stat, human_words(&words.join("_")), None)
}

/// The default axis label of a column: `makespan_s` is "makespan (s)",
/// `latency_p99_ms` "latency p99 (ms)", `io_ops_per_s` "I/O ops/s",
/// `makespan_s_mean` "mean makespan (s)".
pub fn axis_label(col: &str) -> String {
    match split_column(col) {
        (stat, words, Some(unit)) => format!("{stat}{words} ({unit})"),
        (stat, words, None) => format!("{stat}{words}"),
    }
}

/// A column's words without the unit, for titles.
fn title_words(col: &str) -> String {
    let (stat, words, _) = split_column(col);
    format!("{stat}{words}")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How a series value reads in a legend: text as it is, anything else as
/// `column=value`.
fn series_part(col: &str, cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => s.clone(),
        Cell::Empty => format!("{col}=(empty)"),
        other => {
            let words = human_words(col);
            // One of a plural column reads singular: "1 core", "1 CPU thread".
            let words = match (other.to_string().as_str(), words.strip_suffix('s')) {
                ("1", Some(one)) => one.to_string(),
                _ => words,
            };
            format!("{other} {words}")
        }
    }
}

/// Column words as people write them: `cpu_threads` is "CPU threads".
fn human_words(col: &str) -> String {
    col.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "io" => "I/O",
            "cpu" => "CPU",
            "gil" => "GIL",
            "ops" => "ops",
            w => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" per s", "/s")
}

/// A bar chart category.
fn category(cell: &Cell) -> String {
    match cell {
        Cell::Empty => "(empty)".to_string(),
        other => other.to_string(),
    }
}

/// Reads a table for a figure, with errors that name the row and column.
struct Source<'a> {
    t: &'a Table,
}

impl Source<'_> {
    fn name(&self) -> &str {
        self.t.name()
    }

    /// The index of column `col`, given as option `opt`.
    fn column(&self, opt: &str, col: &str) -> RhaiResult<usize> {
        let cols = self.t.columns();
        if let Some(i) = cols.iter().position(|c| c == col) {
            return Ok(i);
        }
        let names: Vec<&str> = cols.iter().map(String::as_str).collect();
        let hint = closest(col, &names)
            .map(|c| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        Err(format!(
            "option `{opt}` of plot(): table \"{}\" has no column \"{col}\"{hint}; its columns: {}",
            self.name(),
            names.join(", ")
        )
        .into())
    }

    fn cell(&self, row: usize, col: usize) -> &Cell {
        &self.t.rows()[row][col]
    }

    /// The finite number in `row`, `col`; `need` says why (for the error).
    fn number(&self, row: usize, col: usize, need: &str) -> RhaiResult<f64> {
        let name = &self.t.columns()[col];
        let at = format!("row {} of table \"{}\"", row + 1, self.name());
        match self.cell(row, col) {
            Cell::Int(i) => Ok(*i as f64),
            Cell::Float(x) if x.is_finite() => Ok(*x),
            Cell::Float(x) => Err(format!(
                "{at}: column `{name}` is {x}; a figure cannot show it and will not silently leave a point out"
            )
            .into()),
            Cell::Empty => Err(format!("{at}: column `{name}` is empty, but {need}").into()),
            Cell::Text(s) => Err(format!(
                "{at}: column `{name}` is the string \"{s}\", but {need}"
            )
            .into()),
            Cell::Bool(b) => Err(format!("{at}: column `{name}` is {b}, but {need}").into()),
        }
    }

    /// Rows grouped by the values of the `series` columns, in order of first
    /// appearance; `None` puts every row in one series named `single`.
    fn groups(&self, series: &[usize], single: &str) -> Vec<(String, Vec<usize>)> {
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for r in 0..self.t.len() {
            let label = if series.is_empty() {
                single.to_string()
            } else {
                series
                    .iter()
                    .map(|&c| series_part(&self.t.columns()[c], self.cell(r, c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            match groups.iter_mut().find(|(l, _)| *l == label) {
                Some((_, rows)) => rows.push(r),
                None => groups.push((label, vec![r])),
            }
        }
        groups
    }
}

/// A figure's image size from the `width` and `height` options; a missing
/// side keeps the default shape (16:10, or a timeline's height by rows).
fn size_from(o: &mut Opts, default: Size) -> RhaiResult<Option<Size>> {
    let lim = |v: u32| i64::from(v);
    let w = o.int_in("width", lim(Size::MIN.width), lim(Size::MAX.width))?;
    let h = o.int_in("height", lim(Size::MIN.height), lim(Size::MAX.height))?;
    Ok(match (w, h) {
        (None, None) => None,
        (Some(w), Some(h)) => Some(Size {
            width: w as u32,
            height: h as u32,
        }),
        (Some(w), None) => Some(Size {
            width: w as u32,
            height: ((w * i64::from(default.height)) / i64::from(default.width))
                .clamp(lim(Size::MIN.height), lim(Size::MAX.height)) as u32,
        }),
        (None, Some(h)) => Some(Size {
            width: default.width,
            height: h as u32,
        }),
    })
}

/// A text alternative of a figure, built from what it draws.
pub fn alt_text(fig: &Figure) -> String {
    let list = |names: Vec<&str>| names.join("; ");
    let log = |on: bool, axis: &str| {
        if on {
            format!(", log {axis} axis")
        } else {
            String::new()
        }
    };
    match &fig.chart {
        Chart::Line(c) => format!(
            "Line chart \"{}\": {} against {}{}{}; {} series: {}.",
            fig.title,
            fig.y_label,
            fig.x_label,
            log(c.log_x, "x"),
            log(c.log_y, "y"),
            c.series.len(),
            list(c.series.iter().map(|s| s.name.as_str()).collect())
        ),
        Chart::Bars(c) => format!(
            "Bar chart \"{}\": {} for each {} ({}); {} series: {}.",
            fig.title,
            fig.y_label,
            fig.x_label,
            c.categories.join(", "),
            c.series.len(),
            list(c.series.iter().map(|s| s.name.as_str()).collect())
        ),
        Chart::Cdf(c) => format!(
            "Cumulative distribution \"{}\" of {}{}; {} series: {}.",
            fig.title,
            fig.x_label,
            log(c.log_x, "x"),
            c.series.len(),
            list(c.series.iter().map(|s| s.name.as_str()).collect())
        ),
        Chart::Timeline(c) => format!(
            "Timeline \"{}\": one row per thread ({}), {} on the x axis; colours show {}; arrows mark {}s.",
            fig.title,
            c.rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>().join(", "),
            fig.x_label,
            c.states.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
            c.handoff_label
        ),
    }
}

/// Renders `fig`, stages `<name>.svg` and `<name>.png`, and notes the
/// figure (with its caption) for the report.
fn stage_noted(ctx: &RunContext, name: &str, fig: &Figure, caption: String) -> RhaiResult<()> {
    stage_figure(ctx, name, fig)?;
    let note = super::context::FigureNote {
        name: name.to_string(),
        caption,
        alt: alt_text(fig),
    };
    let mut figures = ctx
        .figures
        .lock()
        .map_err(|_| "internal error: the figures lock is poisoned")?;
    figures.retain(|f| f.name != note.name);
    figures.push(note);
    Ok(())
}

/// Renders `fig` and stages `<name>.svg` and `<name>.png`.
fn stage_figure(ctx: &RunContext, name: &str, fig: &Figure) -> RhaiResult<()> {
    let svg = render_svg(fig).map_err(|e| format!("figure \"{name}\": {e}"))?;
    let png = render_png(fig).map_err(|e| format!("figure \"{name}\": {e}"))?;
    ctx.stage(&format!("{name}.svg"), svg.into_bytes())
        .map_err(|e| format!("figure \"{name}\": {e}"))?;
    ctx.stage(&format!("{name}.png"), png)
        .map_err(|e| format!("figure \"{name}\": {e}"))?;
    Ok(())
}

/// Checks a figure name (`<name>.svg` must be a path inside the output folder).
fn check_figure_name(opt: &str, name: &str) -> RhaiResult<String> {
    let name = name
        .strip_suffix(".svg")
        .or_else(|| name.strip_suffix(".png"))
        .unwrap_or(name);
    check_relative(&format!("{name}.svg"))
        .map_err(|e| format!("{opt}: figure name \"{name}\": {e}"))?;
    Ok(name.to_string())
}

/// Whether a figure `name` was already staged in this run.
fn figure_exists(ctx: &RunContext, name: &str) -> bool {
    let Ok(svg) = check_relative(&format!("{name}.svg")) else {
        return false;
    };
    ctx.outputs
        .lock()
        .map(|o| o.paths().any(|p| p == svg.as_path()))
        .unwrap_or(false)
}

/// The default name of a table's figure: the table's name, then
/// `<table>_<y>`; a third default would replace a figure, so it is an error.
fn default_name(ctx: &RunContext, table: &str, y: &str) -> RhaiResult<String> {
    let base = table.strip_suffix(".csv").unwrap_or(table);
    let first = check_figure_name("plot()", base)?;
    if !figure_exists(ctx, &first) {
        return Ok(first);
    }
    let second = format!("{first}_{y}");
    if !figure_exists(ctx, &second) {
        return Ok(second);
    }
    Err(format!(
        "plot(): figures \"{first}\" and \"{second}\" already exist in this run; give this plot a name with the option `name`"
    )
    .into())
}

/// The (low, high) band of `y` from a CI half-width cell, `None` if empty.
fn band(src: &Source, row: usize, col: usize, y: f64) -> RhaiResult<Option<(f64, f64)>> {
    if matches!(src.cell(row, col), Cell::Empty) {
        return Ok(None);
    }
    let c = src.number(
        row,
        col,
        "`ci` needs a confidence half-width (a number >= 0) or an empty cell",
    )?;
    if c < 0.0 {
        return Err(format!(
            "row {} of table \"{}\": column `{}` is {c}, but a confidence half-width cannot be negative",
            row + 1,
            src.name(),
            src.t.columns()[col]
        )
        .into());
    }
    Ok(Some((y - c, y + c)))
}

/// What `plot()` was asked to draw.
struct PlotSpec {
    kind: String,
    x: usize,
    y: Option<usize>,
    series: Vec<usize>,
    ci: Option<usize>,
    /// A band from column `low` to column `high` (e.g. the replicates' range).
    range: Option<(usize, usize)>,
    log_x: bool,
    log_y: bool,
}

fn line_chart(src: &Source, p: &PlotSpec, single: &str) -> RhaiResult<LineChart> {
    let y = p.y.unwrap_or(p.x);
    let need = "a line chart needs a number in every row";
    let mut series = Vec::new();
    for (label, rows) in src.groups(&p.series, single) {
        let mut points = Vec::with_capacity(rows.len());
        let mut bands = Vec::with_capacity(rows.len());
        for &r in &rows {
            let (xv, yv) = (src.number(r, p.x, need)?, src.number(r, y, need)?);
            for (on, v, col, axis) in [(p.log_x, xv, p.x, "x"), (p.log_y, yv, y, "y")] {
                if on && v <= 0.0 {
                    return Err(format!(
                        "row {} of table \"{}\": column `{}` is {v}, but the {axis} axis is logarithmic (log_{axis}: true) and needs values > 0",
                        r + 1,
                        src.name(),
                        src.t.columns()[col]
                    )
                    .into());
                }
            }
            points.push((xv, yv));
            if let Some(c) = p.ci {
                bands.push(band(src, r, c, yv)?);
            }
            if let Some((lo, hi)) = p.range {
                let need = "`low` and `high` need a number in every row";
                let (l, h) = (src.number(r, lo, need)?, src.number(r, hi, need)?);
                if !(l <= yv && yv <= h) {
                    return Err(format!(
                        "row {} of table \"{}\": the band {l} to {h} (`low`, `high`) does not contain y = {yv}",
                        r + 1,
                        src.name()
                    )
                    .into());
                }
                if p.log_y && l <= 0.0 {
                    return Err(format!(
                        "row {} of table \"{}\": `low` is {l}, but the y axis is logarithmic and needs values > 0",
                        r + 1,
                        src.name()
                    )
                    .into());
                }
                bands.push(Some((l, h)));
            }
        }
        let mut s = LineSeries::new(label, points);
        if bands.iter().any(Option::is_some) {
            let ci = s
                .points
                .iter()
                .zip(&bands)
                .map(|(&(_, yv), b)| b.unwrap_or((yv, yv)))
                .collect();
            s = s.with_ci(ci);
        }
        series.push(s);
    }
    if p.log_y {
        clip_bands_to_log_floor(&mut series);
    }
    Ok(LineChart::new(series).with_log_axes(p.log_x, p.log_y))
}

/// On a log y axis a band reaching 0 or below has no lower end on the axis:
/// it is drawn down to the smallest positive value of the figure (a point or
/// a band's lower end), the bottom of what the figure shows.
fn clip_bands_to_log_floor(series: &mut [LineSeries]) {
    let floor = series
        .iter()
        .flat_map(|s| {
            let lows = s.ci.iter().flatten().map(|b| b.0);
            s.points.iter().map(|p| p.1).chain(lows)
        })
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !floor.is_finite() {
        return;
    }
    for s in series {
        for b in s.ci.iter_mut().flatten() {
            if b.0 <= 0.0 {
                b.0 = floor.min(b.1);
            }
        }
    }
}

/// One bar: its row, its value and its error bar.
type Bar = (usize, f64, Option<(f64, f64)>);

/// Most categories of a bar chart: more bars cannot be told apart (and
/// drawing 100 000 of them took a minute).
const MAX_CATEGORIES: usize = 1000;

fn bar_chart(src: &Source, p: &PlotSpec, single: &str) -> RhaiResult<BarChart> {
    let y = p.y.unwrap_or(p.x);
    let need = "a bar chart needs a number in every row";
    let mut categories: Vec<String> = Vec::new();
    for r in 0..src.t.len() {
        let c = category(src.cell(r, p.x));
        if !categories.contains(&c) {
            if categories.len() == MAX_CATEGORIES {
                return Err(format!(
                    "plot(): a bar chart of table \"{}\" would have more than {MAX_CATEGORIES} categories (column `{}`), too many bars to tell apart; plot kind \"line\", or fewer categories",
                    src.t.name(),
                    src.t.columns().get(p.x).map_or("?", String::as_str)
                )
                .into());
            }
            categories.push(c);
        }
    }
    let mut series = Vec::new();
    for (label, rows) in src.groups(&p.series, single) {
        let mut values: Vec<Option<Bar>> = vec![None; categories.len()];
        for &r in &rows {
            let c = category(src.cell(r, p.x));
            let k = categories.iter().position(|x| *x == c).unwrap_or(0);
            let v = src.number(r, y, need)?;
            let b = match p.ci {
                Some(ci) => band(src, r, ci, v)?,
                None => None,
            };
            if let Some((earlier, _, _)) = values[k] {
                return Err(format!(
                    "plot(): rows {} and {} of table \"{}\" are both the bar of category \"{c}\" in series \"{label}\"; add the column that tells them apart to `series`",
                    earlier + 1,
                    r + 1,
                    src.name()
                )
                .into());
            }
            values[k] = Some((r, v, b));
        }
        let mut vals = Vec::with_capacity(categories.len());
        let mut errs = Vec::with_capacity(categories.len());
        for (k, v) in values.iter().enumerate() {
            match v {
                Some((_, v, b)) => {
                    vals.push(*v);
                    errs.push(b.unwrap_or((*v, *v)));
                }
                None => {
                    return Err(format!(
                        "plot(): series \"{label}\" has no row for category \"{}\" of table \"{}\"; every series needs a bar in every category",
                        categories[k],
                        src.name()
                    )
                    .into())
                }
            }
        }
        let mut s = BarSeries::new(label, vals);
        if values.iter().any(|v| matches!(v, Some((_, _, Some(_))))) {
            s = s.with_errors(errs);
        }
        series.push(s);
    }
    Ok(BarChart::new(categories, series))
}

fn cdf_chart(src: &Source, p: &PlotSpec, single: &str) -> RhaiResult<CdfChart> {
    let need = "a CDF needs a number in every row";
    let mut series = Vec::new();
    for (label, rows) in src.groups(&p.series, single) {
        let mut samples = Vec::with_capacity(rows.len());
        for &r in &rows {
            let v = src.number(r, p.x, need)?;
            if p.log_x && v <= 0.0 {
                return Err(format!(
                    "row {} of table \"{}\": column `{}` is {v}, but the x axis is logarithmic (log_x: true) and needs values > 0",
                    r + 1,
                    src.name(),
                    src.t.columns()[p.x]
                )
                .into());
            }
            samples.push(v);
        }
        series.push(CdfSeries::new(label, samples));
    }
    let chart = CdfChart::new(series);
    Ok(if p.log_x { chart.with_log_x() } else { chart })
}

/// The `reference_lines` option: `[#{ y: 20000, label: "..." }, ...]`.
fn reference_lines(o: &mut Opts, log_y: bool) -> RhaiResult<Vec<(f64, String)>> {
    let Some(v) = o.raw("reference_lines") else {
        return Ok(Vec::new());
    };
    let bad = |o: &Opts, what: String| {
        o.error(
            "reference_lines",
            format!("{what}; expected a list of maps like #{{ y: 20000, label: \"GIL limit\" }}"),
        )
    };
    let Some(items) = v.clone().try_cast::<rhai::Array>() else {
        return Err(bad(o, format!("got {}", super::values::describe(&v))));
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Some(m) = item.clone().try_cast::<Map>() else {
            return Err(bad(
                o,
                format!("item [{i}] is {}", super::values::describe(&item)),
            ));
        };
        let mut lo = Opts::new(
            &format!("item [{i}] of option `reference_lines`"),
            m,
            &["y", "label"],
        )?;
        let y = lo
            .float("y")?
            .ok_or_else(|| bad(o, format!("item [{i}] has no `y`")))?;
        if log_y && y <= 0.0 {
            return Err(bad(
                o,
                format!("item [{i}] has y = {y}, but the y axis is logarithmic and needs y > 0"),
            ));
        }
        out.push((y, lo.string("label")?.unwrap_or_default()));
    }
    Ok(out)
}

/// `table.plot(options)`.
fn plot(ctx: &RunContext, t: &Table, opts: Map) -> RhaiResult<()> {
    let what = format!("plot() of table \"{}\"", t.name());
    let mut o = Opts::new(&what, opts, PLOT_OPTIONS)?;
    let src = Source { t };
    let kind = o
        .choice("kind", &["line", "bars", "cdf"])?
        .unwrap_or_else(|| "line".into());
    let x_name = o.string("x")?.ok_or_else(|| {
        o.error(
            "x",
            "is required: the column on the x axis (for bars, the categories; for a CDF, the samples)",
        )
    })?;
    let y_name = o.string("y")?;
    let y_name = match (kind.as_str(), y_name) {
        ("cdf", Some(_)) => {
            return Err(o.error(
                "y",
                "a CDF takes its samples from `x`; its y axis is the fraction of samples <= x",
            ))
        }
        ("cdf", None) => None,
        (_, Some(y)) => Some(y),
        (_, None) => return Err(o.error("y", "is required: the column on the y axis")),
    };
    let series_names = o.strings("series")?.unwrap_or_default();
    let ci_name = o.string("ci")?;
    let log_x = o.bool("log_x")?.unwrap_or(false);
    let log_y = o.bool("log_y")?.unwrap_or(false);
    match kind.as_str() {
        "bars" if log_x || log_y => {
            let key = if log_x { "log_x" } else { "log_y" };
            return Err(o.error(
                key,
                "bar charts have linear axes (bar lengths are read from zero)",
            ));
        }
        "cdf" if log_y => {
            return Err(o.error(
                "log_y",
                "the y axis of a CDF is a fraction from 0 to 1; only log_x applies",
            ))
        }
        "cdf" if ci_name.is_some() => {
            return Err(o.error(
                "ci",
                "a CDF has no confidence intervals; use it with kind \"line\" or \"bars\"",
            ))
        }
        _ => {}
    }
    let x = src.column("x", &x_name)?;
    let y = match &y_name {
        Some(n) => Some(src.column("y", n)?),
        None => None,
    };
    let series = series_names
        .iter()
        .map(|n| src.column("series", n))
        .collect::<RhaiResult<Vec<_>>>()?;
    let ci = match &ci_name {
        Some(n) => Some(src.column("ci", n)?),
        None => None,
    };
    let range = match (o.string("low")?, o.string("high")?) {
        (None, None) => None,
        (Some(l), Some(h)) if kind == "line" && ci.is_none() => {
            Some((src.column("low", &l)?, src.column("high", &h)?))
        }
        (Some(_), Some(_)) => {
            return Err(o.error(
                "low",
                "a band from `low` to `high` applies to line charts without `ci`",
            ))
        }
        (Some(_), None) => return Err(o.error("high", "is needed with `low`")),
        (None, Some(_)) => return Err(o.error("low", "is needed with `high`")),
    };
    if t.is_empty() {
        return Err(format!(
            "plot(): table \"{}\" has no rows, so there is nothing to draw",
            t.name()
        )
        .into());
    }
    let value_col = y_name.clone().unwrap_or_else(|| x_name.clone());
    let x_label = o.string("x_label")?.unwrap_or_else(|| axis_label(&x_name));
    let y_label = o.string("y_label")?.unwrap_or_else(|| match &y_name {
        Some(y) => axis_label(y),
        None => "fraction of samples ≤ x".to_string(),
    });
    let title = o.string("title")?.unwrap_or_else(|| match &y_name {
        Some(y) => capitalise(&format!("{} by {}", title_words(y), title_words(&x_name))),
        None => capitalise(&format!("distribution of {}", title_words(&x_name))),
    });
    let name = match o.string("name")? {
        Some(n) => check_figure_name("option `name` of plot()", &n)?,
        None => default_name(ctx, t.name(), &value_col)?,
    };
    let size = size_from(&mut o, Size::DEFAULT)?;
    let caption = o.string("caption")?.unwrap_or_default();
    let dodge = o.bool("dodge")?.unwrap_or(false);
    let reference_lines = reference_lines(&mut o, log_y)?;
    if kind != "line" && (dodge || !reference_lines.is_empty()) {
        let key = if dodge { "dodge" } else { "reference_lines" };
        return Err(o.error(key, "applies to line charts (kind \"line\") only"));
    }
    let spec = PlotSpec {
        kind,
        x,
        y,
        series,
        ci,
        range,
        log_x,
        log_y,
    };
    let single = if spec.kind == "cdf" {
        x_label.clone()
    } else {
        y_label.clone()
    };
    let chart: Chart = match spec.kind.as_str() {
        "bars" => bar_chart(&src, &spec, &single)?.into(),
        "cdf" => cdf_chart(&src, &spec, &single)?.into(),
        _ => {
            let mut c = line_chart(&src, &spec, &single)?;
            c.dodge = dodge;
            c.reference_lines = reference_lines;
            c.into()
        }
    };
    let mut fig = Figure::new(title, x_label, y_label, chart);
    fig.size = size;
    stage_noted(ctx, &name, &fig, caption)
}

fn ms(t: SimTime) -> f64 {
    t.0 as f64 / 1e6
}

/// The `state_labels` option: legend labels for states, by state name
/// (`#{ native_released_gil: "release gap" }`), for a model in which a state
/// means something more specific.
fn state_labels(o: &mut Opts) -> RhaiResult<Vec<(String, String)>> {
    let Some(v) = o.raw("state_labels") else {
        return Ok(Vec::new());
    };
    let names: Vec<&str> = STATE_COLORS.iter().map(|(s, _)| s.name()).collect();
    let Some(m) = v.clone().try_cast::<Map>() else {
        return Err(o.error(
            "state_labels",
            format!(
                "expected a map like #{{ native_released_gil: \"release gap\" }}, got {}",
                super::values::describe(&v)
            ),
        ));
    };
    let mut out = Vec::new();
    for (k, v) in m {
        if !names.contains(&k.as_str()) {
            return Err(o.error(
                "state_labels",
                super::options::unknown_key("state_labels", &k, &names),
            ));
        }
        let label = v.into_string().map_err(|t| {
            o.error(
                "state_labels",
                format!("the label of {k} must be a string, got {t}"),
            )
        })?;
        out.push((k.to_string(), label));
    }
    Ok(out)
}

/// `report.timeline(name, options)`.
fn timeline(ctx: &RunContext, r: &RunReport, name: &str, opts: Map) -> RhaiResult<()> {
    let what = format!("timeline(\"{name}\")");
    let mut o = Opts::new(&what, opts, TIMELINE_OPTIONS)?;
    let name = check_figure_name(&what, name)?;
    let trace = r.trace()?;
    let data = &r.0;
    let (lo, hi) = data.window.unwrap_or((SimTime(0), data.report.end));
    let from = o.duration("from")?.map_or(lo, |d| SimTime(d.0));
    let to = o.duration("to")?.map_or(hi, |d| SimTime(d.0));
    let shown = |t: SimTime| SimDuration(t.0).to_string();
    if from >= to {
        return Err(format!(
            "{what}: the time window from {} to {} is empty; it needs from < to",
            shown(from),
            shown(to)
        )
        .into());
    }
    if data.window.is_some() && (from < lo || to > hi) {
        return Err(format!(
            "{what}: the run kept its trace from {} to {} only (trace_window), so it cannot draw {} to {}",
            shown(lo),
            shown(hi),
            shown(from),
            shown(to)
        )
        .into());
    }
    let title = o
        .string("title")?
        .unwrap_or_else(|| format!("Thread timeline, {} to {} ms", ms(from), ms(to)));
    let threads = &data.report.threads;
    let mut rows: Vec<TimelineRow> = threads
        .iter()
        .map(|t| TimelineRow::new(t.name.clone(), Vec::new()))
        .collect();
    for iv in &trace.intervals {
        if iv.end <= from || iv.start >= to {
            continue;
        }
        let state = STATE_COLORS
            .iter()
            .position(|(s, _)| *s == iv.state)
            .unwrap_or(0);
        if let Some(row) = rows.get_mut(iv.thread.index()) {
            row.spans.push(Span::new(ms(iv.start), ms(iv.end), state));
        }
    }
    let handoffs = trace
        .handoffs
        .iter()
        .filter(|h| h.time >= from && h.time <= to)
        .filter_map(|h| match h.from {
            Some(f) if f != h.to => Some(Handoff::new(ms(h.time), f.index(), h.to.index())),
            _ => None,
        })
        .collect();
    let labels = state_labels(&mut o)?;
    let states = STATE_COLORS
        .iter()
        .map(|(s, c)| {
            let label = labels
                .iter()
                .find(|(k, _)| k == s.name())
                .map_or(s.label().to_string(), |(_, v)| v.clone());
            State::new(label).with_color(*c)
        })
        .collect();
    let mut chart = TimelineChart::new(rows, states)
        .with_handoffs(handoffs)
        .with_window(ms(from), ms(to));
    chart.handoff_label = "GIL hand-off".to_string();
    let mut fig = Figure::new(title, "time (ms)", "thread", chart);
    let default = fig.pixel_size();
    fig.size = size_from(&mut o, default)?;
    let caption = o.string("caption")?.unwrap_or_default();
    stage_noted(ctx, &name, &fig, caption)
}

/// Registers `Table.plot` and `Report.timeline`.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    let c = ctx.clone();
    add!(
        api,
        "Table.plot(options: map)",
        move |t: &mut Table, o: Map| { plot(&c, t, o) }
    );
    let c = ctx.clone();
    add!(
        api,
        "Report.timeline(name: string)",
        move |r: &mut RunReport, name: &str| timeline(&c, r, name, Map::new())
    );
    add!(
        api,
        "Report.timeline(name: string, options: map)",
        move |r: &mut RunReport, name: &str, o: Map| timeline(&ctx, r, name, o)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_come_from_column_names() {
        let cases = [
            ("makespan_s", "makespan (s)"),
            ("latency_p99_ms", "latency p99 (ms)"),
            ("io_ops_per_s", "I/O ops/s"),
            ("cpu_threads", "CPU threads"),
            ("makespan_s_mean", "mean makespan (s)"),
            ("calls_per_s_ci95", "95% CI of calls/s"),
            ("busy_us", "busy (µs)"),
            ("util_pct", "util (%)"),
            ("threads", "threads"),
            ("s", "s"),
            ("switch_interval_ms", "switch interval (ms)"),
        ];
        for (col, want) in cases {
            assert_eq!(axis_label(col), want, "{col}");
        }
        assert_eq!(title_words("io_wait_p99_ms_mean"), "mean I/O wait p99");
    }

    #[test]
    fn every_thread_state_has_its_own_colour() {
        let states: Vec<ThreadState> = STATE_COLORS.iter().map(|(s, _)| *s).collect();
        assert_eq!(states, ThreadState::ALL, "legend order is the engine's");
        let mut colours: Vec<String> = STATE_COLORS.iter().map(|(_, c)| c.to_string()).collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), STATE_COLORS.len());
    }
}
