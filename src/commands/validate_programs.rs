//! `gilsim validate-programs`: the own-programs validation (issue 17, point
//! 4) regenerated from its committed files — the measured copies
//! (calibration/measured/programs.json), the calibration profile measured in
//! the same sitting and each program's trace — as docs/own-programs.md and
//! its figure.
//!
//! Each program is predicted by a run of the built-in script
//! `programs.rhai` (beside this file): `workload()` of its trace as k = 1,
//! 2, 4 threads and spawned processes, with the run machinery of `gilsim
//! run` and `gilsim whatif` (`commands::run`), into a temporary folder that
//! is removed afterwards. The comparison and the page are
//! [`crate::calibration::programs`]'s; this module reads, runs and writes
//! (each output atomically).

use crate::calibration::profile::Profile;
use crate::calibration::programs::{
    directions, figure, parse_measured, render_markdown, Compared, Layout, PageInputs, Reconciled,
    TraceFacts,
};
use crate::calibration::trace;
use crate::commands::run::{self, RunOptions};
use crate::output::staging::write_atomically;
use crate::script::Limits;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The script that predicts one program.
pub const SCRIPT: &str = include_str!("programs.rhai");

/// What `gilsim validate-programs` reads and writes.
#[derive(Clone, Debug)]
pub struct ProgramsOptions {
    /// The measured copies (`gilsim-programs/1`).
    pub measured: PathBuf,
    /// The calibration profile measured with them.
    pub profile: PathBuf,
    /// The folder of the traces, `<program>.json` each.
    pub traces: PathBuf,
    /// The page.
    pub out: PathBuf,
    /// The figure's path without extension (.svg and .png are written).
    pub figure: PathBuf,
    /// Sweep workers (`None`: all cores); results do not depend on it.
    pub jobs: Option<usize>,
}

/// A folder removed when dropped (the predictions' run outputs).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Predicts, compares and writes the page and its figure; returns a
/// one-line summary.
pub fn validate_programs(opts: &ProgramsOptions) -> anyhow::Result<String> {
    let shown = opts.measured.display().to_string();
    let text =
        std::fs::read_to_string(&opts.measured).with_context(|| format!("cannot read {shown}"))?;
    let measured = parse_measured(&text, &shown)?;
    let cores = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["groups"][0]["host"]["cpu_count"].as_u64())
        .unwrap_or(2);
    let profile = Profile::load(&opts.profile)?;
    let scratch = Scratch(std::env::temp_dir().join(format!(
        "gilsim-validate-programs-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )));
    let mut programs: Vec<&str> = Vec::new();
    for r in &measured.rows {
        if !programs.contains(&r.program.as_str()) {
            programs.push(&r.program);
        }
    }
    let mut cmp = Vec::new();
    let mut facts = Vec::new();
    for prog in programs {
        let path = opts.traces.join(format!("{prog}.json"));
        facts.push(trace_facts(prog, &path)?);
        let predicted = predict(prog, opts, &profile, cores, &scratch.0)?;
        for r in measured.rows.iter().filter(|r| r.program == prog) {
            let p = predicted
                .iter()
                .find(|(l, k, _)| *l == r.layout && *k == r.k)
                .map(|(_, _, w)| *w)
                .with_context(|| {
                    format!("no prediction of {prog} {} k={}", r.layout.name(), r.k)
                })?;
            cmp.push(Compared {
                row: r.clone(),
                predicted: p,
            });
        }
    }
    let dirs = directions(&cmp);
    let page_dir = opts.out.parent().unwrap_or(Path::new("."));
    let png = opts.figure.with_extension("png");
    let link = png
        .strip_prefix(page_dir)
        .unwrap_or(&png)
        .to_string_lossy()
        .replace('\\', "/");
    let profile_name = opts.profile.file_name().map_or_else(String::new, |n| {
        format!("calibration/profiles/{}", n.to_string_lossy())
    });
    let md = render_markdown(
        &cmp,
        &dirs,
        &PageInputs {
            runs: &measured.runs,
            profile: &profile_name,
            traces: &facts,
            figure: &link,
        },
    );
    let fig = figure(&cmp);
    let files = [
        (
            opts.figure.with_extension("svg"),
            gilsim_plots::render_svg(&fig)?.into_bytes(),
        ),
        (png, gilsim_plots::render_png(&fig)?),
        (opts.out.clone(), md.into_bytes()),
    ];
    for (path, bytes) in files {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_atomically(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let errors: Vec<f64> = cmp.iter().map(Compared::rel_error).collect();
    Ok(format!(
        "{} rows, median absolute error {:.1}%, {} of {} directions right",
        cmp.len(),
        100.0 * crate::calibration::programs::median_abs_error(&errors),
        dirs.iter().filter(|d| d.ok()).count(),
        dirs.len()
    ))
}

/// The trace's totals, imports, wall time, events and Python time scale.
fn trace_facts(program: &str, path: &Path) -> anyhow::Result<TraceFacts> {
    let shown = path.display().to_string();
    let t = trace::read(path, &shown)?;
    let main = t.main_thread();
    let s = |d: gilsim_engine::SimDuration| d.as_secs_f64();
    // Not kept by the trace reader (the loader does not need them).
    let raw = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .unwrap_or_default();
    Ok(TraceFacts {
        program: program.to_string(),
        totals_s: [
            s(main.totals.python),
            s(main.totals.c_hold),
            s(main.totals.c_release),
            s(main.totals.blocked),
        ],
        imports_s: s(t.startup.imports),
        traced_wall_s: s(t.wall),
        events: raw["overhead"]["events"].as_u64().unwrap_or(0),
        python_time_scale: raw["overhead"]["python_time_scale"].as_f64().unwrap_or(1.0),
        releasing_calls: main.releases.iter().map(|r| r.calls.count).sum(),
        reconciliation: reconciled(&raw["overhead"]["reconciliation"]),
    })
}

/// A trace's `overhead.reconciliation` (format 1.1), if it has one.
fn reconciled(r: &serde_json::Value) -> Option<Reconciled> {
    Some(Reconciled {
        untraced_s: r["untraced_wall_ns"].as_u64()? as f64 / 1e9,
        samples_s: r["untraced_samples_ns"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64())
                    .map(|x| x as f64 / 1e9)
                    .collect()
            })
            .unwrap_or_default(),
        python_factor: r["python_factor"].as_f64(),
        applied: r["applied"].as_bool()?,
    })
}

/// The predicted wall time of k copies, per layout and k, from a run of
/// [`SCRIPT`] on the program's trace.
fn predict(
    program: &str,
    opts: &ProgramsOptions,
    profile: &Profile,
    cores: u64,
    scratch: &Path,
) -> anyhow::Result<Vec<(Layout, u32, f64)>> {
    let mut ro = RunOptions::new(opts.traces.join("programs.rhai"));
    ro.source = Some(SCRIPT.to_string());
    let out = scratch.join(program);
    ro.out = Some(out.clone());
    ro.seed = 0;
    ro.jobs = opts.jobs;
    ro.sets = vec![format!("trace={program}.json"), format!("cores={cores}")];
    ro.limits = Limits::default();
    ro.profile = Some(profile.clone());
    ro.profile_file = Some(opts.profile.clone());
    ro.progress = false;
    run::run(&ro).with_context(|| format!("predicting {program}"))?;
    let csv = out.join("predicted.csv");
    let text =
        std::fs::read_to_string(&csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .with_context(|| format!("{}: no column {name}", csv.display()))
    };
    let (cl, ck, cw) = (col("layout")?, col("k")?, col("wall_s")?);
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("{}: bad row {line:?}", csv.display());
        let layout = match f.get(cl).copied() {
            Some("threads") => Layout::Threads,
            Some("processes") => Layout::Processes,
            _ => anyhow::bail!(bad()),
        };
        let k: u32 = f.get(ck).and_then(|s| s.parse().ok()).with_context(bad)?;
        let w: f64 = f.get(cw).and_then(|s| s.parse().ok()).with_context(bad)?;
        rows.push((layout, k, w));
    }
    Ok(rows)
}
