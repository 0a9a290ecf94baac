//! Sharded sweeps: `gilsim run --shard I/N` runs a share of a sweep's runs,
//! `gilsim merge` assembles outputs byte-identical to an unsharded run, and
//! refuses shards that are missing, incomplete, failed, or of another
//! script, seed, parameters or shard count, naming them.

use crate::util::{kill, wait_until, Dir, Run};
use serde_json::Value;

/// 15 runs (5 points × 3 replicates) that print, a figure and a finding
/// after the sweep, and a parameter read before it.
const SWEEP: &str = r#"
let k = param("k", 3);
let s = sweep("s", #{ n: [1, 2, 3, 4, 5], k: [k] }, #{ replicates: 3 }, |p| {
    let app = python();
    for i in 0..2 { app.add_thread(`t${i}`, [loop_for(ms(20), [py(us(50)), io(exp(us(50)))])]); }
    let r = machine(#{ cores: 2 }).run(app, #{ stop_at: ms(20) });
    print(`point ${p.n} replicate ${p.replicate}`);
    #{ ops: r.thread_report("t0").ops_per_sec(), third: p.n / 3.0 }
});
s.save();
s.summary().plot(#{ x: "n", y: "ops_mean" });
finding(`${s.summary().len()} points`);
"#;

const RUNS: u64 = 15;

fn manifest(d: &Dir, out: &str) -> Value {
    serde_json::from_str(&d.read(&format!("{out}/manifest.json"))).unwrap()
}

fn record(d: &Dir, dir: &str) -> Value {
    serde_json::from_str(&d.read(&format!("{dir}/.gilsim-shard.json"))).unwrap()
}

/// The output files a run's manifest lists, and the manifest's own
/// description of them.
fn outputs(d: &Dir, out: &str) -> Vec<String> {
    manifest(d, out)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts that every output of `a` is in `b`, byte for byte, and no more.
fn assert_same_outputs(d: &Dir, a: &str, b: &str) {
    let files = outputs(d, a);
    assert_eq!(files, outputs(d, b), "{a} and {b} list different files");
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        let x = std::fs::read(d.path().join(a).join(f)).unwrap();
        let y = std::fs::read(d.path().join(b).join(f)).unwrap();
        assert!(x == y, "{f} of {b} differs from {a}");
    }
    assert_eq!(manifest(d, a)["findings"], manifest(d, b)["findings"]);
}

fn shard(d: &Dir, i: u64, n: u64, extra: &[&str]) -> Run {
    let spec = format!("{i}/{n}");
    let out = format!("sh{n}/{i}");
    let mut args = vec![
        "run", "sw.rhai", "--shard", &spec, "--out", &out, "--seed", "5",
    ];
    args.extend_from_slice(extra);
    d.gilsim(&args)
}

fn merge(d: &Dir, dirs: &[String], out: &str) -> Run {
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().cloned());
    args.extend(["--out".to_string(), out.to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.gilsim(&args)
}

fn dirs(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("sh{n}/{i}")).collect()
}

fn printed(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("point ")).collect()
}

#[test]
fn merged_shards_are_byte_identical_to_an_unsharded_run() {
    let d = Dir::new();
    d.write("sw.rhai", SWEEP);
    let full = d
        .gilsim(&[
            "run", "sw.rhai", "--out", "full", "--seed", "5", "--jobs", "2",
        ])
        .ok();
    // (shards, --jobs of the shards): one shard, a few, more shards than
    // some points have replicates, and more shards than runs (some own none).
    for (n, jobs) in [(1, "2"), (2, "1"), (4, "2"), (7, "1"), (16, "2")] {
        for i in 0..n {
            let out = shard(&d, i, n, &["--jobs", jobs]).ok();
            let share = (0..RUNS).filter(|t| t % n == i).count();
            assert!(
                out.contains(&format!(
                    "shard {i}/{n}: {share} of the {RUNS} runs of sweep \"s\""
                )),
                "{out}"
            );
            assert!(
                printed(&out).is_empty(),
                "a shard prints no sweep output: {out}"
            );
            let r = record(&d, &format!("sh{n}/{i}"));
            assert_eq!(r["status"], "complete");
            assert_eq!(r["sweep"]["runs_in_shard"], share as u64);
            assert!(
                !d.exists(&format!("sh{n}/{i}/manifest.json")),
                "a shard writes no manifest"
            );
            assert!(
                !d.exists(&format!("sh{n}/{i}/s.csv")),
                "a shard writes no output"
            );
        }
        // Shards given in any order.
        let mut given = dirs(n);
        given.reverse();
        let out = format!("merged{n}");
        let stdout = merge(&d, &given, &out).ok();
        assert_same_outputs(&d, "full", &out);
        assert_eq!(printed(&stdout), printed(&full), "prints in task order");
        assert!(
            stdout.contains(&format!("merged {n} shards ({RUNS} runs of sweep \"s\")")),
            "{stdout}"
        );
        let m = manifest(&d, &out);
        assert_eq!(m["status"], "ok");
        assert_eq!(m["resumed_runs"], RUNS, "every run comes from the shards");
        assert_eq!(m["computed_runs"], 0);
        assert_eq!(m["merged_shards"].as_array().unwrap().len() as u64, n);
        assert_eq!(m["seed"], 5);
        assert!(!d.exists(&format!("{out}/.gilsim-journal")));
        // The shards' journals stay (a merge only reads them).
        assert!(d.exists(&format!("sh{n}/0/.gilsim-journal/s.jsonl")) || n > RUNS);
    }
    assert_eq!(d.temp_files(), Vec::<String>::new());
}

/// A shard that failed (a limit it ran out of) and one killed by SIGTERM are
/// named with how far they got and the command that completes them; re-run,
/// they merge to the unsharded results.
#[test]
fn failed_and_interrupted_shards_are_named_and_their_reruns_merge_identically() {
    let d = Dir::new();
    // 60 runs of a few tens of milliseconds each: slow enough to interrupt.
    d.write(
        "sw.rhai",
        &SWEEP
            .replace(
                "[1, 2, 3, 4, 5]",
                "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]",
            )
            .replace("ms(20)", "ms(60)"),
    );
    d.gilsim(&["run", "sw.rhai", "--out", "full", "--seed", "5"])
        .ok();
    shard(&d, 0, 4, &[]).ok();
    // Shard 1 fails: a point needs more events than its limit allows.
    let r = shard(&d, 1, 4, &["--limit", "events=100"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("events"), "{}", r.stderr());
    assert_eq!(record(&d, "sh4/1")["status"], "failed");
    // Shard 2 is stopped by SIGTERM after a few runs.
    let child = d.spawn(&[
        "run", "sw.rhai", "--shard", "2/4", "--out", "sh4/2", "--seed", "5", "--jobs", "1",
    ]);
    let lines = || {
        std::fs::read(d.path().join("sh4/2/.gilsim-journal/s.jsonl"))
            .map(|b| b.iter().filter(|c| **c == b'\n').count())
            .unwrap_or(0)
    };
    wait_until("2 journal lines", || lines() >= 2);
    // A shard still running holds its folder: the merge does not read it half-written.
    let r = merge(&d, &dirs(4)[..3], "merged");
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .contains("the output folder sh4/2 is in use by another gilsim run"),
        "{}",
        r.stderr()
    );
    kill(child.id(), "TERM");
    let r = Run(child.wait_with_output().unwrap());
    assert_eq!(r.code(), 143, "{}", r.stderr());
    assert_eq!(record(&d, "sh4/2")["status"], "interrupted");
    let kept = lines();
    assert!((2..15).contains(&kept), "{kept} runs journaled");

    // Shard 3 never ran: the merge names all three problems and writes nothing.
    let r = merge(&d, &dirs(4)[..3], "merged");
    assert_eq!(r.code(), 1);
    let err = r.stderr();
    for want in [
        "1 of 4 shards missing: 3/4",
        "--seed 5",
        "shard 1/4 (sh4/1) is incomplete: 0 of its 15 runs are journaled (status: failed: ",
        &format!("shard 2/4 (sh4/2) is incomplete: {kept} of its 15 runs are journaled (status: interrupted)"),
        "rerun it with `gilsim run sw.rhai --shard 2/4 --out sh4/2 --resume --seed 5`",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    assert!(!d.exists("merged"), "a refused merge writes nothing");

    shard(&d, 1, 4, &["--resume"]).ok();
    let out = shard(&d, 2, 4, &["--resume"]).ok();
    assert!(
        out.contains(&format!("{} computed, {kept} reused", 15 - kept)),
        "{out}"
    );
    assert!(
        !d.exists("sh4/2/manifest.json"),
        "the interrupted attempt's manifest goes"
    );
    shard(&d, 3, 4, &[]).ok();
    merge(&d, &dirs(4), "merged").ok();
    assert_same_outputs(&d, "full", "merged");
}

/// Shards of another script, seed, parameters or shard count are refused,
/// naming what differs and where; so are folders given twice or not shards.
#[test]
fn shards_that_do_not_belong_together_are_refused() {
    let d = Dir::new();
    d.write("sw.rhai", SWEEP);
    d.write("other.rhai", &format!("// another script\n{SWEEP}"));
    shard(&d, 0, 2, &[]).ok();
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "seed",
            &[
                "run", "sw.rhai", "--shard", "1/2", "--out", "x", "--seed", "6",
            ],
            "they differ in seed: --seed 5 in sh2/0, --seed 6 in x",
        ),
        (
            "--set",
            &[
                "run", "sw.rhai", "--shard", "1/2", "--out", "x", "--seed", "5", "--set", "k=4",
            ],
            "they differ in --set values: no --set in sh2/0, --set k=4 in x",
        ),
        (
            "script",
            &[
                "run",
                "other.rhai",
                "--shard",
                "1/2",
                "--out",
                "x",
                "--seed",
                "5",
            ],
            "they differ in script: sw.rhai (sha256 ",
        ),
        (
            "shard count",
            &[
                "run", "sw.rhai", "--shard", "1/3", "--out", "x", "--seed", "5",
            ],
            "they differ in number of shards: N = 2 in sh2/0, N = 3 in x",
        ),
        (
            "same shard",
            &[
                "run", "sw.rhai", "--shard", "0/2", "--out", "x", "--seed", "5",
            ],
            "shard 0/2 is given twice: sh2/0 and x",
        ),
    ];
    for (what, run, says) in cases {
        let _ = std::fs::remove_dir_all(d.path().join("x"));
        d.gilsim(run).ok();
        let r = merge(&d, &["sh2/0".into(), "x".into()], "merged");
        assert_eq!(r.code(), 1, "{what}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{what}: {}", r.stderr());
        assert!(
            !d.exists("merged"),
            "{what}: a refused merge writes nothing"
        );
    }
    shard(&d, 1, 2, &[]).ok();
    let refusals: &[(&str, &[&str], &str)] = &[
        (
            "folder twice",
            &["merge", "sh2/0", "sh2/0", "sh2/1"],
            "sh2/0 is given twice",
        ),
        (
            "not a shard",
            &["merge", "sh2/0", "nowhere"],
            "nowhere is not a shard folder: it has no .gilsim-shard.json",
        ),
        (
            "out is a shard",
            &["merge", "sh2/0", "sh2/1", "--out", "sh2/1"],
            "the output folder sh2/1 is one of the shard folders",
        ),
    ];
    for (what, args, says) in refusals {
        let r = d.gilsim(args);
        assert_eq!(r.code(), 1, "{what}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{what}: {}", r.stderr());
    }
    // The script edited after the shards ran: their runs belong to the old text.
    d.write("sw.rhai", &format!("{SWEEP}\n// edited\n"));
    let r = merge(&d, &dirs(2), "merged");
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .contains("the script the shards ran, sw.rhai (sha256 "),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("has changed since"), "{}", r.stderr());
    assert!(!d.exists("merged"));
}

/// A merge keeps the promises of a run: a refused merge leaves the last good
/// results as they were.
#[test]
fn a_refused_merge_keeps_the_last_good_results() {
    let d = Dir::new();
    d.write("sw.rhai", SWEEP);
    for i in 0..2 {
        shard(&d, i, 2, &[]).ok();
    }
    merge(&d, &dirs(2), "merged").ok();
    let before: Vec<(String, Vec<u8>)> = d
        .files()
        .into_iter()
        .filter(|f| f.starts_with("merged/"))
        .map(|f| (f.clone(), std::fs::read(d.path().join(&f)).unwrap()))
        .collect();
    let r = merge(&d, &dirs(2)[..1], "merged");
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().contains("1 of 2 shards missing: 1/2"),
        "{}",
        r.stderr()
    );
    let after: Vec<(String, Vec<u8>)> = d
        .files()
        .into_iter()
        .filter(|f| f.starts_with("merged/"))
        .map(|f| (f.clone(), std::fs::read(d.path().join(&f)).unwrap()))
        .collect();
    assert_eq!(before, after, "the last good results are untouched");
}

/// `--shard` values must be I/N with 0 <= I < N: usage errors (exit 2)
/// naming the value and what is allowed.
#[test]
fn bad_shard_values_are_usage_errors() {
    let d = Dir::new();
    d.write("sw.rhai", SWEEP);
    let cases = [
        (
            "0/0",
            "the number of shards N must be from 1 to 1000000, got 0",
        ),
        (
            "3/2",
            "the shard I must be from 0 to 1 (N-1; shards are counted from 0), got 3",
        ),
        ("2/2", "the shard I must be from 0 to 1"),
        ("a/b", "expected I/N, two whole numbers like 0/4"),
        ("1", "expected I/N"),
        ("-1/2", "expected I/N"),
        ("", "expected I/N"),
    ];
    for (value, says) in cases {
        let r = d.gilsim(&["run", "sw.rhai", "--shard", value]);
        assert_eq!(r.code(), 2, "{value}: {}", r.stderr());
        let err = r.stderr();
        assert!(
            err.contains(&format!("'{value}'")) && err.contains(says),
            "{value}: {err}"
        );
        assert!(!d.exists("out"), "{value}: nothing written");
    }
    let r = d.gilsim(&["run", "sw.rhai", "--shard", "0/2", "--trace", "t.json"]);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    // A script without a sweep has nothing to share out.
    d.write(
        "plain.rhai",
        "let t = table(\"t\", [\"x\"]); t.add(#{ x: 1 }); t.save();",
    );
    let r = d.gilsim(&["run", "plain.rhai", "--shard", "0/2"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .contains("ran no sweep(), so --shard has nothing to share out"),
        "{}",
        r.stderr()
    );
    assert!(!d.exists("out/plain.shard-0-of-2/t.csv"));
}

/// A module the script imports, edited after the shards ran: the merge
/// would have to compute the sweep itself; it refuses instead.
#[test]
fn a_module_edited_since_the_shards_ran_is_refused() {
    let d = Dir::new();
    d.write("lib.rhai", "fn factor() { 2.0 }\n");
    d.write(
        "sw.rhai",
        r#"import "lib" as lib;
let s = sweep("s", #{ n: [1, 2, 3] }, |p| #{ x: p.n * lib::factor() });
s.save();
"#,
    );
    for i in 0..2 {
        shard(&d, i, 2, &[]).ok();
    }
    d.write("lib.rhai", "fn factor() { 3.0 }\n");
    let r = merge(&d, &dirs(2), "merged");
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("the shards journaled 0 of the 3 runs of sweep \"s\" as this run computes it; the script or a module it imports has changed since the shards ran"),
        "{}",
        r.stderr()
    );
    assert!(!d.exists("merged/s.csv") && !d.exists("merged/manifest.json"));
    d.write("lib.rhai", "fn factor() { 2.0 }\n");
    merge(&d, &dirs(2), "merged").ok();
    assert_eq!(d.read("merged/s_runs.csv").lines().count(), 4);
}
