"""No orphans: a benchmark run's supervisor killed with SIGKILL takes every process it
started with it (workers, cells, resource trackers), on every local backend."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

TESTS = Path(__file__).parent
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
    supervisor = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    family = []
    try:
        deadline = time.monotonic() + 120
        while _running_cells(log) < cells and supervisor.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _running_cells(log) == cells, "the cells did not start"
        family = psutil.Process(supervisor.pid).children(recursive=True)
        assert len(family) >= cells
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.wait()
        _, alive = psutil.wait_procs(family, timeout=10)
        assert not alive, [" ".join(p.cmdline())[:100] for p in alive]
    finally:
        for process in [supervisor, *family]:
            try:
                process.kill()
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
