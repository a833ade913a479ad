"""Peak resident memory of a computation, measured in a fresh process.

``peak_rss("pkg.mod:prepare", "pkg.mod:run", *args)`` spawns a new interpreter, calls
``inputs = prepare(*args)``, notes the process's peak RSS so far, calls ``run(inputs)``
and returns both peaks (``getrusage``'s ``ru_maxrss``), so a benchmark can report the
peak of the whole run and how much the measured step added on top of its inputs.
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PeakMemory:
    """Peak RSS in MiB: after preparing the inputs, and at the end of the run."""

    inputs_mib: float
    peak_mib: float

    @property
    def added_mib(self) -> float:
        return self.peak_mib - self.inputs_mib


def _resolve(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(prepare: str, run: str, args: tuple, queue: Any) -> None:
    inputs = _resolve(prepare)(*args)
    before = _max_rss_mib()
    _resolve(run)(inputs)
    queue.put((before, _max_rss_mib()))


def peak_rss(prepare: str, run: str, *args: Any) -> PeakMemory:
    """Run ``run(prepare(*args))`` in a spawned process and return its peak RSS."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(prepare, run, args, queue))
    process.start()
    before, peak = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"{run} failed in the measuring process (exit code {process.exitcode})")
    return PeakMemory(before, peak)
