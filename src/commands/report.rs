//! `gilsim report`: run every experiment and write a static HTML page that
//! shows each claim, its figures, its data and what this run's numbers say.
//!
//! Each experiment is a script in `experiments/` whose header comment states
//! its question, claim, how to read its figures and its parameters
//! (`// Claim: ...` lines); the sentence of findings comes from the script's
//! `finding(...)` calls, computed from the run's own results. Experiments run
//! in parallel on `--jobs` workers; each writes into `<out>/<experiment>/`.

use crate::commands::run::{run, RunOptions};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;
use thiserror::Error;

/// Why the report could not be made.
#[derive(Debug, Error)]
pub enum ReportError {
    /// The experiments folder cannot be read or holds no script.
    #[error("no experiments in {path}: {reason}")]
    NoExperiments {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// Some experiments failed (the page was still written, showing the errors).
    #[error("{failed} of {total} experiments failed (see {index}): {names}")]
    Failed {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
        /// Their names.
        names: String,
        /// The page.
        index: String,
    },
    /// The page could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Folder of the experiment scripts (`None`: `experiments/` if it
    /// exists here, else the shipped experiments built into the binary).
    pub experiments: Option<PathBuf>,
    /// Output folder (`out/report`).
    pub out: PathBuf,
    /// Master seed.
    pub seed: u64,
    /// Parallel workers (`None`: all cores).
    pub jobs: Option<usize>,
    /// `NAME=VALUE` overrides passed to every experiment.
    pub sets: Vec<String>,
    /// Only experiments whose file name contains one of these (empty: all).
    pub only: Vec<String>,
    /// Calibration profile for every experiment.
    pub profile: Option<crate::calibration::profile::Profile>,
    /// Print progress on stderr.
    pub progress: bool,
    /// Stops every experiment (Ctrl-C, SIGTERM): each removes its temporary
    /// files as an interrupted `gilsim run` does.
    pub interrupt: crate::support::interrupt::Interrupt,
}

/// The header comment of an experiment script.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    /// The first line (e.g. `E1 — Will threads speed up CPU-bound Python?`).
    pub title: String,
    /// `Question:`.
    pub question: String,
    /// `Claim:`.
    pub claim: String,
    /// `How to read the figure(s):`; `[[name]]` refers to the figure `name`.
    pub read: String,
    /// `Parameters:`.
    pub parameters: String,
    /// `Validation:`: `validated`, `partly` or `not validated`, then the
    /// measured scenarios that cover it in backticks and what is not covered.
    pub validation: String,
}

/// Parses the leading `//` comment block of a script.
pub fn parse_header(source: &str) -> Header {
    const KEYS: [(&str, usize); 6] = [
        ("Question:", 0),
        ("Claim:", 1),
        ("How to read the figures:", 2),
        ("How to read the figure:", 2),
        ("Parameters:", 3),
        ("Validation:", 4),
    ];
    let mut title = String::new();
    let mut parts: [String; 5] = Default::default();
    let mut current: Option<usize> = None;
    for line in source.lines() {
        let Some(text) = line.trim_start().strip_prefix("//") else {
            break;
        };
        let text = text.trim();
        if title.is_empty() {
            title = text.to_string();
            continue;
        }
        if let Some((key, i)) = KEYS.iter().find(|(k, _)| text.starts_with(k)) {
            parts[*i].push_str(text[key.len()..].trim());
            current = Some(*i);
        } else if let (Some(i), false) = (current, text.is_empty()) {
            parts[i].push(' ');
            parts[i].push_str(text);
        }
    }
    let [question, claim, read, parameters, validation] = parts;
    Header {
        title,
        question,
        claim,
        read,
        parameters,
        validation,
    }
}

/// The figure names `[[name]]` in `text`, in order of first mention.
pub fn figure_refs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("[[") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("]]") else { break };
        let name = after[..j].trim().to_string();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[j + 2..];
    }
    out
}

/// The outcome of one experiment.
#[derive(Clone, Debug)]
pub struct ExperimentResult {
    /// Script file stem (`e1_threads_vs_processes`).
    pub name: String,
    /// Its header.
    pub header: Header,
    /// Files written, relative to the report folder.
    pub files: Vec<String>,
    /// Sentences from `finding(...)`.
    pub findings: Vec<String>,
    /// The figures, in the order the script drew them.
    pub figures: Vec<crate::script::FigureNote>,
    /// Wall time in seconds.
    pub wall_s: f64,
    /// The error, if it failed.
    pub error: Option<String>,
}

impl ExperimentResult {
    fn title(&self) -> &str {
        if self.header.title.is_empty() {
            &self.name
        } else {
            &self.header.title
        }
    }

    /// The experiment's number in figure numbers: `4` for a title `E4 — …`,
    /// else its place in the report.
    fn number(&self, index: usize) -> String {
        let t = self.header.title.trim_start();
        let digits: String = t
            .strip_prefix('E')
            .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
            .unwrap_or_default();
        if digits.is_empty() {
            (index + 1).to_string()
        } else {
            digits
        }
    }

    /// The figures in the order the text reads them: first those `How to
    /// read` names, in that order, then the others in the order drawn.
    pub fn figure_order(&self) -> Vec<&crate::script::FigureNote> {
        let mut out: Vec<&crate::script::FigureNote> = Vec::new();
        for name in figure_refs(&self.header.read) {
            if let Some(f) = self.figures.iter().find(|f| f.name == name) {
                out.push(f);
            }
        }
        for f in &self.figures {
            if !out.iter().any(|o| o.name == f.name) {
                out.push(f);
            }
        }
        out
    }
}

/// The shipped experiments, built into the binary: `gilsim report` runs
/// them when there is no `experiments/` folder here (and no `--experiments`).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "e1_threads_vs_processes",
        include_str!("../../experiments/e1_threads_vs_processes.rhai"),
    ),
    (
        "e2_gil_contention",
        include_str!("../../experiments/e2_gil_contention.rhai"),
    ),
    (
        "e3_io_bound_threads",
        include_str!("../../experiments/e3_io_bound_threads.rhai"),
    ),
    (
        "e4_convoy",
        include_str!("../../experiments/e4_convoy.rhai"),
    ),
    (
        "e5_gil_releasing_c",
        include_str!("../../experiments/e5_gil_releasing_c.rhai"),
    ),
    (
        "e6_switch_interval",
        include_str!("../../experiments/e6_switch_interval.rhai"),
    ),
    ("e7_pools", include_str!("../../experiments/e7_pools.rhai")),
    (
        "e8_gil_models",
        include_str!("../../experiments/e8_gil_models.rhai"),
    ),
    (
        "e9_timelines",
        include_str!("../../experiments/e9_timelines.rhai"),
    ),
    (
        "e10_web_service",
        include_str!("../../experiments/e10_web_service.rhai"),
    ),
    (
        "e11_asyncio_or_threads",
        include_str!("../../experiments/e11_asyncio_or_threads.rhai"),
    ),
];

/// The default experiments folder.
pub const DEFAULT_DIR: &str = "experiments";

/// One experiment script: its name, where it came from and its text.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// File stem (`e4_convoy`).
    pub name: String,
    /// The script's path as shown (`experiments/e4_convoy.rhai`), or
    /// `<built-in>/e4_convoy.rhai` for a shipped one.
    pub path: PathBuf,
    /// Its text, for a shipped one (read from `path` otherwise).
    pub text: Option<String>,
}

fn matches(only: &[String], name: &str) -> bool {
    only.is_empty() || only.iter().any(|o| name.contains(o.as_str()))
}

/// Names in natural order: runs of digits compare as numbers, so `e9_x`
/// comes before `e10_y`.
pub fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn parts(s: &str) -> Vec<(String, u128)> {
        let mut out = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                let mut digits = c.to_string();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u128::MAX),
                ));
            } else {
                text.push(c);
            }
        }
        out.push((text, 0));
        out
    }
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

/// The experiments to run: the `.rhai` scripts of `dir` if given, else of
/// `experiments/` if that folder exists, else the shipped ones; in natural
/// order of their names, filtered by `only`.
pub fn list_experiments(
    dir: Option<&Path>,
    only: &[String],
) -> Result<Vec<Experiment>, ReportError> {
    let local = Path::new(DEFAULT_DIR);
    let dir = match dir {
        Some(d) => d,
        None if local.is_dir() => local,
        None => {
            let list: Vec<Experiment> = SHIPPED
                .iter()
                .filter(|(n, _)| matches(only, n))
                .map(|(n, text)| Experiment {
                    name: n.to_string(),
                    path: PathBuf::from(format!("<built-in>/{n}.rhai")),
                    text: Some(text.to_string()),
                })
                .collect();
            if list.is_empty() {
                return Err(ReportError::NoExperiments {
                    path: "the built-in experiments".into(),
                    reason: format!(
                        "none matched --only {} (they are {})",
                        only.join(", "),
                        SHIPPED
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            return Ok(list);
        }
    };
    let fail = |reason: String| ReportError::NoExperiments {
        path: dir.display().to_string(),
        reason,
    };
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| fail(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .filter(|p| {
            p.file_stem()
                .is_some_and(|s| matches(only, &s.to_string_lossy()))
        })
        .collect();
    scripts.sort_by(|a, b| natural_order(&a.to_string_lossy(), &b.to_string_lossy()));
    if scripts.is_empty() {
        return Err(fail("no .rhai script matched".into()));
    }
    Ok(scripts
        .into_iter()
        .map(|path| Experiment {
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path,
            text: None,
        })
        .collect())
}

/// Runs every experiment and writes `<out>/index.html`.
pub fn report(opts: &ReportOptions) -> Result<Vec<ExperimentResult>, ReportError> {
    let scripts = list_experiments(opts.experiments.as_deref(), &opts.only)?;
    let jobs = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(|e| ReportError::Write {
            path: "(thread pool)".into(),
            reason: e.to_string(),
        })?;
    let bar = progress_bar(opts.progress, scripts.len());
    let started = Instant::now();
    let (results, validation): (Vec<ExperimentResult>, Option<Validation>) = pool.install(|| {
        rayon::join(
            || {
                scripts
                    .par_iter()
                    .map(|script| {
                        let r = run_experiment(script, opts);
                        if let Some(b) = &bar {
                            b.println(format!(
                                "{} {} ({:.1} s)",
                                if r.error.is_some() {
                                    "failed"
                                } else {
                                    "done  "
                                },
                                r.name,
                                r.wall_s
                            ));
                            b.inc(1);
                        }
                        r
                    })
                    .collect()
            },
            Validation::reference,
        )
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let html = render_index(
        &results,
        validation.as_ref(),
        started.elapsed().as_secs_f64(),
        opts.seed,
    );
    let index = opts.out.join("index.html");
    let write = |rel: &str, bytes: &[u8]| {
        let path = opts.out.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ReportError::Write {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        crate::output::staging::write_atomically(&path, bytes).map_err(|e| ReportError::Write {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    };
    for (rel, bytes) in VALIDATION_PAGE {
        write(rel, bytes)?;
    }
    if let Some(v) = &validation {
        for (rel, bytes) in validation_figure(v)? {
            write(&rel, &bytes)?;
        }
    }
    write("index.html", html.as_bytes())?;
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.error.is_some())
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(ReportError::Failed {
            failed: failed.len(),
            total: results.len(),
            names: failed.join(", "),
            index: index.display().to_string(),
        });
    }
    Ok(results)
}

fn progress_bar(show: bool, n: usize) -> Option<indicatif::ProgressBar> {
    if !show {
        return None;
    }
    let bar = indicatif::ProgressBar::new(n as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} experiments, {elapsed}")
    {
        bar.set_style(style);
    }
    bar.tick();
    Some(bar)
}

fn run_experiment(script: &Experiment, opts: &ReportOptions) -> ExperimentResult {
    let name = script.name.clone();
    let text = match &script.text {
        Some(t) => Some(t.clone()),
        None => std::fs::read_to_string(&script.path).ok(),
    };
    let header = text.as_deref().map(parse_header).unwrap_or_default();
    let mut ro = RunOptions::new(&script.path);
    ro.source = script.text.clone();
    ro.out = Some(opts.out.join(&name));
    ro.seed = opts.seed;
    // Experiments run side by side; each runs its sweep points one at a time.
    ro.jobs = Some(1);
    ro.sets = opts.sets.clone();
    ro.profile = opts.profile.clone();
    ro.interrupt = opts.interrupt.clone();
    let t0 = Instant::now();
    let outcome = run(&ro);
    let wall_s = t0.elapsed().as_secs_f64();
    match outcome {
        Ok(o) => {
            // Paths relative to the report folder, so the page links them.
            let files = o
                .files
                .iter()
                .filter_map(|f| f.strip_prefix(&o.out_dir).ok())
                .map(|p| format!("{name}/{}", p.to_string_lossy().replace('\\', "/")))
                .collect();
            ExperimentResult {
                name,
                header,
                files,
                findings: o.findings,
                figures: o.figures,
                wall_s,
                error: None,
            }
        }
        Err(e) => ExperimentResult {
            name,
            header,
            files: Vec::new(),
            findings: Vec::new(),
            figures: Vec::new(),
            wall_s,
            error: Some(e.to_string()),
        },
    }
}

/// Rows of the validation set further off than this count as misses.
pub const MISS: f64 = crate::calibration::validation::ROW_TOLERANCE;

/// How well the model predicts the measured CPython scenarios
/// (`calibration/measured/reference.json`, built in), computed by this run.
#[derive(Clone, Debug)]
pub struct Validation {
    /// Every compared row.
    pub rows: Vec<crate::calibration::validation::Comparison>,
    /// Median |relative error| over all rows.
    pub median_error: f64,
    /// Python version and date of the measurement.
    pub measured_on: String,
}

/// docs/validation.md and its figures, copied beside index.html so the
/// page's links work wherever the report is written.
const VALIDATION_PAGE: [(&str, &[u8]); 11] = [
    ("validation.md", include_bytes!("../../docs/validation.md")),
    (
        "figures/validation.png",
        include_bytes!("../../docs/figures/validation.png"),
    ),
    (
        "figures/validation_residuals.png",
        include_bytes!("../../docs/figures/validation_residuals.png"),
    ),
    (
        "figures/validation_wake_residuals.png",
        include_bytes!("../../docs/figures/validation_wake_residuals.png"),
    ),
    (
        "figures/validation_servers_residuals.png",
        include_bytes!("../../docs/figures/validation_servers_residuals.png"),
    ),
    (
        "figures/validation_versions_residuals.png",
        include_bytes!("../../docs/figures/validation_versions_residuals.png"),
    ),
    (
        "figures/validation_pools_residuals.png",
        include_bytes!("../../docs/figures/validation_pools_residuals.png"),
    ),
    (
        "own-programs.md",
        include_bytes!("../../docs/own-programs.md"),
    ),
    (
        "figures/own_programs.png",
        include_bytes!("../../docs/figures/own_programs.png"),
    ),
    (
        "figures/validation_services_latency.png",
        include_bytes!("../../docs/figures/validation_services_latency.png"),
    ),
    (
        "figures/validation_services_residuals.png",
        include_bytes!("../../docs/figures/validation_services_residuals.png"),
    ),
];

/// Where the report draws this build's validation residuals (.png and .svg).
pub const VALIDATION_FIGURE: &str = "validation/residuals";

/// This build's validation residuals, drawn from its own predictions:
/// (file relative to the report, bytes) of the PNG and the SVG.
fn validation_figure(v: &Validation) -> Result<Vec<(String, Vec<u8>)>, ReportError> {
    let fig = crate::calibration::validation::residual_figure(
        &v.rows,
        "Error of this build's predictions against real CPython",
        &crate::calibration::validation::main_bands(),
    );
    let failed = |e: gilsim_plots::PlotError| ReportError::Write {
        path: format!("{VALIDATION_FIGURE}.png"),
        reason: e.to_string(),
    };
    Ok(vec![
        (
            format!("{VALIDATION_FIGURE}.png"),
            gilsim_plots::render_png(&fig).map_err(failed)?,
        ),
        (
            format!("{VALIDATION_FIGURE}.svg"),
            gilsim_plots::render_svg(&fig).map_err(failed)?.into_bytes(),
        ),
    ])
}

/// The shipped measurements of real CPython on the reference machine.
const REFERENCE_MEASURED: &str = include_str!("../../calibration/measured/reference.json");

impl Validation {
    /// The reference profile's predictions of the reference measurements.
    pub fn reference() -> Option<Validation> {
        let measured = crate::calibration::validation::parse_measured(REFERENCE_MEASURED).ok()?;
        let rows = crate::calibration::validation::compare(
            &measured,
            &crate::calibration::profile::Profile::reference(),
        );
        let median_error = crate::calibration::validation::median_abs_error(&rows);
        let v: serde_json::Value = serde_json::from_str(REFERENCE_MEASURED).ok()?;
        let host = &v["host"];
        let measured_on = format!(
            "{} {} on {} cores ({}, {})",
            host["python_implementation"].as_str().unwrap_or("Python"),
            host["python_version"].as_str().unwrap_or("?"),
            v["cpu_count"],
            host["platform"].as_str().unwrap_or("?"),
            host["date_utc"].as_str().unwrap_or("?")
        );
        Some(Validation {
            rows,
            median_error,
            measured_on,
        })
    }

    /// The rows of `scenario`.
    pub fn scenario(&self, scenario: &str) -> Vec<&crate::calibration::validation::Comparison> {
        self.rows
            .iter()
            .filter(|c| c.row.scenario == scenario)
            .collect()
    }
}

/// The badge of an experiment: `validated`, `partly` or `not validated`,
/// from the first words of its `Validation:` header.
pub fn badge(validation: &str) -> &'static str {
    let v = validation.trim_start().to_lowercase();
    if v.starts_with("validated") {
        "validated"
    } else if v.starts_with("partly") {
        "partly validated"
    } else {
        "not validated"
    }
}

/// The measured scenarios a `Validation:` header names, in backticks.
pub fn validation_scenarios(validation: &str) -> Vec<String> {
    validation
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}\
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.claim{background:#f3f7fb;border-left:4px solid #0072B2;padding:.6em 1em;margin:1em 0}\
.finding{background:#f4faf4;border-left:4px solid #009E73;padding:.6em 1em;margin:1em 0}\
.validation{background:#fafafa;border:1px solid #ddd;padding:.6em 1em;margin:1em 0}\
.badge{display:inline-block;padding:.1em .6em;border-radius:.8em;font-size:.85em;font-weight:bold;color:#fff;margin-right:.5em}\
.badge.validated{background:#009E73}.badge.partly{background:#E69F00;color:#222}.badge.not{background:#666}\
.error{background:#fdf1ee;border-left:4px solid #D55E00;padding:.6em 1em;white-space:pre-wrap;font-family:monospace}\
figure{margin:1.2em 0}img{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.92em;color:#333}\
.meta{color:#666;font-size:.9em}nav ol{columns:2}a{color:#0072B2}code{font-size:.92em}";

/// Text with `[[name]]` figure references replaced by numbered links.
fn with_refs(text: &str, numbers: &[(String, String, String)]) -> String {
    let mut out = esc(text);
    for (name, number, anchor) in numbers {
        out = out.replace(
            &format!("[[{}]]", esc(name)),
            &format!("<a class=\"figref\" href=\"#{anchor}\">Figure {number}</a>"),
        );
    }
    out
}

/// The report page: static, self-contained, no scripts.
pub fn render_index(
    results: &[ExperimentResult],
    validation: Option<&Validation>,
    wall_s: f64,
    seed: u64,
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>gilsim report</title><style>{STYLE}</style></head><body>\n\
<h1>gilsim report</h1>\n<p class=\"meta\">What CPython's GIL does to threads, processes and I/O, by simulation. \
{} experiments, seed {seed}, gilsim {}, {:.1} s of wall time. Every number below was computed by this run; \
each figure links to its SVG, each experiment to its CSV data and manifest.</p>\n",
        results.len(),
        env!("CARGO_PKG_VERSION"),
        wall_s
    );
    render_validation(&mut h, validation);
    h.push_str("<nav><ol>\n");
    for r in results {
        let _ = writeln!(
            h,
            "<li><a href=\"#{}\">{}</a> <span class=\"meta\">({})</span></li>",
            esc(&r.name),
            esc(r.title()),
            badge(&r.header.validation)
        );
    }
    h.push_str("</ol></nav>\n");
    for (i, r) in results.iter().enumerate() {
        render_experiment(&mut h, r, i, validation);
    }
    h.push_str("</body></html>\n");
    h
}

fn render_validation(h: &mut String, validation: Option<&Validation>) {
    let Some(v) = validation else {
        h.push_str("<div class=\"validation\"><b>How far to trust it.</b> The validation set could not be read in this build.</div>\n");
        return;
    };
    let within = v
        .rows
        .iter()
        .filter(|c| c.rel_error().abs() <= MISS)
        .count();
    let mut scenarios: Vec<&str> = Vec::new();
    for c in &v.rows {
        if !scenarios.contains(&c.row.scenario.as_str()) {
            scenarios.push(&c.row.scenario);
        }
    }
    let _ = writeln!(
        h,
        "<div class=\"validation\"><b>How far to trust it.</b> The model is calibrated from single-thread measurements of real CPython \
and checked against multi-thread outcomes measured on the reference machine ({}): over {} measured rows in {} scenarios \
({}) the median error of this build's predictions is <b>{}</b>, and {} of {} rows are within {:.0}%. \
Each experiment below carries a badge saying which of these rows cover it; \
<a class=\"figref\" href=\"#fig-validation\">Figure 0</a> shows every row's error. \
The table, figures and the reasons for the model's known misses, as last written by <code>gilsim validate</code>: \
<a href=\"validation.md\">validation.md</a> (<code>docs/validation.md</code> in the repository). \
Real programs nobody here wrote, traced once and predicted as threads and processes: \
<a href=\"own-programs.md\">own-programs.md</a> (<code>docs/own-programs.md</code>).{}</div>",
        esc(&v.measured_on),
        v.rows.len(),
        scenarios.len(),
        scenarios
            .iter()
            .map(|s| format!("<code>{}</code>", esc(s)))
            .collect::<Vec<_>>()
            .join(", "),
        pct(v.median_error),
        within,
        v.rows.len(),
        100.0 * MISS,
        validation_figure_html(v)
    );
}

/// The validation figure in the summary: this build's residuals, numbered 0
/// (before the experiments' figures), with alt text and caption.
fn validation_figure_html(v: &Validation) -> String {
    let (alt, caption) = crate::calibration::validation::residual_caption(
        &v.rows,
        &crate::calibration::validation::main_bands(),
    );
    format!(
        "<figure id=\"fig-validation\"><a href=\"{VALIDATION_FIGURE}.svg\"><img src=\"{VALIDATION_FIGURE}.png\" alt=\"{}\"></a>\
<figcaption><b>Figure 0.</b> {}</figcaption></figure>",
        esc(&alt),
        esc(&caption)
    )
}

fn render_badge(h: &mut String, r: &ExperimentResult, validation: Option<&Validation>) {
    let text = &r.header.validation;
    let b = badge(text);
    let class = b.split(' ').next().unwrap_or("not");
    let mut detail = Vec::new();
    if let Some(v) = validation {
        for s in validation_scenarios(text) {
            let rows = v.scenario(&s);
            if rows.is_empty() {
                detail.push(format!(
                    "<code>{}</code>: no row in this build's validation set",
                    esc(&s)
                ));
                continue;
            }
            let errs: Vec<crate::calibration::validation::Comparison> =
                rows.iter().map(|c| (*c).clone()).collect();
            let misses: Vec<String> = rows
                .iter()
                .filter(|c| c.rel_error().abs() > MISS)
                .map(|c| {
                    format!(
                        "{} {} ({:+.0}%)",
                        esc(&c.label),
                        esc(&c.row.metric),
                        100.0 * c.rel_error()
                    )
                })
                .collect();
            let miss_text = if misses.is_empty() {
                format!("all within {:.0}%", 100.0 * MISS)
            } else {
                format!(
                    "<b>known misses</b> (off by more than {:.0}%): {}",
                    100.0 * MISS,
                    misses.join("; ")
                )
            };
            detail.push(format!(
                "<code>{}</code>: {} rows, median error {}, {}",
                esc(&s),
                rows.len(),
                pct(crate::calibration::validation::median_abs_error(&errs)),
                miss_text
            ));
        }
    }
    // The header's words after the level, with `scenario` as code.
    let words = text
        .trim_start()
        .split_once(':')
        .map_or(text.as_str(), |(_, rest)| rest)
        .trim();
    let words = esc(words)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect::<String>();
    let _ = writeln!(
        h,
        "<p class=\"trust\"><span class=\"badge {class}\">{b}</span>{}{}</p>",
        capitalise(&words),
        if detail.is_empty() {
            String::new()
        } else {
            format!(
                " This run's predictions of those rows: {}.",
                detail.join(" · ")
            )
        }
    );
}

fn render_experiment(
    h: &mut String,
    r: &ExperimentResult,
    index: usize,
    validation: Option<&Validation>,
) {
    let _ = writeln!(h, "<section class=\"experiment\" id=\"{}\">", esc(&r.name));
    let _ = writeln!(h, "<h2>{}</h2>", esc(r.title()));
    render_badge(h, r, validation);
    if !r.header.question.is_empty() {
        let _ = writeln!(h, "<p><b>Question.</b> {}</p>", esc(&r.header.question));
    }
    if !r.header.claim.is_empty() {
        let _ = writeln!(
            h,
            "<div class=\"claim\"><b>Claim.</b> {}</div>",
            esc(&r.header.claim)
        );
    }
    if let Some(e) = &r.error {
        let _ = writeln!(
            h,
            "<div class=\"error\">This experiment failed:\n{}</div>",
            esc(e)
        );
        h.push_str("</section>\n");
        return;
    }
    let number = r.number(index);
    let figures = r.figure_order();
    let numbers: Vec<(String, String, String)> = figures
        .iter()
        .enumerate()
        .map(|(k, f)| {
            (
                f.name.clone(),
                format!("{number}.{}", k + 1),
                format!("fig-{}-{}", r.name, f.name),
            )
        })
        .collect();
    if !r.header.read.is_empty() {
        let _ = writeln!(
            h,
            "<p><b>How to read it.</b> {}</p>",
            with_refs(&r.header.read, &numbers)
        );
    }
    for (f, (_, num, anchor)) in figures.iter().zip(&numbers) {
        let png = format!("{}/{}.png", r.name, f.name);
        let svg = format!("{}/{}.svg", r.name, f.name);
        let link = if r.files.contains(&svg) {
            svg
        } else {
            png.clone()
        };
        let _ = writeln!(
            h,
            "<figure id=\"{}\"><a href=\"{}\"><img src=\"{}\" alt=\"{}\"></a>\
<figcaption><b>Figure {num}.</b> {}</figcaption></figure>",
            esc(anchor),
            esc(&link),
            esc(&png),
            esc(&f.alt),
            with_refs(&f.caption, &numbers)
        );
    }
    for f in &r.findings {
        let _ = writeln!(
            h,
            "<div class=\"finding\"><b>This run.</b> {}</div>",
            with_refs(f, &numbers)
        );
    }
    if !r.header.parameters.is_empty() {
        let _ = writeln!(h, "<p><b>Parameters.</b> {}</p>", esc(&r.header.parameters));
    }
    let traces: Vec<&String> = r
        .files
        .iter()
        .filter(|f| f.ends_with(".trace.json"))
        .collect();
    if !traces.is_empty() {
        let _ = writeln!(
            h,
            "<p><b>Explore the timelines.</b> {} — Chrome trace-event files, one track per thread, a GIL-holder track per process, and a track per core (under “CPU”: which thread ran on each core, and when). \
Open one in <a href=\"https://ui.perfetto.dev\">ui.perfetto.dev</a> (“Open trace file”) or in Chrome at <code>chrome://tracing</code> (“Load”); \
the file is read in your browser and stays on your machine.</p>",
            traces
                .iter()
                .map(|f| format!(
                    "<a href=\"{0}\" download>{1}</a>",
                    esc(f),
                    esc(f.rsplit('/').next().unwrap_or(f))
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let data: Vec<String> = r
        .files
        .iter()
        .filter(|f| f.ends_with(".csv"))
        .map(|f| {
            format!(
                "<a href=\"{0}\">{1}</a>",
                esc(f),
                esc(f.rsplit('/').next().unwrap_or(f))
            )
        })
        .collect();
    let _ = writeln!(
        h,
        "<p class=\"meta\">Data: {} · <a href=\"{}/manifest.json\">manifest</a> · script <code>experiments/{}.rhai</code> · {:.1} s</p>\n</section>",
        if data.is_empty() { "none".to_string() } else { data.join(", ") },
        esc(&r.name),
        esc(&r.name),
        r.wall_s
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiments_sort_in_natural_order() {
        let mut names = ["e10_web", "e2_gil", "e1_threads", "e9_timelines", "e1"];
        names.sort_by(|a, b| natural_order(a, b));
        assert_eq!(
            names,
            ["e1", "e1_threads", "e2_gil", "e9_timelines", "e10_web"]
        );
    }

    #[test]
    fn header_sections_are_parsed_across_lines() {
        let src = "// E1 — Title here\n// Question: Does it?\n// Claim: Threads are\n// no faster.\n\
// How to read the figure: lower is better.\n// Parameters: 2 cores.\nlet x = 1;\n// Claim: not header\n";
        let h = parse_header(src);
        assert_eq!(h.title, "E1 — Title here");
        assert_eq!(h.question, "Does it?");
        assert_eq!(h.claim, "Threads are no faster.");
        assert_eq!(h.read, "lower is better.");
        assert_eq!(h.parameters, "2 cores.");
    }

    #[test]
    fn the_page_escapes_text_numbers_figures_in_reading_order_and_links_svg() {
        let note = |name: &str, caption: &str| crate::script::FigureNote {
            name: name.into(),
            caption: caption.into(),
            alt: format!("alt of {name}"),
        };
        let r = ExperimentResult {
            name: "e1".into(),
            header: Header {
                title: "E1 <b>".into(),
                claim: "a & b".into(),
                read: "[[second]] first, then [[fig]].".into(),
                validation: "partly: `cpu_split` covers 2 cores.".into(),
                ..Header::default()
            },
            files: vec![
                "e1/fig.png".into(),
                "e1/fig.svg".into(),
                "e1/second.png".into(),
                "e1/data.csv".into(),
                "e1/t.trace.json".into(),
            ],
            findings: vec!["2 threads took 1.00× ([[fig]])".into()],
            figures: vec![note("fig", "caption one"), note("second", "caption two")],
            wall_s: 1.0,
            error: None,
        };
        let html = render_index(&[r], None, 2.0, 7);
        assert!(html.contains("E1 &lt;b&gt;") && html.contains("a &amp; b"));
        assert!(html.contains("<a href=\"e1/fig.svg\"><img src=\"e1/fig.png\" alt=\"alt of fig\""));
        assert!(html.contains("<a href=\"e1/second.png\"><img src=\"e1/second.png\""));
        let second = html
            .find("<b>Figure 1.1.</b> caption two")
            .expect("second is 1.1");
        let first = html
            .find("<b>Figure 1.2.</b> caption one")
            .expect("fig is 1.2");
        assert!(second < first);
        assert!(html.contains("href=\"#fig-e1-fig\">Figure 1.2</a>)"));
        assert!(html.contains("<a href=\"e1/data.csv\">data.csv</a>"));
        assert!(html.contains("ui.perfetto.dev") && html.contains("t.trace.json"));
        assert!(
            html.contains("a track per core"),
            "the trace's core tracks are named"
        );
        assert!(html.contains("badge partly"));
        assert!(!html.contains("<script"), "no JavaScript");
    }

    #[test]
    fn badges_and_scenarios_come_from_the_validation_line() {
        assert_eq!(badge("validated by `a` and `b`"), "validated");
        assert_eq!(badge("Partly: `a`"), "partly validated");
        assert_eq!(badge("not validated: old GIL"), "not validated");
        assert_eq!(badge(""), "not validated");
        assert_eq!(validation_scenarios("x `a` y `b` z"), ["a", "b"]);
        assert_eq!(figure_refs("[[b]] [[a]] [[b]]"), ["b", "a"]);
    }

    #[test]
    fn the_built_in_experiments_are_the_experiments_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_DIR);
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
            .map(|p| {
                (
                    p.file_stem().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        on_disk.sort_by(|a, b| natural_order(&a.0, &b.0));
        let built_in: Vec<(String, String)> = SHIPPED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        assert_eq!(built_in, on_disk, "add every experiments/*.rhai to SHIPPED");
    }

    #[test]
    fn the_validation_set_is_read_and_predicted() {
        let v = Validation::reference().expect("the reference measurements parse");
        assert!(!v.rows.is_empty());
        assert!(v.median_error.is_finite());
        assert!(v.measured_on.contains("CPython"));
        // The summary shows this build's residuals as Figure 0, with the
        // counts of its own rows, and the figure is drawn.
        let mut h = String::new();
        render_validation(&mut h, Some(&v));
        assert!(h.contains("<figure id=\"fig-validation\">"));
        assert!(h.contains("<b>Figure 0.</b>"));
        let inside = v
            .rows
            .iter()
            .filter(|c| c.rel_error().abs() <= MISS)
            .count();
        assert!(
            h.contains(&format!("{inside} of {} inside", v.rows.len())),
            "{h}"
        );
        let files = validation_figure(&v).unwrap();
        assert!(files.iter().all(|(_, bytes)| bytes.len() > 1000));
    }
}
