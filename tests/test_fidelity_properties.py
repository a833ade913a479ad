"""Pillar S: properties that hold for any table (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safe_bench import evaluate
from safe_bench.data.schema import Kind, Schema

S_METRICS = ["S.ks", "S.tv", "S.missing", "S.range", "S.pairs", "S.kway", "S.detect", "S.prdc"]
SCHEMA = Schema({"x": Kind.NUMERIC, "y": Kind.NUMERIC, "when": Kind.DATETIME, "c": Kind.CATEGORICAL, "b": Kind.BOOLEAN})
PROPERTY = settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tables(draw: st.DrawFn, min_rows: int = 20) -> pd.DataFrame:
    """Mixed tables: numbers with or without ties, a datetime, a categorical column with
    1 to 4 categories (1: constant), a boolean; missing values at a drawn rate."""
    n = draw(st.integers(min_rows, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    missing = draw(st.sampled_from([0.0, 0.1, 0.4]))
    x = rng.normal(size=n)
    if draw(st.booleans()):
        x = np.round(x)  # ties
    y = draw(st.floats(-2, 2)) * x + rng.normal(size=n)
    x[rng.random(n) < missing] = np.nan
    c = rng.choice(list("abcd")[: draw(st.integers(1, 4))], size=n).astype(object)
    c[rng.random(n) < missing] = None
    when = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 100, n), unit="D")
    return pd.DataFrame({"x": x, "y": y, "when": when, "c": c, "b": rng.random(n) < 0.4})


@PROPERTY
@given(tables(min_rows=20))
def test_a_table_against_itself_scores_one(table):
    result = evaluate(table, table, None, SCHEMA, metrics=S_METRICS, n_bootstrap=30)
    for r in result.metrics:
        assert r.status in ("ok", "skipped"), (r.id, r.reason)
        if r.id == "S.detect":
            assert r.ok
            low, high = r.details["auc_ci"]
            assert low <= 0.5 <= high, r.details  # the classifier cannot tell a table from itself
        elif r.ok:
            assert r.score == pytest.approx(1.0, abs=1e-12), (r.id, r.details)
    assert result.metric("S.ks").ok and result.metric("S.pairs").ok and result.metric("S.prdc").ok


@PROPERTY
@given(tables(), tables(min_rows=2))
def test_scores_and_intervals_stay_in_0_1(train, other):
    result = evaluate(train, other, None, SCHEMA, metrics=S_METRICS, n_bootstrap=20)
    for r in result.metrics:
        assert r.status in ("ok", "skipped"), (r.id, r.reason)
        if r.ok:
            assert 0.0 <= r.score <= 1.0, r.id
            assert 0.0 <= r.ci_low <= r.ci_high <= 1.0, r.id
        else:
            assert r.reason, r.id


@PROPERTY
@given(tables(), st.integers(0, 2**32 - 1), st.floats(0.01, 3), st.floats(1.01, 4))
def test_adding_noise_never_raises_ks(table, seed, scale, more):
    # Non-negative noise moves every CDF down: the KS distance to the original can only
    # grow with the noise's scale (and the original against itself scores 1).
    rng = np.random.default_rng(seed)

    def noisy(s: float) -> pd.DataFrame:
        out = table.copy()
        for col, noise in zip(["x", "y"], rng_noise, strict=True):
            out[col] = out[col] + s * noise
        out["when"] = out["when"] + pd.to_timedelta(np.round(s * rng_noise[0] * 30), unit="D")
        return out

    rng_noise = [np.abs(rng.normal(size=len(table))) for _ in range(2)]
    scores = [evaluate(table, t, None, SCHEMA, metrics=["S.ks"], n_bootstrap=10).metric("S.ks")
              for t in (table, noisy(scale), noisy(scale * more))]
    assert scores[0].score == 1.0
    for col in ["x", "y", "when"]:
        got = [s.details["columns"][col]["score"] for s in scores]
        assert got[0] >= got[1] >= got[2], (col, got)
