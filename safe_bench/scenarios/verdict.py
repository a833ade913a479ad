"""Is the synthetic cohort fit for the use? The verdict of a scenario study.

A control arm is fit only when an analysis keeps its type I error (at most 0.05 plus
twice its Monte-Carlo error), covers the truth (95 % intervals cover at least 93 % of
the time), is unbiased (|bias| below 0.05 on the log hazard ratio scale; 5 % of the
control arm's RMST for an RMST analysis) and the real trial's decision is reproduced
(same significance and sign). Augmentation helps only when, at some ratio, an analysis
that keeps its type I error and coverage has more power than the real rows alone,
beyond Monte-Carlo error. The verdict names the analysis (and ratio) that achieved it;
the naive analysis comes first, as it is what a user who trusts the table would run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from safe_bench.scenarios.analysis import ALPHA
from safe_bench.scenarios.control_arm import Replication
from safe_bench.scenarios.inference import OperatingCharacteristics

#: Least coverage of a nominal 95 % interval that counts as keeping it.
MIN_COVERAGE = 0.93
#: Largest bias (log hazard ratio scale) that counts as none.
MAX_BIAS = 0.05
#: The analyses a verdict may name, in the order they are tried.
JUDGED = ("naive", "corrected", "bootstrap")


@dataclass(frozen=True)
class Check:
    """One condition of the verdict, for one analysis (and ratio)."""

    analysis: str
    ratio: float | None
    condition: str
    value: float | None
    threshold: float
    holds: bool


@dataclass(frozen=True)
class Verdict:
    """Fit or not, which analysis (and ratio) achieved it, in words, and every check."""

    fit: bool
    analysis: str | None
    ratio: float | None
    summary: str
    checks: tuple[Check, ...]


def _at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def _validity(oc: OperatingCharacteristics, name: str, ratio: float | None) -> list[Check]:
    """Type I error and coverage of one analysis."""
    size_mc = oc.mc_error.type_i_error or 0.0
    size_limit = ALPHA + 2 * size_mc
    return [
        Check(name, ratio, "type I error <= 0.05 + 2 MC errors", oc.type_i_error, size_limit,
              _at_most(oc.type_i_error, size_limit)),
        Check(name, ratio, f"coverage >= {MIN_COVERAGE}", oc.coverage, MIN_COVERAGE,
              oc.coverage is not None and oc.coverage >= MIN_COVERAGE),
    ]


def control_arm_verdict(analyses: Mapping[str, OperatingCharacteristics], replication: Replication,
                        analysis: str, bias_scale: float) -> Verdict:
    """The control-arm verdict (see the module docstring); ``bias_scale`` is 1 for a
    log hazard ratio, the control arm's RMST for an RMST difference."""
    agreements = {"naive": replication.naive, "corrected": replication.corrected, "bootstrap": replication.bootstrap}
    checks: list[Check] = []
    fit: str | None = None
    for name in JUDGED:
        oc, agreement = analyses.get(name), agreements[name]
        if oc is None or agreement is None:
            continue
        limit = MAX_BIAS * bias_scale
        mine = [*_validity(oc, name, None),
                Check(name, None, f"|bias| < {limit:.3g}", None if oc.bias is None else abs(oc.bias), limit,
                      oc.bias is not None and abs(oc.bias) < limit),
                Check(name, None, "the real trial's decision reproduced", float(agreement.decision_agreement), 1.0,
                      agreement.decision_agreement)]
        checks += mine
        if fit is None and all(c.holds for c in mine):
            fit = name
    if fit is not None:
        summary = f"fit for a synthetic control arm with the {fit} {analysis} analysis"
    else:
        failing = sorted({c.condition for c in checks if not c.holds})
        summary = f"not fit for a synthetic control arm: no analysis holds {'; '.join(failing)}"
    return Verdict(fit is not None, fit, None, summary, tuple(checks))


def augmentation_verdict(ratios: Mapping[float, Mapping[str, OperatingCharacteristics]]) -> Verdict:
    """The augmentation verdict: the first (analysis, ratio) that is valid and gains power."""
    base = ratios[0.0]["naive"]
    checks: list[Check] = []
    best: tuple[str, float] | None = None
    for name in JUDGED:
        for ratio, analyses in ratios.items():
            oc = analyses.get(name)
            if ratio == 0.0 or oc is None:
                continue
            noise = float(np.hypot(oc.mc_error.power or 0.0, base.mc_error.power or 0.0))
            gain = None if oc.power is None or base.power is None else oc.power - base.power
            mine = [*_validity(oc, name, ratio),
                    Check(name, ratio, "power above the real rows' beyond 2 MC errors", gain, 2 * noise,
                          gain is not None and gain > 2 * noise)]
            checks += mine
            if best is None and all(c.holds for c in mine):
                best = (name, ratio)
    if best is not None:
        summary = f"augmentation gains power with the {best[0]} analysis at ratio {best[1]:g}, type I error kept"
    else:
        summary = "no honest power gain: no ratio gains power with its type I error and coverage kept"
    return Verdict(best is not None, None if best is None else best[0], None if best is None else best[1], summary,
                   tuple(checks))
