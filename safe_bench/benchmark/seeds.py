"""A score as it is judged and shown: an estimate with its 95 % interval and its holdout
reference, for one evaluation or over a generator's seeds.

:func:`scores_from_result` reads the estimates of one evaluation (SAFE, each pillar,
each metric); :func:`scores_from_results` reads a generator's estimates per dataset
from a results store's tidy results, each over the seeds that finished
(:func:`over_seeds`). With one seed, an estimate is that seed's own; with more, the
score is the mean over seeds with the interval of
:func:`safe_bench.benchmark.ranking.combine_seeds` (each seed's bootstrap and the
spread between seeds), the one the leaderboard shows, and each seed's own estimate is
kept beside it: the release gate judges a rule seed by seed
(:mod:`safe_bench.gate.judge`).

A score that is not there says why: ``incomplete`` or ``error`` (it failed: a metric
errored), or ``not scored``, ``skipped`` or ``missing`` (it does not apply, or was not
evaluated). The mean over seeds exists only when every seed has a score, never from
the seeds that happened to work.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from safe_bench.benchmark.ranking import FAILED, combine_seeds, status_text
from safe_bench.evaluation.evaluate import EvaluationResult


@dataclass(frozen=True)
class Estimate:
    """A score with its 95 % interval and the holdout's reference score; ``score`` is
    None when it could not be computed, ``status`` says why (see the module docstring)
    and ``reason`` how. Over several seeds, ``seeds`` holds each seed's own estimate and
    the score is their mean."""

    score: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    reference: float | None = None
    reason: str = ""
    status: str = "ok"
    seeds: tuple[SeedScore, ...] = ()

    @property
    def failed(self) -> bool:
        """The score failed (a metric errored), as opposed to not applying."""
        return self.status in FAILED


@dataclass(frozen=True)
class SeedScore:
    """One seed's estimate of a subject."""

    seed: int
    estimate: Estimate


#: Scores by subject (``SAFE``, pillars, metric ids).
Scores = Mapping[str, Estimate]


def _finite(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _estimate(score: Any, low: Any, high: Any, reference: Any, status: str, reason: str) -> Estimate:
    """An estimate from stored numbers: a status ``ok`` without a finite score is ``missing``."""
    ok = status == "ok" and _finite(score) is not None
    return Estimate(_finite(score) if ok else None, _finite(low) if ok else None, _finite(high) if ok else None,
                    _finite(reference), "" if ok else reason, status if ok or status != "ok" else "missing")


def scores_from_result(result: EvaluationResult) -> dict[str, Estimate]:
    """The scores of one evaluation, by subject."""
    out = {key: _estimate(p.score, p.ci_low, p.ci_high, p.reference, p.status, p.reason)
           for key, p in result.pillars.items()}
    for m in result.metrics:
        out[m.id] = _estimate(m.score, m.ci_low, m.ci_high, m.reference, m.status, m.reason)
    return out


def over_seeds(seeds: Sequence[SeedScore]) -> Estimate:
    """A subject over seeds: with one seed, its own estimate; with more, the mean with the
    interval of :func:`safe_bench.benchmark.ranking.combine_seeds` and the seeds kept.
    The mean exists only when every seed has a score: a seed whose score failed (or has
    none while others do) makes it ``incomplete``, none scored ``not scored``."""
    if len(seeds) == 1:
        return seeds[0].estimate
    unscored = [s for s in seeds if s.estimate.score is None]
    if unscored:
        failed = any(s.estimate.failed for s in unscored) or len(unscored) < len(seeds)
        why = "; ".join(f"seed {s.seed}: {status_text(s.estimate.status, s.estimate.reason)}" for s in unscored)
        return Estimate(None, reason=why, status="incomplete" if failed else unscored[0].estimate.status,
                        seeds=tuple(seeds))
    es = [s.estimate for s in seeds]
    c = combine_seeds([e.score for e in es], [e.ci_low for e in es], [e.ci_high for e in es])  # type: ignore[misc]
    refs = [e.reference for e in es if e.reference is not None]
    return Estimate(c.mean, c.ci_low, c.ci_high, float(sum(refs) / len(refs)) if len(refs) == len(es) else None,
                    seeds=tuple(seeds))


def scores_from_results(tidy: pd.DataFrame, generator: str) -> dict[str, dict[str, Estimate]]:
    """A generator's scores per dataset from a store's tidy results
    (:meth:`safe_bench.benchmark.store.Store.results`), each over the seeds that finished
    (:func:`over_seeds`)."""
    rows = tidy[tidy["generator"] == generator].sort_values("seed", kind="stable")
    out: dict[str, dict[str, Estimate]] = {}
    for (dataset, subject), group in rows.groupby(["dataset", "metric"], sort=True):
        seeds = [SeedScore(int(r["seed"]), _estimate(r["score"], r["ci_low"], r["ci_high"], r["reference"], str(r["status"]),
                                                      str(r["reason"])))
                 for r in group.to_dict("records")]
        out.setdefault(str(dataset), {})[str(subject)] = over_seeds(seeds)
    return out
