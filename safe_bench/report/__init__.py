"""Reports people read: a self-contained HTML page per evaluation (``html``), the
leaderboard site of a results store (``site``), Markdown and JSON beside them, the
release gate's outcome (``gate``) and plain text for the terminal (``text``).

Every page is one HTML file with its figures inline (SVG as data URIs) and its only
script inline, under a Content-Security-Policy that forbids every network request,
so it opens offline. Text goes through jinja2's autoescaping. Reports show aggregates
only (scores, intervals, curves, binned counts): never a record, real or synthetic.

The package imports nothing itself: the terminal's text does not load jinja2 or
matplotlib, which only the pages need.
"""
