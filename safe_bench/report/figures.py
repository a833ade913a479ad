"""Figures for the reports, drawn with matplotlib from plain aggregates and embedded as
data URIs (no file beside the page, no network): SVG, or PNG for dense small multiples.

Each drawer takes numbers (scores, intervals, curves, binned shares), never a table,
so no record can reach a figure. The pieces a metric's figure is made of (bars, curves,
effects, intervals) are defined with the metrics, which own their figures
(:mod:`safe_bench.metrics.charts`); these drawers turn them into images. The output
is deterministic: fixed SVG hash salt, no date. Matplotlib's object-oriented API is
used without pyplot, so drawing touches no global state and needs no display.
"""

from __future__ import annotations

import base64
import io
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import matplotlib
import matplotlib.lines
import numpy as np
from markupsafe import Markup
from matplotlib.figure import Figure as MplFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter
from matplotlib.typing import RcKeyType

from safe_bench.metrics.charts import Bars, Curve, Effect, Interval, SurvivalPanels
from safe_bench.metrics.stored import Values

REAL = "#3b3b3b"
SYNTHETIC = "#1f6fb4"
HOLDOUT = "#d9480f"
BASELINE = "#8a8a8a"
_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "safe-bench",
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "legend.frameon": False,
}


@dataclass(frozen=True)
class Figure:
    """A figure for a page: its title, the image (an SVG data URI) and a caption; when
    its data are absent, no image and a note saying why."""

    title: str
    image: str | None = None
    caption: str = ""
    note: str = ""
    wide: bool = False  # spans the page width (small multiples)


def absent(title: str, note: str) -> Figure:
    """A figure that could not be drawn, and why."""
    return Figure(title, None, note=note)


def _canvas(width: float, height: float, ncols: int = 1, nrows: int = 1) -> tuple[MplFigure, np.ndarray]:
    """A figure laid out by matplotlib's constrained layout (labels of any length fit)."""
    with matplotlib.rc_context(_RC):
        fig = MplFigure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


#: Size of one small-multiple panel and the margins around it (inches).
_PANEL = (3.1, 2.0)
_MARGIN = {"left": 0.75, "right": 0.15, "top": 0.35, "bottom": 0.5, "between_x": 0.8, "between_y": 0.75}


def _panels(n: int, ncols: int) -> tuple[MplFigure, np.ndarray]:
    """A grid of small multiples with fixed margins: laid out once, not solved for
    (constrained layout costs a second drawing pass per figure)."""
    cols = min(ncols, n)
    rows = -(-n // cols)
    m = _MARGIN
    width = m["left"] + m["right"] + cols * _PANEL[0] + (cols - 1) * m["between_x"]
    height = m["top"] + m["bottom"] + rows * _PANEL[1] + (rows - 1) * m["between_y"]
    with matplotlib.rc_context(_RC):
        fig = MplFigure(figsize=(width, height))
        fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, top=1 - m["top"] / height,
                            bottom=m["bottom"] / height, wspace=m["between_x"] / _PANEL[0],
                            hspace=m["between_y"] / _PANEL[1])
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    return fig, axes


#: Characters an SVG data URI keeps as they are: none has a meaning in a double-quoted
#: HTML attribute or ends the URI, so the URI is written into the page unescaped
#: (parentheses are encoded, so no ``url(`` of the SVG's own clip paths reads as CSS).
_URI_SAFE = " /:=;,.-_!*~'"


#: Geometry attributes of the SVG, whose coordinates keep two decimals (a hundredth of a
#: point: no visible change; matplotlib writes six). Text is left as drawn.
_GEOMETRY = re.compile(r'(\b(?:d|x|y|x1|x2|y1|y2|width|height|points|transform)=")([^"]*)"')
_DECIMALS = re.compile(r"(\d\.\d{2})\d+")
#: What an image needs not carry: the XML declaration, the DOCTYPE, the metadata block.
_PREAMBLE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<metadata>.*?</metadata>", re.S)


def _uri(fig: MplFigure, *, raster: bool = False) -> Markup:
    """The figure as a data URI: SVG as text (whitespace between tags dropped, coordinates
    to a hundredth of a point, only the characters that must be percent-encoded: smaller
    than base64 and readable in a diff), or PNG (``raster``, base64) for dense small
    multiples, which stay a tenth of the size."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        if raster:
            fig.savefig(buffer, format="png", dpi=96, metadata={"Software": None})
            return Markup("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _PREAMBLE.sub("", re.sub(r">\s+<", "><", buffer.getvalue().decode("utf-8")))
    svg = _GEOMETRY.sub(lambda m: m[1] + _DECIMALS.sub(r"\1", m[2]) + '"', svg)
    return Markup("data:image/svg+xml," + urllib.parse.quote(svg, safe=_URI_SAFE))


def _short(label: str, width: int = 34) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


# -- scores with intervals -----------------------------------------------------------
#: Row labels of an interval chart are cut beyond this many characters (every metric's
#: id and name fit).
LABEL_WIDTH = 70


def intervals(title: str, rows: Sequence[Interval], *, xlabel: str = "score (higher is better)",
              reference_label: str = "holdout (real vs real)", score_label: str = "synthetic, with 95 % interval",
              caption: str = "", zoom: bool = True, breaks: Sequence[int] = ()) -> Figure:
    """Dots with 95 % interval bars, one row per score, with the reference as a tick;
    the legend names both. Labels up to :data:`LABEL_WIDTH` characters are kept whole.

    Scores live in 0..1; with ``zoom`` the axis starts a little below the lowest value
    drawn (at a multiple of 0.05) so that close scores can be told apart. A rule is drawn
    before each row index in ``breaks``."""
    if not rows:
        return absent(title, "no score to draw")
    fig, (ax,) = _canvas(7.4, 0.3 * len(rows) + 1.0)
    y = np.arange(len(rows))[::-1]
    for yi, r in zip(y, rows, strict=True):
        if r.low is not None and r.high is not None:
            ax.plot([r.low, r.high], [yi, yi], color=SYNTHETIC, lw=2.2, solid_capstyle="butt")
    ax.plot([r.score for r in rows], y, "o", color=SYNTHETIC, ms=6, label=score_label)
    refs = [(yi, r.reference) for yi, r in zip(y, rows, strict=True) if r.reference is not None]
    if refs:
        ax.plot([v for _, v in refs], [yi for yi, _ in refs], "|", color=HOLDOUT, ms=14, mew=2, label=reference_label)
    fig.legend(loc="outside upper center", ncols=2, fontsize=8)  # above the whole figure: never cut by it
    for i in breaks:
        if 0 < i < len(rows):
            ax.axhline(y[i] + 0.5, color=BASELINE, lw=0.6)
    ax.set_yticks(y, [_short(r.label, LABEL_WIDTH) for r in rows])
    ax.set_xlabel(xlabel)
    values = [v for r in rows for v in (r.score, r.low, r.reference) if v is not None]
    ax.set_xlim(max(0.0, np.floor((min(values) - 0.02) * 20) / 20) if zoom else 0.0, 1.005)
    ax.grid(axis="x", alpha=0.3)
    return Figure(title, _uri(fig), caption)


# -- survival --------------------------------------------------------------------------
#: One colour per line of a round-by-round chart (colour-blind safe, Okabe & Ito 2008).
_LINES = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000")


def line_panels(title: str, panels: Mapping[str, Sequence[Curve]], *, xlabel: str, ylabel: str,
                caption: str = "", ncols: int = 4) -> Figure:
    """Small multiples of lines with markers (e.g. a score per round, one line per
    scenario) and their bands; every panel on the same y axis, so panels compare. A label
    keeps its colour in every panel (a panel may lack a line), and the one legend lists
    every label drawn."""
    drawn = {name: [c for c in curves if len(c.x)] for name, curves in panels.items()}
    drawn = {name: curves for name, curves in drawn.items() if curves}
    if not drawn:
        return absent(title, "no value to draw")
    labels = list(dict.fromkeys(c.label for curves in drawn.values() for c in curves))
    colours = {label: _LINES[i % len(_LINES)] for i, label in enumerate(labels)}
    fig, axes = _panels(len(drawn), ncols)
    values = [v for curves in drawn.values() for c in curves for v in (*c.y, *(c.low or ()))
              if v is not None and np.isfinite(v)]
    low = max(0.0, np.floor((min(values) - 0.02) * 20) / 20) if values else 0.0
    handles = {}
    for ax, (name, curves) in zip(axes, drawn.items(), strict=False):
        for curve in curves:
            colour = colours[curve.label]
            (handles[curve.label],) = ax.plot(curve.x, curve.y, "o-", color=colour, lw=1.4, ms=3.5, label=curve.label)
            if curve.low is not None and curve.high is not None:
                ax.fill_between(curve.x, curve.low, curve.high, color=colour, alpha=0.12, lw=0)
        ax.set_title(_short(name, 36))
        ax.set_ylim(low, 1.01)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].legend([handles[label] for label in labels], labels, fontsize=7, loc="lower right")
    return Figure(title, _uri(fig), caption, wide=min(ncols, len(drawn)) > 2)


#: How each table's survival curve is drawn: line style and width (colour is the level's).
_TABLE_STYLES = {"train (real)": ("-", 1.6), "synthetic": ("--", 1.4), "holdout (real)": (":", 1.6)}
#: Heights (inches) of a survival panel and of one row of its numbers at risk.
_SURVIVAL_HEIGHT, _RISK_ROW = 2.3, 0.17


def survival_panels(title: str, plot: SurvivalPanels, *, ncols: int = 2) -> Figure:
    """Survival curves, one panel per variable with its levels overlaid (a colour per
    level, a line style per table, only train's 95 % band shaded so bands stay
    readable), and under each panel the numbers at risk of train and synthetic per level
    at the plot's round times (the table beneath a published Kaplan-Meier plot)."""
    if not plot.panels:
        return absent(title, "no curve to draw")
    names = list(plot.panels)
    cols = min(ncols, len(names))
    rows = -(-len(names) // cols)
    risk_rows = [max((sum(len(lv.at_risk) for lv in plot.panels[n]) for n in names[r * cols:(r + 1) * cols]),
                     default=0) for r in range(rows)]
    heights = [h for r in range(rows) for h in (_SURVIVAL_HEIGHT, _RISK_ROW * max(risk_rows[r], 1) + 0.25)]
    with matplotlib.rc_context(_RC):
        fig = MplFigure(figsize=(4.6 * cols, sum(heights)), layout="constrained")
        grid = fig.add_gridspec(2 * rows, cols, height_ratios=heights)
    times = np.asarray(plot.risk_times, dtype=float)
    for i, name in enumerate(names):
        r, c = divmod(i, cols)
        ax = fig.add_subplot(grid[2 * r, c])
        risk = fig.add_subplot(grid[2 * r + 1, c], sharex=ax)
        labels: list[str] = []
        for j, level in enumerate(plot.panels[name]):
            colour = _LINES[j % len(_LINES)]
            for table, curve in level.curves.items():
                style, width = _TABLE_STYLES.get(table, ("-", 1.2))
                ax.step(curve.x, curve.y, where="post", color=colour, ls=style, lw=width)
                if table == "train (real)" and curve.low is not None and curve.high is not None:
                    ax.fill_between(curve.x, curve.low, curve.high, step="post", color=colour, alpha=0.12, lw=0)
            for table, counts in level.at_risk.items():
                labels.append(f"{_short(level.level, 18)}, {table.split(' ')[0]}")
                y = -len(labels)
                for t, n in zip(times, counts, strict=False):
                    risk.text(t, y, f"{int(n)}", ha="center", va="center", fontsize=7, color=colour)
        ax.set_title(_short(name, 40), loc="left")
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("survival")
        ax.tick_params(labelbottom=False)
        ax.grid(alpha=0.25)
        if len(plot.panels[name]) > 1:
            ax.legend(handles=[matplotlib.lines.Line2D([], [], color=_LINES[j % len(_LINES)], lw=2, label=_short(lv.level, 18))
                               for j, lv in enumerate(plot.panels[name])], fontsize=7, loc="upper right")
        risk.set_ylim(-max(risk_rows[r], 1) - 0.6, -0.4)  # rows spaced alike across the grid row
        risk.set_yticks([-k for k in range(1, len(labels) + 1)], labels, fontsize=7)
        risk.tick_params(axis="y", length=0)
        for side in ("left", "top", "right"):
            risk.spines[side].set_visible(False)
        risk.set_xlabel(f"{plot.xlabel}; numbers at risk" if labels else plot.xlabel)
        if len(times):
            risk.set_xticks(times, [f"{t:g}" for t in times])
    for i in range(len(names), rows * cols):
        r, c = divmod(i, cols)
        for k in (0, 1):
            fig.add_subplot(grid[2 * r + k, c]).set_axis_off()
    styles = [matplotlib.lines.Line2D([], [], color=REAL, ls=style, lw=width, label=table)
              for table, (style, width) in _TABLE_STYLES.items()]
    fig.legend(handles=styles, loc="outside upper center", ncols=len(styles), fontsize=8)
    return Figure(title, _uri(fig, raster=True), plot.caption, wide=cols > 1)


#: Mantissas of log-axis ticks, coarse to fine: the first set giving at least three ticks
#: inside the axis is used.
LOG_TICK_MANTISSAS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0), (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0,
                                                                                  6.0, 8.0))


def log_ticks(low: float, high: float, *, most: int = 8) -> list[float]:
    """Ticks of a log axis from ``low`` to ``high``: round numbers (1, 2, 5 times a power
    of ten, finer when the axis spans less than a decade), at least three when the axis
    allows and at most ``most``, every one labelled plainly; the minor ticks stay
    unlabelled (every minor tick labelled made "0.002 0.003 ..." unreadable). An axis
    too narrow for such numbers gets round numbers in linear steps."""
    powers = range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 1)
    ticks: list[float] = []
    for mantissas in LOG_TICK_MANTISSAS:
        ticks = [float(f"{m * 10.0 ** k:.6g}") for k in powers for m in mantissas if low <= m * 10.0 ** k <= high]
        if len(ticks) >= 3:
            break
    else:  # a narrow axis (less than a factor 1.25 wide): round numbers in linear steps
        ticks = [float(f"{t:.6g}") for t in MaxNLocator(4, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high) if low <= t <= high]
    step = int(np.ceil(len(ticks) / most))
    return ticks[::step]


def forest(title: str, effects: Sequence[Effect], *, xlabel: str = "hazard ratio (log scale)",
           caption: str = "", log: bool = True, null: float = 1.0,
           labels: tuple[str, str, str] = ("train (real)", "synthetic", "holdout (real, never seen)")) -> Figure:
    """A forest plot: per row the real and the synthetic estimate with intervals, and
    the holdout's when the effects carry it (``labels`` names the three in the legend);
    on a log axis, ticks at round numbers (:func:`log_ticks`)."""
    drawable = [e for e in effects if e.real is not None or e.synthetic is not None]
    if not drawable:
        return absent(title, "no effect estimate to draw")
    series = [("real", REAL, labels[0]), ("synthetic", SYNTHETIC, labels[1])]
    if any(e.holdout is not None for e in drawable):
        series.append(("holdout", HOLDOUT, labels[2]))
    fig, (ax,) = _canvas(5.6, (0.18 * len(series) + 0.2) * len(drawable) + 1.1)
    y = np.arange(len(drawable))[::-1] * 1.0
    offsets = np.linspace(0.25, -0.25, len(series)) if len(series) > 2 else (0.15, -0.15)
    for offset, (attr, colour, label) in zip(offsets, series, strict=True):
        pts = [(yi + offset, getattr(e, attr)) for yi, e in zip(y, drawable, strict=True) if getattr(e, attr) is not None]
        for yi, (_est, low, high) in pts:
            ax.plot([low, high], [yi, yi], color=colour, lw=1.6)
        ax.plot([p[1][0] for p in pts], [p[0] for p in pts], "s", color=colour, ms=4.5, label=label)
    ax.axvline(null, color=BASELINE, lw=0.8, ls="--")
    if log:
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        ax.set_xticks(log_ticks(low, high))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(low, high)
    ax.set_yticks(y, [_short(e.label, 30) for e in drawable])
    ax.set_xlabel(xlabel)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=len(series), fontsize=8)
    return Figure(title, _uri(fig), caption)


class Rated(Protocol):
    """A row of operating characteristics, as :func:`rates` reads it."""

    @property
    def ratio(self) -> float | None: ...

    @property
    def analysis(self) -> str: ...

    @property
    def type_i_error(self) -> Any: ...

    @property
    def power(self) -> Any: ...


def rates(title: str, rows: Sequence[Rated], *, alpha: float = 0.05) -> Figure:
    """Type I error and power of each analysis, with 95 % Monte-Carlo intervals (1.96
    Monte-Carlo errors), beside the nominal ``alpha``: against the ratio of synthetic to
    real rows when there are ratios, per analysis otherwise."""
    drawable = [r for r in rows if r.type_i_error.value is not None or r.power.value is not None]
    if not drawable:
        return absent(title, "no replicate could be analysed")
    fig, (size_ax, power_ax) = _canvas(8.4, 3.2, ncols=2)
    analyses = list(dict.fromkeys(r.analysis for r in drawable))
    by_ratio = any(r.ratio is not None for r in drawable)
    colours = [REAL, SYNTHETIC, HOLDOUT, "#2b8a3e"]
    for ax, attr, name in ((size_ax, "type_i_error", "type I error"), (power_ax, "power", "power")):
        for i, analysis in enumerate(analyses):
            mine = [r for r in drawable if r.analysis == analysis and getattr(r, attr).value is not None]
            x = np.array([r.ratio if by_ratio else i for r in mine], dtype=float)
            y = np.array([getattr(r, attr).value for r in mine], dtype=float)
            err = 1.96 * np.array([getattr(r, attr).mc_error or 0.0 for r in mine], dtype=float)
            ax.errorbar(x + (0.02 * i if by_ratio else 0.0), y, yerr=err, fmt="o-" if by_ratio else "o",
                        color=colours[i % len(colours)], ms=4, lw=1.2, capsize=2, label=analysis)
        if attr == "type_i_error":
            ax.axhline(alpha, color=BASELINE, lw=0.8, ls="--")
        ax.set_ylim(0, 1.0 if attr == "power" else max(0.2, ax.get_ylim()[1]))
        ax.set_ylabel(name)
        if by_ratio:
            ax.set_xlabel("synthetic rows per real row")
        else:
            ax.set_xticks(range(len(analyses)), [_short(a, 14) for a in analyses], fontsize=7)
    size_ax.legend(loc="upper left", fontsize=7)
    caption = (f"Share of replicates rejecting at {alpha:g} where the truth is null (type I error, dashed line at "
               f"{alpha:g}) and where it is not (power), with 95 % Monte-Carlo intervals.")
    return Figure(title, _uri(fig), caption, wide=True)


# -- distributions -------------------------------------------------------------------
def bar_panels(title: str, panels: Sequence[Bars], *, caption: str = "", ncols: int = 3) -> Figure:
    """Small multiples of overlaid distributions: histograms on bin edges, or bars per category."""
    if not panels:
        return absent(title, "no distribution to draw")
    fig, axes = _panels(len(panels), ncols)
    colours = [REAL, SYNTHETIC, HOLDOUT, BASELINE]
    for ax, panel in zip(axes, panels, strict=False):  # the grid may have spare axes
        labels = list(panel.shares)
        numeric = len(panel.bins) > 0 and not isinstance(panel.bins[0], str)
        for i, (label, colour) in enumerate(zip(labels, colours, strict=False)):  # at most four tables drawn
            shares = np.asarray(panel.shares[label], dtype=float)
            if numeric:
                edges = np.asarray(panel.bins, dtype=float)
                ax.stairs(shares, edges, color=colour, lw=1.5, label=label, fill=i == 0, alpha=0.35 if i == 0 else 1)
            else:
                width = 0.8 / max(len(labels), 1)
                x = np.arange(len(shares)) + (i - (len(labels) - 1) / 2) * width
                ax.bar(x, shares, width=width, color=colour, label=label, alpha=0.85)
        if not numeric:
            ax.set_xticks(np.arange(len(panel.bins)), [_short(str(b), 12) for b in panel.bins],
                          rotation=30 if len(panel.bins) > 3 else 0, ha="right" if len(panel.bins) > 3 else "center")
        ax.set_title(_short(panel.name, 36))
        ax.set_ylabel("share")
    axes[0].legend(fontsize=8)
    return Figure(title, _uri(fig, raster=True), caption, wide=min(ncols, len(panels)) > 2)


def heatmap(title: str, labels: Sequence[str], matrix: np.ndarray, *, caption: str = "",
            colorbar: str = "|association difference|", vmax: float | None = None) -> Figure:
    """A square matrix (e.g. association differences between column pairs), NaN blank."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.size == 0 or not np.isfinite(matrix).any():
        return absent(title, "no pair to draw")
    k = len(labels)
    side = min(1.2 + 0.42 * k, 9.0)
    fig, (ax,) = _canvas(side + 1.2, side)
    top = vmax if vmax is not None else max(float(np.nanmax(matrix)), 1e-9)
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap="Reds", vmin=0.0, vmax=top)
    short = [_short(str(label), 18) for label in labels]
    ax.set_xticks(np.arange(k), short, rotation=90)  # upright boxes: labels never overlap
    ax.set_yticks(np.arange(k), short)
    ax.spines[:].set_visible(False)
    fig.colorbar(image, ax=ax, label=colorbar, shrink=0.8)
    return Figure(title, _uri(fig), caption)


def histograms(title: str, edges: Values, counts: Mapping[str, Values], *,
               xlabel: str, caption: str = "") -> Figure:
    """Overlaid histograms on shared bin edges (e.g. distances to the closest record)."""
    edge_values = np.asarray(edges, dtype=float)
    if edge_values.size < 2 or not counts:
        return absent(title, "no histogram to draw")
    fig, (ax,) = _canvas(5.4, 3.0)
    for (label, values), colour in zip(counts.items(), [SYNTHETIC, HOLDOUT, REAL, BASELINE], strict=False):
        shares = np.asarray(values, dtype=float)
        total = shares.sum()
        ax.stairs(shares / total if total > 0 else shares, edge_values, color=colour, lw=1.6, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=8)
    return Figure(title, _uri(fig), caption)


def roc(title: str, curves: Mapping[str, tuple[Values, Values]], *, caption: str = "") -> Figure:
    """ROC curves (false-positive rate, true-positive rate) with the chance diagonal."""
    if not curves:
        return absent(title, "no ROC curve to draw")
    fig, (ax,) = _canvas(3.8, 3.6)
    ax.plot([0, 1], [0, 1], color=BASELINE, lw=0.8, ls="--", label="chance")
    for (label, (fpr, tpr)), colour in zip(curves.items(), [SYNTHETIC, HOLDOUT, REAL], strict=False):
        ax.plot(fpr, tpr, color=colour, lw=1.6, label=label, drawstyle="steps-post")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.legend(fontsize=8, loc="lower right")
    return Figure(title, _uri(fig), caption)


# -- leaderboard -----------------------------------------------------------------------
def critical_difference(title: str, ranks: Mapping[str, float], cd: float | None, *, caption: str = "") -> Figure:
    """The critical-difference diagram (Demšar 2006): generators on the average-rank axis,
    joined by a bar when their ranks differ by less than the critical difference."""
    if len(ranks) < 2:
        return absent(title, "needs at least two generators")
    names = sorted(ranks, key=lambda n: (ranks[n], n))
    k = len(names)
    values = np.array([ranks[n] for n in names])
    half = -(-k // 2)
    fig, (ax,) = _canvas(7.0, 1.6 + 0.28 * half)
    low, high = 1.0, float(max(k, np.ceil(values.max())))
    ax.set_xlim(low - 0.3, high + 0.3)
    ax.set_ylim(-(half + 1.2), 1.3)
    ax.hlines(0, low, high, color="black", lw=1)
    for tick in range(int(low), int(high) + 1):
        ax.vlines(tick, 0, 0.12, color="black", lw=1)
        ax.text(tick, 0.22, str(tick), ha="center", va="bottom", fontsize=8)
    for i, (name, rank) in enumerate(zip(names, values, strict=True)):
        left = i < half
        level = -(i + 1) if left else -(k - i)
        end = low - 0.25 if left else high + 0.25
        ax.plot([rank, rank, end], [0, level, level], color=SYNTHETIC, lw=0.9)
        ax.text(end, level, f" {_short(name, 22)} ({rank:.2f}) " if left else f" ({rank:.2f}) {_short(name, 22)} ",
                ha="right" if left else "left", va="center", fontsize=8)
    if cd is not None and np.isfinite(cd):
        ax.plot([low, low + cd], [1.0, 1.0], color="black", lw=1.5)
        ax.text(low + cd / 2, 1.08, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
        for j, (a, b) in enumerate(_cliques(values, cd)):
            y = -0.25 - 0.16 * j
            ax.plot([values[a] - 0.02, values[b] + 0.02], [y, y], color="black", lw=3)
    ax.set_axis_off()
    return Figure(title, _uri(fig), caption)


def _cliques(values: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs of sorted ranks spanning less than ``cd`` (groups not told apart)."""
    runs: list[tuple[int, int]] = []
    for a in range(len(values)):
        b = a
        while b + 1 < len(values) and values[b + 1] - values[a] < cd:
            b += 1
        if b > a and not any(x <= a and b <= y for x, y in runs):
            runs.append((a, b))
    return runs


@dataclass(frozen=True)
class Point:
    """A generator in the fidelity-privacy plane, with 95 % intervals on both axes."""

    label: str
    x: float
    y: float
    x_ci: tuple[float, float] | None = None
    y_ci: tuple[float, float] | None = None


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """Points not dominated on both axes (higher is better on each), by increasing x."""
    front = [p for p in points
             if not any(q.x >= p.x and q.y >= p.y and (q.x > p.x or q.y > p.y) for q in points)]
    return sorted(front, key=lambda p: (p.x, -p.y))


def tradeoff(title: str, points: Sequence[Point], *, xlabel: str, ylabel: str, caption: str = "",
             reference: Point | None = None) -> Figure:
    """A scatter of generators with intervals and their Pareto front."""
    if not points:
        return absent(title, "no generator with both scores")
    fig, (ax,) = _canvas(5.6, 4.4)
    for p in points:
        xerr = None if p.x_ci is None else [[max(p.x - p.x_ci[0], 0)], [max(p.x_ci[1] - p.x, 0)]]
        yerr = None if p.y_ci is None else [[max(p.y - p.y_ci[0], 0)], [max(p.y_ci[1] - p.y, 0)]]
        ax.errorbar(p.x, p.y, xerr=xerr, yerr=yerr, fmt="o", color=SYNTHETIC, ecolor="#9bbbd9", ms=5, lw=1)
        ax.annotate(_short(p.label, 20), (p.x, p.y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    front = pareto_front(points)
    ax.plot([p.x for p in front], [p.y for p in front], color=HOLDOUT, lw=1.3, ls="-", label="Pareto front",
            drawstyle="steps-pre", marker="o", ms=11, mfc="none", mew=1.5)
    if reference is not None:
        ax.plot([reference.x], [reference.y], "*", color=REAL, ms=10, label=reference.label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    return Figure(title, _uri(fig), caption)
