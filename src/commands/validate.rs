//! `gilsim validate`: compares a calibration profile's predictions with the
//! measurements of real CPython and writes docs/validation.md and its figures
//! (the comparison and the page are [`crate::calibration::validation`]'s; this
//! module reads the measurement files and writes the results, atomically).

use crate::calibration::profile::Profile;
use crate::calibration::validation::{
    bracket_wake_path, compare, directions, figure, main_bands, median_abs_error, parse_measured,
    render_markdown, render_servers_set, render_wake_set, residual_figure, wake_bands, FigurePaths,
    MeasuredRow,
};
use crate::calibration::versions::{
    compare_versions, render_versions_set, version_bands, VersionProfiles,
};
use crate::output::staging::write_atomically;
use serde_json::Value;

/// The sets beside the main one, each optional: the main set's replicate
/// (another run of it), and the wake-path, servers and versions sets, each
/// with the profile (or, for versions, the profiles) measured with it.
#[derive(Clone, Copy, Default)]
pub struct OtherSets<'a> {
    /// Another run of the main set, for the directions that repeat.
    pub replicate: Option<&'a std::path::Path>,
    /// The wake-path set and its profile.
    pub wake: Option<(&'a Profile, &'a std::path::Path)>,
    /// The servers set and its profile.
    pub servers: Option<(&'a Profile, &'a std::path::Path)>,
    /// The versions set and a profile per version.
    pub versions: Option<(&'a VersionProfiles, &'a std::path::Path)>,
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
        versions,
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
    let cmp = compare(&rows, profile);
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
    let mut wake_summary = String::new();
    if let Some((wake_profile, path)) = wake {
        let (rows, name) = load(path)?;
        let wcmp = compare(&rows, wake_profile);
        let wdirs = directions(&wcmp);
        let base = suffixed(figure_base, "_wake_residuals");
        md.push_str(&render_wake_set(
            &wcmp,
            &wdirs,
            wake_profile,
            &name,
            &link(&base),
        ));
        figures.push((
            base,
            residual_figure(
                &wcmp,
                "Error of the predictions of the wake-path set",
                &wake_bands(),
            ),
        ));
        wake_summary = format!(
            "; wake-path set: {} rows, median absolute error {:.1}%",
            wcmp.len(),
            median_abs_error(&wcmp) * 100.0
        );
    }
    if let Some((servers_profile, path)) = servers {
        let (rows, name) = load(path)?;
        let scmp = compare(&rows, servers_profile);
        let sdirs = directions(&scmp);
        let base = suffixed(figure_base, "_servers_residuals");
        md.push_str(&render_servers_set(
            &scmp,
            &sdirs,
            servers_profile,
            &name,
            &link(&base),
        ));
        figures.push((
            base,
            residual_figure(
                &scmp,
                "Error of the predictions of the servers set",
                &main_bands(),
            ),
        ));
        wake_summary.push_str(&format!(
            "; servers set: {} rows, median absolute error {:.1}%",
            scmp.len(),
            median_abs_error(&scmp) * 100.0
        ));
    }
    if let Some((profiles, path)) = versions {
        let (rows, name) = load(path)?;
        let vcmp = compare_versions(&rows, profiles);
        let base = suffixed(figure_base, "_versions_residuals");
        md.push_str(&render_versions_set(&vcmp, profiles, &name, &link(&base)));
        figures.push((
            base,
            residual_figure(
                &vcmp,
                "Error of the predictions of the versions set",
                &version_bands(),
            ),
        ));
        wake_summary.push_str(&format!(
            "; versions set: {} rows, median absolute error {:.1}%",
            vcmp.len(),
            median_abs_error(&vcmp) * 100.0
        ));
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
        "{} rows, median absolute error {:.1}%, {ok} of {} directions right{wake_summary}",
        cmp.len(),
        median_abs_error(&cmp) * 100.0,
        dirs.len()
    ))
}

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
