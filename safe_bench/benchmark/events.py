"""Stage events: an item of work (a cell) entered a stage, and how the news reaches the coordinator.

A supervisor in the coordinator's process hands its events to the coordinator's
callback (an :data:`Emit`) directly. A local worker process sends them over a Unix
socket (a :class:`SocketEmitter` to the coordinator's :class:`EventListener`); a Dask
worker logs them as structured events on a topic (:class:`DaskEmitter`) that the
coordinator's client subscribes to.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from typing import NamedTuple


class StageEvent(NamedTuple):
    """The item ``key`` entered a stage (a cell's ``split``, ``fit``, ``sample``,
    ``evaluate``) after ``elapsed`` s."""

    key: str
    stage: str
    elapsed: float


#: Where stage events go (the coordinator's progress, or an emitter that carries them there).
Emit = Callable[[StageEvent], None]


class SocketEmitter:
    """Sends stage events from a local worker process to the coordinator's :class:`EventListener`
    (pickled to the worker as the listener's address and key; it connects on its first event)."""

    def __init__(self, address: str, authkey: bytes):
        self.address, self.authkey = address, authkey
        self.conn: Connection | None = None

    def __getstate__(self) -> tuple[str, bytes]:
        return self.address, self.authkey

    def __setstate__(self, state: tuple[str, bytes]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def __call__(self, event: StageEvent) -> None:
        if self.conn is None:
            self.conn = Client(self.address, authkey=self.authkey)
        self.conn.send(tuple(event))


class EventListener:
    """Receives stage events from local worker processes (a Unix socket, one reader per item)."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.authkey = os.urandom(32)
        self.listener = Listener(family="AF_UNIX", authkey=self.authkey)
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def emitter(self) -> SocketEmitter:
        return SocketEmitter(self.listener.address, self.authkey)

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

    def _read(self, conn: Connection) -> None:
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


class DaskEmitter:
    """Sends stage events from a Dask worker as structured events on a topic."""

    def __init__(self, topic: str):
        self.topic = topic

    def __call__(self, event: StageEvent) -> None:
        from distributed import get_worker

        get_worker().log_event(self.topic, list(event))
