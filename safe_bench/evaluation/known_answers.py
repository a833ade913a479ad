"""Tables of known character, built from a real table's split, to check that scores order
them correctly (fresh real data high; copies and broken clinical messages low).

The real rows are split by the protocol into a holdout (the evaluation's reference) and
the rest, which is halved into ``train`` (what a generator would see) and ``fresh``
(real patients neither in train nor in the holdout), so every table below is the size
of train. The scenarios:

- ``fresh``: the fresh real rows (what a perfect generator would give);
- ``copy``: train itself, verbatim;
- ``noisy_copy``: train with Gaussian noise of 1 % of each numeric column's standard
  deviation on every numeric column (the survival time kept positive);
- ``permuted``: fresh rows with their (time, event) pairs shuffled across rows;
- ``flipped``: fresh rows with the primary effect reversed (a two-level column's levels
  swapped; see :func:`reverse_effect`);
- ``times_x2``: fresh rows with every survival time doubled;
- ``independent``: every column of the fresh rows shuffled on its own (marginals kept,
  every association broken).

``safe-bench``'s tests evaluate each scenario over several split seeds and assert the
orderings; ``benchmarks/known_answers.py`` prints the sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from safe_bench.data.protocol import split, stratum
from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import InputError

SCENARIOS = ("fresh", "copy", "noisy_copy", "permuted", "flipped", "times_x2", "independent")
#: Noise of the noisy copy, as a share of each numeric column's standard deviation.
NOISE = 0.01


@dataclass(frozen=True)
class KnownSplit:
    """Train, the holdout (reference) and fresh real rows of train's size."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    fresh: pd.DataFrame
    schema: Schema
    seed: int


def known_split(frame: pd.DataFrame, schema: Schema, seed: int) -> KnownSplit:
    """The protocol's holdout, then the rest halved (stratified like the protocol)."""
    parts = split(frame, schema, seed=seed)
    _, labels = stratum(parts.train, schema)
    stratify = None if labels is None else labels.astype(str).to_numpy()
    a, b = train_test_split(np.arange(len(parts.train)), test_size=0.5, random_state=seed, stratify=stratify)
    take = lambda rows: parts.train.iloc[np.sort(rows)].reset_index(drop=True)  # noqa: E731
    return KnownSplit(take(a), parts.holdout, take(b), schema, seed)


def reverse_effect(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The schema's primary effect reversed: a categorical column's declared level and
    its reference level swapped (every other row unchanged); a numeric column reflected
    within its range (x -> min + max - x)."""
    primary = schema.primary
    if primary is None:
        raise InputError("the schema declares no primary effect: nothing to reverse")
    out = frame.copy()
    col = out[primary.column]
    kind = schema.kinds[primary.column]
    if kind is Kind.NUMERIC:
        out[primary.column] = col.min() + col.max() - col
    elif kind is Kind.BOOLEAN:
        out[primary.column] = 1 - col
    else:
        text = col.astype(str)
        reference = sorted(set(text[col.notna()]) - {primary.level})[0]
        swapped = col.copy()
        swapped[text == primary.level] = col[text == reference].iloc[0]
        swapped[text == reference] = col[text == primary.level].iloc[0]
        out[primary.column] = swapped
    return out


def _noisy(frame: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> pd.DataFrame:
    out = frame.copy()
    time = schema.survival.time if schema.survival else None
    for col in schema.numeric:
        if schema.kinds[col] is not Kind.NUMERIC:
            continue
        values = out[col].to_numpy(dtype=float)
        noisy = values + rng.normal(0.0, NOISE * np.nanstd(values), size=len(values))
        if col == time:
            noisy = np.maximum(noisy, np.nanmin(values) / 2)
        out[col] = noisy
    return out


def _permuted(frame: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> pd.DataFrame:
    assert schema.survival is not None
    out = frame.copy()
    order = rng.permutation(len(out))
    for col in (schema.survival.time, schema.survival.event):
        out[col] = out[col].to_numpy()[order]
    return out


def _times_x2(frame: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> pd.DataFrame:
    assert schema.survival is not None
    out = frame.copy()
    out[schema.survival.time] = out[schema.survival.time] * 2
    return out


def _independent(frame: pd.DataFrame, schema: Schema, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({c: frame[c].to_numpy()[rng.permutation(len(frame))] for c in frame.columns})


_BUILD: dict[str, Callable[[KnownSplit, np.random.Generator], pd.DataFrame]] = {
    "fresh": lambda s, rng: s.fresh,
    "copy": lambda s, rng: s.train,
    "noisy_copy": lambda s, rng: _noisy(s.train, s.schema, rng),
    "permuted": lambda s, rng: _permuted(s.fresh, s.schema, rng),
    "flipped": lambda s, rng: reverse_effect(s.fresh, s.schema),
    "times_x2": lambda s, rng: _times_x2(s.fresh, s.schema, rng),
    "independent": lambda s, rng: _independent(s.fresh, s.schema, rng),
}


def scenario_table(parts: KnownSplit, scenario: str) -> pd.DataFrame:
    """The table of one scenario (seeded by the split's seed)."""
    if scenario not in _BUILD:
        raise InputError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    return _BUILD[scenario](parts, np.random.default_rng((parts.seed, SCENARIOS.index(scenario))))
