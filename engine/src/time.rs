//! Virtual time: integer nanoseconds, never floats.
//!
//! Orderings of events must be exact and reproducible on every machine, so an
//! instant is a `u64` count of nanoseconds since the start of a run and a span
//! is another `u64`. Conversions to seconds are for reporting only.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

/// A span of virtual time, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

/// An instant of virtual time: nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// `v.round() as u64` for 0 ≤ `v` < 2⁶⁴, without the libm call `round`
/// (a function call on the hot path of every jittered delay).
fn round_positive(v: f64) -> u64 {
    let i = v as u64;
    // Exact: below 2⁵³ the fraction is representable, above it `v` is whole.
    if v - i as f64 >= 0.5 {
        i + 1
    } else {
        i
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span (about 584 years).
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `n` nanoseconds.
    pub const fn ns(n: u64) -> Self {
        SimDuration(n)
    }
    /// A span of `n` microseconds (saturating).
    pub const fn us(n: u64) -> Self {
        SimDuration(n.saturating_mul(1_000))
    }
    /// A span of `n` milliseconds (saturating).
    pub const fn ms(n: u64) -> Self {
        SimDuration(n.saturating_mul(1_000_000))
    }
    /// A span of `n` seconds (saturating).
    pub const fn secs(n: u64) -> Self {
        SimDuration(n.saturating_mul(1_000_000_000))
    }
    /// Converts seconds given as a float, rounding to the nearest nanosecond.
    /// Returns `None` for NaN, infinite, negative or too large values.
    pub fn from_secs_f64(s: f64) -> Option<Self> {
        let ns = s * 1e9;
        if ns.is_finite() && ns >= 0.0 && ns < u64::MAX as f64 {
            Some(SimDuration(round_positive(ns)))
        } else {
            None
        }
    }
    /// Nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds, as a float (for reporting).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Milliseconds, as a float (for reporting).
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// Microseconds, as a float (for reporting).
    pub fn as_micros_f64(self) -> f64 {
        self.0 as f64 / 1e3
    }
    /// `self * k`, rounded to the nearest nanosecond and saturating; `k` must be finite and ≥ 0.
    pub fn mul_f64(self, k: f64) -> Self {
        let v = self.0 as f64 * k;
        if v.is_nan() || v <= 0.0 {
            SimDuration(0)
        } else if v >= u64::MAX as f64 {
            SimDuration::MAX
        } else {
            SimDuration(round_positive(v))
        }
    }
    /// Saturating addition.
    pub const fn saturating_add(self, o: SimDuration) -> Self {
        SimDuration(self.0.saturating_add(o.0))
    }
    /// Saturating subtraction.
    pub const fn saturating_sub(self, o: SimDuration) -> Self {
        SimDuration(self.0.saturating_sub(o.0))
    }
    /// Addition, `None` if the sum does not fit (past [`SimDuration::MAX`]).
    pub const fn checked_add(self, o: SimDuration) -> Option<Self> {
        match self.0.checked_add(o.0) {
            Some(v) => Some(SimDuration(v)),
            None => None,
        }
    }
    /// Multiplication by a count, `None` if the product does not fit.
    pub const fn checked_mul(self, k: u64) -> Option<Self> {
        match self.0.checked_mul(k) {
            Some(v) => Some(SimDuration(v)),
            None => None,
        }
    }
}

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// The end of time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds since the start, as a float (for reporting).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// `self + d`, `None` if it would reach or pass [`SimTime::MAX`] (the
    /// end of virtual time, which `+` saturates to and which means "never").
    pub const fn checked_add(self, d: SimDuration) -> Option<SimTime> {
        match self.0.checked_add(d.0) {
            Some(v) if v < u64::MAX => Some(SimTime(v)),
            _ => None,
        }
    }
    /// The span from `earlier` to `self` (zero if `earlier` is later).
    pub const fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, o: SimTime) -> SimDuration {
        self.since(o)
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, o: SimDuration) -> SimDuration {
        self.saturating_add(o)
    }
}
impl AddAssign for SimDuration {
    fn add_assign(&mut self, o: SimDuration) {
        *self = *self + o;
    }
}
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, o: SimDuration) -> SimDuration {
        self.saturating_sub(o)
    }
}

impl Mul<u64> for SimDuration {
    type Output = SimDuration;
    /// Saturating multiplication by a count.
    fn mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }
}

fn fmt_ns(ns: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ns >= 1_000_000_000 {
        write!(f, "{} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        write!(f, "{} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        write!(f, "{} µs", ns as f64 / 1e3)
    } else {
        write!(f, "{ns} ns")
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_ns(self.0, f)
    }
}
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t=")?;
        fmt_ns(self.0, f)
    }
}

#[cfg(test)]
mod checked_tests {
    use super::{SimDuration, SimTime};

    #[test]
    fn checked_arithmetic_refuses_what_saturation_hides() {
        let year = SimDuration::secs(365 * 86_400);
        let t = SimTime::ZERO + year * 400;
        assert_eq!(t.checked_add(year), Some(SimTime::ZERO + year * 401));
        assert_eq!(t.checked_add(year * 400), None, "800 years do not fit");
        assert_eq!(t + year * 400, SimTime::MAX, "while + saturates");
        assert_eq!(SimTime(u64::MAX - 1).checked_add(SimDuration(1)), None);
        assert_eq!(SimDuration::MAX.checked_add(SimDuration(1)), None);
        assert_eq!(year.checked_mul(2), Some(year * 2));
        assert_eq!(year.checked_mul(1000), None);
    }
}

#[cfg(test)]
mod rounding_tests {
    use super::round_positive;

    #[test]
    fn rounds_like_f64_round() {
        let mut x: u64 = 0x243f_6a88_85a3_08d3;
        let mut values = vec![
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            1e19,
        ];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 1e7);
        }
        for v in values {
            assert_eq!(round_positive(v), v.round() as u64, "{v}");
        }
    }
}
