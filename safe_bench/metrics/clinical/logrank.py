"""C.logrank: per group variable, the log-rank test on train and on the table under test.

Two tests are compared by their effect sizes, not only by "both significant / both
not": each level's observed / expected events (O/E, the level's hazard relative to the
pooled one; its log is the per-group log hazard ratio of the log-rank test, Peto &
Peto 1972) on train against the table. The distance is the chi-square of the
differences of log O/E, each over its variance for two real samples of train's and the
table's sizes (``var log O ~ 1/O``, Poisson): ``sqrt(sum_k (log r_Yk - log r_Tk)^2 /
((1/O_Tk) (1 + |train| / |table|)))`` (0.5 added to O and E), judged against the 95th
percentile of that chi-square's root with K - 1 degrees of freedom
(:func:`~safe_bench.evaluation.uncertainty.within_sampling`). A table agrees with a
non-significant train only when its groups are also alike, and with a significant
one only when its groups differ as much. A significant train difference whose best and
worst levels swap places on the table is *reversed* and scores 0.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from scipy import stats

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    ALPHA,
    Group,
    event_times,
    frame_key,
    groups,
    groups_source,
    require_events,
    size_factor,
    weights_of,
)
from safe_bench.metrics.clinical.estimators import LogRank


def logrank_on(
    cmp: Comparison, role: str, codes: np.ndarray, n_levels: int, weights: np.ndarray | None = None, *,
    name: Hashable,
) -> LogRank | None:
    """The log-rank test across ``n_levels`` levels of table ``role`` (``codes`` -1: left
    out), or None when a level has fewer than 2 rows there (the table lost it). ``name``
    names the codes, so that their cells are found once for every replicate."""
    members = codes >= 0
    rows = np.bincount(codes[members], weights=None if weights is None else weights[members], minlength=n_levels)
    if (rows < 2).any():
        return None
    slots = cmp.cached(("level_slots", frame_key(cmp, role), name), lambda: event_times(cmp, role).level_slots(codes, n_levels))
    return slots.logrank(weights)


def group_codes(cmp: Comparison, role: str, group: Group) -> np.ndarray:
    return cmp.cached(("group_codes", group.column, frame_key(cmp, role)), lambda: group.codes(cmp.table(role)))


def group_test(cmp: Comparison, role: str, group: Group, weights: np.ndarray | None = None) -> LogRank | None:
    """The log-rank test across a group variable's levels in table ``role``."""
    codes = group_codes(cmp, role, group)
    if weights is not None:
        return logrank_on(cmp, role, codes, len(group.levels), weights, name=group.column)
    key = ("group_test", group.column, frame_key(cmp, role))
    return cmp.cached(key, lambda: logrank_on(cmp, role, codes, len(group.levels), name=group.column))


def table_tests(cmp: Comparison) -> list[list[LogRank | None]]:
    """The table's test of every group variable: first on the table itself, then on each
    bootstrap replicate (the evaluation's resamples); computed once per table."""
    kept = groups(cmp)[0]
    n = len(cmp.synthetic)

    def build() -> list[list[LogRank | None]]:
        out = [[group_test(cmp, "synthetic", g) for g in kept]]
        for idx in cmp.resamples(n):
            weights = weights_of(idx, n)
            out.append([group_test(cmp, "synthetic", g, weights) for g in kept])
        return out

    return cmp.cached(("table_tests", frame_key(cmp, "synthetic")), build)


def train_test(cmp: Comparison, group: Group) -> LogRank:
    """The log-rank test on train (every kept level has enough train rows)."""
    test = group_test(cmp, "train", group)
    assert test is not None
    return test


def ordering(test: LogRank, labels: list[str]) -> list[str]:
    """Levels from best to worst prognosis (ascending observed / expected events)."""
    return [labels[i] for i in np.argsort(test.ratio, kind="stable")]


def _log_ratio(test: LogRank) -> np.ndarray:
    return np.log((test.observed + 0.5) / (test.expected + 0.5))


def effect_distance(train: LogRank, table: LogRank, factor: float = 1.0) -> tuple[float, float]:
    """(distance, its real-vs-real 95th percentile) between two tests' per-level log O/E;
    ``factor`` is |train| / |table| (see the module docstring)."""
    variance = (1.0 + factor) / (train.observed + 0.5)
    distance = float(np.sqrt(np.sum((_log_ratio(table) - _log_ratio(train)) ** 2 / variance)))
    return distance, float(np.sqrt(stats.chi2.ppf(0.95, max(len(train.observed) - 1, 1))))


def reversed_order(train: LogRank, table: LogRank, alpha: float = ALPHA) -> bool:
    """A significant train difference whose best level does worse on the table than its worst."""
    if train.p_value >= alpha:
        return False
    order = np.argsort(train.ratio, kind="stable")
    return bool(table.ratio[order[0]] > table.ratio[order[-1]])


def agreement(train: LogRank, table: LogRank | None, factor: float = 1.0, alpha: float = ALPHA) -> float:
    """0..1: the effect distance scored against real sampling; 0 for a reversed
    difference or a table that lost a level."""
    if table is None or reversed_order(train, table, alpha):
        return 0.0
    return float(within_sampling(*effect_distance(train, table, factor)))


def describe_test(test: LogRank | None, labels: list[str], factor: float = 1.0) -> dict[str, Any]:
    """A log-rank test for details: statistic, p-value (and at train's size), ordering,
    observed and expected events per level."""
    if test is None:
        return {"note": "a level has fewer than 2 rows: the test cannot be made"}
    return {
        "statistic": test.statistic,
        "p": test.p_value,
        **({"p_at_train_size": test.at_size(factor).p_value} if factor != 1.0 else {}),
        "df": test.df,
        "order": ordering(test, labels),
        "observed": dict(zip(labels, test.observed, strict=True)),
        "expected": dict(zip(labels, test.expected, strict=True)),
    }


def usable_groups(cmp: Comparison) -> tuple[list[Group], list[str]]:
    """The group variables, or skip when none can be tested."""
    kept, notes = groups(cmp)
    if not kept:
        why = "; ".join(notes) or "the schema has no group variable and no categorical covariate"
        raise MetricSkipped(f"no group variable to test: {why}")
    return kept, notes


@metric("C.logrank", pillar="C", name="Log-rank agreement", requires=("survival",), reference_details=True)
def logrank_agreement(cmp: Comparison) -> Measurement:
    """Per group variable (declared, or every categorical covariate), the log-rank test on
    train and on the table under test, compared by effect size: the distance between
    their per-level log O/E, scored against what two real samples of these sizes give
    (module docstring); a reversed significant difference scores 0. Value: the share of
    group variables within real sampling. Score: the mean over group variables.
    Interval: bootstrap over rows of the table under test."""
    require_events(cmp, "train", "a log-rank test")
    require_events(cmp, "synthetic", "a log-rank test")
    kept, notes = usable_groups(cmp)
    train_tests = [train_test(cmp, g) for g in kept]
    factor = size_factor(cmp)
    scores = np.array([[agreement(t, y, factor) for t, y in zip(train_tests, tests, strict=True)] for tests in table_tests(cmp)])
    point, reps = scores[0], scores[1:].mean(axis=1)
    details: dict[str, Any] = {"alpha": ALPHA, "size_factor": factor, "groups_source": groups_source(cmp.schema), "groups": {}}
    for group, on_train, agreed in zip(kept, train_tests, point, strict=True):
        on_table = group_test(cmp, "synthetic", group)
        details["groups"][group.column] = {
            "train": describe_test(on_train, group.labels),
            "table": describe_test(on_table, group.labels, factor),
            "score": agreed,
            **({} if on_table is None else {"effect_distance": effect_distance(on_train, on_table, factor)[0],
                                            "reversed": reversed_order(on_train, on_table)}),
        }
    if notes:
        details["left_out"] = notes
    return bootstrapped(float(np.mean(point == 1.0)), float(np.mean(point)), reps, details)
