"""The SAFE metrics, one module per pillar, all in one registry (:data:`METRICS`), which
third-party metrics join through the ``safe_bench.metrics`` entry points
(:mod:`safe_bench.metrics.plugins`)."""

from safe_bench.metrics import clinical, fidelity, privacy  # noqa: F401  (registration)
from safe_bench.metrics.base import (
    METRICS,
    PILLAR_NAMES,
    PILLARS,
    Measurement,
    Metric,
    MetricResult,
    metric,
    run_metric,
)
from safe_bench.metrics.plugins import load_plugins

load_plugins()

__all__ = ["METRICS", "PILLARS", "PILLAR_NAMES", "Measurement", "Metric", "MetricResult", "metric", "run_metric"]
