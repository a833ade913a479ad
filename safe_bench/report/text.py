"""Plain text for the terminal: aligned tables, the scores of one evaluation and the
leaderboard of a results store, rendered from the same models as the HTML and Markdown
pages (:class:`safe_bench.report.scores.EvaluationScores`,
:class:`safe_bench.report.leaderboard.LeaderboardPage`).

Text is ASCII where the pages are typographic: a missing number is ``-`` (the pages
write an en dash), the Friedman statistic is ``chi2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from safe_bench.report.leaderboard import LeaderboardPage, Row
from safe_bench.report.scores import EvaluationScores, ScoreRow


def number(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals, ``-`` when there is none."""
    return "-" if value is None else f"{value:.{digits}f}"


def interval(low: float | None, high: float | None) -> str:
    """``[low, high]``, or nothing when a bound is missing."""
    return "" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"


def score(row: ScoreRow) -> str:
    """A score, or the status of a pillar that has none (``incomplete`` / ``not scored``)."""
    return row.status if row.unscored else number(row.score)


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """An aligned table: the header, a rule, then the rows (``str`` of each cell)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


#: How to read the scores, printed under them by ``demo`` and ``evaluate``.
READING_GUIDE = (
    "How to read this: every score is 0..1, higher is better, with its 95 % interval.\n"
    "  S  statistical fidelity: marginals, pairs and triples, missingness, detectability by a classifier\n"
    "  C  clinical utility: Kaplan-Meier curves, log-rank, Cox hazard ratios, RMST, prognostic scores,\n"
    "     models trained on synthetic and tested on real\n"
    "  P  privacy: copies, distances to training patients, membership and Anonymeter attacks; 1 = the\n"
    "     table reveals no more about training patients than fresh real patients would\n"
    "  SAFE  the geometric mean of S, C and P: one weak pillar pulls it down\n"
    "The holdout (real reference) is what real patients the generator never saw score: the ceiling."
)


def evaluation_text(scores: EvaluationScores) -> str:
    """The pillar table and the metric table of one evaluation, and its privacy verdict."""
    head = (
        f"SAFE evaluation{' of ' + scores.label if scores.label else ''}: "
        f"synthetic {scores.synthetic_rows} rows vs train {scores.train_rows} rows, "
        f"holdout {scores.holdout_rows or 'none'} (seed {scores.seed}, {scores.n_bootstrap} bootstrap resamples)"
    )
    if not scores.holdout_rows:
        head += ("\nNo holdout: privacy (P) and SAFE cannot be scored, and S and C have no real reference; pass "
                 "--holdout with real rows the generator never saw (`safe-bench split` makes them).")
    metrics = {m.id: m for m in scores.metrics}
    pillar_rows = []
    for p in scores.pillars:
        worst = f"{p.worst} {number(metrics[p.worst].score)}" if p.worst in metrics else p.worst
        pillar_rows.append([f"{p.id}  {p.name}", score(p), interval(p.ci_low, p.ci_high), number(p.reference), worst,
                            p.reason])
    metric_rows = [[m.id, number(m.score), interval(m.ci_low, m.ci_high), number(m.reference), m.status, m.reason]
                   for m in scores.metrics]
    parts = [
        head,
        table(pillar_rows, ["pillar", "score", "95% CI", "holdout ref", "worst", "note"]),
        table(metric_rows, ["metric", "score", "95% CI", "holdout ref", "status", "reason"]),
    ]
    if scores.blocks:
        block_rows = [[f"{b.id}  {b.name}", score(b), interval(b.ci_low, b.ci_high), number(b.reference), b.worst, b.reason]
                      for b in scores.blocks]
        parts.insert(2, table(block_rows, ["S per column block", "score", "95% CI", "holdout ref", "worst", "columns"]))
    if scores.privacy_verdict:
        parts.append("Privacy verdict: " + scores.privacy_verdict)
    return "\n\n".join(parts)


def ranking_text(ranked: Sequence[EvaluationScores], *, what: str = "generator") -> str:
    """Several evaluations of one real table as a leaderboard (best SAFE first, as
    :func:`~safe_bench.report.scores.ranked` orders them): SAFE with its interval, the
    pillars, the privacy verdict's level, and the holdout's real-vs-real reference."""
    rows = []
    for rank, scores in enumerate(ranked, 1):
        safe = scores.pillar("SAFE")
        rows.append([str(rank), scores.label, f"{score(safe)} {interval(safe.ci_low, safe.ci_high)}".rstrip(),
                     *(score(scores.pillar(k)) for k in ("S", "C", "P")), scores.privacy_level or "-"])
    if ranked and ranked[0].holdout_rows:
        rows.append(["", "holdout (real reference)", *(number(ranked[0].pillar(k).reference) for k in ("SAFE", "S", "C", "P")),
                     ""])
    return table(rows, ["rank", what, "SAFE [95% CI]", "S", "C", "P", "privacy verdict"])


def _on_dataset(row: Row | None, rank: float) -> str:
    """A generator's ranked score on one dataset and its rank there."""
    suffix = "" if math.isnan(rank) else f" ({rank:g})"  # NaN: the dataset is left out of the ranking
    if row is None:
        return "no cell" + suffix
    r = row.ranked
    text = f"{r.mean:.3f} {interval(r.ci_low, r.ci_high)}".rstrip() if r.status == "ok" else r.status
    return text + suffix


def leaderboard_text(page: LeaderboardPage) -> str:
    """The ranking, the per-dataset means and ranks, the tests and the cells without a result."""
    s, ranking = page.score, page.ranking
    overall = [[f"{r.rank:g}", r.generator, number(r.mean_rank, 2), number(r.ranked.mean), str(r.ranked.scored),
                str(r.ranked.unscored)] for r in page.overall]
    parts = [
        f"Leaderboard by {s}: {len(ranking.ranks)} dataset(s) ranked, {len(page.overall)} generators, "
        f"{len(page.cells)} cells ({page.finished} ok)",
        table(overall, ["rank", "generator", "average rank", f"mean {s}", "datasets", "cells without score"]),
    ]
    generators = [r.generator for r in page.overall]
    per_dataset, unscored = [], []
    for d in page.datasets:
        rows = {r.generator: r for r in d.rows}
        per_dataset.append([d.name, *(_on_dataset(rows.get(g), rows[g].rank if g in rows else d.absent[g])
                                      for g in generators)])
        unscored += [f"  {d.name} x {g}: {rows[g].ranked.reason}" for g in generators
                     if g in rows and rows[g].ranked.status in ("incomplete", "not scored")]
    parts.append(f"{s} per dataset: mean over seeds [95% interval: each seed's bootstrap and the spread "
                 "between seeds] (rank)\n" + table(per_dataset, ["dataset", *generators]))
    if unscored:
        parts.append(f"{s} without a score (ranked last):\n" + "\n".join(unscored))
    f = ranking.friedman
    if f is None:
        parts.append(ranking.note)
    else:
        parts.append(f"Friedman chi2 = {f.statistic:.3f} (p = {f.pvalue:.3g}), Iman-Davenport F = {f.f_statistic:.3f} "
                     f"(p = {f.f_pvalue:.3g}) over {f.n_datasets} datasets and {f.k} generators.\n"
                     f"Nemenyi critical difference (alpha {ranking.alpha:g}): {ranking.critical_difference:.3f}; "
                     "generators whose average ranks differ by less are not significantly different.")
    unfinished = page.unfinished
    if unfinished:
        parts.append("Cells without a result:\n" + "\n".join(
            f"  {c.dataset} x {c.generator} x seed {c.seed}: {c.status} during {c.stage}: {c.reason}"
            for c in unfinished))
    return "\n\n".join(parts)
