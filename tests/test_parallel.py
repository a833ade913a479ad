"""The metrics of one evaluation over two processes: the same results as one process,
byte for byte, on a real cohort large enough to be shared out; a child that dies costs
time, not results; the schedule deals units longest first."""

from __future__ import annotations

import os

import pytest

from safe_bench import evaluate, load_dataset, load_generator, split
from safe_bench.evaluation import parallel
from safe_bench.metrics.registry import METRICS

#: Metrics of each unit the schedule knows, fast enough for a test.
CHOSEN = ["S.ks", "S.tv", "S.detect", "S.prdc", "C.km", "C.logrank", "P.exact", "P.dcr_share", "P.nndr"]


@pytest.fixture(scope="module")
def flchain_tables():
    """FLCHAIN (7,874 real patients): train and a gaussian_copula table of its size
    together pass the rows from which the metrics are shared out."""
    dataset = load_dataset("flchain")
    parts = split(dataset.frame, dataset.schema, seed=0)
    generator = load_generator("gaussian_copula")
    generator.fit(parts.train, dataset.schema, seed=0)
    synthetic = generator.sample(len(parts.train), seed=0)
    assert len(parts.train) + len(synthetic) + len(parts.holdout) >= parallel.PARALLEL_ROWS
    return parts.train, synthetic, parts.holdout, dataset.schema


def _json(tables, jobs: int) -> str:
    train, synthetic, holdout, schema = tables
    return evaluate(train, synthetic, holdout, schema, seed=3, n_bootstrap=20, metrics=CHOSEN, jobs=jobs).to_json()


def test_two_processes_give_the_bytes_of_one(flchain_tables, monkeypatch):
    forked = []
    start = parallel.multiprocessing.get_context("fork").Process.start
    monkeypatch.setattr(parallel.multiprocessing.get_context("fork").Process, "start",
                        lambda self: (forked.append(self), start(self))[1])
    assert parallel.can_fork()
    two = _json(flchain_tables, jobs=2)
    assert len(forked) == 1  # the parent ran one group, a child the other
    assert two == _json(flchain_tables, jobs=1)


def test_a_child_that_dies_costs_time_not_results(flchain_tables, monkeypatch):
    one = _json(flchain_tables, jobs=1)
    monkeypatch.setattr(parallel, "_child", lambda specs, data, conn: os._exit(3))
    assert _json(flchain_tables, jobs=2) == one


def test_small_tables_and_running_threads_stay_in_one_process(gbsg2, gbsg2_split, monkeypatch):
    import threading

    monkeypatch.setattr(parallel, "_child", lambda specs, data, conn: pytest.fail("forked"))
    evaluate(gbsg2_split.train, gbsg2_split.holdout, gbsg2_split.holdout, gbsg2.schema, n_bootstrap=10,
             metrics=["S.ks", "P.exact"], jobs=2)  # 686 rows: under PARALLEL_ROWS
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not parallel.can_fork()
    finally:
        stop.set()
        other.join()


def test_the_schedule_deals_units_longest_first():
    specs = [METRICS[m] for m in CHOSEN]
    # C (4.5) and P (3.9) first, then S.detect (2.5) to P's group, S.prdc (1.8) to C's, S (0.5) to C's
    groups = parallel.schedule(specs, 2)
    assert [sorted(s.id for s in g) for g in groups] == [
        ["C.km", "C.logrank", "S.ks", "S.prdc", "S.tv"], ["P.dcr_share", "P.exact", "P.nndr", "S.detect"]]
    (alone,) = parallel.schedule(specs, 1)
    assert sorted(s.id for s in alone) == sorted(CHOSEN)
    assert [[s.id for s in u] for u in parallel.units(specs)][:3] == [["S.ks", "S.tv"], ["S.detect"], ["S.prdc"]]
