"""From a table and the user's choices to a :class:`~safe_bench.scenarios.study.Study`:
inputs checked (each error names the option), defaults chosen and said.

Without an explicit estimand, a control arm compares the arms of the schema's primary
effect; augmentation uses the primary effect, else the strongest finding of the real
table (:func:`~safe_bench.scenarios.augmentation.strongest_contrast`). The alternative
of a control-arm study is the real trial's Cox log hazard ratio unless one is given; an
RMST analysis's horizon defaults to the last time both arms are observed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform
from safe_bench.errors import InputError
from safe_bench.generator import Generator
from safe_bench.scenarios.analysis import ANALYSES, Analysis, AnalysisFailed, common_tau, estimate
from safe_bench.scenarios.augmentation import (
    AugmentationDesign,
    Cohort,
    candidate_contrasts,
    population_effects,
    strongest_contrast,
    truth,
)
from safe_bench.scenarios.control_arm import REPLICATION, ControlArmDesign
from safe_bench.scenarios.study import Study
from safe_bench.scenarios.trial import Contrast, Trial

#: Most replicates of a study (their stream words stay below the replication's).
MAX_REPLICATES = REPLICATION
#: Fewest bootstrap resamples worth a variance.
MIN_BOOTSTRAP = 10


def _check(replicates: int, m: int, bootstrap: int, analysis: str) -> Analysis:
    if not 1 <= replicates <= MAX_REPLICATES:
        raise InputError(f"--replicates must be at least 1 and at most {MAX_REPLICATES}, got {replicates}")
    if m < 1:
        raise InputError(f"--syntheses (m) must be at least 1, got {m}")
    if bootstrap and bootstrap < MIN_BOOTSTRAP:
        raise InputError(f"--bootstrap must be 0 (none) or at least {MIN_BOOTSTRAP}, got {bootstrap}")
    if analysis not in ANALYSES:
        raise InputError(f"--analysis must be one of {', '.join(ANALYSES)}, not {analysis!r}")
    return analysis


def parse_mode(mode: str) -> float:
    """``replace`` (the whole control arm synthetic) or ``hybrid:F`` (a fraction F of it)."""
    if mode == "replace":
        return 1.0
    head, _, tail = mode.partition(":")
    try:
        share = float(tail) if head == "hybrid" else float("nan")
    except ValueError:
        share = float("nan")
    if not 0 < share < 1:
        raise InputError(f"--mode must be 'replace' or 'hybrid:F' with 0 < F < 1 (the synthetic share), not {mode!r}")
    return share


def control_arm_study(
    frame: pd.DataFrame, schema: Schema, *, dataset: str, generator: Generator, generator_name: str,
    params: Mapping[str, Any], seed: int, replicates: int, arm: str | None = None, control: str | None = None,
    mode: str = "replace", analysis: str = "cox", k: int | None = None, m: int = 1, bootstrap: int = 0,
    tau: float | None = None, effect: float | None = None, randomised: bool | None = None,
) -> tuple[Study, list[str]]:
    """A control-arm study, and notes on the choices made for the user."""
    chosen = _check(replicates, m, bootstrap, analysis)
    notes = []
    trial = Trial.of(conform(frame, schema, table=dataset), schema, arm=arm, control=control, source=dataset)
    treated_level = sorted(set(trial.frame[trial.arm].astype(str)) - {trial.control})[0]
    source = "the schema's primary effect" if arm is None else "--treatment"
    if randomised is False:
        notes.append(f"{dataset}: {trial.arm!r} was not randomised here (observational): the replication compares "
                     "arms that may differ in case mix; the Monte-Carlo null is randomised within the control arm")
    elif randomised is None:
        notes.append(f"{dataset}: whether {trial.arm!r} was randomised is not known to safe-bench")
    if k is not None and k < 1:
        raise InputError(f"--k (synthetic controls per table) must be at least 1, got {k}")
    x = (~trial.is_control).astype(float)
    time, event = trial.outcomes(trial.frame)
    if chosen == "rmst" and tau is None:
        tau = common_tau(time, x)
        notes.append(f"RMST horizon tau = {tau:g}: the last time both arms are observed")
    if tau is not None and not (np.isfinite(tau) and tau > 0):
        raise InputError(f"--tau must be a positive number, got {tau}")
    try:
        real_cox = estimate("cox", time, event, x)
    except AnalysisFailed as exc:
        raise InputError(f"{dataset}: the trial's Cox model cannot be fitted: {exc}") from None
    if effect is None:
        effect = real_cox.value
        notes.append(f"alternative: log HR {effect:.3f} (HR {np.exp(effect):.3f}), the real trial's Cox estimate")
    design = ControlArmDesign(chosen, parse_mode(mode), k, m, bootstrap, tau, float(effect))
    effect_truth = effect
    if tau is not None and chosen == "rmst":
        effect_truth = trial.control_model.rmst_difference(effect, tau)
    study = Study("control_arm", dataset, trial.frame, schema, generator, generator_name, params, design, seed,
                  replicates, f"{trial.arm}={treated_level} vs {trial.control}", source, float(effect_truth),
                  arm=trial.arm, control=trial.control)
    return study, notes


def augmentation_study(
    frame: pd.DataFrame, schema: Schema, *, dataset: str, generator: Generator, generator_name: str,
    params: Mapping[str, Any], seed: int, replicates: int, n: int, ratios: Sequence[float],
    estimands: Sequence[tuple[str, str | None]] = (), all_findings: bool = False, analysis: str = "cox", m: int = 1,
    bootstrap: int = 0, tau: float | None = None,
) -> tuple[Study, list[str]]:
    """An augmentation study, and notes on the choices made for the user. ``estimands``
    are (column, level) pairs: the first is the estimand, the others further findings
    tested with it; ``all_findings`` adds every covariate contrast of the table."""
    chosen = _check(replicates, m, bootstrap, analysis)
    if schema.survival is None:
        raise InputError(f"{dataset}: augmentation needs a survival endpoint (--time and --event)")
    cohort = Cohort(conform(frame, schema, table=dataset), schema)
    if not 2 <= n < len(cohort.frame):
        raise InputError(f"--n must be at least 2 and below the table's {len(cohort.frame)} rows, got {n}")
    bad = [r for r in ratios if not (np.isfinite(r) and r >= 0)]
    if bad:
        raise InputError(f"--ratios must be numbers >= 0, got {bad[0]}")
    notes = []
    given = [Contrast.of(schema, column, level, source="--estimand", frame=cohort.frame) for column, level in estimands]
    if given:
        contrast, source = given[0], "--estimand"
    elif schema.primary is not None:
        contrast = Contrast.of(schema, schema.primary.column, schema.primary.level, source=dataset, frame=cohort.frame)
        source = "the schema's primary effect"
    else:
        try:
            contrast = strongest_contrast(cohort)
        except AnalysisFailed as exc:
            raise InputError(f"{dataset}: no estimand: {exc}") from None
        source = "the strongest finding of the real table (largest univariable Cox z)"
    notes.append(f"estimand: {contrast.term} ({source})")
    findings = [c for c in dict.fromkeys([*given[1:], *(candidate_contrasts(cohort) if all_findings else [])])
                if c != contrast]
    if findings:
        notes.append(f"{len(findings)} further finding(s) tested with it (Benjamini-Hochberg): "
                     f"{', '.join(c.term for c in findings)}")
    for c in [contrast, *findings]:
        if chosen != "cox" and c.level is None:
            raise InputError(f"--analysis {chosen} needs two-group contrasts; {c.column!r} is numeric "
                             "(use --analysis cox)", column=c.column)
    if chosen == "rmst" and tau is None:
        tau = common_tau(*(cohort.outcomes(cohort.frame)[0], contrast.x(cohort.frame)))
        notes.append(f"RMST horizon tau = {tau:g}: the last time both groups are observed")
    design = AugmentationDesign(contrast, chosen, n, tuple(sorted({0.0, *map(float, ratios)})), m, bootstrap, tau,
                                tuple(findings))
    try:
        value = truth(cohort, design)
        nonnull = population_effects(cohort, design) if findings else ()
    except AnalysisFailed as exc:
        raise InputError(f"{dataset}: an estimand cannot be computed on the full table: {exc}") from None
    study = Study("augmentation", dataset, cohort.frame, schema, generator, generator_name, params, design, seed,
                  replicates, contrast.term, source, value, nonnull=nonnull)
    return study, notes
