"""The generator contract and the registry that finds generators.

Generators are plug-ins: anything with ``fit(train, schema, *, seed)`` and
``sample(n, *, seed)``, registered under the ``safe_bench.generators`` entry-point
group (the bundled ones in :mod:`generators` register the same way a third party
does), or in-process with :func:`register_generator`. A :class:`TableSource` serves a
table made elsewhere rather than sampling one.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import Distribution, entry_points
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.errors import InputError

ENTRY_POINT_GROUP = "safe_bench.generators"


@runtime_checkable
class Generator(Protocol):
    """Learns from the train table, then samples synthetic rows.

    A generator may also offer ``training() -> Training | None``: how far the fit now
    running has come. Commands that fit it show that on their status line (read from
    another thread while ``fit`` runs); without it they show the seconds only."""

    name: str

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None: ...

    def sample(self, n: int, *, seed: int) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Training:
    """How far a generator's fit has come: ``done`` of ``planned`` units
    (``"epoch"``, ``"step"``)."""

    done: int
    planned: int
    unit: str

    def __str__(self) -> str:
        return f"{self.unit} {self.done}/{self.planned}"


class TableSource:
    """Base class of a generator that serves a table made elsewhere (an already generated
    file) instead of sampling one: ``sample(n)`` returns that table whatever ``n`` is, so
    its row count is the table's. Any other generator must return the ``n`` rows asked
    for (:func:`safe_bench.evaluation.evaluate.evaluate_generator` holds it to that)."""


_LOCAL: dict[str, Callable[..., Generator]] = {}


def register_generator(name: str, factory: Callable[..., Generator]) -> None:
    """Register a generator factory in this process (entry points need no call)."""
    _LOCAL[name] = factory


def available_generators() -> dict[str, str]:
    """Generator names and where they come from (``module:object``), sorted by name."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    found.update({name: f"{f.__module__}:{getattr(f, '__qualname__', f)}" for name, f in _LOCAL.items()})
    return dict(sorted(found.items()))


def _factory(name: str) -> Callable[..., Generator]:
    factory: Callable[..., Generator] | None = _LOCAL.get(name)
    if factory is None:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            known = ", ".join(available_generators()) or "none"
            raise InputError(f"unknown generator {name!r}; available: {known}")
        try:
            factory = matches[0].load()
        except ModuleNotFoundError as exc:
            raise _not_installed(name, exc) from None
    return factory


def _not_installed(name: str, exc: ModuleNotFoundError) -> InputError:
    """The error of generator ``name`` needing a module that is not installed, saying
    which extra of its distribution installs it (``pip install 'safe-bench[generators]'``)."""
    module = (exc.name or "").partition(".")[0]
    matches = [ep.dist for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name and ep.dist]
    extra = _extra_providing(matches[0], module) if matches else None
    how = (f"pip install '{matches[0].metadata['Name']}[{extra}]'" if extra
           else "install the package that provides it")
    return InputError(f"generator {name!r} needs the module {module!r}, which is not installed: {how}")


def _extra_providing(dist: Distribution, module: str) -> str | None:
    """The extra of ``dist`` whose requirements include a project named like ``module``."""
    wanted = module.lower().replace("_", "-")
    for requirement in dist.requires or []:
        found = re.match(r"\s*([A-Za-z0-9._-]+)[^;]*;.*\bextra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if found and found.group(1).lower().replace("_", "-") == wanted:
            return found.group(2)
    return None


@dataclass(frozen=True)
class GeneratorInfo:
    """What the listing says of a generator: the first line of its docstring (or why it
    cannot be loaded), the extra that installs what it needs (its ``extra`` attribute,
    empty when the core install suffices), and where it comes from (``module:object``)."""

    name: str
    description: str
    extra: str
    source: str
    loads: bool = True


def describe_generator(name: str) -> GeneratorInfo:
    """Generator ``name`` as the listing shows it (:class:`GeneratorInfo`)."""
    source = available_generators().get(name, "")
    try:
        factory = _factory(name)
    except Exception as exc:  # a broken third-party plug-in must not break the listing
        return GeneratorInfo(name, f"cannot be loaded: {exc}", "", source, loads=False)
    doc = inspect.getdoc(factory) or ""
    return GeneratorInfo(name, doc.splitlines()[0] if doc else "", str(getattr(factory, "extra", "") or ""), source)


def load_generator(name: str, **params: Any) -> Generator:
    """Instantiate generator ``name`` with its hyper-parameters."""
    factory = _factory(name)
    try:
        generator = factory(**params)
    except TypeError as exc:
        raise InputError(f"generator {name!r} rejected its settings: {exc}") from None
    except ModuleNotFoundError as exc:
        raise _not_installed(name, exc) from None
    if not isinstance(generator, Generator):
        raise InputError(f"generator {name!r} does not provide name, fit() and sample()")
    return generator
