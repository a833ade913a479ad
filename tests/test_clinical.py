"""Pillar C on real data: the statistics are lifelines' own, the orderings hold, bad
cases are skipped with a reason, and details carry what figures need."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from lifelines.utils import concordance_index, restricted_mean_survival_time

from safe_bench import evaluate, load_dataset, load_generator
from safe_bench.data.claims import Finding
from safe_bench.data.datasets.mds_ipssr_sim import GROUP_SHARES, MEDIAN_SURVIVAL_YEARS, RISK_GROUPS, simulate
from safe_bench.data.protocol import split
from safe_bench.data.schema import Kind, Schema
from safe_bench.data.validation import conform
from safe_bench.errors import InputError
from safe_bench.evaluation.encoding import Encoding
from safe_bench.evaluation.known_answers import known_split
from safe_bench.metrics.charts import Outcome
from safe_bench.metrics.clinical import tstr
from safe_bench.metrics.clinical.coxmodel import COX_MAX_ROWS, PENALIZER
from safe_bench.metrics.clinical.estimators import (
    EventTimes,
    Horizon,
    LevelCurves,
    StepCurve,
    concordance_pairs,
    curve_distance,
    kaplan_meier,
    weighted_concordance,
)
from safe_bench.metrics.clinical.partial_likelihood import NotConverged, fit_partial_likelihood

C_METRICS = ["C.km", "C.logrank", "C.cox", "C.rmst", "C.censoring", "C.tstr", "C.score", "C.findings"]


def synthetic_from(generator: str, train: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    gen = load_generator(generator)
    gen.fit(train, schema, seed=0)
    return gen.sample(len(train), seed=0)


def shuffled_survival(frame: pd.DataFrame, schema: Schema, seed: int = 1) -> pd.DataFrame:
    """(time, event) pairs moved to other rows: marginals intact, associations broken."""
    assert schema.survival is not None
    cols = [schema.survival.time, schema.survival.event]
    out = frame.copy()
    out[cols] = frame[cols].to_numpy()[np.random.default_rng(seed).permutation(len(frame))]
    return out


@pytest.fixture(scope="module")
def gbsg2_runs(gbsg2, gbsg2_split):
    """The C pillar on GBSG2 for the holdout itself, two baselines and shuffled times."""
    train, holdout = gbsg2_split.train, gbsg2_split.holdout
    tables = {
        "holdout": holdout,
        "gaussian_copula": synthetic_from("gaussian_copula", train, gbsg2.schema),
        "independent": synthetic_from("independent", train, gbsg2.schema),
        "shuffled": shuffled_survival(holdout, gbsg2.schema),
    }
    return {name: evaluate(train, table, holdout, gbsg2.schema, metrics=["C"]) for name, table in tables.items()}


# -- the survival statistics are lifelines' ---------------------------------------------
def test_kaplan_meier_band_median_and_rmst_equal_lifelines(gbsg2):
    frame = gbsg2.frame
    for level in [None, "I", "II", "III"]:
        rows = np.ones(len(frame), bool) if level is None else (frame["tgrade"] == level).to_numpy()
        time, event = frame["time"].to_numpy()[rows], frame["cens"].to_numpy()[rows]
        curve = kaplan_meier(time, event)
        kmf = KaplanMeierFitter().fit(time, event)
        grid = np.linspace(0, time.max(), 200)
        np.testing.assert_allclose(curve.at(grid), kmf.survival_function_at_times(grid).to_numpy(), atol=1e-12)
        ci = kmf.confidence_interval_survival_function_
        at = np.searchsorted(ci.index.to_numpy(), grid, side="right") - 1
        low, high = curve.band(grid)
        np.testing.assert_allclose(low, ci.iloc[at, 0].to_numpy(), atol=1e-10)
        np.testing.assert_allclose(high, ci.iloc[at, 1].to_numpy(), atol=1e-10)
        assert curve.median() == kmf.median_survival_time_
        assert curve.rmst(1500.0) == pytest.approx(restricted_mean_survival_time(kmf, t=1500.0), rel=1e-12)


def test_weighted_kaplan_meier_equals_lifelines_weights(gbsg2):
    frame = gbsg2.frame
    weights = np.random.default_rng(0).integers(0, 3, size=len(frame)).astype(float)
    curve = kaplan_meier(frame["time"].to_numpy(), frame["cens"].to_numpy(), weights)
    keep = weights > 0
    kmf = KaplanMeierFitter().fit(frame["time"][keep], frame["cens"][keep], weights=weights[keep])
    grid = np.linspace(0, frame["time"].max(), 200)
    np.testing.assert_allclose(curve.at(grid), kmf.survival_function_at_times(grid).to_numpy(), atol=1e-12)


def test_level_curves_under_a_weight_matrix_equal_lifelines_per_level_and_column(gbsg2):
    """Every level's curve, read at its pieces' starts, for every column of a weight
    matrix at once (float32 resample counts, a zero-weight row included): lifelines'
    weighted Kaplan-Meier of that level's rows with that column's weights, and the
    level's weighted rows."""
    frame = gbsg2.frame
    sample = EventTimes.of(frame["time"].to_numpy(), frame["cens"].to_numpy())
    codes = pd.factorize(frame["tgrade"], sort=True)[0]
    n_levels = int(codes.max()) + 1
    horizon = Horizon.at(2000.0, sample.times, np.array([100.0, 777.0, 1500.5]))
    curves = LevelCurves.on(sample, codes, n_levels, [horizon] * n_levels)
    rng = np.random.default_rng(0)
    weights = np.stack([np.bincount(rng.integers(0, len(frame), len(frame)), minlength=len(frame))
                        for _ in range(3)], axis=1).astype(np.float32)
    survival, rows = curves(weights)
    assert survival.shape == (n_levels * len(horizon.starts), 3) and rows.shape == (n_levels, 3)
    for k in range(n_levels):
        for j in range(3):
            keep = (codes == k) & (weights[:, j] > 0)
            kmf = KaplanMeierFitter().fit(frame["time"][keep], frame["cens"][keep], weights=weights[keep, j])
            expected = kmf.survival_function_at_times(horizon.starts).to_numpy()
            got = survival[k * len(horizon.starts) : (k + 1) * len(horizon.starts), j]
            np.testing.assert_allclose(got, expected, atol=1e-12)
            assert rows[k, j] == weights[codes == k, j].sum()
    own, own_rows = curves()  # no weights: the sample itself, one column
    assert own.shape == (n_levels * len(horizon.starts), 1)
    assert list(own_rows[:, 0]) == [float((codes == k).sum()) for k in range(n_levels)]


def test_curve_distance_hand_worked():
    # S_a drops to 0.5 at t=1; S_b drops to 0.5 at t=3: |gap| = 0.5 on [1, 3) -> IAD 1.0.
    a = StepCurve(np.array([1.0]), np.array([0.5]))
    b = StepCurve(np.array([3.0]), np.array([0.5]))
    iad, sup = curve_distance(a, b, tau=4.0)
    assert iad == pytest.approx(1.0)
    assert sup == pytest.approx(0.5)


@pytest.mark.parametrize("column", ["tgrade", "horTh"])
def test_logrank_equals_lifelines_plain_and_weighted(gbsg2, column):
    frame = gbsg2.frame
    time, event = frame["time"].to_numpy(), frame["cens"].to_numpy()
    codes = pd.Categorical(frame[column]).codes
    ours = EventTimes.of(time, event).logrank(codes, codes.max() + 1)
    theirs = multivariate_logrank_test(time, frame[column], event)
    assert ours.statistic == pytest.approx(theirs.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(theirs.p_value, rel=1e-8)
    # Frequency weights are the same test on repeated rows (a bootstrap replicate).
    counts = np.random.default_rng(1).integers(0, 3, size=len(frame))
    weighted = EventTimes.of(time, event).logrank(codes, codes.max() + 1, counts.astype(float))
    repeated = multivariate_logrank_test(
        np.repeat(time, counts), np.repeat(frame[column].to_numpy(), counts), np.repeat(event, counts)
    )
    assert weighted.statistic == pytest.approx(repeated.test_statistic, rel=1e-10)


def test_weighted_concordance_equals_lifelines(gbsg2):
    frame = gbsg2.frame
    time = np.round(frame["time"].to_numpy() / 30)  # month resolution: many tied times
    event = frame["cens"].to_numpy()
    risk = np.round(frame["pnodes"].to_numpy() / 3)  # many tied risks
    comparable, concordant = concordance_pairs(time, event, risk)
    assert weighted_concordance(comparable, concordant, np.ones(len(time)))[0] == pytest.approx(
        concordance_index(time, -risk, event), abs=1e-6
    )
    counts = np.random.default_rng(2).integers(0, 3, size=len(time))
    expected = concordance_index(np.repeat(time, counts), -np.repeat(risk, counts), np.repeat(event, counts))
    # Pairs of a row with its own copies are not pairs: lifelines counts them only when
    # they are comparable (one event, one censored at the same time), which cannot happen.
    assert weighted_concordance(comparable, concordant, counts.astype(float))[0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("months", [False, True], ids=["days", "months"])
@pytest.mark.parametrize("penalizer", [0.0, PENALIZER])
def test_partial_likelihood_fit_equals_lifelines_with_efron_ties(gbsg2, months, penalizer):
    """Coefficients, standard errors and log-likelihood against lifelines' CoxPHFitter:
    gbsg2's days (few ties), and the same times in months (heavy ties, where Efron's
    correction matters), plain and with the fallback's ridge penalty; a start near the
    maximum reaches the same maximum."""
    frame = gbsg2.frame
    x = pd.get_dummies(frame[["age", "pnodes", "progrec", "tsize", "horTh", "tgrade"]], columns=["horTh", "tgrade"],
                       drop_first=True, dtype=float)
    time = np.ceil(frame["time"] / 30.4) if months else frame["time"].astype(float)
    assert (time.value_counts() > 1).sum() > (50 if months else 0)
    expected = CoxPHFitter(penalizer=penalizer).fit(x.assign(T=time, E=frame["cens"]), "T", "E")
    for start in (None, expected.params_.to_numpy() * 0.9):
        got = fit_partial_likelihood(x.to_numpy(), time.to_numpy(), frame["cens"].to_numpy(bool),
                                     penalizer=penalizer, start=start)
        np.testing.assert_allclose(got.coef, expected.params_, rtol=1e-5)
        np.testing.assert_allclose(np.sqrt(np.diag(got.cov)), expected.standard_errors_, rtol=1e-5)
        # lifelines stops at a relative change of 1e-9; this fit's maximum is at least as high
        assert got.log_likelihood >= expected.log_likelihood_ - 1e-9 * abs(expected.log_likelihood_)


def _efron_by_hand(b: float, x: list[float], time: list[float], event: list[int]) -> float:
    """Efron's log partial likelihood of one covariate, term by term from his formula."""
    total = 0.0
    for t in sorted({t for t, e in zip(time, event, strict=True) if e}):
        risk = sum(math.exp(b * xi) for xi, ti in zip(x, time, strict=True) if ti >= t)
        dying = [xi for xi, ti, e in zip(x, time, event, strict=True) if ti == t and e]
        tied = sum(math.exp(b * xi) for xi in dying)
        total += sum(b * xi for xi in dying) - sum(math.log(risk - k / len(dying) * tied) for k in range(len(dying)))
    return total


def test_partial_likelihood_by_hand_and_on_collinear_covariates():
    """Seven rows with two and three deaths tied: the fit's log-likelihood is Efron's
    formula evaluated by hand at the fitted coefficient, and the formula is lower on
    either side of it (the maximum); duplicated covariates cannot be fitted."""
    x, time, event = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0], [1, 1, 2, 3, 3, 3, 4], [1, 1, 0, 1, 1, 1, 0]
    fit = fit_partial_likelihood(np.array(x)[:, None], np.array(time, float), np.array(event, bool))
    b = float(fit.coef[0])
    assert abs(b) > 0.1 and fit.log_likelihood == pytest.approx(_efron_by_hand(b, x, time, event), abs=1e-12)
    assert _efron_by_hand(b - 1e-3, x, time, event) < fit.log_likelihood > _efron_by_hand(b + 1e-3, x, time, event)
    collinear = np.column_stack([x, np.array(x) * 2, [0.1, 0.4, 0.2, 0.3, 0.5, 0.9, 0.7]])
    with pytest.raises(NotConverged, match="singular"):
        fit_partial_likelihood(collinear, np.array(time, float), np.array(event, bool))


def _lifelines_cox(frame: pd.DataFrame) -> pd.DataFrame:
    covariates = ["age", "estrec", "pnodes", "progrec", "tsize", "horTh", "menostat", "tgrade"]
    x = pd.get_dummies(frame[covariates], columns=["horTh", "menostat", "tgrade"], drop_first=True, dtype=float)
    fit = CoxPHFitter().fit(x.assign(time=frame["time"], cens=frame["cens"]), "time", "cens")
    return fit.summary.rename(index=lambda t: t.replace("_", "="))


def test_cox_tables_equal_lifelines_fitted_directly(gbsg2_runs, gbsg2_split):
    result = gbsg2_runs["gaussian_copula"].metric("C.cox")
    assert result.ok
    terms = result.details["terms"]
    expected = _lifelines_cox(gbsg2_split.train)
    assert set(terms) == set(expected.index)
    for term, row in expected.iterrows():
        got = terms[term]["train"]
        np.testing.assert_allclose(
            [got["hr"], got["low"], got["high"], got["p"]],
            [row["exp(coef)"], row["exp(coef) lower 95%"], row["exp(coef) upper 95%"], row["p"]],
            rtol=1e-6,
        )
    # The holdout reference's table is lifelines' fit of the holdout. That fit starts from
    # train's coefficients, this one from zero: both stop at lifelines' own criterion
    # (log-likelihood change below 1e-9 relative, as R), a few 1e-6 apart.
    reference = gbsg2_runs["gaussian_copula"].metric("C.cox").details["reference_details"]["terms"]
    holdout = _lifelines_cox(gbsg2_split.holdout)
    np.testing.assert_allclose([reference[t]["table"]["hr"] for t in holdout.index], holdout["exp(coef)"], rtol=2e-5)


def test_km_medians_in_details_equal_lifelines(gbsg2_runs, gbsg2_split):
    details = gbsg2_runs["gaussian_copula"].metric("C.km").details
    train = gbsg2_split.train
    for name in ["overall", "tgrade=III", "horTh=no"]:
        rows = np.ones(len(train), bool) if name == "overall" else (train[name.split("=")[0]] == name.split("=")[1]).to_numpy()
        kmf = KaplanMeierFitter().fit(train["time"][rows], train["cens"][rows])
        assert details["curves"][name]["train"]["median"] == kmf.median_survival_time_


def test_km_numbers_at_risk_count_the_rows_still_followed(gbsg2_runs, gbsg2_split):
    details = gbsg2_runs["gaussian_copula"].metric("C.km").details
    train = gbsg2_split.train
    for name in ["overall", "tgrade=III", "horTh=no"]:
        rows = np.ones(len(train), bool) if name == "overall" else (train[name.split("=")[0]] == name.split("=")[1]).to_numpy()
        curve = details["curves"][name]["train"]
        assert np.asarray(curve["risk_times"]).tolist() == [0, 500, 1000, 1500, 2000, 2500]  # round times to 2659 days
        # lifelines' event table: at risk just before each time = followed at least that long
        table = KaplanMeierFitter().fit(train["time"][rows], train["cens"][rows]).event_table
        expected = [int(table["at_risk"][table.index >= t].iloc[0]) if (table.index >= t).any() else 0
                    for t in curve["risk_times"]]
        assert np.asarray(curve["at_risk"]).tolist() == expected
    assert details["time_unit"] == "days"


def test_km_figure_has_one_panel_per_variable_with_its_levels(gbsg2_runs):
    from safe_bench.metrics.clinical.km import ALL_PATIENTS, HOLDOUT, SYNTHETIC, TRAIN, _km_panels
    from safe_bench.metrics.registry import read_details, read_reference_details

    result = gbsg2_runs["gaussian_copula"].metric("C.km")
    plot = _km_panels(Outcome(read_details(result), read_reference_details(result), result.value))
    assert plot.panels.keys() == {"overall", "horTh", "menostat", "tgrade"} and next(iter(plot.panels)) == "overall"
    assert [lv.level for lv in plot.panels["overall"]] == [ALL_PATIENTS]
    assert [lv.level for lv in plot.panels["tgrade"]] == ["I", "II", "III"]  # each level once, in one panel
    for levels in plot.panels.values():
        for level in levels:
            assert set(level.curves) == {TRAIN, SYNTHETIC, HOLDOUT} and set(level.at_risk) == {TRAIN, SYNTHETIC}
    assert plot.xlabel == "time (days)" and list(plot.risk_times) == [0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0]
    assert "train solid with its 95 % band shaded" in plot.caption


# -- prognostic scores on the bundled data ----------------------------------------------
def test_npi_on_gbsg2_orders_survival_by_risk_group(gbsg2):
    frame = gbsg2.frame
    (npi,) = gbsg2.schema.scores
    groups = npi.groups(frame)
    assert set(groups) == {"good", "moderate", "poor"}
    fits = {g: KaplanMeierFitter().fit(frame["time"][groups == g], frame["cens"][groups == g]) for g in npi.labels}
    # GBSG2 is node-positive: the good group is small (22 patients), so its median is
    # noisy; its restricted mean survival is the best, and the rest is ordered.
    rmst = {g: restricted_mean_survival_time(fit, t=2000.0) for g, fit in fits.items()}
    assert rmst["good"] > rmst["moderate"] > rmst["poor"]
    assert fits["moderate"].median_survival_time_ > fits["poor"].median_survival_time_
    moderate, poor = (groups == "moderate").to_numpy(), (groups == "poor").to_numpy()
    test = logrank_test(frame["time"][moderate], frame["time"][poor], frame["cens"][moderate], frame["cens"][poor])
    assert test.p_value < 1e-6


def test_mds_ipssr_sim_follows_the_published_ipssr_figures():
    ds = load_dataset("mds_ipssr_sim")
    frame, ipssr = ds.frame, ds.schema.scores[0]
    assert len(frame) >= 5000
    assert "SIMULATED" in ds.description and "Greenberg" in ds.source
    groups = ipssr.groups(frame)
    shares = groups.value_counts(normalize=True).reindex(RISK_GROUPS).to_numpy()
    np.testing.assert_allclose(shares, GROUP_SHARES, atol=1 / len(frame))
    for group, published in zip(RISK_GROUPS, MEDIAN_SURVIVAL_YEARS, strict=True):
        rows = (groups == group).to_numpy()
        kmf = KaplanMeierFitter().fit(frame["os_months"][rows] / 12, frame["death"][rows])
        assert kmf.median_survival_time_ == pytest.approx(published, rel=0.1), group
    # The shipped file is what the seeded generator makes.
    pd.testing.assert_frame_equal(frame, conform(simulate(), ds.schema, table="simulated"))


# -- orderings ------------------------------------------------------------------------------
def test_every_c_metric_runs_and_scores_in_range(gbsg2_runs):
    for name, result in gbsg2_runs.items():
        for m in result.metrics:
            assert m.status == "ok", (name, m.id, m.reason)
            assert 0 <= m.ci_low <= m.score <= m.ci_high <= 1, (name, m.id)
        assert [m.id for m in result.metrics] == C_METRICS


def test_independent_scores_lower_on_c_than_gaussian_copula(gbsg2_runs):
    copula, independent = gbsg2_runs["gaussian_copula"], gbsg2_runs["independent"]
    assert independent.score("C") < copula.score("C") - 0.1
    for metric in ["C.cox", "C.findings", "C.tstr", "C.score"]:
        assert independent.metric(metric).score < copula.metric(metric).score, metric


def test_shuffled_survival_times_lose_the_message_but_not_the_overall_curve(gbsg2_runs):
    holdout, shuffled = gbsg2_runs["holdout"], gbsg2_runs["shuffled"]
    # (C.logrank's effect-size comparison cannot tell at the holdout's 206 rows; the
    # known-answer suite checks it on FLCHAIN, tests/test_known_answers.py)
    for metric, margin in [("C.cox", 0.15), ("C.findings", 0.2)]:
        assert shuffled.metric(metric).score < holdout.metric(metric).score - margin, metric
    km = shuffled.metric("C.km").details["curves"]["overall"]
    assert km["score"] == pytest.approx(holdout.metric("C.km").details["curves"]["overall"]["score"])
    assert km["score"] > 0.95


def test_holdout_as_synthetic_reproduces_nearly_all_findings():
    ds = load_dataset("mds_ipssr_sim")
    parts = split(ds.frame, ds.schema, seed=0)
    result = evaluate(parts.train, parts.holdout, None, ds.schema, metrics=["C.findings", "C.score"])
    findings = result.metric("C.findings")
    assert findings.details["source"] == "derived from train"
    assert len(findings.details["findings"]) >= 8
    assert findings.score >= 0.8
    assert result.metric("C.score").score > 0.95


def test_holdout_reproduces_every_strong_finding_on_real_data():
    ds = load_dataset("flchain")
    parts = split(ds.frame, ds.schema, seed=0)
    findings = evaluate(parts.train, parts.holdout, None, ds.schema, metrics=["C.findings"]).metric("C.findings")
    strong = [f for f in findings.details["findings"] if f["train"]["p"] < 1e-6]
    assert len(strong) >= 2
    assert all(f["reproduced"] for f in strong)
    # Findings near the threshold replicate about as often as replication theory says
    # (Goodman 1992): the holdout does not reproduce all of them, and that is the ceiling.
    assert findings.score >= 0.6


def test_tstr_cox_fit_that_does_not_converge_moves_to_a_stronger_penalty():
    """360 FLCHAIN rows (half a known-answer holdout) on which the Cox model's coordinate
    descent diverges at alpha 1e-3 and does not converge at 1e-2 (scikit-survival's own
    limit of 100,000 iterations stops it unconverged, with a warning): the fit moves on to
    1e-1, converges within COX_MAX_ITER, and no warning escapes."""
    from sklearn.exceptions import ConvergenceWarning
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    ds = load_dataset("flchain")
    parts = known_split(ds.frame.sample(2_400, random_state=0).reset_index(drop=True), ds.schema, 3)
    rows = parts.holdout.iloc[len(parts.holdout) // 2 :].reset_index(drop=True)
    covariates = Schema(kinds={c: ds.schema.kinds[c] for c in ds.schema.covariates})
    x = Encoding.fit(parts.train, covariates).transform(rows)
    survival = ds.schema.survival
    y = Surv.from_arrays(rows[survival.event].to_numpy() > 0, rows[survival.time].to_numpy())
    with pytest.warns(ConvergenceWarning, match="terminated early"):
        CoxnetSurvivalAnalysis(alphas=[tstr.COX_ALPHAS[1]], l1_ratio=tstr.COX_L1_RATIO).fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = tstr._survival_task(ds.schema).fit(x, rows, 0)
    assert list(model.alphas_) == [tstr.COX_ALPHAS[2]]


@pytest.mark.parametrize("target, measure", [("menostat", "ROC AUC"), ("age", "R^2")])
def test_tstr_scores_a_target_beside_survival(gbsg2, gbsg2_split, target, measure):
    schema = gbsg2.schema.with_roles(target=target)
    train, holdout = gbsg2_split.train, gbsg2_split.holdout
    scores = {}
    for generator in ("gaussian_copula", "independent"):
        synthetic = synthetic_from(generator, train, schema)
        result = evaluate(train, synthetic, holdout, schema, metrics=["C.tstr"], n_bootstrap=20).metric("C.tstr")
        assert result.ok, result.reason
        tasks = result.details["tasks"]
        assert tasks["target"]["measure"] == measure and set(tasks) == {"survival", "target"}
        assert tasks["target"]["train"] > (0.8 if measure == "ROC AUC" else 0.3)
        scores[generator] = tasks["target"]["score"]
    assert scores["independent"] < scores["gaussian_copula"] - 0.3


# -- declared findings ------------------------------------------------------------------------
def test_declared_findings_are_the_ones_tested(gbsg2, gbsg2_split):
    schema = gbsg2.schema.with_roles(
        findings=(
            Finding("hazard_ratio", "horTh", level="yes", direction="lower"),
            Finding("hazard_ratio", "age", direction="higher"),  # not significant on train
            Finding("hazard_ratio", "tgrade", level="I", direction="lower"),  # the reference level
            Finding("logrank", "tgrade"),
        )
    )
    result = evaluate(gbsg2_split.train, gbsg2_split.train, None, schema, metrics=["C.findings"]).metric("C.findings")
    assert result.details["source"] == "declared"
    listed = {f["finding"]: f for f in result.details["findings"]}
    assert listed["horTh=yes lowers the hazard: HR < 1, p < 0.05"]["holds_in_train"]
    assert not listed["age raises the hazard: HR > 1, p < 0.05"]["holds_in_train"]
    assert "survival differs across tgrade: log-rank p < 0.05" in listed
    assert any("reference level" in u for u in result.details["untestable"])
    assert result.score == 1.0  # train against itself reproduces every verdict, true or false


# -- robustness: skipped with a reason, never a crash, never a fake agreement -------------------
def _only_events(frame: pd.DataFrame, keep: int) -> pd.DataFrame:
    out = frame.copy()
    events = np.flatnonzero(out["cens"].to_numpy() > 0)
    out.loc[events[keep:], "cens"] = 0
    return out


@pytest.mark.parametrize("keep, phrase", [(3, "3 event(s)"), (0, "every patient is censored")])
def test_too_few_events_in_the_table_skips_with_the_reason(gbsg2, gbsg2_split, keep, phrase):
    synthetic = _only_events(gbsg2_split.holdout, keep)
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["C"])
    for metric in ["C.logrank", "C.cox", "C.tstr", "C.score", "C.findings"]:
        m = result.metric(metric)
        assert m.status == "skipped" and "too few events" in m.reason and phrase in m.reason, (metric, m.reason)
    # What can be measured is, and it is low: no fake agreement.
    assert result.metric("C.censoring").score < 0.7
    assert result.metric("C.km").score < 0.8


def test_all_censored_train_skips_survival_metrics(gbsg2, gbsg2_split):
    train = _only_events(gbsg2_split.train, 0)
    result = evaluate(train, gbsg2_split.holdout, None, gbsg2.schema, metrics=["C"])
    for m in result.metrics:
        if m.id == "C.censoring":
            assert m.ok
            continue
        assert m.status == "skipped", m.id
        assert "train" in m.reason or "holdout" in m.reason, (m.id, m.reason)


def test_a_group_level_with_too_few_rows_is_left_out_or_skipped(gbsg2, gbsg2_split):
    schema = gbsg2.schema.with_roles(groups=("menostat",))
    train, holdout = gbsg2_split.train.copy(), gbsg2_split.holdout.copy()
    train.loc[0, "menostat"] = "Peri"  # a level with one train row is left out, and not named (one patient)
    result = evaluate(train, holdout, None, schema, metrics=["C.km", "C.logrank"])
    assert result.metric("C.km").details["left_out"] == ["menostat=rare level 1: 1 train row(s), fewer than 10"]
    assert result.metric("C.logrank").ok
    # With one usable level left, the group variable cannot be tested at all.
    train.loc[train.index[5:], "menostat"] = "Post"
    result = evaluate(train, holdout, None, schema, metrics=["C.logrank"]).metric("C.logrank")
    assert result.status == "skipped" and "no group variable to test" in result.reason
    # The table under test lost a level: its log-rank test cannot agree, its curve scores 0.
    result = evaluate(gbsg2_split.train, holdout.assign(menostat="Post"), None, schema, metrics=["C.logrank", "C.km"])
    assert result.metric("C.logrank").details["groups"]["menostat"]["score"] == 0.0
    assert result.metric("C.km").details["curves"]["menostat=Pre"]["score"] == 0.0


def test_collinear_covariates_get_a_penalised_fit_said_in_details(gbsg2, gbsg2_split):
    def with_copy(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(tsize_copy=frame["tsize"] * 2.0)  # exactly collinear with tsize

    schema = Schema(kinds={**gbsg2.schema.kinds, "tsize_copy": Kind.NUMERIC}, survival=gbsg2.schema.survival)
    result = evaluate(with_copy(gbsg2_split.train), with_copy(gbsg2_split.holdout), None, schema, metrics=["C.cox"])
    cox = result.metric("C.cox")
    assert cox.ok
    assert cox.details["model"]["penalizer"] > 0
    assert "did not converge" in cox.details["model"]["note"]


def test_a_separated_covariate_is_penalised_or_skipped_never_agreed(gbsg2, gbsg2_split):
    schema = Schema(kinds={**gbsg2.schema.kinds, "flag": Kind.BOOLEAN}, survival=gbsg2.schema.survival)
    train = gbsg2_split.train.assign(flag=0.0)
    censored = np.flatnonzero(train["cens"].to_numpy() == 0)
    train.loc[censored[:40], "flag"] = 1.0  # no event where flag = 1: its hazard ratio runs to 0
    holdout = gbsg2_split.holdout.assign(flag=(np.arange(len(gbsg2_split.holdout)) % 5 == 0).astype(float))
    result = evaluate(train, holdout, None, schema, metrics=["C.cox"]).metric("C.cox")
    assert result.ok, result.reason
    assert "separated" in result.details["model"]["note"]
    assert "ridge penalty" in result.details["model"]["note"]
    assert result.details["terms"]["flag"]["overlap"] < 0.5


def test_constant_covariates_are_left_out_of_train_and_skip_on_the_table(gbsg2, gbsg2_split):
    train, holdout = gbsg2_split.train.copy(), gbsg2_split.holdout.copy()
    result = evaluate(train.assign(estrec=5.0), holdout, None, gbsg2.schema, metrics=["C.cox"]).metric("C.cox")
    assert result.ok and result.details["model"]["left_out"] == {"estrec": "constant in train"}
    result = evaluate(train, holdout.assign(estrec=5.0), None, gbsg2.schema, metrics=["C.cox"]).metric("C.cox")
    assert result.status == "skipped"
    assert "'estrec'" in result.reason and "constant" in result.reason


def test_a_schema_without_score_skips_c_score(whas500):
    parts = split(whas500.frame, whas500.schema, seed=0)
    result = evaluate(parts.train, parts.holdout, None, whas500.schema, metrics=["C.score"]).metric("C.score")
    assert result.status == "skipped" and "no prognostic score declared" in result.reason


def test_non_positive_times_are_refused_naming_the_column(gbsg2, gbsg2_split):
    synthetic = gbsg2_split.holdout.copy()
    synthetic.loc[synthetic.index[:3], "time"] = 0.0
    with pytest.raises(InputError, match="survival time column 'time' in synthetic table has 3 value"):
        evaluate(gbsg2_split.train, synthetic, None, gbsg2.schema, metrics=["C"])


# -- details ------------------------------------------------------------------------------------
def test_details_carry_curves_cox_tables_risk_groups_and_findings(gbsg2_runs, gbsg2_split):
    result = gbsg2_runs["gaussian_copula"]
    km = result.metric("C.km").details
    assert km["groups_source"] == "declared" and len(km["grid"]) <= 100
    for name, entry in km["curves"].items():
        for side in ("train", "table"):
            curve = entry[side]
            assert len(curve["survival"]) == len(km["grid"])
            assert np.all(np.array(curve["low"]) <= np.array(curve["survival"]) + 1e-12)
            assert np.all(np.array(curve["survival"]) <= np.array(curve["high"]) + 1e-12)
        holdout_curve = km["reference_details"]["curves"][name]
        assert "table" in holdout_curve and "train" not in holdout_curve  # H's curves, train's once
    kmf = KaplanMeierFitter().fit(gbsg2_split.holdout["time"], gbsg2_split.holdout["cens"])
    np.testing.assert_allclose(
        km["reference_details"]["curves"]["overall"]["table"]["survival"],
        np.round(kmf.survival_function_at_times(km["grid"]).to_numpy(), 4),
    )
    cox = result.metric("C.cox").details
    assert {"hr", "low", "high", "p"} <= set(cox["terms"]["pnodes"]["train"]) == set(cox["terms"]["pnodes"]["table"])
    npi = result.metric("C.score").details["scores"]["NPI"]
    assert sum(v["train"] for v in npi["distribution"].values()) == pytest.approx(1.0)
    assert set(npi["curves"]) <= {"good", "moderate", "poor"}
    findings = result.metric("C.findings").details
    assert findings["source"] == "derived from train"
    assert all(isinstance(f["reproduced"], bool) and f["finding"] for f in findings["findings"])
    assert "reference_details" in result.metric("C.findings").details
    # Compact: the whole C result stays well under a megabyte of JSON.
    assert len(result.to_json(indent=None)) < 300_000


def test_c_results_are_deterministic(gbsg2, gbsg2_split, gbsg2_runs):
    again = evaluate(gbsg2_split.train, gbsg2_split.holdout, gbsg2_split.holdout, gbsg2.schema, metrics=["C"])
    assert again.to_json() == gbsg2_runs["holdout"].to_json()
    json.loads(again.to_json())


def test_cox_subsample_size_is_written_into_details(gbsg2):
    # A large table (resampled rows of GBSG2) is fitted on a seeded subsample.
    frame = gbsg2.frame
    big = frame.iloc[np.random.default_rng(0).integers(0, len(frame), COX_MAX_ROWS + 500)].reset_index(drop=True)
    result = evaluate(big, frame, None, gbsg2.schema, metrics=["C.cox"], n_bootstrap=10).metric("C.cox")
    assert result.details["model"]["subsample"] == {
        "max_rows": COX_MAX_ROWS,
        "fitted_rows": {"train": COX_MAX_ROWS, "table": len(frame)},
    }


def test_derived_findings_are_the_benjamini_hochberg_discoveries_of_train(whas500):
    from scipy.stats import false_discovery_control

    train = split(whas500.frame, whas500.schema, seed=0).train
    covariates = whas500.schema.covariates  # numeric and 0/1 columns: one Cox term each
    cox = CoxPHFitter().fit(train[[*covariates, "lenfol", "fstat"]], "lenfol", "fstat").summary
    candidates = {
        f"{term} {'raises' if row['coef'] > 0 else 'lowers'} the hazard": row["p"] for term, row in cox.iterrows()
    }
    for group in whas500.schema.groups:
        test = multivariate_logrank_test(train["lenfol"], train[group], train["fstat"])
        candidates[f"survival differs across {group}"] = test.p_value
    q = false_discovery_control(list(candidates.values()), method="bh")
    expected = {name for name, qi in zip(candidates, q, strict=True) if qi < 0.05}
    raw = {name for name, p in candidates.items() if p < 0.05}
    assert raw - expected  # on this split some raw discoveries do not survive the adjustment
    result = evaluate(train, train, None, whas500.schema, metrics=["C.findings"], n_bootstrap=10)
    derived = result.metric("C.findings").details["findings"]
    assert {f["finding"].split(":")[0] for f in derived} == expected
