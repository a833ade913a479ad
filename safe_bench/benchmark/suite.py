"""Benchmark suites: which datasets, generators, seeds and options a benchmark runs.

A suite is a TOML file::

    name = "smoke"                    # names the default store, <name>.sqlite
    description = "..."
    seeds = [0, 1]                    # every (dataset, generator) runs once per seed
    timeout = 120                     # seconds per cell (fit + sample + evaluate)
    # n = 500                         # synthetic rows per cell (default: as many as train)

    [metrics]                         # options of safe_bench.evaluation.evaluate
    n_bootstrap = 20                  # bootstrap resamples per metric (at least 10)
    # select = ["S", "C.km"]          # metric ids or pillars (default: every metric)
    # weights = { S = 1, C = 1, P = 1 }

    [datasets.gbsg2]                  # a bundled dataset (see `safe-bench datasets`)

    [datasets.my_cohort]              # a file with its schema, relative to the suite file
    path = "my_cohort.csv"
    schema = "my_cohort.schema.toml"

    [generators.gaussian_copula]      # a registered generator (see `safe-bench generators`)

    [generators.copula_shrunk]        # the same generator under another label, other settings
    generator = "gaussian_copula"
    params = { shrinkage = 0.1 }
    timeout = 600                     # this generator's own per-cell timeout

:func:`load_suite` reads and checks a suite before any work starts: a mistake is an
:class:`~safe_bench.errors.InputError` naming the key and its line in the file.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from safe_bench.data.datasets import Dataset, list_datasets, load_dataset
from safe_bench.data.io import read_table
from safe_bench.data.schema import load_schema
from safe_bench.data.validation import MAX_SEED, conform
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import select_metrics
from safe_bench.evaluation.scoring import weight_problem
from safe_bench.generator import available_generators, load_generator
from safe_bench.metrics.registry import PILLARS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: Per-cell timeout (seconds) when a suite names none.
DEFAULT_TIMEOUT = 1800.0
#: Bootstrap resamples per metric when a suite names none.
DEFAULT_BOOTSTRAP = 100
#: Longest per-cell timeout accepted (seconds): 30 days.
MAX_TIMEOUT = 30 * 24 * 3600

_TOP = {"name", "description", "seeds", "timeout", "n", "metrics", "datasets", "generators"}
_METRICS = {"n_bootstrap", "select", "weights"}
_DATASET = {"path", "schema"}
_GENERATOR = {"generator", "params", "timeout"}


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset of a suite: bundled (by name) or a file with its schema."""

    name: str
    path: Path | None = None
    schema: Path | None = None

    def load(self) -> Dataset:
        """The real table in canonical form with its schema."""
        if self.path is None or self.schema is None:
            return load_dataset(self.name)
        schema = load_schema(self.schema)
        frame = conform(read_table(self.path, table=f"dataset {self.name}"), schema, table=f"dataset {self.name}")
        return Dataset(self.name, frame, schema, description=f"file {self.path.name}", source=str(self.path))


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator of a suite: its label, registered name, settings and timeout."""

    label: str
    generator: str
    params: Mapping[str, Any]
    timeout: float


@dataclass(frozen=True)
class MetricOptions:
    """What :func:`safe_bench.evaluation.evaluate` is asked in every cell."""

    n_bootstrap: int = DEFAULT_BOOTSTRAP
    select: tuple[str, ...] | None = None
    weights: Mapping[str, float] | None = None

    def metric_ids(self) -> list[str]:
        """The ids of the metrics every cell computes, in report order."""
        return [m.id for m in select_metrics(self.select)]


@dataclass(frozen=True)
class Suite:
    """A checked benchmark suite (see the module docstring for the file layout)."""

    name: str
    path: Path
    sha256: str
    seeds: tuple[int, ...]
    datasets: tuple[DatasetSpec, ...]
    generators: tuple[GeneratorSpec, ...]
    metrics: MetricOptions = field(default_factory=MetricOptions)
    timeout: float = DEFAULT_TIMEOUT
    n: int | None = None
    description: str = ""

    def cells(self) -> list[tuple[DatasetSpec, GeneratorSpec, int]]:
        """Every (dataset, generator, seed), datasets first, then generators, then seeds."""
        return [(d, g, s) for d in self.datasets for g in self.generators for s in self.seeds]


# -- reading -------------------------------------------------------------------
def load_suite(path: str | Path, *, check_names: bool = True) -> Suite:
    """Read and check a suite file.

    With ``check_names`` (the default) every dataset and generator must be known to
    this installation (bundled or registered) and every generator must accept its
    settings; without it only the file's structure is checked.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"suite file {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"suite file {str(path)!r} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"suite {path.name}: not valid TOML: {exc}") from None
    reader = _Reader(path, text)
    suite = reader.suite(data, hashlib.sha256(raw).hexdigest())
    if check_names:
        reader.check_names(suite)
    return suite


class _Reader:
    """Checks a parsed suite; every error names the key and the line it is on."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = _key_lines(text)

    def fail(self, keys: Sequence[str], message: str) -> NoReturn:
        line = None
        for depth in range(len(keys), 0, -1):  # an inline table: the line of its parent key
            line = self.lines.get(tuple(keys[:depth]))
            if line is not None:
                break
        where = f", line {line}" if line is not None else ""
        raise InputError(f"suite {self.path.name}{where}: key {'.'.join(keys)!r}: {message}")

    def table(self, data: Any, keys: Sequence[str], allowed: set[str] | None) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(keys, f"must be a table, not {_type(data)}")
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    self.fail([*keys, key], f"unknown key; expected one of {', '.join(sorted(allowed))}")
        return data

    def number(self, value: Any, keys: Sequence[str], *, integer: bool, minimum: float,
               maximum: int | None = None) -> Any:
        """``value`` if it is a (whole) number from ``minimum`` to ``maximum`` (finite)."""
        ok_type = int if integer else (int, float)
        upper = math.inf if maximum is None else maximum
        valid = isinstance(value, ok_type) and not isinstance(value, bool) and minimum <= value <= upper
        if not valid or (isinstance(value, float) and not math.isfinite(value)):
            kind = "a whole number" if integer else "a number"
            most = "" if maximum is None else f" and at most {maximum}"
            self.fail(keys, f"must be {kind} of at least {minimum:g}{most}, not {value!r}")
        return value

    def suite(self, data: dict[str, Any], sha256: str) -> Suite:
        self.table(data, [], _TOP)
        for key in ("seeds", "datasets", "generators"):
            if key not in data:
                raise InputError(f"suite {self.path.name}: the key {key!r} is required")
        name = data.get("name", self.path.stem)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            self.fail(["name"], "must be a word of letters, digits, '_', '-' or '.'")
        seeds = data["seeds"]
        if not isinstance(seeds, list) or not seeds:
            self.fail(["seeds"], "must be a non-empty list of whole numbers")
        for seed in seeds:
            self.number(seed, ["seeds"], integer=True, minimum=0, maximum=MAX_SEED)
        if len(set(seeds)) != len(seeds):
            self.fail(["seeds"], "lists a seed twice")
        timeout = float(self.number(data.get("timeout", DEFAULT_TIMEOUT), ["timeout"], integer=False, minimum=0.01,
                                    maximum=MAX_TIMEOUT))
        n = data.get("n")
        if n is not None:
            self.number(n, ["n"], integer=True, minimum=1)
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail(["description"], "must be text")
        return Suite(
            name=name,
            path=self.path,
            sha256=sha256,
            seeds=tuple(seeds),
            datasets=self.datasets(data["datasets"]),
            generators=self.generators(data["generators"], timeout),
            metrics=self.metrics(data.get("metrics", {})),
            timeout=timeout,
            n=n,
            description=description,
        )

    def metrics(self, data: Any) -> MetricOptions:
        data = self.table(data, ["metrics"], _METRICS)
        n_bootstrap = self.number(data.get("n_bootstrap", DEFAULT_BOOTSTRAP), ["metrics", "n_bootstrap"],
                                  integer=True, minimum=10)
        select = data.get("select")
        if select is not None:
            if not isinstance(select, list) or not select or not all(isinstance(s, str) for s in select):
                self.fail(["metrics", "select"], "must be a non-empty list of metric ids or pillars")
            try:
                select_metrics(select)
            except InputError as exc:
                self.fail(["metrics", "select"], str(exc))
            select = tuple(select)
        weights = data.get("weights")
        if weights is not None:
            weights = self.table(weights, ["metrics", "weights"], set(PILLARS))
            problem = weight_problem(weights)
            if problem is not None:
                key, what = problem
                self.fail(["metrics", "weights", *([key] if key is not None else [])], what)
        return MetricOptions(n_bootstrap=n_bootstrap, select=select, weights=weights)

    def datasets(self, data: Any) -> tuple[DatasetSpec, ...]:
        data = self.table(data, ["datasets"], None)
        if not data:
            self.fail(["datasets"], "names no dataset")
        specs = []
        for name, entry in data.items():
            entry = self.table(entry, ["datasets", name], _DATASET)
            if not entry:
                specs.append(DatasetSpec(name))
                continue
            if set(entry) != _DATASET:
                self.fail(["datasets", name], "a dataset from a file needs both 'path' and 'schema'")
            paths = []
            for key in ("path", "schema"):
                if not isinstance(entry[key], str):
                    self.fail(["datasets", name, key], "must be a file path (text)")
                file = (self.path.parent / entry[key]).resolve()
                if not file.is_file():
                    self.fail(["datasets", name, key], f"file {str(file)!r} does not exist")
                paths.append(file)
            specs.append(DatasetSpec(name, path=paths[0], schema=paths[1]))
        return tuple(specs)

    def generators(self, data: Any, timeout: float) -> tuple[GeneratorSpec, ...]:
        data = self.table(data, ["generators"], None)
        if not data:
            self.fail(["generators"], "names no generator")
        specs = []
        for label, entry in data.items():
            keys = ["generators", label]
            entry = self.table(entry, keys, _GENERATOR)
            name = entry.get("generator", label)
            if not isinstance(name, str):
                self.fail([*keys, "generator"], "must be a registered generator name (text)")
            params = self.table(entry.get("params", {}), [*keys, "params"], None)
            own = float(self.number(entry.get("timeout", timeout), [*keys, "timeout"], integer=False, minimum=0.01,
                                    maximum=MAX_TIMEOUT))
            specs.append(GeneratorSpec(label=label, generator=name, params=params, timeout=own))
        return tuple(specs)

    def check_names(self, suite: Suite) -> None:
        bundled = list_datasets()
        for spec in suite.datasets:
            if spec.path is None and spec.name not in bundled:
                self.fail(["datasets", spec.name],
                          f"unknown dataset {spec.name!r}; bundled datasets: {', '.join(bundled)} "
                          "(or give 'path' and 'schema' for a file)")
        registered = available_generators()
        for gen in suite.generators:
            keys = ["generators", gen.label] + (["generator"] if gen.generator != gen.label else [])
            if gen.generator not in registered:
                self.fail(keys, f"unknown generator {gen.generator!r}; registered: {', '.join(registered)}")
            try:
                load_generator(gen.generator, **gen.params)
            except InputError as exc:
                self.fail(["generators", gen.label, "params"], str(exc))


_TYPE_NAMES: dict[type, str] = {dict: "a table", list: "a list", str: "text"}


def _type(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _dotted(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", key))


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each table header and key of a TOML text is defined (1-based lines).

    Enough to point at a mistake; the values themselves come from :mod:`tomllib`.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = _dotted(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault(table + _dotted(key.group(1)), number)
    return lines
