"""Partitions of one real table into hospital sites, each with its own train and holdout.

Four ways to cut a canonical real table into ``K`` sites (command-line form in brackets):

- **by site** (``site`` or ``site:COLUMN``): one site per level of the schema's ``site``
  column (or the named one), in sorted level order;
- **label skew** (``dirichlet:ALPHA`` or ``dirichlet:ALPHA:COLUMN``): for each class of a
  label, site shares drawn from Dirichlet(ALPHA) (Yurochkin et al., ICML 2019; as Flower
  Datasets' ``DirichletPartitioner``);
- **quantity skew** (``quantity:W1,...,WK`` or ``quantity:BETA``): sites of unequal size,
  rows dealt at random;
- **covariate skew** (``covariate:COLUMN:P1,...,PK``): site ``k`` takes a share ``P_k`` of
  its rows from the low half of COLUMN, the rest from the high half.

Every site is then split by the SAFE protocol (:func:`safe_bench.data.protocol.split`,
seeded and stratified as usual); the pooled train and holdout are the sites' ones,
concatenated in site order. The partition's heterogeneity ``H`` is defined in
:func:`heterogeneity`. Random draws come from one stream,
``stream(seed, Stream.FEDERATED_PARTITION)``: the same table, specification, site count
and seed give the same partition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon

from safe_bench.data.protocol import HOLDOUT_FRACTION, MIN_ROWS, split, stratum
from safe_bench.data.schema import Kind, Schema, check_column_names
from safe_bench.errors import InputError
from safe_bench.evaluation.uncertainty import Stream, stream

#: Most draws of a random partition before it is given up. Flower's DirichletPartitioner
#: stops after 11; health tables are small and their labels often binary (a survival
#: event dealt to 4 sites at alpha = 0.1 fits in 11 draws for only about 60 % of seeds),
#: and a draw costs milliseconds.
MAX_DRAWS = 100
#: Bins of a numeric column in :func:`heterogeneity`: the pooled deciles.
NUMERIC_BINS = 10
#: Quantity shares may miss 1 by this much (the rows are apportioned to their ratios).
SHARE_TOLERANCE = 1e-6
_MISSING = "<missing>"


# -- specifications ----------------------------------------------------------------------
@dataclass(frozen=True)
class BySite:
    """One site per level of ``column`` (None: the schema's ``site`` role), levels sorted."""

    column: str | None = None
    method: ClassVar[str] = "site"

    @property
    def text(self) -> str:
        return "site" if self.column is None else f"site:{self.column}"

    def parameters(self) -> dict[str, Any]:
        return {"column": self.column}


@dataclass(frozen=True)
class LabelSkew:
    """Label skew: each class of ``label`` dealt to the sites in Dirichlet(``alpha``) shares.

    Yurochkin, Agarwal, Ghosh, Greenewald, Hoang & Khazaeni, "Bayesian Nonparametric
    Federated Learning of Neural Networks", ICML 2019, as implemented by Flower Datasets'
    ``DirichletPartitioner`` (``self_balancing``: a site already holding more than
    ``n / K`` rows takes no rows of later classes). ``label`` None: the survival event,
    else a categorical target.
    """

    alpha: float
    label: str | None = None
    self_balancing: bool = True
    method: ClassVar[str] = "dirichlet"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _positive(self.alpha, "dirichlet: alpha"))

    @property
    def text(self) -> str:
        return f"dirichlet:{self.alpha:g}" + ("" if self.label is None else f":{self.label}")

    def parameters(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "label": self.label, "self_balancing": self.self_balancing}


@dataclass(frozen=True)
class QuantitySkew:
    """Quantity skew: site ``k`` holds a share ``shares[k]`` of the rows, or, with ``beta``,
    shares drawn from Dirichlet(``beta``) (each draw); rows dealt at random.

    The quantity skew of Li, Diao, Chen & He, "Federated Learning on Non-IID Data Silos:
    An Experimental Study", ICDE 2022 (site shares ``q ~ Dir(beta)``).
    """

    shares: tuple[float, ...] = ()
    beta: float | None = None
    method: ClassVar[str] = "quantity"

    def __post_init__(self) -> None:
        if (self.beta is None) == (not self.shares):
            raise InputError("quantity: give either the sites' shares or one beta, not both or neither")
        if self.beta is not None:
            object.__setattr__(self, "beta", _positive(self.beta, "quantity: beta"))
        else:
            object.__setattr__(self, "shares", _shares(self.shares, "quantity"))

    @property
    def text(self) -> str:
        return f"quantity:{self.beta:g}" if self.beta is not None else "quantity:" + ",".join(f"{s:g}" for s in self.shares)

    def parameters(self) -> dict[str, Any]:
        return {"shares": list(self.shares) or None, "beta": self.beta}


@dataclass(frozen=True)
class CovariateSkew:
    """Covariate skew on ``column``: site ``k`` takes a share ``shares[k]`` of its rows
    from the column's low half and the rest from its high half.

    Precisely: the rows where ``column`` is not missing are ranked by it (ties in random
    order; a categorical or boolean column ranked by its levels in sorted order) and cut
    into the low half, the ``floor(m / 2)`` lowest of those ``m`` rows, and the high half.
    Site ``k`` receives ``P_k / sum(P)`` of the low half and ``(1 - P_k) / sum(1 - P)``
    of the high half (counts by largest remainder, rows at random), and ``1 / K`` of the
    rows where the column is missing. When the ``P_k`` average 1/2 (``0.8,0.5,0.2``)
    every site has ``n / K`` rows of which a share ``P_k`` lie below the median; a site
    with a larger ``P_k`` has a lower median. Each ``P_k`` is in [0, 1], not all 0 and
    not all 1. Feature-distribution (covariate) skew in the taxonomy of Kairouz et al.,
    "Advances and Open Problems in Federated Learning", Found. Trends Mach. Learn. 2021, §3.1.
    """

    column: str
    shares: tuple[float, ...]
    method: ClassVar[str] = "covariate"

    def __post_init__(self) -> None:
        shares = tuple(float(s) for s in self.shares)
        if len(shares) < 2:
            raise InputError(f"covariate: give one low-half share per site (at least 2), got {len(shares)}")
        for s in shares:
            if not (math.isfinite(s) and 0 <= s <= 1):
                raise InputError(f"covariate: each site's low-half share must be between 0 and 1, got {s:g}")
        if all(s == 0 for s in shares) or all(s == 1 for s in shares):
            raise InputError("covariate: the low-half shares cannot be all 0 or all 1 (one half would go nowhere)")
        object.__setattr__(self, "shares", shares)

    @property
    def text(self) -> str:
        return f"covariate:{self.column}:" + ",".join(f"{s:g}" for s in self.shares)

    def parameters(self) -> dict[str, Any]:
        return {"column": self.column, "shares": list(self.shares)}


PartitionSpec = BySite | LabelSkew | QuantitySkew | CovariateSkew
METHODS: tuple[str, ...] = ("site", "dirichlet", "quantity", "covariate")


def _positive(value: float, what: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{what} must be a positive number, got {value:g}")
    return value


def _shares(values: Sequence[float], what: str) -> tuple[float, ...]:
    shares = tuple(float(v) for v in values)
    if len(shares) < 2:
        raise InputError(f"{what}: give one share per site (at least 2), got {len(shares)}")
    for s in shares:
        if not (math.isfinite(s) and s > 0):
            raise InputError(f"{what}: each site's share must be a positive number, got {s:g}")
    total = sum(shares)
    if abs(total - 1) > SHARE_TOLERANCE:
        raise InputError(f"{what}: the sites' shares must sum to 1, they sum to {total:g}")
    return shares


# -- parsing -------------------------------------------------------------------------------
def parse_partition(text: str, schema: Schema, sites: int | None) -> PartitionSpec:
    """The partition of the command-line form ``text`` (``site``, ``site:COLUMN``,
    ``dirichlet:0.5``, ``dirichlet:0.5:COLUMN``, ``quantity:0.6,0.3,0.1``,
    ``quantity:1.0``, ``covariate:age:0.8,0.5,0.2``) for ``sites`` sites, checked against
    ``schema``; an InputError names the bad part."""
    parts = [p.strip() for p in str(text).strip().split(":")]
    method = parts[0].lower()
    if method not in METHODS:
        raise InputError(f"unknown partition method {parts[0]!r} in {text!r} (known: {', '.join(METHODS)})")
    spec: PartitionSpec
    if method == "site":
        spec = BySite(":".join(parts[1:]) or None)
    elif method == "dirichlet":
        if len(parts) < 2 or not parts[1]:
            raise InputError(f"partition {text!r}: dirichlet needs its alpha (dirichlet:ALPHA or dirichlet:ALPHA:COLUMN)")
        spec = LabelSkew(_number(parts[1], text, "alpha"), ":".join(parts[2:]) or None)
    elif method == "quantity":
        if len(parts) != 2 or not parts[1]:
            raise InputError(f"partition {text!r}: quantity needs its shares or one beta (quantity:W1,W2,... or quantity:BETA)")
        values = [_number(v, text, "share") for v in parts[1].split(",")]
        spec = QuantitySkew(beta=values[0]) if len(values) == 1 else QuantitySkew(tuple(values))
    else:
        if len(parts) < 3 or not parts[-1] or not ":".join(parts[1:-1]):
            raise InputError(f"partition {text!r}: covariate needs a column and one share per site (covariate:COLUMN:P1,P2,...)")
        spec = CovariateSkew(":".join(parts[1:-1]), tuple(_number(v, text, "share") for v in parts[-1].split(",")))
    return check_partition(spec, schema, sites)


def _number(part: str, text: str, what: str) -> float:
    try:
        return float(part)
    except ValueError:
        raise InputError(f"partition {text!r}: {what} {part!r} is not a number") from None


def check_partition(spec: PartitionSpec, schema: Schema, sites: int | None) -> PartitionSpec:
    """``spec`` with its default column resolved from ``schema``, after checking its
    columns and that ``sites`` fits it (at least 2; one share per site). For ``site``
    ``sites`` may be None: the column's levels decide it."""
    if sites is not None and (isinstance(sites, bool) or not isinstance(sites, (int, np.integer))):
        raise InputError(f"the number of sites must be a whole number, got {sites!r}")
    if isinstance(spec, BySite):
        column = spec.column if spec.column is not None else schema.site
        if column is None:
            raise InputError("partition 'site': the schema declares no site column; name one (site:COLUMN)")
        _column(schema, column, "site")
        if sites is not None and sites < 2:
            raise InputError(f"partition 'site' needs at least 2 sites, got {sites}")
        return BySite(column)
    if sites is None or sites < 2:
        raise InputError(f"a {spec.method} partition needs at least 2 sites, got {sites}")
    if isinstance(spec, LabelSkew):
        label = spec.label if spec.label is not None else _default_label(schema)
        _column(schema, label, "dirichlet label", categorical=True)
        return LabelSkew(spec.alpha, label, spec.self_balancing)
    if isinstance(spec, QuantitySkew):
        if spec.shares and len(spec.shares) != sites:
            raise InputError(f"quantity: {len(spec.shares)} shares given for {sites} sites")
        return spec
    _column(schema, spec.column, "covariate")
    if len(spec.shares) != sites:
        raise InputError(f"covariate: {len(spec.shares)} shares given for {sites} sites", column=spec.column)
    return spec


def _default_label(schema: Schema) -> str:
    if schema.survival is not None:
        return schema.survival.event
    if schema.target is not None and schema.kinds[schema.target] in (Kind.CATEGORICAL, Kind.BOOLEAN):
        return schema.target
    raise InputError("dirichlet: the schema has no survival event or categorical target to skew; "
                     "name a categorical label (dirichlet:ALPHA:COLUMN)")


def _column(schema: Schema, column: str, role: str, *, categorical: bool = False) -> None:
    if column not in schema.kinds:
        raise InputError(f"{role} column {column!r} is not a column of the schema", column=column)
    kind = schema.kinds[column]
    if kind is Kind.ID:
        raise InputError(f"{role} column {column!r} is an id column", column=column)
    if categorical and kind not in (Kind.CATEGORICAL, Kind.BOOLEAN):
        raise InputError(f"{role} column {column!r} must be categorical or boolean, not {kind.value}", column=column)


# -- results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Site:
    """One site's rows, split by the SAFE protocol into its train and holdout."""

    name: str
    train: pd.DataFrame
    holdout: pd.DataFrame

    @property
    def rows(self) -> int:
        return len(self.train) + len(self.holdout)


@dataclass(frozen=True)
class Partition:
    """The sites of one table, in site order, and the partition's heterogeneity ``H``
    (:func:`heterogeneity`; ``divergences``: each column's part of it)."""

    spec: PartitionSpec
    sites: tuple[Site, ...]
    heterogeneity: float
    divergences: Mapping[str, float]
    seed: int
    holdout_fraction: float

    @property
    def method(self) -> str:
        return self.spec.method

    @property
    def pooled_train(self) -> pd.DataFrame:
        """Every site's train, concatenated in site order."""
        return pd.concat([s.train for s in self.sites], ignore_index=True)

    @property
    def pooled_holdout(self) -> pd.DataFrame:
        """Every site's holdout, concatenated in site order."""
        return pd.concat([s.holdout for s in self.sites], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """Method, parameters, per-site row counts and H, for JSON (never a row)."""
        return {
            "method": self.method,
            "spec": self.spec.text,
            "parameters": self.spec.parameters(),
            "seed": self.seed,
            "holdout_fraction": self.holdout_fraction,
            "sites": [
                {"name": s.name, "rows": s.rows, "train_rows": len(s.train), "holdout_rows": len(s.holdout)}
                for s in self.sites
            ],
            "heterogeneity": self.heterogeneity,
            "divergences": dict(self.divergences),
        }


# -- the partition -------------------------------------------------------------------------
def partition(
    frame: pd.DataFrame,
    schema: Schema,
    spec: PartitionSpec | str,
    sites: int | None = None,
    *,
    seed: int = 0,
    holdout_fraction: float = HOLDOUT_FRACTION,
    min_site_rows: int = MIN_ROWS,
) -> Partition:
    """Cut ``frame`` into ``sites`` sites by ``spec`` (a specification or its command-line
    text), split each by the SAFE protocol (seed ``seed``) and measure ``H``.

    A random partition is re-drawn (at most :data:`MAX_DRAWS` draws, as Flower re-draws
    until every partition holds ``min_partition_size`` rows) until every site has at least
    ``min_site_rows`` rows and can be split stratified; else an InputError says why.
    """
    check_column_names(frame, table="real")
    if not 0 < holdout_fraction < 1:
        raise InputError(f"holdout fraction must be between 0 and 1, got {holdout_fraction}")
    if min_site_rows < MIN_ROWS:
        raise InputError(f"each site needs at least {MIN_ROWS} rows for its holdout, not {min_site_rows}")
    resolved = parse_partition(spec, schema, sites) if isinstance(spec, str) else check_partition(spec, schema, sites)
    missing = [c for c in schema.columns if c not in frame.columns]
    if missing:
        raise InputError(f"the real table lacks the schema's column(s) {missing}", column=missing[0], table="real")
    if isinstance(resolved, BySite):
        assert resolved.column is not None
        names, rows = by_site(frame[resolved.column], resolved.column)
        if sites is not None and sites != len(names):
            raise InputError(f"site column {resolved.column!r} has {len(names)} levels, not {sites} sites",
                             column=resolved.column)
        for k, idx in enumerate(rows):
            reason = _unsplittable(frame.iloc[idx], schema, min_site_rows, holdout_fraction)
            if reason is not None:
                raise InputError(f"site {k + 1} of {len(names)} (in sorted level order of {resolved.column!r}) "
                                 f"cannot be split: {reason}", column=resolved.column)
    else:
        assert sites is not None
        if len(frame) < sites * min_site_rows:
            raise InputError(f"too many sites for the rows: {sites} sites of at least {min_site_rows} rows "
                             f"need {sites * min_site_rows} rows, the real table has {len(frame)}", table="real")
        names = [f"site{k + 1}" for k in range(sites)]
        rows = _draw(frame, schema, resolved, sites, seed, min_site_rows, holdout_fraction)
    frames = [frame.iloc[idx].reset_index(drop=True) for idx in rows]
    parts = [split(f, schema, seed=seed, holdout_fraction=holdout_fraction) for f in frames]
    exclude = {c for c in (schema.site, resolved.column if isinstance(resolved, BySite) else None) if c}
    divergences = column_divergences(frames, schema, exclude=exclude)
    return Partition(
        spec=resolved,
        sites=tuple(Site(name, p.train, p.holdout) for name, p in zip(names, parts, strict=True)),
        heterogeneity=float(np.mean(list(divergences.values()))) if divergences else 0.0,
        divergences=divergences,
        seed=seed,
        holdout_fraction=holdout_fraction,
    )


def _draw(
    frame: pd.DataFrame, schema: Schema, spec: PartitionSpec, sites: int, seed: int, min_rows: int, holdout_fraction: float
) -> list[np.ndarray]:
    """Draw the sites' rows until every site can be split; an InputError after MAX_DRAWS."""
    rng = stream(seed, Stream.FEDERATED_PARTITION)
    deal: Callable[[np.random.Generator], list[np.ndarray]]
    if isinstance(spec, LabelSkew):
        assert spec.label is not None
        labels = _labels(frame[spec.label])
        deal = lambda r: label_skew(labels, sites, spec.alpha, r, self_balancing=spec.self_balancing)  # noqa: E731
    elif isinstance(spec, QuantitySkew):
        if spec.shares:
            sizes = apportion(len(frame), spec.shares)
            if sizes.min() < min_rows:
                raise InputError(f"{spec.text}: site {int(sizes.argmin()) + 1} would hold {int(sizes.min())} rows, "
                                 f"fewer than the {min_rows} each site needs", table="real")
        deal = lambda r: quantity_skew(len(frame), sites, r, shares=spec.shares, beta=spec.beta)  # noqa: E731
    else:
        assert isinstance(spec, CovariateSkew)
        values = _ranks(frame[spec.column], schema.kinds[spec.column])
        deal = lambda r: covariate_skew(values, spec.shares, r)  # noqa: E731
    reason = ""
    for _ in range(MAX_DRAWS):
        rows = deal(rng)
        reasons = [_unsplittable(frame.iloc[idx], schema, min_rows, holdout_fraction) for idx in rows]
        failed = [(k, r) for k, r in enumerate(reasons) if r is not None]
        if not failed:
            return rows
        reason = f"site {failed[0][0] + 1}: {failed[0][1]}"
    raise InputError(f"{spec.text} with {sites} sites: no draw in {MAX_DRAWS} gave every site a splittable table "
                     f"(last: {reason}); use fewer sites or a milder skew", table="real")


def _unsplittable(frame: pd.DataFrame, schema: Schema, min_rows: int, holdout_fraction: float) -> str | None:
    """Why :func:`~safe_bench.data.protocol.split` could not split this site, or None."""
    if len(frame) < min_rows:
        return f"{len(frame)} rows, fewer than {min_rows}"
    column, labels = stratum(frame, schema)
    if labels is None:
        return None
    counts = labels.astype(str).where(labels.notna(), _MISSING).value_counts()
    if (counts < 2).any():
        return f"a value of {column!r}, which the split is stratified on, has fewer than 2 rows"
    n_holdout = math.ceil(holdout_fraction * len(frame))
    if min(n_holdout, len(frame) - n_holdout) < len(counts):
        return f"{len(counts)} values of {column!r} do not fit in a stratified train and holdout of {len(frame)} rows"
    return None


# -- the assignments (row positions per site) ------------------------------------------------
def by_site(column: pd.Series, name: str) -> tuple[list[str], list[np.ndarray]]:
    """The sites' names (the levels, sorted) and row positions of a site column."""
    if column.isna().any():
        raise InputError(f"site column {name!r} is missing in {int(column.isna().sum())} rows", column=name)
    codes = pd.Categorical(column)
    if len(codes.categories) < 2:
        raise InputError(f"site column {name!r} has {len(codes.categories)} level: a partition needs at least 2",
                         column=name)
    return [str(c) for c in codes.categories], [np.flatnonzero(codes.codes == k) for k in range(len(codes.categories))]


def label_skew(
    labels: np.ndarray, sites: int, alpha: float, rng: np.random.Generator, *, self_balancing: bool = True
) -> list[np.ndarray]:
    """Each class's rows (classes in sorted order, rows shuffled) dealt to the sites in
    Dirichlet(``alpha``) shares, cut at ``floor(cumsum(shares) * n_class)`` as in Flower's
    ``DirichletPartitioner`` (Yurochkin et al., ICML 2019).

    With ``self_balancing`` a site holding more than ``n / K`` rows takes no rows of later
    classes: the shares are drawn from Dirichlet(``alpha``) over the other sites only, the
    distribution of Flower's renormalised shares (the Dirichlet's aggregation property)
    without its division by shares that underflowed to zero. Unlike Flower, a class's rows
    are shuffled before they are cut, so the table's row order cannot skew the sites.
    """
    held: list[list[int]] = [[] for _ in range(sites)]
    average = len(labels) / sites
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        open_sites = np.array([k for k in range(sites) if not (self_balancing and len(held[k]) > average)])
        shares = np.zeros(sites)
        shares[open_sites] = _dirichlet(rng, alpha, len(open_sites))
        cuts = (np.cumsum(shares) * len(rows)).astype(int)[:-1]
        for k, part in enumerate(np.split(rows, cuts)):
            held[k].extend(part.tolist())
    return [np.sort(np.asarray(h, dtype=int)) for h in held]


def _dirichlet(rng: np.random.Generator, alpha: float, k: int) -> np.ndarray:
    shares = rng.dirichlet(np.full(k, alpha))
    if not np.isfinite(shares).all() or shares.sum() <= 0:  # pragma: no cover - numpy < 1.25 with a tiny alpha
        shares = np.eye(k)[rng.integers(k)]
    return shares


def quantity_skew(
    rows: int, sites: int, rng: np.random.Generator, *, shares: Sequence[float] = (), beta: float | None = None
) -> list[np.ndarray]:
    """``rows`` row positions dealt at random to ``sites`` sites whose sizes are the
    ``shares`` of the rows (by largest remainder) or, with ``beta``, shares drawn from
    Dirichlet(``beta``)."""
    weights = _dirichlet(rng, beta, sites) if beta is not None else np.asarray(shares, dtype=float)
    if len(weights) != sites:
        raise InputError(f"quantity: {len(weights)} shares given for {sites} sites")
    order = rng.permutation(rows)
    return [np.sort(part) for part in np.split(order, np.cumsum(apportion(rows, weights))[:-1])]


def covariate_skew(values: pd.Series, shares: Sequence[float], rng: np.random.Generator) -> list[np.ndarray]:
    """Rows dealt by :class:`CovariateSkew`'s rule; ``values`` ranks the rows (NaN: missing)."""
    p = np.asarray(shares, dtype=float)
    key = values.to_numpy(dtype=float)
    present = np.flatnonzero(~np.isnan(key))
    ranked = present[np.lexsort((rng.random(len(present)), key[present]))]
    low, high = ranked[: len(ranked) // 2], ranked[len(ranked) // 2:]
    missing = np.flatnonzero(np.isnan(key))
    groups = [(low, p / p.sum()), (high, (1 - p) / (1 - p).sum()), (missing, np.full(len(p), 1 / len(p)))]
    held: list[list[int]] = [[] for _ in p]
    for rows, weights in groups:
        dealt = rng.permutation(rows)
        for k, part in enumerate(np.split(dealt, np.cumsum(apportion(len(rows), weights))[:-1])):
            held[k].extend(part.tolist())
    return [np.sort(np.asarray(h, dtype=int)) for h in held]


def apportion(total: int, shares: Sequence[float] | np.ndarray) -> np.ndarray:
    """``total`` split in proportion to ``shares`` by largest remainder (Hamilton): whole
    counts summing to ``total``, ties (to 9 decimals) to the earlier site."""
    weights = np.asarray(shares, dtype=float)
    exact = np.round(total * weights / weights.sum(), 9)  # 0.6 * 686 and 0.1 * 686 tie, as in exact arithmetic
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _labels(column: pd.Series) -> np.ndarray:
    return column.astype(str).where(column.notna(), _MISSING).to_numpy()


def _ranks(column: pd.Series, kind: Kind) -> pd.Series:
    """Numbers that rank the rows by ``column`` (NaN where it is missing)."""
    if kind in (Kind.CATEGORICAL, Kind.BOOLEAN):
        codes = pd.Categorical(column).codes.astype(float)
        return pd.Series(np.where(codes < 0, np.nan, codes), index=column.index)
    return _numbers(column, kind)


def _numbers(column: pd.Series, kind: Kind) -> pd.Series:
    if kind is Kind.DATETIME:
        stamps = pd.to_datetime(column, errors="coerce")
        return pd.Series(np.where(stamps.isna(), np.nan, stamps.to_numpy(dtype="datetime64[ns]").astype("int64")),
                         index=column.index, dtype=float)
    return pd.to_numeric(column, errors="coerce").astype(float)


# -- heterogeneity -------------------------------------------------------------------------
def jsd(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """The Jensen-Shannon divergence of two distributions in bits (0..1): the square of
    scipy's Jensen-Shannon distance with ``base=2`` (Lin, "Divergence measures based on
    the Shannon entropy", IEEE Trans. Inf. Theory 1991)."""
    return float(jensenshannon(np.asarray(p, dtype=float), np.asarray(q, dtype=float), base=2) ** 2)


def column_divergences(
    sites: Sequence[pd.DataFrame], schema: Schema, *, exclude: set[str] | frozenset[str] = frozenset()
) -> dict[str, float]:
    """For each feature column of ``schema`` not in ``exclude``: the mean over the sites of
    ``JSD(P_k || P)`` (:func:`jsd`), ``P_k`` the column's distribution at site ``k`` and
    ``P`` in the sites pooled. Categorical and boolean columns: the shares of their levels;
    numeric and datetime ones: the shares in the bins cut at the pooled deciles
    (:data:`NUMERIC_BINS`); a missing value is one more level or bin."""
    pooled = pd.concat(list(sites), ignore_index=True)
    bounds = np.cumsum([0] + [len(s) for s in sites])
    out = {}
    for column in schema.features:
        if column in exclude:
            continue
        codes = _bins(pooled[column], schema.kinds[column])
        width = int(codes.max()) + 1
        overall = np.bincount(codes, minlength=width)
        out[column] = float(np.mean([jsd(np.bincount(codes[a:b], minlength=width), overall)
                                     for a, b in zip(bounds[:-1], bounds[1:], strict=True)]))
    return out


def heterogeneity(sites: Sequence[pd.DataFrame], schema: Schema, *, exclude: set[str] | frozenset[str] = frozenset()) -> float:
    """``H = mean_k JSD(P_k || P)`` averaged over the feature columns
    (:func:`column_divergences`): 0 when every site looks like the pool, 1 (bits) at most.
    :func:`partition` leaves out the site column (the schema's and the one partitioned on)."""
    divergences = column_divergences(sites, schema, exclude=exclude)
    return float(np.mean(list(divergences.values()))) if divergences else 0.0


def _bins(column: pd.Series, kind: Kind) -> np.ndarray:
    """Each row's level or bin as a code 0, 1, ...; missing values the last code."""
    if kind in (Kind.NUMERIC, Kind.DATETIME):
        values = _numbers(column, kind).to_numpy()
        present = ~np.isnan(values)
        if not present.any():
            return np.zeros(len(values), dtype=int)
        edges = np.unique(np.quantile(values[present], np.arange(1, NUMERIC_BINS) / NUMERIC_BINS))
        codes = np.searchsorted(edges, np.where(present, values, 0.0), side="right")
        return np.where(present, codes, len(edges) + 1)
    return pd.factorize(_labels(column), sort=True)[0]
