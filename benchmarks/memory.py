"""Peak resident memory of a computation, measured in a fresh process.

``peak_rss("pkg.mod:prepare", "pkg.mod:run", *args)`` spawns a new interpreter, calls
``inputs = prepare(*args)``, notes the resident memory then, calls ``run(inputs)`` while
a thread samples the resident memory every few milliseconds, and returns the memory
with the inputs alone, the highest sample during ``run``, and the process's peak over
its whole life (``getrusage``'s ``ru_maxrss``, preparing the inputs included).
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import threading
from dataclasses import dataclass
from typing import Any

import psutil


@dataclass(frozen=True)
class PeakMemory:
    """Resident memory in MiB: with the inputs alone, at its highest during the run, and
    the process's peak over its whole life."""

    inputs_mib: float
    run_peak_mib: float
    process_peak_mib: float

    @property
    def added_mib(self) -> float:
        """What the measured run added on top of its inputs."""
        return self.run_peak_mib - self.inputs_mib


def _resolve(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(prepare: str, run: str, args: tuple, queue: Any) -> None:
    inputs = _resolve(prepare)(*args)
    process = psutil.Process()
    before = process.memory_info().rss / 2**20
    highest = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            highest[0] = max(highest[0], process.memory_info().rss / 2**20)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _resolve(run)(inputs)
    done.set()
    sampler.join()
    highest[0] = max(highest[0], process.memory_info().rss / 2**20)
    queue.put((before, highest[0], _max_rss_mib()))


def peak_rss(prepare: str, run: str, *args: Any) -> PeakMemory:
    """Run ``run(prepare(*args))`` in a spawned process and return its peak RSS."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(prepare, run, args, queue))
    process.start()
    measured = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"{run} failed in the measuring process (exit code {process.exitcode})")
    return PeakMemory(*measured)
