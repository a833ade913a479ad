"""What several commands share: the parser and its help formatting, argument types that check a value before any work
starts (a whole number, a significance level, a writable output path), the options
naming one synthetic table and its real tables, generator settings given as
``KEY=VALUE``, and the JSON file an output option names.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from safe_bench.data.io import check_output, read_table, write_text
from safe_bench.data.schema import Schema, complete_schema, infer_schema, load_schema, survival_hint
from safe_bench.data.validation import MAX_SEED, event_indicator
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import plain


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help as people read it: prose lines wrapped to the terminal, example lines
    (indented, or a heading ending in a colon) kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            line if line.startswith(" ") or line.rstrip().endswith(":") or not line.strip()
            else textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            for line in text.splitlines()
        )


class Parser(argparse.ArgumentParser):
    """The parser of every command and subcommand (``add_subparsers`` makes its children
    of the same class): help formatted by :class:`HelpFormatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum`` (and at most ``maximum``)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            most = "" if maximum is None else f" and at most {maximum}"
            raise argparse.ArgumentTypeError(f"must be at least {minimum}{most}, not {value}")
        return value
    return parse


#: Seeds numpy and scikit-learn accept; bootstrap resamples enough for an interval.
SEED, BOOTSTRAP = whole(0, MAX_SEED), whole(10)


def alpha(text: str) -> float:
    """An argparse type: a significance level, strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, not {text}")
    return value


def output(*, folder: bool = False) -> Callable[[str], str]:
    """An argparse type: a path an output file (or folder) can be written to, checked
    before any work starts (see :func:`safe_bench.data.io.check_output`)."""
    def check(text: str) -> str:
        try:
            check_output(text, folder=folder)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


def columns(text: str) -> list[str]:
    """An argparse type: comma-separated column names."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one column")
    return names


def add_file_options(group: argparse._ArgumentGroup, *, several: bool = False) -> None:
    """The tables of one evaluation from files: real (train), synthetic (``several``: one
    or more, each judged against the same real tables), holdout, and the roles of their
    columns."""
    group.add_argument("--real", help="CSV/Parquet: the real rows the generator was trained on")
    if several:
        group.add_argument("--synthetic", nargs="+", metavar="FILE",
                           help="CSV/Parquet: the synthetic table; several are ranked in one leaderboard")
    else:
        group.add_argument("--synthetic", help="CSV/Parquet: the synthetic table")
    group.add_argument("--holdout", help="CSV/Parquet: real rows the generator never saw")
    add_role_options(group)


def add_role_options(group: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """The roles of a real table's columns, named by flags (they complete a --schema)."""
    group.add_argument("--time", help="survival time column (also completes a --schema that declares none)")
    group.add_argument("--event", help="survival event column: 1 = event, 0 = censored (see --event-value)")
    group.add_argument("--event-value", metavar="VALUE",
                       help="the value of --event that marks an event, every other value censored "
                       "(e.g. 2 for R's 1/2 coding; default: the column is 0/1)")
    group.add_argument("--target", help="target column (also completes a --schema that declares none)")
    group.add_argument("--qi", type=columns, default=[], metavar="COLS",
                       help="comma-separated quasi-identifiers (what an attacker may know: age, sex, ...) "
                       "for P.linkability and P.attribute")
    group.add_argument("--sensitive", type=columns, default=[], metavar="COLS",
                       help="comma-separated sensitive columns an attacker may try to infer, for P.attribute")


def file_schema(args: argparse.Namespace, frame: pd.DataFrame) -> Schema:
    """The schema of a real table read from a file: ``--schema`` (which may list only
    the columns it sets: the others are inferred from ``frame``) or one inferred from
    ``frame``, completed by the roles the flags name (``--time``, ``--event``,
    ``--target``, ``--qi``, ``--sensitive``, where the command has them). Without a
    survival endpoint, columns that look like one are named on stderr
    (:func:`~safe_bench.data.schema.survival_hint`)."""
    survival = (args.time, args.event) if args.time or args.event else None
    if survival and not all(survival):
        raise InputError("--time and --event go together")
    if getattr(args, "event_value", None) is not None and not survival:
        raise InputError("--event-value needs --time and --event")
    roles: dict[str, Any] = dict(survival=survival, target=getattr(args, "target", None),
                                 sensitive=getattr(args, "sensitive", []), quasi_identifiers=getattr(args, "qi", []))
    if args.schema:
        schema = complete_schema(load_schema(args.schema, frame), **roles,
                                 source=f"schema file {Path(args.schema).name!r}")
    else:
        schema = infer_schema(frame, **roles)
    hint = survival_hint(frame) if schema.survival is None else None
    if hint and not getattr(args, "quiet", False):
        print(f"safe-bench: hint: {hint}", file=sys.stderr)
    return schema


def read_real(args: argparse.Namespace, path: str, *, table: str) -> pd.DataFrame:
    """A table of real (or synthetic) rows from ``path``, its ``--event`` column recoded
    to 0/1 when ``--event-value`` names the value of an event
    (:func:`~safe_bench.data.validation.event_indicator`)."""
    frame = read_table(path, table=table)
    value = getattr(args, "event_value", None)
    return frame if value is None else event_indicator(frame, args.event, value, table=table)


def settings(pairs: Sequence[str]) -> dict[str, Any]:
    """Generator settings from ``KEY=VALUE`` pairs; values parsed as JSON when they can be
    (numbers, booleans)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"generator option {pair!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def write_json(data: dict[str, Any] | list[Any], path: str | None) -> None:
    """Write ``data`` as JSON to ``path``, when an output option named one."""
    if path:
        write_text(json.dumps(plain(data), indent=2, allow_nan=False, ensure_ascii=False) + "\n", path)
