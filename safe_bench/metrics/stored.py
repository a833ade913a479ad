"""Reading a metric's typed details back from their stored form.

A metric's details are written out as JSON (:meth:`safe_bench.metrics.base.MetricResult.to_dict`)
and read back when a result is loaded (a stored run, ``gate --result``, the report of a
run). :class:`Stored` wraps one object of that JSON while a typed details class reads
it: each getter checks the field's type and raises an :class:`~safe_bench.errors.InputError`
naming where the field is (``metric 'S.ks' details: columns: age: field 'ks' ...``), so
a malformed file gives a clear message, never a traceback.

Values are returned as they were stored (an ``int`` stays an ``int``, a list stays a
list, a numpy array in a fresh result stays an array), so that writing typed details
out again gives the same JSON. A number stored as ``null`` is a non-finite number (JSON
has none; :func:`safe_bench.evaluation.evaluate.plain` writes NaN and infinities as
``null``): :meth:`Stored.number` reads it as NaN, which is written out as ``null`` again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from safe_bench.errors import InputError

Values = Sequence[float] | np.ndarray  # numbers as stored: a list, or an array in a fresh result


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


class Stored:
    """One stored JSON object being read, with ``where`` it is (for error messages)."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"{where} must be an object, not {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.where = where

    def has(self, key: str) -> bool:
        return key in self.data

    def _field(self, key: str) -> Any:
        if key not in self.data:
            raise InputError(f"{self.where} lacks the field {key!r}")
        return self.data[key]

    def _wrong(self, key: str, expected: str) -> InputError:
        return InputError(f"{self.where}: field {key!r} must be {expected}, not {self.data[key]!r}")

    def number(self, key: str) -> float:
        """A number (``null``: a non-finite number, read as NaN)."""
        value = self._field(key)
        if value is None:
            return math.nan
        if not _is_number(value):
            raise self._wrong(key, "a number")
        return value  # an int or a float, kept as stored

    def optional_number(self, key: str) -> float | None:
        """A number, or ``None`` where the metric writes none (``null``)."""
        return None if self._field(key) is None else self.number(key)

    def whole(self, key: str) -> int:
        value = self._field(key)
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise self._wrong(key, "a whole number")
        return int(value)

    def flag(self, key: str) -> bool:
        value = self._field(key)
        if not isinstance(value, (bool, np.bool_)):
            raise self._wrong(key, "true or false")
        return bool(value)

    def text(self, key: str) -> str:
        value = self._field(key)
        if not isinstance(value, str):
            raise self._wrong(key, "text")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._field(key) is None else self.text(key)

    def numbers(self, key: str) -> Values:
        """A list of numbers (``null`` items: non-finite numbers)."""
        value = self._field(key)
        array = value if isinstance(value, np.ndarray) else None
        if array is None and isinstance(value, (list, tuple)) and all(v is None or _is_number(v) for v in value):
            return value
        if array is not None and array.ndim == 1 and np.issubdtype(array.dtype, np.number):
            return array
        raise self._wrong(key, "a list of numbers")

    def texts(self, key: str) -> list[str]:
        value = self._field(key)
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self._wrong(key, "a list of texts")
        return list(value)

    def child(self, key: str) -> Stored:
        """A nested object."""
        return Stored(self._field(key), f"{self.where}: {key}")

    def optional_child(self, key: str) -> Stored | None:
        return None if self._field(key) is None else self.child(key)

    def children(self, key: str) -> dict[str, Stored]:
        """An object of objects, by name."""
        entries = self.child(key)
        return {name: entries.child(name) for name in entries.data}

    def value(self, key: str) -> Any:
        """A field kept as plain JSON: descriptive text or notes no figure or verdict reads."""
        return self._field(key)
