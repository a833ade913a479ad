"""Pillar P on real bundled data: leaks are caught, fresh patients pass, every number is
checked against an independent computation (scikit-learn, pandas, hand-worked formulas)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from safe_bench import evaluate, load_generator
from safe_bench.cli.main import main
from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.schema import Kind, Survival, infer_schema
from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.known_answers import known_split, scenario_table
from safe_bench.metrics.privacy import attacks, distances, membership


@pytest.fixture(scope="module")
def flchain_split():
    """FLCHAIN (7,874 patients): large enough for P's intervals to be tight."""
    dataset = load_dataset("flchain")
    return dataset, split(dataset.frame, dataset.schema, seed=0)


def _sample(name, dataset, parts):
    generator = load_generator(name)
    generator.fit(parts.train, dataset.schema, seed=0)
    return generator.sample(len(parts.train), seed=0)


def _noisy_copy(train: pd.DataFrame, schema, scale: float) -> pd.DataFrame:
    """Train rows, each numeric value moved by a small normal step (scale x its IQR)."""
    rng = np.random.default_rng(5)
    out = train.copy()
    for col in schema.numeric:
        if col == schema.survival.time:
            continue  # survival times must stay positive
        values = out[col].to_numpy(dtype=float)
        iqr = np.subtract(*np.nanpercentile(values, [75, 25]))
        out[col] = values + rng.normal(0, scale * iqr, len(values))
    return out


@pytest.fixture(scope="module")
def flchain_results(flchain_split):
    dataset, parts = flchain_split
    tables = {
        "bootstrap_copy": _sample("bootstrap_copy", dataset, parts),
        "independent": _sample("independent", dataset, parts),
        "noisy copy": _noisy_copy(parts.train, dataset.schema, 0.05),
        "holdout": parts.holdout,
    }
    return {
        name: (table, evaluate(parts.train, table, parts.holdout, dataset.schema, metrics=["P"]))
        for name, table in tables.items()
    }


def test_bootstrap_copy_is_caught_as_memorisation(flchain_split, flchain_results):
    _, parts = flchain_split
    table, result = flchain_results["bootstrap_copy"]
    assert result.metric("P.exact").value == 1.0 and result.metric("P.exact").score == 0.0
    assert result.metric("P.dcr_share").score <= 0.01
    assert result.metric("P.dcr_p5").score == 0.0 and result.metric("P.nndr").score == 0.0
    # Only the training patients the bootstrap drew are exposed; the attack finds all of
    # them: AUC = c + (1 - c) / 2, so the score 1 - 2 (AUC - 1/2) is the share 1 - c of
    # training patients that were never copied (about 1/e).
    hashes = [pd.util.hash_pandas_object(f[table.columns], index=False) for f in (parts.train, table)]
    never_copied = 1 - np.isin(*hashes).mean()
    assert result.metric("P.mia").score == pytest.approx(never_copied, abs=0.03)
    assert result.extra["privacy_verdict"]["level"] == "memorisation"
    assert result.pillars["P"].ci_high < 0.4


def test_noisy_copies_score_clearly_below_the_holdout(flchain_results):
    _, noisy = flchain_results["noisy copy"]
    _, fresh = flchain_results["holdout"]
    assert noisy.pillars["P"].ci_high < fresh.pillars["P"].ci_low
    assert noisy.score("P") < fresh.score("P") - 0.3
    assert noisy.metric("P.dcr_p5").score < 0.5  # near-copies, not exact copies
    assert noisy.metric("P.exact").score == 1.0
    assert noisy.extra["privacy_verdict"]["level"] == "memorisation"


@pytest.mark.parametrize("name", ["holdout", "independent"])
def test_fresh_patients_and_independent_columns_pass(flchain_results, name):
    _, result = flchain_results[name]
    assert result.score("P") >= 0.9
    assert result.extra["privacy_verdict"]["level"] in {"no evidence of memorisation", "weak signal"}
    # Holdout rows as the synthetic table: a singling-out predicate drawn from them isolates
    # the same control record, and every control record's halves link to its own row, so
    # those attacks are uninformative (skipped, with the reason). FLCHAIN's coarse
    # quasi-identifiers (age in years, sex | sample year) recur in any table this size, so
    # every control record links whatever the table: linkability is uninformative there.
    skipped = {m.id: m.reason for m in result.metrics if m.status != "ok"}
    assert set(skipped) == ({"P.singling_out", "P.linkability"} if name == "holdout" else {"P.linkability"})
    assert all("not informative" in reason for reason in skipped.values())


def test_holdout_as_synthetic_shows_no_memorisation(flchain_results):
    _, result = flchain_results["holdout"]
    assert result.extra["privacy_verdict"]["level"] == "no evidence of memorisation"
    assert result.extra["privacy_verdict"]["signals"] == {}


def test_dcr_share_null_is_the_train_share_of_real_rows(flchain_split, flchain_results):
    """Holdout halves are fresh patients: their nearest real row is a train row with
    probability |T| / (|T| + |H_b|), within sampling error."""
    _, parts = flchain_split
    _, result = flchain_results["independent"]
    half = len(parts.holdout) - len(parts.holdout) // 2
    p0 = len(parts.train) / (len(parts.train) + half)
    observed = result.metric("P.dcr_share").details["reference_value"]
    assert abs(observed - p0) < 4 * math.sqrt(p0 * (1 - p0) / (len(parts.holdout) // 2))


@pytest.fixture(scope="module")
def gbsg2_data(gbsg2, gbsg2_split):
    generator = load_generator("gaussian_copula")
    generator.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    synthetic = generator.sample(len(gbsg2_split.train), seed=0)
    return EvaluationData(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, seed=0)


def _sklearn_distances(query: np.ndarray, index: np.ndarray, k: int = 1) -> np.ndarray:
    return NearestNeighbors(n_neighbors=k, algorithm="brute").fit(index).kneighbors(query)[0]


def test_distance_metrics_match_scikit_learn(gbsg2_data):
    """P.dcr_p5, P.nndr and P.leakage recomputed from scikit-learn's neighbours: the
    share of rows under test in the holdout's lowest 5 % and its excess over the
    holdout's own share; Eckardt's coefficient."""
    data = gbsg2_data
    cmp = data.comparison()
    train, synthetic, holdout = data.matrix("train"), data.matrix("synthetic"), data.matrix("holdout")
    y_t, h_t = _sklearn_distances(synthetic, train, 2), _sklearn_distances(holdout, train, 2)
    for metric, synthetic_values, holdout_values in [
        (distances.dcr_p5, y_t[:, 0], h_t[:, 0]),
        (distances.nndr, y_t[:, 0] / y_t[:, 1], h_t[:, 0] / h_t[:, 1]),
    ]:
        cut = np.sort(holdout_values)[int(np.ceil(0.05 * len(holdout_values))) - 1]  # 5th percentile, by hand
        share, fresh_share = (synthetic_values <= cut).mean(), (holdout_values <= cut).mean()
        got = metric(cmp)
        assert got.value == pytest.approx(share, rel=1e-9)
        assert got.score == pytest.approx(1 - max(0.0, share - fresh_share) / (1 - fresh_share), rel=1e-9)
    subsample = data.matrix(data.subsample("train", len(data.tables["holdout"])))
    coefficient = 1 - _sklearn_distances(synthetic, subsample).mean() / _sklearn_distances(synthetic, holdout).mean()
    assert distances.leakage(cmp).value == pytest.approx(coefficient, rel=1e-9)


def test_mia_auc_and_its_bootstrap_match_scikit_learn(gbsg2_data):
    data = gbsg2_data
    members = data.matrix(data.subsample("train", len(data.tables["holdout"])))
    members = _sklearn_distances(members, data.matrix("synthetic"))[:, 0]
    others = _sklearn_distances(data.matrix("holdout"), data.matrix("synthetic"))[:, 0]
    labels = np.r_[np.ones(len(members)), np.zeros(len(others))]
    expected = roc_auc_score(labels, -np.r_[members, others])
    assert membership.membership_inference(data.comparison()).value == pytest.approx(expected, rel=1e-12)
    pieces = membership._auc_pieces(members, others)
    rng = np.random.default_rng(0)
    m, o = rng.integers(0, len(members), len(members)), rng.integers(0, len(others), len(others))
    weighted = membership._weighted_auc(*pieces, np.bincount(m, minlength=len(members)), np.bincount(o, minlength=len(others)))
    assert weighted == pytest.approx(roc_auc_score(labels, -np.r_[members[m], others[o]]), rel=1e-12)


def test_wilson_rates_and_residual_risk_by_hand():
    """Giomi et al. 2023: Wilson centre and half-width; risk and its propagated error."""
    z = stats.norm.ppf(0.975)
    n, s = 500, 120
    centre = (s + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(s * (n - s) / n + z * z / 4)
    assert attacks.success_rate(s, n) == pytest.approx((centre, half))
    # The Wilson interval is the centre plus or minus the half-width.
    p, denom = s / n, 1 + z * z / n
    assert centre - half == pytest.approx((p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / denom)
    r_t, r_c = attacks.success_rate(200, 500), attacks.success_rate(100, 500)
    risk, error = attacks.residual_risk(r_t, r_c)
    assert risk == pytest.approx((r_t[0] - r_c[0]) / (1 - r_c[0]))
    grad = np.array([1 / (1 - r_c[0]), (r_t[0] - 1) / (1 - r_c[0]) ** 2])
    assert error == pytest.approx(math.hypot(*(grad * [r_t[1], r_c[1]])))


def test_predicate_counts_match_pandas(gbsg2, gbsg2_split):
    """Vectorised predicate counts equal pandas boolean masks; every generated
    predicate isolates exactly one record of the table it was drawn from."""
    columns = gbsg2.schema.features
    numeric = np.array([gbsg2.schema.kinds[c] in (Kind.NUMERIC, Kind.DATETIME) for c in columns])
    frame = gbsg2_split.train[columns].drop_duplicates().reset_index(drop=True)
    (records,) = attacks.records([gbsg2_split.train[columns]], list(numeric))
    rng = np.random.default_rng(1)
    multi = attacks.multivariate_predicates(records, numeric, 40, rng)
    uni = attacks.univariate_predicates(records, numeric, 40, rng)
    assert len(multi) == len(uni) == 40
    assert (records.counts(multi) == 1).all() and (records.counts(uni) == 1).all()
    shifted = attacks.Predicates(multi.columns, multi.ops, multi.values + 1.0)  # other counts too
    codes = {c: pd.factorize(frame[c])[1] for c, num in zip(columns, numeric, strict=True) if not num}
    for predicates in (multi, shifted):
        for i, count in enumerate(records.counts(predicates)):
            mask = np.ones(len(frame), dtype=bool)
            for col, op, value in zip(predicates.columns[i], predicates.ops[i], predicates.values[i], strict=True):
                name = columns[col]
                series = frame[name] if numeric[col] else frame[name].map({v: k for k, v in enumerate(codes[name])})
                mask &= [series >= value, series <= value, series == value, series.isna()][op].to_numpy()
            assert count == mask.sum()


@pytest.mark.parametrize("rows", [64, 300])
@pytest.mark.parametrize("method", ["bitsets", "slices"])
def test_predicate_counts_with_missing_values_match_direct_masks(monkeypatch, method, rows):
    """Every kind of condition (>=, <=, ==, is missing) on columns with missing values,
    one to three conditions per predicate, counted on bitsets (small tables: one 64-bit
    word, and five with a partial last one) and by slices (larger tables): the counts
    equal masks written out directly."""
    if method == "slices":
        monkeypatch.setattr(attacks, "BITSET_ROWS", 0)
    rng = np.random.default_rng(7)
    values = rng.integers(0, 6, size=(rows, 4)).astype(float)
    values[rng.random(values.shape) < 0.2] = np.nan
    records = attacks.Records(values)
    assert (records._prefixes is not None) == (method == "bitsets")
    for conditions in (1, 2, 3):
        columns = np.sort(np.argsort(rng.random((500, 4)), axis=1)[:, :conditions], axis=1)
        ops = rng.integers(0, 4, size=(500, conditions))
        predicates = attacks.Predicates(columns, ops, rng.integers(0, 6, size=(500, conditions)).astype(float))
        expected = []
        for cols, kinds, bounds in zip(columns, ops, predicates.values, strict=True):
            mask = np.ones(len(values), dtype=bool)
            for col, op, bound in zip(cols, kinds, bounds, strict=True):
                column = values[:, col]
                with np.errstate(invalid="ignore"):
                    mask &= [column >= bound, column <= bound, column == bound, np.isnan(column)][op]
            expected.append(mask.sum())
        np.testing.assert_array_equal(records.counts(predicates), expected)
        np.testing.assert_array_equal(records.counts(predicates, block=7), expected)  # batched


def test_screening_tries_on_samples_changes_no_predicate(gbsg2, gbsg2_split, monkeypatch):
    """The screens only rule out tries that match two sampled records: the predicates
    found are the same with or without them."""
    columns = gbsg2.schema.features
    numeric = np.array([gbsg2.schema.kinds[c] in (Kind.NUMERIC, Kind.DATETIME) for c in columns])
    (records,) = attacks.records([gbsg2_split.train[columns]], list(numeric))

    def found(screens: tuple[int, ...]) -> attacks.Predicates:
        monkeypatch.setattr(attacks, "SCREEN_ROWS", screens)
        return attacks.multivariate_predicates(records, numeric, 60, np.random.default_rng(3))

    screened, unscreened = found((16, 64, 256)), found(())
    assert len(screened) == 60
    for name in ("columns", "ops", "values"):
        np.testing.assert_array_equal(getattr(screened, name), getattr(unscreened, name))


def test_train_is_judged_whole_and_a_larger_control_at_train_size():
    """Train is never subsampled (a copied record would be lost); a control larger than
    train is judged at train's size exactly: a predicate matching c of N records
    isolates one record of a random m-subsample with probability c C(N - c, m - 1) / C(N, m)."""
    values = np.arange(30, dtype=float)[:, None]
    train, control = attacks.Records(values[:10]), attacks.Records(values)
    predicates = attacks.Predicates(np.zeros((3, 1), dtype=np.int64), np.full((3, 1), 1), np.array([[0.0], [2.0], [9.0]]))
    outcome = attacks.singling_out(predicates, train, control)
    assert outcome.train_successes == 1  # only "<= 0" isolates one of the 10 train records
    expected = sum(c * math.comb(30 - c, 9) / math.comb(30, 10) for c in (1, 3, 10))
    assert outcome.control_successes == pytest.approx(expected)


def test_smaller_control_is_extrapolated_to_train_size():
    """Predicates whose weights w are spread as those isolating one of n_S rows (Gamma(2)
    around 1 / n_S): from their counts in n_H control records the empirical-Bayes
    estimate recovers the mean success m w (1 - w)^(m - 1) in m = 8 n_H records,
    which the control's own rate misses by far."""
    rng = np.random.default_rng(0)
    n_control, m = 500, 4000
    weights = rng.gamma(2.0, 1.0 / 1500, size=4000)
    counts = rng.binomial(n_control, weights)
    truth = np.mean(m * weights * (1 - weights) ** (m - 1))
    assert attacks.isolating(counts, n_control, m).mean() == pytest.approx(truth, abs=0.015)
    assert np.mean(counts == 1) - truth > 0.15


@pytest.mark.parametrize(("n", "a", "b"), [(206, 0.8, 450.0), (103, 1.2, 190.0), (500, 50.0, 50.0), (50, 0.1, 0.1)])
def test_the_beta_binomial_fit_is_the_likelihoods_root_wherever_the_search_stops(n, a, b):
    """The weights' fit is where the likelihood's gradient vanishes, to machine
    precision, not where a minimiser's line search happened to stop (which moved the
    control's rate by 3e-4 between two CPUs): Newton's method from points scattered
    along the likelihood's flat ridge lands on one (a, b) to 1e-9, the fit is that
    point, and its log-likelihood is at least scipy's derivative-free Nelder-Mead's."""
    counts = np.random.default_rng(1).binomial(n, np.random.default_rng(2).beta(a, b, 1500))
    values, times = np.unique(counts, return_counts=True)
    likelihood = attacks._BetaLikelihood(values, times, n)
    fitted = attacks._beta_weights(counts, n)
    for scale in (0.7, 0.95, 1.05, 1.4):
        root = attacks._beta_newton(likelihood, (fitted[0] * scale, fitted[1] * scale))
        assert root is not None and root == pytest.approx(fitted, rel=1e-9)
    assert np.abs(np.array(likelihood.derivatives(*fitted)) * fitted).max() < 1e-6 * len(counts)
    simplex = optimize.minimize(lambda x: -likelihood(*np.exp(x)), np.log(fitted) + 0.3, method="Nelder-Mead",
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000})
    assert likelihood(*fitted) >= -simplex.fun * (1 + 1e-12)  # equal to rounding, or above
    assert np.exp(simplex.x) == pytest.approx(fitted, rel=1e-3)


def test_independent_predicates_isolate_at_most_one_in_e():
    """Cohen and Nissim 2020: n w (1 - w)^(n - 1) peaks at w = 1 / n."""
    for n in (2, 10, 346, 100_000):
        w = np.linspace(0, 1, 200_001)
        assert attacks.most_isolating(n) == pytest.approx(np.max(n * w * (1 - w) ** (n - 1)), rel=1e-6)
    assert attacks.most_isolating(100_000) == pytest.approx(1 / math.e, rel=1e-4)


@pytest.fixture(scope="module")
def known_answers():
    """P.exact and P.singling_out of train copied verbatim and of fresh real rows, on
    the known-answer splits of three bundled datasets, seeds 0-2."""
    out = {}
    for name in ("gbsg2", "aids", "flchain"):
        dataset = load_dataset(name)
        for seed in range(3):
            parts = known_split(dataset.frame, dataset.schema, seed)
            for scenario in ("copy", "fresh"):
                out[name, seed, scenario] = evaluate(
                    parts.train, scenario_table(parts, scenario), parts.holdout, dataset.schema,
                    metrics=["P.exact", "P.singling_out"], n_bootstrap=10,
                )
    return out


@pytest.mark.parametrize("name", ["gbsg2", "aids", "flchain"])
def test_copies_of_train_are_caught_and_fresh_rows_pass(known_answers, name):
    for seed in range(3):
        copy, fresh = known_answers[name, seed, "copy"], known_answers[name, seed, "fresh"]
        assert copy.metric("P.exact").score == 0.0
        assert copy.metric("P.singling_out").score <= 0.2
        assert fresh.metric("P.exact").score >= 0.9
        assert fresh.metric("P.singling_out").score >= 0.9


def _rossi():
    from lifelines.datasets import load_rossi

    frame = load_rossi()
    schema = infer_schema(frame).with_roles(
        survival=Survival("week", "arrest"), quasi_identifiers=("age", "race", "mar", "wexp"), sensitive=("prio", "paro")
    )
    return frame, schema


def test_rossi_train_as_synthetic_scores_no_privacy_at_70_30():
    """A table the project does not bundle (lifelines' Rossi recidivism data), split by
    the protocol: fresh patients repeat training patients (holdout share of copies above
    0), yet train passed as synthetic scores P.exact 0 and singling out near 0."""
    pytest.importorskip("lifelines")
    frame, schema = _rossi()
    for seed in range(3):
        parts = split(frame, schema, seed=seed)
        result = evaluate(parts.train, parts.train, parts.holdout, schema, metrics=["P.exact", "P.singling_out"], n_bootstrap=10)
        exact = result.metric("P.exact")
        assert exact.details["holdout_share"] > 0 and exact.score == 0.0
        assert result.metric("P.singling_out").score <= 0.2


def test_exact_copies_score_by_hand(gbsg2, gbsg2_split):
    """30 of 50 rows under test copy train (0.6), 8 of 40 holdout rows do (0.2): score
    1 - (0.6 - 0.2) / (1 - 0.2) = 0.5, interval the Wilson interval of 30/50 mapped."""
    train = gbsg2_split.train.iloc[:100]
    others = gbsg2_split.holdout
    holdout = pd.concat([train.iloc[:8], others.iloc[:32]], ignore_index=True)
    synthetic = pd.concat([train.iloc[50:80], others.iloc[40:60]], ignore_index=True)
    m = evaluate(train, synthetic, holdout, gbsg2.schema, metrics=["P.exact"], n_bootstrap=10).metric("P.exact")
    assert (m.value, m.details["holdout_share"]) == (0.6, 0.2)
    assert m.score == pytest.approx(0.5)
    z = stats.norm.ppf(0.975)
    centre, half = (0.6 + z * z / 100) / (1 + z * z / 50), z / (1 + z * z / 50) * math.sqrt(0.6 * 0.4 / 50 + z * z / 10_000)

    def score_of(share: float) -> float:
        return 1 - max(0.0, share - 0.2) / 0.8

    assert (m.ci_low, m.ci_high) == pytest.approx((score_of(centre + half), score_of(centre - half)))
    for rows, expected in (([50, 51], 1.0), (list(range(50, 100)), 0.0)):  # 4 % copies: as fresh as the holdout; all copies: 0
        fewer = pd.concat([train.iloc[rows], others.iloc[40:88]], ignore_index=True).iloc[:50]
        result = evaluate(train, fewer, holdout, gbsg2.schema, metrics=["P.exact"], n_bootstrap=10)
        assert result.metric("P.exact").score == expected


def test_too_little_evidence_is_not_scored(gbsg2, gbsg2_split):
    """1-, 3- and 5-row holdouts, all-identical train or holdout rows, constant columns:
    every P metric skipped with the missing evidence named, the pillar not scored (a
    verbatim copy of train must not score a perfect 1.000 on them)."""
    train, holdout = gbsg2_split.train, gbsg2_split.holdout

    def constant(f: pd.DataFrame) -> pd.DataFrame:
        return f.assign(**{c: train[c].iloc[0] for c in f.columns})

    cases = {
        "1-row holdout": (train, holdout.iloc[:1]),
        "3-row holdout": (train, holdout.iloc[:3]),
        "5-row holdout": (train, holdout.iloc[:5]),
        "identical train rows": (train.iloc[[0] * len(train)], holdout),
        "identical holdout rows": (train, holdout.iloc[[0] * len(holdout)]),
        "constant columns": (constant(train), constant(holdout)),
    }
    for case, (real, fresh) in cases.items():
        result = evaluate(real, real, fresh, gbsg2.schema, metrics=["P"], n_bootstrap=10)
        assert result.pillars["P"].status == "not scored", case
        for m in result.metrics:
            assert m.status == "skipped" and "to say anything" in m.reason, (case, m.id, m.reason)


def test_attacks_need_enough_targets(gbsg2, gbsg2_split):
    """A 30-row holdout: the distance metrics judge a copy of train, the attacks (fewer
    than 50 targets) are skipped with that reason. P.leakage subsamples train to the
    holdout's size (Eckardt et al.), so a copy moves its coefficient only |H| / |T| of the
    way to 1: flagged, below half, not near 0."""
    train = gbsg2_split.train
    result = evaluate(train, train, gbsg2_split.holdout.iloc[:30], gbsg2.schema, metrics=["P"], n_bootstrap=10)
    for m in result.metrics:
        if m.id in ("P.attribute", "P.linkability", "P.singling_out"):
            assert m.status == "skipped" and "fewer than 50" in m.reason, (m.id, m.reason)
        elif m.id == "P.leakage":
            assert m.details["flagged"] and m.score < 0.5, m.score
        else:
            assert m.status == "ok" and m.score < 0.1, (m.id, m.score)


def test_degenerate_tables_give_a_score_or_a_reason(gbsg2, gbsg2_split):
    train, holdout = gbsg2_split.train, gbsg2_split.holdout

    def no_estrec(f: pd.DataFrame) -> pd.DataFrame:
        return f.assign(estrec=np.nan)

    cases = {
        "identical tables": (train, train, train),
        "one synthetic row": (train, train.iloc[[0]], holdout),
        "one holdout row": (train, train.iloc[5:50], holdout.iloc[[0]]),
        "all duplicates": (train.iloc[[0] * 50], train.iloc[[0] * 30], train.iloc[[1] * 20]),
        "a column all missing": (no_estrec(train), no_estrec(train.iloc[:300]), no_estrec(holdout)),
    }
    for case, (real, synthetic, fresh) in cases.items():
        with np.errstate(all="raise"):
            result = evaluate(real, synthetic, fresh, gbsg2.schema, metrics=["P"])
        for m in result.metrics:
            assert m.status in {"ok", "skipped"}, (case, m.id, m.reason)
            assert m.status == "ok" and 0 <= m.score <= 1 or m.reason, (case, m.id)
            assert "Error" not in m.details.get("reference_reason", ""), (case, m.id, m.details["reference_reason"])
    identical = evaluate(train, train, train, gbsg2.schema, metrics=["P"])
    assert all("no fresh patients" in m.reason for m in identical.metrics)
    assert identical.extra["privacy_verdict"]["level"] == "not assessed"


def test_results_are_deterministic(gbsg2, gbsg2_split):
    synthetic = gbsg2_split.train.sample(frac=1.0, replace=True, random_state=3)
    runs = [evaluate(gbsg2_split.train, synthetic, gbsg2_split.holdout, gbsg2.schema, metrics=["P"], seed=7) for _ in range(2)]
    assert runs[0].to_json() == runs[1].to_json()


def test_cli_shows_the_worst_privacy_metric_and_the_verdict(capsys):
    assert main(["evaluate", "--dataset", "gbsg2", "--generator", "bootstrap_copy", "--metrics", "P"]) == 0
    out = capsys.readouterr().out
    p_line = next(line for line in out.splitlines() if line.startswith("P  privacy"))
    assert "P.dcr_p5 0.000" in p_line
    assert "Privacy verdict: memorisation" in out
