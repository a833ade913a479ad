"""Reports people read: a self-contained HTML page per evaluation, the leaderboard
site of a results store, and Markdown and JSON beside them.

Every page is one HTML file with its figures inline (SVG as data URIs) and its only
script inline, under a Content-Security-Policy that forbids every network request,
so it opens offline. Text goes through jinja2's autoescaping. Reports show aggregates
only (scores, intervals, curves, binned counts): never a record, real or synthetic.
"""

from safe_bench.report.html import evaluation_html, write_evaluation_page

__all__ = ["evaluation_html", "write_evaluation_page"]
