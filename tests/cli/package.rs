//! The Python package has one version, the crate's: pyproject.toml leaves it
//! to maturin (which reads Cargo.toml), and the module's fallback for a
//! source tree reads the same number. (tools/test-python checks the built
//! wheel: `gilsim.__version__` and `gilsim --version` against Cargo.toml.)

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_python_package_takes_its_version_from_the_crate() {
    let py = std::fs::read_to_string(root().join("pyproject.toml")).unwrap();
    assert!(
        py.contains("dynamic = [\"version\"]"),
        "pyproject.toml must leave the version to maturin"
    );
    assert!(
        !py.lines().any(|l| l.trim_start().starts_with("version")),
        "pyproject.toml must not state a version of its own"
    );
    for setting in [
        "bindings = \"bin\"",
        "python-source = \"python\"",
        "build-backend = \"maturin\"",
    ] {
        assert!(py.contains(setting), "pyproject.toml lacks {setting}");
    }
    let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "from gilsim._version import _from_cargo_toml as v; print(v())",
        ])
        .env("PYTHONPATH", root().join("python"))
        .output()
    else {
        eprintln!("skipped the Python half: no python3 on PATH");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        env!("CARGO_PKG_VERSION")
    );
}
