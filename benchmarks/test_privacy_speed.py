"""Speed and memory of pillar P, each measured beside its peer in the same run.

Run: ``python -m pytest benchmarks/test_privacy_speed.py --benchmark-only`` (``-k 10k``
and so on for one group). On the FLCHAIN-like tables of :mod:`benchmarks.tables`:

- ``P 10k``: the whole P pillar (nine metrics, intervals, holdout reference), in one
  process and in two (``evaluate(jobs=2)``), against SDMetrics'
  DCROverfittingProtection (one process) without subsampling. SDMetrics' cost grows with
  the square of the rows, so it is timed at 2,000 rows (``SDMETRICS_DCR_ROWS``) and
  the 10k figure extrapolated (x25) into ``extra_info``, with the ratio;
- ``exact 1-NN 100k``: nearest holdout row of every synthetic row (100k x 100k, the
  train-fitted encoding, 45 columns) by safe-bench's engine and by a naive
  scikit-learn ``NearestNeighbors`` on the same matrices;
- ``P 100k``: the whole pillar, with the peak resident memory of the same
  computation in a fresh process (:mod:`benchmarks.memory`);
- ``attacks 100k``: safe-bench's three Anonymeter-method attack metrics (synthetic
  side, 500 attacks) against anonymeter itself, run with the same tables and
  settings by ``benchmarks/anonymeter_crosscheck.py peer`` in the virtualenv named by
  ``ANONYMETER_PYTHON`` (default ``/tmp/anon/bin/python``; skipped without it);
- ``P 1M``: the whole pillar in a fresh process, its time and peak memory; query
  tables are searched through seeded 100k-row subsamples (named in the metrics'
  details), the train index stays whole.

Timings taken while other work runs on the machine are inflated: the load average is
recorded with each result.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import pytest
from sdmetrics.single_table import DCROverfittingProtection
from sklearn.neighbors import NearestNeighbors

from benchmarks import anonymeter_crosscheck
from benchmarks.memory import peak_rss
from benchmarks.tables import SIZES, Tables, flchain_like
from safe_bench import evaluate
from safe_bench.data.schema import Kind
from safe_bench.data.validation import conform
from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.metrics.privacy import anonymeter, attacks
from safe_bench.metrics.privacy.neighbours import nearest

_SDTYPES = {Kind.NUMERIC: "numerical", Kind.DATETIME: "datetime", Kind.CATEGORICAL: "categorical", Kind.BOOLEAN: "boolean"}
#: Rows SDMetrics' DCR is timed at (it grows with the square of the rows; set
#: SDMETRICS_DCR_ROWS=10000 to time it at full size, about 7 minutes).
SDMETRICS_ROWS = int(os.environ.get("SDMETRICS_DCR_ROWS", "2000"))
ANONYMETER_PYTHON = os.environ.get("ANONYMETER_PYTHON", "/tmp/anon/bin/python")
_MEDIANS: dict[str, float] = {}


def p_pillar(tables: Tables, jobs: int = 1):
    return evaluate(tables.train, tables.synthetic, tables.holdout, tables.schema, metrics=["P"], jobs=jobs)


def p_pillar_in_child(tables: Tables) -> None:
    """For :func:`benchmarks.memory.peak_rss` (the result stays in the child)."""
    p_pillar(tables)


def _load(benchmark) -> None:
    benchmark.extra_info["load_average"] = [round(x, 2) for x in os.getloadavg()]


def _speedup(benchmark, peer: str, name: str) -> None:
    """Record how many times faster than the peer timed earlier in this run (if it was)."""
    if peer in _MEDIANS:
        benchmark.extra_info[name] = round(_MEDIANS[peer] / benchmark.stats.stats.median, 1)


def _whole_pillar(benchmark, size: str):
    """Time the whole pillar once at ``size``; every metric must have run. Returns the
    result and the peak memory of the same computation in a fresh process."""
    tables = flchain_like(SIZES[size])
    benchmark.group = f"P {size}: whole pillar"
    result = benchmark.pedantic(p_pillar, args=(tables,), rounds=1, iterations=1)
    assert all(m.status == "ok" for m in result.metrics), {m.id: m.reason for m in result.metrics}
    memory = peak_rss("benchmarks.tables:flchain_like", "benchmarks.test_privacy_speed:p_pillar_in_child", SIZES[size])
    return result, memory


def _sdmetrics_dcr(tables: Tables, rows: int) -> float:
    metadata = {"tables": {"t": {"columns": {c: {"sdtype": _SDTYPES[k]} for c, k in tables.schema.kinds.items()}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DCROverfittingProtection.compute(
            tables.train.iloc[:rows], tables.synthetic.iloc[:rows], tables.holdout.iloc[:rows], metadata, "t"
        )


def test_sdmetrics_dcr_overfitting(benchmark):
    tables = flchain_like(SIZES["10k"])
    benchmark.group = "P 10k: whole pillar (one process, two) vs SDMetrics DCROverfittingProtection"
    benchmark.pedantic(_sdmetrics_dcr, args=(tables, SDMETRICS_ROWS), rounds=1, iterations=1)
    extrapolated = benchmark.stats.stats.median * (SIZES["10k"] / SDMETRICS_ROWS) ** 2
    _MEDIANS["sdmetrics_dcr_10k"] = extrapolated
    benchmark.extra_info.update(rows=SDMETRICS_ROWS, extrapolated_10k_seconds=round(extrapolated, 1))
    _load(benchmark)


@pytest.mark.parametrize("jobs", [1, 2])
def test_p_pillar_10k(benchmark, jobs: int):
    tables = flchain_like(SIZES["10k"])
    benchmark.group = "P 10k: whole pillar (one process, two) vs SDMetrics DCROverfittingProtection"
    result = benchmark.pedantic(p_pillar, args=(tables, jobs), rounds=3, iterations=1)
    # every metric computed, or skipped with its reason (P.linkability finds its attack not
    # informative on these tables: the control attack almost always succeeds); none failed
    assert all(m.status == "ok" or (m.status == "skipped" and m.reason) for m in result.metrics), \
        {m.id: (m.status, m.reason) for m in result.metrics}
    benchmark.extra_info["skipped"] = {m.id: m.reason for m in result.metrics if m.status == "skipped"}
    _speedup(benchmark, "sdmetrics_dcr_10k", "speedup_vs_sdmetrics_dcr_extrapolated")
    _load(benchmark)


@pytest.fixture(scope="module")
def encoded_100k():
    tables = flchain_like(SIZES["100k"])
    data = EvaluationData(*(conform(f, tables.schema, table=n) for f, n in
                            ((tables.train, "train"), (tables.synthetic, "synthetic"), (tables.holdout, "holdout"))),
                          tables.schema)
    return data.matrix("synthetic"), data.matrix("holdout")


def test_sklearn_naive_1nn_100k(benchmark, encoded_100k):
    synthetic, holdout = encoded_100k
    benchmark.group = "exact 1-NN 100k x 100k"
    benchmark.pedantic(lambda: NearestNeighbors(n_neighbors=1).fit(holdout).kneighbors(synthetic), rounds=1, iterations=1)
    _MEDIANS["sklearn_1nn"] = benchmark.stats.stats.median
    _load(benchmark)


def test_exact_1nn_100k(benchmark, encoded_100k):
    synthetic, holdout = encoded_100k
    benchmark.group = "exact 1-NN 100k x 100k"
    benchmark.pedantic(nearest, args=(synthetic, holdout, 1), rounds=3, iterations=1)
    _speedup(benchmark, "sklearn_1nn", "speedup_vs_sklearn")
    _load(benchmark)


def test_p_pillar_100k(benchmark):
    _, memory = _whole_pillar(benchmark, "100k")
    benchmark.extra_info.update(
        rss_process_peak_mib=round(memory.process_peak_mib), rss_peak_during_pillar_mib=round(memory.run_peak_mib)
    )
    _load(benchmark)


def _our_attacks(cmp) -> dict[str, int]:
    """The three attack metrics; the number of attacks each made."""
    metrics = (anonymeter.singling_out, anonymeter.linkability, anonymeter.attribute_inference)
    singling, link, inference = (m(cmp).details for m in metrics)
    return {
        **{f"singling out ({mode})": d["attacks"] for mode, d in singling["modes"].items()},
        "linkability": link["attacks"],
        **{f"inference ({col})": d["attacks"] for col, d in inference["columns"].items()},
    }


@pytest.fixture(scope="module")
def attack_case():
    """The 100k tables for both tools: safe-bench's comparison and anonymeter's files."""
    if not Path(ANONYMETER_PYTHON).exists():
        pytest.skip(f"no anonymeter virtualenv at {ANONYMETER_PYTHON} (set ANONYMETER_PYTHON)")
    tables = flchain_like(SIZES["100k"])
    folder = Path(tempfile.mkdtemp(prefix="anonymeter-"))
    anonymeter_crosscheck.write_case(folder, tables.train, tables.synthetic, tables.holdout, tables.schema, seed=0)
    return tables, folder


def test_anonymeter_attacks_100k(benchmark, attack_case):
    _, folder = attack_case
    benchmark.group = "attacks 100k: 500 attacks each"
    timings = benchmark.pedantic(anonymeter_crosscheck.run_peer, args=(ANONYMETER_PYTHON, folder, True), rounds=1, iterations=1)
    _MEDIANS["anonymeter"] = sum(t["seconds"] for t in timings.values())
    benchmark.extra_info.update(
        {name: {"seconds": round(t["seconds"], 1), "attacks": t["attacks"]} for name, t in timings.items()}
    )
    _load(benchmark)


def test_our_attacks_100k(benchmark, attack_case, monkeypatch):
    tables, _ = attack_case
    monkeypatch.setattr(attacks, "N_ATTACKS", anonymeter_crosscheck.ATTACKS)
    # As many multivariate tries as anonymeter allows, so both find 500 predicates.
    monkeypatch.setattr(attacks, "MAX_ATTEMPTS", 10_000_000)
    benchmark.group = "attacks 100k: 500 attacks each"
    data = EvaluationData(*(conform(f, tables.schema, table=n) for f, n in
                            ((tables.train, "train"), (tables.synthetic, "synthetic"), (tables.holdout, "holdout"))),
                          tables.schema)
    found = benchmark.pedantic(_our_attacks, args=(data.comparison(),), rounds=3, iterations=1)
    benchmark.extra_info["attacks"] = found
    _speedup(benchmark, "anonymeter", "speedup_vs_anonymeter")
    _load(benchmark)


def test_p_pillar_1m(benchmark):
    result, memory = _whole_pillar(benchmark, "1M")
    searched = result.metric("P.dcr_share").details
    assert searched["query_rows_searched"] < searched["query_rows"] == SIZES["1M"]
    benchmark.extra_info.update(
        query_rows_searched=searched["query_rows_searched"],
        rss_inputs_mib=round(memory.inputs_mib),
        rss_peak_during_pillar_mib=round(memory.run_peak_mib),
        rss_process_peak_mib=round(memory.process_peak_mib),
    )
    _load(benchmark)
