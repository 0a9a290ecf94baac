//! Faults of the file system and of the input files: a full disk, an output
//! folder that cannot be written, symlinks that lead elsewhere, scripts that
//! cannot be read. Each fails the run with a message and exit status 1, and
//! leaves complete files or none.

use crate::util::{Dir, Run};
use std::process::Command;

/// Two tables (`a` depends on the seed, `b` has `rows` rows) and a small sweep.
const TWO_TABLES: &str = r#"
let a = table("a");
a.add(#{ seed: seed() });
a.save();
let b = table("b");
for i in 0..param("rows", 10) { b.add(#{ i: i }); }
b.save();
let s = sweep("s", #{ n: [1, 2, 3, 4] }, |p| #{ x: p.n });
"#;

/// Runs `gilsim ARGS` in `d` with the file-size limit at `kib` KiB and
/// SIGXFSZ ignored, so a write past it fails with EFBIG ("File too large"),
/// as on a full disk.
fn gilsim_with_file_limit(d: &Dir, kib: u32, args: &[&str]) -> Run {
    // dash counts 512-byte blocks, bash 1024-byte ones: -f 2*kib is at most 2*kib KiB.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"",
            2 * kib
        ))
        .arg(env!("CARGO_BIN_EXE_gilsim"))
        .args(args)
        .current_dir(d.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run sh");
    Run(out)
}

#[cfg(unix)]
#[test]
fn a_full_disk_fails_the_run_and_keeps_the_last_good_results() {
    let d = Dir::new();
    d.write("two.rhai", TWO_TABLES);
    d.gilsim(&["run", "two.rhai", "--out", "out"]).ok();
    let before: Vec<String> = ["a.csv", "b.csv", "manifest.json"]
        .iter()
        .map(|f| d.read(&format!("out/{f}")))
        .collect();

    // b.csv (about 100 KiB) does not fit: no file is replaced, not even a.csv,
    // which was written before it (every file is written in full before any
    // is renamed into place).
    let r = gilsim_with_file_limit(
        &d,
        8,
        &[
            "run",
            "two.rhai",
            "--out",
            "out",
            "--seed",
            "1",
            "--set",
            "rows=20000",
        ],
    );
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("File too large"), "{}", r.stderr());
    let after: Vec<String> = ["a.csv", "b.csv", "manifest.json"]
        .iter()
        .map(|f| d.read(&format!("out/{f}")))
        .collect();
    assert_eq!(after, before, "the last good results are intact");
    assert_eq!(
        d.temp_files(),
        Vec::<String>::new(),
        "no temporary file left"
    );
    assert!(
        !d.exists("out/.gilsim-journal"),
        "the failed run's journal is removed"
    );

    // A sweep journal that cannot grow fails the sweep early, naming it.
    d.write(
        "sweep.rhai",
        "let ns = [];\nfor i in 0..400 { ns.push(i); }\nsweep(\"big\", #{ n: ns }, |p| #{ x: p.n, y: p.n * 2.5 });\n",
    );
    let r = gilsim_with_file_limit(&d, 8, &["run", "sweep.rhai", "--out", "fresh"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().contains("cannot write the sweep journal")
            && r.stderr().contains("File too large"),
        "{}",
        r.stderr()
    );
    assert!(!d.exists("fresh"), "a failed first run leaves no folder");
}

#[cfg(unix)]
#[test]
fn an_output_folder_that_cannot_be_written_fails_the_run() {
    let d = Dir::new();
    d.write(
        "t.rhai",
        "let t = table(\"t\");\nt.add(#{ a: 1 });\nt.save();\n",
    );
    // The output folder is a file.
    d.write("blocker", "keep me\n");
    for out in ["blocker", "blocker/sub"] {
        let r = d.gilsim(&["run", "t.rhai", "--out", out]);
        assert_eq!(r.code(), 1, "{out}: {}", r.stderr());
        assert!(
            r.stderr()
                .starts_with(&format!("error: cannot use the output folder {out}: ")),
            "{out}: {}",
            r.stderr()
        );
        assert_eq!(d.read("blocker"), "keep me\n");
    }

    // A folder without write permission (root ignores permissions, so this
    // part only runs for other users).
    use std::os::unix::fs::PermissionsExt;
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = std::fs::write(ro.join("probe"), "").is_ok();
    if !root {
        let r = d.gilsim(&["run", "t.rhai", "--out", "ro/out"]);
        assert_eq!(r.code(), 1, "{}", r.stderr());
        assert!(r.stderr().contains("Permission denied"), "{}", r.stderr());
    }
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(d.temp_files(), Vec::<String>::new());
}

#[cfg(unix)]
#[test]
fn the_sweep_journal_cannot_leave_the_output_folder_through_a_symlink() {
    let d = Dir::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("out")).unwrap();
    std::os::unix::fs::symlink(outside.path(), d.path().join("out/.gilsim-journal")).unwrap();
    d.write("s.rhai", "sweep(\"s\", #{ n: [1, 2] }, |p| #{ x: p.n });\n");
    let r = d.gilsim(&["run", "s.rhai", "--out", "out"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(r.stderr().contains("symlink"), "{}", r.stderr());
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn imports_resolve_only_inside_the_script_folder_and_scripts() {
    let d = Dir::new();
    d.write("elsewhere/evil.rhai", "fn f() { 1 }\n");
    d.write("exp/scripts/real.rhai", "fn f() { 2 }\n");
    std::fs::create_dir_all(d.path().join("exp/lib")).unwrap();
    std::os::unix::fs::symlink(
        "../../elsewhere/evil.rhai",
        d.path().join("exp/scripts/evil.rhai"),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../elsewhere", d.path().join("exp/lib/ext")).unwrap();
    std::os::unix::fs::symlink("real.rhai", d.path().join("exp/scripts/alias.rhai")).unwrap();

    // A symlink that stays inside its folder is fine.
    d.write("exp/ok.rhai", "import \"alias\" as a;\nprint(a::f());\n");
    assert!(d.gilsim(&["run", "exp/ok.rhai"]).ok().starts_with("2\n"));

    for (import, says) in [
        (
            "evil",
            "leads to elsewhere/evil.rhai, outside the folders modules are read from",
        ),
        ("lib/ext/evil", "leads to elsewhere/evil.rhai, outside"),
        (
            "../elsewhere/evil",
            "a module is named by a relative path without `..`",
        ),
        (
            "/etc/passwd",
            "a module is named by a relative path without `..`",
        ),
    ] {
        d.write(
            "exp/bad.rhai",
            &format!("import \"{import}\" as m;\nprint(m::f());\n"),
        );
        for cmd in ["run", "check"] {
            let r = d.gilsim(&[cmd, "exp/bad.rhai"]);
            assert_eq!(r.code(), 1, "{cmd} {import}: {}", r.stderr());
            assert!(
                r.stderr().starts_with("error: exp/bad.rhai:1:") && r.stderr().contains(says),
                "{cmd} {import}: {}",
                r.stderr()
            );
        }
    }
    assert!(!d.exists("out/bad"));
}

#[test]
fn scripts_that_cannot_be_read_are_errors() {
    let d = Dir::new();
    std::fs::write(d.path().join("latin1.rhai"), b"print(\"caf\xe9\");").unwrap();
    std::fs::create_dir(d.path().join("folder.rhai")).unwrap();
    std::fs::write(d.path().join("huge.rhai"), vec![b' '; (4 << 20) + 1]).unwrap();
    for (script, says) in [
        ("latin1.rhai", "it is not UTF-8 text"),
        ("folder.rhai", "it is not a file"),
        ("huge.rhai", "more than the limit of 4194304"),
        ("missing.rhai", "No such file"),
    ] {
        let r = d.gilsim(&["run", script]);
        assert_eq!(r.code(), 1, "{script}");
        assert!(
            r.stderr()
                .starts_with(&format!("error: cannot read script {script}: "))
                && r.stderr().contains(says),
            "{script}: {}",
            r.stderr()
        );
    }
    assert!(!d.exists("out"));
}

/// A trace that cannot be written (its folder does not exist, or is a file)
/// names the file asked for and its cause once, not the temporary file the
/// write went through.
#[test]
fn an_unwritable_trace_names_the_file_not_the_temporary_one() {
    let d = Dir::new();
    d.write(
        "one.rhai",
        r#"let app = python(#{ gil: "new" });
app.add_thread("cpu", [py(ms(10))]);
let r = machine(#{ cores: 2 }).run(app);
"#,
    );
    d.write("afile", "");
    for (trace, cause) in [
        ("nodir/x.json", "No such file or directory"),
        ("afile/x.json", "Not a directory"),
    ] {
        let r = d.gilsim(&["run", "one.rhai", "--out", "out", "--trace", trace]);
        let err = r.stderr();
        assert_eq!(r.code(), 1, "{err}");
        assert!(
            err.contains(&format!("cannot write {trace}: {cause}")),
            "{err}"
        );
        assert_eq!(
            err.matches(cause).count(),
            1,
            "the cause is repeated: {err}"
        );
        assert!(
            !err.contains(".gilsim-") && !err.contains("at path"),
            "{err}"
        );
    }
}
