"""Prognostic scores: an expression over a table's columns, cut into named risk groups.

A score is declared in the schema (see :mod:`safe_bench.data.schema`), e.g. the Nottingham
Prognostic Index (Haybittle et al., Br J Cancer 1982; Galea et al., Breast Cancer Res
Treat 1992) on GBSG2, where ``tsize`` is in mm::

    [scores.NPI]
    expression = '''(0.02 * tsize + (1 + (pnodes >= 1) + (pnodes >= 4))
                  + ((tgrade == 'I') + 2 * (tgrade == 'II') + 3 * (tgrade == 'III')))'''
    cuts = [3.4, 5.4]
    labels = ["good", "moderate", "poor"]

The expression language is a small, safe subset of Python, parsed with :mod:`ast` and
evaluated node by node on whole columns (never with ``eval``):

- numbers, text in quotes, column names (quote a name that is not an identifier in
  backticks: ```flc.grp```);
- ``+ - * / **``, unary ``-``; comparisons ``< <= > >= == !=`` give 1 or 0;
  ``and``, ``or``, ``not``; ``a if condition else b``;
- functions ``log``, ``exp``, ``sqrt``, ``abs``, ``min``, ``max``.

Numeric, datetime (in days) and boolean (0/1) columns are numbers; categorical
columns are text and may only be compared with ``==`` or ``!=`` to text. A row with a
missing value in a column the score reads has a missing score. Cut points split the
score into right-closed intervals: with cuts ``[3.4, 5.4]`` the groups are
``<= 3.4``, ``(3.4, 5.4]`` and ``> 5.4``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np
import pandas as pd

from safe_bench.errors import InputError

_NUMBER, _TEXT = "number", "text"
_BINARY: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_FUNCTIONS: dict[str, tuple[int, Callable[..., np.ndarray]]] = {
    "log": (1, np.log),
    "exp": (1, np.exp),
    "sqrt": (1, np.sqrt),
    "abs": (1, np.abs),
    "min": (2, np.minimum),
    "max": (2, np.maximum),
}
_BACKTICKED = re.compile(r"`([^`]*)`|('[^']*'|\"[^\"]*\")")
#: Longest expression accepted, in characters (the NPI takes about 150).
MAX_LENGTH = 5000
#: Deepest nesting of the syntax tree accepted (the NPI nests 7 deep, a sum of k terms
#: about k deep); deeper would exhaust the recursion of the checks and the evaluation.
MAX_DEPTH = 200


def _placeholder(k: int) -> str:
    return f"__column_{k}__"


@dataclass(frozen=True)
class Expression:
    """A parsed, checked score expression (see the module docstring)."""

    text: str

    @cached_property
    def _parsed(self) -> tuple[ast.Expression, dict[str, str]]:
        placeholders: dict[str, str] = {}

        def swap(match: re.Match[str]) -> str:
            if match.group(2) is not None:  # a text literal: leave it alone
                return match.group(2)
            return placeholders.setdefault(match.group(1), _placeholder(len(placeholders)))

        if len(self.text) > MAX_LENGTH:
            raise InputError(f"score expression of {len(self.text)} characters is too long: "
                             f"at most {MAX_LENGTH} are accepted")
        source = _BACKTICKED.sub(swap, self.text)
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError as exc:
            raise InputError(f"score expression {self.text!r} is not valid: {exc.msg}") from None
        if _depth(tree.body) > MAX_DEPTH:
            raise InputError(f"score expression {self.text[:40]!r}... nests operations more than "
                             f"{MAX_DEPTH} deep (a sum of k terms nests about k deep); write it with fewer terms")
        return tree, {k: v for v, k in placeholders.items()}

    @property
    def columns(self) -> list[str]:
        """The columns the expression reads, in order of appearance."""
        tree, _ = self._parsed
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        names = [self._name(n) for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
        return list(dict.fromkeys(names))

    def check(self, text_columns: Mapping[str, bool]) -> None:
        """Raise :class:`InputError` naming the column or construct that does not fit.

        ``text_columns`` maps every usable column to True (categorical) or False (a number).
        """
        tree, _ = self._parsed
        self._type(tree.body, text_columns)

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """The score of every row (float; NaN where a column it reads is missing)."""
        from safe_bench.data.values import as_numbers

        text_columns = {}
        values: dict[str, np.ndarray] = {}
        for col in self.columns:
            if col not in frame.columns:
                raise InputError(f"score expression {self.text!r} reads column {col!r}, which the table lacks", column=col)
            series = frame[col]
            is_text = not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series))
            text_columns[col] = is_text
            values[col] = series.to_numpy(dtype=object) if is_text else as_numbers(series)
        self.check(text_columns)
        tree, _ = self._parsed
        with np.errstate(all="ignore"):
            result = self._value(tree.body, values, len(frame))
        return np.broadcast_to(np.asarray(result, dtype=float), (len(frame),)).copy()

    # -- static check ------------------------------------------------------------
    def _name(self, node: ast.Name) -> str:
        return self._parsed[1].get(node.id, node.id)

    def _type(self, node: ast.AST, text_columns: Mapping[str, bool]) -> str:
        fail = self._fail
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float, str)):
                fail(f"constant {node.value!r} is not a number or text")
            return _TEXT if isinstance(node.value, str) else _NUMBER
        if isinstance(node, ast.Name):
            name = self._name(node)
            if name not in text_columns:
                fail(f"reads {name!r}, which is not a column of the schema", column=name)
            return _TEXT if text_columns[name] else _NUMBER
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                fail(f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
            self._numbers(node, [node.left, node.right], text_columns)
            return _NUMBER
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
                fail(f"operator {type(node.op).__name__} is not allowed")
            self._numbers(node, [node.operand], text_columns)
            return _NUMBER
        if isinstance(node, ast.BoolOp):
            self._numbers(node, node.values, text_columns)
            return _NUMBER
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            kinds = [self._type(n, text_columns) for n in operands]
            for op, (a, b), (ka, kb) in zip(node.ops, pairwise(operands), pairwise(kinds), strict=True):
                if type(op) not in _COMPARE:
                    fail(f"comparison {type(op).__name__} is not allowed")
                if ka != kb or (ka == _TEXT and not isinstance(op, (ast.Eq, ast.NotEq))):
                    column = self._column_of(a if ka == _TEXT else b)
                    fail(
                        f"compares categorical column {column!r} as a number: compare it with "
                        f"text using == or !=, e.g. {column} == '1'",
                        column=column,
                    )
            return _NUMBER
        if isinstance(node, ast.IfExp):
            self._numbers(node, [node.test, node.body, node.orelse], text_columns)
            return _NUMBER
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            if name not in _FUNCTIONS or node.keywords:
                fail(f"function {ast.unparse(node.func)!r} is not allowed (allowed: {', '.join(_FUNCTIONS)})")
            arity = _FUNCTIONS[name][0]
            if len(node.args) != arity:
                fail(f"{name}() takes {arity} argument(s), got {len(node.args)}")
            self._numbers(node, node.args, text_columns)
            return _NUMBER
        fail(f"{type(node).__name__} is not allowed in a score expression")
        raise AssertionError  # unreachable

    def _numbers(self, parent: ast.AST, nodes: list[ast.expr], text_columns: Mapping[str, bool]) -> None:
        for node in nodes:
            if self._type(node, text_columns) == _TEXT:
                column = self._column_of(node)
                self._fail(
                    f"uses categorical column {column!r} in arithmetic; compare it with text "
                    f"first, e.g. ({column} == 'a')",
                    column=column,
                )

    def _column_of(self, node: ast.AST) -> str:
        names = [self._name(n) for n in ast.walk(node) if isinstance(n, ast.Name)]
        return names[0] if names else ast.unparse(node)

    def _fail(self, problem: str, column: str | None = None) -> None:
        raise InputError(f"score expression {self.text!r} {problem}", column=column)

    # -- evaluation ----------------------------------------------------------------
    def _value(self, node: ast.AST, values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        def value(child: ast.AST) -> np.ndarray:
            return self._value(child, values, n)

        if isinstance(node, ast.Constant):
            return np.asarray(node.value, dtype=object if isinstance(node.value, str) else float)
        if isinstance(node, ast.Name):
            return values[self._name(node)]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](value(node.left), value(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = value(node.operand)
            if isinstance(node.op, ast.Not):
                return _missing_kept(operand == 0, operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BoolOp):
            parts = [value(v) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            truth = functools.reduce(combine, [p != 0 for p in parts])
            return _missing_kept(truth, *parts)
        if isinstance(node, ast.Compare):
            operands = [value(node.left), *(value(c) for c in node.comparators)]
            truth = np.ones((), dtype=bool)
            for op, (a, b) in zip(node.ops, pairwise(operands), strict=True):
                if a.dtype == object or b.dtype == object:
                    hit = _COMPARE[type(op)](a.astype(str), b.astype(str))
                else:
                    hit = _COMPARE[type(op)](a, b)
                truth = truth & hit
            return _missing_kept(truth, *operands)
        if isinstance(node, ast.IfExp):
            test = value(node.test)
            return _missing_kept(np.where(test != 0, value(node.body), value(node.orelse)), test)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id][1](*(value(a) for a in node.args))
        raise AssertionError(f"unchecked node {type(node).__name__}")


def _depth(root: ast.AST) -> int:
    """How deep the syntax tree under ``root`` nests, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values)) if values.dtype == object else np.isnan(values)


def _missing_kept(result: np.ndarray, *inputs: np.ndarray) -> np.ndarray:
    """``result`` as 1.0/0.0 (or numbers), NaN wherever an input is missing."""
    out = np.asarray(result, dtype=float)
    for values in inputs:
        out = np.where(_missing(values), np.nan, out)
    return out


@dataclass(frozen=True)
class PrognosticScore:
    """A named score: an expression, increasing cut points and one label per risk group."""

    name: str
    expression: str
    cuts: tuple[float, ...]
    labels: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        object.__setattr__(self, "labels", tuple(str(label) for label in self.labels))
        where = f"score {self.name!r}"
        if not self.cuts or not np.all(np.isfinite(self.cuts)) or np.any(np.diff(self.cuts) <= 0):
            raise InputError(f"{where}: cuts must be finite, increasing numbers (at least one)")
        if len(self.labels) != len(self.cuts) + 1:
            raise InputError(
                f"{where}: {len(self.cuts)} cut(s) make {len(self.cuts) + 1} risk groups, "
                f"but {len(self.labels)} label(s) are given"
            )
        if len(set(self.labels)) != len(self.labels):
            raise InputError(f"{where}: risk-group labels must be distinct")

    @property
    def parsed(self) -> Expression:
        return Expression(self.expression)

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        """The score of every row (NaN where an input is missing)."""
        return self.parsed.evaluate(frame)

    def group_codes(self, frame: pd.DataFrame) -> np.ndarray:
        """Each row's risk group as 0..len(labels)-1 (right-closed intervals), -1 if missing."""
        return risk_group_codes(self.values(frame), self.cuts)

    def groups(self, frame: pd.DataFrame) -> pd.Series:
        """Each row's risk-group label (missing where the score is)."""
        codes = self.group_codes(frame)
        labels = np.array(self.labels, dtype=object)
        return pd.Series(np.where(codes >= 0, labels[np.maximum(codes, 0)], None), index=frame.index, dtype=object)

    def to_dict(self) -> dict[str, object]:
        return {"expression": self.expression, "cuts": list(self.cuts), "labels": list(self.labels)}


def risk_group_codes(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Right-closed interval index of each value among ``cuts`` (-1 for NaN)."""
    codes = np.searchsorted(np.asarray(cuts), values, side="left")
    return np.where(np.isnan(values), -1, codes).astype(np.int64)
