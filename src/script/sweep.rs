//! `sweep()` in scripts: a grid × replicates, evaluated by a script closure on
//! `--jobs` worker threads.
//!
//! ```rhai
//! let s = sweep("scaling", #{ threads: [1, 2, 4] }, #{ replicates: 3 }, |p| {
//!     let app = python();
//!     for i in 0..p.threads { app.thread(`t${i}`, [py(ms(10))]); }
//!     #{ makespan_s: machine(#{ cores: 4 }).run(app).makespan().s() }
//! });
//! s.save();   // scaling.csv (mean, ci95) and scaling_runs.csv (every replicate)
//! ```
//!
//! Determinism: each task (point, replicate) runs with the replicate's seed,
//! which `Machine.run` picks up by default; results are gathered in task
//! order; `print` output of a point is held back and printed in task order
//! after the sweep. The closure runs on *private copies* of the variables it
//! captures, so points cannot race on shared state (changes to captured
//! variables are lost when the point ends: return what you want to keep).

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::table::{cell_from, cell_to_dynamic, check_table_name, save};
use super::values::describe;
use crate::output::table::{Cell, Table};
use crate::sweep::grid::{evaluate, Grid, Plan, Task};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rhai::{Dynamic, EvalAltResult, FnPtr, Map, NativeCallContext, Position};
use std::cell::RefCell;
use std::sync::Arc;

/// What belongs to the sweep point running on this thread.
struct Point {
    seed: u64,
    prints: Vec<String>,
}

thread_local! {
    static POINT: RefCell<Option<Point>> = const { RefCell::new(None) };
}

/// The seed a run uses by default: the sweep point's, or the master seed.
pub fn current_seed(ctx: &RunContext) -> u64 {
    POINT
        .with(|p| p.borrow().as_ref().map(|p| p.seed))
        .unwrap_or(ctx.seed)
}

/// Holds back a printed line if a sweep point runs on this thread.
pub fn capture_print(line: &str) -> bool {
    POINT.with(|p| match p.borrow_mut().as_mut() {
        Some(point) => {
            point.prints.push(line.to_string());
            true
        }
        None => false,
    })
}

/// Whether a sweep point runs on this thread.
pub fn in_point() -> bool {
    POINT.with(|p| p.borrow().is_some())
}

/// A finished sweep, as a script value (`Sweep`).
#[derive(Clone, Debug)]
pub struct SweepResult {
    summary: Table,
    runs: Table,
}

/// Options of `sweep()`.
const SWEEP_OPTIONS: &[&str] = &["replicates", "order"];

fn grid_from(grid: Map, order: Option<Vec<String>>) -> RhaiResult<Grid> {
    let keys: Vec<String> = grid.keys().map(|k| k.to_string()).collect();
    let order = match order {
        None => keys,
        Some(order) => {
            let mut sorted = order.clone();
            sorted.sort();
            let mut want = keys.clone();
            want.sort();
            if sorted != want {
                return Err(format!(
                    "option `order` of sweep(): [{}] must list each grid parameter once: {}",
                    order.join(", "),
                    keys.join(", ")
                )
                .into());
            }
            order
        }
    };
    let mut grid = grid;
    let mut axes = Vec::with_capacity(order.len());
    for name in order {
        let values = grid.remove(name.as_str()).unwrap_or_default().flatten();
        let values = values.clone().into_array().map_err(|_| {
            format!(
                "grid parameter `{name}` must be a list of values, like [1, 2, 4], got {}",
                describe(&values)
            )
        })?;
        let cells = values
            .iter()
            .enumerate()
            .map(|(i, v)| cell_from(&format!("grid parameter `{name}` value [{i}]"), v))
            .collect::<RhaiResult<Vec<Cell>>>()?;
        axes.push((name, cells));
    }
    Grid::new(axes).map_err(|e| e.to_string().into())
}

/// The closure with private copies of what it captured; refuses captured tables.
fn private_closure(f: &FnPtr) -> RhaiResult<FnPtr> {
    let mut copies = Vec::with_capacity(f.curry().len());
    for v in f.curry() {
        let v = v.flatten_clone();
        if v.is::<Table>() {
            return Err("the sweep function captures a table: points run in parallel and cannot add rows to a shared table; return the row's values as a map instead, and the sweep makes the table".into());
        }
        copies.push(v);
    }
    let mut g = f.clone();
    g.set_curry(copies);
    Ok(g)
}

fn point_map(task: &Task) -> Map {
    let mut m: Map = task
        .params
        .iter()
        .map(|(k, v)| (k.into(), cell_to_dynamic(v)))
        .collect();
    m.insert("replicate".into(), Dynamic::from_int(task.replicate as i64));
    m.insert("seed".into(), Dynamic::from_int(task.seed as i64));
    m
}

fn metrics_from(value: Dynamic) -> RhaiResult<Vec<(String, Cell)>> {
    let value = value.flatten();
    let map = value.clone().try_cast::<Map>().ok_or_else(|| {
        format!("the sweep function must return a map of numbers, like #{{ makespan_s: r.makespan().s() }}; it returned {}", describe(&value))
    })?;
    if map.is_empty() {
        return Err("the sweep function returned an empty map; return at least one metric".into());
    }
    map.into_iter()
        .map(|(k, v)| {
            let v = v.flatten();
            if let Ok(i) = v.as_int() {
                Ok((k.to_string(), Cell::Int(i)))
            } else if let Ok(x) = v.as_float() {
                Ok((k.to_string(), Cell::Float(x)))
            } else {
                Err(format!(
                    "metric `{k}` must be a number (the sweep averages it), got {}",
                    describe(&v)
                )
                .into())
            }
        })
        .collect()
}

/// A task's metrics and the lines it printed.
type TaskOutput = crate::sweep::journal::RunOutput;

/// Runs one task on this thread, with its seed, capturing its prints.
fn run_task(ctx: &NativeCallContext, f: &FnPtr, task: &Task) -> RhaiResult<TaskOutput> {
    super::guard::restart_thread();
    POINT.with(|p| {
        *p.borrow_mut() = Some(Point {
            seed: task.seed,
            prints: Vec::new(),
        })
    });
    let result = f.call_within_context::<Dynamic>(ctx, (point_map(task),));
    let prints = POINT
        .with(|p| p.borrow_mut().take())
        .map(|p| p.prints)
        .unwrap_or_default();
    Ok((metrics_from(result?)?, prints))
}

fn progress_bar(ctx: &RunContext, name: &str, len: usize) -> ProgressBar {
    if !ctx.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix} {wide_bar} {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(format!("sweep {name}"));
    bar
}

fn sweep(
    ncx: NativeCallContext,
    ctx: &RunContext,
    name: &str,
    grid: Map,
    opts: Map,
    f: FnPtr,
) -> RhaiResult<SweepResult> {
    if in_point() {
        return Err(
            "sweep() cannot run inside a sweep point; put every parameter into one grid".into(),
        );
    }
    check_table_name(name)?;
    check_table_name(&format!("{name}_runs"))?;
    let mut o = super::options::Opts::new("sweep()", opts, SWEEP_OPTIONS)?;
    let replicates = o.int_in("replicates", 1, i64::MAX)?.unwrap_or(1);
    let order = match o.raw("order") {
        None => None,
        Some(v) => Some(
            v.clone()
                .into_typed_array::<rhai::ImmutableString>()
                .map_err(|_| {
                    o.error(
                        "order",
                        format!("expected a list of parameter names, got {}", describe(&v)),
                    )
                })?
                .into_iter()
                .map(|s| s.to_string())
                .collect(),
        ),
    };
    let plan = Plan::new(
        grid_from(grid, order)?,
        replicates,
        ctx.seed,
        ctx.limits.max_sweep_runs,
    )
    .map_err(|e| e.to_string())?;
    let f = private_closure(&f)?;
    let pool = ctx.pool()?;
    let mut journal = match &ctx.journal {
        Some(j) => Some(
            j.start_sweep(name, &ctx.fingerprint(), &plan)
                .map_err(|e| format!("sweep \"{name}\": {e}"))?,
        ),
        None => None,
    };
    let mut done: Vec<Option<TaskOutput>> = Vec::with_capacity(plan.len());
    done.resize_with(plan.len(), || None);
    if let Some(j) = journal.as_mut() {
        for (i, out) in j.take_reused() {
            done[i] = Some(out);
        }
        let found = done.iter().filter(|d| d.is_some()).count();
        if j.is_merged() && found < plan.len() {
            return Err(format!(
                "gilsim merge: the shards journaled {found} of the {} runs of sweep \"{name}\" as this run computes it; the script or a module it imports has changed since the shards ran (or its first sweep is another): run the shards again",
                plan.len()
            )
            .into());
        }
    }
    // A shard computes only its own tasks (`crate::shard`).
    let owned = |i: usize| ctx.shard.is_none_or(|s| s.owns(i));
    let todo: Vec<usize> = (0..plan.len())
        .filter(|i| done[*i].is_none() && owned(*i))
        .collect();
    let total = ctx.shard.map_or(plan.len(), |s| s.share(plan.len()));
    let shard_progress = match (ctx.shard, &journal) {
        (Some(shard), Some(j)) => Some(
            crate::sweep::shard::start_sweep(
                &ctx.shard_state,
                ctx.progress,
                shard,
                name,
                j.key(),
                &plan,
                todo.len(),
            )
            .map_err(|e| e.to_string())?,
        ),
        (Some(_), None) => return Err("--shard needs the sweep journal of an output folder".into()),
        (None, _) => None,
    };
    let bar = progress_bar(ctx, name, total);
    bar.inc(total.saturating_sub(todo.len()) as u64);
    let untimed = super::guard::Untimed::start();
    let outcome = evaluate(
        &pool,
        todo.len(),
        || {
            bar.inc(1);
            if let Some(p) = &shard_progress {
                p.tick();
            }
        },
        |k| {
            if ctx.interrupt.is_set() {
                return Err(EvalAltResult::ErrorTerminated(Dynamic::UNIT, Position::NONE).into());
            }
            let i = todo[k];
            let task = plan.task(i);
            let out = run_task(&ncx, &f, &task)?;
            if let Some(j) = &journal {
                j.append(i, &task, &out.0, &out.1)?;
            }
            Ok(out)
        },
    );
    drop(untimed);
    bar.finish_and_clear();
    match outcome {
        Ok(r) => {
            for (k, out) in r.into_iter().enumerate() {
                done[todo[k]] = Some(out);
            }
        }
        Err((k, e)) => {
            let label = format!("sweep \"{name}\" {}", plan.task(todo[k]).describe());
            return Err(EvalAltResult::ErrorInFunctionCall(
                label,
                String::new(),
                e,
                Position::NONE,
            )
            .into());
        }
    };
    if ctx.shard.is_some() {
        // The shard's share is journaled; the rest of the script needs the
        // whole sweep, so it runs in `gilsim merge`.
        ctx.shard_state
            .done
            .store(true, std::sync::atomic::Ordering::SeqCst);
        return Err(EvalAltResult::ErrorTerminated(
            crate::sweep::shard::DONE.into(),
            Position::NONE,
        )
        .into());
    }
    let results: Vec<TaskOutput> = done.into_iter().flatten().collect();
    let mut metrics = Vec::with_capacity(results.len());
    for (m, prints) in results {
        for line in prints {
            // A closed stdout must not stop the sweep (or lose its runs).
            super::values::print_line(&line);
        }
        metrics.push(m);
    }
    let summary = plan
        .summary_table(name, &metrics)
        .map_err(|e| format!("sweep \"{name}\": {e}"))?;
    let runs = plan
        .runs_table(&format!("{name}_runs"), &metrics)
        .map_err(|e| format!("sweep \"{name}\": {e}"))?;
    Ok(SweepResult { summary, runs })
}

/// Registers `sweep()`, `Sweep` and `seed()`.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    api.engine().register_type_with_name::<SweepResult>("Sweep");
    let c = ctx.clone();
    add!(
        api,
        "sweep(name: string, grid: map, f: Fn) -> Sweep",
        move |ncx: NativeCallContext, name: &str, grid: Map, f: FnPtr| {
            sweep(ncx, &c, name, grid, Map::new(), f)
        }
    );
    let c = ctx.clone();
    add!(
        api,
        "sweep(name: string, grid: map, options: map, f: Fn) -> Sweep",
        move |ncx: NativeCallContext, name: &str, grid: Map, opts: Map, f: FnPtr| sweep(
            ncx, &c, name, grid, opts, f
        ),
    );
    let c = ctx.clone();
    add!(api, "Sweep.save()", move |s: &mut SweepResult| {
        save(&c, &s.summary)?;
        save(&c, &s.runs)
    });
    add!(api, "Sweep.summary() -> Table", |s: &mut SweepResult| s
        .summary
        .clone());
    add!(api, "Sweep.runs() -> Table", |s: &mut SweepResult| s
        .runs
        .clone());
    api.engine()
        .register_fn("to_string", |s: &mut SweepResult| {
            format!(
                "sweep(\"{}\", {} points)",
                s.summary.name(),
                s.summary.len()
            )
        })
        .register_fn("to_debug", |s: &mut SweepResult| {
            format!(
                "sweep(\"{}\", {} points)",
                s.summary.name(),
                s.summary.len()
            )
        });
    add!(api, "seed() -> int", move || current_seed(&ctx)
        as rhai::INT);
}
