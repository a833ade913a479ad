"""A scenario study: its settings (:class:`Study`), its replicates in batches the
benchmark runner runs and stores (:class:`ReplicateBatch`), and their summary
(:class:`StudyResult`, the JSON of ``safe-bench scenario``).

A batch holds consecutive replicates; its key hashes all its draws depend on (the
data, the generator, its provider and settings, the design, the seed, the replicate
range, the package version), so a study run again, or after a kill, computes only the
batches the store lacks. Replicate ``i`` draws from the streams of ``(seed, i)``
whatever batch it is in, so the result does not depend on the batch size or the backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Literal

import pandas as pd

from safe_bench.benchmark.backends import Backend
from safe_bench.benchmark.plan import provider
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import require_all, run_work
from safe_bench.benchmark.store import Store, data_hash, digest
from safe_bench.data.schema import Schema
from safe_bench.evaluation.evaluate import plain
from safe_bench.generator import Generator
from safe_bench.provenance import __version__
from safe_bench.scenarios import augmentation, control_arm
from safe_bench.scenarios.augmentation import AugmentationDesign, Cohort, EffectiveSize
from safe_bench.scenarios.control_arm import ControlArmDesign, Replication
from safe_bench.scenarios.inference import Draw, FalseDiscovery, OperatingCharacteristics, false_discovery, summarise
from safe_bench.scenarios.trial import Trial
from safe_bench.scenarios.verdict import Verdict, augmentation_verdict, control_arm_verdict

Scenario = Literal["control_arm", "augmentation"]
#: Replicates per batch: each batch is one stored unit of work.
BATCH = 25
#: Replicates between two progress events of a batch.
NOTIFY_EVERY = 5


@dataclass(frozen=True)
class Study:
    """One scenario on one table with one generator: the table (canonical) and its
    schema, the generator (``generator_name`` and ``params`` as asked), the design, the
    seed, the replicates, the estimand's name and why it was chosen, the trial's arm
    (control arm), the truth the estimates are judged against, and (augmentation with
    further findings) which of the estimand and the findings have an effect in the
    population."""

    scenario: Scenario
    dataset: str
    frame: pd.DataFrame
    schema: Schema
    generator: Generator
    generator_name: str
    params: Mapping[str, Any]
    design: ControlArmDesign | AugmentationDesign
    seed: int
    replicates: int
    estimand: str
    estimand_source: str
    truth: float
    arm: str | None = None
    control: str | None = None
    timeout: float = 3600.0
    nonnull: tuple[bool, ...] = ()

    @cached_property
    def trial(self) -> Trial:
        """The control-arm study's trial (built once: its replicates share it)."""
        assert self.arm is not None and self.control is not None
        return Trial(self.frame, self.schema, self.arm, self.control)

    def replicate(self, index: int) -> list[Draw]:
        """The draws of replicate ``index``."""
        if isinstance(self.design, ControlArmDesign):
            return control_arm.replicate(self.trial, self.generator, self.design, seed=self.seed, index=index)
        return augmentation.replicate(Cohort(self.frame, self.schema), self.generator, self.design, seed=self.seed,
                                      index=index)

    def batches(self, size: int = BATCH) -> list[ReplicateBatch]:
        """The study's replicates in batches of ``size``, each keyed."""
        base = {
            "scenario": self.scenario, "data": data_hash(self.frame, self.schema), "generator": self.generator_name,
            "provider": provider(self.generator), "params": dict(self.params), "design": asdict(self.design),
            "arm": self.arm, "control": self.control, "seed": self.seed, "version": __version__,
        }
        preload = (type(self.generator).__module__,)
        out = []
        for start in range(0, self.replicates, size):
            stop = min(start + size, self.replicates)
            label = f"{self.scenario.replace('_', ' ')} {self.dataset} x {self.generator_name}: replicates {start}-{stop - 1}"
            out.append(ReplicateBatch(digest({**plain(base), "start": start, "stop": stop}), label, self.timeout,
                                      preload, self, start, stop))
        return out


@dataclass(frozen=True)
class ReplicateBatch:
    """Replicates ``start`` to ``stop - 1`` of a study: a unit of work for the runner
    (:class:`safe_bench.benchmark.work.Work`) whose result is its draws as JSON rows."""

    key: str
    label: str
    timeout: float
    preload: tuple[str, ...]
    study: Study = field(repr=False)
    start: int
    stop: int

    def execute(self, notify: Callable[[str], None]) -> str:
        rows = []
        for i in range(self.start, self.stop):
            done = i - self.start
            if done % NOTIFY_EVERY == 0:
                notify(f"replicates {done + 1}-{min(done + NOTIFY_EVERY, self.stop - self.start)} of {self.stop - self.start}")
            rows += [d.to_row() for d in self.study.replicate(i)]
        return json.dumps(plain(rows), allow_nan=False, separators=(",", ":"))


def draws_of(results: Sequence[str]) -> list[Draw]:
    """The draws of batches' results (JSON rows)."""
    return [Draw.from_row(row) for text in results for row in json.loads(text)]


@dataclass(frozen=True)
class RatioResult:
    """Augmentation at one ratio: the effective sample size, each analysis's operating
    characteristics and, with further findings, its false-discovery rate."""

    size: EffectiveSize
    analyses: Mapping[str, OperatingCharacteristics]
    false_discovery: Mapping[str, FalseDiscovery]


@dataclass(frozen=True)
class StudyResult:
    """A study's answer: the replication of the real trial (control arm), the operating
    characteristics of each analysis (per ratio for augmentation) and the verdict."""

    study: Study
    replication: Replication | None
    analyses: Mapping[str, OperatingCharacteristics]
    ratios: Sequence[RatioResult]
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        s = self.study
        design = {k: v for k, v in asdict(s.design).items() if k not in ("contrast", "findings")}
        estimand: dict[str, Any] = {"term": s.estimand, "source": s.estimand_source, "truth": s.truth}
        if isinstance(s.design, AugmentationDesign) and s.design.findings:
            estimand.update(findings=[c.term for c in s.design.findings], population_effects=list(s.nonnull))
        out: dict[str, Any] = {
            "scenario": s.scenario, "dataset": s.dataset, "generator": s.generator_name, "params": dict(s.params),
            "replicates": s.replicates, "seed": s.seed, "estimand": estimand, "design": design,
        }
        if s.scenario == "control_arm":
            out["arm"] = {"column": s.arm, "control": s.control}
            out["replication"] = None if self.replication is None else _replication_dict(self.replication)
            out["operating_characteristics"] = {name: asdict(oc) for name, oc in self.analyses.items()}
        else:
            out["operating_characteristics"] = {"ratios": [
                {"ratio": r.size.ratio, "nominal_n": r.size.nominal, "ess": r.size.ess, "ess_flagged": r.size.flagged,
                 **{name: asdict(oc) for name, oc in r.analyses.items()},
                 "false_discovery_rate": {name: asdict(f) for name, f in r.false_discovery.items()} or None}
                for r in self.ratios]}
        out["verdict"] = asdict(self.verdict)
        return out

    def to_json(self) -> str:
        return json.dumps(plain(self.to_dict()), indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _replication_dict(rep: Replication) -> dict[str, Any]:
    return {"real": {"estimate": rep.real.value, "se": rep.real.se},
            **{name: {"estimate": a.estimate.value, "se": a.estimate.se, "difference": a.difference,
                      "estimate_agreement": a.estimate_agreement, "decision_agreement": a.decision_agreement,
                      "standardized_difference": a.standardized_difference, "ci_overlap": a.ci_overlap}
               for name, a in (("naive", rep.naive), ("corrected", rep.corrected), ("bootstrap", rep.bootstrap))
               if a is not None}}


def summarise_study(study: Study, draws: Sequence[Draw], replication: Replication | None) -> StudyResult:
    """The study's result from its replicates' draws."""
    measured = "null" if study.scenario == "control_arm" else "effect"
    table = summarise(draws, truth=study.truth, measured=measured)
    if isinstance(study.design, ControlArmDesign):
        analyses = {variant: oc for (_, variant), oc in table.items()}
        assert replication is not None
        verdict = control_arm_verdict(analyses, replication, study.design.analysis, _bias_scale(study))
        return StudyResult(study, replication, analyses, [], verdict)
    sizes = augmentation.effective_sizes(draws, study.design, study.truth)
    discoveries = false_discovery(draws, study.nonnull) if study.design.findings else {}
    ratios = [RatioResult(size, {v: oc for (r, v), oc in table.items() if r == size.ratio},
                          {v: f for (r, v), f in discoveries.items() if r == size.ratio}) for size in sizes]
    return StudyResult(study, None, {}, ratios, augmentation_verdict(ratios_table(ratios)))


def ratios_table(ratios: Sequence[RatioResult]) -> dict[float, Mapping[str, OperatingCharacteristics]]:
    return {r.size.ratio: r.analyses for r in ratios}


def _bias_scale(study: Study) -> float:
    """What a bias is judged against: 1 on the log hazard ratio scale; for an RMST
    difference the control arm's RMST at tau (so 0.05 is 5 % of it)."""
    design = study.design
    if design.analysis != "rmst" or design.tau is None:
        return 1.0
    return study.trial.control_model.survival.rmst(design.tau)


def run_study(study: Study, store: Store, *, backend: Backend | None = None,
              progress: Progress | None = None, batch: int = BATCH) -> StudyResult:
    """Run the study's replicate batches through the benchmark runner (stored as they
    finish, those already stored skipped), replicate the real trial (control arm) and
    summarise. A batch that failed leaves the study incomplete: a GeneratorError says
    how many and why (run the command again to retry them), never a summary of part.
    ``batch`` replicates make one stored unit of work."""
    batches = study.batches(batch)
    summary = run_work(batches, store, kind=study.scenario.replace("_", "-"), backend=backend, progress=progress,
                       manifest={"dataset": study.dataset, "generator": study.generator_name,
                                 "replicates": study.replicates, "seed": study.seed})
    require_all(batches, summary, store, what=f"replicate batches of {study.generator_name!r}")
    draws = draws_of([summary.results[b.key] for b in batches])
    replication = None
    if isinstance(study.design, ControlArmDesign):
        replication = control_arm.replication(study.trial, study.generator, study.design, seed=study.seed)
    return summarise_study(study, draws, replication)
