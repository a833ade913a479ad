"""Typed metric details: what the figures and the privacy verdict read.

A metric whose details a figure or the verdict reads declares them as a frozen dataclass
beside it. On a real evaluation these tests check that the typed details give back
exactly the JSON that was written, before and after a trip through the file; that a
malformed stored result is an InputError naming the metric; that the verdict read back
from the pinned results (written before the details were typed) is the one stored with
them; and that a third-party metric without a figure has none and breaks nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

from safe_bench.cli.main import main
from safe_bench.data.datasets import load_dataset
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate, evaluate_generator, plain
from safe_bench.generator import load_generator
from safe_bench.metrics.privacy.verdict import privacy_verdict
from safe_bench.metrics.registry import METRICS, metric, read_details, read_reference_details
from safe_bench.report.details import figures_for
from safe_bench.report.html import evaluation_html

PINNED = Path(__file__).parent / "pinned"
POLICY = Path(__file__).parents[1] / "benchmarks" / "policies" / "default.toml"
PLUGIN = Path(__file__).parent / "plugin_fixture"
#: What the run of a metric adds to its details (the holdout reference's outcome).
RUN_KEYS = {"reference_value", "reference_reason", "reference_details"}


def as_json(value: object) -> str:
    return json.dumps(plain(value), allow_nan=False)


def own(details: dict) -> str:
    """The JSON of the metric's own details, without what the run added."""
    return as_json({k: v for k, v in details.items() if k not in RUN_KEYS})


@pytest.fixture(scope="module")
def typed_run() -> EvaluationResult:
    """Every metric with typed details, on GBSG2 (a survival cohort with quasi-identifiers
    and sensitive columns: every one of them finishes)."""
    dataset = load_dataset("gbsg2")
    typed = [id for id, spec in METRICS.items() if spec.details is not None]
    return evaluate_generator(dataset.frame, dataset.schema, load_generator("gaussian_copula"), seed=0, n_bootstrap=20,
                              metrics=typed).result


def test_typed_details_give_back_the_json_they_were_read_from(typed_run):
    drawn_or_judged = {id for id, spec in METRICS.items() if spec.figure is not None or spec.verdict is not None}
    assert drawn_or_judged <= {m.id for m in typed_run.metrics if m.ok}
    loaded = EvaluationResult.from_json(typed_run.to_json())
    checked = set()
    for fresh, stored in zip(typed_run.metrics, loaded.metrics, strict=True):
        details = read_details(fresh)
        if details is None:
            continue
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(details, dataclasses.fields(details)[0].name, None)
        written = own(fresh.details)
        assert as_json(details.to_dict()) == written, fresh.id
        again = read_details(stored)
        assert type(again) is type(details) and as_json(again.to_dict()) == written, fresh.id
        if METRICS[fresh.id].reference_details:
            reference = as_json(fresh.details["reference_details"])
            assert as_json(read_reference_details(fresh).to_dict()) == reference, fresh.id
            assert as_json(read_reference_details(stored).to_dict()) == reference, fresh.id
        checked.add(fresh.id)
    assert drawn_or_judged <= checked


def _first(entries: dict) -> str:
    return next(iter(entries))


#: (metric, how its stored details are spoiled, what the error says).
MALFORMED = [
    ("S.pairs", lambda d: d["pairs"][_first(d["pairs"])].update(train="high"),
     r"metric 'S.pairs' details: pairs: .*: field 'train' must be a number, not 'high'"),
    ("S.ks", lambda d: d["columns"]["age"]["histogram"].update(edges="x"),
     r"metric 'S.ks' details: columns: age: histogram: field 'edges' must be a list of numbers, not 'x'"),
    ("S.tv", lambda d: d["columns"].update(horTh=3), r"metric 'S.tv' details: columns: horTh must be an object, not int"),
    ("P.exact", lambda d: d.pop("copies"), r"metric 'P.exact' details lacks the field 'copies'"),
    ("P.leakage", lambda d: d.update(flagged="yes"), r"metric 'P.leakage' details: field 'flagged' must be true or false"),
    ("P.singling_out", lambda d: d["modes"]["univariate"].pop("residual"),
     r"metric 'P.singling_out' details: modes: univariate lacks the field 'residual'"),
    ("C.km", lambda d: d["curves"]["overall"]["train"].update(survival=[1.0, 0.5]),
     r"metric 'C.km' details: curves: overall: a curve does not match the time grid"),
    ("C.km", lambda d: d.update(reference_details=[]), r"metric 'C.km' reference details must be an object, not list"),
    ("C.cox", lambda d: d["terms"][_first(d["terms"])]["train"].update(hr=True),
     r"metric 'C.cox' details: terms: .*: train: field 'hr' must be a number, not True"),
]


@pytest.mark.parametrize("metric_id, spoil, message", MALFORMED, ids=[f"{m[0]}-{i}" for i, m in enumerate(MALFORMED)])
def test_malformed_stored_details_are_an_input_error_naming_the_metric(typed_run, metric_id, spoil, message):
    data = json.loads(typed_run.to_json())
    (entry,) = [m for m in data["metrics"] if m["id"] == metric_id]
    spoil(entry["details"])
    with pytest.raises(InputError, match=message):
        EvaluationResult.from_dict(copy.deepcopy(data))
    with pytest.raises(InputError, match=re.escape("metric")):
        EvaluationResult.from_json(json.dumps(data), source="result file 'x.json'")


def test_a_figure_or_a_verdict_role_needs_typed_details():
    drawing = METRICS["S.ks"].figure
    with pytest.raises(ValueError, match="metric S.untyped: a figure or a verdict role reads typed details"):
        metric("S.untyped", pillar="S", name="untyped", figure=drawing)
    assert "S.untyped" not in METRICS


def test_the_gate_refuses_a_result_file_with_malformed_details(typed_run, tmp_path, capsys):
    data = json.loads(typed_run.to_json())
    (pairs,) = [m for m in data["metrics"] if m["id"] == "S.pairs"]
    pairs["details"] = {"pairs": 3}
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["gate", "--result", str(path), "--policy", str(POLICY)]) == 2
    err = capsys.readouterr().err
    assert f"result file {str(path)!r}: metric 'S.pairs' details: pairs must be an object, not int" in err
    assert "Traceback" not in err


def test_details_of_a_metric_that_did_not_finish_are_not_read(typed_run):
    data = json.loads(typed_run.to_json())
    for m in data["metrics"]:
        m.update(status="error", reason="broken", value=None, score=None, ci_low=None, ci_high=None, details={})
    loaded = EvaluationResult.from_dict(data)
    assert all(read_details(m) is None for m in loaded.metrics)
    figures = figures_for("P", {m.id: m for m in loaded.metrics})
    assert [f.image for f in figures] == [None, None, None]
    assert figures[0].note == "P.dcr_p5 error: broken"


@pytest.mark.parametrize("case", sorted(PINNED.glob("*.json")), ids=lambda p: p.stem)
def test_the_verdict_read_back_from_a_pinned_result_is_the_one_stored_with_it(case):
    """The pinned results (bootstrap_copy, gaussian_copula, independent) were written
    before the metrics owned their verdict signals: the verdict from their details,
    typed and read back, is the same."""
    result = EvaluationResult.from_json(case.read_text(encoding="utf-8"))
    assert privacy_verdict(result.metrics).to_dict() == result.extra["privacy_verdict"]


def test_the_verdict_hears_only_the_metrics_that_register_a_role(monkeypatch):
    result = EvaluationResult.from_json((PINNED / "veterans-bootstrap_copy-2.json").read_text(encoding="utf-8"))
    assert "P.exact" in privacy_verdict(result.metrics).signals
    monkeypatch.setitem(METRICS, "P.exact", dataclasses.replace(METRICS["P.exact"], verdict=None))
    assert "P.exact" not in privacy_verdict(result.metrics).signals


def test_a_third_party_metric_without_a_figure_has_none_and_breaks_nothing(monkeypatch, gbsg2, gbsg2_split):
    monkeypatch.syspath_prepend(str(PLUGIN))
    registered = dict(METRICS)
    try:
        importlib.import_module("safe_bench_toy_plugin.metrics")
        spec = METRICS["S.toy_means"]
        assert (spec.details, spec.figure, spec.verdict) == (None, None, None)
        result = evaluate(gbsg2_split.train, gbsg2_split.holdout, None, gbsg2.schema, n_bootstrap=10,
                          metrics=["S.ks", "S.toy_means"])
        loaded = EvaluationResult.from_json(result.to_json())
        toy = loaded.metric("S.toy_means")
        assert toy.ok and read_details(toy) is None
        figures = figures_for("S", {m.id: m for m in loaded.metrics})
        assert [f.title for f in figures] == ["Marginals: train versus synthetic", "Association differences between column pairs"]
        assert figures[0].image is not None and figures[1].note == "S.pairs was not evaluated"
        assert "S.toy_means" in evaluation_html(loaded)
    finally:
        METRICS.clear()
        METRICS.update(registered)
        for name in ("safe_bench_toy_plugin.metrics", "safe_bench_toy_plugin"):
            sys.modules.pop(name, None)
