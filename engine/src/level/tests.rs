use super::*;

fn ms(n: u64) -> SimTime {
    SimTime(n * 1_000_000)
}

/// Each case: (changes as (time ms, level), end ms, expected (mean, max) per
/// bucket of FIRST_WIDTH).
#[test]
fn means_and_maxima_per_bucket() {
    type Case = (&'static [(u64, u64)], u64, &'static [(f64, u64)]);
    let cases: &[Case] = &[
        // Empty: one bucket at zero.
        (&[], 1, &[(0.0, 0)]),
        // A level of 2 from the start, over 2 ms.
        (&[(0, 2)], 2, &[(2.0, 2), (2.0, 2)]),
        // Half a bucket at 4, the next at 0: the carried max is the level held at its start.
        (&[(0, 4)], 1, &[(4.0, 4)]),
        // A spike inside a bucket counts in its max, not much in its mean.
        (&[(0, 1), (1, 1)], 2, &[(1.0, 1), (1.0, 1)]),
    ];
    for (changes, end, want) in cases {
        let mut l = Level::default();
        for &(t, v) in *changes {
            l.set(ms(t), v);
        }
        let got: Vec<(f64, u64)> = l
            .points(ms(*end))
            .iter()
            .map(|p| (p.mean(), p.max))
            .collect();
        assert_eq!(&got, want, "changes {changes:?} to {end} ms");
    }
}

#[test]
fn a_spike_shows_in_the_max_and_the_area() {
    let mut l = Level::default();
    l.set(SimTime(100_000), 5); // 0.1 ms in
    l.set(SimTime(300_000), 0); // 0.2 ms at 5
    let p = l.points(ms(1));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].max, 5);
    assert_eq!(p[0].area, 5 * 200_000);
    assert!((p[0].mean() - 1.0).abs() < 1e-12);
}

/// A long run coarsens: never more than MAX_BUCKETS points, and the
/// integral (the sum of every unit's time in the queue) is exact.
#[test]
fn a_long_run_stays_bounded_and_exact() {
    let mut l = Level::default();
    let mut integral: u128 = 0;
    let mut level = 0u64;
    let mut t = 0u64;
    for i in 0..100_000u64 {
        let gap = 1_000_000 + (i * 7919) % 3_000_000; // 1–4 ms
        integral += level as u128 * gap as u128;
        t += gap;
        level = (i * 31) % 9;
        l.set(SimTime(t), level);
    }
    let end = t + 5_000_000;
    integral += level as u128 * 5_000_000;
    let points = l.points(SimTime(end));
    assert!(points.len() <= MAX_BUCKETS, "{} points", points.len());
    assert!(points.len() > MAX_BUCKETS / 2, "{} points", points.len());
    assert_eq!(points.iter().map(|p| p.area).sum::<u128>(), integral);
    assert_eq!(points.iter().map(|p| p.span.0).sum::<u64>(), end);
    assert_eq!(points.iter().map(|p| p.max).max(), Some(8));
}

#[test]
fn far_times_do_not_overflow() {
    let mut l = Level::default();
    l.set(SimTime(0), 1);
    l.set(SimTime(u64::MAX - 1), 0);
    let p = l.points(SimTime(u64::MAX));
    assert!(p.len() <= MAX_BUCKETS);
    assert_eq!(
        p.iter().map(|p| p.area).sum::<u128>(),
        (u64::MAX - 1) as u128
    );
}
