//! `gilsim validate`: compares a calibration profile's predictions with the
//! measurements of real CPython and writes docs/validation.md and its figures
//! (the comparison and the page are [`crate::calibration::validation`]'s; this
//! module reads the measurement files and writes the results, atomically).

use crate::calibration::profile::Profile;
use crate::calibration::services::{
    compare_services, is_cpu, latency_figure, render_services_set, rows_with_cpu, services_bands,
    ServicesProfile,
};
use crate::calibration::validation::{
    bracket_wake_path, compare_each, directions, figure, main_bands, median_abs_error,
    parse_measured, pools_bands, render_markdown, render_pools_set, render_servers_set,
    render_unpredicted, render_wake_set, residual_figure, wake_bands, Band, Compared, Comparison,
    DirectionCheck, FigurePaths, MeasuredRow,
};
use crate::calibration::versions::{
    compare_versions, render_versions_set, version_bands, VersionProfiles,
};
use crate::output::staging::write_atomically;
use serde_json::Value;

/// The sets beside the main one, each optional: the main set's replicate
/// (another run of it), and the wake-path, servers, pools and versions
/// sets, each with the profile (or, for versions, the profiles) measured
/// with it.
#[derive(Clone, Copy, Default)]
pub struct OtherSets<'a> {
    /// Another run of the main set, for the directions that repeat.
    pub replicate: Option<&'a std::path::Path>,
    /// The wake-path set and its profile.
    pub wake: Option<(&'a Profile, &'a std::path::Path)>,
    /// The servers set and its profile.
    pub servers: Option<(&'a Profile, &'a std::path::Path)>,
    /// The pools set (pool start-up, cold and warm) and its profile.
    pub pools: Option<(&'a Profile, &'a std::path::Path)>,
    /// The versions set and a profile per version.
    pub versions: Option<(&'a VersionProfiles, &'a std::path::Path)>,
    /// The services set and its profile (with `measurements.services`).
    pub services: Option<(&'a ServicesProfile, &'a std::path::Path)>,
}

/// Compares `profile`'s predictions with the measurements in `measured` and
/// writes the Markdown page and its figures, each atomically: predicted
/// against measured (`figure`.svg and .png), the relative errors
/// (`figure`_residuals) and, with `wake`, those of the wake-path set
/// (`figure`_wake_residuals). Returns a one-line summary.
pub fn write_validation(
    profile: &Profile,
    measured: &std::path::Path,
    sets: &OtherSets,
    out: &std::path::Path,
    figure_base: &std::path::Path,
) -> anyhow::Result<String> {
    use anyhow::Context;
    let OtherSets {
        replicate,
        wake,
        servers,
        pools,
        versions,
        services,
    } = *sets;
    let load = |path: &std::path::Path| -> anyhow::Result<(Vec<MeasuredRow>, String)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let rows = parse_measured(&text)
            .with_context(|| format!("{} is not a gilsim-measured/1 file", path.display()))?;
        let date = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["host"]["date_utc"].as_str().map(str::to_string))
            .unwrap_or_default();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        Ok((rows, format!("`{name}` ({date})")))
    };
    let (rows, _) = load(measured)?;
    let other = replicate.map(load).transpose()?;
    let Compared {
        predicted: cmp,
        unpredicted,
    } = compare_each(&rows, profile);
    anyhow::ensure!(
        !cmp.is_empty(),
        "{} holds no scenario the model covers",
        measured.display()
    );
    let mut dirs = directions(&cmp);
    bracket_wake_path(&mut dirs, &rows, profile);
    // The page links its figures relative to itself.
    let page_dir = out.parent().unwrap_or(std::path::Path::new("."));
    let residuals_base = suffixed(figure_base, "_residuals");
    let link = |base: &std::path::Path| relative_to(&base.with_extension("png"), page_dir);
    let mut md = render_markdown(
        &cmp,
        &dirs,
        profile,
        &FigurePaths {
            scatter: &link(figure_base),
            residuals: &link(&residuals_base),
        },
        other
            .as_ref()
            .map(|(rows, name)| (name.as_str(), rows.as_slice())),
    );
    md.push_str(&render_unpredicted(&unpredicted));
    let mut figures = vec![
        (figure_base.to_path_buf(), figure(&cmp)),
        (
            residuals_base,
            residual_figure(
                &cmp,
                "Error of gilsim's predictions against real CPython",
                &main_bands(),
            ),
        ),
    ];
    let mut sets_summary = String::new();
    // The sets measured with a profile of their own, in page order (the
    // versions set, with a profile per version, between them).
    let mut page = Page {
        md: &mut md,
        figures: &mut figures,
        summary: &mut sets_summary,
        figure_base,
        page_dir,
    };
    for (set, kind) in [(wake, &WAKE_SET), (servers, &SERVERS_SET)] {
        page.add_set(set, kind, &load)?;
    }
    if let Some((profiles, path)) = versions {
        let (rows, name) = load(path)?;
        let vcmp = compare_versions(&rows, profiles);
        let base = suffixed(page.figure_base, "_versions_residuals");
        page.md.push_str(&render_versions_set(
            &vcmp,
            profiles,
            &name,
            &page.link(&base),
        ));
        page.figures.push((
            base,
            residual_figure(
                &vcmp,
                "Error of the predictions of the versions set",
                &version_bands(),
            ),
        ));
        page.summary.push_str(&format!(
            "; versions set: {} rows, median absolute error {:.1}%",
            vcmp.len(),
            median_abs_error(&vcmp) * 100.0
        ));
    }
    page.add_set(pools, &POOLS_SET, &load)?;
    if let Some((sp, path)) = services {
        let (_, name) = load(path)?;
        let text = std::fs::read_to_string(path)?;
        let all = compare_services(&rows_with_cpu(&text)?, sp);
        let (cpu, scmp): (Vec<_>, Vec<_>) = all.into_iter().partition(is_cpu);
        let base = suffixed(page.figure_base, "_services_residuals");
        let latency = suffixed(page.figure_base, "_services_latency");
        page.md.push_str(&render_services_set(
            &scmp,
            &cpu,
            sp,
            &name,
            &page.link(&base),
            &page.link(&latency),
        ));
        page.figures.push((latency, latency_figure(&scmp)));
        page.figures.push((
            base,
            residual_figure(
                &scmp,
                "Error of the predictions of the services set",
                &services_bands(),
            ),
        ));
        page.summary
            .push_str(&format!("; services set: {} rows", scmp.len()));
    }
    let mut files = Vec::new();
    for (base, fig) in &figures {
        files.push((
            base.with_extension("svg"),
            gilsim_plots::render_svg(fig)?.into_bytes(),
        ));
        files.push((base.with_extension("png"), gilsim_plots::render_png(fig)?));
    }
    files.push((out.to_path_buf(), md.into_bytes()));
    for (path, bytes) in files {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        write_atomically(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ok = dirs.iter().filter(|d| d.ok()).count();
    Ok(format!(
        "{} rows, median absolute error {:.1}%, {ok} of {} directions right{sets_summary}",
        cmp.len(),
        median_abs_error(&cmp) * 100.0,
        dirs.len()
    ))
}

/// Reads a measurement file: its rows and how the page names it.
type LoadSet = dyn Fn(&std::path::Path) -> anyhow::Result<(Vec<MeasuredRow>, String)>;

/// The page, its figures and the summary line as the sets are added.
struct Page<'p> {
    md: &'p mut String,
    figures: &'p mut Vec<(std::path::PathBuf, gilsim_plots::Figure)>,
    summary: &'p mut String,
    figure_base: &'p std::path::Path,
    page_dir: &'p std::path::Path,
}

impl Page<'_> {
    /// The figure at `base` as the page links it (relative to the page).
    fn link(&self, base: &std::path::Path) -> String {
        relative_to(&base.with_extension("png"), self.page_dir)
    }

    /// A set measured with a profile of its own, if given: its section, its
    /// residual figure and its part of the summary line.
    fn add_set(
        &mut self,
        set: Option<(&Profile, &std::path::Path)>,
        kind: &OneSet,
        load: &LoadSet,
    ) -> anyhow::Result<()> {
        let Some((profile, path)) = set else {
            return Ok(());
        };
        let (rows, name) = load(path)?;
        let Compared {
            predicted: cmp,
            unpredicted,
        } = compare_each(&rows, profile);
        let dirs = directions(&cmp);
        let base = suffixed(self.figure_base, kind.figure_suffix);
        let link = self.link(&base);
        self.md
            .push_str(&(kind.render)(&cmp, &dirs, profile, &name, &link));
        self.md.push_str(&render_unpredicted(&unpredicted));
        self.figures.push((
            base,
            residual_figure(&cmp, kind.figure_title, &(kind.bands)()),
        ));
        self.summary.push_str(&format!(
            "; {}: {} rows, median absolute error {:.1}%",
            kind.name,
            cmp.len(),
            median_abs_error(&cmp) * 100.0
        ));
        Ok(())
    }
}

/// A set measured with its own profile: how its page section, figure and
/// summary are made.
struct OneSet {
    name: &'static str,
    figure_suffix: &'static str,
    figure_title: &'static str,
    render: fn(&[Comparison], &[DirectionCheck], &Profile, &str, &str) -> String,
    bands: fn() -> Vec<Band>,
}

const WAKE_SET: OneSet = OneSet {
    name: "wake-path set",
    figure_suffix: "_wake_residuals",
    figure_title: "Error of the predictions of the wake-path set",
    render: render_wake_set,
    bands: || Vec::from(wake_bands()),
};

const SERVERS_SET: OneSet = OneSet {
    name: "servers set",
    figure_suffix: "_servers_residuals",
    figure_title: "Error of the predictions of the servers set",
    render: render_servers_set,
    bands: || Vec::from(main_bands()),
};

const POOLS_SET: OneSet = OneSet {
    name: "pools set",
    figure_suffix: "_pools_residuals",
    figure_title: "Error of the predictions of the pools set",
    render: render_pools_set,
    bands: || Vec::from(pools_bands()),
};

/// `base` with `suffix` added to its file name (`figures/validation` →
/// `figures/validation_residuals`).
fn suffixed(base: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let name = base.file_name().unwrap_or_default().to_string_lossy();
    base.with_file_name(format!("{name}{suffix}"))
}

/// `path` relative to `base` when it lies under it (else as given), with `/`.
fn relative_to(path: &std::path::Path, base: &std::path::Path) -> String {
    let p = path.strip_prefix(base).unwrap_or(path);
    p.to_string_lossy().replace('\\', "/")
}
