"""Pillar scores S, C, P and the SAFE score, each with a joint bootstrap interval.

A pillar is the mean of its metrics' scores (status ``ok`` only); SAFE is the
weighted mean of the pillars (equal weights by default), renormalised over the
pillars that could be scored, which are named in the result.

Intervals: replicate ``b`` of a pillar is the mean of replicate ``b`` of its metrics.
Metric replicates come from the shared row resamples (common random numbers); a
metric whose interval is analytic (Wilson, exact) contributes normal draws matching
its interval. The 95 % percentile interval of the pillar replicates is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from safe_bench.metrics.base import PILLAR_NAMES, PILLARS, MetricResult
from safe_bench.uncertainty import percentile_ci

DEFAULT_WEIGHTS: Mapping[str, float] = {"S": 1.0, "C": 1.0, "P": 1.0}
_Z95 = 1.959963984540054


@dataclass
class PillarScore:
    """A pillar (S, C, P) or the SAFE score."""

    pillar: str
    name: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    reference: float | None
    metrics: list[str] = field(default_factory=list)
    worst: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _replicates(result: MetricResult, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    assert result.score is not None
    reps = result.replicates
    if reps is not None and len(reps) == n_bootstrap and np.all(np.isfinite(reps)):
        return np.asarray(reps, dtype=float)
    if result.ci_low is None or result.ci_high is None:
        return np.full(n_bootstrap, result.score)
    sd = (result.ci_high - result.ci_low) / (2 * _Z95)
    return np.clip(rng.normal(result.score, sd, size=n_bootstrap), 0.0, 1.0)


def score_pillars(
    results: Sequence[MetricResult],
    *,
    weights: Mapping[str, float] | None = None,
    n_bootstrap: int = 100,
    seed: int = 0,
) -> dict[str, PillarScore]:
    """Pillar and SAFE scores from metric results."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    bad = {k: v for k, v in weights.items() if k not in PILLARS or not v >= 0}
    if bad or not any(v > 0 for v in weights.values()):
        raise ValueError(f"weights must be non-negative numbers for S, C, P (got {weights})")
    rng = np.random.default_rng((seed, 2))
    pillars: dict[str, PillarScore] = {}
    pillar_reps: dict[str, np.ndarray] = {}
    for pillar in PILLARS:
        ok = [r for r in results if r.pillar == pillar and r.ok]
        if not ok:
            pillars[pillar] = PillarScore(
                pillar, PILLAR_NAMES[pillar], None, None, None, None,
                reason="no metric of this pillar could be computed",
            )
            continue
        reps = np.mean([_replicates(r, n_bootstrap, rng) for r in ok], axis=0)
        refs = [r.reference for r in ok if r.reference is not None]
        low, high = percentile_ci(reps)
        worst = min(ok, key=lambda r: (r.score, r.id))
        pillars[pillar] = PillarScore(
            pillar,
            PILLAR_NAMES[pillar],
            score=float(np.mean([r.score for r in ok])),
            ci_low=low,
            ci_high=high,
            reference=float(np.mean(refs)) if len(refs) == len(ok) else None,
            metrics=[r.id for r in ok],
            worst=worst.id,
        )
        pillar_reps[pillar] = reps
    pillars["SAFE"] = _safe(pillars, pillar_reps, weights)
    return pillars


def _safe(
    pillars: Mapping[str, PillarScore], reps: Mapping[str, np.ndarray], weights: Mapping[str, float]
) -> PillarScore:
    used = [p for p in PILLARS if pillars[p].score is not None and weights.get(p, 0) > 0]
    missing = [p for p in PILLARS if p not in used and weights.get(p, 0) > 0]
    if not used:
        return PillarScore("SAFE", "SAFE", None, None, None, None, reason="no pillar could be scored")
    w = np.array([weights[p] for p in used]) / sum(weights[p] for p in used)
    score = float(sum(wi * pillars[p].score for wi, p in zip(w, used)))  # type: ignore[operator]
    low, high = percentile_ci(sum(wi * reps[p] for wi, p in zip(w, used)))
    refs = [pillars[p].reference for p in used]
    reference = None if any(r is None for r in refs) else float(sum(wi * r for wi, r in zip(w, refs)))  # type: ignore[operator]
    reason = f"pillar(s) {', '.join(missing)} could not be scored: SAFE covers {', '.join(used)} only" if missing else ""
    worst = min(used, key=lambda p: (pillars[p].score, p))
    return PillarScore("SAFE", "SAFE", score, low, high, reference, metrics=used, worst=worst, reason=reason)
