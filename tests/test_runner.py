"""The benchmark runner: suites, failing cells, resuming after SIGKILL, determinism across backends."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import fake_generators
from safe_bench.benchmark.backends import JoblibBackend, SerialBackend
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import run_suite
from safe_bench.benchmark.store import Store, data_hash
from safe_bench.benchmark.suite import load_suite
from safe_bench.cli.main import main
from safe_bench.data.io import write_table
from safe_bench.errors import InputError

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
#: Cheap metrics, one or two per pillar, so that a cell evaluates in a fraction of a second.
HEAD = """\
seeds = {seeds}
timeout = 120
[metrics]
n_bootstrap = {bootstrap}
select = ["S.ks", "S.tv", "C.km", "P.dcr_share"]
[datasets.gbsg2]
"""
VOLATILE = ["fit_seconds", "sample_seconds", "evaluate_seconds", "seconds", "run", "finished"]


def write_suite(path: Path, generators: str, seeds: str = "[0, 1]", bootstrap: int = 10) -> Path:
    path.write_text(HEAD.format(seeds=seeds, bootstrap=bootstrap) + generators, encoding="utf-8")
    return path


def run(suite: Path, db: Path, **kwargs: object):
    with Store(db, create=True) as store:
        return run_suite(load_suite(suite), store, **kwargs)


def snapshot(db: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """What a run stored, without timings: cells, tidy results, every result's JSON."""
    with Store(db) as store:
        cells = store.cells()
        jsons = {k: store.result(k).to_json() for k in cells.loc[cells.status == "ok", "key"]}
        return cells.drop(columns=VOLATILE), store.results(), jsons


def assert_same_store(a: Path, b: Path) -> None:
    cells_a, results_a, json_a = snapshot(a)
    cells_b, results_b, json_b = snapshot(b)
    pd.testing.assert_frame_equal(cells_a, cells_b)
    pd.testing.assert_frame_equal(results_a, results_b)
    assert json_a == json_b


@pytest.fixture(scope="module")
def baseline_suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_suite(tmp_path_factory.mktemp("suite") / "base.toml",
                       "[generators.independent]\n[generators.gaussian_copula]\n")


@pytest.fixture(scope="module")
def reference(baseline_suite: Path) -> Path:
    """The baseline suite run once, serially."""
    db = baseline_suite.with_name("reference.sqlite")
    summary = run(baseline_suite, db)
    assert (summary.total, summary.ok) == (4, 4)
    return db


# -- suites --------------------------------------------------------------------
BASE = "seeds = [0]\n[datasets.gbsg2]\n[generators.independent]\n"


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        ("seeds = [0]\ntimeout = = 5\n", 2, None, "not valid TOML"),
        ("seeds = [0]\nsedes = [1]\n[datasets.gbsg2]\n[generators.independent]\n", 2, "sedes", "unknown key"),
        ('seeds = ["zero"]\n[datasets.gbsg2]\n[generators.independent]\n', 1, "seeds", "whole number"),
        ("seeds = [0, 0]\n[datasets.gbsg2]\n[generators.independent]\n", 1, "seeds", "twice"),
        ("timeout = -1\n" + BASE, 1, "timeout", "at least"),
        (BASE + "[metrics]\nn_bootstrap = 5\n", 5, "metrics.n_bootstrap", "at least 10"),
        (BASE + '[metrics]\nselect = ["S.ks", "S.nope"]\n', 5, "metrics.select", "S.nope"),
        (BASE + "[metrics]\nweights = { S = 1, Q = 2 }\n", 5, "metrics.weights.Q", "unknown key"),
        ("seeds = [0]\n[generators.independent]\n\n[datasets.nope]\n", 4, "datasets.nope", "unknown dataset 'nope'"),
        (BASE + '[datasets.mine]\npath = "mine.csv"\n', 4, "datasets.mine", "needs both"),
        (BASE + "[generators.copula]\ngenerator = 'gaussian_copul'\n", 5, "generators.copula.generator",
         "unknown generator 'gaussian_copul'"),
        (BASE + "[generators.gaussian_copula]\ntimeot = 5\n", 5, "generators.gaussian_copula.timeot", "unknown key"),
        (BASE + "[generators.gaussian_copula]\nparams = { shrinkag = 0.1 }\n", 5,
         "generators.gaussian_copula.params", "rejected its settings"),
    ],
)
def test_a_malformed_suite_names_the_key_and_the_line(tmp_path: Path, text: str, line: int, key: str | None,
                                                      says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_suite(path)
    message = str(err.value)
    assert f"line {line}" in message and says in message
    if key is not None:
        assert f"key {key!r}" in message


def test_shipped_suites() -> None:
    smoke = load_suite(BENCHMARKS / "smoke.toml")
    assert [(d.name, g.generator, s) for d, g, s in smoke.cells()] == [
        ("gbsg2", g, s) for g in ("independent", "gaussian_copula", "bootstrap_copy") for s in (0, 1)
    ]
    clinical = load_suite(BENCHMARKS / "clinical.toml")
    assert [d.name for d in clinical.datasets] == ["gbsg2", "whas500", "flchain", "aids", "veterans", "mds_ipssr_sim"]
    assert [g.generator for g in clinical.generators] == [
        "independent", "gaussian_copula", "bootstrap_copy", "ctwgan", "tvae", "tabddpm"]
    assert clinical.seeds == (0, 1, 2) and len(clinical.cells()) == 108


def test_a_dataset_from_files_is_the_same_data(tmp_path: Path, gbsg2) -> None:
    gbsg2.frame.to_csv(tmp_path / "cohort.csv", index=False)
    (tmp_path / "cohort.json").write_text(json.dumps(gbsg2.schema.to_dict()), encoding="utf-8")
    suite = tmp_path / "files.toml"
    suite.write_text(BASE.replace("[datasets.gbsg2]", '[datasets.cohort]\npath = "cohort.csv"\nschema = "cohort.json"'),
                     encoding="utf-8")
    (spec,) = load_suite(suite).datasets
    loaded = spec.load()
    pd.testing.assert_frame_equal(loaded.frame, gbsg2.frame)
    assert data_hash(loaded.frame, loaded.schema) == data_hash(gbsg2.frame, gbsg2.schema)


# -- cells that fail -------------------------------------------------------------
@pytest.mark.slow
def test_failing_generators_are_recorded_and_the_rest_finishes(tmp_path: Path) -> None:
    fake_generators.register()
    suite = write_suite(tmp_path / "bad.toml", """
[generators.independent]
[generators.raising]
[generators.hanging]
timeout = 2
[generators.crashing]
[generators.wrong_columns]
""", seeds="[0]")
    stream = io.StringIO()
    summary = run(suite, tmp_path / "bad.sqlite", progress=Progress(stream=stream, log=tmp_path / "bad.log"))
    assert (summary.ok, summary.failed, summary.timeout) == (1, 3, 1)
    with Store(tmp_path / "bad.sqlite") as store:
        cells = store.cells().set_index("generator")
        results, scores = store.results(), store.scores("SAFE").set_index("generator")
    expected = {
        "independent": ("ok", "", ""),
        "raising": ("failed", "fit", "RuntimeError; its message and traceback ("),
        "hanging": ("timeout", "fit", "timed out after 2 s during fit"),
        "crashing": ("failed", "fit", "the cell process died during fit (exit code 3)"),
        "wrong_columns": ("failed", "sample", "lacks column(s) ['age']"),
    }
    for generator, (status, stage, reason) in expected.items():
        cell = cells.loc[generator]
        assert (cell.status, cell.stage) == (status, stage)
        assert reason in cell.reason
    assert set(results["generator"]) == {"independent"}
    assert scores["score"].notna().to_dict() == {g: g == "independent" for g in expected}
    # Progress: a line per stage and per finished cell, with elapsed time and ETA, also in the log.
    printed = stream.getvalue()
    assert "gbsg2 x hanging x seed 0: fit (" in printed
    assert "gbsg2 x hanging x seed 0: timeout during fit after" in printed
    assert "[5/5]" in printed and "ETA" in printed
    assert printed.splitlines()[-1] in (tmp_path / "bad.log").read_text(encoding="utf-8")

    # Running again skips every stored cell, failed ones included, and a quiet run prints nothing.
    quiet = io.StringIO()
    again = run(suite, tmp_path / "bad.sqlite", progress=Progress(stream=quiet, quiet=True))
    assert (again.skipped, again.ok + again.failed + again.timeout) == (5, 0)
    assert quiet.getvalue() == ""


@pytest.mark.slow
def test_retry_failed_runs_only_the_failed_cells(tmp_path: Path) -> None:
    fake_generators.register()
    suite = write_suite(tmp_path / "retry.toml", "[generators.independent]\n[generators.raising]\n", seeds="[0]")
    db = tmp_path / "retry.sqlite"
    run(suite, db)
    again = run(suite, db, retry_failed=True)
    assert (again.skipped, again.failed) == (1, 1)
    with Store(db) as store:
        runs = store.cells().set_index("generator")["run"]
    assert runs.to_dict() == {"independent": 1, "raising": 2}


@pytest.mark.slow
def test_evaluate_and_run_share_one_protocol(tmp_path: Path, gbsg2, capsys: pytest.CaptureFixture[str]) -> None:
    """`safe-bench evaluate --generator` and a suite's cell run the same protocol: a file
    source (its row count is its file's, not the one asked for) gives the same result
    JSON in both, but for the label ("file on gbsg2" there, the suite's entry name here),
    and a generator that returns fewer rows than asked for fails in both, the same way."""
    fake_generators.register()
    table = tmp_path / "synthetic.csv"
    write_table(gbsg2.frame.sample(300, random_state=0), table)
    suite = write_suite(tmp_path / "file.toml", f"[generators.file]\nparams = {{ path = {str(table)!r} }}\n"
                                                "[generators.short]\n", seeds="[0]")
    assert main(["run", str(suite), "--store", str(tmp_path / "file.sqlite"), "-q"]) == 0
    with Store(tmp_path / "file.sqlite") as store:
        cells = store.cells().set_index("generator")
        stored = store.result(cells.loc["file", "key"]).to_json()
    short = "generator 'short' returned 479 rows; 480 were asked for"
    assert (cells.loc["file", "status"], cells.loc["short", "status"], cells.loc["short", "stage"]) == ("ok", "failed", "sample")
    assert cells.loc["short", "reason"] == f"GeneratorError: {short}"

    out = tmp_path / "file.json"
    options = ["--dataset", "gbsg2", "--seed", "0", "--bootstrap", "10", "--metrics", "S.ks,S.tv,C.km,P.dcr_share", "-q"]
    assert main(["evaluate", "--generator", "file", "--option", f"path={table}", "--json", str(out), *options]) == 0
    evaluated = out.read_text(encoding="utf-8").removesuffix("\n")
    assert json.loads(evaluated)["rows"] == {"train": 480, "holdout": 206, "synthetic": 300}
    assert evaluated.replace('"label": "file on gbsg2"', '"label": "file"') == stored
    capsys.readouterr()
    assert main(["evaluate", "--generator", "short", *options]) == 2
    assert capsys.readouterr().err == f"safe-bench: error: {short}\n"


# -- resuming ---------------------------------------------------------------------
def _finished(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT count(*) FROM cells").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes_without_recomputing(tmp_path: Path) -> None:
    suite = write_suite(tmp_path / "kill.toml", "[generators.slow]\nparams = { delay = 0.3 }\n",
                        seeds="[0, 1, 2, 3, 4]")
    db = tmp_path / "kill.sqlite"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fake_generators; "
            "fake_generators.register(); from safe_bench.cli.main import main; "
            f"sys.exit(main(['run', {str(suite)!r}, '--store', {str(db)!r}, '-q']))")
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _finished(db) < 2 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the runner, its forkserver and the running cell
        process.wait()
    with Store(db) as store:
        before = store.cells()
    assert 2 <= len(before) < 5, "the run was not killed mid-way"

    fake_generators.register()
    summary = run(suite, db)
    assert (summary.skipped, summary.ok) == (len(before), 5 - len(before))
    with Store(db) as store:
        after = store.cells().set_index("key")
    kept = after.loc[before["key"]]
    assert (kept["run"] == 1).all() and list(kept["finished"]) == list(before["finished"])

    fresh = tmp_path / "uninterrupted.sqlite"
    run(suite, fresh)
    assert_same_store(db, fresh)


@pytest.mark.slow
def test_sigterm_stops_workers_and_cells_and_keeps_finished_cells(tmp_path: Path) -> None:
    import psutil

    suite = write_suite(tmp_path / "term.toml", "[generators.slow]\nparams = { delay = 2.0 }\n",
                        seeds="[0, 1, 2, 3, 4, 5]")
    db = tmp_path / "term.sqlite"
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fake_generators; "
            "fake_generators.register(); from safe_bench.cli.main import main; "
            f"sys.exit(main(['run', {str(suite)!r}, '--store', {str(db)!r}, '--jobs', '2', '-q']))")
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _finished(db) < 1 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        family = psutil.Process(process.pid).children(recursive=True)  # workers and running cells
        assert any("loky" in " ".join(p.cmdline()) for p in family)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    gone, alive = psutil.wait_procs(family, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    with Store(db) as store:
        assert 1 <= (store.cells()["status"] == "ok").sum() < 6


# -- determinism and backends ------------------------------------------------------
@pytest.mark.slow
def test_two_runs_give_the_same_results(baseline_suite: Path, reference: Path, tmp_path: Path) -> None:
    run(baseline_suite, tmp_path / "again.sqlite", backend=SerialBackend())
    assert_same_store(reference, tmp_path / "again.sqlite")


@pytest.mark.slow
def test_joblib_processes_store_the_same_results(baseline_suite: Path, reference: Path, tmp_path: Path) -> None:
    events = []
    progress = Progress(stream=io.StringIO())
    progress.stage = events.append  # type: ignore[method-assign]
    run(baseline_suite, tmp_path / "joblib.sqlite", backend=JoblibBackend(2), progress=progress)
    assert_same_store(reference, tmp_path / "joblib.sqlite")
    assert {e.stage for e in events} == {"split", "fit", "sample", "evaluate"}


@pytest.mark.slow
def test_a_dask_cluster_stores_the_same_results(baseline_suite: Path, reference: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from safe_bench.benchmark.backends import DaskBackend

    events = []
    progress = Progress(stream=io.StringIO())
    progress.stage = events.append  # type: ignore[method-assign]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        run(baseline_suite, tmp_path / "dask.sqlite", backend=DaskBackend(client), progress=progress)
        deadline = time.monotonic() + 10  # stage events travel through the scheduler
        while len(events) < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert_same_store(reference, tmp_path / "dask.sqlite")
    assert {e.stage for e in events} == {"split", "fit", "sample", "evaluate"}


@pytest.mark.slow
def test_cached_synthetic_tables_are_reused_without_refitting(baseline_suite: Path, reference: Path,
                                                              tmp_path: Path) -> None:
    """Other evaluation options make new cells; the cached synthetic tables spare the fit
    and give exactly what fitting again gives."""
    db = tmp_path / "cached.sqlite"
    with Store(reference) as store:
        ids = set(store.cells()["key"])
    cached = reference.with_suffix(".synthetic")
    db.with_suffix(".synthetic").mkdir()
    for path in cached.iterdir():
        (db.with_suffix(".synthetic") / path.name).write_bytes(path.read_bytes())
    other = write_suite(tmp_path / "b20.toml", "[generators.independent]\n[generators.gaussian_copula]\n",
                        bootstrap=20)
    run(other, db)
    run(other, tmp_path / "refit.sqlite")
    with Store(db) as store:
        cells = store.cells()
        assert cells["fit_seconds"].isna().all() and not set(cells["key"]) & ids
    with Store(tmp_path / "refit.sqlite") as store:
        assert store.cells()["fit_seconds"].notna().all()
    refitted = sorted(tmp_path.joinpath("refit.synthetic").iterdir())
    assert [p.name for p in refitted] == sorted(p.name for p in cached.iterdir())
    for path in refitted:
        pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(cached / path.name))
    assert_same_store(db, tmp_path / "refit.sqlite")


# -- command line --------------------------------------------------------------------
@pytest.mark.slow
def test_results_command_prints_the_leaderboard_and_exports(reference: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    csv, js = tmp_path / "results.csv", tmp_path / "results.json"
    code = main(["results", str(reference), "--csv", str(csv), "--json", str(js),
                 "--compare", "gaussian_copula", "independent", "--bootstrap", "200"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Leaderboard by SAFE" in printed and "gaussian_copula" in printed and "independent" in printed
    assert "SAFE(gaussian_copula) - SAFE(independent)" in printed
    with Store(reference) as store:
        tidy, scores = store.results(), store.scores("SAFE")
    exported = pd.read_csv(csv)
    pd.testing.assert_frame_equal(exported[["dataset", "generator", "seed", "metric", "score"]],
                                  tidy[["dataset", "generator", "seed", "metric", "score"]], check_exact=False,
                                  rtol=1e-10)
    data = json.loads(js.read_text(encoding="utf-8"))
    board = {row["generator"]: row for row in data["leaderboard"]}
    means = scores.groupby("generator")["score"].mean()
    for generator, row in board.items():
        assert row["mean_score"] == pytest.approx(means[generator], abs=1e-11)
    assert len(data["results"]) == len(tidy) and len(data["cells"]) == 4
    assert main(["results", str(tmp_path / "missing.sqlite")]) == 2


def test_the_run_manifest_records_the_source_commit(reference: Path) -> None:
    """A run records the commit of the checkout it ran from (None outside a checkout),
    which the report's pages then name."""
    from safe_bench.provenance import source_commit

    with Store(reference, readonly=True) as store:
        (manifest,) = store.runs()["manifest"]
    assert manifest["commit"] == source_commit()
