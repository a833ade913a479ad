"""A researcher's own table, from the command line: split a CSV or Parquet file, infer and
write its schema, give part of a schema, name roles by flags, survival columns suggested
by name, R's 1/2 event coding, and what the evaluation says without a holdout.

The tables are lifelines' Rossi recidivism data and the NCCTG lung cancer data (neither
bundled with safe-bench), written to files as a user would have them."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from lifelines.datasets import load_lung, load_rossi
from safe_bench_generators.baselines import GaussianCopulaGenerator

from safe_bench.cli.main import main
from safe_bench.data.datasets import list_datasets, load_dataset
from safe_bench.data.io import read_table, write_table
from safe_bench.data.schema import Schema, infer_schema, load_schema, suggest_survival, survival_hint
from safe_bench.data.schema_toml import schema_toml
from safe_bench.data.validation import conform
from safe_bench.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Rossi as CSV and Parquet; lung as CSV with its event coded 1/2 as R's survival package has it."""
    root = tmp_path_factory.mktemp("own")
    rossi, lung = load_rossi(), load_lung()
    rossi.to_csv(root / "rossi.csv", index=False)
    rossi.to_parquet(root / "rossi.parquet", index=False)
    lung.assign(status=lung["status"] + 1).to_csv(root / "lung12.csv", index=False)
    return root, rossi, lung


def _lung_split(root):
    """lung split with its 1/2 event recoded (made once per test process)."""
    out = root / "lung"
    if not out.exists():
        assert main(["split", str(root / "lung12.csv"), "--time", "time", "--event", "status", "--event-value", "2",
                     "--out", str(out)]) == 0
    return out


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame.astype(str).to_numpy()))


def test_split_of_a_csv_keeps_every_row_as_written_and_stratifies(files, capsys):
    root, rossi, _ = files
    out = root / "rossi-split"
    assert main(["split", str(root / "rossi.csv"), "--time", "week", "--event", "arrest", "--out", str(out)]) == 0
    train, holdout = (pd.read_csv(out / f"{p}.csv") for p in ("train", "holdout"))
    assert len(train) + len(holdout) == len(rossi) and len(holdout) == round(0.3 * len(rossi))
    assert _rows(pd.concat([train, holdout])) == _rows(rossi)  # the rows as read, none changed
    assert all(pd.api.types.is_integer_dtype(train[c]) for c in rossi.columns)  # integers stay integers
    assert ".0," not in (out / "train.csv").read_text()
    assert abs(train["arrest"].mean() - holdout["arrest"].mean()) < 0.02  # stratified on the event
    schema = load_schema(out / "schema.json")
    assert (schema.survival.time, schema.survival.event) == ("week", "arrest")
    said = capsys.readouterr().out
    assert "stratified on arrest" in said and "safe-bench evaluate --real" in said


def test_split_of_parquet_writes_parquet_and_a_bundled_split_writes_integers(files):
    root, rossi, _ = files
    assert main(["split", str(root / "rossi.parquet"), "--target", "arrest", "--out", str(root / "pq")]) == 0
    train = read_table(root / "pq" / "train.parquet")
    assert len(train) + len(read_table(root / "pq" / "holdout.parquet")) == len(rossi)
    assert main(["split", "gbsg2", "--out", str(root / "gbsg2")]) == 0
    first = (root / "gbsg2" / "train.csv").read_text().splitlines()[1]
    assert ".0" not in first  # age 56, cens 1: not 56.0 and 1.0 as the canonical floats would write
    gbsg2 = load_dataset("gbsg2")
    back = conform(read_table(root / "gbsg2" / "train.csv"), gbsg2.schema, table="train")
    assert back["age"].dtype == float and back["cens"].isin([0.0, 1.0]).all()


def test_split_refuses_what_is_neither_a_dataset_nor_a_file(files, capsys):
    root, _, _ = files
    assert main(["split", str(root / "absent.csv"), "--out", str(root / "x")]) == 2
    err = capsys.readouterr().err
    assert "neither a bundled dataset" in err and "absent.csv" in err and "Traceback" not in err
    assert main(["split", "gbsg2", "--time", "time", "--event", "cens", "--out", str(root / "x")]) == 2
    assert not (root / "x").exists()


def test_an_event_coded_1_2_is_refused_with_the_fix_or_recoded_by_event_value(files, capsys):
    root, _, lung = files
    args = ["split", str(root / "lung12.csv"), "--time", "time", "--event", "status"]
    assert main([*args, "--out", str(root / "bad")]) == 2
    err = capsys.readouterr().err
    assert "'status'" in err and "1/2" in err and "--event-value 2" in err
    assert main([*args, "--event-value", "2", "--out", str(root / "lung")]) == 0
    train, holdout = (pd.read_csv(root / "lung" / f"{p}.csv") for p in ("train", "holdout"))
    assert set(train["status"]) == {0, 1}
    assert train["status"].sum() + holdout["status"].sum() == lung["status"].sum()  # 2 (event) -> 1
    assert main([*args, "--event-value", "3", "--out", str(root / "none")]) == 2
    assert "never holds the event value '3'" in capsys.readouterr().err


def test_schema_infer_writes_the_inferred_schema_commented(files):
    root, rossi, _ = files
    out = root / "rossi.toml"
    assert main(["schema", "infer", str(root / "rossi.csv"), "--time", "week", "--event", "arrest",
                 "--qi", "age,race", "--sensitive", "prio", "--out", str(out)]) == 0
    text = out.read_text()
    expected = infer_schema(rossi, survival=("week", "arrest"), quasi_identifiers=["age", "race"], sensitive=["prio"])
    assert Schema.from_dict(tomllib.loads(text)) == expected
    lines = {line.split(" = ")[0]: line for line in text.splitlines() if " = " in line}
    assert "survival time (--time)" in lines["week"]
    assert "whole numbers with only 2 distinct values" not in lines["fin"]  # 0/1 reads as a yes/no
    assert "spelt like a yes/no" in lines["fin"]
    assert "whole numbers with" in lines["prio"] and "numeric" in lines["prio"]


def test_a_schema_file_round_trips_through_toml_for_every_bundled_dataset():
    for name in list_datasets():
        schema = load_dataset(name).schema
        text = schema_toml(schema, comments={c: 'a "quoted" # note' for c in schema.kinds}, header=["x", ""])
        assert Schema.from_dict(tomllib.loads(text)) == schema, name


def test_a_partial_schema_file_sets_what_it_gives_and_infers_the_rest(files, tmp_path):
    _, rossi, _ = files
    partial = tmp_path / "partial.toml"
    partial.write_text('[survival]\ntime = "week"\nevent = "arrest"\n\n[columns]\nprio = "categorical"\n\n'
                       '[roles]\nquasi_identifiers = ["age"]\n')
    schema = load_schema(partial, rossi)
    inferred = infer_schema(rossi, survival=("week", "arrest"), kinds={"prio": "categorical"}, quasi_identifiers=["age"])
    assert schema == inferred and schema.kinds["prio"].value == "categorical"
    assert list(schema.kinds) == list(rossi.columns)
    with pytest.raises(InputError, match="'week' is not a column of the schema"):  # without the table: all listed
        load_schema(partial)


def test_evaluate_with_role_flags_runs_the_attacks_and_names_the_flags_when_missing(files, tmp_path, capsys):
    root, _, _ = files
    split = _lung_split(root)
    schema = load_schema(split / "schema.json")
    train = conform(pd.read_csv(split / "train.csv"), schema, table="train")
    gen = GaussianCopulaGenerator()
    gen.fit(train, schema, seed=0)
    write_table(gen.sample(len(train), seed=0), tmp_path / "synthetic.csv")
    files_args = ["evaluate", "--real", str(split / "train.csv"), "--holdout", str(split / "holdout.csv"),
                  "--synthetic", str(tmp_path / "synthetic.csv"), "--metrics", "P.attribute,C.km"]
    capsys.readouterr()
    assert main([*files_args, "--json", str(tmp_path / "bare.json")]) == 0
    said = capsys.readouterr()
    assert "hint: columns 'time' and 'status' look like a survival endpoint" in said.err
    bare = {m["id"]: m for m in json.loads((tmp_path / "bare.json").read_text())["metrics"]}
    assert bare["P.attribute"]["status"] == "skipped" and "--qi" in bare["P.attribute"]["reason"]
    assert bare["C.km"]["status"] == "skipped" and "--time and --event" in bare["C.km"]["reason"]
    assert main([*files_args, "--time", "time", "--event", "status", "--qi", "age,sex", "--sensitive", "ph.ecog",
                 "--json", str(tmp_path / "roles.json")]) == 0
    assert "hint" not in capsys.readouterr().err
    roles = {m["id"]: m for m in json.loads((tmp_path / "roles.json").read_text())["metrics"]}
    assert roles["P.attribute"]["status"] == "ok" and roles["C.km"]["status"] == "ok"
    assert roles["P.attribute"]["details"]["columns"].keys() == {"ph.ecog"}


def test_without_a_holdout_the_headline_says_what_is_missing(files, capsys):
    root, _, _ = files
    split = _lung_split(root)
    assert main(["evaluate", "--real", str(split / "train.csv"), "--synthetic", str(split / "holdout.csv"),
                 "--schema", str(split / "schema.json"), "--metrics", "S.ks,P.exact"]) == 0
    out = capsys.readouterr().out
    assert "No holdout: privacy (P) and SAFE cannot be scored" in out
    safe_line = next(line for line in out.splitlines() if line.startswith("SAFE  "))
    assert "not scored" in safe_line and "no holdout" in safe_line


@pytest.mark.parametrize(("frame", "expected"), [
    (load_lung(), (["time"], ["status"])),
    (load_rossi(), (["week"], [])),  # 'arrest' names no event
    (load_dataset("gbsg2").frame, (["time"], ["cens"])),
    (pd.DataFrame({"OS_months": [3.0, 8.5, 12.0, 1.2], "os_event": [1, 0, 1, 1], "age": [60, 70, 65, 71]}),
     (["OS_months"], ["os_event"])),
])
def test_survival_columns_are_suggested_by_name_and_values(frame, expected):
    assert suggest_survival(frame) == expected
    assert (survival_hint(frame) is None) == (not all(expected))
