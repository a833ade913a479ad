"""A run's plan: every cell of a suite as a task, its record holding the cell's keys.

A cell's synthetic key hashes what makes its synthetic table (the real data, the
generator, its provider and settings, the seed, the sample size, the holdout fraction,
the package version); its key adds what the evaluation depends on (the dataset's name,
the entry's label, the metrics, the bootstrap resamples, the weights). The store skips
the cells whose key it holds and reuses the synthetic tables whose synthetic key it holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from safe_bench.benchmark.cell import CellTask
from safe_bench.benchmark.store import CellRecord, data_hash, digest
from safe_bench.benchmark.suite import Suite
from safe_bench.data.datasets import Dataset
from safe_bench.data.protocol import HOLDOUT_FRACTION
from safe_bench.generator import Generator, load_generator
from safe_bench.provenance import __version__


def provider(generator: Generator) -> str:
    """``module:class`` of a generator instance (part of the cell key)."""
    cls = type(generator)
    return f"{cls.__module__}:{cls.__qualname__}"


def plan(suite: Suite, datasets: Mapping[str, Dataset]) -> list[CellTask]:
    """Every cell of the suite as a task, its record holding the keys (status "pending")."""
    hashes = {name: data_hash(ds.frame, ds.schema) for name, ds in datasets.items()}
    metric_ids = suite.metrics.metric_ids()
    instances = {g.label: load_generator(g.generator, **g.params) for g in suite.generators}
    preload = tuple(sorted({type(g).__module__ for g in instances.values()}))
    tasks = []
    for dataset, gen, seed in suite.cells():
        synthetic_key = digest({
            "data": hashes[dataset.name], "generator": gen.generator, "provider": provider(instances[gen.label]),
            "params": gen.params, "seed": seed, "n": suite.n, "holdout_fraction": HOLDOUT_FRACTION,
            "version": __version__,
        })
        key = digest({
            "synthetic": synthetic_key, "dataset": dataset.name, "label": gen.label, "metrics": metric_ids,
            "n_bootstrap": suite.metrics.n_bootstrap, "weights": suite.metrics.weights,
        })
        record = CellRecord(key, synthetic_key, dataset.name, gen.label, gen.generator, gen.params, seed,
                            hashes[dataset.name], __version__, status="pending")
        ds = datasets[dataset.name]
        tasks.append(CellTask(record, ds.frame, ds.schema, instances[gen.label], suite.n, suite.metrics.select,
                              suite.metrics.n_bootstrap, suite.metrics.weights, gen.timeout, preload=preload))
    return tasks
