"""The skeleton every bundled adapter shares: seed, learn, sample, then check the sample."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from numbers import Integral

import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.data.validation import conform
from safe_bench.errors import InputError
from safe_bench.generator import Training

from .conformance import TrainProfile
from .runtime import cpu_threads, seed_everything


class SchemaGenerator(ABC):
    """Base of the bundled generators (:class:`safe_bench.generator.Generator` contract).

    ``fit`` seeds Python, NumPy (and torch, for a generator that ``uses_torch``), brings train to canonical form and hands it
    to ``_fit``; ``sample`` seeds again and passes ``_sample``'s raw table through
    :meth:`safe_bench_generators.conformance.TrainProfile.finish`, so every adapter's output is
    held to the same rules. Subclasses implement ``_fit(train, schema, seed)`` and
    ``_sample(n, seed)``.
    """

    name = "generator"
    #: Whether the generator trains with torch (then torch is seeded too, and its fit
    #: and sample run on ``threads`` CPU threads, see :func:`safe_bench_generators.runtime.cpu_threads`).
    uses_torch = False
    #: CPU threads of a torch generator's fit and sample (its ``threads`` setting).
    threads = 1
    #: The extra of safe-bench that installs what the generator needs (``pip install
    #: 'safe-bench[generators]'``); empty when the core install suffices.
    extra = ""

    def fit(self, train: pd.DataFrame, schema: Schema, *, seed: int) -> None:
        seed_everything(seed, torch=self.uses_torch)
        canonical = conform(train, schema, table="train")
        with self._threads():
            self._fit(canonical, schema, seed)
        self.profile_ = TrainProfile.fit(canonical, schema)

    def sample(self, n: int, *, seed: int) -> pd.DataFrame:
        if not hasattr(self, "profile_"):
            raise RuntimeError(f"{self.name}: call fit() before sample()")
        if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
            raise InputError(f"{self.name}: the number of rows to sample must be a positive integer, not {n!r}")
        seed_everything(seed, torch=self.uses_torch)
        with self._threads():
            raw = self._sample(int(n), seed)
        return self.profile_.finish(raw, n=int(n), generator=self.name)

    def training(self) -> Training | None:
        """How far the fit now running has come (see :class:`safe_bench.generator.Generator`);
        None: this generator does not count its work."""
        return None

    def _threads(self) -> AbstractContextManager[None]:
        """``threads`` CPU threads for a torch generator; the environment's for the others."""
        return cpu_threads(self.threads) if self.uses_torch else nullcontext()

    @abstractmethod
    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        """Learn from the canonical train table."""

    @abstractmethod
    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` raw rows with the schema's feature columns."""
