"""A tiny results store of real evaluations for the report and browser tests.

Two bundled datasets x two baselines x two seeds, each cell split, fitted and
evaluated for real on a few fast metrics with few bootstrap resamples.
"""

from __future__ import annotations

import time
from pathlib import Path

from safe_bench import evaluate, load_dataset, load_generator, split
from safe_bench.benchmark.store import CellRecord, Store

#: Fast metrics of every pillar, with figures of each kind (S.pairs: SVG, C.km: PNG small multiples).
FAST = ["S.ks", "S.tv", "S.pairs", "C.km", "P.exact", "P.dcr_share"]
#: The store's cells skip the Kaplan-Meier figures (the costliest to draw) but keep a C metric.
STORE_METRICS = ["S.ks", "S.tv", "S.pairs", "C.censoring", "P.exact", "P.dcr_share"]
DATASETS = ("gbsg2", "veterans")
GENERATORS = ("gaussian_copula", "bootstrap_copy")
SEEDS = (0, 1)


def make_store(path: Path, *, generators=GENERATORS, datasets=DATASETS, metrics=STORE_METRICS) -> Path:
    """Write the store and return its path."""
    with Store(path, create=True) as store:
        for name in datasets:
            dataset = load_dataset(name)
            for seed in SEEDS:
                parts = split(dataset.frame, dataset.schema, seed=seed)
                for label in generators:
                    generator = load_generator(label)
                    start = time.perf_counter()
                    generator.fit(parts.train, dataset.schema, seed=seed)
                    fitted = time.perf_counter()
                    synthetic = generator.sample(len(parts.train), seed=seed)
                    result = evaluate(parts.train, synthetic, parts.holdout, dataset.schema, seed=seed,
                                      n_bootstrap=10, metrics=metrics, label=f"{label} on {name}")
                    store.record(CellRecord(
                        key=f"{name}-{label}-{seed}", synthetic_key=f"{name}-{label}-{seed}", dataset=name,
                        generator=label, generator_name=label, params={}, seed=seed, data_hash="test",
                        version="test", status="ok", timings={"fit": fitted - start, "sample": time.perf_counter() - fitted},
                        result_json=result.to_json()))
    return path
