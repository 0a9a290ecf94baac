//! Every claim of DESIGN.md §1, checked on the numbers the shipped
//! experiments simulate (the report's own CSV files, default parameters,
//! seed 0). Each test states its tolerance; none compares with a number typed
//! in where it should be computed: the baselines come from the same run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The report's folder, made once for all claim tests.
fn report() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under target/ (Cargo's scratch folder for integration tests), replaced
        // on every run, so nothing is left behind in the system's temp folder.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("claims-report");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(env!("CARGO_BIN_EXE_gilsim"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["report", "--out"])
            .arg(&dir)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run gilsim report");
        assert!(
            out.status.success(),
            "gilsim report failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// The figures README.md shows are the report's own (regenerate them with
/// `tools/update-readme-figures` after a model change).
#[test]
fn the_readme_figures_are_the_reports() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (experiment, figure) in [
        ("e1_threads_vs_processes", "e1_makespan.png"),
        ("e4_convoy", "e4_convoy.png"),
        ("e9_timelines", "e9_timeline_new.png"),
    ] {
        let made = std::fs::read(report().join(experiment).join(figure)).unwrap();
        let shown = std::fs::read(root.join("docs/figures").join(figure)).unwrap();
        assert!(
            made == shown,
            "docs/figures/{figure} is stale: run tools/update-readme-figures"
        );
    }
}

/// Rows of a summary CSV as maps from column to text.
fn rows(experiment: &str, table: &str) -> Vec<HashMap<String, String>> {
    let path = report().join(experiment).join(format!("{table}.csv"));
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The value of `col` in the row matching every `(column, value)` of `key`.
fn at(rows: &[HashMap<String, String>], key: &[(&str, &str)], col: &str) -> f64 {
    let row = rows
        .iter()
        .find(|r| {
            key.iter()
                .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no row {key:?}"));
    row[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} of {key:?} is {:?}", row[col]))
}

/// E1: two CPU-bound threads take ≥ 0.95× the sequential time, two processes on
/// two cores ≤ 0.6×; on 8 cores, 8 threads still ≥ 0.95× and 8 processes ≤ 0.2×.
#[test]
fn e1_threads_do_not_scale_processes_do() {
    let t = rows("e1_threads_vs_processes", "e1_makespan");
    let r = |kind, cores, workers| {
        at(
            &t,
            &[("kind", kind), ("cores", cores), ("workers", workers)],
            "vs_sequential_mean",
        )
    };
    assert!(r("threads", "2", "2") >= 0.95, "{}", r("threads", "2", "2"));
    assert!(r("threads", "8", "8") >= 0.95);
    assert!(
        r("processes", "2", "2") <= 0.6,
        "{}",
        r("processes", "2", "2")
    );
    assert!(r("processes", "8", "8") <= 0.2);
    // More processes than cores stop helping: 4 on 2 cores is no faster than 2 (within 2%).
    assert!(r("processes", "2", "4") >= 0.98 * r("processes", "2", "2"));
}

/// E2: the old GIL on 4 cores makes 2 CPU-bound threads ≥ 10% slower than
/// sequential and slower than the new GIL, with failed wake-ups; on 1 core it
/// costs < 5%; the new GIL costs < 2% and never makes threads faster.
#[test]
fn e2_gil_contention_slows_threads_worst_with_the_old_gil_on_multicore() {
    let t = rows("e2_gil_contention", "e2_slowdown");
    let s = |gil, cores, threads| {
        at(
            &t,
            &[("gil", gil), ("cores", cores), ("threads", threads)],
            "slowdown_mean",
        )
    };
    let failed = |gil, cores| {
        at(
            &t,
            &[("gil", gil), ("cores", cores), ("threads", "2")],
            "failed_wakeups_per_s_mean",
        )
    };
    for threads in ["2", "4", "8"] {
        assert!(
            s("old", "4", threads) >= 1.1,
            "old, 4 cores, {threads} threads: {}",
            s("old", "4", threads)
        );
        assert!(s("old", "4", threads) > s("new", "4", threads));
        assert!(
            (0.999..1.02).contains(&s("new", "4", threads)),
            "new: {}",
            s("new", "4", threads)
        );
    }
    assert!(s("old", "1", "2") < 1.05);
    assert!(
        failed("old", "4") > 100.0 * failed("old", "1").max(1.0),
        "{} vs {}",
        failed("old", "4"),
        failed("old", "1")
    );
}

/// E3: I/O-bound threads overlap their waits: with 10 ms waits throughput grows
/// by ≥ 1.8× per doubling of threads up to 64; with 1 ms waits it flattens
/// below the GIL's limit (1 / 50 µs of Python per call); the depth-4 disk caps
/// it at 4 / 1 ms.
#[test]
fn e3_io_threads_overlap_until_gil_or_device_saturates() {
    let t = rows("e3_io_bound_threads", "e3_throughput");
    let c = |io, threads| at(&t, &[("io", io), ("threads", threads)], "calls_per_s_mean");
    let counts = ["1", "2", "4", "8", "16", "32", "64"];
    for w in counts.windows(2) {
        assert!(
            c("exp(10 ms)", w[1]) >= 1.8 * c("exp(10 ms)", w[0]),
            "{} -> {} threads",
            w[0],
            w[1]
        );
    }
    let gil_limit = 1.0 / 50e-6;
    assert!(
        c("exp(1 ms)", "64") <= gil_limit && c("exp(1 ms)", "64") >= 0.8 * gil_limit,
        "{}",
        c("exp(1 ms)", "64")
    );
    assert!(
        c("exp(1 ms)", "64") < 1.3 * c("exp(1 ms)", "32"),
        "flattens"
    );
    let disk_limit = 4.0 / 1e-3;
    assert!(
        c("disk, depth 4, 1 ms", "64") <= disk_limit * 1.01
            && c("disk, depth 4, 1 ms", "64") >= 0.95 * disk_limit
    );
}

/// E4: next to one CPU-bound thread at 5 ms the I/O thread keeps < 10% of its
/// rate alone; its rate rises as the interval shrinks (every step); each return
/// waits at least one interval (median); a second CPU thread makes it worse.
#[test]
fn e4_convoy_effect_and_smaller_interval_helps() {
    let t = rows("e4_convoy", "e4_convoy");
    let rate = |cpu, si| {
        at(
            &t,
            &[("cpu_threads", cpu), ("switch_interval_ms", si)],
            "io_calls_per_s_mean",
        )
    };
    let alone = rate("0", "5");
    assert!(
        rate("1", "5") < 0.1 * alone,
        "{} vs alone {alone}",
        rate("1", "5")
    );
    let intervals = ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20"];
    for w in intervals.windows(2) {
        assert!(
            rate("1", w[0]) > rate("1", w[1]),
            "{} ms should beat {} ms",
            w[0],
            w[1]
        );
        assert!(
            rate("2", w[0]) < rate("1", w[0]),
            "2 CPU threads at {} ms",
            w[0]
        );
    }
    for si in intervals {
        let wait = at(
            &t,
            &[("cpu_threads", "1"), ("switch_interval_ms", si)],
            "io_wait_p50_ms_mean",
        );
        assert!(
            wait >= si.parse::<f64>().unwrap(),
            "{si} ms: median wait {wait} ms"
        );
    }
}

/// E5: GIL-releasing native work speeds up ≥ 1.7× with 2 threads on 2 cores and
/// ≥ 3.2× with 4 on 4; pure Python and GIL-holding native work stay within 5% of 1×.
#[test]
fn e5_gil_releasing_c_scales_pure_python_does_not() {
    let t = rows("e5_gil_releasing_c", "e5_speedup");
    let s = |work, cores, threads| {
        at(
            &t,
            &[("work", work), ("cores", cores), ("threads", threads)],
            "speedup_mean",
        )
    };
    assert!(
        s("C, releases the GIL", "2", "2") >= 1.7,
        "{}",
        s("C, releases the GIL", "2", "2")
    );
    assert!(s("C, releases the GIL", "4", "4") >= 3.2);
    for work in ["pure Python", "C, holds the GIL"] {
        for (cores, threads) in [("2", "2"), ("4", "4"), ("4", "8")] {
            assert!(
                (0.95..1.05).contains(&s(work, cores, threads)),
                "{work}, {cores} cores, {threads} threads: {}",
                s(work, cores, threads)
            );
        }
    }
}

/// E6: as the interval grows, switches per second fall and the I/O thread's p99
/// wait grows at every step; CPU-bound throughput at 10 µs is ≥ 5% below that at 5 ms.
#[test]
fn e6_switch_interval_trades_throughput_for_latency() {
    let t = rows("e6_switch_interval", "e6_tradeoff");
    let v = |si, col| at(&t, &[("switch_interval_ms", si)], col);
    let intervals = ["0.01", "0.03", "0.1", "0.3", "1", "5", "20"];
    for w in intervals.windows(2) {
        assert!(
            v(w[0], "gil_switches_per_s_mean") > v(w[1], "gil_switches_per_s_mean"),
            "{w:?}"
        );
        assert!(
            v(w[0], "io_wait_p99_ms_mean") < v(w[1], "io_wait_p99_ms_mean"),
            "{w:?}"
        );
    }
    assert!(v("0.01", "cpu_python_s_per_s_mean") < 0.95 * v("5", "cpu_python_s_per_s_mean"));
}

/// E7: for 10 µs tasks the thread pool beats every process pool and spawn is the
/// slowest start method; for 100 ms tasks forked processes beat threads ≥ 2×.
#[test]
fn e7_small_tasks_favour_threads_large_ones_processes() {
    let t = rows("e7_pools", "e7_pools");
    let r = |ex, size| {
        at(
            &t,
            &[("executor", ex), ("task_ms", size)],
            "tasks_per_s_mean",
        )
    };
    for ex in ["fork", "forkserver", "spawn"] {
        assert!(r("threads", "0.01") > r(ex, "0.01"), "{ex}");
    }
    assert!(
        r("spawn", "0.01") < r("forkserver", "0.01") && r("forkserver", "0.01") < r("fork", "0.01")
    );
    assert!(
        r("fork", "100") >= 2.0 * r("threads", "100"),
        "{} vs {}",
        r("fork", "100"),
        r("threads", "100")
    );
}

/// E8: with a GIL, 4 threads take ≥ 3.9× one thread's time; free-threaded and
/// per-interpreter builds take ≤ 1.05×; free-threaded single-thread costs its
/// slowdown (1.08 ± 1%) against the GIL build.
#[test]
fn e8_free_threading_and_subinterpreters_scale() {
    let t = rows("e8_gil_models", "e8_models");
    let m = |model, threads| {
        at(
            &t,
            &[("model", model), ("threads", threads)],
            "makespan_s_mean",
        )
    };
    for model in ["new GIL", "old GIL"] {
        assert!(m(model, "4") >= 3.9 * m(model, "1"), "{model}");
    }
    for model in ["free-threaded", "per-interpreter"] {
        assert!(m(model, "4") <= 1.05 * m(model, "1"), "{model}");
    }
    let cost = m("free-threaded", "1") / m("new GIL", "1");
    assert!((1.07..1.09).contains(&cost), "{cost}");
}

/// E9: timelines: the new GIL changes hands about once per 5 ms interval in
/// 40 ms (between 4 and 20 times), the old GIL far more often (≥ 10× as often),
/// and there is no GIL to hand over without one; the figures exist.
#[test]
fn e9_timelines_show_each_model() {
    let t = rows("e9_timelines", "e9_gil_share");
    let acq = |model: &str| -> f64 {
        t.iter()
            .filter(|r| r["model"] == model)
            .map(|r| r["gil_acquisitions"].parse::<f64>().unwrap())
            .sum()
    };
    assert!(
        acq("old") >= 10.0 * acq("new"),
        "old {} new {}",
        acq("old"),
        acq("new")
    );
    assert_eq!(acq("none"), 0.0);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report().join("e9_timelines/manifest.json")).unwrap(),
    )
    .unwrap();
    let finding = manifest["findings"][0].as_str().unwrap();
    let handoffs: Vec<f64> = finding
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(handoffs.len() >= 3, "{finding}");
    assert!(
        (4.0..=20.0).contains(&handoffs[1]),
        "new GIL hand-offs in 40 ms: {finding}"
    );
    for model in ["new", "old", "none"] {
        assert!(report()
            .join(format!("e9_timelines/e9_timeline_{model}.png"))
            .exists());
    }
}

/// The page shows every experiment's claim, figures and finding, with no script.
#[test]
fn the_report_page_shows_every_claim() {
    let html = std::fs::read_to_string(report().join("index.html")).unwrap();
    assert_eq!(html.matches("class=\"claim\"").count(), 9);
    assert_eq!(html.matches("class=\"finding\"").count(), 9);
    assert!(html.matches("<img src=").count() >= 12);
    assert!(!html.contains("<script"));
    assert!(!html.contains("class=\"error\""));
}
