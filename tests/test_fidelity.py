"""Pillar S (statistical fidelity): cross-checks against SDMetrics, scikit-learn, hand-computed statistics
and a brute-force PRDC; orderings on real data; kinds, gaps and honest detection."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import cdist
from scipy.special import kolmogi
from scipy.stats import norm
from sdmetrics.column_pairs import CorrelationSimilarity
from sdmetrics.single_column import KSComplement, TVComplement
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from threadpoolctl import threadpool_limits

from safe_bench import evaluate, load_generator
from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.schema import Kind, Schema
from safe_bench.data.validation import conform
from safe_bench.evaluation.encoding import Encoding
from safe_bench.evaluation.uncertainty import centred_replicates, resamples, within_sampling
from safe_bench.metrics.registry import PILLAR_NAMES
from tests.conftest import shuffle_columns


def test_ks_and_tv_equal_sdmetrics_on_gbsg2(gbsg2, gbsg2_split):
    gen = load_generator("gaussian_copula")
    gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    synthetic = gen.sample(len(gbsg2_split.train), seed=1)
    result = evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["S.ks", "S.tv"])
    ks, tv = result.metric("S.ks"), result.metric("S.tv")
    schema = gbsg2.schema
    assert set(ks.details["columns"]) == set(schema.numeric)
    assert set(tv.details["columns"]) == set(schema.categorical)
    for col in schema.numeric:
        expected = KSComplement.compute(gbsg2_split.train[col], synthetic[col])
        assert 1 - ks.details["columns"][col]["ks"] == pytest.approx(expected, abs=1e-9)
    for col in schema.categorical:
        expected = TVComplement.compute(gbsg2_split.train[col], synthetic[col])
        assert 1 - tv.details["columns"][col]["tvd"] == pytest.approx(expected, abs=1e-9)
    expected = np.mean([KSComplement.compute(gbsg2_split.train[c], synthetic[c]) for c in schema.numeric])
    assert 1 - ks.value == pytest.approx(expected, abs=1e-9)
    # Scores: each distance against its real-vs-real 95th percentile. KS: the critical value
    # of Kolmogorov's limit law, c(0.05) = kolmogi(0.05), by scipy.
    n, m = len(gbsg2_split.train), len(synthetic)
    for entry in ks.details["columns"].values():
        critical = kolmogi(0.05) * np.sqrt((n + m) / (n * m))
        assert entry["real_vs_real_q95"] == pytest.approx(critical, rel=1e-5)  # sqrt(-ln(0.025) / 2) vs exact
        assert entry["score"] == pytest.approx(min(1.0, critical / entry["ks"]) if entry["ks"] > 0 else 1.0)
    assert ks.score == pytest.approx(np.mean([e["score"] for e in ks.details["columns"].values()]))
    assert ks.ci_low <= ks.score <= ks.ci_high
    assert tv.ci_low <= tv.score <= tv.ci_high


# --------------------------------------------------------------------------- helpers
S_METRICS = ["S.ks", "S.tv", "S.missing", "S.range", "S.pairs", "S.kway", "S.detect", "S.prdc"]


def sample(name: str, train: pd.DataFrame, schema: Schema, n: int, seed: int = 1) -> pd.DataFrame:
    gen = load_generator(name)
    gen.fit(train, schema, seed=0)
    return gen.sample(n, seed=seed)


@pytest.fixture(scope="module")
def gbsg2_copula(gbsg2, gbsg2_split):
    return sample("gaussian_copula", gbsg2_split.train, gbsg2.schema, len(gbsg2_split.train))


@pytest.fixture(scope="module")
def flchain_split():
    data = load_dataset("flchain")
    return data, split(conform(data.frame, data.schema, table="flchain"), data.schema, seed=0)


# ------------------------------------------------------------------ cross-checks
def test_numeric_pairs_equal_sdmetrics_correlation_similarity(gbsg2, gbsg2_split, gbsg2_copula, flchain_split):
    # GBSG2: complete numbers; FLCHAIN: creatinine has missing values (left out pairwise).
    fl, fl_split = flchain_split
    fl_synthetic = sample("gaussian_copula", fl_split.train, fl.schema, 3000)
    cases = [(gbsg2.schema, gbsg2_split.train, gbsg2_copula), (fl.schema, fl_split.train, fl_synthetic)]
    for schema, train, synthetic in cases:
        pairs = evaluate(train, synthetic, None, schema, metrics=["S.pairs"]).metric("S.pairs").details["pairs"]
        for a, b in itertools.combinations(schema.numeric, 2):
            got = pairs[f"{a} | {b}"]
            assert got["association"] == "pearson"
            expected = CorrelationSimilarity.compute(train[[a, b]], synthetic[[a, b]])
            assert got["score"] == pytest.approx(expected, abs=1e-9)
            gaps = synthetic[[a, b]].isna().any(axis=1).sum()
            assert got["rows_left_out"]["synthetic"] == gaps
    assert any(p["rows_left_out"]["train"] > 0 for p in pairs.values())  # creatinine's gaps were counted


def test_vectorised_bootstrap_equals_sdmetrics_on_each_resample(gbsg2, gbsg2_split, gbsg2_copula):
    # The intervals come from count-weighted sums over rows; replicate b must equal the
    # statistic recomputed on resample b of the synthetic table (the evaluation's shared
    # resamples), before the common re-centring.
    train, synthetic = gbsg2_split.train, conform(gbsg2_copula, gbsg2.schema, table="synthetic")
    result = evaluate(train, synthetic, None, gbsg2.schema, metrics=["S.ks", "S.tv"], n_bootstrap=10, seed=4)
    for metric_id, columns, single in [("S.ks", gbsg2.schema.numeric, KSComplement),
                                       ("S.tv", gbsg2.schema.categorical, TVComplement)]:
        got = result.metric(metric_id)
        q95 = {c: got.details["columns"][c]["real_vs_real_q95"] for c in columns}
        direct = np.array([
            np.mean([within_sampling(1 - single.compute(train[c], synthetic[c].iloc[idx]), q95[c], maximum=1.0)
                     for c in columns])
            for idx in resamples(len(synthetic), 10, 4)
        ])
        assert got.replicates == pytest.approx(centred_replicates(got.score, direct), abs=1e-6), metric_id


def test_within_sampling_by_hand():
    # within the real-vs-real threshold: 1; beyond it threshold / distance; a bounded
    # distance also falls linearly to 0 at its maximum (nothing shared scores 0).
    assert within_sampling([0.05, 0.1, 0.2, 0.5], 0.1).tolist() == [1.0, 1.0, 0.5, 0.2]
    assert within_sampling([0.5, 0.9, 1.0], 0.4, maximum=1.0).tolist() == pytest.approx([0.8, 1 / 6, 0.0])


def bias_corrected_cramers_v(x: pd.Series, y: pd.Series) -> float:
    """Bergsma (2013), by hand from a pandas crosstab (missing as a category)."""
    table = pd.crosstab(x.fillna("<na>"), y.fillna("<na>")).to_numpy(dtype=float)
    n = table.sum()
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    r, k = table.shape
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc, kc = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    return float(np.sqrt(phi2 / min(kc - 1, rc - 1)))


def correlation_ratio(number: pd.Series, category: pd.Series) -> float:
    """Pearson's eta by pandas groupby (rows with a number only; missing a category)."""
    keep = number.notna()
    x, g = number[keep], category[keep].fillna("<na>")
    between = (x.groupby(g).count() * (x.groupby(g).mean() - x.mean()) ** 2).sum()
    return float(np.sqrt(between / ((x - x.mean()) ** 2).sum()))


def test_categorical_pairs_match_hand_computed_associations(flchain_split):
    fl, fl_split = flchain_split
    train = fl_split.train
    synthetic = sample("gaussian_copula", train, fl.schema, 2500)
    synthetic.loc[synthetic.index[:200], "sex"] = None  # missing categories count as a category
    pairs = evaluate(train, synthetic, None, fl.schema, metrics=["S.pairs"]).metric("S.pairs").details["pairs"]
    v = pairs["flc.grp | sex"]
    assert v["association"] == "cramers_v"
    assert v["train"] == pytest.approx(bias_corrected_cramers_v(train["flc.grp"], train["sex"]), abs=1e-9)
    assert v["synthetic"] == pytest.approx(bias_corrected_cramers_v(synthetic["flc.grp"], synthetic["sex"]), abs=1e-9)
    assert v["score"] == pytest.approx(1 - abs(v["train"] - v["synthetic"]), abs=1e-12)
    eta = pairs["creatinine | flc.grp"]
    assert eta["association"] == "correlation_ratio"
    assert eta["train"] == pytest.approx(correlation_ratio(train["creatinine"], train["flc.grp"]), abs=1e-9)
    assert eta["synthetic"] == pytest.approx(correlation_ratio(synthetic["creatinine"], synthetic["flc.grp"]), abs=1e-9)


def test_detection_auc_equals_sklearn_cross_val_score(gbsg2, gbsg2_split, gbsg2_copula):
    train, synthetic = gbsg2_split.train, gbsg2_copula
    result = evaluate(train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["S.detect"]).metric("S.detect")
    d = result.details
    assert d["rows_per_class"] == len(train) == len(synthetic)  # equal sizes: no subsampling
    # An independent pipeline: numbers as they are, categories coded on train's sorted list.
    schema = gbsg2.schema
    categorical = [c in schema.categorical for c in schema.features]

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        cols = []
        for c in schema.features:
            if c in schema.categorical:
                cats = sorted(train[c].dropna().unique(), key=str)
                cols.append(pd.Categorical(frame[c].astype(train[c].dtype), categories=cats).codes.astype(float))
            else:
                cols.append(frame[c].to_numpy(dtype=float))
        return np.column_stack(cols)

    canonical = conform(synthetic, schema, table="synthetic")
    x = np.vstack([matrix(train), matrix(canonical)])
    y = np.repeat([0, 1], len(train))
    classifier = HistGradientBoostingClassifier(
        categorical_features=categorical, early_stopping=True, random_state=d["random_state"],
        max_iter=d["rounds"], learning_rate=d["learning_rate"],
    )
    # Folds as documented: StratifiedKFold over distinct rows (here every row is distinct),
    # stratified on whether the row is synthetic.
    distinct, row_of = np.unique(x, axis=0, return_inverse=True)
    assert len(distinct) == len(x)
    synthetic_row = np.zeros(len(x), dtype=bool)
    synthetic_row[row_of[y == 1]] = True
    splitter = StratifiedKFold(5, shuffle=True, random_state=d["random_state"])
    folds = [(np.flatnonzero(~np.isin(row_of, test)), np.flatnonzero(np.isin(row_of, test)))
             for _, test in splitter.split(np.zeros(len(x)), synthetic_row)]
    with threadpool_limits(limits=1):  # as the metric runs it (and fast on a shared machine)
        aucs = cross_val_score(classifier, x, y, cv=folds, scoring="roc_auc")
    assert d["fold_aucs"] == pytest.approx(list(aucs), abs=1e-12)
    assert result.value == pytest.approx(aucs.mean(), abs=1e-12)
    excess, m = max(aucs.mean() - 0.5, 0), len(train)
    threshold = norm.ppf(0.95) * np.sqrt((2 * m + 1) / (12 * m * m))  # Mann-Whitney null of the AUC
    assert result.score == pytest.approx(1.0 if excess <= threshold else threshold / excess, abs=1e-9)
    assert d["auc_ci"][0] <= d["auc"] <= d["auc_ci"][1]
    assert result.ci_low <= result.score <= result.ci_high


def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """Naeem et al. 2020, eq. (1)-(4), written out with full distance matrices."""
    rr, ff, fr = cdist(real, real), cdist(fake, fake), cdist(fake, real)
    real_radius = np.sort(rr, axis=1)[:, k]  # column 0 is the point itself
    fake_radius = np.sort(ff, axis=1)[:, k]
    in_real_ball = fr <= real_radius[None, :]  # [fake j, real i]
    return {
        "precision": in_real_ball.any(axis=1).mean(),
        "recall": (fr <= fake_radius[:, None]).any(axis=0).mean(),
        "density": in_real_ball.sum() / (k * len(fake)),
        "coverage": (fr.min(axis=0) <= real_radius).mean(),
    }


def test_prdc_matches_brute_force_naeem(gbsg2, gbsg2_split, gbsg2_copula):
    train, synthetic = gbsg2_split.train.iloc[:150], gbsg2_copula.iloc[:120]
    result = evaluate(train, synthetic, None, gbsg2.schema, metrics=["S.prdc"]).metric("S.prdc")
    encoding = Encoding.fit(train, gbsg2.schema)
    expected = brute_force_prdc(
        encoding.transform(train), encoding.transform(conform(synthetic, gbsg2.schema, table="synthetic")), k=5
    )
    for key, value in expected.items():
        assert result.details[key] == pytest.approx(value, abs=1e-12), key
    assert result.details["rows"] == {"train": 150, "synthetic": 120}
    assert result.score == pytest.approx((expected["precision"] + expected["coverage"]) / 2, abs=1e-12)
    assert 0 < expected["precision"] < 1 and 0 < expected["coverage"] < 1  # a non-trivial case


# --------------------------------------------------------------------- orderings
def mean_scores(dataset: str, metric_ids: list[str], size: str) -> dict[str, dict[str, float]]:
    """Mean score over three seeded splits of the holdout (as the table under test), the
    copula and the independent baseline; generators sample ``size`` rows ("holdout":
    as many as the holdout, so distances carry the same sampling noise; "train": the
    protocol's default)."""
    data = load_dataset(dataset)
    frame = conform(data.frame, data.schema, table=dataset)
    names = ["holdout", "gaussian_copula", "independent"]
    scores: dict[str, dict[str, list[float]]] = {m: {name: [] for name in names} for m in metric_ids}
    for seed in range(3):
        parts = split(frame, data.schema, seed=seed)
        n = len(parts.holdout) if size == "holdout" else len(parts.train)
        for name in names:
            table = parts.holdout if name == "holdout" else sample(name, parts.train, data.schema, n, seed=seed + 1)
            result = evaluate(parts.train, table, None, data.schema, metrics=metric_ids, seed=seed)
            for m in metric_ids:
                scores[m][name].append(result.metric(m).score)
    return {m: {name: float(np.mean(v)) for name, v in by_name.items()} for m, by_name in scores.items()}


@pytest.mark.parametrize("dataset", ["gbsg2", "whas500"])
def test_holdout_beats_copula_beats_independent_on_associations(dataset):
    for metric_id, got in mean_scores(dataset, ["S.pairs", "S.kway"], size="holdout").items():
        assert got["holdout"] > got["gaussian_copula"] > got["independent"], (metric_id, got)


@pytest.mark.parametrize("dataset", ["gbsg2", "whas500"])
def test_detection_orders_holdout_copula_independent(dataset):
    # The AUC is not biased by the sample size (0.5 under no difference, classes balanced),
    # so the generators sample the protocol's default |Y| = |T|.
    got = mean_scores(dataset, ["S.detect"], size="train")["S.detect"]
    assert got["gaussian_copula"] > got["independent"] + 0.3, got
    if dataset == "gbsg2":
        assert got["holdout"] > got["gaussian_copula"], got
    else:
        # WHAS500 (350 train rows): the classifier cannot tell the copula from real rows
        # (cross-validated AUC about 0.5, as for the holdout), so the two tie within noise.
        assert abs(got["holdout"] - got["gaussian_copula"]) < 0.05, got


def test_shuffled_columns_lose_pairs_but_keep_marginals(gbsg2, gbsg2_split):
    train = gbsg2_split.train
    shuffled = shuffle_columns(train, seed=3)
    result = evaluate(train, shuffled, gbsg2_split.holdout, gbsg2.schema, metrics=["S.ks", "S.tv", "S.pairs"])
    assert result.metric("S.ks").score == 1.0
    assert result.metric("S.tv").score == 1.0
    pairs = result.metric("S.pairs")
    assert pairs.ci_high < pairs.reference  # the holdout keeps the associations, the shuffle does not
    assert pairs.score < 0.95


# ---------------------------------------------------------------- kinds and gaps
def test_missing_values_are_compared_and_never_dropped_silently(flchain_split):
    fl, fl_split = flchain_split
    train = fl_split.train
    synthetic = train.copy()
    gaps = synthetic.index[: len(train) // 2]
    synthetic.loc[gaps, "creatinine"] = np.nan
    result = evaluate(train, synthetic, None, fl.schema, metrics=["S.missing", "S.ks", "S.range", "S.kway"])
    missing = result.metric("S.missing").details["columns"]["creatinine"]
    assert missing["train"] == pytest.approx(train["creatinine"].isna().mean())
    assert missing["synthetic"] == pytest.approx(synthetic["creatinine"].isna().mean())
    difference, threshold = abs(missing["train"] - missing["synthetic"]), missing["real_vs_real_q95"]
    p, n = missing["train"], len(train)  # 1.96 standard errors of a difference of two shares, by hand
    assert threshold == pytest.approx(1.959964 * np.sqrt(p * (1 - p) * 2 / n), rel=1e-5)
    assert missing["score"] == pytest.approx(threshold / difference)
    assert missing["score"] < 0.2
    ks = result.metric("S.ks").details["columns"]["creatinine"]
    assert ks["missing_left_out"] == {"train": int(train["creatinine"].isna().sum()),
                                      "synthetic": int(synthetic["creatinine"].isna().sum())}
    assert result.metric("S.range").details["columns"]["creatinine"]["missing_left_out"] == ks["missing_left_out"]["synthetic"]
    # Binned marginals keep missing as a bin: the extra gaps show in the triples with creatinine.
    triples = result.metric("S.kway").details["triples"]
    assert any(t["score"] < 0.9 for name, t in triples.items() if "creatinine" in name)
    assert all(t["score"] == 1.0 for name, t in triples.items() if "creatinine" not in name)


def test_datetimes_compare_as_numbers_and_booleans_as_categories():
    rng = np.random.default_rng(0)
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, 300), unit="D")
    train = pd.DataFrame({"when": days, "flag": rng.random(300) < 0.3, "x": rng.normal(size=300)})
    later = pd.DataFrame({"when": days + pd.Timedelta(days=100), "flag": rng.random(300) < 0.6, "x": rng.normal(size=300)})
    schema = Schema({"when": Kind.DATETIME, "flag": Kind.BOOLEAN, "x": Kind.NUMERIC})
    result = evaluate(train, later, None, schema, metrics=["S.ks", "S.tv", "S.range"])
    ks = result.metric("S.ks").details["columns"]
    expected = stats.ks_2samp(train["when"].astype("int64"), later["when"].astype("int64")).statistic
    assert ks["when"]["ks"] == pytest.approx(expected, abs=1e-12)
    assert "flag" not in ks and set(result.metric("S.tv").details["columns"]) == {"flag"}
    tvd = result.metric("S.tv").details["columns"]["flag"]["tvd"]
    assert tvd == pytest.approx(abs(train["flag"].mean() - later["flag"].mean()), abs=1e-12)
    beyond = (later["when"] > train["when"].max()).mean()
    assert result.metric("S.range").details["columns"]["when"]["outside_share"] == pytest.approx(beyond)


def test_column_constant_in_train_is_handled(gbsg2, gbsg2_split, gbsg2_copula):
    train = gbsg2_split.train.assign(estrec=5.0, menostat="Post")
    result = evaluate(train, gbsg2_copula, None, gbsg2.schema, metrics=S_METRICS)
    assert all(r.status == "ok" for r in result.metrics), result.to_frame()
    pairs = result.metric("S.pairs").details["pairs"]
    assert pairs["age | estrec"]["skipped"].startswith("a column is constant")
    assert pairs["menostat | tgrade"]["skipped"].startswith("a column is constant")
    assert "score" in pairs["age | tsize"]
    ks = result.metric("S.ks").details["columns"]["estrec"]
    assert ks["ks"] == pytest.approx(stats.ks_2samp(train["estrec"], gbsg2_copula["estrec"]).statistic)


def test_detection_never_sees_the_holdout_and_balances_by_subsampling(gbsg2, gbsg2_split, gbsg2_copula):
    train = gbsg2_split.train
    with_holdout = evaluate(train, gbsg2_copula, gbsg2_split.holdout, gbsg2.schema, metrics=["S.detect"])
    garbage = gbsg2_split.holdout.assign(age=1000.0, tsize=-5.0)
    other_holdout = evaluate(train, gbsg2_copula, garbage, gbsg2.schema, metrics=["S.detect"])
    without = evaluate(train, gbsg2_copula, None, gbsg2.schema, metrics=["S.detect"])
    a, b, c = (r.metric("S.detect") for r in (with_holdout, other_holdout, without))
    assert a.score == b.score == c.score and a.ci_low == b.ci_low == c.ci_low
    assert a.reference is not None and c.reference is None
    # |Y| = 2 |T|: the classes are balanced by drawing |T| synthetic rows.
    double = sample("gaussian_copula", train, gbsg2.schema, 2 * len(train))
    d = evaluate(train, double, None, gbsg2.schema, metrics=["S.detect"]).metric("S.detect").details
    assert d["rows_per_class"] == len(train)
    assert d["rows"] == {"train": len(train), "synthetic": 2 * len(train)}


def test_tiny_tables_skip_with_a_reason(gbsg2, gbsg2_split, gbsg2_copula):
    result = evaluate(gbsg2_split.train.iloc[:4], gbsg2_copula.iloc[:4], None, gbsg2.schema, metrics=S_METRICS)
    for m in result.metrics:  # no score from 4 rows
        assert m.status == "skipped" and "too few rows in train to say anything" in m.reason, m.id
    assert result.pillars["S"].status == "not scored"
    assert all(0 <= r.score <= 1 for r in result.metrics if r.ok)


def test_pillar_s_is_statistical_fidelity_not_csf(gbsg2, gbsg2_split, gbsg2_copula):
    """CSF and GSF are S over the clinical and the genomic columns (Asti et al., Blood
    2025); the pillar over every column is S, statistical fidelity."""
    result = evaluate(gbsg2_split.train, gbsg2_copula, gbsg2_split.holdout, gbsg2.schema, metrics=S_METRICS)
    assert PILLAR_NAMES["S"] == result.pillars["S"].name == "statistical fidelity"
    assert "CSF" not in result.to_json()
    assert result.pillars["S"].metrics == S_METRICS
    assert result.pillars["S"].score == pytest.approx(np.mean([result.metric(m).score for m in S_METRICS]))
    for r in result.metrics:
        assert r.ci_low <= r.score <= r.ci_high and r.reference is not None, r.id
    again = evaluate(gbsg2_split.train, gbsg2_copula, gbsg2_split.holdout, gbsg2.schema, metrics=S_METRICS)
    assert again.to_json() == result.to_json()  # same inputs and seed: byte-identical
    assert '"statistical fidelity"' in result.to_json()
