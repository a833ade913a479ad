"""The tables of one evaluation and the expensive work shared by every metric.

:class:`EvaluationData` holds the canonical train, holdout and synthetic tables,
fits the :class:`~safe_bench.evaluation.encoding.Encoding` on train once, and keeps
the evaluation's one cache (:meth:`EvaluationData.cached`): the encoded matrices, row
hashes and the nearest-neighbour searches of
:func:`safe_bench.metrics.privacy.neighbours.search`, so that DCR, NNDR, membership
inference and exact-match metrics all read one computation.

A :class:`Comparison` is what a metric sees: train, the table under test and the
holdout. The table under test is the synthetic table, or, for the real-vs-real
reference, the holdout itself (metrics that need a holdout beside it see one half
of the holdout as the table under test and the other half as the holdout).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.evaluation.encoding import Encoding
from safe_bench.evaluation.uncertainty import Stream, resamples, stream

T = TypeVar("T")

#: Bootstrap replicates per metric unless asked otherwise.
N_BOOTSTRAP = 100
#: The two halves of the holdout, for the reference run of a metric that needs a holdout
#: beside the table under test.
HALVES = ("holdout_a", "holdout_b")


class EvaluationData:
    """Canonical tables plus the shared, cached work on them."""

    def __init__(
        self,
        train: pd.DataFrame,
        synthetic: pd.DataFrame,
        holdout: pd.DataFrame | None,
        schema: Schema,
        *,
        seed: int = 0,
        n_bootstrap: int = N_BOOTSTRAP,
        references: bool = True,
    ):
        self.schema = schema
        self.seed = seed
        self.n_bootstrap = n_bootstrap
        #: Whether each metric is also run on the holdout as the real-vs-real reference.
        self.references = references
        self.holdout = holdout
        self.tables: dict[str, pd.DataFrame] = {"train": train, "synthetic": synthetic}
        # table name -> (the table it was cut from, the rows taken), so that a search
        # already made for the whole table answers its parts
        self._parents: dict[str, tuple[str, np.ndarray]] = {}
        if holdout is not None:
            self.tables["holdout"] = holdout
            order = stream(seed, Stream.HOLDOUT_HALVES).permutation(len(holdout))
            half = len(holdout) // 2
            self._add_part(HALVES[0], "holdout", np.sort(order[:half]))
            self._add_part(HALVES[1], "holdout", np.sort(order[half:]))
        self.encoding = Encoding.fit(train, schema)
        # the evaluation's one cache: work shared by metrics and the reference run, by key
        self._memo: dict[Hashable, tuple[bool, Any]] = {}

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per evaluation and ``key``; a raised exception is kept and
        raised again on every later call."""
        if key not in self._memo:
            try:
                self._memo[key] = (True, compute())
            except Exception as exc:
                self._memo[key] = (False, exc)
        ok, value = self._memo[key]
        if not ok:
            raise value
        return value

    def _add_part(self, name: str, parent: str, rows: np.ndarray) -> None:
        self.tables[name] = self.tables[parent].iloc[rows].reset_index(drop=True)
        self._parents[name] = (parent, rows)

    def matrix(self, name: str) -> np.ndarray:
        """The encoded matrix of table ``name`` (computed once; a part of a table is
        cut from its table's matrix when that exists)."""
        parent, rows = self._parents.get(name, (None, None))
        if parent is not None and ("matrix", parent) in self._memo:
            return self.cached(("matrix", name), lambda: self.matrix(parent)[rows])
        return self.cached(("matrix", name), lambda: self.encoding.transform(self.tables[name]))

    def copies(self, query: str, index: str) -> np.ndarray:
        """Which rows of table ``query`` are identical to a row of table ``index`` (64-bit
        row hashes over every column, missing equal to missing; computed once)."""
        return self.cached(("copies", query, index), lambda: np.isin(self._row_hashes(query), self._row_hashes(index)))

    def distinct_rows(self, name: str) -> int:
        """How many distinct rows table ``name`` has (missing equal to missing)."""
        return len(np.unique(self._row_hashes(name)))

    def _row_hashes(self, name: str) -> np.ndarray:
        parent, rows = self._parents.get(name, (None, None))
        if parent is not None and ("row hashes", parent) in self._memo:
            return self.cached(("row hashes", name), lambda: self._row_hashes(parent)[rows])
        return self.cached(("row hashes", name),
                           lambda: pd.util.hash_pandas_object(self.tables[name], index=False).to_numpy())

    def part_of(self, name: str) -> tuple[str, np.ndarray] | None:
        """The table that table ``name`` was cut from and its rows there (a holdout half, a
        subsample), or ``None`` for a whole table."""
        return self._parents.get(name)

    def subsample(self, name: str, n: int) -> str:
        """The name of a seeded subsample of ``n`` rows of table ``name`` (made once;
        the table itself when it has no more than ``n`` rows)."""
        if n >= len(self.tables[name]):
            return name
        key = f"{name}~{n}"
        if key not in self.tables:
            rows = stream(self.seed, Stream.SUBSAMPLE, n).choice(len(self.tables[name]), size=n, replace=False)
            self._add_part(key, name, np.sort(rows))
        return key

    def restricted(self, name: str, rows: np.ndarray, why: str) -> str:
        """The name of the part of table ``name`` made of its ``rows`` (sorted positions),
        registered once under a name ending in ``why``."""
        key = f"{name}~{why}"
        if key not in self.tables:
            self._add_part(key, name, rows)
        return key

    def comparison(self) -> Comparison:
        """Synthetic under test, against train and the holdout."""
        return Comparison(self, "synthetic", "holdout" if self.holdout is not None else None)

    def reference(self, needs_holdout: bool) -> Comparison:
        """The holdout under test: whole, or split in halves when a holdout is needed beside it."""
        if needs_holdout:
            return Comparison(self, *HALVES)
        return Comparison(self, "holdout", None)


class Comparison:
    """What a metric reads: ``train``, the table under test (``synthetic``) and ``holdout``."""

    def __init__(self, data: EvaluationData, synthetic: str, holdout: str | None):
        self.data = data
        self._roles = {"train": "train", "synthetic": synthetic, "holdout": holdout}

    @property
    def schema(self) -> Schema:
        return self.data.schema

    @property
    def encoding(self) -> Encoding:
        return self.data.encoding

    @property
    def seed(self) -> int:
        return self.data.seed

    @property
    def n_bootstrap(self) -> int:
        return self.data.n_bootstrap

    @property
    def is_reference(self) -> bool:
        """True when the table under test is real (the holdout reference)."""
        return self._roles["synthetic"] != "synthetic"

    def has(self, role: str) -> bool:
        """Whether this comparison has a table in ``role``."""
        return self._roles.get(role) is not None

    def distinct_rows(self, role: str) -> int:
        """How many distinct rows the table in ``role`` has."""
        return self.data.distinct_rows(self._roles[role] or role)

    def table(self, role: str) -> pd.DataFrame:
        return self.data.tables[self.name_of(role)]

    @cached_property
    def train(self) -> pd.DataFrame:
        return self.table("train")

    @cached_property
    def synthetic(self) -> pd.DataFrame:
        return self.table("synthetic")

    @cached_property
    def holdout(self) -> pd.DataFrame:
        return self.table("holdout")

    def matrix(self, role: str) -> np.ndarray:
        """The encoded matrix of ``train``, ``synthetic`` or ``holdout``."""
        return self.data.matrix(self._roles[role] or role)

    def name_of(self, role: str) -> str:
        """The evaluation's name of the table playing ``role`` (``"train"``, ``"synthetic"``,
        ``"holdout"`` or a :meth:`sample`); a ``KeyError`` when this comparison has none."""
        name = self._roles.get(role)
        if name is None:
            raise KeyError(f"this comparison has no {role} table")
        return name

    def copies(self, query: str, index: str) -> np.ndarray:
        """Which rows of one role are identical to a row of another, e.g.
        ``("synthetic", "train")``."""
        return self.data.copies(self.name_of(query), self.name_of(index))

    def sample(self, role: str, n: int) -> str:
        """A role naming a seeded subsample of ``n`` rows of ``role`` (the table itself
        when it has no more rows), usable wherever a role is."""
        part = self.data.subsample(self.name_of(role), n)
        self._roles.setdefault(part, part)
        return part

    def resamples(self, n: int) -> Iterator[np.ndarray]:
        """The evaluation's bootstrap resamples of a table of ``n`` rows."""
        return resamples(n, self.n_bootstrap, self.seed)

    def cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per evaluation and ``key`` (:meth:`EvaluationData.cached`):
        the synthetic run and the reference run share it, so a key that depends on the
        table under test names it (e.g. ``id(cmp.synthetic)``)."""
        return self.data.cached(key, compute)

    def rng(self, purpose: Stream) -> np.random.Generator:
        """The evaluation's random stream for ``purpose`` (never a resample's)."""
        return stream(self.seed, purpose)
