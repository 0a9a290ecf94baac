//! `workload("trace.json")`: a real program's trace (docs/trace-format.md,
//! read by `crate::calibration::trace`) as a step list, and
//! `trace_info("trace.json")`: what else the trace measured (start-up,
//! memory, each thread's totals).
//!
//! The trace keeps, per thread, counts and distributions per call site, not
//! the order of the calls (docs/trace-format.md, "From a trace to gilsim
//! steps"). One copy of a thread is built as:
//!
//! - every call that released the GIL (`c_release`: `c(d, true)`; `blocked`:
//!   `io(d)`, a blocking call of the measured duration, whatever its
//!   `wait_kind`), one per traced call, its durations the site's measured
//!   distribution: call `j` of `n` takes the site's quantile at
//!   `(j + ½)/n`, interpolated between the 16 `empirical_ns` points, and the
//!   site's durations are scaled to add up to its exact `total_ns`;
//! - before each of them, and once after the last, a GIL-held stretch drawn
//!   the same way from `gil_held_bursts`, scaled so that all stretches add up
//!   to the thread's `python` + `c_hold` totals, each split into `py(...)`
//!   then `c(..., false)` in the ratio of those two totals;
//! - the releasing calls, and the stretches, in an order shuffled with a
//!   seeded permutation (option `seed`, default 0; option `traced_thread`, a name or an index,
//!   picks the thread, default the one that started tracing): the trace does not say
//!   which call followed which.
//!
//! So each category's total is the trace's, to the nanosecond (rounding is
//! carried from step to step), and each site's and the stretches' quantiles
//! are the measured ones. A thread with more than [`MAX_RELEASES`] releasing
//! calls becomes `repeat(m, body)` plus the last stretch, the body holding
//! each site's calls divided by `m` (rounded, at least one) with `1/m` of
//! its total: totals stay exact, counts are rounded.
//!
//! Paths are read like imports (`super::super::resolver`): relative to the
//! main script's folder, no absolute path, no `..`, no symlink that leads out
//! of the folder; at most `MAX_TRACE_BYTES`.

use crate::calibration::trace::{self, ProgramTrace, Release, TraceDist, TraceThread};
use crate::script::api::{add, Api, RhaiResult};
use crate::script::options::Opts;
use crate::script::resolver::display_path;
use crate::script::values::{Step, StepKind};
use gilsim_engine::{Dist, SimDuration};
use rhai::{Array, Dynamic, Map, INT};
use std::path::{Component, Path, PathBuf};

/// Most releasing calls one copy of a thread spells out; more become a
/// `repeat` (module docs).
pub const MAX_RELEASES: u64 = 10_000;

/// Options of `workload(path, options)`.
const OPTIONS: &[&str] = &["traced_thread", "seed"];

/// The file `name` in `dir`, checked like an import path.
fn resolve(dir: &Path, name: &str, what: &str) -> RhaiResult<PathBuf> {
    let p = Path::new(name);
    let relative = !name.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !name.contains('\\');
    if !relative {
        return Err(format!(
            "{what}(\"{name}\"): a trace is named by a path relative to the script's folder, without `..`, like \"trace.json\" or \"traces/app.json\""
        )
        .into());
    }
    let candidate = dir.join(p);
    let shown = shown(dir, name);
    let abs = std::fs::canonicalize(&candidate)
        .map_err(|e| format!("{what}(\"{name}\"): cannot read trace {shown}: {e}"))?;
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if !abs.starts_with(&root) {
        return Err(format!(
            "{what}(\"{name}\"): {shown} leads to {}, outside the script's folder; a trace may not be a symlink to elsewhere: copy it beside the script",
            display_path(&abs)
        )
        .into());
    }
    Ok(abs)
}

/// A path as errors show it: `name` itself for a script in the working folder.
fn shown(dir: &Path, name: &str) -> String {
    if dir == Path::new(".") {
        name.to_string()
    } else {
        display_path(&dir.join(name))
    }
}

fn load(dir: &Path, name: &str, what: &str) -> RhaiResult<ProgramTrace> {
    let abs = resolve(dir, name, what)?;
    trace::read(&abs, &shown(dir, name)).map_err(|e| format!("{what}: {e}").into())
}

/// The traced thread `which` (a name or an index), or the main thread.
fn pick(t: &ProgramTrace, which: Option<Dynamic>) -> RhaiResult<&TraceThread> {
    let names = || {
        t.threads
            .iter()
            .map(|t| format!("\"{}\"", t.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(which) = which else {
        return Ok(t.main_thread());
    };
    if let Ok(i) = which.as_int() {
        return usize::try_from(i)
            .ok()
            .and_then(|i| t.threads.get(i))
            .ok_or_else(|| {
                format!(
                    "option `traced_thread` of workload(): no thread {i} in the trace; it has {} ({})",
                    t.threads.len(),
                    names()
                )
                .into()
            });
    }
    let name = which.clone().into_string().map_err(|_| {
        format!(
            "option `traced_thread` of workload(): expected a thread's name or index, got {}",
            crate::script::values::describe(&which)
        )
    })?;
    t.threads.iter().find(|t| t.name == name).ok_or_else(|| {
        format!(
            "option `traced_thread` of workload(): no thread \"{name}\" in the trace; its threads: {}",
            names()
        )
        .into()
    })
}

/// The quantile at `p` (0–1) of a dist's 16 points, each the quantile at
/// (i + ½)/16, linear between them and flat beyond the outer two.
fn quantile(points: &[SimDuration], p: f64) -> f64 {
    let Some(last) = points.len().checked_sub(1) else {
        return 0.0;
    };
    let x = (p * points.len() as f64 - 0.5).clamp(0.0, last as f64);
    let i = x.floor() as usize;
    let j = (i + 1).min(last);
    let w = x - i as f64;
    points[i].0 as f64 * (1.0 - w) + points[j].0 as f64 * w
}

/// `n` durations spread over the dist's quantiles, scaled to add up to
/// `total` ns exactly (the rounding carried along).
fn spread(d: &TraceDist, n: u64, total: f64) -> Vec<SimDuration> {
    let raw: Vec<f64> = (0..n)
        .map(|j| quantile(&d.empirical, (j as f64 + 0.5) / n as f64))
        .collect();
    let sum: f64 = raw.iter().sum();
    let scale = if sum > 0.0 { total / sum } else { 0.0 };
    let even = if sum > 0.0 { 0.0 } else { total / n as f64 };
    let mut out = Vec::with_capacity(raw.len());
    let (mut cum, mut done) = (0.0_f64, 0u64);
    for r in raw {
        cum += r * scale + even;
        let upto = cum.round().max(0.0) as u64;
        out.push(SimDuration(upto.saturating_sub(done)));
        done = done.max(upto);
    }
    out
}

/// A seeded permutation (splitmix64 draws, Fisher–Yates): only the order of
/// the calls is drawn, so any fixed generator will do.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// A GIL-held stretch: its Python part, then its GIL-holding C part.
fn held(d: SimDuration, python_share: f64, out: &mut Vec<Step>) {
    let py = SimDuration((d.0 as f64 * python_share).round() as u64).min(d);
    let c = SimDuration(d.0 - py.0);
    if py.0 > 0 {
        out.push(Step::leaf(StepKind::Py(py)));
    }
    if c.0 > 0 {
        out.push(Step::leaf(StepKind::C {
            dur: c,
            releases_gil: false,
        }));
    }
}

fn release_step(kind: Release, d: SimDuration) -> Step {
    Step::leaf(match kind {
        Release::Compute => StepKind::C {
            dur: d,
            releases_gil: true,
        },
        Release::Blocked => StepKind::Io {
            latency: Dist::Fixed(d),
            device: None,
        },
    })
}

/// One copy of `t` as steps (module docs).
pub fn steps_of(t: &TraceThread, seed: u64) -> Vec<Step> {
    let calls: u64 = t.releases.iter().map(|s| s.calls.count).sum();
    let m = calls.div_ceil(MAX_RELEASES).max(1);
    let mut releases: Vec<Step> = Vec::new();
    for s in &t.releases {
        let k = if m == 1 {
            s.calls.count
        } else {
            ((s.calls.count as f64 / m as f64).round() as u64).max(1)
        };
        let total = s.calls.total.0 as f64 / m as f64;
        releases.extend(
            spread(&s.calls, k, total)
                .into_iter()
                .map(|d| release_step(s.kind, d)),
        );
    }
    shuffle(&mut releases, seed);
    let held_total = t.totals.python.0 + t.totals.c_hold.0;
    let python_share = if held_total > 0 {
        t.totals.python.0 as f64 / held_total as f64
    } else {
        0.0
    };
    // The K stretches of the body and the last one, scaled together so that
    // m body copies plus the last add up to the held total.
    let k = releases.len() as u64;
    let raw = spread(&t.held_bursts, k + 1, held_total as f64);
    let raw_body: u64 = raw[..k as usize].iter().map(|d| d.0).sum();
    let raw_all = m * raw_body + raw[k as usize].0;
    let body_total = if raw_all > 0 {
        held_total as f64 * raw_body as f64 / raw_all as f64 / m as f64
    } else {
        0.0
    };
    let mut stretches: Vec<SimDuration> = raw[..k as usize].to_vec();
    let sum: u64 = stretches.iter().map(|d| d.0).sum();
    let scale = if sum > 0 {
        body_total / sum as f64
    } else {
        0.0
    };
    let (mut cum, mut done) = (0.0_f64, 0u64);
    for d in &mut stretches {
        cum += d.0 as f64 * scale;
        let upto = cum.round() as u64;
        *d = SimDuration(upto.saturating_sub(done));
        done = done.max(upto);
    }
    shuffle(&mut stretches, seed.wrapping_add(1));
    let last = SimDuration(held_total.saturating_sub(m * done));
    let mut body = Vec::with_capacity(3 * releases.len());
    for (stretch, call) in stretches.into_iter().zip(releases) {
        held(stretch, python_share, &mut body);
        body.push(call);
    }
    let mut out = if m == 1 || body.is_empty() {
        body
    } else {
        let depth = 1 + body.iter().map(|s| s.depth).max().unwrap_or(0);
        vec![Step {
            kind: StepKind::Repeat { times: m, body },
            depth,
        }]
    };
    held(last, python_share, &mut out);
    out
}

fn workload(dir: &Path, name: &str, opts: Map) -> RhaiResult<Array> {
    let t = load(dir, name, "workload")?;
    let mut o = Opts::new("workload()", opts, OPTIONS)?;
    let seed = o.int_in("seed", 0, INT::MAX)?.unwrap_or(0) as u64;
    let thread = pick(&t, o.raw("traced_thread"))?;
    let steps = steps_of(thread, seed);
    if steps.is_empty() {
        return Err(format!(
            "workload(\"{name}\"): thread \"{}\" of the trace did nothing (all its totals are 0); there is nothing to run",
            thread.name
        )
        .into());
    }
    Ok(steps.into_iter().map(Dynamic::from).collect())
}

fn optional_int(v: Option<u64>) -> Dynamic {
    v.map_or(Dynamic::UNIT, |n| {
        Dynamic::from_int(n.min(INT::MAX as u64) as INT)
    })
}

fn thread_info(t: &TraceThread) -> Map {
    let mut m = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        m.insert(k.into(), v);
    };
    put("name", t.name.clone().into());
    put("main", t.main.into());
    put("wall", Dynamic::from(t.wall));
    put("python", Dynamic::from(t.totals.python));
    put("c_hold", Dynamic::from(t.totals.c_hold));
    put("c_release", Dynamic::from(t.totals.c_release));
    put("blocked", Dynamic::from(t.totals.blocked));
    let count = |kind: Release| -> u64 {
        t.releases
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.calls.count)
            .sum()
    };
    put(
        "c_release_calls",
        optional_int(Some(count(Release::Compute))),
    );
    put("blocked_calls", optional_int(Some(count(Release::Blocked))));
    m
}

fn trace_info(dir: &Path, name: &str) -> RhaiResult<Map> {
    let t = load(dir, name, "trace_info")?;
    let mut m = Map::new();
    let mut put = |k: &str, v: Dynamic| {
        m.insert(k.into(), v);
    };
    put("python_version", t.python_version.clone().into());
    put("switch_interval", Dynamic::from(t.switch_interval));
    put("cpu_count", optional_int(t.cpu_count));
    put("wall", Dynamic::from(t.wall));
    put("peak_rss_bytes", optional_int(t.peak_rss_bytes));
    put(
        "interpreter_startup",
        t.startup.interpreter.map_or(Dynamic::UNIT, Dynamic::from),
    );
    put("imports", Dynamic::from(t.startup.imports));
    put(
        "estimated_slowdown",
        Dynamic::from_float(t.estimated_slowdown),
    );
    put(
        "threads",
        Dynamic::from_array(
            t.threads
                .iter()
                .map(|t| Dynamic::from_map(thread_info(t)))
                .collect(),
        ),
    );
    Ok(m)
}

/// Registers `workload(path)` and `trace_info(path)`, reading traces in `dir`
/// (the main script's folder).
pub fn register(api: &mut Api, dir: &Path) {
    let (d1, d2, d3) = (dir.to_path_buf(), dir.to_path_buf(), dir.to_path_buf());
    add!(
        api,
        "workload(path: string) -> array of Step",
        move |p: &str| { workload(&d1, p, Map::new()) }
    );
    add!(
        api,
        "workload(path: string, options: map) -> array of Step",
        move |p: &str, o: Map| workload(&d2, p, o)
    );
    add!(api, "trace_info(path: string) -> map", move |p: &str| {
        trace_info(&d3, p)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_the_points() {
        let pts: Vec<SimDuration> = (0..16).map(|i| SimDuration(100 * i)).collect();
        // Point i is the quantile at (i + ½)/16.
        assert_eq!(quantile(&pts, 0.5 / 16.0), 0.0);
        assert_eq!(quantile(&pts, 1.0 / 16.0), 50.0);
        assert_eq!(quantile(&pts, 1.0), 1500.0);
        assert_eq!(quantile(&pts, 0.0), 0.0);
    }

    /// The fixture's copy: one step per traced releasing call, each drawn
    /// within its site's measured range; the same seed gives the same steps,
    /// another seed another order of the same steps.
    #[test]
    fn a_copy_of_the_fixture_has_its_calls_in_their_measured_ranges() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace/mixed.json"),
        )
        .unwrap();
        let t = trace::parse(&text, "mixed.json").unwrap();
        let main = t.main_thread();
        let steps = steps_of(main, 0);
        let released: Vec<SimDuration> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::C {
                    dur,
                    releases_gil: true,
                } => Some(*dur),
                _ => None,
            })
            .collect();
        let sleeps: Vec<SimDuration> = steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Io {
                    latency: Dist::Fixed(d),
                    ..
                } => Some(*d),
                _ => None,
            })
            .collect();
        let count = |k: Release| -> u64 {
            main.releases
                .iter()
                .filter(|s| s.kind == k)
                .map(|s| s.calls.count)
                .sum()
        };
        assert_eq!(released.len() as u64, count(Release::Compute));
        assert_eq!(sleeps.len() as u64, count(Release::Blocked));
        let sleep = main
            .releases
            .iter()
            .find(|s| s.callee == "time.sleep")
            .unwrap();
        // Within the measured range, stretched by the scaling to the exact
        // total (the quantiles come from the histogram, not the samples).
        let n = sleep.calls.count;
        let raw: f64 = (0..n)
            .map(|j| quantile(&sleep.calls.empirical, (j as f64 + 0.5) / n as f64))
            .sum();
        let scale = sleep.calls.total.0 as f64 / raw;
        let lo = sleep.calls.empirical[0].0 as f64 * scale.min(1.0);
        let hi = sleep.calls.empirical[15].0 as f64 * scale.max(1.0);
        for d in &sleeps {
            let d = d.0 as f64;
            assert!(
                d >= lo.floor() && d <= hi.ceil(),
                "{d} outside [{lo}, {hi}]"
            );
        }
        assert_eq!(steps, steps_of(main, 0));
        let other = steps_of(main, 1);
        assert_ne!(steps, other);
        assert_eq!(steps.len(), other.len());
    }

    #[test]
    fn spread_keeps_the_total_and_the_order_of_quantiles() {
        let pts: Vec<SimDuration> = (0..16).map(|i| SimDuration(1000 + 7 * i * i)).collect();
        let d = TraceDist {
            count: 37,
            total: SimDuration(123_457),
            empirical: pts,
        };
        for n in [1, 2, 37, 1000] {
            let v = spread(&d, n, 123_457.0);
            assert_eq!(v.len() as u64, n);
            assert_eq!(v.iter().map(|d| d.0).sum::<u64>(), 123_457, "n = {n}");
        }
        let v = spread(&d, 37, 123_457.0);
        assert!(v.first() < v.last(), "{v:?}");
    }
}
