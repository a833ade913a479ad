"""The schema: which columns a table has, what kind each is, and what role it plays.

A :class:`Schema` is plain data. Build it by hand, infer it from a DataFrame with
:func:`infer_schema` (rules below, each one overridable), or read it from a TOML or
JSON file with :func:`load_schema` (SDV single-table metadata JSON is accepted too).

Schema file layout (TOML shown; JSON has the same keys)::

    [columns]            # name = kind; kinds: numeric, categorical, boolean, datetime, id
    age = "numeric"
    horTh = "categorical"

    [survival]           # the survival endpoint: time > 0 and event in {0, 1}
    time = "time"
    event = "cens"
    unit = "days"        # optional: the time axis of figures says it

    [roles]
    target = "..."                 # an outcome for train-on-synthetic models
    groups = ["horTh", "tgrade"]   # group variables for Kaplan-Meier and log-rank
    sensitive = ["tgrade"]         # secrets an attacker may try to infer
    quasi_identifiers = ["age", "menostat"]
    site = "..."                   # a centre or hospital column

    [blocks]             # named groups of columns, each scored on its own (S per block)
    clinical = ["age", "tsize", "pnodes"]   # S over it is CSF, clinical synthetic fidelity
    genomic = ["TP53", "SF3B1"]             # S over it is GSF, genomic synthetic fidelity

    [scores.NPI]         # prognostic scores: an expression cut into risk groups
    expression = "0.02 * tsize + ..."   # see safe_bench.data.prognostic for the language
    cuts = [3.4, 5.4]
    labels = ["good", "moderate", "poor"]

    [primary]            # the treatment or exposure (see safe_bench.data.claims)
    column = "horTh"
    level = "yes"

    [[findings]]         # clinical claims to re-test (see safe_bench.data.claims)
    kind = "hazard_ratio"
    column = "horTh"
    level = "yes"
    direction = "lower"
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safe_bench.data.claims import HAZARD_RATIO, Finding, PrimaryEffect
from safe_bench.data.prognostic import PrognosticScore
from safe_bench.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class Kind(str, Enum):
    """The kind of a column, which decides how every metric treats it."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    ID = "id"


@dataclass(frozen=True)
class Survival:
    """A time-to-event endpoint: ``time`` (> 0) and ``event`` (1 = event, 0 = censored),
    and the unit ``time`` is counted in (``days``, ``months``; empty when not given), which
    figures print on their time axis."""

    time: str
    event: str
    unit: str = field(default="", compare=False)


@dataclass(frozen=True)
class Schema:
    """Columns with their kinds, in table order, and the roles columns play."""

    kinds: Mapping[str, Kind]
    survival: Survival | None = None
    target: str | None = None
    groups: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    site: str | None = None
    scores: tuple[PrognosticScore, ...] = ()
    findings: tuple[Finding, ...] = ()
    primary: PrimaryEffect | None = None
    blocks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        kinds = {str(name): Kind(kind) for name, kind in dict(self.kinds).items()}
        object.__setattr__(self, "kinds", kinds)
        object.__setattr__(self, "blocks", {str(name): tuple(cols) for name, cols in dict(self.blocks).items()})
        for attr in ("groups", "sensitive", "quasi_identifiers", "scores", "findings"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        self._check_roles()
        self._check_clinical()

    # -- columns by kind -------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Every column, id columns included, in table order."""
        return list(self.kinds)

    @property
    def features(self) -> list[str]:
        """Every column the metrics compare: all but id columns."""
        return [c for c, k in self.kinds.items() if k is not Kind.ID]

    @property
    def numeric(self) -> list[str]:
        """Columns compared as numbers: numeric and datetime."""
        return [c for c, k in self.kinds.items() if k in (Kind.NUMERIC, Kind.DATETIME)]

    @property
    def categorical(self) -> list[str]:
        """Columns compared as categories: categorical and boolean."""
        return [c for c, k in self.kinds.items() if k in (Kind.CATEGORICAL, Kind.BOOLEAN)]

    @property
    def covariates(self) -> list[str]:
        """Features other than the survival endpoint and the target."""
        outcome = set(self.outcome_columns)
        return [c for c in self.features if c not in outcome]

    @property
    def outcome_columns(self) -> list[str]:
        cols = [self.survival.time, self.survival.event] if self.survival else []
        return cols + ([self.target] if self.target else [])

    def with_roles(self, **roles: Any) -> Schema:
        """A copy with some roles replaced (``survival``, ``target``, ``groups``, ...)."""
        return replace(self, **roles)

    # -- validation of the schema itself ---------------------------------------
    def _check_roles(self) -> None:
        if not self.kinds:
            raise InputError("the schema declares no columns")

        def known(name: str, role: str) -> None:
            if name not in self.kinds:
                raise InputError(
                    f"{role} column {name!r} is not a column of the schema", column=name
                )
            if self.kinds[name] is Kind.ID:
                raise InputError(f"{role} column {name!r} is an id column", column=name)

        if self.survival is not None:
            known(self.survival.time, "survival time")
            known(self.survival.event, "survival event")
            if self.kinds[self.survival.time] is not Kind.NUMERIC:
                raise InputError(
                    f"survival time column {self.survival.time!r} must be numeric, "
                    f"not {self.kinds[self.survival.time].value}",
                    column=self.survival.time,
                )
            if self.kinds[self.survival.event] is not Kind.BOOLEAN:
                raise InputError(
                    f"survival event column {self.survival.event!r} must be boolean (0/1), "
                    f"not {self.kinds[self.survival.event].value}",
                    column=self.survival.event,
                )
            if self.survival.time == self.survival.event:
                raise InputError("survival time and event must be two different columns")
        for role in ("target", "site"):
            name = getattr(self, role)
            if name is not None:
                known(name, role)
        for role in ("groups", "sensitive", "quasi_identifiers"):
            for name in getattr(self, role):
                known(name, role.rstrip("s").replace("_", "-"))
        for block, columns in self.blocks.items():
            if not block.strip():
                raise InputError("a column block needs a name")
            if not columns:
                raise InputError(f"column block {block!r} lists no column")
            if len(set(columns)) != len(columns):
                raise InputError(f"column block {block!r} lists a column twice")
            for name in columns:
                known(name, f"block {block!r}")
        for name in self.groups:
            if self.kinds[name] not in (Kind.CATEGORICAL, Kind.BOOLEAN):
                raise InputError(
                    f"group column {name!r} must be categorical or boolean, "
                    f"not {self.kinds[name].value}",
                    column=name,
                )

    def _check_clinical(self) -> None:
        """Scores read known columns with the right kinds; findings name covariates."""
        names = [score.name for score in self.scores]
        if len(set(names)) != len(names):
            raise InputError("two prognostic scores share a name")
        usable = {c: k is Kind.CATEGORICAL for c, k in self.kinds.items() if k is not Kind.ID}
        for score in self.scores:
            score.parsed.check(usable)
        if self.findings and self.survival is None:
            raise InputError("findings need a survival endpoint: declare [survival] time and event")
        covariates = set(self.covariates)
        for finding in self.findings:
            col = finding.column
            if col not in covariates:
                what = "not a column of the schema" if col not in self.kinds else "not a covariate"
                raise InputError(f"finding column {col!r} is {what}", column=col)
            categorical = self.kinds[col] is Kind.CATEGORICAL
            if finding.kind == HAZARD_RATIO and categorical and finding.level is None:
                raise InputError(
                    f"finding on categorical column {col!r} needs the level whose hazard ratio it claims",
                    column=col,
                )
            if finding.kind == HAZARD_RATIO and not categorical and finding.level is not None:
                raise InputError(f"finding on column {col!r} takes no level: it is not categorical", column=col)
            if finding.kind != HAZARD_RATIO and self.kinds[col] not in (Kind.CATEGORICAL, Kind.BOOLEAN):
                raise InputError(f"logrank finding column {col!r} must be categorical or boolean", column=col)
        if self.primary is not None:
            col = self.primary.column
            if self.survival is None:
                raise InputError("a primary effect needs a survival endpoint: declare [survival] time and event")
            if col not in covariates:
                what = "not a column of the schema" if col not in self.kinds else "not a covariate"
                raise InputError(f"primary effect column {col!r} is {what}", column=col)
            categorical = self.kinds[col] is Kind.CATEGORICAL
            if categorical and self.primary.level is None:
                raise InputError(f"primary effect on categorical column {col!r} needs the level it contrasts", column=col)
            if not categorical and self.primary.level is not None:
                raise InputError(f"primary effect on column {col!r} takes no level: it is not categorical", column=col)

    # -- (de)serialisation -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": {c: k.value for c, k in self.kinds.items()}}
        if self.survival is not None:
            out["survival"] = {"time": self.survival.time, "event": self.survival.event,
                               **({"unit": self.survival.unit} if self.survival.unit else {})}
        roles: dict[str, Any] = {}
        for role in ("target", "site"):
            if getattr(self, role) is not None:
                roles[role] = getattr(self, role)
        for role in ("groups", "sensitive", "quasi_identifiers"):
            if getattr(self, role):
                roles[role] = list(getattr(self, role))
        if roles:
            out["roles"] = roles
        if self.scores:
            out["scores"] = {score.name: score.to_dict() for score in self.scores}
        if self.findings:
            out["findings"] = [finding.to_dict() for finding in self.findings]
        if self.primary is not None:
            out["primary"] = self.primary.to_dict()
        if self.blocks:
            out["blocks"] = {name: list(columns) for name, columns in self.blocks.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "schema") -> Schema:
        """Read the layout of the module docstring (or SDV single-table metadata)."""
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: expected a table of keys, got {type(data).__name__}")
        if _looks_like_sdv(data):
            return _from_sdv(data, source=source)
        unknown = set(data) - {"columns", "survival", "roles", "scores", "findings", "primary", "blocks", "description"}
        if unknown:
            raise InputError(f"{source}: unknown section(s) {sorted(unknown)}")
        columns = data.get("columns")
        if not isinstance(columns, Mapping) or not columns:
            raise InputError(f"{source}: a [columns] section mapping names to kinds is required")
        kinds: dict[str, Kind] = {}
        for name, kind in columns.items():
            kinds[str(name)] = _parse_kind(kind, name, source)
        survival = None
        if "survival" in data:
            surv = data["survival"]
            if not isinstance(surv, Mapping) or not {"time", "event"} <= set(surv) <= {"time", "event", "unit"}:
                raise InputError(f"{source}: [survival] needs the keys 'time' and 'event' (and optionally 'unit')")
            if not all(isinstance(surv[key], str) for key in ("time", "event")):
                raise InputError(f"{source}: [survival] time and event must each be one column name (text)")
            if not isinstance(surv.get("unit", ""), str):
                raise InputError(f"{source}: [survival] unit must be text, e.g. \"days\" or \"months\"")
            survival = Survival(time=surv["time"], event=surv["event"], unit=surv.get("unit", ""))
        roles = data.get("roles", {})
        if not isinstance(roles, Mapping):
            raise InputError(f"{source}: [roles] must be a table of role = column(s), not {type(roles).__name__}")
        roles = dict(roles)
        unknown = set(roles) - {"target", "site", "groups", "sensitive", "quasi_identifiers"}
        if unknown:
            raise InputError(f"{source}: unknown role(s) {sorted(unknown)} in [roles]")
        for role in ("target", "site"):
            if not isinstance(roles.get(role, ""), str):
                raise InputError(f"{source}: role {role!r} must be one column name (text), "
                                 f"not {type(roles[role]).__name__}")
        for role in ("groups", "sensitive", "quasi_identifiers"):
            value = roles.get(role, [])
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise InputError(f"{source}: role {role!r} must be a list of column names")
            roles[role] = tuple(str(v) for v in value)
        parts = dict(
            kinds=kinds,
            survival=survival,
            scores=_scores_from(data.get("scores", {}), source),
            findings=_findings_from(data.get("findings", []), source),
            primary=None if "primary" not in data else PrimaryEffect.from_dict(data["primary"], source=source),
            blocks=_blocks_from(data.get("blocks", {}), source),
            description=str(data.get("description", "")),
            **roles,
        )
        try:
            return cls(**parts)
        except InputError as exc:  # the checks of the whole schema: name the file they read
            raise InputError(f"{source}: {exc}", column=exc.column) from None


def _scores_from(section: Any, source: str) -> tuple[PrognosticScore, ...]:
    if not isinstance(section, Mapping):
        raise InputError(f"{source}: [scores] must map score names to expression, cuts and labels")
    scores = []
    for name, spec in section.items():
        if not isinstance(spec, Mapping) or set(spec) != {"expression", "cuts", "labels"}:
            raise InputError(f"{source}: score {name!r} needs exactly the keys 'expression', 'cuts' and 'labels'")
        cuts, labels = spec["cuts"], spec["labels"]
        if isinstance(cuts, (str, bytes)) or not isinstance(cuts, Iterable):
            raise InputError(f"{source}: score {name!r}: cuts must be a list of numbers")
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
            raise InputError(f"{source}: score {name!r}: labels must be a list of names")
        try:
            cuts = tuple(float(c) for c in cuts)
        except (TypeError, ValueError):
            raise InputError(f"{source}: score {name!r}: cuts must be a list of numbers") from None
        scores.append(PrognosticScore(str(name), str(spec["expression"]), cuts, tuple(labels)))
    return tuple(scores)


def _blocks_from(section: Any, source: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(section, Mapping):
        raise InputError(f"{source}: [blocks] must map block names to lists of columns")
    blocks = {}
    for name, columns in section.items():
        if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
            raise InputError(f"{source}: block {name!r} must be a list of column names")
        blocks[str(name)] = tuple(str(c) for c in columns)
    return blocks


def _findings_from(section: Any, source: str) -> tuple[Finding, ...]:
    if isinstance(section, (str, bytes, Mapping)) or not isinstance(section, Iterable):
        raise InputError(f"{source}: findings must be a list of [[findings]] tables")
    return tuple(Finding.from_dict(item, source=source) for item in section)


def _parse_kind(kind: Any, name: Any, source: str) -> Kind:
    try:
        return Kind(str(kind).lower())
    except ValueError:
        allowed = ", ".join(k.value for k in Kind)
        raise InputError(
            f"{source}: column {name!r} has unknown kind {kind!r} (allowed: {allowed})",
            column=str(name),
        ) from None


# -- SDV single-table metadata ------------------------------------------------
_SDV_KINDS = {
    "numerical": Kind.NUMERIC,
    "categorical": Kind.CATEGORICAL,
    "boolean": Kind.BOOLEAN,
    "datetime": Kind.DATETIME,
    "id": Kind.ID,
}


def _looks_like_sdv(data: Mapping[str, Any]) -> bool:
    if "METADATA_SPEC_VERSION" in data or "tables" in data:
        return True
    columns = data.get("columns")
    return isinstance(columns, Mapping) and any(
        isinstance(v, Mapping) and "sdtype" in v for v in columns.values()
    )


def _from_sdv(data: Mapping[str, Any], *, source: str) -> Schema:
    if "tables" in data:
        tables = data["tables"]
        if not isinstance(tables, Mapping) or len(tables) != 1:
            raise InputError(f"{source}: SDV metadata must describe exactly one table")
        data = next(iter(tables.values()))
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: the SDV table must be a table of keys, not {type(data).__name__}")
    columns = data.get("columns", {})
    if not isinstance(columns, Mapping):
        raise InputError(f"{source}: SDV 'columns' must map column names to {{\"sdtype\": ...}}, "
                         f"not {type(columns).__name__}")
    kinds: dict[str, Kind] = {}
    for name, spec in columns.items():
        sdtype = str(spec.get("sdtype", "")) if isinstance(spec, Mapping) else ""
        # Any other sdtype (email, phone_number, ...) is personal information: an id.
        kinds[str(name)] = _SDV_KINDS.get(sdtype, Kind.ID)
    if not kinds:
        raise InputError(f"{source}: SDV metadata lists no columns")
    return Schema(kinds=kinds)


# -- files ---------------------------------------------------------------------
def load_schema(path: str | Path, frame: pd.DataFrame | None = None) -> Schema:
    """Read a schema from a ``.toml`` or ``.json`` file.

    With ``frame`` (the real table), the file may give only what it wants to set: a
    column it does not list in ``[columns]`` (or every column, without that section)
    takes the kind :func:`infer_schema` infers from ``frame``, the survival columns
    numeric and boolean."""
    data = read_schema_file(path)
    source = f"schema file {Path(path).name!r}"
    if frame is not None and isinstance(data, Mapping) and not _looks_like_sdv(data):
        data = {**data, "columns": _completed_columns(data, frame, source)}
    return Schema.from_dict(data, source=source)


def read_schema_file(path: str | Path) -> Any:
    """The parsed content of a ``.toml`` or ``.json`` schema file, not yet checked."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"schema file {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise InputError(f"schema file {str(path)!r} is not UTF-8 text") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"schema file {str(path)!r} is malformed: {exc}") from None
    raise InputError(f"schema file {str(path)!r}: use a .toml or .json file")


def _completed_columns(data: Mapping[str, Any], frame: pd.DataFrame, source: str) -> dict[str, Any]:
    """A schema file's ``[columns]`` with every column of ``frame`` it does not list,
    inferred (in the table's order; listed columns the table lacks stay, for
    :func:`safe_bench.data.validation.conform` to name)."""
    listed = data.get("columns", {})
    if not isinstance(listed, Mapping):
        raise InputError(f"{source}: [columns] must map column names to kinds, not {type(listed).__name__}")
    check_column_names(frame, table="real")
    survival = data.get("survival", {})
    roles = {survival[key]: kind.value for key, kind in (("time", Kind.NUMERIC), ("event", Kind.BOOLEAN))
             if isinstance(survival, Mapping) and isinstance(survival.get(key), str)}
    columns = {str(c): listed.get(str(c)) or roles.get(str(c)) or infer_kind(frame[c]).value for c in frame.columns}
    return {**columns, **{str(c): k for c, k in listed.items() if str(c) not in columns}}


def complete_schema(
    schema: Schema, *, survival: tuple[str, str] | None = None, target: str | None = None,
    sensitive: Iterable[str] = (), quasi_identifiers: Iterable[str] = (), source: str = "the schema"
) -> Schema:
    """``schema`` with the survival endpoint, target, sensitive columns and
    quasi-identifiers that command-line flags name (SDV metadata cannot declare them).
    As in :func:`infer_schema`, the time column becomes numeric and the event boolean.
    A survival endpoint or target the schema declares otherwise is an InputError naming
    both; sensitive columns and quasi-identifiers are added to the schema's."""
    roles: dict[str, Any] = {}
    if survival is not None:
        wanted = Survival(*survival)
        if schema.survival not in (None, wanted):
            raise InputError(f"{source} declares the survival endpoint time {schema.survival.time!r}, event "
                             f"{schema.survival.event!r}, not time {wanted.time!r}, event {wanted.event!r}")
        for col in (wanted.time, wanted.event):
            if col not in schema.kinds:
                raise InputError(f"survival column {col!r} is not a column of {source}", column=col)
        roles["kinds"] = {**schema.kinds, wanted.time: Kind.NUMERIC, wanted.event: Kind.BOOLEAN}
        roles["survival"] = schema.survival or wanted
    if target is not None:
        if schema.target not in (None, target):
            raise InputError(f"{source} declares the target {schema.target!r}, not {target!r}", column=target)
        roles["target"] = target
    for role, columns in (("sensitive", sensitive), ("quasi_identifiers", quasi_identifiers)):
        declared = getattr(schema, role)
        roles[role] = (*declared, *(c for c in dict.fromkeys(columns) if c not in declared))
    return replace(schema, **roles)


# -- inference -----------------------------------------------------------------
#: Integer-valued columns with at most this many distinct values are categorical.
MAX_INTEGER_CATEGORIES = 10
_BOOLEAN_SPELLINGS = {"0", "1", "true", "false", "yes", "no", "t", "f", "y", "n"}
_ID_NAME = re.compile(r"(^|[_\s.\-])(id|identifier|patient_?id|subject_?id)$", re.IGNORECASE)


def infer_kind(series: pd.Series) -> Kind:
    """The kind of one column, by the rules of :func:`explain_kind`."""
    return explain_kind(series)[0]


def explain_kind(series: pd.Series) -> tuple[Kind, str]:
    """The kind of one column and the rule that chose it, first match wins:

    1. pandas bool dtype, or at most two distinct values all spelt like booleans
       (0/1, true/false, yes/no, t/f, y/n): **boolean**;
    2. datetime dtype, or text that parses entirely as ISO-8601 dates: **datetime**;
    3. a name like ``id``, ``patient_id``, ``subject id`` with one distinct value per
       row, or text with one distinct value per row (20 rows or more): **id**;
    4. text or pandas category dtype: **categorical**;
    5. whole numbers with at most ``MAX_INTEGER_CATEGORIES`` distinct values: **categorical**;
    6. anything else (including an all-missing column): **numeric**.
    """
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return Kind.BOOLEAN, "true/false values"
    distinct = pd.unique(values)
    if 0 < len(distinct) <= 2 and all(
        str(v).strip().lower() in _BOOLEAN_SPELLINGS
        or (isinstance(v, (int, float, np.number)) and float(v) in (0.0, 1.0))
        for v in distinct
    ):
        return Kind.BOOLEAN, f"{len(distinct)} distinct value(s) spelt like a yes/no (0/1, true/false, yes/no)"
    if pd.api.types.is_datetime64_any_dtype(series):
        return Kind.DATETIME, "date and time values"
    is_text = pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)
    if is_text and len(values) and _all_iso_dates(values):
        return Kind.DATETIME, "every value is an ISO-8601 date"
    unique_per_row = len(values) == len(series) and len(distinct) == len(series)
    if unique_per_row and _ID_NAME.search(str(series.name)):
        return Kind.ID, "named like an identifier, one distinct value per row (left out of every metric)"
    if unique_per_row and is_text and len(series) >= 20:
        return Kind.ID, "text with one distinct value per row (left out of every metric)"
    if is_text or isinstance(series.dtype, pd.CategoricalDtype):
        return Kind.CATEGORICAL, f"text with {len(distinct)} distinct value(s)"
    if pd.api.types.is_numeric_dtype(series) and len(values):
        numbers = values.to_numpy(dtype=float)
        if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)):
            if len(distinct) <= MAX_INTEGER_CATEGORIES:
                return Kind.CATEGORICAL, (f"whole numbers with only {len(distinct)} distinct values (at most "
                                          f"{MAX_INTEGER_CATEGORIES}: codes); declare it numeric if it is a count")
            return Kind.NUMERIC, f"whole numbers with {len(distinct)} distinct values"
        return Kind.NUMERIC, "numbers"
    return (Kind.NUMERIC, "no values (all missing)") if not len(values) else (Kind.NUMERIC, "numbers")


def _all_iso_dates(values: pd.Series) -> bool:
    """Every value is an ISO-8601 date text, those beyond the years pandas holds included
    (a 9999-12-31 placeholder makes the column a datetime that validation names)."""
    text = values.astype(str)
    if not text.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return False
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    return bool(parsed.notna().all() or text[parsed.isna()].map(is_date).all())


def is_date(value: object) -> bool:
    """A date, or a text in ISO-8601 form naming one, whatever its year."""
    if isinstance(value, datetime.date):
        return True
    try:
        datetime.datetime.fromisoformat(str(value).strip())
    except ValueError:
        return False
    return True


def check_column_names(frame: object, *, table: str) -> None:
    """A DataFrame with at least one column and no duplicate column names."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{table} table must be a pandas DataFrame, not {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(f"{table} table has duplicate column name {name!r}", column=name, table=table)
        seen.add(name)
    if not names:
        raise InputError(f"{table} table has no columns", table=table)


def infer_schema(
    frame: pd.DataFrame,
    *,
    kinds: Mapping[str, Kind | str] | None = None,
    survival: tuple[str, str] | Survival | None = None,
    target: str | None = None,
    groups: Iterable[str] = (),
    sensitive: Iterable[str] = (),
    quasi_identifiers: Iterable[str] = (),
    site: str | None = None,
) -> Schema:
    """Infer every column's kind with :func:`infer_kind`; ``kinds`` overrides any of them.

    The survival event column is boolean whatever its spelling. Roles are never
    guessed: pass them, or declare them in a schema file.
    """
    check_column_names(frame, table="real")
    overrides = {str(k): Kind(v) for k, v in dict(kinds or {}).items()}
    unknown = set(overrides) - set(map(str, frame.columns))
    if unknown:
        raise InputError(f"kind given for column(s) {sorted(unknown)} that the table does not have")
    inferred = {str(c): overrides.get(str(c)) or infer_kind(frame[c]) for c in frame.columns}
    if survival is not None and not isinstance(survival, Survival):
        survival = Survival(*survival)
    if survival is not None:
        for col in (survival.time, survival.event):
            if col not in inferred:
                raise InputError(f"survival column {col!r} is not in the table", column=col)
        if survival.time not in overrides:
            inferred[survival.time] = Kind.NUMERIC
        if survival.event not in overrides:
            inferred[survival.event] = Kind.BOOLEAN
    return Schema(
        kinds=inferred,
        survival=survival,
        target=target,
        groups=tuple(groups),
        sensitive=tuple(sensitive),
        quasi_identifiers=tuple(quasi_identifiers),
        site=site,
    )


# -- survival columns by name ----------------------------------------------------
#: Words in a column name that mark a survival time (``os_months``, ``PFS.time``, ``futime``).
TIME_WORDS = frozenset({"time", "futime", "stime", "os", "pfs", "dfs", "efs", "rfs", "ttp", "survival", "surv",
                        "followup", "duration", "day", "days", "week", "weeks", "month", "months", "year", "years"})
#: Words in a column name that mark an event indicator (``status``, ``death``, ``os_event``).
EVENT_WORDS = frozenset({"status", "event", "death", "dead", "died", "deceased", "cens", "censor", "censored",
                         "censoring", "fustat", "vital", "relapse", "progression", "delta", "fail", "failure", "observed"})


def _name_words(name: str) -> set[str]:
    """The lower-case words of a column name (split at punctuation, spaces, digits and camelCase)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^a-z]+", spaced.lower()) if w}


def suggest_survival(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns that look like a survival endpoint by name and values: times (positive
    numbers, more than two distinct values, a name with a word of :data:`TIME_WORDS`) and
    event indicators (two distinct values, a name with a word of :data:`EVENT_WORDS`)."""
    times, events = [], []
    for col in frame.columns:
        words, values = _name_words(str(col)), frame[col].dropna()
        distinct = values.nunique()
        if words & EVENT_WORDS and distinct == 2:
            events.append(str(col))
        elif words & TIME_WORDS and distinct > 2 and pd.api.types.is_numeric_dtype(values) and (values > 0).all():
            times.append(str(col))
    return times, events


def survival_hint(frame: pd.DataFrame) -> str | None:
    """What to pass when ``frame``'s columns look like a survival endpoint the schema does
    not declare (see :func:`suggest_survival`), or None."""
    times, events = suggest_survival(frame)
    if not times or not events:
        return None
    also = [c for c in (*times[1:], *events[1:])]
    return (f"columns {times[0]!r} and {events[0]!r} look like a survival endpoint; pass --time {times[0]} --event "
            f"{events[0]} so that the clinical metrics run" + (f" (other candidates: {', '.join(also)})" if also else ""))
