"""A run's results as Python data: :func:`load` reads an output folder.

``gilsim run`` (and ``gilsim report``, ``gilsim merge``) write tidy CSV files,
figures and ``manifest.json`` into an output folder, and the manifest lists
every output file with its SHA-256. :func:`load` reads the tables the
manifest lists — each as a pandas DataFrame when pandas is installed, a list
of dicts otherwise — and checks each file's hash, so the data are the run's.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

Table = Union["pandas.DataFrame", List[Dict[str, Any]]]  # noqa: F821


class RunError(Exception):
    """The folder holds no complete run, or a file is not the one the run wrote."""


class Run:
    """The outputs of one run: its tables and its manifest.

    ``run["e4_convoy"]`` is a table (a DataFrame, or a list of dicts);
    ``run.tables`` maps every table name (the CSV path without ``.csv``) to
    its table; ``run.manifest`` is ``manifest.json`` as a dict, with shortcuts
    for what it records: ``seed``, ``parameters``, ``overrides``, ``versions``,
    ``hashes``, ``findings``, ``script``.
    """

    def __init__(self, path: Path, manifest: Dict[str, Any], tables: Dict[str, Table]):
        self.path = path
        self.manifest = manifest
        self.tables = tables

    @property
    def seed(self) -> int:
        """The master seed."""
        return self.manifest["seed"]

    @property
    def parameters(self) -> Dict[str, Any]:
        """Every ``param()`` the script read, name -> effective value."""
        return {k: v["value"] for k, v in self.manifest.get("parameters", {}).items()}

    @property
    def overrides(self) -> Dict[str, str]:
        """The ``--set`` values as given, name -> text."""
        return dict(self.manifest.get("overrides", {}))

    @property
    def versions(self) -> Dict[str, str]:
        """The versions that produced the run (``{"gilsim": "0.1.0"}``)."""
        return {"gilsim": self.manifest["gilsim_version"]}

    @property
    def hashes(self) -> Dict[str, str]:
        """SHA-256 of every output file, by path relative to the folder."""
        return {f["path"]: f["sha256"] for f in self.manifest.get("files", [])}

    @property
    def findings(self) -> List[str]:
        """The sentences of the script's ``finding(...)`` calls."""
        return list(self.manifest.get("findings", []))

    @property
    def script(self) -> Dict[str, Any]:
        """The script's path as given and its SHA-256."""
        return dict(self.manifest["script"])

    def __getitem__(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no table {name!r} in {self.path}; the tables are: {', '.join(self.tables)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def __repr__(self) -> str:
        head = (
            f"gilsim run {self.path} (script {self.manifest['script']['path']}, seed {self.seed}, "
            f"gilsim {self.versions['gilsim']}): {len(self.tables)} tables"
        )
        parts = [head]
        for name, table in self.tables.items():
            if isinstance(table, list):
                parts.append(f"\n{name}: {len(table)} rows")
                parts.extend(f"  {row}" for row in table[:5])
                if len(table) > 5:
                    parts.append(f"  ... {len(table) - 5} more rows")
            else:
                parts.append(f"\n{name}:\n{table!r}")
        return "\n".join(parts)


def _pandas():
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def load(out_dir: Union[str, Path], *, frames: Optional[bool] = None, verify: bool = True) -> Run:
    """Reads the run in ``out_dir`` (a folder ``gilsim run`` wrote).

    ``frames``: tables as pandas DataFrames (``True``), as lists of dicts
    (``False``), or DataFrames if pandas is installed (``None``, the default).
    ``verify``: check every table against the SHA-256 the manifest records.
    Raises :class:`RunError` if the folder holds no complete run, or a table
    is not the file the run wrote.
    """
    path = Path(out_dir)
    manifest = _manifest(path)
    pandas = _pandas()
    if frames and pandas is None:
        raise ImportError("frames=True needs pandas: pip install pandas")
    use_frames = pandas is not None if frames is None else frames
    tables: Dict[str, Table] = {}
    for entry in manifest.get("files", []):
        rel = entry["path"]
        if not rel.endswith(".csv"):
            continue
        data = _read_checked(path, entry, verify)
        name = rel[: -len(".csv")]
        tables[name] = _frame(pandas, path / rel) if use_frames else _records(data)
    return Run(path, manifest, tables)


def _manifest(path: Path) -> Dict[str, Any]:
    file = path / "manifest.json"
    if not file.is_file():
        raise RunError(f"{path} holds no gilsim run: it has no manifest.json (run `gilsim run SCRIPT --out {path}`)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise RunError(f"cannot read {file}: {e}") from e
    status = manifest.get("status")
    if status != "ok":
        raise RunError(f"{file} says the run did not finish (status {status!r}); its outputs are not complete")
    return manifest


def _read_checked(path: Path, entry: Dict[str, Any], verify: bool) -> bytes:
    file = path / entry["path"]
    try:
        data = file.read_bytes()
    except OSError as e:
        raise RunError(f"the run's table {file} cannot be read: {e}") from e
    if verify and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise RunError(
            f"{file} is not the file the run wrote (its SHA-256 differs from manifest.json's); "
            "run the script again, or load(..., verify=False) to read it anyway"
        )
    return data


def _frame(pandas, file: Path):
    # keep_default_na=False, na_values=[""]: a text cell "NA" stays text;
    # empty cells (gilsim's empty value) and NaN become NaN.
    return pandas.read_csv(file, keep_default_na=False, na_values=["", "NaN"])


def _records(data: bytes) -> List[Dict[str, Any]]:
    rows = list(csv.reader(data.decode("utf-8").splitlines()))
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    columns = [_column([row[i] if i < len(row) else "" for row in body]) for i in range(len(header))]
    return [{name: columns[i][r] for i, name in enumerate(header)} for r in range(len(body))]


def _column(cells: List[str]) -> List[Any]:
    """A column's cells as one type, like pandas: int, else float, else bool,
    else text; an empty cell is None (NaN in a float column)."""
    present = [c for c in cells if c != ""]
    for convert in (_int, _float, _bool):
        try:
            [convert(c) for c in present]
        except ValueError:
            continue
        empty = math.nan if convert is _float else None
        return [convert(c) if c != "" else empty for c in cells]
    return [c if c != "" else None for c in cells]


def _int(s: str) -> int:
    if not s.lstrip("-").isdigit():
        raise ValueError(s)
    return int(s)


def _float(s: str) -> float:
    return float(s)


def _bool(s: str) -> bool:
    if s == "true":
        return True
    if s == "false":
        return False
    raise ValueError(s)
