"""The plain table neural generators learn from, and the way back to the schema's kinds.

Neural tabular generators want continuous columns without gaps and discrete columns as
labels. :class:`TabularCodec`, fitted on the canonical train table, gives them that:

- numeric columns as floats, datetimes as days; a numeric column with missing values
  gets a discrete presence flag (``"1"``/``"0"``) and its gaps filled with the train
  median, so the model learns *whether* a value is missing separately from its value;
- the survival time on the log scale: times are positive and right-skewed, and a
  model's output decoded through ``exp`` is a positive time by construction (as in
  survival models of the accelerated-failure-time family);
- categorical and boolean columns as text labels, missing as a label of its own.

:meth:`TabularCodec.decode` reverses this: gaps restored where the flag says so,
survival times through ``exp``, numbers rounded to whole numbers where train had only
those, datetimes from days,
the missing label back to NaN.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from safe_bench.data.schema import Kind, Schema
from safe_bench.data.values import as_numbers


@dataclass(frozen=True)
class TabularCodec:
    """Train-fitted mapping between a canonical table and a model's plain table."""

    schema: Schema
    fill: dict[str, float]
    flags: dict[str, str]
    whole: frozenset[str]
    missing: str
    logged: frozenset[str]

    @classmethod
    def fit(cls, train: pd.DataFrame, schema: Schema) -> TabularCodec:
        fill: dict[str, float] = {}
        flags: dict[str, str] = {}
        whole = set()
        for col in schema.numeric:
            values = as_numbers(train[col])
            present = values[~np.isnan(values)]
            fill[col] = float(np.median(present)) if len(present) else 0.0
            if len(present) < len(values):
                flags[col] = _fresh_name(f"{col}.present", schema.features)
            if len(present) and np.all(present == np.round(present)):
                whole.add(col)
        labels = {_label(v) for col in schema.categorical for v in train[col].dropna().unique()}
        logged = frozenset([schema.survival.time] if schema.survival else [])
        return cls(schema, fill, flags, frozenset(whole), _fresh_name("<missing>", labels), logged)

    @property
    def continuous(self) -> list[str]:
        """The model table's continuous columns (the schema's numeric and datetime ones)."""
        return self.schema.numeric

    @property
    def discrete(self) -> list[str]:
        """The model table's discrete columns: categorical, boolean, presence flags."""
        return self.schema.categorical + list(self.flags.values())

    def encode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's table for a canonical ``frame``: continuous columns, then discrete."""
        out: dict[str, object] = {}
        for col in self.continuous:
            values = as_numbers(frame[col])
            gaps = np.isnan(values)
            values = np.where(gaps, self.fill[col], values)
            out[col] = np.log(values) if col in self.logged else values
            if col in self.flags:
                out[self.flags[col]] = np.where(gaps, "0", "1").astype(object)
        for col in self.schema.categorical:
            out[col] = frame[col].map(_label, na_action="ignore").fillna(self.missing).astype(object)
        return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))[self.continuous + self.discrete]

    def decode(self, model: pd.DataFrame) -> pd.DataFrame:
        """The schema's feature columns from a table in the model's layout."""
        out: dict[str, object] = {}
        for col in self.continuous:
            values = pd.to_numeric(model[col], errors="coerce").to_numpy(dtype=float)
            if col in self.logged:
                values = np.exp(values)
            if col in self.whole:
                values = np.round(values)
            if col in self.flags:
                values = np.where(model[self.flags[col]].astype(str).to_numpy() == "1", values, np.nan)
            out[col] = values
        for col in self.schema.categorical:
            out[col] = model[col].astype(object).where(model[col].astype(str) != self.missing, np.nan)
        frame = pd.DataFrame(out, index=pd.RangeIndex(len(model)))
        for col in self.continuous:
            if self.schema.kinds[col] is Kind.DATETIME:
                frame[col] = pd.to_datetime(frame[col] * 86_400e9)
        return frame[self.schema.features]


def _label(value: object) -> str:
    """Canonical categories are text already; booleans (0.0/1.0) become ``"0"``/``"1"``."""
    return str(int(value)) if isinstance(value, float) else str(value)


def _fresh_name(base: str, taken: Collection[str]) -> str:
    """``base``, prefixed with underscores until it is not in ``taken``."""
    name = base
    while name in taken:
        name = f"_{name}"
    return name
