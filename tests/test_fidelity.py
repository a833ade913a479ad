"""Pillar S: cross-checks against SDMetrics and orderings on real data."""

from __future__ import annotations

import numpy as np
import pytest
from sdmetrics.single_column import KSComplement, TVComplement

from safe_bench import evaluate, load_generator


def test_ks_and_tv_equal_sdmetrics_on_gbsg2(gbsg2, gbsg2_split):
    gen = load_generator("gaussian_copula")
    gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    synthetic = gen.sample(len(gbsg2_split.train), seed=1)
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["S.ks", "S.tv"])
    ks, tv = result.metric("S.ks"), result.metric("S.tv")
    schema = gbsg2.schema
    assert set(ks.details["columns"]) == set(schema.numeric)
    assert set(tv.details["columns"]) == set(schema.categorical)
    for col in schema.numeric:
        expected = KSComplement.compute(gbsg2_split.train[col], synthetic[col])
        assert ks.details["columns"][col]["score"] == pytest.approx(expected, abs=1e-9)
    for col in schema.categorical:
        expected = TVComplement.compute(gbsg2_split.train[col], synthetic[col])
        assert tv.details["columns"][col]["score"] == pytest.approx(expected, abs=1e-9)
    assert ks.score == pytest.approx(np.mean([KSComplement.compute(gbsg2_split.train[c], synthetic[c]) for c in schema.numeric]), abs=1e-9)
    assert ks.ci_low <= ks.score <= ks.ci_high
    assert tv.ci_low <= tv.score <= tv.ci_high
