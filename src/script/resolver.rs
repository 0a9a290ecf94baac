//! Where `import "name" as x;` finds its module.
//!
//! In order, the first match wins:
//! 1. the folder of the file that imports (the script's own folder for the
//!    main script, the module's folder for a module importing another);
//! 2. the nearest `scripts/` folder: `scripts/` beside the main script, or
//!    beside one of its ancestor folders (so `experiments/e1.rhai` finds the
//!    repository's `scripts/`);
//! 3. the modules built into gilsim: copies of this repository's `scripts/`
//!    made when gilsim was compiled, so `import "workloads"` works from any
//!    folder, even after `cargo install`.
//!
//! Nothing else is searched: no absolute paths, no `..`, and no symlink that
//! leads out of the folder it was found in. A module is loaded
//! once per run and shared (also by sweep workers); an import cycle is an
//! error naming the cycle. Every file read is remembered ([`Sources`]) for
//! error excerpts and the manifest.

use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Scope, Shared};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Modules compiled into the binary: (import name, source).
pub const BUILTIN: &[(&str, &str)] = &[
    ("workloads", include_str!("../../scripts/workloads.rhai")),
    ("sweeps", include_str!("../../scripts/sweeps.rhai")),
];

/// Prefix of the source name of a built-in module.
const BUILTIN_PREFIX: &str = "<built-in>/";

/// Largest module file read.
const MAX_MODULE_BYTES: u64 = 4 << 20;

/// Largest total size of the sources of one run (script and modules): a
/// compiled script takes about a hundred times its size in memory.
pub const MAX_SOURCE_BYTES: usize = 8 << 20;

/// A source file read during a run.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Where it was read (`None` for built-in modules).
    pub path: Option<PathBuf>,
    /// Its text.
    pub text: String,
}

/// Every source read, by the name errors use for it.
#[derive(Debug, Default)]
pub struct Sources {
    files: Mutex<BTreeMap<String, SourceFile>>,
}

impl Sources {
    /// Remembers `text` under `name`.
    pub fn insert(&self, name: &str, path: Option<PathBuf>, text: &str) {
        if let Ok(mut f) = self.files.lock() {
            f.insert(
                name.to_string(),
                SourceFile {
                    path,
                    text: text.to_string(),
                },
            );
        }
    }
    /// The text of `name`.
    pub fn text(&self, name: &str) -> Option<String> {
        self.files.lock().ok()?.get(name).map(|f| f.text.clone())
    }
    /// Bytes of every source read so far.
    pub fn total_bytes(&self) -> usize {
        self.files
            .lock()
            .map(|f| f.values().map(|s| s.text.len()).sum())
            .unwrap_or(0)
    }
    /// Everything read, by name.
    pub fn all(&self) -> BTreeMap<String, SourceFile> {
        self.files.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

/// A path as errors show it: relative to the working folder when inside it.
pub fn display_path(p: &Path) -> String {
    let shown = match std::env::current_dir() {
        Ok(cwd) => p.strip_prefix(&cwd).unwrap_or(p).display().to_string(),
        Err(_) => p.display().to_string(),
    };
    if shown.is_empty() {
        ".".into()
    } else {
        shown
    }
}

/// The nearest `scripts/` folder at or above `dir`.
pub fn find_scripts_dir(dir: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(dir).ok()?;
    abs.ancestors()
        .map(|a| a.join("scripts"))
        .find(|s| s.is_dir())
}

thread_local! {
    /// Modules being loaded on this thread, outermost first (cycle detection).
    static LOADING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The module resolver of a run.
pub struct Resolver {
    main_dir: PathBuf,
    scripts_dir: Option<PathBuf>,
    cache: Mutex<HashMap<String, Shared<Module>>>,
    sources: Shared<Sources>,
    /// The `modules` limit: modules loaded in the whole run (Rhai's own
    /// count is per importing script, so a chain of imports passed it).
    max_modules: usize,
    /// Modules loaded (or being loaded) so far.
    loaded: std::sync::atomic::AtomicUsize,
    /// The run's `script-time` clock, which compiling a module advances.
    clock: Option<std::sync::Arc<super::guard::ScriptClock>>,
}

fn fail(msg: String, pos: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(msg.into(), pos).into()
}

impl Resolver {
    /// A resolver for a script in `main_dir`.
    pub fn new(main_dir: &Path, sources: Shared<Sources>) -> Self {
        Resolver {
            main_dir: main_dir.to_path_buf(),
            scripts_dir: find_scripts_dir(main_dir),
            cache: Mutex::new(HashMap::new()),
            sources,
            max_modules: usize::MAX,
            loaded: std::sync::atomic::AtomicUsize::new(0),
            clock: None,
        }
    }

    /// The same resolver, compiling modules under the run's `script-time`
    /// clock.
    pub fn with_clock(mut self, clock: std::sync::Arc<super::guard::ScriptClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The same resolver, loading at most `max_modules` modules in all.
    pub fn with_max_modules(mut self, max_modules: usize) -> Self {
        self.max_modules = max_modules;
        self
    }

    /// The folders searched for a module imported from `source`.
    fn search_dirs(&self, source: Option<&str>) -> Vec<PathBuf> {
        let importer_dir = match source {
            Some(s) if s.starts_with(BUILTIN_PREFIX) => None,
            Some(s) => self
                .sources
                .all()
                .get(s)
                .and_then(|f| f.path.as_ref()?.parent().map(Path::to_path_buf))
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        d
                    }
                }),
            None => None,
        }
        .unwrap_or_else(|| self.main_dir.clone());
        let mut dirs = vec![importer_dir];
        if let Some(s) = &self.scripts_dir {
            if !dirs.iter().any(|d| same_dir(d, s)) {
                dirs.push(s.clone());
            }
        }
        dirs
    }

    fn load(
        &self,
        engine: &Engine,
        key: &str,
        name: &str,
        path: Option<PathBuf>,
        text: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if let Some(m) = self.cache.lock().ok().and_then(|c| c.get(key).cloned()) {
            return Ok(m);
        }
        let cycle = LOADING.with(|l| {
            let l = l.borrow();
            l.iter().position(|k| k == key).map(|i| {
                let mut chain: Vec<&str> = l[i..].iter().map(String::as_str).collect();
                chain.push(key);
                chain.join(" -> ")
            })
        });
        if let Some(chain) = cycle {
            return Err(fail(
                format!("import cycle: {chain}; modules may not import each other in a circle"),
                pos,
            ));
        }
        let n = self
            .loaded
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if n > self.max_modules {
            return Err(fail(
                format!(
                    "importing {name} would load more than {} modules (imports of imports counted in); {}",
                    self.max_modules,
                    crate::support::limits::raise_hint("modules", self.max_modules as u64, None)
                ),
                pos,
            ));
        }
        let total = self.sources.total_bytes() + text.len();
        if total > MAX_SOURCE_BYTES {
            return Err(fail(
                format!(
                    "importing {name} would make the script and its modules {total} bytes together, more than the limit of {MAX_SOURCE_BYTES}"
                ),
                pos,
            ));
        }
        self.sources.insert(name, path, text);
        LOADING.with(|l| l.borrow_mut().push(key.to_string()));
        let result = if CHECK_ONLY.with(|c| *c.borrow()) {
            compile_and_resolve(engine, self, name, text, pos)
        } else {
            compile_and_eval(engine, self.clock.as_deref(), name, text, pos)
        };
        LOADING.with(|l| l.borrow_mut().pop());
        let module = result?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key.to_string(), module.clone());
        }
        Ok(module)
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

thread_local! {
    /// Set by `gilsim check`: modules are compiled and their imports
    /// resolved, but none of their code runs.
    pub static CHECK_ONLY: std::cell::RefCell<bool> = const { std::cell::RefCell::new(false) };
}

/// `gilsim check`'s load: compiles the module and resolves its own imports,
/// running nothing; the module it returns is empty.
fn compile_and_resolve(
    engine: &Engine,
    resolver: &Resolver,
    name: &str,
    text: &str,
    pos: Position,
) -> Result<Shared<Module>, Box<EvalAltResult>> {
    let in_module =
        |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.to_string(), e, pos));
    super::guard::compile(engine, resolver.clock.as_deref(), text).map_err(in_module)?;
    for (path, p) in find_imports(text) {
        resolver
            .resolve(engine, Some(name), &path, p)
            .map_err(in_module)?;
    }
    Ok(Shared::new(Module::new()))
}

fn compile_and_eval(
    engine: &Engine,
    clock: Option<&super::guard::ScriptClock>,
    name: &str,
    text: &str,
    pos: Position,
) -> Result<Shared<Module>, Box<EvalAltResult>> {
    let in_module =
        |e: Box<EvalAltResult>| Box::new(EvalAltResult::ErrorInModule(name.to_string(), e, pos));
    let mut ast = super::guard::compile(engine, clock, text).map_err(in_module)?;
    ast.set_source(name);
    let module = Module::eval_ast_as_new(Scope::new(), &ast, engine).map_err(in_module)?;
    Ok(Shared::new(module))
}

/// Checks an import path: relative, no `..`; returns the file name with `.rhai`.
fn module_file(path: &str) -> Result<String, String> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !path.contains('\\');
    if !ok {
        return Err(format!(
            "import \"{path}\": a module is named by a relative path without `..`, like \"workloads\" or \"lib/queues\"; it is looked up in the script's folder and scripts/"
        ));
    }
    Ok(if path.ends_with(".rhai") {
        path.to_string()
    } else {
        format!("{path}.rhai")
    })
}

impl ModuleResolver for Resolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let file = module_file(path).map_err(|m| fail(m, pos))?;
        let dirs = self.search_dirs(source);
        for dir in &dirs {
            let candidate = dir.join(&file);
            if !candidate.is_file() {
                continue;
            }
            let abs = std::fs::canonicalize(&candidate).unwrap_or(candidate.clone());
            let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            if !abs.starts_with(&root) {
                return Err(fail(
                    format!(
                        "import \"{path}\": {} leads to {}, outside the folders modules are read from (the importing script's folder and scripts/); a module may not be a symlink to elsewhere: copy it into one of those folders",
                        display_path(&candidate),
                        display_path(&abs)
                    ),
                    pos,
                ));
            }
            let key = abs.display().to_string();
            let name = display_path(&abs);
            let size = std::fs::metadata(&abs).map(|m| m.len()).unwrap_or(0);
            if size > MAX_MODULE_BYTES {
                return Err(fail(
                    format!(
                        "module {name} is {size} bytes, more than the limit of {MAX_MODULE_BYTES}"
                    ),
                    pos,
                ));
            }
            let text = std::fs::read_to_string(&abs)
                .map_err(|e| fail(format!("cannot read module {name}: {e}"), pos))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            return self.load(engine, &key, &name, Some(abs), text, pos);
        }
        let stem = file.trim_end_matches(".rhai");
        if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == stem) {
            let name = format!("{BUILTIN_PREFIX}{n}.rhai");
            return self.load(engine, &name, &name, None, text, pos);
        }
        let looked: Vec<String> = dirs
            .iter()
            .map(|d| display_path(&std::fs::canonicalize(d).unwrap_or_else(|_| d.clone())))
            .collect();
        let builtin: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
        Err(fail(
            format!(
                "module \"{path}\" not found: no {file} in {} and no built-in module of that name (built-in: {})",
                looked.join(" or "),
                builtin.join(", ")
            ),
            pos,
        ))
    }
}

/// The `import "..."` statements of a script with their positions (a plain
/// scan, for `gilsim check`: it skips `//` comments but not block comments).
pub fn find_imports(text: &str) -> Vec<(String, Position)> {
    let mut found = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        let mut offset = 0;
        while let Some(i) = rest.find("import") {
            let before_ok = rest[..i]
                .chars()
                .last()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let after = &rest[i + 6..];
            let trimmed = after.trim_start();
            if before_ok && after.len() != trimmed.len() && trimmed.starts_with('"') {
                if let Some(end) = trimmed[1..].find('"') {
                    let col = code[..offset + i].chars().count() + 1;
                    let clamp = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
                    found.push((
                        trimmed[1..1 + end].to_string(),
                        Position::new(clamp(ln + 1), clamp(col)),
                    ));
                }
            }
            offset += i + 6;
            rest = &rest[i + 6..];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_must_stay_relative() {
        assert_eq!(module_file("workloads").unwrap(), "workloads.rhai");
        assert_eq!(module_file("lib/q.rhai").unwrap(), "lib/q.rhai");
        for bad in ["", "/etc/x", "../x", "a/../b", "a\\b"] {
            assert!(module_file(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn imports_are_found_with_positions() {
        let text = "// import \"no\" as x;\nimport \"workloads\" as w;\n  import \"lib/a\" as a; let important = 1;";
        let found = find_imports(text);
        let got: Vec<(String, usize, usize)> = found
            .iter()
            .map(|(p, pos)| (p.clone(), pos.line().unwrap(), pos.position().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![("workloads".into(), 2, 1), ("lib/a".into(), 3, 3)]
        );
    }
}
