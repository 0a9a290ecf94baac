use crate::script::{Host, Limits, RunContext};
use crate::sweep::params::Params;
use std::path::Path;
use std::sync::Arc;

fn host(limits: Limits) -> Host {
    let ctx = Arc::new(RunContext::new(0, 1, false, limits, Params::default()));
    Host::new(ctx, "sizes.rhai", Path::new("."))
}

fn run(h: &Host, script: &str) -> Result<(), String> {
    let ast = h
        .compile(Path::new("sizes.rhai"), script)
        .map_err(|e| e.message)?;
    h.run(&ast).map_err(|e| e.message)
}

/// Each way of growing a string, an array, a BLOB or a map, in a loop
/// that would never end: each stops at its limit, with the limit's
/// error, long before the `ops` limit.
#[test]
fn every_way_of_growing_a_value_stops_at_its_limit() {
    let h = host(Limits {
        max_string_size: 100,
        max_array_size: 100,
        max_map_size: 10,
        max_ops: 1_000_000,
        ..Limits::default()
    });
    let string = "a string would be longer than 100 bytes; raise the `string` limit (100)";
    let array = "an array would have more than 100 items; raise the `array` limit (100)";
    let blob = "a BLOB would have more than 100 bytes";
    let map = "a map would have more than 10 properties; raise the `map` limit (10)";
    let cases = [
        ("let s = \"x\"; loop { s += s; }", string),
        ("let s = \"\"; loop { s += \"x\"; }", string),
        ("let s = \"\"; loop { s += 'x'; }", string),
        ("let s = \"\"; loop { s += 1; }", string),
        ("let s = \"\"; loop { s.append([1]); }", string),
        ("let s = \"\"; loop { s += blob(1, 65); }", string),
        ("let s = \"\"; loop { s = s + \"x\"; }", string),
        ("let s = \"\"; loop { s = s + 'x'; }", string),
        ("let s = \"\"; loop { s = 'x' + s; }", string),
        ("let s = \"\"; loop { s = s + 1.5; }", string),
        ("let s = \"\"; loop { s = [1] + s; }", string),
        ("let s = \"\"; loop { s = s + blob(1, 65); }", string),
        ("let s = \"\"; loop { s = blob(1, 65) + s; }", string),
        ("let s = \"x\"; s.pad(101, '.');", string),
        ("let s = \"x\"; s.pad(60, \"ééé\");", string),
        ("let s = \"x\"; s.pad(1 << 62, \"y\");", string),
        ("let s = \"xx\"; loop { s.replace(\"x\", \"xx\"); }", string),
        ("let s = \"xx\"; loop { s.replace('x', \"xx\"); }", string),
        ("let s = \"xx\"; loop { s.replace(\"\", 'é'); }", string),
        ("let s = \"x\"; s.pad(60, 'x'); s.replace('x', 'é');", string),
        ("let a = []; loop { a.push(1); }", array),
        ("let a = []; loop { a += 1; }", array),
        ("let a = [1]; loop { a += a; }", array),
        ("let a = [1]; loop { a.append(a); }", array),
        ("let a = [1]; loop { a = a + a; }", array),
        ("let a = []; loop { a.insert(0, 1); }", array),
        ("let a = []; a.pad(101, 0);", array),
        ("let a = []; a.pad(1 << 62, [1, 2]);", array),
        ("let a = [1]; loop { a.splice(0, 0, [1, 2]); }", array),
        ("let a = [1]; loop { a.splice(0..1, [1, 2]); }", array),
        ("let a = [1]; loop { a.splice(0..=0, [1, 2]); }", array),
        ("let a = []; loop { a.splice(0, 0, [1]); }", array),
        ("let b = blob(101);", blob),
        ("let b = blob(1 << 62, 7);", blob),
        ("let b = blob(); loop { b.push(1); }", blob),
        ("let b = blob(); loop { b += 1; }", blob),
        ("let b = blob(); loop { b += 'x'; }", blob),
        ("let b = blob(); loop { b += \"xy\"; }", blob),
        ("let b = blob(1); loop { b += b; }", blob),
        ("let b = blob(1); loop { b.append(b); }", blob),
        ("let b = blob(); loop { b.append(\"x\"); }", blob),
        ("let b = blob(); loop { b.append('x'); }", blob),
        ("let b = blob(); loop { b.append(1); }", blob),
        ("let b = blob(1); loop { b = b + b; }", blob),
        ("let b = blob(); loop { b.insert(0, 1); }", blob),
        ("let b = blob(); b.pad(1 << 62, 1);", blob),
        ("let b = blob(1); loop { b.splice(0, 0, blob(2)); }", blob),
        ("let b = blob(1); loop { b.splice(0..1, blob(2)); }", blob),
        ("let b = blob(1); loop { b.splice(0..=0, blob(2)); }", blob),
        ("let m = #{}; let i = 0; loop { m.set(`k${i}`, i); i += 1; }", map),
        ("let m = #{}; let i = 0; loop { let n = #{}; n.set(`k${i}`, 1); m += n; i += 1; }", map),
        ("let m = #{}; let i = 0; loop { let n = #{}; n.set(`k${i}`, 1); m.mixin(n); i += 1; }", map),
        ("let m = #{}; let i = 0; loop { let n = #{}; n.set(`k${i}`, 1); m.fill_with(n); i += 1; }", map),
        ("let m = #{}; let i = 0; loop { let n = #{}; n.set(`k${i}`, 1); m = m + n; i += 1; }", map),
        ("let m = #{}; for i in 0..11 { m[`k${i}`] = i; } m.len();", map),
        ("let m = #{}; for i in 0..11 { m[`k${i}`] = i; } m.keys();", map),
        ("let m = #{}; for i in 0..11 { m[`k${i}`] = i; } m.values();", map),
    ];
    for (script, says) in cases {
        match run(&h, script) {
            Ok(()) => panic!("{script}: no error"),
            Err(e) => assert!(e.contains(says), "{script}: expected {says:?} in {e}"),
        }
    }
}

/// The checked functions give what Rhai's own give: the same script's
/// value in Rhai's standard engine (its own, unchecked functions and
/// built-in operators) and in gilsim's.
#[test]
fn checked_functions_do_what_rhais_do() {
    let h = host(Limits::default());
    let plain = rhai::Engine::new();
    let exprs = [
        "let a = [1]; a.push(2); a += 3; a += [4, 5]; a.append([6]); a",
        "let a = [1, 2, 3]; a.insert(1, 9); a.insert(-1, 8); a.insert(-10, 7); a.insert(99, 6); a",
        "let a = [1]; a.pad(4, 0); a.pad(2, 5); a.pad(-1, 5); a",
        "[1, 2] + [3] + []",
        "let a = [1, 2, 3, 4]; a.splice(1, 2, [7, 7, 7]); a",
        "let a = [1, 2, 3, 4]; a.splice(-2, 9, [0]); a",
        "let a = [1, 2, 3, 4]; a.splice(10, 2, [0]); a",
        "let a = [1, 2, 3, 4]; a.splice(1..3, [0]); a.splice(0..=1, []); a",
        "let a = []; a.splice(0, 5, [1, 2]); a",
        "let s = \"ab\"; s += \"c\"; s += 'd'; s += 5; s += (); s.append(1.5); s.append([1]); s",
        "let s = \"ab\"; s += blob(2, 65); s.append(blob(1, 66)); s",
        "\"x\" + 1 + 'y' + [1, 2] + () + #{a: 1} + 2.5 + \"z\"",
        "'c' + \"d\" + (1 + \"e\") + (() + \"f\") + blob(1, 67) + (blob(1, 68) + \"g\")",
        "let s = \"héllo\"; s.pad(8, '*'); s",
        "let s = \"x\"; s.pad(7, \"ab\"); s.pad(3, \"q\"); s.pad(-1, \"q\"); s",
        "let s = \"ééé\"; s.pad(5, \"ab\"); s",
        "let s = \"aXbXc\"; s.replace(\"X\", \"--\"); s.replace('a', 'A'); s.replace('b', \"BB\"); s.replace(\"c\", 'C'); s",
        "let s = \"\"; s.replace(\"\", \"x\"); s",
        "let s = \"ab\"; s.replace(\"\", \"-\"); s",
        "let b = blob(3, 1); b.push(2); b += 3; b += 'é'; b += \"hi\"; b += blob(1, 9); b",
        "let b = blob(2); b.append(1); b.append('x'); b.append(\"yz\"); b.append(blob(1, 5)); b",
        "let b = blob(3, 258); b.pad(6, 7); b.pad(2, 7); b.insert(0, 4); b.insert(-1, 5); b.insert(99, 6); b",
        "let b = blob(4, 1); b.splice(1, 2, blob(3, 2)); b.splice(1, 0, blob(1, 3)); b.splice(0..1, blob(1, 4)); b.splice(0..=1, blob(0)); b",
        "let b = blob(); b.splice(2, 2, blob(2, 5)); b + blob(1) + blob()",
        "blob(0).len() + blob(-5).len() + blob(3).len()",
        "let m = #{a: 1}; m += #{b: 2}; m.mixin(#{c: 3, a: 0}); m.fill_with(#{a: 9, d: 4}); m.set(\"e\", 5); m.set(\"a\", 6); m",
        "let m = #{}; m.fill_with(#{x: 1}); (m + #{y: 2}) + #{}",
        "let m = #{b: 1, a: 2}; [m.len(), m.keys(), m.values(), #{}.keys(), #{}.len()]",
    ];
    for e in exprs {
        let script = format!("let value = {{ {e} }}; value.to_string()");
        let want = plain.eval::<String>(&script).expect(e);
        let got = h.engine.eval::<String>(&script).expect(e);
        assert_eq!(got, want, "{e}");
    }
}

/// Growing values is linear: a million pushes (the `array` limit), a
/// string grown byte by byte to the `string` limit, a map to the `map`
/// limit, all complete within the default `ops` and `script-time`
/// limits (a million pushes took minutes when Rhai measured the whole
/// array after each one).
#[test]
fn values_grown_to_their_limits_one_item_at_a_time_complete() {
    let h = host(Limits::default());
    let script = "
        let a = []; for i in 0..1000000 { a.push(i); }
        let s = \"\"; for i in 0..1048576 { s += \"x\"; }
        let m = #{}; for i in 0..10000 { m[`k${i}`] = i; m.len(); }
        if a.len() != 1000000 || s.len() != 1048576 || m.len() != 10000 { throw \"wrong sizes\"; }
        a.push(1);";
    let err = run(&h, script).expect_err("one more push is over the limit");
    assert!(
        err.contains("an array would have more than 1000000 items"),
        "{err}"
    );
}
