//! Figures: every kind renders to a non-empty SVG and a PNG with text and
//! data in it, the same bytes on every run, and only when the script succeeds.

use crate::util::Dir;
use std::ops::Range;

/// One figure of each kind: line (CI band, log axes), bars (error bars),
/// CDF (log x), a timeline of a traced run and one of a trace window.
const FIGURES: &str = r#"
let t = table("lines", ["size_ms", "speed_per_s", "speed_per_s_ci95", "variant"]);
for v in ["fast", "slow"] {
    for x in [1, 10, 100, 1000] {
        let y = if v == "fast" { 2.0 * x } else { x + 5.0 };
        t.add(#{ size_ms: x, speed_per_s: y, variant: v,
                 speed_per_s_ci95: if x == 10 { () } else { y / 4.0 } });
    }
}
t.plot(#{ x: "size_ms", y: "speed_per_s", ci: "speed_per_s_ci95", series: "variant",
          log_x: true, log_y: true, title: "Line with CI, log-log" });

let b = table("bars", ["model", "threads", "makespan_s", "makespan_s_ci95"]);
for m in ["new GIL", "old GIL", "free-threaded"] {
    for n in [1, 4] {
        b.add(#{ model: m, threads: n, makespan_s: if m == "free-threaded" { 0.27 } else { 0.25 * n },
                 makespan_s_ci95: 0.01 * n });
    }
}
b.plot(#{ kind: "bars", x: "model", y: "makespan_s", series: ["threads"], ci: "makespan_s_ci95" });

let lat = table("samples", ["latency_ms", "who"]);
for i in 0..200 {
    lat.add(#{ latency_ms: ((i * 37) % 101) / 10.0 + 0.1, who: if i % 2 == 0 { "even" } else { "odd" } });
}
lat.plot(#{ kind: "cdf", x: "latency_ms", series: "who", log_x: true });

let app = python(#{ switch_interval: ms(2) });
app.add_thread("cpu0", [loop_for(ms(20), [py(ms(5))])]);
app.add_thread("cpu1", [loop_for(ms(20), [py(ms(5))])]);
app.add_thread("io", [loop_for(ms(20), [py(us(50)), io(exp(ms(1))), c(us(200), true)])]);
let m = machine(#{ cores: 2 });
let r = m.run(app, #{ stop_at: ms(20), trace: true });
r.timeline("timeline");
let w = m.run(app, #{ stop_at: ms(20), trace_window: [ms(5), ms(15)] });
w.timeline("window", #{ from: ms(6), to: ms(14), title: "A window", width: 1200 });
"#;

const NAMES: [&str; 5] = ["lines", "bars", "samples", "timeline", "window"];

struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn decode(bytes: &[u8]) -> Image {
        let mut reader = png::Decoder::new(bytes)
            .read_info()
            .expect("valid PNG header");
        let mut rgb = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut rgb).expect("valid PNG data");
        assert_eq!(
            (frame.color_type, frame.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight)
        );
        rgb.truncate(frame.buffer_size());
        Image {
            width: frame.width as usize,
            height: frame.height as usize,
            rgb,
        }
    }

    /// Pixels in the given rows and columns for which `pred(r, g, b)` holds.
    fn count(&self, rows: Range<usize>, cols: Range<usize>, pred: fn(u8, u8, u8) -> bool) -> usize {
        let mut n = 0;
        for y in rows {
            for x in cols.clone() {
                let i = 3 * (y * self.width + x);
                n += usize::from(pred(self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]));
            }
        }
        n
    }
}

/// Text and axes: dark.
fn dark(r: u8, g: u8, b: u8) -> bool {
    u32::from(r) + u32::from(g) + u32::from(b) < 3 * 110
}

/// Data: clearly coloured (text and grid lines are grey).
fn coloured(r: u8, g: u8, b: u8) -> bool {
    r.max(g).max(b) - r.min(g).min(b) > 60
}

fn make_figures(d: &Dir, out: &str) {
    d.write("figures.rhai", FIGURES);
    d.gilsim(&["run", "figures.rhai", "--out", out]).ok();
}

#[test]
fn every_kind_of_figure_renders_text_and_data() {
    let d = Dir::new();
    make_figures(&d, "out");
    for name in NAMES {
        let svg = d.read(&format!("out/{name}.svg"));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.len() > 1000,
            "{name}.svg is not a complete SVG"
        );
        let png = std::fs::read(d.path().join(format!("out/{name}.png"))).unwrap();
        let img = Image::decode(&png);
        let (w, h) = (img.width, img.height);
        let band = |px: usize| px * w / 960;
        let title = img.count(0..band(50), 0..w, dark);
        let x_label = img.count(h - band(32)..h, 0..w, dark);
        let y_label = img.count(0..h, 0..band(30), dark);
        let data = img.count(h / 6..h * 4 / 5, w / 5..w * 7 / 10, coloured);
        assert!(title > 100, "{name}: no title ({title} dark pixels)");
        assert!(
            x_label > 50,
            "{name}: no x axis label ({x_label} dark pixels)"
        );
        assert!(
            y_label > 50,
            "{name}: no y axis label ({y_label} dark pixels)"
        );
        assert!(
            data > 1000,
            "{name}: no data in the plot area ({data} coloured pixels)"
        );
    }
    assert_eq!(
        Image::decode(&std::fs::read(d.path().join("out/window.png")).unwrap()).width,
        1200
    );

    // Labels, legends and names as documented.
    let lines = d.read("out/lines.svg");
    for text in [
        "size (ms)",
        "speed/s",
        "fast",
        "slow",
        "Line with CI, log-log",
    ] {
        assert!(lines.contains(text), "lines.svg lacks {text:?}");
    }
    let bars = d.read("out/bars.svg");
    for text in ["makespan (s)", "1 thread", "4 threads", "free-threaded"] {
        assert!(bars.contains(text), "bars.svg lacks {text:?}");
    }
    let timeline = d.read("out/timeline.svg");
    for text in [
        "cpu0",
        "cpu1",
        "io",
        "time (ms)",
        "running Python",
        "waiting for the GIL",
        "running C, GIL released",
        "blocked (I/O, sleep, sync)",
        "GIL hand-off",
        "Thread timeline, 0 to 20 ms",
    ] {
        assert!(timeline.contains(text), "timeline.svg lacks {text:?}");
    }

    // The manifest lists every figure.
    let m: serde_json::Value = serde_json::from_str(&d.read("out/manifest.json")).unwrap();
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for name in NAMES {
        assert!(paths.contains(&format!("{name}.png").as_str()), "{paths:?}");
        assert!(paths.contains(&format!("{name}.svg").as_str()), "{paths:?}");
    }
}

#[test]
fn figures_are_byte_identical_across_runs() {
    let d = Dir::new();
    make_figures(&d, "a");
    make_figures(&d, "b");
    for name in NAMES {
        for ext in ["svg", "png"] {
            let f = format!("{name}.{ext}");
            let a = std::fs::read(d.path().join("a").join(&f)).unwrap();
            let b = std::fs::read(d.path().join("b").join(&f)).unwrap();
            assert!(a == b, "{f} differs between two runs");
        }
    }
}

#[test]
fn default_names_are_the_table_then_table_and_y() {
    let d = Dir::new();
    d.write(
        "names.rhai",
        r#"
        let t = table("sub/results", ["n", "a_s", "b_s"]);
        t.add(#{ n: 1, a_s: 1.0, b_s: 2.0 });
        t.add(#{ n: 2, a_s: 1.5, b_s: 2.5 });
        t.plot(#{ x: "n", y: "a_s" });
        t.plot(#{ x: "n", y: "b_s" });
        t.plot(#{ x: "n", y: "b_s", name: "mine", kind: "bars", width: 640 });
        t.plot(#{ x: "n", y: "b_s", name: "mine.svg", height: 400 });   // replaces it
        "#,
    );
    d.gilsim(&["run", "names.rhai"]).ok();
    for f in ["sub/results", "sub/results_b_s", "mine"] {
        assert!(d.exists(&format!("out/names/{f}.svg")), "{f}.svg");
        assert!(d.exists(&format!("out/names/{f}.png")), "{f}.png");
    }
    assert!(d.read("out/names/mine.svg").contains("height=\"400\""));

    d.write(
        "third.rhai",
        "let t = table(\"t\");\nt.add(#{ n: 1, y: 2 });\nt.plot(#{ x: \"n\", y: \"y\" });\nt.plot(#{ x: \"n\", y: \"y\" });\nt.plot(#{ x: \"n\", y: \"y\" });",
    );
    let r = d.gilsim(&["run", "third.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr().starts_with("error: third.rhai:5:3:")
            && r.stderr()
                .contains("figures \"t\" and \"t_y\" already exist"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_failed_script_leaves_no_figure() {
    let d = Dir::new();
    d.write(
        "fail.rhai",
        &format!("{FIGURES}\nthrow \"late failure\";\n"),
    );
    let r = d.gilsim(&["run", "fail.rhai"]);
    assert_eq!(r.code(), 1);
    assert!(!d.exists("out"), "a failed run must write nothing");
}
