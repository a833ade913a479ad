"""Fuzzing the command line with hostile inputs (issue 14): tables, schema, policy and
suite files, and tampered store rows.

The invariant of every case: the command returns 0 or 2 (``gate`` also 1, a rule that
does not hold); no exception escapes ``main`` (on the command line, a traceback);
every output asked for (``--json``, ``--html``, ``--csv``, ``--junit``, ``--markdown``,
``--out``) is either absent or complete, with no temporary file left beside it; and no
marker planted in a real table (an identifier column of unique ``ZZQX...`` codes, a
numeric cell of distinctive digits) appears in any output file or in what is printed.

Hypothesis runs derandomized (the same cases on every run, so CI is deterministic) and
with few examples, so that the module takes about a minute on two cores. The number of
cases run is printed at the end of the module (``fuzz cases run: ...``).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from safe_bench.cli.main import main

#: Cases run per family, printed at the end of the module.
CASES: Counter[str] = Counter()

#: More cases, drawn at random (not derandomized), for a longer hunt:
#: ``SAFE_BENCH_FUZZ_SCALE=10 python3 -m pytest tests/test_fuzz.py``.
SCALE = int(os.environ.get("SAFE_BENCH_FUZZ_SCALE", "1"))

FUZZ = settings(
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

#: The marker planted in real identifiers; the numeric marker's digits.
MARKER = "ZZQX"
NUMBER_MARKER = 735190246.8013
NUMBER_DIGITS = ("735190246", "7.3519024")
#: Metric selections that stay fast on tables of at most 60 rows (None: every metric).
FAST_METRICS = ["S.ks,S.tv,S.missing,C.censoring,P.exact", "S.ks", "S", "C", "P.exact,P.dcr_share", "S.range,S.pairs"]


@pytest.fixture(scope="module", autouse=True)
def count_cases(request):
    """Print how many fuzz cases the module ran (even when output is captured)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    line = f"fuzz cases run: {sum(CASES.values())} ({', '.join(f'{k} {v}' for k, v in sorted(CASES.items()))})"
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line("")
            reporter.write_line(line)


# -- running a case and checking the invariant ---------------------------------------
class Outcome:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


def run_cli(family: str, args: list[Any]) -> Outcome:
    """Run the command line in-process; an exception escaping ``main`` fails the case
    (on the command line it would print a traceback and exit 1)."""
    CASES[family] += 1
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse refuses an option with exit 2
            code = exc.code
    outcome = Outcome(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in outcome.out + outcome.err, outcome.err
    error = re.search(r"error: (.*)", outcome.err)
    if currently_in_test_context():
        text = re.sub(r"[0-9]+", "N", re.sub(r"'?/tmp/\S+", "PATH", error.group(1))) if error else ""
        event(f"exit {code}" + (f": {text[:70]}" if text else ""))
    return outcome


def complete(path: Path, kind: str) -> None:
    """An output file, if present, is whole: it parses as what it claims to be."""
    if not path.exists():
        return
    if kind == "folder":
        assert path.is_dir()
        assert (path / "index.html").is_file(), f"{path} lacks index.html"
        assert (path / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
        json.loads((path / "leaderboard.json").read_text(encoding="utf-8"))
        return
    assert path.is_file(), path
    text = path.read_text(encoding="utf-8")
    if kind == "json":
        json.loads(text)
    elif kind == "html":
        assert text.rstrip().endswith("</html>"), f"{path} is cut short"
    elif kind == "xml":
        ET.fromstring(text)
    elif kind == "csv":
        pd.read_csv(io.StringIO(text))
    else:
        assert text, path


def check(outcome: Outcome, *, codes: tuple[int, ...], outputs: dict[Path, str], out_dir: Path,
          markers: tuple[str, ...] = ()) -> None:
    """The invariant: an allowed exit code, complete outputs, no temporary file left,
    no marker in any output file or in what was printed."""
    assert outcome.code in codes, (outcome.code, outcome.err[-2000:])
    if outcome.code == 2:
        assert "error:" in outcome.err, outcome.err
    for path, kind in outputs.items():
        if outcome.code in (0, 1):  # the command finished: every output asked for is there
            assert path.exists(), f"{path} was not written"
        complete(path, kind)
    for path in out_dir.rglob("*"):
        assert not (path.name.startswith(".") and path.is_file()), f"temporary file left: {path}"
    if not markers:
        return
    printed = outcome.out + outcome.err
    for marker in markers:
        assert marker not in printed, f"marker {marker!r} printed"
    for path in out_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for marker in markers:
                assert marker.encode() not in data, f"marker {marker!r} in {path}"


# -- tables ----------------------------------------------------------------------------
ODD_NAMES = ['"', "'", "a,b", "x\ny", " lead", "trail ", "ä", "名前", "💥", "\u202eevil", "Unnamed: 0", "1", "nan",
             "NULL", "time ", "a\"b", "=cmd()", "<b>x</b>", "{}", "a.b", "\t"]
NUM_SPECIALS = [np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, 0.0, -0.0, 2.0**63, 1e20, -1.0]
TEXT_SPECIALS = ["", " ", "nan", "NA", "NULL", "None", "inf", '"', "'", ",", "a,b", "line\nbreak", "ä", "💥",
                 "\u202e", "1", "1.0", "true", "2020-01-01", "9999-12-31", "0000-00-00", "<script>", "-"]
KINDS = ["numeric", "integer", "categorical", "boolean", "date", "missing", "mixed", "constant"]

names = st.one_of(
    st.sampled_from(ODD_NAMES),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6),
).filter(lambda s: s.strip().lower() not in {"patient_id", "lab", "time", "event"})


def mostly(usual: list, unusual: list, times: int = 3) -> st.SearchStrategy:
    """One of ``usual`` (each ``times`` as likely) or, less often, one of ``unusual``."""
    return st.sampled_from(usual * times * max(1, len(unusual) // max(1, len(usual))) + unusual)


def rarely(draw) -> bool:
    """True about one time in ten."""
    return draw(st.sampled_from([False] * 9 + [True]))


@st.composite
def column_specs(draw):
    return {
        "name": draw(names),
        "kind": draw(st.sampled_from(KINDS)),
        "levels": draw(st.integers(1, 12)),
        "specials": draw(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(NUM_SPECIALS + TEXT_SPECIALS)),
                                  max_size=3)),
    }


def make_column(spec: dict, n: int, rng: np.random.Generator) -> list:
    kind = spec["kind"]
    if kind == "numeric":
        values = list(rng.normal(50, 10, n))
    elif kind == "integer":
        values = list(rng.integers(0, spec["levels"], n))
    elif kind == "categorical":
        values = list(rng.choice([f"lvl{i}" for i in range(spec["levels"])], n))
    elif kind == "boolean":
        spelling = [("yes", "no"), (True, False), (1, 0), ("t", "f"), ("TRUE", "false")][spec["levels"] % 5]
        values = list(rng.choice(np.array(spelling, dtype=object), n))
    elif kind == "date":
        values = [str(pd.Timestamp("2000-01-01") + pd.Timedelta(days=int(d))) [:10] for d in rng.integers(0, 9000, n)]
    elif kind == "missing":
        values = [np.nan] * n
    elif kind == "mixed":
        values = [float(v) if i % 2 else f"t{v:.0f}" for i, v in enumerate(rng.normal(5, 2, n))]
    else:
        values = [7.0] * n
    for where, value in spec["specials"]:
        if n:
            values[min(int(where * n), n - 1)] = value
    return values


@st.composite
def tables(draw):
    """Real, synthetic and optional holdout tables, with markers planted in the real ones,
    and what to ask of ``evaluate``."""
    specs = draw(st.lists(column_specs(), max_size=5, unique_by=lambda s: s["name"]))
    rows = draw(st.one_of(st.integers(15, 60), st.integers(0, 60)))
    syn_rows = draw(st.one_of(st.just(rows), st.integers(0, 60)))
    hold_rows = draw(st.one_of(st.none(), st.integers(15, 60), st.integers(0, 60)))
    seed = draw(st.integers(0, 2**16))
    survival = draw(mostly(["both", "none"], ["time only", "unknown"]))
    bad_survival = draw(mostly(["none"], ["negative", "event 2", "missing", "text"]))
    mutation = draw(mostly(["none"], ["drop", "extra", "rename", "retype"]))
    token = draw(st.text("ABCDEFGHJK", min_size=3, max_size=3))
    rng = np.random.default_rng(seed)

    def frame(n: int, real: bool, tag: str) -> pd.DataFrame:
        data: dict[str, list] = {}
        if real:
            data["patient_id"] = [f"{MARKER}{token}{tag}{i}" for i in range(n)]
        else:
            data["patient_id"] = [f"S{i}" for i in range(n)]
        lab = list(rng.normal(5, 1, n))
        if real and n:
            lab[int(rng.integers(0, n))] = NUMBER_MARKER
        data["lab"] = lab
        for spec in specs:
            data[spec["name"]] = make_column(spec, n, rng)
        if survival != "none":
            time = list(rng.exponential(100, n) + 1)
            event = list(rng.integers(0, 2, n))
            if n and bad_survival == "negative":
                time[0] = -5.0
            elif n and bad_survival == "event 2":
                event[0] = 2
            elif n and bad_survival == "missing":
                time[-1] = np.nan
            elif n and bad_survival == "text":
                event[0] = "dead"
            data["time"], data["event"] = time, event
        return pd.DataFrame(data)

    real = frame(rows, True, "R")
    synthetic = frame(syn_rows, False, "S")
    if specs and mutation != "none":
        name = specs[0]["name"]
        if mutation == "drop":
            synthetic = synthetic.drop(columns=[name])
        elif mutation == "extra":
            synthetic["extra column"] = 1
        elif mutation == "rename":
            synthetic = synthetic.rename(columns={name: name + "_renamed"})
        else:
            synthetic[name] = ["changed"] * len(synthetic)
    holdout = None if hold_rows is None else frame(hold_rows, True, "H")
    flags = {"none": [], "both": ["--time", "time", "--event", "event"], "time only": ["--time", "time"],
             "unknown": ["--time", "no such", "--event", "event"]}[survival]
    columns = [s["name"] for s in specs]
    if columns and draw(st.booleans()):
        flags = [*flags, "--target", draw(st.sampled_from(columns))]
    metrics = draw(st.sampled_from([*FAST_METRICS, None]))
    html = draw(st.booleans())
    suffix = draw(mostly([".csv"], [".parquet", ".tsv"]))
    schema = None
    if draw(st.booleans()):  # declare the columns, each with a kind drawn at random, and some roles
        kinds = ["numeric", "categorical", "boolean", "datetime", "id"]
        schema = {"columns": {"patient_id": "id", "lab": "numeric",
                              **{name: draw(st.sampled_from(kinds)) for name in columns}}}
        if "time" in real.columns:
            schema["columns"].update(time="numeric", event="boolean")
        roles = {}
        for role in ("groups", "sensitive", "quasi_identifiers"):
            if columns and draw(st.booleans()):
                roles[role] = draw(st.lists(st.sampled_from(columns), max_size=2, unique=True))
        if columns and draw(st.booleans()):
            roles["site"] = draw(st.sampled_from(columns))
        schema["roles"] = roles
    return real, synthetic, holdout, flags, metrics, html, suffix, schema


def write(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV, TSV or Parquet (by suffix); a frame pyarrow cannot store (mixed
    object columns) is written as CSV instead."""
    if path.suffix == ".parquet":
        try:
            frame.to_parquet(path, index=False)
            return path
        except Exception:  # noqa: BLE001 - pyarrow refuses mixed columns with many types
            path = path.with_suffix(".csv")
    frame.to_csv(path, index=False, sep="\t" if path.suffix == ".tsv" else ",")
    return path


@settings(FUZZ, max_examples=150 * SCALE)
@given(case=tables())
def test_evaluate_never_crashes_nor_leaks(case):
    real, synthetic, holdout, flags, metrics, html, suffix, schema = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs, out = root / "in", root / "out"
        inputs.mkdir()
        out.mkdir()
        args = ["evaluate", "--real", write(real, inputs / f"real{suffix}"),
                "--synthetic", write(synthetic, inputs / f"synthetic{suffix}"), *flags,
                "--bootstrap", "10", "--json", out / "result.json"]
        if holdout is not None:
            args += ["--holdout", write(holdout, inputs / f"holdout{suffix}")]
        if schema is not None:
            (inputs / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
            args += ["--schema", inputs / "schema.json"]
        if metrics:
            args += ["--metrics", metrics]
        outputs = {out / "result.json": "json"}
        if html:
            args += ["--html", out / "report.html"]
            outputs[out / "report.html"] = "html"
        outcome = run_cli("evaluate", args)
        check(outcome, codes=(0, 2), outputs=outputs, out_dir=out, markers=(MARKER, *NUMBER_DIGITS))
        if outcome.code == 0:
            assert (out / "result.json").is_file()


# -- schema files -------------------------------------------------------------------
def base_table(n: int = 40, seed: int = 0, *, real: bool = True) -> pd.DataFrame:
    """A small valid table: a marker identifier, a numeric marker, the usual kinds and an endpoint."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "patient_id": [f"{MARKER}{'R' if real else 'S'}{i:03d}" if real else f"S{i:03d}" for i in range(n)],
        "lab": rng.normal(5, 1, n),
        "age": rng.normal(60, 8, n).round(1),
        "grade": rng.choice(["I", "II", "III"], n),
        "treated": rng.choice(["yes", "no"], n),
        "visit": [str(pd.Timestamp("2010-01-01") + pd.Timedelta(days=int(d)))[:10] for d in rng.integers(0, 3000, n)],
        "time": (rng.exponential(500, n) + 1).round(1),
        "event": rng.integers(0, 2, n),
    })
    if real:
        frame.loc[3, "lab"] = NUMBER_MARKER
    return frame


BASE_SCHEMA = {
    "columns": {"patient_id": "id", "lab": "numeric", "age": "numeric", "grade": "categorical",
                "treated": "boolean", "visit": "datetime", "time": "numeric", "event": "boolean"},
    "survival": {"time": "time", "event": "event"},
    "roles": {"target": "treated", "groups": ["grade"], "sensitive": ["grade"], "quasi_identifiers": ["age"]},
}
#: Columns whose kind the fuzzer never changes: declared otherwise (categorical), their
#: real values would be category names, which the results show by design.
PINNED = {"patient_id", "lab"}

junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
              st.text(max_size=8), st.sampled_from(["numeric", "categorical", "id", "time", "grade", "NPI"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)
KEY_PATHS = [("columns",), ("columns", "age"), ("columns", "grade"), ("columns", "visit"), ("columns", "time"),
             ("columns", "event"), ("columns", "treated"), ("columns", "no such"), ("survival",), ("survival", "time"),
             ("survival", "event"), ("roles",), ("roles", "target"), ("roles", "groups"), ("roles", "sensitive"),
             ("roles", "quasi_identifiers"), ("roles", "site"), ("roles", "bogus"), ("scores",),
             ("scores", "NPI"), ("scores", "NPI", "expression"), ("scores", "NPI", "cuts"),
             ("scores", "NPI", "labels"), ("primary",), ("primary", "column"), ("primary", "level"), ("findings",),
             ("bogus",)]
EXPRESSIONS = ["0.2 * age + 1", "age / 0", "age ** 400", "exp(age)", "log(-age)", "grade + 1", "time", "nope + 1",
               "((((age))))", "-" * 50 + "age", "age +", "", "__import__('os')", "1e999 * age", "age if age else 1"]


def set_path(data: dict, path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


@st.composite
def schema_files(draw):
    """A schema (JSON, TOML or SDV metadata), valid or mutated, or broken text."""
    data = json.loads(json.dumps(BASE_SCHEMA))
    form = draw(st.sampled_from(["json", "json", "toml", "toml", "sdv", "text"]))
    if form == "text":
        text = draw(st.sampled_from(['{"columns": {', "[columns\nage = ", "\x00\x01", "[]", "null", "42",
                                     '{"columns": []}', "columns = 3", "\ufeff{}"]))
        return draw(st.sampled_from([".json", ".toml"])), text
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(KEY_PATHS))
        if path[0] == "columns" and len(path) == 2 and path[1] in PINNED:
            continue
        if path == ("scores", "NPI", "expression"):
            value = draw(st.sampled_from(EXPRESSIONS))
        elif path == ("scores", "NPI"):
            value = {"expression": draw(st.sampled_from(EXPRESSIONS)),
                     "cuts": draw(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=3)),
                     "labels": draw(st.lists(st.text(max_size=4), max_size=4))}
        else:
            value = draw(junk)
        set_path(data, path, value)
    if draw(st.booleans()):
        del data["roles"]
    if form == "sdv":
        sdtypes = {"numeric": "numerical", "categorical": "categorical", "boolean": "boolean",
                   "datetime": "datetime", "id": "id"}
        columns = data.get("columns") if isinstance(data.get("columns"), dict) else {}
        meta = {"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1",
                "columns": {k: {"sdtype": sdtypes.get(v, v) if isinstance(v, str) else v} for k, v in columns.items()}}
        if draw(st.booleans()):
            meta = {"tables": {"t": meta}}
        return ".json", json.dumps(meta)
    if form == "json":
        return ".json", json.dumps(data)
    return ".toml", to_toml(data)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()
                               if v is not None) + "}"
    return '""'  # TOML has no null


def to_toml(data: dict) -> str:
    """A TOML text of ``data`` (every table inline under its top-level key); values
    TOML cannot hold (null) are dropped, and an integer beyond 64 bits makes it invalid."""
    return "".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}\n" for k, v in data.items()
                   if v is not None)


@pytest.fixture(scope="module")
def schema_tables(tmp_path_factory):
    root = tmp_path_factory.mktemp("schema_tables")
    base_table(40, 0).to_csv(root / "real.csv", index=False)
    base_table(40, 1, real=False).to_csv(root / "synthetic.csv", index=False)
    base_table(40, 2).to_csv(root / "holdout.csv", index=False)
    return root


@settings(FUZZ, max_examples=120 * SCALE)
@given(case=schema_files(), survival_flags=st.booleans(), metrics=st.sampled_from(FAST_METRICS))
def test_schema_files_never_crash_nor_leak(schema_tables, case, survival_flags, metrics):
    suffix, text = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = root / "out"
        out.mkdir()
        schema = root / f"schema{suffix}"
        schema.write_text(text, encoding="utf-8")
        args = ["evaluate", "--real", schema_tables / "real.csv", "--synthetic", schema_tables / "synthetic.csv",
                "--holdout", schema_tables / "holdout.csv", "--schema", schema, "--metrics", metrics,
                "--bootstrap", "10", "--json", out / "result.json", "-q"]
        if survival_flags:
            args += ["--time", "time", "--event", "event"]
        outcome = run_cli("schema", args)
        check(outcome, codes=(0, 2), outputs={out / "result.json": "json"}, out_dir=out,
              markers=(MARKER, *NUMBER_DIGITS))


# -- policy files and results for `gate` -----------------------------------------------
#: Parts of a rule's check: (usual, unusual) choices.
SUBJECTS = (["SAFE", "S", "C", "P", "S.ks", "P.exact", "C.km", "C.censoring", "S.tv", "P.dcr_share", "P.mia"],
            ["P.nope", "X", "", "safe", "S.ks.x", "💥"])
OPERATORS = ([">=", ">", "<=", "<"], ["==", "=>", "!=", "", "> =", "≥"])
THRESHOLDS = (["0.5", "0", "1", "0.99", "baseline", "baseline - 0.02", "reference - 0.1", "reference + 0.1"],
              ["1.5", "-0.1", "nan", "inf", "1e999", "reference - -0.1", "baseline * 2", "0x10", "", "abc", "0.5 0.5"])


@st.composite
def policies(draw):
    """A policy TOML text: valid-ish rules with odd subjects, operators and thresholds, or broken text."""
    if rarely(draw):
        return draw(st.sampled_from(["[[rule]]\ncheck = ", "rule = 3\n", "[policy]\n", "", "\x00", "[[rule]]\n",
                                     "[[rule]]\ncheck = 5\n", "[policy]\njudge = 'nope'\n[[rule]]\ncheck='S >= 0.1'\n"]))
    head: dict[str, Any] = {}
    if draw(st.booleans()):
        head["judge"] = draw(mostly(["ci", "estimate"], ["nope", 3]))
    if draw(st.booleans()):
        head["baseline"] = draw(mostly(["independent"], ["", 5]))
    if rarely(draw):
        head["bogus"] = 1
    lines = []
    if head:
        lines.append("[policy]")
        lines += [f"{k} = {toml_value(v)}" for k, v in head.items()]
    for _ in range(draw(mostly([1, 2, 3], [0, 5]))):
        subject, op, threshold = (draw(mostly(good, bad)) for good, bad in (SUBJECTS, OPERATORS, THRESHOLDS))
        rule = {"check": draw(junk) if rarely(draw) else f"{subject} {op} {threshold}"}
        if draw(st.booleans()):
            rule["judge"] = draw(mostly(["ci", "estimate"], ["median", 1]))
        if draw(st.booleans()):
            rule["why"] = draw(st.text(max_size=10))
        if rarely(draw):
            rule["bogus"] = True
        lines.append("[[rule]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in rule.items() if v is not None]
    return "\n".join(lines) + "\n"


@st.composite
def result_tamperings(draw):
    """A change to an evaluation JSON: none (mostly), or a value replaced at some path."""
    if not rarely(draw):
        return None
    path = draw(st.sampled_from([("pillars", "S", "score"), ("pillars", "SAFE", "ci_low"), ("metrics", 0, "score"),
                                 ("metrics", 0, "status"), ("metrics", 0), ("pillars",), ("schema", "columns"),
                                 ("rows",), ("seed",), ("extra",), ("schema_version",), ("metrics", 1, "id"),
                                 ("pillars", "P", "status")]))
    return path, draw(junk)


@pytest.fixture(scope="module")
def gate_files(tmp_path_factory, schema_tables):
    """An evaluation of the base tables (S, C and P metrics) to judge."""
    root = tmp_path_factory.mktemp("gate")
    code = main(["evaluate", "--real", str(schema_tables / "real.csv"), "--synthetic",
                 str(schema_tables / "synthetic.csv"), "--holdout", str(schema_tables / "holdout.csv"),
                 "--time", "time", "--event", "event", "--metrics", "S.ks,S.tv,C.censoring,C.km,P.exact,P.dcr_share",
                 "--bootstrap", "10", "--json", str(root / "result.json"), "-q"])
    assert code == 0
    return root


@settings(FUZZ, max_examples=250 * SCALE)
@given(policy=policies(), tampering=result_tamperings(), baseline=st.sampled_from(["none", "same", "tampered"]),
       mode=st.sampled_from(["result", "result", "result", "files"]))
def test_gate_policies_never_crash_nor_leak(gate_files, schema_tables, policy, tampering, baseline, mode):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = root / "out"
        out.mkdir()
        (root / "policy.toml").write_text(policy, encoding="utf-8")
        result = json.loads((gate_files / "result.json").read_text(encoding="utf-8"))
        if tampering is not None:
            path, value = tampering
            node = result
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        (root / "tampered.json").write_text(json.dumps(result), encoding="utf-8")
        args = ["gate", "--policy", root / "policy.toml"]
        if mode == "files":
            args += ["--real", schema_tables / "real.csv", "--synthetic", schema_tables / "synthetic.csv",
                     "--metrics", "S.ks,C.censoring", "--time", "time", "--event", "event", "--bootstrap", "10"]
        else:
            args += ["--result", root / "tampered.json"]
        if baseline == "same":
            args += ["--baseline-result", gate_files / "result.json"]
        elif baseline == "tampered":
            args += ["--baseline-result", root / "tampered.json"]
        args += ["--json", out / "verdicts.json", "--junit", out / "verdicts.xml", "--markdown", out / "verdicts.md"]
        outcome = run_cli("policy", args)
        check(outcome, codes=(0, 1, 2), out_dir=out, markers=(MARKER, *NUMBER_DIGITS),
              outputs={out / "verdicts.json": "json", out / "verdicts.xml": "xml", out / "verdicts.md": "md"})
        if outcome.code in (0, 1):
            assert (out / "verdicts.json").is_file()


# -- suite files for `run` -----------------------------------------------------------
@st.composite
def suites(draw):
    """A suite TOML text: tiny runs (gbsg2 or a file with markers, the independent
    generator, one seed, 10 resamples) and many that fail validation."""
    if rarely(draw):
        return draw(st.sampled_from(["seeds = [", "", "seeds = 0\n", "[datasets.gbsg2]\n", "\xff"]))
    data: dict[str, Any] = {}
    data["seeds"] = draw(mostly([[0], [1]], [[], [-1], [2**32], [0, 0], [0.5], ["0"], 0, [2**63 - 1], [True]]))
    if draw(st.booleans()):
        data["timeout"] = draw(mostly([60], [0, -1, 0.001, math.inf, math.nan, 1e308, "60", 30 * 24 * 3600 + 1]))
    data["n"] = draw(mostly([40, 1, 2], [0, -3, 1.5, "40", True]))
    metrics: dict[str, Any] = {"n_bootstrap": draw(mostly([10], [9, 0, -1, 10.0, "10"]))}
    metrics["select"] = draw(mostly([["S.ks", "C.censoring"], ["S.ks"], ["P.exact", "S.tv"]],
                                    [[], ["S.nope"], "S", [3]]))
    if draw(st.booleans()):
        metrics["weights"] = draw(st.dictionaries(st.sampled_from(["S", "C", "P", "Q"]),
                                                  mostly([1, 2.5, 0], [-1, 1e308, math.inf, math.nan, "1"]),
                                                  max_size=3))
    data["metrics"] = metrics
    dataset = draw(mostly(["gbsg2", "file"], ["nope", "missing file", "path only"]))
    entry = {"file": {"path": "real.csv", "schema": "schema.json"}, "missing file": {"path": "no.csv",
             "schema": "schema.json"}, "path only": {"path": "real.csv"}}.get(dataset, {})
    data["datasets"] = {dataset if dataset in ("gbsg2", "nope") else "mine": entry}
    generator: dict[str, Any] = {}
    label = draw(mostly(["independent", "copy"], ["nope"]))
    if label == "copy":
        generator["generator"] = draw(mostly(["independent"], ["nope", 3]))
    if rarely(draw):
        generator["params"] = draw(st.dictionaries(st.text(max_size=4), junk, max_size=2))
    if rarely(draw):
        generator["timeout"] = draw(mostly([60], [0, math.inf, "x"]))
    data["generators"] = {label: generator}
    if rarely(draw):
        data[draw(st.sampled_from(["bogus", "name"]))] = draw(st.sampled_from(["x y", "ok", 3]))
    return to_toml(data)


@settings(FUZZ, max_examples=60 * SCALE)
@given(suite=suites())
def test_suites_never_crash_nor_leak(suite):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_table(60, 5).to_csv(root / "real.csv", index=False)
        schema = {**BASE_SCHEMA, "roles": {}}
        (root / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
        (root / "suite.toml").write_text(suite, encoding="utf-8")
        out = root / "out"
        out.mkdir()
        store = out / "store.sqlite"
        outcome = run_cli("suite", ["run", root / "suite.toml", "--store", store, "--log", out / "run.log"])
        # The independent generator redraws real values column by column, so the cached
        # synthetic Parquet may hold the numeric marker as a binary float (never as text,
        # which is what is searched); the store, the log and the output must not.
        check(outcome, codes=(0, 2), outputs={out / "run.log": "log"} if outcome.code == 0 else {}, out_dir=out,
              markers=(MARKER, *NUMBER_DIGITS))
        if outcome.code == 2:
            assert not store.exists(), "a refused suite left a store behind"


# -- tampered store rows for `results` and `report` ------------------------------------
@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    """A store of a tiny run: gbsg2 and a file dataset with markers, the independent generator."""
    root = tmp_path_factory.mktemp("store")
    base_table(60, 5).to_csv(root / "real.csv", index=False)
    (root / "schema.json").write_text(json.dumps({**BASE_SCHEMA, "roles": {}}), encoding="utf-8")
    (root / "suite.toml").write_text(
        'seeds = [0]\nn = 40\n[metrics]\nn_bootstrap = 10\nselect = ["S.ks", "S.tv", "C.censoring", "P.exact"]\n'
        '[datasets.gbsg2]\n[datasets.mine]\npath = "real.csv"\nschema = "schema.json"\n'
        '[generators.independent]\n[generators.copy]\ngenerator = "independent"\n', encoding="utf-8")
    assert main(["run", str(root / "suite.toml"), "--store", str(root / "store.sqlite"), "-q"]) == 0
    return root / "store.sqlite"


CELL_COLUMNS = ["key", "dataset", "generator", "seed", "status", "stage", "reason", "params", "fit_seconds",
                "seconds", "run", "finished", "result"]
SCORE_COLUMNS = ["metric", "pillar", "kind", "position", "value", "score", "ci_low", "ci_high", "reference",
                 "status", "reason"]
SQL_VALUES = st.one_of(
    st.none(), st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["{not json", "[]", "{}", "null", '{"schema_version": 1}', "ok", "failed", "SAFE", "S", "metric",
                     "pillar", "nan", "1e999"]),
    junk.map(json.dumps),
)


@st.composite
def tamperings(draw):
    """One to three edits of stored rows (or of a whole table), as SQL with parameters."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        what = draw(mostly(["cells", "scores", "result"], ["drop", "delete", "meta", "runs"]))
        row = draw(st.integers(0, 5))
        if what == "cells":
            column = draw(st.sampled_from(CELL_COLUMNS))
            edits.append((f"UPDATE cells SET {column} = ? WHERE rowid = (SELECT rowid FROM cells LIMIT 1 OFFSET ?)",
                          (draw(SQL_VALUES), row)))
        elif what == "scores":
            column = draw(st.sampled_from(SCORE_COLUMNS))
            sql = f"UPDATE scores SET {column} = ? WHERE rowid = (SELECT rowid FROM scores LIMIT 1 OFFSET ?)"
            edits.append((sql, (draw(SQL_VALUES), draw(st.integers(0, 60)))))
        elif what == "result":
            path = draw(st.sampled_from(["$.pillars.SAFE.score", "$.metrics[0]", "$.schema", "$.pillars", "$.rows",
                                         "$.metrics[0].details", "$.schema.columns.age", "$.label",
                                         "$.metrics[1].details.columns", "$.metrics[0].details.columns.age",
                                         "$.pillars.S.errors", "$.pillars.C.skipped", "$.extra.notes"]))
            sql = (f"UPDATE cells SET result = json_set(result, '{path}', json(?)) "
                   "WHERE rowid = (SELECT rowid FROM cells LIMIT 1 OFFSET ?)")
            edits.append((sql, (json.dumps(draw(junk)), row)))
        elif what == "drop":
            edits.append((f"DROP {draw(st.sampled_from(['TABLE scores', 'TABLE meta', 'VIEW latest_cells', 'TABLE runs']))}",
                          ()))
        elif what == "delete":
            edits.append((f"DELETE FROM {draw(st.sampled_from(['cells', 'scores', 'runs']))}", ()))
        elif what == "meta":
            edits.append(("UPDATE meta SET value = ?", (draw(st.sampled_from(["2", "", "1.0", "none"])),)))
        else:
            edits.append(("UPDATE runs SET manifest = ?", (draw(SQL_VALUES),)))
    return edits


@settings(FUZZ, max_examples=45 * SCALE)
@given(edits=tamperings(), command=st.sampled_from(["report", "results", "gate"]),
       score=st.sampled_from(["SAFE", "S", "P.exact", "C.km", "nope"]), compare=st.booleans())
def test_tampered_stores_never_crash(store_file, edits, command, score, compare):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = root / "store.sqlite"
        shutil.copy(store_file, store)
        with contextlib.closing(sqlite3.connect(store)) as db:
            db.execute("PRAGMA foreign_keys = OFF")
            for sql, params in edits:
                try:
                    with db:
                        db.execute(sql, params)
                except sqlite3.Error:  # a constraint refused the edit, or a bad json_set path
                    pass
        before = store.read_bytes()
        out = root / "out"
        out.mkdir()
        if command == "results":
            args = ["results", store, "--score", score, "--json", out / "results.json", "--csv", out / "results.csv"]
            if compare:
                args += ["--compare", "independent", "copy", "--bootstrap", "10"]
            outputs = {out / "results.json": "json", out / "results.csv": "csv"}
        elif command == "report":
            args = ["report", store, "--out", out / "site", "-q"]
            outputs = {out / "site": "folder"}
        else:
            (root / "policy.toml").write_text(f'[policy]\nbaseline = "copy"\n[[rule]]\ncheck = "{score} >= 0.5"\n'
                                              '[[rule]]\ncheck = "S >= baseline - 0.1"\n', encoding="utf-8")
            args = ["gate", "--policy", root / "policy.toml", "--store", store, "--generator", "independent",
                    "--json", out / "gate.json", "--junit", out / "gate.xml"]
            outputs = {out / "gate.json": "json", out / "gate.xml": "xml"}
        outcome = run_cli(f"store {command}", args)
        check(outcome, codes=(0, 1, 2) if command == "gate" else (0, 2), outputs=outputs, out_dir=out,
              markers=(MARKER,))
        assert store.read_bytes() == before, f"{command} wrote to the store it reads"


# -- regressions: bugs the fuzzer found ------------------------------------------------
def tamper(store_file: Path, tmp_path: Path, *statements: str) -> Path:
    store = tmp_path / "tampered.sqlite"
    shutil.copy(store_file, store)
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        for sql in statements:
            db.execute(sql)
    return store


@pytest.mark.parametrize("command", ["results", "report"])
def test_a_store_without_its_scores_table_is_named(store_file, tmp_path, command):
    """Found by the fuzzer: sqlite3.OperationalError 'no such table: scores' escaped."""
    store = tamper(store_file, tmp_path, "DROP TABLE scores")
    args = ["results", store] if command == "results" else ["report", store, "--out", tmp_path / "site"]
    outcome = run_cli("regression", args)
    assert outcome.code == 2
    assert f"results store {str(store)!r} lacks its table(s) ['scores'] (was the store edited by hand?)" in outcome.err
    assert not (tmp_path / "site").exists()


def test_report_of_a_cell_without_a_key_writes_nothing(store_file, tmp_path):
    """Found by the fuzzer: a NULL key (SQLite allows one in a TEXT primary key) made
    `report` die with KeyError 'no cell None'."""
    store = tamper(store_file, tmp_path, "UPDATE cells SET key = NULL WHERE rowid = (SELECT min(rowid) FROM cells)")
    outcome = run_cli("regression", ["report", store, "--out", tmp_path / "site"])
    assert outcome.code == 2
    assert f"results store {str(store)!r}: a cell without a key: key is not text" in outcome.err
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(("sql", "message"), [
    ("UPDATE cells SET seed = 'abc'", "seed is not a whole number from 0 to 4294967295"),
    ("UPDATE cells SET dataset = x'00ff'", "dataset is not text"),
    ("UPDATE cells SET fit_seconds = 'slow'", "fit_seconds is not a number or null"),
    ("UPDATE scores SET metric = x'00ff' WHERE rowid = (SELECT min(rowid) FROM scores)", "metric is not text"),
])
def test_results_names_a_cell_column_edited_by_hand(store_file, tmp_path, sql, message):
    store = tamper(store_file, tmp_path, sql)
    outcome = run_cli("regression", ["results", store, "--json", tmp_path / "r.json"])
    assert outcome.code == 2
    assert re.search(rf"results store '.*': cell '[0-9a-f]+': {re.escape(message)} \(\d+ such row", outcome.err)
    assert not (tmp_path / "r.json").exists()


def test_a_carriage_return_in_a_csv_header_is_bad_csv_not_a_traceback(schema_tables, tmp_path):
    """Found by the fuzzer: a column named "\\r" (pandas writes it unquoted) made the
    header check raise _csv.Error."""
    real = tmp_path / "real.csv"
    real.write_bytes(b"age,\r,grade\n1,2,3\n4,5,6\n")
    outcome = run_cli("regression", ["evaluate", "--real", real, "--synthetic", schema_tables / "synthetic.csv",
                                     "--json", tmp_path / "r.json"])
    assert outcome.code == 2
    assert f"real file {str(real)!r} is not valid CSV" in outcome.err
    assert not (tmp_path / "r.json").exists()


def test_a_quoted_carriage_return_in_a_csv_header_is_read(tmp_path):
    from safe_bench.data.io import read_table

    path = tmp_path / "t.csv"
    path.write_bytes(b'age,"\r",grade\n1,2,3\n4,5,6\n')
    assert list(read_table(path).columns) == ["age", "\r", "grade"]


def test_junit_of_a_rule_whose_why_holds_a_control_character_parses(gate_files, tmp_path):
    """Found by the fuzzer: why = "\\u001f" was written into the JUnit XML as it is,
    which no XML parser reads."""
    policy = tmp_path / "policy.toml"
    policy.write_text('[[rule]]\ncheck = "S >= 0.1"\nwhy = "bell\\u0007 and unit separator\\u001f"\n', encoding="utf-8")
    outcome = run_cli("regression", ["gate", "--policy", policy, "--result", gate_files / "result.json",
                                     "--junit", tmp_path / "gate.xml", "-q"])
    assert outcome.code in (0, 1)
    text = ET.parse(tmp_path / "gate.xml").getroot().find(".//testcase/system-out")
    failure = ET.parse(tmp_path / "gate.xml").getroot().find(".//testcase/failure")
    explained = (text if text is not None else failure).text
    assert "bell\ufffd and unit separator\ufffd" in explained


def test_results_of_a_generator_never_run_on_a_dataset_says_no_cell(store_file, tmp_path):
    """Found by the fuzzer: a store where a generator has no cell on one dataset (two
    suites run into one store) made `results` die with KeyError on the generator."""
    store = tamper(store_file, tmp_path, "DELETE FROM cells WHERE dataset = 'mine' AND generator = 'copy'")
    outcome = run_cli("regression", ["results", store, "--score", "S", "--json", tmp_path / "r.json"])
    assert outcome.code == 0, outcome.err
    row = next(line for line in outcome.out.splitlines() if line.startswith("mine "))
    score, none = r"\d\.\d{3} \[[0-9., ]+\] \(1\)", r"no cell \(2\)"
    assert re.fullmatch(rf"mine\s+({score}\s+{none}|{none}\s+{score})", row), row
    json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))


def test_every_metric_on_a_copy_of_train_writes_no_marker(tmp_path):
    """What the fuzzer's tables (at most 60 rows) seldom reach: every metric, the
    privacy attacks included (holdout of 200, quasi-identifiers and secrets declared,
    the numeric marker among them), on a synthetic table that copies train."""
    real, holdout = base_table(200, 11), base_table(200, 12)
    copy = real.assign(patient_id=[f"S{i}" for i in range(200)])
    for name, frame in (("real", real), ("holdout", holdout), ("copy", copy)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    schema = {**BASE_SCHEMA, "roles": {"quasi_identifiers": ["age", "lab", "grade"], "sensitive": ["lab", "grade"],
                                       "groups": ["grade"], "target": "treated"}}
    (tmp_path / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    out = tmp_path / "out"
    outcome = run_cli("regression", ["evaluate", "--real", tmp_path / "real.csv", "--synthetic", tmp_path / "copy.csv",
                                     "--holdout", tmp_path / "holdout.csv", "--schema", tmp_path / "schema.json",
                                     "--bootstrap", "10", "--json", out / "r.json", "--html", out / "r.html"])
    check(outcome, codes=(0,), outputs={out / "r.json": "json", out / "r.html": "html"}, out_dir=out,
          markers=(MARKER, *NUMBER_DIGITS))
    metrics = {m["id"]: m for m in json.loads((out / "r.json").read_text(encoding="utf-8"))["metrics"]}
    assert all(metrics[m]["status"] == "ok" for m in ("P.attribute", "P.linkability", "P.singling_out", "P.mia"))


# -- found by the fuzzer: a category held by one real row was written verbatim into the result
# (S.tv shares, C.km/C.logrank/C.rmst left_out, the C.cox model) and the HTML page --
@pytest.mark.parametrize("metric", ["S.tv", "C.km", "C.logrank"])
def test_a_category_of_one_real_row_is_not_written_out(tmp_path, metric):
    real = base_table(60, 7)
    real["grade"] = [f"G{i % 9}" for i in range(60)]
    real.loc[5, "grade"] = f"{MARKER}single"
    synthetic = base_table(60, 8, real=False).assign(grade=[f"G{i % 9}" for i in range(60)])
    real.to_csv(tmp_path / "real.csv", index=False)
    synthetic.to_csv(tmp_path / "synthetic.csv", index=False)
    out = tmp_path / "out"
    outcome = run_cli("regression", ["evaluate", "--real", tmp_path / "real.csv", "--synthetic",
                                     tmp_path / "synthetic.csv", "--time", "time", "--event", "event", "--metrics",
                                     metric, "--bootstrap", "10", "--json", out / "r.json", "--html", out / "r.html"])
    assert outcome.code == 0, outcome.err
    check(outcome, codes=(0,), outputs={out / "r.json": "json", out / "r.html": "html"}, out_dir=out,
          markers=(MARKER,))


@pytest.mark.parametrize(("path", "value", "message"), [
    ("$.metrics[0].details", "null", "field 'details' must be an object, not NoneType"),
    ("$.metrics[0].details", "[1, 2]", "field 'details' must be an object, not list"),
    ("$.metrics[0].id", "7", "field 'id' must be text, not 7"),
])
def test_report_of_a_stored_result_with_broken_details_writes_nothing(store_file, tmp_path, path, value, message):
    """Found by the fuzzer: a stored result whose metric details were null made `report`
    die with AttributeError after the check of the result had passed."""
    store = tamper(store_file, tmp_path, f"UPDATE cells SET result = json_set(result, '{path}', json('{value}')) "
                   "WHERE rowid = (SELECT min(rowid) FROM cells WHERE status = 'ok')")
    outcome = run_cli("regression", ["report", store, "--out", tmp_path / "site", "-q"])
    assert outcome.code == 2
    assert re.search(rf"results store '.*': cell '[0-9a-f]+': metric .*: {re.escape(message)}", outcome.err), \
        outcome.err
    assert not (tmp_path / "site").exists()
