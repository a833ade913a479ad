"""The leaderboard of a results store: what its site, Markdown, JSON and the terminal's
text show (:class:`LeaderboardPage`).

Generators are ranked by one score (SAFE on the site; any pillar or metric from the
command line) by :func:`safe_bench.benchmark.ranking.rank_generators`: per dataset, the
mean over seeds of that score (:class:`RankedScore`), ranks, the average rank across
datasets, the Friedman test and the critical difference.

Beside it, per dataset, each generator's SAFE, S, C and P are the mean over its seeds
with the 95 % interval of :func:`safe_bench.benchmark.ranking.combine_seeds` (each
seed's bootstrap interval and the spread between seeds; a single seed keeps its own
interval), the estimate the release gate shows
(:func:`safe_bench.benchmark.seeds.scores_from_results`). Across datasets, a
generator's scores are the mean of the per-dataset means, with the interval of that
mean over these datasets (:func:`safe_bench.benchmark.ranking.average_intervals`;
whether the ranking generalises across cohorts is the Friedman test's question).

A score that failed in a seed (``incomplete``: a metric errored) or does not apply
(``not scored``) is shown as such with its reason, never as the mean of the seeds or
datasets that worked; across datasets, one incomplete dataset makes the generator's
score incomplete, while datasets it has no result on (failed cells) are left out and
counted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from safe_bench.benchmark.ranking import Missing, Ranking, average_intervals, rank_generators
from safe_bench.benchmark.seeds import Estimate, scores_from_results
from safe_bench.benchmark.store import Store

SUBJECTS = ("SAFE", "S", "C", "P")


@dataclass
class CellLink:
    """One stored cell: where it ran, its status (and the stage it stopped at, when it did
    not finish) and, when it finished, its page."""

    dataset: str
    generator: str
    seed: int
    status: str
    stage: str
    reason: str
    key: str
    href: str | None


@dataclass(frozen=True)
class RankedScore:
    """The score a leaderboard ranks by (:attr:`LeaderboardPage.score`), for one generator,
    as the ranking computed it (:func:`safe_bench.benchmark.ranking.seed_means`): on one
    dataset, the mean over its finished seeds with its 95 % interval and its status; across
    datasets, the mean of those means over the datasets it scored on (no interval, no
    status). ``scored`` counts the seeds (on a dataset) or datasets (across them) with a
    score, ``unscored`` the cells without one. ``mean`` is NaN when there is none."""

    mean: float
    scored: int
    unscored: int
    ci_low: float | None = None
    ci_high: float | None = None
    status: str = "ok"
    reason: str = ""


@dataclass
class Row:
    """A generator in a leaderboard table (overall or on one dataset)."""

    generator: str
    rank: float
    scores: dict[str, Estimate]
    seconds: float | None
    ranked: RankedScore
    seeds: int = 0
    cells: int = 0
    mean_rank: float | None = None
    links: list[CellLink] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "rank": self.rank,
            "average_rank": self.mean_rank,
            **{k: {"score": e.score, "ci_low": e.ci_low, "ci_high": e.ci_high, "reference": e.reference,
                   "status": e.status, "reason": e.reason}
               for k, e in self.scores.items()},
            "generator_seconds": self.seconds,
            "seeds_scored": self.seeds,
            "cells": self.cells,
        }


@dataclass
class DatasetPage:
    """One dataset: its generators ranked by the page's score, and its cells; ``absent``
    holds the rank of each generator without a cell here (last, or NaN when the dataset
    is left out of the ranking)."""

    name: str
    slug: str
    score: str
    rows: list[Row]
    reference: dict[str, float | None]
    absent: dict[str, float] = field(default_factory=dict)

    @property
    def subtitle(self) -> str:
        return (f"{len(self.rows)} generators; scores are means over seeds with a 95 % interval combining each "
                f"seed's bootstrap interval with the spread between seeds, ranked by {self.score} (1 is best, ties "
                f"share the mean rank; a generator whose {self.score} is incomplete or missing ranks last).")


@dataclass
class LeaderboardPage:
    """The whole leaderboard, as its pages show it."""

    title: str
    score: str
    overall: list[Row]
    datasets: list[DatasetPage]
    ranking: Ranking
    cells: pd.DataFrame = field(repr=False)

    @property
    def finished(self) -> int:
        """How many cells finished (have a result)."""
        return int((self.cells["status"] == "ok").sum())

    @property
    def unfinished(self) -> list[CellLink]:
        """The cells without a result, by dataset, generator and seed."""
        links = [link for d in self.datasets for row in d.rows for link in row.links if link.status != "ok"]
        return sorted(links, key=lambda link: (link.dataset, link.generator, link.seed))

    @property
    def subtitle(self) -> str:
        n = len(self.datasets)
        return (f"{len(self.overall)} generators on {n} dataset{'s' if n != 1 else ''}, {len(self.cells)} cells "
                f"({self.finished} finished). Generators are ordered by their average {self.score} rank across "
                "datasets; scores are the mean over datasets of the per-dataset means over seeds, with the 95 % "
                "interval of that mean over these datasets (each seed's bootstrap and the spread between seeds "
                "propagated).")

    @property
    def friedman(self) -> str:
        f = self.ranking.friedman
        if f is None:
            return self.ranking.note
        cd = self.ranking.critical_difference
        return (f"Friedman chi² = {f.statistic:.3f} (p = {f.pvalue:.3g}), Iman–Davenport F = {f.f_statistic:.3f} "
                f"(p = {f.f_pvalue:.3g}) over {f.n_datasets} datasets and {f.k} generators; Nemenyi critical "
                f"difference {cd:.3f} at α = {self.ranking.alpha:g} (Demšar 2006).")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "title": self.title,
            "leaderboard": [r.to_dict() for r in self.overall],
            "datasets": {d.name: {"rows": [r.to_dict() for r in d.rows], "reference": d.reference}
                         for d in self.datasets},
            "ranking": self.ranking.to_dict(),
            "cells": self.cells.drop(columns=["params"], errors="ignore").to_dict(orient="records"),
        }


def slug(name: str, taken: set[str]) -> str:
    """A file-name-safe, unique form of ``name``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"
    out, i = base, 2
    while out in taken:
        out, i = f"{base}-{i}", i + 1
    taken.add(out)
    return out


def _mean_estimate(by_dataset: dict[str, Estimate]) -> Estimate:
    """A generator's score across datasets (see the module docstring)."""
    failed = {d: v for d, v in by_dataset.items() if v.failed}
    if failed:
        return Estimate(None, reason="; ".join(f"{d}: {v.reason}" for d, v in failed.items()), status="incomplete")
    values = list(by_dataset.values())
    scored = [v for v in values if v.score is not None]
    if not scored:
        unscored = {v.status for v in values}
        return Estimate(None, reason="not scored on any dataset",
                        status="not scored" if unscored <= {"not scored", "skipped"} else "missing")
    mean, low, high = average_intervals([v.score for v in scored], [v.ci_low for v in scored],  # type: ignore[misc]
                                        [v.ci_high for v in scored])
    refs = [v.reference for v in scored if v.reference is not None]
    return Estimate(mean, low, high, float(np.mean(refs)) if len(refs) == len(scored) else None)


def _seconds(cells: pd.DataFrame) -> float | None:
    ok = cells[cells["status"] == "ok"]
    times = (ok["fit_seconds"].astype(float) + ok["sample_seconds"].astype(float)).dropna()
    return float(times.mean()) if len(times) else None


def _ranked_on_dataset(m: Any) -> RankedScore:
    """A row of :func:`safe_bench.benchmark.ranking.seed_means` as a ranked score."""
    low, high = (None, None) if pd.isna(m.ci_low) else (float(m.ci_low), float(m.ci_high))
    return RankedScore(float(m.mean), int(m.seeds), int(m.missing), low, high, str(m.status), str(m.reason))


def leaderboard_page(store: Store, *, title: str, score: str = "SAFE", missing: Missing = "last",
                     alpha: float = 0.05) -> LeaderboardPage:
    """The leaderboard of a store, ranked by ``score`` (SAFE, a pillar or a metric id; see
    :func:`safe_bench.benchmark.ranking.rank_generators` for ``missing`` and ``alpha``);
    page links are left for the site to fill in. A store without a ``score`` to rank is
    the caller's to refuse, with its own message."""
    cells = store.cells()
    tidy = store.results()
    ranking = rank_generators(store.scores(score), missing=missing, alpha=alpha)
    generators = list(ranking.table["generator"])
    per_gen = {g: scores_from_results(tidy, g) for g in generators}
    means = {(m.dataset, m.generator): m for m in ranking.means.itertuples()}
    empty = Estimate(None, reason="no finished cell", status="missing")
    taken: set[str] = set()
    datasets = []
    for name in sorted(cells["dataset"].unique()):
        ds_cells = cells[cells["dataset"] == name]
        rows, absent = [], {}
        for g in generators:
            rank = float(ranking.ranks.loc[name, g]) if name in ranking.ranks.index else math.nan
            g_cells = ds_cells[ds_cells["generator"] == g]
            if g_cells.empty:
                absent[g] = rank
                continue
            est = per_gen[g].get(name, {})
            links = [CellLink(name, g, int(c.seed), c.status, c.stage, c.reason, c.key, None)
                     for c in g_cells.itertuples()]
            rows.append(Row(g, rank, {k: est.get(k, empty) for k in SUBJECTS}, _seconds(g_cells),
                            _ranked_on_dataset(means[name, g]), seeds=sum(link.status == "ok" for link in links),
                            cells=len(links), links=links))
        rows.sort(key=lambda r: (r.rank if math.isfinite(r.rank) else math.inf, r.generator))
        reference = {k: _mean_ref([r.scores[k] for r in rows]) for k in SUBJECTS}
        datasets.append(DatasetPage(name, slug(name, taken), score, rows, reference, absent))
    overall = []
    columns = ["generator", "rank", "average_rank", "mean_score", "datasets", "missing_cells"]
    for g, rank, average_rank, mean_score, scored, unscored in ranking.table[columns].itertuples(index=False):
        est = {k: _mean_estimate({name: d.get(k, empty) for name, d in per_gen[g].items()}) for k in SUBJECTS}
        overall.append(Row(str(g), float(rank), est, _seconds(cells[cells["generator"] == g]),
                           RankedScore(float(mean_score), int(scored), int(unscored)),
                           seeds=int((cells[(cells["generator"] == g)]["status"] == "ok").sum()),
                           cells=int((cells["generator"] == g).sum()), mean_rank=float(average_rank)))
    return LeaderboardPage(title, score, overall, datasets, ranking, cells)


def _mean_ref(values: list[Estimate]) -> float | None:
    refs = [v.reference for v in values if v.reference is not None]
    return float(np.mean(refs)) if refs else None
