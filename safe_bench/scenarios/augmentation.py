"""Augmentation of a small cohort: do ``r`` synthetic rows per real row buy power, and at
what cost in type I error and coverage?

The full table stands for the population. Each replicate draws ``n`` real rows (what one
centre has), fits the generator on them alone, adds ``r n`` synthetic rows for each
ratio ``r`` and estimates the contrast; the truth is the estimate on the full table.
Under the null the contrast's column is permuted among the ``n`` rows before the
generator sees them, so its true effect is zero. Each ratio is analysed naively and with
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

from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import synthesize
from safe_bench.evaluation.uncertainty import Stream, stream
from safe_bench.generator import Generator
from safe_bench.scenarios.analysis import Analysis, AnalysisFailed, Estimate, attempt, estimate, information
from safe_bench.scenarios.inference import Draw, Parts, bootstrap_estimate, mean_estimate, synthesis_variance
from safe_bench.scenarios.trial import Contrast, outcomes


@dataclass(frozen=True)
class AugmentationDesign:
    """The estimand (``contrast`` and ``analysis``, RMST at ``tau``), the real sample size
    ``n``, the ratios of synthetic to real rows (0, the real rows alone, always
    included), ``m`` synthetic tables per replicate and the bootstrap's resamples."""

    contrast: Contrast
    analysis: Analysis
    n: int
    ratios: tuple[float, ...]
    m: int
    bootstrap: int
    tau: float | None


@dataclass(frozen=True)
class Cohort:
    """The population table, its schema and the survival columns' names."""

    frame: pd.DataFrame
    schema: Schema

    def outcomes(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return outcomes(self.schema, rows)


def analyse(cohort: Cohort, design: AugmentationDesign, rows: pd.DataFrame) -> Estimate:
    """The design's analysis of the contrast on ``rows``."""
    time, event = cohort.outcomes(rows)
    return estimate(design.analysis, time, event, design.contrast.x(rows), tau=design.tau)


def truth(cohort: Cohort, design: AugmentationDesign) -> float:
    """The estimand's value in the population: the analysis on the full table."""
    return analyse(cohort, design, cohort.frame).value


def strongest_contrast(cohort: Cohort) -> Contrast:
    """The covariate contrast with the largest univariable Cox z statistic on the full
    table: each numeric covariate, and each level of a categorical one against the others
    (the default estimand when the schema declares no primary effect)."""
    best: tuple[float, Contrast] | None = None
    for column in cohort.schema.covariates:
        if column in cohort.schema.numeric:
            candidates = [Contrast(column)]
        elif column in cohort.schema.categorical:
            levels = sorted(cohort.frame[column].dropna().astype(str).unique())
            candidates = [Contrast(column, level) for level in levels] if len(levels) > 2 else \
                [Contrast(column, level) for level in levels[1:]]
        else:
            continue
        for contrast in candidates:
            rows = cohort.frame.dropna(subset=[column])
            try:
                e = estimate("cox", *cohort.outcomes(rows), contrast.x(rows))
            except AnalysisFailed:
                continue
            z = abs(e.value) / e.se
            if best is None or z > best[0]:
                best = (z, contrast)
    if best is None:
        raise AnalysisFailed("no covariate of the table carries a Cox estimate")
    return best[1]


def _ratio_rows(design: AugmentationDesign) -> dict[float, int]:
    return {r: int(round(r * design.n)) for r in design.ratios}


def replicate(cohort: Cohort, generator: Generator, design: AugmentationDesign, *, seed: int,
              index: int) -> list[Draw]:
    """Replicate ``index``: ``n`` real rows, and the draws of every ratio and variant
    under the effect (the rows as drawn) and the null (the contrast permuted)."""
    rng = stream(seed, Stream.SCENARIO_SAMPLE, index)
    real = cohort.frame.iloc[np.sort(rng.choice(len(cohort.frame), size=design.n, replace=False))]
    real = real.reset_index(drop=True)
    permuted = real.assign(**{design.contrast.column: real[design.contrast.column].to_numpy()[
        stream(seed, Stream.SCENARIO_PERMUTATION, index).permutation(design.n)]})
    seeds = stream(seed, Stream.SCENARIO_GENERATOR, index).integers(0, 2**31 - 1 - 1000, size=4)
    draws = []
    for (hypothesis, rows), fit_seed, boot_seed in zip((("effect", real), ("null", permuted)), seeds[:2], seeds[2:],
                                                       strict=True):
        draws += _draws(cohort, generator, design, rows, hypothesis, index, int(fit_seed), int(boot_seed))
    return draws


def _draws(cohort: Cohort, generator: Generator, design: AugmentationDesign, rows: pd.DataFrame, hypothesis: str,
           index: int, fit_seed: int, boot_seed: int) -> list[Draw]:
    sizes = _ratio_rows(design)
    largest = max(sizes.values())
    syntheses = synthesize(generator, rows, cohort.schema, n=largest, seed=fit_seed, draws=design.m) if largest else []
    boots = _bootstrap(cohort, generator, design, rows, boot_seed) if design.bootstrap and largest else {}
    real = attempt(analyse, cohort, design, rows)
    own = information(design.analysis, cohort.outcomes(rows)[1])
    draws = []
    for ratio, k in sizes.items():
        if k == 0:
            variants: dict[str, Estimate | None] = {"naive": real, "corrected": real}
            if design.bootstrap:
                variants["bootstrap"] = real
        else:
            naive = attempt(_augmented, cohort, design, rows, [s.iloc[:k] for s in syntheses])
            synthetic = float(np.mean([information(design.analysis, cohort.outcomes(s.iloc[:k])[1])
                                       for s in syntheses]))
            corrected = None if naive is None else synthesis_variance(naive, Parts(0.0, own, own, synthetic),
                                                                      design.m)
            variants = {"naive": naive, "corrected": corrected}
            if design.bootstrap:
                variants["bootstrap"] = None if naive is None else bootstrap_estimate(naive, boots[ratio])
        draws += [Draw(index, hypothesis, ratio, variant, e) for variant, e in variants.items()]
    return draws


def _augmented(cohort: Cohort, design: AugmentationDesign, rows: pd.DataFrame,
               syntheses: Sequence[pd.DataFrame]) -> Estimate:
    """The real rows with each synthetic table analysed as if real: the mean over tables."""
    return mean_estimate([analyse(cohort, design, pd.concat([rows, s], ignore_index=True)) for s in syntheses])


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
