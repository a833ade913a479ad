"""C.censoring: the share of censored patients."""

from __future__ import annotations

import numpy as np

from safe_bench.comparison import Comparison
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import event_times


@metric("C.censoring", pillar="C", name="Censoring rate agreement", requires=("survival",), reference_details=True)
def censoring_agreement(cmp: Comparison) -> Measurement:
    """Censoring rate (share of patients without the event) of train and of the table
    under test. Score: 1 - |difference|. Interval: bootstrap over rows of the table."""
    train_rate = 1.0 - float(event_times(cmp, "train").event.mean())
    table_event = event_times(cmp, "synthetic").event
    rate = 1.0 - float(table_event.mean())
    reps = np.array([1.0 - abs(1.0 - table_event[idx].mean() - train_rate) for idx in cmp.resamples(len(table_event))])
    details = {"train_rate": train_rate, "table_rate": rate}
    return bootstrapped(abs(rate - train_rate), 1.0 - abs(rate - train_rate), reps, details)
