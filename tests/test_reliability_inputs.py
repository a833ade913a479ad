"""Hostile and broken inputs (issue 14, items 5, 7 and 8): exit 2 with a message naming
the file, the field or column and the problem, never a traceback and never a
half-written output; no silent nonsense."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from safe_bench import evaluate
from safe_bench.cli.main import main
from safe_bench.data.io import write_table

FAST = ["--metrics", "S.ks", "--bootstrap", "10"]


def run(capsys, *args) -> tuple[int, str]:
    """Run the command line in-process: its exit code and its stderr."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse refuses an option with exit 2
        code = exc.code
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tmp_path_factory, gbsg2, gbsg2_split):
    """GBSG2's train and holdout, its schema, an evaluation of them and a policy."""
    root = tmp_path_factory.mktemp("reliability")
    train, holdout = gbsg2_split.train, gbsg2_split.holdout
    write_table(train, root / "train.csv")
    write_table(holdout, root / "holdout.csv")
    (root / "schema.json").write_text(json.dumps(gbsg2.schema.to_dict()))
    result = evaluate(train, train.sample(frac=1, random_state=1), holdout, gbsg2.schema, n_bootstrap=10,
                      metrics=["S.ks", "C.censoring", "P.exact"])
    (root / "result.json").write_text(result.to_json())
    (root / "policy.toml").write_text('[[rule]]\ncheck = "SAFE >= 0.1"\n')
    (root / "baseline.toml").write_text('[[rule]]\ncheck = "SAFE >= baseline - 0.1"\n')
    (root / "a_file").write_text("not a folder\n")
    (root / "a_folder").mkdir()
    return root


def evaluate_args(files, *extra) -> list:
    return ["evaluate", "--real", files / "train.csv", "--synthetic", files / "train.csv", *FAST, *extra]


# -- item 5: gate --result / --baseline-result ---------------------------------------
def _without_metrics(data):
    return {"schema_version": 1}


def _without_schema(data):
    del data["schema"]
    return data


def _unknown_pillar_field(data):
    data["pillars"]["S"]["bogus"] = 1
    return data


def _text_score(data):
    data["pillars"]["S"]["score"] = "0.5"
    return data


def _score_of_five(data):
    data["pillars"]["SAFE"]["score"] = 5.0
    return data


BROKEN_RESULTS = {
    "a CSV": ("age,time\n1,2\n", "is not JSON"),
    "JSON without metrics": (_without_metrics, "lacks the field(s) ['metrics'"),
    "JSON without schema": (_without_schema, "lacks the field(s) ['schema']"),
    "a pillar with an unknown field": (_unknown_pillar_field, "pillar 'S' has unknown field(s) ['bogus']"),
    "a score as text": (_text_score, "pillar 'S': field 'score' must be a score from 0 to 1 or null, not '0.5'"),
    "a score of 5.0": (_score_of_five, "pillar 'SAFE': field 'score' must be a score from 0 to 1 or null, not 5.0"),
}


@pytest.mark.parametrize("flag", ["--result", "--baseline-result"])
@pytest.mark.parametrize("case", list(BROKEN_RESULTS))
def test_gate_refuses_a_file_that_is_not_an_evaluation(files, tmp_path, capsys, flag, case):
    content, message = BROKEN_RESULTS[case]
    broken = tmp_path / "broken.json"
    text = content if isinstance(content, str) else json.dumps(content(json.loads((files / "result.json").read_text())))
    broken.write_text(text)
    if flag == "--result":
        args = ["--policy", files / "policy.toml", "--result", broken]
    else:
        args = ["--policy", files / "baseline.toml", "--result", files / "result.json", "--baseline-result", broken]
    code, err = run(capsys, "gate", *args, "--json", tmp_path / "verdicts.json")
    assert code == 2
    assert f"result file {str(broken)!r}" in err and message in err
    assert not (tmp_path / "verdicts.json").exists()


def test_gate_still_judges_a_result_it_wrote(files, capsys):
    code, err = run(capsys, "gate", "--policy", files / "baseline.toml", "--result", files / "result.json",
                    "--baseline-result", files / "result.json", "-q")
    assert code in (0, 1), err
    assert err == ""


def test_gate_on_a_csv_exits_2_without_a_traceback(files):
    proc = subprocess.run([sys.executable, "-m", "safe_bench.cli", "gate", "--policy", str(files / "policy.toml"),
                           "--result", str(files / "train.csv")], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "is not JSON" in proc.stderr


# -- item 5: schema files ----------------------------------------------------------
def _sdv(columns):
    return {"METADATA_SPEC_VERSION": "SINGLE_TABLE_V1", "columns": columns}


def _with(gbsg2, **changes):
    return {**gbsg2.schema.to_dict(), **changes}


def _score(expression):
    return {"NPI": {"expression": expression, "cuts": [3.4], "labels": ["low", "high"]}}


BROKEN_SCHEMAS = {
    "roles as a string": (lambda g: _with(g, roles="horTh"), "[roles] must be a table"),
    "target as a list": (lambda g: _with(g, roles={"target": ["time"]}),
                         "role 'target' must be one column name (text), not list"),
    "SDV columns as a list": (lambda g: _sdv([{"sdtype": "numerical"}]), "SDV 'columns' must map column names"),
    "SDV table as a list": (lambda g: {"tables": {"t": [1, 2]}}, "the SDV table must be a table of keys, not list"),
    "a score of 50k terms": (lambda g: _with(g, scores=_score(" + ".join(["age"] * 50_000))),
                             "characters is too long: at most 5000"),
    "100k unary minus signs": (lambda g: _with(g, scores=_score("-" * 100_000 + "age")),
                               "characters is too long: at most 5000"),
    "a score nested 300 deep": (lambda g: _with(g, scores=_score(" + ".join(["age"] * 300))),
                                "nests operations more than 200 deep"),
}


@pytest.mark.parametrize("case", list(BROKEN_SCHEMAS))
def test_a_broken_schema_file_is_named(files, gbsg2, tmp_path, capsys, case):
    make, message = BROKEN_SCHEMAS[case]
    schema = tmp_path / "broken.json"
    schema.write_text(json.dumps(make(gbsg2)))
    code, err = run(capsys, *evaluate_args(files, "--schema", schema))
    assert code == 2
    assert "schema file 'broken.json'" in err and message in err


# -- item 5: suites ----------------------------------------------------------------
BROKEN_SUITES = {
    "timeout = inf": ("timeout = inf\nseeds = [0]\n", "key 'timeout': must be a number of at least 0.01 and at most"),
    "a generator's timeout = inf": ("seeds = [0]\n", "key 'generators.independent.timeout'"),
    "seed 2**32": ("seeds = [4294967296]\n", "key 'seeds': must be a whole number of at least 0 and at most 4294967295"),
    "weights of 1e308": ("seeds = [0]\n[metrics]\nweights = { S = 1e308, C = 1, P = 1 }\n",
                         "key 'metrics.weights.S': must be a number of at least 0 and at most 1000000, not 1e+308"),
}


@pytest.mark.parametrize("case", list(BROKEN_SUITES))
def test_a_broken_suite_is_refused_at_load(tmp_path, capsys, case):
    head, message = BROKEN_SUITES[case]
    generator = "timeout = inf\n" if "generator" in case else ""
    suite = tmp_path / "suite.toml"
    suite.write_text(f"{head}[datasets.gbsg2]\n[generators.independent]\n{generator}")
    code, err = run(capsys, "run", suite, "--store", tmp_path / "s.sqlite", "-q")
    assert code == 2
    assert "suite suite.toml, line" in err and message in err
    assert not (tmp_path / "s.sqlite").exists()


# -- item 5: a tampered store ------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from report_data import make_store

    return make_store(tmp_path_factory.mktemp("store") / "tiny.sqlite", datasets=("gbsg2",))


TAMPERINGS = {
    "a result that is not JSON": ("UPDATE cells SET result = '{not json' WHERE key = ?", "is not JSON"),
    "an ok cell without result": ("UPDATE cells SET result = NULL WHERE key = ?", "is marked ok but holds no result"),
    "a score as text": ("UPDATE scores SET score = 'abc' WHERE key = ? AND metric = 'SAFE'",
                        "SAFE: score is not a score from 0 to 1"),
    "a score of 5.0": ("UPDATE scores SET score = 5.0 WHERE key = ? AND metric = 'P'", "P: score is not a score"),
}


@pytest.mark.parametrize("case", list(TAMPERINGS))
def test_report_of_a_tampered_store_writes_nothing(store, tmp_path, capsys, case):
    sql, message = TAMPERINGS[case]
    tampered = tmp_path / "tampered.sqlite"
    shutil.copy(store, tampered)
    key = "gbsg2-gaussian_copula-1"  # not the first cell: its pages used to be written before the failure
    with sqlite3.connect(tampered) as db:
        db.execute(sql, (key,))
    db.close()
    code, err = run(capsys, "report", tampered, "--out", tmp_path / "site", "-q")
    assert code == 2
    assert f"results store {str(tampered)!r}: cell {key!r}" in err and message in err
    assert not (tmp_path / "site").exists()


# -- item 5: paths -----------------------------------------------------------------
def test_json_under_a_file_is_refused_before_work(files, capsys):
    code, err = run(capsys, *evaluate_args(files, "--json", files / "a_file" / "r.json"))
    assert code == 2
    assert "argument --json" in err and "which is a file, not a folder" in err


def test_html_naming_a_folder_is_refused_before_the_json_is_written(files, tmp_path, capsys):
    code, err = run(capsys, *evaluate_args(files, "--json", tmp_path / "r.json", "--html", files / "a_folder"))
    assert code == 2
    assert f"argument --html: output file {str(files / 'a_folder')!r} is a folder; name a file" in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("command", ["evaluate", "split"])
def test_a_negative_seed_is_refused(files, capsys, command):
    args = evaluate_args(files) if command == "evaluate" else ["split", "gbsg2", "--out", files / "split"]
    code, err = run(capsys, *args, "--seed", "-1")
    assert code == 2
    assert "argument --seed: must be at least 0 and at most 4294967295, not -1" in err


def test_split_out_naming_a_file_is_refused(files, capsys):
    code, err = run(capsys, "split", "gbsg2", "--out", files / "a_file")
    assert code == 2
    assert f"argument --out: output folder {str(files / 'a_file')!r} is a file; name a folder" in err


def test_report_out_naming_a_file_is_refused(files, store, capsys):
    code, err = run(capsys, "report", store, "--out", files / "a_file")
    assert code == 2
    assert f"argument --out: output folder {str(files / 'a_file')!r} is a file; name a folder" in err
    assert (files / "a_file").read_text() == "not a folder\n"


@pytest.mark.parametrize(("column", "values", "shown"), [
    ("pnodes", [[1], [2, 3]], "list<element: int64>"),
    ("tgrade", [{"grade": 1}, {"grade": 2}], "struct<grade: int64>"),
])
def test_parquet_with_a_nested_column_is_refused(tmp_path, capsys, column, values, shown):
    table = tmp_path / "nested.parquet"
    pd.DataFrame({"age": [50.0, 60.0], column: values}).to_parquet(table)
    code, err = run(capsys, "evaluate", "--real", table, "--synthetic", table, *FAST)
    assert code == 2
    assert f"real file {str(table)!r}: column {column!r} holds nested values ({shown})" in err


# -- item 7: no silent nonsense ------------------------------------------------------
def test_a_timedelta_time_is_refused_not_read_as_nanoseconds(files, gbsg2_split, tmp_path, capsys):
    train = gbsg2_split.train.assign(time=pd.to_timedelta(gbsg2_split.train["time"], unit="D"))
    write_table(train, tmp_path / "train.parquet")
    code, err = run(capsys, "evaluate", "--real", tmp_path / "train.parquet", "--synthetic", files / "train.csv",
                    "--schema", files / "schema.json", *FAST)
    assert code == 2
    assert "column 'time' in real table holds durations (timedelta)" in err and "e.g. days" in err


@pytest.mark.parametrize("declared", [True, False], ids=["schema file", "inferred kinds"])
def test_a_date_beyond_2262_is_named_as_such(tmp_path, capsys, declared):
    dates = pd.DataFrame({"visit": [f"2020-01-{d:02d}" for d in range(1, 25)] + ["9999-12-31"],
                          "age": [float(a) for a in range(40, 65)]})
    write_table(dates, tmp_path / "dates.csv")
    (tmp_path / "schema.json").write_text(json.dumps({"columns": {"visit": "datetime", "age": "numeric"}}))
    schema = ["--schema", tmp_path / "schema.json"] if declared else []
    code, err = run(capsys, "evaluate", "--real", tmp_path / "dates.csv", "--synthetic", tmp_path / "dates.csv",
                    *schema, *FAST)
    assert code == 2
    assert "column 'visit' in real table has 1 date(s) outside the years 1677 to 2262" in err
    assert "not dates" not in err


@pytest.mark.parametrize("alpha", ["2", "0", "1", "nan"])
def test_results_alpha_outside_0_1_is_refused(store, capsys, alpha):
    code, err = run(capsys, "results", store, "--alpha", alpha)
    assert code == 2
    assert f"argument --alpha: must lie strictly between 0 and 1, not {alpha}" in err


@pytest.mark.parametrize("command", ["results", "evaluate"])
def test_bootstrap_below_10_is_refused(files, store, capsys, command):
    args = ["results", store] if command == "results" else evaluate_args(files)
    code, err = run(capsys, *args, "--bootstrap", "0")
    assert code == 2
    assert "argument --bootstrap: must be at least 10, not 0" in err


# -- item 8: what a newcomer hit -------------------------------------------------------
@pytest.fixture
def sdv_schema(gbsg2, tmp_path):
    """GBSG2 as SDV metadata, which cannot declare a survival endpoint."""
    sdtypes = {"numeric": "numerical", "categorical": "categorical", "boolean": "categorical"}
    columns = {c: {"sdtype": sdtypes[k.value]} for c, k in gbsg2.schema.kinds.items()}
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(_sdv(columns)))
    return path


def test_time_and_event_complete_a_schema_file(files, sdv_schema, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, err = run(capsys, "evaluate", "--real", files / "train.csv", "--synthetic", files / "train.csv",
                    "--schema", sdv_schema, "--time", "time", "--event", "cens", "--metrics", "C.censoring",
                    "--bootstrap", "10", "--json", out, "-q")
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["schema"]["survival"] == {"time": "time", "event": "cens"}
    assert result["schema"]["columns"]["cens"] == "boolean"
    assert result["pillars"]["C"]["status"] == "ok"


def test_time_and_event_that_contradict_the_schema_are_refused(files, capsys):
    code, err = run(capsys, *evaluate_args(files, "--schema", files / "schema.json", "--time", "time",
                                           "--event", "horTh"))
    assert code == 2
    assert ("schema file 'schema.json' declares the survival endpoint time 'time', event 'cens', "
            "not time 'time', event 'horTh'") in err


def test_a_categorical_column_coded_otherwise_is_named(files, gbsg2_split, tmp_path, capsys):
    synthetic = gbsg2_split.train.assign(menostat=gbsg2_split.train["menostat"].map({"Pre": "1", "Post": "2"}))
    write_table(synthetic, tmp_path / "synthetic.csv")
    out = tmp_path / "r.json"
    code, err = run(capsys, "evaluate", "--real", files / "train.csv", "--synthetic", tmp_path / "synthetic.csv",
                    *FAST, "--json", out, "-q")
    assert code == 0
    note = ("synthetic column 'menostat' shares almost no values with train: 0% of its values are categories of "
            "train (0 of its 2 categories, train has 2)")
    assert f"safe-bench: warning: {note}" in err
    assert [n for n in json.loads(out.read_text())["extra"]["notes"] if n.startswith(note)]


def test_a_synthetic_table_coded_like_train_has_no_note(files, tmp_path, capsys):
    out = tmp_path / "r.json"
    code, err = run(capsys, *evaluate_args(files, "--json", out, "-q"))
    assert code == 0
    assert "warning" not in err
    assert "notes" not in json.loads(out.read_text()).get("extra", {})
