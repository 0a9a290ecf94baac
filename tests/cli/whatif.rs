//! A real program's trace in gilsim (issue 17): `workload("trace.json")`
//! reproduces the traced thread's totals, bad traces are refused naming the
//! file and the key, traces are read only from the script's folder, and
//! `gilsim whatif` gives the same bytes on every run and points the right way
//! (a pure-Python program gains nothing from threads and gains from
//! processes; a sleep-heavy one gains from threads).

use crate::util::Dir;
use serde_json::{json, Value};
use std::path::Path;

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trace/mixed.json"),
    )
    .expect("the committed trace fixture")
}

/// The fixture with its main thread replaced: `python_ns` of Python in
/// `bursts` equal GIL-held stretches, and `sleeps` blocked calls of
/// `sleep_ns` each (a `time.sleep` site).
fn synthetic(python_ns: u64, sleeps: u64, sleep_ns: u64) -> String {
    let mut v: Value = serde_json::from_str(&fixture()).unwrap();
    let bursts = sleeps + 1;
    let each = python_ns / bursts;
    let dist = |count: u64, ns: u64| {
        json!({"count": count, "total_ns": count * ns, "mean_ns": ns, "min_ns": ns, "max_ns": ns,
               "empirical_ns": vec![ns; 16], "histogram": [[ns, ns + 1, count]]})
    };
    let t = &mut v["threads"][0];
    t["totals_ns"] = json!({"python": each * bursts, "c_hold": 0, "c_release": 0,
                             "blocked": sleeps * sleep_ns, "tracer": 0});
    t["gil_held_bursts"] = dist(bursts, each);
    t["c_sites"] = if sleeps == 0 {
        json!([])
    } else {
        json!([{"callee": "time.sleep", "caller": "<module>", "file": "x.py", "line": 1,
                "category": "blocked", "calls": sleeps,
                "by_category": {"blocked": dist(sleeps, sleep_ns)},
                "evidence": null, "wait_kind": "sleep", "folded_after": null}])
    };
    v.to_string()
}

/// A trace's thread totals and its releasing calls.
fn totals(trace: &str) -> (Vec<(&'static str, f64)>, u64) {
    let v: Value = serde_json::from_str(trace).unwrap();
    let t = &v["threads"][0];
    let cats = ["python", "c_hold", "c_release", "blocked"]
        .map(|k| (k, t["totals_ns"][k].as_u64().unwrap() as f64))
        .to_vec();
    let calls: u64 = t["c_sites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            ["c_release", "blocked"].map(|k| s["by_category"][k]["count"].as_u64().unwrap_or(0))
        })
        .sum();
    (cats, calls)
}

const ONE_COPY: &str = r#"
let w = workload("trace.json");
print(`first step: ${w[0]}`);
let app = python();
app.add_thread("copy", w);
let r = machine(#{ cores: 2 }).run(app).thread_report("copy");
let t = table("totals", ["category", "simulated_ns"]);
t.add(#{ category: "python", simulated_ns: r.python().ns() });
t.add(#{ category: "c_hold", simulated_ns: r.native_holding_gil().ns() });
t.add(#{ category: "c_release", simulated_ns: r.native_released_gil().ns() });
t.add(#{ category: "blocked", simulated_ns: r.blocked().ns() });
t.save();
"#;

/// One copy of a trace, run alone, spends in each category what the traced
/// thread did: the loader rounds each step to a whole nanosecond and carries
/// the rounding on, so the stated tolerance is one nanosecond per step
/// (at most three steps per releasing call, plus the last stretch).
#[test]
fn a_trace_loads_and_runs_with_its_category_totals() {
    let many = synthetic(300_000_000, 25_000, 40_000);
    let cases = [
        ("the committed fixture", fixture(), "py("),
        // More releasing calls than a copy spells out: a repeat.
        ("25 000 sleeps", many, "repeat("),
    ];
    for (what, trace, first) in cases {
        let d = Dir::new();
        d.write("trace.json", &trace);
        d.write("one.rhai", ONE_COPY);
        let out = d.gilsim(&["run", "one.rhai", "--out", "out"]).ok();
        assert!(
            out.contains(&format!("first step: {first}")),
            "{what}: {out}"
        );
        let (want, calls) = totals(&trace);
        let tolerance = (3 * calls + 2) as f64;
        let csv = d.read("out/totals.csv");
        for ((cat, want), line) in want.iter().zip(csv.lines().skip(1)) {
            let (name, got) = line.split_once(',').unwrap();
            assert_eq!(name, *cat);
            let got: f64 = got.parse().unwrap();
            assert!(
                (got - want).abs() <= tolerance,
                "{what}: {cat} simulated {got} ns, traced {want} ns (tolerance {tolerance} ns)"
            );
        }
    }
}

/// `gilsim check` knows the functions (and reads no trace: it runs nothing).
#[test]
fn check_accepts_scripts_that_load_traces() {
    let d = Dir::new();
    d.write(
        "s.rhai",
        "let w = workload(\"none-yet.json\", #{ traced_thread: \"MainThread\", seed: 3 });\nlet i = trace_info(\"none-yet.json\");\nlet p = tasks(4, w);\n",
    );
    assert!(d.gilsim(&["check", "s.rhai"]).ok().contains("ok"));
    // The script `gilsim whatif` runs passes the same check.
    d.write("whatif.rhai", gilsim::commands::whatif::SCRIPT);
    assert!(d.gilsim(&["check", "whatif.rhai"]).ok().contains("ok"));
    d.write("typo.rhai", "let w = workloads(\"t.json\");");
    let r = d.gilsim(&["check", "typo.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("workload"), "{}", r.stderr());
}

/// One table of broken traces: each is refused by `workload(...)` (at the
/// script's line, naming the trace and the key) and by `gilsim whatif`
/// (exit status 1), and nothing is written.
#[test]
fn broken_traces_are_refused_naming_the_file_and_the_key() {
    let good: Value = serde_json::from_str(&fixture()).unwrap();
    let edited = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        v.to_string()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not JSON",
            "{\"format\": \"gilsim-trace\",".into(),
            "is not valid JSON",
        ),
        ("NaN", "{\"format\": NaN}".into(), "is not valid JSON"),
        (
            "another format",
            edited(&|v| v["format"] = "chrome-trace".into()),
            "format is \"chrome-trace\"; gilsim reads \"gilsim-trace\" version 1",
        ),
        (
            "a later version",
            edited(&|v| v["version"] = 2.into()),
            "version is 2; gilsim reads \"gilsim-trace\" version 1",
        ),
        (
            "a missing field",
            edited(&|v| {
                v["threads"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("gil_held_bursts");
            }),
            "threads[0].gil_held_bursts is missing",
        ),
        (
            "a negative time",
            edited(&|v| v["threads"][0]["totals_ns"]["blocked"] = (-1).into()),
            "threads[0].totals_ns.blocked is -1: expected a whole number ≥ 0",
        ),
        (
            "a time of 1e300",
            edited(&|v| v["process"]["wall_ns"] = 1e300.into()),
            "process.wall_ns is 1e+300: expected a whole number ≥ 0",
        ),
        (
            "no threads",
            edited(&|v| v["threads"] = json!([])),
            "threads is []: expected at least one thread",
        ),
    ];
    let d = Dir::new();
    d.write("s.rhai", "let w = workload(\"t.json\");\n");
    for (what, text, says) in cases {
        d.write("t.json", &text);
        let r = d.gilsim(&["run", "s.rhai", "--out", "out"]);
        let err = r.stderr();
        assert_eq!(r.code(), 1, "{what}: {err}");
        assert!(err.starts_with("error: s.rhai:1:9:"), "{what}: {err}");
        assert!(err.contains("trace t.json"), "{what}: {err}");
        assert!(err.contains(says), "{what}: expected {says:?} in {err}");
        let r = d.gilsim(&["whatif", "t.json", "--out", "wi"]);
        assert_eq!(r.code(), 1, "{what}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{what}: {}", r.stderr());
        assert!(
            !d.exists("out") && !d.exists("wi"),
            "{what}: wrote something"
        );
    }
}

/// Traces are read from the script's folder only, and not beyond the size
/// limit.
#[test]
fn traces_are_confined_to_the_scripts_folder_and_limited_in_size() {
    let d = Dir::new();
    d.write("outside/t.json", &fixture());
    d.write("app/t.json", &fixture());
    std::os::unix::fs::symlink("../outside/t.json", d.path().join("app/link.json")).unwrap();
    let big = std::fs::File::create(d.path().join("app/big.json")).unwrap();
    big.set_len(16 * 1024 * 1024 + 1).unwrap();
    let cases = [
        ("a symlink out", "link.json", "outside the script's folder"),
        ("..", "../outside/t.json", "without `..`"),
        (
            "an absolute path",
            "/etc/passwd",
            "a path relative to the script's folder",
        ),
        (
            "a missing file",
            "nothere.json",
            "cannot read trace app/nothere.json",
        ),
        ("a folder", ".", "without `..`"),
        (
            "too big",
            "big.json",
            "16777217 bytes, more than the limit of 16777216",
        ),
    ];
    for (what, path, says) in cases {
        d.write("app/s.rhai", &format!("let w = workload({path:?});\n"));
        let r = d.gilsim(&["run", "app/s.rhai", "--out", "out"]);
        assert_eq!(r.code(), 1, "{what}");
        assert!(r.stderr().contains(says), "{what}: {}", r.stderr());
        assert!(!d.exists("out"), "{what}");
    }
    // The trace beside the script loads; a named thread, and a wrong one.
    d.write(
        "app/s.rhai",
        "print(workload(\"t.json\", #{ traced_thread: 0 }).len() > 0);\nworkload(\"t.json\", #{ traced_thread: \"Worker\" });",
    );
    let r = d.gilsim(&["run", "app/s.rhai", "--out", "out"]);
    assert!(r.stdout().contains("true"), "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("no thread \"Worker\" in the trace; its threads: \"MainThread\""),
        "{}",
        r.stderr()
    );
}

/// Every file `gilsim whatif` writes but the manifest, and the manifest's findings.
fn whatif_outputs(d: &Dir, out: &str, jobs: &str) -> Vec<(String, Vec<u8>)> {
    let stdout = d
        .gilsim(&[
            "whatif",
            "trace.json",
            "--out",
            out,
            "--jobs",
            jobs,
            "--seed",
            "5",
        ])
        .ok();
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(d.path().join(out))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "manifest.json" && !n.starts_with('.'))
        .map(|n| {
            let bytes = std::fs::read(d.path().join(out).join(&n)).unwrap();
            (n, bytes)
        })
        .collect();
    files.sort();
    let manifest: Value = serde_json::from_str(&d.read(&format!("{out}/manifest.json"))).unwrap();
    let findings = manifest["findings"].to_string();
    for f in manifest["findings"].as_array().unwrap() {
        assert!(stdout.contains(f.as_str().unwrap()), "printed: {f}");
    }
    files.push(("findings".into(), findings.into_bytes()));
    files.sort();
    files
}

#[test]
fn whatif_on_the_committed_trace_gives_the_same_bytes_on_every_run() {
    let d = Dir::new();
    d.write("trace.json", &fixture());
    let one = whatif_outputs(&d, "a", "1");
    let two = whatif_outputs(&d, "b", "2");
    let again = whatif_outputs(&d, "c", "1");
    let names: Vec<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "findings",
            "whatif.csv",
            "whatif.png",
            "whatif.svg",
            "whatif_speedup.png",
            "whatif_speedup.svg",
            "whatif_trace.csv"
        ]
    );
    assert!(one == two, "--jobs 1 and --jobs 2 differ");
    assert!(one == again, "two runs differ");
    // Defaults: out/<trace>-whatif; usage errors exit 2.
    d.gilsim(&["whatif", "trace.json"]).ok();
    assert!(d.exists("out/trace-whatif/whatif.csv"));
    for bad in [
        &["whatif"][..],
        &["whatif", "trace.json", "--cores", "0"],
        &["whatif", "trace.json", "--seed", "x"],
        &["whatif", "trace.json", "--frobnicate"],
    ] {
        assert_eq!(d.gilsim(bad).code(), 2, "{bad:?}");
    }
    let help = d.gilsim(&["whatif", "--help"]).ok();
    assert!(help.contains("gilsim whatif app.json"), "{help}");
}

/// One `whatif.csv` row: (layout, workers) -> (wall_s, speedup).
fn rows(csv: &str) -> Vec<(String, u64, f64, f64)> {
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (l, w, wall, sp) = (col("layout"), col("workers"), col("wall_s"), col("speedup"));
    lines
        .map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            (
                c[l].to_string(),
                c[w].parse().unwrap(),
                c[wall].parse().unwrap(),
                c[sp].parse().unwrap(),
            )
        })
        .collect()
}

fn speedup(rows: &[(String, u64, f64, f64)], layout: &str, k: u64) -> f64 {
    rows.iter()
        .find(|r| r.0.starts_with(layout) && r.1 == k)
        .unwrap_or_else(|| panic!("no row {layout} {k}"))
        .3
}

/// The directions: a pure-Python trace gains nothing from threads (k copies
/// take about k times as long) but gains from processes; a trace that
/// mostly sleeps gains from threads. The bounds are directions (more than
/// half the cores' worth, or less than one and a tenth), not fitted numbers.
#[test]
fn whatif_points_the_right_way() {
    let d = Dir::new();
    d.write("pure.json", &synthetic(200_000_000, 0, 0));
    d.write("sleepy.json", &synthetic(10_000_000, 20, 10_000_000));
    for name in ["pure", "sleepy"] {
        d.gilsim(&[
            "whatif",
            &format!("{name}.json"),
            "--cores",
            "4",
            "--out",
            name,
        ])
        .ok();
    }
    let pure = rows(&d.read("pure/whatif.csv"));
    assert!(speedup(&pure, "threads (5", 4) < 1.1, "{pure:?}");
    assert!(speedup(&pure, "processes", 4) > 2.0, "{pure:?}");
    assert!(speedup(&pure, "free-threaded", 4) > 2.0, "{pure:?}");
    let sleepy = rows(&d.read("sleepy/whatif.csv"));
    assert!(speedup(&sleepy, "threads (5", 4) > 2.0, "{sleepy:?}");
    // The findings name what limits each: the GIL for pure-Python threads,
    // the blocking calls for the sleepy program's threads.
    let findings = |name: &str| -> Vec<String> {
        let m: Value = serde_json::from_str(&d.read(&format!("{name}/manifest.json"))).unwrap();
        m["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect()
    };
    let threads = |name: &str| {
        findings(name)
            .into_iter()
            .find(|f| f.starts_with("threads (5"))
            .unwrap()
    };
    assert!(
        threads("pure").contains("limited by the GIL"),
        "{}",
        threads("pure")
    );
    assert!(
        threads("sleepy").contains("limited by I/O and sleeps"),
        "{}",
        threads("sleepy")
    );
}
