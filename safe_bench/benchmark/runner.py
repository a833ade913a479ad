"""Running work into the store: a suite's cells (:func:`run_suite`) or any other items
of work (:func:`run_work`: a scenario's batches of replicates), one path for both.

Both leave out the items the store already holds, hand the rest to a backend
(:mod:`~safe_bench.benchmark.backends`), which runs each in a sandbox
(:mod:`~safe_bench.benchmark.sandbox`), and show their progress
(:mod:`~safe_bench.benchmark.progress`). The coordinator alone writes the
:class:`~safe_bench.benchmark.store.Store`: the run's manifest
(:mod:`~safe_bench.benchmark.manifest`), then one transaction per finished item, so a run
stopped mid-way (Ctrl-C, SIGTERM, even SIGKILL) resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from safe_bench.benchmark.backends import Backend, SerialBackend
from safe_bench.benchmark.cell import CellTask
from safe_bench.benchmark.manifest import build_manifest, environment
from safe_bench.benchmark.plan import plan
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.store import Store, WorkRecord
from safe_bench.benchmark.suite import Suite
from safe_bench.benchmark.work import Work, WorkOutcome
from safe_bench.errors import GeneratorError, InputError

W = TypeVar("W", bound=Work)


@dataclass
class RunSummary:
    """Counts of one run: cells in the suite, already stored, and finished by status."""

    run: int
    total: int
    skipped: int
    ok: int = 0
    failed: int = 0
    timeout: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counts (what the run's manifest keeps)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(RunSummary)}

    def __str__(self) -> str:
        return (f"run {self.run}: {self.total} cells, {self.skipped} already stored, {self.ok} ok, "
                f"{self.failed} failed, {self.timeout} timed out in {self.seconds:.1f} s")


@dataclass
class WorkSummary(RunSummary):
    """Counts of one run of other work (as :class:`RunSummary`), its ``kind``, and the
    ``results``: key -> result (JSON text) of every item stored ok, this run's and those
    stored before; an item that failed or timed out has none (see
    :meth:`~safe_bench.benchmark.store.Store.work` for why)."""

    kind: str = "work"
    results: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"run {self.run}: {self.total} {self.kind} items, {self.skipped} already stored, {self.ok} ok, "
                f"{self.failed} failed, {self.timeout} timed out in {self.seconds:.1f} s")


def require_all(items: Sequence[Work], summary: WorkSummary, store: Store, *, what: str) -> None:
    """Raise :class:`GeneratorError` unless every item finished ok: a study of part of its
    work is never summarised. The message says how many of ``what`` (``"replicate batches
    of 'tvae'"``) did not finish, the first stored reason, and that running again retries them."""
    missing = [item.key for item in items if item.key not in summary.results]
    if missing:
        reasons = store.work(kind=summary.kind).set_index("key").reindex(missing)["reason"].dropna()
        first = f" (first: {reasons.iloc[0]})" if len(reasons) else ""
        raise GeneratorError(f"{len(missing)} of {len(items)} {what} did not finish{first}; run the command again to "
                             "retry them")


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does: a KeyboardInterrupt unwinds the backend,
    which stops its workers (and their sandboxes die with them); finished items are stored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(todo: Sequence[W], summary: RunSummary, store: Store, *, kind: str, noun: str, backend: Backend,
         progress: Progress, record: Callable[[W, WorkOutcome], None]) -> None:
    """The one path every run takes: the items ``todo`` through ``backend``, each
    finished one handed to ``record`` (one transaction) and counted in ``summary``,
    which ends the run in ``store``."""
    items = {item.key: item for item in todo}
    progress.begin({item.key: item.label for item in todo}, summary.total, summary.skipped, noun=noun)
    start = time.perf_counter()
    with _interrupt_on_sigterm():
        for outcome in backend.run(todo, progress.stage, kind=kind):
            record(items[outcome.key], outcome)
            setattr(summary, outcome.status, getattr(summary, outcome.status) + 1)
            progress.finished(outcome)
    summary.seconds = time.perf_counter() - start
    store.finish_run(summary.run, summary.as_dict())
    progress.close(str(summary))


def run_suite(
    suite: Suite,
    store: Store,
    *,
    backend: Backend | None = None,
    progress: Progress | None = None,
    retry_failed: bool = False,
) -> RunSummary:
    """Run every cell of ``suite`` that ``store`` does not hold yet (failed ones too with
    ``retry_failed``), writing each as it finishes."""
    backend = SerialBackend() if backend is None else backend
    progress = Progress(quiet=True) if progress is None else progress
    datasets = {spec.name: spec.load() for spec in suite.datasets}
    tasks = plan(suite, datasets)
    done = store.finished_keys(statuses=("ok",) if retry_failed else ("ok", "failed", "timeout"))
    todo = [task for task in tasks if task.record.key not in done]
    for task in todo:
        task.synthetic = store.cached_synthetic(task.record.synthetic_key)
    run = store.start_run(build_manifest(suite, datasets, tasks, backend.description))
    summary = RunSummary(run=run, total=len(tasks), skipped=len(tasks) - len(todo))

    def record(task: CellTask, outcome: WorkOutcome) -> None:
        store.record(task.recorded(outcome), outcome.attachment, run=run)

    _run(todo, summary, store, kind="cell", noun="cells", backend=backend, progress=progress, record=record)
    return summary


def run_work(
    items: Sequence[Work],
    store: Store,
    *,
    kind: str,
    backend: Backend | None = None,
    progress: Progress | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> WorkSummary:
    """Run every item of ``items`` that ``store`` does not hold ``ok`` yet (failed and
    timed-out ones again), each in its sandbox on ``backend`` (serial by default), and
    store each as it finishes, of ``kind`` (a name for the items: ``control-arm``); the
    summary holds every ok item's result. ``manifest`` (JSON-able) is kept in the run's
    manifest beside the environment."""
    keys = [item.key for item in items]
    twice = sorted(k for k, n in Counter(keys).items() if n > 1)
    if twice:
        raise InputError(f"{kind}: {len(twice)} key(s) given to more than one item, e.g. {twice[0]!r}")
    backend = SerialBackend() if backend is None else backend
    progress = Progress(quiet=True) if progress is None else progress
    done = store.work_keys(statuses=("ok",))
    todo = [item for item in items if item.key not in done]
    work = {"kind": kind, "items": len(items), **dict(manifest or {})}
    run = store.start_run({**environment(backend.description), "work": work})
    summary = WorkSummary(run=run, total=len(items), skipped=len(items) - len(todo), kind=kind)

    def record(item: Work, outcome: WorkOutcome) -> None:
        store.record_work(WorkRecord(item.key, kind, item.label, outcome.status, outcome.stage, outcome.reason,
                                     outcome.timings.get("total"), outcome.result), run=run)

    _run(todo, summary, store, kind=kind, noun=f"{kind} items", backend=backend, progress=progress, record=record)
    summary.results = store.work_results(keys)
    return summary
