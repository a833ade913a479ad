"""Pillar scores S, C, P and the SAFE score, each with a joint bootstrap interval.

**Completeness.** A pillar has a score only when every one of its metrics that applies
ran: a metric that *errors* makes its pillar ``incomplete`` (no score; the failure is
named in ``reason``), never a mean over the metrics that happened to work (which could
be higher). A metric *skipped* with its reason (it does not apply: no prognostic score
declared, no quasi-identifiers, too little evidence) is listed in ``skipped`` and the
pillar counts the rest (``metrics``). A pillar whose metrics were all skipped is
``not scored``. SAFE has a score only when every pillar with a weight above 0 has one.

**Pillars** are the mean of their metrics' scores.

**SAFE** is, by default, the weighted *geometric* mean of the pillars,
``prod_k P_k ** (w_k / sum w)``. A geometric mean does not let one pillar buy off
another: a pillar near 0 (a table of copies of training patients has P near 0) pulls
SAFE towards 0 however good the other two are, which a weighted arithmetic mean cannot
do (copies score S and C near 1, so their arithmetic mean stays near 0.7 and outranks
honest generators). This is the aggregation the Human Development Index adopted in
2010 for the same reason: poor performance in one dimension is no longer linearly
compensated by another (UNDP, Human Development Report 2010, technical note 1). The
arithmetic mean is available as ``composite="mean"`` for a user who asks for it.

**Privacy floor.** Within P, a leak is still one metric among nine (copies of training
patients score P.exact, P.dcr_share, P.dcr_p5 and P.nndr at 0, while an attack that
finds nothing to link scores 1), so P for a table of copies sits near 0.2-0.3, and its
cube root near 0.65: still above an honest generator that keeps little clinical signal.
So below :data:`PRIVACY_FLOOR` the P score caps SAFE: a table whose privacy evidence
says it leaks is not fit for release however faithful it is, and SAFE says so (with
either composite). Replicate by replicate, so the interval follows.

**Intervals.** Replicate ``b`` of a pillar is the mean of replicate ``b`` of its
metrics; replicate ``b`` of SAFE combines replicate ``b`` of the pillars. Metric
replicates come from the shared row resamples (common random numbers); a metric whose
interval is analytic (Wilson, exact) contributes normal draws matching its interval.
The 95 % percentile interval of the replicates is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from numbers import Real
from typing import Any, Literal

import numpy as np

from safe_bench.errors import InputError
from safe_bench.evaluation.uncertainty import Stream, percentile_ci, stream
from safe_bench.metrics.base import PILLAR_NAMES, PILLARS, MetricResult

DEFAULT_WEIGHTS: Mapping[str, float] = {"S": 1.0, "C": 1.0, "P": 1.0}
#: Largest pillar weight accepted; weights are relative, and larger ones overflow their sum.
MAX_WEIGHT = 10**6
Composite = Literal["geometric", "mean"]
COMPOSITES: tuple[Composite, ...] = ("geometric", "mean")
Status = Literal["ok", "incomplete", "not scored"]
_Z95 = 1.959963984540054
#: Below this P score, SAFE is at most P (see the module docstring).
PRIVACY_FLOOR = 0.5


@dataclass
class PillarScore:
    """A pillar (S, C, P) or the SAFE score.

    ``status`` is ``ok`` (scored), ``incomplete`` (a metric that applies failed: no
    score) or ``not scored`` (no metric applied). ``metrics`` are the metrics (for SAFE:
    the pillars) the score counts, ``skipped`` the metrics that did not apply, with
    their reasons, ``errors`` the metrics that failed, with theirs."""

    pillar: str
    name: str
    score: float | None
    ci_low: float | None
    ci_high: float | None
    reference: float | None
    metrics: list[str] = field(default_factory=list)
    worst: str | None = None
    reason: str = ""
    status: Status = "ok"
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    composite: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_name(p: PillarScore) -> str:
    """How a pillar is named (``statistical fidelity``, ...); SAFE by how its pillars are combined."""
    return PILLAR_NAMES.get(p.pillar, f"weighted {p.composite} mean of S, C, P" if p.composite
                            else "weighted mean of S, C, P")


#: What a score above the real-vs-real reference means, by what is scored: for S and C the
#: holdout is the ceiling (fresh real patients), so a table above it sits closer to the
#: training rows than fresh patients do, which copying gives; for P it reveals less.
ABOVE_REFERENCE = {
    "S": "above the real reference: closer to the training rows than fresh patients are, as copies would be "
         "(see the privacy verdict)",
    "C": "above the real reference: closer to the training rows than fresh patients are, as copies would be "
         "(see the privacy verdict)",
    "P": "above the real reference: reveals less about training patients than fresh patients would",
}
#: Privacy verdict levels under which a high S or C is no evidence of quality.
COPYING = ("memorisation", "closer than fresh patients")


def against_reference(score: float | None, low: float | None, high: float | None, reference: float | None,
                      pillar: str = "", *, copying: bool = False) -> str:
    """How a score of ``pillar`` (S, C, P; SAFE or empty: neither) compares with the
    real-vs-real reference, judged on its interval. Above the reference is never praise
    for S and C (:data:`ABOVE_REFERENCE`), and when the privacy verdict finds the table
    ``copying`` (:data:`COPYING`) their comparison says it is no evidence of quality:
    copies of training patients score as well as fresh ones."""
    if score is None:
        return "not scored"
    if reference is None:
        return "no holdout reference to compare with"
    above = ABOVE_REFERENCE.get(pillar, "above the real reference")
    if low is not None and high is not None:
        text = ("below the real reference: measurably worse than fresh real data" if high < reference else above
                if low > reference else "consistent with the real reference (its interval covers it)")
    else:
        text = "below the real reference" if score < reference else "at or above the real reference"
    if copying and pillar in ("S", "C"):
        text += "; but the rows copy or sit closer to training patients than fresh ones do, so this is no evidence of quality"
    return text


def _replicates(result: MetricResult, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    assert result.score is not None
    reps = result.replicates
    if reps is not None and len(reps) == n_bootstrap and np.all(np.isfinite(reps)):
        return np.asarray(reps, dtype=float)
    if result.ci_low is None or result.ci_high is None:
        return np.full(n_bootstrap, result.score)
    sd = (result.ci_high - result.ci_low) / (2 * _Z95)
    return np.clip(rng.normal(result.score, sd, size=n_bootstrap), 0.0, 1.0)


def _pillar(pillar: str, results: Sequence[MetricResult], n_bootstrap: int, rng: np.random.Generator
            ) -> tuple[PillarScore, np.ndarray | None]:
    mine = [r for r in results if r.pillar == pillar]
    ok = [r for r in mine if r.ok]
    skipped = {r.id: r.reason for r in mine if r.status == "skipped"}
    errors = {r.id: r.reason for r in mine if r.status == "error"}
    name = PILLAR_NAMES[pillar]
    if errors:
        failed = "; ".join(f"{id}: {why}" for id, why in errors.items())
        return PillarScore(pillar, name, None, None, None, None, metrics=[r.id for r in ok],
                           reason=f"{len(errors)} metric(s) failed ({failed})", status="incomplete",
                           skipped=skipped, errors=errors), None
    if not ok:
        reasons = list(dict.fromkeys(skipped.values()))
        why = ("no metric of this pillar applies: " + "; ".join(reasons[:2]) + ("; ..." if len(reasons) > 2 else "")
               if skipped else "no metric of this pillar was asked for")
        return PillarScore(pillar, name, None, None, None, None, reason=why, status="not scored", skipped=skipped), None
    reps = np.mean([_replicates(r, n_bootstrap, rng) for r in ok], axis=0)
    refs = [r.reference for r in ok if r.reference is not None]
    low, high = percentile_ci(reps)
    worst = min(ok, key=lambda r: (r.score, r.id))
    counted = f"{len(ok)} of {len(mine)} metrics" + (f" ({len(skipped)} skipped: do not apply)" if skipped else "")
    return PillarScore(
        pillar, name,
        score=float(np.mean([r.score for r in ok])),
        ci_low=low, ci_high=high,
        reference=float(np.mean(refs)) if len(refs) == len(ok) else None,
        metrics=[r.id for r in ok], worst=worst.id, reason=counted, skipped=skipped,
    ), reps


def score_pillars(
    results: Sequence[MetricResult],
    *,
    weights: Mapping[str, float] | None = None,
    n_bootstrap: int = 100,
    seed: int = 0,
    composite: Composite = "geometric",
) -> dict[str, PillarScore]:
    """Pillar and SAFE scores from metric results."""
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    check_weights(weights)
    if composite not in COMPOSITES:
        raise ValueError(f"composite must be one of {', '.join(COMPOSITES)}, not {composite!r}")
    rng = stream(seed, Stream.PILLAR_COMBINATION)
    pillars: dict[str, PillarScore] = {}
    pillar_reps: dict[str, np.ndarray] = {}
    for pillar in PILLARS:
        pillars[pillar], reps = _pillar(pillar, results, n_bootstrap, rng)
        if reps is not None:
            pillar_reps[pillar] = reps
    pillars["SAFE"] = _safe(pillars, pillar_reps, weights, composite)
    return pillars


def weight_problem(weights: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """The first thing wrong with pillar weights, as (the pillar whose weight it is,
    or None for the weights as a whole; what is wrong), or None: each weight a finite
    number from 0 to :data:`MAX_WEIGHT` for a pillar S, C or P, one above 0 (a weight
    of 1e308 overflows the sum, and SAFE came out 0 reported as ok)."""
    for key, value in weights.items():
        if key not in PILLARS:
            return key, f"is not a pillar; expected one of {', '.join(PILLARS)}"
        if (not isinstance(value, Real) or isinstance(value, bool)
                or not (math.isfinite(value) and 0 <= float(value) <= MAX_WEIGHT)):
            return key, f"must be a number of at least 0 and at most {MAX_WEIGHT}, not {value!r}"
    if not any(v > 0 for v in weights.values()):
        return None, "at least one weight must be positive"
    return None


def check_weights(weights: Mapping[str, Any]) -> None:
    """Raise InputError naming the weight when :func:`weight_problem` finds one."""
    problem = weight_problem(weights)
    if problem is not None:
        key, what = problem
        raise InputError(f"weights: {key!r} {what}" if key is not None else f"weights: {what}")


def combine(values: Sequence[float | np.ndarray], weights: np.ndarray, composite: Composite) -> Any:
    """The composite of pillar scores (or of their replicates) with normalised weights."""
    if composite == "mean":
        return sum(w * v for w, v in zip(weights, values, strict=True))
    with np.errstate(divide="ignore"):
        return np.exp(sum(w * np.log(np.maximum(v, 0.0)) for w, v in zip(weights, values, strict=True)))


def _floored(value: Any, privacy: Any, used: Sequence[str]) -> Any:
    """``value`` capped at the P score (or replicates) wherever P is below the floor."""
    if "P" not in used or privacy is None:
        return value
    return np.where(privacy < PRIVACY_FLOOR, np.minimum(value, privacy), value) if np.ndim(value) else (
        min(value, privacy) if privacy < PRIVACY_FLOOR else value)


def _safe(
    pillars: Mapping[str, PillarScore], reps: Mapping[str, np.ndarray], weights: Mapping[str, float],
    composite: Composite,
) -> PillarScore:
    used: list[str] = [p for p in PILLARS if weights.get(p, 0) > 0]
    unscored = [p for p in used if not pillars[p].ok]
    if unscored:
        why = "; ".join(f"{p} {pillars[p].status} ({pillars[p].reason})" for p in unscored)
        status: Status = "incomplete" if any(pillars[p].status == "incomplete" for p in unscored) else "not scored"
        return PillarScore("SAFE", "SAFE", None, None, None, None, metrics=[p for p in used if pillars[p].ok],
                           reason=f"SAFE needs every weighted pillar: {why}", status=status, composite=composite)
    w = np.array([weights[p] for p in used]) / sum(weights[p] for p in used)
    points = [s for p in used if (s := pillars[p].score) is not None]  # all of them: every pillar used is ok
    score = _floored(float(combine(points, w, composite)), pillars["P"].score, used)
    replicates = _floored(np.asarray(combine([reps[p] for p in used], w, composite)), reps.get("P"), used)
    low, high = percentile_ci(replicates)
    refs = [r for p in used if (r := pillars[p].reference) is not None]
    reference = float(combine(refs, w, composite)) if len(refs) == len(used) else None
    worst = min(used, key=lambda p: (pillars[p].score, p))
    reason = f"weighted {composite} mean of {', '.join(used)}"
    privacy = pillars["P"].score if "P" in used else None
    if privacy is not None and privacy < PRIVACY_FLOOR:
        reason += f"; capped at P ({privacy:.3f}): P is below the privacy floor {PRIVACY_FLOOR}"
    return PillarScore("SAFE", "SAFE", score, low, high, reference, metrics=used, worst=worst, reason=reason,
                       composite=composite)
