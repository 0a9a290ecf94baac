//! Arrival processes of open workloads, as script values (`Arrivals`):
//! `poisson(per_s)`, `periodic(per_s)`, `bursts(per_s, on, off)` and
//! `replay(times)`, given to `app.add_source` (engine `source.rs`).

use crate::script::api::{add, Api, RhaiResult};
use crate::script::values::describe;
use gilsim_engine::{Arrivals, SimDuration, MAX_RATE};
use rhai::{Array, FLOAT, INT};

/// Most times `replay` takes.
pub const MAX_REPLAY: usize = 10_000_000;

/// The text of an arrival process, as a script writes it.
pub fn show(a: &Arrivals) -> String {
    match a {
        Arrivals::Poisson { per_s } => format!("poisson({per_s})"),
        Arrivals::Periodic { per_s } => format!("periodic({per_s})"),
        Arrivals::Bursts { per_s, on, off } => format!("bursts({per_s}, {on}, {off})"),
        Arrivals::Replay(times) => format!("replay({} times)", times.len()),
    }
}

fn rate(what: &str, per_s: f64) -> RhaiResult<f64> {
    if per_s.is_finite() && per_s > 0.0 && per_s <= MAX_RATE {
        Ok(per_s)
    } else {
        Err(format!(
            "{what}: the rate {per_s} must be above 0 and at most {MAX_RATE:e} requests per second"
        )
        .into())
    }
}

fn bursts(per_s: f64, on: SimDuration, off: SimDuration) -> RhaiResult<Arrivals> {
    let per_s = rate(&format!("bursts({per_s}, {on}, {off})"), per_s)?;
    if on.0 == 0 {
        return Err(
            format!("bursts({per_s}, {on}, {off}): the on phase must be longer than 0").into(),
        );
    }
    Ok(Arrivals::Bursts { per_s, on, off })
}

fn replay(times: Array) -> RhaiResult<Arrivals> {
    if times.len() > MAX_REPLAY {
        return Err(format!("replay(...): {} times; at most {MAX_REPLAY}", times.len()).into());
    }
    let mut out: Vec<SimDuration> = Vec::with_capacity(times.len());
    for (i, t) in times.into_iter().enumerate() {
        let Some(d) = t.clone().try_cast::<SimDuration>() else {
            return Err(format!(
                "replay(...): item [{i}] must be a Duration (the time since the source's start) like ms(12), got {}",
                describe(&t)
            )
            .into());
        };
        if let Some(&before) = out.last() {
            if d < before {
                return Err(format!(
                    "replay(...): item [{i}] is {d}, before item [{}] ({before}); give the times in order",
                    i - 1
                )
                .into());
            }
        }
        out.push(d);
    }
    Ok(Arrivals::Replay(out))
}

/// Registers `Arrivals` and its constructors.
pub fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<Arrivals>("Arrivals")
        .register_fn("to_string", |a: &mut Arrivals| show(a))
        .register_fn("to_debug", |a: &mut Arrivals| show(a));
    add!(api, "poisson(per_s: float) -> Arrivals", |r: FLOAT| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Arrivals::Poisson {
            per_s: rate(&format!("poisson({r})"), r)?
        }
    ));
    add!(api, "poisson(per_s: int) -> Arrivals", |r: INT| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Arrivals::Poisson {
            per_s: rate(&format!("poisson({r})"), r as f64)?
        }
    ));
    add!(api, "periodic(per_s: float) -> Arrivals", |r: FLOAT| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Arrivals::Periodic {
            per_s: rate(&format!("periodic({r})"), r)?
        }
    ));
    add!(api, "periodic(per_s: int) -> Arrivals", |r: INT| Ok::<
        _,
        Box<rhai::EvalAltResult>,
    >(
        Arrivals::Periodic {
            per_s: rate(&format!("periodic({r})"), r as f64)?
        }
    ));
    add!(
        api,
        "bursts(per_s: float, on: Duration, off: Duration) -> Arrivals",
        |r: FLOAT, on: SimDuration, off: SimDuration| bursts(r, on, off)
    );
    add!(
        api,
        "bursts(per_s: int, on: Duration, off: Duration) -> Arrivals",
        |r: INT, on: SimDuration, off: SimDuration| bursts(r as f64, on, off)
    );
    add!(api, "replay(times: array) -> Arrivals", replay);
}
