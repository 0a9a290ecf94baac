//! A queue's length over time, in bounded memory: the time-weighted mean
//! and the maximum of a level (requests waiting, requests in a server) per
//! time bucket.
//!
//! The series starts with buckets of [`FIRST_WIDTH`]; when the run outgrows
//! [`MAX_BUCKETS`] of them, neighbours merge pairwise and the width doubles
//! (the coarsening of a streaming histogram), so memory stays flat in the
//! simulated duration and a short run keeps fine detail. Areas are integer
//! level·nanoseconds, so the series is exact and the same on every machine:
//! its integral over the run is the sum of every request's time in the
//! queue (Little's law, L = λW, holds by construction).

use crate::time::{SimDuration, SimTime};

#[cfg(test)]
mod tests;

/// Width of a bucket before any coarsening.
pub const FIRST_WIDTH: SimDuration = SimDuration::ms(1);
/// Most buckets kept; more time merges neighbours and doubles the width.
pub const MAX_BUCKETS: usize = 256;

/// One bucket of a level's history, as reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelPoint {
    /// When the bucket begins.
    pub start: SimTime,
    /// How long it covers (the last bucket ends with the run).
    pub span: SimDuration,
    /// The level integrated over the bucket, level·ns: divided by `span`,
    /// the mean level.
    pub area: u128,
    /// The highest level reached in the bucket.
    pub max: u64,
}

impl LevelPoint {
    /// The time-weighted mean level over the bucket.
    pub fn mean(&self) -> f64 {
        if self.span.0 == 0 {
            0.0
        } else {
            self.area as f64 / self.span.0 as f64
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Bucket {
    area: u128,
    max: u64,
}

/// A level's history: call [`Level::set`] at every change, then
/// [`Level::points`] with the run's end.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    width: SimDuration,
    buckets: Vec<Bucket>,
    level: u64,
    since: SimTime,
}

impl Default for Level {
    fn default() -> Self {
        Level {
            width: FIRST_WIDTH,
            buckets: vec![Bucket::default()],
            level: 0,
            since: SimTime::ZERO,
        }
    }
}

impl Level {
    /// The level rises by one at `at`.
    pub fn rise(&mut self, at: SimTime) {
        self.set(at, self.level + 1);
    }

    /// The level falls by one at `at` (never below zero).
    pub fn fall(&mut self, at: SimTime) {
        self.set(at, self.level.saturating_sub(1));
    }

    /// The level becomes `level` at `at` (not before the last change).
    pub fn set(&mut self, at: SimTime, level: u64) {
        self.advance_to(at);
        self.level = level;
        let last = self.buckets.len() - 1;
        self.buckets[last].max = self.buckets[last].max.max(level);
    }

    /// The history up to `end`, one point per bucket.
    pub fn points(&self, end: SimTime) -> Vec<LevelPoint> {
        let mut l = self.clone();
        l.advance_to(end);
        let w = l.width.0;
        let end = end.max(l.since);
        l.buckets
            .iter()
            .enumerate()
            .filter(|&(i, _)| i == 0 || i as u64 * w < end.0)
            .map(|(i, b)| {
                let start = i as u64 * w;
                let stop = start.saturating_add(w).min(end.0);
                LevelPoint {
                    start: SimTime(start),
                    span: SimDuration(stop.saturating_sub(start)),
                    area: b.area,
                    max: b.max,
                }
            })
            .collect()
    }

    /// Integrates the current level from the last change to `at`, bucket by
    /// bucket, coarsening first if `at` lies beyond the last bucket kept.
    fn advance_to(&mut self, at: SimTime) {
        let at = at.max(self.since);
        while at.0 / self.width.0 >= MAX_BUCKETS as u64 {
            self.coarsen();
        }
        let mut t = self.since.0;
        while t < at.0 {
            let i = (t / self.width.0) as usize;
            let bucket_end = (i as u64 + 1).saturating_mul(self.width.0);
            let stop = bucket_end.min(at.0);
            self.bucket(i).area += self.level as u128 * (stop - t) as u128;
            t = stop;
        }
        let i = (at.0 / self.width.0) as usize;
        let level = self.level;
        let b = self.bucket(i);
        b.max = b.max.max(level);
        self.since = at;
    }

    /// Bucket `i`, created (holding the level carried into it) if new.
    fn bucket(&mut self, i: usize) -> &mut Bucket {
        while self.buckets.len() <= i {
            self.buckets.push(Bucket {
                area: 0,
                max: self.level,
            });
        }
        &mut self.buckets[i]
    }

    /// Neighbours merge pairwise; the width doubles.
    fn coarsen(&mut self) {
        self.buckets = self
            .buckets
            .chunks(2)
            .map(|p| Bucket {
                area: p.iter().map(|b| b.area).sum(),
                max: p.iter().map(|b| b.max).max().unwrap_or(0),
            })
            .collect();
        self.width = SimDuration(self.width.0 * 2);
    }
}
