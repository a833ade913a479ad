"""Schema: inference rules, files (TOML, JSON, SDV), and errors that name the column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from safe_bench import InputError, Kind, Schema, Survival, infer_schema, load_schema
from safe_bench.data.schema import infer_kind


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([0, 1, 1, 0], Kind.BOOLEAN),
        (["yes", "no", None, "yes"], Kind.BOOLEAN),
        ([True, False, True, True], Kind.BOOLEAN),
        (pd.to_datetime(["2020-01-01", "2021-03-04", "2022-05-06", "2020-02-02"]), Kind.DATETIME),
        (["2020-01-01", "2021-03-04", None, "2020-02-02"], Kind.DATETIME),
        (["a", "b", "c", "a"], Kind.CATEGORICAL),
        ([1, 2, 3, 2], Kind.CATEGORICAL),
        ([1.5, 2.25, 3.0, 7.75], Kind.NUMERIC),
        (list(range(40)), Kind.NUMERIC),
        ([np.nan] * 4, Kind.NUMERIC),
    ],
)
def test_infer_kind_rules(values, kind):
    assert infer_kind(pd.Series(values, name="x")) is kind


def test_id_columns_are_recognised_by_name_or_unique_text():
    assert infer_kind(pd.Series(range(30), name="patient_id")) is Kind.ID
    assert infer_kind(pd.Series([f"P{i:03d}" for i in range(30)], name="code")) is Kind.ID
    assert infer_kind(pd.Series(range(30), name="visits")) is Kind.NUMERIC


def test_infer_schema_on_gbsg2_matches_curated_kinds(gbsg2):
    raw = gbsg2.frame.copy()
    raw["tgrade"] = raw["tgrade"].astype("category")
    inferred = infer_schema(raw, survival=("time", "cens"))
    for col in ("age", "estrec", "pnodes", "progrec", "tsize", "time"):
        assert inferred.kinds[col] is Kind.NUMERIC
    assert inferred.kinds["tgrade"] is Kind.CATEGORICAL
    assert inferred.kinds["cens"] is Kind.BOOLEAN
    assert inferred.survival == Survival("time", "cens")


def test_overrides_win_and_unknown_overrides_are_named():
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "b": [0.5, 1.5, 2.5, 3.5]})
    assert infer_schema(frame, kinds={"a": "numeric"}).kinds["a"] is Kind.NUMERIC
    with pytest.raises(InputError, match="'zz'"):
        infer_schema(frame, kinds={"zz": "numeric"})


def test_roles_must_name_existing_columns_of_the_right_kind():
    kinds = {"t": Kind.NUMERIC, "e": Kind.BOOLEAN, "g": Kind.NUMERIC}
    with pytest.raises(InputError, match="'missing'"):
        Schema(kinds=kinds, survival=Survival("missing", "e"))
    with pytest.raises(InputError, match="group column 'g' must be categorical"):
        Schema(kinds=kinds, groups=("g",))
    with pytest.raises(InputError, match="event column 'g' must be boolean"):
        Schema(kinds=kinds, survival=Survival("t", "g"))


def test_toml_and_json_files_round_trip(tmp_path, gbsg2):
    as_dict = gbsg2.schema.to_dict()
    (tmp_path / "s.json").write_text(json.dumps(as_dict))
    assert load_schema(tmp_path / "s.json") == gbsg2.schema
    toml = [
        "[columns]",
        *[f'"{c}" = "{k}"' for c, k in as_dict["columns"].items()],
        "[survival]",
        'time = "time"',
        'event = "cens"',
        "[roles]",
        'groups = ["horTh", "menostat", "tgrade"]',
        'sensitive = ["tgrade", "pnodes", "cens"]',
        'quasi_identifiers = ["age", "menostat", "tsize"]',
        "[scores.NPI]",
        f'expression = "{as_dict["scores"]["NPI"]["expression"]}"',
        "cuts = [3.4, 5.4]",
        'labels = ["good", "moderate", "poor"]',
        "[primary]",
        'column = "horTh"',
        'level = "yes"',
    ]
    (tmp_path / "s.toml").write_text("\n".join(toml))
    assert load_schema(tmp_path / "s.toml") == gbsg2.schema


@pytest.mark.parametrize(
    "primary, problem",
    [
        ('column = "nope"', "not a column of the schema"),
        ('column = "time"', "not a covariate"),
        ('column = "horTh"', "needs the level"),
        ('column = "age"\nlevel = "x"', "takes no level"),
        ('column = "age"\nwhat = 1', "takes the keys"),
    ],
)
def test_a_bad_primary_effect_is_named(tmp_path, gbsg2, primary, problem):
    text = "\n".join(["[columns]", *[f'"{c}" = "{k.value}"' for c, k in gbsg2.schema.kinds.items()],
                      "[survival]", 'time = "time"', 'event = "cens"', "[primary]", primary])
    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(InputError, match=problem):
        load_schema(tmp_path / "s.toml")


def test_sdv_single_table_metadata_is_accepted(tmp_path):
    metadata = {
        "METADATA_SPEC_VERSION": "SINGLE_TABLE_V1",
        "primary_key": "pid",
        "columns": {
            "pid": {"sdtype": "id"},
            "age": {"sdtype": "numerical"},
            "sex": {"sdtype": "categorical"},
            "smoker": {"sdtype": "boolean"},
            "admitted": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
            "email": {"sdtype": "email", "pii": True},
        },
    }
    (tmp_path / "meta.json").write_text(json.dumps(metadata))
    schema = load_schema(tmp_path / "meta.json")
    assert schema.kinds == {
        "pid": Kind.ID, "age": Kind.NUMERIC, "sex": Kind.CATEGORICAL,
        "smoker": Kind.BOOLEAN, "admitted": Kind.DATETIME, "email": Kind.ID,
    }
    assert schema.features == ["age", "sex", "smoker", "admitted"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[columns]\nage = 'numbr'\n", "unknown kind 'numbr'"),
        ("[columns]\nage = 'numeric'\n[survival]\ntime = 'age'\n", "needs the keys 'time' and 'event'"),
        ("[columns]\nage = 'numeric'\n[roles]\ngroups = 'age'\n", "must be a list"),
        ("[columns]\nage = 'numeric'\n[rolez]\n", "unknown section"),
        ("[columns\n", "malformed"),
    ],
)
def test_malformed_schema_files_get_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_schema(path)


def test_the_time_unit_round_trips_and_is_checked(tmp_path):
    path = tmp_path / "schema.toml"
    path.write_text('[columns]\nt = "numeric"\nd = "boolean"\n[survival]\ntime = "t"\nevent = "d"\nunit = "months"\n')
    schema = load_schema(path)
    assert schema.survival == Survival("t", "d") and schema.survival.unit == "months"
    assert Schema.from_dict(schema.to_dict()).survival.unit == "months"
    assert "unit" not in Schema.from_dict({"columns": {"t": "numeric", "d": "boolean"},
                                           "survival": {"time": "t", "event": "d"}}).to_dict()["survival"]
    with pytest.raises(InputError, match="unit must be text"):
        Schema.from_dict({"columns": {"t": "numeric", "d": "boolean"}, "survival": {"time": "t", "event": "d", "unit": 3}})
    with pytest.raises(InputError, match="optionally 'unit'"):
        Schema.from_dict({"columns": {"t": "numeric", "d": "boolean"}, "survival": {"time": "t", "event": "d", "x": 1}})
