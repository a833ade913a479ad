"""The results store: one SQLite file (WAL), one transaction per finished cell.

A benchmark cell is one (dataset, generator, seed). Its key is a hash of the real
data, the generator and its settings, the seed, the sample size, the evaluation
options and the package version (made by :func:`safe_bench.benchmark.plan.plan`), so running
a suite again skips every cell already stored; a run killed mid-way (even with
SIGKILL) loses no finished cell, because a cell is written in one transaction once it
has finished. Synthetic tables are cached as Parquet in a folder beside the database
(``results.sqlite`` -> ``results.synthetic/<synthetic key>.parquet``); a cell whose
generation is already cached (same data, generator, settings, seed, sample size) is
evaluated again without refitting.

When a (dataset, generator, seed) was run again under another key (other settings,
another safe-bench version), the cell stored last is the current one: ``cells``,
``results`` and ``scores`` read the current cells (``latest=False``: every cell).

Python API (what reports and gates read)::

    store = Store("results.sqlite")
    store.cells()      # one row per cell: key, dataset, generator, generator_name,
                       #   params (JSON), seed, status ("ok" | "failed" | "timeout"),
                       #   stage and reason (why it failed), fit/sample/evaluate/total
                       #   seconds, run, finished (UTC time)
    store.results()    # tidy: one row per finished cell x metric, for the metrics and
                       #   for the pillar and SAFE scores (kind "metric" | "pillar"):
                       #   dataset, generator, seed, key, metric, pillar, kind, value,
                       #   score, ci_low, ci_high, reference, status, reason; status is
                       #   the metric's ("ok" | "skipped" | "error") or the pillar's
                       #   ("ok" | "incomplete" | "not scored", see safe_bench.evaluation.scoring)
    store.scores("SAFE")   # one row per cell: dataset, generator, seed, status (the
                           #   cell's), score, ci_low, ci_high (NaN when the cell failed
                           #   or the score is missing), score_status and reason (the
                           #   score's); what safe_bench.benchmark.ranking reads
    store.result(key)  # the cell's EvaluationResult (EvaluationResult.from_json)
    store.synthetic(key)   # the cell's synthetic table (canonical form)
    store.runs()       # one row per run: run, started, finished, manifest (dict: package
                       #   versions, python, platform, seeds, data hashes, suite hash,
                       #   backend, and at the end a summary of counts; a run of other
                       #   work names it under "work" instead of a suite)
    store.work()       # one row per item of other work (a scenario's batch of replicates,
                       #   run by safe_bench.benchmark.runner.run_work): key, kind, label,
                       #   status, stage, reason, seconds, run, finished
    store.work_results(keys)   # key -> result (JSON text) of the items stored ok

Other work is kept apart from the cells: ``cells``, ``results``, ``scores`` and every
report read cells only.

Tables (SQL, for other tools): ``meta`` (format version), ``runs``, ``cells`` (the
columns of :meth:`Store.cells` plus ``synthetic_key``, ``data_hash``, ``version`` and
``result``, the EvaluationResult JSON), the view ``latest_cells`` (the current
cells), ``scores`` (the rows of :meth:`Store.results`, keyed by cell key and
metric, ``position`` keeping the report order) and ``work`` (the columns of
:meth:`Store.work` plus ``result``; a store written before it existed gains it when
opened to write, and reads as holding no work when opened read-only).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from safe_bench.data.io import read_table, write_table
from safe_bench.data.schema import Schema
from safe_bench.errors import InputError
from safe_bench.evaluation.evaluate import EvaluationResult, plain

#: Layout version of the database; a store of another version is refused.
FORMAT = 1
STATUSES = ("ok", "failed", "timeout")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    finished TEXT,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY,
    synthetic_key TEXT NOT NULL,
    dataset TEXT NOT NULL,
    generator TEXT NOT NULL,
    generator_name TEXT NOT NULL,
    params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    data_hash TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    fit_seconds REAL,
    sample_seconds REAL,
    evaluate_seconds REAL,
    seconds REAL,
    run INTEGER REFERENCES runs(run),
    finished TEXT NOT NULL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS scores (
    key TEXT NOT NULL REFERENCES cells(key) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    pillar TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('metric', 'pillar')),
    position INTEGER NOT NULL,
    value REAL,
    score REAL,
    ci_low REAL,
    ci_high REAL,
    reference REAL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (key, metric)
);
CREATE INDEX IF NOT EXISTS cells_by_name ON cells (dataset, generator, seed);
CREATE VIEW IF NOT EXISTS latest_cells AS
    SELECT * FROM cells c WHERE c.rowid = (SELECT max(o.rowid) FROM cells o
        WHERE o.dataset = c.dataset AND o.generator = c.generator AND o.seed = c.seed);
"""
#: The table of other work (not part of :data:`_OBJECTS`: older stores lack it).
_WORK_TABLE = """
CREATE TABLE IF NOT EXISTS work (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'timeout')),
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    seconds REAL,
    run INTEGER REFERENCES runs(run),
    finished TEXT NOT NULL,
    result TEXT
)
"""
WORK_COLUMNS = ["key", "kind", "label", "status", "stage", "reason", "seconds", "run", "finished"]

CELL_COLUMNS = [
    "key", "dataset", "generator", "generator_name", "params", "seed", "status", "stage", "reason",
    "fit_seconds", "sample_seconds", "evaluate_seconds", "seconds", "run", "finished",
]
#: The tables and the view of a store (``_SCHEMA``).
_OBJECTS = ("meta", "runs", "cells", "scores", "latest_cells")
RESULT_COLUMNS = [
    "dataset", "generator", "seed", "key", "metric", "pillar", "kind", "value", "score",
    "ci_low", "ci_high", "reference", "status", "reason",
]


def digest(data: Any) -> str:
    """SHA-256 of the canonical JSON of ``data`` (sorted keys)."""
    text = json.dumps(plain(data), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_hash(frame: pd.DataFrame, schema: Schema) -> str:
    """SHA-256 of a canonical table (values, column names and order) and its schema."""
    h = hashlib.sha256(json.dumps(schema.to_dict(), sort_keys=True).encode("utf-8"))
    h.update(json.dumps([str(c) for c in frame.columns]).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


@dataclass
class CellRecord:
    """A finished cell, as stored."""

    key: str
    synthetic_key: str
    dataset: str
    generator: str
    generator_name: str
    params: Mapping[str, Any]
    seed: int
    data_hash: str
    version: str
    status: str
    stage: str = ""
    reason: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    result_json: str | None = None


@dataclass
class WorkRecord:
    """A finished item of other work (a scenario's batch of replicates), as stored: its
    key, kind and label, status, the stage it failed in and why, its seconds and its
    result (JSON text)."""

    key: str
    kind: str
    label: str
    status: str
    stage: str = ""
    reason: str = ""
    seconds: float | None = None
    result: str | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class Store:
    """A results database (see the module docstring).

    ``create`` makes a new one (or opens an existing store to write to it);
    ``readonly`` opens an existing store without ever writing to the file (SQLite's
    ``mode=ro``), as the commands that only read (``results``, ``report``, ``gate``)
    do. A file that is not a safe-bench store (another SQLite database, an empty or a
    text file) is refused, never turned into one, unless ``create`` is given and it is
    empty.
    """

    def __init__(self, path: str | Path, *, create: bool = False, readonly: bool = False):
        if create and readonly:
            raise ValueError("a store cannot be created read-only")
        self.path = Path(path)
        self.readonly = readonly
        if not create and not self.path.is_file():
            raise InputError(f"no results store at {str(self.path)!r}")
        self.synthetic_dir = self.path.with_suffix(".synthetic")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._connect(readonly)
        except sqlite3.DatabaseError as exc:
            raise self._not_a_store(str(exc)) from None
        try:
            if create and self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
                with self._db:
                    self._db.executescript(_SCHEMA + _WORK_TABLE)
                    self._db.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
            found = self._format()
            if not readonly:
                self._configure()
                if found == str(FORMAT):
                    with self._db:
                        self._db.execute(_WORK_TABLE)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._not_a_store(str(exc)) from None
        except InputError:
            self._db.close()
            raise
        if found != str(FORMAT):
            self._db.close()
            raise InputError(f"results store {str(self.path)!r} has format {found}; this safe-bench reads {FORMAT}")

    def _connect(self, readonly: bool) -> sqlite3.Connection:
        """A connection to the file, read-only (SQLite's URI ``mode=ro``) or read-write."""
        if readonly:
            return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        return sqlite3.connect(self.path, timeout=60)

    def _configure(self) -> None:
        """A writer's settings: WAL, durable commits, foreign keys."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")

    def _format(self) -> str:
        """The store's format version (InputError when the file is not a safe-bench store)."""
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
            raise self._not_a_store("an empty file" if self.path.stat().st_size == 0
                                    else "a database without safe-bench's tables")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        found = "none" if row is None else str(row[0])
        if found == str(FORMAT):
            names = {n for (n,) in self._db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
            missing = [n for n in _OBJECTS if n not in names]
            if missing:
                raise InputError(f"results store {str(self.path)!r} lacks its table(s) {missing} "
                                 "(was the store edited by hand?)")
        return found

    def _not_a_store(self, why: str) -> InputError:
        return InputError(f"{str(self.path)!r} is not a safe-bench results store ({why}); "
                          "give a store written by `safe-bench run`")

    def close(self) -> None:
        if not self.readonly:
            self._leave_wal()
        self._db.close()

    def _leave_wal(self) -> None:
        """Back to a rollback journal when no other connection has the store open: the
        closed store is then one file, which read-only commands open without leaving a
        ``-wal`` and a ``-shm`` file beside it (another writer keeps it in WAL mode)."""
        try:
            self._db.execute("PRAGMA busy_timeout = 0")
            self._db.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError:  # another connection is open
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ------------------------------------------------------------------
    def start_run(self, manifest: Mapping[str, Any]) -> int:
        """Record the start of a run with its manifest; returns the run number."""
        with self._db as db:  # commits on success, rolls back on error
            cur = db.execute("INSERT INTO runs (started, manifest) VALUES (?, ?)",
                             (_now(), json.dumps(plain(manifest), sort_keys=True)))
        assert cur.lastrowid is not None  # set by the INSERT
        return cur.lastrowid

    def finish_run(self, run: int, summary: Mapping[str, Any]) -> None:
        """Mark a run finished and add ``summary`` (counts) to its manifest."""
        (text,) = self._db.execute("SELECT manifest FROM runs WHERE run = ?", (run,)).fetchone()
        manifest = {**json.loads(text), "summary": plain(dict(summary))}
        with self._db as db:  # commits on success, rolls back on error
            db.execute("UPDATE runs SET finished = ?, manifest = ? WHERE run = ?",
                       (_now(), json.dumps(manifest, sort_keys=True), run))

    def runs(self) -> pd.DataFrame:
        rows = self._db.execute("SELECT run, started, finished, manifest FROM runs ORDER BY run").fetchall()
        return pd.DataFrame([(r, s, f, json.loads(m)) for r, s, f, m in rows],
                            columns=["run", "started", "finished", "manifest"])

    # -- cells -----------------------------------------------------------------
    def finished_keys(self, *, statuses: tuple[str, ...] = STATUSES) -> set[str]:
        """Keys of the stored cells whose status is one of ``statuses``."""
        marks = ",".join("?" * len(statuses))
        return {k for (k,) in self._db.execute(f"SELECT key FROM cells WHERE status IN ({marks})", statuses)}

    def synthetic_path(self, synthetic_key: str) -> Path:
        return self.synthetic_dir / f"{synthetic_key}.parquet"

    def cached_synthetic(self, synthetic_key: str) -> pd.DataFrame | None:
        """The cached synthetic table of a generation, if one was stored."""
        path = self.synthetic_path(synthetic_key)
        return read_table(path, table="cached synthetic") if path.is_file() else None

    def record(self, cell: CellRecord, synthetic: pd.DataFrame | None = None, *, run: int | None = None) -> None:
        """Store a finished cell: its synthetic table first (atomic file write), then
        the cell and its scores in one transaction."""
        if cell.status not in STATUSES:
            raise ValueError(f"cell status must be one of {STATUSES}, not {cell.status!r}")
        if synthetic is not None:
            write_table(synthetic, self.synthetic_path(cell.synthetic_key))
        result = None if cell.result_json is None else EvaluationResult.from_json(cell.result_json)
        t = cell.timings
        with self._db as db:  # commits on success, rolls back on error
            db.execute("DELETE FROM scores WHERE key = ?", (cell.key,))
            db.execute(
                "INSERT OR REPLACE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (cell.key, cell.synthetic_key, cell.dataset, cell.generator, cell.generator_name,
                 json.dumps(plain(dict(cell.params)), sort_keys=True), cell.seed, cell.data_hash, cell.version,
                 cell.status, cell.stage, cell.reason, t.get("fit"), t.get("sample"), t.get("evaluate"),
                 t.get("total"), run, _now(), cell.result_json),
            )
            if result is not None:
                db.executemany("INSERT INTO scores VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", _score_rows(cell.key, result))

    # -- other work --------------------------------------------------------------
    def record_work(self, item: WorkRecord, *, run: int | None = None) -> None:
        """Store a finished item of work in one transaction (replacing an earlier record
        of its key)."""
        if item.status not in STATUSES:
            raise ValueError(f"work status must be one of {STATUSES}, not {item.status!r}")
        if item.status == "ok" and item.result is None:
            raise ValueError(f"work {item.key!r} is ok but has no result")
        with self._db as db:  # commits on success, rolls back on error
            db.execute("INSERT OR REPLACE INTO work VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (item.key, item.kind, item.label, item.status, item.stage, item.reason, item.seconds, run,
                        _now(), item.result))

    def _has_work(self) -> bool:
        """Whether the store has the work table (a store written before it, opened
        read-only, has not)."""
        return self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'work'").fetchone() is not None

    def work_keys(self, *, statuses: tuple[str, ...] = STATUSES) -> set[str]:
        """Keys of the stored items of work whose status is one of ``statuses``."""
        if not self._has_work():
            return set()
        marks = ",".join("?" * len(statuses))
        return {k for (k,) in self._db.execute(f"SELECT key FROM work WHERE status IN ({marks})", statuses)}

    def work(self, *, kind: str | None = None) -> pd.DataFrame:
        """One row per stored item of work (of ``kind``, or of every kind): key, kind,
        label, status, stage, reason, seconds, run, finished; by kind and label."""
        rows: list[tuple[Any, ...]] = []
        if self._has_work():
            where, params = ("WHERE kind = ?", (kind,)) if kind is not None else ("", ())
            rows = self._db.execute(f"SELECT {', '.join(WORK_COLUMNS)} FROM work {where} ORDER BY kind, label, key",
                                    params).fetchall()
        return pd.DataFrame(rows, columns=WORK_COLUMNS)

    def work_results(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """Key -> result (JSON text) of the items of work stored ``ok`` among ``keys``
        (``None``: every one); an item not stored or not ``ok`` is left out."""
        if not self._has_work():
            return {}
        rows = self._db.execute("SELECT key, result FROM work WHERE status = 'ok'").fetchall()
        wanted = None if keys is None else set(keys)
        found = {}
        for key, result in rows:
            if wanted is not None and key not in wanted:
                continue
            if not isinstance(result, str):
                raise InputError(f"results store {str(self.path)!r}: work {key!r} is marked ok but holds no result "
                                 "(was the store edited by hand?)")
            found[key] = result
        return found

    @staticmethod
    def _table(latest: bool) -> str:
        return "latest_cells" if latest else "cells"

    def cells(self, *, latest: bool = True) -> pd.DataFrame:
        """One row per cell (see the module docstring); with ``latest``, only the cell stored
        last for each (dataset, generator, seed)."""
        query = f"SELECT {', '.join(CELL_COLUMNS)} FROM {self._table(latest)} ORDER BY dataset, generator, seed, run"
        return _checked_frame(self._db.execute(query).fetchall(), CELL_COLUMNS, self.path)

    def results(self, *, latest: bool = True) -> pd.DataFrame:
        """Tidy results: one row per finished cell x metric (pillar and SAFE scores included)."""
        cols = ", ".join(f"s.{c}" if c not in ("dataset", "generator", "seed") else f"c.{c}"
                         for c in RESULT_COLUMNS)
        query = (f"SELECT {cols} FROM scores s JOIN {self._table(latest)} c ON c.key = s.key "
                 "ORDER BY c.dataset, c.generator, c.seed, c.run, s.position")
        tidy = _checked_frame(self._db.execute(query).fetchall(), RESULT_COLUMNS, self.path)
        return _legacy(_checked_numbers(tidy, self.path))

    def scores(self, metric: str = "SAFE") -> pd.DataFrame:
        """One row per latest cell: dataset, generator, seed, status (the cell's), and of
        ``metric`` (a metric id, a pillar or ``"SAFE"``) the score and its interval (NaN
        when the cell failed or the score is missing), ``score_status`` and ``reason``."""
        query = ("SELECT c.key, c.dataset, c.generator, c.seed, c.status FROM latest_cells c "
                 "ORDER BY c.dataset, c.generator, c.seed")
        cells = _checked_frame(self._db.execute(query).fetchall(), ["key", "dataset", "generator", "seed", "status"],
                               self.path)
        tidy = self.results()
        tidy = tidy.loc[tidy["metric"] == metric, ["key", "score", "ci_low", "ci_high", "status", "reason"]]
        frame = cells.merge(tidy.rename(columns={"status": "score_status"}), on="key", how="left")
        frame = frame.drop(columns="key").astype({"score": float, "ci_low": float, "ci_high": float})
        return frame[["dataset", "generator", "seed", "status", "score", "ci_low", "ci_high", "score_status", "reason"]]

    def result(self, key: str) -> EvaluationResult:
        """The EvaluationResult of a finished cell."""
        row = self._db.execute("SELECT status, result FROM cells WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(f"no cell {key!r} in {self.path}")
        where = f"results store {str(self.path)!r}: cell {key!r}"
        if row[1] is None and row[0] == "ok":
            raise InputError(f"{where} is marked ok but holds no result (was the store edited by hand?)")
        if row[1] is None:
            raise KeyError(f"cell {key!r} has no result (status {row[0]})")
        return EvaluationResult.from_json(row[1], source=where)

    def synthetic(self, key: str) -> pd.DataFrame:
        """The synthetic table a finished cell evaluated."""
        row = self._db.execute("SELECT synthetic_key FROM cells WHERE key = ?", (key,)).fetchone()
        found = None if row is None else self.cached_synthetic(row[0])
        if found is None:
            raise KeyError(f"no synthetic table stored for cell {key!r}")
        return found


def _score_rows(key: str, result: EvaluationResult) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (key, m.id, m.pillar, "metric", i, _number(m.value), _number(m.score), _number(m.ci_low),
         _number(m.ci_high), _number(m.reference), m.status, m.reason)
        for i, m in enumerate(result.metrics)
    ]
    offset = len(rows)
    for i, (name, p) in enumerate(result.pillars.items()):
        status = p.status if p.score is None or np.isfinite(p.score) else "not scored"
        rows.append((key, name, p.pillar, "pillar", offset + i, _number(p.score), _number(p.score),
                     _number(p.ci_low), _number(p.ci_high), _number(p.reference), status, p.reason))
    return rows


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_whole(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


#: What each column of a cell (or of a tidy row) must hold, and how to say it.
_CELL_CHECKS = {
    "key": (_is_text, "text"),
    "dataset": (_is_text, "text"),
    "generator": (_is_text, "text"),
    "generator_name": (_is_text, "text"),
    "params": (lambda v: isinstance(v, str), "text"),
    "seed": (lambda v: _is_whole(v) and 0 <= v < 2**32, "a whole number from 0 to 4294967295"),
    "status": (lambda v: v in STATUSES, f"one of {', '.join(STATUSES)}"),
    "stage": (lambda v: isinstance(v, str), "text"),
    "reason": (lambda v: isinstance(v, str), "text"),
    "fit_seconds": (_is_number, "a number or null"),
    "sample_seconds": (_is_number, "a number or null"),
    "evaluate_seconds": (_is_number, "a number or null"),
    "seconds": (_is_number, "a number or null"),
    "run": (lambda v: v is None or _is_whole(v), "a whole number or null"),
    "finished": (lambda v: isinstance(v, str), "text"),
    "metric": (_is_text, "text"),
    "pillar": (_is_text, "text"),
    "kind": (lambda v: v in ("metric", "pillar"), "metric or pillar"),
}


def _checked_frame(rows: list[tuple[Any, ...]], columns: list[str], path: Path) -> pd.DataFrame:
    """``rows`` (cells or tidy rows read from the store) as a DataFrame, if each column
    holds what the store writes there; else an InputError naming the store, the cell and
    the column (SQLite keeps whatever a hand edit puts in a column: NULL keys, text seeds)."""
    checks = dict(_CELL_CHECKS)
    if "metric" in columns:  # tidy rows: the status is the score's (ok, skipped, error, incomplete, ...)
        checks["status"] = (_is_text, "text")
    for i, column in enumerate(columns):
        valid, what = checks.get(column, (None, ""))
        if valid is None:
            continue
        bad = [row for row in rows if not valid(row[i])]
        if bad:
            key = bad[0][columns.index("key")] if "key" in columns else None
            cell = f"cell {key!r}" if _is_text(key) else "a cell without a key"
            raise InputError(f"results store {str(path)!r}: {cell}: {column} is not {what} "
                             f"({len(bad)} such row(s); was the store edited by hand?)")
    return pd.DataFrame(rows, columns=columns)


def _checked_numbers(tidy: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Tidy rows whose numbers are numbers (scores, intervals and references in 0..1),
    or an InputError naming the store, the cell, the metric and the column."""
    for column in ("value", "score", "ci_low", "ci_high", "reference"):
        numbers = pd.to_numeric(tidy[column], errors="coerce").astype(float)
        bad = numbers.isna() & tidy[column].notna()
        if column != "value":
            bad |= (numbers < 0) | (numbers > 1)
        if bad.any():
            row = tidy[bad].iloc[0]
            what = "a number" if column == "value" else "a score from 0 to 1"
            raise InputError(f"results store {str(path)!r}: cell {row['key']!r}, {row['metric']}: {column} is "
                             f"not {what} ({int(bad.sum())} such row(s); was the store edited by hand?)")
        tidy[column] = numbers
    return tidy


_LEGACY = "stored by an earlier safe-bench, which averaged the metrics that ran"


def _legacy(tidy: pd.DataFrame) -> pd.DataFrame:
    """Tidy rows as today's scoring would give them (see the module docstring): before
    pillars had a status, a pillar was the mean of the metrics that ran, so a pillar row
    ``ok`` beside a failed metric of its pillar is a number from a partial set of
    metrics, shown as ``incomplete`` without it, and so is its cell's SAFE (which counted
    that pillar). Today's rows never match: a pillar with a failed metric is stored
    ``incomplete``."""
    pillar = tidy["kind"] == "pillar"
    tidy.loc[pillar & (tidy["status"] == "skipped"), "status"] = "not scored"
    failed = tidy[(tidy["kind"] == "metric") & (tidy["status"] == "error")]
    if failed.empty:
        return tidy
    why = failed.groupby(["key", "pillar"])["metric"].agg(", ".join)
    pairs = pd.Series(list(zip(tidy["key"], tidy["pillar"], strict=True)), index=tidy.index)
    stale = pillar & (tidy["status"] == "ok") & pairs.isin(set(why.index))
    bad = tidy[stale].groupby("key")["pillar"].agg(", ".join)
    safe = pillar & (tidy["pillar"] == "SAFE") & (tidy["status"] == "ok") & tidy["key"].isin(set(bad.index))
    numbers = ["value", "score", "ci_low", "ci_high", "reference"]
    tidy.loc[stale | safe, numbers] = np.nan
    tidy.loc[stale | safe, "status"] = "incomplete"
    tidy.loc[stale, "reason"] = [f"incomplete: metric(s) failed: {why[pair]} ({_LEGACY})" for pair in pairs[stale]]
    tidy.loc[safe, "reason"] = [f"SAFE needs every weighted pillar: {bad[k]} incomplete ({_LEGACY})"
                                for k in tidy.loc[safe, "key"]]
    return tidy
