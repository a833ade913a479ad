"""Small-cell suppression: a category held by few real patients is never written out.

Metric details name categories (S.tv's shares, the groups a survival curve left out, the
Cox terms ``column=level``), and a category held by one real patient can single that
patient out (a free-text field, a rare code). As statistical agencies suppress small
cells in published tables (e.g. counts under 5; Hundepool et al., *Statistical
Disclosure Control*, Wiley 2012, ch. 5), every category held by fewer than
:data:`MIN_CELL` real rows (train and holdout together) is replaced in an evaluation's
details by ``rare level k`` of its column (numbered in sorted order, so the text says
nothing of the value). The scores are unchanged; only what is written out is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from safe_bench.data.schema import Kind, Schema

#: Fewest real rows a category must hold to be named in an output.
MIN_CELL = 5


def rare_levels(real: Iterable[pd.DataFrame | None], schema: Schema) -> dict[str, str]:
    """Each category (as text) held by fewer than :data:`MIN_CELL` rows of the real tables,
    with the words that replace it, and each ``column=level`` term likewise. A text that
    is also a common category of another column (a code such as ``2``) discloses nothing
    by itself and is replaced only in its ``column=level`` form."""
    tables = [t for t in real if t is not None]
    replace: dict[str, str] = {}
    common: set[str] = set()
    for column, kind in schema.kinds.items():
        if kind not in (Kind.CATEGORICAL, Kind.BOOLEAN):
            continue
        counts = pd.concat([t[column] for t in tables]).dropna().astype(str).value_counts()
        common |= set(counts.index[counts >= MIN_CELL])
        for k, level in enumerate(sorted(counts.index[counts < MIN_CELL]), start=1):
            replace[level] = f"rare level {k} of {column}"
            replace[f"{column}={level}"] = f"{column}=rare level {k}"
    return {text: words for text, words in replace.items() if text not in common}


def suppress(value: Any, replace: Mapping[str, str]) -> Any:
    """``value`` (nested dicts, lists, text) with every rare category replaced: a text
    equal to one, a ``column=level`` term inside a text, a dict key."""
    if not replace:
        return value
    if isinstance(value, Mapping):
        return {_text(str(k), replace) if isinstance(k, str) else k: suppress(v, replace) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [suppress(v, replace) for v in value]
    if isinstance(value, str):
        return _text(value, replace)
    return value


def _text(text: str, replace: Mapping[str, str]) -> str:
    if text in replace:
        return replace[text]
    for term, words in replace.items():
        if "=" in term and term in text:
            text = text.replace(term, words)
    return text
