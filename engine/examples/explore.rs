use gilsim_engine::*;
fn main() {
    let ms = SimDuration::ms;
    let us = SimDuration::us;
    // two CPU threads, 2 cores
    for gil in [GilModel::new_gil(), GilModel::old_gil(), GilModel::no_gil()] {
        for cores in [1, 2] {
            let mut c = SimConfig::new(MachineConfig::with_cores(cores), gil.clone());
            c.add_thread("a", InterpId(0), vec![Step::py(ms(500))]);
            c.add_thread("b", InterpId(0), vec![Step::py(ms(500))]);
            let r = run(&c).unwrap();
            println!(
                "{} cores={} makespan={} switches={} failed={} events={} dropreq={}",
                gil.name(),
                cores,
                r.makespan,
                r.totals.gil_switches,
                r.totals.failed_wakeups,
                r.totals.events,
                r.totals.drop_requests
            );
        }
    }
    // convoy
    for si in [us(100), us(500), ms(1), ms(5), ms(20)] {
        let mut c = SimConfig::new(
            MachineConfig::with_cores(2),
            GilModel::new_with_interval(si),
        );
        c.add_thread("cpu", InterpId(0), vec![Step::py(SimDuration::secs(2))]);
        c.add_thread(
            "io",
            InterpId(0),
            vec![Step::LoopFor {
                dur: SimDuration::secs(2),
                body: vec![Step::py(us(20)), Step::io(Dist::Exp { mean: us(50) })],
            }],
        );
        c.limits.until = Some(SimTime(2_000_000_000));
        let r = run(&c).unwrap();
        let io = r.thread("io").unwrap();
        println!(
            "si={} io ops/s={:.0} p50={} p99={} cpu py={}",
            si,
            r.ops_per_sec("io").unwrap(),
            io.latency.percentile(50.0),
            io.latency.percentile(99.0),
            r.thread("cpu").unwrap().py_work
        );
    }
    let mut c = SimConfig::new(MachineConfig::with_cores(2), GilModel::new_gil());
    c.add_thread(
        "io",
        InterpId(0),
        vec![Step::LoopFor {
            dur: SimDuration::secs(2),
            body: vec![Step::py(us(20)), Step::io(Dist::Exp { mean: us(50) })],
        }],
    );
    let r = run(&c).unwrap();
    println!("alone io ops/s={:.0}", r.ops_per_sec("io").unwrap());
}
