"""Inference with synthetic rows: the variance a naive analysis misses, and the
operating characteristics of an analysis over Monte-Carlo replicates.

Analysed as if real, synthetic rows make intervals too narrow even when the generator
is correct: a synthetic table carries the error of the model fitted to the real rows,
and its rows add sampling noise of their own (Decruyenaere et al., "The real deal
behind the artificial appeal", UAI 2024). Raab, Nowok & Dibben (J. Priv. Confid. 7(3),
2016) give the variance of an estimate averaged over ``m`` synthetic tables of ``k``
rows drawn from a model fitted to ``n`` real rows: ``v (k/n + 1/m)``, ``v`` the
variance the analysis reports on a synthetic table. :func:`synthesis_variance` applies
that rule to the synthetic part of a table that also holds real rows (the treated arm of
a trial; real rows analysed beside their own augmentation), with the shares of
information of :func:`~safe_bench.scenarios.analysis.information`:

    Var = 1/I_fixed + a^2/I_kept + (1 - a^2)/I_trained + (1 - a)^2/(m I_synthetic),
    a = I_kept / (I_kept + I_synthetic),

against the naive ``1/I_fixed + 1/(I_kept + I_synthetic)``. ``fixed`` is real data the
generator never saw, ``kept`` real rows analysed beside the synthetic ones and taken
from the generator's training data ``trained``. With no real rows beside the synthetic
ones it is Raab's rule; for a control arm replaced by a correctly specified model it
gives the limit 2 Phi(-1.96 sqrt(d_c / (d_c + d_t))) of the naive type I error, and for
augmentation at ``r`` synthetic rows per real row the factor
``rho = (1 + r) + r / (1 + r)``. The analysis's own variance is scaled by that ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.stats import false_discovery_control

from safe_bench.scenarios.analysis import ALPHA, Estimate


@dataclass(frozen=True)
class Parts:
    """Information (events or rows) of each part of an analysed table: real data the
    generator never saw (``fixed``), real rows of its training data analysed beside the
    synthetic ones (``kept``), its training data (``trained``) and one synthetic table
    (``synthetic``, the mean over the ``m``)."""

    fixed: float
    kept: float
    trained: float
    synthetic: float


def synthesis_variance(naive: Estimate, parts: Parts, m: int) -> Estimate:
    """``naive`` (the mean estimate over ``m`` synthetic tables and the mean variance
    they report) with the variance the synthesis adds (see the module docstring)."""
    inverse = _inverse
    a = parts.kept / (parts.kept + parts.synthetic)
    honest = (inverse(parts.fixed) + a**2 * inverse(parts.kept) + (1 - a**2) * inverse(parts.trained)
              + (1 - a) ** 2 * inverse(parts.synthetic) / m)
    reported = inverse(parts.fixed) + inverse(parts.kept + parts.synthetic)
    return Estimate(naive.value, naive.variance * honest / reported)


def _inverse(information: float) -> float:
    """The variance a part of ``information`` contributes (none when the part is empty)."""
    return 1.0 / information if information > 0 else 0.0


def mean_estimate(estimates: Sequence[Estimate]) -> Estimate:
    """The estimate of ``m`` analyses of synthetic tables: the mean value, and the mean
    variance they report (Raab et al.'s v-bar)."""
    return Estimate(float(np.mean([e.value for e in estimates])), float(np.mean([e.variance for e in estimates])))


def bootstrap_estimate(point: Estimate, replicates: Sequence[float]) -> Estimate | None:
    """``point`` with the variance of its generator-aware bootstrap replicates (the real
    rows resampled, the generator refitted, the table regenerated, re-estimated); None
    when fewer than two replicates could be analysed."""
    values = np.asarray([r for r in replicates if np.isfinite(r)], dtype=float)
    return Estimate(point.value, float(np.var(values, ddof=1))) if len(values) > 1 else None


@dataclass(frozen=True)
class MonteCarloErrors:
    """The Monte-Carlo standard error of each operating characteristic: sqrt(p(1-p)/R)
    for the rates, sd/sqrt(R) for the bias, the delta method for the RMSE."""

    type_i_error: float | None
    power: float | None
    coverage: float | None
    bias: float | None
    rmse: float | None


@dataclass(frozen=True)
class OperatingCharacteristics:
    """How an analysis behaves over ``replicates`` Monte-Carlo replicates: its type I
    error (rejections where the truth is null), power (rejections where it is not),
    and the coverage of its 95 % interval, bias and RMSE against the truth, each with
    its Monte-Carlo error. ``failed`` replicates, where the analysis could not be
    computed, are left out and counted."""

    type_i_error: float | None
    power: float | None
    coverage: float | None
    bias: float | None
    rmse: float | None
    mc_error: MonteCarloErrors
    replicates: int
    failed: int


def _rate(flags: np.ndarray) -> tuple[float | None, float | None]:
    if len(flags) == 0:
        return None, None
    p = float(np.mean(flags))
    return p, float(np.sqrt(p * (1 - p) / len(flags)))


def operating_characteristics(
    null: Sequence[Estimate | None], effect: Sequence[Estimate | None], *, truth: float, measured: str
) -> OperatingCharacteristics:
    """The operating characteristics of one analysis from its estimates under the null
    (true effect 0) and under the effect (true effect ``truth``); coverage, bias and
    RMSE are measured under ``measured`` (``"null"`` or ``"effect"``)."""
    ok_null = [e for e in null if e is not None and np.isfinite(e.variance)]
    ok_effect = [e for e in effect if e is not None and np.isfinite(e.variance)]
    size, size_mc = _rate(np.array([e.rejects() for e in ok_null], dtype=bool))
    power, power_mc = _rate(np.array([e.rejects() for e in ok_effect], dtype=bool))
    judged, target = (ok_null, 0.0) if measured == "null" else (ok_effect, truth)
    coverage, coverage_mc = _rate(np.array([e.covers(target) for e in judged], dtype=bool))
    bias = rmse = bias_mc = rmse_mc = None
    if judged:
        errors = np.array([e.value for e in judged]) - target
        bias, rmse = float(errors.mean()), float(np.sqrt(np.mean(errors**2)))
        spread = float(errors.std(ddof=1)) if len(errors) > 1 else 0.0
        bias_mc = spread / np.sqrt(len(errors))
        squares = float(np.std(errors**2, ddof=1)) if len(errors) > 1 else 0.0
        rmse_mc = squares / np.sqrt(len(errors)) / (2 * rmse) if rmse > 0 else 0.0
    failed = len(null) - len(ok_null) + len(effect) - len(ok_effect)
    return OperatingCharacteristics(
        type_i_error=size, power=power, coverage=coverage, bias=bias, rmse=rmse,
        mc_error=MonteCarloErrors(size_mc, power_mc, coverage_mc, bias_mc, rmse_mc),
        replicates=max(len(null), len(effect)), failed=failed,
    )


#: The analyses of a replicate: with the real rows only (the reference), the synthetic
#: table analysed as if real, with :func:`synthesis_variance`, with the generator-aware
#: bootstrap.
VARIANTS = ("real", "naive", "corrected", "bootstrap")


@dataclass(frozen=True)
class Draw:
    """One analysis of one Monte-Carlo replicate: under the ``null`` or the ``effect``,
    at augmentation ``ratio`` (0 for a control arm), the ``variant`` of the analysis
    (:data:`VARIANTS`) and its estimate (``None``: it could not be computed), of the
    study's estimand (``finding`` 0) or of a further finding judged with it."""

    replicate: int
    hypothesis: str
    ratio: float
    variant: str
    estimate: Estimate | None
    finding: int = 0

    def to_row(self) -> list[object]:
        e = self.estimate
        return [self.replicate, self.hypothesis, self.ratio, self.variant, self.finding,
                None if e is None else e.value, None if e is None else e.variance]

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Draw:
        replicate, hypothesis, ratio, variant, finding, value, variance = row
        estimate = None if value is None or variance is None else Estimate(float(value), float(variance))
        return cls(int(replicate), str(hypothesis), float(ratio), str(variant), estimate, int(finding))


def summarise(draws: Sequence[Draw], *, truth: float, measured: str) -> dict[tuple[float, str], OperatingCharacteristics]:
    """The operating characteristics of the estimand (finding 0) for each (ratio,
    variant) of some replicates' draws."""
    draws = [d for d in draws if d.finding == 0]
    keys = sorted({(d.ratio, d.variant) for d in draws}, key=lambda k: (k[0], VARIANTS.index(k[1])))
    out = {}
    for ratio, variant in keys:
        mine = sorted((d for d in draws if d.ratio == ratio and d.variant == variant), key=lambda d: d.replicate)
        out[(ratio, variant)] = operating_characteristics(
            [d.estimate for d in mine if d.hypothesis == "null"],
            [d.estimate for d in mine if d.hypothesis == "effect"], truth=truth, measured=measured)
    return out


@dataclass(frozen=True)
class FalseDiscovery:
    """The false-discovery rate of several findings tested together with the
    Benjamini-Hochberg procedure at :data:`~safe_bench.scenarios.analysis.ALPHA`
    (Benjamini & Hochberg, JRSS B 1995): the mean over replicates of the share of
    rejected findings that are null in the population (no rejection: a share of 0), and
    its Monte-Carlo error."""

    rate: float
    mc_error: float
    replicates: int


def false_discovery(draws: Sequence[Draw], nonnull: Sequence[bool]) -> dict[tuple[float, str], FalseDiscovery]:
    """The false-discovery rate of each (ratio, variant) from the draws under the effect
    of every finding (``nonnull[i]``: finding i has an effect in the population);
    replicates where a finding could not be analysed are left out."""
    cells: dict[tuple[float, str], dict[int, dict[int, Estimate | None]]] = {}
    for d in draws:
        if d.hypothesis == "effect":
            cells.setdefault((d.ratio, d.variant), {}).setdefault(d.replicate, {})[d.finding] = d.estimate
    truth = np.asarray(nonnull, dtype=bool)
    out = {}
    for key, replicates in sorted(cells.items(), key=lambda kv: (kv[0][0], VARIANTS.index(kv[0][1]))):
        shares = []
        for found in replicates.values():
            estimates = [found.get(i) for i in range(len(truth))]
            if any(e is None or not np.isfinite(e.variance) for e in estimates):
                continue
            z = np.array([abs(e.value) / e.se for e in estimates if e is not None])
            rejected = false_discovery_control(2 * stats.norm.sf(z), method="bh") <= ALPHA
            shares.append(float((rejected & ~truth).sum() / max(1, rejected.sum())))
        if shares:
            values = np.array(shares)
            spread = float(values.std(ddof=1)) / np.sqrt(len(values)) if len(values) > 1 else 0.0
            out[key] = FalseDiscovery(float(values.mean()), spread, len(values))
    return out
