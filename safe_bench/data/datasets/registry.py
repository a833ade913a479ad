"""The registry of bundled datasets: what a dataset is, how a loader registers, and
loading one by name in canonical form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform
from safe_bench.errors import InputError


@dataclass(frozen=True)
class Dataset:
    """A real table in canonical form, its schema, and where it comes from."""

    name: str
    frame: pd.DataFrame
    schema: Schema
    description: str
    source: str
    #: Whether the schema's primary effect was randomised (a trial's arms compare like
    #: with like); False for observational data, where a scenario says so.
    randomised: bool = False
    #: Whether the rows are simulated, not real patients (listings and pages say so).
    simulated: bool = False


_REGISTRY: dict[str, Callable[[], Dataset]] = {}

DEFAULT_DATASET = "gbsg2"


def register_dataset(name: str) -> Callable[[Callable[[], Dataset]], Callable[[], Dataset]]:
    """Decorator: register a zero-argument loader under ``name``."""

    def wrap(loader: Callable[[], Dataset]) -> Callable[[], Dataset]:
        _REGISTRY[name] = loader
        return loader

    return wrap


def list_datasets() -> list[str]:
    """Names of the bundled datasets, in registration order."""
    return list(_REGISTRY)


def load_dataset(name: str) -> Dataset:
    """Load a bundled dataset by name (see :func:`list_datasets`)."""
    try:
        loader = _REGISTRY[name]
    except KeyError:
        raise InputError(
            f"unknown dataset {name!r}; bundled datasets: {', '.join(list_datasets())}"
        ) from None
    dataset = loader()
    return Dataset(
        name=dataset.name,
        frame=conform(dataset.frame, dataset.schema, table=f"dataset {name}"),
        schema=dataset.schema,
        description=dataset.description,
        source=dataset.source,
        randomised=dataset.randomised,
        simulated=dataset.simulated,
    )


def summary() -> pd.DataFrame:
    """One row per bundled dataset: name, rows, columns, endpoint, event rate, whether
    it is simulated, description and source."""
    rows = []
    for name in list_datasets():
        ds = load_dataset(name)
        surv = ds.schema.survival
        rows.append(
            {
                "name": name,
                "rows": len(ds.frame),
                "columns": len(ds.schema.features),
                "endpoint": f"{surv.time} / {surv.event}" if surv else (ds.schema.target or ""),
                "event_rate": float(ds.frame[surv.event].mean()) if surv else float("nan"),
                "simulated": ds.simulated,
                "description": ds.description,
                "source": ds.source,
            }
        )
    return pd.DataFrame(rows)
