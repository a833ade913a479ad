"""Speed and memory of pillar S on FLCHAIN-like tables of 10k, 100k and 1M rows.

Run: ``python -m pytest benchmarks/test_fidelity_speed.py --benchmark-only`` (add
``-k 100k`` for one size). Each size has a benchmark group with

- ``quality_report``: SDMetrics' QualityReport, column shapes and every column pair on
  every row (``num_rows_subsample = None``), ``quality_report_default``: the same with
  SDMetrics' default (pair metrics on a 50,000-row subsample), and ``ks_tv_pairs``:
  safe-bench's S.ks, S.tv and S.pairs on the same tables, each with its 95 % bootstrap
  interval (B = 100) and the holdout reference; the median ratios are recorded in
  ``extra_info`` of ``ks_tv_pairs``;
- ``s_pillar``: the whole S pillar (all eight metrics, intervals and reference), with
  the resident memory of the same computation in a fresh process in ``extra_info``.

Both sides get the same canonical tables (:func:`safe_bench.data.validation.conform`), and
the timed step is the computation on them, as for QualityReport.generate.
"""

from __future__ import annotations

import os
import warnings

import pytest
from sdmetrics.reports.single_table import QualityReport

from benchmarks.memory import peak_rss
from benchmarks.tables import SIZES, Tables, flchain_like
from safe_bench.data.schema import Kind
from safe_bench.data.validation import conform
from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.evaluate import select_metrics
from safe_bench.evaluation.scoring import score_pillars
from safe_bench.metrics.registry import run_metric

_SDTYPES = {Kind.NUMERIC: "numerical", Kind.DATETIME: "datetime", Kind.CATEGORICAL: "categorical", Kind.BOOLEAN: "boolean"}
_MEDIANS: dict[tuple[str, str], float] = {}
#: Timed rounds per size (the 1M run is long, one round).
ROUNDS = {"10k": 5, "100k": 3, "1M": 1}


def canonical(rows: int) -> Tables:
    """The FLCHAIN-like tables of ``rows`` rows in canonical form."""
    t = flchain_like(rows)
    return Tables(*(conform(f, t.schema, table=name) for f, name in
                    ((t.train, "train"), (t.synthetic, "synthetic"), (t.holdout, "holdout"))), t.schema)


def s_metrics(tables: Tables, metrics: list[str]) -> dict:
    """The S metrics on prepared tables (encoding, metrics, references, pillar score)."""
    data = EvaluationData(tables.train, tables.synthetic, tables.holdout, tables.schema)
    results = [run_metric(spec, data) for spec in select_metrics(metrics)]
    assert all(r.ok for r in results), [(r.id, r.reason) for r in results if not r.ok]
    return {"results": results, "pillars": score_pillars(results)}


def whole_pillar(tables: Tables) -> dict:
    return s_metrics(tables, ["S"])


def quality_report(tables: Tables, every_row: bool = True) -> float:
    metadata = {"columns": {c: {"sdtype": _SDTYPES[k]} for c, k in tables.schema.kinds.items()}}
    report = QualityReport()
    if every_row:
        report.num_rows_subsample = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(tables.train, tables.synthetic, metadata, verbose=False)
    return report.get_score()


@pytest.fixture(scope="module", params=list(SIZES))
def size(request) -> str:
    return request.param


def _record_load(benchmark) -> None:
    benchmark.extra_info["load_average"] = [round(x, 2) for x in os.getloadavg()]


def test_quality_report(benchmark, size):
    tables = canonical(SIZES[size])
    benchmark.group = f"S {size}: QualityReport vs S.ks+S.tv+S.pairs"
    benchmark.pedantic(quality_report, args=(tables,), rounds=ROUNDS[size], iterations=1)
    _MEDIANS[(size, "quality_report")] = benchmark.stats.stats.median
    _record_load(benchmark)


def test_quality_report_default(benchmark, size):
    tables = canonical(SIZES[size])
    benchmark.group = f"S {size}: QualityReport vs S.ks+S.tv+S.pairs"
    benchmark.pedantic(quality_report, args=(tables, False), rounds=ROUNDS[size], iterations=1)
    _MEDIANS[(size, "quality_report_default")] = benchmark.stats.stats.median
    _record_load(benchmark)


def test_ks_tv_pairs(benchmark, size):
    tables = canonical(SIZES[size])
    benchmark.group = f"S {size}: QualityReport vs S.ks+S.tv+S.pairs"
    benchmark.pedantic(s_metrics, args=(tables, ["S.ks", "S.tv", "S.pairs"]), rounds=ROUNDS[size], iterations=1)
    median = benchmark.stats.stats.median
    for name in ("quality_report", "quality_report_default"):
        if (size, name) in _MEDIANS:
            benchmark.extra_info[f"ratio_to_{name}"] = round(median / _MEDIANS[(size, name)], 3)
    _record_load(benchmark)


def test_s_pillar(benchmark, size):
    tables = canonical(SIZES[size])
    benchmark.group = f"S {size}: whole pillar"
    benchmark.pedantic(whole_pillar, args=(tables,), rounds=ROUNDS[size], iterations=1)
    memory = peak_rss("benchmarks.test_fidelity_speed:canonical", "benchmarks.test_fidelity_speed:whole_pillar", SIZES[size])
    benchmark.extra_info["rss_inputs_mib"] = round(memory.inputs_mib)
    benchmark.extra_info["rss_peak_during_pillar_mib"] = round(memory.run_peak_mib)
    benchmark.extra_info["rss_process_peak_mib"] = round(memory.process_peak_mib)
    _record_load(benchmark)
