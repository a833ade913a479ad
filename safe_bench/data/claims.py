"""Findings: the clinical claims a synthetic table must reproduce (C.findings).

A finding is declared in the schema, or derived from train (every significant Cox
hazard ratio and every significant log-rank difference)::

    [[findings]]                 # in the multivariable Cox model, hormone therapy
    kind = "hazard_ratio"        # lowers the hazard: HR < 1 with p < 0.05
    column = "horTh"
    level = "yes"                # a categorical covariate's level, against its reference
    direction = "lower"          # "lower" (HR < 1) or "higher" (HR > 1)

    [[findings]]                 # survival differs across tumour grades: log-rank p < 0.05
    kind = "logrank"
    column = "tgrade"

``alpha`` (default 0.05) is the significance level of a finding.

The schema may also declare the **primary effect**: the trial's treatment or the
study's exposure, the finding a reader looks at first::

    [primary]
    column = "horTh"             # a covariate
    level = "yes"                # a categorical column's level, against its reference level

C.cox and C.findings report it first and weigh it as much as every other term or
finding together (:data:`PRIMARY_SHARE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from safe_bench.errors import InputError

HAZARD_RATIO, LOGRANK = "hazard_ratio", "logrank"
KINDS = (HAZARD_RATIO, LOGRANK)
DIRECTIONS = ("lower", "higher")
ALPHA = 0.05
#: The primary effect's share of C.cox and C.findings (the other terms share the rest).
PRIMARY_SHARE = 0.5


@dataclass(frozen=True)
class Finding:
    """One clinical claim: a Cox hazard ratio's direction, or a log-rank difference."""

    kind: str
    column: str
    level: str | None = None
    direction: str | None = None
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        where = f"finding on {self.column!r}"
        if self.kind not in KINDS:
            raise InputError(f"{where}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}", column=self.column)
        if not 0 < self.alpha < 1:
            raise InputError(f"{where}: alpha must be between 0 and 1, got {self.alpha!r}", column=self.column)
        if self.kind == HAZARD_RATIO and self.direction not in DIRECTIONS:
            raise InputError(
                f"{where}: a hazard_ratio finding needs direction 'lower' (HR < 1) or 'higher' (HR > 1)",
                column=self.column,
            )
        if self.kind == LOGRANK and (self.level is not None or self.direction is not None):
            raise InputError(f"{where}: a logrank finding takes no level or direction", column=self.column)

    @property
    def term(self) -> str:
        """The Cox term (``column`` or ``column=level``) or the group column."""
        return self.column if self.level is None else f"{self.column}={self.level}"

    def describe(self) -> str:
        """The claim in words, e.g. ``horTh=yes lowers the hazard: HR < 1, p < 0.05``."""
        if self.kind == LOGRANK:
            return f"survival differs across {self.column}: log-rank p < {self.alpha:g}"
        verb, sign = ("lowers", "<") if self.direction == "lower" else ("raises", ">")
        return f"{self.term} {verb} the hazard: HR {sign} 1, p < {self.alpha:g}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "column": self.column}
        if self.level is not None:
            out["level"] = self.level
        if self.direction is not None:
            out["direction"] = self.direction
        if self.alpha != ALPHA:
            out["alpha"] = self.alpha
        return out

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema") -> Finding:
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: each [[findings]] entry must be a table of keys")
        unknown = set(data) - {"kind", "column", "level", "direction", "alpha"}
        if unknown:
            raise InputError(f"{source}: unknown key(s) {sorted(unknown)} in a finding")
        if "kind" not in data or "column" not in data:
            raise InputError(f"{source}: a finding needs 'kind' and 'column'")
        level = data.get("level")
        try:
            alpha = float(data.get("alpha", ALPHA))
        except (TypeError, ValueError):
            raise InputError(f"{source}: finding alpha must be a number", column=str(data["column"])) from None
        return cls(
            kind=str(data["kind"]),
            column=str(data["column"]),
            level=None if level is None else str(level),
            direction=None if data.get("direction") is None else str(data["direction"]),
            alpha=alpha,
        )


@dataclass(frozen=True)
class PrimaryEffect:
    """The treatment or exposure whose effect is the study's message: a covariate, and
    for a categorical one the level contrasted with its reference level (the first in
    sorted order, as in the Cox model)."""

    column: str
    level: str | None = None

    @property
    def term(self) -> str:
        """The Cox term (``column`` or ``column=level``)."""
        return self.column if self.level is None else f"{self.column}={self.level}"

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, **({"level": self.level} if self.level is not None else {})}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "schema") -> PrimaryEffect:
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: [primary] must be a table with 'column' (and 'level' for a categorical column)")
        unknown = set(data) - {"column", "level"}
        if unknown or "column" not in data:
            raise InputError(f"{source}: [primary] takes the keys 'column' and 'level' (got {sorted(data)})")
        level = data.get("level")
        return cls(column=str(data["column"]), level=None if level is None else str(level))


def claim_weights(primary: Sequence[bool]) -> np.ndarray:
    """Weights of terms or findings that sum to 1: the primary effect's share is
    :data:`PRIMARY_SHARE` and the others share the rest equally (all of it goes to the
    primary when it stands alone; equal weights when there is none)."""
    flags = np.asarray(primary, dtype=bool)
    if not flags.any() or flags.all():
        return np.full(len(flags), 1.0 / len(flags))
    return np.where(flags, PRIMARY_SHARE / flags.sum(), (1.0 - PRIMARY_SHARE) / (~flags).sum())


def weighted_score(weights: np.ndarray, scores: np.ndarray) -> float:
    """The weighted mean of 0..1 scores, held in 0..1 against rounding."""
    return float(np.clip(weights @ scores, 0.0, 1.0))
