"""What a newcomer hits on the command line: output piped into `head`, a generator whose
extra is not installed. Each answer is an exit code and a message, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from safe_bench.cli.main import main

ROOT = Path(__file__).parents[1]
EVALUATE = ["evaluate", "--dataset", "gbsg2", "--generator", "independent", "--metrics", "S.ks,P.exact",
            "--bootstrap", "10"]


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with its standard output a pipe whose reader has gone (as `| head` after
    its lines): every write to it fails with EPIPE."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "safe_bench.cli", *args], stdout=write, stderr=subprocess.PIPE, check=False,
                              text=True, cwd=ROOT, timeout=300)
    finally:
        os.close(write)


def test_output_into_a_closed_pipe_is_not_an_error_and_files_are_written(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = _closed_pipe_run(*EVALUATE, "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr and done.stderr == ""
    assert json.loads(out.read_text())["label"] == "independent on gbsg2"

    # gate keeps its own exit code (1: a rule does not hold) when its reader has gone
    policy = str(ROOT / "benchmarks/policies/default.toml")
    gated = _closed_pipe_run("gate", "--policy", policy, "--result", str(out), "--json", str(tmp_path / "g.json"))
    assert "Traceback" not in gated.stderr and gated.stderr == ""
    assert gated.returncode == main(["gate", "--policy", policy, "--result", str(out), "-q"]) in (0, 1)
    assert (tmp_path / "g.json").is_file()


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch and ctgan as if the `generators` extra were not installed."""
    for module in ("torch", "ctgan"):
        monkeypatch.setitem(sys.modules, module, None)  # `import torch` raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "safe_bench_generators.tabddpm", raising=False)  # imports torch when loaded


@pytest.mark.parametrize("generator", ["ctwgan", "tvae", "tabddpm"])
def test_a_generator_without_its_extra_says_which_extra_to_install(
        without_torch: None, generator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--dataset", "gbsg2", "--generator", generator, "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert err == (f"safe-bench: error: generator {generator!r} needs the module 'torch', which is not installed: "
                   "pip install 'safe-bench[generators]'\n")
    assert not (tmp_path / "r.json").exists()


def test_a_suite_naming_a_generator_without_its_extra_is_refused(
        without_torch: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "gan.toml"
    suite.write_text("seeds = [0]\n[datasets.gbsg2]\n[generators.ctwgan]\nparams = { epochs = 1 }\n")
    assert main(["run", str(suite), "--store", str(tmp_path / "gan.sqlite"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "'ctwgan' needs the module 'torch'" in err and "pip install 'safe-bench[generators]'" in err
    assert "Traceback" not in err and not (tmp_path / "gan.sqlite").exists()
