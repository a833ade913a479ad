"""The Anonymeter-method attacks (Giomi et al. 2023): P.attribute (attribute
inference), P.linkability and P.singling_out, each judged by its residual risk against
control attacks on the holdout (the attacks themselves are in
:mod:`safe_bench.metrics.privacy.attacks`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from safe_bench.data.schema import Kind
from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.base import Evidence, Measurement, metric
from safe_bench.metrics.privacy import attacks
from safe_bench.metrics.privacy.shares import comparable

#: Attacks whose residual risk is less certain than +- this are not summarised.
MAX_RISK_ERROR = 0.25
#: Fewest attacks (targets, or predicates for singling out) an attack metric is judged
#: on: below 50, even an attack that never succeeds on either side leaves the residual
#: risk uncertain by more than about +-0.05 (Wilson half-widths ``z^2 / (2 (n +
#: z^2))``, propagated), and one succeeding a fifth of the time by more than +-0.2
#: (Anonymeter's default is 500).
MIN_ATTACKS = 50
#: The attacks' minimum evidence: a holdout of at least :data:`MIN_ATTACKS` rows (the
#: control targets of linkability and inference, singling out's control population).
ATTACK_EVIDENCE = Evidence(holdout_rows=MIN_ATTACKS)


def _quasi_identifiers(cmp: Comparison) -> list[str]:
    if not cmp.schema.quasi_identifiers:
        raise MetricSkipped("no quasi-identifiers: declare roles.quasi_identifiers in the schema")
    return list(cmp.schema.quasi_identifiers)


def _targets(cmp: Comparison, purpose: Stream) -> tuple[np.ndarray, np.ndarray]:
    """Seeded attack targets: as many train rows as holdout rows, at most N_ATTACKS.

    Sampling targets dilutes no leak: each train target is a training record, and the
    attack on it is judged against the whole table under test (its nearest rows), which
    holds every record it copied; a sample only sets how many records are tried. (It
    is singling out, judged on populations, whose size matters: see
    :func:`singling_out`.)"""
    n = min(attacks.N_ATTACKS, len(cmp.train), len(cmp.holdout))
    rng = cmp.rng(purpose)
    return np.sort(rng.choice(len(cmp.train), n, replace=False)), np.sort(rng.choice(len(cmp.holdout), n, replace=False))


def _riskiest(outcomes: dict[str, attacks.AttackOutcome]) -> str:
    """The riskiest attack among the informative ones: those of at least
    :data:`MIN_ATTACKS` attacks whose risk interval is at most +-:data:`MAX_RISK_ERROR`
    wide. (The residual risk is ill-conditioned when the control attack almost always
    succeeds, e.g. a secret nearly constant: its interval then spans most of 0..1 and
    must not decide on noise.)"""
    enough = {k: o for k, o in outcomes.items() if o.attacks >= MIN_ATTACKS}
    if not enough:
        most = max(o.attacks for o in outcomes.values())
        raise MetricSkipped(f"too few attacks to say anything: {most}, fewer than {MIN_ATTACKS}")
    informative = {k: o for k, o in enough.items() if residual_error(o) <= MAX_RISK_ERROR}
    if not informative:
        raise MetricSkipped(
            f"every attack's risk is uncertain by more than +-{MAX_RISK_ERROR} (the attack on control records "
            "almost always succeeds): not informative"
        )
    return max(informative, key=lambda k: (informative[k].risk[0], k))


def residual_error(outcome: attacks.AttackOutcome) -> float:
    return attacks.residual_risk(outcome.train_rate, outcome.control_rate)[1]


def _risk_measurement(outcome: attacks.AttackOutcome, details: dict) -> Measurement:
    risk, low, high = outcome.risk
    return Measurement(value=risk, score=1.0 - risk, ci=(1.0 - high, 1.0 - low), details=details)


def _secret_values(frame: pd.DataFrame, column: str, numeric: bool) -> np.ndarray:
    return as_numbers(frame[column]) if numeric else frame[column].to_numpy(dtype=object)


@metric("P.attribute", pillar="P", name="Attribute inference risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def attribute_inference(cmp: Comparison) -> Measurement:
    """Per sensitive column: guess a target's value from the row under test nearest on
    the quasi-identifiers (Anonymeter's inference attack; control = holdout); risk
    ``(r_T - r_H) / (1 - r_H)`` of the riskiest informative column (see
    :func:`_riskiest`). Score: ``1 - risk``. Interval: Wilson, propagated."""
    comparable(cmp)
    quasi = _quasi_identifiers(cmp)
    if not cmp.schema.sensitive:
        raise MetricSkipped("no sensitive columns: declare roles.sensitive in the schema")
    on_train, on_holdout = _targets(cmp, Stream.INFERENCE_TARGETS)
    results: dict[str, attacks.AttackOutcome] = {}
    for secret in cmp.schema.sensitive:
        aux = cmp.encoding.positions([c for c in quasi if c != secret])
        if len(aux) == 0:
            continue
        numeric = cmp.schema.kinds[secret] in (Kind.NUMERIC, Kind.DATETIME)
        results[secret] = attacks.inference(
            cmp.matrix("train")[on_train][:, aux],
            cmp.matrix("holdout")[on_holdout][:, aux],
            cmp.matrix("synthetic")[:, aux],
            _secret_values(cmp.train, secret, numeric)[on_train],
            _secret_values(cmp.holdout, secret, numeric)[on_holdout],
            _secret_values(cmp.synthetic, secret, numeric),
            numeric,
        )
    if not results:
        raise MetricSkipped("every sensitive column is the only quasi-identifier: nothing to attack from")
    worst = _riskiest(results)
    details = {"worst": worst, "columns": {c: r.details() for c, r in results.items()}}
    return _risk_measurement(results[worst], details)


@metric("P.linkability", pillar="P", name="Linkability risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def linkability(cmp: Comparison) -> Measurement:
    """The quasi-identifiers split in two halves; a target's halves are linked when
    their nearest rows under test coincide (Anonymeter's linkability attack; control =
    holdout). Risk ``(r_T - r_H) / (1 - r_H)``. Score: ``1 - risk``. Interval: Wilson,
    propagated."""
    comparable(cmp)
    quasi = _quasi_identifiers(cmp)
    if len(quasi) < 2:
        raise MetricSkipped("linkability needs at least 2 quasi-identifiers to split in two")
    half = math.ceil(len(quasi) / 2)
    halves = [cmp.encoding.positions(part) for part in (quasi[:half], quasi[half:])]
    on_train, on_holdout = _targets(cmp, Stream.LINKABILITY_TARGETS)

    def split(role: str, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        matrix = cmp.matrix(role)[rows]
        return matrix[:, halves[0]], matrix[:, halves[1]]

    outcome = attacks.linkability(split("train", on_train), split("holdout", on_holdout), split("synthetic", slice(None)))
    _riskiest({"linkability": outcome})
    details = {"first_half": quasi[:half], "second_half": quasi[half:], **outcome.details()}
    return _risk_measurement(outcome, details)


@metric("P.singling_out", pillar="P", name="Singling-out risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def singling_out(cmp: Comparison) -> Measurement:
    """Predicates isolating one row under test (univariate and multivariate, Anonymeter's
    singling-out attack, Giomi et al. 2023) tried on train and on the holdout (control);
    the risk ``(r_T - r_H) / (1 - r_H)`` of the riskier informative mode. Score: ``1 -
    risk``. Interval: Wilson, propagated.

    Whether a predicate isolates one record depends on the population's size, so the
    two rates must be those of populations of equal size, without diluting a leak:
    train is judged whole (a copied training record is certainly in it; judged on a
    subsample of the holdout's size, a verbatim copy of train scored about 0.7 at the
    70/30 split) and the control's rate is brought to train's size
    (:func:`safe_bench.metrics.privacy.attacks.isolating`: exact when the holdout is the larger, an
    empirical-Bayes extrapolation otherwise, as Anonymeter corrects for the sizes)."""
    comparable(cmp)
    columns = cmp.schema.features
    numeric = np.array([cmp.schema.kinds[c] in (Kind.NUMERIC, Kind.DATETIME) for c in columns])
    synthetic, train, holdout = attacks.records([cmp.synthetic[columns], cmp.train[columns], cmp.holdout[columns]], list(numeric))
    rng = cmp.rng(Stream.SINGLING_OUT)
    modes = {
        "univariate": attacks.univariate_predicates(synthetic, numeric, attacks.N_PREDICATES, rng),
        "multivariate": attacks.multivariate_predicates(synthetic, numeric, attacks.N_PREDICATES, rng),
    }
    outcomes = {mode: attacks.singling_out(p, train, holdout) for mode, p in modes.items() if len(p)}
    if not outcomes:
        raise MetricSkipped("no predicate isolates a single row of the table under test")
    worst = _riskiest(outcomes)
    details = {"worst": worst, "modes": {m: o.details() for m, o in outcomes.items()}}
    return _risk_measurement(outcomes[worst], details)
