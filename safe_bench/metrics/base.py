"""The metric contract: what a metric is, what it returns, and how it is run.

A metric is a small function of a :class:`~safe_bench.evaluation.comparison.Comparison` (train,
the table under test, the holdout, the shared encoding and neighbours) returning a
:class:`Measurement`. It is registered with :func:`metric`, which records its id,
pillar, goal and range (as SDMetrics does) so that reports treat every metric alike.
:func:`run_metric` runs it on the synthetic table and, as the real-vs-real ceiling,
on the holdout, and turns the outcome into a :class:`MetricResult`.

A metric whose details something else reads declares them typed (:class:`Details`, a
frozen dataclass beside the metric, written out by ``to_dict`` and read back by
``from_dict``), and registers with them what it contributes to the reports and the
privacy verdict, as SDMetrics' properties own their visualisation: its figure (a
:class:`~safe_bench.metrics.charts.Drawing`) and its verdict role (a
:class:`~safe_bench.metrics.signals.VerdictRole`). Readers get the typed details with
:func:`read_details`; a stored result whose details are malformed is an
:class:`~safe_bench.errors.InputError` naming the metric when it is read back
(:meth:`MetricResult.from_dict`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np

from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison, EvaluationData
from safe_bench.evaluation.uncertainty import centred_replicates, percentile_ci
from safe_bench.metrics.charts import Drawing
from safe_bench.metrics.signals import VerdictRole
from safe_bench.metrics.stored import Stored
from safe_bench.private import describe_error

Pillar = Literal["S", "C", "P"]
PILLARS: tuple[Pillar, ...] = ("S", "C", "P")
PILLAR_NAMES: Mapping[str, str] = {
    "S": "statistical fidelity",
    "C": "clinical utility",
    "P": "privacy preservation",
}

NO_HOLDOUT = "no holdout: pass --holdout with real rows the generator never saw"
_REQUIREMENT_REASONS = {
    "holdout": NO_HOLDOUT,
    "survival": "no survival endpoint: pass --time and --event (or declare [survival] time and event in the schema)",
    "target": "no target: pass --target (or declare roles.target in the schema)",
}


T = TypeVar("T", bound="Details")


class Details(ABC):
    """A metric's typed details: a frozen dataclass defined beside the metric. ``to_dict``
    gives exactly the details' JSON layout in the result; ``read`` reads it back from a
    :class:`~safe_bench.metrics.stored.Stored` object, raising an InputError that names
    the field when the layout is not the metric's."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The details as written into the result."""

    @classmethod
    @abstractmethod
    def read(cls: type[T], stored: Stored) -> T:
        """The details from their stored form."""

    @classmethod
    def from_dict(cls: type[T], data: object, where: str = "details") -> T:
        """The details from their stored form; ``where`` names them in error messages."""
        return cls.read(Stored(data, where))


@dataclass(frozen=True)
class Measurement:
    """What a metric function returns for one comparison.

    ``value`` is the raw statistic in its own unit, ``score`` its 0..1 transform
    (higher is better). ``ci`` is the 95 % interval of the score; ``replicates`` are
    the bootstrap replicates of the score when the interval comes from a bootstrap
    (used to give pillar scores a joint interval).
    """

    value: float
    score: float
    ci: tuple[float, float] | None = None
    replicates: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)


def bootstrapped(value: float, score: float, replicates: np.ndarray, details: dict[str, Any]) -> Measurement:
    """A measurement whose interval comes from bootstrap replicates of the score
    (re-centred on the estimate, see :func:`safe_bench.evaluation.uncertainty.centred_replicates`)."""
    centred = centred_replicates(score, np.asarray(replicates, dtype=float))
    return Measurement(value=value, score=score, ci=percentile_ci(centred), replicates=centred, details=details)


@dataclass(frozen=True)
class Evidence:
    """The least data under which a metric can say anything: below it the metric is
    skipped with that reason (a 1-, 3- or 5-row table must not score 1.000 with a
    zero-width interval). ``rows``: rows of train and of the table under test;
    ``distinct``: distinct rows of train, and of the holdout for metrics that need
    one (an all-identical table has one); ``holdout_rows``: rows of the holdout, for
    metrics that need one (the reference splits it in halves: half of each of these
    two suffices); ``events``: events in train and in the table under test, for
    metrics of a survival endpoint."""

    rows: int = 20
    distinct: int = 10
    holdout_rows: int = 20
    events: int = 10

    def lacking(self, comparison: Comparison, spec: Metric) -> str | None:
        """Why ``comparison`` holds too little data for ``spec``, or None."""
        sizes = {"train": len(comparison.train), "the table under test": len(comparison.synthetic)}
        for what, n in sizes.items():
            if n < self.rows:
                return f"too few rows in {what} to say anything: {n} row(s), fewer than {self.rows}"
        distinct = comparison.distinct_rows("train")
        if distinct < self.distinct:
            return f"too few distinct rows in train to say anything: {distinct}, fewer than {self.distinct}"
        if "holdout" in spec.requires and comparison.has("holdout"):
            halved = 2 if comparison.is_reference else 1
            n, distinct = len(comparison.holdout), comparison.distinct_rows("holdout")
            if n < self.holdout_rows // halved:
                return f"too few rows in the holdout to say anything: {n} row(s), fewer than {self.holdout_rows // halved}"
            if distinct < self.distinct // halved:
                return f"too few distinct rows in the holdout to say anything: {distinct}, fewer than {self.distinct // halved}"
        if "survival" in spec.requires and self.events:
            events = int((comparison.train[comparison.schema.survival.event] == 1).sum())  # type: ignore[union-attr]
            if events < self.events:
                state = "every patient is censored" if events == 0 else f"{events} event(s), fewer than {self.events}"
                return f"too few events in train to say anything: {state}"
        return None


@dataclass(frozen=True)
class Metric:
    """A registered metric: identity, goal and range, requirements, and its function."""

    id: str
    pillar: Pillar
    name: str
    goal: Literal["maximize", "minimize"]
    value_range: tuple[float, float]
    requires: frozenset[str]
    compute: Callable[[Comparison], Measurement]
    description: str = ""
    reference_details: bool = False
    evidence: Evidence = Evidence()
    details: type[Details] | None = None
    figure: Drawing[Any] | None = None
    verdict: VerdictRole | None = None


@dataclass
class MetricResult:
    """One metric's outcome, as stored, serialised and reported."""

    id: str
    pillar: str
    value: float | None
    score: float | None
    ci_low: float | None
    ci_high: float | None
    reference: float | None
    status: Literal["ok", "skipped", "error"]
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    replicates: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        spec = METRICS.get(self.id)
        return {
            "id": self.id,
            "pillar": self.pillar,
            "name": spec.name if spec else self.id,
            "goal": spec.goal if spec else None,
            "range": list(spec.value_range) if spec else None,
            "value": self.value,
            "score": self.score,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "reference": self.reference,
            "status": self.status,
            "reason": self.reason,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "result") -> MetricResult:
        """Read :meth:`to_dict`'s layout; typed details (and the reference run's, when
        kept) are checked, an InputError naming ``source`` and the metric when they are
        malformed."""
        keys = ("id", "pillar", "value", "score", "ci_low", "ci_high", "reference", "status", "reason", "details")
        result = cls(**{k: data[k] for k in keys})
        read_details(result, source)
        read_reference_details(result, source)
        return result


METRICS: dict[str, Metric] = {}


def metric(
    id: str,
    *,
    pillar: Pillar,
    name: str,
    goal: Literal["maximize", "minimize"] = "maximize",
    value_range: tuple[float, float] = (0.0, 1.0),
    requires: tuple[str, ...] = (),
    reference_details: bool = False,
    evidence: Evidence | None = None,
    details: type[Details] | None = None,
    figure: Drawing[Any] | None = None,
    verdict: VerdictRole | None = None,
) -> Callable[[Callable[[Comparison], Measurement]], Callable[[Comparison], Measurement]]:
    """Register ``compute`` as metric ``id``; its docstring becomes the description.

    With ``reference_details`` the holdout reference's details are kept beside the
    synthetic ones, as ``details["reference_details"]`` (e.g. the holdout's curves).
    ``details`` is the class of its typed details (its measurements carry their
    ``to_dict()``), which ``figure`` (its part in a report figure) and ``verdict`` (its
    part in the privacy verdict) read."""
    unknown = set(requires) - set(_REQUIREMENT_REASONS)
    if unknown:
        raise ValueError(f"metric {id}: unknown requirement(s) {sorted(unknown)}")
    if details is None and (figure is not None or verdict is not None):
        raise ValueError(f"metric {id}: a figure or a verdict role reads typed details: declare details=")

    def register(compute: Callable[[Comparison], Measurement]) -> Callable[[Comparison], Measurement]:
        if id in METRICS:
            raise ValueError(f"metric {id} is registered twice")
        METRICS[id] = Metric(
            id=id,
            pillar=pillar,
            name=name,
            goal=goal,
            value_range=value_range,
            requires=frozenset(requires),
            compute=compute,
            description=(compute.__doc__ or "").strip().split("\n\n")[0],
            reference_details=reference_details,
            evidence=evidence or Evidence(),
            details=details,
            figure=figure,
            verdict=verdict,
        )
        return compute

    return register


def _where(source: str | None, result: MetricResult, what: str) -> str:
    return f"{source + ': ' if source else ''}metric {result.id!r} {what}"


def read_details(result: MetricResult, source: str | None = None) -> Details | None:
    """The typed details of a metric that finished and declares them (None otherwise:
    not run to the end, or no typed details); an InputError naming ``source`` (the
    file, when read from one) and the metric when the details are malformed."""
    spec = METRICS.get(result.id)
    if spec is None or spec.details is None or not result.ok:
        return None
    return spec.details.from_dict(result.details, _where(source, result, "details"))


def read_reference_details(result: MetricResult, source: str | None = None) -> Details | None:
    """The typed details of the holdout reference run, for a metric that keeps them
    (``reference_details``) when the reference was measured; None otherwise."""
    spec = METRICS.get(result.id)
    if spec is None or spec.details is None or not spec.reference_details or not result.ok:
        return None
    if "reference_details" not in result.details:
        return None
    return spec.details.from_dict(result.details["reference_details"], _where(source, result, "reference details"))


def _unmet(spec: Metric, data: EvaluationData) -> str | None:
    has = {
        "holdout": data.holdout is not None,
        "survival": data.schema.survival is not None,
        "target": data.schema.target is not None,
    }
    for need in sorted(spec.requires):
        if not has[need]:
            return _REQUIREMENT_REASONS[need]
    return None


def _measure(spec: Metric, comparison: Comparison) -> Measurement | str:
    """The measurement, or the reason it could not be made (prefixed 'skipped:'/'error:')."""
    lacking = spec.evidence.lacking(comparison, spec)
    if lacking:
        return f"skipped:{lacking}"
    try:
        m = spec.compute(comparison)
    except MetricSkipped as exc:
        return f"skipped:{exc}"
    except Exception as exc:  # a metric must never take the evaluation down
        # a library's message can quote the data (a value it could not convert): kept aside
        return f"error:{describe_error(exc, name=spec.id)}"
    if not (math.isfinite(m.score) and 0.0 <= m.score <= 1.0):
        return f"error:score {m.score!r} is outside 0..1"
    return m


def run_metric(spec: Metric, data: EvaluationData) -> MetricResult:
    """Run one metric on the synthetic table and, unless the evaluation asks for none, on the
    holdout reference."""

    def empty(status: Literal["skipped", "error"], reason: str) -> MetricResult:
        return MetricResult(spec.id, spec.pillar, None, None, None, None, None, status, reason)

    reason = _unmet(spec, data)
    if reason:
        return empty("skipped", reason)
    outcome = _measure(spec, data.comparison())
    if isinstance(outcome, str):
        status, _, reason = outcome.partition(":")
        return empty("skipped" if status == "skipped" else "error", reason)
    details = dict(outcome.details)
    reference: float | None = None
    if data.holdout is not None and data.references:
        ref = _measure(spec, data.reference("holdout" in spec.requires))
        if isinstance(ref, str):
            details["reference_reason"] = ref.partition(":")[2]
        else:
            reference = ref.score
            details["reference_value"] = ref.value
            if spec.reference_details:
                details["reference_details"] = dict(ref.details)
    ci = outcome.ci if outcome.ci is not None else (None, None)
    return MetricResult(
        id=spec.id,
        pillar=spec.pillar,
        value=float(outcome.value),
        score=float(outcome.score),
        ci_low=None if ci[0] is None else float(ci[0]),
        ci_high=None if ci[1] is None else float(ci[1]),
        reference=reference,
        status="ok",
        details=details,
        replicates=outcome.replicates,
    )
