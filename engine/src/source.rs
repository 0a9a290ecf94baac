//! Arrival sources: open workloads that send requests to a listener at times
//! of their own, whether or not earlier ones were answered — the load of a
//! service, as opposed to the closed loop of client threads that wait for
//! each reply before sending again (`send_to`/`recv`).
//!
//! A source's arrival process is Poisson (exponential gaps: independent
//! users, the M in M/M/c), periodic (a load generator at a fixed rate),
//! on/off bursts (Poisson at the rate while on, silent while off), or a
//! replay of given times. Each request carries its kind, drawn by weight from
//! the source's mix, whose steps the accepting server thread runs (`Serve`).
//! Gaps and kinds come from the source's own random stream, so a source
//! sends the same requests at the same times in every variant of a model.
//!
//! A request's latency is from its arrival time (when the client sends it)
//! to the moment its reply reaches the client, across both network legs,
//! the backlog and the handler. A request that finds the listener's backlog
//! full is dropped (a full accept queue refuses the connection); one whose
//! reply comes after the source's timeout is counted as timed out (the
//! client gave up, the server did the work anyway).
//!
//! **The door.** The kernel asks a source for its next arrival and the kind
//! of the request it sends, and tells it of each request's fate; the source
//! keeps its counts and latencies, and judges saturation at the end.

use crate::config::{Arrivals, SourceConfig};
use crate::histogram::Histogram;
use crate::level::Level;
use crate::rng::StreamRng;
use crate::time::{SimDuration, SimTime};
use rand_distr::Distribution;

#[cfg(test)]
mod tests;

/// Runtime state of an arrival source.
pub(crate) struct Source {
    rng: StreamRng,
    /// Requests sent so far (the next one's index).
    sent: u64,
    /// Cumulative weights of the mix, for drawing a kind.
    cumulative: Vec<f64>,
    completed: u64,
    dropped: u64,
    timed_out: u64,
    latency: Histogram,
    /// On-time of the last arrival of an on/off source.
    on_clock: u64,
    /// Requests in flight: when each was sent and its kind (a slab: a slot
    /// is reused once its request is answered or refused).
    flights: Vec<(SimTime, u32)>,
    free: Vec<u32>,
    /// The backlog each request found on arrival, summed per quarter of the
    /// requests sent (for judging whether the queue keeps growing).
    backlog_seen: Vec<(u64, u64)>,
    /// Requests at the server (arrived at the listener, not yet answered)
    /// over time.
    in_server: Level,
}

/// Quarters of the run's requests over which the backlog's trend is judged.
const QUARTERS: usize = 4;

impl Source {
    pub fn new(c: &SourceConfig, rng: StreamRng) -> Source {
        let mut total = 0.0;
        let cumulative = c
            .mix
            .iter()
            .map(|k| {
                total += k.weight;
                total
            })
            .collect();
        Source {
            rng,
            sent: 0,
            cumulative,
            completed: 0,
            dropped: 0,
            timed_out: 0,
            latency: Histogram::new(),
            on_clock: 0,
            flights: Vec::new(),
            free: Vec::new(),
            backlog_seen: Vec::new(),
            in_server: Level::default(),
        }
    }

    /// When the next request is sent, after the one sent at `last` (the
    /// source's start for the first), or `None` when the source is done.
    pub fn next_arrival(
        &mut self,
        c: &SourceConfig,
        start: SimTime,
        last: SimTime,
    ) -> Option<SimTime> {
        if c.count.is_some_and(|n| self.sent >= n) {
            return None;
        }
        let at = match &c.arrivals {
            Arrivals::Poisson { per_s } => last + self.exponential_gap(*per_s),
            Arrivals::Periodic { per_s } => {
                if self.sent == 0 {
                    start
                } else {
                    last + gap_of(*per_s)
                }
            }
            Arrivals::Bursts { per_s, on, off } => self.burst_arrival(start, *per_s, *on, *off)?,
            Arrivals::Replay(times) => start + *times.get(self.sent as usize)?,
        };
        if at == SimTime::MAX || c.until.is_some_and(|u| at > start + u) {
            return None;
        }
        Some(at)
    }

    /// A request is sent: its kind (an index into the mix).
    pub fn send(&mut self) -> u32 {
        self.sent += 1;
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        if self.cumulative.len() <= 1 || total <= 0.0 {
            return 0;
        }
        let u: f64 = rand_distr::StandardUniform.sample(&mut self.rng);
        let x = u * total;
        self.cumulative
            .iter()
            .position(|&c| x < c)
            .unwrap_or(self.cumulative.len() - 1) as u32
    }

    /// A request of `kind` sent at `sent` is in flight: its slot.
    pub fn fly(&mut self, sent: SimTime, kind: u32) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.flights[slot as usize] = (sent, kind);
                slot
            }
            None => {
                self.flights.push((sent, kind));
                (self.flights.len() - 1) as u32
            }
        }
    }

    /// When the request in `slot` was sent.
    pub fn sent_at(&self, slot: u32) -> SimTime {
        self.flights[slot as usize].0
    }

    /// The kind of the request in `slot`.
    pub fn kind(&self, slot: u32) -> u32 {
        self.flights[slot as usize].1
    }

    /// The request in `slot` is done with (answered or refused): when it was sent.
    pub fn land(&mut self, slot: u32) -> SimTime {
        self.free.push(slot);
        self.flights[slot as usize].0
    }

    /// A request sent at `sent` found `backlog` requests waiting. The
    /// quarter of the run it falls in is by time when the source (or else
    /// the run, `run_until`) has an end in time, else by count.
    pub fn saw_backlog(
        &mut self,
        c: &SourceConfig,
        run_until: Option<SimTime>,
        sent: SimTime,
        backlog: usize,
    ) {
        let q = QUARTERS as u64;
        let start = SimTime::ZERO + c.start;
        let end = c.until.map(|u| start + u).or(run_until);
        let count = c.count.or(match &c.arrivals {
            Arrivals::Replay(times) => Some(times.len() as u64),
            _ => None,
        });
        let quarter = match (end, count) {
            (Some(end), _) if end > start => {
                (sent - start).0 as u128 * q as u128 / (end - start).0 as u128
            }
            (_, Some(n)) if n > 0 => (self.sent.saturating_sub(1) * q / n) as u128,
            _ => 0,
        }
        .min(q as u128 - 1) as usize;
        if self.backlog_seen.len() <= quarter {
            self.backlog_seen.resize(quarter + 1, (0, 0));
        }
        let q = &mut self.backlog_seen[quarter];
        q.0 += backlog as u64;
        q.1 += 1;
    }

    /// A request reached the server at `at` (was not refused).
    pub fn reached_server(&mut self, at: SimTime) {
        self.in_server.rise(at);
    }

    /// A reply left the server at `at`.
    pub fn left_server(&mut self, at: SimTime) {
        self.in_server.fall(at);
    }

    /// Requests at the server over time.
    pub fn in_server(&self) -> &Level {
        &self.in_server
    }

    /// The request was refused: the backlog was full.
    pub fn dropped(&mut self) {
        self.dropped += 1;
    }

    /// The reply to a request sent at `sent` reached its client at `at`.
    pub fn answered(&mut self, sent: SimTime, at: SimTime, timeout: Option<SimDuration>) {
        let latency = at - sent;
        self.completed += 1;
        self.latency.record(latency);
        if timeout.is_some_and(|t| latency > t) {
            self.timed_out += 1;
        }
    }

    /// The source's random stream (gaps, kinds, network delays of its requests).
    pub fn rng(&mut self) -> &mut StreamRng {
        &mut self.rng
    }

    pub fn sent(&self) -> u64 {
        self.sent
    }

    pub fn completed(&self) -> u64 {
        self.completed
    }

    pub fn dropped_count(&self) -> u64 {
        self.dropped
    }

    pub fn timed_out(&self) -> u64 {
        self.timed_out
    }

    pub fn latency(&self) -> &Histogram {
        &self.latency
    }

    /// Whether the offered load exceeded what the server could take: more
    /// than 1% of the requests refused, or the backlog the requests found
    /// in the last quarter of the run at least twice that of the second
    /// quarter and more than `servers` (more requests waiting than server
    /// threads to take them) — a queue that grows without bound.
    pub fn saturated(&self, servers: usize) -> bool {
        if self.dropped * 100 > self.sent {
            return true;
        }
        let mean = |q: usize| {
            self.backlog_seen
                .get(q)
                .filter(|(_, n)| *n > 0)
                .map(|(sum, n)| *sum as f64 / *n as f64)
        };
        match (mean(1), mean(QUARTERS - 1)) {
            (Some(mid), Some(last)) => last > servers as f64 && last >= 2.0 * mid,
            _ => false,
        }
    }

    fn exponential_gap(&mut self, per_s: f64) -> SimDuration {
        let u: f64 = rand_distr::StandardUniform.sample(&mut self.rng);
        // 1 − u is in (0, 1]: the logarithm is finite.
        SimDuration::from_secs_f64(-(1.0 - u).ln() / per_s).unwrap_or(SimDuration::MAX)
    }

    /// On/off bursts: a Poisson process that runs only while "on". Its
    /// clock counts on-time alone; an arrival at on-time `c` is at real time
    /// `start + (c / on) × (on + off) + c mod on`.
    fn burst_arrival(
        &mut self,
        start: SimTime,
        per_s: f64,
        on: SimDuration,
        off: SimDuration,
    ) -> Option<SimTime> {
        self.on_clock = self.on_clock.checked_add(self.exponential_gap(per_s).0)?;
        let on = on.0.max(1);
        let periods = (self.on_clock / on).checked_mul(on.checked_add(off.0)?)?;
        let offset = periods.checked_add(self.on_clock % on)?;
        start.0.checked_add(offset).map(SimTime)
    }
}

/// The spacing of a periodic source.
fn gap_of(per_s: f64) -> SimDuration {
    SimDuration::from_secs_f64(1.0 / per_s).unwrap_or(SimDuration::MAX)
}
