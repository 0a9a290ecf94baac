//! What a run writes: the CSV files and the manifest, only on success, only
//! inside the output folder.

use crate::util::Dir;
use gilsim::output::manifest::sha256_hex;
use serde_json::Value;

const CONVOY: &str = r#"
let interval = param("interval", ms(5));
let rows = table("convoy", ["switch_interval_ms", "io_ops_per_s", "io_p99_ms"]);
for si in [us(500), interval] {
    let app = python(#{ gil: "new", switch_interval: si });
    app.add_thread("cpu", [py(ms(20))]);
    app.add_thread("io", [loop_for(ms(20), [py(us(20)), io(exp(us(50)))])]);
    let r = machine(#{ cores: 2 }).run(app, #{ stop_at: ms(20) });
    let io = r.thread_report("io");
    rows.add(#{ switch_interval_ms: si.ms(), io_ops_per_s: io.ops_per_sec(), io_p99_ms: io.latency_p(99).ms() });
}
rows.save();
let extra = table("sub/extra");
extra.add(#{ n: 1 });
extra.save();
"#;

#[test]
fn a_run_writes_its_csv_files_and_a_manifest() {
    let d = Dir::new();
    let script = d.write("convoy.rhai", CONVOY);
    let stdout = d
        .gilsim(&["run", "convoy.rhai", "--seed", "3", "--set", "interval=1ms"])
        .ok();
    assert!(stdout.contains("wrote out/convoy"), "{stdout}");

    let csv = d.read("out/convoy/convoy.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "switch_interval_ms,io_ops_per_s,io_p99_ms");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[2].starts_with("1,"), "{csv}");
    assert_eq!(d.read("out/convoy/sub/extra.csv"), "n\n1\n");

    let m: Value = serde_json::from_str(&d.read("out/convoy/manifest.json")).unwrap();
    assert_eq!(m["status"], "ok");
    assert_eq!(m["gilsim_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["script"]["path"], "convoy.rhai");
    assert_eq!(
        m["script"]["sha256"],
        sha256_hex(&std::fs::read(script).unwrap())
    );
    assert_eq!(m["seed"], 3);
    assert_eq!(m["overrides"]["interval"], "1ms");
    assert_eq!(m["parameters"]["interval"]["value"], "1 ms");
    assert_eq!(m["parameters"]["interval"]["source"], "set");
    assert!(m["wall_time_s"].as_f64().unwrap() > 0.0);
    let files = m["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["convoy.csv", "sub/extra.csv"]);
    assert_eq!(files[0]["sha256"], sha256_hex(csv.as_bytes()));
}

#[test]
fn out_sets_the_output_folder() {
    let d = Dir::new();
    d.write("exp/convoy.rhai", CONVOY);
    d.gilsim(&["run", "exp/convoy.rhai", "--out", "results/c1"])
        .ok();
    assert!(d.exists("results/c1/convoy.csv") && d.exists("results/c1/manifest.json"));
    assert!(!d.exists("out"));
}

#[test]
fn a_failed_run_writes_nothing_and_keeps_the_last_good_results() {
    let d = Dir::new();
    d.write("convoy.rhai", CONVOY);
    d.gilsim(&["run", "convoy.rhai"]).ok();
    let before = (
        d.read("out/convoy/convoy.csv"),
        d.read("out/convoy/manifest.json"),
    );

    // The same script, failing after it saved its tables.
    d.write(
        "convoy.rhai",
        &format!("{CONVOY}\nthrow \"late failure\";\n"),
    );
    let r = d.gilsim(&["run", "convoy.rhai", "--seed", "9"]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("late failure"), "{}", r.stderr());
    assert_eq!(
        (
            d.read("out/convoy/convoy.csv"),
            d.read("out/convoy/manifest.json")
        ),
        before
    );

    // A first run that fails leaves no folder at all.
    d.write("fresh.rhai", &format!("{CONVOY}\nthrow \"boom\";\n"));
    assert_eq!(d.gilsim(&["run", "fresh.rhai"]).code(), 1);
    assert!(!d.exists("out/fresh"));
}

#[cfg(unix)]
#[test]
fn a_symlink_inside_the_output_folder_cannot_lead_outside() {
    let d = Dir::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("out/esc")).unwrap();
    std::os::unix::fs::symlink(outside.path(), d.path().join("out/esc/link")).unwrap();
    d.write(
        "esc.rhai",
        "let t = table(\"link/stolen\"); t.add(#{ a: 1 }); t.save();",
    );
    let r = d.gilsim(&["run", "esc.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr().contains("symlink"), "{}", r.stderr());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!d.exists("out/esc/manifest.json"));
}

/// Issue 14, item 4: `latency_p(50)` of a thread with no ops was `0 ns`,
/// which reads as a measurement. It is `()` (and so are the mean, min, max
/// and the GIL waits), `.ms()` of it is `()`, and a table writes an empty cell.
#[test]
fn a_latency_without_ops_is_absent_not_zero() {
    let d = Dir::new();
    d.write(
        "lat.rhai",
        "let app = python();\napp.add_thread(\"t\", [py(ms(1))]);\nlet t = machine().run(app).thread_report(\"t\");\n\
         for v in [t.latency_p(50), t.latency_p(\"io\", 99), t.latency_mean(), t.latency_min(), t.latency_max(), t.gil_wait_p(50), t.gil_wait_mean()] {\n\
         if type_of(v) != \"()\" { throw `expected (), got ${v}`; }\n}\n\
         print(`count ${t.latency_count()}`);\n\
         let tb = table(\"lat\", [\"n\", \"p50_ms\"]);\ntb.add(#{ n: 1, p50_ms: t.latency_p(50).ms() });\ntb.save();",
    );
    let out = d.gilsim(&["run", "lat.rhai"]).ok();
    assert!(out.starts_with("count 0\n"), "{out}");
    assert_eq!(d.read("out/lat/lat.csv"), "n,p50_ms\n1,\n");
}
