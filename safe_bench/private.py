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

import hashlib
import os
import traceback
from pathlib import Path

from safe_bench.errors import SafeBenchError

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
    """Write ``text`` to the private folder (file mode 0600, folder 0700) and describe it
    without quoting it: its size and where it is, or why it could not be kept. The file
    is named by ``name`` and a digest of the text, so the same failure gives the same
    message (results stay byte-identical across runs)."""
    size = _size(text)
    try:
        folder = private_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{_safe(name)}-{hashlib.sha256(text).hexdigest()[:16]}.txt"
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "wb") as file:
            file.write(text)
    except OSError as exc:
        return f"{size}, not quoted as it may hold real records, and not kept ({exc.strerror or exc})"
    return f"{size}, not quoted as it may hold real records: full text in {path}"


def describe_error(exc: BaseException, *, name: str) -> str:
    """An exception as it may be persisted: safe-bench's own message (which quotes no
    value) as it is; any other (a plug-in's, a library's, which may quote a row) only by
    its class, its message and traceback kept private."""
    if isinstance(exc, SafeBenchError):
        return f"{type(exc).__name__}: {exc}"
    text = "".join(traceback.format_exception(exc)).encode("utf-8", errors="replace")
    return f"{type(exc).__name__}; its message and traceback ({keep_private(text, name=name)})"


def _size(text: bytes) -> str:
    lines = len(text.splitlines())
    return f"{lines} line{'' if lines == 1 else 's'}, {len(text)} byte{'' if len(text) == 1 else 's'}"


def _safe(name: str) -> str:
    """``name`` as a file-name prefix: letters, digits, ``.``, ``-`` and ``_`` kept."""
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in name)[:60]
