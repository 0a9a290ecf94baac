//! Ctrl-C and SIGTERM: a run stops promptly, writes no output (complete files
//! or none, no temporary file left), writes a manifest that says it was
//! interrupted, exits with 128 + the signal, and keeps its finished sweep
//! runs in the journal, which `--resume` reuses to produce byte-identical
//! results.

use crate::util::{kill, wait_until, Dir, Run};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::time::Instant;

/// 60 runs of a few tens of milliseconds each (debug build).
const SWEEP: &str = r#"
let ns = [];
for i in 1..=30 { ns.push(i); }
let s = sweep("s", #{ n: ns }, #{ replicates: 2 }, |p| {
    let app = python();
    for i in 0..3 { app.add_thread(`t${i}`, [loop_for(ms(100), [py(us(50)), io(exp(us(50)))])]); }
    let r = machine(#{ cores: 2 }).run(app, #{ stop_at: ms(100) });
    print(`point ${p.n} replicate ${p.replicate}`);
    #{ io_ops_per_s: r.thread_report("t0").ops_per_sec(), third: p.n / 3.0, n2: p.n * p.n }
});
s.save();
"#;

const RUNS: u64 = 60;

/// A stop is prompt by the run's own clock: it stops within `gilsim::GRACE`
/// of the signal or reports the script "abandoned" (each test asserts that
/// word absent). The wall-clock bound here only catches a hang: on a loaded
/// CI machine a debug build can take seconds more to be scheduled and exit.
fn assert_no_hang(sent: Instant, what: &str) {
    let bound = gilsim::GRACE * 10;
    assert!(
        sent.elapsed() < bound,
        "{what} took {:?} to stop after the signal (bound {bound:?})",
        sent.elapsed()
    );
}

fn manifest(d: &Dir, out: &str) -> Value {
    serde_json::from_str(&d.read(&format!("{out}/manifest.json"))).unwrap()
}

fn journal_lines(d: &Dir, out: &str) -> usize {
    std::fs::read(d.path().join(out).join(".gilsim-journal/s.jsonl"))
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn points_printed(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("point ")).collect()
}

#[test]
fn sigterm_mid_sweep_keeps_finished_runs_and_resume_completes_them_identically() {
    let d = Dir::new();
    d.write("sw.rhai", SWEEP);
    let clean_stdout = d
        .gilsim(&["run", "sw.rhai", "--out", "clean", "--jobs", "2"])
        .ok();
    assert!(
        !d.exists("clean/.gilsim-journal"),
        "a successful run removes its journal"
    );

    let child = d.spawn(&["run", "sw.rhai", "--out", "int", "--jobs", "2"]);
    wait_until("3 journal lines", || journal_lines(&d, "int") >= 3);
    kill(child.id(), "TERM");
    let r = Run(child.wait_with_output().unwrap());
    let err = r.stderr();
    assert_eq!(r.code(), 143, "exit status after SIGTERM\n{err}");
    assert!(err.contains("error: interrupted by SIGTERM"), "{err}");
    assert!(err.contains("rerun with --resume"), "{err}");
    assert!(
        !d.exists("int/s.csv") && !d.exists("int/s_runs.csv"),
        "no partial CSV"
    );
    assert_eq!(
        d.temp_files(),
        Vec::<String>::new(),
        "no temporary file left"
    );
    let m = manifest(&d, "int");
    assert_eq!(m["status"], "interrupted");
    assert_eq!(m["interrupted_by"], "SIGTERM");
    assert_eq!(m["files"], Value::Array(vec![]));
    assert_eq!(m["journal"][0]["path"], ".gilsim-journal/s.jsonl");
    let kept = m["journal"][0]["runs"].as_u64().unwrap();
    assert!((3..RUNS).contains(&kept), "{kept} runs journaled");

    // A journal of another seed is not reused (its runs would differ).
    let copy = d.path().join("stale");
    std::fs::create_dir_all(copy.join(".gilsim-journal")).unwrap();
    std::fs::copy(
        d.path().join("int/.gilsim-journal/s.jsonl"),
        copy.join(".gilsim-journal/s.jsonl"),
    )
    .unwrap();
    d.gilsim(&[
        "run", "sw.rhai", "--out", "stale", "--seed", "1", "--resume",
    ])
    .ok();
    assert_eq!(manifest(&d, "stale")["resumed_runs"], 0);

    // --resume computes only the rest; the results are those of a clean run.
    let stdout = d
        .gilsim(&["run", "sw.rhai", "--out", "int", "--jobs", "2", "--resume"])
        .ok();
    let m = manifest(&d, "int");
    assert_eq!(m["status"], "ok");
    let resumed = m["resumed_runs"].as_u64().unwrap();
    assert!(
        resumed >= kept,
        "{resumed} runs reused, {kept} were journaled"
    );
    assert_eq!(resumed + m["computed_runs"].as_u64().unwrap(), RUNS);
    assert!(
        stdout.contains(&format!("{resumed} sweep runs reused")),
        "{stdout}"
    );
    for f in ["s.csv", "s_runs.csv"] {
        assert_eq!(
            d.read(&format!("int/{f}")),
            d.read(&format!("clean/{f}")),
            "{f} of the resumed run differs from a clean run"
        );
    }
    assert_eq!(points_printed(&stdout), points_printed(&clean_stdout));
    assert!(
        !d.exists("int/.gilsim-journal"),
        "a successful run removes its journal"
    );
}

#[test]
fn ctrl_c_stops_an_endless_script_promptly_with_status_130() {
    let d = Dir::new();
    d.write(
        "spin.rhai",
        "print(\"started\");\nlet i = 0;\nloop { i += 1; }\n",
    );
    let mut child = d.spawn(&["run", "spin.rhai", "--limit", "ops=1000G"]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "started\n");
    let sent = Instant::now();
    kill(child.id(), "INT");
    let r = Run(child.wait_with_output().unwrap());
    assert_no_hang(sent, "the script");
    assert_eq!(r.code(), 130, "{}", r.stderr());
    assert!(
        r.stderr().starts_with("error: interrupted by SIGINT"),
        "{}",
        r.stderr()
    );
    assert!(!r.stderr().contains("abandoned"), "{}", r.stderr());
    let m = manifest(&d, "out/spin");
    assert_eq!(m["status"], "interrupted");
    assert_eq!(m["interrupted_by"], "SIGINT");
    assert!(m.get("journal").is_none(), "no sweep, no journal");
    assert_eq!(d.files(), ["out/spin/manifest.json", "spin.rhai"]);
}

#[test]
fn a_signal_stops_a_long_simulation_promptly_and_removes_its_temporary_trace() {
    let d = Dir::new();
    d.write(
        "long.rhai",
        "let app = python();\nfor i in 0..4 { app.add_thread(`t${i}`, [loop_for(s(1000), [py(us(5)), io(exp(us(5)))])]); }\nmachine(#{ cores: 2 }).run(app, #{ chrome_trace: \"trace\" });\n",
    );
    let child = d.spawn(&[
        "run",
        "long.rhai",
        "--out",
        "out",
        "--limit",
        "trace-events=1G",
    ]);
    wait_until("the trace's temporary file", || !d.temp_files().is_empty());
    let sent = Instant::now();
    kill(child.id(), "TERM");
    let r = Run(child.wait_with_output().unwrap());
    assert_no_hang(sent, "the simulation");
    assert_eq!(r.code(), 143, "{}", r.stderr());
    assert!(!r.stderr().contains("abandoned"), "{}", r.stderr());
    assert_eq!(
        d.temp_files(),
        Vec::<String>::new(),
        "no temporary file left"
    );
    assert_eq!(manifest(&d, "out")["status"], "interrupted");
    assert_eq!(d.files(), ["long.rhai", "out/manifest.json"]);
}

/// Issue 14: `gilsim report` left a 590 MB temporary trace on SIGTERM. Each
/// experiment stops like an interrupted run (SIGHUP like SIGTERM): no
/// temporary file anywhere, exit status 128 + the signal.
#[test]
fn a_signal_stops_a_report_and_leaves_no_temporary_file() {
    let d = Dir::new();
    d.write(
        "exps/long.rhai",
        "let app = python();\nfor i in 0..4 { app.add_thread(`t${i}`, [loop_for(s(1000), [py(us(5)), io(exp(us(5)))])]); }\nmachine(#{ cores: 2 }).run(app, #{ chrome_trace: \"trace\" });\n",
    );
    d.write(
        "exps/quick.rhai",
        "let t = table(\"t\", [\"x\"]);\nt.add(#{ x: 1 });\nt.save();\n",
    );
    for (signal, status) in [("TERM", 143), ("HUP", 129)] {
        let child = d.spawn(&[
            "report",
            "--experiments",
            "exps",
            "--out",
            "rep",
            "--jobs",
            "2",
        ]);
        wait_until("the trace's temporary file", || !d.temp_files().is_empty());
        let sent = Instant::now();
        kill(child.id(), signal);
        let r = Run(child.wait_with_output().unwrap());
        assert_no_hang(sent, &format!("SIG{signal}: the report"));
        assert_eq!(r.code(), status, "SIG{signal}: {}", r.stderr());
        assert!(
            r.stderr().contains(&format!("interrupted by SIG{signal}")),
            "SIG{signal}: {}",
            r.stderr()
        );
        assert!(!r.stderr().contains("abandoned"), "{}", r.stderr());
        assert_eq!(
            d.temp_files(),
            Vec::<String>::new(),
            "SIG{signal}: no temporary file left"
        );
        assert!(!d.exists("rep/long/trace.json"), "SIG{signal}: no trace");
    }
}
