//! The Rhai API over the engine: what an experiment script can call.
//!
//! One file per area, each with a `register` function:
//!
//! | file | script values and functions |
//! |---|---|
//! | `duration.rs` | `Duration`: `ns` `us` `ms` `s`, arithmetic, conversions |
//! | `dist.rs` | `Dist`: `fixed` `uniform` `exp` `lognormal` `normal` `empirical` |
//! | `workload.rs` | `Step`, `Task`: `py` `c` `io` `sleep` `repeat` `loop_for` `acquire` ... |
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
//!
//! [`Host`] assembles the engine (limits, strict variables and map
//! properties, the module resolver) and runs or checks a script.

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
mod sweep;
mod table;
mod workload;

pub use context::{FigureNote, Limits, RunContext};
pub use errors::ScriptError;

use resolver::{Resolver, Sources};
use rhai::{Dynamic, Engine, EvalAltResult, Shared, AST};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Result of a function scripts call.
pub type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// One documented signature of the API.
#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    /// The function's name (`thread` for `Program.thread(...)`).
    pub name: String,
    /// The signature as documented, e.g. `py(d: Duration) -> Step`.
    pub text: String,
}

/// Registers functions and records their documented signatures.
pub struct Api<'e> {
    engine: &'e mut Engine,
    signatures: Vec<Signature>,
    limits: Limits,
}

impl<'e> Api<'e> {
    /// The engine, for types and operators (which are not listed).
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
    }

    /// The run's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Records `text` (`name(...)` or `Type.name(...)`) as a documented
    /// signature and returns the function's name. Used by [`add!`].
    pub fn record(&mut self, text: &str) -> String {
        let head = text.split('(').next().unwrap_or(text);
        let name = head.rsplit('.').next().unwrap_or(head).to_string();
        self.signatures.push(Signature {
            name: name.clone(),
            text: text.to_string(),
        });
        name
    }
}

/// Registers a function under the name in its documented signature and
/// records the signature: `add!(api, "py(d: Duration) -> Step", |d| ...)`.
/// (A macro because `register_fn`'s bounds name a trait Rhai exports only
/// with its `internals` feature.)
macro_rules! add {
    ($api:expr, $sig:expr, $f:expr $(,)?) => {{
        let name = $api.record($sig);
        $api.engine().register_fn(name, $f);
    }};
}
pub(crate) use add;

/// How a value is shown in error messages: its type and, when short, its value.
pub fn describe(v: &Dynamic) -> String {
    use gilsim_engine::{Dist, SimDuration};
    let v = v.flatten_clone();
    if v.is_unit() {
        return "()".into();
    }
    if let Ok(i) = v.as_int() {
        return format!("the integer {i}");
    }
    if let Ok(x) = v.as_float() {
        return format!("the float {x}");
    }
    if let Ok(b) = v.as_bool() {
        return format!("the bool {b}");
    }
    if v.is_string() {
        let s = v.into_string().unwrap_or_default();
        let short: String = s.chars().take(40).collect();
        let ell = if short.len() < s.len() { "..." } else { "" };
        return format!("the string \"{short}{ell}\"");
    }
    if v.is_array() {
        return format!(
            "an array of {} items",
            v.into_array().map(|a| a.len()).unwrap_or(0)
        );
    }
    if v.is_map() {
        return "a map".into();
    }
    if let Some(d) = v.clone().try_cast::<SimDuration>() {
        return format!("the Duration {d}");
    }
    if let Some(d) = v.clone().try_cast::<Dist>() {
        return format!("the Dist {}", dist::show(&d));
    }
    if let Some(s) = v.clone().try_cast::<workload::Step>() {
        return format!("the step {s}");
    }
    let name = match v.type_name() {
        n if n.ends_with("ThreadRef") => "a Thread",
        n if n.ends_with("ProcessRef") => "a Process",
        n if n.ends_with("InterpRef") => "an Interpreter",
        n if n.ends_with("LockRef") => "a Lock",
        n if n.ends_with("QueueRef") => "a Queue",
        n if n.ends_with("DeviceRef") => "a Device",
        n if n.ends_with("PoolRef") => "a Pool",
        n if n.ends_with("Program") => "a Program",
        n if n.ends_with("MachineConfig") => "a Machine",
        n if n.ends_with("RunReport") => "a Report",
        n if n.ends_with("ThreadResult") => "a ThreadReport",
        n if n.ends_with("CoreResult") => "a CoreReport",
        n if n.ends_with("GilResult") => "a GilReport",
        n if n.ends_with("Table") => "a Table",
        n if n.ends_with("SweepResult") => "a Sweep",
        n if n.ends_with("Task") => "a Task",
        n if n.ends_with("FnPtr") => "a function",
        n => return format!("a value of type {n}"),
    };
    name.to_string()
}

/// Writes a line to stdout, ignoring a closed pipe (never panics).
fn print_line(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
}

/// A configured Rhai engine for one run, and what it needs to report errors.
pub struct Host {
    engine: Engine,
    sources: Shared<Sources>,
    signatures: Arc<Vec<Signature>>,
    main: String,
    limits: Limits,
}

impl Host {
    /// An engine for the script `main` (its name as shown in errors) in `dir`.
    pub fn new(ctx: Arc<RunContext>, main: &str, dir: &Path) -> Host {
        let limits = ctx.limits.clone();
        let sources = Shared::new(Sources::default());
        ctx.attach_sources(sources.clone());
        let interrupt = ctx.interrupt.clone();
        let clock = guard::ScriptClock::new(limits.max_script_time_s);
        let max_memory = limits.max_memory;
        let mut engine = Engine::new();
        engine
            .set_fail_on_invalid_map_property(true)
            .set_strict_variables(true)
            .set_max_operations(limits.max_ops)
            .set_max_call_levels(limits.max_call_levels)
            .set_max_expr_depths(limits.max_expr_depth.0, limits.max_expr_depth.1)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_modules(limits.max_modules)
            .set_module_resolver(
                Resolver::new(dir, sources.clone()).with_max_modules(limits.max_modules),
            )
            .on_progress(move |ops| {
                if interrupt.is_set() {
                    Some(Dynamic::UNIT)
                } else if crate::support::memory::live_bytes() > max_memory {
                    Some(guard::MEMORY_TOKEN.into())
                } else if clock.tick(ops) {
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
        let signatures = register_api(&mut engine, ctx);
        Host {
            engine,
            sources,
            signatures: Arc::new(signatures),
            main: main.to_string(),
            limits,
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
        let mut ast = self
            .engine
            .compile(text)
            .map_err(|e| self.error(&EvalAltResult::from(e)))?;
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

fn register_api(engine: &mut Engine, ctx: Arc<RunContext>) -> Vec<Signature> {
    let mut api = Api {
        engine,
        signatures: Vec::new(),
        limits: ctx.limits.clone(),
    };
    duration::register(&mut api);
    dist::register(&mut api);
    workload::register(&mut api);
    model::register(&mut api, &ctx.limits, ctx.profile.clone());
    profile::register(&mut api, ctx.profile.clone());
    result::register(&mut api, ctx.clone());
    table::register(&mut api, ctx.clone());
    figure::register(&mut api, ctx.clone());
    findings::register(&mut api, ctx.clone());
    sweep::register(&mut api, ctx.clone());
    param::register(&mut api, ctx);
    api.signatures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::params::Params;

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
