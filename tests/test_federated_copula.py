"""The Gaussian copula trained across sites equals the copula fitted on the sites' rows
stacked, to floating-point precision: its fit is sums over rows (see its docstring)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from safe_bench_generators.baselines import GaussianCopulaGenerator, _CategoryCounts
from safe_bench_generators.federated import Federated

from safe_bench.data.datasets import load_dataset
from safe_bench.data.validation import conform
from safe_bench.scenarios.federated.rounds import run_fedavg


def sites_of(name: str, sizes: tuple[float, ...], seed: int) -> tuple[list[pd.DataFrame], object]:
    ds = load_dataset(name)
    frame = conform(ds.frame, ds.schema, table="real").sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cuts = [0, *np.cumsum([int(s * len(frame)) for s in sizes])[:-1], len(frame)]
    return [frame.iloc[a:b].reset_index(drop=True) for a, b in zip(cuts[:-1], cuts[1:], strict=True)], ds.schema


def federate(tables: list[pd.DataFrame], schema, *, seed: int, rounds: int) -> GaussianCopulaGenerator:
    """FedAvg over the sites (the round loop of safe_bench.scenarios.federated.rounds)."""
    server = GaussianCopulaGenerator()
    run_fedavg(server, [GaussianCopulaGenerator() for _ in tables], tables, schema, rounds=rounds, epochs=1, seed=seed)
    return server


@pytest.mark.parametrize("name, sizes", [("gbsg2", (0.5, 0.3, 0.2)), ("flchain", (0.2, 0.1, 0.3, 0.4))])
def test_federated_copula_equals_the_pooled_fit(name, sizes):
    tables, schema = sites_of(name, sizes, seed=3)
    federated = federate(tables, schema, seed=11, rounds=2)
    assert isinstance(federated, Federated)
    pooled = GaussianCopulaGenerator()
    pooled.fit(pd.concat(tables, ignore_index=True), schema, seed=11)
    assert [(m.kind, m.column) for m in federated.variables] == [(m.kind, m.column) for m in pooled.variables]
    if name == "flchain":  # a numeric column with gaps adds its presence as a variable
        assert any(m.kind == "presence" for m in pooled.variables)
    for mine, theirs in zip(federated.variables, pooled.variables, strict=True):
        if mine.kind == "numeric":
            np.testing.assert_array_equal(mine.data, theirs.data)
        else:
            assert mine.data.table().categories.tolist() == theirs.data.table().categories.tolist()
            np.testing.assert_array_equal(mine.data.table().upper, theirs.data.table().upper)
    np.testing.assert_allclose(federated.corr, pooled.corr, rtol=0, atol=1e-12)
    a, b = federated.sample(300, seed=5), pooled.sample(300, seed=5)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)


def test_category_order_and_shares_are_pandas_value_counts():
    """The merged counts order categories as ``value_counts(normalize=True)`` does, ties included."""
    column = pd.Series(["b", "a", "c", "a", "b", None, "c", None, "d"], dtype=object)
    parts = [_CategoryCounts.fit(column[:4]), _CategoryCounts.fit(column[4:])]
    table = _CategoryCounts.merge(parts).table()
    expected = column.value_counts(normalize=True, dropna=False, sort=True)
    assert [None if pd.isna(c) else c for c in table.categories] == [None if pd.isna(c) else c for c in expected.index]
    np.testing.assert_array_equal(table.upper, expected.cumsum().to_numpy())


def test_one_site_is_the_ordinary_fit():
    tables, schema = sites_of("gbsg2", (1.0,), seed=0)
    one = federate(tables, schema, seed=2, rounds=1)
    ordinary = GaussianCopulaGenerator()
    ordinary.fit(tables[0], schema, seed=2)
    np.testing.assert_array_equal(one.corr, ordinary.corr)
    pd.testing.assert_frame_equal(one.sample(100, seed=1), ordinary.sample(100, seed=1))
