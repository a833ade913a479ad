"""The train-fitted encoding under hostile units and cardinalities (issue 14, items 1
and 3): a categorical column with a code per patient is an identifier, compared by
copies, never a rows x codes one-hot; and a column's units never change a score."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from safe_bench import evaluate
from safe_bench.datasets import load_dataset
from safe_bench.encoding import Encoding
from safe_bench.protocol import split
from safe_bench.schema import Kind

CODES = 3_000


@pytest.fixture(scope="module")
def coded():
    """3,000 FLCHAIN train rows and 1,000 holdout rows, each with a code of its own in
    a column declared categorical (3,000 categories in train)."""
    flchain = load_dataset("flchain")
    parts = split(flchain.frame, flchain.schema, seed=0)
    rng = np.random.default_rng(0)
    train = parts.train.iloc[:CODES].reset_index(drop=True)
    holdout = parts.holdout.iloc[:1_000].reset_index(drop=True)
    train["code"] = [f"p{i}" for i in rng.permutation(CODES)]
    holdout["code"] = [f"p{i}" for i in CODES + rng.permutation(len(holdout))]
    return train, holdout, replace(flchain.schema, kinds={**flchain.schema.kinds, "code": Kind.CATEGORICAL})


def test_a_code_per_patient_is_left_out_of_the_distance_space(coded):
    train, _, schema = coded
    encoding = Encoding.fit(train, schema)
    without = Encoding.fit(train.drop(columns="code"), replace(schema, kinds={c: k for c, k in schema.kinds.items() if c != "code"}))
    assert list(encoding.identifiers) == ["code"]
    assert encoding.transform(train).shape == without.transform(train).shape == (CODES, len(without.feature_names))
    assert "code" not in encoding.positions(list(schema.kinds)).tolist()
    assert encoding.positions(["code"]).size == 0


def test_a_copy_with_a_code_per_patient_is_caught_in_bounded_memory(coded):
    train, holdout, schema = coded
    tracemalloc.start()
    try:
        result = evaluate(train, train.copy(), holdout, schema, metrics=["P", "S.tv", "S.pairs"], n_bootstrap=10)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The table without its codes peaks at about 80 MiB (the search's blocks); with the
    # codes one-hot (3,000 x 3,002 floats, 72 MB per encoded table) it peaked at 630 MiB.
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert result.metric("P.exact").score == 0.0
    assert result.metric("P.dcr_share").score == 0.0  # at distance 0 on the other columns
    [note] = result.extra["notes"]
    assert "'code'" in note and f"{CODES} categories" in note and "p1" not in note
    assert "code" not in result.metric("S.tv").details["columns"]
    assert not any("code" in pair for pair in result.metric("S.pairs").details["pairs"])


def test_ordinary_categorical_columns_stay_compared(gbsg2_split, gbsg2):
    assert Encoding.fit(gbsg2_split.train, gbsg2.schema).identifiers == {}
