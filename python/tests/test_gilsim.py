"""Tests of the Python package: the command it installs, its version, and
gilsim.load. Run against an installed package (tools/test-python sets
GILSIM_TEST_INSTALLED=1 and GILSIM_REPO), or from a clone with the gilsim
command on PATH: PYTHONPATH=python python3 -m unittest discover -s python/tests."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import gilsim

REPO = Path(os.environ.get("GILSIM_REPO", Path(__file__).resolve().parents[2]))

SCRIPT = """
let label = param("label", "x");
let s = sweep("s", #{ n: [1, 2, 3] }, #{ replicates: 2 }, |p| {
    let app = python();
    app.add_thread("t", [loop_for(ms(5), [py(us(50)), io(exp(us(50)))])]);
    let r = machine(#{ cores: 2 }).run(app, #{ stop_at: ms(5) });
    #{ ops: r.thread_report("t").ops_per_sec(), n3: p.n / 4.0 }
});
s.save();
let t = table("sub/kinds", ["name", "flag", "maybe", "count"]);
t.add(#{ name: label, flag: true, maybe: (), count: 1 });
t.add(#{ name: "NA", flag: false, maybe: 2.5, count: 2 });
t.save();
finding("three points");
"""


def cargo_version() -> str:
    text = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    section = text.split("[workspace.package]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^version\s*=\s*"([^"]+)"', section, re.M).group(1)


def have_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


class Installed(unittest.TestCase):
    def test_version_is_the_crates(self):
        self.assertEqual(gilsim.__version__, cargo_version())
        out = subprocess.run([gilsim.find_gilsim_bin(), "--version"], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), f"gilsim {cargo_version()}")

    @unittest.skipUnless(os.environ.get("GILSIM_TEST_INSTALLED"), "not testing an installed package")
    def test_the_command_and_module_come_from_the_environment(self):
        scripts = Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin")
        self.assertEqual(Path(gilsim.find_gilsim_bin()), scripts / "gilsim")
        self.assertTrue(Path(gilsim.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), gilsim.__file__)

    def test_python_m_gilsim_runs_the_command(self):
        out = subprocess.run([sys.executable, "-m", "gilsim", "--version"], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), f"gilsim {gilsim.__version__}")


class Load(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.dir = Path(cls.tmp.name)
        (cls.dir / "sw.rhai").write_text(SCRIPT, encoding="utf-8")
        subprocess.run(
            [gilsim.find_gilsim_bin(), "run", "sw.rhai", "--out", "run", "--seed", "9", "--set", "label=hello"],
            cwd=cls.dir, check=True, capture_output=True,
        )
        cls.out = cls.dir / "run"

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_tables_as_lists_of_dicts(self):
        run = gilsim.load(self.out, frames=False)
        self.assertEqual(sorted(run), ["s", "s_runs", "sub/kinds"])
        runs = run["s_runs"]
        self.assertEqual(len(runs), 6)
        self.assertEqual(list(runs[0]), ["n", "replicate", "seed", "n3", "ops"])
        self.assertEqual([r["n"] for r in runs], [1, 1, 2, 2, 3, 3])
        self.assertIsInstance(runs[0]["seed"], int)
        self.assertIsInstance(runs[0]["n3"], float)
        self.assertIsInstance(runs[0]["ops"], (int, float))
        self.assertEqual(runs[2]["n3"], 0.5)
        summary = run["s"]
        self.assertEqual(len(summary), 3)
        self.assertEqual(summary[0]["replicates"], 2)
        kinds = run["sub/kinds"]
        self.assertEqual(kinds[0], {"name": "hello", "flag": True, "maybe": kinds[0]["maybe"], "count": 1})
        self.assertTrue(math.isnan(kinds[0]["maybe"]), "an empty cell of a float column is NaN")
        self.assertEqual(kinds[1]["name"], "NA", "text stays text")
        self.assertIn("s_runs: 6 rows", repr(run))

    def test_the_manifest_is_there(self):
        run = gilsim.load(self.out, frames=False)
        manifest = json.loads((self.out / "manifest.json").read_text())
        self.assertEqual(run.manifest, manifest)
        self.assertEqual(run.seed, 9)
        self.assertEqual(run.parameters, {"label": "hello"})
        self.assertEqual(run.overrides, {"label": "hello"})
        self.assertEqual(run.versions, {"gilsim": gilsim.__version__})
        self.assertEqual(run.findings, ["three points"])
        self.assertEqual(run.script["path"], "sw.rhai")
        data = (self.out / "s.csv").read_bytes()
        self.assertEqual(run.hashes["s.csv"], hashlib.sha256(data).hexdigest())

    @unittest.skipUnless(have_pandas(), "pandas is not installed")
    def test_tables_as_dataframes_when_pandas_is_installed(self):
        import pandas

        run = gilsim.load(self.out)
        runs = run["s_runs"]
        self.assertIsInstance(runs, pandas.DataFrame)
        records = gilsim.load(self.out, frames=False)["s_runs"]
        self.assertEqual(runs.to_dict("records"), records)
        kinds = run["sub/kinds"]
        self.assertEqual(list(kinds["name"]), ["hello", "NA"])
        self.assertTrue(math.isnan(kinds["maybe"][0]))
        self.assertIn("replicate", repr(run))

    @unittest.skipIf(have_pandas(), "pandas is installed")
    def test_without_pandas_frames_true_says_what_to_install(self):
        with self.assertRaisesRegex(ImportError, "pip install pandas"):
            gilsim.load(self.out, frames=True)
        self.assertIsInstance(gilsim.load(self.out)["s"], list)

    def test_a_changed_table_is_refused_unless_asked(self):
        copy = self.dir / "changed"
        shutil.copytree(self.out, copy)
        with open(copy / "s.csv", "a", encoding="utf-8") as f:
            f.write("9,9,9,9,9,9,9\n")
        with self.assertRaisesRegex(gilsim.RunError, "not the file the run wrote"):
            gilsim.load(copy)
        self.assertEqual(len(gilsim.load(copy, frames=False, verify=False)["s"]), 4)

    def test_folders_without_a_complete_run_are_refused(self):
        with self.assertRaisesRegex(gilsim.RunError, "has no manifest.json"):
            gilsim.load(self.dir / "nowhere")
        broken = self.dir / "interrupted"
        broken.mkdir(exist_ok=True)
        (broken / "manifest.json").write_text('{"status": "interrupted", "files": []}')
        with self.assertRaisesRegex(gilsim.RunError, "did not finish"):
            gilsim.load(broken)
        with self.assertRaisesRegex(KeyError, "the tables are: s, s_runs, sub/kinds"):
            gilsim.load(self.out, frames=False)["nope"]

    def test_a_merged_sharded_sweep_loads_like_the_run(self):
        exe = gilsim.find_gilsim_bin()
        for i in range(2):
            subprocess.run([exe, "run", "sw.rhai", "--shard", f"{i}/2", "--out", f"shard{i}", "--seed", "9",
                            "--set", "label=hello"], cwd=self.dir, check=True, capture_output=True)
        subprocess.run([exe, "merge", "shard0", "shard1", "--out", "merged"], cwd=self.dir, check=True,
                       capture_output=True)
        merged = gilsim.load(self.dir / "merged", frames=False)
        whole = gilsim.load(self.out, frames=False)
        self.assertEqual(merged.tables, whole.tables)
        self.assertEqual(merged.hashes, whole.hashes)


if __name__ == "__main__":
    unittest.main()
