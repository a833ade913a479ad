"""safe-bench: the SAFE framework for synthetic tabular health data.

SAFE scores a synthetic table on three pillars, each 0..1 with a confidence
interval: S statistical fidelity, C clinical utility, P privacy preservation.

>>> import safe_bench
>>> ds = safe_bench.load_dataset("gbsg2")                          # doctest: +SKIP
>>> result = safe_bench.evaluate(real=train, synthetic=synth, holdout=holdout,
...                              schema=ds.schema, seed=0)         # doctest: +SKIP
>>> result.score("SAFE"), result.to_frame()                         # doctest: +SKIP
"""

from pathlib import Path

from safe_bench.data.datasets import Dataset, list_datasets, load_dataset
from safe_bench.data.protocol import Split, split
from safe_bench.data.schema import Kind, Schema, Survival, infer_schema, load_schema
from safe_bench.errors import InputError, MetricSkipped, SafeBenchError
from safe_bench.evaluation.evaluate import EvaluationResult, GeneratorRun, evaluate, evaluate_generator, set_page_writer
from safe_bench.generator import Generator, available_generators, load_generator, register_generator
from safe_bench.metrics.registry import METRICS, Measurement, MetricResult
from safe_bench.provenance import __version__


def _write_page(result: EvaluationResult, path: str | Path, title: str | None = None) -> None:
    """The report's page of one evaluation, for :meth:`EvaluationResult.to_html` (the root
    composes the layers; jinja2 and matplotlib load only when a page is written)."""
    from safe_bench.report.html import write_evaluation_page

    write_evaluation_page(result, path, title=title)


set_page_writer(_write_page)

__all__ = [
    "__version__",
    "Dataset", "list_datasets", "load_dataset",
    "InputError", "MetricSkipped", "SafeBenchError",
    "EvaluationResult", "GeneratorRun", "evaluate", "evaluate_generator",
    "Generator", "available_generators", "load_generator", "register_generator",
    "METRICS", "Measurement", "MetricResult",
    "Split", "split",
    "Kind", "Schema", "Survival", "infer_schema", "load_schema",
]
