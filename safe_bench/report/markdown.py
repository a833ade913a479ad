"""Markdown for pull requests and READMEs: escaped cells and tables, a score with its
interval, and the leaderboard (the gate's summary is :mod:`safe_bench.report.gate`).

GitHub renders Markdown with inline HTML, so every cell is escaped: ``|`` would break
the table, and ``<``, ``>`` and ``&`` are written as entities, so a column or a reason
such as ``<script>`` shows as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from safe_bench.benchmark.seeds import Estimate
from safe_bench.report.format import ci_text, fmt
from safe_bench.report.leaderboard import LeaderboardPage, Row

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "\n": " ", "\r": " ", "`": "&#96;"}


def escape(text: object) -> str:
    """Text safe inside a Markdown table cell (no HTML, no cell break)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def code(text: object) -> str:
    """Text as inline code (backticks cannot occur inside: they are escaped first)."""
    return f"`{str(text).replace('`', '')}`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str | None = None) -> str:
    """A Markdown table; cells must already be escaped. ``align`` is one of l/r per column."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def estimate_text(e: Estimate) -> str:
    """A score and its interval; ``incomplete (reason)`` or ``not scored`` when it has none
    (escaped)."""
    if e.score is None and e.status in ("incomplete", "error", "not scored"):
        return escape(e.status + (f" ({e.reason})" if e.reason else ""))
    return f"{fmt(e.score)} {ci_text(e.ci_low, e.ci_high)}".strip()


def leaderboard_markdown(page: LeaderboardPage) -> str:
    """The leaderboard: one table across datasets, then one per dataset."""
    parts = [f"# SAFE leaderboard: {escape(page.title)}", escape(page.subtitle)]
    header = ["rank", "generator", "SAFE [95 % CI]", "S", "C", "P", "mean rank", "time (s)"]
    parts.append(table(header, [_md_row(r) for r in page.overall], "rlllllrr"))
    if page.friedman:
        parts.append(escape(page.friedman))
    for dataset in page.datasets:
        parts.append(f"## {escape(dataset.name)}")
        parts.append(escape(dataset.subtitle))
        parts.append(table(header[:-2] + ["seeds", "time (s)"], [_md_row(r, dataset=True) for r in dataset.rows],
                           "rlllllrr"))
    return "\n\n".join(parts) + "\n"


def _md_row(row: Row, *, dataset: bool = False) -> list[str]:
    s = row.scores
    cells = [fmt(row.rank, 1), escape(row.generator), *(estimate_text(s[p]) for p in ("SAFE", "S", "C", "P"))]
    cells.append(str(row.seeds) if dataset else fmt(row.mean_rank, 2))
    cells.append(fmt(row.seconds, 1))
    return cells
