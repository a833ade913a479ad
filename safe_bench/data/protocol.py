"""The leakage-safe evaluation protocol: split the real table once, before anything is fitted.

The holdout is split off first, seeded and stratified on the survival event (or a
categorical target, or quartiles of a numeric one); it never reaches a generator.
Everything a metric fits (scalers, category lists, bins) is fitted on train alone,
in :mod:`safe_bench.evaluation.encoding`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import InputError

#: Default share of the real rows kept back as the holdout (the SAFE protocol: 70 % / 30 %).
HOLDOUT_FRACTION = 0.3
#: Fewest real rows the protocol accepts: both sides need a few rows of each stratum.
MIN_ROWS = 10


@dataclass(frozen=True)
class Split:
    """The train table a generator sees and the holdout it never sees, with their rows'
    positions in the table split (``train_rows``, ``holdout_rows``, ascending)."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    seed: int
    stratified_on: str | None
    train_rows: np.ndarray
    holdout_rows: np.ndarray


def stratum(frame: pd.DataFrame, schema: Schema) -> tuple[str | None, pd.Series | None]:
    """The column the split is stratified on and the labels used, if any."""
    if schema.survival is not None:
        return schema.survival.event, frame[schema.survival.event]
    if schema.target is not None:
        target = frame[schema.target]
        if schema.kinds[schema.target] is Kind.NUMERIC:
            return schema.target, pd.qcut(target, 4, labels=False, duplicates="drop")
        return schema.target, target
    return None, None


def split(
    frame: pd.DataFrame,
    schema: Schema,
    *,
    seed: int = 0,
    holdout_fraction: float = HOLDOUT_FRACTION,
) -> Split:
    """Split a canonical real table into train and holdout (seeded, stratified)."""
    if not 0 < holdout_fraction < 1:
        raise InputError(f"holdout fraction must be between 0 and 1, got {holdout_fraction}")
    if len(frame) < MIN_ROWS:
        raise InputError(
            f"the real table has {len(frame)} rows; the protocol needs at least {MIN_ROWS} "
            "to keep a holdout"
        )
    column, labels = stratum(frame, schema)
    if labels is not None:
        labels = labels.astype(str).where(labels.notna(), "<missing>")
        counts = labels.value_counts()
        if (counts < 2).any():
            raise InputError(
                f"cannot stratify the split on {column!r}: a value has fewer than 2 rows",
                column=column,
            )
    train_idx, holdout_idx = train_test_split(
        np.arange(len(frame)),
        test_size=holdout_fraction,
        random_state=seed,
        stratify=None if labels is None else labels.to_numpy(),
    )
    train_rows, holdout_rows = np.sort(train_idx), np.sort(holdout_idx)
    return Split(
        train=frame.iloc[train_rows].reset_index(drop=True),
        holdout=frame.iloc[holdout_rows].reset_index(drop=True),
        seed=seed,
        stratified_on=column,
        train_rows=train_rows,
        holdout_rows=holdout_rows,
    )
