"""Any executable as a generator: R scripts, closed tools, other Python environments.

The command is called once per sample as::

    COMMAND... --train TRAIN.csv --n N --seed S --out OUT.csv

``TRAIN.csv`` holds the canonical train table (booleans written as 0/1, datetimes in
ISO 8601); the command must write ``N`` rows with the same columns to ``OUT.csv``.
Arguments are passed as a list, never through a shell. The command learns and samples
in the same call, so a run's fit time is ~0 and its sample time is the whole command.

What the command prints may quote its training rows, so no error quotes it: a failure
names the exit status or signal and the size of the standard error, whose full text
is kept in a private file (:mod:`safe_bench.private`) named in the message.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from safe_bench.data.io import read_table, write_table
from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import GeneratorError, InputError
from safe_bench.private import keep_private

from .base import SchemaGenerator


class CommandGenerator(SchemaGenerator):
    """Runs ``command --train PATH --n N --seed S --out PATH`` (CSV in, CSV out) as a generator.

    ``command`` is a list of arguments, or a string split like a POSIX shell would
    (``shlex.split``) but run without one. A command that exits non-zero, writes no
    file, or runs longer than ``timeout`` seconds (it is then killed with its process
    group) raises :class:`~safe_bench.errors.GeneratorError` naming its exit status and
    the private file that keeps its standard error, never quoting it. Its table is
    then held to the schema like any generator's. Determinism is the command's own:
    it receives the seed.
    """

    name = "command"

    def __init__(self, command: str | Sequence[str], timeout: float = 3600.0, cwd: str | None = None) -> None:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise InputError("command: the command is empty")
        if not timeout > 0:
            raise InputError(f"command: timeout must be a positive number of seconds, got {timeout}")
        self.command = argv
        self.timeout = float(timeout)
        self.cwd = cwd

    def _fit(self, train: pd.DataFrame, schema: Schema, seed: int) -> None:
        booleans = [c for c in schema.features if schema.kinds[c] is Kind.BOOLEAN]
        self.train_ = train.astype({c: "Int64" for c in booleans})

    def _sample(self, n: int, seed: int) -> pd.DataFrame:
        with tempfile.TemporaryDirectory(prefix="safe-bench-command-") as tmp:
            train_path, out_path = Path(tmp) / "train.csv", Path(tmp) / "synthetic.csv"
            write_table(self.train_, train_path)
            self._run(["--train", str(train_path), "--n", str(n), "--seed", str(seed), "--out", str(out_path)])
            if not out_path.is_file():
                raise GeneratorError(f"command {self._label} exited with status 0 but wrote no file to --out")
            try:
                return read_table(out_path, table="synthetic")
            except InputError as exc:
                raise GeneratorError(f"command {self._label}: {exc}") from None

    @property
    def _label(self) -> str:
        return repr(Path(self.command[0]).name)

    def _run(self, arguments: list[str]) -> None:
        try:
            process = subprocess.Popen(
                [*self.command, *arguments], cwd=self.cwd, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
        except OSError as exc:
            raise GeneratorError(f"command {self._label} could not be started: {exc.strerror}") from None
        try:
            _, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            try:
                _, stderr = process.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # a descendant left the group and holds the pipe
                stderr = b""
            raise GeneratorError(
                f"command {self._label} did not finish within {self.timeout:g} s and was killed"
                f"{self._stderr(stderr)}"
            ) from None
        if process.returncode != 0:
            raise GeneratorError(f"command {self._label} {_ended(process.returncode)}{self._stderr(stderr)}")

    def _stderr(self, stderr: bytes) -> str:
        """The command's standard error described, kept in a private file, never quoted."""
        if not stderr.strip():
            return " (no stderr output)"
        return f"; its standard error ({keep_private(stderr, name=f'command-{Path(self.command[0]).name}')})"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started (it leads its own process group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass


def _ended(returncode: int) -> str:
    """How a failed command ended: its exit status, or the signal that killed it."""
    if returncode < 0:
        try:
            return f"was killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"
