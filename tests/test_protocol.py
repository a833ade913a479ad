"""The protocol: a seeded stratified split, and an encoding fitted on train only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safe_bench import InputError, split
from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.encoding import Encoding


def test_split_is_70_30_stratified_disjoint_and_seeded(gbsg2):
    a = split(gbsg2.frame, gbsg2.schema, seed=3)
    b = split(gbsg2.frame, gbsg2.schema, seed=3)
    c = split(gbsg2.frame, gbsg2.schema, seed=4)
    assert len(a.holdout) == round(0.3 * len(gbsg2.frame))
    assert len(a.train) + len(a.holdout) == len(gbsg2.frame)
    pd.testing.assert_frame_equal(a.train, b.train)
    assert not a.train.equals(c.train)
    assert a.stratified_on == "cens"
    assert abs(a.train["cens"].mean() - a.holdout["cens"].mean()) < 0.01
    rows = lambda f: set(map(tuple, f.astype(str).to_numpy()))  # noqa: E731
    assert not rows(a.train) & rows(a.holdout)


def test_split_refuses_tiny_tables(gbsg2):
    with pytest.raises(InputError, match="at least 10"):
        split(gbsg2.frame.iloc[:5], gbsg2.schema)


def test_encoding_is_fitted_on_train_only(gbsg2_split, gbsg2):
    train, holdout = gbsg2_split.train, gbsg2_split.holdout
    base = EvaluationData(train, holdout.copy(), holdout, gbsg2.schema)
    # Change synthetic and holdout values wildly: the fitted encoding must not move.
    wild = holdout.copy()
    wild["age"] = wild["age"] * 100 + 7
    wild["tgrade"] = "never seen"
    other = EvaluationData(train, wild, wild.iloc[::-1].reset_index(drop=True), gbsg2.schema)
    assert base.encoding == other.encoding == Encoding.fit(train, gbsg2.schema)
    np.testing.assert_array_equal(base.matrix("train"), other.matrix("train"))


def test_encoding_distance_weights_follow_safe_md(gbsg2_split, gbsg2):
    enc = Encoding.fit(gbsg2_split.train, gbsg2.schema)
    row = gbsg2_split.train.iloc[[0]].copy()
    other = row.copy()
    other["tgrade"] = next(c for c in enc.categories["tgrade"] if c != row["tgrade"].iloc[0])
    shifted = row.copy()
    shifted["age"] = row["age"] + enc.numeric["age"].scale
    missing = row.copy()
    missing["age"] = np.nan
    unseen = row.copy()
    unseen["tgrade"] = "IV"
    dist = lambda a, b: float(np.linalg.norm(enc.transform(a) - enc.transform(b)))  # noqa: E731
    assert dist(row, other) == pytest.approx(1.0)   # one category mismatch = one IQR
    assert dist(row, shifted) == pytest.approx(1.0)  # one IQR
    assert dist(row, unseen) == pytest.approx(1.0)   # an unseen category is a full mismatch
    assert dist(row, missing) > 0                    # missing is a value of its own
    q1, q3 = np.percentile(gbsg2_split.train["age"], [25, 75])
    assert enc.numeric["age"].scale == pytest.approx(q3 - q1)


def test_a_spread_is_decided_by_equality_and_encoded_numbers_stay_finite():
    from safe_bench import Kind, Schema
    from safe_bench.evaluation.encoding import MAX_SPREADS

    schema = Schema(kinds={"x": Kind.NUMERIC})
    # np.std of seven 0.7s is 1.1e-16 (their mean rounds): still a constant column
    assert Encoding.fit(pd.DataFrame({"x": [0.7] * 7}), schema).numeric["x"].scale == 1.0
    # a spread however small in these units is a spread (no threshold in any unit)
    tiny = Encoding.fit(pd.DataFrame({"x": [0.0, 0.0, 0.0, 5e-300]}), schema)
    assert tiny.numeric["x"].scale == 1.25e-300
    assert tiny.transform(pd.DataFrame({"x": [5e-300, 1.0, -1e300]}))[:, 0].tolist() == [4.0, MAX_SPREADS, -MAX_SPREADS]
    spread = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert Encoding.fit(spread, schema).numeric["x"].scale == 2.0
