"""The metrics of one evaluation over several cores, in forked processes.

Metrics that share cached work stay together (:func:`units`: the S metrics on the shared
count matrix, the C metrics on the shared strata and Cox fits, the P metrics on the
shared neighbour searches; S.detect, S.prdc, C.tstr, P.mia and P.singling_out each
alone: P.mia's four searches are its own), and
the units are dealt to the processes longest first (Graham's LPT rule, Graham 1969) by
their cost at the tables' size (:func:`cost`: measured at 10,000 and 100,000 rows, a
power law between and beyond; the units do not grow alike: S.detect is capped, the
neighbour searches of P grow fastest). The parent runs the first group itself while
forked children run the others, every process single-threaded (a parent with two BLAS
threads beside a child competes with it for the cores): a child inherits the tables and
the evaluation's cache without copying or importing anything, and sends back its metric
results. Every metric draws its random numbers from streams named by purpose
(:func:`~safe_bench.evaluation.uncertainty.stream`), so the results are those of one
process, byte for byte.

Processes, not threads: BLAS, OpenMP and torch threads collapse under load on a shared
machine. A fork is made only when it is safe (no other thread is running, and BLAS and
OpenMP are limited to one thread around it, so that the child inherits no thread pool);
otherwise, for tables under :data:`PARALLEL_ROWS` rows, or when a child fails, the metrics
run in the parent, one after the other.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection

import numpy as np
from threadpoolctl import threadpool_limits

from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.metrics.registry import Metric, MetricResult, run_metric

#: Below this many rows (train and synthetic together) the metrics run in one process:
#: a fork costs more than it saves.
PARALLEL_ROWS = 10_000
#: Seconds of each unit of metrics, single-threaded, at 10,000 and at 100,000 rows of
#: FLCHAIN-like tables (benchmarks/tables.py; each unit alone in a fresh process after a
#: warm-up, 6 Dec 2026, after the Cox, neighbour-search and singling-out changes of that
#: day; P, P.mia and P.singling_out at 100k were measured while the machine ran about
#: 35 % slower, and are scaled to the others' time by the whole P pillar's two timings),
#: for the schedule only; a unit not listed costs :data:`DEFAULT_COST`.
COSTS = {"S.detect": (3.07, 3.25), "S.prdc": (1.17, 1.90), "S": (0.80, 3.72), "C": (1.79, 12.6),
         "C.tstr": (0.93, 2.41), "P": (3.04, 19.3), "P.mia": (1.58, 5.4), "P.singling_out": (1.31, 4.8)}
DEFAULT_COST = (0.5, 5.0)
#: Metrics that share no cached work with the others of their pillar: a unit each.
ALONE = ("S.detect", "S.prdc", "C.tstr", "P.mia", "P.singling_out")

Progress = Callable[[str, int, int], None]


def units(chosen: Sequence[Metric]) -> list[list[Metric]]:
    """The metrics in units that share cached work: one per pillar, and one per metric
    of :data:`ALONE`, in the order the metrics come."""
    grouped: dict[str, list[Metric]] = {}
    for spec in chosen:
        grouped.setdefault(spec.id if spec.id in ALONE else spec.pillar, []).append(spec)
    return list(grouped.values())


def cost(unit: Sequence[Metric], rows: int) -> float:
    """Expected seconds of ``unit`` on tables of ``rows`` rows: the power law through its
    two measured costs (:data:`COSTS`)."""
    at_10k, at_100k = COSTS.get(unit[0].id if unit[0].id in ALONE else unit[0].pillar, DEFAULT_COST)
    return float(at_10k * (max(rows, 1) / 10_000) ** np.log10(at_100k / at_10k))


def schedule(chosen: Sequence[Metric], processes: int, rows: int = 10_000) -> list[list[Metric]]:
    """The metrics dealt to ``processes`` groups: units longest first (by their
    :func:`cost` at ``rows`` rows), each to the group with the least work so far
    (Graham's LPT rule); empty groups dropped."""
    groups: list[list[Metric]] = [[] for _ in range(max(processes, 1))]
    loads = [0.0] * len(groups)
    for unit in sorted(units(chosen), key=lambda u: cost(u, rows), reverse=True):
        least = loads.index(min(loads))
        groups[least] += unit
        loads[least] += cost(unit, rows)
    return [g for g in groups if g]


def _child(specs: list[Metric], data: EvaluationData, conn: Connection) -> None:
    conn.send([run_metric(spec, data) for spec in specs])
    conn.close()


def can_fork() -> bool:
    """Whether a child may be forked here: the platform forks, and no other thread runs
    (a lock one holds would stay locked in the child)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def run_metrics(chosen: Sequence[Metric], data: EvaluationData, *, jobs: int = 1,
                progress: Progress | None = None) -> list[MetricResult]:
    """Every chosen metric's result, in the order chosen, over ``jobs`` processes when the
    tables have :data:`PARALLEL_ROWS` rows or more and a fork is safe (:func:`can_fork`).
    ``progress`` is told each metric the parent begins, with how many of the parent's
    are done."""
    rows = sum(len(t) for t in data.tables.values())
    parallel = jobs > 1 and rows >= PARALLEL_ROWS and can_fork()
    groups = schedule(chosen, jobs, len(data.tables["train"])) if parallel else [list(chosen)]
    context = multiprocessing.get_context("fork")
    children = []
    for group in groups[1:]:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(group, data, send), daemon=True)
        with threadpool_limits(limits=1):  # the child inherits single-threaded BLAS and OpenMP
            child.start()
        send.close()
        children.append((group, child, receive))
    results: dict[str, MetricResult] = {}
    with threadpool_limits(limits=1 if children else None):  # beside children: one thread each
        for done, spec in enumerate(groups[0]):
            if progress is not None:
                progress(spec.id, done, len(groups[0]))
            results[spec.id] = run_metric(spec, data)
    for group, child, receive in children:
        try:
            found: list[MetricResult] = receive.recv()
        except EOFError:  # the child died: its metrics run here
            found = [run_metric(spec, data) for spec in group]
        child.join()
        receive.close()
        results.update((r.id, r) for r in found)
    return [results[spec.id] for spec in chosen]
