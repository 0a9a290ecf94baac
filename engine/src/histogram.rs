//! A log-linear latency histogram with bounded memory.
//!
//! Values (nanoseconds) below 256 are exact; above, each power of two is split
//! into 128 buckets, so a percentile is within 1/128 (0.8%) of the true sample.
//! Memory does not grow with the number of samples, so a long run costs the
//! same as a short one.

use crate::time::SimDuration;

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS; // 128
const EXACT: u64 = 2 * SUB; // values below are stored exactly

/// Counts of durations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // > SUB_BITS
    let shift = msb - SUB_BITS;
    let sub = (v >> shift) - SUB; // 0..SUB
    (EXACT + u64::from(shift - 1) * SUB + sub) as usize
}

fn bucket_low(i: usize) -> u64 {
    let i = i as u64;
    if i < EXACT {
        return i;
    }
    let shift = (i - EXACT) / SUB + 1;
    let sub = (i - EXACT) % SUB;
    (SUB + sub) << shift
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram::default()
    }
    /// Records one duration.
    pub fn record(&mut self, d: SimDuration) {
        let v = d.0;
        let b = bucket_of(v);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        if self.total == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.total += 1;
        self.sum += u128::from(v);
    }
    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.total == 0 {
            return;
        }
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        if self.total == 0 || other.min < self.min {
            self.min = other.min;
        }
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.sum += other.sum;
    }
    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.total
    }
    /// Sum of the samples, in nanoseconds (exact).
    pub fn sum_nanos(&self) -> u128 {
        self.sum
    }
    /// Mean, or zero without samples.
    pub fn mean(&self) -> SimDuration {
        if self.total == 0 {
            SimDuration::ZERO
        } else {
            SimDuration((self.sum / u128::from(self.total)) as u64)
        }
    }
    /// Smallest sample (zero without samples).
    pub fn min(&self) -> SimDuration {
        SimDuration(self.min)
    }
    /// Largest sample (zero without samples).
    pub fn max(&self) -> SimDuration {
        SimDuration(self.max)
    }
    /// The `p`-th percentile (0–100), by the nearest-rank method, reported as
    /// the lower edge of its bucket clamped to [min, max]. Zero without samples.
    pub fn percentile(&self, p: f64) -> SimDuration {
        if self.total == 0 {
            return SimDuration::ZERO;
        }
        let p = if p.is_nan() {
            50.0
        } else {
            p.clamp(0.0, 100.0)
        };
        let rank = ((p / 100.0 * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            return SimDuration(self.max);
        }
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return SimDuration(bucket_low(i).clamp(self.min, self.max));
            }
        }
        SimDuration(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn buckets_are_monotone_and_tight() {
        let mut last = 0;
        for v in (0..200_000u64).chain([1 << 40, u64::MAX / 3, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last || v > 200_000);
            last = b;
            let lo = bucket_low(b);
            assert!(lo <= v, "v={v} lo={lo}");
            assert!((v - lo) as f64 <= v as f64 / 128.0 + 1.0, "v={v} lo={lo}");
        }
    }
    #[test]
    fn percentiles_of_uniform_samples() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(SimDuration(v * 1000));
        }
        let p99 = h.percentile(99.0).0 as f64;
        assert!((p99 - 9_900_000.0).abs() / 9_900_000.0 < 0.01, "{p99}");
        assert_eq!(h.percentile(100.0), SimDuration(10_000_000));
        assert_eq!(h.min(), SimDuration(1000));
    }
    #[test]
    fn a_merge_is_the_histogram_of_both_sample_sets() {
        let (mut a, mut b, mut both) = (Histogram::new(), Histogram::new(), Histogram::new());
        for v in 1..=500u64 {
            a.record(SimDuration(v * 977));
            both.record(SimDuration(v * 977));
        }
        for v in 1..=300u64 {
            b.record(SimDuration(v * 13));
            both.record(SimDuration(v * 13));
        }
        a.merge(&b);
        assert_eq!(a, both);
    }
}
