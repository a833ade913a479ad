"""A schema as a TOML file a person edits: the layout :func:`safe_bench.data.schema.load_schema`
reads (see :mod:`safe_bench.data.schema`), with a comment beside each column (why its kind
was chosen) and comments above it (where it came from, what to do next).

:func:`schema_toml` writes any :class:`~safe_bench.data.schema.Schema`;
``tomllib.loads`` of its text gives back the same schema (tests/test_schema_file.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from safe_bench.data.schema import Schema, explain_kind

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    return name if _BARE_KEY.fullmatch(name) else _value(name)


def _value(value: Any) -> str:
    """A TOML value: text as a basic string (JSON's escapes are TOML's), numbers,
    booleans and lists of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _table(name: str, entries: Mapping[str, Any], comments: Mapping[str, str] | None = None) -> list[str]:
    lines = [name]
    for key, value in entries.items():
        line = f"{_key(key)} = {_value(value)}"
        note = (comments or {}).get(key)
        lines.append(f"{line}  # {note}" if note else line)
    return lines


def schema_toml(schema: Schema, *, comments: Mapping[str, str] | None = None, header: Sequence[str] = ()) -> str:
    """``schema`` as TOML text: ``header`` lines as comments on top, ``comments[column]``
    beside each column of ``[columns]``."""
    data = schema.to_dict()
    lines = [f"# {h}" if h else "#" for h in header]
    if lines:
        lines.append("")
    sections: list[list[str]] = [_table("[columns]", data["columns"], comments)]
    for name in ("survival", "roles", "blocks", "primary"):
        if name in data:
            sections.append(_table(f"[{name}]", data[name]))
    for score, spec in data.get("scores", {}).items():
        sections.append(_table(f"[scores.{_key(score)}]", spec))
    for finding in data.get("findings", []):
        sections.append(_table("[[findings]]", finding))
    return "\n".join(lines + ["\n".join(section) + "\n" for section in sections]).rstrip("\n") + "\n"


def kind_reasons(frame: pd.DataFrame, schema: Schema, declared: Mapping[str, str]) -> dict[str, str]:
    """Why each column of ``schema`` has its kind: ``declared[column]`` where a file or a
    flag set it, else the rule of :func:`~safe_bench.data.schema.explain_kind` on ``frame``."""
    return {c: declared.get(c) or explain_kind(frame[c])[1] for c in schema.kinds if c in frame.columns}
