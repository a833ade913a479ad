"""The benchmark grid: every (dataset, generator, seed) cell of a suite run and stored.

:func:`run_suite` plans the cells (:mod:`~safe_bench.benchmark.plan`), leaves out those
the store already holds, hands the rest to a backend (:mod:`~safe_bench.benchmark.backends`),
which runs each in a sandbox (:mod:`~safe_bench.benchmark.sandbox`), and shows their
progress (:mod:`~safe_bench.benchmark.progress`). The coordinator alone writes the
:class:`~safe_bench.benchmark.store.Store`: the run's manifest
(:mod:`~safe_bench.benchmark.manifest`), then one transaction per finished cell, so a run
stopped mid-way (Ctrl-C, SIGTERM, even SIGKILL) resumes where it stopped.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from safe_bench.benchmark.backends import Backend, SerialBackend
from safe_bench.benchmark.manifest import build_manifest
from safe_bench.benchmark.plan import plan
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.store import Store
from safe_bench.benchmark.suite import Suite


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
        return dict(self.__dict__)

    def __str__(self) -> str:
        return (f"run {self.run}: {self.total} cells, {self.skipped} already stored, {self.ok} ok, "
                f"{self.failed} failed, {self.timeout} timed out in {self.seconds:.1f} s")


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM stops a run the way Ctrl-C does: a KeyboardInterrupt unwinds the backend,
    which stops its workers (and their cells die with them); finished cells are stored."""
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
    progress.begin({t.record.key: f"{t.record.dataset} x {t.record.generator} x seed {t.record.seed}" for t in todo},
                   summary.total, summary.skipped)
    start = time.perf_counter()
    with _interrupt_on_sigterm():
        for outcome in backend.run(todo, progress.stage):
            store.record(outcome.record, outcome.synthetic, run=run)
            status = outcome.record.status
            setattr(summary, status, getattr(summary, status) + 1)
            progress.finished(outcome.record)
    summary.seconds = time.perf_counter() - start
    store.finish_run(run, summary.as_dict())
    progress.close(str(summary))
    return summary
