"""Small-cell suppression of rare categories in what an evaluation writes out."""

from __future__ import annotations

import pandas as pd

from safe_bench.data.schema import Kind, Schema
from safe_bench.suppression import MIN_CELL, rare_levels, suppress


def test_rare_levels_count_train_and_holdout_together_and_suppress_every_form():
    schema = Schema(kinds={"grade": Kind.CATEGORICAL, "code": Kind.CATEGORICAL, "age": Kind.NUMERIC})
    train = pd.DataFrame({"grade": ["I"] * 10 + ["II"] * 3 + ["Z9"], "code": ["2"] * 13 + ["1"], "age": range(14)})
    holdout = pd.DataFrame({"grade": ["II"] * 2 + ["X1"], "code": ["1"] * 3, "age": range(3)})
    rare = rare_levels((train, holdout, None), schema)
    # II: 3 + 2 = 5 rows reach MIN_CELL; X1 and Z9 (1 row each) do not, numbered in sorted order;
    # code 1 holds 4 rows, but "1" alone is no common category elsewhere either: both forms go
    assert MIN_CELL == 5 and rare == {"X1": "rare level 1 of grade", "grade=X1": "grade=rare level 1",
                                      "Z9": "rare level 2 of grade", "grade=Z9": "grade=rare level 2",
                                      "1": "rare level 1 of code", "code=1": "code=rare level 1"}
    holdout["grade"] = ["II", "II", "1"] * 1  # "1" now also a grade: not common (1 row), still rare
    train["grade"] = ["1"] * 10 + ["II"] * 3 + ["Z9"]  # "1" a common grade: only code=1 is replaced
    assert "1" not in rare_levels((train, holdout), schema) and "code=1" in rare_levels((train, holdout), schema)
    details = {"shares": {"I": 0.7, "Z9": 0.1}, "left_out": ["Z9"], "terms": ["grade=X1 raises the hazard"],
               "n": 3, "label": "I"}
    assert suppress(details, rare) == {
        "shares": {"I": 0.7, "rare level 2 of grade": 0.1}, "left_out": ["rare level 2 of grade"],
        "terms": ["grade=rare level 1 raises the hazard"], "n": 3, "label": "I"}
