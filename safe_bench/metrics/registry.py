"""Every metric, registered: the bundled pillars in SAFE's order (C, S, P modules as
listed here), then third-party metrics through the ``safe_bench.metrics`` entry points.

Import :data:`METRICS` from here (not from :mod:`safe_bench.metrics.base`, which holds the
registry while it fills) so that a metric can never be missing from it.
"""

# Registration: each import adds its module's metrics to the registry, in this order.
from safe_bench.metrics.clinical import km  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import logrank  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import cox  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import rmst  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import censoring  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import tstr  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import risk_groups  # noqa: F401  isort: skip
from safe_bench.metrics.clinical import findings  # noqa: F401  isort: skip
from safe_bench.metrics.fidelity import marginals  # noqa: F401  isort: skip
from safe_bench.metrics.fidelity import pairs  # noqa: F401  isort: skip
from safe_bench.metrics.fidelity import detection  # noqa: F401  isort: skip
from safe_bench.metrics.fidelity import prdc  # noqa: F401  isort: skip
from safe_bench.metrics.privacy import copies  # noqa: F401  isort: skip
from safe_bench.metrics.privacy import distances  # noqa: F401  isort: skip
from safe_bench.metrics.privacy import membership  # noqa: F401  isort: skip
from safe_bench.metrics.privacy import anonymeter  # noqa: F401  isort: skip
from safe_bench.metrics.base import (  # isort: skip
    METRICS,
    PILLAR_NAMES,
    PILLARS,
    Details,
    Measurement,
    Metric,
    MetricResult,
    metric,
    read_details,
    read_reference_details,
    run_metric,
)
from safe_bench.metrics.plugins import load_plugins  # isort: skip

load_plugins()

__all__ = ["METRICS", "PILLARS", "PILLAR_NAMES", "Details", "Measurement", "Metric", "MetricResult", "metric", "read_details",
           "read_reference_details", "run_metric"]
