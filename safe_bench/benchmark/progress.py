"""A run's progress: a live line per item of work (a cell: dataset, generator, seed; a
batch of replicates: its label), its stage and elapsed time, with an ETA."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO

from safe_bench.benchmark.events import StageEvent
from safe_bench.benchmark.work import WorkOutcome

#: The stages whose seconds the line of a finished item shows (a cell's), beside its total.
TIMED_STAGES = ("fit", "sample", "evaluate")


class Progress:
    """A live progress line per item (its label, stage, elapsed) with an ETA.

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

    def begin(self, labels: Mapping[str, str], total: int, skipped: int, *, noun: str = "cells") -> None:
        """A run of ``total`` items (``noun``) begins, ``skipped`` of them already stored;
        ``labels`` names the items to run by key."""
        self.labels = dict(labels)
        self.todo = len(labels)
        self.done = 0
        self.start = time.perf_counter()
        self._write(f"{total} {noun}: {skipped} already in the store, {self.todo} to run", final=True)

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

    def finished(self, outcome: WorkOutcome) -> None:
        with self.lock:
            self.done += 1
            label = self.labels.get(outcome.key, outcome.key[:12])
            seconds = outcome.timings.get("total", 0.0)
            if outcome.status == "ok":
                parts = ", ".join(f"{k} {outcome.timings[k]:.1f}" for k in TIMED_STAGES if k in outcome.timings)
                text = f"ok in {seconds:.1f} s" + (f" ({parts})" if parts else "")
            else:
                text = f"{outcome.status} during {outcome.stage} after {seconds:.1f} s: {outcome.reason}"
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
