"""Self-contained HTML pages through jinja2 with autoescaping.

Each page carries its stylesheet and its one script (the table sorter) inline and
is served under a Content-Security-Policy that allows only those two (by hash) and
images from data URIs: the page makes no network request and opens offline, and
text that slipped past escaping still could not run a script.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from safe_bench.data.io import write_text
from safe_bench.evaluation.evaluate import EvaluationResult
from safe_bench.provenance import __version__, source_commit
from safe_bench.report.evaluation import evaluation_page as build_evaluation_page
from safe_bench.report.format import ci_text, fmt


@cache
def environment() -> jinja2.Environment:
    """The template environment: autoescaping on, undefined names an error."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("safe_bench.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(fmt=fmt, ci_text=ci_text, sortkey=sortkey)
    return env


def sortkey(value: float | int | None) -> str:
    """A number as a table sorts it (12 significant digits, as results are stored); empty when missing."""
    return "" if value is None else f"{float(value):.12g}"


def _asset(name: str) -> str:
    env = environment()
    assert env.loader is not None
    return env.loader.get_source(env, name)[0]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@cache
def _page_assets() -> dict[str, str]:
    css, script = _asset("report.css"), _asset("sorter.js")
    csp = (f"default-src 'none'; img-src data:; style-src {_sha256(css)}; script-src {_sha256(script)}; "
           "base-uri 'none'; form-action 'none'")
    return {"css": css, "script": script, "csp": csp, "version": __version__, "provenance": built_at()}


def built_at() -> str:
    """The source a page is written by, as its footer says it."""
    commit = source_commit()
    return f"safe-bench {__version__}" + (f" at commit {commit}" if commit else "")


def render(template: str, *, title: str, nav: Sequence[tuple[str, str]] = (), **context: Any) -> str:
    """Render a page template with the shared stylesheet, script and policy; ``provenance``
    in ``context`` replaces the footer's default (the source the page is written by)."""
    return environment().get_template(template).render(**{"title": title, "nav": list(nav), **_page_assets(), **context})


def evaluation_html(result: EvaluationResult, *, title: str | None = None,
                    nav: Sequence[tuple[str, str]] = (), provenance: str | None = None) -> str:
    """The page of one evaluation: SAFE and its pillars first, then per pillar metrics and figures."""
    page = build_evaluation_page(result, title=title)
    return render("evaluation.html", title=page.title, nav=nav, page=page, provenance=provenance or built_at())


def write_evaluation_page(result: EvaluationResult, path: str | Path, *, title: str | None = None) -> None:
    """Write the page of one evaluation (atomically)."""
    write_text(evaluation_html(result, title=title), path)
