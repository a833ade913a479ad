"""Ranking: against scipy's Friedman test, Demšar's (2006) worked example and table, and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from safe_bench.benchmark.ranking import (
    average_intervals,
    critical_difference,
    dataset_ranks,
    friedman,
    friedman_statistic,
    iman_davenport,
    nemenyi_q,
    paired_difference,
    rank_generators,
    seed_means,
)
from safe_bench.errors import InputError


def cells(table: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """{dataset: {generator: [score per seed]}} as one row per cell."""
    return pd.DataFrame(
        [(d, g, s, v) for d, gens in table.items() for g, seeds in gens.items() for s, v in enumerate(seeds)],
        columns=["dataset", "generator", "seed", "score"],
    )


def matrix_cells(scores: np.ndarray) -> pd.DataFrame:
    return cells({f"d{i}": {f"g{j}": [v] for j, v in enumerate(row)} for i, row in enumerate(scores)})


# Three datasets, three generators, two seeds each (means .9/.8/.7, .8/.8/.9, .95/.6/.7).
HAND = cells({
    "d1": {"A": [0.89, 0.91], "B": [0.79, 0.81], "C": [0.69, 0.71]},
    "d2": {"A": [0.75, 0.85], "B": [0.80, 0.80], "C": [0.88, 0.92]},
    "d3": {"A": [0.95, 0.95], "B": [0.55, 0.65], "C": [0.70, 0.70]},
})


def test_ranks_by_hand_ties_share_the_mean_rank() -> None:
    ranks = dataset_ranks(seed_means(HAND))
    assert ranks.loc["d1"].tolist() == [1, 2, 3]
    assert ranks.loc["d2"].tolist() == [2.5, 2.5, 1]
    assert ranks.loc["d3"].tolist() == [1, 3, 2]
    ranking = rank_generators(HAND)
    assert ranking.table["generator"].tolist() == ["A", "C", "B"]
    assert ranking.table["average_rank"].tolist() == pytest.approx([1.5, 2.0, 2.5])
    # Friedman by hand: 12N/(k(k+1)) * (sum R^2 - k(k+1)^2/4) = 3 * (12.5 - 12) = 1.5; one pair
    # tied on d2: correction 1 - (2^3 - 2) / (N(k^3 - k)) = 1 - 6/72.
    assert ranking.friedman.statistic == pytest.approx(1.5 / (1 - 6 / 72))
    assert ranking.critical_difference == pytest.approx(2.343 * np.sqrt(3 * 4 / (6 * 3)), abs=1e-3)


@pytest.mark.parametrize("seed", range(6))
def test_friedman_equals_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = rng.integers(3, 12), rng.integers(3, 7)
    # Half the tables are drawn from few values, so that ties are common.
    scores = rng.integers(0, 4, size=(n, k)) / 4 if seed % 2 else rng.uniform(size=(n, k))
    ours = friedman(dataset_ranks(seed_means(matrix_cells(scores))))
    theirs = stats.friedmanchisquare(*scores.T)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-12)
    assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9)
    assert (ours.n_datasets, ours.k) == (n, k)


def test_demsar_worked_example() -> None:
    """Demšar 2006, section 3.2.4: four variants of C4.5 on 14 datasets, average ranks
    3.143, 2.000, 2.893, 1.964 give chi2_F = 9.28 and F_F = 3.69, above the critical
    F(3, 39) = 2.85; the Nemenyi CD is 2.569 * sqrt(4*5 / (6*14)) = 1.25 at alpha 0.05
    (1.12 at alpha 0.10)."""
    chi2 = friedman_statistic([3.143, 2.000, 2.893, 1.964], 14)
    assert chi2 == pytest.approx(9.28, abs=0.005)
    f = iman_davenport(chi2, 14, 4)
    assert f == pytest.approx(3.69, abs=0.005)
    assert stats.f.ppf(0.95, 3, 39) == pytest.approx(2.85, abs=0.005) and f > 2.85
    assert critical_difference(4, 14, 0.05) == pytest.approx(1.25, abs=0.005)
    assert critical_difference(4, 14, 0.10) == pytest.approx(1.12, abs=0.005)


# Demšar 2006, Table 5(a): critical values of the two-tailed Nemenyi test, k = 2..10.
Q05 = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
Q10 = [1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920]


@pytest.mark.parametrize(("k", "q05", "q10"), [(k, a, b) for k, a, b in zip(range(2, 11), Q05, Q10, strict=True)])
def test_nemenyi_critical_values_match_demsar_table(k: int, q05: float, q10: float) -> None:
    assert nemenyi_q(k, 0.05) == pytest.approx(q05, abs=1.5e-3)
    assert nemenyi_q(k, 0.10) == pytest.approx(q10, abs=1.5e-3)


def with_intervals(table: dict[str, dict[str, list[tuple[float, float, float]]]]) -> pd.DataFrame:
    """{dataset: {generator: [(score, ci_low, ci_high) per seed]}} as one row per cell."""
    return pd.DataFrame(
        [(d, g, s, *v) for d, gens in table.items() for g, seeds in gens.items() for s, v in enumerate(seeds)],
        columns=["dataset", "generator", "seed", "score", "ci_low", "ci_high"],
    )


def by_hand(cells_: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Mean of the seeds; variance (mean within-seed variance + between-seed variance) / k,
    the within variances read off each 95 % interval, the between variance the moment
    estimate S^2 - mean within, floored at 0; normal quantile; held within 0..1."""
    x = np.array([c[0] for c in cells_])
    within = np.mean([((hi - lo) / (2 * stats.norm.ppf(0.975))) ** 2 for _, lo, hi in cells_])
    between = max(0.0, x.var(ddof=1) - within)
    half = stats.norm.ppf(0.975) * np.sqrt((within + between) / len(x))
    return x.mean(), max(0.0, x.mean() - half), min(1.0, x.mean() + half)


DISAGREE = [(0.889, 0.845, 0.914), (0.835, 0.805, 0.863)]  # two seeds apart beyond their intervals
AGREE = [(0.80, 0.70, 0.90), (0.81, 0.71, 0.91)]  # two seeds alike


@pytest.mark.parametrize("seeds", [DISAGREE, AGREE, [(0.7, 0.6, 0.8), (0.8, 0.75, 0.85), (0.9, 0.85, 0.95)]])
def test_seed_means_combine_each_seeds_interval_with_the_spread_between_seeds(seeds) -> None:
    means = seed_means(with_intervals({"d": {"A": seeds}})).iloc[0]
    mean, low, high = by_hand(seeds)
    assert (means["mean"], means.ci_low, means.ci_high, means.seeds, means.status) == (
        pytest.approx(mean), pytest.approx(low), pytest.approx(high), len(seeds), "ok")
    x = np.array([s[0] for s in seeds])
    t_low, t_high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    ours = means.ci_high - means.ci_low
    if seeds is DISAGREE:  # the t interval over two seeds (quantile 12.7) is what this replaces: far wider
        assert t_high - t_low > 3 * ours
    if seeds is AGREE:  # two seeds alike: the t interval forgets each seed's own noise, this keeps it
        assert ours > t_high - t_low
    narrowest = min(hi - lo for _, lo, hi in seeds)
    assert means.ci_high - means.ci_low >= narrowest / np.sqrt(len(x)) - 1e-12


def test_one_seed_keeps_its_own_interval_and_intervals_stay_in_range() -> None:
    one = seed_means(with_intervals({"d": {"A": [(0.8, 0.71, 0.86)]}})).iloc[0]
    assert (one["mean"], one.ci_low, one.ci_high) == (0.8, 0.71, 0.86)
    high = seed_means(with_intervals({"d": {"A": [(0.99, 0.97, 1.0), (0.9, 0.85, 0.95)]}})).iloc[0]
    assert high.ci_high == 1.0 and high.ci_low == pytest.approx(by_hand([(0.99, 0.97, 1.0), (0.9, 0.85, 0.95)])[1])
    assert np.isnan(seed_means(cells({"d": {"A": [0.7, 0.8]}})).iloc[0].ci_low)  # no cell intervals: none


def test_an_incomplete_seed_leaves_no_mean_and_ranks_last() -> None:
    scores = with_intervals({"d": {"A": [(0.9, 0.85, 0.95), (0.95, 0.9, 0.99)], "B": [(0.6, 0.5, 0.7)] * 2}})
    scores["status"] = "ok"
    scores["score_status"] = "ok"
    scores["reason"] = ""
    broken = (scores.generator == "A") & (scores.seed == 1)
    scores.loc[broken, ["score", "ci_low", "ci_high"]] = np.nan
    scores.loc[broken, ["score_status", "reason"]] = ["incomplete", "incomplete: 1 metric(s) failed (C.km: boom)"]
    means = seed_means(scores).set_index("generator")
    assert np.isnan(means.loc["A", "mean"]) and means.loc["A", "status"] == "incomplete"
    assert means.loc["A", "reason"] == "seed 1: incomplete: 1 metric(s) failed (C.km: boom)"
    assert dataset_ranks(seed_means(scores)).loc["d"].tolist() == [2, 1]
    scores.loc[broken, "score_status"] = "not scored"  # scored in one seed, not in the other: no mean either
    assert seed_means(scores).set_index("generator").loc["A", "status"] == "incomplete"
    scores.loc[broken, "status"] = "failed"  # a cell that did not finish is left out, as before
    assert seed_means(scores).set_index("generator").loc["A", "mean"] == 0.9


def test_average_over_fixed_datasets_by_hand() -> None:
    z = stats.norm.ppf(0.975)
    mean, low, high = average_intervals([0.8, 0.6], [0.7, 0.55], [0.9, 0.65])
    sd = np.sqrt((0.2 / (2 * z)) ** 2 + (0.1 / (2 * z)) ** 2) / 2
    assert (mean, low, high) == (pytest.approx(0.7), pytest.approx(0.7 - z * sd), pytest.approx(0.7 + z * sd))
    assert average_intervals([0.8, 0.6], [0.7, None], [0.9, None])[1] is None
    # an interval held at 1 keeps the variance of its uncut half: 0.95 +- 0.1 shown as [0.85, 1.0]
    _, low, _ = average_intervals([0.95, 0.6], [0.85, 0.55], [1.0, 0.65])
    assert low == pytest.approx(0.775 - np.sqrt(0.1**2 + 0.05**2) / 2)


def test_a_generator_without_score_ranks_last_or_its_dataset_is_dropped() -> None:
    scores = HAND.copy()
    scores.loc[(scores.dataset == "d3") & (scores.generator != "A"), "score"] = np.nan  # B and C failed on d3
    scores.loc[(scores.dataset == "d1") & (scores.generator == "C") & (scores.seed == 0), "score"] = np.nan
    means = seed_means(scores).set_index(["dataset", "generator"])
    assert (means.loc[("d1", "C"), "seeds"], means.loc[("d1", "C"), "missing"]) == (1, 1)
    last = dataset_ranks(seed_means(scores))
    assert last.loc["d3"].tolist() == [1, 2.5, 2.5]
    dropped = dataset_ranks(seed_means(scores), missing="drop")
    assert list(dropped.index) == ["d1", "d2"]
    ranking = rank_generators(scores)
    assert ranking.table.set_index("generator").loc["B", "missing_cells"] == 2


def test_paired_bootstrap_of_a_difference() -> None:
    # Dataset effects dwarf the difference, which is always 0.01: the pairs see only it.
    base = {f"d{i}": 0.5 + 0.1 * i for i in range(4)}
    scores = cells({d: {"A": [v + 0.01, v + 0.02], "B": [v, v + 0.01]} for d, v in base.items()})
    d = paired_difference(scores, "A", "B", n_bootstrap=500)
    assert (d.mean, d.ci_low, d.ci_high, d.pairs) == (pytest.approx(0.01), pytest.approx(0.01),
                                                      pytest.approx(0.01), 8)
    d = paired_difference(HAND, "A", "B", n_bootstrap=2000, seed=1)
    diffs = np.array([0.1, 0.1, -0.05, 0.05, 0.4, 0.3])
    assert d.mean == pytest.approx(diffs.mean())
    assert d.ci_low < d.mean < d.ci_high and diffs.min() <= d.ci_low and d.ci_high <= diffs.max()
    assert paired_difference(HAND, "A", "B", dataset="d1", n_bootstrap=100).mean == pytest.approx(0.1)
    with pytest.raises(InputError, match="no scores for generator 'Z'"):
        paired_difference(HAND, "A", "Z")
    with pytest.raises(InputError, match="share 1 scored cell"):
        paired_difference(HAND[HAND.seed == 0], "A", "B", dataset="d1")


def test_one_dataset_has_ranks_but_no_friedman_test() -> None:
    ranking = rank_generators(HAND[HAND.dataset == "d1"])
    assert ranking.friedman is None and ranking.critical_difference is None
    assert "at least 2 datasets" in ranking.note
    assert ranking.table["generator"].tolist() == ["A", "B", "C"]
