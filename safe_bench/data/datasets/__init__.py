"""Bundled datasets: real clinical tables shipped inside installed packages, loaded offline.

Each comes with a curated schema (survival endpoint, column kinds, group variables,
sensitive columns and quasi-identifiers). ``list_datasets()`` names them,
``load_dataset(name)`` loads one, ``summary()`` tabulates them (:mod:`.registry`); one
module per source of tables (``survival``: scikit-survival's and lifelines' cohorts;
``mds_ipssr_sim``: the simulated MDS cohort).
"""

# Loaders register themselves on import, in this order: the order list_datasets() gives
# (gbsg2 first, the default), so the imports are not sorted.
# isort: off
from safe_bench.data.datasets import survival as _survival  # noqa: F401
from safe_bench.data.datasets import mds_ipssr_sim as _mds_ipssr_sim  # noqa: F401
# isort: on
from safe_bench.data.datasets.registry import (
    DEFAULT_DATASET,
    Dataset,
    list_datasets,
    load_dataset,
    register_dataset,
    summary,
)

__all__ = ["DEFAULT_DATASET", "Dataset", "list_datasets", "load_dataset", "register_dataset", "summary"]
