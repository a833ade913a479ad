"""One benchmark cell, a (dataset, generator, seed): what a worker needs to run it
(:class:`CellTask`), what it gives back (:class:`CellOutcome`), and running it in this
process (:func:`execute`).

A cell runs the SAFE protocol of :func:`~safe_bench.evaluation.evaluate.evaluate_generator`,
the one path ``safe-bench evaluate --generator`` runs too; any exception becomes a
``failed`` outcome naming the stage it happened in and a reason that quotes no record
(:func:`safe_bench.private.describe_error`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import pandas as pd

from safe_bench.benchmark.store import CellRecord
from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import Stages, evaluate_generator
from safe_bench.generator import Generator
from safe_bench.private import describe_error

#: Characters of a failure's reason that are stored.
_REASON_CHARS = 500


@dataclass
class CellTask:
    """Everything a worker needs to run one cell (pickled to it): the record holding its
    keys, the real table, the generator, the rows to sample (``None``: train's size), the
    evaluation options, the timeout, the synthetic table cached by an earlier run (if
    any) and the modules its sandbox should find imported."""

    record: CellRecord
    frame: pd.DataFrame
    schema: Schema
    generator: Generator
    n: int | None
    metrics: tuple[str, ...] | None
    n_bootstrap: int
    weights: Mapping[str, float] | None
    timeout: float
    synthetic: pd.DataFrame | None = None
    preload: tuple[str, ...] = ()


@dataclass
class CellOutcome:
    """A finished cell: its record (status, stage, reason, timings, the evaluation as JSON)
    and the synthetic table it made (None when it failed or reused a cached one)."""

    record: CellRecord
    synthetic: pd.DataFrame | None = None

    @classmethod
    def of(cls, task: CellTask, status: str, *, stage: str = "", reason: str = "",
           timings: Mapping[str, float] | None = None, result_json: str | None = None,
           synthetic: pd.DataFrame | None = None) -> CellOutcome:
        """The outcome of ``task`` with ``status`` (``ok``, ``failed`` or ``timeout``)."""
        record = replace(task.record, status=status, stage=stage, reason=reason, timings=dict(timings or {}),
                         result_json=result_json)
        return cls(record, synthetic)


def execute(task: CellTask, notify: Callable[[str], None]) -> CellOutcome:
    """The SAFE protocol on one cell (the cached synthetic table evaluated when there is
    one), ``notify`` told each stage as it begins; any exception becomes a failed
    outcome naming the stage it happened in."""
    stages = Stages(notify)
    try:
        run = evaluate_generator(task.frame, task.schema, task.generator, seed=task.record.seed, n=task.n,
                                 label=task.record.generator, synthetic=task.synthetic, metrics=task.metrics,
                                 n_bootstrap=task.n_bootstrap, weights=task.weights, stages=stages)
    except Exception as exc:
        return CellOutcome.of(task, "failed", stage=stages.current or "", reason=_reason(exc, task),
                              timings=stages.seconds)
    fresh = None if task.synthetic is not None else run.synthetic
    return CellOutcome.of(task, "ok", timings=stages.seconds, result_json=run.result.to_json(), synthetic=fresh)


def _reason(exc: Exception, task: CellTask) -> str:
    """Why a cell failed, as stored (:func:`safe_bench.private.describe_error`)."""
    return describe_error(exc, name=f"cell-{task.record.generator}-seed{task.record.seed}")[:_REASON_CHARS]
