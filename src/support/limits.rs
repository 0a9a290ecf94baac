//! The limits' names, their largest values and the hint every limit error
//! ends with ("raise the `NAME` limit (N) with --limit NAME=VALUE").
//!
//! Below every layer that reports a limit: the script API (`script::context`
//! holds the `Limits` a run has), sweeps (`sweep-runs`) and Chrome traces
//! (`trace-events`) all name the limit they hit the same way.

/// One limit as the command line names it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitInfo {
    /// Its name in `--limit NAME=VALUE`.
    pub name: &'static str,
    /// What it bounds.
    pub what: &'static str,
    /// The largest value accepted.
    pub max: u64,
}

/// Largest `call-depth` and `expr-depth`: Rhai recurses on the native stack
/// (64 MiB on sweep workers), and deeper nesting could overflow it.
pub const MAX_NESTING_LIMIT: u64 = 1_000;

/// Every limit, in the order `--help` lists them.
pub const LIMITS: &[LimitInfo] = &[
    LimitInfo {
        name: "ops",
        what: "script operations (each sweep point gets what is left when the sweep starts)",
        max: u64::MAX,
    },
    LimitInfo {
        name: "call-depth",
        what: "nested function calls",
        max: MAX_NESTING_LIMIT,
    },
    LimitInfo {
        name: "expr-depth",
        what: "nesting of expressions and blocks",
        max: MAX_NESTING_LIMIT,
    },
    LimitInfo {
        name: "string",
        what: "bytes in one string",
        max: 1 << 32,
    },
    LimitInfo {
        name: "array",
        what: "items in one array or bytes in one BLOB (what its items hold counts against `memory`)",
        max: 1 << 32,
    },
    LimitInfo {
        name: "map",
        what: "properties in one map (what its values hold counts against `memory`)",
        max: 1 << 32,
    },
    LimitInfo {
        name: "modules",
        what: "modules imported",
        max: 1 << 20,
    },
    LimitInfo {
        name: "threads",
        what: "threads in one program, pool workers included",
        max: 100_000_000,
    },
    LimitInfo {
        name: "processes",
        what: "processes and interpreters in one program, process-pool workers included",
        max: 100_000_000,
    },
    LimitInfo {
        name: "events",
        what: "events of one machine.run (its default max_events, and the most it may ask for)",
        max: i64::MAX as u64,
    },
    LimitInfo {
        name: "trace-events",
        what: "events in one trace (a Chrome trace file, or a trace kept in memory)",
        max: u64::MAX,
    },
    LimitInfo {
        name: "sweep-runs",
        what: "runs of one sweep (points × replicates)",
        max: 1 << 32,
    },
    LimitInfo {
        name: "script-time",
        what: "seconds the script computes and compiles by itself (summed over sweep workers; machine.run not counted)",
        max: 1 << 32,
    },
    LimitInfo {
        name: "memory",
        what: "bytes the run holds in memory (tables, strings, arrays, maps, printed lines, modules, models)",
        max: 1 << 50,
    },
];

/// "raise the `NAME` limit (N) with --limit NAME=VALUE", suggesting `want`
/// (or ten times the current value, when what is needed is not known).
pub fn raise_hint(name: &str, current: u64, want: Option<u64>) -> String {
    let max = LIMITS
        .iter()
        .find(|l| l.name == name)
        .map_or(u64::MAX, |l| l.max);
    if current >= max {
        return format!("the `{name}` limit ({current}) is at its largest");
    }
    let suggest = want
        .unwrap_or_else(|| current.saturating_mul(10))
        .clamp(current + 1, max);
    format!("raise the `{name}` limit ({current}) with --limit {name}={suggest}")
}
