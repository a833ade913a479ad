"""The three attacks of Anonymeter (Giomi et al., "A Unified Framework for Quantifying
Privacy Risk in Synthetic Data", PoPETs 2023), implemented here and vectorised.

Each attack is run against training records and, identically, against control
records the generator never saw (the holdout). Following the paper:

- success rates are Wilson score estimates: ``r = (s + z^2/2) / (n + z^2)`` with
  half-width ``z / (n + z^2) * sqrt(s (n - s) / n + z^2 / 4)`` (Wilson 1927);
- the privacy risk is the attack's advantage on training records over control
  records, normalised by what was left to gain: ``(r_train - r_control) / (1 -
  r_control)``, its error propagated from both half-widths; the reported interval
  is the risk plus or minus that error, bounded to 0..1.

The attacks:

- *singling out*: predicates that isolate exactly one synthetic row (univariate:
  a rare value or an extreme; multivariate: a synthetic row's values on random
  columns, numeric ones as one-sided bounds towards the tail), counted a success
  when they isolate exactly one real record too;
- *linkability*: the quasi-identifiers split in two halves, a real record's two
  halves linked when their nearest synthetic rows coincide (rows identical on a half
  counting as one candidate set);
- *inference*: a real record's secret guessed from the synthetic row nearest on
  the quasi-identifiers (numeric secrets within 5 % of the guess, as Anonymeter).

Nearest rows come from the exact engine of :mod:`safe_bench.metrics.privacy.neighbours` in the
train-fitted encoding (Anonymeter uses its own Gower-like distance).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from safe_bench.data.values import as_numbers
from safe_bench.errors import MetricSkipped
from safe_bench.evaluation.uncertainty import LEVEL
from safe_bench.metrics.privacy.neighbours import nearest

#: Attacks against each of train and control (Anonymeter's default).
N_ATTACKS = 500
#: Singling-out predicates of each mode. Drawn from the table under test, they cost
#: no real rows (unlike linkability and inference targets), so more than
#: :data:`N_ATTACKS` are tried: with 500, fresh real rows in place of the synthetic
#: table scored a singling-out risk of up to 0.1 by chance (AIDS, train 402 and holdout
#: 346 rows); 2000 halve the rates' Wilson half-widths.
N_PREDICATES = 2000
#: Relative tolerance of a numeric secret's guess (Anonymeter's default).
TOLERANCE = 0.05
#: Columns in a multivariate singling-out predicate (Anonymeter's default).
PREDICATE_COLUMNS = 3
#: Most multivariate predicates tried (Anonymeter: 10 million). Where a predicate
#: rarely isolates a record (0.1 % of tries on the FLCHAIN-like 100k table) fewer than
#: asked are found; the count found is the number of attacks.
MAX_ATTEMPTS = 200_000
#: Sizes of the synthetic samples a multivariate try is screened on first (two
#: matches in a sample rule a try out; the screens change no result, only the time:
#: measured against (512, 4096, 32768), 0.49 s instead of 0.85 s at 10k rows, 2.0 s
#: instead of 2.4 s at 100k).
SCREEN_ROWS = (64, 512, 4096, 32768)
#: Tables of at most this many records count predicates on bitsets (:meth:`Records.counts`)
#: when the bitsets take at most :data:`BITSET_BYTES`: the three smaller screens.
BITSET_ROWS = 4096
BITSET_BYTES = 64 << 20

_Z = float(stats.norm.ppf(0.5 + LEVEL / 2))


@dataclass(frozen=True)
class AttackOutcome:
    """Successes of ``attacks`` attacks on training records and on control records
    (a count may be fractional: see :func:`singling_out`)."""

    attacks: int
    train_successes: float
    control_successes: float

    @property
    def train_rate(self) -> tuple[float, float]:
        return success_rate(self.train_successes, self.attacks)

    @property
    def control_rate(self) -> tuple[float, float]:
        return success_rate(self.control_successes, self.attacks)

    @property
    def risk(self) -> tuple[float, float, float]:
        """The residual risk, bounded to 0..1, and its interval."""
        value, error = residual_risk(self.train_rate, self.control_rate)
        return _unit(value), _unit(value - error), _unit(value + error)


def success_rate(successes: float, n: int) -> tuple[float, float]:
    """Wilson score estimate of a success rate and its half-width at :data:`LEVEL`."""
    denominator = n + _Z * _Z
    rate = (successes + _Z * _Z / 2) / denominator
    error = _Z / denominator * np.sqrt(successes * (n - successes) / n + _Z * _Z / 4)
    return float(rate), float(error)


def residual_risk(train: tuple[float, float], control: tuple[float, float]) -> tuple[float, float]:
    """``(r_train - r_control) / (1 - r_control)`` and its propagated error."""
    (r_t, e_t), (r_c, e_c) = train, control
    value = (r_t - r_c) / (1 - r_c)
    error = np.hypot(e_t / (1 - r_c), e_c * (r_t - 1) / (1 - r_c) ** 2)
    return float(value), float(error)


def _unit(x: float) -> float:
    return float(min(max(x, 0.0), 1.0))


# -- inference and linkability ---------------------------------------------------
def inference(
    aux_train: np.ndarray,
    aux_control: np.ndarray,
    aux_synthetic: np.ndarray,
    secret_train: np.ndarray,
    secret_control: np.ndarray,
    secret_synthetic: np.ndarray,
    numeric: bool,
) -> AttackOutcome:
    """Guess each target's secret as that of the synthetic row nearest on the
    auxiliary columns (encoded matrices; one target per row)."""

    def successes(aux: np.ndarray, secret: np.ndarray) -> int:
        guess = secret_synthetic[nearest(aux, aux_synthetic).indices[:, 0]]
        return int(guessed(guess, secret, numeric).sum())

    return AttackOutcome(len(aux_train), successes(aux_train, secret_train), successes(aux_control, secret_control))


def guessed(guess: np.ndarray, secret: np.ndarray, numeric: bool) -> np.ndarray:
    """Correct guesses: equal (missing equals missing); numeric secrets within
    :data:`TOLERANCE` of the guess, relative to the guess (as Anonymeter)."""
    both_missing = pd.isna(guess) & pd.isna(secret)
    if numeric:
        guess, secret = guess.astype(float), secret.astype(float)
        with np.errstate(invalid="ignore"):
            close = np.abs(guess - secret) <= TOLERANCE * np.abs(guess)
        return both_missing | close
    return both_missing | (guess == secret)


def linkability(
    halves_train: tuple[np.ndarray, np.ndarray],
    halves_control: tuple[np.ndarray, np.ndarray],
    halves_synthetic: tuple[np.ndarray, np.ndarray],
) -> AttackOutcome:
    """Link each target's two halves of quasi-identifiers (encoded matrices) when one
    synthetic row matches both nearest rows: it carries the first half's values of the
    nearest row on the first half and the second half's values of the nearest row on
    the second half. Rows identical on a half are one candidate set (as Anonymeter's
    ``n_neighbors`` looks beyond the first neighbour), so an arbitrary tie-break among
    identical rows cannot hide a copied record; with distinct rows this is "the two
    nearest rows are the same row"."""
    first_class, second_class = (np.unique(h, axis=0, return_inverse=True)[1].ravel() for h in halves_synthetic)

    def pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return first_class[first].astype(np.int64) * (int(second_class.max()) + 1) + second_class[second]

    present = np.unique(pair(np.arange(len(first_class)), np.arange(len(second_class))))

    def successes(halves: tuple[np.ndarray, np.ndarray]) -> int:
        first = nearest(halves[0], halves_synthetic[0]).indices[:, 0]
        second = nearest(halves[1], halves_synthetic[1]).indices[:, 0]
        return int(np.isin(pair(first, second), present).sum())

    return AttackOutcome(len(halves_train[0]), successes(halves_train), successes(halves_control))


# -- singling out -----------------------------------------------------------------
_GE, _LE, _EQ, _NA = 0, 1, 2, 3


@dataclass(frozen=True)
class Predicates:
    """Conjunctions of column conditions: ``columns``, ``ops`` (>=, <=, ==, is
    missing) and ``values``, each of shape (predicates, conditions)."""

    columns: np.ndarray
    ops: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.columns)

    def take(self, rows: np.ndarray) -> Predicates:
        return Predicates(self.columns[rows], self.ops[rows], self.values[rows])

    def intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """Each condition as ``low <= value <= high`` on values with missing as +inf
        (:attr:`Records.filled`): 'is missing' is ``[inf, inf]``, and ``>= v`` stops at
        the largest float, so that it holds no missing value."""
        low = np.where(self.ops == _LE, -np.inf, np.where(self.ops == _NA, np.inf, self.values))
        high = np.where(self.ops == _GE, np.finfo(float).max, np.where(self.ops == _NA, np.inf, self.values))
        return low, high


class Records:
    """A table as numbers for predicate counting (categories as codes shared by every
    table, missing as NaN), with each column's order for slicing.

    The records that satisfy one condition are a slice of its column's order. Small
    tables count a predicate as a bitset intersection (O'Neil & Quass, SIGMOD 1997,
    bitmap indexes): for each column and each position r of its order, the bitset of the
    records at positions below r is kept, so a slice [lo, hi) is ``prefix[hi] & ~prefix[lo]``,
    the conditions are ANDed and the bits counted. Larger tables check the records of the
    most selective condition's slice against the other conditions."""

    def __init__(self, values: np.ndarray):
        self.values = values
        #: The values with missing as +inf (the input has no infinite value), for counting.
        self.filled = np.where(np.isnan(values), np.inf, values)
        self.n = len(values)
        self.order = np.argsort(values, axis=0, kind="stable")  # NaN last
        self.sorted = np.take_along_axis(values, self.order, axis=0)
        self.present = (~np.isnan(values)).sum(axis=0)

    @cached_property
    def _prefixes(self) -> np.ndarray | None:
        """(columns, n + 1, words) uint64: for each column and position r of its order,
        the bitset of the records at positions below r; None for a table too large."""
        n, words = self.n, (self.n + 63) // 64
        columns = self.values.shape[1]
        if n > BITSET_ROWS or columns * (n + 1) * words * 8 > BITSET_BYTES:
            return None
        prefixes = np.zeros((columns, n + 1, words), dtype=np.uint64)
        bit = np.left_shift(np.uint64(1), (np.arange(n) % 64).astype(np.uint64))
        for c in range(columns):
            rows = self.order[:, c]
            ones = np.zeros((n, words), dtype=np.uint64)
            ones[np.arange(n), rows // 64] = bit[rows]
            np.bitwise_or.accumulate(ones, axis=0, out=prefixes[c, 1:])
        return prefixes

    def counts(self, predicates: Predicates, block: int = 1 << 22) -> np.ndarray:
        """How many records satisfy each predicate: by bitsets on a small table, else the
        records of its most selective condition's slice (which all satisfy that
        condition) are checked against its other conditions (in batches of at most
        ``block`` records)."""
        lo, hi = self._slices(predicates)
        if self._prefixes is not None and predicates.columns.shape[1]:
            return self._bitset_counts(predicates, lo, hi, block)
        j = np.argmin(hi - lo, axis=1)
        low, high = predicates.intervals()
        p = np.arange(len(predicates))
        cols, start, length = predicates.columns[p, j], lo[p, j], (hi - lo)[p, j]
        others = (j[:, None] + np.arange(1, predicates.columns.shape[1])) % predicates.columns.shape[1]
        other_cols, low, high = (a[p[:, None], others] for a in (predicates.columns, low, high))
        ends = np.cumsum(length)
        out = np.zeros(len(predicates), dtype=np.int64)
        first = 0
        while first < len(predicates):
            base = ends[first] - length[first]
            last = max(first + 1, int(np.searchsorted(ends, base + block, side="right")))
            some = np.arange(first, last)
            owner = np.repeat(some, length[some])
            offset = np.arange(len(owner)) - np.repeat(ends[some] - length[some] - base, length[some])
            rows = self.order[start[owner] + offset, cols[owner]]
            ok = np.ones(len(owner), dtype=bool)
            for c in range(other_cols.shape[1]):
                value = self.filled[rows, other_cols[owner, c]]
                ok &= (value >= low[owner, c]) & (value <= high[owner, c])
            out[some] = np.bincount(owner[ok] - first, minlength=len(some))
            first = last
        return out

    def _bitset_counts(self, predicates: Predicates, lo: np.ndarray, hi: np.ndarray, block: int) -> np.ndarray:
        """Records satisfying each predicate: its conditions' slices as bitsets, ANDed and
        counted (in batches of at most ``block`` 64-bit words)."""
        prefixes = self._prefixes
        assert prefixes is not None
        out = np.empty(len(predicates), dtype=np.int64)
        step = max(1, block // prefixes.shape[2])
        for first in range(0, len(predicates), step):
            some = slice(first, first + step)
            cols = predicates.columns[some]
            hit = prefixes[cols[:, 0], hi[some, 0]] & ~prefixes[cols[:, 0], lo[some, 0]]
            for j in range(1, cols.shape[1]):
                hit &= prefixes[cols[:, j], hi[some, j]] & ~prefixes[cols[:, j], lo[some, j]]
            out[some] = np.bitwise_count(hit).sum(axis=1)
        return out

    def _slices(self, predicates: Predicates) -> tuple[np.ndarray, np.ndarray]:
        """For each condition, the slice of its column's order holding the records
        that satisfy it alone."""
        cols, ops, vals = predicates.columns, predicates.ops, predicates.values
        present = self.present[cols]
        left = np.empty(cols.shape, dtype=np.int64)
        right = np.empty(cols.shape, dtype=np.int64)
        for c in np.unique(cols):
            at = cols == c
            column = self.sorted[: self.present[c], c]
            left[at] = np.searchsorted(column, vals[at], side="left")
            right[at] = np.searchsorted(column, vals[at], side="right")
        lo = np.select([ops == _GE, ops == _LE, ops == _EQ], [left, 0, left], present)
        hi = np.select([ops == _GE, ops == _LE, ops == _EQ], [present, right, right], self.n)
        return lo, hi


def records(frames: list[pd.DataFrame], numeric: list[bool]) -> list[Records]:
    """Each canonical table, duplicates dropped (as Anonymeter), as :class:`Records`:
    numeric columns as numbers, others as category codes shared by all the tables."""
    frames = [f.drop_duplicates().reset_index(drop=True) for f in frames]
    columns = []
    for c, is_numeric in zip(frames[0].columns, numeric, strict=True):
        if is_numeric:
            columns.append([as_numbers(f[c]) for f in frames])
        else:
            codes, _ = pd.factorize(pd.concat([f[c] for f in frames], ignore_index=True), use_na_sentinel=True)
            codes = np.where(codes < 0, np.nan, codes.astype(float))
            columns.append(np.split(codes, np.cumsum([len(f) for f in frames])[:-1]))
    return [
        Records(np.column_stack([col[t] for col in columns]) if columns else np.zeros((len(f), 0))) for t, f in enumerate(frames)
    ]


def univariate_predicates(synthetic: Records, numeric: np.ndarray, n: int, rng: np.random.Generator) -> Predicates:
    """Up to ``n`` one-column predicates isolating one synthetic record: its column's
    only missing value, its minimum or maximum (numeric columns), or a value held by
    that record alone."""
    conditions: list[tuple[int, int, float]] = []
    for c in range(synthetic.values.shape[1]):
        column = synthetic.values[:, c]
        present = column[~np.isnan(column)]
        if synthetic.n - len(present) == 1:
            conditions.append((c, _NA, 0.0))
        if numeric[c] and len(present):
            conditions += [(c, _LE, present.min()), (c, _GE, present.max())]
        distinct, count = np.unique(present, return_counts=True)
        conditions += [(c, _EQ, v) for v in distinct[count == 1]]
    columns = zip(*conditions, strict=True) if conditions else (np.zeros((0, 1)),) * 3
    cols, ops, vals = (np.array(x).reshape(-1, 1) for x in columns)
    candidates = Predicates(cols.astype(np.int64), ops.astype(np.int64), vals.astype(float))
    candidates = candidates.take(rng.permutation(len(candidates)))
    return candidates.take(np.flatnonzero(synthetic.counts(candidates) == 1)[:n])


def multivariate_predicates(
    synthetic: Records, numeric: np.ndarray, n: int, rng: np.random.Generator, conditions: int = PREDICATE_COLUMNS
) -> Predicates:
    """Up to ``n`` distinct predicates isolating one synthetic record, each built from
    a random synthetic record on ``conditions`` random columns: missing values as
    'is missing', categories as equalities, numbers as one-sided bounds towards the
    tail (``>= v`` above the column's median, ``<= v`` otherwise)."""
    n_cols = synthetic.values.shape[1]
    conditions = min(conditions, n_cols)
    present = ~np.isnan(synthetic.values)
    median = np.array([np.median(v[p]) if p.any() else 0.0 for v, p in zip(synthetic.values.T, present.T, strict=True)])
    # Most tries match many records: two matches in a small sample prove it cheaply, so
    # tries are screened on growing samples and only the rest are counted in full.
    order = rng.permutation(synthetic.n)
    screens = [Records(synthetic.values[order[:size]]) for size in SCREEN_ROWS if size < synthetic.n]
    found: list[Predicates] = []
    seen: set[bytes] = set()
    wanted, tried = n, 0
    while wanted > 0 and tried < MAX_ATTEMPTS:
        batch = min(max(4 * wanted, 4096), MAX_ATTEMPTS - tried)
        tried += batch
        records = rng.integers(0, synthetic.n, size=batch)
        cols = np.sort(np.argsort(rng.random((batch, n_cols)), axis=1)[:, :conditions], axis=1)
        vals = synthetic.values[records[:, None], cols]
        ops = np.where(np.isnan(vals), _NA, np.where(~numeric[cols], _EQ, np.where(vals > median[cols], _GE, _LE)))
        candidates = Predicates(cols, ops, np.where(np.isnan(vals), 0.0, vals))
        keep: list[int] = []
        maybe = np.arange(len(candidates))
        for screen in screens:
            maybe = maybe[screen.counts(candidates.take(maybe)) < 2]
        for i in maybe[synthetic.counts(candidates.take(maybe)) == 1]:
            key = cols[i].tobytes() + ops[i].tobytes() + candidates.values[i].tobytes()
            if key not in seen and len(keep) < wanted:
                seen.add(key)
                keep.append(i)
        found.append(candidates.take(np.array(keep, dtype=np.int64)))
        wanted -= len(keep)
    return Predicates(*(np.concatenate([getattr(f, a) for f in found]) for a in ("columns", "ops", "values")))


def singling_out(predicates: Predicates, train: Records, control: Records) -> AttackOutcome:
    """Successes of the predicates on train and on control records: a predicate
    succeeds when it isolates exactly one record (as Anonymeter).

    Train is always judged whole: a record the table under test copied is certainly
    in it, whereas a subsample of train would hold it only by chance (judged at the
    holdout's size, a verbatim copy of train scored a singling-out risk of about 0.3
    at the 70/30 split instead of 1). The control, which has no leaked record to
    lose, is brought to train's size instead (:func:`isolating`), so both rates are
    those of populations of equal size.

    Predicates drawn independently of the control records isolate one of them at most
    :func:`most_isolating` of the time; when they clearly do more (the table under
    test was drawn from the holdout, or its distinct records are few for their
    columns), the control is none and the attack is skipped."""
    on_control = control.counts(predicates)
    rate, error = success_rate(float((on_control == 1).sum()), len(predicates))
    if rate - error > most_isolating(control.n):
        raise MetricSkipped(
            f"predicates isolate a holdout record {rate:.0%} of the time, more than the "
            f"{most_isolating(control.n):.0%} possible for predicates independent of it (the table under test "
            "was drawn from the holdout, or its distinct records are few): no control, not informative"
        )
    on_train = float((train.counts(predicates) == 1).sum())
    return AttackOutcome(len(predicates), on_train, float(isolating(on_control, control.n, train.n).sum()))


def most_isolating(n: int) -> float:
    """The largest probability that a predicate isolates exactly one of ``n`` records
    drawn independently of it: one of weight ``w`` does with probability ``n w (1 -
    w)^(n - 1)`` (Cohen and Nissim 2020, PNAS 117:8344), at most ``(1 - 1/n)^(n - 1)``
    (at ``w = 1/n``; about 1/e)."""
    return (1.0 - 1.0 / n) ** (n - 1) if n > 1 else 1.0


def isolating(counts: np.ndarray, n: int, m: int) -> np.ndarray:
    """The probability that each predicate, matching ``counts`` of ``n`` records,
    isolates exactly one of ``m`` records of the same population.

    At ``m <= n`` this is exact: the chance that a random ``m``-subsample holds exactly
    one of the matches (hypergeometric). At ``m > n`` no unbiased estimate exists (the
    success probability ``m w (1 - w)^(m - 1)`` of a predicate of weight ``w`` is a
    polynomial of higher degree than ``n``), so a model extrapolates, as Anonymeter's
    size correction does (it fits that probability, integrated over weights uniform up
    to a fitted bound, to the control's success on subsamples). Here the weights are
    empirical-Bayes Beta: ``w ~ Beta(a, b)`` fitted by maximum likelihood to all the
    predicates' counts (beta-binomial, Skellam 1948, JRSS B 10:257), each predicate's
    probability its posterior predictive ``BetaBinomial(m, a + k, b + n - k)`` at 1,
    unbiased under the null when the weights are Beta. On fresh real rows as the
    table under test (GBSG2, AIDS, FLCHAIN; three splits, both modes: 18 runs per
    size ratio) it came within 0.06 of the rate on the whole train at train 1.2 times
    the control, within 0.09 at 2.5 times, 0.11 at 6 times and 0.14 at 9 times."""
    if m <= n:
        return np.asarray(stats.hypergeom.pmf(1, n, counts, m))
    a, b = _beta_weights(counts, n)
    return np.asarray(stats.betabinom.pmf(1, m, a + counts, b + n - counts))


#: Bounds of the beta-binomial fit: logit of the mean, log of the concentration.
_BETA_BOUNDS = [(-30.0, 30.0), (np.log(1e-3), np.log(1e8))]


def _beta_weights(counts: np.ndarray, n: int) -> tuple[float, float]:
    """Maximum-likelihood ``(a, b)`` of a beta-binomial over ``counts`` of ``n``,
    fitted as mean and concentration (bounded: counts that are not overdispersed
    send the concentration to its bound, i.e. one common weight) with the analytic
    gradient, then, inside the bounds, solved to machine precision by Newton's method
    on the likelihood equations (:func:`_beta_newton`): the likelihood is flat
    along the concentration, so a minimiser alone stops wherever rounding ends its
    line search (3e-4 apart on two CPUs), and with it the control's rate."""
    values, times = np.unique(counts, return_counts=True)
    likelihood = _BetaLikelihood(values, times, n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mean, concentration = _expit(theta[0]), float(np.exp(theta[1]))
        a, b = mean * concentration, (1 - mean) * concentration
        ga, gb = likelihood.derivatives(a, b)
        return -likelihood(a, b), -np.array([mean * (1 - mean) * concentration * (ga - gb), a * ga + b * gb])

    start = (counts.mean() + 0.5) / (n + 1)
    fit = optimize.minimize(loss, [np.log(start / (1 - start)), np.log(n)], jac=True, method="L-BFGS-B",
                            bounds=_BETA_BOUNDS)
    mean, concentration = _expit(fit.x[0]), float(np.exp(fit.x[1]))
    found = mean * concentration, (1 - mean) * concentration
    if fit.x[1] < _BETA_BOUNDS[1][1] - 1e-6:
        return _beta_newton(likelihood, found) or found
    return found


@dataclass(frozen=True)
class _BetaLikelihood:
    """Beta-binomial log-likelihood of ``times`` counts of each of ``values`` out of
    ``n``, with its gradient and Hessian in ``(a, b)`` (digamma and trigamma sums)."""

    values: np.ndarray
    times: np.ndarray
    n: int

    def __call__(self, a: float, b: float) -> float:
        return float(self.times @ stats.betabinom.logpmf(self.values, self.n, a, b))

    def derivatives(self, a: float, b: float, order: int = 0) -> tuple[float, float]:
        """The derivatives of order ``order + 1`` in ``a`` and in ``b`` (the gradient, or
        the Hessian's diagonal)."""
        f = special.polygamma
        common = f(order, a + b) - f(order, self.n + a + b)
        return (float(self.times @ (f(order, self.values + a) - f(order, a) + common)),
                float(self.times @ (f(order, self.n - self.values + b) - f(order, b) + common)))

    def cross(self, a: float, b: float) -> float:
        """The Hessian's off-diagonal term."""
        return float(self.times.sum() * (special.polygamma(1, a + b) - special.polygamma(1, self.n + a + b)))


def _beta_newton(likelihood: _BetaLikelihood, start: tuple[float, float], steps: int = 50
                 ) -> tuple[float, float] | None:
    """The root of the likelihood equations near ``start`` by Newton's method in
    ``(log a, log b)``, or None when it does not converge inside the bounds."""
    x = np.log(start)
    for _ in range(steps):
        a, b = np.exp(x)
        ga, gb = likelihood.derivatives(a, b)
        haa, hbb = likelihood.derivatives(a, b, order=1)
        hab = likelihood.cross(a, b)
        gradient = np.array([a * ga, b * gb])
        hessian = np.array([[a * ga + a * a * haa, a * b * hab], [a * b * hab, b * gb + b * b * hbb]])
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            return None
        x = x - step
        if not np.isfinite(x).all() or np.logaddexp(*x) >= _BETA_BOUNDS[1][1]:
            return None  # towards one common weight: the bounded fit stands
        if np.abs(step).max() < 1e-10:
            return float(np.exp(x[0])), float(np.exp(x[1]))
    return None


def _expit(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))
