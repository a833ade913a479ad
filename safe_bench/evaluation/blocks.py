"""Pillar S over a block of columns: clinical and genomic synthetic fidelity (CSF, GSF).

A schema may group its columns into named blocks (``[blocks]``, see
:mod:`safe_bench.data.schema`). Each block is judged as a table of its own: every S
metric asked for runs on the block's columns alone (train, table under test and holdout
cut to them, the same seed and resamples), and the block's S is scored as the pillar is
(:mod:`safe_bench.evaluation.scoring`: complete or no score). S over the ``clinical``
block is the *clinical synthetic fidelity* (CSF) and S over the ``genomic`` block the
*genomic synthetic fidelity* (GSF) of Asti et al., "Federated generative AI for
myelodysplastic syndromes", Blood 2025 (doi 10.1182/blood-2025-4350), where the
fidelity score is reported over the clinical and over the mutation variables apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from safe_bench.data.schema import Schema
from safe_bench.evaluation.comparison import EvaluationData
from safe_bench.evaluation.scoring import PillarScore, score_pillars
from safe_bench.metrics.registry import Metric, MetricResult, run_metric
from safe_bench.suppression import suppress

#: The short names of S over the blocks that have one.
BLOCK_LABELS: Mapping[str, str] = {"clinical": "CSF", "genomic": "GSF"}
BLOCK_NAMES: Mapping[str, str] = {"clinical": "clinical synthetic fidelity", "genomic": "genomic synthetic fidelity"}


@dataclass
class BlockScore:
    """S over one block of columns: the block's S score (``pillar``, scored as the pillar
    is) and each S metric's result on the block."""

    block: str
    label: str
    columns: list[str]
    pillar: PillarScore
    metrics: list[MetricResult]

    @property
    def score(self) -> float | None:
        return self.pillar.score

    def to_dict(self) -> dict[str, Any]:
        return {"block": self.block, "label": self.label, "columns": self.columns, "pillar": self.pillar.to_dict(),
                "metrics": [m.to_dict() for m in self.metrics]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "result") -> BlockScore:
        metrics = [MetricResult.from_dict(m, source) for m in data["metrics"]]
        return cls(str(data["block"]), str(data["label"]), [str(c) for c in data["columns"]],
                   PillarScore(**data["pillar"]), metrics)


def block_label(block: str) -> str:
    """``CSF`` for the clinical block, ``GSF`` for the genomic one, else ``S[block]``."""
    return BLOCK_LABELS.get(block, f"S[{block}]")


def block_schema(schema: Schema, columns: Sequence[str]) -> Schema:
    """The schema of a block's columns alone (their kinds; no roles)."""
    return Schema(kinds={c: schema.kinds[c] for c in columns})


def score_blocks(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None,
    schema: Schema,
    metrics: Sequence[Metric],
    *,
    seed: int,
    n_bootstrap: int,
    rare: Mapping[str, Any],
    references: bool = True,
) -> dict[str, BlockScore]:
    """Each declared block's S: the S metrics among ``metrics`` run on its columns, their
    details with the ``rare`` categories suppressed (:mod:`safe_bench.suppression`)."""
    fidelity = [m for m in metrics if m.pillar == "S"]
    if not fidelity:
        return {}
    out = {}
    for block, columns in schema.blocks.items():
        cols = list(columns)
        data = EvaluationData(train[cols], synthetic[cols], None if holdout is None else holdout[cols],
                              block_schema(schema, cols), seed=seed, n_bootstrap=n_bootstrap, references=references)
        results = [dataclasses.replace(r, details=suppress(r.details, rare))
                   for r in (run_metric(spec, data) for spec in fidelity)]
        pillar = score_pillars(results, n_bootstrap=n_bootstrap, seed=seed)["S"]
        pillar.name = BLOCK_NAMES.get(block, f"statistical fidelity over the {block} block")
        out[block] = BlockScore(block, block_label(block), cols, pillar, results)
    return out
