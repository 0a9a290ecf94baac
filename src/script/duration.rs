//! `Duration`: virtual time with units.
//!
//! `ns(n)`, `us(n)`, `ms(n)`, `s(n)` build one from an integer or a float
//! (rounded to the nearest nanosecond); a negative, NaN, infinite or
//! too-large value is an error naming it. Durations add and subtract (a
//! negative result is an error, not a silent zero), scale by numbers, divide
//! into a ratio, compare, and convert back with `.ns()`, `.us()`, `.ms()`,
//! `.s()` (floats). They print with a unit: `5 ms`, `50 µs`.

use super::api::add;
use super::api::{Api, RhaiResult};
use gilsim_engine::SimDuration;
use rhai::{FLOAT, INT};

/// A number for a message: plain when readable, scientific when very large or small.
fn num(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

fn from_int(unit: &str, per: u64, n: INT) -> RhaiResult<SimDuration> {
    if n < 0 {
        return Err(format!("{unit}({n}): a duration cannot be negative").into());
    }
    (n as u64)
        .checked_mul(per)
        .map(SimDuration)
        .ok_or_else(|| format!("{unit}({n}): too large, durations go up to about 584 years").into())
}

fn from_float(unit: &str, per: u64, x: FLOAT) -> RhaiResult<SimDuration> {
    if !x.is_finite() || x < 0.0 {
        return Err(format!(
            "{unit}({}): a duration must be a finite number >= 0",
            num(x)
        )
        .into());
    }
    let ns = x * per as f64;
    if ns >= u64::MAX as f64 {
        return Err(format!(
            "{unit}({}): too large, durations go up to about 584 years",
            num(x)
        )
        .into());
    }
    Ok(SimDuration(ns.round() as u64))
}

/// `d * k`, checked.
pub fn scale(d: SimDuration, k: FLOAT) -> RhaiResult<SimDuration> {
    if !k.is_finite() || k < 0.0 {
        return Err(
            format!("{d} * {k}: a duration can only be scaled by a finite number >= 0").into(),
        );
    }
    let v = d.0 as f64 * k;
    if v >= u64::MAX as f64 {
        return Err(format!("{d} * {k}: the result is too large").into());
    }
    Ok(SimDuration(v.round() as u64))
}

fn divide(d: SimDuration, k: FLOAT) -> RhaiResult<SimDuration> {
    if !k.is_finite() || k <= 0.0 {
        return Err(
            format!("{d} / {k}: a duration can only be divided by a finite number > 0").into(),
        );
    }
    scale(d, 1.0 / k)
}

fn add(a: SimDuration, b: SimDuration) -> RhaiResult<SimDuration> {
    a.0.checked_add(b.0)
        .map(SimDuration)
        .ok_or_else(|| format!("{a} + {b}: the result is too large").into())
}

fn sub(a: SimDuration, b: SimDuration) -> RhaiResult<SimDuration> {
    a.0.checked_sub(b.0).map(SimDuration).ok_or_else(|| {
        format!("{a} - {b}: the result would be negative, and a duration cannot be").into()
    })
}

fn ratio(a: SimDuration, b: SimDuration) -> RhaiResult<FLOAT> {
    if b.0 == 0 {
        return Err(format!("{a} / {b}: division by a zero duration").into());
    }
    Ok(a.0 as f64 / b.0 as f64)
}

/// Registers the type, its constructors, operators and conversions.
pub fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<SimDuration>("Duration");
    add!(api, "ns(n: int|float) -> Duration", |n: INT| from_int(
        "ns", 1, n
    ));
    api.engine()
        .register_fn("ns", |x: FLOAT| from_float("ns", 1, x));
    add!(api, "us(n: int|float) -> Duration", |n: INT| from_int(
        "us", 1_000, n
    ));
    api.engine()
        .register_fn("us", |x: FLOAT| from_float("us", 1_000, x));
    add!(api, "ms(n: int|float) -> Duration", |n: INT| from_int(
        "ms", 1_000_000, n
    ));
    api.engine()
        .register_fn("ms", |x: FLOAT| from_float("ms", 1_000_000, x));
    add!(api, "s(n: int|float) -> Duration", |n: INT| from_int(
        "s",
        1_000_000_000,
        n
    ));
    api.engine()
        .register_fn("s", |x: FLOAT| from_float("s", 1_000_000_000, x));
    // A missing measurement (`()`, e.g. the latency of a thread without
    // ops) stays missing through a unit conversion: an empty CSV cell.
    for unit in ["ns", "us", "ms", "s"] {
        let sig = format!("{unit}(missing: ()) -> ()");
        let name = api.record(&sig);
        api.engine().register_fn(name, |_: ()| ());
    }
    add!(api, "Duration.ns() -> float", |d: &mut SimDuration| d.0
        as f64);
    add!(api, "Duration.us() -> float", |d: &mut SimDuration| d.0
        as f64
        / 1e3);
    add!(api, "Duration.ms() -> float", |d: &mut SimDuration| d.0
        as f64
        / 1e6);
    add!(api, "Duration.s() -> float", |d: &mut SimDuration| d.0
        as f64
        / 1e9);

    let e = api.engine();
    e.register_fn("+", add);
    e.register_fn("-", sub);
    e.register_fn("*", |d: SimDuration, k: INT| scale(d, k as f64));
    e.register_fn("*", |k: INT, d: SimDuration| scale(d, k as f64));
    e.register_fn("*", scale);
    e.register_fn("*", |k: FLOAT, d: SimDuration| scale(d, k));
    e.register_fn("/", |d: SimDuration, k: INT| divide(d, k as f64));
    e.register_fn("/", divide);
    e.register_fn("/", ratio);
    e.register_fn("==", |a: SimDuration, b: SimDuration| a == b);
    e.register_fn("!=", |a: SimDuration, b: SimDuration| a != b);
    e.register_fn("<", |a: SimDuration, b: SimDuration| a < b);
    e.register_fn("<=", |a: SimDuration, b: SimDuration| a <= b);
    e.register_fn(">", |a: SimDuration, b: SimDuration| a > b);
    e.register_fn(">=", |a: SimDuration, b: SimDuration| a >= b);
    e.register_fn("to_string", |d: &mut SimDuration| d.to_string());
    e.register_fn("to_debug", |d: &mut SimDuration| d.to_string());
    add!(
        api,
        "min(a: Duration, b: Duration) -> Duration",
        |a: SimDuration, b: SimDuration| a.min(b)
    );
    add!(
        api,
        "max(a: Duration, b: Duration) -> Duration",
        |a: SimDuration, b: SimDuration| a.max(b)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_round_and_refuse_bad_values() {
        assert_eq!(
            from_float("ms", 1_000_000, 1.5).unwrap(),
            SimDuration(1_500_000)
        );
        assert_eq!(from_float("ns", 1, 0.4).unwrap(), SimDuration(0));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e30] {
            let msg = from_float("s", 1_000_000_000, bad).unwrap_err().to_string();
            assert!(msg.contains(&format!("s({})", num(bad))), "{msg}");
        }
        assert!(from_int("us", 1_000, -3)
            .unwrap_err()
            .to_string()
            .contains("us(-3)"));
        assert!(from_int("s", 1_000_000_000, i64::MAX).is_err());
        assert!(sub(SimDuration(1), SimDuration(2))
            .unwrap_err()
            .to_string()
            .contains("negative"));
        assert_eq!(divide(SimDuration(10), 4.0).unwrap(), SimDuration(3));
        assert!(divide(SimDuration(10), 0.0).is_err());
    }
}
