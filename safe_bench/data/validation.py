"""Check a table against its schema and bring it to the canonical form every metric reads.

Canonical form, per kind:

- numeric: ``float64``, missing as NaN; infinities are refused;
- datetime: ``datetime64[ns]`` (time zones converted to UTC);
- categorical: text (``object``), whole numbers written without a decimal point so
  that ``1``, ``1.0`` and ``"1"`` are one category; missing as NaN;
- boolean: ``float64`` 0/1, missing as NaN (the survival event is boolean);
- id: dropped (no metric compares identifiers).

Every problem is an :class:`~safe_bench.errors.InputError` naming the table and the
column; no message quotes a value from the table.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from safe_bench.data.schema import Kind, Schema, check_column_names, is_date
from safe_bench.errors import InputError

#: Seeds lie in 0 .. MAX_SEED: numpy and scikit-learn take seeds below 2**32.
MAX_SEED = 2**32 - 1

_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def conform(frame: pd.DataFrame, schema: Schema, *, table: str) -> pd.DataFrame:
    """The canonical copy of ``frame``, or an InputError naming what does not fit."""
    check_column_names(frame, table=table)
    frame = frame.rename(columns=str)
    if len(frame) == 0:
        raise InputError(f"{table} table is empty", table=table)
    missing = [c for c in schema.features if c not in frame.columns]
    if missing:
        raise InputError(
            f"{table} table lacks column(s) {missing} that the schema declares",
            column=missing[0],
            table=table,
        )
    extra = [c for c in frame.columns if c not in schema.kinds]
    if extra:
        raise InputError(
            f"{table} table has column(s) {extra} that the schema does not declare",
            column=extra[0],
            table=table,
        )
    if schema.survival is not None:
        _check_event_coding(frame[schema.survival.event], schema.survival.event, table)
    out = {name: _canonical(frame[name], kind, name, table) for name, kind in schema.kinds.items() if kind is not Kind.ID}
    result = pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
    if schema.survival is not None:
        _check_survival(result, schema, table)
    return result


def _canonical(series: pd.Series, kind: Kind, name: str, table: str) -> pd.Series:
    values = series.reset_index(drop=True)
    if kind is Kind.NUMERIC:
        return _numbers(values, name, table)
    if kind is Kind.DATETIME:
        return _datetimes(values, name, table)
    if kind is Kind.BOOLEAN:
        return _booleans(values, name, table)
    return _categories(values)


def _numbers(values: pd.Series, name: str, table: str) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(values):
        raise InputError(
            f"column {name!r} in {table} table holds durations (timedelta), which would be read as "
            "nanoseconds; write them as numbers in one unit, e.g. days",
            column=name,
            table=table,
        )
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = int((numbers.isna() & values.notna()).sum())
    if bad:
        raise InputError(
            f"column {name!r} in {table} table is numeric but {bad} value(s) are not numbers",
            column=name,
            table=table,
        )
    infinite = int(np.isinf(numbers.to_numpy()).sum())
    if infinite:
        raise InputError(
            f"column {name!r} in {table} table has {infinite} infinite value(s); "
            "replace them with finite numbers or leave them missing",
            column=name,
            table=table,
        )
    return numbers


def _datetimes(values: pd.Series, name: str, table: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        parsed = pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = parsed.isna() & values.notna()
    beyond = int(values[bad].astype(object).map(is_date).astype(bool).sum()) if bad.any() else 0
    if beyond:
        raise InputError(
            f"column {name!r} in {table} table has {beyond} date(s) outside the years 1677 to 2262 that "
            "safe-bench can compare (a placeholder such as 9999-12-31?); leave them missing",
            column=name,
            table=table,
        )
    if bad.any():
        raise InputError(
            f"column {name!r} in {table} table is a datetime but {int(bad.sum())} value(s) are not dates",
            column=name,
            table=table,
        )
    return parsed.astype("datetime64[ns]")


def _booleans(values: pd.Series, name: str, table: str) -> pd.Series:
    def truth(value: object) -> float:
        text = _category_text(value).strip().lower()
        return 1.0 if text in _TRUE else (0.0 if text in _FALSE else np.nan)

    mapped = _per_distinct(values, truth, float)
    bad = int((mapped.isna() & values.notna()).sum())
    if bad:
        raise InputError(
            f"column {name!r} in {table} table is boolean but {bad} value(s) are not "
            "0/1, true/false or yes/no",
            column=name,
            table=table,
        )
    return mapped.astype("float64")


def _categories(values: pd.Series) -> pd.Series:
    return _per_distinct(values, _category_text, object)


def _per_distinct(values: pd.Series, convert: Callable[[object], object], dtype: type) -> pd.Series:
    """``convert`` applied once per distinct value (missing stays NaN): linear in rows."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    converted: np.ndarray = np.array([convert(u) for u in uniques] + [np.nan], dtype=dtype)
    return pd.Series(converted[codes], index=values.index, dtype=dtype)


def _category_text(value: object) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    return str(value)


def _check_event_coding(values: pd.Series, name: str, table: str) -> None:
    """An event column coded 1/2 (R's ``survival`` convention: 1 censored, 2 event) is
    refused with the fix, rather than read as 'not boolean'."""
    spelt = set(_per_distinct(values.dropna(), _category_text, object))
    if "2" in spelt and spelt <= {"1", "2"}:
        raise InputError(
            f"survival event column {name!r} in {table} table is coded 1/2 (R's convention: 1 = censored, "
            "2 = event); pass --event-value 2 (the value that marks an event), or recode it to 0/1",
            column=name,
            table=table,
        )


def event_indicator(frame: pd.DataFrame, column: str, value: str, *, table: str) -> pd.DataFrame:
    """``frame`` with its event ``column`` recoded to 1 where it holds ``value`` (as text:
    ``2``, ``2.0`` and ``"2"`` are one value; ``--event-value``) and 0 elsewhere, missing
    kept missing. A column without that value is an InputError: a table without a single
    event is more likely a wrong ``value`` than a cohort without events."""
    if column not in frame.columns:
        raise InputError(f"{table} table has no survival event column {column!r}", column=column, table=table)
    spelt = _per_distinct(frame[column], _category_text, object)
    wanted = _category_text(_number_or_text(value))
    if not (spelt == wanted).any():
        raise InputError(f"survival event column {column!r} in {table} table never holds the event value {value!r} "
                         "(--event-value)", column=column, table=table)
    out = frame.copy()
    out[column] = np.where(spelt.isna(), np.nan, (spelt == wanted).astype(float))
    return out


def _number_or_text(value: str) -> object:
    """``"2"`` and ``"2.0"`` as the number 2, anything else as given."""
    try:
        return float(value)
    except ValueError:
        return value


def _check_survival(frame: pd.DataFrame, schema: Schema, table: str) -> None:
    assert schema.survival is not None
    time, event = schema.survival.time, schema.survival.event
    n_missing = int(frame[time].isna().sum())
    if n_missing:
        raise InputError(
            f"survival time column {time!r} in {table} table has {n_missing} missing value(s)",
            column=time,
            table=table,
        )
    n_bad = int((frame[time] <= 0).sum())
    if n_bad:
        raise InputError(
            f"survival time column {time!r} in {table} table has {n_bad} value(s) <= 0; "
            "survival times must be positive",
            column=time,
            table=table,
        )
    n_missing = int(frame[event].isna().sum())
    if n_missing:
        raise InputError(
            f"survival event column {event!r} in {table} table has {n_missing} missing value(s)",
            column=event,
            table=table,
        )


#: Below this share of a synthetic categorical column's values being categories of
#: train, the two tables are taken to code the column differently (M/F against 1/2).
MIN_SHARED_CATEGORIES = 0.5


def category_mismatches(train: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> list[str]:
    """A note for each categorical column of the canonical ``synthetic`` table whose values
    are mostly categories train never has: the metrics run, but compare two codings.
    Notes name the column and count categories; they quote no value."""
    notes = []
    for name in (c for c, k in schema.kinds.items() if k is Kind.CATEGORICAL):
        values = synthetic[name].dropna()
        if values.empty:
            continue
        seen = set(train[name].dropna())
        shared = float(values.isin(seen).mean())
        if shared < MIN_SHARED_CATEGORIES:
            categories = set(values)
            notes.append(
                f"synthetic column {name!r} shares almost no values with train: {shared:.0%} of its values are "
                f"categories of train ({len(categories & seen)} of its {len(categories)} categories, train has "
                f"{len(seen)}); are the two coded alike (e.g. M/F against 1/2)?"
            )
    return notes
