"""Where text that may hold real records is kept: never in a store, a log or a report.

A third-party program's output (a command generator's standard error, a plug-in's
exception message) can quote the training rows it was given. safe-bench persists only
what cannot be a record (an exit status, line and byte counts, an exception class)
and writes the full text to a file of its own, readable by the user alone, in
``$SAFE_BENCH_PRIVATE_DIR`` (default ``$XDG_STATE_HOME/safe-bench/private``, that
is ``~/.local/state/safe-bench/private``) of the machine that ran the program,
outside every report and store; the message names that file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: Environment variable naming the folder of private text.
PRIVATE_DIR_VARIABLE = "SAFE_BENCH_PRIVATE_DIR"


def private_dir() -> Path:
    """The folder private text is written to (see the module docstring)."""
    chosen = os.environ.get(PRIVATE_DIR_VARIABLE)
    if chosen:
        return Path(chosen)
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "safe-bench" / "private"


def keep_private(text: bytes, *, name: str) -> str:
    """Write ``text`` to a new file of the private folder (mode 0600, folder 0700) and
    describe it without quoting it: its size and where it is, or why it could not be kept."""
    size = _size(text)
    try:
        folder = private_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, path = tempfile.mkstemp(prefix=f"{_safe(name)}-", suffix=".txt", dir=folder)
        with os.fdopen(handle, "wb") as file:
            file.write(text)
    except OSError as exc:
        return f"{size}, not quoted as it may hold real records, and not kept ({exc.strerror or exc})"
    return f"{size}, not quoted as it may hold real records: full text in {path}"


def _size(text: bytes) -> str:
    lines = len(text.splitlines())
    return f"{lines} line{'' if lines == 1 else 's'}, {len(text)} byte{'' if len(text) == 1 else 's'}"


def _safe(name: str) -> str:
    """``name`` as a file-name prefix: letters, digits, ``.``, ``-`` and ``_`` kept."""
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in name)[:60]
