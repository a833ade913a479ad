"""Named random streams and the evaluation's one cache."""

from __future__ import annotations

import numpy as np
import pytest

from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.uncertainty import Stream, resamples, stream


def test_every_purpose_has_its_own_stream():
    assert len({int(p) for p in Stream}) == len(Stream)
    draws = {tuple(stream(3, p).integers(0, 2**63, size=4).tolist()) for p in Stream}
    assert len(draws) == len(Stream)
    # resamples are the (seed, b) streams, as documented
    first = next(resamples(10, 1, 3))
    assert (first == np.random.default_rng((3, 0)).integers(0, 10, size=10)).all()


def test_the_evaluation_cache_computes_once_and_keeps_a_failure(gbsg2_split, gbsg2):
    data = EvaluationData(gbsg2_split.train, gbsg2_split.holdout, None, gbsg2.schema)
    calls = []
    assert data.cached("k", lambda: calls.append(1) or 42) == 42
    assert data.comparison().cached("k", lambda: calls.append(1) or 0) == 42 and calls == [1]

    def fails():
        calls.append(2)
        raise ValueError("once")

    for _ in range(2):
        with pytest.raises(ValueError, match="once"):
            data.cached("bad", fails)
    assert calls == [1, 2]
