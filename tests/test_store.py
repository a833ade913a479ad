"""The results store: what goes in comes out (tidy, JSON, Parquet), atomically, and bad files are refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import shuffle_columns
from safe_bench.benchmark.store import RESULT_COLUMNS, CellRecord, Store, data_hash, digest
from safe_bench.data.protocol import Split
from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate

METRICS = ["S.ks", "S.tv", "C.km", "P.dcr_share"]


@pytest.fixture(scope="module")
def evaluated(gbsg2_split: Split, gbsg2) -> tuple[EvaluationResult, pd.DataFrame]:
    synthetic = conform(shuffle_columns(gbsg2_split.train, seed=1), gbsg2.schema, table="synthetic")
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, seed=3,
                      metrics=METRICS, n_bootstrap=10, label="shuffled")
    return result, synthetic


def cell(key: str, status: str = "ok", result: EvaluationResult | None = None, **kw: object) -> CellRecord:
    fields = dict(synthetic_key=f"syn-{key}", dataset="gbsg2", generator="shuffled", generator_name="independent",
                  params={"a": 1}, seed=3, data_hash="h", version="0", status=status,
                  timings={"fit": 0.5, "sample": 0.1, "evaluate": 1.0, "total": 1.9},
                  result_json=None if result is None else result.to_json())
    fields.update(kw)
    return CellRecord(key=key, **fields)  # type: ignore[arg-type]


def test_a_cell_reads_back_as_stored(tmp_path: Path, evaluated: tuple[EvaluationResult, pd.DataFrame]) -> None:
    result, synthetic = evaluated
    with Store(tmp_path / "r.sqlite", create=True) as store:
        run = store.start_run({"seeds": [3]})
        store.record(cell("k1", result=result), synthetic, run=run)
        store.finish_run(run, {"ok": 1})
    with Store(tmp_path / "r.sqlite") as store:  # reopened: what reached the disk
        assert store.result("k1").to_json() == result.to_json()
        pd.testing.assert_frame_equal(store.synthetic("k1"), synthetic)
        tidy = store.results()
        cells = store.cells()
        runs = store.runs()
        safe = store.scores("SAFE")
    assert list(tidy.columns) == RESULT_COLUMNS
    metrics = tidy[tidy["kind"] == "metric"].set_index("metric")
    assert list(metrics.index) == METRICS
    for m in EvaluationResult.from_json(result.to_json()).metrics:  # values as in the JSON (12 digits)
        row = metrics.loc[m.id]
        assert (row.score, row.ci_low, row.ci_high, row.reference, row.status) == \
            (m.score, m.ci_low, m.ci_high, m.reference, m.status)
    pillars = tidy[tidy["kind"] == "pillar"].set_index("metric")
    assert list(pillars.index) == ["S", "C", "P", "SAFE"]
    assert pillars.loc["SAFE", "score"] == pytest.approx(result.score("SAFE"), rel=1e-11)
    assert (tidy[["dataset", "generator", "seed", "key"]].drop_duplicates().to_numpy().tolist()
            == [["gbsg2", "shuffled", 3, "k1"]])
    assert cells.loc[0, ["status", "fit_seconds", "seconds", "run", "params"]].tolist() == ["ok", 0.5, 1.9, 1, '{"a": 1}']
    assert runs.loc[0, "manifest"] == {"seeds": [3], "summary": {"ok": 1}} and runs.loc[0, "finished"]
    assert safe.loc[0, "score"] == pillars.loc["SAFE", "score"]


def test_failed_cells_have_a_reason_and_no_scores(tmp_path: Path) -> None:
    with Store(tmp_path / "f.sqlite", create=True) as store:
        store.record(cell("k2", status="timeout", stage="fit", reason="timed out after 2 s during fit"))
        assert store.results().empty
        row = store.cells().iloc[0]
        assert (row.status, row.stage, row.reason) == ("timeout", "fit", "timed out after 2 s during fit")
        assert np.isnan(store.scores().loc[0, "score"])
        with pytest.raises(KeyError, match="no result"):
            store.result("k2")
        assert store.finished_keys(statuses=("ok",)) == set() and store.finished_keys() == {"k2"}


def test_recording_a_cell_again_replaces_it(tmp_path: Path, evaluated: tuple[EvaluationResult, pd.DataFrame]) -> None:
    result, _ = evaluated
    with Store(tmp_path / "again.sqlite", create=True) as store:
        store.record(cell("k3", status="failed", stage="fit", reason="boom"))
        store.record(cell("k3", result=result))
        store.record(cell("k3", result=result))
        assert len(store.cells()) == 1 and store.cells().loc[0, "status"] == "ok"
        assert len(store.results()) == len(result.metrics) + len(result.pillars)


def test_a_failing_write_leaves_nothing_half_written(tmp_path: Path,
                                                    evaluated: tuple[EvaluationResult, pd.DataFrame]) -> None:
    """The cell and its scores are one transaction: a score row that cannot be written
    (a duplicated metric id) rolls the cell back too."""
    result, _ = evaluated
    broken = EvaluationResult.from_json(result.to_json())
    broken.metrics.append(broken.metrics[0])
    with Store(tmp_path / "atomic.sqlite", create=True) as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.record(cell("k4", result_json=broken.to_json()))
        assert store.cells().empty and store.results().empty


def test_the_database_is_one_wal_file(tmp_path: Path) -> None:
    with Store(tmp_path / "w.sqlite", create=True):
        with sqlite3.connect(tmp_path / "w.sqlite") as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_bad_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no results store"):
        Store(tmp_path / "absent.sqlite")
    (tmp_path / "text.sqlite").write_text("not a database, just text " * 100)
    with pytest.raises(InputError, match="not a safe-bench results store"):
        Store(tmp_path / "text.sqlite")
    with Store(tmp_path / "old.sqlite", create=True) as store:
        store._db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
        store._db.commit()
    with pytest.raises(InputError, match="has format 0"):
        Store(tmp_path / "old.sqlite")


def test_data_hash_follows_values_columns_and_schema(gbsg2) -> None:
    frame, schema = gbsg2.frame, gbsg2.schema
    h = data_hash(frame, schema)
    assert h == data_hash(frame.copy(), schema)
    changed = frame.copy()
    changed.loc[17, "age"] += 1
    assert data_hash(changed, schema) != h
    assert data_hash(frame[list(reversed(frame.columns))], schema) != h
    other = Schema.from_dict({**schema.to_dict(), "roles": {"groups": ["horTh"]}})
    assert data_hash(frame, other) != h
    assert digest({"b": 1, "a": [1.5, 2]}) == digest({"a": [1.5, 2], "b": 1}) != digest({"a": [1.5, 3], "b": 1})


def test_a_cell_run_again_under_another_key_supersedes_the_old_one(
        tmp_path: Path, evaluated: tuple[EvaluationResult, pd.DataFrame]) -> None:
    result, _ = evaluated
    with Store(tmp_path / "latest.sqlite", create=True) as store:
        first, second = store.start_run({}), store.start_run({})
        store.record(cell("old", result=result), run=first)
        store.record(cell("other-seed", result=result, seed=4), run=first)
        store.record(cell("new", status="failed", stage="fit", reason="boom"), run=second)
        assert store.cells()["key"].tolist() == ["new", "other-seed"]
        assert store.cells(latest=False)["key"].tolist() == ["old", "new", "other-seed"]
        assert set(store.results()["key"]) == {"other-seed"}
        assert set(store.results(latest=False)["key"]) == {"old", "other-seed"}
        assert store.scores()["score"].isna().tolist() == [True, False]


# -- pillar status, old rows ----------------------------------------------------------------------
@pytest.fixture
def broken(gbsg2_split: Split, gbsg2, evaluated, break_metric) -> EvaluationResult:
    """The shuffled table evaluated with C.km raising: C and SAFE incomplete, C.censoring scored."""
    break_metric("C.km")
    return evaluate(gbsg2_split.train, evaluated[1], gbsg2_split.holdout, gbsg2.schema, seed=3, n_bootstrap=10,
                    metrics=[*METRICS, "C.censoring"], label="broken")


def test_pillar_status_and_its_lists_round_trip(tmp_path: Path, broken: EvaluationResult) -> None:
    c = broken.pillars["C"]
    assert (c.status, c.score, list(c.errors)) == ("incomplete", None, ["C.km"])
    with Store(tmp_path / "s.sqlite", create=True) as store:
        store.record(cell("k", result=broken))
        again = store.result("k")
        tidy = store.results().set_index("metric")
        scores = store.scores("C")
    assert again.to_json() == broken.to_json()
    for key, p in broken.pillars.items():
        q = again.pillars[key]
        assert (q.status, q.skipped, q.errors, q.composite, q.reason) == (
            p.status, p.skipped, p.errors, p.composite, p.reason)
    assert again.pillars["SAFE"].composite == "geometric"
    assert tidy.loc["C", "status"] == "incomplete" and np.isnan(tidy.loc["C", "score"])
    assert tidy.loc["SAFE", "status"] == "incomplete" and tidy.loc["S", "status"] == "ok"
    assert (scores.loc[0, "score_status"], scores.loc[0, "reason"]) == ("incomplete", c.reason)
    assert np.isnan(scores.loc[0, "score"])


def old_layout(result: EvaluationResult, **pillar_scores: float) -> dict:
    """A result as an earlier safe-bench wrote it: pillars without status, skipped, errors,
    composite; ``pillar_scores`` put back the numbers it gave (the mean of the metrics that ran)."""
    data = json.loads(result.to_json())
    for key, p in data["pillars"].items():
        for name in ("status", "skipped", "errors", "composite"):
            del p[name]
        if key in pillar_scores:
            p["score"], p["reason"] = pillar_scores[key], ""
            if key == "SAFE":
                p["metrics"] = ["S", "C", "P"]
    return data


def test_old_results_load_and_show_no_number_from_a_partial_set(tmp_path: Path, broken: EvaluationResult,
                                                                evaluated) -> None:
    censoring = broken.metric("C.censoring").score
    old = EvaluationResult.from_dict(old_layout(broken, C=censoring, SAFE=0.7))
    assert (old.pillars["C"].status, old.pillars["C"].score, old.pillars["C"].errors) == (
        "incomplete", None, {"C.km": broken.metric("C.km").reason})
    assert "earlier safe-bench" in old.pillars["C"].reason
    assert (old.pillars["SAFE"].status, old.pillars["SAFE"].score) == ("incomplete", None)
    assert (old.pillars["S"].status, old.pillars["S"].score) == ("ok", broken.score("S"))
    clean = EvaluationResult.from_dict(old_layout(evaluated[0]))  # nothing failed: scores kept
    assert all(p.status == "ok" for p in clean.pillars.values())
    assert clean.score("SAFE") == pytest.approx(evaluated[0].score("SAFE")) and clean.pillars["SAFE"].composite == "mean"

    # tidy rows an earlier safe-bench stored: pillar 'skipped', C the mean of the metrics that ran
    with Store(tmp_path / "old.sqlite", create=True) as store:
        store.record(cell("k", result=broken))
        store._db.execute("UPDATE scores SET status = 'ok', score = ? WHERE metric = 'C'", (censoring,))
        store._db.execute("UPDATE scores SET status = 'ok', score = 0.7, reason = '' WHERE metric = 'SAFE'")
        store._db.execute("UPDATE scores SET status = 'skipped', score = NULL WHERE metric = 'P'")
        store._db.commit()
        tidy = store.results().set_index("metric")
        safe = store.scores("SAFE")
    assert tidy.loc["C", "status"] == "incomplete" and np.isnan(tidy.loc["C", "score"])
    assert tidy.loc["C", "reason"].startswith("incomplete: metric(s) failed: C.km (stored by an earlier")
    assert tidy.loc["SAFE", "status"] == "incomplete" and np.isnan(safe.loc[0, "score"])
    assert tidy.loc["P", "status"] == "not scored" and tidy.loc["S", "status"] == "ok"
