"""Backends: where the supervisors (:func:`~safe_bench.benchmark.sandbox.supervise`) of
the items of work (cells, batches of replicates) run.

In this process (:class:`SerialBackend`), in local joblib processes
(:class:`JoblibBackend`, ``--jobs N``) or on a Dask distributed cluster
(:class:`DaskBackend`, ``--scheduler tcp://HOST:PORT`` or ``--dask-local N``); each is a
:class:`Backend`, and :func:`open_backend` opens the one the command line asks for.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from safe_bench.benchmark.events import DaskEmitter, Emit, EventListener, StageEvent
from safe_bench.benchmark.sandbox import die_with, supervise
from safe_bench.benchmark.work import Work, WorkOutcome
from safe_bench.errors import InputError

if TYPE_CHECKING:
    from distributed import Client


class Backend(Protocol):
    """Runs items of work, telling ``emit`` of every stage an item enters, and yields
    their outcomes as they finish (in any order); ``kind`` names the items (``cell``) in
    their reasons and process names; ``description`` names the backend in a run's manifest."""

    description: str

    def run(self, items: Sequence[Work], emit: Emit, *, kind: str = "work") -> Iterator[WorkOutcome]: ...


class SerialBackend:
    """One item at a time, supervised from this process."""

    description = "serial"

    def run(self, items: Sequence[Work], emit: Emit, *, kind: str = "work") -> Iterator[WorkOutcome]:
        for item in items:
            yield supervise(item, emit, kind=kind)


#: The supervisor this local worker process dies with (see :func:`_worker_supervise`).
_SUPERVISOR: int | None = None


def _worker_supervise(item: Work, emit: Emit, supervisor: int, kind: str) -> WorkOutcome:
    """:func:`supervise` in a local worker process, bound on its first item to die with
    its supervisor (pid ``supervisor``): a supervisor killed with SIGKILL cannot stop its
    workers, which would otherwise run on (and keep joblib's resource trackers alive)."""
    global _SUPERVISOR
    if _SUPERVISOR != supervisor:
        die_with(supervisor)
        _SUPERVISOR = supervisor
    return supervise(item, emit, kind=kind)


class JoblibBackend:
    """``jobs`` local worker processes (joblib's loky backend), each supervising one item at
    a time and dying with the process that started them."""

    def __init__(self, jobs: int):
        if jobs < 1:
            raise InputError(f"--jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.description = f"joblib, {jobs} processes"

    def run(self, items: Sequence[Work], emit: Emit, *, kind: str = "work") -> Iterator[WorkOutcome]:
        from joblib import Parallel, delayed

        events = EventListener(emit)
        try:
            parallel = Parallel(n_jobs=self.jobs, batch_size=1, return_as="generator_unordered")
            yield from parallel(delayed(_worker_supervise)(item, events.emitter(), os.getpid(), kind) for item in items)
        finally:
            events.close()


class DaskBackend:
    """Items of work as tasks on a Dask distributed cluster (a scheduler address or a LocalCluster)."""

    def __init__(self, client: Client):
        if client.scheduler is None:
            raise InputError("the Dask client is closed: it has no scheduler to run work on")
        self.client = client
        self.description = f"dask, scheduler {client.scheduler.address}"

    def run(self, items: Sequence[Work], emit: Emit, *, kind: str = "work") -> Iterator[WorkOutcome]:
        from distributed import as_completed

        topic = f"safe-bench-progress-{uuid.uuid4().hex}"
        self.client.subscribe_topic(topic, lambda event: emit(StageEvent(*event[1])))
        try:
            futures = self.client.map(supervise, list(items), emit=DaskEmitter(topic), kind=kind, pure=False)
            for future in as_completed(futures):
                yield future.result()
                future.release()
        finally:
            self.client.unsubscribe_topic(topic)


@contextmanager
def open_backend(*, jobs: int = 1, scheduler: str | None = None, dask_local: int | None = None) -> Iterator[Backend]:
    """The backend the command line asks for; a Dask client and LocalCluster are closed after."""
    if scheduler and dask_local:
        raise InputError("use either --scheduler or --dask-local, not both")
    if not (scheduler or dask_local):
        yield SerialBackend() if jobs == 1 else JoblibBackend(jobs)
        return
    try:
        import dask
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise InputError("Dask backends need the 'dask' extra: pip install 'safe-bench[dask]'") from None
    if scheduler:
        with Client(scheduler) as client:
            yield DaskBackend(client)
        return
    if dask_local is not None and dask_local < 1:
        raise InputError(f"--dask-local must be at least 1, got {dask_local}")
    # Nanny-started workers are daemonic by default, and daemonic processes cannot
    # start the sandbox processes.
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        yield DaskBackend(client)
