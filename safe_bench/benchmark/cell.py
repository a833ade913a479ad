"""One benchmark cell, a (dataset, generator, seed), as a unit of work
(:class:`~safe_bench.benchmark.work.Work`): what a worker needs to run it
(:class:`CellTask`), running it, and the record it leaves in the store.

A cell runs the SAFE protocol of :func:`~safe_bench.evaluation.evaluate.evaluate_generator`,
the one path ``safe-bench evaluate --generator`` runs too; any exception becomes a
``failed`` cell naming the stage it happened in and a reason that quotes no record
(:func:`safe_bench.private.describe_error`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pandas as pd

from safe_bench.benchmark.store import CellRecord
from safe_bench.benchmark.work import REASON_CHARS, WorkFailed, WorkOutcome
from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import Stages, evaluate_generator
from safe_bench.generator import Generator
from safe_bench.private import describe_error


@dataclass
class CellTask:
    """Everything a worker needs to run one cell (pickled to it): the record holding its
    keys, the real table, the generator, the rows to sample (``None``: train's size), the
    evaluation options, the timeout, the synthetic table cached by an earlier run (if
    any) and the modules its sandbox should find imported.

    It is a :class:`~safe_bench.benchmark.work.Work`: its key is the cell's, its result
    the evaluation's JSON, its attachment the synthetic table it made (``None`` when it
    evaluated the cached one)."""

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
    made: pd.DataFrame | None = field(default=None, init=False, repr=False)

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def label(self) -> str:
        return f"{self.record.dataset} x {self.record.generator} x seed {self.record.seed}"

    def execute(self, notify: Callable[[str], None]) -> str:
        """The SAFE protocol on this cell (the cached synthetic table evaluated when
        there is one), ``notify`` told each stage as it begins; the evaluation as JSON."""
        try:
            run = evaluate_generator(self.frame, self.schema, self.generator, seed=self.record.seed, n=self.n,
                                     label=self.record.generator, synthetic=self.synthetic, metrics=self.metrics,
                                     n_bootstrap=self.n_bootstrap, weights=self.weights, stages=Stages(notify))
        except Exception as exc:
            raise WorkFailed(self._reason(exc)) from None
        self.made = None if self.synthetic is not None else run.synthetic
        return run.result.to_json()

    def attachment(self) -> pd.DataFrame | None:
        """The synthetic table :meth:`execute` made (``None`` when it evaluated the cached one)."""
        return self.made

    def recorded(self, outcome: WorkOutcome) -> CellRecord:
        """The cell's record once it finished with ``outcome``."""
        return replace(self.record, status=outcome.status, stage=outcome.stage, reason=outcome.reason,
                       timings=dict(outcome.timings), result_json=outcome.result)

    def _reason(self, exc: Exception) -> str:
        """Why the cell failed, as stored (:func:`safe_bench.private.describe_error`)."""
        return describe_error(exc, name=f"cell-{self.record.generator}-seed{self.record.seed}")[:REASON_CHARS]
