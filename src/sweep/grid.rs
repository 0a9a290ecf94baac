//! Parameter sweeps: a grid of points × replicates, evaluated in parallel,
//! deterministically.
//!
//! - **Grid**: the cartesian product of named parameter lists; the first axis
//!   varies slowest, like nested `for` loops written in axis order.
//! - **Seeds**: replicate `r` of *every* point runs with
//!   [`replicate_seed`]`(master, r)`. Points share their random numbers
//!   (common random numbers), so a difference between two points is the
//!   model's, not the dice's.
//! - **Order**: [`evaluate`] runs tasks on a rayon pool in any order and
//!   returns results in task order, so the output does not depend on `--jobs`.
//! - **Summary**: replicates of a point become `<metric>_mean` and
//!   `<metric>_ci95`, the half-width of a 95% Student-t confidence interval
//!   of the mean (`t(0.975, n-1) × s / √n`, `s` the sample standard
//!   deviation); with one replicate the interval is unknown and the cell is empty.

use crate::output::table::{Cell, Table, TableError};
use gilsim_engine::stream_seed;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use thiserror::Error;

/// Default largest number of tasks (points × replicates) of one sweep (the
/// `sweep-runs` limit).
pub const MAX_TASKS: usize = 1_000_000;

/// Names a sweep adds to every point; a grid axis or metric may not use them.
pub const RESERVED: [&str; 3] = ["replicate", "seed", "replicates"];

/// A sweep that cannot be set up or whose results do not fit together.
#[derive(Debug, Error, PartialEq)]
pub enum SweepError {
    /// A grid axis without values.
    #[error("grid parameter \"{0}\" has no values; give it a non-empty list")]
    EmptyAxis(String),
    /// A grid without axes.
    #[error("the grid has no parameters; give at least one, like #{{ threads: [1, 2, 4] }}")]
    EmptyGrid,
    /// Too many tasks.
    #[error("the sweep has {points} points × {replicates} replicates, more than {limit} runs; {hint}", hint = crate::support::limits::raise_hint("sweep-runs", *limit, Some((*points as u64).saturating_mul(*replicates as u64))))]
    TooLarge {
        /// Grid points (saturated).
        points: usize,
        /// Replicates.
        replicates: usize,
        /// The `sweep-runs` limit.
        limit: u64,
    },
    /// A name the sweep adds itself.
    #[error(
        "\"{0}\" is a column the sweep adds itself (replicate, seed, replicates); rename the {1}"
    )]
    Reserved(String, &'static str),
    /// Replicates out of range.
    #[error("replicates must be at least 1, got {0}")]
    NoReplicates(i64),
    /// Two tasks returned different metric names.
    #[error("every point must return the same metrics: {first_point} returned [{first}] but {point} returned [{this}]")]
    MetricsDiffer {
        /// The first task's description.
        first_point: String,
        /// Its metric names.
        first: String,
        /// The differing task.
        point: String,
        /// Its metric names.
        this: String,
    },
    /// A metric that is also a grid parameter.
    #[error("metric \"{0}\" has the name of a grid parameter; rename the metric")]
    MetricIsParameter(String),
    /// A metric that is not a number.
    #[error("metric \"{metric}\" of {point} is not a number (got {value}); a sweep averages its metrics, so return numbers")]
    NotANumber {
        /// The metric.
        metric: String,
        /// The task.
        point: String,
        /// The value.
        value: String,
    },
    /// Building a table failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// The seed of replicate `r` under `master`: the same for every point.
/// Kept below 2^63 so that scripts (64-bit signed integers) can hold it.
pub fn replicate_seed(master: u64, r: u64) -> u64 {
    stream_seed(master, "replicate", r) & (i64::MAX as u64)
}

/// A cartesian grid of named parameter lists, in axis order.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    axes: Vec<(String, Vec<Cell>)>,
}

impl Grid {
    /// A grid from axes (name, values); each axis needs at least one value.
    pub fn new(axes: Vec<(String, Vec<Cell>)>) -> Result<Self, SweepError> {
        if axes.is_empty() {
            return Err(SweepError::EmptyGrid);
        }
        for (name, values) in &axes {
            crate::output::table::check_column_name(name)?;
            if RESERVED.contains(&name.as_str()) {
                return Err(SweepError::Reserved(name.clone(), "grid parameter"));
            }
            if values.is_empty() {
                return Err(SweepError::EmptyAxis(name.clone()));
            }
        }
        Ok(Grid { axes })
    }

    /// The parameter names, in axis order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.axes.iter().map(|(n, _)| n.as_str())
    }

    /// Number of points (saturating at `usize::MAX`).
    pub fn len(&self) -> usize {
        self.axes
            .iter()
            .fold(1usize, |n, (_, v)| n.saturating_mul(v.len()))
    }

    /// Whether the grid has no points (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Point `i` (0-based, first axis slowest) as (name, value) pairs.
    pub fn point(&self, mut i: usize) -> Vec<(String, Cell)> {
        let mut values = vec![Cell::Empty; self.axes.len()];
        for (k, (_, axis)) in self.axes.iter().enumerate().rev() {
            values[k] = axis[i % axis.len()].clone();
            i /= axis.len();
        }
        self.axes
            .iter()
            .map(|(n, _)| n.clone())
            .zip(values)
            .collect()
    }
}

/// A grid with its replicates: the full set of tasks of one sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The grid.
    pub grid: Grid,
    /// Replicates per point (≥ 1).
    pub replicates: usize,
    /// The master seed.
    pub seed: u64,
}

/// One task of a plan: a point and a replicate.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// Point index.
    pub point: usize,
    /// Replicate index.
    pub replicate: usize,
    /// The parameters of the point.
    pub params: Vec<(String, Cell)>,
    /// The replicate's seed.
    pub seed: u64,
}

impl Task {
    /// `threads=4, gil="old", replicate 2` — for error messages.
    pub fn describe(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(n, v)| match v {
                Cell::Text(s) => format!("{n}=\"{s}\""),
                other => format!("{n}={other}"),
            })
            .collect();
        format!(
            "point {} ({}), replicate {}",
            self.point,
            params.join(", "),
            self.replicate
        )
    }
}

impl Plan {
    /// A plan; checks that it has at most `max_runs` tasks.
    pub fn new(grid: Grid, replicates: i64, seed: u64, max_runs: u64) -> Result<Self, SweepError> {
        if replicates < 1 {
            return Err(SweepError::NoReplicates(replicates));
        }
        let points = grid.len();
        let replicates = usize::try_from(replicates).unwrap_or(usize::MAX);
        let runs = points.saturating_mul(replicates);
        if u64::try_from(runs).unwrap_or(u64::MAX) > max_runs {
            return Err(SweepError::TooLarge {
                points,
                replicates,
                limit: max_runs,
            });
        }
        Ok(Plan {
            grid,
            replicates,
            seed,
        })
    }

    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.grid.len() * self.replicates
    }

    /// Whether there are no tasks (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Task `i`: point-major, replicates inner.
    pub fn task(&self, i: usize) -> Task {
        let (point, replicate) = (i / self.replicates, i % self.replicates);
        Task {
            point,
            replicate,
            params: self.grid.point(point),
            seed: replicate_seed(self.seed, replicate as u64),
        }
    }

    /// One row per task: the parameters, `replicate`, `seed`, then the metrics
    /// (as returned by each task, in a common order).
    pub fn runs_table(
        &self,
        name: &str,
        results: &[Vec<(String, Cell)>],
    ) -> Result<Table, SweepError> {
        let metrics = self.metric_names(results)?;
        let mut columns: Vec<String> = self.grid.names().map(String::from).collect();
        columns.extend(["replicate".to_string(), "seed".to_string()]);
        columns.extend(metrics.iter().cloned());
        let mut t = Table::with_columns(name, columns)?;
        for (i, metrics) in results.iter().enumerate() {
            let task = self.task(i);
            let mut row = task.params.clone();
            row.push(("replicate".into(), Cell::Int(task.replicate as i64)));
            row.push(("seed".into(), Cell::Int(task.seed as i64)));
            row.extend(metrics.iter().cloned());
            t.add_row(row)?;
        }
        Ok(t)
    }

    /// One row per point: the parameters, `replicates`, then
    /// `<metric>_mean` and `<metric>_ci95` for every metric.
    pub fn summary_table(
        &self,
        name: &str,
        results: &[Vec<(String, Cell)>],
    ) -> Result<Table, SweepError> {
        let metrics = self.metric_names(results)?;
        let mut columns: Vec<String> = self.grid.names().map(String::from).collect();
        columns.push("replicates".into());
        for m in &metrics {
            columns.push(format!("{m}_mean"));
            columns.push(format!("{m}_ci95"));
        }
        let mut t = Table::with_columns(name, columns)?;
        for point in 0..self.grid.len() {
            let tasks = point * self.replicates..(point + 1) * self.replicates;
            let mut row = self.grid.point(point);
            row.push(("replicates".into(), Cell::Int(self.replicates as i64)));
            for (k, m) in metrics.iter().enumerate() {
                let mut xs = Vec::with_capacity(self.replicates);
                for i in tasks.clone() {
                    let cell = &results[i][k].1;
                    let x = cell.as_f64().ok_or_else(|| SweepError::NotANumber {
                        metric: m.clone(),
                        point: self.task(i).describe(),
                        value: format!("{cell:?}"),
                    })?;
                    xs.push(x);
                }
                let (mean, ci) = mean_ci95(&xs);
                row.push((format!("{m}_mean"), Cell::Float(mean)));
                row.push((format!("{m}_ci95"), ci.map_or(Cell::Empty, Cell::Float)));
            }
            t.add_row(row)?;
        }
        Ok(t)
    }

    /// The metric names every task returned, checked to agree and not to
    /// clash with the parameters.
    fn metric_names(&self, results: &[Vec<(String, Cell)>]) -> Result<Vec<String>, SweepError> {
        let names = |r: &[(String, Cell)]| r.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let first = results.first().map(|r| names(r)).unwrap_or_default();
        for (i, r) in results.iter().enumerate().skip(1) {
            let this = names(r);
            if this != first {
                return Err(SweepError::MetricsDiffer {
                    first_point: self.task(0).describe(),
                    first: first.join(", "),
                    point: self.task(i).describe(),
                    this: this.join(", "),
                });
            }
        }
        for m in &first {
            crate::output::table::check_column_name(m)?;
            if RESERVED.contains(&m.as_str()) {
                return Err(SweepError::Reserved(m.clone(), "metric"));
            }
            if self.grid.names().any(|p| p == m) {
                return Err(SweepError::MetricIsParameter(m.clone()));
            }
        }
        Ok(first)
    }
}

/// Runs `f(0..count)` on `pool` and returns the results in index order. After
/// the first failure no new task starts; the error of the lowest failed index
/// is returned with that index. `done` is called after each finished task
/// (for a progress bar).
pub fn evaluate<T, E, F, D>(
    pool: &rayon::ThreadPool,
    count: usize,
    done: D,
    f: F,
) -> Result<Vec<T>, (usize, E)>
where
    T: Send,
    E: Send,
    F: Fn(usize) -> Result<T, E> + Sync,
    D: Fn() + Sync,
{
    let failed = AtomicBool::new(false);
    let results: Vec<Option<Result<T, E>>> = pool.install(|| {
        (0..count)
            .into_par_iter()
            .map(|i| {
                if failed.load(Ordering::Relaxed) {
                    return None;
                }
                let r = f(i);
                if r.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                done();
                Some(r)
            })
            .collect()
    });
    let mut out = Vec::with_capacity(count);
    let mut skipped = false;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err((i, e)),
            None => skipped = true,
        }
    }
    // Tasks are skipped only after a failure, and a failure returns above.
    debug_assert!(!skipped);
    Ok(out)
}

/// Mean and 95% CI half-width of `xs` (`None` with fewer than two values).
pub fn mean_ci95(xs: &[f64]) -> (f64, Option<f64>) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, None);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, None);
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    (mean, Some(t_975(n - 1) * (var / n as f64).sqrt()))
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom: exact
/// table values up to 30, then the Cornish–Fisher expansion around the normal
/// quantile (error below 1e-5 beyond 30).
pub fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706_204_736,
        4.302_652_730,
        3.182_446_305,
        2.776_445_105,
        2.570_581_836,
        2.446_911_851,
        2.364_624_252,
        2.306_004_135,
        2.262_157_163,
        2.228_138_852,
        2.200_985_160,
        2.178_812_830,
        2.160_368_656,
        2.144_786_688,
        2.131_449_546,
        2.119_905_299,
        2.109_815_578,
        2.100_922_040,
        2.093_024_054,
        2.085_963_447,
        2.079_613_845,
        2.073_873_068,
        2.068_657_610,
        2.063_898_562,
        2.059_538_553,
        2.055_529_439,
        2.051_830_516,
        2.048_407_142,
        2.045_229_642,
        2.042_272_456,
    ];
    if df == 0 {
        return f64::NAN;
    }
    if df <= TABLE.len() {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let d = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * d)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * d.powi(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid::new(vec![
            (
                "gil".into(),
                vec![Cell::Text("new".into()), Cell::Text("none".into())],
            ),
            (
                "threads".into(),
                vec![Cell::Int(1), Cell::Int(2), Cell::Int(4)],
            ),
        ])
        .unwrap()
    }

    #[test]
    fn points_vary_the_last_axis_fastest() {
        let g = grid();
        assert_eq!(g.len(), 6);
        let p = g.point(4);
        assert_eq!(
            p,
            vec![
                ("gil".into(), Cell::Text("none".into())),
                ("threads".into(), Cell::Int(2))
            ]
        );
    }

    #[test]
    fn every_point_of_a_replicate_shares_its_seed() {
        let plan = Plan::new(grid(), 3, 42, 1000).unwrap();
        assert_eq!(plan.len(), 18);
        assert_eq!(plan.task(1).seed, plan.task(4).seed);
        assert_ne!(plan.task(0).seed, plan.task(1).seed);
        assert!(plan.task(2).seed <= i64::MAX as u64);
    }

    #[test]
    fn t_quantiles_match_published_values() {
        // (df, t) from standard tables.
        for (df, t) in [
            (1, 12.706),
            (4, 2.776),
            (10, 2.228),
            (30, 2.042),
            (40, 2.021),
            (60, 2.000),
            (120, 1.980),
        ] {
            assert!((t_975(df) - t).abs() < 1e-3, "df={df}: {}", t_975(df));
        }
        let (m, ci) = mean_ci95(&[1.0, 2.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((ci.unwrap() - 4.302_652_73 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(mean_ci95(&[5.0]), (5.0, None));
    }

    #[test]
    fn results_come_back_in_order_and_the_first_error_wins() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let ok: Result<Vec<usize>, (usize, String)> = evaluate(&pool, 100, || {}, |i| Ok(i * 2));
        assert_eq!(ok.unwrap(), (0..100).map(|i| i * 2).collect::<Vec<_>>());
        let err = evaluate(
            &pool,
            100,
            || {},
            |i| if i % 10 == 3 { Err(i) } else { Ok(i) },
        );
        assert_eq!(err.unwrap_err().1 % 10, 3);
    }

    #[test]
    fn summary_has_mean_and_ci_columns() {
        let plan = Plan::new(grid(), 2, 1, 1000).unwrap();
        let results: Vec<_> = (0..plan.len())
            .map(|i| vec![("makespan_s".to_string(), Cell::Float(i as f64))])
            .collect();
        let s = plan.summary_table("s", &results).unwrap();
        assert_eq!(
            s.columns(),
            [
                "gil",
                "threads",
                "replicates",
                "makespan_s_mean",
                "makespan_s_ci95"
            ]
        );
        assert_eq!(s.rows()[0][3], Cell::Float(0.5));
        let r = plan.runs_table("r", &results).unwrap();
        assert_eq!(
            r.columns(),
            ["gil", "threads", "replicate", "seed", "makespan_s"]
        );
        assert_eq!(r.len(), 12);
    }
}
