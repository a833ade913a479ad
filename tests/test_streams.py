"""Named random streams and the evaluation's one cache."""

from __future__ import annotations

import numpy as np
import pytest

from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.uncertainty import PURPOSES, Stream, resamples, stream


def test_every_purpose_has_its_own_stream():
    assert len({int(p) for p in Stream}) == len(Stream)
    draws = {tuple(stream(3, p).integers(0, 2**63, size=4).tolist()) for p in Stream}
    assert len(draws) == len(Stream)
    # resamples are the (seed, b) streams, as documented
    first = next(resamples(10, 1, 3))
    assert (first == np.random.default_rng((3, 0)).integers(0, 10, size=10)).all()


def _state(words: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(np.random.SeedSequence(words).generate_state(8).tolist())


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1])
def test_no_purpose_draws_a_resample(seed):
    """A purpose's stream never starts where a bootstrap resample's does: checked on the
    seed states numpy derives, for every purpose (with and without extra words) against
    every resample index up to 30,000 (beyond PURPOSES, the purposes' own second word)."""
    resample_states = {_state((seed, b)) for b in range(30_000)}
    for purpose in Stream:
        for extra in [(), (0,), (1,), (500,)]:
            words = (seed, PURPOSES, int(purpose), *extra)
            assert _state(words) not in resample_states, (purpose, extra)
            first = stream(seed, purpose, *extra).integers(0, 2**63, size=2).tolist()
            assert first == np.random.default_rng(words).integers(0, 2**63, size=2).tolist()


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
