//! What an event loop is given: its thread, its coroutines, its executor's
//! workers, the listener it serves, and the loop's own costs.

use crate::config::{SimConfig, Step};
use crate::error::ConfigError;
use crate::ids::{InterpId, ListenerId, LoopId, ThreadId};
use crate::time::SimDuration;

/// The asyncio loop's own CPU costs, Python work of the loop thread (it
/// holds the GIL). Defaults measured single-threaded with CPython 3.11.7 by
/// `calibration/measure_profile.py` (`asyncio_loop_us`: 100 tasks switching
/// with `await asyncio.sleep(0)` cost 2.41 µs per switch; one task alone
/// 5.17 µs per iteration) on the machine of this project's helpers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopCosts {
    /// One `_run_once` beyond its callbacks: the timeout, the `select(0)`
    /// call, the timer heap. Default 2.8 µs.
    pub iteration: SimDuration,
    /// One callback of the ready queue (`Handle._run`, a task's `__step` or
    /// `__wakeup` around the coroutine's own work). Default 2.4 µs.
    pub handle: SimDuration,
    /// `select`'s timeout is rounded up to a multiple of this
    /// (`EpollSelector`: whole milliseconds). Default 1 ms.
    pub select_resolution: SimDuration,
}

impl Default for LoopCosts {
    fn default() -> Self {
        LoopCosts {
            iteration: SimDuration::ns(2_800),
            handle: SimDuration::ns(2_400),
            select_resolution: SimDuration::ms(1),
        }
    }
}

/// A coroutine the loop runs from the start (`asyncio.gather` of them).
#[derive(Clone, Debug, PartialEq)]
pub struct CoroutineConfig {
    /// Name used in reports.
    pub name: String,
    /// What it does; may `await` (`AwaitIo`, `AwaitSleep`, `ToThread`).
    pub steps: Vec<Step>,
}

/// One asyncio event loop (`asyncio.run`) and its default executor.
#[derive(Clone, Debug, PartialEq)]
pub struct EventLoopConfig {
    /// Name used in reports.
    pub name: String,
    /// The thread that runs it (its program holds `Step::RunLoop`).
    pub thread: ThreadId,
    /// The coroutines it runs from the start.
    pub coroutines: Vec<CoroutineConfig>,
    /// The `ThreadPoolExecutor` workers of `run_in_executor`/`to_thread`
    /// (programs: `Step::ExecutorWorker`).
    pub workers: Vec<ThreadId>,
    /// The listener it serves (an asyncio server): every accepted request
    /// becomes a task running its kind's steps, then its reply.
    pub serves: Option<ListenerId>,
    /// CPU time of a reply's send system call (GIL released).
    pub reply_cpu: SimDuration,
}

impl SimConfig {
    /// Adds an event loop on a new thread of interpreter `interp`, with
    /// `workers` executor threads in the same interpreter; returns its id.
    pub fn add_event_loop(
        &mut self,
        name: &str,
        interp: InterpId,
        coroutines: Vec<CoroutineConfig>,
        workers: u32,
    ) -> LoopId {
        let id = LoopId(self.event_loops.len() as u32);
        let thread = self.add_thread(name, interp, vec![Step::RunLoop(id)]);
        let workers = (0..workers)
            .map(|i| {
                self.add_thread(
                    &format!("{name}.executor{i}"),
                    interp,
                    vec![Step::ExecutorWorker(id)],
                )
            })
            .collect();
        self.event_loops.push(EventLoopConfig {
            name: name.into(),
            thread,
            coroutines,
            workers,
            serves: None,
            reply_cpu: SimDuration::ZERO,
        });
        id
    }
}

/// Where the loop's steps may stand: `RunLoop` only as its own thread's
/// program, `ExecutorWorker` only as its workers', awaits only inside a
/// coroutine (the loop's coroutines, the requests of a listener a loop
/// serves) and never inside a `ToThread` job, which runs on a worker thread.
pub(crate) fn validate(c: &SimConfig) -> Result<(), ConfigError> {
    for (i, l) in c.event_loops.iter().enumerate() {
        let f = format!("event_loops[{i}] \"{}\"", l.name);
        let id = LoopId(i as u32);
        let own = |t: ThreadId, step: Step| {
            c.threads
                .get(t.index())
                .is_some_and(|th| th.program == [step])
        };
        if !own(l.thread, Step::RunLoop(id)) {
            return Err(ConfigError::new(
                format!("{f}.thread"),
                l.thread,
                "a thread whose program is just this loop's RunLoop step",
            ));
        }
        if let Some(w) = l
            .workers
            .iter()
            .find(|&&w| !own(w, Step::ExecutorWorker(id)))
        {
            return Err(ConfigError::new(
                format!("{f}.workers"),
                w,
                "threads whose program is just this loop's ExecutorWorker step",
            ));
        }
        if let Some(s) = l.serves {
            if s.index() >= c.listeners.len() {
                return Err(ConfigError::new(
                    format!("{f}.serves"),
                    s,
                    format!("one of the {} listeners", c.listeners.len()),
                ));
            }
        }
        for (k, co) in l.coroutines.iter().enumerate() {
            let g = format!("{f}.coroutines[{k}] \"{}\"", co.name);
            in_coroutine(&g, &co.steps, !l.workers.is_empty())?;
        }
    }
    for (i, t) in c.threads.iter().enumerate() {
        let f = format!("threads[{i}] \"{}\".program", t.name);
        let runs_loop = matches!(
            t.program.as_slice(),
            [Step::RunLoop(_) | Step::ExecutorWorker(_)]
        );
        if !runs_loop {
            outside_coroutines(&f, &t.program)?;
        }
    }
    for (i, p) in c.pools.iter().enumerate() {
        for (k, t) in p.tasks.iter().enumerate() {
            outside_coroutines(&format!("pools[{i}] \"{}\".tasks[{k}]", p.name), &t.steps)?;
        }
    }
    for (i, s) in c.sources.iter().enumerate() {
        let server = c.event_loops.iter().find(|l| l.serves == Some(s.listener));
        for (k, kind) in s.mix.iter().enumerate() {
            let f = format!("sources[{i}] \"{}\".mix[{k}].steps", s.name);
            match server {
                Some(l) => in_coroutine(&f, &kind.steps, !l.workers.is_empty())?,
                None => outside_coroutines(&f, &kind.steps)?,
            }
        }
    }
    Ok(())
}

/// The steps of a coroutine: `ToThread` needs workers, and its body runs on
/// a worker thread (no awaits there).
fn in_coroutine(f: &str, steps: &[Step], has_workers: bool) -> Result<(), ConfigError> {
    walk(steps, &mut |s| match s {
        Step::ToThread(body) if !has_workers => Err(ConfigError::new(
            format!("{f}.to_thread"),
            format!("{} steps", body.len()),
            "a loop with at least one executor worker",
        )),
        Step::ToThread(body) => outside_coroutines(&format!("{f}.to_thread"), body),
        Step::RunLoop(_) | Step::ExecutorWorker(_) => Err(misplaced(f, s)),
        _ => Ok(()),
    })
}

fn outside_coroutines(f: &str, steps: &[Step]) -> Result<(), ConfigError> {
    walk(steps, &mut |s| match s {
        Step::AwaitIo(_)
        | Step::AwaitSleep(_)
        | Step::ToThread(_)
        | Step::RunLoop(_)
        | Step::ExecutorWorker(_) => Err(misplaced(f, s)),
        _ => Ok(()),
    })
}

fn misplaced(f: &str, s: &Step) -> ConfigError {
    let name = match s {
        Step::AwaitIo(_) => "await_io",
        Step::AwaitSleep(_) => "await_sleep",
        Step::ToThread(_) => "to_thread",
        Step::RunLoop(_) => "run_loop",
        _ => "executor_worker",
    };
    ConfigError::new(
        f,
        name,
        match s {
            Step::RunLoop(_) | Step::ExecutorWorker(_) => {
                "a loop's own thread (added with the loop)"
            }
            _ => "a coroutine of an event loop (an await needs a running loop)",
        },
    )
}

/// Calls `check` on every step, inside loops too (not inside `ToThread`
/// bodies, which the check itself looks at).
fn walk(
    steps: &[Step],
    check: &mut dyn FnMut(&Step) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    for s in steps {
        check(s)?;
        if let Step::Repeat { body, .. } | Step::LoopFor { body, .. } = s {
            walk(body, check)?;
        }
    }
    Ok(())
}
