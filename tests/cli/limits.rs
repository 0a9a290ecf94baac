//! Every limit on what a script controls: exceeding it fails the run with a
//! message that names the limit and the `--limit` flag that raises it, exit
//! status 1 and nothing written; raising it with that flag makes the same
//! script pass.

use crate::util::Dir;
use gilsim::script::Limits;
use gilsim::support::limits::LIMITS;

struct Case {
    /// The limit (`--limit NAME=...`).
    limit: &'static str,
    /// A script that needs more than `low` of it, and at most `high`.
    script: &'static str,
    low: u64,
    high: u64,
    /// Substrings of the error, besides the flag.
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        limit: "ops",
        script: "let i = 0;\nwhile i < 2000 { i += 1; }",
        low: 1_000,
        high: 100_000,
        says: &["more than 1000 operations"],
    },
    Case {
        limit: "call-depth",
        script: "fn f(x) { if x == 0 { 0 } else { 1 + f(x - 1) } }\nf(100);",
        low: 50,
        high: 200,
        says: &["more than 50 nested function calls"],
    },
    Case {
        limit: "expr-depth",
        script: "let x = ((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))));",
        low: 20,
        high: 200,
        says: &["nested more than 20 deep"],
    },
    Case {
        limit: "string",
        script: "let s = \"x\";\nfor i in 0..12 { s += s; }",
        low: 1_000,
        high: 10_000,
        says: &["a string would be longer than 1000 bytes"],
    },
    Case {
        limit: "array",
        script: "let a = [];\nfor i in 0..2000 { a.push(i); }",
        low: 1_000,
        high: 5_000,
        says: &["an array would have more than 1000 items"],
    },
    Case {
        limit: "map",
        script: "let m = #{};\nfor i in 0..200 { m[`k${i}`] = i; }\nprint(m.len());",
        low: 100,
        high: 1_000,
        says: &["a map would have more than 100 properties"],
    },
    Case {
        limit: "modules",
        script: "import \"m1\" as a;\nimport \"m2\" as b;\nimport \"m3\" as c;",
        low: 2,
        high: 10,
        says: &["more than 2 modules imported"],
    },
    Case {
        limit: "modules",
        script: "import \"c1\" as c;\nprint(c::one());",
        low: 5,
        high: 10,
        says: &["would load more than 5 modules (imports of imports counted in)"],
    },
    Case {
        limit: "memory",
        script: "let s = \"x\"; for i in 0..16 { s += s; }\nlet m = #{};\nfor i in 0..400 { m[`k${i}`] = s + i; }\nprint(\"done\");",
        low: 10_000_000,
        high: 500_000_000,
        says: &["the run holds more than 10000000 bytes of memory", "tables, strings"],
    },
    Case {
        limit: "threads",
        script: "let app = python();\nfor i in 0..50 { app.add_thread(`t${i}`, [py(ms(1))]); }\nmachine().run(app);",
        low: 10,
        high: 100,
        says: &["add_thread(\"t10\")", "would have 11 threads"],
    },
    Case {
        limit: "threads",
        script: "let app = python();\nlet p = app.add_thread_pool(\"p\", 20, tasks(5, [py(ms(1))]));\napp.add_thread(\"main\", [map_pool(p)]);",
        low: 10,
        high: 100,
        says: &["add_thread_pool(\"p\", ...)", "would have 20 threads (pool workers included)"],
    },
    Case {
        limit: "processes",
        script: "let app = python();\nfor i in 0..5 { app.add_process(`p${i}`); }",
        low: 3,
        high: 10,
        says: &["add_process(\"p2\")", "would have 4 processes and interpreters"],
    },
    Case {
        limit: "events",
        script: "let app = python();\napp.add_thread(\"a\", [loop_for(ms(10), [py(us(1))])]);\nmachine().run(app);",
        low: 1_000,
        high: 1_000_000,
        says: &["stopped after 1000 events", "stop_at"],
    },
    Case {
        limit: "events",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(1))]);\nmachine().run(app, #{ max_events: 5000 });",
        low: 1_000,
        high: 10_000,
        says: &["option `max_events` of run(): 5000 is more than the events limit allows"],
    },
    Case {
        limit: "trace-events",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(10))]);\napp.add_thread(\"b\", [py(ms(10))]);\nmachine().run(app, #{ trace: true });",
        low: 5,
        high: 100_000,
        says: &["the trace kept in memory (trace: true) has more than 5 events"],
    },
    Case {
        limit: "trace-events",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(10))]);\napp.add_thread(\"b\", [py(ms(10))]);\nmachine().run(app, #{ chrome_trace: \"t\" });",
        low: 5,
        high: 100_000,
        says: &["chrome_trace \"t.json\"", "limit of 5 events"],
    },
    Case {
        limit: "sweep-runs",
        script: "let s = sweep(\"s\", #{ a: [1, 2, 3, 4] }, #{ replicates: 3 }, |p| #{ x: p.a });\ns.save();",
        low: 10,
        high: 12,
        says: &["4 points × 3 replicates, more than 10 runs"],
    },
];

/// Limits whose case takes seconds, tested by their own module:
/// `script-time` in src/script/guard.rs.
const TESTED_ELSEWHERE: &[&str] = &["script-time"];

#[test]
fn every_limit_names_its_flag_and_raising_it_makes_the_script_pass() {
    let d = Dir::new();
    for m in ["m1", "m2", "m3"] {
        d.write(&format!("scripts/{m}.rhai"), "fn one() { 1 }\n");
    }
    // A chain of 8 modules, each importing the next (Rhai counts the
    // modules each script imports: one each).
    for i in 1..8 {
        d.write(
            &format!("c{i}.rhai"),
            &format!(
                "import \"c{}\" as next;\nfn one() {{ next::one() }}\n",
                i + 1
            ),
        );
    }
    d.write("c8.rhai", "fn one() { 1 }\n");
    let mut seen = std::collections::BTreeSet::new();
    for case in CASES {
        seen.insert(case.limit);
        d.write("lim.rhai", case.script);
        let low = format!("{}={}", case.limit, case.low);
        let r = d.gilsim(&["run", "lim.rhai", "--out", "out", "--limit", &low]);
        let err = r.stderr();
        let what = format!("{} ({})", case.limit, case.says[0]);
        assert_eq!(r.code(), 1, "{what}: exit status\n{err}");
        assert!(err.starts_with("error: "), "{what}:\n{err}");
        let flag = format!("--limit {}=", case.limit);
        let named = format!("raise the `{}` limit ({})", case.limit, case.low);
        for s in case.says.iter().chain([&flag.as_str(), &named.as_str()]) {
            assert!(err.contains(s), "{what}: expected {s:?} in\n{err}");
        }
        assert!(!err.contains("panicked"), "{what}:\n{err}");
        assert!(!d.exists("out"), "{what}: a failed run must write nothing");

        let high = format!("{}={}", case.limit, case.high);
        let r = d.gilsim(&["run", "lim.rhai", "--out", "out", "--limit", &high]);
        assert_eq!(
            r.code(),
            0,
            "{what}: raised, it should pass\n{}",
            r.stderr()
        );
        std::fs::remove_dir_all(d.path().join("out")).unwrap();
    }
    let all: std::collections::BTreeSet<&str> = LIMITS
        .iter()
        .map(|l| l.name)
        .filter(|n| !TESTED_ELSEWHERE.contains(n))
        .collect();
    assert_eq!(seen, all, "every limit has a case");
}

#[test]
fn help_lists_every_limit_with_its_default() {
    let d = Dir::new();
    let help = d.gilsim(&["run", "--help"]).ok();
    let defaults = Limits::default();
    for l in LIMITS {
        let entry = format!("{}={}", l.name, defaults.get(l.name).unwrap());
        assert!(help.contains(&entry), "--help lacks {entry}:\n{help}");
    }
}

#[test]
fn bad_limit_arguments_are_usage_errors() {
    let d = Dir::new();
    d.write("a.rhai", "print(1);");
    for (arg, says) in [
        (
            "threds=5",
            "unknown limit \"threds\"; the limits are: ops, call-depth",
        ),
        ("ops", "expected NAME=VALUE"),
        ("ops=0", "between 1 and"),
        ("ops=-5", "is not a count"),
        ("ops=lots", "is not a count"),
        ("call-depth=100000", "between 1 and 1000"),
    ] {
        let r = d.gilsim(&["run", "a.rhai", "--limit", arg]);
        assert_eq!(r.code(), 2, "{arg}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{arg}: {}", r.stderr());
    }
    // Counts take separators and suffixes; the old flags still work.
    for args in [
        &["--limit", "ops=2_000_000"][..],
        &["--limit", "ops=2M", "--limit", "array=10k"],
        &["--limit", "sweep_runs=1G"],
        &["--max-ops", "5000"],
        &["--max-trace-events", "100"],
    ] {
        let mut all = vec!["run", "a.rhai"];
        all.extend_from_slice(args);
        d.gilsim(&all).ok();
    }
    let m: serde_json::Value = serde_json::from_str(&d.read("out/a/manifest.json")).unwrap();
    assert_eq!(m["limits"]["trace-events"], 100);
    assert_eq!(m["limits"]["ops"], 100_000_000);
}

/// Issue 14: an endless loop of simulations outside a sweep was not stopped
/// by `script-time` (their time was not counted), only, after hours, by `ops`.
#[test]
fn an_endless_loop_of_simulations_stops_at_the_script_time_limit() {
    let d = Dir::new();
    d.write(
        "runs.rhai",
        "let app = python();\napp.add_thread(\"a\", [repeat(2000, [py(us(10)), io(exp(us(20)))])]);\nloop { machine().run(app); }",
    );
    let r = d.gilsim(&[
        "run",
        "runs.rhai",
        "--limit",
        "script-time=1",
        "--limit",
        "ops=1000G",
    ]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("raise the `script-time` limit (1)"),
        "{}",
        r.stderr()
    );
}

/// Issue 14: 60 modules of 3.6 MB exhausted memory (a compiled script takes
/// about a hundred times its size): the sources of a run are at most 8 MiB.
#[test]
fn the_sources_of_a_run_are_at_most_8_mib_together() {
    let d = Dir::new();
    let body = format!("// {}\nfn one() {{ 1 }}\n", "x".repeat(3 << 20));
    for m in ["a", "b", "c"] {
        d.write(&format!("{m}.rhai"), &body);
    }
    d.write(
        "big.rhai",
        "import \"a\" as a;\nimport \"b\" as b;\nimport \"c\" as c;",
    );
    let r = d.gilsim(&["run", "big.rhai"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().starts_with("error: big.rhai:3:"),
        "{}",
        r.stderr()
    );
    assert!(
        r.stderr().contains("more than the limit of 8388608"),
        "{}",
        r.stderr()
    );
}

/// Issue 14, item 13: `gilsim check` must not abort on huge sources either. A
/// script at the size limit is checked; one byte more, a module over it, or a
/// chain of modules over the total are refused with an error naming the
/// limit (exit status 1, a short message, no panic).
#[test]
fn check_handles_sources_at_and_over_the_size_limits() {
    let d = Dir::new();
    let body = "fn one() { 1 }\n";
    let fill = |n: usize| format!("//{}\n{body}", "x".repeat(n - 3 - body.len()));
    d.write("at.rhai", &fill(4 << 20));
    d.write("over.rhai", &fill((4 << 20) + 1));
    d.write("huge.rhai", &fill((4 << 20) + 1));
    d.write(
        "imports_huge.rhai",
        "import \"huge\" as h;\nprint(h::one());\n",
    );
    for i in 1..8 {
        d.write(
            &format!("ch{i}.rhai"),
            &format!(
                "import \"ch{}\" as n;\n//{}\nfn one() {{ n::one() }}\n",
                i + 1,
                "z".repeat(3 << 19)
            ),
        );
    }
    d.write("ch8.rhai", body);
    d.write("chain.rhai", "import \"ch1\" as c;\nprint(c::one());\n");
    assert_eq!(d.gilsim(&["check", "at.rhai"]).ok(), "at.rhai: ok\n");
    for (script, says) in [
        (
            "over.rhai",
            "cannot read script over.rhai: it is 4194305 bytes, more than the limit of 4194304",
        ),
        (
            "imports_huge.rhai",
            "module huge.rhai is 4194305 bytes, more than the limit of 4194304",
        ),
        ("chain.rhai", "would make the script and its modules 9437"),
        (
            "chain.rhai",
            "bytes together, more than the limit of 8388608",
        ),
    ] {
        let r = d.gilsim(&["check", script]);
        let err = r.stderr();
        assert_eq!(r.code(), 1, "{script}: {err}");
        assert!(err.starts_with("error: "), "{script}: {err}");
        assert!(err.contains(says), "{script}: expected {says:?} in {err}");
        assert!(!err.contains("panicked"), "{script}: {err}");
        assert!(err.len() < 2000, "{script}: a short error, not the source");
    }
}

/// A hostile source at the 4 MiB size limit (functions, or `let`s, whose
/// compile time grows with the square of their number: many minutes) ends
/// at the `script-time` limit while compiling, with the limit's short
/// error, for `check` and `run` alike; nothing is written.
#[test]
fn a_hostile_source_at_the_size_limit_stops_compiling_at_the_script_time_limit() {
    let d = Dir::new();
    let fill = |line: &dyn Fn(usize) -> String| {
        let mut s = String::new();
        let mut i = 0;
        loop {
            let l = line(i);
            if s.len() + l.len() > 4 << 20 {
                break s;
            }
            s.push_str(&l);
            i += 1;
        }
    };
    d.write(
        "fns.rhai",
        &fill(&|i| format!("fn f{i}(x) {{ x + {i} }}\n")),
    );
    d.write(
        "lets.rhai",
        &fill(&|i| match i {
            0 => "let v0 = 0;\n".to_string(),
            _ => format!("let v{i} = v{};\n", i / 2),
        }),
    );
    for script in ["fns.rhai", "lets.rhai"] {
        for cmd in ["check", "run"] {
            let mut args = vec![cmd, script, "--limit", "script-time=1"];
            if cmd == "run" {
                args.extend(["--out", "out"]);
            }
            let r = d.gilsim(&args);
            let err = r.stderr();
            assert_eq!(r.code(), 1, "{cmd} {script}: {err}");
            assert!(err.starts_with(&format!("error: {script}:")), "{err}");
            for says in [
                "compiling stopped here",
                "more than 1 s",
                "raise the `script-time` limit (1) with --limit script-time=",
            ] {
                assert!(
                    err.contains(says),
                    "{cmd} {script}: expected {says:?} in {err}"
                );
            }
            assert!(err.len() < 2000, "{cmd} {script}: a short error: {err}");
            assert!(!d.exists("out"), "{cmd} {script}: nothing written");
        }
    }
}
