"""Pillar C, clinical utility: does the clinical message drawn from train survive?

One module per metric (SAFE.md, pillar C): ``km``, ``logrank``, ``cox``, ``rmst``,
``censoring``, ``tstr``, ``score``, ``findings``; ``cohort`` holds what they share
(the endpoint, tau, group variables, curves, a per-evaluation cache) and
``coxmodel`` the multivariable Cox model.
"""

# Registration, in SAFE.md's order.
from safe_bench.metrics.clinical import km  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import logrank  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import cox  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import rmst  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import censoring  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import tstr  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import score  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import findings  # noqa: F401  isort: skip
