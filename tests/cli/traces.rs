//! Chrome traces (`--trace FILE` and the run option `chrome_trace`) and trace
//! windows: valid trace-event JSON, written only when the script succeeds,
//! with a track per thread, per GIL and per core that agree with each other.

use crate::util::Dir;
use serde_json::Value;
use std::collections::BTreeMap;

/// A sweep first (its runs are not traced by --trace), then the first run
/// outside a sweep, with a child process, then a second one to a named file.
const TRACED: &str = r#"
let s = sweep("pre", #{ n: [1, 2] }, |p| {
    let app = python();
    app.add_thread("sweep-thread", [py(ms(p.n))]);
    #{ ms: machine().run(app).makespan().ms() }
});
let app = python(#{ switch_interval: ms(1) });
let child = app.add_process("child");
app.add_thread("child-main", [py(ms(2))], #{ process: child });
app.add_thread("cpu", [start(child), py(ms(20)), join(child)]);
app.add_thread("io", [repeat(20, [py(us(50)), io(exp(us(500)))])]);
let r = machine(#{ cores: 2 }).run(app);
let again = machine(#{ cores: 1 }).run(app, #{ chrome_trace: "traces/one_core" });
print(`${r.makespan()} ${again.makespan()}`);
"#;

/// Fields each phase needs (Chrome trace-event format).
const REQUIRED: &[(&str, &[&str])] = &[
    ("X", &["name", "pid", "tid", "ts", "dur"]),
    ("M", &["name", "pid", "args"]),
    ("s", &["name", "id", "pid", "tid", "ts"]),
    ("f", &["name", "id", "pid", "tid", "ts", "bp"]),
    ("i", &["name", "pid", "tid", "ts", "s"]),
];

/// The tracks of a checked trace.
struct Tracks {
    /// Thread tracks of the simulated processes (threads and GIL holders).
    threads: Vec<String>,
    /// Tracks of the "CPU" process: one per core.
    cores: Vec<String>,
}

/// Thread-state slice names that mean "on a core".
const ON_CORE: [&str; 3] = [
    "running Python",
    "running C, GIL held",
    "running C, GIL released",
];

/// The core tracks agree with the thread tracks: each thread's time on the
/// cores is its time in the on-core states (to the nanosecond).
fn check_core_time(events: &[Value], cpu_pid: &Value) {
    let name_of: BTreeMap<(String, String), String> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| {
            let key = (e["pid"].to_string(), e["tid"].to_string());
            (key, e["args"]["name"].as_str().unwrap().to_string())
        })
        .collect();
    let ns = |e: &Value| (e["dur"].as_f64().unwrap() * 1000.0).round() as u64;
    let (mut on_cores, mut running) = (BTreeMap::new(), BTreeMap::new());
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let name = e["name"].as_str().unwrap();
        if &e["pid"] == cpu_pid {
            *on_cores.entry(name.to_string()).or_insert(0) += ns(e);
        } else if ON_CORE.contains(&name) {
            let key = (e["pid"].to_string(), e["tid"].to_string());
            *running.entry(name_of[&key].clone()).or_insert(0) += ns(e);
        }
    }
    assert!(!on_cores.is_empty(), "no slice on the core tracks");
    assert_eq!(
        on_cores, running,
        "time on cores against time running, per thread"
    );
}

/// Checks a trace file and returns the names of its tracks.
fn check_trace(text: &str) -> Tracks {
    let v: Value = serde_json::from_str(text).expect("the trace is valid JSON");
    let events = v["traceEvents"].as_array().expect("traceEvents");
    assert!(events.len() > 50, "only {} events", events.len());
    let mut phases = std::collections::BTreeSet::new();
    let mut slices: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    for e in events {
        let ph = e["ph"].as_str().expect("every event has a phase");
        let (_, fields) = REQUIRED
            .iter()
            .find(|(p, _)| *p == ph)
            .unwrap_or_else(|| panic!("unexpected phase {ph}: {e}"));
        for f in *fields {
            assert!(!e[*f].is_null(), "a {ph} event without {f}: {e}");
        }
        phases.insert(ph);
        if ph == "X" {
            let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
            assert!(dur > 0.0, "an empty slice: {e}");
            slices.entry(key).or_default().push((ts, ts + dur));
        }
    }
    assert_eq!(
        phases.len(),
        REQUIRED.len(),
        "every kind of event appears: {phases:?}"
    );
    for (thread, mut s) in slices {
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in s.windows(2) {
            assert!(
                w[0].1 <= w[1].0 + 1e-9,
                "thread {thread:?}: slice {:?} overlaps {:?}",
                w[0],
                w[1]
            );
        }
    }
    let processes: Vec<(&str, &Value)> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| (e["args"]["name"].as_str().unwrap(), &e["pid"]))
        .collect();
    let names: Vec<&str> = processes.iter().map(|p| p.0).collect();
    assert_eq!(names, ["main", "child", "CPU"]);
    let cpu_pid = processes[2].1;
    check_core_time(events, cpu_pid);
    let (cores, threads): (Vec<&Value>, Vec<&Value>) = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .partition(|e| &e["pid"] == cpu_pid);
    let names = |v: Vec<&Value>| -> Vec<String> {
        v.iter()
            .map(|e| e["args"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    Tracks {
        threads: names(threads),
        cores: names(cores),
    }
}

#[test]
fn trace_flag_and_chrome_trace_write_valid_trace_event_json() {
    let d = Dir::new();
    d.write("traced.rhai", TRACED);
    let out = d
        .gilsim(&["run", "traced.rhai", "--trace", "run.json"])
        .ok();
    assert!(
        out.contains("traces/one_core.json") && out.contains("run.json"),
        "{out}"
    );

    let tracks = check_trace(&d.read("run.json"));
    assert_eq!(tracks.cores, ["core 0", "core 1"], "a track per core");
    let (gil, threads): (Vec<String>, Vec<String>) = tracks
        .threads
        .into_iter()
        .partition(|t| t.starts_with("GIL holder"));
    assert_eq!(
        threads,
        ["cpu", "io", "child-main"],
        "--trace traces the first run outside the sweep"
    );
    assert_eq!(
        gil,
        ["GIL holder (interpreter 0)", "GIL holder (interpreter 1)"],
        "a GIL-holder track per interpreter"
    );
    let named = d.read("out/traced/traces/one_core.json");
    assert_eq!(check_trace(&named).cores, ["core 0"], "one core, one track");
    assert_ne!(named, d.read("run.json"), "a 1-core run is another trace");

    let m: Value = serde_json::from_str(&d.read("out/traced/manifest.json")).unwrap();
    assert_eq!(m["trace_file"]["path"], "run.json");
    assert_eq!(
        m["trace_file"]["sha256"],
        gilsim::output::manifest::sha256_hex(&std::fs::read(d.path().join("run.json")).unwrap())
    );
    let entry = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "traces/one_core.json")
        .expect("the chrome_trace file is in the manifest");
    assert_eq!(entry["bytes"], named.len());

    // Same script, same seed: the same trace bytes.
    d.gilsim(&[
        "run",
        "traced.rhai",
        "--out",
        "again",
        "--trace",
        "run2.json",
    ])
    .ok();
    assert_eq!(d.read("run.json"), d.read("run2.json"));
    assert_eq!(named, d.read("again/traces/one_core.json"));
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            found.extend(leftovers(&e.path()));
        } else if name.ends_with(".tmp") || name.ends_with(".json") {
            found.push(e.path().display().to_string());
        }
    }
    found
}

#[test]
fn a_failed_script_leaves_no_trace_file() {
    let d = Dir::new();
    d.write("fail.rhai", &format!("{TRACED}\nthrow \"late failure\";\n"));
    let r = d.gilsim(&["run", "fail.rhai", "--trace", "run.json"]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("late failure"), "{}", r.stderr());
    assert!(
        !d.exists("run.json") && !d.exists("out"),
        "a failed run must write nothing"
    );
    assert_eq!(leftovers(d.path()), Vec::<String>::new());

    // A trace over its event limit fails the run, naming the limit.
    d.write("big.rhai", TRACED);
    let r = d.gilsim(&[
        "run",
        "big.rhai",
        "--trace",
        "run.json",
        "--limit",
        "trace-events=30",
    ]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("limit of 30 events")
            && r.stderr().contains("--limit trace-events=300"),
        "{}",
        r.stderr()
    );
    assert_eq!(leftovers(d.path()), Vec::<String>::new());
}

#[test]
fn trace_needs_a_run_outside_a_sweep() {
    let d = Dir::new();
    d.write(
        "sweep_only.rhai",
        "let s = sweep(\"s\", #{ n: [1] }, |p| { let app = python(); app.add_thread(\"a\", [py(ms(1))]); #{ ms: machine().run(app).makespan().ms() } });\ns.save();",
    );
    let r = d.gilsim(&["run", "sweep_only.rhai", "--trace", "t.json"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .contains("--trace t.json: the script made no machine.run outside a sweep"),
        "{}",
        r.stderr()
    );
    assert!(!d.exists("t.json") && !d.exists("out"));
    assert_eq!(leftovers(d.path()), Vec::<String>::new());
}

#[test]
fn a_trace_window_keeps_only_the_window() {
    let d = Dir::new();
    d.write(
        "window.rhai",
        r#"
        let app = python(#{ switch_interval: ms(1) });
        app.add_thread("cpu0", [loop_for(ms(30), [py(ms(2))])]);
        app.add_thread("cpu1", [loop_for(ms(30), [py(ms(2))])]);
        app.add_thread("io", [loop_for(ms(30), [py(us(50)), io(exp(us(300)))])]);
        let m = machine(#{ cores: 2 });
        let full = m.run(app, #{ trace: true });
        let part = m.run(app, #{ trace_window: [ms(10), ms(20)] });
        let rows = table("window", ["thread_name", "state", "start_ns", "end_ns"]);
        for iv in part.intervals() {
            rows.add(#{ thread_name: iv.thread_name, state: iv.state, start_ns: iv.start.ns(), end_ns: iv.end.ns() });
        }
        rows.save();
        // The window holds exactly the full trace's intervals clipped to it.
        let clipped = [];
        for iv in full.intervals() {
            let a = max(iv.start, ms(10));
            let b = min(iv.end, ms(20));
            if a < b { clipped.push(`${iv.thread_name} ${iv.state} ${a.ns()} ${b.ns()}`); }
        }
        let got = part.intervals().map(|iv| `${iv.thread_name} ${iv.state} ${iv.start.ns()} ${iv.end.ns()}`);
        clipped.sort();
        got.sort();
        if clipped != got { throw `window ${got.len()} intervals, clipped full trace ${clipped.len()}`; }
        for h in part.handoffs() { if h.time < ms(10) || h.time >= ms(20) { throw `hand-off at ${h.time}`; } }
        if part.makespan() != full.makespan() { throw "tracing changed the run"; }
        "#,
    );
    d.gilsim(&["run", "window.rhai"]).ok();
    let csv = d.read("out/window/window.csv");
    let mut n = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (s, e): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        assert!(10e6 <= s && s < e && e <= 20e6, "{line}");
        n += 1;
    }
    assert!(n > 20, "only {n} intervals in the window");
}

#[cfg(unix)]
#[test]
fn a_chrome_trace_cannot_leave_the_output_folder_through_a_symlink() {
    let d = Dir::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("out/esc")).unwrap();
    std::os::unix::fs::symlink(outside.path(), d.path().join("out/esc/link")).unwrap();
    d.write(
        "esc.rhai",
        "let app = python();\napp.add_thread(\"a\", [py(ms(1))]);\nmachine().run(app, #{ chrome_trace: \"link/stolen\" });",
    );
    let r = d.gilsim(&["run", "esc.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().starts_with("error: esc.rhai:3:11:") && r.stderr().contains("symlink"),
        "{}",
        r.stderr()
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!d.exists("out/esc/manifest.json"));
}

/// Issue 14: a trace past `trace-events` stopped the file but not the run,
/// which went on to the `events` limit.
#[test]
fn a_trace_past_its_limit_stops_the_run() {
    let d = Dir::new();
    d.write(
        "long.rhai",
        "let app = python();\napp.add_thread(\"a\", [loop_for(s(100000), [py(us(50)), io(exp(us(50)))])]);\nmachine().run(app, #{ chrome_trace: \"t\" });",
    );
    let r = d.gilsim(&[
        "run",
        "long.rhai",
        "--limit",
        "trace-events=100",
        "--limit",
        "events=1G",
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains("chrome_trace \"t.json\": the trace reached its limit of 100 events"),
        "{err}"
    );
    assert!(
        !err.contains("events limit"),
        "stopped by the trace, not by events: {err}"
    );
    assert!(d.temp_files().is_empty(), "{:?}", d.temp_files());
}
