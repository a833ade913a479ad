"""C.censoring: the share of censored patients and the follow-up distribution.

The follow-up distribution is the reverse Kaplan-Meier curve (censoring as the event,
the event as censoring: Schemper & Smith, Control Clin Trials 1996), the standard
summary of how long patients were followed. A table whose times are stretched or
compressed keeps its censoring rate, its log-rank tests and its hazard ratios, and on a
heavily censored cohort even its survival curve stays near train's; its follow-up
does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import proportion_threshold, within_sampling
from safe_bench.metrics.base import Evidence, Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    frame_key,
    real_vs_real,
    tau,
    weights_of,
)
from safe_bench.metrics.clinical.estimators import EventTimes, Horizon


def _follow_up(cmp: Comparison, role: str) -> EventTimes:
    """Table ``role``'s censoring times as events (the reverse Kaplan-Meier's input)."""
    surv = cmp.schema.survival
    assert surv is not None
    frame = cmp.table(role)
    return cmp.cached(("follow_up", frame_key(cmp, role)),
                  lambda: EventTimes.of(frame[surv.time].to_numpy(), 1 - frame[surv.event].to_numpy()))


@metric("C.censoring", pillar="C", name="Censoring and follow-up agreement", requires=("survival",),
        reference_details=True, evidence=Evidence(events=0))  # a censoring rate needs no event
def censoring_agreement(cmp: Comparison) -> Measurement:
    """Censoring rate and follow-up (reverse Kaplan-Meier curve on [0, tau]) of train
    and of the table under test. The rate's difference is scored against its standard
    error for two real samples of these sizes (score 1 within 1.96 standard errors,
    ``1.96 se / |difference|`` beyond); the follow-up curves' integrated absolute
    difference over tau against the 95th percentile of the same distance between two
    real samples (bootstrap samples of train). Score: the lower of the two (a table must
    keep both how many patients were censored and when). Value: the
    censoring rate's absolute difference. Interval: bootstrap over rows of the table."""
    train, table = _follow_up(cmp, "train"), _follow_up(cmp, "synthetic")
    n_train, n_table = len(train), len(table)
    train_rate = float(train.event.mean())
    rate_threshold = proportion_threshold(train_rate, n_train, n_table)
    horizon = Horizon.of(tau(cmp), train, table)
    train_curve = train.survival_at(train.positions(horizon.starts))
    table_positions, train_positions = table.positions(horizon.starts), train.positions(horizon.starts)

    def gap(curve: np.ndarray, reference: np.ndarray = train_curve) -> float:
        return float(horizon.area(np.abs(curve - reference)) / horizon.tau)

    def null(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # a pair of real samples per column
        return np.array([gap(train.survival_at(train_positions, w_a), train.survival_at(train_positions, w_b))
                         for w_a, w_b in zip(np.asarray(a.T, dtype=float), np.asarray(b.T, dtype=float), strict=True)])

    threshold = real_vs_real(cmp, null)

    def score(weights: np.ndarray) -> tuple[float, float, float]:
        rate = float(weights @ table.event / weights.sum())
        follow = gap(table.survival_at(table_positions, weights))
        return rate, follow, float(min(within_sampling(abs(rate - train_rate), rate_threshold),
                                        within_sampling(follow, threshold)))

    rate, follow, point = score(np.ones(n_table))
    reps = np.array([score(weights_of(idx, n_table))[2] for idx in cmp.resamples(n_table)])
    details: dict[str, Any] = {
        "train_rate": train_rate, "table_rate": rate, "rate_real_vs_real_q95": rate_threshold,
        "follow_up_iad": follow, "follow_up_real_vs_real_q95": float(threshold), "tau": horizon.tau,
    }
    return bootstrapped(abs(rate - train_rate), point, reps, details)
