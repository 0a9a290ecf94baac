//! Every GIL model against its own interpreter (issue 13): the versions set,
//! measured by `calibration/measure_versions.py` under CPython 2.7 (the old
//! GIL, `sys.setcheckinterval`), 3.9, 3.11, 3.12 and 3.13 (the new GIL), and
//! 3.12/3.13's isolated subinterpreters (PEP 684: a GIL per interpreter).
//! Each row is predicted with its own version's profile
//! (`calibration/profiles/versions/X.Y.json`: the session's base profile with
//! the version's own loop speed, thread start and, on 2.7, ticks per loop
//! iteration) and the GIL the row ran under ([`super::validation`]'s
//! predictors, unchanged). The free-threaded build is not installed here, so
//! the `none` model is set against published numbers instead.

use super::profile::Profile;
use super::validation::{
    compare, median_abs_error, push_comparison_table, residual_markdown, Band, Comparison,
    MeasuredRow,
};
use gilsim_engine::{run, GilModel, InterpId, MachineConfig, SimConfig, SimDuration, Step};
use std::collections::BTreeMap;

/// Each version's median error target (issue 13).
pub const VERSION_TOLERANCE: f64 = 0.10;
/// Every old-GIL row's target (issue 13).
pub const OLD_GIL_TOLERANCE: f64 = 0.20;

/// An interpreter's `X.Y`, ordered as versions are (3.9 before 3.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minor(pub u32, pub u32);

impl Minor {
    /// `X.Y` from `X.Y` or `X.Y.Z…`; `None` when that is not two numbers.
    pub fn parse(version: &str) -> Option<Minor> {
        let mut parts = version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Minor(major, minor))
    }
}

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// One profile per interpreter version.
pub struct VersionProfiles(pub BTreeMap<Minor, Profile>);

impl VersionProfiles {
    /// Reads every `X.Y.json` of a folder.
    pub fn load(dir: &std::path::Path) -> anyhow::Result<VersionProfiles> {
        use anyhow::Context;
        let mut map = BTreeMap::new();
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for e in entries {
            let path = e?.path();
            if path.extension().is_some_and(|x| x == "json") {
                let stem = path.file_stem().unwrap_or_default().to_string_lossy();
                let minor = Minor::parse(&stem).with_context(|| {
                    format!("{}: a version profile is named X.Y.json", path.display())
                })?;
                map.insert(minor, Profile::load(&path)?);
            }
        }
        anyhow::ensure!(
            !map.is_empty(),
            "{} holds no X.Y.json profile",
            dir.display()
        );
        Ok(VersionProfiles(map))
    }
}

/// `X.Y` of a row's `params.python` (`2.7.18` → `2.7`); `None` without one.
pub fn minor_of(row: &MeasuredRow) -> Option<Minor> {
    Minor::parse(row.params["python"].as_str()?)
}

/// Each row predicted with its version's profile; rows of a version without
/// a profile are left out.
pub fn compare_versions(rows: &[MeasuredRow], profiles: &VersionProfiles) -> Vec<Comparison> {
    profiles
        .0
        .iter()
        .flat_map(|(minor, profile)| {
            rows.iter()
                .filter(move |r| minor_of(r) == Some(*minor))
                .flat_map(move |r| compare(std::slice::from_ref(r), &at_row_speed(profile, r)))
        })
        .collect()
}

/// The version's profile at the loop speed the host ran at around `row`
/// (its own probe, where the row has one): a VM's speed drifts between
/// rows, and one probe per version mispredicts every row measured in
/// another moment (calibration/README.md, the versions run).
fn at_row_speed(profile: &Profile, row: &MeasuredRow) -> Profile {
    match row.row_speed_ns {
        Some(ns) => Profile {
            py_loop_ns_per_iter: ns,
            ..profile.clone()
        },
        None => profile.clone(),
    }
}

fn is_old_gil(c: &Comparison) -> bool {
    c.row.params["check_interval"].is_u64()
}

/// The versions set's bands: each version's median target and the old GIL's row target.
pub fn version_bands() -> [Band; 2] {
    [
        Band {
            tolerance: VERSION_TOLERANCE,
            rows: "each version's median",
            applies: |c| !is_old_gil(c),
        },
        Band {
            tolerance: OLD_GIL_TOLERANCE,
            rows: "every old-GIL row (2.7)",
            applies: is_old_gil,
        },
    ]
}

/// Published free-threaded scaling the `none` model is set against: nogil
/// (PEP 703's prototype) fib(34), 1 thread against 20 threads each doing the
/// same work on 20 cores (colesbury/nogil README, gil-anchors.md S12).
const NOGIL_ONE_THREAD_S: f64 = 1.50;
const NOGIL_TWENTY_THREADS_S: f64 = 1.52;
const NOGIL_CORES: u32 = 20;

/// The `none` model's wall time for `threads` threads of `work` each on `cores`.
fn no_gil_wall(threads: u32, cores: u32, work: SimDuration) -> Option<f64> {
    let mut c = SimConfig::new(MachineConfig::with_cores(cores), GilModel::no_gil());
    for i in 0..threads {
        c.add_thread(&format!("fib{i}"), InterpId(0), vec![Step::py(work)]);
    }
    run(&c).ok().map(|r| r.makespan.as_secs_f64())
}

/// The page section: one table per version, its median against the target,
/// the old GIL's rows against theirs, and the `none` model against the
/// published scaling.
pub fn render_versions_set(
    cmp: &[Comparison],
    profiles: &VersionProfiles,
    name: &str,
    figure_path: &str,
) -> String {
    let mut s = String::from("\n## The versions set: every GIL model on its own interpreter\n\n");
    s.push_str(&format!(
        "The same workloads (`calibration/versions_child.py`: CPU work split over threads, a 1 ms sleep loop next \
to spinning threads, CPU work in isolated subinterpreters) run under each CPython in pyenv, one fresh child \
process per configuration, measured by `calibration/measure_versions.py` ({name}). Each row is predicted with \
its own version's profile: the session's base profile with that version's own thread start (and on 2.7 the \
ticks one loop iteration takes, read from CPython's `_Py_Ticker`) and the loop speed probed around the row \
itself (timed countdowns in a worker thread of the same child, just before and after its samples: this VM's \
speed drifts between rows, and a 3.x countdown runs ~10% faster in a worker thread than in the main thread), and the GIL \
the row ran under: the old GIL at 2.7's `sys.setcheckinterval`, the new GIL at the switch interval, a GIL \
per subinterpreter. Nothing is fitted to these rows. Targets (issue 13): each version's median absolute \
error ≤ {:.0}%, every old-GIL row within {:.0}%.\n\n",
        VERSION_TOLERANCE * 100.0,
        OLD_GIL_TOLERANCE * 100.0,
    ));
    s.push_str("| version | profile | loop ns/iter | rows | median absolute error | target met |\n|---|---|---:|---:|---:|---|\n");
    for (minor, profile) in &profiles.0 {
        let mine: Vec<Comparison> = cmp
            .iter()
            .filter(|c| minor_of(&c.row) == Some(*minor))
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let med = median_abs_error(&mine);
        let old_ok = mine
            .iter()
            .filter(|c| is_old_gil(c))
            .all(|c| c.rel_error().abs() <= OLD_GIL_TOLERANCE);
        s.push_str(&format!(
            "| {minor} | `{}` | {:.1} | {} | {:.1}% | {} |\n",
            profile.name,
            profile.py_loop_ns_per_iter,
            mine.len(),
            med * 100.0,
            if med <= VERSION_TOLERANCE && old_ok {
                "yes"
            } else {
                "no"
            }
        ));
    }
    s.push('\n');
    s.push_str(&residual_markdown(5, cmp, &version_bands(), figure_path));
    for minor in profiles.0.keys() {
        let mine: Vec<Comparison> = cmp
            .iter()
            .filter(|c| minor_of(&c.row) == Some(*minor))
            .cloned()
            .collect();
        if !mine.is_empty() {
            s.push_str(&format!("\n### CPython {minor}\n\n"));
            push_comparison_table(&mut s, &mine);
        }
    }
    s.push_str(&render_no_gil());
    s
}

/// The `none` model against the published nogil scaling (no free-threaded
/// build is installed on the reference machine).
fn render_no_gil() -> String {
    let work = SimDuration::from_secs_f64(NOGIL_ONE_THREAD_S).unwrap_or(SimDuration::secs(1));
    let (one, many) = (
        no_gil_wall(1, NOGIL_CORES, work),
        no_gil_wall(NOGIL_CORES, NOGIL_CORES, work),
    );
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map_or(f64::NAN, |(a, b)| b / a);
    let published = NOGIL_TWENTY_THREADS_S / NOGIL_ONE_THREAD_S;
    let model = ratio(one, many);
    format!(
        "\n### The `none` model (free-threaded), against published numbers\n\n\
No free-threaded CPython is installed on the reference machine, so the `none` model is set against what was \
published: the nogil prototype of PEP 703 ran fib(34) in {NOGIL_ONE_THREAD_S} s on one thread and {} threads each \
doing the same work in {NOGIL_TWENTY_THREADS_S} s on {} cores (colesbury/nogil README): {:.3}× one thread's time. \
The model, the same {} threads of {NOGIL_ONE_THREAD_S} s of Python each on {} cores: {:.3}× ({:+.1}%). The model's \
single-thread slowdown ({}) is not validated here: it is taken from the 3.14 free-threading howto's 8% on \
x86-64 Linux, and 3.13's build was about 40% slower (docs/model.md).\n",
        NOGIL_CORES,
        NOGIL_CORES,
        published,
        NOGIL_CORES,
        NOGIL_CORES,
        model,
        (model / published - 1.0) * 100.0,
        match GilModel::no_gil() {
            GilModel::None { slowdown } => format!("{slowdown}×"),
            _ => String::new(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibration::validation::predict;
    use serde_json::json;

    fn row(scenario: &str, params: serde_json::Value) -> MeasuredRow {
        MeasuredRow {
            scenario: scenario.into(),
            params,
            metric: "wall_s".into(),
            unit: "s".into(),
            median: 1.0,
            quiet: true,
            row_speed_ns: None,
        }
    }

    fn python2() -> Profile {
        Profile {
            py_ticks_per_iter: Some(3.0),
            ..Profile::reference()
        }
    }

    #[test]
    fn old_gil_rows_need_the_ticks_a_loop_iteration_takes() {
        let p = json!({"python": "2.7.18", "mode": "threads", "workers": 2,
                       "n_per_worker": 1_000_000, "check_interval": 100});
        let r = row("cpu_split", p);
        assert!(predict(&r, &Profile::reference()).is_none());
        let old = python2().old_gil(100);
        let Some(GilModel::Old { tick, .. }) = old else {
            panic!("not the old GIL: {old:?}")
        };
        let want = python2().py_loop_ns_per_iter / 3.0;
        assert!(
            (tick.as_nanos() as f64 - want).abs() <= 1.0,
            "{tick} vs {want} ns"
        );
        assert!(predict(&r, &python2()).is_some());
    }

    #[test]
    fn subinterpreters_run_in_parallel_where_threads_of_one_interpreter_do_not() {
        let profile = Profile::reference();
        let n: u64 = 4_000_000;
        let wall = |scenario: &str, workers: u64| {
            let p = json!({"python": "3.12.1", "mode": "threads", "workers": workers,
                           "n_per_worker": n / workers, "switch_interval_s": 0.005});
            predict(&row(scenario, p), &profile).expect("predicted")
        };
        let one = wall("subinterp_split", 1);
        assert!(
            wall("subinterp_split", 2) < 0.6 * one,
            "two GILs, two cores"
        );
        assert!(
            wall("cpu_split", 2) > 0.95 * wall("cpu_split", 1),
            "one GIL"
        );
    }

    #[test]
    fn rows_take_their_own_versions_profile() {
        let mut map = BTreeMap::new();
        map.insert(Minor(2, 7), python2());
        let slow = Profile {
            py_loop_ns_per_iter: 2.0 * Profile::reference().py_loop_ns_per_iter,
            ..Profile::reference()
        };
        map.insert(Minor(3, 11), slow);
        let profiles = VersionProfiles(map);
        let p = |v: &str| json!({"python": v, "mode": "threads", "workers": 1, "n_per_worker": 1_000_000});
        let rows = vec![
            row("cpu_split", p("2.7.18")),
            row("cpu_split", p("3.11.7")),
            row("cpu_split", p("3.9.18")),
        ];
        let cmp = compare_versions(&rows, &profiles);
        assert_eq!(cmp.len(), 2, "3.9 has no profile");
        let by = |v: &str| {
            cmp.iter()
                .find(|c| minor_of(&c.row) == Minor::parse(v))
                .unwrap()
                .predicted
        };
        assert!(
            by("3.11") > 1.8 * by("2.7"),
            "{} vs {}",
            by("3.11"),
            by("2.7")
        );
    }

    #[test]
    fn versions_order_as_numbers_not_text() {
        let mut v: Vec<Minor> = ["3.13", "3.9", "2.7", "3.11.7", "3.12"]
            .iter()
            .map(|x| Minor::parse(x).unwrap())
            .collect();
        v.sort();
        let shown: Vec<String> = v.iter().map(Minor::to_string).collect();
        assert_eq!(shown, ["2.7", "3.9", "3.11", "3.12", "3.13"]);
        for bad in ["", "3", "3.x", "three.nine"] {
            assert_eq!(Minor::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_no_gil_section_computes_the_models_scaling() {
        let text = render_no_gil();
        let model = no_gil_wall(NOGIL_CORES, NOGIL_CORES, SimDuration::secs(1)).unwrap()
            / no_gil_wall(1, NOGIL_CORES, SimDuration::secs(1)).unwrap();
        assert!(text.contains(&format!("{model:.3}×")), "{text}");
    }
}
