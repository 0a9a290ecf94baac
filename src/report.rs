//! `gilsim report`: run every experiment and write a static HTML page that
//! shows each claim, its figures, its data and what this run's numbers say.
//!
//! Each experiment is a script in `experiments/` whose header comment states
//! its question, claim, how to read its figures and its parameters
//! (`// Claim: ...` lines); the sentence of findings comes from the script's
//! `finding(...)` calls, computed from the run's own results. Experiments run
//! in parallel on `--jobs` workers; each writes into `<out>/<experiment>/`.

use crate::{run, RunOptions};
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
    /// Folder of the experiment scripts.
    pub experiments: PathBuf,
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
    pub profile: Option<crate::profile::Profile>,
    /// Print progress on stderr.
    pub progress: bool,
    /// Stops every experiment (Ctrl-C, SIGTERM): each removes its temporary
    /// files as an interrupted `gilsim run` does.
    pub interrupt: crate::interrupt::Interrupt,
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
    /// `How to read the figure(s):`.
    pub read: String,
    /// `Parameters:`.
    pub parameters: String,
}

/// Parses the leading `//` comment block of a script.
pub fn parse_header(source: &str) -> Header {
    const KEYS: [(&str, usize); 5] = [
        ("Question:", 0),
        ("Claim:", 1),
        ("How to read the figures:", 2),
        ("How to read the figure:", 2),
        ("Parameters:", 3),
    ];
    let mut title = String::new();
    let mut parts: [String; 4] = Default::default();
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
    let [question, claim, read, parameters] = parts;
    Header {
        title,
        question,
        claim,
        read,
        parameters,
    }
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
    /// Wall time in seconds.
    pub wall_s: f64,
    /// The error, if it failed.
    pub error: Option<String>,
}

/// The experiment scripts of `dir`, sorted by name.
pub fn list_experiments(dir: &Path, only: &[String]) -> Result<Vec<PathBuf>, ReportError> {
    let fail = |reason: String| ReportError::NoExperiments {
        path: dir.display().to_string(),
        reason,
    };
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| fail(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rhai"))
        .filter(|p| {
            only.is_empty()
                || only.iter().any(|o| {
                    p.file_stem()
                        .is_some_and(|s| s.to_string_lossy().contains(o.as_str()))
                })
        })
        .collect();
    scripts.sort();
    if scripts.is_empty() {
        return Err(fail("no .rhai script matched".into()));
    }
    Ok(scripts)
}

/// Runs every experiment and writes `<out>/index.html`.
pub fn report(opts: &ReportOptions) -> Result<Vec<ExperimentResult>, ReportError> {
    let scripts = list_experiments(&opts.experiments, &opts.only)?;
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
    let results: Vec<ExperimentResult> = pool.install(|| {
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
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let html = render_index(&results, started.elapsed().as_secs_f64(), opts.seed);
    let index = opts.out.join("index.html");
    crate::output::write_atomically(&index, html.as_bytes()).map_err(|e| ReportError::Write {
        path: index.display().to_string(),
        reason: e.to_string(),
    })?;
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

fn run_experiment(script: &Path, opts: &ReportOptions) -> ExperimentResult {
    let name = script
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = std::fs::read_to_string(script)
        .map(|s| parse_header(&s))
        .unwrap_or_default();
    let mut ro = RunOptions::new(script);
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
                wall_s,
                error: None,
            }
        }
        Err(e) => ExperimentResult {
            name,
            header,
            files: Vec::new(),
            findings: Vec::new(),
            wall_s,
            error: Some(e.to_string()),
        },
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:'DejaVu Sans',system-ui,sans-serif;max-width:1040px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}\
h1{font-size:1.8em;margin-bottom:.2em}h2{margin-top:2.2em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
.claim{background:#f3f7fb;border-left:4px solid #0072B2;padding:.6em 1em;margin:1em 0}\
.finding{background:#f4faf4;border-left:4px solid #009E73;padding:.6em 1em;margin:1em 0}\
.error{background:#fdf1ee;border-left:4px solid #D55E00;padding:.6em 1em;white-space:pre-wrap;font-family:monospace}\
figure{margin:1.2em 0}img{max-width:100%;height:auto;border:1px solid #eee}\
.meta{color:#666;font-size:.9em}nav ol{columns:2}a{color:#0072B2}";

/// The report page: static, self-contained, no scripts.
pub fn render_index(results: &[ExperimentResult], wall_s: f64, seed: u64) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>gilsim report</title><style>{STYLE}</style></head><body>\n\
<h1>gilsim report</h1>\n<p class=\"meta\">What CPython's GIL does to threads, processes and I/O, by simulation. \
{} experiments, seed {seed}, gilsim {}, {:.1} s of wall time. Every number below was computed by this run; \
each figure links to its SVG, each experiment to its CSV data and manifest.</p>\n<nav><ol>\n",
        results.len(),
        env!("CARGO_PKG_VERSION"),
        wall_s
    );
    for r in results {
        let title = if r.header.title.is_empty() {
            &r.name
        } else {
            &r.header.title
        };
        let _ = writeln!(
            h,
            "<li><a href=\"#{}\">{}</a></li>",
            esc(&r.name),
            esc(title)
        );
    }
    h.push_str("</ol></nav>\n");
    for r in results {
        render_experiment(&mut h, r);
    }
    h.push_str("</body></html>\n");
    h
}

fn render_experiment(h: &mut String, r: &ExperimentResult) {
    let title = if r.header.title.is_empty() {
        &r.name
    } else {
        &r.header.title
    };
    let _ = writeln!(h, "<h2 id=\"{}\">{}</h2>", esc(&r.name), esc(title));
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
        return;
    }
    for f in &r.findings {
        let _ = writeln!(
            h,
            "<div class=\"finding\"><b>This run.</b> {}</div>",
            esc(f)
        );
    }
    for png in r.files.iter().filter(|f| f.ends_with(".png")) {
        let svg = format!("{}.svg", png.trim_end_matches(".png"));
        let link = if r.files.contains(&svg) {
            svg
        } else {
            png.clone()
        };
        let _ = writeln!(
            h,
            "<figure><a href=\"{}\"><img src=\"{}\" alt=\"{}\" loading=\"lazy\"></a></figure>",
            esc(&link),
            esc(png),
            esc(title)
        );
    }
    if !r.header.read.is_empty() {
        let _ = writeln!(h, "<p><b>How to read it.</b> {}</p>", esc(&r.header.read));
    }
    if !r.header.parameters.is_empty() {
        let _ = writeln!(h, "<p><b>Parameters.</b> {}</p>", esc(&r.header.parameters));
    }
    let data: Vec<String> = r
        .files
        .iter()
        .filter(|f| f.ends_with(".csv") || f.ends_with(".json"))
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
        "<p class=\"meta\">Data: {} · <a href=\"{}/manifest.json\">manifest</a> · script <code>experiments/{}.rhai</code> · {:.1} s</p>",
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
    fn the_page_escapes_text_and_links_figures_to_svg() {
        let r = ExperimentResult {
            name: "e1".into(),
            header: Header {
                title: "E1 <b>".into(),
                claim: "a & b".into(),
                ..Header::default()
            },
            files: vec![
                "e1/fig.png".into(),
                "e1/fig.svg".into(),
                "e1/data.csv".into(),
            ],
            findings: vec!["2 threads took 1.00×".into()],
            wall_s: 1.0,
            error: None,
        };
        let html = render_index(&[r], 2.0, 7);
        assert!(html.contains("E1 &lt;b&gt;") && html.contains("a &amp; b"));
        assert!(html.contains("<a href=\"e1/fig.svg\"><img src=\"e1/fig.png\""));
        assert!(html.contains("<a href=\"e1/data.csv\">data.csv</a>"));
        assert!(html.contains("2 threads took 1.00×"));
        assert!(!html.contains("<script"), "no JavaScript");
    }
}
