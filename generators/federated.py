"""The federated contract: what a generator offers to be trained across sites without pooling rows.

A federation runs in three steps (McMahan et al., "Communication-Efficient Learning of
Deep Networks from Decentralized Data", AISTATS 2017, FedAvg):

1. every site sends :meth:`Federated.summarise` of its train table: what the shared
   encoding needs (category counts, per-column statistics), never a row;
2. the server and every site call :meth:`Federated.start` with all summaries and the
   same seed, so they hold the same encoding and the same initial parameters (site ``k``
   also learns its place, ``site=k``; the server passes ``site=None``);
3. each round the server sends :meth:`Federated.get_parameters`, each site
   :meth:`Federated.set_parameters` them, :meth:`Federated.fit_local` for ``epochs``
   epochs from them on its own rows and returns its parameters with its row count; the
   server sets their average weighted by row count.

A site's model keeps its own state between rounds (optimiser moments, random streams), so
one site that trains ``R`` rounds of ``E`` epochs trains exactly as one ``R x E``-epoch fit:
FedAvg on one site is centralized training (tests/test_federated_generators.py).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform

from .base import SchemaGenerator
from .conformance import TrainProfile
from .runtime import seed_everything

#: The parameters a site and the server exchange: arrays in a fixed order.
Parameters = list[np.ndarray]


@runtime_checkable
class Federated(Protocol):
    """A generator that can be trained by federated averaging."""

    name: str

    def summarise(self, train: pd.DataFrame, schema: Schema) -> Any:
        """What this site shares before training: statistics for the shared encoding, no row."""

    def start(self, summaries: Sequence[Any], schema: Schema, *, seed: int, site: int | None) -> None:
        """Build the shared encoding and the initial parameters from every site's summary
        (in site order); ``site`` is this model's index in ``summaries``, None on the server."""

    def get_parameters(self) -> Parameters:
        """The parameters to send (copies)."""

    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        """Replace the parameters with ``parameters`` (as :meth:`get_parameters` orders them)."""

    def fit_local(self, train: pd.DataFrame, *, epochs: int) -> None:
        """Train ``epochs`` epochs on this site's train table from the current parameters."""

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        """``n`` synthetic rows from the current parameters."""


@dataclass(frozen=True)
class Summary:
    """A site's summary: its row count, the facts its samples are held to, and the
    generator's own statistics for the shared encoding."""

    rows: int
    profile: TrainProfile
    statistics: Any


class FederatedSchemaGenerator(SchemaGenerator):
    """A bundled generator that also keeps the :class:`Federated` contract.

    Subclasses implement ``_summarise(train)`` (a site's statistics), ``_start(statistics,
    seed, site)`` (shared encoding and initial parameters), ``_fit_local(train, epochs)``,
    ``get_parameters``, ``set_parameters`` and ``_sample``. The ordinary ``fit`` is the
    federation of one site: summarise, start, then ``fit_local`` for ``epochs`` epochs
    (:attr:`epochs` of the generator), so centralized and federated training share one path.
    """

    #: Epochs of the ordinary (one-site) fit.
    epochs = 1

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        self._start([self._summarise(train, schema)], schema, seed, 0)
        self._fit_local(train, self.epochs)

    def summarise(self, train: pd.DataFrame, schema: Schema) -> Summary:
        canonical = conform(train, schema, table="train")
        with self._threads():
            statistics = self._summarise(canonical, schema)
        return Summary(len(canonical), TrainProfile.fit(canonical, schema), statistics)

    def start(self, summaries: Sequence[Summary], schema: Schema, *, seed: int, site: int | None) -> None:
        seed_everything(seed, torch=self.uses_torch)
        self.schema_ = schema
        self.profile_ = TrainProfile.merge([s.profile for s in summaries])
        with self._threads():
            self._start([s.statistics for s in summaries], schema, seed, site)

    def fit_local(self, train: pd.DataFrame, *, epochs: int) -> None:
        canonical = conform(train, self.schema_, table="train")
        with self._threads():
            self._fit_local(canonical, epochs)

    @abstractmethod
    def _summarise(self, train: pd.DataFrame, schema: Schema) -> Any:
        """This site's statistics for the shared encoding (no row)."""

    @abstractmethod
    def _start(self, statistics: Sequence[Any], schema: Schema, seed: int, site: int | None) -> None:
        """The shared encoding and the initial parameters from every site's statistics."""

    @abstractmethod
    def _fit_local(self, train: pd.DataFrame, epochs: int) -> None:
        """``epochs`` epochs on a canonical train table from the current parameters."""

    @abstractmethod
    def get_parameters(self) -> Parameters:
        """The parameters to send (copies)."""

    @abstractmethod
    def set_parameters(self, parameters: Sequence[np.ndarray]) -> None:
        """Replace the parameters."""


def average(results: Sequence[tuple[Sequence[np.ndarray], int]]) -> Parameters:
    """FedAvg's server step: each parameter array averaged over sites, weighted by the sites'
    row counts (McMahan et al. 2017, Algorithm 1)."""
    total = sum(rows for _, rows in results)
    return [
        sum((rows / total) * np.asarray(params[i], dtype=float) for params, rows in results)  # type: ignore[misc]
        for i in range(len(results[0][0]))
    ]
