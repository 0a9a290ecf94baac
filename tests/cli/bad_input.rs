//! Every kind of bad input gives `file:line:column: message`, exit status 1,
//! and writes nothing.

use crate::util::Dir;

struct Case {
    /// What is wrong.
    what: &'static str,
    /// The script (`bad.rhai`).
    script: &'static str,
    /// Extra arguments.
    args: &'static [&'static str],
    /// Where the error is reported.
    at: &'static str,
    /// Substrings of the message.
    says: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        what: "syntax error",
        script: "let x = 1 +;",
        args: &[],
        at: "bad.rhai:1:12:",
        says: &["syntax error"],
    },
    Case {
        what: "undeclared variable",
        script: "let a = 1;\nprint(nope);",
        args: &[],
        at: "bad.rhai:2:7:",
        says: &["variable `nope` is not defined"],
    },
    Case {
        what: "keyword as a map key",
        script: "let r = #{ until: 1 };",
        args: &[],
        at: "bad.rhai:1:12:",
        says: &["`until` is a Rhai keyword"],
    },
    Case {
        what: "unknown option",
        script: "let app = python(#{ gil: \"new\", switch_intervall: ms(1) });",
        args: &[],
        at: "bad.rhai:1:11:",
        says: &["unknown option `switch_intervall` of python()", "did you mean `switch_interval`?", "allowed options: gil, switch_interval"],
    },
    Case {
        what: "option of the wrong type",
        script: "let m = machine(#{ cores: \"2\" });",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["option `cores` of machine(): expected an integer, got the string \"2\""],
    },
    Case {
        what: "option of another GIL model",
        script: "python(#{ gil: \"none\", switch_interval: ms(1) });",
        args: &[],
        at: "bad.rhai:1:1:",
        says: &["applies to gil \"new\", not \"none\"", "takes: slowdown"],
    },
    Case {
        what: "negative duration",
        script: "let d = ms(-5);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["ms(-5): a duration cannot be negative"],
    },
    Case {
        what: "NaN duration",
        script: "let d = s(0.0 / 0.0);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["s(NaN): a duration must be a finite number >= 0"],
    },
    Case {
        what: "argument of the wrong type",
        script: "let app = python();\napp.add_thread(\"a\", [py(\"10ms\")]);",
        args: &[],
        at: "bad.rhai:2:22:",
        says: &["no function `py` taking (string); it takes: py(d: Duration) -> Step"],
    },
    Case {
        what: "not a step",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(1)), ms(2)]);",
        args: &[],
        at: "bad.rhai:2:5:",
        says: &["add_thread(\"a\"): item [1] must be a step", "got the Duration 2 ms"],
    },
    Case {
        what: "error inside a function",
        script: "fn setup(n) {\n    let d = ms(n);\n    d\n}\nsetup(-1);",
        args: &[],
        at: "bad.rhai:2:13:",
        says: &["ms(-1)", "in function `setup` called at bad.rhai:5:1"],
    },
    Case {
        what: "error inside an imported module",
        script: "import \"lib\" as lib;\nlib::broken();",
        args: &[],
        at: "scripts/lib.rhai:2:5:",
        says: &["no function `pyy`", "in function `broken` called at bad.rhai:2:6"],
    },
    Case {
        what: "missing module",
        script: "import \"nothere\" as n;",
        args: &[],
        at: "bad.rhai:1:8:",
        says: &["module \"nothere\" not found", "built-in: workloads"],
    },
    Case {
        what: "absolute output path",
        script: "let t = table(\"/tmp/gilsim-escape\");",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["is absolute, which leaves the output folder"],
    },
    Case {
        what: "output path with ..",
        script: "let t = table(\"a/../../x\");\nt.add(#{ a: 1 });\nt.save();",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["contains `..`"],
    },
    Case {
        what: "endless loop",
        script: "let i = 0;\nloop { i += 1; }",
        args: &["--limit", "ops=10000"],
        at: "bad.rhai:2:",
        says: &["more than 10000 operations", "--limit ops=100000"],
    },
    Case {
        what: "endless recursion",
        script: "fn f(x) { f(x + 1) }\nf(0);",
        args: &[],
        at: "bad.rhai:",
        says: &["more than 64 nested function calls"],
    },
    Case {
        what: "string too large",
        script: "let s = \"xxxxxxxx\";\nloop { s += s; }",
        args: &[],
        at: "bad.rhai:2:",
        says: &["too large", "longer than 1048576 bytes", "--limit string="],
    },
    Case {
        what: "zero cores",
        script: "let m = machine(#{ cores: 0 });",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["option `cores` of machine(): expected an integer between 1 and 4096, got 0"],
    },
    Case {
        what: "a million cores",
        script: "let m = machine(#{ cores: 1000000 });",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["between 1 and 4096, got 1000000"],
    },
    Case {
        what: "a duration of 10^300 seconds",
        script: "let d = s(1e300);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["s(1e300): too large, durations go up to about 584 years"],
    },
    Case {
        what: "a billion threads",
        script: "let app = python();\nfor i in 0..1000000000 { app.add_thread(`t${i}`, [py(us(1))]); }",
        args: &["--limit", "threads=1000"],
        at: "bad.rhai:2:30:",
        says: &["add_thread(\"t1000\"): the program would have 1001 threads", "--limit threads="],
    },
    Case {
        what: "a billion pool workers",
        script: "let app = python();\napp.add_thread_pool(\"p\", 1000000000, tasks(1, [py(ms(1))]));",
        args: &[],
        at: "bad.rhai:2:5:",
        says: &["workers must be between 1 and 100000, got 1000000000"],
    },
    Case {
        what: "a billion tasks",
        script: "let t = tasks(1000000000, [py(ms(1))]);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["tasks(1000000000, ...): the count must be between 0 and 1000000"],
    },
    Case {
        what: "a billion replicates",
        script: "sweep(\"s\", #{ a: [1] }, #{ replicates: 1000000000 }, |p| #{ x: 1 });",
        args: &[],
        at: "bad.rhai:1:1:",
        says: &["1 points × 1000000000 replicates, more than 1000000 runs", "--limit sweep-runs=1000000000"],
    },
    Case {
        what: "a grid of two million points",
        script: "let a = [];\nfor i in 0..1000 { a.push(i); }\nsweep(\"s\", #{ x: a, y: a, z: [1, 2] }, |p| #{ v: 1 });",
        args: &[],
        at: "bad.rhai:3:1:",
        says: &["2000000 points × 1 replicates, more than 1000000 runs", "--limit sweep-runs=2000000"],
    },
    Case {
        what: "zero switch interval",
        script: "let app = python(#{ switch_interval: ns(0) });\napp.add_thread(\"a\", [py(ms(1))]);\nmachine().run(app);",
        args: &[],
        // At the python() call that gave the value, named by its option.
        at: "bad.rhai:1:11:",
        says: &["option `switch_interval` of python(): 0 ns is not allowed: at least 1 µs"],
    },
    Case {
        what: "a workload that never ends",
        script: "let app = python();\napp.add_thread(\"a\", [repeat(1000000000000, [py(ns(1))])]);\nmachine().run(app);",
        args: &["--limit", "events=100000"],
        at: "bad.rhai:3:11:",
        says: &["stopped after 100000 events", "--limit events=1000000", "stop_at"],
    },
    Case {
        what: "type error in an operator",
        script: "let x = 1 + true;",
        args: &[],
        at: "bad.rhai:1:11:",
        says: &["no function `+` taking (int, bool)"],
    },
    Case {
        what: "method of another type",
        script: "let x = 5;\nx.add_thread(\"a\", [py(ms(1))]);",
        args: &[],
        at: "bad.rhai:2:3:",
        says: &["no function `add_thread` taking (int, string, array); it takes: Program.add_thread"],
    },
    Case {
        what: "division by zero",
        script: "let x = 1 / 0;",
        args: &[],
        at: "bad.rhai:1:11:",
        says: &["Division by zero"],
    },
    Case {
        what: "deadlock on an empty queue",
        script: "let app = python();\nlet q = app.add_queue(\"q\");\napp.add_thread(\"c\", [get(q)]);\nmachine().run(app);",
        args: &[],
        at: "bad.rhai:4:11:",
        says: &["deadlock at", "thread \"c\" waits for an item in queue \"q\""],
    },
    Case {
        what: "import with ..",
        script: "import \"../lib\" as l;",
        args: &[],
        at: "bad.rhai:1:8:",
        says: &["a module is named by a relative path without `..`"],
    },
    Case {
        what: "invalid model (engine config error)",
        script: "let app = python();\nmachine().run(app);",
        args: &[],
        at: "bad.rhai:2:11:",
        says: &["the model is not valid", "at least one thread"],
    },
    Case {
        what: "deadlock",
        script: "let app = python();\nlet l = app.add_lock(\"l\");\napp.add_thread(\"a\", [acquire(l)]);\napp.add_thread(\"b\", [sleep(ms(1)), acquire(l)]);\nmachine().run(app);",
        args: &[],
        at: "bad.rhai:5:11:",
        says: &["deadlock at", "thread \"b\" waits for lock \"l\""],
    },
    Case {
        what: "event limit",
        script: "let app = python();\napp.add_thread(\"a\", [loop_for(s(10), [py(us(1))])]);\nmachine().run(app, #{ max_events: 1000 });",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["max_events = 1000", "stop_at"],
    },
    Case {
        what: "row with a missing column",
        script: "let t = table(\"t\", [\"a\", \"b\"]);\nt.add(#{ a: 1 });",
        args: &[],
        at: "bad.rhai:2:3:",
        says: &["row 1 of table \"t\" has no column \"b\""],
    },
    Case {
        what: "Duration in a table",
        script: "let t = table(\"t\");\nt.add(#{ latency: ms(1) });",
        args: &[],
        at: "bad.rhai:2:3:",
        says: &["column `latency` of table \"t\" is a Duration", "latency_ms"],
    },
    Case {
        what: "parameter of the wrong type",
        script: "let n = param(\"threads\", 4);",
        args: &["--set", "threads=four"],
        at: "bad.rhai:1:9:",
        says: &["--set threads=four: parameter `threads` expects an integer (its default is 4)"],
    },
    Case {
        what: "failing sweep point",
        script: "let s = sweep(\"s\", #{ a: [1, 2] }, |p| {\n    if p.a == 2 { throw \"bad point\"; }\n    #{ x: p.a }\n});",
        args: &[],
        at: "bad.rhai:2:19:",
        says: &["bad point", "in sweep \"s\" point 1 (a=2), replicate 0"],
    },
    Case {
        what: "sweep function returning a number",
        script: "sweep(\"s\", #{ a: [1] }, |p| 42);",
        args: &[],
        at: "bad.rhai:1:1:",
        says: &["must return a map of numbers", "returned the integer 42"],
    },
    Case {
        what: "thread named like a pool worker",
        script: "let app = python();\nlet p = app.add_thread_pool(\"p\", 2, tasks(2, [py(ms(1))]));\napp.add_thread(\"p-worker1\", [map_pool(p)]);\nmachine().run(app);",
        args: &[],
        at: "bad.rhai:4:11:",
        says: &["two threads are named \"p-worker1\"", "rename the thread or the pool"],
    },
    Case {
        what: "unknown plot option",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y_s: 2 });\nt.plot(#{ x: \"n\", y: \"y_s\", colour: \"red\" });",
        args: &[],
        at: "bad.rhai:3:3:",
        says: &["unknown option `colour` of plot() of table \"t\"", "allowed options: x, y, series, kind, ci"],
    },
    Case {
        what: "plot of an unknown column",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y_s: 2 });\nt.plot(#{ x: \"n\", y: \"y_ss\" });",
        args: &[],
        at: "bad.rhai:3:3:",
        says: &["option `y` of plot(): table \"t\" has no column \"y_ss\" (did you mean \"y_s\"?); its columns: n, y_s"],
    },
    Case {
        what: "plot of a non-numeric value",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y: 2 });\nt.add(#{ n: 2, y: \"high\" });\nt.plot(#{ x: \"n\", y: \"y\" });",
        args: &[],
        at: "bad.rhai:4:3:",
        says: &["row 2 of table \"t\": column `y` is the string \"high\", but a line chart needs a number in every row"],
    },
    Case {
        what: "plot of an empty table",
        script: "let t = table(\"t\", [\"n\", \"y\"]);\nt.plot(#{ x: \"n\", y: \"y\" });",
        args: &[],
        at: "bad.rhai:2:3:",
        says: &["table \"t\" has no rows, so there is nothing to draw"],
    },
    Case {
        what: "log axis with a non-positive value",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y: 2 });\nt.add(#{ n: 0, y: 3 });\nt.plot(#{ x: \"n\", y: \"y\", log_x: true });",
        args: &[],
        at: "bad.rhai:4:3:",
        says: &["row 2 of table \"t\": column `n` is 0, but the x axis is logarithmic (log_x: true) and needs values > 0"],
    },
    Case {
        what: "NaN in a figure",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y: 0.0 / 0.0 });\nt.plot(#{ x: \"n\", y: \"y\" });",
        args: &[],
        at: "bad.rhai:3:3:",
        says: &["row 1 of table \"t\": column `y` is NaN"],
    },
    Case {
        what: "bars without a bar for a category",
        script: "let t = table(\"t\");\nt.add(#{ m: \"a\", k: 1, y: 2 });\nt.add(#{ m: \"b\", k: 2, y: 3 });\nt.plot(#{ kind: \"bars\", x: \"m\", y: \"y\", series: \"k\" });",
        args: &[],
        at: "bad.rhai:4:3:",
        says: &["series \"1 k\" has no row for category \"b\""],
    },
    Case {
        what: "figure size out of range",
        script: "let t = table(\"t\");\nt.add(#{ n: 1, y: 2 });\nt.plot(#{ x: \"n\", y: \"y\", width: 10 });",
        args: &[],
        at: "bad.rhai:3:3:",
        says: &["option `width` of plot() of table \"t\": expected an integer between 320 and 8192, got 10"],
    },
    Case {
        what: "timeline of a run without a trace",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(1))]);\nlet r = machine().run(app);\nr.timeline(\"tl\");",
        args: &[],
        at: "bad.rhai:4:3:",
        says: &["this run kept no trace", "trace_window"],
    },
    Case {
        what: "timeline outside the trace window",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(10))]);\nlet r = machine().run(app, #{ trace_window: [ms(2), ms(4)] });\nr.timeline(\"tl\", #{ to: ms(8) });",
        args: &[],
        at: "bad.rhai:4:3:",
        says: &["kept its trace from 2 ms to 4 ms only (trace_window)"],
    },
    Case {
        what: "malformed trace window",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(10))]);\nmachine().run(app, #{ trace_window: [ms(4), 2] });",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["option `trace_window` of run(): expected [from, to], two Durations"],
    },
    Case {
        what: "trace and trace window together",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(10))]);\nmachine().run(app, #{ trace: true, trace_window: [ms(1), ms(2)] });",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["not both"],
    },
    Case {
        what: "chrome trace in a sweep point",
        script: "sweep(\"s\", #{ n: [1] }, |p| {\n    let app = python();\n    app.add_thread(\"a\", [py(ms(1))]);\n    #{ x: machine().run(app, #{ chrome_trace: \"t\" }).makespan().ms() }\n});",
        args: &[],
        at: "bad.rhai:4:21:",
        says: &["option `chrome_trace` of run(): cannot be used inside a sweep point"],
    },
    Case {
        what: "chrome trace leaving the output folder",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(1))]);\nmachine().run(app, #{ chrome_trace: \"../t\" });",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["option `chrome_trace` of run()", "contains `..`"],
    },
    Case {
        what: "chrome trace named like the manifest",
        script: "let app = python();\napp.add_thread(\"a\", [py(ms(1))]);\nmachine().run(app, #{ chrome_trace: \"manifest\" });",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["manifest.json is the run's manifest"],
    },
    Case {
        what: "finding in a sweep point",
        script: "sweep(\"s\", #{ n: [1] }, |p| {\n    finding(\"no\");\n    #{ x: 1 }\n});",
        args: &[],
        at: "bad.rhai:2:5:",
        says: &["finding() cannot be called inside a sweep point"],
    },
    Case {
        what: "virtual time overflow",
        script: "let app = python();\napp.add_thread(\"t\", [py(s(400 * 365 * 86400)), py(s(400 * 365 * 86400))]);\nmachine().run(app);",
        args: &[],
        at: "bad.rhai:3:11:",
        says: &["virtual time overflow", "thread \"t\", step program[1]: py(", "584 years"],
    },
    Case {
        what: "a flat sum of 70 terms",
        script: "let x = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1;",
        args: &[],
        at: "bad.rhai:1:",
        says: &["nested more than 64 deep (each operator of a chain like a + b + c counts one level)"],
    },
    Case {
        what: "a bar chart of 2000 categories",
        script: "let t = table(\"t\", [\"c\", \"y\"]);\nfor i in 0..2000 { t.add(#{ c: `c${i}`, y: 1 }); }\nt.plot(#{ kind: \"bars\", x: \"c\", y: \"y\" });",
        args: &[],
        at: "bad.rhai:3:3:",
        says: &["would have more than 1000 categories (column `c`)"],
    },
    Case {
        what: "empty table name",
        script: "let t = table(\"\", [\"x\"]);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["the name is empty"],
    },
    Case {
        what: "table named like a folder",
        script: "let t = table(\"sub/\", [\"x\"]);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["it names a folder"],
    },
    Case {
        what: "table named .",
        script: "let t = table(\".\", [\"x\"]);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["it names a folder"],
    },
    Case {
        what: "table in the journal folder",
        script: "let t = table(\".gilsim-journal/s\", [\"x\"]);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["names starting with .gilsim are gilsim's own"],
    },
    Case {
        what: "fmt with negative digits",
        script: "let s = fmt(1.5, -1);",
        args: &[],
        at: "bad.rhai:1:9:",
        says: &["fmt(1.5, -1): digits must be between 0 and 17"],
    },
    Case {
        what: "a lock where a listener is expected",
        script: "let app = python();\nlet l = app.add_lock(\"x\");\napp.add_thread(\"t\", [send_to(l)]);",
        args: &[],
        at: "bad.rhai:3:22:",
        says: &["no function `send_to` taking (Lock)", "send_to(listener: Listener) -> Step"],
    },
    Case {
        what: "a listener's network delay of the wrong type",
        script: "let app = python();\napp.add_listener(\"x\", #{ network: \"fast\" });",
        args: &[],
        at: "bad.rhai:2:5:",
        says: &["option `network` of add_listener(\"x\"): expected a Dist like exp(us(50)) or a Duration, got the string \"fast\""],
    },
    Case {
        what: "a listener of another program",
        script: "let a = python();\nlet l = a.add_listener(\"x\");\nlet b = python();\nb.add_thread(\"t\", [send_to(l), recv()]);\nmachine().run(b);",
        args: &[],
        at: "bad.rhai:5:11:",
        says: &["thread \"t\", step [0] send_to(listener(\"x\")): no listener named \"x\" in this program (its listeners: none)"],
    },
    Case {
        what: "a client calling a listener nobody serves",
        script: "let a = python();\nlet l = a.add_listener(\"x\");\na.add_thread(\"t\", [send_to(l), recv()]);\nmachine().run(a);",
        args: &[],
        at: "bad.rhai:4:11:",
        says: &["deadlock", "thread \"t\" waits for a reply from a server that is not answering"],
    },
    Case {
        what: "a listener the report does not have",
        script: "let a = python();\nlet l = a.add_listener(\"x\");\na.add_thread(\"t\", [accept(l)]);\nmachine().run(a).listener(\"y\");",
        args: &[],
        at: "bad.rhai:4:18:",
        says: &["the report has no listener \"y\"; its listeners: \"x\""],
    },
];

#[test]
fn bad_inputs_are_reported_with_their_position_and_write_nothing() {
    let d = Dir::new();
    d.write("scripts/lib.rhai", "fn broken() {\n    pyy(ms(1))\n}\n");
    for case in CASES {
        d.write("bad.rhai", case.script);
        let mut args = vec!["run", "bad.rhai", "--out", "out"];
        args.extend_from_slice(case.args);
        let r = d.gilsim(&args);
        let err = r.stderr();
        assert_eq!(r.code(), 1, "{}: exit status\n{err}", case.what);
        assert!(
            err.starts_with(&format!("error: {}", case.at)),
            "{}: expected the error at {}\n{err}",
            case.what,
            case.at
        );
        for s in case.says {
            assert!(err.contains(s), "{}: expected {s:?} in\n{err}", case.what);
        }
        assert!(!err.contains("panicked"), "{}: panicked\n{err}", case.what);
        assert!(
            !d.exists("out"),
            "{}: a failed run must write nothing",
            case.what
        );
    }
    assert!(!std::path::Path::new("/tmp/gilsim-escape.csv").exists());
}
