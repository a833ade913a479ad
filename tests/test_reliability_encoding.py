"""The train-fitted encoding under hostile units and cardinalities (issue 14, items 1
and 3): a categorical column with a code per patient is an identifier, compared by
copies, never a rows x codes one-hot; and a column's units never change a score."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from safe_bench import evaluate
from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.schema import Kind
from safe_bench.evaluation.encoding import Encoding

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
    kinds = {c: k for c, k in schema.kinds.items() if c != "code"}
    without = Encoding.fit(train.drop(columns="code"), replace(schema, kinds=kinds))
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


# -- item 3: units ------------------------------------------------------------------
#: Increasing affine maps of GBSG2's integer-valued columns whose results are exact in
#: float64: shifts by 1e12, scales by powers of 2 and 10 and by integers.
EXACT_MAPS = {"estrec": (1.0, 1e12), "tsize": (1e6, 0.0), "progrec": (2.0**-40, 0.0), "age": (7.0, 3.0),
              "pnodes": (1e6, -5e11), "time": (1.0, 1e12)}


def _scores(split, schema, maps: dict[str, tuple[float, float]]) -> dict[str, tuple]:
    """Every S and P metric's score, value and interval with ``x -> a x + b`` applied to
    some columns of train, synthetic (train, columns shuffled) and holdout alike."""
    from conftest import shuffle_columns

    tables = [split.train, shuffle_columns(split.train, 1), split.holdout]
    changed = [t.assign(**{c: t[c].astype(float) * a + b for c, (a, b) in maps.items()}) for t in tables]
    result = evaluate(*changed, schema, metrics=["S", "P"], n_bootstrap=10)
    return {m.id: (m.status, m.score, m.value, m.ci_low, m.ci_high) for m in result.metrics}


@pytest.fixture(scope="module")
def plain_scores(gbsg2_split, gbsg2):
    return _scores(gbsg2_split, gbsg2.schema, {})


def _equal(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and np.allclose(np.array(a[1:], dtype=float), np.array(b[1:], dtype=float),
                                        rtol=0, atol=1e-9, equal_nan=True)


def test_units_of_numeric_columns_change_no_score(gbsg2_split, gbsg2, plain_scores):
    """Before: ``estrec + 1e12`` counted estrec's spread as none (below 1e-9 of its
    median), so one estrec unit weighed as one IQR and P.dcr_share moved."""
    changed = _scores(gbsg2_split, gbsg2.schema, EXACT_MAPS)
    assert all(status == "ok" for status, *_ in plain_scores.values() if status != "skipped")
    assert {k for k in plain_scores if not _equal(plain_scores[k], changed[k])} == set()


def test_a_tiny_unit_keeps_the_column_in_the_distances(gbsg2_split, gbsg2, plain_scores):
    """``age * 1e-12`` is not exact in float64: encoded ages move by an ulp (so age
    stays in the distances: it was dropped, its spread counted as none). Scores stay
    equal but P.attribute's, whose nearest synthetic row on the quasi-identifiers is
    chosen among rows at exactly equal distance (one year either way) by their order:
    the ulp decides those ties instead (46 of 480 targets)."""
    encoding = Encoding.fit(gbsg2_split.train.assign(age=gbsg2_split.train["age"] * 1e-12), gbsg2.schema)
    plain = Encoding.fit(gbsg2_split.train, gbsg2.schema)
    np.testing.assert_allclose(encoding.transform(gbsg2_split.holdout.assign(age=gbsg2_split.holdout["age"] * 1e-12)),
                               plain.transform(gbsg2_split.holdout), rtol=0, atol=1e-14)
    changed = _scores(gbsg2_split, gbsg2.schema, {"age": (1e-12, 0.0)})
    assert {k for k in plain_scores if not _equal(plain_scores[k], changed[k])} <= {"P.attribute"}
