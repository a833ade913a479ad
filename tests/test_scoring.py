"""Pillar and SAFE scores: means, weights, joint bootstrap intervals, missing pillars."""

from __future__ import annotations

import numpy as np
import pytest

from safe_bench import InputError, evaluate
from safe_bench.evaluation.scoring import combine, score_pillars
from safe_bench.metrics.registry import MetricResult


def result(id: str, pillar: str, score: float, reps=None, ci=None, reference=None, status="ok"):
    low, high = ci if ci else (None, None)
    return MetricResult(id, pillar, 1 - score, score, low, high, reference, status, replicates=reps)


def test_pillars_are_means_and_safe_is_the_weighted_geometric_mean():
    rng = np.random.default_rng(0)
    results = [
        result("S.a", "S", 0.8, rng.uniform(0.7, 0.9, 100), reference=0.9),
        result("S.b", "S", 0.6, rng.uniform(0.5, 0.7, 100), reference=0.9),
        result("C.a", "C", 0.5, ci=(0.4, 0.6), reference=0.8),
        result("P.a", "P", 1.0, reference=1.0),
        result("P.b", "P", 0.2, reference=1.0),
    ]
    pillars = score_pillars(results, weights={"S": 2, "C": 1, "P": 1})
    assert pillars["S"].score == pytest.approx(0.7)
    assert pillars["C"].score == pytest.approx(0.5)
    assert pillars["P"].score == pytest.approx(0.6)
    assert pillars["P"].worst == "P.b"
    assert pillars["SAFE"].score == pytest.approx((0.7**2 * 0.5 * 0.6) ** (1 / 4))
    assert pillars["S"].reference == pytest.approx(0.9)
    assert pillars["SAFE"].reference == pytest.approx((0.9**2 * 0.8 * 1.0) ** (1 / 4))
    for p in pillars.values():
        assert p.ci_low <= p.score <= p.ci_high
    mean = score_pillars(results, weights={"S": 2, "C": 1, "P": 1}, composite="mean")["SAFE"]
    assert mean.score == pytest.approx((2 * 0.7 + 0.5 + 0.6) / 4) and mean.composite == "mean"


def test_a_leak_cannot_be_averaged_away():
    """Copies score S and C near 1 and P near 0: a plain arithmetic mean (0.67) would
    outrank an honest table (0.63); the geometric mean and the privacy floor do not."""
    copies = [result("S.a", "S", 1.0), result("C.a", "C", 1.0), result("P.a", "P", 0.02)]
    honest = [result("S.a", "S", 0.6), result("C.a", "C", 0.4), result("P.a", "P", 0.9)]
    equal = np.full(3, 1 / 3)
    assert combine([1.0, 1.0, 0.02], equal, "mean") > combine([0.6, 0.4, 0.9], equal, "mean")
    for composite in ("geometric", "mean"):
        assert score_pillars(copies, composite=composite)["SAFE"].score < score_pillars(honest, composite=composite)["SAFE"].score
    # Above the floor the geometric mean alone keeps a weak P from being bought off.
    weak_p = [result("S.a", "S", 1.0), result("C.a", "C", 1.0), result("P.a", "P", 0.5)]
    assert score_pillars(weak_p)["SAFE"].score < score_pillars(weak_p, composite="mean")["SAFE"].score


def test_below_the_privacy_floor_safe_is_at_most_p():
    leaky = [result("S.a", "S", 1.0), result("C.a", "C", 1.0), result("P.a", "P", 0.3, ci=(0.25, 0.35))]
    safe = score_pillars(leaky)["SAFE"]
    assert safe.score == pytest.approx(0.3) and "privacy floor" in safe.reason
    assert safe.ci_high <= 0.35 + 1e-9
    assert score_pillars(leaky, composite="mean")["SAFE"].score == pytest.approx(0.3)
    fine = [result("S.a", "S", 1.0), result("C.a", "C", 1.0), result("P.a", "P", 0.6)]
    assert score_pillars(fine)["SAFE"].score == pytest.approx(0.6 ** (1 / 3))


def test_a_failed_metric_leaves_its_pillar_incomplete_never_higher():
    results = [result("C.a", "C", 0.9), result("C.b", "C", 0.2), result("S.a", "S", 0.8), result("P.a", "P", 0.9)]
    results[1].status, results[1].score, results[1].reason = "error", None, "MemoryError: too big"
    pillars = score_pillars(results)
    assert pillars["C"].status == "incomplete" and pillars["C"].score is None
    assert pillars["C"].errors == {"C.b": "MemoryError: too big"} and "C.b" in pillars["C"].reason
    assert pillars["SAFE"].status == "incomplete" and pillars["SAFE"].score is None
    assert pillars["S"].ok and pillars["P"].ok


def test_skipped_metrics_leave_the_aggregate_and_missing_pillars_are_said():
    results = [
        result("S.a", "S", 0.8, ci=(0.7, 0.9)),
        result("S.skip", "S", 0.0, status="skipped"),
        result("P.a", "P", 0.6, ci=(0.5, 0.7)),
    ]
    results[1].score = None
    results[1].reason = "no prognostic score declared"
    pillars = score_pillars(results)
    assert pillars["S"].score == pytest.approx(0.8) and pillars["S"].metrics == ["S.a"]
    assert pillars["S"].skipped == {"S.skip": "no prognostic score declared"} and "1 of 2 metrics" in pillars["S"].reason
    assert pillars["C"].score is None and pillars["C"].status == "not scored"
    assert pillars["SAFE"].score is None and "C not scored" in pillars["SAFE"].reason
    only_s_p = score_pillars(results, weights={"S": 1, "C": 0, "P": 1})["SAFE"]
    assert only_s_p.score == pytest.approx(np.sqrt(0.8 * 0.6)) and only_s_p.metrics == ["S", "P"]


def test_joint_interval_is_narrower_than_the_worst_case_sum():
    rng = np.random.default_rng(1)
    a = rng.normal(0.5, 0.05, 200).clip(0, 1)
    results = [result("S.a", "S", 0.5, a), result("S.b", "S", 0.5, 1 - a)]  # perfectly anti-correlated
    pillar = score_pillars(results, n_bootstrap=200)["S"]
    assert pillar.ci_high - pillar.ci_low < 1e-9  # replicates cancel: the mean never moves


def test_invalid_weights_are_refused():
    with pytest.raises(ValueError, match="weights"):
        score_pillars([], weights={"S": -1, "C": 1, "P": 1})
    with pytest.raises(ValueError, match="weights"):
        score_pillars([], weights={"X": 1})


@pytest.mark.parametrize("weight", [float("inf"), float("nan"), -1.0, 1e308, 1e6 + 1, "1", True])
def test_evaluate_refuses_a_bad_weight_naming_it_before_any_work(gbsg2_split, weight, monkeypatch):
    monkeypatch.setattr("safe_bench.evaluation.parallel.run_metric", lambda *a: pytest.fail("a metric ran"))
    with pytest.raises(InputError, match=r"weights: 'C' must be a number of at least 0 and at most 1000000, not "):
        evaluate(gbsg2_split.train, gbsg2_split.holdout, None, weights={"S": 1, "C": weight, "P": 1})


def test_evaluate_accepts_the_largest_weight_and_refuses_none_positive(gbsg2_split):
    result = evaluate(gbsg2_split.train, gbsg2_split.holdout, None, metrics=["S.ks"], n_bootstrap=10,
                      weights={"S": 1e6, "C": 0, "P": 0})
    assert result.pillars["SAFE"].score == result.pillars["S"].score
    with pytest.raises(InputError, match="weights: at least one weight must be positive"):
        evaluate(gbsg2_split.train, gbsg2_split.holdout, None, weights={"S": 0, "C": 0, "P": 0})
