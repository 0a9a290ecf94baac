//! Servers inside the model, through the scripting API: `app.add_listener`,
//! `send_to`/`recv` on the client, `accept`/`respond` on the server
//! (docs/scripting.md, "Servers"). The server's throughput is bounded by its
//! own handler time under its own GIL, however many clients call it.

use crate::util::Dir;

/// `serve(server_threads, handler, clients)` returns round trips per second:
/// a server process with `server_threads` threads, each accepting and running
/// `handler`, and `clients` client threads of the main process, each making
/// 100 calls.
const SERVE: &str = r#"
fn serve(server_threads, handler, clients) {
    let app = python();
    let srv = app.add_process("server");
    let echo = app.add_listener("echo", #{ network: us(5) });
    for k in 0..server_threads {
        app.add_thread(`server${k}`, [repeat(1000000, [accept(echo), handler, respond()])], #{ process: srv });
    }
    let main = [start(srv)];
    for i in 0..clients {
        main.push(start(app.add_thread(`client${i}`, [repeat(100, [send_to(echo), recv()])], #{ autostart: false })));
    }
    app.add_thread("main", main);
    let r = machine(#{ cores: 8 }).run(app);
    let calls = 0;
    for t in r.threads() { if t.name().starts_with("client") { calls += t.ops(); } }
    if calls != 100 * clients || r.listener("echo").accepted != calls { throw `lost calls: ${calls}`; }
    calls.to_float() / r.makespan().s()
}
"#;

struct Case {
    what: &'static str,
    /// Server threads.
    threads: u32,
    /// The handler's step, taking `HANDLER`.
    handler: &'static str,
    clients: u32,
    /// Bounds on throughput, in handlers per second (1 / HANDLER).
    at_least: f64,
    at_most: f64,
}

/// The handler's CPU time.
const HANDLER_US: f64 = 200.0;

const CASES: &[Case] = &[
    Case {
        what: "one thread serialises every client",
        threads: 1,
        handler: "py(us(200))",
        clients: 16,
        at_least: 0.9,
        at_most: 1.0,
    },
    Case {
        what: "threads of one process share its GIL: no faster",
        threads: 4,
        handler: "py(us(200))",
        clients: 16,
        at_least: 0.9,
        at_most: 1.0,
    },
    Case {
        what: "C code holding the GIL: no faster",
        threads: 4,
        handler: "c(us(200), false)",
        clients: 16,
        at_least: 0.9,
        at_most: 1.0,
    },
    Case {
        what: "C code releasing the GIL runs on four cores",
        threads: 4,
        handler: "c(us(200), true)",
        clients: 16,
        at_least: 3.0,
        at_most: 4.0,
    },
    Case {
        what: "one client waits for both network legs and the handler",
        threads: 1,
        handler: "py(us(200))",
        clients: 1,
        at_least: 0.5,
        // 2 × 5 µs of network on top of the handler.
        at_most: HANDLER_US / (HANDLER_US + 10.0),
    },
];

#[test]
fn a_servers_throughput_is_bounded_by_its_own_handler_and_gil() {
    let dir = Dir::new();
    let mut script = SERVE.to_string();
    for c in CASES {
        script += &format!(
            "print(`{}=${{serve({}, {}, {})}}`);\n",
            c.what, c.threads, c.handler, c.clients
        );
    }
    dir.write("servers.rhai", &script);
    let out = dir.gilsim(&["run", "servers.rhai"]).ok();
    let plateau = 1e6 / HANDLER_US;
    for c in CASES {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{}=", c.what)))
            .unwrap_or_else(|| panic!("{}: not printed in\n{out}", c.what));
        let rate: f64 = line.parse().expect("a number");
        let share = rate / plateau;
        assert!(
            (c.at_least..=c.at_most).contains(&share),
            "{}: {rate:.0} calls/s is {share:.3} of one handler's rate, expected {}..{}",
            c.what,
            c.at_least,
            c.at_most
        );
    }
}

#[test]
fn steps_and_handles_print_as_they_are_written() {
    let dir = Dir::new();
    dir.write(
        "show.rhai",
        r#"let app = python();
let l = app.add_listener("db", #{ network: exp(us(50)) });
print(l);
print([send_to(l), send_to(l, us(3)), recv(), accept(l), respond(), respond(us(2))]);
"#,
    );
    let out = dir.gilsim(&["run", "show.rhai"]).ok();
    assert!(out.contains("listener(\"db\")"), "{out}");
    assert!(
        out.contains("[send_to(listener(\"db\")), send_to(listener(\"db\"), 3 µs), recv(), accept(listener(\"db\")), respond(), respond(2 µs)]"),
        "{out}"
    );
}

/// An open workload through the script API: four threads of one process
/// share one GIL, so Python handlers of `H` serve at most 1/H requests a
/// second; four running processes serve up to 4/H on four cores.
#[test]
fn a_source_saturates_threads_of_one_process_but_not_four_processes() {
    let dir = Dir::new();
    dir.write(
        "svc.rhai",
        r#"
fn serve_with(processes, per_s) {
    let app = python();
    let http = app.add_listener("http");
    app.add_source("users", http, poisson(per_s), [py(ms(1))], #{ duration: s(4) });
    for w in 0..4 {
        let opts = if processes { #{ process: app.add_process(`w${w}`, #{ running: true }) } } else { #{} };
        app.add_thread(`w${w}`, [repeat(100000000, [serve(http)])], opts);
    }
    machine(#{ cores: 4 }).run(app).source("users")
}
for processes in [false, true] {
    let r = serve_with(processes, 2000);
    print(`${processes} ${r.throughput} ${r.saturated} ${r.sent} ${r.completed + r.dropped}`);
}
"#,
    );
    let out = dir.gilsim(&["run", "svc.rhai"]).ok();
    let offered = 2000.0;
    let one_gil = 1.0 / 1e-3;
    for line in out
        .lines()
        .filter(|l| l.starts_with("true") || l.starts_with("false"))
    {
        let f: Vec<&str> = line.split(' ').collect();
        let (processes, throughput, saturated) =
            (f[0] == "true", f[1].parse::<f64>().unwrap(), f[2] == "true");
        if processes {
            assert!(!saturated, "{line}");
            assert!(
                (throughput / offered - 1.0).abs() < 0.05,
                "{line}: all the offered load is served"
            );
        } else {
            assert!(saturated, "{line}");
            assert!(
                throughput <= one_gil * 1.01,
                "{line}: one GIL serves at most {one_gil}/s"
            );
            assert!(throughput >= one_gil * 0.95, "{line}");
        }
    }
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("true") || l.starts_with("false"))
            .count(),
        2,
        "{out}"
    );
}
