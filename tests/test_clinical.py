"""Pillar C: survival statistics equal lifelines' on real data."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from safe_bench import evaluate
from safe_bench.survival import curve_distance, kaplan_meier


def test_kaplan_meier_equals_lifelines(gbsg2):
    frame = gbsg2.frame
    curve = kaplan_meier(frame["time"].to_numpy(), frame["cens"].to_numpy())
    kmf = KaplanMeierFitter().fit(frame["time"], frame["cens"])
    grid = np.linspace(0, frame["time"].max(), 200)
    expected = kmf.survival_function_at_times(grid).to_numpy()
    np.testing.assert_allclose(curve.at(grid), expected, atol=1e-12)


def test_weighted_kaplan_meier_equals_lifelines_weights(gbsg2):
    frame = gbsg2.frame
    weights = np.random.default_rng(0).integers(0, 3, size=len(frame)).astype(float)
    curve = kaplan_meier(frame["time"].to_numpy(), frame["cens"].to_numpy(), weights)
    keep = weights > 0
    kmf = KaplanMeierFitter().fit(frame["time"][keep], frame["cens"][keep], weights=weights[keep])
    grid = np.linspace(0, frame["time"].max(), 200)
    np.testing.assert_allclose(curve.at(grid), kmf.survival_function_at_times(grid).to_numpy(), atol=1e-12)


def test_curve_distance_hand_worked():
    # S_a drops to 0.5 at t=1; S_b drops to 0.5 at t=3: |gap| = 0.5 on [1, 3) -> IAD 1.0.
    from safe_bench.survival import StepCurve

    a = StepCurve(np.array([1.0]), np.array([0.5]))
    b = StepCurve(np.array([3.0]), np.array([0.5]))
    iad, sup = curve_distance(a, b, tau=4.0)
    assert iad == pytest.approx(1.0)
    assert sup == pytest.approx(0.5)


def test_km_metric_holdout_beats_independent_per_group(gbsg2, gbsg2_split):
    from safe_bench import load_generator

    gen = load_generator("independent")
    gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    synthetic = gen.sample(len(gbsg2_split.train), seed=0)
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["C.km"])
    km = result.metric("C.km")
    assert km.ok and km.reference is not None
    tau = km.details["tau"]
    assert tau == pytest.approx(np.percentile(gbsg2_split.train["time"], 90))
    # The overall curve of `independent` is right (the time marginal is kept) ...
    assert km.details["curves"]["overall"]["score"] > 0.9
    # ... but per group it is wrong: tgrade=I has a better prognosis that independent erases.
    assert km.details["curves"]["tgrade=I"]["score"] < km.details["curves"]["overall"]["score"]
