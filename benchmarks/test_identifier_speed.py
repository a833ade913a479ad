"""Time and peak memory with a code per patient (issue 14, item 1), against the same
table without it.

Run once: ``python -m pytest benchmarks/test_identifier_speed.py --benchmark-only``
(two evaluations of 100k rows, each in a fresh process). On the FLCHAIN-like tables of
:mod:`benchmarks.tables`, with the pillars the column reaches (S, P and C.tstr, whose
covariates are encoded):

- ``ordinary``: the tables as they are;
- ``codes``: plus a column declared categorical holding a code of its own for every
  train row (100k categories) and every holdout row (codes train never has), which
  the synthetic table copies from train rows drawn at random. Its one-hot would be
  100k x 100k floats (75 GiB) per encoded table; the column is identifier-like
  (:mod:`safe_bench.evaluation.encoding`) and left out of distances.

Each evaluation runs in a spawned process (:mod:`benchmarks.memory`), which reports
its peak resident memory; its own evaluation time is in ``extra_info`` (the timed
figure adds making the tables and starting the process). The load average is
recorded with each result.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.memory import peak_rss
from benchmarks.tables import SIZES, flchain_like
from safe_bench import evaluate
from safe_bench.data.schema import Kind, Schema

METRICS = ["S", "P", "C.tstr"]


@dataclass(frozen=True)
class Case:
    train: pd.DataFrame
    synthetic: pd.DataFrame
    holdout: pd.DataFrame
    schema: Schema
    clock: Path  # where the measuring process writes its evaluation time


def make_case(rows: int, codes: bool, clock: str) -> Case:
    """The FLCHAIN-like tables of ``rows`` rows, with a code per patient if ``codes``."""
    tables = flchain_like(rows)
    train, synthetic, holdout = tables.train.copy(), tables.synthetic.copy(), tables.holdout.copy()
    schema = tables.schema
    if codes:
        rng = np.random.default_rng(rows)
        train["code"] = [f"p{i}" for i in rng.permutation(rows)]
        holdout["code"] = [f"p{i}" for i in rows + rng.permutation(rows)]
        synthetic["code"] = train["code"].to_numpy()[rng.integers(0, rows, size=rows)]
        schema = replace(schema, kinds={**schema.kinds, "code": Kind.CATEGORICAL})
    return Case(train, synthetic, holdout, schema, Path(clock))


def evaluate_case(case: Case) -> None:
    """For :func:`benchmarks.memory.peak_rss`: evaluate, write the seconds taken and
    whether every metric ran."""
    start = time.perf_counter()
    result = evaluate(case.train, case.synthetic, case.holdout, case.schema, metrics=METRICS)
    seconds = time.perf_counter() - start
    failed = {m.id: m.reason for m in result.metrics if m.status == "error"}
    case.clock.write_text(f"{seconds}\n{failed}\n{result.extra.get('notes', [])}\n")


def _measure(benchmark, codes: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = os.path.join(folder, "clock")
        benchmark.group = "whole evaluation (S, P, C.tstr), 100k rows"
        memory = benchmark.pedantic(
            peak_rss, args=("benchmarks.test_identifier_speed:make_case", "benchmarks.test_identifier_speed:evaluate_case",
                            SIZES["100k"], codes, clock), rounds=1, iterations=1)
        seconds, failed, notes = Path(clock).read_text().splitlines()
    assert failed == "{}", failed
    benchmark.extra_info.update(
        evaluate_seconds=round(float(seconds), 1),
        rss_inputs_mib=round(memory.inputs_mib),
        rss_peak_during_evaluation_mib=round(memory.run_peak_mib),
        rss_process_peak_mib=round(memory.process_peak_mib),
        notes=notes,
        load_average=[round(x, 2) for x in os.getloadavg()],
    )


def test_ordinary_100k(benchmark):
    _measure(benchmark, codes=False)


def test_code_per_patient_100k(benchmark):
    _measure(benchmark, codes=True)
