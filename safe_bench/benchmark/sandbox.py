"""The sandbox an item of work (a cell, a batch of replicates) runs in: a process of
its own, supervised and killed on timeout.

:func:`supervise` supervises an item (any :class:`~safe_bench.benchmark.work.Work`): it
starts the item's sandbox process, forked warm (safe-bench, the item's module and the
modules it preloads, the generators of a cell, already imported) from the supervisor or
from a forkserver (see :func:`_start`), passes on the stages the item reports, and
kills the sandbox when the item outlives its timeout. Work that raises, hangs, crashes
the interpreter or (a cell) returns a table that does not fit is recorded as ``failed``
or ``timeout`` with the stage and the reason, and the run goes on. Workers and sandboxes
die with their supervisor, even one killed with SIGKILL (see :func:`die_with`), so a
killed run leaves no process behind. Each sandbox runs BLAS/OpenMP single-threaded (the
parallelism is across items), so a result does not depend on the backend. Scripts that
run work guard their entry point with ``if __name__ == "__main__":`` (as any
multiprocessing program: a forkserver child imports the main module).
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
from contextlib import nullcontext
from importlib.util import find_spec
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from threadpoolctl import threadpool_limits

from safe_bench.benchmark.events import Emit, StageEvent
from safe_bench.benchmark.work import Work, WorkOutcome, perform
from safe_bench.errors import SafeBenchError

#: Seconds a sandbox that has reported its outcome gets to exit before it is killed.
_EXIT_GRACE = 10.0
#: Imported once per worker so that every sandbox is forked warm: safe-bench and what
#: the clinical metrics import lazily (lifelines); importing takes seconds, forking
#: nothing. The module of the item's class and the modules it preloads are added (a
#: suite's generator modules, and torch with those that use it).
WARM_MODULES = ("safe_bench.benchmark.sandbox", "lifelines")


def die_with(supervisor: int) -> None:
    """Make this process die when process ``supervisor`` (the one that started its work)
    does, so that a supervisor killed mid-run, even with SIGKILL, leaves no worker or
    sandbox running on. When the supervisor is the parent, on Linux the kernel kills this
    process (prctl PR_SET_PDEATHSIG); otherwise (a sandbox started by a forkserver, which
    outlives the supervisor while its sandboxes run; another system) a daemon thread
    waits for the supervisor to end. A supervisor already gone kills it at once."""
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


def _sandbox(work: Work, conn: Connection, limit_threads: bool, supervisor: int, kind: str) -> None:
    """Entry point of the sandbox: bound to its supervisor, quiet, reports its stages,
    then the outcome."""
    die_with(supervisor)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with threadpool_limits(limits=1) if limit_threads else nullcontext():
        outcome = perform(work, lambda stage: conn.send(("stage", stage)), kind=kind)
    conn.send(("done", outcome))
    conn.close()


def _preload(work: Work) -> list[str]:
    """What a sandbox should find imported: :data:`WARM_MODULES` that are installed and
    the modules the item preloads."""
    return [m for m in WARM_MODULES if find_spec(m.partition(".")[0]) is not None] + list(work.preload)


def _start(work: Work, conn: Connection, kind: str) -> BaseProcess:
    """Start the sandbox of an item: warm, and with BLAS/OpenMP single-threaded.

    A single-threaded process (a joblib worker, a script) imports the preload itself and
    forks, the thread limits set around the fork (a forked child inherits them; set in
    the child they slow it down). A multi-threaded one (a Dask worker runs tasks in
    threads) must not fork, as a lock held by another thread would stay locked in the
    child: a forkserver that imported the preload once starts the sandbox, which sets its
    own limits (the forkserver imports the module of the item's class too, which its
    child would otherwise import to unpickle the item).
    """
    name = f"safe-bench-{kind}-{work.key[:12]}"
    preload = _preload(work)
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        for module in preload:
            importlib.import_module(module)
        process: BaseProcess = multiprocessing.get_context("fork").Process(
            target=_sandbox, args=(work, conn, False, os.getpid(), kind), name=name, daemon=True)
        with threadpool_limits(limits=1):
            process.start()
        return process
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(dict.fromkeys([*preload, type(work).__module__])))
    process = ctx.Process(target=_sandbox, args=(work, conn, True, os.getpid(), kind), name=name, daemon=True)
    process.start()
    return process


def supervise(work: Work, emit: Emit | None = None, *, kind: str = "work") -> WorkOutcome:
    """Run an item of work in a sandbox process, killed when it outlives ``work.timeout``
    seconds; ``emit`` is told of each stage it enters. ``kind`` names it in a reason (the
    cell process died) and in the sandbox's process name."""
    if multiprocessing.current_process().daemon:
        raise SafeBenchError(
            f"this worker is a daemonic process and cannot start {kind} processes; start Dask workers "
            "with DASK_DISTRIBUTED__WORKER__DAEMON=False (or `dask worker --no-nanny`)"
        )
    receiver, sender = multiprocessing.Pipe(duplex=False)
    start = time.perf_counter()
    process = _start(work, sender, kind)
    sender.close()
    stage = "start"
    outcome: WorkOutcome | None = None
    try:
        while outcome is None:
            left = start + work.timeout - time.perf_counter()
            if left <= 0:
                outcome = WorkOutcome(work.key, "timeout", stage=stage,
                                      reason=f"timed out after {work.timeout:g} s during {stage}")
            elif receiver.poll(left):
                try:
                    message, payload = receiver.recv()
                except EOFError:
                    process.join()
                    outcome = WorkOutcome(work.key, "failed", stage=stage,
                                          reason=f"the {kind} process died during {stage} (exit code {process.exitcode})")
                    continue
                if message == "done":
                    outcome = payload
                else:
                    stage = payload
                    if emit is not None:
                        emit(StageEvent(work.key, stage, time.perf_counter() - start))
    finally:
        finished = outcome is not None and outcome.status != "timeout"
        process.join(timeout=_EXIT_GRACE if finished else 0)  # a sandbox that reported may exit on its own
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    outcome.timings["total"] = time.perf_counter() - start
    return outcome
