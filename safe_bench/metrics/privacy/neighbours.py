"""Exact nearest neighbours in the train-fitted distance space (Euclidean).

One engine answers every nearest-neighbour question of an evaluation (DCR, NNDR,
membership inference, the Anonymeter-method attacks). It is exact: the returned
distances are ``sqrt(sum((q - x) ** 2))`` over every column, computed exactly as a
brute-force numpy expression computes them, and ties are broken by the smaller
index row. Memory stays bounded: work is done in blocks of at most
:data:`BLOCK_ELEMENTS` distances.

How, and why this way (measured on the FLCHAIN-like 100k tables of
``benchmarks/tables.py`` on a shared 2-core machine; figures in the README):

- *Brute force with BLAS* (``|q|^2 + |x|^2 - 2 q.x`` by matrix product) is what
  scikit-learn's and faiss' exact searches do. For 100k x 100k rows it is 10^10
  distances; on two cores the float64 product alone takes over 30 s and float32
  (faiss' exact index) still over 10 s.
- *Trees over the whole encoded space* (scikit-learn KD-tree and ball tree,
  scipy's cKDTree) are slower still: the 40-odd one-hot and missing-indicator
  columns defeat axis-aligned splits (20-50 s for 20k synthetic queries).
- The engine exploits that structure exactly instead. Binary columns (one-hot,
  missing indicators: two values only) group the rows; between a query group and
  an index group their share of the squared distance is one constant. Within each
  group a bucketed k-d tree over the few continuous columns cuts the index rows
  into cells of at most :data:`CELL_ROWS` rows with their bounding boxes, and
  runs of :data:`BLOCK_CELLS` cells into blocks. A chunk of queries (a cell of
  the queries) gets a first k-th distance from its nearest blocks by one matrix
  product, then visits the other blocks in order of their lower bound (binary
  part + squared distance to the box), row by row, descends to the cells a row
  may need, and stops when the bound passes every row's k-th distance. Tables without binary or
  continuous columns degrade gracefully to one group or one cell per group.
  Searches of at most :data:`BRUTE_FORCE_PAIRS` pairs skip all that: blocked
  matrix products are cheaper there. Scipy's cKDTree per group (tried: visiting
  each group's tree) was 3-4x slower than the cells for synthetic queries.
- Approximate distances only filter: every pair within a rigorous rounding bound
  of a row's k-th distance is re-computed from the differences over all columns,
  and the answer is chosen from those exact values, so results do not depend on
  block size, threads or summation order, and ties and zero distances are exact.
- Duplicate index rows are collapsed first (a table of identical rows costs one
  distance per query, not a tie among all rows).
- faiss-cpu was not added: its exact index is the float32 brute force above, and
  its fast indexes are approximate.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from safe_bench.evaluation.comparison import HALVES, Comparison, EvaluationData

#: Most distances held in one block (float64: 32 MiB).
BLOCK_ELEMENTS = 1 << 22
#: Index rows in the first block (the nearest cells of a query chunk, measured by one
#: product): a tighter first k-th distance prunes more of the later blocks. Four
#: searches of the FLCHAIN-like tables (synthetic in train and in holdout, train in
#: synthetic, holdout in train), one thread: 10k 2.27 s with 256 rows, 1.78 s with 512,
#: 1.64 s with 1,024; 100k 19.7 s, 16.7 s and 17.8 s.
FIRST_WIDTH = 512
#: Blocks (of at most BLOCK_CELLS cells) visited first after the nearest ones; the
#: number grows by GROWTH from there.
BLOCK_CELLS = 8
FIRST_BLOCKS = 2
GROWTH = 4
#: Most index rows in a cell of the bucketed k-d tree, and query rows in a chunk
#: (measured against 16 and 128: the four synthetic-side searches of the FLCHAIN-like
#: tables took 1.4 s instead of 1.9 s at 10k rows, 12.3 s instead of 16.6 s at 100k).
CELL_ROWS = 32
CHUNK_ROWS = 512
#: Query chunks shrink with the queries' density against the index (``CHUNK_ROWS``
#: times query rows / index rows, at least this): a chunk of few queries spread over a
#: large index must stay local, or every index block is near its bounding box (500
#: attack targets against 500,000 rows: 4.8 s and 4 GB with 512-row chunks, 0.95 s and
#: no extra memory with 32).
MIN_CHUNK_ROWS = 32
#: Searches of at most this many (query, index) pairs are done by blocked brute force
#: (FLCHAIN-like tables, 45 columns, one thread: at 5,000 x 5,000 rows brute force took
#: 0.30 s and the cells 0.12-0.23 s; at 2,500 x 2,500, 0.09 s against 0.05-0.08 s).
BRUTE_FORCE_PAIRS = 1 << 22
#: Row groups formed from binary columns: more groups prune more distances, but each
#: query group is a chunk of Python work. Measured best (FLCHAIN-like tables, equal
#: query and index sizes) near 64 groups at 10k rows, 256-512 at 30k and 2,048 at 100k
#: (10k: 3.4 s with 2,048 groups, 2.2 s with 64; 100k: 17 s with 2,048, 28 s with 128),
#: hence ``GROUPS_AT_10K * (rows / 10^4) ** 2`` within [MIN_GROUPS, MAX_GROUPS].
GROUPS_AT_10K = 64
MIN_GROUPS = 16
MAX_GROUPS = 2048
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Neighbours:
    """Distances and row indices of the ``k`` nearest index rows of each query row,
    sorted by distance (ties by index). ``rows`` names the query rows answered when
    only a subsample of the query table was searched (``None``: every row)."""

    distances: np.ndarray
    indices: np.ndarray
    rows: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> Neighbours:
        """The answers for some query rows (positions into this result)."""
        return Neighbours(self.distances[rows], self.indices[rows])


def nearest(query: np.ndarray, index: np.ndarray, k: int = 1, *, block: int = BLOCK_ELEMENTS) -> Neighbours:
    """Exact ``k`` nearest index rows of every query row (Euclidean; ties by index).

    ``k`` is capped at the number of index rows. ``block`` bounds the distances
    held at once; the result does not depend on it.
    """
    query, index = _matrix(query, "query"), _matrix(index, "index")
    if query.shape[1] != index.shape[1]:
        raise ValueError(f"query has {query.shape[1]} columns, index has {index.shape[1]}")
    if len(index) == 0:
        raise ValueError("the index table has no rows")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    k = min(k, len(index))
    distances = np.empty((len(query), k))
    indices = np.empty((len(query), k), dtype=np.int64)
    if len(query):
        _Search(query, index, k, block).run(distances, indices)
    return Neighbours(distances, indices)


def _matrix(values: np.ndarray, name: str) -> np.ndarray:
    matrix = np.ascontiguousarray(values, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got {matrix.ndim} dimension(s)")
    if not np.isfinite(matrix).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return matrix


@dataclass(frozen=True)
class _Unique:
    """Distinct rows of a matrix: ``rows`` (positions of first occurrences), and for
    distinct row ``u`` its original rows ``members[starts[u]:starts[u] + counts[u]]``
    in ascending order."""

    rows: np.ndarray
    counts: np.ndarray
    starts: np.ndarray
    members: np.ndarray


def _unique_rows(matrix: np.ndarray) -> _Unique:
    """Group identical rows (64-bit row hashes, verified value by value)."""
    hashes: np.ndarray
    if matrix.shape[1] == 0:
        hashes = np.zeros(len(matrix), dtype=np.uint64)
    else:
        hashes = pd.util.hash_pandas_object(pd.DataFrame(matrix, copy=False), index=False).to_numpy()
    codes, distinct = pd.factorize(hashes)
    first = _first_rows(codes, len(distinct))
    step = max(1, BLOCK_ELEMENTS // max(matrix.shape[1], 1))
    if not all(
        np.array_equal(matrix[s : s + step], matrix[first[codes[s : s + step]]]) for s in range(0, len(matrix), step)
    ):  # a hash collision: group by value instead
        _, codes = np.unique(matrix, axis=0, return_inverse=True)
        codes = _first_appearance_order(codes.ravel())
    n_distinct = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n_distinct)
    members = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return _Unique(rows=members[starts], counts=counts, starts=starts, members=members)


def _first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    first = np.empty(n, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def _first_appearance_order(codes: np.ndarray) -> np.ndarray:
    """Relabel group codes 0, 1, ... in order of first appearance."""
    first = _first_rows(codes, int(codes.max()) + 1)
    relabel = np.empty_like(first)
    relabel[np.argsort(first)] = np.arange(len(first))
    return relabel[codes]


@cache
def _blas() -> ThreadpoolController:
    """This process's BLAS libraries, found once (a scan of the loaded libraries costs
    milliseconds, and an evaluation makes a dozen searches)."""
    return ThreadpoolController().select(user_api="blas")


class _Search:
    """One exact k-nearest-neighbour search (see the module docstring)."""

    def __init__(self, query: np.ndarray, index: np.ndarray, k: int, block: int):
        self.query, self.k, self.block = query, k, max(block, 1)
        self.unique = _unique_rows(index)
        self.points = index[self.unique.rows]
        self.k_unique = min(k, len(self.points))
        lo = np.minimum(query.min(axis=0), self.points.min(axis=0))
        hi = np.maximum(query.max(axis=0), self.points.max(axis=0))
        # Small searches are cheapest by plain blocked products: no groups, one cell.
        brute = len(query) * len(self.points) <= BRUTE_FORCE_PAIRS
        binary = (lo < hi) & _two_valued(query, lo, hi) & _two_valued(self.points, lo, hi) & (not brute)
        key_cols = np.flatnonzero(binary)
        q_bits, p_bits = query[:, key_cols] == hi[key_cols], self.points[:, key_cols] == hi[key_cols]
        most = _most_groups(max(len(query), len(self.points)))
        key_cols, q_keys, p_keys = _limit_keys(key_cols, q_bits, p_bits, most)
        rest = np.flatnonzero((lo < hi) & ~np.isin(np.arange(query.shape[1]), key_cols))
        centre = self.points[:, rest].mean(axis=0)
        self.q_rest = query[:, rest] - centre
        self.p_rest = self.points[:, rest] - centre
        self.q_norm = np.einsum("ij,ij->i", self.q_rest, self.q_rest)
        self.p_norm = np.einsum("ij,ij->i", self.p_rest, self.p_rest)
        # Squared distance = (binary columns) + (the rest). Between a query group and
        # an index group the binary part is one constant: the group bound.
        weights = (hi[key_cols] - lo[key_cols]) ** 2
        groups, inverse = np.unique(np.concatenate([q_keys, p_keys]), return_inverse=True)
        self.q_group, self.p_group = inverse[: len(query)], inverse[len(query) :]
        bits = ((groups[:, None] >> np.arange(len(key_cols), dtype=np.uint64)) & np.uint64(1)).astype(float)
        weighted = bits * weights
        self.bound = np.maximum(weighted.sum(1)[:, None] + weighted.sum(1)[None, :] - 2 * weighted @ bits.T, 0.0)
        self.cells = _Cells(self.p_rest, self.p_group, len(self.points) if brute else CELL_ROWS)
        self.p_rest_cells = self.p_rest[self.cells.rows]  # in cell order: a cell's rows are contiguous
        density = len(query) / len(self.points)
        self.chunk_rows = (
            max(1, self.block // len(self.points)) if brute
            else int(np.clip(CHUNK_ROWS * density, MIN_CHUNK_ROWS, CHUNK_ROWS))
        )
        # A product distance differs from the exact one by at most `slack` (rounding
        # of the norms, the product, the centring and the bounds, with a wide margin);
        # the exact re-computation by at most a factor `grow`.
        dims = query.shape[1] + 8
        self.slack = 8 * _EPS * dims * (self.q_norm + self.p_norm.max(initial=0.0) + weights.sum())
        self.grow = 1 + 8 * _EPS * dims

    def run(self, distances: np.ndarray, indices: np.ndarray) -> None:
        """Answer every query row: chunks of queries run on as many threads as BLAS
        may use (each chunk writes its own rows; BLAS itself runs single-threaded)."""
        chunks = _Cells(self.q_rest, self.q_group, self.chunk_rows).cells
        blas = _blas()
        workers = max((library.num_threads for library in blas.lib_controllers), default=1)

        def answer(part: np.ndarray) -> None:
            self._select(part, *self._candidates(part), distances, indices)

        with blas.limit(limits=1):
            if workers > 1 and len(chunks) > 1:
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(answer, chunks))
            else:
                for part in chunks:
                    answer(part)

    def _candidates(self, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, distinct index row) pairs certain to hold the exact answer for
        one chunk of query rows (a cell of one binary group).

        Index cells are bounded below by their binary part plus the squared distance
        to their box. The nearest cells by the chunk's bound give each row a first
        k-th distance (by BLAS); then only the cells whose bound for that row is
        within it are measured. A pair is kept when its distance is within the
        rounding bound of the row's k-th distance.
        """
        cells, g = self.cells, self.q_group[part[0]]
        q, slack = self.q_rest[part], self.slack[part]
        group_bound = self.bound[g]
        block_bound = group_bound[cells.block_group] + _box_distance(
            q.min(axis=0)[:, None], q.max(axis=0)[:, None], cells.block_lo, cells.block_hi
        )
        first_blocks = _nearest_cells(block_bound, cells.block_sizes, max(FIRST_WIDTH, self.k_unique))
        first, _ = cells.cells_of(first_blocks)
        points, sizes = cells.rows_of(first)
        d = q @ self.p_rest[points].T
        d *= -2.0
        d += self.p_norm[points] + np.repeat(group_bound[cells.group[first]], sizes)
        d += self.q_norm[part][:, None]
        kth = np.partition(d, self.k_unique - 1, axis=1)[:, self.k_unique - 1]
        limit = (kth + slack) * self.grow + slack
        rows, cols = np.nonzero(d <= limit[:, None])
        found = [(rows, points[cols], d[rows, cols])]
        best = _k_smallest(rows, d[rows, cols], len(part), self.k_unique)
        near = np.flatnonzero(block_bound <= (limit + slack).max())
        near = near[~np.isin(near, first_blocks)]
        near = near[np.argsort(block_bound[near], kind="stable")]
        start, width = 0, FIRST_BLOCKS
        while start < len(near) and block_bound[near[start]] <= (limit + slack).max():
            some = near[start : start + width]
            reach = limit + slack
            active = np.flatnonzero(reach >= block_bound[some[0]])
            # rows x blocks, then the cells of the blocks each row may need, then their rows
            box = _point_box_distance(q[active], cells.block_lo[:, some], cells.block_hi[:, some])
            bound = group_bound[cells.block_group[some]] + box
            r, b = np.nonzero(bound <= reach[active, None])
            inner, counts = cells.cells_of(some[b])
            r = np.repeat(active[r], counts)
            x = q[r]
            outside = x - np.clip(x, cells.lo[:, inner].T, cells.hi[:, inner].T)
            bound = group_bound[cells.group[inner]] + (outside ** 2).sum(axis=1)
            r, inner = r[bound <= reach[r]], inner[bound <= reach[r]]
            at, sizes = cells.positions_of(inner)
            r = np.repeat(r, sizes)
            dist = np.repeat(group_bound[cells.group[inner]], sizes)
            step = max(1, self.block // q.shape[1])
            for s in range(0, len(at), step):  # in blocks: memory stays bounded
                diff = q[r[s : s + step]] - self.p_rest_cells[at[s : s + step]]
                dist[s : s + step] += np.einsum("ij,ij->i", diff, diff)
            inside = dist <= limit[r]
            found.append((r[inside], cells.rows[at[inside]], dist[inside]))
            best = _k_smallest(
                np.concatenate([np.repeat(np.arange(len(part)), self.k_unique), r[inside]]),
                np.concatenate([best.ravel(), dist[inside]]),
                len(part),
                self.k_unique,
            )
            limit = (best[:, -1] + slack) * self.grow + slack
            start, width = start + width, min(GROWTH * width, max(1, self.block // max(len(part) * BLOCK_CELLS * q.shape[1], 1)))
        rows, points, d = (np.concatenate(x) for x in zip(*found, strict=True))
        keep = d <= limit[rows]
        return part[rows[keep]], points[keep]

    def _select(
        self, part: np.ndarray, pair_q: np.ndarray, pair_p: np.ndarray, distances: np.ndarray, indices: np.ndarray
    ) -> None:
        """Exact distances of the candidate pairs, expanded to duplicate index rows;
        the k smallest (distance, index) per query row."""
        squared = np.concatenate([np.zeros(0), *_squared_distances(self.query, self.points, pair_q, pair_p, self.block)])
        u = self.unique
        take = np.minimum(u.counts[pair_p], self.k)
        pair = np.repeat(np.arange(len(pair_p)), take)
        offset = np.arange(len(pair)) - np.repeat(np.cumsum(take) - take, take)
        original = u.members[u.starts[pair_p][pair] + offset]
        q, squared = pair_q[pair], squared[pair]
        order = np.lexsort((original, squared, q))
        q, squared, original = q[order], squared[order], original[order]
        keep = np.arange(len(q)) - np.searchsorted(q, q, side="left") < self.k
        distances[part] = np.sqrt(squared[keep]).reshape(-1, self.k)
        indices[part] = original[keep].reshape(-1, self.k)


def _k_smallest(rows: np.ndarray, values: np.ndarray, n: int, k: int) -> np.ndarray:
    """The k smallest ``values`` of each row id 0..n-1, ascending (padded with inf):
    level by level for k <= 2 (a minimum per row, then the next), else by sorting."""
    best = np.full((n, k), np.inf)
    if k > 2:
        order = np.lexsort((values, rows))
        rows, values = rows[order], values[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
        keep = rank < k
        best[rows[keep], rank[keep]] = values[keep]
        return best
    np.minimum.at(best[:, 0], rows, values)
    if k == 2:
        at_minimum = values == best[rows, 0]
        twice = np.bincount(rows[at_minimum], minlength=n) >= 2
        above = ~at_minimum
        np.minimum.at(best[:, 1], rows[above], values[above])
        best[twice, 1] = best[twice, 0]
    return best


def _nearest_cells(bound: np.ndarray, sizes: np.ndarray, rows: int) -> np.ndarray:
    """The cells of smallest bound (ties by position) holding at least ``rows`` rows
    between them (all cells when they hold fewer)."""
    guess = min(len(bound), 4 * rows // max(int(sizes.min(initial=1)), 1) + 1)
    while True:
        some = np.argpartition(bound, guess - 1)[:guess] if guess < len(bound) else np.arange(len(bound))
        some = some[np.lexsort((some, bound[some]))]
        held = np.cumsum(sizes[some])
        if held[-1] >= rows or guess == len(bound):
            return some[: int(np.searchsorted(held, rows)) + 1]
        guess = min(len(bound), 2 * guess)


class _Cells:
    """Rows cut into small cells: within each binary-column group, recursive median
    splits on the widest continuous column (a bucketed k-d tree). Each cell has the
    bounding box of its rows' continuous part."""

    def __init__(self, rest: np.ndarray, group: np.ndarray, size: int):
        order = np.argsort(group, kind="stable")
        todo = np.split(order, np.flatnonzero(np.diff(group[order])) + 1) if len(group) else []
        cells = []
        while todo:
            rows = todo.pop()
            spread = np.ptp(rest[rows], axis=0) if len(rows) > size and rest.shape[1] else np.zeros(1)
            if spread.max() == 0:
                cells.append(np.sort(rows))
                continue
            half = len(rows) // 2
            split = np.argpartition(rest[rows, int(np.argmax(spread))], half)
            todo += [rows[split[:half]], rows[split[half:]]]
        self.cells = cells
        self.sizes = np.array([len(c) for c in cells], dtype=np.int64)
        self.starts = np.cumsum(self.sizes) - self.sizes
        self.rows = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)
        self.group = group[self.rows[self.starts]] if cells else np.zeros(0, dtype=np.int64)
        # Boxes stored column by column (dimensions x cells) for _box_distance.
        self.lo = np.minimum.reduceat(rest[self.rows], self.starts).T.copy() if cells else np.zeros((rest.shape[1], 0))
        self.hi = np.maximum.reduceat(rest[self.rows], self.starts).T.copy() if cells else np.zeros((rest.shape[1], 0))
        # Blocks: runs of at most BLOCK_CELLS consecutive cells of one group (the k-d
        # order keeps them close together), with the bounding box of their cells.
        position = np.arange(len(cells))
        new_group = np.r_[True, self.group[1:] != self.group[:-1]] if cells else np.zeros(0, dtype=bool)
        group_start = np.maximum.accumulate(np.where(new_group, position, 0)) if cells else position
        self.block_first = np.flatnonzero(new_group | ((position - group_start) % BLOCK_CELLS == 0))
        self.block_cells = np.diff(np.r_[self.block_first, len(cells)])
        self.block_group = self.group[self.block_first]
        self.block_sizes = np.add.reduceat(self.sizes, self.block_first) if cells else np.zeros(0, dtype=np.int64)
        self.block_lo = np.minimum.reduceat(self.lo, self.block_first, axis=1) if cells else self.lo
        self.block_hi = np.maximum.reduceat(self.hi, self.block_first, axis=1) if cells else self.hi

    def cells_of(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cells of some blocks, concatenated, and each block's cell count."""
        counts = self.block_cells[blocks]
        shift = np.repeat(self.block_first[blocks] - (np.cumsum(counts) - counts), counts)
        return shift + np.arange(int(counts.sum())), counts

    def positions_of(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the rows of some cells sit in cell order (see ``rows``), concatenated,
        and each cell's row count."""
        sizes = self.sizes[cells]
        shift = np.repeat(self.starts[cells] - (np.cumsum(sizes) - sizes), sizes)
        return shift + np.arange(int(sizes.sum())), sizes

    def rows_of(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of some cells, concatenated, and each cell's row count."""
        at, sizes = self.positions_of(cells)
        return self.rows[at], sizes


def _box_distance(lo: np.ndarray, hi: np.ndarray, box_lo: np.ndarray, box_hi: np.ndarray) -> np.ndarray:
    """Squared distance between boxes [lo, hi] and [box_lo, box_hi] (0 where they
    meet); the first axis is the dimension (summed over), the rest broadcast."""
    total = np.zeros(np.broadcast_shapes(lo.shape[1:], box_lo.shape[1:]))
    for j in range(len(box_lo)):
        gap = np.maximum(box_lo[j] - hi[j], lo[j] - box_hi[j])
        np.maximum(gap, 0.0, out=gap)
        gap *= gap
        total += gap
    return total


def _point_box_distance(points: np.ndarray, box_lo: np.ndarray, box_hi: np.ndarray) -> np.ndarray:
    """Squared distance of each point (rows of ``points``) to each box (columns of
    ``box_lo``/``box_hi``, dimensions first): (points x boxes)."""
    total = np.zeros((len(points), box_lo.shape[1]))
    for j in range(len(box_lo)):
        x = points[:, j : j + 1]
        gap = x - np.clip(x, box_lo[j], box_hi[j])
        gap *= gap
        total += gap
    return total


def _two_valued(matrix: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Columns whose every value is ``lo`` or ``hi``."""
    return ((matrix == lo) | (matrix == hi)).all(axis=0)


def _most_groups(rows: int) -> int:
    """How many binary groups a search of ``rows`` rows (its larger table) may form."""
    return int(np.clip(GROUPS_AT_10K * (rows / 10_000) ** 2, MIN_GROUPS, MAX_GROUPS))


def _limit_keys(
    cols: np.ndarray, q_bits: np.ndarray, p_bits: np.ndarray, most: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary columns (at most 63, most balanced first) whose value patterns form at
    most ``most`` groups, and each row's pattern as an integer key."""
    share = np.concatenate([q_bits, p_bits]).mean(axis=0) if len(cols) else np.zeros(0)
    order = np.argsort(-share * (1 - share), kind="stable")[:63]
    cols, q_bits, p_bits = cols[order], q_bits[:, order], p_bits[:, order]
    powers = np.uint64(1) << np.arange(len(cols), dtype=np.uint64)
    if len(cols):
        keys = np.concatenate([q_bits, p_bits]).astype(np.uint64) @ powers
    else:
        keys = np.zeros(len(q_bits) + len(p_bits), dtype=np.uint64)

    def masked(used: int) -> np.ndarray:
        return keys & ((np.uint64(1) << np.uint64(used)) - np.uint64(1))

    low, high = 0, len(cols)  # the most columns keeping the groups few: binary search
    while low < high:
        mid = (low + high + 1) // 2
        if len(np.unique(masked(mid))) <= most:
            low = mid
        else:
            high = mid - 1
    keys = masked(low)
    return cols[:low], keys[: len(q_bits)], keys[len(q_bits) :]


def _squared_distances(
    query: np.ndarray, points: np.ndarray, pair_q: np.ndarray, pair_p: np.ndarray, block: int
) -> Iterator[np.ndarray]:
    """``sum((query[i] - points[j]) ** 2)`` for each pair, in blocks, summed over the
    columns as numpy sums a row (so equal to a brute-force numpy computation)."""
    step = max(1, block // max(query.shape[1], 1))
    for start in range(0, len(pair_q), step):
        diff = query[pair_q[start : start + step]] - points[pair_p[start : start + step]]
        yield (diff * diff).sum(axis=1)


#: Most query rows in one nearest-neighbour search: larger query tables are searched
#: through a seeded subsample (the index table always stays whole).
MAX_QUERY_ROWS = 100_000


def search(cmp: Comparison, query: str, index: str, k: int = 1) -> Neighbours:
    """Exact ``k`` nearest ``index`` rows of every ``query`` row, between two roles of a
    comparison (e.g. ``("synthetic", "train")``), computed once per evaluation: a smaller
    ``k`` reuses a larger search, a part of a table (a holdout half, a subsample) reuses
    its whole table's search. A holdout half's search in train is answered by the whole
    holdout's search in train (which the synthetic side's metrics need too). A query
    table of more than :data:`MAX_QUERY_ROWS` rows is searched through a seeded
    subsample, named in the result's ``rows``."""
    return _search(cmp.data, cmp.name_of(query), cmp.name_of(index), k)


def _search(data: EvaluationData, query: str, index: str, k: int) -> Neighbours:
    done: dict[tuple[str, str, int], Neighbours] = data.cached("nearest-neighbour searches", dict)
    found = _reuse(data, done, query, index, k)
    part = data.part_of(query)
    large = len(data.tables.get("holdout", ())) > MAX_QUERY_ROWS
    if found is None and part is not None and part[0] == "holdout" and index == "train" and (query in HALVES or not large):
        whole = _search(data, "holdout", index, k)
        if whole.rows is None:
            found = whole.take(part[1])
        else:  # the half's rows among those the holdout's search used (see _searched)
            in_half = np.isin(whole.rows, part[1])
            found = Neighbours(whole.distances[in_half], whole.indices[in_half], np.searchsorted(part[1], whole.rows[in_half]))
    if found is None:
        searched = _searched(data, query)
        found = nearest(data.matrix(searched), data.matrix(index), k)
        sub = data.part_of(searched)
        if searched != query and sub is not None:
            found = Neighbours(found.distances, found.indices, rows=sub[1])
        done[(query, index, k)] = found
    return found


def _searched(data: EvaluationData, query: str) -> str:
    """The table a search of ``query`` runs through: the table itself up to
    :data:`MAX_QUERY_ROWS` rows, else a seeded subsample; for a half of a larger holdout,
    the half's rows among the whole holdout's subsample, so that every search of the half
    uses the same rows and its search in train is read from the holdout's."""
    part = data.part_of(query)
    if part is not None and query in HALVES and len(data.tables["holdout"]) > MAX_QUERY_ROWS:
        sampled = data.part_of(data.subsample("holdout", MAX_QUERY_ROWS))
        assert sampled is not None
        return data.restricted(query, np.flatnonzero(np.isin(part[1], sampled[1])), "holdout sample")
    return data.subsample(query, MAX_QUERY_ROWS)


def _reuse(data: EvaluationData, done: dict[tuple[str, str, int], Neighbours], query: str, index: str,
           k: int) -> Neighbours | None:
    for (q, i, kk), found in done.items():
        if (q, i) == (query, index) and kk >= k:
            return Neighbours(found.distances[:, :k], found.indices[:, :k], found.rows)
    part = data.part_of(query)
    if part is not None:
        whole = _reuse(data, done, part[0], index, k)
        if whole is not None and whole.rows is None:
            return whole.take(part[1])
    return None
