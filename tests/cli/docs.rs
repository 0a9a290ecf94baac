//! docs/scripting.md cannot rot: every ```rhai block runs, and every function
//! of the API is documented there.

use crate::util::Dir;
use gilsim::params::Params;
use gilsim::script::resolver::BUILTIN;
use gilsim::script::{Host, Limits, RunContext};
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
