"""What safe-bench persists and what it leaves alone: no third-party output quoted in a
store, log, report or export; read-only commands never write to the file they read."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from safe_bench_generators.baselines import IndependentGenerator

from safe_bench.cli.main import main
from safe_bench.data.schema import Schema
from safe_bench.generator import register_generator

#: What the leaking command prints before it fails: a marker and its first training row.
MARKER = "TRAINING ROW OF PATIENT"
LEAKY = f"""
import argparse, sys
p = argparse.ArgumentParser()
for flag in ("--train", "--n", "--seed", "--out"):
    p.add_argument(flag)
a = p.parse_args()
with open(a.train) as f:
    f.readline()
    row = f.readline().strip()
print("{MARKER}: " + row.replace(",", " | "), file=sys.stderr)
sys.exit(3)
"""
SUITE = """\
seeds = [0]
timeout = 120
[metrics]
n_bootstrap = 10
select = ["S.ks", "C.km", "P.dcr_share"]
[datasets.gbsg2]
[generators.independent]
[generators.leaky]
generator = "command"
params = {{ command = {command} }}
[generators.row_in_message]
"""


class RowInMessage(IndependentGenerator):
    """A plug-in whose exception quotes its first training row."""

    name = "row_in_message"

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        raise ValueError(f"{MARKER}: " + " | ".join(str(v) for v in train.iloc[0]))


def _files(*roots: Path) -> dict[Path, bytes]:
    """Every file under (or at) ``roots`` with its bytes."""
    found = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        found.update({p: p.read_bytes() for p in paths})
    return found


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory: pytest.TempPathFactory):
    """A run of the independent baseline, a command that prints a training row to stderr
    and exits 3 and a plug-in that raises with one, then `results --json` and the report site."""
    register_generator(RowInMessage.name, RowInMessage)
    root = tmp_path_factory.mktemp("leaky")
    script = root / "leaky.py"
    script.write_text(LEAKY, encoding="utf-8")
    suite = root / "leaky.toml"
    suite.write_text(SUITE.format(command=json.dumps([sys.executable, str(script)])), encoding="utf-8")
    store = root / "leaky.sqlite"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SAFE_BENCH_PRIVATE_DIR", str(root / "private"))
        assert main(["run", str(suite), "--store", str(store), "-q"]) == 0
    assert main(["results", str(store), "--json", str(root / "results.json")]) == 0
    assert main(["report", str(store), "--out", str(root / "site"), "-q"]) == 0
    return root, store


def test_third_party_output_reaches_no_persisted_output(leaky_run, capsys: pytest.CaptureFixture[str]) -> None:
    root, store = leaky_run
    kept = _files(root / "private")
    assert len(kept) == 2, "the full texts are kept in private files"
    rows = {path: re.search(rf"{MARKER}: (.*)", text.decode()).group(1).strip() for path, text in kept.items()}
    assert all(row.count(" | ") >= 5 for row in rows.values())
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in kept)

    assert main(["results", str(store)]) == 0
    printed = capsys.readouterr()
    assert "leaky" in printed.out and "row_in_message" in printed.out
    outputs = _files(store, store.with_suffix(".log"), store.with_suffix(".synthetic"), root / "results.json",
                     root / "site")
    assert store.with_suffix(".log") in outputs and (root / "site" / "leaderboard.json") in outputs
    assert any(p.parent.name == "datasets" for p in outputs)
    for path, data in [*outputs.items(), (Path("printed"), (printed.out + printed.err).encode())]:
        assert MARKER.encode() not in data, f"{path.name} quotes a third party's output"
        assert not [row for row in rows.values() if row.encode() in data], f"{path.name} quotes a training row"

    cells = {c["generator"]: c for c in json.loads((root / "results.json").read_text())["cells"]}
    assert cells["leaky"]["status"] == "failed" and "exited with status 3" in cells["leaky"]["reason"]
    assert cells["row_in_message"]["status"] == "failed"
    assert cells["row_in_message"]["reason"].startswith(
        "GeneratorError: generator 'row_in_message' failed: ValueError; its message and traceback (")
    for generator in ("leaky", "row_in_message"):
        reason = cells[generator]["reason"]
        named = [path for path in kept if f"full text in {path}" in reason]
        assert len(named) == 1, "the message says where the full text is"
        assert f"full text in {named[0]}" in store.with_suffix(".log").read_text()


# -- read-only commands ----------------------------------------------------------------
def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE visits (patient TEXT, day INTEGER)")
        db.execute("INSERT INTO visits VALUES ('p1', 3)")
    db.close()


FOREIGN = {
    "other-sqlite": (_foreign, "a database without safe-bench's tables"),
    "empty": (lambda path: path.write_bytes(b""), "an empty file"),
    "text": (lambda path: path.write_text("id,age\n1,63\n" * 50), "file is not a database"),
}
READERS = {
    "results": lambda store, out: ["results", str(store), "--json", str(out / "r.json")],
    "report": lambda store, out: ["report", str(store), "--out", str(out / "site")],
    "gate": lambda store, out: ["gate", "--policy", str(Path(__file__).parents[1] / "benchmarks/policies/default.toml"),
                                "--store", str(store), "--generator", "independent"],
}


def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``folder``: bytes and modification time."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("command", READERS)
def test_read_only_commands_refuse_a_file_that_is_not_a_store_and_leave_it_alone(
        tmp_path: Path, kind: str, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    make, why = FOREIGN[kind]
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "other.sqlite"
    make(path)
    before = _state(folder)
    assert main(READERS[command](path, tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"{str(path)!r} is not a safe-bench results store ({why}" in err and "Traceback" not in err
    assert _state(folder) == before, "the file was modified (or a -wal/-shm file left beside it)"
    assert not (tmp_path / "site").exists() and not (tmp_path / "r.json").exists()


def test_run_does_not_turn_another_database_into_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "s.toml"
    suite.write_text("seeds = [0]\n[datasets.gbsg2]\n[generators.independent]\n", encoding="utf-8")
    _foreign(tmp_path / "other.sqlite")
    before = (tmp_path / "other.sqlite").read_bytes()
    assert main(["run", str(suite), "--store", str(tmp_path / "other.sqlite"), "-q"]) == 2
    assert "not a safe-bench results store" in capsys.readouterr().err
    assert (tmp_path / "other.sqlite").read_bytes() == before


@pytest.mark.parametrize("command", READERS)
def test_reading_a_store_leaves_its_files_unchanged(leaky_run, tmp_path: Path, command: str) -> None:
    _, store = leaky_run
    copy = tmp_path / "store"
    copy.mkdir()
    (copy / store.name).write_bytes(store.read_bytes())
    before = _state(copy)
    assert main(READERS[command](copy / store.name, tmp_path)) in (0, 1)  # gate: 1 when a rule fails
    assert _state(copy) == before


def test_a_failing_metric_quotes_no_data_and_stays_deterministic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A library error inside a metric can quote a value it could not convert (a real
    record's cell): the result names the exception class and the private file, never the
    message, and the same failure gives the same JSON."""
    import dataclasses

    from safe_bench import evaluate
    from safe_bench.metrics.base import METRICS

    def fails(cmp):
        raise ValueError(f"could not convert string to float: '{MARKER} 42'")

    monkeypatch.setenv("SAFE_BENCH_PRIVATE_DIR", str(tmp_path / "private"))
    monkeypatch.setitem(METRICS, "S.ks", dataclasses.replace(METRICS["S.ks"], compute=fails))
    frame = pd.DataFrame({"x": range(60), "y": [i % 3 for i in range(60)]})
    runs = [evaluate(frame.iloc[:30], frame.iloc[30:], None, None, metrics=["S.ks"], n_bootstrap=10) for _ in range(2)]
    ks = runs[0].metric("S.ks")
    assert ks.status == "error" and ks.reason.startswith("ValueError; its message and traceback (")
    assert MARKER not in runs[0].to_json() and runs[0].to_json() == runs[1].to_json()
    (kept,) = (tmp_path / "private").iterdir()
    assert MARKER in kept.read_text() and str(kept) in ks.reason


def test_a_plugin_that_raises_in_evaluate_exits_2_naming_it_without_quoting(leaky_run, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`evaluate --generator` with a plug-in whose exception quotes a training row: exit 2,
    the generator and the exception class named, the row only in the private file."""
    monkeypatch.setenv("SAFE_BENCH_PRIVATE_DIR", str(tmp_path / "private"))
    code = main(["evaluate", "--dataset", "gbsg2", "--generator", RowInMessage.name, "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "row_in_message" in err and "ValueError" in err
    assert MARKER not in err and "Traceback" not in err
    (kept,) = (tmp_path / "private").iterdir()
    assert MARKER in kept.read_text()
