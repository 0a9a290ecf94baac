//! Script values as the API shows them: the `Step` type (what a step does,
//! by name) and its text, a `Dist`'s text, and [`describe`], how any value is
//! named in an error message. A leaf: it uses nothing of the API's areas, so
//! every area can use it.

use gilsim_engine::{Dist, SimDuration};
use rhai::Dynamic;
use std::fmt;

/// What a step does (names instead of ids).
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// Python bytecode.
    Py(SimDuration),
    /// Native code.
    C {
        /// CPU time.
        dur: SimDuration,
        /// Whether it releases the GIL.
        releases_gil: bool,
    },
    /// Blocking I/O.
    Io {
        /// Latency.
        latency: Dist,
        /// Device name.
        device: Option<String>,
    },
    /// A request whose reply comes `latency` later.
    Send {
        /// CPU time of the send call (GIL released).
        cpu: SimDuration,
        /// Until the reply is there.
        latency: Dist,
    },
    /// Waits for the oldest pending reply.
    Recv,
    /// A request to a listener of the program.
    Call {
        /// Listener name.
        listener: String,
        /// CPU time of the send call (GIL released).
        cpu: SimDuration,
    },
    /// Server: waits for the next request on a listener.
    Accept(String),
    /// Server: accepts a request, runs the steps it carries, replies.
    Serve {
        /// Listener name.
        listener: String,
        /// CPU time of the reply's send call (GIL released).
        reply_cpu: SimDuration,
    },
    /// Server: replies to the oldest request it accepted.
    Respond {
        /// CPU time of the send call (GIL released).
        cpu: SimDuration,
    },
    /// `time.sleep`.
    Sleep(SimDuration),
    /// A counted loop.
    Repeat {
        /// Iterations.
        times: u64,
        /// Body.
        body: Vec<Step>,
    },
    /// A timed loop.
    LoopFor {
        /// How long.
        dur: SimDuration,
        /// Body.
        body: Vec<Step>,
    },
    /// Lock acquire.
    Acquire(String),
    /// Lock release.
    Release(String),
    /// Queue put.
    Put {
        /// Queue name.
        queue: String,
        /// Pickled size.
        bytes: u64,
    },
    /// Queue get.
    Get(String),
    /// Start a thread.
    StartThread(String),
    /// Join a thread.
    JoinThread(String),
    /// Start a process.
    StartProcess(String),
    /// Join a process.
    JoinProcess(String),
    /// Run a pool's tasks.
    MapPool(String),
    /// `asyncio.run`: the thread runs an event loop (`workload/asyncio.rs`).
    AsyncioRun {
        /// Each coroutine's steps.
        coroutines: Vec<Vec<Step>>,
        /// Executor workers (`None`: CPython's default for the machine).
        workers: Option<u32>,
        /// The listener it serves (an asyncio server).
        serve: Option<String>,
        /// CPU time of a reply's send call (GIL released).
        reply_cpu: SimDuration,
    },
    /// In a coroutine: `await` of socket I/O.
    AwaitIo(Dist),
    /// In a coroutine: `await asyncio.sleep(d)`.
    AwaitSleep(SimDuration),
    /// In a coroutine: `await asyncio.to_thread(...)`.
    ToThread(Vec<Step>),
}

/// One step of a program, as a script value (`Step`).
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// What it does.
    pub kind: StepKind,
    /// Loop nesting below it (0 for a plain step).
    pub(super) depth: usize,
}

impl Step {
    pub(super) fn leaf(kind: StepKind) -> Step {
        Step { kind, depth: 0 }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |body: &[Step]| {
            body.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.kind {
            StepKind::Py(d) => write!(f, "py({d})"),
            StepKind::C { dur, releases_gil } => write!(f, "c({dur}, {releases_gil})"),
            StepKind::Io {
                latency,
                device: None,
            } => write!(f, "io({})", show_dist(latency)),
            StepKind::Io {
                latency,
                device: Some(d),
            } => write!(f, "io({}, device(\"{d}\"))", show_dist(latency)),
            StepKind::Send { cpu, latency } if cpu.0 == 0 => {
                write!(f, "send({})", show_dist(latency))
            }
            StepKind::Send { cpu, latency } => write!(f, "send({}, {cpu})", show_dist(latency)),
            StepKind::Recv => write!(f, "recv()"),
            StepKind::Call { listener, cpu } if cpu.0 == 0 => {
                write!(f, "send_to(listener(\"{listener}\"))")
            }
            StepKind::Call { listener, cpu } => {
                write!(f, "send_to(listener(\"{listener}\"), {cpu})")
            }
            StepKind::Accept(l) => write!(f, "accept(listener(\"{l}\"))"),
            StepKind::Serve {
                listener,
                reply_cpu,
            } if reply_cpu.0 == 0 => write!(f, "serve(listener(\"{listener}\"))"),
            StepKind::Serve {
                listener,
                reply_cpu,
            } => write!(f, "serve(listener(\"{listener}\"), {reply_cpu})"),
            StepKind::Respond { cpu } if cpu.0 == 0 => write!(f, "respond()"),
            StepKind::Respond { cpu } => write!(f, "respond({cpu})"),
            StepKind::Sleep(d) => write!(f, "sleep({d})"),
            StepKind::Repeat { times, body } => write!(f, "repeat({times}, [{}])", list(body)),
            StepKind::LoopFor { dur, body } => write!(f, "loop_for({dur}, [{}])", list(body)),
            StepKind::Acquire(l) => write!(f, "acquire(lock(\"{l}\"))"),
            StepKind::Release(l) => write!(f, "release(lock(\"{l}\"))"),
            StepKind::Put { queue, bytes } => write!(f, "put(queue(\"{queue}\"), {bytes})"),
            StepKind::Get(q) => write!(f, "get(queue(\"{q}\"))"),
            StepKind::StartThread(t) => write!(f, "start(thread(\"{t}\"))"),
            StepKind::JoinThread(t) => write!(f, "join(thread(\"{t}\"))"),
            StepKind::StartProcess(p) => write!(f, "start(process(\"{p}\"))"),
            StepKind::JoinProcess(p) => write!(f, "join(process(\"{p}\"))"),
            StepKind::MapPool(p) => write!(f, "map_pool(pool(\"{p}\"))"),
            StepKind::AsyncioRun {
                coroutines, serve, ..
            } => match serve {
                Some(l) => write!(
                    f,
                    "asyncio_run({} coroutines, serving listener(\"{l}\"))",
                    coroutines.len()
                ),
                None => write!(f, "asyncio_run({} coroutines)", coroutines.len()),
            },
            StepKind::AwaitIo(d) => write!(f, "await_io({})", show_dist(d)),
            StepKind::AwaitSleep(d) => write!(f, "await_sleep({d})"),
            StepKind::ToThread(body) => write!(f, "to_thread([{}])", list(body)),
        }
    }
}

/// A short description, e.g. `exp(mean 50 µs)`.
pub fn show_dist(d: &Dist) -> String {
    match d {
        Dist::Fixed(x) => format!("fixed({x})"),
        Dist::Uniform { lo, hi } => format!("uniform({lo}, {hi})"),
        Dist::Exp { mean } => format!("exp(mean {mean})"),
        Dist::LogNormal { mean, cv } => format!("lognormal(mean {mean}, cv {cv})"),
        Dist::Normal { mean, sd } => format!("normal(mean {mean}, sd {sd})"),
        Dist::Empirical(v) => format!("empirical({} values, mean {})", v.len(), d.mean()),
    }
}

/// How a value is shown in error messages: its type and, when short, its value.
pub fn describe(v: &Dynamic) -> String {
    let v = v.flatten_clone();
    if v.is_unit() {
        return "()".into();
    }
    if let Ok(i) = v.as_int() {
        return format!("the integer {i}");
    }
    if let Ok(x) = v.as_float() {
        return format!("the float {x}");
    }
    if let Ok(b) = v.as_bool() {
        return format!("the bool {b}");
    }
    if v.is_string() {
        let s = v.into_string().unwrap_or_default();
        let short: String = s.chars().take(40).collect();
        let ell = if short.len() < s.len() { "..." } else { "" };
        return format!("the string \"{short}{ell}\"");
    }
    if v.is_array() {
        return format!(
            "an array of {} items",
            v.into_array().map(|a| a.len()).unwrap_or(0)
        );
    }
    if v.is_map() {
        return "a map".into();
    }
    if let Some(d) = v.clone().try_cast::<SimDuration>() {
        return format!("the Duration {d}");
    }
    if let Some(d) = v.clone().try_cast::<Dist>() {
        return format!("the Dist {}", show_dist(&d));
    }
    if let Some(s) = v.clone().try_cast::<Step>() {
        return format!("the step {s}");
    }
    let name = match v.type_name() {
        n if n.ends_with("ThreadRef") => "a Thread",
        n if n.ends_with("ProcessRef") => "a Process",
        n if n.ends_with("InterpRef") => "an Interpreter",
        n if n.ends_with("LockRef") => "a Lock",
        n if n.ends_with("QueueRef") => "a Queue",
        n if n.ends_with("DeviceRef") => "a Device",
        n if n.ends_with("ListenerRef") => "a Listener",
        n if n.ends_with("Arrivals") => "an Arrivals",
        n if n.ends_with("PoolRef") => "a Pool",
        n if n.ends_with("Program") => "a Program",
        n if n.ends_with("MachineConfig") => "a Machine",
        n if n.ends_with("RunReport") => "a Report",
        n if n.ends_with("ThreadResult") => "a ThreadReport",
        n if n.ends_with("CoreResult") => "a CoreReport",
        n if n.ends_with("GilResult") => "a GilReport",
        n if n.ends_with("Table") => "a Table",
        n if n.ends_with("SweepResult") => "a Sweep",
        n if n.ends_with("Task") => "a Task",
        n if n.ends_with("FnPtr") => "a function",
        n => return format!("a value of type {n}"),
    };
    name.to_string()
}

/// Writes a line to stdout, ignoring a closed pipe (never panics).
pub fn print_line(s: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}
