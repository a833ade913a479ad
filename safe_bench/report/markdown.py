"""Markdown for pull requests and READMEs: the gate summary and the leaderboard.

GitHub renders Markdown with inline HTML, so every cell is escaped: ``|`` would break
the table, and ``<``, ``>`` and ``&`` are written as entities, so a column or a reason
such as ``<script>`` shows as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from safe_bench.report.format import ci_text, fmt

if TYPE_CHECKING:
    from safe_bench.gate.gate import Estimate, GateReport
    from safe_bench.report.leaderboard import Board

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


_MARK = {"pass": "✅ pass", "fail": "❌ fail", "missing": "⚠️ missing", "error": "⛔ error"}


def gate_markdown(report: GateReport) -> str:
    """The gate's verdicts as a pull-request comment: verdict first, failing rules first."""
    from safe_bench.gate.gate import anchored, verdict_rows

    counts = report.counts()
    total = len(report.verdicts)
    if report.passed:
        head = f"## ✅ safe-bench gate: release allowed ({total} of {total} rule checks hold)"
    else:
        head = (f"## ❌ safe-bench gate: release blocked ({counts['fail']} failing, {counts['error']} in error "
                f"(a score failed), {counts['missing']} cannot be judged, {counts['pass']} of {total} hold)")
    policy = report.policy
    intro = (f"Policy **{escape(policy.name)}**" + (f" ({code(policy.path)})" if policy.path else "")
             + f" on **{escape(report.candidate)}**"
             + (f", baseline **{escape(report.baseline)}**" if report.baseline else "") + ". "
             + ("Rules are judged on the 95 % confidence interval (its lower bound for ≥, upper for ≤)"
                if policy.judge == "ci" else "Rules are judged on the point estimate")
             + " unless a rule says otherwise"
             + ("; over several seeds a rule must hold in every seed, and the score shown is the mean over seeds."
                if any(v.seeds for v in report.verdicts) else "."))
    with_dataset = any(v.dataset for v in report.verdicts)
    header = ["", "rule", *(["dataset"] if with_dataset else []), "judged", "threshold", "score [95 % CI]",
              "holdout ref", "why / note"]
    rows = []
    for v in verdict_rows(report):
        e = v.estimate
        judged = "–" if v.observed is None else f"{fmt(v.observed)} ({escape(v.judged_on)})"
        threshold = "–" if v.threshold is None else fmt(v.threshold)
        if v.rule.anchor and v.anchor_score is not None:
            threshold += f" ({anchored(v.rule, v.anchor_score)})"
        note = escape(v.message if v.status in ("missing", "error") or v.seeds else v.rule.why)
        rows.append([_MARK[v.status], code(v.rule.check), *([escape(v.dataset)] if with_dataset else []), judged,
                     threshold, estimate_text(e), fmt(e.reference), note])
    parts = [head, intro, table(header, rows)]
    parts += [f"> note: {escape(n)}" for n in report.notes]
    return "\n\n".join(parts) + "\n"


def estimate_text(e: Estimate) -> str:
    """A score and its interval; ``incomplete (reason)`` or ``not scored`` when it has none
    (escaped)."""
    if e.score is None and e.status in ("incomplete", "error", "not scored"):
        return escape(e.status + (f" ({e.reason})" if e.reason else ""))
    return f"{fmt(e.score)} {ci_text(e.ci_low, e.ci_high)}".strip()


def leaderboard_markdown(board: Board) -> str:
    """The leaderboard: one table across datasets, then one per dataset."""
    parts = [f"# SAFE leaderboard: {escape(board.title)}", escape(board.subtitle)]
    header = ["rank", "generator", "SAFE [95 % CI]", "S", "C", "P", "mean rank", "time (s)"]
    parts.append(table(header, [_md_row(r) for r in board.overall], "rlllllrr"))
    if board.friedman:
        parts.append(escape(board.friedman))
    for page in board.datasets:
        parts.append(f"## {escape(page.name)}")
        parts.append(escape(page.subtitle))
        parts.append(table(header[:-2] + ["seeds", "time (s)"], [_md_row(r, dataset=True) for r in page.rows],
                           "rlllllrr"))
    return "\n\n".join(parts) + "\n"


def _md_row(row, *, dataset: bool = False) -> list[str]:
    s = row.scores
    cells = [fmt(row.rank, 1), escape(row.generator), *(estimate_text(s[p]) for p in ("SAFE", "S", "C", "P"))]
    cells.append(str(row.seeds) if dataset else fmt(row.mean_rank, 2))
    cells.append(fmt(row.seconds, 1))
    return cells
