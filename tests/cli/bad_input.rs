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
        args: &["--max-ops", "10000"],
        at: "bad.rhai:2:",
        says: &["more than 10000 operations", "--max-ops"],
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
        says: &["too large", "strings 1048576 characters"],
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
