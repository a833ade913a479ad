"""No orphans: a benchmark run's supervisor killed with SIGKILL takes every process it
started with it (workers, cells, resource trackers), on every local backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("psutil")

from processes import TESTS, sigkill_when  # noqa: E402 - needs psutil

#: Cells that fit for a minute: the supervisor is killed while every one is running.
SUITE = """\
seeds = [0, 1, 2, 3]
timeout = 300
[metrics]
n_bootstrap = 10
select = ["S.ks"]
[datasets.gbsg2]
[generators.slow]
params = { delay = 60.0 }
"""
BACKENDS = {
    "serial": ([], 1),
    "jobs 2": (["--jobs", "2"], 2),
    "dask-local 2": (["--dask-local", "2"], 2),
}


def _running_cells(log: Path) -> int:
    """Cells the run's log shows fitting."""
    text = log.read_text(encoding="utf-8") if log.is_file() else ""
    return len(set(re.findall(r"seed (\d+): fit \(", text)))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_killing_the_supervisor_leaves_no_process_behind(tmp_path: Path, backend: str) -> None:
    options, cells = BACKENDS[backend]
    if backend.startswith("dask"):
        pytest.importorskip("distributed")
    suite = tmp_path / "slow.toml"
    suite.write_text(SUITE, encoding="utf-8")
    store, log = tmp_path / "slow.sqlite", tmp_path / "slow.log"
    code = (f"import sys; sys.path.insert(0, {str(TESTS)!r}); import fake_generators; fake_generators.register(); "
            f"from safe_bench.cli.main import main; sys.exit(main(['run', {str(suite)!r}, '--store', {str(store)!r}, "
            f"'--log', {str(log)!r}, '-q', *{options!r}]))")
    family = sigkill_when(code, lambda: _running_cells(log) == cells, waiting_for=f"{cells} cell(s) fitting")
    assert len(family) >= cells
