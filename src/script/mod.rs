//! The Rhai API over the engine: what an experiment script can call.
//!
//! One file per area, each with a `register` function:
//!
//! | file | script values and functions |
//! |---|---|
//! | `duration.rs` | `Duration`: `ns` `us` `ms` `s`, arithmetic, conversions |
//! | `dist.rs` | `Dist`: `fixed` `uniform` `exp` `lognormal` `normal` `empirical` |
//! | `workload.rs` | `Step`, `Task`: `py` `c` `io` `sleep` `repeat` `loop_for` `acquire` ... |
//! | `workload/arrivals.rs` | `Arrivals`: `poisson` `periodic` `bursts` `replay` |
//! | `workload/trace.rs` | `workload("trace.json")`, `trace_info(...)`: a real program's trace as steps |
//! | `handles.rs` | `Thread`, `Process`, `Interpreter`, `Lock`, `Queue`, `Device`, `Pool` |
//! | `model.rs` | `Machine`, `Program`: `machine()`, `python()`, `app.add_thread()` ... |
//! | `result.rs` | `Machine.run`, `Report`, `ThreadReport`, `CoreReport`, `GilReport` |
//! | `table.rs` | `Table`: `table()`, `add`, `save` |
//! | `figure.rs` | `Table.plot`, `Report.timeline`: SVG and PNG figures |
//! | `findings.rs` | `finding()`, `fmt()`: sentences for the report |
//! | `sweep.rs` | `sweep()`, `Sweep`, `seed()` |
//! | `param.rs` | `param()` |
//! | `resolver.rs` | `import "name" as x;` |
//! | `errors.rs` | `file:line:column: message` |
//! | `sizes.rs` | the growing functions and operators, with the `string`, `array` and `map` limits checked in O(1) |
//!
//! [`Host`] assembles the engine (limits, strict variables and map
//! properties, the module resolver) and runs or checks a script.

mod api;
pub mod context;
mod dist;
mod duration;
pub mod errors;
mod figure;
mod findings;
pub mod guard;
mod handles;
pub mod lint;
mod model;
mod options;
mod param;
mod profile;
pub mod resolver;
mod result;
mod sizes;
mod sweep;
mod table;
mod values;
mod workload;

pub use api::{Api, RhaiResult, Signature};
pub use context::{FigureNote, Limits, RunContext};
pub use errors::ScriptError;
pub use values::describe;
use values::print_line;

use resolver::{Resolver, Sources};
use rhai::{Dynamic, Engine, EvalAltResult, Shared, AST};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// A configured Rhai engine for one run, and what it needs to report errors.
pub struct Host {
    engine: Engine,
    sources: Shared<Sources>,
    signatures: Arc<Vec<Signature>>,
    main: String,
    limits: Limits,
    clock: Arc<guard::ScriptClock>,
}

impl Host {
    /// An engine for the script `main` (its name as shown in errors) in `dir`.
    pub fn new(ctx: Arc<RunContext>, main: &str, dir: &Path) -> Host {
        let limits = ctx.limits.clone();
        let sources = Shared::new(Sources::default());
        ctx.attach_sources(sources.clone());
        let interrupt = ctx.interrupt.clone();
        let clock = Arc::new(guard::ScriptClock::new(limits.max_script_time_s));
        let max_memory = limits.max_memory;
        let mut engine = Engine::new();
        let watch = clock.clone();
        let ticking = clock.clone();
        // Rhai's own size limits stay off: with any of them set, Rhai
        // re-measures a whole array or map (nested values included) after
        // every call that touches it, so filling an array is quadratic. The
        // `string`, `array` and `map` limits are checked by the functions
        // that grow values instead (`sizes.rs`), each in constant time.
        engine
            .set_fail_on_invalid_map_property(true)
            .set_strict_variables(true)
            .set_max_operations(limits.max_ops)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth.0, limits.max_expr_depth.1)
            .set_max_string_size(0)
            .set_max_array_size(0)
            .set_max_map_size(0)
            // Operators on strings, arrays and BLOBs go through the
            // registered functions (the checked ones of `sizes.rs`), not
            // Rhai's built-in shortcuts.
            .set_fast_operators(false)
            // Optimised in `guard::compile`, unless the source is huge.
            .set_optimization_level(rhai::OptimizationLevel::None)
            .set_max_modules(limits.max_modules)
            .set_module_resolver(
                Resolver::new(dir, sources.clone())
                    .with_max_modules(limits.max_modules)
                    .with_clock(clock.clone()),
            )
            .on_progress(move |ops| {
                if interrupt.is_set() {
                    Some(Dynamic::UNIT)
                } else if crate::support::memory::live_bytes() > max_memory {
                    Some(guard::MEMORY_TOKEN.into())
                } else if ticking.tick(ops) {
                    Some(guard::TOKEN.into())
                } else {
                    None
                }
            })
            .on_print(|s| {
                if !sweep::capture_print(s) {
                    print_line(s)
                }
            })
            .on_debug(|s, src, pos| {
                let mut err = std::io::stderr().lock();
                let at = match (pos.line(), pos.position()) {
                    (Some(l), Some(c)) => format!(":{l}:{c}"),
                    _ => String::new(),
                };
                let _ = writeln!(err, "{}{at}: debug: {s}", src.unwrap_or("script"));
            });
        // A volatile Rhai API (the `internals` feature), the only hook inside
        // the parser.
        #[allow(deprecated)]
        engine.on_parse_token(move |token, pos, _| guard::watch_token(&watch, token, pos));
        sizes::register(&mut engine, &limits);
        let signatures = register_api(&mut engine, ctx, dir);
        Host {
            engine,
            sources,
            signatures: Arc::new(signatures),
            main: main.to_string(),
            limits,
            clock,
        }
    }

    /// The documented signatures of every function.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Every source read so far (main script and modules).
    pub fn sources(&self) -> std::collections::BTreeMap<String, resolver::SourceFile> {
        self.sources.all()
    }

    fn error(&self, err: &EvalAltResult) -> Box<ScriptError> {
        let cx = errors::ErrorContext {
            main: &self.main,
            sources: &self.sources,
            signatures: &self.signatures,
            limits: &self.limits,
        };
        Box::new(errors::render(err, &cx))
    }

    /// Compiles the script `text` read from `path`.
    pub fn compile(&self, path: &Path, text: &str) -> Result<AST, Box<ScriptError>> {
        self.sources
            .insert(&self.main, Some(path.to_path_buf()), text);
        let mut ast =
            guard::compile(&self.engine, Some(&self.clock), text).map_err(|e| self.error(&e))?;
        ast.set_source(self.main.as_str());
        Ok(ast)
    }

    /// Runs a compiled script to the end.
    pub fn run(&self, ast: &AST) -> Result<(), Box<ScriptError>> {
        self.engine.run_ast(ast).map_err(|e| self.error(&e))
    }

    /// Resolves every `import "..."` of `text` and compiles the modules,
    /// running none of their code, then checks every call of the script and
    /// its modules against the registered API ([`lint`]).
    pub fn check_imports(&self, text: &str) -> Result<(), Box<ScriptError>> {
        resolver::CHECK_ONLY.with(|c| *c.borrow_mut() = true);
        let mut result = Ok(());
        for (path, pos) in resolver::find_imports(text) {
            let r =
                self.engine
                    .module_resolver()
                    .resolve(&self.engine, Some(&self.main), &path, pos);
            if let Err(e) = r {
                result = Err(self.error(&e));
                break;
            }
        }
        resolver::CHECK_ONLY.with(|c| *c.borrow_mut() = false);
        result?;
        for (name, file) in self.sources.all() {
            if let Err((msg, line, col)) = lint::check(&file.text, &self.signatures) {
                let e = EvalAltResult::ErrorRuntime(
                    msg.into(),
                    rhai::Position::new(line as u16, col as u16),
                );
                let mut err = self.error(&e);
                if name != self.main {
                    err = self.error(&EvalAltResult::ErrorInModule(
                        name.clone(),
                        Box::new(e),
                        rhai::Position::NONE,
                    ));
                }
                return Err(err);
            }
        }
        Ok(())
    }
}

fn register_api(engine: &mut Engine, ctx: Arc<RunContext>, dir: &Path) -> Vec<Signature> {
    let mut api = Api::new(engine, ctx.limits.clone());
    duration::register(&mut api);
    dist::register(&mut api);
    workload::register(&mut api);
    workload::trace::register(&mut api, dir);
    model::register(&mut api, &ctx.limits, ctx.profile.clone());
    profile::register(&mut api, ctx.profile.clone());
    result::register(&mut api, ctx.clone());
    table::register(&mut api, ctx.clone());
    figure::register(&mut api, ctx.clone());
    findings::register(&mut api, ctx.clone());
    sweep::register(&mut api, ctx.clone());
    param::register(&mut api, ctx);
    api.into_signatures()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `script` fuzz target (fuzz/README.md): each pass of this
    /// loop copies and re-measures the whole nested array, so it ran for
    /// hours within the operations limit.
    #[test]
    fn deeply_nested_arrays_stop_at_the_script_time_limit() {
        use crate::sweep::params::Params;
        use std::time::{Duration, Instant};
        // On a large stack, like a real run: dropping the nested array recurses.
        let message = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(|| {
                let limits = Limits {
                    max_script_time_s: 1,
                    ..Limits::default()
                };
                let ctx =
                    std::sync::Arc::new(RunContext::new(0, 1, false, limits, Params::default()));
                let host = Host::new(ctx, "nested.rhai", std::path::Path::new("."));
                let script = "let a = []; loop { a = [a]; }";
                let ast = host
                    .compile(std::path::Path::new("nested.rhai"), script)
                    .expect("compiles");
                let started = Instant::now();
                let err = host.run(&ast).expect_err("stopped");
                assert!(started.elapsed() < Duration::from_secs(30));
                err.message
            })
            .expect("spawn")
            .join()
            .expect("no panic");
        assert!(message.contains("--limit script-time="), "{message}");
    }
    use crate::sweep::params::Params;

    /// A host whose `script-time` limit is already used up: any compile of
    /// more than a few dozen tokens is stopped by the watchdog.
    fn host_without_script_time() -> Host {
        let limits = Limits {
            max_script_time_s: 0,
            ..Limits::default()
        };
        let ctx = Arc::new(RunContext::new(0, 1, false, limits, Params::default()));
        Host::new(ctx, "big.rhai", Path::new("."))
    }

    /// Compiling counts as script time, and a compile past the limit stops
    /// at the token it reached with the limit's error (Rhai's compile time
    /// grows with the square of the functions and variables of a source: a
    /// 4 MiB source of functions took over ten minutes).
    #[test]
    fn a_compile_past_the_script_time_limit_stops_with_the_limits_error() {
        let h = host_without_script_time();
        let source: String = (0..2000).map(|i| format!("let v{i} = {i};\n")).collect();
        let err = h
            .compile(Path::new("big.rhai"), &source)
            .expect_err("stopped by the watchdog");
        assert!(
            err.message.contains("compiling stopped here"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("--limit script-time=1"),
            "{}",
            err.message
        );
        assert!(err.to_string().starts_with("big.rhai:"), "{err}");
        // A module compiled while the script runs is stopped the same way.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("m.rhai"), &source).expect("module written");
        let ctx = Arc::new(RunContext::new(
            0,
            1,
            false,
            Limits {
                max_script_time_s: 0,
                ..Limits::default()
            },
            Params::default(),
        ));
        let h = Host::new(ctx, "main.rhai", dir.path());
        let ast = h
            .compile(&dir.path().join("main.rhai"), "import \"m\" as m;")
            .expect("a short main script compiles");
        let err = h.run(&ast).expect_err("the module's compile is stopped");
        assert!(err.message.contains("compiling stopped here"), "{err}");
        // So is a source given to `eval` while the script runs.
        let h = host_without_script_time();
        let script = format!("let x = 0; eval({source:?});");
        let ast = h.compile(Path::new("big.rhai"), &script);
        let err = match ast {
            Ok(ast) => h.run(&ast).expect_err("the eval's compile is stopped"),
            Err(e) => e,
        };
        assert!(err.message.contains("compiling stopped here"), "{err}");
    }

    /// Large sources compile to the same program, optimised or not.
    #[test]
    fn sources_past_the_optimiser_limit_compile_and_run() {
        let h = host();
        let n = guard::OPTIMIZE_MAX_TOKENS / 5 + 1;
        let mut source: String = (0..n).map(|i| format!("const c{i} = {i};\n")).collect();
        source.push_str(&format!(
            "if c{} != {} {{ throw \"wrong\"; }}",
            n - 1,
            n - 1
        ));
        let ast = h.compile(Path::new("big.rhai"), &source).expect("compiles");
        h.run(&ast).expect("runs");
    }

    fn host() -> Host {
        let ctx = Arc::new(RunContext::new(
            0,
            1,
            false,
            Limits::default(),
            Params::default(),
        ));
        Host::new(ctx, "test.rhai", Path::new("."))
    }

    /// Evaluates an expression and returns it as a string, or the error message.
    fn eval(h: &Host, expr: &str) -> Result<String, String> {
        let script = format!("let value = {{ {expr} }}; value.to_string()");
        h.engine
            .eval::<String>(&script)
            .map_err(|e| h.error(&e).message)
    }

    #[test]
    fn expressions_evaluate_as_documented() {
        let h = host();
        let cases = [
            ("ms(1) + us(500)", "1.5 ms"),
            ("(ms(3) / us(1)).to_string()", "3000.0"),
            ("ms(1.5).us()", "1500.0"),
            ("s(2) > ms(1999)", "true"),
            ("3 * ms(2) == ms(6)", "true"),
            ("ns(7).ns()", "7.0"),
            ("exp(us(50)).mean()", "50 µs"),
            ("uniform(us(10), us(30)).mean()", "20 µs"),
            (
                "repeat(2, [py(ms(1)), [sleep(us(5))]])",
                "repeat(2, [py(1 ms), sleep(5 µs)])",
            ),
            ("tasks(3, [py(ms(1))]).len()", "3"),
            (
                "python(#{ gil: \"old\" })",
                "python(gil \"old\", 0 threads, 1 processes, 1 interpreters, 0 pools)",
            ),
            ("let a = python(); a.add_lock(\"db\")", "lock(\"db\")"),
            ("machine(#{ cores: 3 })", "machine(3 cores)"),
            ("seed()", "0"),
        ];
        for (expr, want) in cases {
            assert_eq!(eval(&h, expr).as_deref(), Ok(want), "{expr}");
        }
    }

    #[test]
    fn bad_values_give_clear_errors() {
        let h = host();
        let cases = [
            ("ms(1) - ms(2)", "would be negative"),
            ("ms(1) / 0", "divided by a finite number > 0"),
            ("ms(1) / ms(0)", "division by a zero duration"),
            ("uniform(ms(2), ms(1))", "must not exceed"),
            ("lognormal(ms(1), -1)", "cv must be"),
            ("empirical([])", "must not be empty"),
            ("empirical([1])", "item [0] must be a Duration"),
            ("repeat(-1, [py(ms(1))])", "cannot be negative"),
            ("loop_for(ms(1), [])", "the body is empty"),
            (
                "let a = python(); a.add_lock(\"x\"); a.add_lock(\"x\")",
                "already exists",
            ),
            (
                "let a = python(); a.add_thread(\"t\", [])",
                "the program is empty",
            ),
            (
                "let a = python(); a.add_thread_pool(\"p\", 0, [])",
                "workers must be between 1",
            ),
            (
                "let a = python(); a.add_thread_pool(\"p\", 1, [py(ms(1))])",
                "must be a Task",
            ),
            (
                "machine(#{ scheduler: \"rr\", slice: ms(1) })",
                "applies to scheduler \"fair\", not \"rr\"",
            ),
            ("machine(#{ wake_jitter: 2 })", "between 0 and 1"),
            ("machine(#{ wake_sigma: 4 })", "between 0 and 3"),
            (
                "machine(#{ wake_jitter: 0.2, wake_sigma: 0.5 })",
                "wake_jitter (a uniform spread) or wake_sigma (a log-normal one), not both",
            ),
            (
                "python(#{ gil: \"new\", waiter: \"lifo\" })",
                "\"lifo\" is not one of \"fifo\", \"random\"",
            ),
            ("param(\"nope\")", "has no default and was not given"),
            ("table(\"t\", [\"a\", \"a\"])", "declared twice"),
            (
                "sweep(\"s\", #{ a: [1] }, #{ replicates: 0 }, |p| #{ x: 1 })",
                "between 1 and",
            ),
            (
                "sweep(\"s\", #{ a: [1] }, #{ order: [\"b\"] }, |p| #{ x: 1 })",
                "must list each grid parameter once",
            ),
        ];
        for (expr, want) in cases {
            match eval(&h, expr) {
                Ok(v) => panic!("{expr}: expected an error, got {v}"),
                Err(msg) => assert!(msg.contains(want), "{expr}: {msg}"),
            }
        }
    }
}
