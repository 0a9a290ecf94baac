//! A program's trace (`gilsim-trace` version 1, any minor version: 1.1 adds
//! the reconciliation with an untraced run, whose reconciled totals are the
//! `totals_ns` read here; docs/trace-format.md), read
//! and checked: what `python -m gilsim.trace` (python/gilsim/trace.py)
//! measured of one real run, single-threaded — per thread its time in
//! Python, in C that holds the GIL, in C that releases it and blocked, the
//! GIL-held stretches between two releases, and per call site the
//! distribution of the calls that release the GIL or block; the process's
//! start-up and memory.
//!
//! Only what a loader needs is kept; keys this reader does not know are
//! ignored (the schema's rule). Every value it keeps is checked: present,
//! of its type, a time a whole number of nanoseconds ≥ 0, quantiles in
//! order. An error names the file, the JSON path, what was there and what
//! was expected. It reads no file but through [`read`], which caps the size.

use gilsim_engine::SimDuration;
use serde_json::Value;
use std::path::Path;
use thiserror::Error;

/// The schema read: `format` and `version`.
pub const FORMAT: &str = "gilsim-trace";
/// The one version this reader knows.
pub const VERSION: u64 = 1;
/// Largest trace file read (a trace is bounded by its call sites, about
/// 1 KiB each, `max_sites` per thread and kind: a few MiB at most).
pub const MAX_TRACE_BYTES: u64 = 16 << 20;
/// Points of a dist's `empirical_ns`.
pub const EMPIRICAL_POINTS: usize = 16;

/// Why a trace cannot be used. Each names the file.
#[derive(Debug, Error, PartialEq)]
pub enum TraceError {
    /// The file cannot be read.
    #[error("cannot read trace {file}: {reason}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// Larger than [`MAX_TRACE_BYTES`].
    #[error("trace {file} is {bytes} bytes, more than the limit of {MAX_TRACE_BYTES}")]
    TooBig {
        /// The file.
        file: String,
        /// Its size.
        bytes: u64,
    },
    /// Not JSON.
    #[error("trace {file} is not valid JSON: {reason}; gilsim reads \"{FORMAT}\" version {VERSION} JSON (made by `python -m gilsim.trace`, docs/trace-format.md)")]
    Json {
        /// The file.
        file: String,
        /// serde_json's message (line and column).
        reason: String,
    },
    /// Another format or version.
    #[error("trace {file}: {key} is {found}; gilsim reads \"{FORMAT}\" version {VERSION} (made by `python -m gilsim.trace`, docs/trace-format.md)")]
    Schema {
        /// The file.
        file: String,
        /// `format` or `version`.
        key: &'static str,
        /// What the file says.
        found: String,
    },
    /// A value is missing or wrong.
    #[error("trace {file}: {key} is {found}: expected {expected} (\"{FORMAT}\" version {VERSION}, docs/trace-format.md)")]
    Value {
        /// The file.
        file: String,
        /// The JSON path, e.g. `threads[0].totals_ns.python`.
        key: String,
        /// What was there (`missing` when absent).
        found: String,
        /// What is allowed.
        expected: String,
    },
}

/// A distribution of durations as the trace keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceDist {
    /// Samples.
    pub count: u64,
    /// Their exact sum.
    pub total: SimDuration,
    /// The quantiles at (i + ½)/16, non-decreasing (empty when `count` is 0).
    pub empirical: Vec<SimDuration>,
}

/// What a C call released the GIL for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Computing with the GIL released (`zlib.compress`).
    Compute,
    /// Blocked: sleep, I/O, a lock or queue wait.
    Blocked,
}

/// The calls of one site that released the GIL, of one category.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseSite {
    /// `module.qualname` of the callee.
    pub callee: String,
    /// Compute or blocked.
    pub kind: Release,
    /// For blocked calls: `sleep`, `lock`, `io_wait` or `io`, if known.
    pub wait_kind: Option<String>,
    /// The calls' self times.
    pub calls: TraceDist,
}

/// A thread's self times by category.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Python bytecode.
    pub python: SimDuration,
    /// C holding the GIL.
    pub c_hold: SimDuration,
    /// C with the GIL released.
    pub c_release: SimDuration,
    /// Blocked.
    pub blocked: SimDuration,
}

/// One traced thread.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceThread {
    /// 0, 1, … in order of first event.
    pub index: u64,
    /// Its `threading` name.
    pub name: String,
    /// The thread that started tracing.
    pub main: bool,
    /// First to last event.
    pub wall: SimDuration,
    /// Self times by category.
    pub totals: Totals,
    /// The GIL-held stretches between two releases (and after the last).
    pub held_bursts: TraceDist,
    /// Every site's releasing calls (c_release and blocked), in file order.
    pub releases: Vec<ReleaseSite>,
}

/// A process's start-up as measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Startup {
    /// `python -c pass`, median of three runs (`None`: not measured).
    pub interpreter: Option<SimDuration>,
    /// Time in top-level imports while tracing.
    pub imports: SimDuration,
}

/// A trace, as far as gilsim uses it.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramTrace {
    /// The traced interpreter's version (`"3.12.1"`).
    pub python_version: String,
    /// `sys.getswitchinterval()` of the traced run.
    pub switch_interval: SimDuration,
    /// The tracing host's CPUs, if known.
    pub cpu_count: Option<u64>,
    /// Traced wall time.
    pub wall: SimDuration,
    /// Peak resident memory of the process, if measured.
    pub peak_rss_bytes: Option<u64>,
    /// Start-up.
    pub startup: Startup,
    /// Whether the tracer estimated it slowed the program (`estimated_slowdown`).
    pub estimated_slowdown: f64,
    /// The traced threads, the tracing thread first.
    pub threads: Vec<TraceThread>,
}

impl ProgramTrace {
    /// The thread that started tracing (the first if none says so).
    pub fn main_thread(&self) -> &TraceThread {
        self.threads
            .iter()
            .find(|t| t.main)
            .unwrap_or(&self.threads[0])
    }
}

/// Reads and checks the trace file `path`, named `shown` in errors.
pub fn read(path: &Path, shown: &str) -> Result<ProgramTrace, TraceError> {
    let fail = |reason: String| TraceError::Read {
        file: shown.to_string(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() {
        return Err(fail("it is not a file".into()));
    }
    if meta.len() > MAX_TRACE_BYTES {
        return Err(TraceError::TooBig {
            file: shown.to_string(),
            bytes: meta.len(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    parse(&text, shown)
}

/// Checks the text of a trace; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<ProgramTrace, TraceError> {
    let root: Value = serde_json::from_str(text).map_err(|e| TraceError::Json {
        file: file.to_string(),
        reason: e.to_string(),
    })?;
    let r = Reader { file };
    if !root.is_object() {
        return Err(r.wrong("the top level", &root, "an object"));
    }
    let format = root.get("format");
    if format.and_then(Value::as_str) != Some(FORMAT) {
        return Err(TraceError::Schema {
            file: file.to_string(),
            key: "format",
            found: format.map_or("missing".into(), Value::to_string),
        });
    }
    let version = root.get("version");
    if version.and_then(Value::as_u64) != Some(VERSION) {
        return Err(TraceError::Schema {
            file: file.to_string(),
            key: "version",
            found: version.map_or("missing".into(), Value::to_string),
        });
    }
    let python = r.object(&root, "", "python")?;
    let process = r.object(&root, "", "process")?;
    let startup = r.object(process, "process.", "startup")?;
    let host = r.object(&root, "", "host")?;
    let overhead = r.object(&root, "", "overhead")?;
    let threads = r.field(&root, "", "threads")?;
    let Some(list) = threads.as_array() else {
        return Err(r.wrong("threads", threads, "an array of threads"));
    };
    if list.is_empty() {
        return Err(r.wrong("threads", threads, "at least one thread"));
    }
    let threads = list
        .iter()
        .enumerate()
        .map(|(i, t)| r.thread(t, &format!("threads[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProgramTrace {
        python_version: r.string(python, "python.", "version")?,
        switch_interval: r.time(python, "python.", "switch_interval_ns")?,
        cpu_count: r.optional_count(host, "host.", "cpu_count")?,
        wall: r.time(process, "process.", "wall_ns")?,
        peak_rss_bytes: r.optional_count(process, "process.", "peak_rss_bytes")?,
        startup: Startup {
            interpreter: r
                .optional_count(startup, "process.startup.", "interpreter_ns")?
                .map(SimDuration),
            imports: r.time(startup, "process.startup.", "imports_ns")?,
        },
        estimated_slowdown: r.number(overhead, "overhead.", "estimated_slowdown")?,
        threads,
    })
}

/// Reads values of one file, naming it and the path in errors.
struct Reader<'a> {
    file: &'a str,
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl Reader<'_> {
    fn wrong(&self, key: &str, found: &Value, expected: &str) -> TraceError {
        TraceError::Value {
            file: self.file.to_string(),
            key: key.to_string(),
            found: shown(found),
            expected: expected.to_string(),
        }
    }

    fn missing(&self, key: String, expected: &str) -> TraceError {
        TraceError::Value {
            file: self.file.to_string(),
            key,
            found: "missing".into(),
            expected: expected.to_string(),
        }
    }

    fn field<'v>(&self, v: &'v Value, at: &str, key: &str) -> Result<&'v Value, TraceError> {
        v.get(key)
            .ok_or_else(|| self.missing(format!("{at}{key}"), "a value"))
    }

    fn object<'v>(&self, v: &'v Value, at: &str, key: &str) -> Result<&'v Value, TraceError> {
        let o = self.field(v, at, key)?;
        if o.is_object() {
            Ok(o)
        } else {
            Err(self.wrong(&format!("{at}{key}"), o, "an object"))
        }
    }

    fn string(&self, v: &Value, at: &str, key: &str) -> Result<String, TraceError> {
        let s = self.field(v, at, key)?;
        s.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong(&format!("{at}{key}"), s, "a string"))
    }

    fn count(&self, v: &Value, at: &str, key: &str) -> Result<u64, TraceError> {
        let n = self.field(v, at, key)?;
        n.as_u64().ok_or_else(|| {
            self.wrong(
                &format!("{at}{key}"),
                n,
                "a whole number ≥ 0 (times in nanoseconds)",
            )
        })
    }

    fn time(&self, v: &Value, at: &str, key: &str) -> Result<SimDuration, TraceError> {
        self.count(v, at, key).map(SimDuration)
    }

    fn optional_count(&self, v: &Value, at: &str, key: &str) -> Result<Option<u64>, TraceError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.count(v, at, key).map(Some),
        }
    }

    fn number(&self, v: &Value, at: &str, key: &str) -> Result<f64, TraceError> {
        let n = self.field(v, at, key)?;
        match n.as_f64() {
            Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
            _ => Err(self.wrong(&format!("{at}{key}"), n, "a number ≥ 0")),
        }
    }

    fn dist(&self, v: &Value, at: &str) -> Result<TraceDist, TraceError> {
        if !v.is_object() {
            return Err(self.wrong(
                at,
                v,
                "a distribution object (count, total_ns, empirical_ns, ...)",
            ));
        }
        let at = format!("{at}.");
        let count = self.count(v, &at, "count")?;
        let total = self.time(v, &at, "total_ns")?;
        if count == 0 {
            return Ok(TraceDist {
                count,
                total,
                empirical: Vec::new(),
            });
        }
        let key = format!("{at}empirical_ns");
        let list = self.field(v, &at, "empirical_ns")?;
        let expected = format!("an array of {EMPIRICAL_POINTS} whole numbers ≥ 0, non-decreasing");
        let Some(items) = list.as_array() else {
            return Err(self.wrong(&key, list, &expected));
        };
        if items.len() != EMPIRICAL_POINTS {
            return Err(self.wrong(&key, list, &expected));
        }
        let mut empirical = Vec::with_capacity(EMPIRICAL_POINTS);
        for (i, x) in items.iter().enumerate() {
            let Some(ns) = x.as_u64() else {
                return Err(self.wrong(&format!("{key}[{i}]"), x, &expected));
            };
            if empirical
                .last()
                .is_some_and(|&SimDuration(before)| ns < before)
            {
                return Err(self.wrong(&format!("{key}[{i}]"), x, &expected));
            }
            empirical.push(SimDuration(ns));
        }
        Ok(TraceDist {
            count,
            total,
            empirical,
        })
    }

    fn thread(&self, t: &Value, at: &str) -> Result<TraceThread, TraceError> {
        if !t.is_object() {
            return Err(self.wrong(at, t, "a thread object"));
        }
        let dot = format!("{at}.");
        let totals = self.object(t, &dot, "totals_ns")?;
        let tot = format!("{at}.totals_ns.");
        let bursts = self.field(t, &dot, "gil_held_bursts")?;
        let sites = self.field(t, &dot, "c_sites")?;
        let Some(sites) = sites.as_array() else {
            return Err(self.wrong(&format!("{at}.c_sites"), sites, "an array of call sites"));
        };
        let mut releases = Vec::new();
        for (i, s) in sites.iter().enumerate() {
            let here = format!("{at}.c_sites[{i}]");
            if !s.is_object() {
                return Err(self.wrong(&here, s, "a call site object"));
            }
            let by = self.object(s, &format!("{here}."), "by_category")?;
            let wait_kind = match s.get("wait_kind") {
                Some(Value::String(k)) => Some(k.clone()),
                _ => None,
            };
            for (name, kind) in [
                ("c_release", Release::Compute),
                ("blocked", Release::Blocked),
            ] {
                if let Some(d) = by.get(name) {
                    let calls = self.dist(d, &format!("{here}.by_category.{name}"))?;
                    if calls.count > 0 {
                        releases.push(ReleaseSite {
                            callee: self.string(s, &format!("{here}."), "callee")?,
                            kind,
                            wait_kind: wait_kind.clone(),
                            calls,
                        });
                    }
                }
            }
        }
        Ok(TraceThread {
            index: self.count(t, &dot, "index")?,
            name: self.string(t, &dot, "name")?,
            main: match t.get("main") {
                Some(Value::Bool(b)) => *b,
                Some(v) => return Err(self.wrong(&format!("{at}.main"), v, "true or false")),
                None => false,
            },
            wall: self.time(t, &dot, "wall_ns")?,
            totals: Totals {
                python: self.time(totals, &tot, "python")?,
                c_hold: self.time(totals, &tot, "c_hold")?,
                c_release: self.time(totals, &tot, "c_release")?,
                blocked: self.time(totals, &tot, "blocked")?,
            },
            held_bursts: self.dist(bursts, &format!("{at}.gil_held_bursts"))?,
            releases,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace/mixed.json"),
        )
        .expect("the committed fixture")
    }

    #[test]
    fn the_committed_fixture_reads_with_its_own_totals() {
        let text = fixture();
        let t = parse(&text, "mixed.json").expect("reads");
        let raw: Value = serde_json::from_str(&text).unwrap();
        let main = t.main_thread();
        assert_eq!(main.name, "MainThread");
        let want = |k: &str| SimDuration(raw["threads"][0]["totals_ns"][k].as_u64().unwrap());
        assert_eq!(main.totals.python, want("python"));
        assert_eq!(main.totals.c_release, want("c_release"));
        // The sites' releasing calls add up to the thread's totals.
        for (kind, key) in [
            (Release::Compute, "c_release"),
            (Release::Blocked, "blocked"),
        ] {
            let sum: u64 = main
                .releases
                .iter()
                .filter(|s| s.kind == kind)
                .map(|s| s.calls.total.0)
                .sum();
            assert_eq!(SimDuration(sum), want(key), "{key}");
        }
    }

    /// Format 1.1 (an untraced run): `minor_version`, `overhead.reconciliation`
    /// and a thread's `totals_raw_ns` are read past; the totals used are the
    /// reconciled `totals_ns`. A committed 1.1 trace reads too.
    #[test]
    fn a_reconciled_trace_reads_with_its_reconciled_totals() {
        let mut v: Value = serde_json::from_str(&fixture()).unwrap();
        let python = v["threads"][0]["totals_ns"]["python"].as_u64().unwrap();
        v["minor_version"] = 1.into();
        v["overhead"]["reconciliation"] = serde_json::json!({
            "untraced_wall_ns": 1, "untraced_samples_ns": [1], "untraced_run": "subprocess",
            "python_factor": 0.5, "applied": true, "not_applied_because": null});
        let mut raw = v["threads"][0]["totals_ns"].clone();
        raw["python"] = (2 * python).into();
        v["threads"][0]["totals_raw_ns"] = raw;
        let t = parse(&v.to_string(), "reconciled.json").expect("reads");
        assert_eq!(t.main_thread().totals.python, SimDuration(python));
        let committed =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("calibration/traces/programs/nbody.json");
        let text = std::fs::read_to_string(committed).expect("a committed 1.1 trace");
        let t = parse(&text, "nbody.json").expect("reads");
        let raw: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(raw["minor_version"], 1);
        let want = raw["threads"][0]["totals_ns"]["python"].as_u64().unwrap();
        assert_eq!(t.main_thread().totals.python, SimDuration(want));
    }

    /// One table of broken traces: what is changed, and what the error says.
    #[test]
    fn broken_traces_are_refused_naming_the_key() {
        let good: Value = serde_json::from_str(&fixture()).unwrap();
        type Edit = fn(&mut Value);
        let cases: [(&str, Edit, &str); 9] = [
            (
                "format",
                |v| v["format"] = "other".into(),
                "format is \"other\"",
            ),
            ("version", |v| v["version"] = 2.into(), "version is 2"),
            (
                "no threads",
                |v| v["threads"] = Value::Array(vec![]),
                "at least one thread",
            ),
            (
                "negative time",
                |v| v["threads"][0]["totals_ns"]["python"] = (-5).into(),
                "threads[0].totals_ns.python is -5",
            ),
            (
                "fractional time",
                |v| v["threads"][0]["wall_ns"] = 1.5.into(),
                "threads[0].wall_ns is 1.5",
            ),
            (
                "missing totals",
                |v| {
                    v["threads"][0].as_object_mut().unwrap().remove("totals_ns");
                },
                "threads[0].totals_ns is missing",
            ),
            (
                "quantiles out of order",
                |v| v["threads"][0]["gil_held_bursts"]["empirical_ns"][3] = 1.into(),
                "gil_held_bursts.empirical_ns[3] is 1",
            ),
            (
                "short empirical",
                |v| v["threads"][0]["gil_held_bursts"]["empirical_ns"] = Value::Array(vec![]),
                "an array of 16",
            ),
            (
                "not an object",
                |v| *v = Value::Array(vec![]),
                "the top level is []",
            ),
        ];
        for (what, edit, want) in cases {
            let mut v = good.clone();
            edit(&mut v);
            let err = parse(&v.to_string(), "t.json").expect_err(what).to_string();
            assert!(err.contains(want), "{what}: {err}");
            assert!(err.contains("t.json"), "{what}: {err}");
        }
        let err = parse("{\"format\": NaN}", "t.json")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }
}
