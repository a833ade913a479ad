"""C.score: a declared prognostic score's risk groups on train and on the table under test."""

from __future__ import annotations

from typing import Any

import numpy as np

from safe_bench.data.prognostic import PrognosticScore
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    MIN_GROUP_ROWS,
    curve_details,
    curve_grid,
    curve_of,
    frame_key,
    require_events,
    size_factor,
    weights_of,
)
from safe_bench.metrics.clinical.estimators import LogRank
from safe_bench.metrics.clinical.logrank import agreement, describe_test, logrank_on


def risk_codes(cmp: Comparison, role: str, score: PrognosticScore) -> np.ndarray:
    """Each row's risk group (0.., -1 where the score is missing), once per table."""
    return cmp.cached(("risk_codes", score.name, frame_key(cmp, role)), lambda: score.group_codes(cmp.table(role)))


def _shares(codes: np.ndarray, n_groups: int, weights: np.ndarray) -> np.ndarray:
    inside = codes >= 0
    counts = np.bincount(codes[inside], weights=weights[inside], minlength=n_groups)
    total = counts.sum()
    return counts / total if total > 0 else counts


class _ScoreCheck:
    """One score: train's risk-group shares and log-rank test, ready for the table's."""

    def __init__(self, cmp: Comparison, score: PrognosticScore):
        self.cmp, self.score = cmp, score
        self.n_groups = len(score.labels)
        train_codes = risk_codes(cmp, "train", score)
        self.train_shares = _shares(train_codes, self.n_groups, np.ones(len(train_codes)))
        counts = np.bincount(train_codes[train_codes >= 0], minlength=self.n_groups)
        # Risk groups with too few train rows take no part in the log-rank test.
        self.tested = np.flatnonzero(counts >= MIN_GROUP_ROWS)
        self.left_out = [
            f"{score.labels[g]}: {counts[g]} train row(s), fewer than {MIN_GROUP_ROWS}"
            for g in range(self.n_groups)
            if counts[g] < MIN_GROUP_ROWS
        ]
        self.missing = float(np.mean(train_codes < 0))
        if len(self.tested) < 2:
            raise MetricSkipped(f"score {score.name}: fewer than 2 risk groups with {MIN_GROUP_ROWS} or more train rows")
        self.train_test = self.test("train")
        self.table_codes = risk_codes(cmp, "synthetic", score)

    @property
    def labels(self) -> list[str]:
        return [self.score.labels[g] for g in self.tested]

    def test(self, role: str, weights: np.ndarray | None = None) -> LogRank | None:
        codes = risk_codes(self.cmp, role, self.score)
        # Tested groups renumbered 0..; the others, and missing scores (code -1, which
        # reads the last slot), are left out.
        remap = np.full(self.n_groups + 1, -1)
        remap[self.tested] = np.arange(len(self.tested))
        return logrank_on(self.cmp, role, remap[codes], len(self.tested), weights,
                          name=("risk groups", self.score.name, tuple(self.tested)))

    def parts(self, weights: np.ndarray | None) -> tuple[float, float]:
        """(1 - TVD of the risk-group distribution, log-rank agreement) for the table."""
        w = np.ones(len(self.table_codes)) if weights is None else weights
        tvd = 0.5 * float(np.abs(_shares(self.table_codes, self.n_groups, w) - self.train_shares).sum())
        train_test = self.train_test
        assert train_test is not None
        return 1.0 - tvd, agreement(train_test, self.test("synthetic", weights), size_factor(self.cmp))

    def describe(self) -> dict[str, Any]:
        cmp, score = self.cmp, self.score
        similarity, agreed = self.parts(None)
        table_shares = _shares(self.table_codes, self.n_groups, np.ones(len(self.table_codes)))
        curves: dict[str, Any] = {}
        for g in self.tested:
            label = score.labels[g]
            curves[label] = {"table": curve_details(curve_of(cmp, "synthetic", self.table_codes == g))}
            if not cmp.is_reference:
                curves[label]["train"] = curve_details(curve_of(cmp, "train", risk_codes(cmp, "train", score) == g))
        out: dict[str, Any] = {
            "expression": score.expression,
            "cuts": list(score.cuts),
            "labels": list(score.labels),
            "distribution": {
                label: {"train": t, "table": y}
                for label, t, y in zip(score.labels, self.train_shares, table_shares, strict=True)
            },
            "tvd": 1.0 - similarity,
            "missing": {"train": self.missing, "table": float(np.mean(self.table_codes < 0))},
            "logrank": {
                "train": describe_test(self.train_test, self.labels),
                "table": describe_test(self.test("synthetic"), self.labels, size_factor(cmp)),
                "agree": agreed,
            },
            "grid": curve_grid(cmp),
            "curves": curves,
        }
        if self.left_out:
            out["left_out"] = self.left_out
        return out


@metric("C.score", pillar="C", name="Prognostic score agreement", requires=("survival",), reference_details=True)
def score_agreement(cmp: Comparison) -> Measurement:
    """Each prognostic score declared in the schema (an expression cut into risk groups,
    e.g. the Nottingham Prognostic Index) on train and on the table under test: the
    risk-group distribution (1 - total variation distance) and the separation of the
    groups' survival (log-rank effect agreement, as C.logrank). Score: the mean of the two,
    averaged over the scores. Interval: bootstrap over rows of the table."""
    if not cmp.schema.scores:
        raise MetricSkipped("no prognostic score declared: add a [scores] section to the schema")
    require_events(cmp, "train", "comparing risk groups")
    require_events(cmp, "synthetic", "comparing risk groups")
    checks = [_ScoreCheck(cmp, score) for score in cmp.schema.scores]
    n = len(cmp.synthetic)

    def value(weights: np.ndarray | None) -> float:
        return float(np.mean([np.mean(check.parts(weights)) for check in checks]))

    reps = np.array([value(weights_of(idx, n)) for idx in cmp.resamples(n)])
    score = value(None)
    details = {"scores": {check.score.name: check.describe() for check in checks}}
    return bootstrapped(score, score, reps, details)
