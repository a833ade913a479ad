"""Prognostic scores and findings: a safe expression language, right-closed risk groups,
schema declarations validated with the column named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from safe_bench.data.claims import Finding
from safe_bench.data.prognostic import Expression, PrognosticScore, risk_group_codes
from safe_bench.data.schema import Kind, Schema, Survival, load_schema
from safe_bench.errors import InputError

N, C, B = Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN


def test_npi_expression_equals_the_formula_by_hand(gbsg2):
    frame = gbsg2.frame
    (npi,) = gbsg2.schema.scores
    nodes = np.select([frame["pnodes"] == 0, frame["pnodes"] <= 3], [1, 2], default=3)
    grade = frame["tgrade"].map({"I": 1, "II": 2, "III": 3}).to_numpy()
    by_hand = 0.2 * frame["tsize"].to_numpy() / 10 + nodes + grade
    np.testing.assert_allclose(npi.values(frame), by_hand, rtol=0, atol=1e-12)
    groups = npi.groups(frame).to_numpy()
    expected = np.where(by_hand <= 3.4, "good", np.where(by_hand <= 5.4, "moderate", "poor"))
    assert (groups == expected).all()


def test_cut_points_are_right_closed():
    values = np.array([1.0, 1.5, 1.5000001, 3.0, 6.0, 6.1, np.nan])
    assert risk_group_codes(values, (1.5, 3.0, 6.0)).tolist() == [0, 0, 1, 1, 2, 3, -1]


@given(
    st.lists(st.floats(-100, 100), min_size=1, max_size=30),
    st.lists(st.floats(-50, 50), min_size=1, max_size=5, unique=True),
)
def test_risk_group_is_the_number_of_cuts_strictly_below(values, cuts):
    cuts = tuple(sorted(cuts))
    codes = risk_group_codes(np.array(values), cuts)
    assert codes.tolist() == [sum(c < v for c in cuts) for v in values]


def test_language_hand_worked_examples():
    frame = pd.DataFrame(
        {"x": [1.0, 4.0, np.nan, 9.0], "grp": ["a", "b", "a", np.nan], "flc.grp": [1.0, 2.0, 3.0, 4.0]}
    )
    cases = {
        "2 * x + 1": [3, 9, np.nan, 19],
        "sqrt(x) + abs(-x)": [2, 6, np.nan, 12],
        "max(x, 3) - min(x, 3)": [2, 1, np.nan, 6],
        "log(exp(x))": [1, 4, np.nan, 9],
        "x ** 2 / 2": [0.5, 8, np.nan, 40.5],
        "1 < x <= 4": [0, 1, np.nan, 0],
        "(grp == 'a') * 10": [10, 0, 10, np.nan],
        "grp != 'a'": [0, 1, 0, np.nan],
        "x if grp == 'a' else -1": [1, -1, np.nan, np.nan],
        "x > 2 and not grp == 'b'": [0, 0, np.nan, np.nan],
        "x > 2 or grp == 'a'": [1, 1, np.nan, np.nan],
        "`flc.grp` * 2": [2, 4, 6, 8],
    }
    for text, expected in cases.items():
        np.testing.assert_allclose(Expression(text).evaluate(frame), expected, err_msg=text)
    assert Expression("`flc.grp` + x + `flc.grp`").columns == ["flc.grp", "x"]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("__import__('os')", "function '__import__' is not allowed"),
        ("__import__('os').system('true')", "is not allowed (allowed: log, exp, sqrt, abs, min, max)"),
        ("x.real", "Attribute is not allowed"),
        ("[x for x in y]", "ListComp is not allowed"),
        ("(lambda: 1)()", "is not allowed"),
        ("x[0]", "Subscript is not allowed"),
        ("open('f')", "function 'open' is not allowed"),
        ("log(x, 2)", "log() takes 1 argument(s), got 2"),
        ("max(x, y=1)", "function 'max' is not allowed"),
        ("x // 2", "operator FloorDiv is not allowed"),
        ("x + True", "constant True is not a number or text"),
        ("x +", "is not valid"),
        ("grp + 1", "uses categorical column 'grp' in arithmetic"),
        ("grp > 'a'", "compares categorical column 'grp' as a number"),
        ("grp == 1", "compares categorical column 'grp' as a number"),
        ("nope * 2", "reads 'nope', which is not a column of the schema"),
    ],
)
def test_anything_else_is_refused_with_a_clear_message(text, problem):
    with pytest.raises(InputError) as caught:
        Expression(text).check({"x": False, "y": False, "grp": True})
    assert problem in str(caught.value)


def test_a_refused_column_is_named():
    with pytest.raises(InputError) as caught:
        Expression("grp * 2").check({"grp": True})
    assert caught.value.column == "grp"


@pytest.mark.parametrize(
    "cuts, labels, problem",
    [
        ((3.0, 1.0), ("a", "b", "c"), "increasing"),
        ((), ("a",), "at least one"),
        ((1.0,), ("a", "b", "c"), "make 2 risk groups, but 3 label(s)"),
        ((1.0, np.inf), ("a", "b", "c"), "finite"),
        ((1.0,), ("a", "a"), "distinct"),
    ],
)
def test_score_cuts_and_labels_are_checked(cuts, labels, problem):
    with pytest.raises(InputError, match="score 'S'") as caught:
        PrognosticScore("S", "x", cuts, labels)
    assert problem in str(caught.value)


# -- the schema's clinical section ---------------------------------------------------------
KINDS = {"age": N, "grade": C, "nodes": N, "therapy": C, "t": N, "e": B}


def clinical_schema(**roles) -> Schema:
    return Schema(kinds=KINDS, survival=Survival("t", "e"), **roles)


def test_scores_and_findings_round_trip_through_dict_and_toml(tmp_path):
    schema = clinical_schema(
        scores=(PrognosticScore("risk", "age / 10 + (grade == '3')", (5.0, 8.0), ("low", "mid", "high")),),
        findings=(
            Finding("hazard_ratio", "therapy", level="yes", direction="lower"),
            Finding("logrank", "grade", alpha=0.01),
        ),
    )
    assert Schema.from_dict(schema.to_dict()) == schema
    path = tmp_path / "schema.toml"
    path.write_text(
        """
[columns]
age = "numeric"
grade = "categorical"
nodes = "numeric"
therapy = "categorical"
t = "numeric"
e = "boolean"

[survival]
time = "t"
event = "e"

[scores.risk]
expression = "age / 10 + (grade == '3')"
cuts = [5, 8]
labels = ["low", "mid", "high"]

[[findings]]
kind = "hazard_ratio"
column = "therapy"
level = "yes"
direction = "lower"

[[findings]]
kind = "logrank"
column = "grade"
alpha = 0.01
""",
        encoding="utf-8",
    )
    assert load_schema(path) == schema
    assert [f.describe() for f in schema.findings] == [
        "therapy=yes lowers the hazard: HR < 1, p < 0.05",
        "survival differs across grade: log-rank p < 0.01",
    ]


@pytest.mark.parametrize(
    "roles, column, problem",
    [
        ({"scores": (PrognosticScore("s", "weight * 2", (1.0,), ("a", "b")),)}, "weight", "not a column"),
        ({"scores": (PrognosticScore("s", "grade * 2", (1.0,), ("a", "b")),)}, "grade", "categorical column"),
        ({"findings": (Finding("hazard_ratio", "weight", direction="lower"),)}, "weight", "not a column"),
        ({"findings": (Finding("hazard_ratio", "t", direction="lower"),)}, "t", "not a covariate"),
        ({"findings": (Finding("hazard_ratio", "therapy", direction="lower"),)}, "therapy", "needs the level"),
        ({"findings": (Finding("hazard_ratio", "age", level="3", direction="higher"),)}, "age", "takes no level"),
        ({"findings": (Finding("logrank", "nodes"),)}, "nodes", "categorical or boolean"),
    ],
)
def test_bad_declarations_name_the_column(roles, column, problem):
    with pytest.raises(InputError) as caught:
        clinical_schema(**roles)
    assert caught.value.column == column
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "data, problem",
    [
        ({"kind": "odds", "column": "age"}, "kind must be one of"),
        ({"kind": "hazard_ratio", "column": "age"}, "needs direction"),
        ({"kind": "hazard_ratio", "column": "age", "direction": "down"}, "needs direction"),
        ({"kind": "logrank", "column": "grade", "direction": "lower"}, "takes no level or direction"),
        ({"kind": "logrank", "column": "grade", "alpha": 2}, "alpha must be between 0 and 1"),
        ({"kind": "logrank"}, "needs 'kind' and 'column'"),
        ({"kind": "logrank", "column": "grade", "colour": "red"}, "unknown key(s) ['colour']"),
    ],
)
def test_bad_findings_are_refused(data, problem):
    with pytest.raises(InputError) as caught:
        Finding.from_dict(data)
    assert problem in str(caught.value)


def test_findings_need_a_survival_endpoint():
    with pytest.raises(InputError, match="findings need a survival endpoint"):
        Schema(kinds=KINDS, findings=(Finding("logrank", "grade"),))


def test_malformed_scores_section_is_refused():
    base = {"columns": {k: v.value for k, v in KINDS.items()}}
    with pytest.raises(InputError, match="needs exactly the keys"):
        Schema.from_dict({**base, "scores": {"s": {"expression": "age"}}})
    with pytest.raises(InputError, match="cuts must be a list of numbers"):
        Schema.from_dict({**base, "scores": {"s": {"expression": "age", "cuts": ["x"], "labels": ["a", "b"]}}})
    with pytest.raises(InputError, match="findings must be a list"):
        Schema.from_dict({**base, "findings": {"kind": "logrank"}})
