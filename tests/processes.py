"""Killing a run's supervisor with SIGKILL mid-run, for the tests of the runner's processes.

A helper module (not a test file), shared by the tests that kill a run: it starts the
supervisor, waits until the run is where the test wants it, kills it with SIGKILL and
checks that every process it started died with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

#: The tests' folder: a supervisor's code puts it on sys.path to import the helper modules.
TESTS = Path(__file__).parent


def sigkill_when(code: str, ready: Callable[[], bool], *, waiting_for: str,
                 timeout: float = 120.0) -> list[psutil.Process]:
    """Run ``python -c code`` as a run's supervisor; once ``ready()``, kill it with SIGKILL
    and check that every process it started (workers, sandboxes, resource trackers) dies
    with it. ``waiting_for`` says what ``ready`` waits for, should it never come. Returns
    the processes it had started."""
    supervisor = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    family: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + timeout
        while not ready() and supervisor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready(), f"{waiting_for} did not happen"
        family = psutil.Process(supervisor.pid).children(recursive=True)
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait()
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, [" ".join(p.cmdline())[:100] for p in alive]
    finally:
        for process in [supervisor, *family]:
            try:
                process.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
    return family
