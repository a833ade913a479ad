"""Any unit of work through the benchmark runner (safe_bench.benchmark.runner.run_work):
stored, skipped once stored, failures and timeouts recorded without quoting a message,
the same results on every backend, and resumed after its supervisor is killed with SIGKILL.

The work here (:class:`SumWork`) is defined in this module, as a scenario's batch of
replicates is in its own package: worker and sandbox processes import it to unpickle it.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from safe_bench.benchmark.backends import JoblibBackend, SerialBackend
from safe_bench.benchmark.events import StageEvent
from safe_bench.benchmark.progress import Progress
from safe_bench.benchmark.runner import WorkSummary, run_work
from safe_bench.benchmark.store import Store, digest
from safe_bench.errors import InputError

#: What a failing item's exception message quotes: it must reach no store and no log.
SECRET = "patient 4711, born 1961-03-02"


@dataclass(frozen=True)
class SumWork:
    """Sums its values with numpy, one stage per value (each ``delay`` s long), and
    appends its key to the file ``counter`` each time it runs; ``fail`` raises with
    :data:`SECRET` in the message, ``hang`` never ends, ``crash`` ends the process,
    ``garble`` returns text that is not JSON."""

    values: tuple[float, ...]
    counter: str
    delay: float = 0.0
    fail: bool = False
    hang: bool = False
    crash: bool = False
    garble: bool = False
    timeout: float = 60.0
    preload: tuple[str, ...] = ("numpy",)

    @property
    def key(self) -> str:
        return digest({"values": self.values, "fail": self.fail, "hang": self.hang, "crash": self.crash,
                       "garble": self.garble})

    @property
    def label(self) -> str:
        return f"sum of {self.values[0]:g}..{self.values[-1]:g}"

    def execute(self, notify: Callable[[str], None]) -> str:
        with open(self.counter, "a", encoding="utf-8") as file:
            file.write(self.key + "\n")
        total = np.float64(0.0)
        for i, value in enumerate(self.values):
            notify(f"value {i + 1}/{len(self.values)}")
            time.sleep(self.delay)
            if self.fail:
                raise ValueError(f"cannot add {SECRET}")
            if self.hang:
                time.sleep(3600)
            if self.crash:
                os._exit(3)
            total = np.sum([total, value])
        return "{not json" if self.garble else json.dumps({"sum": float(total), "n": len(self.values)})


def batches(counter: Path, n: int = 4, *, delay: float = 0.0) -> list[SumWork]:
    """``n`` items of three values each."""
    return [SumWork(tuple(float(v) for v in range(3 * i, 3 * i + 3)), str(counter), delay=delay) for i in range(n)]


def expected(items: list[SumWork]) -> dict[str, str]:
    return {w.key: json.dumps({"sum": float(sum(w.values)), "n": len(w.values)}) for w in items}


def executed(counter: Path) -> list[str]:
    """The keys of the items that ran, once per run."""
    return counter.read_text(encoding="utf-8").split() if counter.is_file() else []


def run_batches(db: str, counter: str, n: int, jobs: int, delay: float) -> WorkSummary:
    """What the killed supervisor runs (and the test then again, serially)."""
    backend = SerialBackend() if jobs == 1 else JoblibBackend(jobs)
    with Store(db, create=True) as store:
        return run_work(batches(Path(counter), n, delay=delay), store, kind="sum", backend=backend)


def test_work_is_stored_and_not_run_again(tmp_path: Path) -> None:
    counter, items = tmp_path / "counter", batches(tmp_path / "counter")
    stream = io.StringIO()
    with Store(tmp_path / "work.sqlite", create=True) as store:
        summary = run_work(items, store, kind="sum", progress=Progress(stream=stream, log=tmp_path / "work.log"),
                           manifest={"batch_size": 3})
        assert (summary.total, summary.skipped, summary.ok, summary.failed) == (4, 0, 4, 0)
        assert summary.results == expected(items) == store.work_results()
        listed = store.work(kind="sum")
        assert list(listed["label"]) == sorted(w.label for w in items)
        assert set(listed["status"]) == {"ok"} and (listed["run"] == 1).all() and listed["seconds"].notna().all()
        # apart from the cells: no cell, no result, no score; the run names its work
        assert store.cells().empty and store.results().empty and store.scores().empty
        (manifest,) = store.runs()["manifest"]
        assert manifest["work"] == {"kind": "sum", "items": 4, "batch_size": 3} and "suite" not in manifest
        assert manifest["summary"] == {"run": 1, "total": 4, "skipped": 0, "ok": 4, "failed": 0, "timeout": 0,
                                       "seconds": pytest.approx(summary.seconds)}
    assert sorted(executed(counter)) == sorted(w.key for w in items)
    printed = stream.getvalue()
    assert "4 sum items: 0 already in the store, 4 to run" in printed
    assert "sum of 3..5: value 2/3 (" in printed and "sum of 3..5: ok in " in printed
    assert "[4/4]" in printed and "ETA" in printed and str(summary) in printed
    assert printed.splitlines()[-1] in (tmp_path / "work.log").read_text(encoding="utf-8")

    # Again, with one more item: only that one runs; every result is returned.
    more = batches(counter, 5)
    with Store(tmp_path / "work.sqlite") as store:
        again = run_work(more, store, kind="sum")
    assert (again.run, again.skipped, again.ok) == (2, 4, 1)
    assert again.results == expected(more) and executed(counter)[4:] == [more[4].key]
    with Store(tmp_path / "work.sqlite", readonly=True) as store:
        assert store.work_results([more[0].key, "absent"]) == {more[0].key: expected(more)[more[0].key]}
        # a report of the store's cells names no run of other work among the runs of its cells
        from safe_bench.report.site import _provenance

        assert _provenance(store).endswith("from cells run at no recorded run")


def test_failures_and_timeouts_are_recorded_and_run_again(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    ok = batches(counter, 1)[0]
    failing = SumWork((1.0, 2.0), str(counter), fail=True)
    hanging = SumWork((1.0, 2.0), str(counter), hang=True, timeout=1.0)
    crashing = SumWork((1.0, 2.0), str(counter), crash=True)
    garbling = SumWork((1.0, 2.0), str(counter), garble=True)
    items = [ok, failing, hanging, crashing, garbling]
    with Store(tmp_path / "fail.sqlite", create=True) as store:
        summary = run_work(items, store, kind="sum")
        rows = store.work().set_index("key")
    assert (summary.ok, summary.failed, summary.timeout) == (1, 3, 1)
    assert summary.results == expected([ok])
    found = {key: (row.status, row.stage, row.reason) for key, row in rows.iterrows()}
    assert found[ok.key] == ("ok", "", "")
    assert found[hanging.key] == ("timeout", "value 1/2", "timed out after 1 s during value 1/2")
    assert found[crashing.key] == ("failed", "value 1/2", "the sum process died during value 1/2 (exit code 3)")
    assert found[garbling.key] == ("failed", "value 2/2", "SafeBenchError: sum 'sum of 1..2' returned text that is not JSON")
    status, stage, reason = found[failing.key]
    assert (status, stage) == ("failed", "value 1/2")
    assert reason.startswith("ValueError; its message and traceback (") and SECRET not in reason
    # kept in the private folder the sandbox was started with (a forkserver's, started
    # by an earlier test, is that test's)
    kept = Path(reason.rpartition("full text in ")[2].removesuffix(")"))
    assert kept.name.startswith("sum-sum_of_1..2-") and SECRET in kept.read_text(encoding="utf-8")
    assert SECRET not in (tmp_path / "fail.sqlite").read_bytes().decode("utf-8", errors="replace")

    # Run again: the ok item is skipped, the failed one runs again.
    before = len(executed(counter))
    with Store(tmp_path / "fail.sqlite") as store:
        again = run_work([ok, failing], store, kind="sum")
    assert (again.skipped, again.failed) == (1, 1) and executed(counter)[before:] == [failing.key]


def test_two_items_with_one_key_are_refused(tmp_path: Path) -> None:
    item = batches(tmp_path / "counter", 1)[0]
    with Store(tmp_path / "twice.sqlite", create=True) as store, pytest.raises(InputError, match="more than one item"):
        run_work([item, item], store, kind="sum")


def test_a_store_without_the_work_table_opens(tmp_path: Path) -> None:
    """A store written before the work table existed reads as holding no work read-only,
    and gains the table when opened to write."""
    db = tmp_path / "old.sqlite"
    Store(db, create=True).close()
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE work")
    con.close()
    with Store(db, readonly=True) as store:
        assert store.work_results() == {} and store.work().empty and store.work_keys() == set()
    items = batches(tmp_path / "counter", 1)
    with Store(db) as store:
        assert run_work(items, store, kind="sum").results == expected(items)


# -- backends and resuming ----------------------------------------------------------
def _stages(progress: Progress) -> list[StageEvent]:
    events: list[StageEvent] = []
    progress.stage = events.append  # type: ignore[method-assign]
    return events


def test_joblib_processes_store_the_same_results(tmp_path: Path) -> None:
    items = batches(tmp_path / "counter", 4)
    progress = Progress(stream=io.StringIO())
    events = _stages(progress)
    with Store(tmp_path / "joblib.sqlite", create=True) as store:
        summary = run_work(items, store, kind="sum", backend=JoblibBackend(2), progress=progress)
        assert store.work_results() == expected(items)
    assert summary.ok == 4 and summary.results == expected(items)
    assert {e.stage for e in events} == {"value 1/3", "value 2/3", "value 3/3"}


def test_a_dask_cluster_stores_the_same_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from safe_bench.benchmark.backends import DaskBackend

    items = batches(tmp_path / "counter", 4)
    progress = Progress(stream=io.StringIO())
    events = _stages(progress)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with Store(tmp_path / "dask.sqlite", create=True) as store:
            summary = run_work(items, store, kind="sum", backend=DaskBackend(client), progress=progress)
            assert store.work_results() == expected(items)
        deadline = time.monotonic() + 10  # stage events travel through the scheduler
        while len(events) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert summary.ok == 4 and summary.results == expected(items)
    assert {e.stage for e in events} == {"value 1/3", "value 2/3", "value 3/3"}


def _stored(db: Path) -> int:
    """Items the store holds (read-only, while its supervisor writes it)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT count(*) FROM work").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_a_run_killed_with_sigkill_resumes_with_the_items_not_stored(tmp_path: Path) -> None:
    pytest.importorskip("psutil")
    from processes import TESTS, sigkill_when

    db, counter, n = tmp_path / "kill.sqlite", tmp_path / "counter", 8
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import test_work; "
            f"test_work.run_batches({str(db)!r}, {str(counter)!r}, {n}, jobs=2, delay=0.15)")
    sigkill_when(code, lambda: _stored(db) >= 2, waiting_for="two items stored")
    with Store(db) as store:
        before = store.work().set_index("key")
    assert 2 <= len(before) < n, "the run was not killed mid-way"
    ran = len(executed(counter))

    summary = run_batches(str(db), str(counter), n, jobs=1, delay=0.0)
    assert (summary.skipped, summary.ok) == (len(before), n - len(before))
    assert sorted(executed(counter)[ran:]) == sorted(set(expected(batches(counter, n))) - set(before.index))
    assert summary.results == expected(batches(counter, n))
    with Store(db) as store:
        kept = store.work().set_index("key").loc[before.index]
    assert (kept["run"] == 1).all() and list(kept["finished"]) == list(before["finished"])
