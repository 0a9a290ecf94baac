//! Sentences for the report: `finding(text)` and `fmt(x, digits)`.
//!
//! `finding` appends a sentence to the `findings` array of `manifest.json`,
//! in call order; `gilsim report` shows them beside the figures. `fmt`
//! formats a number for such sentences with a fixed number of decimals.

use super::api::add;
use super::api::{Api, RhaiResult};
use super::context::RunContext;
use super::sweep;
use rhai::{FLOAT, INT};
use std::sync::Arc;

/// Most decimals `fmt` writes.
pub const MAX_DIGITS: INT = 17;

/// Longest finding, in characters.
const MAX_FINDING: usize = 4000;

fn check_digits(x: &str, digits: INT) -> RhaiResult<usize> {
    if (0..=MAX_DIGITS).contains(&digits) {
        Ok(digits as usize)
    } else {
        Err(format!("fmt({x}, {digits}): digits must be between 0 and {MAX_DIGITS}").into())
    }
}

/// `x` with exactly `digits` decimals; NaN and infinities as `NaN`, `inf`,
/// `-inf`; a result that rounds to zero never carries a minus sign.
pub fn fmt_float(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let s = format!("{x:.digits$}");
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

/// An integer with exactly `digits` decimals (all zero), exact for any size.
pub fn fmt_int(i: INT, digits: usize) -> String {
    if digits == 0 {
        i.to_string()
    } else {
        format!("{i}.{}", "0".repeat(digits))
    }
}

fn finding(ctx: &RunContext, text: &str) -> RhaiResult<()> {
    if sweep::in_point() {
        return Err("finding() cannot be called inside a sweep point (points run in parallel, so the order of findings would be unclear); compute the sentence from the sweep's results after it".into());
    }
    let text = text.trim();
    if text.is_empty() {
        return Err("finding(\"\"): the sentence is empty".into());
    }
    if text.chars().count() > MAX_FINDING {
        return Err(
            format!("finding(...): the sentence is longer than {MAX_FINDING} characters").into(),
        );
    }
    ctx.findings
        .lock()
        .map_err(|_| "internal error: the findings lock is poisoned")?
        .push(text.to_string());
    Ok(())
}

/// Registers `finding` and `fmt`.
pub fn register(api: &mut Api, ctx: Arc<RunContext>) {
    add!(api, "finding(text: string)", move |text: &str| finding(
        &ctx, text
    ));
    add!(
        api,
        "fmt(x: int|float, digits: int) -> string",
        |x: FLOAT, digits: INT| -> RhaiResult<String> {
            Ok(fmt_float(x, check_digits(&x.to_string(), digits)?))
        }
    );
    api.engine()
        .register_fn("fmt", |i: INT, digits: INT| -> RhaiResult<String> {
            Ok(fmt_int(i, check_digits(&i.to_string(), digits)?))
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_exactly_the_decimals_asked_for() {
        let cases = [
            (1.0 / 3.0, 3, "0.333"),
            (2.5, 0, "2"),
            (3.5, 0, "4"),
            (1234.5678, 1, "1234.6"),
            (-0.0001, 2, "0.00"),
            (-1.25, 1, "-1.2"),
            (f64::NAN, 2, "NaN"),
            (f64::INFINITY, 1, "inf"),
            (f64::NEG_INFINITY, 0, "-inf"),
            (1e20, 0, "100000000000000000000"),
        ];
        for (x, d, want) in cases {
            assert_eq!(fmt_float(x, d), want, "{x} {d}");
        }
        assert_eq!(fmt_int(42, 2), "42.00");
        assert_eq!(fmt_int(-7, 0), "-7");
        assert_eq!(fmt_int(i64::MAX, 1), "9223372036854775807.0");
    }
}
