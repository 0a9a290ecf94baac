//! An arrival source through its door alone.

use super::*;
use crate::config::{RequestKind, Step};
use crate::ids::ListenerId;

fn config(arrivals: Arrivals) -> SourceConfig {
    SourceConfig {
        name: "load".into(),
        listener: ListenerId(0),
        arrivals,
        start: SimDuration::ZERO,
        count: None,
        until: None,
        mix: vec![RequestKind {
            weight: 1.0,
            steps: vec![Step::py(SimDuration::us(1))],
        }],
        timeout: None,
    }
}

fn source(c: &SourceConfig) -> Source {
    Source::new(c, crate::rng::stream(7, "source", 0))
}

/// The first `n` arrival times (fewer if the source ends).
fn arrivals(c: &SourceConfig, n: usize) -> Vec<SimTime> {
    let mut s = source(c);
    let start = SimTime::ZERO + c.start;
    let mut out: Vec<SimTime> = Vec::new();
    while out.len() < n {
        let last = out.last().copied().unwrap_or(start);
        let Some(at) = s.next_arrival(c, start, last) else {
            break;
        };
        s.send();
        out.push(at);
    }
    out
}

fn gaps_in_s(times: &[SimTime]) -> Vec<f64> {
    times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect()
}

fn mean_and_cv(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt() / mean)
}

#[test]
fn poisson_gaps_have_the_rate_and_a_cv_of_one() {
    let per_s = 300.0;
    let times = arrivals(&config(Arrivals::Poisson { per_s }), 100_001);
    let (mean, cv) = mean_and_cv(&gaps_in_s(&times));
    // 100 000 gaps: the mean's standard error is 0.3%, the CV's about 0.5%.
    assert!(
        (mean * per_s - 1.0).abs() < 0.02,
        "mean gap {mean} s at {per_s}/s"
    );
    assert!((cv - 1.0).abs() < 0.03, "CV {cv}");
}

#[test]
fn a_periodic_source_starts_at_once_and_keeps_its_spacing() {
    let mut c = config(Arrivals::Periodic { per_s: 1000.0 });
    c.start = SimDuration::ms(5);
    let times = arrivals(&c, 4);
    let want: Vec<SimTime> = (0..4)
        .map(|k| SimTime::ZERO + SimDuration::ms(5 + k))
        .collect();
    assert_eq!(times, want);
}

#[test]
fn bursts_send_only_while_on_at_the_rate() {
    let (on, off) = (SimDuration::ms(100), SimDuration::ms(300));
    let per_s = 2000.0;
    let times = arrivals(&config(Arrivals::Bursts { per_s, on, off }), 20_000);
    let period = (on + off).0;
    assert!(
        times.iter().all(|t| t.0 % period < on.0),
        "an arrival fell in an off phase"
    );
    let span = times.last().unwrap().0 as f64 * 1e-9;
    let on_time = span * on.0 as f64 / period as f64;
    let rate = times.len() as f64 / on_time;
    assert!((rate / per_s - 1.0).abs() < 0.05, "{rate}/s while on");
}

#[test]
fn a_replay_sends_at_its_times_then_stops() {
    let at = [0, 0, 3, 10].map(SimDuration::ms);
    let times = arrivals(&config(Arrivals::Replay(at.to_vec())), 10);
    assert_eq!(times, at.map(|d| SimTime::ZERO + d).to_vec());
}

#[test]
fn count_and_until_end_a_source() {
    let mut c = config(Arrivals::Periodic { per_s: 100.0 });
    c.count = Some(3);
    assert_eq!(arrivals(&c, 10).len(), 3);
    c.count = None;
    c.until = Some(SimDuration::ms(45));
    assert_eq!(arrivals(&c, 10).len(), 5, "0, 10, 20, 30, 40 ms");
}

#[test]
fn kinds_are_drawn_by_weight() {
    let mut c = config(Arrivals::Periodic { per_s: 1.0 });
    let kind = |weight| RequestKind {
        weight,
        steps: vec![],
    };
    c.mix = vec![kind(3.0), kind(1.0)];
    let mut s = source(&c);
    let n = 40_000;
    let first = (0..n).filter(|_| s.send() == 0).count();
    let share = first as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.01, "{share}");
}

#[test]
fn slots_of_answered_requests_are_reused() {
    let mut s = source(&config(Arrivals::Periodic { per_s: 1.0 }));
    let a = s.fly(SimTime(10), 0);
    let b = s.fly(SimTime(20), 1);
    assert_eq!((s.kind(a), s.kind(b)), (0, 1));
    assert_eq!(s.land(a), SimTime(10));
    let c = s.fly(SimTime(30), 0);
    assert_eq!(c, a, "the free slot is taken again");
    assert_eq!(s.land(c), SimTime(30));
    assert_eq!(s.land(b), SimTime(20));
}

#[test]
fn latency_counts_from_sending_and_late_replies_time_out() {
    let mut s = source(&config(Arrivals::Periodic { per_s: 1.0 }));
    let timeout = Some(SimDuration::ms(10));
    s.answered(SimTime(0), SimTime(0) + SimDuration::ms(4), timeout);
    s.answered(SimTime(0), SimTime(0) + SimDuration::ms(12), timeout);
    assert_eq!((s.completed(), s.timed_out()), (2, 1));
    assert_eq!(s.latency().max(), SimDuration::ms(12));
}

/// Saturation: refusals over 1%, or a backlog that keeps growing; a steady
/// queue is not saturation.
#[test]
fn saturation_is_a_growing_queue_or_refusals() {
    let cases: &[(&str, &[usize], u64, bool)] = &[
        ("steady small queue", &[1, 2, 1, 2, 1, 2, 1, 2], 0, false),
        ("growing queue", &[1, 3, 5, 7, 9, 11, 13, 15], 0, true),
        (
            "large but steady queue",
            &[20, 20, 20, 20, 20, 20, 20, 20],
            0,
            false,
        ),
        ("2% refused", &[0; 100], 2, true),
        ("1% refused", &[0; 100], 1, false),
    ];
    for (what, backlogs, refused, want) in cases {
        let mut c = config(Arrivals::Periodic { per_s: 1.0 });
        c.count = Some(backlogs.len() as u64);
        let mut s = source(&c);
        for (k, b) in backlogs.iter().enumerate() {
            s.send();
            s.saw_backlog(&c, None, SimTime(k as u64), *b);
        }
        for _ in 0..*refused {
            s.dropped();
        }
        assert_eq!(s.saturated(4), *want, "{what}");
    }
}

#[test]
fn the_backlogs_quarters_are_by_time_when_the_run_has_an_end() {
    // Requests only in the first half of a 100 ms run: its last quarter is
    // empty, so nothing can be judged growing.
    let c = config(Arrivals::Periodic { per_s: 1.0 });
    let until = Some(SimTime::ZERO + SimDuration::ms(100));
    let mut s = source(&c);
    for (k, b) in [0, 0, 0, 30].iter().enumerate() {
        s.send();
        s.saw_backlog(
            &c,
            until,
            SimTime::ZERO + SimDuration::ms(10 * k as u64),
            *b,
        );
    }
    assert!(!s.saturated(1));
    s.send();
    s.saw_backlog(&c, until, SimTime::ZERO + SimDuration::ms(90), 90);
    assert!(s.saturated(1), "last quarter 90 against second quarter 30");
}
