"""C.tstr: train on the table under test, test on the holdout, against train on train.

Tasks, from the schema: the survival endpoint (a Cox model with a small elastic-net
penalty, fitted by coordinate descent as in Simon et al., J Stat Softw 2011; scored by
Harrell's C-index), a categorical target (gradient boosting, ROC AUC, one-vs-rest for more than
two classes) and a numeric target (gradient boosting, R^2). Every model reads the
covariates in one train-fitted encoding (:class:`~safe_bench.evaluation.encoding.Encoding`).
Models are trained on at most :data:`MAX_TRAIN_ROWS` rows and tested on at most
:data:`TEST_ROWS` holdout rows (seeded subsamples, sizes in details). They run on one
OpenMP thread: on a busy machine gradient boosting's spinning threads made a fit on a
few hundred rows ten times slower (3.8 s against 0.36 s measured).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from safe_bench.data.schema import Kind, Schema
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.encoding import Encoding
from safe_bench.evaluation.uncertainty import Stream
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.clinical.cohort import (
    frame_key,
    label,
    require_events,
    weights_of,
)
from safe_bench.metrics.clinical.estimators import concordance_pairs, weighted_concordance

#: Models are trained on a seeded subsample of at most this many rows.
MAX_TRAIN_ROWS = 20_000
#: Models are tested on a seeded subsample of at most this many holdout rows.
TEST_ROWS = 2_000
#: The model trained on train must beat chance by this much for a task to count.
MIN_SKILL = 0.02
#: Penalty of the Cox model (scikit-survival ``CoxnetSurvivalAnalysis``): mostly ridge,
#: 1e-3 unless the fit diverges (scikit-survival's "weights are too large") or does not
#: converge in :data:`COX_MAX_ITER` coordinate-descent iterations, then the next, stronger
#: one (the last is kept as it ends).
COX_ALPHAS, COX_L1_RATIO = (1e-3, 1e-2, 1e-1), 0.01
#: Iterations of a Cox fit before it counts as not converged. Fits that converge take a
#: few hundred here; scikit-survival's default (100,000) let a fit on a 360-row half of a
#: FLCHAIN holdout run 1.5 s and stop unconverged.
COX_MAX_ITER = 10_000


def covariate_encoding(cmp: Comparison) -> Encoding:
    """The covariates' encoding, fitted on train once per evaluation."""
    schema = cmp.schema
    sub = Schema(kinds={c: schema.kinds[c] for c in schema.covariates})
    return cmp.cached("covariate_encoding", lambda: Encoding.fit(cmp.train, sub))


def _rows(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, size=cap, replace=False))


@dataclass(frozen=True)
class Task:
    """A prediction task: its name, its measure and that measure's chance level, how to
    fit a model (features, rows, seed), predict, pick the rows with an outcome, and
    score predictions: the measure on the test rows, and a function giving it for each
    row of a (replicates x test rows) array of bootstrap weights."""

    name: str
    measure: str
    chance: float
    fit: Callable[[np.ndarray, pd.DataFrame, int], Any]
    predict: Callable[[Any, np.ndarray], Any]
    usable: Callable[[pd.DataFrame], np.ndarray]
    scorer: Callable[[pd.DataFrame, Any], tuple[float, Callable[[np.ndarray], np.ndarray]]]


def _survival_task(schema: Schema) -> Task:
    from lifelines.utils import concordance_index
    from sklearn.exceptions import ConvergenceWarning
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.util import Surv

    assert schema.survival is not None
    time, event = schema.survival.time, schema.survival.event

    def fit(x: np.ndarray, frame: pd.DataFrame, seed: int) -> Any:
        y = Surv.from_arrays(frame[event].to_numpy() > 0, frame[time].to_numpy())
        for alpha in COX_ALPHAS[:-1]:  # a stronger penalty when the coordinate descent fails
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", ConvergenceWarning)
                    return CoxnetSurvivalAnalysis(alphas=[alpha], l1_ratio=COX_L1_RATIO, max_iter=COX_MAX_ITER).fit(x, y)
            except (ArithmeticError, ConvergenceWarning):
                continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return CoxnetSurvivalAnalysis(alphas=[COX_ALPHAS[-1]], l1_ratio=COX_L1_RATIO, max_iter=COX_MAX_ITER).fit(x, y)

    def scorer(frame: pd.DataFrame, risk: np.ndarray) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
        t, e = frame[time].to_numpy(), frame[event].to_numpy()
        comparable, concordant = concordance_pairs(t, e, risk)
        return float(concordance_index(t, -risk, e)), lambda w: weighted_concordance(comparable, concordant, w)

    return Task(
        "survival", "C-index (Harrell)", 0.5, fit,
        lambda model, x: model.predict(x),
        lambda frame: np.ones(len(frame), dtype=bool),
        scorer,
    )


def _target_task(schema: Schema) -> Task:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.metrics import r2_score, roc_auc_score

    target = schema.target
    assert target is not None
    numeric = schema.kinds[target] is Kind.NUMERIC

    def usable(frame: pd.DataFrame) -> np.ndarray:
        return frame[target].notna().to_numpy()

    if numeric:
        def fit_regressor(x: np.ndarray, frame: pd.DataFrame, seed: int) -> Any:
            return HistGradientBoostingRegressor(random_state=seed).fit(x, frame[target].to_numpy(dtype=float))

        def r2(frame: pd.DataFrame, pred: np.ndarray) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
            y = frame[target].to_numpy(dtype=float)
            return float(r2_score(y, pred)), lambda w: np.array([r2_score(y, pred, sample_weight=wi) for wi in w])

        return Task("target", "R^2", 0.0, fit_regressor, lambda model, x: model.predict(x), usable, r2)

    def fit(x: np.ndarray, frame: pd.DataFrame, seed: int) -> Any:
        labels = frame[target].astype(str).to_numpy()
        if len(np.unique(labels)) < 2:
            return _Constant(labels[0])
        return HistGradientBoostingClassifier(random_state=seed).fit(x, labels)

    def scorer(frame: pd.DataFrame, proba: pd.DataFrame) -> tuple[float, Callable[[np.ndarray], np.ndarray]]:
        y = frame[target].astype(str).to_numpy()
        classes = sorted(np.unique(y))
        p = proba.reindex(columns=classes, fill_value=0.0).to_numpy()
        binary = len(classes) == 2

        def auc(w: np.ndarray | None) -> float:
            if w is not None and len(np.unique(y[w > 0])) < len(classes):
                return float("nan")  # a resample without some class has no AUC
            if binary:
                return float(roc_auc_score(y == classes[1], p[:, 1], sample_weight=w))
            rows = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
            return float(roc_auc_score(y, rows, multi_class="ovr", labels=classes, sample_weight=w))

        return auc(None), lambda w: np.array([auc(wi) for wi in w])

    def predict(model: Any, x: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(model.predict_proba(x), columns=[str(c) for c in model.classes_])

    return Task("target", "ROC AUC", 0.5, fit, predict, usable, scorer)


class _Constant:
    """A classifier trained on a single class: it predicts that class for everyone."""

    def __init__(self, label: str):
        self.classes_ = np.array([label])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.ones((len(x), 1))


def _tasks(cmp: Comparison) -> list[Task]:
    tasks = []
    if cmp.schema.survival is not None:
        tasks.append(_survival_task(cmp.schema))
    if cmp.schema.target is not None:
        tasks.append(_target_task(cmp.schema))
    return tasks


def _trained(cmp: Comparison, role: str, task: Task) -> Any:
    """The task's model trained on table ``role`` (once per evaluation)."""

    def train() -> Any:
        frame = cmp.table(role)
        frame = frame.loc[task.usable(frame)].reset_index(drop=True)
        frame = frame.iloc[_rows(len(frame), MAX_TRAIN_ROWS, cmp.rng(Stream.TSTR_TRAIN_ROWS))].reset_index(drop=True)
        with threadpool_limits(1, user_api="openmp"):
            return task.fit(covariate_encoding(cmp).transform(frame), frame, cmp.seed), len(frame)

    return cmp.cached(("tstr_model", task.name, frame_key(cmp, role)), train)


@metric("C.tstr", pillar="C", name="Train on synthetic, test on real", requires=("holdout",), reference_details=True)
def train_synthetic_test_real(cmp: Comparison) -> Measurement:
    """Each task (survival: Cox C-index; categorical target: ROC AUC; numeric target:
    R^2) is trained on the table under test and on train, and both models are tested on
    the holdout. Like is compared with like: when the table under test is smaller than
    train, the real model is trained on a seeded sample of train of the table's size (so
    the holdout reference, trained on half the holdout, is no longer held to a model
    trained on all of train: 0.505 beside 0.908 on GBSG2 before). Score per task:
    (m_table - chance) / (m_train - chance), clipped to 0..1; the metric is the mean
    over tasks. Interval: paired bootstrap over the holdout test rows (the models are
    not refitted)."""
    tasks = _tasks(cmp)
    if not tasks:
        raise MetricSkipped("no task: declare a survival endpoint or a target in the schema")
    if cmp.schema.survival is not None:
        require_events(cmp, "train", "training a Cox model")
        require_events(cmp, "synthetic", "training a Cox model")
    if not cmp.schema.covariates:
        raise MetricSkipped("no covariate to predict from")
    holdout = cmp.holdout
    # like with like: the model trained on real rows sees no more rows than the table has
    baseline = cmp.sample("train", len(cmp.synthetic))
    test_rows = _rows(len(holdout), TEST_ROWS, cmp.rng(Stream.TSTR_TEST_ROWS))
    test = holdout.iloc[test_rows].reset_index(drop=True)
    resamples = [weights_of(idx, len(test)) for idx in cmp.resamples(len(test))]
    encoding = covariate_encoding(cmp)
    point: list[float] = []
    reps: list[np.ndarray] = []
    details: dict[str, Any] = {"test_rows": len(test), "tasks": {}, "skipped_tasks": {}}
    for task in tasks:
        usable = task.usable(test)
        rows = test.loc[usable].reset_index(drop=True)
        if task.name == "survival" and rows[cmp.schema.survival.event].sum() < 2:  # type: ignore[union-attr]
            details["skipped_tasks"][task.name] = "the holdout test rows have fewer than 2 events"
            continue
        x = encoding.transform(rows)
        (on_train, n_train), (on_table, n_table) = _trained(cmp, baseline, task), _trained(cmp, "synthetic", task)
        with threadpool_limits(1, user_api="openmp"):
            on_train_x, on_table_x = task.predict(on_train, x), task.predict(on_table, x)
        m_train, measure_train = task.scorer(rows, on_train_x)
        m_table, measure_table = task.scorer(rows, on_table_x)
        if m_train - task.chance < MIN_SKILL:
            details["skipped_tasks"][task.name] = (
                f"the model trained on train is no better than chance on the holdout ({task.measure} {m_train:.3f})"
            )
            continue
        weights = np.vstack([w[usable] for w in resamples])
        # a resample on which the real model has no skill leaves the ratio undefined (NaN, ignored)
        skill = measure_train(weights) - task.chance
        ratio = np.divide(measure_table(weights) - task.chance, skill, out=np.full_like(skill, np.nan), where=skill > 0)
        score = float(np.clip((m_table - task.chance) / (m_train - task.chance), 0.0, 1.0))
        point.append(score)
        reps.append(np.clip(ratio, 0.0, 1.0))
        details["tasks"][task.name] = {
            "measure": task.measure,
            "chance": task.chance,
            "train": m_train,
            "table": m_table,
            "score": score,
            "train_rows": {"train": n_train, "table": n_table},
            "test_rows": int(usable.sum()),
        }
    if not point:
        raise MetricSkipped("no task can be scored: " + "; ".join(f"{k}: {v}" for k, v in details["skipped_tasks"].items()))
    if not details["skipped_tasks"]:
        del details["skipped_tasks"]
    details["trained_on"] = label(cmp, "synthetic")
    score = float(np.mean(point))
    return bootstrapped(score, score, np.mean(reps, axis=0), details)
