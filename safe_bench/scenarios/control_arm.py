"""Synthetic control arms: does a trial analysed with synthetic controls keep its
message (replication) and its type I error, power and coverage (Monte Carlo)?

**Replication.** The generator learns the real control arm; the trial is analysed with
the real controls and again with synthetic ones (all of them, or a fraction ``F`` of
them in a hybrid design), and the two estimates are compared: their difference, whether
the synthetic estimate lies in the real interval, whether both reach the same decision
(significance and sign), the standardized difference |b_syn - b_real| / (sqrt(2)
SE_real) and the overlap of the two intervals (Karr et al., Am Stat 2006).

**Operating characteristics.** In each replicate the real control arm is split at
random into pseudo-treated and pseudo-control patients (in the trial's allocation
ratio), so the true effect is null by randomisation; the generator learns the
pseudo-controls only and replaces them (or a fraction ``F`` of them). Under the effect,
the pseudo-treated patients' outcomes are drawn with a chosen log hazard ratio from the
control arm's curves (:class:`~safe_bench.scenarios.trial.OutcomeModel`). Each
replicate is analysed with the real pseudo-controls, naively with the synthetic ones,
with the synthesis variance (:func:`~safe_bench.scenarios.inference.synthesis_variance`)
and, on request, with a generator-aware bootstrap. Type I error and power come from
the null and the effect; coverage, bias and RMSE are measured under the null, where
the truth is known exactly. This follows the simulation design of Decruyenaere et al.
(UAI 2024) for a trial's control arm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from safe_bench.evaluation.evaluate import synthesize
from safe_bench.evaluation.uncertainty import Stream, seeds, stream
from safe_bench.generator import Generator
from safe_bench.scenarios.analysis import Analysis, Estimate, attempt, estimate, information
from safe_bench.scenarios.inference import Draw, Parts, bootstrap_estimate, mean_estimate, synthesis_variance
from safe_bench.scenarios.trial import Trial

#: The stream word of the real trial's replication: beyond every replicate's index
#: (replicates are numbered 0 .. REPLICATION - 1), so it draws numbers of its own.
REPLICATION = 0xFFFF


@dataclass(frozen=True)
class ControlArmDesign:
    """How the control arm is made and analysed: the ``analysis``, the fraction of the
    control arm that is synthetic (``synthetic_share``: 1 replaces it, ``F`` < 1 is a
    hybrid design), synthetic controls per table (``k``; default as many as the real
    controls they stand for), ``m`` synthetic tables per replicate, the generator-aware
    bootstrap's resamples (0: none), the RMST horizon ``tau`` and the log hazard ratio
    of the effect (``effect``)."""

    analysis: Analysis
    synthetic_share: float
    k: int | None
    m: int
    bootstrap: int
    tau: float | None
    effect: float


@dataclass(frozen=True)
class ArmTables:
    """One analysis's inputs: the treated arm's outcomes, and the control arm as real
    rows kept beside the synthetic tables (each a control arm's outcomes)."""

    treated: tuple[np.ndarray, np.ndarray]
    kept: tuple[np.ndarray, np.ndarray]
    synthetic: list[tuple[np.ndarray, np.ndarray]]


def _analyse(design: ControlArmDesign, treated: tuple[np.ndarray, np.ndarray],
             control: tuple[np.ndarray, np.ndarray]) -> Estimate:
    time = np.concatenate([treated[0], control[0]])
    event = np.concatenate([treated[1], control[1]])
    x = np.concatenate([np.ones(len(treated[0])), np.zeros(len(control[0]))])
    return estimate(design.analysis, time, event, x, tau=design.tau)


def _join(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _naive(design: ControlArmDesign, tables: ArmTables) -> Estimate:
    """The synthetic controls analysed as if they were real: the mean over the tables."""
    return mean_estimate([_analyse(design, tables.treated, _join(tables.kept, syn)) for syn in tables.synthetic])


def _parts(design: ControlArmDesign, tables: ArmTables, trained: float) -> Parts:
    """The information of each part of the analysed trial (``trained``: the generator's data)."""
    return Parts(
        fixed=information(design.analysis, tables.treated[1]),
        kept=information(design.analysis, tables.kept[1]),
        trained=trained,
        synthetic=float(np.mean([information(design.analysis, syn[1]) for syn in tables.synthetic])),
    )


def _split_counts(trial: Trial, n_controls: int) -> int:
    """Pseudo-treated patients among ``n_controls``: the trial's allocation ratio."""
    treated = int((~trial.is_control).sum())
    share = treated / len(trial.frame)
    return int(np.clip(round(n_controls * share), 1, n_controls - 1))


def _kept(n: int, synthetic_share: float) -> int:
    """Real controls analysed beside the synthetic ones, of ``n``."""
    return int(round(n * (1 - synthetic_share)))


def replicate(trial: Trial, generator: Generator, design: ControlArmDesign, *, seed: int, index: int) -> list[Draw]:
    """Replicate ``index`` of the Monte-Carlo study: the draws of every variant under the
    null and the effect."""
    schema = trial.generator_schema
    controls = trial.controls
    rng = stream(seed, Stream.SCENARIO_SPLIT, index)
    order = rng.permutation(len(controls))
    n_pt = _split_counts(trial, len(controls))
    pseudo_treated, pseudo_control = controls.iloc[order[:n_pt]], controls.iloc[order[n_pt:]].reset_index(drop=True)
    keep = _kept(len(pseudo_control), design.synthetic_share)
    k = design.k if design.k is not None else len(pseudo_control) - keep
    fit_seed, boot_seed = seeds(seed, Stream.SCENARIO_GENERATOR, index, count=2)
    syntheses = synthesize(generator, pseudo_control, schema, n=k, seed=fit_seed, draws=design.m)
    model = trial.control_model
    treated_outcomes = {
        "null": trial.outcomes(pseudo_treated),
        "effect": model.draw(n_pt, design.effect, stream(seed, Stream.SCENARIO_OUTCOMES, index)),
    }
    control_all = trial.outcomes(pseudo_control)
    kept = trial.outcomes(pseudo_control.iloc[:keep])
    synthetic = [trial.outcomes(s) for s in syntheses]
    trained = information(design.analysis, control_all[1])
    boots = _bootstrap(trial, generator, design, pseudo_control, keep, k, treated_outcomes, boot_seed)
    draws = []
    for hypothesis, treated in treated_outcomes.items():
        tables = ArmTables(treated, kept, synthetic)
        real = attempt(_analyse, design, treated, control_all)
        naive = attempt(_naive, design, tables)
        corrected = None if naive is None else synthesis_variance(naive, _parts(design, tables, trained), design.m)
        variants: dict[str, Estimate | None] = {"real": real, "naive": naive, "corrected": corrected}
        if design.bootstrap:
            variants["bootstrap"] = None if naive is None else bootstrap_estimate(naive, boots[hypothesis])
        draws += [Draw(index, hypothesis, 0.0, variant, e) for variant, e in variants.items()]
    return draws


def _bootstrap(trial: Trial, generator: Generator, design: ControlArmDesign, pseudo_control: pd.DataFrame,
               keep: int, k: int, treated: dict[str, tuple[np.ndarray, np.ndarray]], seed: int) -> dict[str, list[float]]:
    """The generator-aware bootstrap (Efron & Tibshirani 1993, applied to the whole
    synthesis): each resample draws the pseudo-controls and the treated arm with
    replacement, refits the generator on the resampled controls, draws a synthetic arm
    and re-estimates; the kept real controls are the resampled ones among them."""
    out: dict[str, list[float]] = {h: [] for h in treated}
    rng = np.random.default_rng(seed)
    for b in range(design.bootstrap):
        rows = rng.integers(0, len(pseudo_control), size=len(pseudo_control))
        resampled = pseudo_control.iloc[rows].reset_index(drop=True)
        syn = synthesize(generator, resampled, trial.generator_schema, n=k, seed=seed + b)[0]
        kept = trial.outcomes(pseudo_control.iloc[np.sort(rows[rows < keep])])
        for hypothesis, (t, e) in treated.items():
            pick = rng.integers(0, len(t), size=len(t))
            got = attempt(_analyse, design, (t[pick], e[pick]), _join(kept, trial.outcomes(syn)))
            out[hypothesis].append(float("nan") if got is None else got.value)
    return out


@dataclass(frozen=True)
class Agreement:
    """How an estimate with synthetic controls compares with the real trial's."""

    estimate: Estimate
    difference: float
    estimate_agreement: bool
    decision_agreement: bool
    standardized_difference: float
    ci_overlap: float


@dataclass(frozen=True)
class Replication:
    """The real trial analysed with its real controls and with synthetic ones."""

    real: Estimate
    naive: Agreement
    corrected: Agreement
    bootstrap: Agreement | None


def agreement(real: Estimate, synthetic: Estimate) -> Agreement:
    """The replication measures of ``synthetic`` against ``real`` (Karr et al. 2006 for
    the interval overlap: the mean share of each interval the overlap covers, 0 when
    they are disjoint)."""
    (rl, rh), (sl, sh) = real.interval(), synthetic.interval()
    overlap = max(0.0, min(rh, sh) - max(rl, sl))
    return Agreement(
        estimate=synthetic,
        difference=synthetic.value - real.value,
        estimate_agreement=bool(rl <= synthetic.value <= rh),
        decision_agreement=bool(real.rejects() == synthetic.rejects() and np.sign(real.value) == np.sign(synthetic.value)),
        standardized_difference=abs(synthetic.value - real.value) / (np.sqrt(2) * real.se),
        ci_overlap=0.5 * (overlap / (rh - rl) + overlap / (sh - sl)),
    )


def replication(trial: Trial, generator: Generator, design: ControlArmDesign, *, seed: int) -> Replication:
    """The real trial with its own controls, and with synthetic controls from the
    generator fitted on all of them (a random fraction kept in a hybrid design)."""
    controls = trial.controls
    order = stream(seed, Stream.SCENARIO_SPLIT, REPLICATION).permutation(len(controls))
    keep = _kept(len(controls), design.synthetic_share)
    k = design.k if design.k is not None else len(controls) - keep
    fit_seed, boot_seed = seeds(seed, Stream.SCENARIO_GENERATOR, REPLICATION, count=2)
    syntheses = synthesize(generator, controls, trial.generator_schema, n=k, seed=fit_seed, draws=design.m)
    treated = trial.outcomes(trial.treated)
    control_all = trial.outcomes(controls)
    kept_rows = controls.iloc[np.sort(order[:keep])].reset_index(drop=True)
    tables = ArmTables(treated, trial.outcomes(kept_rows), [trial.outcomes(s) for s in syntheses])
    real = _analyse(design, treated, control_all)
    naive = _naive(design, tables)
    corrected = synthesis_variance(naive, _parts(design, tables, information(design.analysis, control_all[1])), design.m)
    boot = None
    if design.bootstrap:
        ordered = controls.iloc[order].reset_index(drop=True)
        values = _bootstrap(trial, generator, design, ordered, keep, k, {"effect": treated}, boot_seed)["effect"]
        booted = bootstrap_estimate(naive, values)
        boot = None if booted is None else agreement(real, booted)
    return Replication(real, agreement(real, naive), agreement(real, corrected), boot)
