//! Arbitrary bytes as a gilsim script, run through `gilsim::run` with small
//! limits. Errors are fine (almost every input is one); a panic, a hang past
//! the limits or unbounded memory is a bug.
#![no_main]

use gilsim::script::Limits;
use gilsim::{Error, RunOptions};
use libfuzzer_sys::fuzz_target;

/// Small limits: every loop stops after `max_ops` operations or 5 s of script
/// time, every value stays small, every simulation stops after 20 000 events.
fn limits() -> Limits {
    Limits {
        max_ops: 100_000,
        max_call_levels: 32,
        max_string_size: 64 << 10,
        max_array_size: 10_000,
        max_map_size: 1_000,
        max_modules: 16,
        max_threads: 64,
        max_trace_events: 10_000,
        max_processes: 64,
        max_events: 20_000,
        max_sweep_runs: 16,
        max_script_time_s: 5,
        ..Limits::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let script = dir.path().join("fuzz.rhai");
    if std::fs::write(&script, data).is_err() {
        return;
    }
    let mut opts = RunOptions::new(&script);
    opts.out = Some(dir.path().join("out"));
    opts.jobs = Some(1);
    opts.limits = limits();
    match gilsim::run(&opts) {
        Ok(_) => {}
        // A panic on the script thread (caught by `run`) is a bug too.
        Err(Error::Internal(msg)) => panic!("internal error: {msg}"),
        Err(_) => {}
    }
});
