"""Pillar P, privacy preservation: does the synthetic table give away training patients?

Distances come from the evaluation's shared exact nearest-neighbour searches in the
train-fitted encoding (:mod:`safe_bench.metrics.privacy.neighbours`, cached by
:class:`~safe_bench.evaluation.comparison.EvaluationData`): synthetic->train (k = 2, for NNDR),
synthetic->holdout, holdout->train (k = 2), and for membership inference
train-sample->synthetic and holdout->synthetic. The Anonymeter-method attacks are in
:mod:`safe_bench.metrics.privacy.attacks`. Like every metric, each is also computed with real holdout
rows in place of the synthetic table (the reference the synthetic table is held to).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from safe_bench.data.schema import Kind
from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.comparison import Comparison
from safe_bench.evaluation.uncertainty import (
    Stream,
    centred_replicates,
    wilson_ci,
    within_sampling,
)
from safe_bench.metrics.base import Evidence, Measurement, bootstrapped, metric
from safe_bench.metrics.privacy import attacks
from safe_bench.metrics.privacy.neighbours import Neighbours, search

#: Neighbours asked of every search in train (NNDR needs two; one search serves all).
_K_TRAIN = 2
#: The lower tail of distances compared by P.dcr_p5 and P.nndr.
_TAIL = 0.05
#: P.mia: most members and most non-members scored (an AUC from 20k + 20k candidates
#: has a 95 % interval of about +-0.006).
MIA_CANDIDATES = 20_000
#: Attacks whose residual risk is less certain than +- this are not summarised.
MAX_RISK_ERROR = 0.25
#: Fewest attacks (targets, or predicates for singling out) an attack metric is judged
#: on: below 50, even an attack that never succeeds on either side leaves the residual
#: risk uncertain by more than about +-0.05 (Wilson half-widths ``z^2 / (2 (n +
#: z^2))``, propagated), and one succeeding a fifth of the time by more than +-0.2
#: (Anonymeter's default is 500).
MIN_ATTACKS = 50
#: The attacks' minimum evidence: a holdout of at least :data:`MIN_ATTACKS` rows (the
#: control targets of linkability and inference, singling out's control population).
ATTACK_EVIDENCE = Evidence(holdout_rows=MIN_ATTACKS)
#: P.leakage: a coefficient above this flags a possible breach (Eckardt et al. 2024).
LEAKAGE_THRESHOLD = 0.05


#: Most of the holdout that may duplicate train rows before no comparison is possible.
MAX_STALE_HOLDOUT = 0.5


def _comparable(cmp: Comparison) -> None:
    """Skip when the comparison has nothing to say: an empty table, or a holdout that
    is mostly copies of train rows (then there are no fresh patients to compare with)."""
    for role in ("synthetic", "holdout"):
        if len(cmp.table(role)) == 0:
            raise MetricSkipped(f"the {'table under test' if role == 'synthetic' else 'holdout'} has no rows")
    stale = float(cmp.copies("holdout", "train").mean())
    if stale > MAX_STALE_HOLDOUT:
        raise MetricSkipped(
            f"{stale:.0%} of holdout rows are copies of train rows: no fresh patients to compare with"
        )


def _searched(found: Neighbours, rows: int) -> dict[str, int]:
    """Details naming the query subsample a search used, if any."""
    return {} if found.rows is None else {"query_rows_searched": len(found.rows), "query_rows": rows}


def _share(
    cmp: Comparison, hits: np.ndarray, score_of: Callable[[float], float], details: dict[str, object]
) -> Measurement:
    """A share of rows (``hits`` in 0..1 per row) with a decreasing score: Wilson
    interval of the share mapped through the score, bootstrap replicates of the score
    over the evaluation's shared row resamples."""
    share = float(hits.mean())
    score = score_of(share)
    low, high = wilson_ci(float(hits.sum()), len(hits))
    replicates = np.array([score_of(float(hits[idx].mean())) for idx in cmp.resamples(len(hits))])
    return Measurement(
        value=share,
        score=score,
        ci=(score_of(high), score_of(low)),
        replicates=centred_replicates(score, replicates),
        details=details,
    )


# -- exact copies -------------------------------------------------------------------
def _exact_score(share: float, holdout_share: float) -> float:
    """The share of copies in excess of the holdout's, over what was left to copy."""
    return float(1.0 - max(0.0, share - holdout_share) / (1.0 - holdout_share))


@metric("P.exact", pillar="P", name="Exact copies of training rows", goal="minimize", requires=("holdout",))
def exact_matches(cmp: Comparison) -> Measurement:
    """Share ``s_Y`` of rows of the table under test identical to a train row, against
    the same share ``s_H`` of the holdout (real rows never trained on; on coarse data
    fresh patients repeat training patients too: 10 to 15 % of the holdout on the
    Rossi recidivism table at the 70/30 split). Score: the share of copies in excess
    of the holdout's over what was left to copy, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)`` (the residual-risk form of Giomi et al. 2023), so a table of copies scores
    0 whatever ``s_H`` is and one copying no more than fresh patients do scores 1.
    Interval: Wilson interval of ``s_Y`` mapped through the score."""
    _comparable(cmp)
    copied = cmp.copies("synthetic", "train").astype(float)
    holdout_share = float(cmp.copies("holdout", "train").mean())
    return _share(
        cmp,
        copied,
        lambda share: _exact_score(share, holdout_share),
        {"copies": int(copied.sum()), "rows": len(copied), "holdout_share": holdout_share},
    )


# -- distances to closest records -----------------------------------------------------
@metric("P.dcr_share", pillar="P", name="Closer to train than to holdout", goal="minimize", requires=("holdout",))
def dcr_share(cmp: Comparison) -> Measurement:
    """Share of rows of the table under test whose nearest train row is closer than
    their nearest holdout row (ties count as the null share ``p0``).

    Train and holdout are one random split of the real rows, so for rows generated
    without regard to which real rows were trained on, the nearest real row is a
    train row with probability ``p0 = |T| / (|T| + |H|)`` (0.5 for equal sizes, as
    with the usual subsampling of train to the holdout's size, but every copied
    train row counts). Score: ``1 - max(share - p0, 0) / (1 - p0)``. Interval:
    Wilson."""
    _comparable(cmp)
    to_train = search(cmp, "synthetic", "train", _K_TRAIN)
    to_holdout = search(cmp, "synthetic", "holdout")
    d_train, d_holdout = to_train.distances[:, 0], to_holdout.distances[:, 0]
    p0 = len(cmp.train) / (len(cmp.train) + len(cmp.holdout))
    tied = d_train == d_holdout
    if tied.mean() > 0.5:
        raise MetricSkipped(f"{tied.mean():.0%} of rows under test are as close to the holdout as to train: cannot tell")
    closer = (d_train < d_holdout) + p0 * tied
    return _share(
        cmp,
        closer,
        lambda share: float(1.0 - max(share - p0, 0.0) / (1.0 - p0)),
        {"null_share": p0, "ties": int(tied.sum()), **_searched(to_train, len(cmp.synthetic))},
    )


def _tail(values: np.ndarray) -> float:
    return float(np.quantile(values, _TAIL, method="inverted_cdf"))


def _tail_share(cmp: Comparison, synthetic: np.ndarray, holdout: np.ndarray, what: str, details: dict) -> Measurement:
    """How many rows under test sit in the holdout's lowest 5 % of ``what`` (per row,
    at or below its 5th percentile ``t``): share ``s_Y`` against the holdout's own share
    ``s_H`` at or below ``t`` (5 %, more where values tie at ``t``), scored like
    P.exact as the excess over what fresh patients show, ``1 - max(0, s_Y - s_H) / (1 -
    s_H)``. A ratio of 5th percentiles (the usual form, kept in the details) has no
    scale: on coarse data a few exact ties set either percentile to 0, and fresh
    patients scored 0 on it (Rossi). Interval: Wilson of ``s_Y`` mapped through the
    score."""
    cut = _tail(holdout)
    holdout_share = float((holdout <= cut).mean())
    low_synthetic = _tail(synthetic)
    details = {
        f"p5_holdout_{what}": cut,
        f"p5_synthetic_{what}": low_synthetic,
        "ratio": low_synthetic / cut if cut > 0 else None,
        "holdout_share": holdout_share,
        **details,
    }
    return _share(cmp, (synthetic <= cut).astype(float), lambda share: _exact_score(share, holdout_share), details)


@metric("P.dcr_p5", pillar="P", name="Near-copies: rows in the fresh patients' closest 5 %", goal="minimize",
        requires=("holdout",))
def dcr_p5(cmp: Comparison) -> Measurement:
    """Distance from each row under test to its closest train row (DCR) against the
    holdout's: the share of rows under test closer to train than the closest 5 % of
    holdout rows are (see :func:`_tail_share`). Value: that share; score: its excess
    over the holdout's share."""
    _comparable(cmp)
    synthetic = search(cmp, "synthetic", "train", _K_TRAIN)
    holdout = search(cmp, "holdout", "train", _K_TRAIN)
    to_train, holdout_to_train = synthetic.distances[:, 0], holdout.distances[:, 0]
    details = {**_searched(synthetic, len(cmp.synthetic)), "histogram": _distance_histogram(to_train, holdout_to_train)}
    return _tail_share(cmp, to_train, holdout_to_train, "dcr", details)


#: Bins of the DCR histograms in P.dcr_p5 details (what report figures draw).
HISTOGRAM_BINS = 30
#: At most this many points of the P.mia ROC curve in its details (evenly thinned).
ROC_POINTS = 201


def _distance_histogram(synthetic: np.ndarray, holdout: np.ndarray) -> dict[str, list[float]]:
    """Counts of synthetic->train and holdout->train distances on shared equal-width
    bins from 0 to the holdout's 99th percentile, larger distances in the last bin."""
    top = float(np.percentile(holdout, 99)) if len(holdout) else 0.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, HISTOGRAM_BINS + 1)

    def counts(values: np.ndarray) -> list[float]:
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, HISTOGRAM_BINS - 1)
        return np.bincount(bins, minlength=HISTOGRAM_BINS).astype(float).tolist()

    return {"edges": edges.tolist(), "synthetic": counts(synthetic), "holdout": counts(holdout)}


def _nndr(found: Neighbours) -> np.ndarray:
    """Nearest over second-nearest distance (0 for a row with two exact copies)."""
    first, second = found.distances[:, 0], found.distances[:, 1]
    return np.divide(first, second, out=np.zeros_like(first), where=second > 0)


@metric("P.nndr", pillar="P", name="Nearest-neighbour distance ratio", goal="minimize", requires=("holdout",))
def nndr(cmp: Comparison) -> Measurement:
    """Nearest / second-nearest train distance of each row under test (NNDR: near 0
    when a row singles out one training patient) against the holdout's: the share of
    rows under test below the holdout's 5th percentile NNDR (see
    :func:`_tail_share`). Value: that share; score: its excess over the holdout's
    share."""
    _comparable(cmp)
    if len(cmp.train) < 2:
        raise MetricSkipped("train has fewer than 2 rows: no second-nearest neighbour")
    synthetic = search(cmp, "synthetic", "train", _K_TRAIN)
    holdout = search(cmp, "holdout", "train", _K_TRAIN)
    return _tail_share(cmp, _nndr(synthetic), _nndr(holdout), "nndr", _searched(synthetic, len(cmp.synthetic)))


@metric("P.leakage", pillar="P", name="Privacy leakage coefficient", goal="minimize", value_range=(-1.0, 1.0),
        requires=("holdout",))
def leakage(cmp: Comparison) -> Measurement:
    """Eckardt et al. 2024 (npj Digit Med 7:76): ``1 - mean DCR(Y->T) / mean DCR(Y->H)``
    with train subsampled to the holdout's size (equally sized sets, as the paper);
    above 0.05 flags a possible breach. Reported clipped to -1..1. Score: 1 up to the
    paper's 0.05, then ``0.05 / coefficient`` falling to 0 at 1 (every row a copy;
    :func:`~safe_bench.evaluation.uncertainty.within_sampling`): a fresh sample of a few hundred
    coarse rows reaches 0.04 by chance (Rossi), which a score reaching 0 at 0.05 called
    a breach. Train is subsampled, so a copy of train scores only ``|H| / |T|`` of
    the way to 1 (0.12 against a 30-row holdout): the other distance metrics see it
    whole. Interval: bootstrap."""
    _comparable(cmp)
    train = cmp.sample("train", len(cmp.holdout))
    to_train = search(cmp, "synthetic", train).distances[:, 0]
    to_holdout = search(cmp, "synthetic", "holdout").distances[:, 0]
    if to_holdout.sum() == 0 and to_train.sum() == 0:
        raise MetricSkipped("every row under test is an exact copy of both a train and a holdout row")

    def coefficient(rows: np.ndarray) -> float:
        near_train, near_holdout = to_train[rows].mean(), to_holdout[rows].mean()
        return -1.0 if near_holdout == 0 else float(np.clip(1.0 - near_train / near_holdout, -1.0, 1.0))

    def score_of(coef: float) -> float:
        return float(within_sampling(max(coef, 0.0), LEAKAGE_THRESHOLD, maximum=1.0))

    value = coefficient(np.arange(len(to_train)))
    coefficients = np.array([coefficient(idx) for idx in cmp.resamples(len(to_train))])

    details = {
        "mean_dcr_train": float(to_train.mean()),
        "mean_dcr_holdout": float(to_holdout.mean()),
        "train_rows_used": len(cmp.table(train)),
        "flagged": value > LEAKAGE_THRESHOLD,
    }
    return bootstrapped(value, score_of(value), np.array([score_of(c) for c in coefficients]), details)


# -- membership inference ----------------------------------------------------------------
def _auc_pieces(members: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each non-member distance: where member distances strictly below it and up
    to it end in the sorted member distances (ties count one half)."""
    order = np.argsort(members, kind="stable")
    ranked = members[order]
    return order, np.searchsorted(ranked, others, side="left"), np.searchsorted(ranked, others, side="right")


def _weighted_auc(order: np.ndarray, below: np.ndarray, upto: np.ndarray, w_members: np.ndarray, w_others: np.ndarray) -> float:
    """P(member closer to the synthetic table than non-member), half the ties, with
    row weights (bootstrap counts)."""
    cumulative = np.concatenate([[0.0], np.cumsum(w_members[order])])
    wins = cumulative[below] + 0.5 * (cumulative[upto] - cumulative[below])
    return float((w_others * wins).sum() / (w_members.sum() * w_others.sum()))


@metric("P.mia", pillar="P", name="Membership inference (distance attack)", goal="minimize", requires=("holdout",))
def membership_inference(cmp: Comparison) -> Measurement:
    """An attacker scores each candidate by its distance to the nearest row under test
    (closer: more likely a training member). Members: a seeded sample of train rows of
    the holdout's size; non-members: the holdout (both at most
    :data:`MIA_CANDIDATES`, seeded samples). Value: ROC AUC. Score:
    ``1 - 2 max(AUC - 0.5, 0)``. Interval: bootstrap over members and non-members."""
    _comparable(cmp)
    size = min(len(cmp.holdout), MIA_CANDIDATES)
    members = search(cmp, cmp.sample("train", size), "synthetic")
    others = search(cmp, cmp.sample("holdout", size), "synthetic")
    d_members, d_others = members.distances[:, 0], others.distances[:, 0]
    pieces = _auc_pieces(d_members, d_others)
    tied = float((pieces[2] - pieces[1]).sum()) / (len(d_members) * len(d_others))
    if tied > 0.5:
        raise MetricSkipped(f"{tied:.0%} of (member, non-member) pairs are equally close to the table under test")
    auc = _weighted_auc(*pieces, np.ones(len(d_members)), np.ones(len(d_others)))
    replicates = np.array([
        1.0 - 2.0 * max(
            _weighted_auc(*pieces, np.bincount(m, minlength=len(d_members)), np.bincount(o, minlength=len(d_others))) - 0.5, 0.0
        )
        for m, o in zip(cmp.resamples(len(d_members)), cmp.resamples(len(d_others)), strict=True)
    ])
    labels = np.r_[np.ones(len(d_members)), np.zeros(len(d_others))]
    fpr, tpr, _ = roc_curve(labels, -np.r_[d_members, d_others])  # closer to a row under test: a member
    kept = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).round().astype(int))
    details = {"members": len(d_members), "non_members": len(d_others), "holdout_rows": len(cmp.holdout),
               "roc": {"fpr": fpr[kept].tolist(), "tpr": tpr[kept].tolist()}}
    return bootstrapped(auc, 1.0 - 2.0 * max(auc - 0.5, 0.0), replicates, details)


# -- Anonymeter-method attacks -------------------------------------------------------------


def _quasi_identifiers(cmp: Comparison) -> list[str]:
    if not cmp.schema.quasi_identifiers:
        raise MetricSkipped("no quasi-identifiers: declare roles.quasi_identifiers in the schema")
    return list(cmp.schema.quasi_identifiers)


def _targets(cmp: Comparison, purpose: Stream) -> tuple[np.ndarray, np.ndarray]:
    """Seeded attack targets: as many train rows as holdout rows, at most N_ATTACKS.

    Sampling targets dilutes no leak: each train target is a training record, and the
    attack on it is judged against the whole table under test (its nearest rows), which
    holds every record it copied; a sample only sets how many records are tried. (It
    is singling out, judged on populations, whose size matters: see
    :func:`singling_out`.)"""
    n = min(attacks.N_ATTACKS, len(cmp.train), len(cmp.holdout))
    rng = cmp.rng(purpose)
    return np.sort(rng.choice(len(cmp.train), n, replace=False)), np.sort(rng.choice(len(cmp.holdout), n, replace=False))


def _riskiest(outcomes: dict[str, attacks.AttackOutcome]) -> str:
    """The riskiest attack among the informative ones: those of at least
    :data:`MIN_ATTACKS` attacks whose risk interval is at most +-:data:`MAX_RISK_ERROR`
    wide. (The residual risk is ill-conditioned when the control attack almost always
    succeeds, e.g. a secret nearly constant: its interval then spans most of 0..1 and
    must not decide on noise.)"""
    enough = {k: o for k, o in outcomes.items() if o.attacks >= MIN_ATTACKS}
    if not enough:
        most = max(o.attacks for o in outcomes.values())
        raise MetricSkipped(f"too few attacks to say anything: {most}, fewer than {MIN_ATTACKS}")
    informative = {k: o for k, o in enough.items() if residual_error(o) <= MAX_RISK_ERROR}
    if not informative:
        raise MetricSkipped(
            f"every attack's risk is uncertain by more than +-{MAX_RISK_ERROR} (the attack on control records "
            "almost always succeeds): not informative"
        )
    return max(informative, key=lambda k: (informative[k].risk[0], k))


def residual_error(outcome: attacks.AttackOutcome) -> float:
    return attacks.residual_risk(outcome.train_rate, outcome.control_rate)[1]


def _risk_measurement(outcome: attacks.AttackOutcome, details: dict) -> Measurement:
    risk, low, high = outcome.risk
    return Measurement(value=risk, score=1.0 - risk, ci=(1.0 - high, 1.0 - low), details=details)


def _secret_values(frame: pd.DataFrame, column: str, numeric: bool) -> np.ndarray:
    return as_numbers(frame[column]) if numeric else frame[column].to_numpy(dtype=object)


@metric("P.attribute", pillar="P", name="Attribute inference risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def attribute_inference(cmp: Comparison) -> Measurement:
    """Per sensitive column: guess a target's value from the row under test nearest on
    the quasi-identifiers (Anonymeter's inference attack; control = holdout); risk
    ``(r_T - r_H) / (1 - r_H)`` of the riskiest informative column (see
    :func:`_riskiest`). Score: ``1 - risk``. Interval: Wilson, propagated."""
    _comparable(cmp)
    quasi = _quasi_identifiers(cmp)
    if not cmp.schema.sensitive:
        raise MetricSkipped("no sensitive columns: declare roles.sensitive in the schema")
    on_train, on_holdout = _targets(cmp, Stream.INFERENCE_TARGETS)
    results: dict[str, attacks.AttackOutcome] = {}
    for secret in cmp.schema.sensitive:
        aux = cmp.encoding.positions([c for c in quasi if c != secret])
        if len(aux) == 0:
            continue
        numeric = cmp.schema.kinds[secret] in (Kind.NUMERIC, Kind.DATETIME)
        results[secret] = attacks.inference(
            cmp.matrix("train")[on_train][:, aux],
            cmp.matrix("holdout")[on_holdout][:, aux],
            cmp.matrix("synthetic")[:, aux],
            _secret_values(cmp.train, secret, numeric)[on_train],
            _secret_values(cmp.holdout, secret, numeric)[on_holdout],
            _secret_values(cmp.synthetic, secret, numeric),
            numeric,
        )
    if not results:
        raise MetricSkipped("every sensitive column is the only quasi-identifier: nothing to attack from")
    worst = _riskiest(results)
    details = {"worst": worst, "columns": {c: r.details() for c, r in results.items()}}
    return _risk_measurement(results[worst], details)


@metric("P.linkability", pillar="P", name="Linkability risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def linkability(cmp: Comparison) -> Measurement:
    """The quasi-identifiers split in two halves; a target's halves are linked when
    their nearest rows under test coincide (Anonymeter's linkability attack; control =
    holdout). Risk ``(r_T - r_H) / (1 - r_H)``. Score: ``1 - risk``. Interval: Wilson,
    propagated."""
    _comparable(cmp)
    quasi = _quasi_identifiers(cmp)
    if len(quasi) < 2:
        raise MetricSkipped("linkability needs at least 2 quasi-identifiers to split in two")
    half = math.ceil(len(quasi) / 2)
    halves = [cmp.encoding.positions(part) for part in (quasi[:half], quasi[half:])]
    on_train, on_holdout = _targets(cmp, Stream.LINKABILITY_TARGETS)

    def split(role: str, rows: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        matrix = cmp.matrix(role)[rows]
        return matrix[:, halves[0]], matrix[:, halves[1]]

    outcome = attacks.linkability(split("train", on_train), split("holdout", on_holdout), split("synthetic", slice(None)))
    _riskiest({"linkability": outcome})
    details = {"first_half": quasi[:half], "second_half": quasi[half:], **outcome.details()}
    return _risk_measurement(outcome, details)


@metric("P.singling_out", pillar="P", name="Singling-out risk (Anonymeter)", goal="minimize", requires=("holdout",),
        evidence=ATTACK_EVIDENCE)
def singling_out(cmp: Comparison) -> Measurement:
    """Predicates isolating one row under test (univariate and multivariate, Anonymeter's
    singling-out attack, Giomi et al. 2023) tried on train and on the holdout (control);
    the risk ``(r_T - r_H) / (1 - r_H)`` of the riskier informative mode. Score: ``1 -
    risk``. Interval: Wilson, propagated.

    Whether a predicate isolates one record depends on the population's size, so the
    two rates must be those of populations of equal size, without diluting a leak:
    train is judged whole (a copied training record is certainly in it; judged on a
    subsample of the holdout's size, a verbatim copy of train scored about 0.7 at the
    70/30 split) and the control's rate is brought to train's size
    (:func:`safe_bench.metrics.privacy.attacks.isolating`: exact when the holdout is the larger, an
    empirical-Bayes extrapolation otherwise, as Anonymeter corrects for the sizes)."""
    _comparable(cmp)
    columns = cmp.schema.features
    numeric = np.array([cmp.schema.kinds[c] in (Kind.NUMERIC, Kind.DATETIME) for c in columns])
    synthetic, train, holdout = attacks.records([cmp.synthetic[columns], cmp.train[columns], cmp.holdout[columns]], list(numeric))
    rng = cmp.rng(Stream.SINGLING_OUT)
    modes = {
        "univariate": attacks.univariate_predicates(synthetic, numeric, attacks.N_PREDICATES, rng),
        "multivariate": attacks.multivariate_predicates(synthetic, numeric, attacks.N_PREDICATES, rng),
    }
    outcomes = {mode: attacks.singling_out(p, train, holdout) for mode, p in modes.items() if len(p)}
    if not outcomes:
        raise MetricSkipped("no predicate isolates a single row of the table under test")
    worst = _riskiest(outcomes)
    details = {"worst": worst, "modes": {m: o.details() for m, o in outcomes.items()}}
    return _risk_measurement(outcomes[worst], details)
