//! Workloads: the `Step`s of a thread's program and the `Task`s of a pool.
//!
//! Steps name the things they use (a lock, a queue, a thread) by the handle
//! the program returned when it declared them; the names are resolved to the
//! engine's ids when the program runs, so a step list can be written once (in
//! a module, say) and used in several programs. A step list may contain
//! nested lists, which are flattened: recipes can return lists of steps.

pub mod arrivals;
pub mod asyncio;
pub mod trace;

use super::api::add;
use super::api::{Api, RhaiResult};
use super::dist;
use super::handles::{DeviceRef, ListenerRef, LockRef, PoolRef, ProcessRef, QueueRef, ThreadRef};
use super::options::Opts;
use super::values::describe;
pub use super::values::{Step, StepKind};
use gilsim_engine::{SimDuration, MAX_NESTING};
use rhai::{Array, Dynamic, Map, INT};
use std::collections::HashMap;

/// Deepest nesting of lists inside a step list.
const MAX_LIST_NESTING: usize = 16;
/// Most tasks `tasks(n, ...)` makes at once.
const MAX_TASKS: INT = 1_000_000;

/// A pool task, as a script value (`Task`).
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// What it does.
    pub steps: Vec<Step>,
    /// Pickled argument size.
    pub arg_bytes: u64,
    /// Pickled result size.
    pub result_bytes: u64,
}

/// Flattens a script list of steps (nested lists allowed). `what` says whose
/// steps they are, for errors.
pub fn steps_from(what: &str, list: Array) -> RhaiResult<Vec<Step>> {
    let mut out = Vec::with_capacity(list.len());
    flatten(what, list, &mut out, "", 0)?;
    Ok(out)
}

fn flatten(
    what: &str,
    list: Array,
    out: &mut Vec<Step>,
    path: &str,
    depth: usize,
) -> RhaiResult<()> {
    if depth > MAX_LIST_NESTING {
        return Err(format!("{what}: step lists nested more than {MAX_LIST_NESTING} deep").into());
    }
    for (i, item) in list.into_iter().enumerate() {
        let item = item.flatten();
        let here = format!("{path}[{i}]");
        if item.is_array() {
            let inner = item.into_array().unwrap_or_default();
            flatten(what, inner, out, &here, depth + 1)?;
        } else if let Some(step) = item.clone().try_cast::<Step>() {
            out.push(step);
        } else {
            return Err(format!(
                "{what}: item {here} must be a step like py(ms(1)) or io(exp(us(50))), got {}",
                describe(&item)
            )
            .into());
        }
    }
    Ok(())
}

/// A loop body: its steps and the nesting depth of a loop around them.
fn loop_body(what: &str, body: Array) -> RhaiResult<(Vec<Step>, usize)> {
    let body = steps_from(what, body)?;
    if body.is_empty() {
        return Err(format!("{what}: the body is empty; give at least one step").into());
    }
    let depth = 1 + body.iter().map(|s| s.depth).max().unwrap_or(0);
    if depth > MAX_NESTING {
        return Err(format!("{what}: loops nested more than {MAX_NESTING} deep").into());
    }
    Ok((body, depth))
}

fn repeat(n: INT, body: Array) -> RhaiResult<Step> {
    if n < 0 {
        return Err(format!("repeat({n}, ...): the count cannot be negative").into());
    }
    let (body, depth) = loop_body(&format!("repeat({n}, ...)"), body)?;
    Ok(Step {
        kind: StepKind::Repeat {
            times: n as u64,
            body,
        },
        depth,
    })
}

fn loop_for(dur: SimDuration, body: Array) -> RhaiResult<Step> {
    let (body, depth) = loop_body(&format!("loop_for({dur}, ...)"), body)?;
    Ok(Step {
        kind: StepKind::LoopFor { dur, body },
        depth,
    })
}

fn io(latency: Dynamic, device: Option<String>) -> RhaiResult<Step> {
    match dist::from_dynamic(&latency) {
        Some(latency) => Ok(Step::leaf(StepKind::Io { latency, device })),
        None => Err(format!(
            "io(...): the latency must be a Dist like exp(us(50)) or a Duration, got {}",
            describe(&latency)
        )
        .into()),
    }
}

fn send(latency: Dynamic, cpu: SimDuration) -> RhaiResult<Step> {
    match dist::from_dynamic(&latency) {
        Some(latency) => Ok(Step::leaf(StepKind::Send { cpu, latency })),
        None => Err(format!(
            "send(...): the reply's latency must be a Dist like exp(us(50)) or a Duration, got {}",
            describe(&latency)
        )
        .into()),
    }
}

fn put(q: QueueRef, bytes: INT) -> RhaiResult<Step> {
    if bytes < 0 {
        return Err(format!("put({q}, {bytes}): the size cannot be negative").into());
    }
    Ok(Step::leaf(StepKind::Put {
        queue: q.name,
        bytes: bytes as u64,
    }))
}

fn task(steps: Array, opts: Map) -> RhaiResult<Task> {
    let steps = steps_from("task(...)", steps)?;
    let mut o = Opts::new("task()", opts, &["arg_bytes", "result_bytes"])?;
    let bytes = |v: Option<i64>| v.map_or(0, |b| b as u64);
    Ok(Task {
        steps,
        arg_bytes: bytes(o.int_in("arg_bytes", 0, i64::MAX)?),
        result_bytes: bytes(o.int_in("result_bytes", 0, i64::MAX)?),
    })
}

fn tasks(n: INT, steps: Array, opts: Map) -> RhaiResult<Array> {
    if !(0..=MAX_TASKS).contains(&n) {
        return Err(format!("tasks({n}, ...): the count must be between 0 and {MAX_TASKS}").into());
    }
    let t = task(steps, opts)?;
    Ok((0..n).map(|_| Dynamic::from(t.clone())).collect())
}

/// Names of the things steps refer to, mapped to engine ids.
#[derive(Default)]
pub struct Ids {
    /// Devices.
    pub devices: HashMap<String, u32>,
    /// Locks.
    pub locks: HashMap<String, u32>,
    /// Queues.
    pub queues: HashMap<String, u32>,
    /// Threads.
    pub threads: HashMap<String, u32>,
    /// Processes (the main process is never started or joined).
    pub processes: HashMap<String, u32>,
    /// Pools.
    pub pools: HashMap<String, u32>,
    /// Listening sockets.
    pub listeners: HashMap<String, u32>,
}

fn lookup(map: &HashMap<String, u32>, kind: &str, name: &str) -> Result<u32, String> {
    map.get(name).copied().ok_or_else(|| {
        let mut known: Vec<&str> = map.keys().map(String::as_str).collect();
        known.sort_unstable();
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        format!("no {kind} named \"{name}\" in this program (its {kind}s: {known})")
    })
}

/// Converts steps to the engine's, resolving names. `what` locates them in errors.
pub fn to_engine(
    steps: &[Step],
    ids: &Ids,
    what: &str,
) -> Result<Vec<gilsim_engine::Step>, String> {
    use gilsim_engine::{
        DeviceId, ListenerId, LockId, PoolId, ProcessId, QueueId, Step as E, ThreadId,
    };
    let mut out = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let at = |e: String| format!("{what}, step [{i}] {s}: {e}");
        out.push(match &s.kind {
            StepKind::Py(d) => E::Py(*d),
            StepKind::C { dur, releases_gil } => E::C {
                dur: *dur,
                releases_gil: *releases_gil,
            },
            StepKind::Io { latency, device } => E::Io {
                device: match device {
                    Some(d) => Some(DeviceId(lookup(&ids.devices, "device", d).map_err(at)?)),
                    None => None,
                },
                latency: latency.clone(),
            },
            StepKind::Send { cpu, latency } => E::Send {
                cpu: *cpu,
                latency: latency.clone(),
            },
            StepKind::Recv => E::Recv,
            StepKind::Call { listener, cpu } => E::Call {
                listener: ListenerId(lookup(&ids.listeners, "listener", listener).map_err(at)?),
                cpu: *cpu,
            },
            StepKind::Accept(l) => E::Accept(ListenerId(
                lookup(&ids.listeners, "listener", l).map_err(at)?,
            )),
            StepKind::Respond { cpu } => E::Respond { cpu: *cpu },
            StepKind::Serve {
                listener,
                reply_cpu,
            } => E::Serve {
                listener: ListenerId(lookup(&ids.listeners, "listener", listener).map_err(at)?),
                reply_cpu: *reply_cpu,
            },
            StepKind::Sleep(d) => E::Sleep(*d),
            StepKind::Repeat { times, body } => E::Repeat {
                times: *times,
                body: to_engine(body, ids, &format!("{what}, step [{i}] repeat"))?,
            },
            StepKind::LoopFor { dur, body } => E::LoopFor {
                dur: *dur,
                body: to_engine(body, ids, &format!("{what}, step [{i}] loop_for"))?,
            },
            StepKind::Acquire(l) => E::Acquire(LockId(lookup(&ids.locks, "lock", l).map_err(at)?)),
            StepKind::Release(l) => E::Release(LockId(lookup(&ids.locks, "lock", l).map_err(at)?)),
            StepKind::Put { queue, bytes } => E::Put {
                queue: QueueId(lookup(&ids.queues, "queue", queue).map_err(at)?),
                bytes: *bytes,
            },
            StepKind::Get(q) => E::Get(QueueId(lookup(&ids.queues, "queue", q).map_err(at)?)),
            StepKind::StartThread(t) => {
                E::StartThread(ThreadId(lookup(&ids.threads, "thread", t).map_err(at)?))
            }
            StepKind::JoinThread(t) => {
                E::Join(ThreadId(lookup(&ids.threads, "thread", t).map_err(at)?))
            }
            StepKind::StartProcess(p) => {
                E::StartProcess(ProcessId(lookup(&ids.processes, "process", p).map_err(at)?))
            }
            StepKind::JoinProcess(p) => {
                E::JoinProcess(ProcessId(lookup(&ids.processes, "process", p).map_err(at)?))
            }
            StepKind::MapPool(p) => E::MapPool(PoolId(lookup(&ids.pools, "pool", p).map_err(at)?)),
            StepKind::AsyncioRun { .. } => return Err(at(asyncio::ONLY_STEP.into())),
            StepKind::AwaitIo(d) => E::AwaitIo(d.clone()),
            StepKind::AwaitSleep(d) => E::AwaitSleep(*d),
            StepKind::ToThread(body) => E::ToThread(to_engine(
                body,
                ids,
                &format!("{what}, step [{i}] to_thread"),
            )?),
        });
    }
    Ok(out)
}

/// Registers `Step`, `Task`, `Arrivals` and their constructors.
pub fn register(api: &mut Api) {
    arrivals::register(api);
    asyncio::register(api);
    api.engine()
        .register_type_with_name::<Step>("Step")
        .register_type_with_name::<Task>("Task");
    let e = api.engine();
    e.register_fn("to_string", |s: &mut Step| s.to_string());
    e.register_fn("to_debug", |s: &mut Step| s.to_string());
    e.register_fn("==", |a: Step, b: Step| a == b);
    e.register_fn("!=", |a: Step, b: Step| a != b);
    e.register_fn("to_string", |t: &mut Task| {
        format!("task({} steps)", t.steps.len())
    });
    e.register_fn("to_debug", |t: &mut Task| {
        format!("task({} steps)", t.steps.len())
    });

    add!(api, "py(d: Duration) -> Step", |d: SimDuration| Step::leaf(
        StepKind::Py(d)
    ));
    add!(
        api,
        "c(d: Duration, releases_gil: bool) -> Step",
        |dur: SimDuration, releases_gil: bool| { Step::leaf(StepKind::C { dur, releases_gil }) }
    );
    add!(api, "io(latency: Dist|Duration) -> Step", |l: Dynamic| io(
        l, None
    ));
    add!(
        api,
        "io(latency: Dist|Duration, device: Device) -> Step",
        |l: Dynamic, d: DeviceRef| io(l, Some(d.name))
    );
    add!(api, "send(latency: Dist|Duration) -> Step", |l: Dynamic| {
        send(l, SimDuration::ZERO)
    });
    add!(
        api,
        "send(latency: Dist|Duration, cpu: Duration) -> Step",
        send
    );
    add!(api, "recv() -> Step", || Step::leaf(StepKind::Recv));
    add!(
        api,
        "send_to(listener: Listener) -> Step",
        |l: ListenerRef| {
            Step::leaf(StepKind::Call {
                listener: l.name,
                cpu: SimDuration::ZERO,
            })
        }
    );
    add!(
        api,
        "send_to(listener: Listener, cpu: Duration) -> Step",
        |l: ListenerRef, cpu: SimDuration| Step::leaf(StepKind::Call {
            listener: l.name,
            cpu
        })
    );
    add!(
        api,
        "accept(listener: Listener) -> Step",
        |l: ListenerRef| { Step::leaf(StepKind::Accept(l.name)) }
    );
    add!(
        api,
        "serve(listener: Listener) -> Step",
        |l: ListenerRef| {
            Step::leaf(StepKind::Serve {
                listener: l.name,
                reply_cpu: SimDuration::ZERO,
            })
        }
    );
    add!(
        api,
        "serve(listener: Listener, reply_cpu: Duration) -> Step",
        |l: ListenerRef, reply_cpu: SimDuration| Step::leaf(StepKind::Serve {
            listener: l.name,
            reply_cpu
        })
    );
    add!(api, "respond() -> Step", || Step::leaf(StepKind::Respond {
        cpu: SimDuration::ZERO
    }));
    add!(api, "respond(cpu: Duration) -> Step", |cpu: SimDuration| {
        Step::leaf(StepKind::Respond { cpu })
    });
    add!(api, "sleep(d: Duration) -> Step", |d: SimDuration| {
        Step::leaf(StepKind::Sleep(d))
    });
    add!(api, "repeat(n: int, steps: array) -> Step", repeat);
    add!(api, "loop_for(d: Duration, steps: array) -> Step", loop_for);
    add!(api, "acquire(lock: Lock) -> Step", |l: LockRef| Step::leaf(
        StepKind::Acquire(l.name)
    ));
    add!(api, "release(lock: Lock) -> Step", |l: LockRef| Step::leaf(
        StepKind::Release(l.name)
    ));
    add!(api, "put(queue: Queue) -> Step", |q: QueueRef| put(q, 0));
    add!(api, "put(queue: Queue, bytes: int) -> Step", put);
    add!(api, "get(queue: Queue) -> Step", |q: QueueRef| Step::leaf(
        StepKind::Get(q.name)
    ));
    add!(api, "start(thread: Thread) -> Step", |t: ThreadRef| {
        Step::leaf(StepKind::StartThread(t.name))
    });
    add!(api, "join(thread: Thread) -> Step", |t: ThreadRef| {
        Step::leaf(StepKind::JoinThread(t.name))
    });
    add!(api, "start(process: Process) -> Step", |p: ProcessRef| {
        Step::leaf(StepKind::StartProcess(p.name))
    });
    add!(api, "join(process: Process) -> Step", |p: ProcessRef| {
        Step::leaf(StepKind::JoinProcess(p.name))
    });
    add!(
        api,
        "map_pool(pool: Pool) -> Step",
        |p: PoolRef| Step::leaf(StepKind::MapPool(p.name))
    );

    add!(api, "task(steps: array) -> Task", |steps: Array| task(
        steps,
        Map::new()
    ));
    add!(api, "task(steps: array, options: map) -> Task", task);
    add!(
        api,
        "tasks(n: int, steps: array) -> array of Task",
        |n: INT, steps: Array| tasks(n, steps, Map::new())
    );
    add!(
        api,
        "tasks(n: int, steps: array, options: map) -> array of Task",
        tasks
    );
}
