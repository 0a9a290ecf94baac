//! asyncio in scripts: `asyncio_run(coroutines, options)`, the only step of
//! a thread that runs an event loop (its coroutines, its executor's
//! workers, the listener it serves), and the steps a coroutine awaits:
//! `await_io(latency)`, `await_sleep(d)`, `to_thread(steps)` (engine
//! `event_loop.rs`).

use super::{steps_from, to_engine, Ids, Step, StepKind};
use crate::script::api::{add, Api, RhaiResult};
use crate::script::dist;
use crate::script::handles::ListenerRef;
use crate::script::options::Opts;
use crate::script::values::describe;
use gilsim_engine::{
    CoroutineConfig, EventLoopConfig, ListenerId, LoopId, SimConfig, SimDuration, Step as E,
    ThreadConfig, ThreadId, MAX_NESTING,
};
use rhai::{Array, Dynamic, Map};

/// Why `asyncio_run` stands where it stands.
pub const ONLY_STEP: &str =
    "asyncio_run(...) must be the only step of its thread: app.add_thread(name, [asyncio_run(...)])";

/// Most executor workers of one loop.
const MAX_WORKERS: i64 = 1024;

/// The loop a thread runs, if its program is `[asyncio_run(...)]`.
pub fn loop_of(steps: &[Step]) -> Option<&StepKind> {
    match steps {
        [s] if matches!(s.kind, StepKind::AsyncioRun { .. }) => Some(&s.kind),
        _ => None,
    }
}

/// `asyncio_run(coroutines, options)`.
fn asyncio_run(coroutines: Array, opts: Map) -> RhaiResult<Step> {
    let what = "asyncio_run(...)";
    let mut o = Opts::new(what, opts, &["workers", "serve", "reply_cpu"])?;
    let workers = o.int_in("workers", 0, MAX_WORKERS)?.map(|n| n as u32);
    let serve = o
        .custom::<ListenerRef>("serve", "a Listener from app.add_listener(...)")?
        .map(|l| l.name);
    let reply_cpu = o.duration("reply_cpu")?.unwrap_or(SimDuration::ZERO);
    let mut list = Vec::with_capacity(coroutines.len());
    let mut depth = 0;
    for (k, c) in coroutines.into_iter().enumerate() {
        let Some(steps) = c.clone().try_cast::<Array>() else {
            return Err(format!(
                "{what}: coroutine [{k}] must be a list of steps like [py(ms(1)), await_io(ms(5))], got {}",
                describe(&c)
            )
            .into());
        };
        let steps = steps_from(&format!("{what}, coroutine [{k}]"), steps)?;
        if steps.is_empty() {
            return Err(format!("{what}: coroutine [{k}] is empty; give at least one step").into());
        }
        depth = depth.max(steps.iter().map(|s| s.depth).max().unwrap_or(0));
        list.push(steps);
    }
    if list.is_empty() && serve.is_none() {
        return Err(format!(
            "{what}: no coroutine and nothing to serve; give coroutines, or `serve` a listener"
        )
        .into());
    }
    Ok(Step {
        kind: StepKind::AsyncioRun {
            coroutines: list,
            workers,
            serve,
            reply_cpu,
        },
        depth,
    })
}

fn await_io(latency: Dynamic) -> RhaiResult<Step> {
    match dist::from_dynamic(&latency) {
        Some(d) => Ok(Step::leaf(StepKind::AwaitIo(d))),
        None => Err(format!(
            "await_io(...): the latency must be a Dist like exp(ms(5)) or a Duration, got {}",
            describe(&latency)
        )
        .into()),
    }
}

fn to_thread(body: Array) -> RhaiResult<Step> {
    let what = "to_thread(...)";
    let body = steps_from(what, body)?;
    if body.is_empty() {
        return Err(format!("{what}: the body is empty; give at least one step").into());
    }
    let depth = 1 + body.iter().map(|s| s.depth).max().unwrap_or(0);
    if depth > MAX_NESTING {
        return Err(format!("{what}: loops nested more than {MAX_NESTING} deep").into());
    }
    Ok(Step {
        kind: StepKind::ToThread(body),
        depth,
    })
}

/// The loops of the threads whose program is `[asyncio_run(...)]`: each
/// thread's program becomes `RunLoop`, its coroutines the loop's, and its
/// executor's workers threads of its interpreter named `<thread>.executor<k>`
/// (after every script thread, so script threads keep their ids).
pub fn attach<'s>(
    threads: impl Iterator<Item = (&'s str, &'s [Step])>,
    cfg: &mut SimConfig,
    ids: &Ids,
) -> Result<(), String> {
    let default_workers = (cfg.machine.cores + 4).min(32);
    for (i, (name, steps)) in threads.enumerate() {
        let Some(StepKind::AsyncioRun {
            coroutines,
            workers,
            serve,
            reply_cpu,
        }) = loop_of(steps)
        else {
            continue;
        };
        let what = format!("thread \"{name}\", asyncio_run");
        let id = LoopId(cfg.event_loops.len() as u32);
        let mut coros = Vec::with_capacity(coroutines.len());
        for (k, c) in coroutines.iter().enumerate() {
            coros.push(CoroutineConfig {
                name: format!("{name}.coroutine{k}"),
                steps: to_engine(c, ids, &format!("{what}, coroutine [{k}]"))?,
            });
        }
        let serves = match serve {
            Some(l) => Some(ListenerId(*ids.listeners.get(l).ok_or_else(|| {
                format!("{what}: no listener named \"{l}\" in this program")
            })?)),
            None => None,
        };
        cfg.threads[i].program = vec![E::RunLoop(id)];
        let interp = cfg.threads[i].interp;
        let workers = (0..workers.unwrap_or(default_workers))
            .map(|k| {
                cfg.threads.push(ThreadConfig {
                    name: format!("{name}.executor{k}"),
                    interp,
                    autostart: true,
                    program: vec![E::ExecutorWorker(id)],
                });
                ThreadId(cfg.threads.len() as u32 - 1)
            })
            .collect();
        cfg.event_loops.push(EventLoopConfig {
            name: name.to_string(),
            thread: ThreadId(i as u32),
            coroutines: coros,
            workers,
            serves,
            reply_cpu: *reply_cpu,
        });
    }
    Ok(())
}

/// Registers `asyncio_run` and the await steps.
pub fn register(api: &mut Api) {
    add!(api, "asyncio_run(coroutines: array) -> Step", |c: Array| {
        asyncio_run(c, Map::new())
    });
    add!(
        api,
        "asyncio_run(coroutines: array, options: map) -> Step",
        asyncio_run
    );
    add!(api, "await_io(latency: Dist|Duration) -> Step", await_io);
    add!(api, "await_sleep(d: Duration) -> Step", |d: SimDuration| {
        Step::leaf(StepKind::AwaitSleep(d))
    });
    add!(api, "to_thread(steps: array) -> Step", to_thread);
}
