"""Printing to a reader that may go away (``safe-bench results store.sqlite | head``), and
a status line that tells a person at a terminal what a long command is doing."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class _ClosedPipeSafe:
    """A text stream whose reader may close the pipe: from then on what is written to
    it is dropped (its file descriptor points at ``/dev/null``), without an error."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._drop()

    def _drop(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def closed_pipe_is_not_an_error() -> Iterator[None]:
    """Standard output and error that a closed pipe does not break: the command goes on,
    writes its files and returns its own exit code; what it prints after is dropped."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _ClosedPipeSafe(sys.stdout), _ClosedPipeSafe(sys.stderr)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = saved


class StatusLine:
    """What a long command is doing, on standard error, as one line redrawn in place:
    the stage (split, fit, sample, evaluate) with the seconds it has run, ticking while a
    generator fits or samples, then each metric with an ETA (the mean time of the metrics done so
    far times those left). Shown only when standard error is a terminal, so pipes, logs
    and scripts stay clean; ``quiet`` shows nothing. Used as a context manager, it stops
    ticking and erases the line (:meth:`clear`) when the work is done or has failed."""

    #: Seconds between two redraws of a running stage, and the stages that tick.
    TICK = 0.5
    TICKING = ("fit", "sample")

    def __init__(self, *, quiet: bool = False, stream: TextIO | None = None, prefix: str = ""):
        self.stream = sys.stderr if stream is None else stream
        self.live = not quiet and self.stream.isatty()
        self.prefix = prefix
        self._start = time.perf_counter()
        self._stage: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._training: Callable[[], object] | None = None

    def stage(self, stage: str) -> None:
        """A stage of the protocol begins; a generator's (:data:`TICKING`) ticks until the
        next stage. No thread runs past it, so the metrics may fork (see
        :func:`safe_bench.evaluation.parallel.can_fork`)."""
        self._halt()
        with self._lock:
            self._start = time.perf_counter()
            self._stage = stage
            self._show(stage)
        if self.live and stage in self.TICKING:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def follow(self, generator: object) -> None:
        """While ``fit`` runs, show how far ``generator`` has come (its ``training()``, see
        :class:`safe_bench.generator.Generator`) beside the seconds."""
        self._training = getattr(generator, "training", None)

    def metric(self, metric: str, done: int, total: int) -> None:
        """Metric ``metric`` begins, ``done`` of ``total`` finished."""
        with self._lock:
            if self._stage is not None:  # the metrics' clock starts with the first of them
                self._stage, self._start = None, time.perf_counter()
            elapsed = time.perf_counter() - self._start
            eta = f", ETA ~{elapsed / done * (total - done):.0f} s" if done else ""
            self._show(f"evaluate: {metric} ({done + 1}/{total}), {elapsed:.1f} s{eta}")

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def clear(self) -> None:
        """Stop the ticking and erase the line (also when the command failed)."""
        self._halt()
        with self._lock:
            self._stage = None
            if self.live:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def _halt(self) -> None:
        """Stop the ticking thread, if one runs."""
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None
            self._stop.clear()

    def _tick(self) -> None:
        while not self._stop.wait(self.TICK):
            with self._lock:
                if self._stage is not None:
                    self._show(f"{self._stage} ({time.perf_counter() - self._start:.0f} s{self._where()})")

    def _where(self) -> str:
        """``, epoch 12/300`` while a followed generator fits (nothing if it cannot say:
        a third-party ``training()`` that fails is ignored, not reported from this thread)."""
        if self._stage != "fit" or self._training is None:
            return ""
        try:
            where = self._training()
        except Exception:
            return ""
        return "" if where is None else f", {where}"

    def _show(self, text: str) -> None:
        if self.live:
            self.stream.write(f"\r\x1b[K{self.prefix}{text}")
            self.stream.flush()
