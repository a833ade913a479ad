"""The metrics of one evaluation over two processes: the same results as one process,
byte for byte, on a real cohort large enough to be shared out; a child that dies costs
time, not results; the schedule deals units longest first."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from safe_bench import evaluate
from safe_bench.evaluation import parallel
from safe_bench.metrics.registry import METRICS

#: Metrics of each unit the schedule knows, fast enough for a test.
CHOSEN = ["S.ks", "S.tv", "S.detect", "S.prdc", "C.km", "C.logrank", "P.exact", "P.dcr_share", "P.nndr"]


#: Run in a fresh interpreter: a test process may hold threads other tests left running,
#: under which no fork is made (see parallel.can_fork), and that must not make these
#: tests pass without forking.
SCRIPT = """
import os, sys
from safe_bench import evaluate, load_dataset, load_generator, split
from safe_bench.evaluation import parallel
ds = load_dataset("flchain")
parts = split(ds.frame, ds.schema, seed=0)
gen = load_generator("gaussian_copula")
gen.fit(parts.train, ds.schema, seed=0)
synthetic = gen.sample(len(parts.train), seed=0)
assert len(parts.train) + len(synthetic) + len(parts.holdout) >= parallel.PARALLEL_ROWS
forked = []
Process = parallel.multiprocessing.get_context("fork").Process
start = Process.start
Process.start = lambda self: (forked.append(self), start(self))[1]
def run(jobs):
    return evaluate(parts.train, synthetic, parts.holdout, ds.schema, seed=3, n_bootstrap=20,
                    metrics=sys.argv[1].split(","), jobs=jobs).to_json()
assert parallel.can_fork()
two = run(2)
assert len(forked) == 1, forked  # the parent ran one group, a child the other
assert two == run(1), "two processes changed the result"
parallel._child = lambda specs, data, conn: os._exit(3)  # a child that dies
assert run(2) == two and len(forked) == 2, "a dead child changed the result"
print("ok")
"""


def test_two_processes_give_the_bytes_of_one_and_survive_a_dead_child():
    done = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(CHOSEN)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


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
    # at 10k: S.detect (3.07) and P (3.04) first, C (1.79) to P's group (4.83), S.prdc
    # (1.17) to S.detect's (4.24), S (0.80) to the lighter one, S.detect's (5.04)
    groups = parallel.schedule(specs, 2)
    assert [sorted(s.id for s in g) for g in groups] == [
        ["S.detect", "S.ks", "S.prdc", "S.tv"], ["C.km", "C.logrank", "P.dcr_share", "P.exact", "P.nndr"]]
    # at 100k the neighbour searches outgrow the rest: P (19.3) against C (12.6), S (3.72)
    # and S.detect (3.25), 19.57 in all; S.prdc (1.90) then goes to P's
    groups = parallel.schedule(specs, 2, rows=100_000)
    assert [sorted(s.id for s in g) for g in groups] == [
        ["P.dcr_share", "P.exact", "P.nndr", "S.prdc"], ["C.km", "C.logrank", "S.detect", "S.ks", "S.tv"]]
    (alone,) = parallel.schedule(specs, 1)
    assert sorted(s.id for s in alone) == sorted(CHOSEN)
    assert [[s.id for s in u] for u in parallel.units(specs)][:3] == [["S.ks", "S.tv"], ["S.detect"], ["S.prdc"]]
    # metrics that share no cached work with their pillar are units of their own
    more = [METRICS[m] for m in ("C.km", "C.tstr", "C.cox", "P.mia", "P.singling_out", "P.dcr_share")]
    assert [[s.id for s in u] for u in parallel.units(more)] == [
        ["C.km", "C.cox"], ["C.tstr"], ["P.mia"], ["P.singling_out"], ["P.dcr_share"]]


def test_a_units_cost_is_the_power_law_through_its_two_measured_costs():
    unit = [METRICS["P.exact"]]
    at_10k, at_100k = parallel.COSTS["P"]
    assert parallel.cost(unit, 10_000) == pytest.approx(at_10k)
    assert parallel.cost(unit, 100_000) == pytest.approx(at_100k)
    assert parallel.cost(unit, 31_623) == pytest.approx(np.sqrt(at_10k * at_100k), rel=1e-4)  # halfway in log
    assert parallel.cost(unit, 1_000_000) == pytest.approx(at_100k**2 / at_10k)
