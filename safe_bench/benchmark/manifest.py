"""A run's manifest: what it ran on (packages, Python, platform, backend; a suite's run
the suite and its data, another run its work)."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from safe_bench.benchmark.cell import CellTask
from safe_bench.benchmark.suite import Suite
from safe_bench.data.datasets import Dataset
from safe_bench.provenance import __version__, source_commit

#: Installed distributions recorded in every run's manifest (when present).
MANIFEST_PACKAGES = (
    "safe-bench", "numpy", "pandas", "scipy", "scikit-learn", "lifelines", "scikit-survival",
    "joblib", "pyarrow", "dask", "distributed", "torch", "ctgan",
)


def packages() -> dict[str, str]:
    """Versions of the installed :data:`MANIFEST_PACKAGES`."""
    found = {}
    for name in MANIFEST_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def environment(backend: str) -> dict[str, Any]:
    """What any run ran on: safe-bench's version and commit, packages, python, platform,
    machine, backend, command line and start time."""
    return {
        "safe_bench": __version__,
        "commit": source_commit(),
        "packages": packages(),
        "python": sys.version,
        "platform": platform.platform(),
        "machine": {"processor": platform.machine(), "cpus": os.cpu_count()},
        "backend": backend,
        "argv": sys.argv,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def build_manifest(suite: Suite, datasets: Mapping[str, Dataset], tasks: Sequence[CellTask],
                   backend: str) -> dict[str, Any]:
    """What a suite's run ran on: :func:`environment`, suite file hash, seeds, data hashes."""
    hashes = {t.record.dataset: t.record.data_hash for t in tasks}
    return {
        **environment(backend),
        "suite": {"name": suite.name, "path": str(suite.path), "sha256": suite.sha256},
        "seeds": list(suite.seeds),
        "n": suite.n,
        "metrics": {"ids": suite.metrics.metric_ids(), "n_bootstrap": suite.metrics.n_bootstrap,
                    "weights": suite.metrics.weights},
        "datasets": {name: {"sha256": hashes.get(name), "rows": len(ds.frame), "source": ds.source}
                     for name, ds in datasets.items()},
        "generators": {g.label: {"generator": g.generator, "params": g.params, "timeout": g.timeout}
                       for g in suite.generators},
    }
