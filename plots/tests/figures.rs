//! Rendering tests, driven by one table of sample figures (`samples`) and
//! one table of invalid ones (`bad_figures`).
//!
//! Set `GILSIM_PLOTS_DUMP=<dir>` to also write every sample as PNG and SVG
//! into `<dir>` for a human to look at.

use std::ops::Range;

use gilsim_plots::{
    render_png, render_svg, BarChart, BarSeries, CdfChart, CdfSeries, Chart, Color, Figure,
    Handoff, LineChart, LineSeries, PlotError, Size, Span, State, TimelineChart, TimelineRow,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- samples

/// Deterministic "measurements": quantiles of an exponential distribution.
fn exp_quantiles(n: usize, mean: f64) -> Vec<f64> {
    (0..n)
        .map(|i| -mean * (1.0 - (i as f64 + 0.5) / n as f64).ln())
        .collect()
}

fn line_with_ci() -> Figure {
    let xs = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0];
    let series = [
        ("fixed quantum", 1.0),
        ("adaptive", 0.55),
        ("no limit", 0.3),
    ]
    .iter()
    .map(|&(name, k)| {
        let points: Vec<(f64, f64)> = xs.iter().map(|&x| (x, 2.0 + k * x)).collect();
        let ci = points
            .iter()
            .map(|&(x, y)| (y - 0.4 - 0.05 * x, y + 0.4 + 0.05 * x))
            .collect();
        LineSeries::new(name, points).with_ci(ci)
    })
    .collect();
    Figure::new(
        "Tail latency against time slice",
        "time slice (ms)",
        "p99 latency (ms)",
        LineChart::new(series).with_log_axes(true, false),
    )
}

fn line_log_log() -> Figure {
    let series = (0..5)
        .map(|s| {
            let points = (0..7).map(|i| {
                let x = 10f64.powi(i - 2);
                (x, x.powf(0.5 + 0.2 * s as f64) * 3.0)
            });
            LineSeries::new(
                format!("exponent {:.1}", 0.5 + 0.2 * s as f64),
                points.collect(),
            )
        })
        .collect();
    Figure::new(
        "Scaling of work with problem size",
        "problem size (items)",
        "work (s)",
        LineChart::new(series).with_log_axes(true, true),
    )
}

fn line_single_point() -> Figure {
    Figure::new(
        "One measurement",
        "threads",
        "makespan (s)",
        LineChart::new(vec![
            LineSeries::new("only", vec![(4.0, 12.5)]).with_ci(vec![(11.0, 14.0)])
        ]),
    )
}

fn line_all_equal() -> Figure {
    let flat = LineSeries::new("flat", (0..6).map(|i| (f64::from(i), 3.0)).collect());
    let copy = LineSeries::new("copy", (0..6).map(|i| (f64::from(i), 3.0)).collect())
        .with_color(Color::rgb(0x88, 0x88, 0x88));
    Figure::new(
        "Constant series",
        "step",
        "value (units)",
        LineChart::new(vec![flat, copy]),
    )
}

fn bars_with_errors() -> Figure {
    let categories = ["1 worker", "2 workers", "4 workers", "8 workers"]
        .map(String::from)
        .to_vec();
    let series = [
        ("threads", [10.0, 10.4, 10.9, 11.6]),
        ("processes", [10.2, 5.3, 2.9, 1.7]),
        ("async", [10.1, 10.1, 10.2, 10.2]),
    ]
    .into_iter()
    .map(|(name, values)| {
        let errors = values.iter().map(|&v| (v * 0.95, v * 1.05)).collect();
        BarSeries::new(name, values.to_vec()).with_errors(errors)
    })
    .collect();
    Figure::new(
        "Makespan by executor",
        "pool size",
        "makespan (s)",
        BarChart::new(categories, series),
    )
}

fn bars_negative() -> Figure {
    let categories = ["a", "b", "c"].map(String::from).to_vec();
    let series = vec![
        BarSeries::new("change", vec![1.5, -2.0, 0.25]),
        BarSeries::new("baseline", vec![0.0, 0.0, 0.0]),
    ];
    Figure::new(
        "Speed-up relative to baseline",
        "variant",
        "change (%)",
        BarChart::new(categories, series),
    )
}

fn cdf_linear() -> Figure {
    let series = vec![
        CdfSeries::new("mean 1 ms", exp_quantiles(200, 1.0)),
        CdfSeries::new("mean 2 ms", exp_quantiles(300, 2.0)),
        CdfSeries::new("constant", vec![1.5; 10]),
    ];
    Figure::new(
        "Response time distribution",
        "response time (ms)",
        "fraction of requests ≤ x",
        CdfChart::new(series),
    )
}

fn cdf_log_many_samples() -> Figure {
    let series = vec![
        CdfSeries::new("fast path", exp_quantiles(20_000, 0.05)),
        CdfSeries::new("slow path", exp_quantiles(5_000, 5.0)),
    ];
    Figure::new(
        "Wait time distribution",
        "wait time (ms)",
        "fraction of waits ≤ x",
        CdfChart::new(series).with_log_x(),
    )
}

fn timeline_states() -> Vec<State> {
    ["computing", "in native code", "waiting", "ready", "blocked"]
        .into_iter()
        .map(State::new)
        .collect()
}

/// Three workers taking turns with a token, plus a background worker.
fn timeline_handoffs() -> Figure {
    let mut rows: Vec<TimelineRow> = ["worker 0", "worker 1", "worker 2"]
        .into_iter()
        .map(|l| TimelineRow::new(l, Vec::new()))
        .collect();
    let mut handoffs = Vec::new();
    for turn in 0..12 {
        let t = f64::from(turn) * 5.0;
        let holder = turn as usize % 3;
        for (i, row) in rows.iter_mut().enumerate() {
            let state = if i == holder { turn as usize % 2 } else { 2 };
            row.spans.push(Span::new(t, t + 5.0, state));
        }
        if turn > 0 {
            handoffs.push(Handoff::new(t, (turn as usize + 2) % 3, holder));
        }
    }
    let io = (0..20)
        .map(|i| {
            Span::new(
                f64::from(i) * 3.0,
                f64::from(i) * 3.0 + 2.0,
                4 - i as usize % 2,
            )
        })
        .collect();
    rows.push(TimelineRow::new("background", io));
    Figure::new(
        "Who holds the token",
        "time (ms)",
        "worker",
        TimelineChart::new(rows, timeline_states())
            .with_handoffs(handoffs)
            .with_window(7.0, 52.0),
    )
}

fn timeline_many_rows() -> Figure {
    let rows = (0..24)
        .map(|r| {
            let spans = (0..10).map(|k| {
                Span::new(
                    f64::from(k) * 10.0 + f64::from(r % 5),
                    f64::from(k) * 10.0 + 8.0,
                    (r + k) as usize % 5,
                )
            });
            TimelineRow::new(format!("task {r:02}"), spans.collect())
        })
        .collect();
    Figure::new(
        "Two dozen tasks",
        "time (s)",
        "task",
        TimelineChart::new(rows, timeline_states()),
    )
}

/// Long series names: the legend moves below the chart.
fn line_legend_below() -> Figure {
    let series = (0..7)
        .map(|i| {
            let points = (0..5).map(|x| (f64::from(x), f64::from(x * i))).collect();
            LineSeries::new(
                format!("configuration with a long descriptive name {i}"),
                points,
            )
        })
        .collect();
    Figure::new(
        "Legend below the chart",
        "input (s)",
        "output (s)",
        LineChart::new(series),
    )
}

/// More category labels than fit: only some are written.
fn bars_many_categories() -> Figure {
    let categories = (0..40).map(|i| format!("category number {i}")).collect();
    let values = (0..40).map(f64::from).collect();
    Figure::new(
        "Forty categories",
        "category",
        "value (units)",
        BarChart::new(categories, vec![BarSeries::new("only", values)]),
    )
}

/// More rows than labels fit: only some are written.
fn timeline_crowded() -> Figure {
    let rows = (0..120)
        .map(|i| {
            TimelineRow::new(
                format!("row {i}"),
                vec![Span::new(0.0, f64::from(i), i as usize % 5)],
            )
        })
        .collect();
    Figure::new(
        "Crowded timeline",
        "time (s)",
        "row",
        TimelineChart::new(rows, timeline_states()),
    )
    .with_size(960, 600)
}

/// Signed errors against measured values over decades, one group per
/// series, with reference lines: a scatter (markers, no lines).
fn scatter_residuals() -> Figure {
    let series = (0..3)
        .map(|g| {
            let points = (0..6)
                .map(|i| {
                    let x = 10f64.powi(2 * g + i - 3);
                    (x, ((i * 7 + g * 3) % 11) as f64 * 4.0 - 20.0)
                })
                .collect();
            LineSeries::new(format!("group {g}"), points)
        })
        .collect();
    let mut chart = LineChart::new(series).with_log_axes(true, false).scatter();
    chart.reference_lines = vec![(0.0, "exact".into()), (15.0, "+15%".into())];
    Figure::new("Errors against measured", "measured", "error (%)", chart)
}

/// The sample figures, by name: every kind, and the edge cases of ranges
/// and layout.
fn samples() -> Vec<(&'static str, Figure)> {
    vec![
        ("line_ci_log_x", line_with_ci()),
        ("line_log_log", line_log_log()),
        ("line_single_point", line_single_point()),
        ("line_all_equal", line_all_equal()),
        ("bars_errors", bars_with_errors()),
        ("bars_negative", bars_negative()),
        ("cdf_linear", cdf_linear()),
        ("cdf_log_many", cdf_log_many_samples()),
        ("timeline_handoffs", timeline_handoffs()),
        ("timeline_many_rows", timeline_many_rows()),
        ("line_legend_below", line_legend_below()),
        ("bars_many_categories", bars_many_categories()),
        ("timeline_crowded", timeline_crowded()),
        ("scatter_residuals", scatter_residuals()),
        (
            "small_line",
            line_with_ci().with_size(Size::MIN.width, Size::MIN.height),
        ),
        ("large_bars", bars_with_errors().with_size(1920, 1200)),
    ]
}

// ---------------------------------------------------------------- pixels

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(bytes: &[u8]) -> Image {
        let mut reader = png::Decoder::new(bytes)
            .read_info()
            .expect("valid PNG header");
        let mut rgb = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut rgb).expect("valid PNG data");
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        rgb.truncate(frame.buffer_size());
        Image {
            width: frame.width as usize,
            height: frame.height as usize,
            rgb,
        }
    }

    /// Pixels in the given rows and columns for which `pred(r, g, b)` holds.
    fn count(
        &self,
        rows: Range<usize>,
        cols: Range<usize>,
        pred: impl Fn(u8, u8, u8) -> bool,
    ) -> usize {
        let mut n = 0;
        for y in rows {
            for x in cols.clone() {
                let i = 3 * (y * self.width + x);
                n += usize::from(pred(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]));
            }
        }
        n
    }
}

/// Text, axes: dark and grey.
fn dark(r: u8, g: u8, b: u8) -> bool {
    u32::from(r) + u32::from(g) + u32::from(b) < 3 * 110
}

/// Data: clearly coloured (text and grid lines are grey).
fn coloured(r: u8, g: u8, b: u8) -> bool {
    r.max(g).max(b) - r.min(g).min(b) > 60
}

// ---------------------------------------------------------------- tests

#[test]
fn every_sample_renders_with_text_and_data() {
    for (name, fig) in samples() {
        let svg = render_svg(&fig).unwrap_or_else(|e| panic!("{name}: SVG: {e}"));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{name}: not an SVG"
        );
        assert!(svg.contains(&fig.title), "{name}: title missing from SVG");
        assert!(
            svg.contains("DejaVu Sans"),
            "{name}: SVG does not name the embedded font"
        );

        let img = Image::decode(&render_png(&fig).unwrap_or_else(|e| panic!("{name}: PNG: {e}")));
        let size = fig.pixel_size();
        assert_eq!(
            (img.width, img.height),
            (size.width as usize, size.height as usize),
            "{name}"
        );
        let (w, h) = (img.width, img.height);
        // Bands in proportion to the default 960-pixel width.
        let band = |px: usize| px * w / 960;
        let title = img.count(0..band(50), 0..w, dark);
        let x_label = img.count(h - band(32)..h, 0..w, dark);
        let y_label = img.count(0..h, 0..band(30), dark);
        let data = img.count(h / 6..h * 4 / 5, w / 5..w * 7 / 10, coloured);
        // Pixel counts expected at the default width, scaled by area.
        let enough = |px: usize| (px * w * w / (960 * 960)).max(20);
        assert!(
            title > enough(100),
            "{name}: no title text ({title} dark pixels)"
        );
        assert!(
            x_label > enough(50),
            "{name}: no x label ({x_label} dark pixels)"
        );
        assert!(
            y_label > enough(50),
            "{name}: no y label ({y_label} dark pixels)"
        );
        assert!(
            data > enough(100),
            "{name}: no data in the plot area ({data} coloured pixels)"
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    for (name, fig) in samples() {
        assert_eq!(
            render_svg(&fig).unwrap(),
            render_svg(&fig).unwrap(),
            "{name}: SVG differs"
        );
        assert!(
            render_png(&fig).unwrap() == render_png(&fig).unwrap(),
            "{name}: PNG differs"
        );
    }
}

/// A scatter draws the same markers as its line chart, and no line
/// through them nor in its legend: two polylines fewer per series.
#[test]
fn a_scatter_has_markers_and_no_lines() {
    let scatter = scatter_residuals();
    let Chart::Line(chart) = &scatter.chart else {
        panic!("a line chart")
    };
    let mut lined = scatter.clone();
    lined.chart = Chart::Line(LineChart {
        lines: true,
        ..chart.clone()
    });
    let count = |fig: &Figure, what: &str| render_svg(fig).unwrap().matches(what).count();
    assert_eq!(
        count(&lined, "<polyline") - count(&scatter, "<polyline"),
        2 * chart.series.len()
    );
    // The markers stay: every shape other than lines is in both.
    for shape in ["<circle", "<rect", "<polygon"] {
        assert_eq!(count(&lined, shape), count(&scatter, shape), "{shape}");
    }
}

#[test]
fn timeline_height_grows_with_rows() {
    let small = timeline_handoffs().pixel_size();
    let large = timeline_many_rows().pixel_size();
    assert_eq!(small.width, large.width);
    assert!(large.height > small.height + 300, "{small:?} vs {large:?}");
}

#[test]
fn text_is_escaped_and_cleaned_in_svg() {
    let mut fig = line_single_point();
    fig.title = "a < b & \"c\"\nnext line".to_string();
    let svg = render_svg(&fig).unwrap();
    assert!(
        svg.contains("a &lt; b &amp; &quot;c&quot; next line"),
        "{svg}"
    );
}

/// A figure that must be refused, and what the error must be and say.
struct BadCase {
    name: &'static str,
    fig: Figure,
    is_expected: fn(&PlotError) -> bool,
    phrases: &'static [&'static str],
}

/// Shorthand for a table row.
fn bad(
    name: &'static str,
    fig: Figure,
    is_expected: fn(&PlotError) -> bool,
    phrases: &'static [&'static str],
) -> BadCase {
    BadCase {
        name,
        fig,
        is_expected,
        phrases,
    }
}

fn bad_figures() -> Vec<BadCase> {
    let line = |series: Vec<LineSeries>| Figure::new("t", "x", "y", LineChart::new(series));
    let one = |points: Vec<(f64, f64)>| LineSeries::new("s1", points);
    let timeline = |rows: Vec<TimelineRow>, handoffs: Vec<Handoff>| {
        Figure::new(
            "t",
            "x",
            "y",
            TimelineChart::new(rows, timeline_states()).with_handoffs(handoffs),
        )
    };
    let row = |spans: Vec<Span>| TimelineRow::new("r0", spans);
    vec![
        bad(
            "zero on a log x axis",
            Figure::new(
                "t",
                "x",
                "y",
                LineChart::new(vec![one(vec![(1.0, 1.0), (0.0, 2.0)])]).with_log_axes(true, false),
            ),
            |e| matches!(e, PlotError::NotPositiveOnLogAxis { axis: "x", value, .. } if *value == 0.0),
            &["series \"s1\"", "point 1 x is 0", "logarithmic"],
        ),
        bad(
            "negative CI on a log y axis",
            Figure::new(
                "t",
                "x",
                "y",
                LineChart::new(vec![one(vec![(1.0, 1.0)]).with_ci(vec![(-1.0, 2.0)])])
                    .with_log_axes(false, true),
            ),
            |e| matches!(e, PlotError::NotPositiveOnLogAxis { axis: "y", .. }),
            &["confidence interval 0 low end is -1"],
        ),
        bad(
            "negative sample on a log CDF",
            Figure::new(
                "t",
                "x",
                "y",
                CdfChart::new(vec![CdfSeries::new("lat", vec![1.0, -3.0])]).with_log_x(),
            ),
            |e| matches!(e, PlotError::NotPositiveOnLogAxis { .. }),
            &["series \"lat\"", "sample 1 is -3"],
        ),
        bad(
            "line chart without series",
            line(vec![]),
            |e| matches!(e, PlotError::Empty(_)),
            &["nothing to draw"],
        ),
        bad(
            "bar chart without categories",
            Figure::new(
                "t",
                "x",
                "y",
                BarChart::new(vec![], vec![BarSeries::new("b", vec![])]),
            ),
            |e| matches!(e, PlotError::Empty(_)),
            &["category"],
        ),
        bad(
            "timeline without rows",
            timeline(vec![], vec![]),
            |e| matches!(e, PlotError::Empty(_)),
            &["row"],
        ),
        bad(
            "timeline without time",
            timeline(vec![row(vec![])], vec![]),
            |e| matches!(e, PlotError::Empty(_)),
            &["span"],
        ),
        bad(
            "series without points",
            line(vec![one(vec![])]),
            |e| matches!(e, PlotError::EmptySeries { .. }),
            &["\"s1\" has no data"],
        ),
        bad(
            "CI length mismatch",
            line(vec![
                one(vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]).with_ci(vec![(0.0, 1.0); 2])
            ]),
            |e| {
                matches!(
                    e,
                    PlotError::CiLength {
                        points: 3,
                        intervals: 2,
                        ..
                    }
                )
            },
            &["\"s1\" has 3 points but 2 confidence intervals"],
        ),
        bad(
            "NaN point",
            line(vec![one(vec![(1.0, 1.0), (2.0, f64::NAN)])]),
            |e| matches!(e, PlotError::NonFinite { value, .. } if value.is_nan()),
            &["point 1 y is NaN"],
        ),
        bad(
            "infinite sample",
            Figure::new(
                "t",
                "x",
                "y",
                CdfChart::new(vec![CdfSeries::new("lat", vec![f64::INFINITY])]),
            ),
            |e| matches!(e, PlotError::NonFinite { .. }),
            &["sample 0 is inf"],
        ),
        bad(
            "reversed CI",
            line(vec![one(vec![(1.0, 1.0)]).with_ci(vec![(2.0, 0.5)])]),
            |e| matches!(e, PlotError::Reversed { .. }),
            &["confidence interval 0 runs from 2 to 0.5"],
        ),
        bad(
            "bar count mismatch",
            Figure::new(
                "t",
                "x",
                "y",
                BarChart::new(
                    vec!["a".into(), "b".into()],
                    vec![BarSeries::new("b1", vec![1.0])],
                ),
            ),
            |e| {
                matches!(
                    e,
                    PlotError::BarCount {
                        values: 1,
                        categories: 2,
                        ..
                    }
                )
            },
            &["\"b1\" has 1 values but the chart has 2 categories"],
        ),
        bad(
            "error bar count mismatch",
            Figure::new(
                "t",
                "x",
                "y",
                BarChart::new(
                    vec!["a".into()],
                    vec![BarSeries::new("b1", vec![1.0]).with_errors(vec![])],
                ),
            ),
            |e| matches!(e, PlotError::ErrorBarCount { .. }),
            &["1 values but 0 error bars"],
        ),
        bad(
            "unknown state",
            timeline(vec![row(vec![Span::new(0.0, 1.0, 5)])], vec![]),
            |e| {
                matches!(
                    e,
                    PlotError::UnknownState {
                        state: 5,
                        states: 5,
                        ..
                    }
                )
            },
            &["row \"r0\"", "state 5"],
        ),
        bad(
            "reversed span",
            timeline(vec![row(vec![Span::new(3.0, 1.0, 0)])], vec![]),
            |e| matches!(e, PlotError::Reversed { .. }),
            &["span 0 runs from 3 to 1"],
        ),
        bad(
            "hand-off to a missing row",
            timeline(
                vec![row(vec![Span::new(0.0, 1.0, 0)])],
                vec![Handoff::new(0.5, 0, 1)],
            ),
            |e| {
                matches!(
                    e,
                    PlotError::UnknownRow {
                        row: 1,
                        rows: 1,
                        ..
                    }
                )
            },
            &["hand-off 0 refers to row 1"],
        ),
        bad(
            "empty window",
            Figure::new(
                "t",
                "x",
                "y",
                TimelineChart::new(vec![row(vec![])], vec![]).with_window(2.0, 2.0),
            ),
            |e| matches!(e, PlotError::InvalidWindow { .. }),
            &["[2, 2]"],
        ),
        bad(
            "too small",
            line_single_point().with_size(100, 100),
            |e| {
                matches!(
                    e,
                    PlotError::InvalidSize {
                        width: 100,
                        height: 100
                    }
                )
            },
            &["100x100"],
        ),
        bad(
            "too large",
            line_single_point().with_size(100_000, 600),
            |e| matches!(e, PlotError::InvalidSize { .. }),
            &["out of range"],
        ),
        bad(
            "range beyond f64",
            line(vec![one(vec![(0.0, -1e308), (1.0, 1e308)])]),
            |e| matches!(e, PlotError::RangeTooWide { axis: "y", .. }),
            &["y axis"],
        ),
    ]
}

#[test]
fn bad_figures_give_the_documented_errors() {
    for BadCase {
        name,
        fig,
        is_expected,
        phrases,
    } in bad_figures()
    {
        let err = render_svg(&fig).expect_err(name);
        assert!(is_expected(&err), "{name}: unexpected error {err:?}");
        let message = err.to_string();
        for phrase in phrases {
            assert!(
                message.contains(phrase),
                "{name}: {message:?} lacks {phrase:?}"
            );
        }
        // Compared as text: an error holding NaN is not equal to itself.
        assert_eq!(
            render_png(&fig).expect_err(name).to_string(),
            message,
            "{name}: PNG and SVG disagree"
        );
    }
}

#[test]
fn dump_samples_when_asked() {
    let Some(dir) = std::env::var_os("GILSIM_PLOTS_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, fig) in samples() {
        std::fs::write(dir.join(format!("{name}.png")), render_png(&fig).unwrap()).unwrap();
        std::fs::write(dir.join(format!("{name}.svg")), render_svg(&fig).unwrap()).unwrap();
    }
}

// ---------------------------------------------------------------- no panics

/// Numbers that break naive plotting code, mixed with enough ordinary ones
/// that many figures pass validation and really get drawn.
fn awkward_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        30 => -1e3..1e3f64,
        6 => 1e-9..1e9f64,
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-f64::MAX),
        1 => Just(1e300),
        1 => Just(1e-310),
        1 => Just(-1.0),
    ]
}

fn any_chart() -> impl Strategy<Value = Chart> {
    let points = prop::collection::vec((awkward_f64(), awkward_f64()), 0..6);
    let line = (
        prop::collection::vec(points, 0..3),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(series, lx, ly)| {
            let series = series.into_iter().enumerate().map(|(i, p)| {
                let ci = p.iter().map(|&(_, y)| (y - 1.0, y + 1.0)).collect();
                LineSeries::new(format!("s{i}"), p).with_ci(ci)
            });
            Chart::Line(LineChart::new(series.collect()).with_log_axes(lx, ly))
        });
    let bars =
        prop::collection::vec(prop::collection::vec(awkward_f64(), 2), 0..3).prop_map(|series| {
            let series = series.into_iter().map(|v| BarSeries::new("b", v)).collect();
            Chart::Bars(BarChart::new(vec!["a".into(), "b".into()], series))
        });
    let cdf =
        (prop::collection::vec(awkward_f64(), 0..8), any::<bool>()).prop_map(|(samples, log)| {
            let chart = CdfChart::new(vec![CdfSeries::new("c", samples)]);
            Chart::Cdf(if log { chart.with_log_x() } else { chart })
        });
    let spans = prop::collection::vec((awkward_f64(), awkward_f64(), 0..6usize), 0..5);
    let timeline =
        (spans, prop::option::of((awkward_f64(), awkward_f64()))).prop_map(|(spans, window)| {
            let spans = spans
                .into_iter()
                .map(|(a, b, s)| Span::new(a, b, s))
                .collect();
            let mut chart = TimelineChart::new(
                vec![TimelineRow::new("r", spans), TimelineRow::new("q", vec![])],
                timeline_states(),
            )
            .with_handoffs(vec![Handoff::new(1.0, 0, 1)]);
            chart.window = window;
            Chart::Timeline(chart)
        });
    prop_oneof![line, bars, cdf, timeline]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any spec either renders or returns an error; both backends agree.
    #[test]
    fn never_panics(
        chart in any_chart(),
        title in "\\PC{0,40}",
        width in Size::MIN.width..1000u32,
        height in Size::MIN.height..700u32,
    ) {
        let fig = Figure::new(title, "x (unit)", "y (unit)", chart).with_size(width, height);
        let svg = render_svg(&fig);
        let png = render_png(&fig);
        prop_assert_eq!(svg.is_ok(), png.is_ok());
        if let (Err(a), Err(b)) = (svg, png) {
            prop_assert_eq!(a.to_string(), b.to_string());
        }
    }
}
