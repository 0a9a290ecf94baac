//! Same script + same seed => byte-identical CSV, whatever `--jobs`; another
//! seed changes stochastic results; points share their replicate's seed.

use crate::util::Dir;

const SWEEP: &str = r#"
let s = sweep("io", #{ threads: [1, 2, 3], interval_ms: [1, 5] }, #{ replicates: 3 }, |p| {
    let app = python(#{ switch_interval: ms(p.interval_ms) });
    app.add_thread("cpu", [py(ms(5))]);
    for i in 0..p.threads {
        app.add_thread(`io${i}`, [repeat(20, [py(us(20)), io(exp(us(100)))])]);
    }
    let r = machine(#{ cores: 2 }).run(app);
    print(`threads=${p.threads} interval=${p.interval_ms} replicate=${p.replicate}`);
    #{ makespan_ms: r.makespan().ms(), io0_p99_us: r.thread_report("io0").latency_p(99).us() }
});
s.save();
"#;

fn run_sweep(d: &Dir, out: &str, seed: &str, jobs: &str) -> (String, String, String) {
    let r = d.gilsim(&[
        "run",
        "sweep.rhai",
        "--out",
        out,
        "--seed",
        seed,
        "--jobs",
        jobs,
    ]);
    let stdout = r.ok();
    assert_eq!(
        r.stderr(),
        "",
        "nothing on stderr when it is not a terminal"
    );
    let printed: String = stdout
        .lines()
        .filter(|l| l.starts_with("threads="))
        .map(|l| format!("{l}\n"))
        .collect();
    (
        d.read(&format!("{out}/io.csv")),
        d.read(&format!("{out}/io_runs.csv")),
        printed,
    )
}

#[test]
fn csv_is_byte_identical_for_any_jobs_and_changes_with_the_seed() {
    let d = Dir::new();
    d.write("sweep.rhai", SWEEP);
    let one = run_sweep(&d, "j1", "11", "1");
    let two = run_sweep(&d, "j2", "11", "2");
    assert_eq!(
        one, two,
        "--jobs 1 and --jobs 2 must give the same bytes and the same print order"
    );
    assert_eq!(one.2.lines().count(), 18);
    assert!(
        one.2
            .starts_with("threads=1 interval=1 replicate=0\nthreads=1 interval=1 replicate=1\n"),
        "{}",
        one.2
    );

    let other = run_sweep(&d, "s12", "12", "2");
    assert_ne!(
        one.1, other.1,
        "another seed must change the stochastic latencies"
    );
}

#[test]
fn every_point_of_a_replicate_runs_with_the_same_seed() {
    let d = Dir::new();
    d.write("sweep.rhai", SWEEP);
    let (_, runs, _) = run_sweep(&d, "o", "5", "2");
    let mut by_replicate: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        Default::default();
    for line in runs.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        by_replicate
            .entry(f[2].to_string())
            .or_default()
            .insert(f[3].to_string());
    }
    assert_eq!(by_replicate.len(), 3);
    for (rep, seeds) in &by_replicate {
        assert_eq!(seeds.len(), 1, "replicate {rep} has seeds {seeds:?}");
    }
    let header = runs.lines().next().unwrap();
    assert_eq!(
        header,
        "interval_ms,threads,replicate,seed,io0_p99_us,makespan_ms"
    );
}

#[test]
fn a_single_run_is_reproducible() {
    let d = Dir::new();
    let script = r#"
        let app = python();
        app.add_thread("io", [repeat(50, [py(us(10)), io(lognormal(us(100), 1.0))])]);
        let t = table("one");
        t.add(#{ makespan_ns: machine().run(app).makespan().ns() });
        t.save();
    "#;
    d.write("one.rhai", script);
    d.gilsim(&["run", "one.rhai", "--out", "a", "--seed", "1"])
        .ok();
    d.gilsim(&["run", "one.rhai", "--out", "b", "--seed", "1"])
        .ok();
    d.gilsim(&["run", "one.rhai", "--out", "c", "--seed", "2"])
        .ok();
    assert_eq!(d.read("a/one.csv"), d.read("b/one.csv"));
    assert_ne!(d.read("a/one.csv"), d.read("c/one.csv"));
}
