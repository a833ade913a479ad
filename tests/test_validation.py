"""Bad input: every case gets a clear error naming the column, before any work starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from safe_bench import InputError, Kind, Schema, Survival, evaluate
from safe_bench.data.validation import conform

SCHEMA = Schema(
    kinds={"age": Kind.NUMERIC, "grade": Kind.CATEGORICAL, "time": Kind.NUMERIC, "event": Kind.BOOLEAN},
    survival=Survival("time", "event"),
)


def table(n: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(60, 10, n),
            "grade": rng.choice(["I", "II", "III"], n),
            "time": rng.exponential(100, n) + 1,
            "event": rng.integers(0, 2, n),
        }
    )


def check(frame: pd.DataFrame, match: str, column: str | None) -> None:
    with pytest.raises(InputError, match=match) as info:
        evaluate(table(), frame, table(seed=1), SCHEMA)
    assert info.value.column == column


def test_missing_and_extra_columns():
    check(table().drop(columns="age"), r"lacks column\(s\) \['age'\]", "age")
    check(table().assign(extra=1), r"column\(s\) \['extra'\] that the schema does not declare", "extra")


def test_wrong_dtype_is_named_without_quoting_values():
    bad = table().astype({"age": object})
    bad.loc[3, "age"] = "Jane Doe"
    with pytest.raises(InputError, match="column 'age' in synthetic table is numeric but 1 value") as info:
        evaluate(table(), bad, None, SCHEMA)
    assert "Jane" not in str(info.value)


def test_empty_table_and_duplicate_names():
    check(table().iloc[:0], "synthetic table is empty", None)
    dup = table()
    dup.columns = ["age", "grade", "time", "age"]
    check(dup, "duplicate column name 'age'", "age")


def test_infinities():
    bad = table()
    bad.loc[2, "age"] = np.inf
    check(bad, "column 'age' in synthetic table has 1 infinite", "age")


def test_survival_time_must_be_positive_and_event_binary():
    bad = table()
    bad.loc[[1, 5], "time"] = [0.0, -3.0]
    check(bad, "survival time column 'time' in synthetic table has 2 value", "time")
    bad = table()
    bad.loc[4, "event"] = 2
    check(bad, "column 'event' in synthetic table is boolean but 1 value", "event")


def test_hostile_column_names_are_handled_as_plain_text():
    names = ["age at dx", "it's \"quoted\"", "<script>alert(1)</script>", "âge_été_生存"]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({n: rng.normal(size=60) for n in names})
    result = evaluate(frame.iloc[:30], frame.iloc[30:], None, None, metrics=["S.ks"])
    assert set(result.metric("S.ks").details["columns"]) == set(names)
    assert "<script>alert(1)</script>" in result.to_json()


def test_unseen_categories_are_scored_not_refused():
    synth = table(200, seed=3)
    synth.loc[:99, "grade"] = "IV"  # half the rows carry a category train never had
    result = evaluate(table(200), synth, table(200, seed=1), SCHEMA, metrics=["S.tv"])
    tv = result.metric("S.tv")
    assert tv.ok
    assert tv.details["columns"]["grade"]["unseen_share"] == pytest.approx(0.5)
    assert tv.details["columns"]["grade"]["score"] <= 0.5 + 1e-9


def test_all_missing_and_constant_columns_never_score_perfect_silently():
    synth = table(seed=2)
    synth["age"] = np.nan
    result = evaluate(table(), synth, None, SCHEMA, metrics=["S.ks"])
    ks = result.metric("S.ks")
    assert ks.details["columns"]["age"] == {"skipped": "all values missing in the table under test"}
    only_missing = evaluate(table(), synth, None, SCHEMA.with_roles(survival=None), metrics=["S.ks"])
    skipped = evaluate(
        table()[["age", "grade"]], synth[["age", "grade"]], None,
        Schema(kinds={"age": Kind.NUMERIC, "grade": Kind.CATEGORICAL}), metrics=["S.ks"],
    ).metric("S.ks")
    assert only_missing.metric("S.ks").ok  # `time` still has values
    assert skipped.status == "skipped" and "no numeric column could be compared" in skipped.reason
    assert skipped.score is None

    real = table()
    real["age"] = 5.0
    synth = table(seed=2)
    synth["age"] = 5.0
    ks = evaluate(real, synth, None, SCHEMA, metrics=["S.ks"]).metric("S.ks")
    assert ks.details["columns"]["age"]["score"] == pytest.approx(1.0)
    synth["age"] = 6.0
    ks = evaluate(real, synth, None, SCHEMA, metrics=["S.ks"]).metric("S.ks")
    assert ks.details["columns"]["age"]["score"] == pytest.approx(0.0)


def test_one_row_table_is_evaluated_or_skipped_with_reasons():
    result = evaluate(table(), table().iloc[:1], table(seed=1), SCHEMA)
    for m in result.metrics:
        assert m.status in {"ok", "skipped"}, (m.id, m.reason)
        if m.status == "skipped":
            assert m.reason
        else:
            assert 0.0 <= m.score <= 1.0


def test_canonical_form_unifies_spellings():
    frame = pd.DataFrame({"age": ["61", "70.5"], "grade": [1.0, 2.0], "time": [3, 4], "event": ["yes", "no"]})
    out = conform(frame, SCHEMA, table="synthetic")
    assert out["age"].dtype == float and list(out["grade"]) == ["1", "2"]
    assert list(out["event"]) == [1.0, 0.0]
