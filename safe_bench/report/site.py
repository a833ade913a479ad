"""The leaderboard site of a results store, written to a folder::

    index.html                      generators ranked across datasets: sortable table,
                                    critical-difference diagram, fidelity vs privacy
    datasets/<dataset>.html         one dataset: its table, its trade-off, every generator's
                                    Kaplan-Meier curve over the real ones, its cells
    cells/<dataset>/<generator>-seed<k>.html   one cell's evaluation page
    leaderboard.md, leaderboard.json

Every page is self-contained (see :mod:`safe_bench.report.html`); links are relative,
so the folder can be opened from disk or served as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from safe_bench.benchmark.store import Store
from safe_bench.data.io import write_text
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, plain
from safe_bench.metrics.charts import Curve, SurvivalLevel, SurvivalPanels
from safe_bench.metrics.clinical.km import EVERYONE, HOLDOUT, SYNTHETIC, TRAIN, KmDetails
from safe_bench.metrics.registry import read_details, read_reference_details
from safe_bench.report.figures import Figure, Point, absent, critical_difference, survival_panels, tradeoff
from safe_bench.report.html import built_at, evaluation_html, render
from safe_bench.report.leaderboard import LeaderboardPage, Row, leaderboard_page, slug
from safe_bench.report.markdown import leaderboard_markdown

_TRADEOFF_CAPTION = (
    "Each generator at its statistical fidelity (S) and privacy preservation (P), with 95 % intervals; "
    "the line joins the Pareto front (no other generator is better on both); the star is the holdout "
    "(real patients never seen by any generator), the real-vs-real reference."
)


def _point(row: Row) -> Point | None:
    s, p = row.scores["S"], row.scores["P"]
    if s.score is None or p.score is None:
        return None
    return Point(row.generator, s.score, p.score,
                 None if s.ci_low is None or s.ci_high is None else (s.ci_low, s.ci_high),
                 None if p.ci_low is None or p.ci_high is None else (p.ci_low, p.ci_high))


def _tradeoff(title: str, rows: list[Row], reference: tuple[float | None, float | None]) -> Figure:
    points = [p for p in map(_point, rows) if p is not None]
    ref = None if None in reference else Point("holdout (real vs real)", reference[0], reference[1])  # type: ignore[arg-type]
    return tradeoff(title, points, xlabel="S: statistical fidelity", ylabel="P: privacy preservation",
                    caption=_TRADEOFF_CAPTION, reference=ref)


_OVERLAY = "Kaplan-Meier curves of every generator"


def _survival_overlay(store: Store, rows: list[Row]) -> Figure:
    """Every generator's synthetic Kaplan-Meier curve of all patients on one dataset,
    over train's (with its band) and the holdout's, from the same split: the lowest seed
    at which every generator's C.km was computed; numbers at risk beneath."""
    found: dict[int, dict[str, tuple[KmDetails, KmDetails | None]]] = {}
    for row in rows:
        for link in row.links:
            if link.status != "ok":
                continue
            km = next((m for m in store.result(link.key).metrics if m.id == "C.km" and m.ok), None)
            details = None if km is None else read_details(km)
            if isinstance(details, KmDetails) and EVERYONE in details.curves:
                reference = read_reference_details(km) if km is not None else None
                found.setdefault(link.seed, {})[row.generator] = (
                    details, reference if isinstance(reference, KmDetails) else None)
    seeds = sorted(seed for seed, by in found.items() if len(by) == len(rows))
    if not seeds:
        return absent(_OVERLAY, "C.km was not computed for every generator at one seed")
    by_generator = found[seeds[0]]
    first, reference = next(iter(by_generator.values()))
    real = first.curves[EVERYONE]
    held = None if reference is None or reference.curves.get(EVERYONE) is None else reference.curves[EVERYONE].gap
    real_curves = {TRAIN: real.train} | ({HOLDOUT: held.table} if held is not None and held.table else {})
    levels = [SurvivalLevel("real patients", {
        t: Curve(t, reference.grid if t == HOLDOUT and reference else first.grid, c.survival, c.low, c.high)
        for t, c in real_curves.items() if c is not None}, {TRAIN: real.train.at_risk} if real.train else {})]
    for generator, (details, _) in by_generator.items():
        stratum = details.curves[EVERYONE]
        table = None if stratum.gap is None else stratum.gap.table
        if table is not None:
            levels.append(SurvivalLevel(generator, {SYNTHETIC: Curve(SYNTHETIC, details.grid, table.survival, None, None)},
                                        {SYNTHETIC: table.at_risk} if len(table.at_risk) else {}))
    unit = f" ({first.time_unit})" if first.time_unit else ""
    return survival_panels(_OVERLAY, SurvivalPanels(
        {"all patients": levels}, real.train.risk_times if real.train else (), f"time{unit}",
        f"Survival of all patients: train (real, solid, 95 % band shaded), the holdout (real patients no generator saw, "
        f"dotted) and each generator's synthetic table (dashed), seed {seeds[0]}; numbers at risk beneath."), ncols=1)


def _reference(leaderboard: LeaderboardPage, key: str) -> float | None:
    refs = [ref for d in leaderboard.datasets if (ref := d.reference[key]) is not None]
    return sum(refs) / len(refs) if refs else None


def _check_rankable(store: Store) -> None:
    """Refuse a store without a cell, or without a SAFE score to rank by."""
    if store.cells().empty:
        raise InputError(f"results store {str(store.path)!r} holds no cell")
    if store.scores("SAFE")["score"].isna().all():
        raise InputError(f"no cell in {str(store.path)!r} has a SAFE score: nothing to rank")


def write_site(store_path: str | Path, out: str | Path, *, title: str | None = None, cells: bool = True) -> list[Path]:
    """Write the leaderboard site of ``store_path`` into ``out``; returns the files written.
    With ``cells=False`` the per-cell pages are not written (nor linked)."""
    out = Path(out)
    written: list[Path] = []

    def emit(relative: str, text: str) -> None:
        write_text(text, out / relative)
        written.append(out / relative)

    with Store(store_path, readonly=True) as store:
        _check_rankable(store)
        leaderboard = leaderboard_page(store, title=title or f"{Path(store_path).stem}")
        pages = _cell_pages(store, leaderboard) if cells else []
        provenance = _provenance(store)
        overlays = {d.name: _survival_overlay(store, d.rows) for d in leaderboard.datasets}
    for href, result, nav, page_title in pages:  # every result was read and checked before any file is written
        emit(href, evaluation_html(result, nav=nav, title=page_title, provenance=provenance))
    ranks = dict(zip(leaderboard.ranking.table["generator"], leaderboard.ranking.table["average_rank"], strict=True))
    cd = critical_difference(
        "Critical-difference diagram", ranks, leaderboard.ranking.critical_difference,
        caption="Average SAFE rank across datasets (1 is best). Generators joined by a bar are not significantly "
        "different (Nemenyi test, Demšar 2006).") if leaderboard.ranking.critical_difference is not None else absent(
        "Critical-difference diagram", leaderboard.ranking.note)
    overall_tradeoff = _tradeoff("Fidelity versus privacy", leaderboard.overall,
                                 (_reference(leaderboard, "S"), _reference(leaderboard, "P")))
    emit("index.html", render("leaderboard.html", title=f"SAFE leaderboard: {leaderboard.title}",
                              nav=[(d.name, f"datasets/{d.slug}.html") for d in leaderboard.datasets],
                              leaderboard=leaderboard, figures=[cd, overall_tradeoff], root="", provenance=provenance))
    for d in leaderboard.datasets:
        figure = _tradeoff(f"Fidelity versus privacy on {d.name}", d.rows, (d.reference["S"], d.reference["P"]))
        emit(f"datasets/{d.slug}.html", render(
            "dataset.html", title=f"SAFE leaderboard: {leaderboard.title}: {d.name}",
            nav=[("leaderboard", "../index.html")], dataset=d, figures=[figure, overlays[d.name]], root="../",
            provenance=provenance))
    emit("leaderboard.md", leaderboard_markdown(leaderboard) + f"\nGenerated by {provenance}.\n")
    emit("leaderboard.json", _json(leaderboard, provenance))
    return written


def _cell_pages(store: Store, leaderboard: LeaderboardPage) -> list[tuple[str, EvaluationResult, list[tuple[str, str]], str]]:
    """Each finished cell's page: its path (set as its link's ``href``), its result, its
    navigation and its title. Reads every result, so a store whose results do not load
    fails here, before anything is written."""
    pages = []
    for d in leaderboard.datasets:
        taken: set[str] = set()
        for row in d.rows:
            base = slug(row.generator, taken)
            for link in row.links:
                if link.status == "ok":
                    link.href = f"cells/{d.slug}/{base}-seed{link.seed}.html"
                    nav = [("leaderboard", "../../index.html"), (d.name, f"../../datasets/{d.slug}.html")]
                    pages.append((link.href, store.result(link.key), nav,
                                  f"SAFE report: {row.generator} on {d.name}, seed {link.seed}"))
    return pages


def _provenance(store: Store) -> str:
    """The source the pages are written by and the sources the cells were run by (from
    each run's manifest: its commit, or its safe-bench version outside a checkout; a run
    of other work, which names it under ``work``, ran no cell)."""
    try:
        manifests = [m for m in store.runs()["manifest"] if isinstance(m, dict) and "work" not in m]
    except ValueError:  # a run record edited by hand: the pages still say who wrote them
        manifests = []
    sources = sorted({f"commit {m['commit']}" if m.get("commit") else f"safe-bench {m.get('safe_bench', '?')}"
                      for m in manifests})
    return f"{built_at()}, from cells run at {', '.join(map(str, sources)) or 'no recorded run'}"


def _json(leaderboard: LeaderboardPage, provenance: str) -> str:
    return json.dumps(plain({**leaderboard.to_dict(), "provenance": provenance}), indent=2, allow_nan=False,
                      ensure_ascii=False) + "\n"
