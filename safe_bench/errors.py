"""Exceptions that carry a message a user can act on."""

from __future__ import annotations


class SafeBenchError(Exception):
    """Base class of every error safe-bench raises on purpose."""


class InputError(SafeBenchError, ValueError):
    """Bad input: a table, a schema or an option that cannot be evaluated.

    The message names the table, the column and the problem; it never quotes a
    value from a real table.
    """

    def __init__(self, message: str, *, column: str | None = None, table: str | None = None):
        super().__init__(message)
        self.column = column
        self.table = table


class GeneratorError(SafeBenchError, RuntimeError):
    """A generator failed or returned a table that does not fit the schema.

    The message names the generator and the problem (a missing or extra column, a
    category never seen in train, a failing command's exit status, a timeout); it
    never quotes a value from a real table, nor a third-party program's output.
    """


class MetricSkipped(SafeBenchError):
    """Raised inside a metric when it does not apply; the message is the reason."""
