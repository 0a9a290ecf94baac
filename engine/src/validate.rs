//! Validation of a [`SimConfig`]: every rule names the field, the value and
//! what is allowed, so a script author can fix the input without reading code.

use crate::config::*;
use crate::dist::Dist;
use crate::error::ConfigError;
use crate::time::SimDuration;

/// Upper bound on cores: the engine scans cores on some decisions.
pub const MAX_CORES: u32 = 4096;
/// Upper bound on nesting of `repeat`/`loop_for` bodies.
pub const MAX_NESTING: usize = 64;

type R = Result<(), ConfigError>;

pub(crate) fn validate(c: &SimConfig) -> R {
    validate_machine(&c.machine)?;
    if c.processes.is_empty() || c.processes[0].start_method.is_some() {
        return Err(ConfigError::new(
            "processes[0].start_method",
            c.processes
                .first()
                .and_then(|p| p.start_method)
                .map_or("(none)", |m| m.name()),
            "the first process is the main process and has no start method",
        ));
    }
    if c.interpreters.is_empty() {
        return Err(ConfigError::new(
            "interpreters",
            "[]",
            "at least one interpreter",
        ));
    }
    for (i, it) in c.interpreters.iter().enumerate() {
        if it.process.index() >= c.processes.len() {
            return Err(ConfigError::new(
                format!("interpreters[{i}].process"),
                it.process,
                format!("one of the {} processes", c.processes.len()),
            ));
        }
        validate_gil(&format!("interpreters[{i}].gil"), &it.gil)?;
    }
    if c.threads.is_empty() && c.pools.is_empty() {
        return Err(ConfigError::new(
            "threads",
            "[]",
            "at least one thread: an empty workload does nothing",
        ));
    }
    for (i, t) in c.threads.iter().enumerate() {
        let f = format!("threads[{i}] \"{}\"", t.name);
        if t.interp.index() >= c.interpreters.len() {
            return Err(ConfigError::new(
                format!("{f}.interp"),
                t.interp,
                format!("one of the {} interpreters", c.interpreters.len()),
            ));
        }
        if t.program.is_empty() {
            return Err(ConfigError::new(
                format!("{f}.program"),
                "[]",
                "at least one step",
            ));
        }
        validate_steps(c, &format!("{f}.program"), &t.program, 0)?;
    }
    for (i, d) in c.devices.iter().enumerate() {
        if d.concurrency == Some(0) {
            return Err(ConfigError::new(
                format!("devices[{i}] \"{}\".concurrency", d.name),
                0,
                "at least 1, or unlimited",
            ));
        }
    }
    for (i, l) in c.listeners.iter().enumerate() {
        validate_dist(
            &format!("listeners[{i}] \"{}\".network", l.name),
            &l.network,
        )?;
        if l.backlog == Some(0) {
            return Err(ConfigError::new(
                format!("listeners[{i}] \"{}\".backlog", l.name),
                0,
                "at least 1, or unlimited",
            ));
        }
    }
    for (i, s) in c.sources.iter().enumerate() {
        validate_source(c, &format!("sources[{i}] \"{}\"", s.name), s)?;
    }
    for (i, p) in c.pools.iter().enumerate() {
        let f = format!("pools[{i}] \"{}\"", p.name);
        if p.workers == 0 || p.workers > 100_000 {
            return Err(ConfigError::new(
                format!("{f}.workers"),
                p.workers,
                "between 1 and 100000",
            ));
        }
        validate_gil(&format!("{f}.worker_gil"), &p.worker_gil)?;
        validate_pool_options(&f, p)?;
        for (k, t) in p.tasks.iter().enumerate() {
            validate_steps(c, &format!("{f}.tasks[{k}].steps"), &t.steps, 0)?;
        }
    }
    for (i, l) in c.event_loops.iter().enumerate() {
        for (k, co) in l.coroutines.iter().enumerate() {
            let f = format!("event_loops[{i}] \"{}\".coroutines[{k}].steps", l.name);
            validate_steps(c, &f, &co.steps, 0)?;
        }
    }
    crate::event_loop::validate(c)?;
    validate_costs(&c.costs)?;
    if c.limits.max_events == 0 {
        return Err(ConfigError::new("max_events", 0, "at least 1"));
    }
    Ok(())
}

/// Highest request rate of a source, per second (one request per 10 ns).
pub const MAX_RATE: f64 = 1e8;

fn validate_source(c: &SimConfig, f: &str, s: &SourceConfig) -> R {
    if s.listener.index() >= c.listeners.len() {
        return Err(ConfigError::new(
            format!("{f}.listener"),
            s.listener,
            format!("one of the {} listeners", c.listeners.len()),
        ));
    }
    let rate = |per_s: f64| -> R {
        if per_s.is_finite() && per_s > 0.0 && per_s <= MAX_RATE {
            Ok(())
        } else {
            Err(ConfigError::new(
                format!("{f}.arrivals.per_s"),
                per_s,
                format!("a rate above 0 and at most {MAX_RATE:e} requests per second"),
            ))
        }
    };
    match &s.arrivals {
        Arrivals::Poisson { per_s } | Arrivals::Periodic { per_s } => rate(*per_s)?,
        Arrivals::Bursts { per_s, on, .. } => {
            rate(*per_s)?;
            if on.0 == 0 {
                return Err(ConfigError::new(
                    format!("{f}.arrivals.on"),
                    *on,
                    "an on phase longer than 0",
                ));
            }
        }
        Arrivals::Replay(times) => {
            if let Some(k) = times.windows(2).position(|w| w[1] < w[0]) {
                return Err(ConfigError::new(
                    format!("{f}.arrivals[{}]", k + 1),
                    times[k + 1],
                    format!("a time at or after the one before it ({})", times[k]),
                ));
            }
        }
    }
    if s.mix.is_empty() {
        return Err(ConfigError::new(
            format!("{f}.mix"),
            "[]",
            "at least one kind of request",
        ));
    }
    for (k, kind) in s.mix.iter().enumerate() {
        if !(kind.weight.is_finite() && kind.weight > 0.0) {
            return Err(ConfigError::new(
                format!("{f}.mix[{k}].weight"),
                kind.weight,
                "a positive finite weight",
            ));
        }
        validate_steps(c, &format!("{f}.mix[{k}].steps"), &kind.steps, 0)?;
    }
    Ok(())
}

fn validate_machine(m: &MachineConfig) -> R {
    if m.cores == 0 || m.cores > MAX_CORES {
        return Err(ConfigError::new(
            "cores",
            m.cores,
            format!("between 1 and {MAX_CORES}"),
        ));
    }
    if !m.core_speed.is_empty() && m.core_speed.len() != m.cores as usize {
        return Err(ConfigError::new(
            "core_speed",
            format!("{} entries", m.core_speed.len()),
            format!("empty (all 1.0) or one entry per core ({})", m.cores),
        ));
    }
    for (i, s) in m.core_speed.iter().enumerate() {
        if !(s.is_finite() && *s >= 0.01 && *s <= 100.0) {
            return Err(ConfigError::new(
                format!("core_speed[{i}]"),
                s,
                "a number between 0.01 and 100",
            ));
        }
    }
    let os = &m.os;
    match os.policy {
        Policy::Fair { slice, .. } if slice.0 == 0 => {
            return Err(ConfigError::new(
                "scheduler.slice",
                slice,
                "a positive duration",
            ))
        }
        Policy::RoundRobin { quantum } if quantum.0 == 0 => {
            return Err(ConfigError::new(
                "scheduler.quantum",
                quantum,
                "a positive duration",
            ))
        }
        _ => {}
    }
    for spread in [os.wake_spread, os.shallow_wake_spread] {
        if !spread.is_valid() {
            let (key, value, allowed) = match spread {
                WakeSpread::Uniform(j) => ("scheduler.wake_jitter", j, "a number between 0 and 1"),
                WakeSpread::LogNormal(s) => ("scheduler.wake_sigma", s, "a number between 0 and 3"),
            };
            return Err(ConfigError::new(key, value, allowed));
        }
    }
    Ok(())
}

fn validate_gil(f: &str, g: &GilModel) -> R {
    match g {
        GilModel::New {
            switch_interval,
            check_period,
            ..
        } => {
            if switch_interval.0 < 1_000 {
                return Err(ConfigError::new(
                    format!("{f}.switch_interval"),
                    switch_interval,
                    "at least 1 µs (CPython clamps the interval to 1 µs)",
                ));
            }
            if check_period.0 == 0 {
                return Err(ConfigError::new(
                    format!("{f}.check_period"),
                    check_period,
                    "a positive duration",
                ));
            }
        }
        GilModel::Old {
            check_interval,
            tick,
            ..
        } => {
            if *check_interval == 0 {
                return Err(ConfigError::new(
                    format!("{f}.check_interval"),
                    check_interval,
                    "at least 1 tick",
                ));
            }
            if tick.0 == 0 {
                return Err(ConfigError::new(
                    format!("{f}.tick"),
                    tick,
                    "a positive duration",
                ));
            }
        }
        GilModel::None { slowdown } => {
            if !(slowdown.is_finite() && *slowdown > 0.0 && *slowdown <= 1000.0) {
                return Err(ConfigError::new(
                    format!("{f}.slowdown"),
                    slowdown,
                    "a number in (0, 1000]",
                ));
            }
        }
    }
    Ok(())
}

/// Largest `chunksize` and `maps` of a pool.
pub const MAX_POOL_COUNT: u32 = 1_000_000;

/// A pool's chunking and reuse: counts from 1 to [`MAX_POOL_COUNT`]; a
/// thread pool takes one task per message (`ThreadPoolExecutor.map`
/// ignores `chunksize`, `Lib/concurrent/futures/thread.py`).
fn validate_pool_options(f: &str, p: &PoolConfig) -> R {
    let o = &p.options;
    for (name, v) in [("chunksize", o.chunksize), ("maps", o.maps)] {
        if v == 0 || v > MAX_POOL_COUNT {
            return Err(ConfigError::new(
                format!("{f}.options.{name}"),
                v,
                format!("between 1 and {MAX_POOL_COUNT}"),
            ));
        }
    }
    if p.kind == PoolKind::Threads && o.chunksize != 1 {
        return Err(ConfigError::new(
            format!("{f}.options.chunksize"),
            o.chunksize,
            "1 for a thread pool (ThreadPoolExecutor.map ignores chunksize)",
        ));
    }
    Ok(())
}

fn validate_costs(c: &Costs) -> R {
    for (name, v) in [
        ("pickle_bytes_per_sec", c.pickle_bytes_per_sec),
        ("pipe_bytes_per_sec", c.pipe_bytes_per_sec),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(ConfigError::new(
                format!("costs.{name}"),
                v,
                "a positive number of bytes per second",
            ));
        }
    }
    Ok(())
}

fn validate_steps(c: &SimConfig, f: &str, steps: &[Step], depth: usize) -> R {
    if depth > MAX_NESTING {
        return Err(ConfigError::new(
            f,
            format!("nesting depth {depth}"),
            format!("at most {MAX_NESTING} nested loops"),
        ));
    }
    for (i, s) in steps.iter().enumerate() {
        let f = format!("{f}[{i}]");
        let check = |ok: bool, what: &str, value: String, allowed: &str| -> R {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::new(format!("{f}.{what}"), value, allowed))
            }
        };
        let idx = |what: &str, i: usize, n: usize, kind: &str| -> R {
            check(
                i < n,
                what,
                format!("#{i}"),
                &format!("one of the {n} {kind} defined"),
            )
        };
        match s {
            Step::Py(_) | Step::C { .. } | Step::Sleep(_) | Step::Recv | Step::Respond { .. } => {}
            Step::Call { listener: l, .. } | Step::Accept(l) | Step::Serve { listener: l, .. } => {
                idx("listener", l.index(), c.listeners.len(), "listeners")?
            }
            Step::Send { latency, .. } => {
                validate_dist(&format!("{f}.send.latency"), latency)?;
            }
            Step::Io { device, latency } => {
                if let Some(d) = device {
                    idx("io.device", d.index(), c.devices.len(), "devices")?;
                }
                validate_dist(&format!("{f}.io.latency"), latency)?;
            }
            Step::Repeat { body, .. } => {
                check(!body.is_empty(), "repeat", "[]".into(), "a non-empty body")?;
                validate_steps(c, &format!("{f}.repeat"), body, depth + 1)?;
            }
            Step::LoopFor { body, .. } => {
                check(
                    !body.is_empty(),
                    "loop_for",
                    "[]".into(),
                    "a non-empty body",
                )?;
                validate_steps(c, &format!("{f}.loop_for"), body, depth + 1)?;
            }
            Step::Acquire(l) | Step::Release(l) => idx("lock", l.index(), c.locks.len(), "locks")?,
            Step::Put { queue, .. } | Step::Get(queue) => {
                idx("queue", queue.index(), c.queues.len(), "queues")?
            }
            Step::StartThread(t) | Step::Join(t) => {
                idx("thread", t.index(), c.threads.len(), "threads")?
            }
            Step::StartProcess(p) | Step::JoinProcess(p) => {
                idx("process", p.index(), c.processes.len(), "processes")?;
                check(
                    p.index() != 0,
                    "process",
                    "#0".into(),
                    "a started process (the main process is not started or joined)",
                )?;
                if let Step::StartProcess(_) = s {
                    check(
                        c.processes[p.index()].start_method.is_some(),
                        "start_process",
                        format!("\"{}\"", c.processes[p.index()].name),
                        "a process with a start method (this one runs from the start)",
                    )?;
                }
            }
            Step::MapPool(p) => idx("pool", p.index(), c.pools.len(), "pools")?,
            Step::RunLoop(l) | Step::ExecutorWorker(l) => {
                idx("loop", l.index(), c.event_loops.len(), "event loops")?
            }
            Step::AwaitIo(latency) => validate_dist(&format!("{f}.await_io.latency"), latency)?,
            Step::AwaitSleep(_) => {}
            Step::ToThread(body) => {
                check(
                    !body.is_empty(),
                    "to_thread",
                    "[]".into(),
                    "a non-empty body",
                )?;
                validate_steps(c, &format!("{f}.to_thread"), body, depth + 1)?;
            }
        }
    }
    Ok(())
}

fn validate_dist(f: &str, d: &Dist) -> R {
    d.validate()
        .map_err(|msg| ConfigError::new(f, format!("{d:?}"), msg))?;
    if let Dist::Uniform { hi, .. } = d {
        if *hi > SimDuration::secs(1_000_000) {
            return Err(ConfigError::new(f, hi, "at most 1e6 s"));
        }
    }
    Ok(())
}
