//! Axis ranges and ticks, computed from data.
//!
//! Everything is drawn in *plot coordinates*: data values on a linear axis,
//! their base-10 logarithms on a log axis. Working in one linear space keeps
//! a single chart type for all four axis combinations, and lets us choose
//! tick positions and labels ourselves (plotters then draws exactly those).

use crate::PlotError;

/// How data values map to plot coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    Log,
}

impl Scale {
    pub(crate) fn from_log(log: bool) -> Self {
        if log {
            Scale::Log
        } else {
            Scale::Linear
        }
    }

    /// Data value to plot coordinate. Log values were checked to be > 0.
    pub(crate) fn to_plot(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log => v.log10(),
        }
    }
}

/// A labelled tick, at a position in plot coordinates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tick {
    pub(crate) pos: f64,
    pub(crate) label: String,
}

/// Extra room around the data, as fractions of the data's span.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Padding {
    pub(crate) below: f64,
    pub(crate) above: f64,
}

impl Padding {
    pub(crate) const NONE: Padding = Padding {
        below: 0.0,
        above: 0.0,
    };

    pub(crate) const fn both(fraction: f64) -> Self {
        Padding {
            below: fraction,
            above: fraction,
        }
    }
}

/// A finished axis: its range and ticks, in plot coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<Tick>,
    /// Unlabelled minor grid lines (2…9 × 10ᵏ on log axes).
    pub(crate) minor: Vec<f64>,
}

/// Beyond this many ticks something is wrong (e.g. a step lost to rounding).
const MAX_TICKS: f64 = 200.0;

impl Axis {
    /// An axis covering `extent` (plot coordinates) plus `padding`, with
    /// about `target` ticks. `name` ("x" or "y") is for the error message.
    pub(crate) fn fit(
        name: &'static str,
        scale: Scale,
        extent: (f64, f64),
        padding: Padding,
        target: usize,
    ) -> Result<Axis, PlotError> {
        let (lo, hi) = widen(scale, extent, padding);
        if !(lo.is_finite() && hi.is_finite() && (hi - lo).is_finite()) {
            return Err(PlotError::RangeTooWide {
                axis: name,
                lo: extent.0,
                hi: extent.1,
            });
        }
        let (ticks, minor) = match scale {
            Scale::Linear => (linear_ticks(lo, hi, target), Vec::new()),
            Scale::Log => log_ticks(lo, hi, target),
        };
        Ok(Axis {
            lo,
            hi,
            ticks,
            minor,
        })
    }

    /// One tick per category at 0, 1, 2…, with half a slot of room each side.
    pub(crate) fn categories(labels: &[String]) -> Axis {
        let ticks = labels
            .iter()
            .enumerate()
            .map(|(i, label)| Tick {
                pos: i as f64,
                label: label.clone(),
            })
            .collect();
        Axis {
            lo: -0.5,
            hi: labels.len() as f64 - 0.5,
            ticks,
            minor: Vec::new(),
        }
    }

    /// One slot of height 1 per row, the first row at the top.
    pub(crate) fn rows(labels: &[String]) -> Axis {
        let n = labels.len();
        let ticks = labels
            .iter()
            .enumerate()
            .map(|(i, label)| Tick {
                pos: row_center(n, i),
                label: label.clone(),
            })
            .collect();
        Axis {
            lo: 0.0,
            hi: n as f64,
            ticks,
            minor: Vec::new(),
        }
    }

    pub(crate) fn positions(&self) -> Vec<f64> {
        self.ticks.iter().map(|t| t.pos).collect()
    }

    /// The label of the tick nearest `pos`. plotters asks for labels at
    /// exactly the positions we gave it, so nearest is exact in practice.
    pub(crate) fn label_at(&self, pos: f64) -> String {
        self.ticks
            .iter()
            .min_by(|a, b| (a.pos - pos).abs().total_cmp(&(b.pos - pos).abs()))
            .map(|t| t.label.clone())
            .unwrap_or_default()
    }
}

/// Plot coordinate of the centre of row `i` of `n`, rows counted from the top.
pub(crate) fn row_center(n: usize, i: usize) -> f64 {
    n as f64 - i as f64 - 0.5
}

/// Smallest and largest of `values`, or `None` if there are none.
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Pads a range; a range of (almost) one value is first widened around it,
/// so a single point or all-equal values still get a sensible axis.
fn widen(scale: Scale, (lo, hi): (f64, f64), padding: Padding) -> (f64, f64) {
    let magnitude = lo.abs().max(hi.abs());
    if hi - lo <= magnitude * 1e-12 {
        let mid = lo + (hi - lo) / 2.0;
        let half = match scale {
            Scale::Log => 0.5, // half a decade each side
            Scale::Linear if mid == 0.0 => 1.0,
            Scale::Linear => mid.abs() * 0.1,
        };
        return (mid - half, mid + half);
    }
    let span = hi - lo;
    (lo - span * padding.below, hi + span * padding.above)
}

/// A "nice" tick step: 1, 2 or 5 times a power of ten.
#[derive(Clone, Copy, Debug)]
struct Step {
    mantissa: u8,
    exponent: i32,
}

impl Step {
    /// The nice step nearest `raw`, or `None` if `raw` is not a usable step.
    fn near(raw: f64) -> Option<Step> {
        if !(raw.is_finite() && raw > 0.0) {
            return None;
        }
        let mut exponent = raw.log10().floor() as i32;
        let normalised = raw / 10f64.powi(exponent);
        let mantissa = match normalised {
            n if n < 1.5 => 1,
            n if n < 3.5 => 2,
            n if n < 7.5 => 5,
            _ => {
                exponent += 1;
                1
            }
        };
        Some(Step { mantissa, exponent })
    }

    fn value(self) -> f64 {
        f64::from(self.mantissa) * 10f64.powi(self.exponent)
    }
}

/// About `target` ticks at multiples of a nice step, labelled with just
/// enough digits to tell them apart.
fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<Tick> {
    let fallback = || {
        let tick = |pos: f64| Tick {
            pos,
            label: format!("{pos:e}"),
        };
        vec![tick(lo), tick(hi)]
    };
    let Some(step) = Step::near((hi - lo) / target.max(1) as f64) else {
        return fallback();
    };
    let size = step.value();
    let first = (lo / size).ceil();
    let last = (hi / size).floor();
    if !(size > 0.0 && first.is_finite() && last.is_finite() && last - first <= MAX_TICKS) {
        return fallback();
    }
    let values: Vec<f64> = (first as i64..=last as i64)
        .map(|i| i as f64 * size)
        .collect();
    let format = TickFormat::for_values(&values, step);
    values
        .iter()
        .map(|&v| Tick {
            pos: v,
            label: format.label(v, size),
        })
        .collect()
}

/// How a linear axis writes its numbers: plain decimals, or for very large
/// or very small ones, mantissas times one power of ten shared by the axis.
#[derive(Clone, Copy, Debug)]
enum TickFormat {
    Decimal { decimals: usize },
    Scientific { exponent: i32, decimals: usize },
}

impl TickFormat {
    fn for_values(values: &[f64], step: Step) -> Self {
        let largest = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if largest >= 1e6 || (largest > 0.0 && largest < 1e-3) {
            let exponent = largest.log10().floor() as i32;
            let decimals = (exponent - step.exponent).clamp(0, 15) as usize;
            TickFormat::Scientific { exponent, decimals }
        } else {
            TickFormat::Decimal {
                decimals: (-step.exponent).clamp(0, 15) as usize,
            }
        }
    }

    fn label(self, v: f64, step: f64) -> String {
        // A tick at zero may carry rounding noise or a minus sign.
        let v = if v.abs() < step * 1e-6 { 0.0 } else { v };
        match self {
            TickFormat::Decimal { decimals } => format!("{v:.decimals$}"),
            TickFormat::Scientific { .. } if v == 0.0 => "0".to_string(),
            TickFormat::Scientific { exponent, decimals } => {
                let mantissa = v / 10f64.powi(exponent);
                times_power_of_ten(&format!("{mantissa:.decimals$}"), exponent)
            }
        }
    }
}

/// Ticks for a log axis spanning exponents `lo..hi`: whole decades when
/// there are at least two, else 1-2-5 or 1…9 multiples, else (a range
/// narrower than one step of those) linear ticks in data space.
fn log_ticks(lo: f64, hi: f64, target: usize) -> (Vec<Tick>, Vec<f64>) {
    let first = lo.ceil() as i32;
    let last = hi.floor() as i32;
    let decades = last - first + 1;
    if decades >= 2 {
        // Decade labels are short, so allow half again the usual count
        // before skipping any.
        let stride = (decades as usize).div_ceil((target * 3 / 2).max(1)) as i32;
        // Prefer decades that are multiples of the stride (1, 10³, 10⁶…),
        // unless that leaves fewer than two.
        let aligned: Vec<i32> = (first..=last)
            .filter(|k| k.rem_euclid(stride) == 0)
            .collect();
        let exponents: Vec<i32> = if aligned.len() >= 2 {
            aligned
        } else {
            (first..=last).step_by(stride as usize).collect()
        };
        let ticks = label_powers(exponents.iter().map(|&k| (1, k)).collect());
        // Unlabelled lines: at 2…9 × 10ᵏ over a few labelled decades (over
        // more, they crowd), else at the decades left without a label.
        let minor = if stride == 1 && decades <= 4 {
            multiples(lo, hi, &[2, 3, 4, 5, 6, 7, 8, 9])
                .into_iter()
                .map(|(pos, _)| pos)
                .collect()
        } else {
            (first..=last)
                .filter(|k| !exponents.contains(k))
                .map(f64::from)
                .collect()
        };
        return (ticks, minor);
    }
    for (mantissas, needed) in [(&[1u8, 2, 5][..], 3), (&[1, 2, 3, 4, 5, 6, 7, 8, 9][..], 2)] {
        let found = multiples(lo, hi, mantissas);
        if found.len() >= needed {
            return (
                label_powers(found.into_iter().map(|(_, mk)| mk).collect()),
                Vec::new(),
            );
        }
    }
    let ticks = linear_ticks(10f64.powf(lo), 10f64.powf(hi), target)
        .into_iter()
        .filter(|t| t.pos > 0.0)
        .map(|t| Tick {
            pos: t.pos.log10(),
            label: t.label,
        })
        .collect();
    (ticks, Vec::new())
}

/// Positions (in exponents) and (mantissa, exponent) pairs of the numbers
/// m × 10ᵏ within `lo..=hi`, for the given mantissas m.
fn multiples(lo: f64, hi: f64, mantissas: &[u8]) -> Vec<(f64, (u8, i32))> {
    let mut out = Vec::new();
    for k in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for &m in mantissas {
            let pos = f64::from(k) + f64::from(m).log10();
            if (lo..=hi).contains(&pos) {
                out.push((pos, (m, k)));
            }
        }
    }
    out
}

/// Ticks at m × 10ᵏ, written exactly from their digits rather than from a
/// float (which could print as 0.30000000000000004). Plain decimals when
/// every tick lies within 0.0001…900000, otherwise powers of ten for all of
/// them, so one axis never mixes the two styles.
fn label_powers(powers: Vec<(u8, i32)>) -> Vec<Tick> {
    let plain = powers.iter().all(|&(_, k)| (-4..=5).contains(&k));
    powers
        .into_iter()
        .map(|(m, k)| {
            let pos = f64::from(k) + f64::from(m).log10();
            let label = match k {
                _ if !plain => times_power_of_ten(&m.to_string(), k),
                0.. => format!("{m}{}", "0".repeat(k as usize)),
                _ => format!("0.{}{m}", "0".repeat((-k - 1) as usize)),
            };
            Tick { pos, label }
        })
        .collect()
}

/// `"2.5", 6` → `"2.5×10⁶"`; a mantissa of exactly `"1"` is left out: `"10⁶"`.
fn times_power_of_ten(mantissa: &str, exponent: i32) -> String {
    const SUPERSCRIPT: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut power = String::from("10");
    if exponent < 0 {
        power.push('⁻');
    }
    for digit in exponent.unsigned_abs().to_string().bytes() {
        power.push(SUPERSCRIPT[usize::from(digit - b'0')]);
    }
    if mantissa == "1" {
        power
    } else {
        format!("{mantissa}×{power}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<&str> {
        axis.ticks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn linear_ticks_are_nice_and_exactly_labelled() {
        let axis = Axis::fit("x", Scale::Linear, (0.0, 1.0), Padding::NONE, 5).unwrap();
        assert_eq!(labels(&axis), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let axis = Axis::fit("x", Scale::Linear, (-30.0, 70.0), Padding::NONE, 5).unwrap();
        assert_eq!(labels(&axis), ["-20", "0", "20", "40", "60"]);
    }

    #[test]
    fn large_and_small_numbers_use_scientific_notation() {
        let axis = Axis::fit("x", Scale::Linear, (0.0, 4e6), Padding::NONE, 4).unwrap();
        assert_eq!(labels(&axis), ["0", "10⁶", "2×10⁶", "3×10⁶", "4×10⁶"]);
        let axis = Axis::fit("x", Scale::Linear, (0.0, 2.5e-4), Padding::NONE, 5).unwrap();
        assert_eq!(
            labels(&axis),
            [
                "0",
                "0.5×10⁻⁴",
                "1.0×10⁻⁴",
                "1.5×10⁻⁴",
                "2.0×10⁻⁴",
                "2.5×10⁻⁴"
            ]
        );
    }

    #[test]
    fn a_single_value_gets_a_range_around_it() {
        let axis = Axis::fit("y", Scale::Linear, (5.0, 5.0), Padding::both(0.05), 5).unwrap();
        assert_eq!((axis.lo, axis.hi), (4.5, 5.5));
        let axis = Axis::fit("y", Scale::Linear, (0.0, 0.0), Padding::both(0.05), 5).unwrap();
        assert_eq!((axis.lo, axis.hi), (-1.0, 1.0));
        let axis = Axis::fit("y", Scale::Log, (2.0, 2.0), Padding::both(0.05), 5).unwrap();
        assert_eq!((axis.lo, axis.hi), (1.5, 2.5));
        assert_eq!(labels(&axis), ["50", "100", "200"]);
    }

    #[test]
    fn log_axes_tick_whole_decades() {
        let axis = Axis::fit("x", Scale::Log, (-3.0, 2.0), Padding::NONE, 8).unwrap();
        assert_eq!(labels(&axis), ["0.001", "0.01", "0.1", "1", "10", "100"]);
        assert!(axis.minor.is_empty(), "too many decades for minor lines");
        let axis = Axis::fit("x", Scale::Log, (0.0, 2.0), Padding::NONE, 8).unwrap();
        assert_eq!(axis.minor.len(), 2 * 8);
        let axis = Axis::fit("x", Scale::Log, (-12.0, 12.0), Padding::NONE, 4).unwrap();
        assert_eq!(labels(&axis), ["10⁻¹⁰", "10⁻⁵", "10⁰", "10⁵", "10¹⁰"]);
    }

    #[test]
    fn narrow_log_axes_fall_back_to_finer_ticks() {
        let axis = Axis::fit(
            "x",
            Scale::Log,
            (20f64.log10(), 90f64.log10()),
            Padding::NONE,
            6,
        )
        .unwrap();
        assert_eq!(
            labels(&axis),
            ["20", "30", "40", "50", "60", "70", "80", "90"]
        );
        let axis = Axis::fit(
            "x",
            Scale::Log,
            (21f64.log10(), 29f64.log10()),
            Padding::NONE,
            4,
        )
        .unwrap();
        assert_eq!(labels(&axis), ["22", "24", "26", "28"]);
    }

    #[test]
    fn extreme_ranges_are_errors_not_panics() {
        let err = Axis::fit("x", Scale::Linear, (-f64::MAX, f64::MAX), Padding::NONE, 5);
        assert!(matches!(
            err,
            Err(PlotError::RangeTooWide { axis: "x", .. })
        ));
        // Tiny but valid ranges still produce ticks.
        let axis = Axis::fit("x", Scale::Linear, (0.0, 1e-300), Padding::NONE, 5).unwrap();
        assert!(axis.ticks.len() >= 2);
        let axis = Axis::fit("x", Scale::Linear, (1e15, 1e15 + 1.0), Padding::NONE, 5).unwrap();
        assert!(!axis.ticks.is_empty());
    }

    #[test]
    fn rows_run_top_to_bottom() {
        let axis = Axis::rows(&["a".to_string(), "b".to_string()]);
        assert_eq!(axis.label_at(1.5), "a");
        assert_eq!(axis.label_at(0.5), "b");
    }
}
