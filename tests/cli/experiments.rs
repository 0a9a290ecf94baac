//! Every experiment in `experiments/` runs, with parameters small enough for
//! a debug build, and writes its figures and findings.

use crate::util::Dir;
use serde_json::Value;
use std::path::Path;

/// Each experiment with `--set` values that make it quick. Runs stay long
/// enough that every point of a log-axis figure has a positive value.
const EXPERIMENTS: &[(&str, &[&str])] = &[
    ("e1_threads_vs_processes", &["work=20ms"]),
    ("e2_gil_contention", &["work=20ms"]),
    ("e3_io_bound_threads", &["duration=50ms", "replicates=1"]),
    ("e4_convoy", &["duration=200ms", "replicates=2"]),
    ("e5_gil_releasing_c", &["calls=16"]),
    ("e6_switch_interval", &["duration=200ms", "replicates=2"]),
    ("e7_pools", &["tasks=8"]),
    ("e8_gil_models", &["per_thread=20ms"]),
    ("e9_timelines", &["window=10ms"]),
    ("e10_web_service", &["duration=1s", "replicates=1"]),
    ("e11_asyncio_or_threads", &["duration=1s", "replicates=1"]),
];

#[test]
fn every_experiment_runs_with_small_parameters() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rhai").map(String::from)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<&str> = EXPERIMENTS.iter().map(|(n, _)| *n).collect();
    listed.sort_unstable();
    assert_eq!(
        on_disk, listed,
        "list every experiment here, with quick parameters"
    );

    let d = Dir::new();
    for (name, sets) in EXPERIMENTS {
        let script = dir.join(format!("{name}.rhai"));
        let out = d.path().join(name);
        let mut args = vec![
            "run",
            script.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        for s in *sets {
            args.extend(["--set", s]);
        }
        d.gilsim(&args).ok();
        let m: Value = serde_json::from_str(&d.read(&format!("{name}/manifest.json"))).unwrap();
        let files: Vec<&str> = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .collect();
        assert!(
            files.iter().any(|f| f.ends_with(".svg")) && files.iter().any(|f| f.ends_with(".png")),
            "{name} made no figure: {files:?}"
        );
        let findings = m["findings"].as_array().unwrap();
        assert!(!findings.is_empty(), "{name} stated no finding");
    }
}
