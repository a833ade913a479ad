"""The sandbox a cell runs in: a process of its own, supervised and killed on timeout.

:func:`run_cell` supervises a cell: it starts the cell's sandbox process, forked warm
(safe-bench and the generators already imported) from the supervisor or from a
forkserver (see :func:`_start`), passes on the stages the cell reports, and kills the
sandbox when the cell outlives its timeout. A generator that raises, hangs, crashes the
interpreter or returns a table that does not fit is recorded as ``failed`` or
``timeout`` with the stage and the reason, and the run goes on. Workers and cells die
with their supervisor, even one killed with SIGKILL (see :func:`die_with`), so a killed
run leaves no process behind. Each sandbox runs BLAS/OpenMP single-threaded (the
parallelism is across cells), so a cell's result does not depend on the backend.
Scripts that run cells guard their entry point with ``if __name__ == "__main__":`` (as
any multiprocessing program: a forkserver child imports the main module).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Sequence
from contextlib import nullcontext
from importlib.util import find_spec
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from threadpoolctl import threadpool_limits

from safe_bench.benchmark.cell import CellOutcome, CellTask, execute
from safe_bench.benchmark.events import Emit, StageEvent
from safe_bench.errors import SafeBenchError

#: Seconds a cell process that has reported its outcome gets to exit before it is killed.
_EXIT_GRACE = 10.0
#: Imported once per worker so that every cell process is forked warm: safe-bench and
#: what the clinical metrics import lazily (lifelines); importing takes seconds, forking
#: nothing. The suite's generator modules are added (and torch with those that use it).
WARM_MODULES = ("safe_bench.benchmark.sandbox", "lifelines")


def die_with(supervisor: int) -> None:
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


def _sandbox(task: CellTask, conn: Connection, limit_threads: bool, supervisor: int) -> None:
    """Entry point of the cell process: bound to its supervisor, quiet, reports its
    stages, then the outcome."""
    die_with(supervisor)
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


def _start(task: CellTask, conn: Connection) -> BaseProcess:
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
        process: BaseProcess = multiprocessing.get_context("fork").Process(
            target=_sandbox, args=(task, conn, False, os.getpid()), name=name, daemon=True)
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
                outcome = CellOutcome.of(task, "timeout", stage=stage,
                                         reason=f"timed out after {task.timeout:g} s during {stage}")
            elif receiver.poll(left):
                try:
                    kind, payload = receiver.recv()
                except EOFError:
                    process.join()
                    outcome = CellOutcome.of(task, "failed", stage=stage,
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
