"""The SAFE metrics, one module per pillar, all in one registry (:data:`METRICS`)."""

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

__all__ = ["METRICS", "PILLARS", "PILLAR_NAMES", "Measurement", "Metric", "MetricResult", "metric", "run_metric"]
