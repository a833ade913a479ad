"""The Anonymeter-method attacks (Giomi et al. 2023): P.attribute (attribute
inference), P.linkability and P.singling_out, each judged by its residual risk against
control attacks on the holdout (the attacks themselves are in
:mod:`safe_bench.metrics.privacy.attacks`).

Each carries typed details (per attack: successes, rates and the residual risk with its
error), draws its risks into one figure (:data:`ATTACK_RISKS`) and raises its signal for
the privacy verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from safe_bench.data.schema import Kind
from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.base import Details, Evidence, Measurement, metric
from safe_bench.metrics.charts import Chart, Drawing, Interval, Intervals, Outcome, Plot, lacking
from safe_bench.metrics.privacy import attacks
from safe_bench.metrics.privacy.attacks import AttackOutcome, residual_risk
from safe_bench.metrics.privacy.shares import comparable
from safe_bench.metrics.signals import Signal, VerdictRole
from safe_bench.metrics.stored import Stored

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


@dataclass(frozen=True)
class AttackDetails:
    """One attack's outcome: attacks made, successes on training and on control
    records (fractional for singling out), their Wilson rates, and the residual risk
    ``(r_T - r_H) / (1 - r_H)`` with its propagated error."""

    attacks: int
    train_successes: float
    control_successes: float
    train_rate: float
    control_rate: float
    residual: float
    residual_error: float

    @classmethod
    def of(cls, outcome: AttackOutcome) -> AttackDetails:
        value, error = residual_risk(outcome.train_rate, outcome.control_rate)
        return cls(outcome.attacks, outcome.train_successes, outcome.control_successes, outcome.train_rate[0],
                   outcome.control_rate[0], value, error)

    def to_dict(self) -> dict[str, float]:
        return {"attacks": self.attacks, "train_successes": self.train_successes,
                "control_successes": self.control_successes, "train_rate": self.train_rate,
                "control_rate": self.control_rate, "residual": self.residual, "residual_error": self.residual_error}

    @classmethod
    def read(cls, stored: Stored) -> AttackDetails:
        return cls(stored.whole("attacks"), stored.number("train_successes"), stored.number("control_successes"),
                   stored.number("train_rate"), stored.number("control_rate"), stored.number("residual"),
                   stored.number("residual_error"))

    def risk(self, label: str) -> list[Interval]:
        """The risk as drawn: the residual floored at 0, its interval the residual plus or
        minus its error bounded to 0..1 (none when the residual is not finite)."""
        if not math.isfinite(self.residual):
            return []
        error = self.residual_error if math.isfinite(self.residual_error) else 0.0
        return [Interval(label, max(self.residual, 0.0), max(self.residual - error, 0.0), min(self.residual + error, 1.0))]


@dataclass(frozen=True)
class AttributeDetails(Details):
    """P.attribute: the riskiest informative sensitive column, and each column's attack."""

    worst: str
    columns: dict[str, AttackDetails]

    def to_dict(self) -> dict[str, object]:
        return {"worst": self.worst, "columns": {c: a.to_dict() for c, a in self.columns.items()}}

    @classmethod
    def read(cls, stored: Stored) -> AttributeDetails:
        return cls(stored.text("worst"), {c: AttackDetails.read(a) for c, a in stored.children("columns").items()})


@dataclass(frozen=True)
class LinkabilityDetails(Details):
    """P.linkability: the two halves of the quasi-identifiers, and the attack."""

    first_half: list[str]
    second_half: list[str]
    attack: AttackDetails

    def to_dict(self) -> dict[str, object]:
        return {"first_half": self.first_half, "second_half": self.second_half, **self.attack.to_dict()}

    @classmethod
    def read(cls, stored: Stored) -> LinkabilityDetails:
        return cls(stored.texts("first_half"), stored.texts("second_half"), AttackDetails.read(stored))


@dataclass(frozen=True)
class SinglingOutDetails(Details):
    """P.singling_out: the riskier informative mode, and each mode's attack."""

    worst: str
    modes: dict[str, AttackDetails]

    def to_dict(self) -> dict[str, object]:
        return {"worst": self.worst, "modes": {m: a.to_dict() for m, a in self.modes.items()}}

    @classmethod
    def read(cls, stored: Stored) -> SinglingOutDetails:
        return cls(stored.text("worst"), {m: AttackDetails.read(a) for m, a in stored.children("modes").items()})


def _attack_risks(parts: Sequence[list[Interval]], notes: Sequence[str]) -> Plot | str:
    rows = [row for part in parts for row in part]
    if not rows:
        return lacking(notes)
    caption = ("Risk = (success on training patients − success on holdout controls) / (1 − control success), "
               "floored at 0, with its 95 % interval (the Anonymeter method, Giomi et al. 2023): 0 means the synthetic "
               "table tells an attacker nothing about training patients that it does not about unseen ones. "
               "Lower is better." + (f" Not drawn: {lacking(notes)}." if notes else ""))
    return Intervals(rows, xlabel="risk (lower is better)", caption=caption, zoom=False)


#: The attacks' risks with their intervals, drawn by the three attack metrics.
ATTACK_RISKS: Chart[list[Interval]] = Chart("Attack risks with 95 % intervals", _attack_risks)


def _attribute_risks(outcome: Outcome[AttributeDetails]) -> list[Interval]:
    return [row for c, a in outcome.details.columns.items() for row in a.risk(f"attribute inference: {c}")]


def _linkability_risk(outcome: Outcome[LinkabilityDetails]) -> list[Interval]:
    return outcome.details.attack.risk("linkability")


def _singling_out_risks(outcome: Outcome[SinglingOutDetails]) -> list[Interval]:
    return [row for m, a in outcome.details.modes.items() for row in a.risk(f"singling out: {m}")]


def _attack_role(name: str) -> VerdictRole:
    """An attack's part in the verdict: a signal whenever it works measurably better on
    training patients than on fresh ones (the verdict asks only then)."""

    def signal(details: Details, value: float, score: float) -> Signal:
        return Signal(f"{name} succeeds more on training patients than on fresh ones (risk {value:.2f})")

    return VerdictRole("attack", signal, attack=name)


def _quasi_identifiers(cmp: Comparison) -> list[str]:
    if not cmp.schema.quasi_identifiers:
        raise MetricSkipped("no quasi-identifiers: pass --qi (or declare roles.quasi_identifiers in the schema)")
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


def _riskiest(outcomes: dict[str, AttackOutcome]) -> str:
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


def residual_error(outcome: AttackOutcome) -> float:
    return residual_risk(outcome.train_rate, outcome.control_rate)[1]


def _risk_measurement(outcome: AttackOutcome, details: Details) -> Measurement:
    risk, low, high = outcome.risk
    return Measurement(value=risk, score=1.0 - risk, ci=(1.0 - high, 1.0 - low), details=details.to_dict())


def _secret_values(frame: pd.DataFrame, column: str, numeric: bool) -> np.ndarray:
    return as_numbers(frame[column]) if numeric else frame[column].to_numpy(dtype=object)


@metric("P.attribute", pillar="P", name="Attribute inference risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE, details=AttributeDetails, figure=Drawing(ATTACK_RISKS, _attribute_risks),
        verdict=_attack_role("attribute inference"))
def attribute_inference(cmp: Comparison) -> Measurement:
    """Per sensitive column: guess a target's value from the row under test nearest on
    the quasi-identifiers (Anonymeter's inference attack; control = holdout); risk
    ``(r_T - r_H) / (1 - r_H)`` of the riskiest informative column (see
    :func:`_riskiest`). Score: ``1 - risk``. Interval: Wilson, propagated."""
    comparable(cmp)
    quasi = _quasi_identifiers(cmp)
    if not cmp.schema.sensitive:
        raise MetricSkipped("no sensitive columns: pass --sensitive (or declare roles.sensitive in the schema)")
    on_train, on_holdout = _targets(cmp, Stream.INFERENCE_TARGETS)
    results: dict[str, AttackOutcome] = {}
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
    details = AttributeDetails(worst, {c: AttackDetails.of(r) for c, r in results.items()})
    return _risk_measurement(results[worst], details)


@metric("P.linkability", pillar="P", name="Linkability risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE, details=LinkabilityDetails, figure=Drawing(ATTACK_RISKS, _linkability_risk),
        verdict=_attack_role("linkage"))
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
    return _risk_measurement(outcome, LinkabilityDetails(quasi[:half], quasi[half:], AttackDetails.of(outcome)))


@metric("P.singling_out", pillar="P", name="Singling-out risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE, details=SinglingOutDetails, figure=Drawing(ATTACK_RISKS, _singling_out_risks),
        verdict=_attack_role("singling out"))
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
    return _risk_measurement(outcomes[worst], SinglingOutDetails(worst, {m: AttackDetails.of(o) for m, o in outcomes.items()}))
