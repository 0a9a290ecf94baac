//! `finding(text)` and `fmt(x, digits)`: sentences in the manifest, in order.

use crate::util::Dir;
use serde_json::Value;

#[test]
fn findings_are_recorded_in_call_order_and_fmt_is_exact() {
    let d = Dir::new();
    d.write(
        "f.rhai",
        r#"
        let cases = [
            [fmt(1.0 / 3.0, 3), "0.333"], [fmt(2.0 / 3.0, 0), "1"], [fmt(7, 2), "7.00"],
            [fmt(-7, 0), "-7"], [fmt(1234.5678, 1), "1234.6"], [fmt(-0.0001, 2), "0.00"],
            [fmt(0.0 / 0.0, 2), "NaN"], [fmt(1.0 / 0.0, 1), "inf"], [fmt(-1.0 / 0.0, 1), "-inf"],
        ];
        for c in cases { if c[0] != c[1] { throw `fmt gave ${c[0]}, expected ${c[1]}`; } }
        finding("First.");
        finding(`Second: ${fmt(12.3456, 2)} ms.`);
        "#,
    );
    d.gilsim(&["run", "f.rhai"]).ok();
    let m: Value = serde_json::from_str(&d.read("out/f/manifest.json")).unwrap();
    assert_eq!(
        m["findings"],
        serde_json::json!(["First.", "Second: 12.35 ms."])
    );

    d.write("none.rhai", "print(1);");
    d.gilsim(&["run", "none.rhai"]).ok();
    let m: Value = serde_json::from_str(&d.read("out/none/manifest.json")).unwrap();
    assert_eq!(m["findings"], serde_json::json!([]));
}
