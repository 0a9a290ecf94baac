//! Chrome trace-event JSON, streamed to disk as the run goes, so a run opens
//! in Perfetto (ui.perfetto.dev) or chrome://tracing.
//!
//! One process track per simulated process, one thread track per thread;
//! each state interval is a complete event (`"ph":"X"`) named by the state;
//! each GIL hand-off is a flow arrow (`"s"` on the previous holder, `"f"` on
//! the new one) plus an instant event (`"i"`) on the new holder. Metadata
//! events (`"M"`) name processes and threads. Each interpreter with a GIL
//! also gets a "GIL holder" track in its process, one slice per holding
//! (named by the holder), from its take-over until it releases the GIL
//! (blocks, waits for the GIL, runs GIL-releasing C) or hands it over; a
//! thread preempted by the OS keeps holding it. A "CPU" process holds one
//! track per core ("core 0", "core 1", …), one slice per stay of a thread on
//! that core (named by the thread), from the end of the context switch onto it
//! until the thread leaves it. Timestamps are microseconds
//! with nanosecond decimals, printed exactly (no float rounding).
//! Format: <https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU>.

use gilsim_engine::{CoreId, InterpId, ProcessId, SimTime, ThreadId, ThreadState, TraceSink};
use std::collections::BTreeSet;
use std::io::{self, Write};

/// Streams trace events to `W`. I/O errors are kept and returned by [`finish`](Self::finish).
pub struct ChromeTraceWriter<W: Write> {
    out: W,
    first: bool,
    error: Option<io::Error>,
    pid_of: Vec<u32>,
    named_pids: BTreeSet<u32>,
    flows: u64,
    limit: u64,
    events: u64,
    names: Vec<String>,
    /// Per interpreter: its GIL's holder and since when.
    holders: Vec<Option<(ThreadId, SimTime)>>,
    /// Per interpreter: the process of its GIL track, once named.
    gil_tracks: Vec<Option<u32>>,
    /// The cores whose tracks are named so far.
    core_tracks: BTreeSet<u32>,
    last: SimTime,
}

/// Thread id of the GIL-holder track of interpreter `i` (far above real thread ids).
const GIL_TRACK_TID: u64 = 1 << 40;

/// Process id of the "CPU" process, which holds the core tracks (far above
/// simulated process ids, which count from 0).
pub const CPU_PID: u32 = 1 << 30;

fn ts(t: SimTime) -> String {
    let ns = t.as_nanos();
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

impl<W: Write> ChromeTraceWriter<W> {
    /// Starts the JSON document; at most `limit` events are written (then the
    /// writer fails with a clear error instead of filling the disk).
    pub fn new(mut out: W, limit: u64) -> io::Result<Self> {
        out.write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")?;
        Ok(ChromeTraceWriter {
            out,
            first: true,
            error: None,
            pid_of: Vec::new(),
            named_pids: BTreeSet::new(),
            flows: 0,
            limit,
            events: 0,
            names: Vec::new(),
            holders: Vec::new(),
            gil_tracks: Vec::new(),
            core_tracks: BTreeSet::new(),
            last: SimTime(0),
        })
    }

    fn emit(&mut self, event: &str) {
        if self.error.is_some() {
            return;
        }
        if self.events >= self.limit {
            self.error = Some(io::Error::other(format!(
                "the trace reached its limit of {} events; {}, or trace a shorter run",
                self.limit,
                crate::support::limits::raise_hint("trace-events", self.limit, None)
            )));
            return;
        }
        self.events += 1;
        let sep: &[u8] = if self.first { b"" } else { b",\n" };
        self.first = false;
        if let Err(e) = self
            .out
            .write_all(sep)
            .and_then(|_| self.out.write_all(event.as_bytes()))
        {
            self.error = Some(e);
        }
    }

    fn pid(&self, t: ThreadId) -> u32 {
        self.pid_of.get(t.index()).copied().unwrap_or(0)
    }

    /// Ends the GIL holding of interpreter `i` at `end`, drawing its slice.
    fn release(&mut self, i: usize, end: SimTime) {
        let Some(Some((holder, since))) = self.holders.get(i).copied() else {
            return;
        };
        self.holders[i] = None;
        if end <= since {
            return;
        }
        let pid = self.gil_tracks.get(i).copied().flatten().unwrap_or(0);
        let name = self
            .names
            .get(holder.index())
            .cloned()
            .unwrap_or_else(|| format!("thread {}", holder.0));
        self.emit(&format!(
            "{{\"ph\":\"X\",\"name\":{},\"cat\":\"gil\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{}}}",
            json_str(&name),
            GIL_TRACK_TID + i as u64,
            ts(since),
            ts(SimTime(end.as_nanos() - since.as_nanos()))
        ));
    }

    /// Names the "CPU" process (first time) and the track of `core` (first time).
    fn name_core_track(&mut self, core: CoreId) {
        if self.core_tracks.is_empty() {
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{CPU_PID},\"tid\":0,\"args\":{{\"name\":\"CPU\"}}}}"
            ));
            // Listed first, above the processes whose threads it runs.
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{CPU_PID},\"tid\":0,\"args\":{{\"sort_index\":-1}}}}"
            ));
        }
        if self.core_tracks.insert(core.0) {
            let tid = core.0;
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{CPU_PID},\"tid\":{tid},\"args\":{{\"name\":\"core {tid}\"}}}}"
            ));
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{CPU_PID},\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}}}"
            ));
        }
    }

    /// Closes the JSON document and returns the writer, or the first error.
    pub fn finish(mut self) -> io::Result<W> {
        for i in 0..self.holders.len() {
            let last = self.last;
            self.release(i, last);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The error that stopped the writer (the event limit, a full disk), if any.
    pub fn failure(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    /// Number of events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }
}

impl<W: Write> TraceSink for ChromeTraceWriter<W> {
    fn thread_started(
        &mut self,
        _time: SimTime,
        thread: ThreadId,
        name: &str,
        process: ProcessId,
        process_name: &str,
    ) {
        let pid = process.0;
        if self.pid_of.len() <= thread.index() {
            self.pid_of.resize(thread.index() + 1, 0);
        }
        self.pid_of[thread.index()] = pid;
        if self.named_pids.insert(pid) {
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":{}}}}}",
                json_str(process_name)
            ));
        }
        if self.names.len() <= thread.index() {
            self.names.resize(thread.index() + 1, String::new());
        }
        self.names[thread.index()] = name.to_string();
        let tid = thread.0;
        self.emit(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
            json_str(name)
        ));
        self.emit(&format!(
            "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}}}"
        ));
    }

    fn interval(&mut self, thread: ThreadId, state: ThreadState, start: SimTime, end: SimTime) {
        self.last = self.last.max(end);
        let releases = matches!(
            state,
            ThreadState::Blocked | ThreadState::WaitingGil | ThreadState::NativeReleasedGil
        );
        if releases {
            for i in 0..self.holders.len() {
                if matches!(self.holders[i], Some((h, since)) if h == thread && start >= since) {
                    self.release(i, start);
                }
            }
        }
        let pid = self.pid(thread);
        let dur = ts(SimTime(end.as_nanos() - start.as_nanos()));
        self.emit(&format!(
            "{{\"ph\":\"X\",\"name\":\"{}\",\"cat\":\"state\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"dur\":{dur}}}",
            state.label(),
            thread.0,
            ts(start)
        ));
    }

    fn on_core(&mut self, core: CoreId, thread: ThreadId, start: SimTime, end: SimTime) {
        self.last = self.last.max(end);
        self.name_core_track(core);
        let name = self
            .names
            .get(thread.index())
            .cloned()
            .unwrap_or_else(|| format!("thread {}", thread.0));
        self.emit(&format!(
            "{{\"ph\":\"X\",\"name\":{},\"cat\":\"core\",\"pid\":{CPU_PID},\"tid\":{},\"ts\":{},\"dur\":{}}}",
            json_str(&name),
            core.0,
            ts(start),
            ts(SimTime(end.as_nanos() - start.as_nanos()))
        ));
    }

    fn handoff(&mut self, interp: InterpId, time: SimTime, from: Option<ThreadId>, to: ThreadId) {
        self.last = self.last.max(time);
        let t = ts(time);
        let (pid_to, tid_to) = (self.pid(to), to.0);
        let i = interp.0 as usize;
        if self.holders.len() <= i {
            self.holders.resize(i + 1, None);
            self.gil_tracks.resize(i + 1, None);
        }
        if self.gil_tracks[i].is_none() {
            self.gil_tracks[i] = Some(pid_to);
            let tid = GIL_TRACK_TID + i as u64;
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid_to},\"tid\":{tid},\"args\":{{\"name\":\"GIL holder (interpreter {})\"}}}}",
                interp.0
            ));
            self.emit(&format!(
                "{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{pid_to},\"tid\":{tid},\"args\":{{\"sort_index\":-1}}}}"
            ));
        }
        self.release(i, time);
        self.holders[i] = Some((to, time));
        if let Some(f) = from {
            self.flows += 1;
            let id = self.flows;
            let (pid_from, tid_from) = (self.pid(f), f.0);
            self.emit(&format!(
                "{{\"ph\":\"s\",\"name\":\"GIL hand-off\",\"cat\":\"gil\",\"id\":{id},\"pid\":{pid_from},\"tid\":{tid_from},\"ts\":{t}}}"
            ));
            self.emit(&format!(
                "{{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"GIL hand-off\",\"cat\":\"gil\",\"id\":{id},\"pid\":{pid_to},\"tid\":{tid_to},\"ts\":{t}}}"
            ));
        }
        self.emit(&format!(
            "{{\"ph\":\"i\",\"s\":\"t\",\"name\":\"takes GIL of interpreter {}\",\"cat\":\"gil\",\"pid\":{pid_to},\"tid\":{tid_to},\"ts\":{t}}}",
            interp.0
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gilsim_engine::*;
    use serde_json::Value;
    use std::collections::BTreeMap;

    fn traced_json() -> serde_json::Value {
        let mut c = SimConfig::new(
            MachineConfig::with_cores(2),
            GilModel::new_with_interval(SimDuration::ms(1)),
        );
        c.add_thread(
            "cpu \"quoted\"",
            InterpId(0),
            vec![Step::py(SimDuration::ms(20))],
        );
        c.add_thread(
            "io",
            InterpId(0),
            vec![Step::Repeat {
                times: 20,
                body: vec![
                    Step::py(SimDuration::us(50)),
                    Step::io(Dist::Exp {
                        mean: SimDuration::us(500),
                    }),
                ],
            }],
        );
        let (p, i) = c.add_process("child", StartMethod::Fork, GilModel::new_gil());
        c.add_thread("child-main", i, vec![Step::py(SimDuration::ms(2))]);
        c.threads[0].program.insert(0, Step::StartProcess(p));
        let mut w = ChromeTraceWriter::new(Vec::new(), 1_000_000).unwrap();
        run_with_sink(&c, &mut w).unwrap();
        serde_json::from_slice(&w.finish().unwrap()).expect("the trace is valid JSON")
    }

    #[test]
    fn every_event_has_the_fields_its_phase_requires() {
        let v = traced_json();
        let events = v["traceEvents"].as_array().unwrap();
        assert!(events.len() > 100);
        let required: &[(&str, &[&str])] = &[
            ("X", &["name", "pid", "tid", "ts", "dur"]),
            ("M", &["name", "pid", "args"]),
            ("s", &["name", "id", "pid", "tid", "ts"]),
            ("f", &["name", "id", "pid", "tid", "ts", "bp"]),
            ("i", &["name", "pid", "tid", "ts", "s"]),
        ];
        let mut seen = BTreeSet::new();
        for e in events {
            let ph = e["ph"].as_str().unwrap();
            let fields = required
                .iter()
                .find(|(p, _)| *p == ph)
                .map(|(_, f)| *f)
                .expect("known phase");
            for f in fields {
                assert!(!e[*f].is_null(), "{ph} event without {f}: {e}");
            }
            seen.insert(ph.to_string());
        }
        assert_eq!(
            seen.len(),
            required.len(),
            "every kind of event appears: {seen:?}"
        );
        let names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "process_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["main", "child", "CPU"]);
    }

    /// The core tracks: one per core of the machine, and each thread's time
    /// on them is its time in the states that run on a core.
    #[test]
    fn core_tracks_hold_the_running_time_of_each_thread() {
        let v = traced_json();
        let events = v["traceEvents"].as_array().unwrap();
        let cores: BTreeSet<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name" && e["pid"] == CPU_PID)
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(cores, BTreeSet::from(["core 0", "core 1"]));
        let running: Vec<&str> = [
            ThreadState::Python,
            ThreadState::NativeHoldingGil,
            ThreadState::NativeReleasedGil,
        ]
        .iter()
        .map(|s| s.label())
        .collect();
        let name_of = |pid: &Value, tid: &Value| {
            events
                .iter()
                .find(|e| e["name"] == "thread_name" && &e["pid"] == pid && &e["tid"] == tid)
                .map(|e| e["args"]["name"].as_str().unwrap().to_string())
                .unwrap()
        };
        let (mut on_cores, mut ran) = (BTreeMap::new(), BTreeMap::new());
        for e in events.iter().filter(|e| e["ph"] == "X") {
            let dur = e["dur"].as_f64().unwrap();
            if e["pid"] == CPU_PID {
                *on_cores
                    .entry(e["name"].as_str().unwrap().to_string())
                    .or_insert(0.0) += dur;
            } else if running.contains(&e["name"].as_str().unwrap()) {
                *ran.entry(name_of(&e["pid"], &e["tid"])).or_insert(0.0) += dur;
            }
        }
        assert_eq!(on_cores.len(), 3, "{on_cores:?}");
        assert_eq!(
            on_cores.keys().collect::<Vec<_>>(),
            ran.keys().collect::<Vec<_>>()
        );
        for (thread, t) in &on_cores {
            let want: f64 = ran[thread];
            assert!(
                (t - want).abs() < 1e-6 * want,
                "{thread}: on cores {t} µs, running {want} µs"
            );
        }
    }

    #[test]
    fn slices_of_a_thread_do_not_overlap() {
        let v = traced_json();
        let mut by_thread: std::collections::BTreeMap<(u64, u64), Vec<(f64, f64)>> =
            Default::default();
        for e in v["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
        {
            let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let (s, d) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap());
            by_thread.entry(key).or_default().push((s, s + d));
        }
        let gil_tracks = by_thread.keys().filter(|k| k.1 >= GIL_TRACK_TID).count();
        let core_tracks = by_thread.keys().filter(|k| k.0 == CPU_PID as u64).count();
        assert_eq!(core_tracks, 2, "one track per core");
        assert_eq!(
            by_thread.len() - gil_tracks - core_tracks,
            3,
            "one track per thread"
        );
        assert!(gil_tracks >= 1, "a GIL-holder track");
        for (k, mut v) in by_thread {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in v.windows(2) {
                assert!(
                    w[0].1 <= w[1].0 + 1e-9,
                    "thread {k:?}: {:?} overlaps {:?}",
                    w[0],
                    w[1]
                );
            }
        }
    }

    #[test]
    fn the_event_limit_is_an_error_not_a_full_disk() {
        let mut c = SimConfig::new(MachineConfig::with_cores(1), GilModel::new_gil());
        c.add_thread("a", InterpId(0), vec![Step::py(SimDuration::ms(100))]);
        c.add_thread("b", InterpId(0), vec![Step::py(SimDuration::ms(100))]);
        let mut w = ChromeTraceWriter::new(Vec::new(), 10).unwrap();
        run_with_sink(&c, &mut w).unwrap();
        let e = w.finish().unwrap_err();
        assert!(e.to_string().contains("limit of 10 events"), "{e}");
    }
}
