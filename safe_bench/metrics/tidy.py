"""A metric's details as tidy tables, as SDMetrics' ``get_details`` gives them.

A metric's ``details`` hold, besides a few top-level numbers, collections of named
entries: per column (S.ks, S.tv), per pair or triple (S.pairs, S.kway), per group
(C.logrank, C.rmst), per Cox term, per finding, per attacked column. :func:`detail_parts`
reads every such collection whose entries share scalar fields as one :class:`DetailPart`
(one row per entry, one column per field), and the top-level scalars as a ``summary``
part. The evaluation page prints them (:mod:`safe_bench.report.evaluation`) and
:meth:`~safe_bench.evaluation.evaluate.EvaluationResult.details` returns them as
DataFrames: one reading serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: The part holding a metric's top-level scalar details.
SUMMARY = "summary"


@dataclass(frozen=True)
class DetailPart:
    """One table of a metric's details: the entries of the collection ``key`` (named in
    ``names``, labelled ``index``) by the scalar fields they share (``columns``); a cell
    is ``None`` where an entry lacks a field."""

    key: str
    index: str
    names: list[str]
    columns: list[str]
    rows: list[list[Any]]

    def frame(self) -> pd.DataFrame:
        """The part as a DataFrame indexed by entry name."""
        return pd.DataFrame(self.rows, index=pd.Index(self.names, name=self.index), columns=self.columns)


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _entries(value: Any) -> dict[str, Mapping[str, Any]]:
    """Named entries of a detail: a mapping of mappings, or a list of mappings (numbered from 1)."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if isinstance(v, Mapping)}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value, 1) if isinstance(v, Mapping)}
    return {}


def detail_parts(details: Mapping[str, Any]) -> list[DetailPart]:
    """The tables of a metric's ``details``: the top-level scalars first (the ``summary``
    part, ``reference_value`` left out: it is the result's ``reference``), then every
    collection of named entries with scalar fields, in the order the metric wrote them.
    The holdout's own details (``reference_details``) are not the table under test and
    are left out."""
    parts = []
    top = {key: v for key, v in details.items() if is_scalar(v) and key != "reference_value"}
    if top:
        parts.append(DetailPart(SUMMARY, "detail", list(top), ["value"], [[v] for v in top.values()]))
    for key, value in details.items():
        entries = {} if key == "reference_details" else _entries(value)
        columns: list[str] = []
        for entry in entries.values():
            columns += [c for c, v in entry.items() if is_scalar(v) and c not in columns]
        if columns:
            rows = [[entry.get(c) if is_scalar(entry.get(c)) else None for c in columns] for entry in entries.values()]
            parts.append(DetailPart(key, key, list(entries), columns, rows))
    return parts
