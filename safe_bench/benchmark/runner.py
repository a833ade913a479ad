"""The benchmark grid: every (dataset, generator, seed) cell split, fitted, sampled and evaluated.

A cell runs the SAFE protocol (:func:`safe_bench.data.protocol.split`, the generator's
``fit`` and ``sample`` on train, :func:`safe_bench.evaluation.evaluate`) in a
sandbox process of its own, forked warm (safe-bench and the generators already
imported) from its supervisor or from a forkserver (see :func:`_start`). The
supervisor kills the sandbox when the cell outlives its timeout; a generator that
raises, hangs, crashes the interpreter or returns a table that does not fit the
schema is recorded as ``failed`` or ``timeout`` with the stage and the reason, and
the run goes on. Workers and cells die with their supervisor, even one killed with
SIGKILL (see :func:`_die_with`), so a killed run leaves no process behind. Each
sandbox runs BLAS/OpenMP single-threaded (the parallelism is across cells), so a
cell's result does not depend on the backend. Scripts that call
:func:`run_suite` guard their entry point with ``if __name__ == "__main__":`` (as
any multiprocessing program: a forkserver child imports the main module).

Backends run the supervisors: in this process (:class:`SerialBackend`), in local
joblib processes (:class:`JoblibBackend`, ``--jobs N``) or on a Dask distributed
cluster (:class:`DaskBackend`, ``--scheduler tcp://HOST:PORT`` or ``--dask-local N``).
The coordinator (:func:`run_suite`) alone writes the :class:`~safe_bench.benchmark.store.Store`,
one transaction per finished cell, and skips the cells the store already holds.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import platform
import select
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from multiprocessing.connection import Client, Listener
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import pandas as pd
from threadpoolctl import threadpool_limits

from safe_bench.benchmark.store import CellRecord, Store, data_hash, digest
from safe_bench.benchmark.suite import Suite
from safe_bench.data.datasets import Dataset
from safe_bench.data.protocol import HOLDOUT_FRACTION
from safe_bench.data.schema import Schema
from safe_bench.errors import InputError, SafeBenchError
from safe_bench.evaluation.evaluate import Stages, evaluate_generator
from safe_bench.generator import Generator, load_generator
from safe_bench.private import describe_error
from safe_bench.provenance import __version__, source_commit

#: Installed distributions recorded in every run's manifest (when present).
MANIFEST_PACKAGES = (
    "safe-bench", "numpy", "pandas", "scipy", "scikit-learn", "lifelines", "scikit-survival",
    "joblib", "pyarrow", "dask", "distributed", "torch", "ctgan",
)
_REASON_CHARS = 500
#: Seconds a cell process that has reported its outcome gets to exit before it is killed.
_EXIT_GRACE = 10.0
#: Imported once per worker so that every cell process is forked warm: safe-bench and
#: what the clinical metrics import lazily (lifelines); importing takes seconds, forking
#: nothing. The suite's generator modules are added (and torch with those that use it).
WARM_MODULES = ("safe_bench.benchmark.runner", "lifelines")


class StageEvent(NamedTuple):
    """A cell entered a stage (``split``, ``fit``, ``sample``, ``evaluate``) after ``elapsed`` s."""

    key: str
    stage: str
    elapsed: float


Emit = Callable[[StageEvent], None]


@dataclass
class CellTask:
    """Everything a worker needs to run one cell (pickled to it)."""

    record: CellRecord
    frame: pd.DataFrame
    schema: Schema
    generator: Generator
    n: int | None
    metrics: tuple[str, ...] | None
    n_bootstrap: int
    weights: Mapping[str, float] | None
    timeout: float
    synthetic: pd.DataFrame | None = None
    preload: tuple[str, ...] = ()


@dataclass
class CellOutcome:
    """A finished cell: its record (status, stage, reason, timings, the evaluation as JSON)
    and the synthetic table it made (None when it failed or reused a cached one)."""

    record: CellRecord
    synthetic: pd.DataFrame | None = None


def _outcome(task: CellTask, status: str, **fields: Any) -> CellOutcome:
    synthetic = fields.pop("synthetic", None)
    return CellOutcome(replace(task.record, status=status, **fields), synthetic)


# -- one cell ------------------------------------------------------------------
def execute(task: CellTask, notify: Callable[[str], None]) -> CellOutcome:
    """The SAFE protocol on one cell (:func:`~safe_bench.evaluation.evaluate.evaluate_generator`,
    the cached synthetic table evaluated when there is one); any exception becomes a
    failed outcome naming the stage it happened in."""
    stages = Stages(notify)
    try:
        run = evaluate_generator(task.frame, task.schema, task.generator, seed=task.record.seed, n=task.n,
                                 label=task.record.generator, synthetic=task.synthetic, metrics=task.metrics,
                                 n_bootstrap=task.n_bootstrap, weights=task.weights, stages=stages)
    except Exception as exc:
        return _outcome(task, "failed", stage=stages.current or "", reason=_reason(exc, task),
                        timings=dict(stages.seconds))
    fresh = None if task.synthetic is not None else run.synthetic
    return _outcome(task, "ok", timings=dict(stages.seconds), result_json=run.result.to_json(), synthetic=fresh)


def _reason(exc: Exception, task: CellTask) -> str:
    """Why a cell failed, as stored (:func:`safe_bench.private.describe_error`)."""
    return describe_error(exc, name=f"cell-{task.record.generator}-seed{task.record.seed}")[:_REASON_CHARS]


def _die_with(supervisor: int) -> None:
    """Make this process die when process ``supervisor`` (the one that started its work)
    does, so that a supervisor killed mid-run, even with SIGKILL, leaves no worker or cell
    running on. When the supervisor is the parent, on Linux the kernel kills this process
    (prctl PR_SET_PDEATHSIG); otherwise (a cell started by a forkserver, which outlives
    the supervisor while its cells run; another system) a daemon thread waits for the
    supervisor to end. A supervisor already gone kills it at once."""
    if sys.platform.startswith("linux") and os.getppid() == supervisor:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != supervisor:  # it died before the call
            os.kill(os.getpid(), signal.SIGKILL)
        return
    threading.Thread(target=_kill_after, args=(supervisor,), name="safe-bench-supervisor-watch", daemon=True).start()


def _kill_after(supervisor: int) -> None:
    """Kill this process once process ``supervisor`` has ended: a pidfd turns readable
    then (Linux 5.3 and later); elsewhere the pid is polled every second."""
    try:
        select.select([os.pidfd_open(supervisor)], [], [])
    except ProcessLookupError:
        pass
    except (AttributeError, OSError):  # no pidfd
        while _exists(supervisor):
            time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGKILL)


def _exists(pid: int) -> bool:
    """Whether a process has the pid ``pid``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, another user's
        pass
    return True


def _sandbox(task: CellTask, conn: Any, limit_threads: bool, supervisor: int) -> None:
    """Entry point of the cell process: bound to its supervisor, quiet, reports its
    stages, then the outcome."""
    _die_with(supervisor)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with threadpool_limits(limits=1) if limit_threads else nullcontext():
        outcome = execute(task, lambda stage: conn.send(("stage", stage)))
    conn.send(("done", outcome))
    conn.close()


def _preload(modules: Sequence[str]) -> list[str]:
    """What a cell process should find imported: :data:`WARM_MODULES` that are installed
    and the suite's generator modules."""
    return [m for m in WARM_MODULES if find_spec(m.partition(".")[0]) is not None] + list(modules)


def _start(task: CellTask, conn: Any) -> BaseProcess:
    """Start the process of a cell: warm, and with BLAS/OpenMP single-threaded.

    A single-threaded process (a joblib worker, a script) imports the preload itself and
    forks, the thread limits set around the fork (a forked child inherits them; set in
    the child they slow it down). A multi-threaded one (a Dask worker runs tasks in
    threads) must not fork, as a lock held by another thread would stay locked in the
    child: a forkserver that imported the preload once starts the cell, which sets its
    own limits.
    """
    name = f"safe-bench-cell-{task.record.key[:12]}"
    preload = _preload(task.preload)
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        for module in preload:
            importlib.import_module(module)
        process: BaseProcess = multiprocessing.get_context("fork").Process(target=_sandbox, args=(task, conn, False, os.getpid()),
                                                              name=name, daemon=True)
        with threadpool_limits(limits=1):
            process.start()
        return process
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(preload)
    process = ctx.Process(target=_sandbox, args=(task, conn, True, os.getpid()), name=name, daemon=True)
    process.start()
    return process


def run_cell(task: CellTask, emit: Emit | None = None) -> CellOutcome:
    """Run a cell in a sandbox process, killed when it outlives ``task.timeout`` seconds."""
    if multiprocessing.current_process().daemon:
        raise SafeBenchError(
            "this worker is a daemonic process and cannot start cell processes; start Dask workers "
            "with DASK_DISTRIBUTED__WORKER__DAEMON=False (or `dask worker --no-nanny`)"
        )
    receiver, sender = multiprocessing.Pipe(duplex=False)
    start = time.perf_counter()
    process = _start(task, sender)
    sender.close()
    stage = "start"
    outcome: CellOutcome | None = None
    try:
        while outcome is None:
            left = start + task.timeout - time.perf_counter()
            if left <= 0:
                outcome = _outcome(task, "timeout", stage=stage, reason=f"timed out after {task.timeout:g} s during {stage}")
            elif receiver.poll(left):
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    process.join()
                    outcome = _outcome(task, "failed", stage=stage,
                                       reason=f"the cell process died during {stage} (exit code {process.exitcode})")
                    continue
                if kind == "done":
                    outcome = payload
                else:
                    stage = payload
                    if emit is not None:
                        emit(StageEvent(task.record.key, stage, time.perf_counter() - start))
    finally:
        finished = outcome is not None and outcome.record.status != "timeout"
        process.join(timeout=_EXIT_GRACE if finished else 0)  # a cell that reported may exit on its own
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    outcome.record.timings["total"] = time.perf_counter() - start
    return outcome


# -- backends --------------------------------------------------------------------
class SerialBackend:
    """One cell at a time, supervised from this process."""

    description = "serial"

    def run(self, tasks: Sequence[CellTask], emit: Emit) -> Iterator[CellOutcome]:
        for task in tasks:
            yield run_cell(task, emit)


class _SocketEmitter:
    """Sends stage events from a local worker process to the coordinator's :class:`_EventListener`."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self.authkey = address, authkey
        self.conn: Any = None

    def __getstate__(self) -> tuple[str, bytes]:
        return self.address, self.authkey

    def __setstate__(self, state: tuple[str, bytes]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def __call__(self, event: StageEvent) -> None:
        if self.conn is None:
            self.conn = Client(self.address, authkey=self.authkey)
        self.conn.send(tuple(event))


class _EventListener:
    """Receives stage events from local worker processes (a Unix socket, one reader per cell)."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.authkey = os.urandom(32)
        self.listener = Listener(family="AF_UNIX", authkey=self.authkey)
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def emitter(self) -> _SocketEmitter:
        return _SocketEmitter(self.listener.address, self.authkey)

    def _accept(self) -> None:
        while True:
            try:
                conn = self.listener.accept()
            except (OSError, EOFError):
                continue
            if self.closing:
                conn.close()
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: Any) -> None:
        with conn:
            while True:
                try:
                    event = conn.recv()
                except (EOFError, OSError):
                    return
                self.emit(StageEvent(*event))

    def close(self) -> None:
        self.closing = True
        Client(self.listener.address, authkey=self.authkey).close()  # wakes the accepting thread
        self.listener.close()


#: The supervisor this local worker process dies with (see :func:`_worker_cell`).
_SUPERVISOR: int | None = None


def _worker_cell(task: CellTask, emit: Emit, supervisor: int) -> CellOutcome:
    """:func:`run_cell` in a local worker process, bound on its first cell to die with
    its supervisor (pid ``supervisor``): a supervisor killed with SIGKILL cannot stop its
    workers, which would otherwise run on (and keep joblib's resource trackers alive)."""
    global _SUPERVISOR
    if _SUPERVISOR != supervisor:
        _die_with(supervisor)
        _SUPERVISOR = supervisor
    return run_cell(task, emit)


class JoblibBackend:
    """``jobs`` local worker processes (joblib's loky backend), each supervising one cell at
    a time and dying with the process that started them."""

    def __init__(self, jobs: int):
        if jobs < 1:
            raise InputError(f"--jobs must be at least 1, got {jobs}")
        self.jobs = jobs
        self.description = f"joblib, {jobs} processes"

    def run(self, tasks: Sequence[CellTask], emit: Emit) -> Iterator[CellOutcome]:
        from joblib import Parallel, delayed

        events = _EventListener(emit)
        try:
            parallel = Parallel(n_jobs=self.jobs, batch_size=1, return_as="generator_unordered")
            yield from parallel(delayed(_worker_cell)(task, events.emitter(), os.getpid()) for task in tasks)
        finally:
            events.close()


class _DaskEmitter:
    """Sends stage events from a Dask worker as structured events on a topic."""

    def __init__(self, topic: str):
        self.topic = topic

    def __call__(self, event: StageEvent) -> None:
        from distributed import get_worker

        get_worker().log_event(self.topic, list(event))


class DaskBackend:
    """Cells as tasks on a Dask distributed cluster (a scheduler address or a LocalCluster)."""

    def __init__(self, client: Any):
        self.client = client
        self.description = f"dask, scheduler {client.scheduler.address}"

    def run(self, tasks: Sequence[CellTask], emit: Emit) -> Iterator[CellOutcome]:
        from distributed import as_completed

        topic = f"safe-bench-progress-{uuid.uuid4().hex}"
        self.client.subscribe_topic(topic, lambda event: emit(StageEvent(*event[1])))
        try:
            futures = self.client.map(run_cell, list(tasks), emit=_DaskEmitter(topic), pure=False)
            for future in as_completed(futures):
                yield future.result()
                future.release()
        finally:
            self.client.unsubscribe_topic(topic)


@contextmanager
def open_backend(*, jobs: int = 1, scheduler: str | None = None, dask_local: int | None = None) -> Iterator[Any]:
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
    # start the cells' sandbox processes.
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=dask_local, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        yield DaskBackend(client)


# -- progress ------------------------------------------------------------------
class Progress:
    """A live progress line per cell (dataset, generator, seed, stage, elapsed) with an ETA.

    On a terminal the line is redrawn in place; otherwise each event is a line. Every
    event also goes to ``log`` (a text file) with a timestamp. ``quiet`` prints nothing.
    """

    def __init__(self, *, stream: TextIO | None = None, quiet: bool = False, log: str | Path | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.log = None
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            self.log = open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.lock = threading.Lock()
        self.labels: dict[str, str] = {}
        self.todo = self.done = 0
        self.start = time.perf_counter()

    def begin(self, labels: Mapping[str, str], total: int, skipped: int) -> None:
        self.labels = dict(labels)
        self.todo = len(labels)
        self.start = time.perf_counter()
        self._write(f"{total} cells: {skipped} already in the store, {self.todo} to run", final=True)

    def eta(self) -> str:
        if not self.done:
            return "ETA -"
        left = (time.perf_counter() - self.start) / self.done * (self.todo - self.done)
        return f"ETA {int(left // 3600)}:{int(left % 3600 // 60):02d}:{int(left % 60):02d}"

    def stage(self, event: StageEvent) -> None:
        with self.lock:
            label = self.labels.get(event.key, event.key[:12])
            self._write(f"[{self.done}/{self.todo}] {label}: {event.stage} ({event.elapsed:.1f} s) {self.eta()}",
                        final=False)

    def finished(self, cell: CellRecord) -> None:
        with self.lock:
            self.done += 1
            label = self.labels.get(cell.key, cell.key[:12])
            seconds = cell.timings.get("total", 0.0)
            if cell.status == "ok":
                parts = ", ".join(f"{k} {cell.timings[k]:.1f}" for k in ("fit", "sample", "evaluate")
                                  if k in cell.timings)
                text = f"ok in {seconds:.1f} s ({parts})"
            else:
                text = f"{cell.status} during {cell.stage} after {seconds:.1f} s: {cell.reason}"
            self._write(f"[{self.done}/{self.todo}] {label}: {text} {self.eta()}", final=True)

    def close(self, message: str) -> None:
        self._write(message, final=True)
        if self.log is not None:
            self.log.close()
            self.log = None

    def _write(self, line: str, *, final: bool) -> None:
        if self.log is not None:
            self.log.write(f"{datetime.now().isoformat(timespec='seconds')} {line}\n")
            self.log.flush()
        if self.quiet:
            return
        if self.live:
            self.stream.write("\r\x1b[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


# -- the grid --------------------------------------------------------------------
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


def provider(generator: Generator) -> str:
    """``module:class`` of a generator instance (part of the cell key)."""
    cls = type(generator)
    return f"{cls.__module__}:{cls.__qualname__}"


def plan(suite: Suite, datasets: Mapping[str, Dataset]) -> list[CellTask]:
    """Every cell of the suite as a task, its record holding the keys (status "pending")."""
    hashes = {name: data_hash(ds.frame, ds.schema) for name, ds in datasets.items()}
    metric_ids = suite.metrics.metric_ids()
    instances = {g.label: load_generator(g.generator, **g.params) for g in suite.generators}
    preload = tuple(sorted({type(g).__module__ for g in instances.values()}))
    tasks = []
    for dataset, gen, seed in suite.cells():
        synthetic_key = digest({
            "data": hashes[dataset.name], "generator": gen.generator, "provider": provider(instances[gen.label]),
            "params": gen.params, "seed": seed, "n": suite.n, "holdout_fraction": HOLDOUT_FRACTION,
            "version": __version__,
        })
        key = digest({
            "synthetic": synthetic_key, "dataset": dataset.name, "label": gen.label, "metrics": metric_ids,
            "n_bootstrap": suite.metrics.n_bootstrap, "weights": suite.metrics.weights,
        })
        record = CellRecord(key, synthetic_key, dataset.name, gen.label, gen.generator, gen.params, seed,
                            hashes[dataset.name], __version__, status="pending")
        ds = datasets[dataset.name]
        tasks.append(CellTask(record, ds.frame, ds.schema, instances[gen.label], suite.n, suite.metrics.select,
                              suite.metrics.n_bootstrap, suite.metrics.weights, gen.timeout, preload=preload))
    return tasks


def packages() -> dict[str, str]:
    """Versions of the installed :data:`MANIFEST_PACKAGES`."""
    found = {}
    for name in MANIFEST_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def build_manifest(suite: Suite, datasets: Mapping[str, Dataset], tasks: Sequence[CellTask],
                   backend: str) -> dict[str, Any]:
    """What a run ran on: packages, python, platform, suite file hash, seeds, data hashes, backend."""
    hashes = {t.record.dataset: t.record.data_hash for t in tasks}
    return {
        "safe_bench": __version__,
        "commit": source_commit(),
        "packages": packages(),
        "python": sys.version,
        "platform": platform.platform(),
        "machine": {"processor": platform.machine(), "cpus": os.cpu_count()},
        "backend": backend,
        "argv": sys.argv,
        "suite": {"name": suite.name, "path": str(suite.path), "sha256": suite.sha256},
        "seeds": list(suite.seeds),
        "n": suite.n,
        "metrics": {"ids": suite.metrics.metric_ids(), "n_bootstrap": suite.metrics.n_bootstrap,
                    "weights": suite.metrics.weights},
        "datasets": {name: {"sha256": hashes.get(name), "rows": len(ds.frame), "source": ds.source}
                     for name, ds in datasets.items()},
        "generators": {g.label: {"generator": g.generator, "params": g.params, "timeout": g.timeout}
                       for g in suite.generators},
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


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
    backend: Any | None = None,
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

