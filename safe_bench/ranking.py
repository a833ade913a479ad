"""Ranking generators across datasets, and the tests that say whether the ranks differ.

From one score per cell (dataset, generator, seed; e.g. :meth:`Store.scores`):

- per dataset, each generator's mean over seeds with a Student t interval;
- per dataset, ranks by that mean (1 = best = highest score; ties share the mean of
  the ranks they span);
- the average rank across datasets, the Friedman test of "all generators rank
  alike" with the Iman–Davenport F refinement, and the Nemenyi critical difference
  (two generators whose average ranks differ by less are not significantly
  different): Demšar, "Statistical comparisons of classifiers over multiple data
  sets", JMLR 7 (2006) 1–30, sections 3.2.2 and 3.2.3;
- for two generators, the paired bootstrap interval of their mean score difference
  over the (dataset, seed) cells both finished (same data, same split, same seed).

A generator with no successful seed on a dataset is ranked last there by default
(``missing="last"``: failing is worse than any score, failures tie among
themselves), or the dataset is left out of the ranking (``missing="drop"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.errors import InputError
from safe_bench.uncertainty import bootstrap, percentile_ci, t_interval

Missing = Literal["last", "drop"]
_CELL_COLUMNS = ("dataset", "generator", "seed", "score")


def _check(scores: pd.DataFrame) -> pd.DataFrame:
    absent = [c for c in _CELL_COLUMNS if c not in scores.columns]
    if absent:
        raise InputError(f"scores need the columns {list(_CELL_COLUMNS)}; missing {absent}")
    if scores.duplicated(["dataset", "generator", "seed"]).any():
        raise InputError("scores hold a (dataset, generator, seed) cell twice")
    return scores.astype({"score": float})


def seed_means(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and generator: mean score over the seeds that gave one, its 95 % t interval
    (held within the scores' range 0..1), how many seeds scored and how many did not
    (failed, timed out or no score)."""
    scores = _check(scores)
    rows = []
    for (dataset, generator), group in scores.groupby(["dataset", "generator"], sort=True):
        ok = group["score"].dropna().to_numpy()
        mean, low, high = t_interval(ok, bounds=(0.0, 1.0)) if len(ok) else (np.nan, np.nan, np.nan)
        rows.append((dataset, generator, mean, low, high, len(ok), len(group) - len(ok)))
    return pd.DataFrame(rows, columns=["dataset", "generator", "mean", "ci_low", "ci_high", "seeds", "missing"])


def dataset_ranks(means: pd.DataFrame, *, missing: Missing = "last") -> pd.DataFrame:
    """Ranks (datasets x generators) of the seed means; 1 is the highest mean, ties share
    the mean rank. See the module docstring for ``missing``."""
    table = means.pivot(index="dataset", columns="generator", values="mean")
    if missing == "drop":
        table = table.dropna(axis="index", how="any")
    elif missing == "last":
        table = table.fillna(-np.inf)
    else:
        raise InputError(f"missing must be 'last' or 'drop', not {missing!r}")
    ranks = [stats.rankdata(-row, method="average") for row in table.to_numpy()]
    return pd.DataFrame(np.reshape(ranks, table.shape), index=table.index, columns=table.columns)


def friedman_statistic(average_ranks: Sequence[float], n_datasets: int) -> float:
    """Friedman's chi-square from the average ranks R_j of k generators over N datasets
    (Demšar 2006, eq. 3): 12N / (k(k+1)) * (sum R_j^2 - k(k+1)^2 / 4)."""
    r = np.asarray(average_ranks, dtype=float)
    k = len(r)
    return float(12 * n_datasets / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4))


def iman_davenport(chi2: float, n_datasets: int, k: int) -> float:
    """Iman and Davenport's F = (N-1) chi2 / (N(k-1) - chi2), F-distributed with k-1 and
    (k-1)(N-1) degrees of freedom (Demšar 2006, eq. 4); infinite when every dataset ranks alike."""
    denominator = n_datasets * (k - 1) - chi2
    return float("inf") if denominator <= 1e-12 else float((n_datasets - 1) * chi2 / denominator)


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical value q_alpha for k generators: the studentized range quantile
    with infinite degrees of freedom over sqrt(2) (Demšar 2006, Table 5a)."""
    if k < 2:
        raise InputError(f"the Nemenyi test compares at least 2 generators, got {k}")
    return float(stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2))


def critical_difference(k: int, n_datasets: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference CD = q_alpha * sqrt(k(k+1) / (6N)) (Demšar 2006, section 3.2.2)."""
    return nemenyi_q(k, alpha) * float(np.sqrt(k * (k + 1) / (6 * n_datasets)))


@dataclass(frozen=True)
class Friedman:
    """The Friedman test over N datasets and k generators, with the Iman–Davenport F."""

    statistic: float
    pvalue: float
    f_statistic: float
    f_pvalue: float
    n_datasets: int
    k: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def friedman(ranks: pd.DataFrame) -> Friedman:
    """Friedman test on a ranks table (datasets x generators, e.g. :func:`dataset_ranks`).

    Ties are corrected for as in Conover (1999) and :func:`scipy.stats.friedmanchisquare`:
    the statistic of Demšar's eq. 3 divided by 1 - sum(t^3 - t) / (N(k^3 - k)) over the
    groups of t tied generators; without ties both agree.
    """
    n, k = ranks.shape
    if n < 2 or k < 2:
        raise InputError(f"the Friedman test needs at least 2 datasets and 2 generators, got {n} and {k}")
    values = ranks.to_numpy()
    ties = sum(float(np.sum(counts**3 - counts)) for counts in (np.unique(row, return_counts=True)[1]
                                                              for row in values))
    correction = 1 - ties / (n * (k**3 - k))
    if correction <= 0:  # every dataset ties every generator: no evidence of any difference
        return Friedman(0.0, 1.0, 0.0, 1.0, n, k)
    chi2 = friedman_statistic(values.mean(axis=0), n) / correction
    f = iman_davenport(chi2, n, k)
    f_p = 0.0 if np.isinf(f) else float(stats.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return Friedman(chi2, float(stats.chi2.sf(chi2, k - 1)), f, f_p, n, k)


@dataclass(frozen=True)
class Difference:
    """Mean score difference a - b over paired cells, with its paired bootstrap interval."""

    a: str
    b: str
    mean: float
    ci_low: float
    ci_high: float
    pairs: int
    n_bootstrap: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_difference(
    scores: pd.DataFrame, a: str, b: str, *, dataset: str | None = None, n_bootstrap: int = 2000, seed: int = 0
) -> Difference:
    """Mean of score(a) - score(b) over the (dataset, seed) cells both generators scored,
    with the 95 % percentile interval of a bootstrap over those pairs (Efron & Tibshirani
    1993, ch. 16: resampling pairs keeps the shared dataset and seed effects)."""
    scores = _check(scores)
    if dataset is not None:
        scores = scores[scores["dataset"] == dataset]
    wide = scores.pivot(index=["dataset", "seed"], columns="generator", values="score")
    for name in (a, b):
        if name not in wide.columns:
            raise InputError(f"no scores for generator {name!r}")
    diff = (wide[a] - wide[b]).dropna().to_numpy()
    if len(diff) < 2:
        raise InputError(f"{a!r} and {b!r} share {len(diff)} scored cell(s); a paired interval needs at least 2")
    replicates = bootstrap(lambda idx: float(diff[idx].mean()), len(diff), n_bootstrap, seed)
    low, high = percentile_ci(replicates)
    return Difference(a, b, float(diff.mean()), low, high, len(diff), n_bootstrap)


@dataclass(frozen=True)
class Leaderboard:
    """Generators ranked across datasets, with the evidence for the ranking."""

    table: pd.DataFrame
    means: pd.DataFrame
    ranks: pd.DataFrame
    friedman: Friedman | None
    critical_difference: float | None
    alpha: float
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "leaderboard": self.table.to_dict(orient="records"),
            "per_dataset": self.means.to_dict(orient="records"),
            "ranks": {d: row.to_dict() for d, row in self.ranks.iterrows()},
            "friedman": None if self.friedman is None else self.friedman.to_dict(),
            "critical_difference": self.critical_difference,
            "alpha": self.alpha,
            "note": self.note,
        }


def leaderboard(scores: pd.DataFrame, *, missing: Missing = "last", alpha: float = 0.05) -> Leaderboard:
    """The leaderboard: per generator its average rank (best first), the mean over datasets
    of its seed means, the datasets it scored on and its cells without a score."""
    means = seed_means(scores)
    if means.empty:
        raise InputError("no cells to rank")
    ranks = dataset_ranks(means, missing=missing)
    n, k = ranks.shape
    table = pd.DataFrame({
        "generator": ranks.columns,
        "average_rank": ranks.mean(axis=0).to_numpy() if n else np.nan,
        "mean_score": means.groupby("generator")["mean"].mean().reindex(ranks.columns).to_numpy(),
        "datasets": means.dropna(subset=["mean"]).groupby("generator").size().reindex(ranks.columns,
                                                                                     fill_value=0).to_numpy(),
        "missing_cells": means.groupby("generator")["missing"].sum().reindex(ranks.columns).to_numpy(),
    }).sort_values(["average_rank", "mean_score", "generator"], ascending=[True, False, True], ignore_index=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    if n >= 2 and k >= 2:
        test, cd, note = friedman(ranks), critical_difference(k, n, alpha), ""
    else:
        test, cd = None, None
        note = f"the Friedman and Nemenyi tests need at least 2 datasets and 2 generators (have {n} and {k})"
    return Leaderboard(table, means, ranks, test, cd, alpha, note)
