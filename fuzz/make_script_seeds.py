#!/usr/bin/env python3
"""Writes seeds of the `script` fuzz target into a folder (default
fuzz/corpus/script): every ```rhai block of docs/scripting.md and README.md,
every experiments/*.rhai and scripts/*.rhai, with their parameter defaults made
small so that a seed runs in milliseconds. Run from the repository root:

    python3 fuzz/make_script_seeds.py [OUT_DIR]
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[1]
out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "fuzz/corpus/script"
out.mkdir(parents=True, exist_ok=True)


def shrink(text):
    # param("name", s(2)) -> param("name", ms(2)); param("n", 400) -> param("n", 2)
    text = re.sub(r'(param\("[a-z_]+",\s*)(?:s|ms)\(([0-9.]+)\)', r"\1us(200)", text)
    text = re.sub(r'(param\("[a-z_]+",\s*)[0-9]+\)', r"\g<1>2)", text)
    # Long simulated runs in examples: seconds become milliseconds.
    text = re.sub(r"\bs\(([0-9.]+)\)", r"ms(\1)", text)
    return text


seeds = []
for md in ["docs/scripting.md", "README.md"]:
    text = (root / md).read_text()
    for k, block in enumerate(re.findall(r"```rhai\n(.*?)```", text, re.S)):
        seeds.append((f"{pathlib.Path(md).stem}-{k:02}.rhai", block))
for folder in ["experiments", "scripts"]:
    for f in sorted((root / folder).glob("*.rhai")):
        seeds.append((f"{folder}-{f.name}", f.read_text()))
for name, text in seeds:
    (out / name).write_text(shrink(text))
print(f"{len(seeds)} seeds in {out}")
