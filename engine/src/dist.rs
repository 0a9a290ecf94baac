//! Latency distributions of blocking calls (I/O, pipes).
//!
//! Every sample is rounded to whole nanoseconds; `normal` is truncated at 0
//! (a negative latency is resampled as 0, which keeps the stream in step).

use crate::rng::StreamRng;
use crate::time::SimDuration;
use rand_distr::{Distribution, Exp, LogNormal, Normal};

/// A distribution of durations.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always the same duration.
    Fixed(SimDuration),
    /// Uniform between `lo` and `hi` (inclusive of `lo`).
    Uniform {
        /// Smallest value.
        lo: SimDuration,
        /// Largest value.
        hi: SimDuration,
    },
    /// Exponential with the given mean (memoryless service, e.g. a network RTT tail).
    Exp {
        /// The mean.
        mean: SimDuration,
    },
    /// Log-normal with the given mean and coefficient of variation (sd / mean).
    LogNormal {
        /// The mean.
        mean: SimDuration,
        /// Coefficient of variation (standard deviation / mean).
        cv: f64,
    },
    /// Normal with mean and standard deviation, truncated at 0.
    Normal {
        /// The mean.
        mean: SimDuration,
        /// The standard deviation.
        sd: SimDuration,
    },
    /// Each sample is drawn uniformly from this list (measured latencies).
    Empirical(Vec<SimDuration>),
}

impl Dist {
    /// The distribution's mean (for the empirical list, its average).
    pub fn mean(&self) -> SimDuration {
        match self {
            Dist::Fixed(d) => *d,
            Dist::Uniform { lo, hi } => SimDuration((lo.0 / 2).saturating_add(hi.0 / 2)),
            Dist::Exp { mean } | Dist::LogNormal { mean, .. } | Dist::Normal { mean, .. } => *mean,
            Dist::Empirical(v) if v.is_empty() => SimDuration::ZERO,
            Dist::Empirical(v) => {
                let sum: u128 = v.iter().map(|d| u128::from(d.0)).sum();
                SimDuration((sum / v.len() as u128) as u64)
            }
        }
    }

    /// Checks the parameters; the message says what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Dist::Uniform { lo, hi } if lo > hi => {
                Err(format!("uniform: lo ({lo}) must not exceed hi ({hi})"))
            }
            Dist::LogNormal { cv, .. } if !(cv.is_finite() && *cv >= 0.0) => Err(format!(
                "lognormal: cv must be a finite number >= 0, got {cv}"
            )),
            Dist::Empirical(v) if v.is_empty() => {
                Err("empirical: the list of durations must not be empty".into())
            }
            _ => Ok(()),
        }
    }

    /// Draws one duration from `rng`.
    pub fn sample(&self, rng: &mut StreamRng) -> SimDuration {
        // A sample too large for a duration saturates at the end of virtual
        // time, which the event loop reports as an overflow naming the step;
        // it must not become 0 ns (a run that looks complete).
        let ns = |x: f64| {
            SimDuration::from_secs_f64(x / 1e9).unwrap_or(if x > 0.0 {
                SimDuration::MAX
            } else {
                SimDuration::ZERO
            })
        };
        match self {
            Dist::Fixed(d) => *d,
            Dist::Uniform { lo, hi } => {
                if lo == hi {
                    *lo
                } else {
                    let u: f64 = rand_distr::StandardUniform.sample(rng);
                    ns(lo.0 as f64 + u * (hi.0 - lo.0) as f64)
                }
            }
            Dist::Exp { mean } => {
                if mean.0 == 0 {
                    return SimDuration::ZERO;
                }
                let e: f64 = Exp::new(1.0).map(|d| d.sample(rng)).unwrap_or(1.0);
                ns(e * mean.0 as f64)
            }
            Dist::LogNormal { mean, cv } => {
                if mean.0 == 0 || *cv == 0.0 {
                    return *mean;
                }
                // Parameters of the underlying normal from mean and cv.
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = (mean.0 as f64).ln() - sigma2 / 2.0;
                match LogNormal::new(mu, sigma2.sqrt()) {
                    Ok(d) => ns(d.sample(rng)),
                    Err(_) => *mean,
                }
            }
            Dist::Normal { mean, sd } => match Normal::new(mean.0 as f64, sd.0 as f64) {
                Ok(d) => ns(d.sample(rng).max(0.0)),
                Err(_) => *mean,
            },
            Dist::Empirical(v) => {
                if v.is_empty() {
                    return SimDuration::ZERO;
                }
                let u: f64 = rand_distr::StandardUniform.sample(rng);
                let i = ((u * v.len() as f64) as usize).min(v.len() - 1);
                v[i]
            }
        }
    }
}
