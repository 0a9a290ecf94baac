//! The command line itself: help, version, `check`, usage errors, `--set`.

use crate::util::Dir;

#[test]
fn every_command_has_help_with_examples() {
    let d = Dir::new();
    for args in [&["--help"][..], &["run", "--help"], &["check", "--help"]] {
        let out = d.gilsim(args).ok();
        assert!(out.contains("Examples:"), "{args:?}:\n{out}");
    }
    let v = d.gilsim(&["--version"]).ok();
    assert_eq!(v.trim(), format!("gilsim {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_with_2() {
    let d = Dir::new();
    d.write("a.rhai", "print(1);");
    for args in [
        &["run"][..],
        &["run", "a.rhai", "--jobs", "0"],
        &["run", "a.rhai", "--seed", "-1"],
        &["run", "a.rhai", "--jobs", "100000"],
        &["run", "a.rhai", "--frobnicate"],
        &["run", "a.rhai", "--limit", "nope=1"],
        &["frobnicate"],
        // Issue 14: --set errors exited 1, a repeated --limit was last-wins.
        &["run", "a.rhai", "--set", "x"],
        &["run", "a.rhai", "--set", "1x=2"],
        &["run", "a.rhai", "--set", "x=1", "--set", "x=2"],
        &["run", "a.rhai", "--set", "f=1e400"],
        &["run", "a.rhai", "--set", "d=1e300s"],
        &[
            "run", "a.rhai", "--limit", "ops=5000", "--limit", "ops=6000",
        ],
        &["run", "a.rhai", "--max-ops", "5000", "--limit", "ops=6000"],
    ] {
        let r = d.gilsim(args);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(!d.exists("out"), "{args:?}: nothing written");
    }
    let r = d.gilsim(&["run", "a.rhai", "--set", "f=1e400"]);
    assert!(
        r.stderr()
            .contains("--set f=1e400: 1e400 is too large for a float"),
        "{}",
        r.stderr()
    );
    let r = d.gilsim(&["run", "a.rhai", "--limit", "ops=5000", "--limit", "ops=6k"]);
    assert!(
        r.stderr()
            .contains("the `ops` limit is given twice (--limit ops=5000 and --limit ops=6k)"),
        "{}",
        r.stderr()
    );
    // An unknown scenario fails before the table's header is printed.
    let r = d.gilsim(&["bench", "--scenario", "Z"]);
    assert_eq!(r.code(), 2);
    assert_eq!(r.stdout(), "", "no header before the error");
    assert!(
        r.stderr()
            .contains("invalid value 'Z' for '--scenario <NAME>'")
            && r.stderr().contains("possible values: A, B"),
        "{}",
        r.stderr()
    );
}

/// Issue 14: a UTF-8 byte-order mark was rejected as an invisible
/// "Unexpected" character; editors write one.
#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let d = Dir::new();
    d.write("bom.rhai", "\u{feff}print(\"ok\");\nlet x = nope;");
    d.write("scripts/m.rhai", "\u{feff}fn one() { 1 }");
    let r = d.gilsim(&["run", "bom.rhai"]);
    assert!(
        r.stderr().starts_with("error: bom.rhai:2:9:"),
        "columns as the editor shows them: {}",
        r.stderr()
    );
    d.write("bom.rhai", "\u{feff}import \"m\" as m;\nprint(m::one());");
    assert!(d.gilsim(&["run", "bom.rhai"]).ok().starts_with("1\n"));
}

#[test]
fn check_compiles_and_resolves_imports_without_running() {
    let d = Dir::new();
    d.write("scripts/helpers.rhai", "fn one() { 1 }\n");
    d.write("good.rhai", "import \"helpers\" as h;\nimport \"workloads\" as w;\nlet t = table(\"t\");\nt.add(#{ a: h::one() });\nt.save();\nthrow \"not run\";\n");
    let out = d.gilsim(&["check", "good.rhai"]).ok();
    assert!(out.contains("good.rhai: ok"), "{out}");
    assert!(!d.exists("out"));

    let cases = [
        (
            "import \"missing\" as m;\n",
            "error: typo.rhai:1:1: module \"missing\" not found",
        ),
        ("let a = 1;\nlet b = a +* 2;\n", "error: typo.rhai:2:"),
        (
            "let a = 1;\nprint(aa);\n",
            "error: typo.rhai:2:7: variable `aa` is not defined",
        ),
    ];
    for (script, want) in cases {
        d.write("typo.rhai", script);
        let r = d.gilsim(&["check", "typo.rhai"]);
        assert_eq!(r.code(), 1, "{script}");
        assert!(r.stderr().starts_with(want), "{script}: {}", r.stderr());
    }
}

#[test]
fn a_missing_script_is_an_error() {
    let d = Dir::new();
    let r = d.gilsim(&["run", "nope.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr()
            .starts_with("error: cannot read script nope.rhai"),
        "{}",
        r.stderr()
    );
}

#[test]
fn set_overrides_parameters_and_unread_ones_warn() {
    let d = Dir::new();
    d.write(
        "p.rhai",
        "let n = param(\"n\", 2);\nlet d = param(\"d\", ms(5));\nlet x = param(\"x\", 0.5);\nlet on = param(\"on\", false);\nlet name = param(\"name\", \"a\");\nprint(`${n} ${d} ${x} ${on} ${name} ${seed()}`);",
    );
    let r = d.gilsim(&[
        "run", "p.rhai", "--seed", "9", "--set", "n=8", "--set", "d=250us", "--set", "x=2",
        "--set", "on=true", "--set", "name=42", "--set", "typo=1",
    ]);
    let out = r.ok();
    assert!(out.starts_with("8 250 µs 2.0 true 42 9\n"), "{out}");
    assert!(
        r.stderr()
            .contains("warning: --set typo=... was never read"),
        "{}",
        r.stderr()
    );

    let r = d.gilsim(&["run", "p.rhai", "--set", "n"]);
    assert_eq!(r.code(), 2, "a usage error");
    assert!(r.stderr().contains("expected NAME=VALUE"), "{}", r.stderr());
    let r = d.gilsim(&["run", "p.rhai", "--set", "d=5"]);
    assert!(
        r.stderr().contains("expects a duration with a unit"),
        "{}",
        r.stderr()
    );
}

/// Messages say what happened where it happened: a negative seed is named as
/// such, a `--trace` file is reported where it went, and a model value the
/// engine rejects is reported at the option that gave it.
#[test]
fn messages_name_the_real_cause_and_place() {
    let d = Dir::new();
    d.write(
        "a.rhai",
        "let app = python();\napp.add_thread(\"t\", [py(ms(1))]);\nlet r = machine().run(app);\n",
    );
    let r = d.gilsim(&["run", "a.rhai", "--seed", "-1"]);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("the seed must be a whole number from 0 to"),
        "{}",
        r.stderr()
    );
    let out = d.gilsim(&["run", "a.rhai", "--trace", "x.json"]).ok();
    assert!(
        out.contains("; trace: x.json") && d.exists("x.json"),
        "{out}"
    );
    assert!(!d.exists("out/a/x.json"));
    d.write(
        "b.rhai",
        "let app = python(#{ switch_interval: ns(0) });\napp.add_thread(\"t\", [py(ms(1))]);\nlet r = machine().run(app);\n",
    );
    let r = d.gilsim(&["run", "b.rhai"]);
    assert_eq!(r.code(), 1);
    let err = r.stderr();
    assert!(
        err.contains("b.rhai:1:11: option `switch_interval` of python()"),
        "{err}"
    );
    assert!(!err.contains("interpreters[0]"), "{err}");
}

/// `gilsim check` finds the API mistakes of the issue without running any
/// code (a module's top-level `print` never runs), and passes every shipped
/// experiment.
#[test]
fn check_validates_calls_against_the_api_without_running_anything() {
    let d = Dir::new();
    let cases = [
        (
            "let app = python();\napp.add_thred(\"t\", [py(ms(1))]);\n",
            "2:5",
            "did you mean `add_thread`",
        ),
        (
            "let m = machin(#{ cores: 2 });\n",
            "1:9",
            "did you mean `machine`",
        ),
        (
            "let app = python(#{ switch_intervall: ms(1) });\n",
            "1:21",
            "did you mean `switch_interval`",
        ),
        (
            "let r = machine().run(python());\nlet x = r.thread_report(\"io\").ops_per_second();\n",
            "2:31",
            "did you mean `ops_per_sec`",
        ),
        (
            "let t = table(\"t\", [\"a\", \"b\"]);\nt.add(#{ a: 1, c: 2 });\n",
            "2:16",
            "no column \"c\"",
        ),
        (
            "let app = python();\napp.add_thread(\"t\");\n",
            "2:5",
            "is given 1 argument",
        ),
    ];
    for (k, (src, at, want)) in cases.iter().enumerate() {
        let name = format!("c{k}.rhai");
        d.write(&name, &format!("print(\"RAN\");\n{src}"));
        let r = d.gilsim(&["check", &name]);
        let err = r.stderr();
        let line: usize = at.split(':').next().unwrap().parse().unwrap();
        let pos = format!("{name}:{}:{}", line + 1, at.split(':').nth(1).unwrap());
        assert_eq!(r.code(), 1, "{src}");
        assert!(err.contains(&pos) && err.contains(want), "{src}: {err}");
        assert!(!r.stdout().contains("RAN"), "check ran the script");
    }
    d.write(
        "scripts/side.rhai",
        "print(\"MODULE RAN\");\nfn f() { 1 }\n",
    );
    d.write("m.rhai", "import \"side\" as s;\nlet x = 1;\n");
    let out = d.gilsim(&["check", "m.rhai"]).ok();
    assert!(!out.contains("MODULE RAN"), "{out}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for e in std::fs::read_dir(root.join("experiments")).unwrap() {
        let p = e.unwrap().path();
        d.gilsim(&["check", p.to_str().unwrap()]).ok();
    }
}

/// `gilsim report` outside a clone runs the experiments built into the
/// binary; a local `experiments/` folder overrides them.
#[test]
fn report_outside_a_clone_runs_the_built_in_experiments() {
    let d = Dir::new();
    let out = d
        .gilsim(&["report", "--only", "e1_threads", "--out", "r"])
        .ok();
    assert!(out.contains("1 experiments"), "{out}");
    assert!(d.exists("r/e1_threads_vs_processes/e1_makespan.csv"));
    assert!(
        d.exists("r/validation.md"),
        "the validation page beside index.html"
    );
    // With every figure it shows (the residual plots too).
    let page = d.read("r/validation.md");
    let images: Vec<&str> = page
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|link| link.ends_with(".png"))
        .collect();
    assert!(images.len() >= 3, "{images:?}");
    for image in images {
        assert!(
            d.exists(&format!("r/{image}")),
            "{image} is not beside the page"
        );
    }
    d.write(
        "experiments/mine.rhai",
        "// Mine — a local experiment\nlet t = table(\"t\", [\"a\"]);\nt.add(#{ a: 1 });\nt.save();\n",
    );
    let out = d.gilsim(&["report", "--out", "r2"]).ok();
    assert!(
        out.contains("1 experiments") && d.exists("r2/mine/t.csv"),
        "{out}"
    );
}
