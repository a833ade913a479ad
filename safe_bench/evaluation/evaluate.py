"""The SAFE evaluation: canonical tables in, metric results and pillar scores out.

:func:`evaluate` judges a synthetic table against train and holdout and gives an
:class:`EvaluationResult` (its JSON layout written and read here).
:func:`evaluate_generator` is the SAFE protocol for one generator (split, fit, sample,
check the sample, evaluate), timed stage by stage (:class:`Stages`): the one path of
``safe-bench evaluate --generator`` and of every benchmark cell.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from safe_bench.data.protocol import split
from safe_bench.data.schema import Schema, infer_schema
from safe_bench.data.validation import category_mismatches, conform
from safe_bench.errors import GeneratorError, InputError, SafeBenchError
from safe_bench.evaluation.blocks import BlockScore, score_blocks
from safe_bench.evaluation.comparison import N_BOOTSTRAP, EvaluationData
from safe_bench.evaluation.parallel import run_metrics
from safe_bench.evaluation.scoring import (
    COPYING,
    Composite,
    PillarScore,
    Status,
    against_reference,
    check_weights,
    score_name,
    score_pillars,
)
from safe_bench.generator import Generator, TableSource
from safe_bench.metrics.privacy.verdict import privacy_verdict
from safe_bench.metrics.registry import METRICS, PILLARS, Metric, MetricResult
from safe_bench.metrics.tidy import detail_parts
from safe_bench.private import describe_error
from safe_bench.suppression import rare_levels, suppress

#: Version of the result layout written by :meth:`EvaluationResult.to_json`.
SCHEMA_VERSION = 1


@dataclass(repr=False)
class EvaluationResult:
    """Every metric result, the pillar and SAFE scores, and what was evaluated; with
    column blocks declared, S over each block (``blocks``: CSF, GSF).

    Read it as a table (:meth:`to_frame`), a metric's details as tables (:meth:`details`),
    a page (:meth:`to_html`; a notebook shows a summary by itself) or JSON (:meth:`to_json`).
    The page is the report's (:mod:`safe_bench.report.html`), which the package root
    hands to this layer (:func:`set_page_writer`): the evaluation never imports the report."""

    metrics: list[MetricResult]
    pillars: dict[str, PillarScore]
    schema: Schema
    seed: int
    n_bootstrap: int
    rows: dict[str, int]
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, BlockScore] = field(default_factory=dict)

    def metric(self, id: str) -> MetricResult:
        """The result of metric ``id`` (e.g. ``"S.ks"``)."""
        for result in self.metrics:
            if result.id == id:
                return result
        raise KeyError(f"metric {id!r} was not evaluated")

    def score(self, pillar: str = "SAFE") -> float | None:
        """The score of a pillar (``"S"``, ``"C"``, ``"P"``), of ``"SAFE"``, or of S over
        a block by its label (``"CSF"``, ``"GSF"``, ``"S[name]"``)."""
        if pillar in self.pillars:
            return self.pillars[pillar].score
        for block in self.blocks.values():
            if block.label == pillar:
                return block.score
        raise KeyError(f"no pillar or block score {pillar!r} (blocks: {[b.label for b in self.blocks.values()]})")

    @property
    def copying(self) -> bool:
        """The privacy verdict finds the synthetic rows copying training patients
        (:data:`~safe_bench.evaluation.scoring.COPYING`): S and C are then no evidence of quality."""
        return self.extra.get("privacy_verdict", {}).get("level") in COPYING

    def to_frame(self) -> pd.DataFrame:
        """SAFE, the pillars, S per column block and every metric, one row each: ``level``
        (SAFE, pillar, block, metric), id, name, pillar, ``value`` (a metric's raw value;
        its score is what it means on the 0..1 scale, higher is better), score, CI,
        reference, how the score compares with the reference, status, reason."""
        def judged(p: PillarScore, pillar: str) -> str:
            return (against_reference(p.score, p.ci_low, p.ci_high, p.reference, pillar, copying=self.copying)
                    if p.ok else p.status)

        rows = [["SAFE" if key == "SAFE" else "pillar", key, score_name(p), "" if key == "SAFE" else key, None,
                 p.score, p.ci_low, p.ci_high, p.reference, judged(p, key), p.status, p.reason]
                for key in ("SAFE", *PILLARS) if (p := self.pillars.get(key)) is not None]
        rows += [["block", b.label, b.pillar.name, "S", None, b.score, b.pillar.ci_low, b.pillar.ci_high,
                  b.pillar.reference, judged(b.pillar, "S"), b.pillar.status, f"S over {', '.join(b.columns)}"]
                 for b in self.blocks.values()]
        rows += [["metric", m.id, METRICS[m.id].name if m.id in METRICS else m.id, m.pillar, m.value, m.score,
                  m.ci_low, m.ci_high, m.reference, "", m.status, m.reason] for m in self.metrics]
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)

    def details(self, id: str) -> dict[str, pd.DataFrame]:
        """Metric ``id``'s details as tidy tables by part (``summary``, then per column,
        pair, group, term, finding, ... as the metric reports them), as SDMetrics'
        ``get_details``: e.g. ``result.details("S.ks")["columns"]``."""
        return {part.key: part.frame() for part in detail_parts(self.metric(id).details)}

    def to_html(self, path: str | Path, *, title: str | None = None) -> None:
        """Write the evaluation's page (as ``safe-bench evaluate --html``) to ``path``,
        with the page writer the package root gives (:func:`set_page_writer`)."""
        if _PAGE_WRITER is None:
            raise SafeBenchError("no page writer: import safe_bench, whose root sets the report's")
        _PAGE_WRITER(self, path, title)

    def _repr_html_(self) -> str:
        """A notebook's view: what was evaluated, SAFE and the pillars, the privacy
        verdict, then the metrics folded (names escaped by pandas; aggregates only)."""
        frame = self.to_frame()
        shown = ["id", "name", "score", "ci_low", "ci_high", "reference", "status", "reason"]

        def table(rows: pd.DataFrame) -> str:
            return str(rows[shown].to_html(index=False, na_rep="–", float_format="{:.3f}".format, border=0))

        facts = ", ".join(f"{k} {v} rows" for k, v in self.rows.items()) + f", seed {self.seed}"
        verdict = self.extra.get("privacy_verdict", {}).get("text")
        return (f"<div><p><b>{html.escape(self.label or 'SAFE evaluation')}</b> ({html.escape(facts)})</p>"
                f"{table(frame[frame['level'] != 'metric'])}"
                + (f"<p><b>Privacy verdict:</b> {html.escape(verdict)}</p>" if verdict else "")
                + f"<details><summary>{len(self.metrics)} metrics</summary>{table(frame[frame['level'] == 'metric'])}"
                "</details></div>")

    def __repr__(self) -> str:
        def score(key: str) -> str:
            p = self.pillars.get(key)
            if p is None:
                return f"{key} -"
            return f"{key} {p.score:.3f}" if p.score is not None else f"{key} {p.status}"

        statuses = [m.status for m in self.metrics]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "skipped", "error") if s in statuses)
        rows = " ".join(f"{k}={v}" for k, v in self.rows.items())
        return (f"<EvaluationResult {self.label or 'unlabelled'}: {', '.join(map(score, ('SAFE', *PILLARS)))}; "
                f"{len(self.metrics)} metrics ({counts}); rows {rows}; seed {self.seed}>")

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "label": self.label,
            "seed": self.seed,
            "n_bootstrap": self.n_bootstrap,
            "rows": self.rows,
            "schema": self.schema.to_dict(),
            "pillars": {k: v.to_dict() for k, v in self.pillars.items()},
            "metrics": [r.to_dict() for r in self.metrics],
            **({"extra": self.extra} if self.extra else {}),
            **({"blocks": {k: b.to_dict() for k, b in self.blocks.items()}} if self.blocks else {}),
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Deterministic JSON: NaN and infinities as null, floats to 12 significant digits."""
        return json.dumps(plain(self.to_dict()), indent=indent, allow_nan=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "result") -> EvaluationResult:
        """Read :meth:`to_dict`'s layout; anything else is an InputError naming ``source``,
        the entry and the field."""
        check_result(data, source)
        metrics = [MetricResult.from_dict(m, source) for m in data["metrics"]]
        return cls(
            metrics=metrics,
            pillars=pillars_from_dict(data["pillars"], metrics),
            schema=Schema.from_dict(data["schema"], source=f"{source}: schema"),
            seed=data["seed"],
            n_bootstrap=data["n_bootstrap"],
            rows=dict(data["rows"]),
            label=data.get("label", ""),
            extra=dict(data.get("extra", {})),
            blocks={k: BlockScore.from_dict(b, source) for k, b in data.get("blocks", {}).items()},
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = "result") -> EvaluationResult:
        """Read :meth:`to_json`'s text; ``source`` names it in error messages."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source} is not JSON ({exc.msg} at line {exc.lineno}); "
                             "expected an evaluation written by `safe-bench evaluate --json`") from None
        return cls.from_dict(data, source=source)


#: The columns of :meth:`EvaluationResult.to_frame`.
FRAME_COLUMNS = ["level", "id", "name", "pillar", "value", "score", "ci_low", "ci_high", "reference",
                 "against_reference", "status", "reason"]

PageWriter = Callable[[EvaluationResult, "str | Path", "str | None"], None]
_PAGE_WRITER: PageWriter | None = None


def set_page_writer(writer: PageWriter) -> None:
    """Set what :meth:`EvaluationResult.to_html` writes a page with (the package root sets
    the report's: later layers are handed in, never imported)."""
    global _PAGE_WRITER
    _PAGE_WRITER = writer


_RESULT_KEYS = {"schema_version", "label", "seed", "n_bootstrap", "rows", "schema", "pillars", "metrics", "extra", "blocks"}
_METRIC_KEYS = {"id", "pillar", "value", "score", "ci_low", "ci_high", "reference", "status", "reason", "details"}
_SCORE_FIELDS = ("score", "ci_low", "ci_high", "reference")


def check_result(data: Any, source: str) -> None:
    """Raise InputError unless ``data`` has the layout of :meth:`EvaluationResult.to_dict`:
    the keys, a metric and pillar list of known fields, scores null or numbers in 0..1."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source} is not an evaluation result (a JSON object written by `safe-bench evaluate "
                         f"--json`), but {type(data).__name__}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{source}: unsupported result schema_version {data.get('schema_version')!r} "
                         f"(this safe-bench reads {SCHEMA_VERSION})")
    _check_keys(data, source, required=_RESULT_KEYS - {"label", "extra", "blocks"}, allowed=_RESULT_KEYS)
    for key in ("seed", "n_bootstrap"):
        if not isinstance(data[key], int) or isinstance(data[key], bool):
            raise InputError(f"{source}: {key!r} must be a whole number, not {data[key]!r}")
    for key in ("rows", "pillars", "schema"):
        if not isinstance(data[key], Mapping):
            raise InputError(f"{source}: {key!r} must be an object, not {type(data[key]).__name__}")
    _check_metrics(data["metrics"], source)
    for key, entry in data["pillars"].items():
        _check_scores(entry, f"{source}: pillar {key!r}", required={"pillar", "name", *_SCORE_FIELDS},
                      allowed=_PILLAR_FIELDS)
    blocks = data.get("blocks", {})
    if not isinstance(blocks, Mapping):
        raise InputError(f"{source}: 'blocks' must be an object, not {type(blocks).__name__}")
    for key, entry in blocks.items():
        where = f"{source}: block {key!r}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{where} must be an object, not {type(entry).__name__}")
        _check_keys(entry, where, required=_BLOCK_KEYS, allowed=_BLOCK_KEYS)
        _check_scores(entry["pillar"], f"{where}: pillar", required={"pillar", "name", *_SCORE_FIELDS},
                      allowed=_PILLAR_FIELDS)
        _check_metrics(entry["metrics"], where)


_BLOCK_KEYS = {"block", "label", "columns", "pillar", "metrics"}


def _check_metrics(metrics: Any, source: str) -> None:
    if not isinstance(metrics, list):
        raise InputError(f"{source}: 'metrics' must be a list, not {type(metrics).__name__}")
    for i, entry in enumerate(metrics):
        where = f"{source}: metric {entry.get('id', i)!r}" if isinstance(entry, Mapping) else f"{source}: metric {i}"
        _check_scores(entry, where, required=_METRIC_KEYS, allowed=_METRIC_KEYS | {"name", "goal", "range"})
        for key in ("id", "pillar"):
            if not isinstance(entry[key], str):
                raise InputError(f"{where}: field {key!r} must be text, not {entry[key]!r}")
        if not isinstance(entry["details"], Mapping):
            raise InputError(f"{where}: field 'details' must be an object, not {type(entry['details']).__name__}")


def _check_keys(entry: Mapping[str, Any], where: str, *, required: set[str], allowed: set[str]) -> None:
    missing, unknown = sorted(required - set(entry)), sorted(set(entry) - allowed)
    if missing:
        raise InputError(f"{where} lacks the field(s) {missing}; is it an evaluation written by "
                         "`safe-bench evaluate --json`?")
    if unknown:
        raise InputError(f"{where} has unknown field(s) {unknown}")


def _check_scores(entry: Any, where: str, *, required: set[str], allowed: set[str]) -> None:
    """A metric or pillar entry: known fields, scores null or numbers in 0..1, text status."""
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} must be an object, not {type(entry).__name__}")
    _check_keys(entry, where, required=required, allowed=allowed)
    for key in _SCORE_FIELDS:
        value = entry[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not (number and 0 <= value <= 1):
            raise InputError(f"{where}: field {key!r} must be a score from 0 to 1 or null, not {value!r}")
    value = entry.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError(f"{where}: field 'value' must be a number or null, not {value!r}")
    for key in ("status", "reason"):
        if not isinstance(entry.get(key, ""), str):
            raise InputError(f"{where}: field {key!r} must be text, not {entry[key]!r}")


_PILLAR_FIELDS = {f.name for f in fields(PillarScore)}
_LEGACY = "stored by an earlier safe-bench, which averaged the metrics that ran"


def pillars_from_dict(data: Mapping[str, Mapping[str, Any]], metrics: Sequence[MetricResult]) -> dict[str, PillarScore]:
    """Pillar scores as stored. A result written before pillars had a ``status`` (and
    ``skipped``, ``errors``, ``composite``) is read as today's scoring would give it: a
    pillar beside a failed metric of its own was the mean of the metrics that ran, a
    number from a partial set, so it is ``incomplete`` with no number, and so is SAFE
    when it counted that pillar or covered only some pillars; a pillar without a score
    is ``not scored``; SAFE was the weighted arithmetic mean (``composite="mean"``)."""
    pillars = {k: PillarScore(**{f: v[f] for f in v if f in _PILLAR_FIELDS}) for k, v in data.items()}
    if all("status" in v for v in data.values()):
        return pillars
    for key, p in pillars.items():
        p.skipped = {m.id: m.reason for m in metrics if m.pillar == key and m.status == "skipped"}
        p.errors = {m.id: m.reason for m in metrics if m.pillar == key and m.status == "error"}
    for key, p in pillars.items():
        if key == "SAFE":
            p.composite = "mean"
            failed = [q for q in PILLARS if q in pillars and pillars[q].errors]
            partial = p.reason.startswith("pillar(s) ")  # "pillar(s) P could not be scored: SAFE covers S, C only"
            stale = partial or any(q in p.metrics for q in failed)
            why = f"{', '.join(failed)} incomplete" if failed else p.reason
            reason = f"SAFE needs every weighted pillar: {why} ({_LEGACY})"
            unscored: Status = "incomplete" if failed else "not scored"
        else:
            stale = bool(p.errors) and p.score is not None
            reason = f"incomplete: metric(s) failed: {', '.join(p.errors)} ({_LEGACY})"
            unscored = "incomplete" if p.errors else "not scored"
        if stale:
            p.score = p.ci_low = p.ci_high = p.reference = p.worst = None
            p.reason = reason
        p.status = "ok" if p.score is not None else unscored
    return pillars


def plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars and arrays to Python, non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return float(f"{value:.12g}") if math.isfinite(value) else None
    return value


def select_metrics(selection: Iterable[str] | None) -> list[Metric]:
    """Metrics by id or pillar letter (all by default), in pillar order S, C, P."""
    chosen = list(METRICS.values())
    if selection is not None:
        wanted = [s.strip() for s in selection if s.strip()]
        unknown = [s for s in wanted if s not in METRICS and s not in PILLARS]
        if unknown:
            raise InputError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)} or a pillar S, C, P")
        chosen = [m for m in chosen if m.id in wanted or m.pillar in wanted]
    return sorted(chosen, key=lambda m: PILLARS.index(m.pillar))


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    schema: Schema | None = None,
    *,
    seed: int = 0,
    metrics: Sequence[str] | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
    weights: Mapping[str, float] | None = None,
    composite: Composite = "geometric",
    label: str = "",
    references: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 1,
) -> EvaluationResult:
    """Evaluate ``synthetic`` against ``real`` (the rows the generator was trained on).

    ``holdout`` holds real rows the generator never saw; without it the metrics that
    need one are skipped with that reason; with it, each metric is also run on the holdout
    as the real-vs-real reference, unless ``references`` is False (a study that judges
    many tables by their scores alone). Without ``schema`` the kinds are inferred
    from ``real`` (see :func:`safe_bench.data.schema.infer_schema`). Every input is checked
    before any work starts. A categorical column coded otherwise in ``synthetic`` than in
    ``real`` is named in ``extra["notes"]`` (see :func:`safe_bench.data.validation.category_mismatches`),
    and so is an identifier-like categorical column left out of distances (see
    :mod:`safe_bench.evaluation.encoding`). ``progress`` is told each metric as it
    begins, with how many of how many are done. ``jobs`` processes share the metrics on
    tables large enough (:func:`~safe_bench.evaluation.parallel.run_metrics`): the
    results are the same whatever ``jobs``.
    """
    if n_bootstrap < 10:
        raise InputError(f"n_bootstrap must be at least 10, got {n_bootstrap}")
    if weights is not None:
        check_weights(weights)
    if schema is None:
        schema = infer_schema(real)
    chosen = select_metrics(metrics)
    train = conform(real, schema, table="real")
    synth = conform(synthetic, schema, table="synthetic")
    hold = None if holdout is None else conform(holdout, schema, table="holdout")
    data = EvaluationData(train, synth, hold, schema, seed=seed, n_bootstrap=n_bootstrap, references=references)
    notes = category_mismatches(train, synth, schema) + data.encoding.notes
    rare = rare_levels((train, hold), schema)
    results = [dataclasses.replace(r, details=suppress(r.details, rare))
               for r in run_metrics(chosen, data, jobs=jobs, progress=progress)]
    extra: dict[str, Any] = {"notes": notes} if notes else {}
    if any(r.pillar == "P" for r in results):
        extra["privacy_verdict"] = privacy_verdict(results).to_dict()
    return EvaluationResult(
        metrics=results,
        pillars=score_pillars(results, weights=weights, n_bootstrap=n_bootstrap, seed=seed, composite=composite),
        schema=schema,
        seed=seed,
        n_bootstrap=n_bootstrap,
        rows={"train": len(train), "holdout": 0 if hold is None else len(hold), "synthetic": len(synth)},
        label=label,
        extra=extra,
        blocks=score_blocks(train, synth, hold, schema, chosen, seed=seed, n_bootstrap=n_bootstrap, rare=rare,
                            references=references),
    )


#: The stages of the SAFE protocol for one generator, in order.
Stage = Literal["split", "fit", "sample", "evaluate"]


class Stages:
    """The stages of one generator run, timed as they are entered.

    ``current`` is the stage entered last (the one a failure happened in; ``None``
    before the first), ``seconds`` how long each stage that ended took. ``notify`` is
    told each stage as it begins (the benchmark runner reports it as progress).
    """

    def __init__(self, notify: Callable[[Stage], None] | None = None) -> None:
        self.notify = notify
        self.current: Stage | None = None
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def enter(self, stage: Stage) -> None:
        """End the current stage and begin ``stage``."""
        self.finish()
        self.current = stage
        if self.notify is not None:
            self.notify(stage)

    def finish(self) -> None:
        """Record how long the current stage took, up to now."""
        now = time.perf_counter()
        if self.current is not None:
            self.seconds[self.current] = now - self._since
        self._since = now


@dataclass
class GeneratorRun:
    """One generator on one real table: the synthetic table (canonical, as evaluated),
    its evaluation and the seconds fitting and sampling took (0 when a table made
    before was evaluated)."""

    result: EvaluationResult
    synthetic: pd.DataFrame
    fit_seconds: float
    sample_seconds: float


def evaluate_generator(
    real: pd.DataFrame,
    schema: Schema,
    generator: Generator,
    *,
    seed: int = 0,
    n: int | None = None,
    label: str = "",
    synthetic: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
    weights: Mapping[str, float] | None = None,
    composite: Composite = "geometric",
    stages: Stages | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int = 1,
) -> GeneratorRun:
    """The SAFE protocol for one generator, the one path of ``safe-bench evaluate
    --generator`` and of every benchmark cell.

    ``real`` is brought to canonical form and split (the holdout is set aside first);
    the generator is fitted on train and asked for ``n`` rows (train's size by default);
    its sample is checked (:func:`_checked_sample`) and evaluated against train and the
    holdout by :func:`evaluate` with ``metrics``, ``n_bootstrap``, ``weights``,
    ``composite`` and ``label`` (the generator's name by default). ``synthetic``, a table
    the generator made before from the same data, settings, seed and ``n`` (the results
    store's cache), is evaluated instead, without fitting again. ``stages`` times the
    stages (``split``, ``fit``, ``sample``, ``evaluate``) and is told of each;
    ``progress`` is told each metric and ``jobs`` processes share them (see :func:`evaluate`).

    A failure of the generator's own code is a GeneratorError naming the generator, its
    message and traceback kept private (:func:`safe_bench.private.describe_error`).
    """
    stages = Stages() if stages is None else stages
    stages.enter("split")
    parts = split(conform(real, schema, table="real"), schema, seed=seed)
    if synthetic is None:
        synthetic = synthesize(generator, parts.train, schema, n=len(parts.train) if n is None else n, seed=seed,
                               stages=stages)[0]
    stages.enter("evaluate")
    result = evaluate(parts.train, synthetic, parts.holdout, schema, seed=seed, metrics=metrics,
                      n_bootstrap=n_bootstrap, weights=weights, composite=composite, label=label or generator.name,
                      progress=progress, jobs=jobs)
    stages.finish()
    return GeneratorRun(result, synthetic, stages.seconds.get("fit", 0.0), stages.seconds.get("sample", 0.0))


def synthesize(generator: Generator, train: pd.DataFrame, schema: Schema, *, n: int, seed: int, draws: int = 1,
               stages: Stages | None = None) -> list[pd.DataFrame]:
    """Fit ``generator`` on ``train``, then sample ``draws`` tables of ``n`` rows (seeded
    ``seed``, ``seed + 1``, ...), each checked and in canonical form
    (:func:`_checked_sample`). The fit and the samples are the ``fit`` and ``sample``
    stages of ``stages``."""
    stages = Stages() if stages is None else stages
    stages.enter("fit")
    with _generator_code(generator):
        generator.fit(train.copy(), schema, seed=seed)
    stages.enter("sample")
    samples = []
    for i in range(draws):
        with _generator_code(generator):
            raw = generator.sample(n, seed=seed + i)
        samples.append(_checked_sample(raw, schema, generator, n))
    return samples


@contextmanager
def _generator_code(generator: Generator) -> Iterator[None]:
    """Run a generator's own code: safe-bench's errors pass as they are, any other (a
    plug-in's, which may quote a training row) becomes a GeneratorError that does not
    quote it."""
    try:
        yield
    except SafeBenchError:
        raise
    except Exception as exc:
        raise GeneratorError(f"generator {generator.name!r} failed: "
                             f"{describe_error(exc, name=f'generator-{generator.name}')}") from None


def _checked_sample(raw: pd.DataFrame, schema: Schema, generator: Generator, wanted: int) -> pd.DataFrame:
    """A generator's sample in canonical form (:func:`safe_bench.data.validation.conform`),
    or a GeneratorError naming what does not fit.

    The sample must have the ``wanted`` rows asked for: a generator that returns fewer
    or more is broken, and its table would not be comparable with the others'. A
    :class:`~safe_bench.generator.TableSource` is the exception: it serves a table made
    elsewhere, whose row count is the table's whatever was asked.
    """
    try:
        synthetic = conform(raw, schema, table=f"synthetic table of {generator.name!r}")
    except InputError as exc:
        raise GeneratorError(str(exc)) from None
    if len(synthetic) != wanted and not isinstance(generator, TableSource):
        raise GeneratorError(f"generator {generator.name!r} returned {len(synthetic)} rows; {wanted} were asked for")
    return synthetic
