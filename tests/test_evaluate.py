"""The evaluation path end to end through the Python API."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fake_generators
from html_page import Page
from safe_bench import EvaluationResult, evaluate, evaluate_generator, load_generator
from safe_bench.data.io import write_table
from safe_bench.errors import GeneratorError
from safe_bench.evaluation.evaluate import SCHEMA_VERSION, Stages


@pytest.fixture(scope="module")
def runs(gbsg2):
    return {
        name: evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator(name), seed=0)
        for name in ("independent", "gaussian_copula", "bootstrap_copy")
    }


def test_result_carries_every_metric_pillar_and_reference(runs):
    result = runs["gaussian_copula"].result
    assert {"S.ks", "S.tv", "C.km", "P.exact", "P.dcr_share"} <= {m.id for m in result.metrics}
    assert set(result.pillars) == {"S", "C", "P", "SAFE"}
    for m in result.metrics:
        assert m.status == "ok", (m.id, m.reason)
        assert 0 <= m.ci_low <= m.score <= m.ci_high <= 1
        assert m.reference is not None
    assert result.rows == {"train": 480, "holdout": 206, "synthetic": 480}


def test_to_frame_has_safe_pillars_then_every_metric_by_name(runs):
    from safe_bench.metrics.registry import METRICS

    result = runs["gaussian_copula"].result
    frame = result.to_frame()
    head = frame[frame["level"] != "metric"]
    assert list(head["id"]) == ["SAFE", "S", "C", "P"] and list(head["level"]) == ["SAFE", "pillar", "pillar", "pillar"]
    for key in ("SAFE", "S", "C", "P"):
        row = frame.set_index("id").loc[key]
        assert row["score"] == result.score(key) and row["ci_low"] == result.pillars[key].ci_low
    metrics = frame[frame["level"] == "metric"]
    assert list(metrics["id"]) == [m.id for m in result.metrics]
    assert list(metrics["name"]) == [METRICS[m.id].name for m in result.metrics]
    assert list(metrics["value"]) == [m.value for m in result.metrics]
    assert head["value"].isna().all()


def test_short_repr_and_notebook_view(runs):
    result = runs["bootstrap_copy"].result
    text = repr(result)
    assert len(text) < 300 and f"SAFE {result.score():.3f}" in text and f"P {result.score('P'):.3f}" in text
    statuses = [m.status for m in result.metrics]
    assert f"{len(statuses)} metrics ({statuses.count('ok')} ok" in text
    page = Page(result._repr_html_())
    ids = [row[0] for row in page.rows if row and row[0] != "id"]
    assert ids == ["SAFE", "S", "C", "P", *(m.id for m in result.metrics)]
    assert result.extra["privacy_verdict"]["text"] in page.words  # a copy of train: the verdict is shown
    judged = result.to_frame().set_index("id")["against_reference"]
    assert result.copying and all("no evidence of quality" in judged[k] for k in ("S", "C"))
    assert "no evidence of quality" not in judged["P"] + judged["SAFE"]


def test_to_html_writes_the_evaluation_page(runs, tmp_path):
    from safe_bench.report.html import evaluation_html

    result = runs["independent"].result
    result.to_html(tmp_path / "page.html", title="independent")
    written = (tmp_path / "page.html").read_text()
    assert "<html" in written and "independent" in written
    assert written.split("</head>")[1].split("<footer")[0] == evaluation_html(result, title="independent").split(
        "</head>")[1].split("<footer")[0]


def test_details_are_tidy_frames_that_agree_with_scipy(runs, gbsg2):
    from scipy.stats import ks_2samp

    from safe_bench import split

    run = runs["gaussian_copula"]
    train = split(gbsg2.frame, gbsg2.schema, seed=0).train
    ks = run.result.details("S.ks")["columns"]
    assert ks.index.name == "columns" and set(ks.index) == {"age", "estrec", "pnodes", "progrec", "tsize", "time"}
    for column, row in ks.iterrows():
        assert row["ks"] == pytest.approx(ks_2samp(train[column], run.synthetic[column]).statistic, abs=1e-9)
    summary = run.result.details("S.detect")["summary"]
    assert summary.loc["auc", "value"] == run.result.metric("S.detect").details["auc"]
    terms = run.result.details("C.cox")["terms"]
    assert len(terms) == len(run.result.metric("C.cox").details["terms"]) and terms.index.name == "terms"
    with pytest.raises(KeyError, match="S.nope"):
        run.result.details("S.nope")


def test_json_round_trips_and_is_versioned(runs):
    result = runs["independent"].result
    data = json.loads(result.to_json())
    assert data["schema_version"] == SCHEMA_VERSION
    back = EvaluationResult.from_json(result.to_json())
    assert back.to_json() == result.to_json()


def test_same_inputs_and_seed_give_byte_identical_json(gbsg2):
    texts = {
        evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("gaussian_copula"), seed=5).result.to_json()
        for _ in range(2)
    }
    assert len(texts) == 1
    other = evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("gaussian_copula"), seed=6)
    assert other.result.to_json() not in texts


def test_leaky_generator_is_worse_on_privacy_and_independent_worse_on_fidelity(runs):
    leaky, indep = runs["bootstrap_copy"].result, runs["independent"].result
    assert leaky.pillars["P"].ci_high < indep.pillars["P"].ci_low
    # `independent` keeps marginals but loses every association: clearly below the real reference.
    assert indep.score("S") < indep.pillars["S"].reference - 0.05


def test_without_holdout_the_metrics_that_need_one_are_skipped_with_the_reason(gbsg2_split, gbsg2):
    result = evaluate(gbsg2_split.train, gbsg2_split.holdout, None, gbsg2.schema)
    exact = result.metric("P.exact")
    assert exact.status == "skipped"
    assert exact.reason == "no holdout: pass --holdout with real rows the generator never saw"
    assert result.metric("S.ks").ok and result.metric("S.ks").reference is None


CHEAP = {"metrics": ["S.ks", "P.dcr_share"], "n_bootstrap": 10}


def test_the_protocol_reports_its_stages_and_the_one_it_failed_in(gbsg2):
    fake_generators.register()
    entered: list[str] = []
    stages = Stages(entered.append)
    run = evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("independent"), seed=0, stages=stages, **CHEAP)
    assert entered == ["split", "fit", "sample", "evaluate"] and set(stages.seconds) == set(entered)
    assert run.fit_seconds == stages.seconds["fit"] and run.result.label == "independent"

    again = Stages(entered.append)
    entered.clear()
    reused = evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("raising"), seed=0, synthetic=run.synthetic,
                                stages=again, **CHEAP)
    assert entered == ["split", "evaluate"] and (reused.fit_seconds, reused.sample_seconds) == (0.0, 0.0)
    assert reused.result.to_json() == run.result.to_json().replace('"label": "independent"', '"label": "raising"')

    failing = Stages()
    with pytest.raises(GeneratorError, match="generator 'raising' failed: RuntimeError; its message and traceback"):
        evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("raising"), seed=0, stages=failing, **CHEAP)
    assert failing.current == "fit" and set(failing.seconds) == {"split"}


def test_a_sample_has_the_rows_asked_for_and_a_table_source_its_own(gbsg2, tmp_path):
    """A generator returning fewer rows than asked is broken; a file source serves its
    file whatever is asked, and is evaluated with the file's rows."""
    fake_generators.register()
    with pytest.raises(GeneratorError, match="generator 'short' returned 479 rows; 480 were asked for"):
        evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("short"), seed=0, **CHEAP)
    path = tmp_path / "synthetic.csv"
    write_table(gbsg2.frame.iloc[:300], path)
    run = evaluate_generator(gbsg2.frame, gbsg2.schema, load_generator("file", path=str(path)), seed=0, n=100, **CHEAP)
    assert run.result.rows["synthetic"] == 300 and len(run.synthetic) == 300


mixed_tables = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(
        st.lists(st.one_of(st.floats(-1e6, 1e6), st.none()), min_size=n, max_size=n),
        st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n),
        st.lists(st.floats(-5, 5), min_size=n, max_size=n),
    )
)


def frame_of(t) -> pd.DataFrame:
    num, cat, other = t
    return pd.DataFrame({"x": pd.Series(num, dtype=float), "c": pd.Series(cat, dtype=object), "z": other})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_tables)
def test_a_table_against_itself_scores_one_on_ks_and_tv(t):
    frame = frame_of(t)
    from safe_bench import Kind, Schema

    schema = Schema(kinds={"x": Kind.NUMERIC, "c": Kind.CATEGORICAL, "z": Kind.NUMERIC})
    result = evaluate(frame, frame, None, schema, metrics=["S.ks", "S.tv"], n_bootstrap=10)
    for m in result.metrics:
        if m.ok:
            assert m.score == pytest.approx(1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_tables, mixed_tables)
def test_scores_stay_in_unit_interval_for_any_mixed_tables(a, b):
    from safe_bench import Kind, Schema

    schema = Schema(kinds={"x": Kind.NUMERIC, "c": Kind.CATEGORICAL, "z": Kind.NUMERIC})
    real, synth = frame_of(a), frame_of(b)
    result = evaluate(real, synth, real.iloc[::-1], schema, metrics=["S", "P"], n_bootstrap=10)
    for m in result.metrics:
        assert m.status in {"ok", "skipped"}, (m.id, m.reason)
        if m.ok:
            assert 0.0 <= m.score <= 1.0 and 0.0 <= m.ci_low <= m.ci_high <= 1.0
    for p in result.pillars.values():
        if p.score is not None:
            assert 0.0 <= p.score <= 1.0 and 0.0 <= p.ci_low <= p.ci_high <= 1.0
