"""What every synthetic sample must respect, checked in one place for every adapter.

A generator's raw output is brought to the canonical form of
:func:`safe_bench.data.validation.conform` and held to the train table it learned from:
the schema's columns and kinds, categories seen in train only, no missing value where
train had none, a survival time > 0 and an event in {0, 1}.

Exactly one thing is repaired, and never silently: a survival time at or below zero
(a network's continuous output can undershoot) is raised to the smallest train time,
and a :class:`RepairWarning` gives how many rows were moved. Anything else that does
not fit is a :class:`~safe_bench.errors.GeneratorError` naming the column: a broken
generator must fail loudly rather than be patched into a plausible table.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform
from safe_bench.errors import GeneratorError, InputError


class RepairWarning(UserWarning):
    """A synthetic sample was repaired to fit the schema (the message says how much)."""


@dataclass(frozen=True)
class TrainProfile:
    """The facts about the canonical train table that a synthetic sample is held to."""

    schema: Schema
    categories: Mapping[str, frozenset[str]]
    complete: frozenset[str]
    min_time: float | None

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> TrainProfile:
        """Learn from a canonical train table (see :func:`safe_bench.data.validation.conform`)."""
        categories = {col: frozenset(_labels(train[col])) for col in schema.categorical}
        complete = frozenset(col for col in schema.features if not train[col].isna().any())
        min_time = float(train[schema.survival.time].min()) if schema.survival else None
        return cls(schema, categories, complete, min_time)

    @classmethod
    def merge(cls, profiles: list[TrainProfile]) -> TrainProfile:
        """The profile of the sites' train tables taken together (a federation's): categories
        seen at any site, columns complete at every site, the smallest survival time."""
        times = [p.min_time for p in profiles if p.min_time is not None]
        return cls(
            profiles[0].schema,
            {col: frozenset().union(*(p.categories[col] for p in profiles)) for col in profiles[0].categories},
            frozenset.intersection(*(p.complete for p in profiles)),
            min(times) if times else None,
        )

    def finish(self, frame: pd.DataFrame, *, n: int, generator: str) -> pd.DataFrame:
        """The canonical copy of a generator's ``n``-row sample, or a GeneratorError.

        Survival times <= 0 are raised to the smallest train time, with a
        :class:`RepairWarning` giving the count; nothing else is changed.
        """
        if not isinstance(frame, pd.DataFrame):
            raise GeneratorError(f"generator {generator!r} returned {type(frame).__name__}, not a DataFrame")
        frame = frame.rename(columns=str)
        self._check_columns(frame, generator)
        if len(frame) != n:
            raise GeneratorError(f"generator {generator!r} returned {len(frame)} rows, {n} were asked for")
        frame = self._lift_times(frame.reset_index(drop=True), generator)
        try:
            out = conform(frame[self.schema.features], self.schema, table="synthetic")
        except InputError as exc:
            raise GeneratorError(f"generator {generator!r}: {exc}") from None
        for col in self.schema.features:
            self._check_values(out[col], col, generator)
        return out

    def _check_columns(self, frame: pd.DataFrame, generator: str) -> None:
        expected = self.schema.features
        missing = [c for c in expected if c not in frame.columns]
        extra = [c for c in frame.columns if c not in expected]
        if missing or extra:
            parts = ([f"lacks column(s) {missing}"] if missing else []) + (
                [f"has column(s) {extra} that train does not have"] if extra else []
            )
            raise GeneratorError(
                f"generator {generator!r} returned a table that {' and '.join(parts)}; "
                f"expected exactly {expected}"
            )

    def _lift_times(self, frame: pd.DataFrame, generator: str) -> pd.DataFrame:
        if self.schema.survival is None or self.min_time is None:
            return frame
        time = self.schema.survival.time
        values = pd.to_numeric(frame[time], errors="coerce")
        low = values <= 0
        if low.any():
            warnings.warn(
                f"generator {generator!r}: {int(low.sum())} of {len(frame)} survival times "
                f"in {time!r} were <= 0 and were raised to the smallest train time",
                RepairWarning,
                stacklevel=3,
            )
            frame = frame.copy()
            frame[time] = values.mask(low, self.min_time)
        return frame

    def _check_values(self, values: pd.Series, col: str, generator: str) -> None:
        if col in self.complete and values.isna().any():
            raise GeneratorError(
                f"generator {generator!r}: column {col!r} has {int(values.isna().sum())} missing "
                "value(s) but train had none"
            )
        if col in self.categories:
            unseen = set(_labels(values)) - self.categories[col]
            if unseen:
                raise GeneratorError(
                    f"generator {generator!r}: column {col!r} has {len(unseen)} categor"
                    f"{'y' if len(unseen) == 1 else 'ies'} never seen in train"
                )
        if self.schema.survival is not None and col == self.schema.survival.event:
            bad = ~np.isin(values.to_numpy(dtype=float), (0.0, 1.0))
            if bad.any():
                raise GeneratorError(
                    f"generator {generator!r}: survival event {col!r} has {int(bad.sum())} "
                    "value(s) other than 0 and 1"
                )


def _labels(values: pd.Series) -> list[str]:
    """A canonical categorical or boolean column's distinct labels, as text."""
    return [str(v) for v in values.dropna().unique()]
