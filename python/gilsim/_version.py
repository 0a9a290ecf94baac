"""The package version: the installed distribution's, which maturin takes from
the crate's Cargo.toml; from a source tree, read from Cargo.toml itself."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path


def _from_cargo_toml() -> str:
    """The workspace version in the Cargo.toml above this file (a clone)."""
    cargo = Path(__file__).resolve().parents[2] / "Cargo.toml"
    text = cargo.read_text(encoding="utf-8")
    section = re.search(r"^\[workspace\.package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    match = section and re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    if not match:
        raise RuntimeError(f"no [workspace.package] version in {cargo}")
    return match.group(1)


def _version() -> str:
    try:
        return metadata.version("gilsim")
    except metadata.PackageNotFoundError:
        return _from_cargo_toml()


__version__ = _version()
