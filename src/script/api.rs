//! How the API's areas register their functions: [`Api`] records each
//! function's documented signature as [`add!`] registers it, so `check` and
//! the docs test know every call. A leaf: it uses nothing of the API's areas.

use super::context::Limits;
use rhai::{Engine, EvalAltResult};

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
    /// An API that registers into `engine`, under `limits`.
    pub fn new(engine: &'e mut Engine, limits: Limits) -> Self {
        Api {
            engine,
            signatures: Vec::new(),
            limits,
        }
    }

    /// The documented signatures recorded so far.
    pub fn into_signatures(self) -> Vec<Signature> {
        self.signatures
    }

    /// The engine, for types and operators (which are not listed).
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
    }

    /// The run's limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Records `text` (`name(...)` or `Type.name(...)`) as a documented
    /// signature and returns the function's name. Used by `add!`.
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
