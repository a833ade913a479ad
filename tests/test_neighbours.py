"""The exact nearest-neighbour engine against brute-force numpy, on real encoded data."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from safe_bench.evaluation.encoding import Encoding
from safe_bench.metrics.privacy import neighbours
from safe_bench.metrics.privacy.neighbours import nearest


@pytest.fixture(autouse=True, params=["many groups", "few groups", "brute force"])
def search_path(request, monkeypatch):
    """Every test runs through every search path: grouped cells (forced even on small
    tables), with as many binary groups as the patterns allow or only a few, and plain
    blocked products."""
    monkeypatch.setattr(neighbours, "BRUTE_FORCE_PAIRS", 1 << 40 if request.param == "brute force" else 0)
    groups = 4 if request.param == "few groups" else 1 << 20
    monkeypatch.setattr(neighbours, "MIN_GROUPS", groups)
    monkeypatch.setattr(neighbours, "MAX_GROUPS", groups)


def brute_force(query: np.ndarray, index: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every distance by the plain numpy expression; k smallest by (distance, index)."""
    distances = np.sqrt(((query[:, None, :] - index[None, :, :]) ** 2).sum(axis=-1))
    order = np.argsort(distances, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(distances, order, axis=1), order


def assert_exact(query: np.ndarray, index: np.ndarray, k: int, **options) -> None:
    found = nearest(query, index, k, **options)
    distances, indices = brute_force(query, index, min(k, len(index)))
    np.testing.assert_array_equal(found.indices, indices)
    np.testing.assert_array_equal(found.distances, distances)  # bit for bit


@pytest.fixture(scope="module")
def encoded(gbsg2, gbsg2_split):
    """GBSG2 train and holdout in the train-fitted distance space (numeric + one-hot)."""
    encoding = Encoding.fit(gbsg2_split.train, gbsg2.schema)
    return encoding.transform(gbsg2_split.train), encoding.transform(gbsg2_split.holdout)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_real_data_equals_brute_force(encoded, k):
    train, holdout = encoded
    assert_exact(holdout, train, k)
    assert_exact(train[:150], train, k)  # every query is in the index: zero distances
    assert_exact(holdout[::40], train, k)  # a few spread queries: the smallest chunks


def test_ties_and_duplicates_are_broken_by_index(encoded):
    train, holdout = encoded
    index = np.vstack([train[:60], train[:60], train[30:90]])  # many rows twice, some three times
    assert_exact(index, index, 4)
    categorical = np.round(train[:, -12:] * 2) / 2  # one-hot columns only: distances tie massively
    assert_exact(categorical[:80], categorical, 6)


def test_integer_grid_with_many_equal_distances():
    rng = np.random.default_rng(3)
    index = rng.integers(0, 3, size=(300, 4)).astype(float)
    query = rng.integers(0, 3, size=(120, 4)).astype(float)
    assert_exact(query, index, 7)


def test_result_does_not_depend_on_block_size_or_threads(encoded):
    train, holdout = encoded
    reference = nearest(holdout, train, 3)
    for block in (1, 37, 4096):
        again = nearest(holdout, train, 3, block=block)
        np.testing.assert_array_equal(again.indices, reference.indices)
        np.testing.assert_array_equal(again.distances, reference.distances)
    for threads in (1, 2):
        with threadpool_limits(threads):
            again = nearest(holdout, train, 3)
        np.testing.assert_array_equal(again.indices, reference.indices)
        np.testing.assert_array_equal(again.distances, reference.distances)


def test_degenerate_tables():
    same = np.ones((50, 3))
    assert_exact(same, same, 2)  # all duplicates: every distance 0, indices 0, 1
    assert_exact(np.zeros((4, 0)), np.zeros((3, 0)), 2)  # no columns at all
    assert_exact(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]), 3)  # k capped at one row
    empty = nearest(np.zeros((0, 2)), np.ones((5, 2)), 2)
    assert empty.distances.shape == (0, 2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no rows"):
        nearest(np.ones((2, 2)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="NaN"):
        nearest(np.array([[np.nan, 1.0]]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="columns"):
        nearest(np.ones((2, 2)), np.ones((2, 3)))


def test_a_half_of_a_large_holdout_is_read_from_the_holdouts_search(gbsg2, gbsg2_split, monkeypatch):
    """Above MAX_QUERY_ROWS the holdout is searched through a seeded subsample; a holdout
    half (the reference run's table under test) then uses its rows among that subsample
    for every search, and its search in train is read from the holdout's, not made again."""
    from safe_bench.evaluation.comparison import EvaluationData

    monkeypatch.setattr(neighbours, "MAX_QUERY_ROWS", 120)  # the holdout has 206 rows
    data = EvaluationData(gbsg2_split.train, gbsg2_split.holdout, gbsg2_split.holdout, gbsg2.schema)
    made = []
    real_nearest = neighbours.nearest
    monkeypatch.setattr(neighbours, "nearest", lambda q, i, k: made.append(len(q)) or real_nearest(q, i, k))
    reference = data.reference(needs_holdout=True)
    to_train = neighbours.search(reference, "synthetic", "train", 3)
    to_other_half = neighbours.search(reference, "synthetic", "holdout")
    whole = neighbours.search(data.comparison(), "holdout", "train", 3)
    assert made == [120, len(to_other_half.rows)]  # the holdout's search, then the half against the other half
    half_rows = data.part_of("holdout_a")[1]
    np.testing.assert_array_equal(to_train.rows, to_other_half.rows)  # the same rows of the half
    np.testing.assert_array_equal(half_rows[to_train.rows], np.intersect1d(half_rows, whole.rows))
    # and the answers are those of a direct search of those rows
    distances, indices = brute_force(data.matrix("holdout_a")[to_train.rows], data.matrix("train"), 3)
    np.testing.assert_array_equal(to_train.indices, indices)
    np.testing.assert_array_equal(to_train.distances, distances)
