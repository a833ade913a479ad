"""From per-column statistics to one S measurement.

The S metrics compute one statistic per column (pair, triple), each with its bootstrap
replicates; the measurement is their mean over columns (:func:`measure_mean`), or, for a
distance, the mean over columns of each distance judged against its 95th percentile
between two real samples of the same sizes (:func:`judge_against_sampling`,
:func:`against_sampling`; :func:`tv_null` gives that percentile for a total variation
distance). The typed pieces the per-column details share are here too: a column left
out (:class:`Skipped`) and a count per table (:class:`PerTable`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped
from safe_bench.metrics.fidelity.counts import Replicated
from safe_bench.metrics.stored import Stored


@dataclass(frozen=True)
class Skipped:
    """A column (pair) left out of a metric, and why."""

    skipped: str

    @classmethod
    def all_missing(cls, table: str) -> Skipped:
        return cls(f"all values missing in {table}")

    def to_dict(self) -> dict[str, str]:
        return {"skipped": self.skipped}

    @classmethod
    def read(cls, stored: Stored) -> Skipped:
        return cls(stored.text("skipped"))


@dataclass(frozen=True)
class PerTable:
    """A count in train and in the table under test (e.g. missing values left out)."""

    train: int
    synthetic: int

    def to_dict(self) -> dict[str, int]:
        return {"train": self.train, "synthetic": self.synthetic}

    @classmethod
    def read(cls, stored: Stored) -> PerTable:
        return cls(stored.whole("train"), stored.whole("synthetic"))


def _replicated(values: dict[str, Replicated], what: str) -> Replicated:
    """The metric's estimate and replicates: the mean over its columns (or pairs),
    held in 0..1 (every S score lies there; ``1 - TVD`` can round to -2e-16)."""
    if not values:
        raise MetricSkipped(f"no {what} could be compared")
    return np.clip(np.mean(list(values.values()), axis=0), 0.0, 1.0)


def measure_mean(values: dict[str, Replicated], what: str, details: dict, value: Callable[[float], float]) -> Measurement:
    table = _replicated(values, what)
    return bootstrapped(value(float(table[0])), float(table[0]), table[1:], details)


@dataclass(frozen=True)
class Judged:
    """Distances judged against real sampling: the mean distance (``value``), each
    column's score, and the mean score with its replicates (``table``)."""

    value: float
    scores: dict[str, float]
    table: Replicated

    def measurement(self, details: dict[str, object]) -> Measurement:
        return bootstrapped(self.value, float(self.table[0]), self.table[1:], details)


def judge_against_sampling(complements: dict[str, Replicated], thresholds: dict[str, float], what: str) -> Judged:
    """Per column ``1 - distance`` (estimate and replicates) and the distance's 95th
    percentile between two real samples of these sizes: the value is the mean distance
    (as SDMetrics reports its complement), the score the mean over columns of each
    distance judged against real sampling (:func:`~safe_bench.evaluation.uncertainty.within_sampling`)."""
    raw = _replicated(complements, what)
    scores = {c: within_sampling(1.0 - v, thresholds[c], maximum=1.0) for c, v in complements.items()}
    return Judged(1.0 - float(raw[0]), {c: s[0] for c, s in scores.items()}, _replicated(scores, what))


C = TypeVar("C")


def with_scores(
    entries: Mapping[str, Skipped | Callable[[float, float], C]], judged: Judged, thresholds: Mapping[str, float]
) -> dict[str, C | Skipped]:
    """Typed per-column details in column order: a column left out as it is, a judged
    one completed with its score and its real-vs-real 95th percentile."""
    return {c: e if isinstance(e, Skipped) else e(judged.scores[c], thresholds[c]) for c, e in entries.items()}


def against_sampling(
    complements: dict[str, Replicated], thresholds: dict[str, float], what: str, details: dict[str, dict],
    key: str = "columns", **extra: object,
) -> Measurement:
    """:func:`judge_against_sampling` with untyped per-column details: each judged
    column's gets its ``score`` and ``real_vs_real_q95``; they are listed under ``key``."""
    judged = judge_against_sampling(complements, thresholds, what)
    for col, score in judged.scores.items():
        details[col].update(score=score, real_vs_real_q95=thresholds[col])
    return judged.measurement({key: details, **extra})


#: Draws of the parametric null of S.tv (multinomial samples from train's shares).
TV_NULL_DRAWS = 200


def tv_null(shares: np.ndarray, n: int, m: int, rng: np.random.Generator) -> float:
    """The 95th percentile of the total variation distance between two multinomial
    samples of ``n`` and ``m`` rows from the same ``shares`` (a parametric bootstrap null)."""
    a = rng.multinomial(n, shares, size=TV_NULL_DRAWS) / n
    b = rng.multinomial(m, shares, size=TV_NULL_DRAWS) / m
    return float(np.quantile(0.5 * np.abs(a - b).sum(axis=1), 0.95))
