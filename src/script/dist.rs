//! `Dist`: latency distributions of blocking calls.
//!
//! `fixed(d)`, `uniform(lo, hi)`, `exp(mean)`, `lognormal(mean, cv)`,
//! `normal(mean, sd)` (truncated at 0) and `empirical([d1, d2, ...])`.
//! Parameters are checked where the distribution is written, so the error
//! points at that line. Wherever a `Dist` is expected a plain `Duration` is
//! accepted as a fixed latency.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::values::describe;
use gilsim_engine::{Dist, SimDuration};
use rhai::{Array, Dynamic, FLOAT, INT};

fn checked(d: Dist) -> RhaiResult<Dist> {
    d.validate().map_err(|msg| msg.into()).map(|_| d)
}

fn lognormal(mean: SimDuration, cv: FLOAT) -> RhaiResult<Dist> {
    checked(Dist::LogNormal { mean, cv })
}

fn empirical(list: Array) -> RhaiResult<Dist> {
    let mut v = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let item = item.flatten();
        match item.clone().try_cast::<SimDuration>() {
            Some(d) => v.push(d),
            None => {
                return Err(format!(
                    "empirical: item [{i}] must be a Duration like us(80), got {}",
                    describe(&item)
                )
                .into())
            }
        }
    }
    checked(Dist::Empirical(v))
}

/// A `Dist` from a `Dist` or a `Duration` (fixed).
pub fn from_dynamic(v: &Dynamic) -> Option<Dist> {
    let v = v.flatten_clone();
    if let Some(d) = v.clone().try_cast::<Dist>() {
        return Some(d);
    }
    v.try_cast::<SimDuration>().map(Dist::Fixed)
}

pub use super::values::show_dist as show;

/// Registers the type and its constructors.
pub fn register(api: &mut Api) {
    api.engine().register_type_with_name::<Dist>("Dist");
    add!(api, "fixed(d: Duration) -> Dist", Dist::Fixed);
    add!(
        api,
        "uniform(lo: Duration, hi: Duration) -> Dist",
        |lo: SimDuration, hi: SimDuration| { checked(Dist::Uniform { lo, hi }) }
    );
    add!(api, "exp(mean: Duration) -> Dist", |mean: SimDuration| {
        Dist::Exp { mean }
    });
    add!(
        api,
        "lognormal(mean: Duration, cv: float) -> Dist",
        lognormal
    );
    api.engine()
        .register_fn("lognormal", |mean: SimDuration, cv: INT| {
            lognormal(mean, cv as f64)
        });
    add!(
        api,
        "normal(mean: Duration, sd: Duration) -> Dist",
        |mean: SimDuration, sd: SimDuration| Dist::Normal { mean, sd }
    );
    add!(api, "empirical(list: array of Duration) -> Dist", empirical);
    add!(api, "Dist.mean() -> Duration", |d: &mut Dist| d.mean());
    let e = api.engine();
    e.register_fn("to_string", |d: &mut Dist| show(d));
    e.register_fn("to_debug", |d: &mut Dist| show(d));
    e.register_fn("==", |a: Dist, b: Dist| a == b);
    e.register_fn("!=", |a: Dist, b: Dist| a != b);
}
