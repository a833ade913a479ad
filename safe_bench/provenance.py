"""Which source a result or a page came from: the git commit of the checkout safe-bench
runs from (``-dirty`` when tracked files differ from it), or ``None`` for an installed
release, whose version number (:data:`__version__`) says it."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[1]

try:
    __version__ = version("safe-bench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_SOURCE), *args], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@cache
def source_commit() -> str | None:
    """The short commit of the checkout, ``-dirty`` if tracked files changed, or None."""
    if _git("rev-parse", "--show-toplevel") != str(_SOURCE):
        return None
    commit = _git("rev-parse", "--short=12", "HEAD")
    if commit is None:
        return None
    return commit + ("-dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")
