"""What a P metric contributes to the privacy verdict: its role and the signal it raises.

A P metric registers its :class:`VerdictRole` with it (``@metric(..., verdict=...)``):
its ``family`` (``"distance"``: distance or membership evidence; ``"attack"``: an
Anonymeter-method attack, with its name) and ``signal``, which reads the metric's typed
details, value and score and returns a :class:`Signal` in plain words, or None. The
verdict (:mod:`safe_bench.metrics.privacy.verdict`) asks only metrics whose interval
excludes a perfect score (a real difference), and weighs the signals by family; it never
names a metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

#: Scores below this count as a clear near-copy signal (P.dcr_p5, P.nndr).
NEAR_COPY_SCORE = 0.5
#: Scores below this count as large enough to matter (distance metrics, P.mia).
SIGNAL_SCORE = 0.9

Family = Literal["distance", "attack"]


@dataclass(frozen=True)
class Signal:
    """Plain-words evidence from one metric; ``near_copy`` when it shows training
    patients copied or nearly copied."""

    text: str
    near_copy: bool = False


@dataclass(frozen=True)
class VerdictRole:
    """A P metric's part in the verdict: its ``family``, the ``signal`` it raises from
    (typed details, value, score), and for an attack its ``attack`` name."""

    family: Family
    signal: Callable[[Any, float, float], Signal | None]
    attack: str = ""
