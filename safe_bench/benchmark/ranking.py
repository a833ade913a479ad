"""Ranking generators across datasets, and the tests that say whether the ranks differ.

From one score per cell (dataset, generator, seed; e.g. :meth:`Store.scores`):

- per dataset, each generator's mean over seeds with a 95 % interval that combines
  each seed's own bootstrap interval with the spread between seeds
  (:func:`combine_seeds`; never a Student t interval over a handful of seeds, whose
  quantile for 2 seeds is 12.7 and whose interval is then [0, 1]);
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
themselves), or the dataset is left out of the ranking (``missing="drop"``). So is a
generator whose score is *incomplete* in a finished seed (a metric failed there, see
:mod:`safe_bench.evaluation.scoring`): its mean over seeds is not computed from the seeds that
happened to work, since the seed that failed could have scored lower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from safe_bench.errors import InputError
from safe_bench.evaluation.uncertainty import bootstrap, percentile_ci

Missing = Literal["last", "drop"]
_CELL_COLUMNS = ("dataset", "generator", "seed", "score")
_Z95 = 1.959963984540054
#: Statuses of a score that failed (as opposed to one that does not apply).
FAILED = ("incomplete", "error")


def _check(scores: pd.DataFrame) -> pd.DataFrame:
    absent = [c for c in _CELL_COLUMNS if c not in scores.columns]
    if absent:
        raise InputError(f"scores need the columns {list(_CELL_COLUMNS)}; missing {absent}")
    if scores.duplicated(["dataset", "generator", "seed"]).any():
        raise InputError("scores hold a (dataset, generator, seed) cell twice")
    return scores.astype({"score": float})


def interval_variance(low: float | None, high: float | None) -> float | None:
    """The variance a 95 % interval implies under a normal approximation,
    ``((high - low) / (2 * 1.96)) ** 2`` (the inverse of how :mod:`safe_bench.evaluation.scoring`
    turns an analytic interval into replicates); None without a finite interval."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    return ((high - low) / (2 * _Z95)) ** 2


@dataclass(frozen=True)
class SeedInterval:
    """A score over seeds: the mean of the seeds' scores and its 95 % interval;
    ``within`` is the mean within-seed (bootstrap) variance, ``between`` the estimated
    between-seed variance component."""

    mean: float
    ci_low: float | None
    ci_high: float | None
    seeds: int
    within: float | None
    between: float


def combine_seeds(scores: Sequence[float] | np.ndarray, lows: Sequence[float | None],
                  highs: Sequence[float | None]) -> SeedInterval:
    """The mean of ``k`` seeds' scores with an interval for the generator's expected score
    on the dataset, from each seed's own 95 % interval (``lows``, ``highs``) and the
    spread between seeds.

    One-way random-effects model: seed ``s`` scores ``X_s = mu + u_s + e_s``, where
    ``u_s`` (variance tau^2) is what the seed changes (split, fit, sample) and ``e_s``
    the evaluation's sampling noise, whose variance ``v_s`` the seed's bootstrap
    interval gives (:func:`interval_variance`). ``Var(mean) = (mean(v) + tau^2) / k``,
    and tau^2 is the DerSimonian–Laird moment estimate, which for an equally weighted
    mean is ``max(0, S^2 - mean(v))`` with ``S^2`` the sample variance of the scores
    (DerSimonian & Laird, Controlled Clinical Trials 7 (1986) 177–188). The interval is
    ``mean ± 1.96 sqrt(Var)``, held within 0..1.

    So two seeds that happen to agree still get at least the within-seed width (a t
    interval over them would be zero-width), and two that disagree get the spread
    without the t quantile of 1 degree of freedom (12.7 for 2 seeds, an interval of
    [0, 1]). The price: tau^2 estimated from few seeds is itself noisy, and the normal
    quantile under-covers when seeds truly differ (IntHout, Ioannidis & Borm, BMC Med
    Res Methodol 14 (2014) 25) -- which is why the release gate does not judge this
    interval but each seed's own (:mod:`safe_bench.gate.judge`). With one seed, its own
    interval; a seed without an interval counts no within-seed variance, and without
    any the mean has no interval.
    """
    x = np.asarray(scores, dtype=float)
    k = len(x)
    if k == 0:
        raise InputError("no seed to combine")
    if k == 1:
        return SeedInterval(float(x[0]), lows[0], highs[0], 1, interval_variance(lows[0], highs[0]), 0.0)
    variances = [interval_variance(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
    known = [v for v in variances if v is not None]
    mean = float(x.mean())
    if not known:
        return SeedInterval(mean, None, None, k, None, 0.0)
    within = float(np.mean([0.0 if v is None else v for v in variances]))
    between = max(0.0, float(x.var(ddof=1)) - within)
    half = _Z95 * math.sqrt((within + between) / k)
    return SeedInterval(mean, max(0.0, mean - half), min(1.0, mean + half), k, within, between)


def average_intervals(scores: Sequence[float], lows: Sequence[float | None],
                      highs: Sequence[float | None]) -> tuple[float, float | None, float | None]:
    """Mean of independent estimates (e.g. one per dataset) with the 95 % interval of that
    mean when the components are fixed: ``Var = sum(v_i) / n^2``. Each ``v_i`` is read off
    the wider half of its interval, ``(max(score - low, high - score) / 1.96) ** 2``: the
    intervals of :func:`combine_seeds` are symmetric until held within 0..1, so the half
    not cut off gives their variance back (a lopsided bootstrap interval counts its wider
    side). No interval when one is missing. A leaderboard averages over *its* datasets;
    whether generators generalise across cohorts is what the rank tests
    (:func:`friedman`, :func:`critical_difference`) answer."""
    x = np.asarray(scores, dtype=float)
    mean = float(x.mean())
    if len(x) == 1:
        return mean, lows[0], highs[0]
    if any(lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)) for lo, hi in zip(lows, highs, strict=True)):
        return mean, None, None
    half_widths = [max(s - lo, hi - s) for s, lo, hi in zip(x, lows, highs, strict=True)]
    half = math.sqrt(sum(h * h for h in half_widths)) / len(x)
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def status_text(status: str, reason: str) -> str:
    """``status: reason`` without saying the status twice (pillar reasons start with it)."""
    reason = str(reason or "")
    return reason if reason.startswith(status) else f"{status}: {reason}" if reason else status


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def seed_means(scores: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and generator: the mean score over seeds with its 95 % interval
    (:func:`combine_seeds`), how many seeds scored and how many did not, and the
    ``status`` of the mean (``ok``, ``incomplete``, ``not scored``, ``failed``) with
    its ``reason``.

    Optional columns, as :meth:`safe_bench.benchmark.store.Store.scores` gives them: ``ci_low``
    and ``ci_high`` (each cell's own interval; without them the mean has no interval),
    ``status`` (the cell's: a cell that did not finish is left out, as a failed run) and
    ``score_status`` / ``reason`` (the score's). When ``score_status`` is given, a mean
    exists only when every finished seed has a score: a seed whose score is incomplete
    (or that has none while others do) makes the mean ``incomplete``; when no seed is
    scored it is ``not scored``. Without it, cells without a score are left out."""
    scores = _check(scores)
    rows = []
    for (dataset, generator), group in scores.groupby(["dataset", "generator"], sort=True):
        finished = group[group["status"] == "ok"] if "status" in group.columns else group
        scored = finished.dropna(subset=["score"])
        status, reason = "ok", ""
        if "score_status" in group.columns:
            unscored = finished[finished["score"].isna() | (finished["score_status"] != "ok")]
            if len(unscored):
                why = "; ".join(f"seed {r.seed}: {status_text(str(r.score_status), getattr(r, 'reason', ''))}"
                                for r in unscored.itertuples())
                failed = unscored["score_status"].isin(FAILED).any() or len(unscored) < len(finished)
                status, reason, scored = ("incomplete" if failed else "not scored"), why, scored.iloc[:0]
        if finished.empty:
            status, reason = "failed", "no seed finished"
        elif scored.empty and status == "ok":
            status, reason = "not scored", "no seed has a score"
        if len(scored):
            lows = [_number(v) for v in scored["ci_low"]] if "ci_low" in scored.columns else [None] * len(scored)
            highs = [_number(v) for v in scored["ci_high"]] if "ci_high" in scored.columns else [None] * len(scored)
            c = combine_seeds(scored["score"].to_numpy(), lows, highs)
            mean, low, high = c.mean, c.ci_low, c.ci_high
        else:
            mean, low, high = np.nan, None, None
        rows.append((dataset, generator, mean, np.nan if low is None else low, np.nan if high is None else high,
                     len(scored), len(group) - len(scored), status, reason))
    return pd.DataFrame(rows, columns=["dataset", "generator", "mean", "ci_low", "ci_high", "seeds", "missing",
                                       "status", "reason"])


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
class Ranking:
    """Generators ranked across datasets, with the evidence for the ranking: the
    statistics behind a leaderboard (the page people read is
    :class:`safe_bench.report.leaderboard.LeaderboardPage`)."""

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


def rank_generators(scores: pd.DataFrame, *, missing: Missing = "last", alpha: float = 0.05) -> Ranking:
    """The ranking: per generator its average rank (best first), the mean over datasets
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
    return Ranking(table, means, ranks, test, cd, alpha, note)
