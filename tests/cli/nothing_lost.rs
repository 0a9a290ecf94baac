//! Robustness II (issue 14): nothing lost, nothing silent. Outputs are
//! committed all or none and the manifest describes exactly the outputs in
//! the folder; one run at a time writes into a folder; a run removes only
//! its own journal and temporary files; an unusable folder is found before
//! the script runs; a closed stdout loses nothing.

use crate::util::{kill, wait_until, Dir, Run};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn manifest(d: &Dir, path: &str) -> Value {
    serde_json::from_str(&d.read(path)).unwrap()
}

/// Every output the manifest of `out` lists is in the folder with its hash,
/// and every file of the folder (but gilsim's own) is listed.
fn manifest_matches_folder(d: &Dir, out: &str) {
    let m = manifest(d, &format!("{out}/manifest.json"));
    assert_eq!(m["status"], "ok");
    let mut listed: Vec<String> = Vec::new();
    for f in m["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let bytes = std::fs::read(d.path().join(out).join(path)).unwrap();
        assert_eq!(
            gilsim::output::manifest::sha256_hex(&bytes),
            f["sha256"].as_str().unwrap(),
            "{path} does not match the manifest"
        );
        listed.push(format!("{out}/{path}"));
    }
    let present: Vec<String> = d
        .files()
        .into_iter()
        .filter(|f| f.starts_with(&format!("{out}/")))
        .filter(|f| !f.ends_with("/manifest.json") && !f.ends_with("/manifest-interrupted.json"))
        .filter(|f| !f.contains("/.gilsim"))
        .collect();
    listed.sort();
    assert_eq!(
        present, listed,
        "the folder holds exactly the listed outputs"
    );
}

const GOOD: &str = "let t = table(\"a/b\", [\"x\"]); t.add(#{ x: 1 }); t.save();\n\
                    let m = table(\"m\", [\"x\"]); m.add(#{ x: 1 }); m.save();\n\
                    let o = table(\"old\", [\"x\"]); o.add(#{ x: 1 }); o.save();";

/// Issue 14, item 5: a script saving `table("x")` and `table("x.csv/z")`
/// used to rename `a/b.csv` and `m.csv` over the old ones, then fail.
#[test]
fn outputs_that_clash_fail_the_run_before_anything_is_replaced() {
    let d = Dir::new();
    d.write("s.rhai", GOOD);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    let before: Vec<(String, String)> = d
        .files()
        .into_iter()
        .map(|f| (f.clone(), d.read(&f)))
        .collect();
    d.write(
        "s.rhai",
        "let t = table(\"a/b\", [\"x\"]); t.add(#{ x: 2 }); t.save();\n\
         let m = table(\"m\", [\"x\"]); m.add(#{ x: 2 }); m.save();\n\
         let x = table(\"x\", [\"x\"]); x.add(#{ x: 2 }); x.save();\n\
         let z = table(\"x.csv/z\", [\"x\"]); z.add(#{ x: 2 }); z.save();",
    );
    let r = d.gilsim(&["run", "s.rhai", "--out", "out"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(
        r.stderr().starts_with("error: s.rhai:4:"),
        "at the save that clashes: {}",
        r.stderr()
    );
    assert!(r.stderr().contains("also writes x.csv"), "{}", r.stderr());
    let after: Vec<(String, String)> = d
        .files()
        .into_iter()
        .map(|f| (f.clone(), d.read(&f)))
        .collect();
    let before: Vec<_> = before.into_iter().filter(|(f, _)| f != "s.rhai").collect();
    let after: Vec<_> = after.into_iter().filter(|(f, _)| f != "s.rhai").collect();
    assert_eq!(after, before, "the old results are untouched");
    manifest_matches_folder(&d, "out");
}

/// Issue 14, item 5: the manifest describes exactly the outputs in the
/// folder: an output of the last good run that this run does not write again
/// is removed (unless changed since); files gilsim did not write stay.
#[test]
fn the_manifest_describes_exactly_the_outputs_in_the_folder() {
    let d = Dir::new();
    d.write("s.rhai", GOOD);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    d.write("out/notes.txt", "mine");
    d.write(
        "s.rhai",
        "let t = table(\"m\", [\"x\"]); t.add(#{ x: 3 }); t.save();",
    );
    std::fs::write(d.path().join("out/old.csv"), "edited by hand\n").unwrap();
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    assert!(!d.exists("out/a"), "a/b.csv and its folder are removed");
    assert_eq!(d.read("out/notes.txt"), "mine");
    assert_eq!(
        d.read("out/old.csv"),
        "edited by hand\n",
        "a changed file stays"
    );
    let m = manifest(&d, "out/manifest.json");
    assert_eq!(m["files"].as_array().unwrap().len(), 1);
    assert_eq!(m["files"][0]["path"], "m.csv");
}

/// Issue 14, item 6: `--trace` naming an output, the manifest, the script or
/// a module used to overwrite it silently.
#[test]
fn a_trace_file_may_not_overwrite_an_output_or_an_input() {
    let d = Dir::new();
    d.write("lib.rhai", "fn one() { 1 }");
    d.write(
        "s.rhai",
        "import \"lib\" as lib;\nlet t = table(\"res\", [\"x\"]); t.add(#{ x: lib::one() }); t.save();\n\
         let app = python(); app.add_thread(\"a\", [py(ms(1))]); machine().run(app);",
    );
    for (trace, what) in [
        ("out/res.csv", "the output res.csv"),
        ("out/manifest.json", "the run's manifest"),
        ("s.rhai", "the script"),
        ("lib.rhai", "a source the script read"),
        ("out/.gilsim-journal/s.jsonl", "inside the sweep journal"),
    ] {
        let script = d.read("s.rhai");
        let r = d.gilsim(&["run", "s.rhai", "--out", "out", "--trace", trace]);
        assert_eq!(r.code(), 1, "{trace}: {}", r.stderr());
        assert!(
            r.stderr()
                .contains(&format!("--trace {trace}: that file is {what}")),
            "{trace}: {}",
            r.stderr()
        );
        assert_eq!(d.read("s.rhai"), script, "{trace}");
        assert!(!d.exists("out/res.csv"), "{trace}: nothing written");
        assert!(d.temp_files().is_empty(), "{trace}: {:?}", d.temp_files());
    }
    d.gilsim(&["run", "s.rhai", "--out", "out", "--trace", "out/t.json"])
        .ok();
    assert!(d.exists("out/t.json"));
}

/// Issue 14, item 7: two runs into one folder used to mix their files.
#[test]
fn a_second_run_into_a_busy_folder_fails_naming_the_holder() {
    let d = Dir::new();
    d.write("s.rhai", GOOD);
    let held = gilsim::output::folder::FolderLock::acquire(&d.path().join("out")).unwrap();
    let r = d.gilsim(&["run", "s.rhai", "--out", "out"]);
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let pid = std::process::id();
    assert!(
        r.stderr()
            .contains(&format!("is in use by another gilsim run (pid {pid})")),
        "{}",
        r.stderr()
    );
    assert!(!d.exists("out/m.csv"), "the second run wrote nothing");
    drop(held);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    manifest_matches_folder(&d, "out");
    assert!(!d.exists("out/.gilsim-lock"), "the lock file is removed");

    // Two real runs at once: one of them is refused, never both mixed.
    d.write(
        "slow.rhai",
        "print(\"started\");\nlet i = 0; while i < 3000000 { i += 1; }\nlet t = table(\"t\", [\"x\"]); t.add(#{ x: 1 }); t.save();",
    );
    let mut first = d.spawn(&["run", "slow.rhai", "--out", "busy"]);
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let second = d.gilsim(&["run", "s.rhai", "--out", "busy"]);
    assert_eq!(second.code(), 1, "{}", second.stderr());
    assert!(
        second.stderr().contains(&format!(
            "in use by another gilsim run (pid {})",
            first.id()
        )),
        "{}",
        second.stderr()
    );
    assert!(first.wait().unwrap().success());
    manifest_matches_folder(&d, "busy");
}

const SWEEP: &str = "let s = sweep(\"s\", #{ n: [1, 2, 3] }, |p| #{ x: p.n });\ns.save();";

/// Issue 14, item 8: any successful run deleted every journal in the folder,
/// including another script's interrupted sweep.
#[test]
fn a_successful_run_keeps_the_journal_of_another_scripts_sweep() {
    let d = Dir::new();
    let theirs = "{\"key\":\"0123\",\"sweep\":\"other\",\"call\":0,\"task\":0,\"point\":0,\"params\":[[\"n\",\"i:1\"]],\"replicate\":0,\"seed\":1,\"metrics\":[[\"x\",\"i:1\"]],\"prints\":[]}\n";
    d.write("out/.gilsim-journal/other.jsonl", theirs);
    d.write("out/.gilsim-journal/s.jsonl", &theirs.replace("other", "s"));
    d.write("s.rhai", SWEEP);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    assert_eq!(d.read("out/.gilsim-journal/other.jsonl"), theirs);
    assert_eq!(
        d.read("out/.gilsim-journal/s.jsonl"),
        theirs.replace("other", "s"),
        "lines of another run of a sweep of the same name stay"
    );
}

/// Issue 14, item 9: Ctrl-C while re-running into a folder with good
/// results replaced their manifest with an "interrupted" one listing no file.
#[test]
fn an_interrupted_rerun_keeps_the_good_results_and_their_manifest() {
    let d = Dir::new();
    d.write("s.rhai", GOOD);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    let good = d.read("out/manifest.json");
    d.write(
        "s.rhai",
        "print(\"started\");\nlet i = 0;\nloop { i += 1; }\n",
    );
    let mut child = d.spawn(&["run", "s.rhai", "--out", "out", "--limit", "ops=1000G"]);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    kill(child.id(), "INT");
    let r = Run(child.wait_with_output().unwrap());
    assert_eq!(r.code(), 130, "{}", r.stderr());
    assert_eq!(d.read("out/manifest.json"), good, "the good manifest stays");
    manifest_matches_folder(&d, "out");
    let record = manifest(&d, "out/manifest-interrupted.json");
    assert_eq!(record["status"], "interrupted");
    assert!(
        r.stderr().contains("manifest-interrupted.json"),
        "{}",
        r.stderr()
    );
    // The next good run supersedes the record.
    d.write("s.rhai", GOOD);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    assert!(!d.exists("out/manifest-interrupted.json"));
}

/// Issue 14, item 10: SIGHUP (and SIGUSR1, SIGALRM) used to end a run at
/// once, leaving its temporary files; temporary files of killed runs were
/// never cleaned.
#[test]
fn sighup_stops_a_run_cleanly_and_stale_temp_files_are_removed() {
    let d = Dir::new();
    d.write(
        "spin.rhai",
        "print(\"started\");\nlet app = python();\napp.add_thread(\"a\", [loop_for(s(100000), [py(us(50)), io(exp(us(50)))])]);\nmachine().run(app, #{ chrome_trace: \"t\" });",
    );
    for (signal, status) in [("HUP", 129), ("USR1", 138), ("ALRM", 142)] {
        let mut child = d.spawn(&["run", "spin.rhai", "--out", "out", "--limit", "events=1G"]);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        wait_until("the trace's temporary file", || !d.temp_files().is_empty());
        kill(child.id(), signal);
        let r = Run(child.wait_with_output().unwrap());
        assert_eq!(r.code(), status, "SIG{signal}: {}", r.stderr());
        assert!(
            r.stderr().contains(&format!("interrupted by SIG{signal}")),
            "{}",
            r.stderr()
        );
        assert!(
            d.temp_files().is_empty(),
            "SIG{signal}: {:?}",
            d.temp_files()
        );
    }
    // What a SIGKILL or a full disk leaves is removed by the next run.
    d.write("out/.gilsim-12ab.tmp", "half a csv");
    d.write("out/sub/.gilsim-34cd.tmp", "half a figure");
    d.write("s.rhai", GOOD);
    d.gilsim(&["run", "s.rhai", "--out", "out"]).ok();
    assert!(d.temp_files().is_empty(), "{:?}", d.temp_files());
}

/// Issue 14, item 11: an unusable output folder was found only after the
/// whole script ran, and its error repeated its cause twice.
#[test]
fn an_unusable_output_folder_fails_before_the_script_runs() {
    let d = Dir::new();
    d.write("file", "not a folder");
    d.write(
        "spin.rhai",
        "print(\"started\");\nlet i = 0;\nloop { i += 1; }\n",
    );
    for out in ["file", "file/sub"] {
        let r = d.gilsim(&["run", "spin.rhai", "--out", out, "--limit", "ops=1000G"]);
        assert_eq!(r.code(), 1, "{out}: {}", r.stderr());
        assert!(!r.stdout().contains("started"), "{out}: the script ran");
        let err = r.stderr();
        assert!(
            err.starts_with(&format!("error: cannot use the output folder {out}: ")),
            "{err}"
        );
        assert!(err.contains("is not a folder"), "{err}");
        assert_eq!(
            err.matches("not a folder").count(),
            1,
            "the cause once: {err}"
        );
    }
    assert_eq!(d.read("file"), "not a folder");
}

/// Runs `gilsim ARGS` in `d` with stdout a pipe whose reader is gone.
#[cfg(unix)]
fn with_closed_stdout(d: &Dir, args: &[&str]) -> Run {
    use std::os::unix::io::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe() fills two descriptors we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: closing the read end, which nothing else uses.
    unsafe { libc::close(fds[0]) };
    // SAFETY: the write end is ours and handed over to the child's stdout.
    let stdout = unsafe { Stdio::from_raw_fd(fds[1]) };
    let out = Command::new(env!("CARGO_BIN_EXE_gilsim"))
        .args(args)
        .current_dir(d.path())
        .env("RUST_BACKTRACE", "0")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    Run(out)
}

/// Issue 14, item 12: `| head -0` or `> /dev/full` panicked, and a sweep
/// whose points print lost every finished run.
#[cfg(unix)]
#[test]
fn a_closed_or_full_stdout_loses_nothing() {
    let d = Dir::new();
    d.write(
        "s.rhai",
        "print(\"hello\");\nlet s = sweep(\"s\", #{ n: [1, 2, 3] }, |p| { print(`point ${p.n}`); #{ x: p.n } });\ns.save();",
    );
    let full = std::fs::File::create("/dev/full");
    for (how, r) in [
        (
            "a closed pipe",
            Some(with_closed_stdout(&d, &["run", "s.rhai", "--out", "pipe"])),
        ),
        (
            "/dev/full",
            full.ok().map(|f| {
                Run(Command::new(env!("CARGO_BIN_EXE_gilsim"))
                    .args(["run", "s.rhai", "--out", "full"])
                    .current_dir(d.path())
                    .stdout(f)
                    .stderr(Stdio::piped())
                    .output()
                    .unwrap())
            }),
        ),
    ] {
        let Some(r) = r else { continue };
        assert_eq!(r.code(), 0, "{how}: {}", r.stderr());
        assert!(!r.stderr().contains("panicked"), "{how}: {}", r.stderr());
    }
    manifest_matches_folder(&d, "pipe");
    assert!(d.exists("pipe/s.csv"));
    if d.exists("full") {
        manifest_matches_folder(&d, "full");
        assert!(d.exists("full/s.csv"), "/dev/full: the results are kept");
    }
    let r = with_closed_stdout(
        &d,
        &[
            "bench",
            "--seconds",
            "1",
            "--repeat",
            "1",
            "--scenario",
            "A",
        ],
    );
    assert_eq!(r.code(), 0, "bench: {}", r.stderr());
}
