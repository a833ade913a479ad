"""Augmentation of a small cohort: do ``r`` synthetic rows per real row buy power, and at
what cost in type I error and coverage?

The full table stands for the population. Each replicate draws ``n`` real rows (what one
centre has), fits the generator on them alone, adds ``r n`` synthetic rows for each
ratio ``r`` and estimates the contrast; the truth is the estimate on the full table.
Under the null the contrast's column (a score's input columns, together) is permuted
among the ``n`` rows before the generator sees them, so its true effect is zero. Each ratio is analysed naively and with
the synthesis variance (:func:`~safe_bench.scenarios.inference.synthesis_variance`;
for a correct generator the naive variance is too small by ``rho = (1 + r) + r/(1 + r)``),
and on request with a generator-aware bootstrap. The effective sample size
``ESS = n MSE(real only) / MSE(augmented)`` says what the synthetic rows are worth in
real ones: a generator that learned only from the ``n`` rows cannot add information,
so an ESS above ``n`` (beyond Monte-Carlo error) is flagged: it reflects the
generator's own assumptions (shrinkage towards its model), not data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import false_discovery_control

from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import synthesize
from safe_bench.evaluation.uncertainty import Stream, seeds, stream
from safe_bench.generator import Generator
from safe_bench.scenarios.analysis import ALPHA, Analysis, AnalysisFailed, Estimate, attempt, estimate, information
from safe_bench.scenarios.inference import Draw, Parts, bootstrap_estimate, mean_estimate, synthesis_variance
from safe_bench.scenarios.trial import Contrast, outcomes
from safe_bench.suppression import rare_levels


@dataclass(frozen=True)
class AugmentationDesign:
    """The estimand (``contrast`` and ``analysis``, RMST at ``tau``), the real sample size
    ``n``, the ratios of synthetic to real rows (0, the real rows alone, always
    included), ``m`` synthetic tables per replicate, the bootstrap's resamples, and
    further ``findings`` tested together with the estimand (their false-discovery rate
    under Benjamini-Hochberg)."""

    contrast: Contrast
    analysis: Analysis
    n: int
    ratios: tuple[float, ...]
    m: int
    bootstrap: int
    tau: float | None
    findings: tuple[Contrast, ...] = ()


@dataclass(frozen=True)
class Cohort:
    """The population table, its schema and the survival columns' names."""

    frame: pd.DataFrame
    schema: Schema

    def outcomes(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return outcomes(self.schema, rows)


def analyse(cohort: Cohort, design: AugmentationDesign, rows: pd.DataFrame, contrast: Contrast | None = None) -> Estimate:
    """The design's analysis of ``contrast`` (the estimand by default) on the ``rows``
    where its columns are known."""
    contrast = contrast or design.contrast
    rows = rows.dropna(subset=contrast.columns)
    time, event = cohort.outcomes(rows)
    return estimate(design.analysis, time, event, contrast.x(rows), tau=design.tau)


def truth(cohort: Cohort, design: AugmentationDesign) -> float:
    """The estimand's value in the population: the analysis on the full table."""
    return analyse(cohort, design, cohort.frame).value


def candidate_contrasts(cohort: Cohort) -> list[Contrast]:
    """Every covariate contrast of the table: each numeric covariate, and each level of
    a categorical one against the others (one level of a two-level column); levels held
    by fewer than :data:`~safe_bench.suppression.MIN_CELL` rows are left out, so that no
    output names a category that could single a patient out."""
    rare = rare_levels([cohort.frame], cohort.schema)
    out = []
    for column in cohort.schema.covariates:
        if column in cohort.schema.numeric:
            out.append(Contrast(column))
        elif column in cohort.schema.categorical:
            levels = sorted(cohort.frame[column].dropna().astype(str).unique())
            out += [Contrast(column, level) for level in (levels if len(levels) > 2 else levels[1:])
                    if f"{column}={level}" not in rare]
    return out


def _cox_z(cohort: Cohort, contrast: Contrast) -> float | None:
    """|z| of the univariable Cox estimate of ``contrast`` on the full table (its rows
    with the column known), None when it cannot be fitted."""
    rows = cohort.frame.dropna(subset=[contrast.column])
    e = attempt(estimate, "cox", *cohort.outcomes(rows), contrast.x(rows))
    return None if e is None else abs(e.value) / e.se


def strongest_contrast(cohort: Cohort) -> Contrast:
    """The covariate contrast with the largest univariable Cox z statistic on the full
    table (the default estimand when the schema declares no primary effect)."""
    scored = [(z, c) for c in candidate_contrasts(cohort) if (z := _cox_z(cohort, c)) is not None]
    if not scored:
        raise AnalysisFailed("no covariate of the table carries a Cox estimate")
    return max(scored, key=lambda zc: zc[0])[1]


def population_effects(cohort: Cohort, design: AugmentationDesign) -> tuple[bool, ...]:
    """Which of the estimand and the further findings have an effect in the population:
    the design's analysis on the full table, Benjamini-Hochberg at the tests' level."""
    contrasts = [design.contrast, *design.findings]
    z = np.array([abs(e.value) / e.se for e in (analyse(cohort, design, cohort.frame, c) for c in contrasts)])
    return tuple(bool(r) for r in false_discovery_control(2 * stats.norm.sf(z), method="bh") <= ALPHA)


def _ratio_rows(design: AugmentationDesign) -> dict[float, int]:
    return {r: int(round(r * design.n)) for r in design.ratios}


def replicate(cohort: Cohort, generator: Generator, design: AugmentationDesign, *, seed: int,
              index: int) -> list[Draw]:
    """Replicate ``index``: ``n`` real rows, and the draws of every ratio and variant
    under the effect (the rows as drawn) and the null (the contrast permuted)."""
    rng = stream(seed, Stream.SCENARIO_SAMPLE, index)
    real = cohort.frame.iloc[np.sort(rng.choice(len(cohort.frame), size=design.n, replace=False))]
    real = real.reset_index(drop=True)
    order = stream(seed, Stream.SCENARIO_PERMUTATION, index).permutation(design.n)
    permuted = real.assign(**{c: real[c].to_numpy()[order] for c in design.contrast.columns})
    fits = seeds(seed, Stream.SCENARIO_GENERATOR, index, count=4)
    draws = []
    for (hypothesis, rows), fit_seed, boot_seed in zip((("effect", real), ("null", permuted)), fits[:2], fits[2:],
                                                       strict=True):
        draws += _draws(cohort, generator, design, rows, hypothesis, index, fit_seed, boot_seed)
    return draws


def _draws(cohort: Cohort, generator: Generator, design: AugmentationDesign, rows: pd.DataFrame, hypothesis: str,
           index: int, fit_seed: int, boot_seed: int) -> list[Draw]:
    """The draws of one hypothesis: every ratio and variant of the estimand, and under the
    effect the naive and corrected draws of the further findings (for their FDR)."""
    sizes = _ratio_rows(design)
    largest = max(sizes.values())
    syntheses = synthesize(generator, rows, cohort.schema, n=largest, seed=fit_seed, draws=design.m) if largest else []
    boots = _bootstrap(cohort, generator, design, rows, boot_seed) if design.bootstrap and largest else {}
    findings = [design.contrast, *design.findings] if hypothesis == "effect" else [design.contrast]
    draws = []
    for number, contrast in enumerate(findings):
        for ratio, k in sizes.items():
            variants = _variants(cohort, design, contrast, rows, [s.iloc[:k] for s in syntheses] if k else [])
            if design.bootstrap and number == 0:
                naive = variants["naive"]
                variants["bootstrap"] = naive if k == 0 or naive is None else bootstrap_estimate(naive, boots[ratio])
            draws += [Draw(index, hypothesis, ratio, variant, e, number) for variant, e in variants.items()]
    return draws


def _variants(cohort: Cohort, design: AugmentationDesign, contrast: Contrast, rows: pd.DataFrame,
              syntheses: Sequence[pd.DataFrame]) -> dict[str, Estimate | None]:
    """The naive and corrected estimates of ``contrast`` on the real rows with each
    synthetic table (the real rows' own estimate, twice, without synthetic tables)."""
    if not syntheses:
        real = attempt(analyse, cohort, design, rows, contrast)
        return {"naive": real, "corrected": real}
    naive = attempt(_augmented, cohort, design, rows, syntheses, contrast)
    own = information(design.analysis, cohort.outcomes(rows)[1])
    synthetic = float(np.mean([information(design.analysis, cohort.outcomes(s)[1]) for s in syntheses]))
    corrected = None if naive is None else synthesis_variance(naive, Parts(0.0, own, own, synthetic), design.m)
    return {"naive": naive, "corrected": corrected}


def _augmented(cohort: Cohort, design: AugmentationDesign, rows: pd.DataFrame,
               syntheses: Sequence[pd.DataFrame], contrast: Contrast) -> Estimate:
    """The real rows with each synthetic table analysed as if real: the mean over tables."""
    return mean_estimate([analyse(cohort, design, pd.concat([rows, s], ignore_index=True), contrast)
                          for s in syntheses])


def _bootstrap(cohort: Cohort, generator: Generator, design: AugmentationDesign, rows: pd.DataFrame,
               seed: int) -> dict[float, list[float]]:
    """The generator-aware bootstrap: the real rows resampled, the generator refitted on
    them, each ratio's table regenerated and re-estimated."""
    sizes = _ratio_rows(design)
    out: dict[float, list[float]] = {r: [] for r in sizes}
    rng = np.random.default_rng(seed)
    for b in range(design.bootstrap):
        resampled = rows.iloc[rng.integers(0, len(rows), size=len(rows))].reset_index(drop=True)
        syn = synthesize(generator, resampled, cohort.schema, n=max(sizes.values()), seed=seed + b)[0]
        for ratio, k in sizes.items():
            got = attempt(analyse, cohort, design, pd.concat([resampled, syn.iloc[:k]], ignore_index=True))
            out[ratio].append(float("nan") if got is None else got.value)
    return out


@dataclass(frozen=True)
class EffectiveSize:
    """What the synthetic rows of one ratio are worth in real rows: ESS = n MSE(real
    only) / MSE(augmented), beside the nominal n (1 + r); ``flagged`` when it exceeds
    ``n`` beyond twice the Monte-Carlo error of the paired difference in squared errors."""

    ratio: float
    ess: float | None
    nominal: float
    flagged: bool


def effective_sizes(draws: Sequence[Draw], design: AugmentationDesign, truth_value: float) -> list[EffectiveSize]:
    """The effective sample size of each ratio, from the naive draws under the effect."""
    def errors(ratio: float) -> dict[int, float]:
        return {d.replicate: (d.estimate.value - truth_value) ** 2 for d in draws
                if d.ratio == ratio and d.variant == "naive" and d.hypothesis == "effect" and d.estimate is not None}

    base = errors(0.0)
    out = []
    for ratio in design.ratios:
        mine = errors(ratio)
        both = sorted(set(base) & set(mine))
        ess, flagged = None, False
        if both:
            real_sq, aug_sq = np.array([base[i] for i in both]), np.array([mine[i] for i in both])
            if aug_sq.mean() > 0:
                ess = design.n * float(real_sq.mean() / aug_sq.mean())
            gain = real_sq - aug_sq
            spread = float(gain.std(ddof=1)) / np.sqrt(len(gain)) if len(gain) > 1 else np.inf
            flagged = bool(ratio > 0 and gain.mean() > 2 * spread)
        out.append(EffectiveSize(ratio, ess, design.n * (1 + ratio), flagged))
    return out
