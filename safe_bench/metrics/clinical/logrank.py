"""C.logrank: per group variable, the log-rank test on train and on the table under test.

Two tests agree when both are significant (p < 0.05) with the same ordering of the
groups, or when neither is. Levels are ordered by observed / expected events (best
prognosis first); "the same ordering" means that the level doing best on train does
better on the table than the level doing worst on train: the direction for two levels,
and for more (e.g. ten deciles, whose neighbours differ by chance) the contrast a
clinician reads. The table's test is judged at train's size
(:func:`~safe_bench.metrics.clinical.cohort.size_factor`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.errors import MetricSkipped
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    ALPHA,
    Group,
    cached,
    event_times,
    frame_key,
    groups,
    groups_source,
    require_events,
    size_factor,
    weights_of,
)
from safe_bench.survival import LogRank


def logrank_on(
    cmp: Comparison, role: str, codes: np.ndarray, n_levels: int, weights: np.ndarray | None = None
) -> LogRank | None:
    """The log-rank test across ``n_levels`` levels of table ``role`` (``codes`` -1: left
    out), or None when a level has fewer than 2 rows there (the table lost it)."""
    w = np.ones(len(codes)) if weights is None else weights
    inside = codes >= 0
    rows = np.bincount(codes[inside], weights=w[inside], minlength=n_levels)
    if (rows < 2).any():
        return None
    return event_times(cmp, role).logrank(codes, n_levels, w)


def group_codes(cmp: Comparison, role: str, group: Group) -> np.ndarray:
    return cached(cmp, ("group_codes", group.column, frame_key(cmp, role)), lambda: group.codes(cmp.table(role)))


def group_test(cmp: Comparison, role: str, group: Group, weights: np.ndarray | None = None) -> LogRank | None:
    """The log-rank test across a group variable's levels in table ``role``."""
    codes = group_codes(cmp, role, group)
    if weights is not None:
        return logrank_on(cmp, role, codes, len(group.levels), weights)
    key = ("group_test", group.column, frame_key(cmp, role))
    return cached(cmp, key, lambda: logrank_on(cmp, role, codes, len(group.levels)))


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

    return cached(cmp, ("table_tests", frame_key(cmp, "synthetic")), build)


def train_test(cmp: Comparison, group: Group) -> LogRank:
    """The log-rank test on train (every kept level has enough train rows)."""
    test = group_test(cmp, "train", group)
    assert test is not None
    return test


def ordering(test: LogRank, labels: list[str]) -> list[str]:
    """Levels from best to worst prognosis (ascending observed / expected events)."""
    return [labels[i] for i in np.argsort(test.ratio, kind="stable")]


def agree(train: LogRank, table: LogRank | None, factor: float = 1.0, alpha: float = ALPHA) -> bool:
    """Both significant with train's best level doing better than its worst, or neither; the
    table's test is taken at ``factor`` times its size (train's size)."""
    if table is None:
        return False
    table = table.at_size(factor)
    significant = train.p_value < alpha
    if significant != (table.p_value < alpha):
        return False
    if not significant:
        return True
    order = np.argsort(train.ratio, kind="stable")
    best, worst = order[0], order[-1]
    return bool(table.ratio[best] < table.ratio[worst])


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
        "observed": dict(zip(labels, test.observed)),
        "expected": dict(zip(labels, test.expected)),
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
    train and on the table under test: they agree when both are significant (alpha 0.05)
    with the same ordering of groups, or when neither is (the table's test judged at
    train's size: its statistic times |train| / |table|). Score: share agreeing.
    Interval: bootstrap over rows of the table under test."""
    require_events(cmp, "train", "a log-rank test")
    require_events(cmp, "synthetic", "a log-rank test")
    kept, notes = usable_groups(cmp)
    train_tests = [train_test(cmp, g) for g in kept]
    factor = size_factor(cmp)
    agreement = np.array([[agree(t, y, factor) for t, y in zip(train_tests, tests)] for tests in table_tests(cmp)])
    point, reps = agreement[0], agreement[1:].mean(axis=1)
    details: dict[str, Any] = {"alpha": ALPHA, "size_factor": factor, "groups_source": groups_source(cmp.schema), "groups": {}}
    for group, on_train, agreed in zip(kept, train_tests, point):
        details["groups"][group.column] = {
            "train": describe_test(on_train, group.labels),
            "table": describe_test(group_test(cmp, "synthetic", group), group.labels, factor),
            "agree": bool(agreed),
        }
    if notes:
        details["left_out"] = notes
    score = float(np.mean(point))
    return bootstrapped(score, score, reps, details)
