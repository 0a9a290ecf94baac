//! docs/scripting.md cannot rot: every ```rhai block runs, and every function
//! of the API is documented there.

use crate::util::Dir;
use gilsim::script::resolver::BUILTIN;
use gilsim::script::{Host, Limits, RunContext};
use gilsim::sweep::params::Params;
use std::path::Path;
use std::sync::Arc;

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scripting.md"))
        .unwrap()
}

/// The ```rhai blocks of `md`, with the line each starts on.
fn rhai_blocks(md: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```rhai" => current = Some((i + 1, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an unterminated ```rhai block");
    blocks
}

#[test]
fn every_rhai_example_in_the_docs_runs() {
    let blocks = rhai_blocks(&doc());
    assert!(blocks.len() >= 20, "only {} examples found", blocks.len());
    let d = Dir::new();
    // The trace the `workload(...)` examples load.
    d.write("trace.json", include_str!("../fixtures/trace/mixed.json"));
    for (k, (line, text)) in blocks.iter().enumerate() {
        let name = format!("example{k}.rhai");
        d.write(&name, text);
        let r = d.gilsim(&["run", &name, "--out", &format!("out{k}"), "--jobs", "2"]);
        assert_eq!(
            r.code(),
            0,
            "the example at docs/scripting.md:{line} failed:\n{}\n{text}",
            r.stderr()
        );
    }
}

#[test]
fn every_function_is_documented() {
    let doc = doc();
    let ctx = Arc::new(RunContext::new(
        0,
        1,
        false,
        Limits::default(),
        Params::default(),
    ));
    let host = Host::new(ctx, "x.rhai", Path::new("."));
    let missing: Vec<&str> = host
        .signatures()
        .iter()
        .filter(|s| !doc.contains(&format!("{}(", s.name)))
        .map(|s| s.text.as_str())
        .collect();
    assert!(missing.is_empty(), "not in docs/scripting.md: {missing:#?}");
    assert!(host.signatures().len() > 100);
}

#[test]
fn every_module_in_scripts_is_built_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".rhai")
                .map(String::from)
        })
        .collect();
    on_disk.sort();
    let mut built_in: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    built_in.sort();
    assert_eq!(
        on_disk, built_in,
        "add new modules of scripts/ to BUILTIN in src/script/resolver.rs"
    );
    let doc = doc();
    for name in built_in {
        assert!(
            doc.contains(&format!("### `{name}`")),
            "module {name} is not documented"
        );
    }
}

/// Every row of a table in docs/robustness.md names tests, and they exist:
/// `module::function` (tests/cli/module.rs), `src/file.rs::function`, or
/// `bad_input["what"]` / `limits["limit"]` (a row of those tables).
#[test]
fn every_row_of_the_robustness_page_names_real_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/robustness.md")).unwrap();
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut rows = 0;
    for line in page.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        let last = cells.last().unwrap().trim();
        if cells.len() < 3 || last == "test" || last.starts_with("---") {
            continue;
        }
        rows += 1;
        let refs: Vec<&str> = last.split('`').skip(1).step_by(2).collect();
        assert!(!refs.is_empty(), "a row without a test: {line}");
        for r in refs {
            if let Some((table, key)) = r.split_once("[\"") {
                let key = key.trim_end_matches("\"]");
                let field = if table == "limits" { "limit" } else { "what" };
                let text = read(&root.join(format!("tests/cli/{table}.rs")));
                assert!(
                    text.contains(&format!("{field}: \"{key}\"")),
                    "{r}: no such row in tests/cli/{table}.rs"
                );
            } else {
                let (file, func) = r
                    .rsplit_once("::")
                    .unwrap_or_else(|| panic!("{r}: not a test"));
                let path = if file.contains('/') {
                    root.join(file)
                } else {
                    root.join(format!("tests/cli/{file}.rs"))
                };
                assert!(
                    read(&path).contains(&format!("fn {func}(")),
                    "{r}: no such test in {}",
                    path.display()
                );
            }
        }
    }
    assert!(rows >= 50, "only {rows} rows");
}

/// docs/validation.md is what `gilsim validate` makes of the committed
/// profile and measurements (regenerated after every model or data change).
#[test]
fn the_validation_page_is_regenerated_from_the_committed_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Dir::new();
    let measured = root.join("calibration/measured/reference.json");
    let earlier = root.join("calibration/measured/reference-earlier.json");
    let wake = root.join("calibration/measured/wakepath.json");
    let wake_profile = root.join("calibration/profiles/reference-2026-12-05.json");
    let servers = root.join("calibration/measured/servers.json");
    let servers_profile = root.join("calibration/profiles/servers.json");
    let pools = root.join("calibration/measured/pools.json");
    let pools_profile = root.join("calibration/profiles/pools.json");
    let versions = root.join("calibration/measured/versions.json");
    let version_profiles = root.join("calibration/profiles/versions");
    let services = root.join("calibration/measured/services.json");
    let services_profile = root.join("calibration/profiles/services.json");
    dir.gilsim(&[
        "validate",
        "--measured",
        measured.to_str().unwrap(),
        "--replicate",
        earlier.to_str().unwrap(),
        "--wake-measured",
        wake.to_str().unwrap(),
        "--wake-profile",
        wake_profile.to_str().unwrap(),
        "--servers-measured",
        servers.to_str().unwrap(),
        "--servers-profile",
        servers_profile.to_str().unwrap(),
        "--pools-measured",
        pools.to_str().unwrap(),
        "--pools-profile",
        pools_profile.to_str().unwrap(),
        "--versions-measured",
        versions.to_str().unwrap(),
        "--versions-profiles",
        version_profiles.to_str().unwrap(),
        "--services-measured",
        services.to_str().unwrap(),
        "--services-profile",
        services_profile.to_str().unwrap(),
        "--out",
        "validation.md",
        "--figure",
        "figures/validation",
    ])
    .ok();
    assert!(
        dir.read("validation.md")
            == std::fs::read_to_string(root.join("docs/validation.md")).unwrap(),
        "docs/validation.md is stale: run `cargo run --release -- validate`"
    );
}

/// README's sentence on how good the numbers are repeats docs/validation.md's
/// summary (which the test above regenerates): the median error, the rows
/// within 15% and the directions predicted right.
#[test]
fn the_readme_states_the_validation_summary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("docs/validation.md")).unwrap();
    let summary = page
        .lines()
        .find(|l| l.starts_with("**Summary.** ") && l.contains("rows compared"))
        .expect("docs/validation.md has a summary line");
    let between = |from: &str, to: &str| -> String {
        let rest = &summary[summary
            .find(from)
            .unwrap_or_else(|| panic!("{from:?} in {summary}"))
            + from.len()..];
        rest[..rest.find(to).unwrap()].to_string()
    };
    let median = between("median absolute relative error **", "**");
    let within = between("(target ≤ 15%); ", " rows within 15%");
    let directions = between("; **", "** measured directions");
    let rows = summary["**Summary.** ".len()..].split(' ').next().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let wake = page
        .lines()
        .find(|l| l.starts_with("**Summary.** ") && l.contains("rows; median absolute"))
        .expect("docs/validation.md has a wake-path summary line");
    let wake_rows = wake["**Summary.** ".len()..].split(' ').next().unwrap();
    let wake_median = {
        let from = "median absolute relative error **";
        let rest = &wake[wake.find(from).unwrap() + from.len()..];
        rest[..rest.find("**").unwrap()].to_string()
    };
    for said in [
        format!("median absolute error is {median} over {rows} measured rows"),
        format!("({within} within 15%)"),
        format!("{directions} measured directions"),
        format!("{wake_rows} rows) is at a {wake_median} median"),
    ] {
        assert!(
            readme.contains(&said),
            "README.md does not say {said:?} (docs/validation.md: {summary})"
        );
    }
}

/// docs/own-programs.md is what `gilsim validate-programs` makes of the
/// committed measurements, profile and traces of the real programs.
#[test]
fn the_own_programs_page_is_regenerated_from_the_committed_data() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Dir::new();
    let arg = |p: &str| root.join(p).to_str().unwrap().to_string();
    dir.gilsim(&[
        "validate-programs",
        "--measured",
        &arg("calibration/measured/programs.json"),
        "--profile",
        &arg("calibration/profiles/programs.json"),
        "--traces",
        &arg("calibration/traces/programs"),
        "--out",
        "own-programs.md",
        "--figure",
        "figures/own_programs",
        "--jobs",
        "2",
    ])
    .ok();
    assert!(
        dir.read("own-programs.md")
            == std::fs::read_to_string(root.join("docs/own-programs.md")).unwrap(),
        "docs/own-programs.md is stale: run `cargo run --release -- validate-programs`"
    );
}
