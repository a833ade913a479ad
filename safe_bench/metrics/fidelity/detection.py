"""S.detect: a classifier two-sample test between train and the table under test."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import ONE_SIDED_Z, Stream, centred_replicates, percentile_ci, within_sampling
from safe_bench.metrics.base import Measurement, bootstrapped, metric
from safe_bench.metrics.fidelity.counts import Replicated, resample_weights, single_threaded
from safe_bench.metrics.fidelity.subsample import subsample

#: Rows per class of the S.detect classifier (a seeded subsample beyond that).
DETECT_ROWS = 10_000
#: Folds of the S.detect cross-validation.
DETECT_FOLDS = 5
#: Boosting rounds and learning rate of the S.detect classifier: half scikit-learn's
#: default rounds at twice its rate (the same power on the bundled cohorts, a quarter
#: less time: most of a round's cost is per tree node, not per row).
DETECT_ROUNDS, DETECT_LEARNING_RATE = 50, 0.2


def _detection_matrix(cmp: Comparison, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Classifier inputs: numbers (datetimes in days, NaN kept: the classifier gives
    missing values their own branch) and category codes on train's list (missing and
    unseen codes of their own); the mask of columns the classifier treats as categories."""
    columns, categorical = [], []
    for col in cmp.schema.features:
        if col in cmp.encoding.categories:
            columns.append(cmp.encoding.codes(frame, col).astype(float))
            categorical.append(len(cmp.encoding.categories[col]) + 2 <= 255)  # the classifier's limit
        else:
            columns.append(as_numbers(frame[col]))
            categorical.append(False)
    return np.column_stack(columns), np.array(categorical)


def _detection_folds(x: np.ndarray, labels: np.ndarray, state: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Stratified, seeded folds (training rows, test rows) in which identical rows share a
    fold: scikit-learn's StratifiedKFold over the distinct rows (``np.unique``, NaN as
    -inf), stratified on whether a distinct row occurs in the table under test."""
    _, group = np.unique(np.nan_to_num(x, nan=-np.inf), axis=0, return_inverse=True)
    group = group.ravel()
    under_test = np.zeros(group.max() + 1, dtype=bool)
    under_test[group[labels == 1]] = True
    if np.bincount(under_test).max() < DETECT_FOLDS:
        raise MetricSkipped(f"fewer than {DETECT_FOLDS} distinct rows for {DETECT_FOLDS}-fold detection")
    folds = StratifiedKFold(DETECT_FOLDS, shuffle=True, random_state=state)
    with warnings.catch_warnings():  # a rare stratum (few rows only one table holds) is fine
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(folds.split(np.zeros(len(under_test)), under_test))
    for _, test_groups in splits:
        in_test = np.isin(group, test_groups)
        yield np.flatnonzero(~in_test), np.flatnonzero(in_test)


def _auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> Replicated:
    """ROC AUC (ties count one half: Mann-Whitney), plain and with each row of ``weights``
    as row counts: (1 + B,)."""
    _, tie = np.unique(scores, return_inverse=True)
    one_hot = sparse.csr_matrix((np.ones(len(tie)), (np.arange(len(tie)), tie)))
    w = np.column_stack([np.ones(len(scores)), weights])
    pos = (one_hot.T @ (w * positive[:, None])).T
    neg = (one_hot.T @ (w * ~positive[:, None])).T
    below = np.cumsum(neg, axis=1) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(pos * (below + 0.5 * neg), axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


@metric("S.detect", pillar="S", name="Detection (classifier two-sample test)")
@single_threaded
def detection(cmp: Comparison) -> Measurement:
    """A classifier tries to tell train rows from rows of the table under test: mean ROC
    AUC over 5 stratified, seeded cross-validation folds, identical rows (within and
    across the two tables) in the same fold so that no row is scored by a classifier that
    saw its copy under the other label (Lopez-Paz & Oquab 2017). Value: the AUC. Score:
    its excess over 0.5 judged against the one-sided 95th percentile of the AUC when the
    two tables are alike, ``1.645 sqrt((2m + 1) / (12 m^2))`` for m rows per class (the
    Mann-Whitney null; Hanley & McNeil 1982): 1 within it, ``threshold / excess``
    beyond. The classifier is scikit-learn's
    HistGradientBoostingClassifier (gradient boosting on binned features, chosen for
    speed: linear in rows, missing values and categories handled natively; at most 50
    rounds at learning rate 0.2), with early
    stopping on a seeded 10 % validation split of each training fold at every size (so
    small tables are not overfitted). It never
    sees the holdout. Classes are balanced by subsampling the larger table (at most
    10,000 rows each, seeded), never by weighting. Interval: row bootstrap of the
    out-of-fold predictions (the classifier is not refitted)."""
    m = min(len(cmp.train), len(cmp.synthetic), DETECT_ROWS)
    if m < 4 * DETECT_FOLDS:
        raise MetricSkipped(f"too few rows for {DETECT_FOLDS}-fold detection ({m} per class)")
    rng = cmp.rng(Stream.DETECTION)
    state = int(rng.integers(2**31))
    x_t, categorical = _detection_matrix(cmp, subsample(cmp.train, m, rng))
    x_y, _ = _detection_matrix(cmp, subsample(cmp.synthetic, m, rng))
    x, labels = np.vstack([x_t, x_y]), np.repeat([0, 1], m)
    weights = resample_weights(cmp, 2 * m)
    aucs = []
    for fit_rows, test_rows in _detection_folds(x, labels, state):
        if len(fit_rows) < 20 or np.bincount(labels[fit_rows], minlength=2).min() < 2:
            # early stopping holds out 10 % of the training rows, stratified: two of each table
            raise MetricSkipped("a cross-validation fold is too small or holds one table only (too few distinct rows)")
        classifier = HistGradientBoostingClassifier(
            categorical_features=categorical, early_stopping=True, random_state=state,
            max_iter=DETECT_ROUNDS, learning_rate=DETECT_LEARNING_RATE,
        )
        classifier.fit(x[fit_rows], labels[fit_rows])
        scores = classifier.predict_proba(x[test_rows])[:, 1]
        aucs.append(_auc(scores, labels[test_rows] == 1, weights[test_rows]))
    if any(np.isnan(a[0]) for a in aucs):
        raise MetricSkipped("a cross-validation fold holds rows of one table only (too few distinct rows)")
    with warnings.catch_warnings():  # a resample may leave a fold without one table's rows
        warnings.simplefilter("ignore", RuntimeWarning)
        auc = np.nanmean(aucs, axis=0)
    threshold = _auc_null(m)
    score = within_sampling(np.maximum(auc - 0.5, 0.0), threshold, maximum=0.5)
    details = {
        "auc": auc[0],
        "auc_ci": list(percentile_ci(centred_replicates(auc[0], auc[1:]))),
        "real_vs_real_q95": 0.5 + threshold,
        "fold_aucs": [a[0] for a in aucs],
        "rows_per_class": m,
        "rows": {"train": len(cmp.train), "synthetic": len(cmp.synthetic)},
        "classifier": "HistGradientBoostingClassifier",
        "rounds": DETECT_ROUNDS,
        "learning_rate": DETECT_LEARNING_RATE,
        "random_state": state,
        "folds": DETECT_FOLDS,
    }
    return bootstrapped(float(auc[0]), float(score[0]), score[1:], details)


def _auc_null(m: int) -> float:
    """The one-sided 95th percentile of AUC - 0.5 for m scored rows of each class when
    the scores do not depend on the class (Mann-Whitney U under the null)."""
    return float(ONE_SIDED_Z * np.sqrt((2 * m + 1) / (12.0 * m * m)))
