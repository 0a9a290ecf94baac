//! Same config and seed => byte-identical trace; a different seed changes it.
mod common;
use common::*;

fn scenario(seed: u64) -> SimConfig {
    let mut c = machine(
        2,
        GilModel::New {
            switch_interval: ms(1),
            check_period: us(1),
            waiter_choice: WaiterChoice::Random,
        },
    );
    c.limits.seed = seed;
    c.limits.until = Some(SimTime::ZERO + ms(300));
    cpu(&mut c, "cpu1", secs(1));
    cpu(&mut c, "cpu2", secs(1));
    io_loop(
        &mut c,
        "io",
        secs(1),
        us(50),
        Dist::LogNormal {
            mean: ms(1),
            cv: 1.0,
        },
    );
    c
}

fn dump(trace: &VecTrace) -> Vec<u8> {
    let mut out = Vec::new();
    for iv in &trace.intervals {
        out.extend_from_slice(
            format!(
                "{} {} {} {}\n",
                iv.thread,
                iv.state.name(),
                iv.start.as_nanos(),
                iv.end.as_nanos()
            )
            .as_bytes(),
        );
    }
    for h in &trace.handoffs {
        out.extend_from_slice(
            format!("{} {} {:?} {}\n", h.interp, h.time.as_nanos(), h.from, h.to).as_bytes(),
        );
    }
    out
}

#[test]
fn full_traces_are_byte_identical_for_one_seed() {
    let (r1, t1) = run_traced(&scenario(7)).unwrap();
    let (r2, t2) = run_traced(&scenario(7)).unwrap();
    let (b1, b2) = (dump(&t1), dump(&t2));
    assert!(b1.len() > 10_000, "a substantial trace");
    assert_eq!(b1, b2);
    assert_eq!(r1, r2);
    let (_, t3) = run_traced(&scenario(8)).unwrap();
    assert_ne!(b1, dump(&t3), "another seed draws other latencies");
}
