//! The layering of `src/` stays true (issue 19; ARCHITECTURE.md).
//!
//! Every top-level module of the crate is one layer, listed top-down in
//! [`LAYERS`]. A file may use its own layer and the layers below it, never one
//! above: the test reads every `.rs` file under `src/` and resolves each
//! `crate::x`, `use crate::{x, y}` and `super::x` path (tests included) to the
//! layer it names. `main.rs` (the binary) and `lib.rs` (the re-exports) are
//! above every layer. `tools/module-graph` prints the whole module graph.

use std::path::{Path, PathBuf};

/// The layers, top-down: each may use only itself and those after it.
pub const LAYERS: [&str; 6] = [
    "commands",
    "script",
    "sweep",
    "output",
    "calibration",
    "support",
];

/// Files above every layer, and this check.
const ABOVE: [&str; 3] = ["lib.rs", "main.rs", "layers.rs"];

fn rank(layer: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == layer)
}

/// The module path of a file relative to `src/` (`script/mod.rs` is
/// `[script]`, `script/lint/receivers.rs` is `[script, lint, receivers]`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The crate-level names a line of the file at `module` uses: for each
/// `crate::` and `super::` path, the first module below the crate root it
/// reaches (a layer's name, or another root item).
pub fn names_used(module: &[String], line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(['c', 's']) {
        let at = &rest[i..];
        let before = rest[..i].chars().last();
        rest = &rest[i + 1..];
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let (mut base, mut tail) = if let Some(t) = at.strip_prefix("crate::") {
            (Vec::new(), t)
        } else if at.starts_with("super::") {
            let mut base = module[..module.len().saturating_sub(1)].to_vec();
            let mut t = at;
            while let Some(u) = t.strip_prefix("super::") {
                t = u;
                if t.starts_with("super::") {
                    base.pop();
                }
            }
            (base, t)
        } else {
            continue;
        };
        if !base.is_empty() {
            // Inside a layer: the layer itself.
            out.push(base.swap_remove(0));
            continue;
        }
        if let Some(list) = tail.strip_prefix('{') {
            let list = &list[..list.find('}').unwrap_or(list.len())];
            for item in list.split(',') {
                let name = ident_at(item.trim());
                if !name.is_empty() && name != "self" {
                    out.push(name.to_string());
                }
            }
            continue;
        }
        tail = ident_at(tail);
        if !tail.is_empty() {
            out.push(tail.to_string());
        }
    }
    out
}

/// Every use of a layer above the file's own, as `file:line: message`.
pub fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        if ABOVE.iter().any(|a| rel == Path::new(a)) {
            continue;
        }
        let module = module_path(rel);
        let layer = &module[0];
        let Some(own) = rank(layer) else {
            bad.push(format!(
                "src/{}: the module `{layer}` is in no layer; add it to LAYERS in src/layers.rs (and ARCHITECTURE.md)",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            for name in names_used(&module, line) {
                let msg = match rank(&name) {
                    Some(r) if r < own => format!(
                        "`{layer}` uses `{name}`, a layer above it; move what both need below both"
                    ),
                    Some(_) => continue,
                    None => format!(
                        "`{layer}` uses `crate::{name}`, which is no layer (a re-export of the crate root?); use the layer's own path"
                    ),
                };
                bad.push(format!("src/{}:{}: {msg}", rel.display(), n + 1));
            }
        }
    }
    bad
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_layer_uses_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

#[test]
fn every_layer_is_a_module_of_the_crate() {
    let lib = include_str!("lib.rs");
    for layer in LAYERS {
        assert!(
            lib.contains(&format!("pub mod {layer};")),
            "{layer} is not declared in lib.rs"
        );
    }
}

#[test]
fn the_check_sees_every_form_of_path() {
    let m = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
    let cases: [(&str, &str, &[&str]); 9] = [
        (
            "sweep/journal",
            "use crate::commands::run::run;",
            &["commands"],
        ),
        (
            "output/table",
            "let x = crate::script::context::LIMITS;",
            &["script"],
        ),
        (
            "sweep/grid",
            "use crate::{output::table::Cell, script};",
            &["output", "script"],
        ),
        ("script", "use super::commands::run;", &["commands"]),
        ("script/sweep", "use super::table::Table;", &["script"]),
        (
            "script/lint/receivers",
            "use super::super::model;",
            &["script"],
        ),
        (
            "sweep/grid",
            "max_ops: crate::DEFAULT_MAX_OPS,",
            &["DEFAULT_MAX_OPS"],
        ),
        ("sweep/grid", "// crate::commands in a comment", &[]),
        ("sweep/grid", "let supercrate::x = 1; my_crate::y", &[]),
    ];
    for (module, line, want) in cases {
        assert_eq!(names_used(&m(module), line), want, "{module}: {line}");
    }
}
