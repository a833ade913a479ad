"""A unit of work the runner runs: what it must offer (:class:`Work`), what running it
gives back (:class:`WorkOutcome`), and running it in this process (:func:`perform`).

A benchmark cell (:class:`~safe_bench.benchmark.cell.CellTask`) is one kind of work;
a batch of a scenario's Monte-Carlo replicates is another. The sandbox, the backends,
the progress line and the runner know work only through this protocol, so every kind
is run the one way: in a supervised process with a timeout, on any backend, each
finished item stored in one transaction and skipped when run again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from safe_bench.errors import SafeBenchError
from safe_bench.private import describe_error

#: Characters of a failure's reason that are stored.
REASON_CHARS = 500


class Work(Protocol):
    """One unit of work, pickled to the process that runs it.

    ``key`` is its identity in the store (a digest of everything its result depends
    on: an item whose key the store holds is not run again); ``label`` is what the
    progress line shows; ``timeout`` the seconds it may run before its process is
    killed; ``preload`` the modules its sandbox should find imported (forked warm).
    ``execute`` runs it, telling ``notify`` of each stage it enters (``"replicate
    3/25"``), and returns its result as JSON text; it raises on failure, and the item
    is then recorded ``failed`` with a reason that quotes no exception message (see
    :func:`perform`).

    A work that makes more than its result for the coordinator to keep (a cell: the
    synthetic table the store caches) may also define ``attachment()``, called in the
    sandbox after ``execute`` returns; its value travels back as
    :attr:`WorkOutcome.attachment`.
    """

    @property
    def key(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def timeout(self) -> float: ...

    @property
    def preload(self) -> tuple[str, ...]: ...

    def execute(self, notify: Callable[[str], None]) -> str: ...


class WorkFailed(SafeBenchError):
    """Raised by :meth:`Work.execute` to record a failure with a reason of its own,
    stored as it is (it must quote no record) instead of the exception's class."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class WorkOutcome:
    """A finished item: its key, status (``ok``, ``failed`` or ``timeout``), the stage
    it failed in and why, the seconds each ended stage took and in all (``total``), its
    result (JSON text, when ``ok``) and its attachment (see :class:`Work`)."""

    key: str
    status: str
    stage: str = ""
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    result: str | None = None
    attachment: Any = None


class _Clock:
    """The stages of one item, timed as they are entered and passed on to ``notify``:
    ``current`` is the stage entered last, ``seconds`` how long each ended stage took."""

    def __init__(self, notify: Callable[[str], None]):
        self.notify = notify
        self.current = ""
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def __call__(self, stage: str) -> None:
        self.finish()
        self.current = stage
        self.notify(stage)

    def finish(self) -> None:
        now = time.perf_counter()
        if self.current:
            self.seconds[self.current] = now - self._since
        self._since = now


def perform(work: Work, notify: Callable[[str], None], *, kind: str = "work") -> WorkOutcome:
    """Run ``work`` in this process (its sandbox), ``notify`` told each stage as it
    begins. Any exception becomes a ``failed`` outcome naming the stage it happened in;
    its reason is a :class:`WorkFailed`'s own, or else the exception's class, its
    message and traceback kept private (:func:`safe_bench.private.describe_error`). A
    result that is not JSON text fails the item too."""
    clock = _Clock(notify)
    try:
        result = work.execute(clock)
        if not isinstance(result, str):
            raise SafeBenchError(f"{kind} {work.label!r} returned a {type(result).__name__}, not JSON text")
        try:
            json.loads(result)
        except ValueError:
            raise SafeBenchError(f"{kind} {work.label!r} returned text that is not JSON") from None
        attach = getattr(work, "attachment", None)
        attachment = attach() if callable(attach) else None
    except Exception as exc:
        reason = exc.reason if isinstance(exc, WorkFailed) else describe_error(exc, name=f"{kind}-{work.label}")
        return WorkOutcome(work.key, "failed", stage=clock.current, reason=reason[:REASON_CHARS],
                           timings=clock.seconds)
    clock.finish()
    return WorkOutcome(work.key, "ok", timings=clock.seconds, result=result, attachment=attachment)
