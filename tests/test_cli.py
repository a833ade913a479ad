"""The command line, end to end on GBSG2 files."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys

import pytest

from safe_bench.benchmark.ranking import seed_means
from safe_bench.benchmark.store import Store
from safe_bench.cli.main import COMMANDS as COMMAND_MODULES
from safe_bench.cli.main import build_parser, main
from safe_bench.data.io import write_table
from safe_bench.report.leaderboard import leaderboard_page

COMMANDS = ["evaluate", "demo", "split", "schema", "datasets", "generators", "metrics", "run", "scenario", "results", "gate",
            "report"]


@pytest.fixture(scope="module")
def files(tmp_path_factory, gbsg2, gbsg2_split):
    from safe_bench import load_generator

    root = tmp_path_factory.mktemp("cli")
    gen = load_generator("gaussian_copula")
    gen.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    write_table(gbsg2_split.train, root / "train.csv")
    write_table(gbsg2_split.holdout, root / "holdout.csv")
    write_table(gen.sample(len(gbsg2_split.train), seed=0), root / "synthetic.parquet")
    (root / "schema.json").write_text(json.dumps(gbsg2.schema.to_dict()))
    return root


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "safe_bench.cli", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def test_evaluate_files_end_to_end_and_byte_identical_json(files):
    args = ["evaluate", "--real", str(files / "train.csv"), "--synthetic", str(files / "synthetic.parquet"),
            "--holdout", str(files / "holdout.csv"), "--schema", str(files / "schema.json"), "--seed", "1"]
    first = run_cli(*args, "--json", str(files / "a.json"))
    assert first.returncode == 0, first.stderr
    for text in ("S  statistical fidelity", "C  clinical utility", "P  privacy preservation", "SAFE", "P.dcr_share"):
        assert text in first.stdout
    second = run_cli(*args, "--json", str(files / "b.json"), "--quiet")
    assert second.returncode == 0 and second.stdout == ""
    assert (files / "a.json").read_bytes() == (files / "b.json").read_bytes()
    data = json.loads((files / "a.json").read_text())
    assert data["rows"] == {"train": 480, "holdout": 206, "synthetic": 480}
    assert all(m["status"] == "ok" for m in data["metrics"])


def test_several_synthetic_files_are_ranked_in_one_leaderboard(files, gbsg2_split, tmp_path):
    from safe_bench.evaluation.evaluate import EvaluationResult

    copies = tmp_path / "copies.csv"
    write_table(gbsg2_split.train, copies)  # a table of training patients: must rank below an honest model
    common = ["--real", str(files / "train.csv"), "--holdout", str(files / "holdout.csv"),
              "--schema", str(files / "schema.json"), "--bootstrap", "20"]
    proc = run_cli("evaluate", *common, "--synthetic", str(copies), str(files / "synthetic.parquet"),
                   "--json", str(tmp_path / "all.json"), "--html", str(tmp_path / "pages"))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line[:2] in ("1 ", "2 ")]
    assert [r[1] for r in rows] == ["synthetic.parquet", "copies.csv"]
    assert rows[1][-1] == "memorisation" and "holdout (real reference)" in proc.stdout
    results = json.loads((tmp_path / "all.json").read_text())["results"]
    assert [r["label"] for r in results] == ["synthetic.parquet", "copies.csv"]
    alone = run_cli("evaluate", *common, "--synthetic", str(files / "synthetic.parquet"), "--json",
                    str(tmp_path / "one.json"), "-q")
    assert alone.returncode == 0, alone.stderr
    one = EvaluationResult.from_json((tmp_path / "one.json").read_text())
    assert EvaluationResult.from_dict(results[0]).to_json() == one.to_json()  # each judged as if alone
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == ["copies.csv.html", "synthetic.parquet.html"]
    clash = run_cli("evaluate", *common, "--synthetic", str(copies), str(files / "synthetic.parquet"),
                    "--html", str(tmp_path / "one.json"))
    assert clash.returncode == 2 and "is a file; name a folder" in clash.stderr


def test_the_status_line_ticks_while_a_stage_runs_and_stops_on_failure():
    import io
    import time

    from safe_bench.cli.console import StatusLine

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with pytest.raises(RuntimeError), StatusLine(stream=screen, prefix="tvae: ") as status:
        status.stage("fit")
        time.sleep(2.3 * StatusLine.TICK + 1.0)  # a slow fit: the line counts its seconds
        raise RuntimeError("the generator failed")
    shown = screen.getvalue()
    assert "tvae: fit (1 s)" in shown and shown.endswith("\r\x1b[K")  # erased, ticking stopped
    time.sleep(2 * StatusLine.TICK)
    assert screen.getvalue() == shown
    quiet = Terminal()
    with StatusLine(stream=quiet, quiet=True) as status:
        status.stage("fit")
        status.metric("S.ks", 0, 3)
    assert quiet.getvalue() == ""


def test_the_status_line_shows_a_fitting_generators_epochs():
    import io
    import time

    from safe_bench.cli.console import StatusLine
    from safe_bench.generator import Training

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    class Counting:
        def training(self) -> Training:
            return Training(3, 10, "epoch")

    class Broken:
        def training(self) -> Training:
            raise ValueError("a third-party generator's bug")

    for generator, expected in ((Counting(), " s, epoch 3/10)"), (Broken(), ""), (object(), "")):
        screen = Terminal()
        with StatusLine(stream=screen) as status:
            status.follow(generator)
            status.stage("fit")
            time.sleep(2.5 * StatusLine.TICK)
            status.stage("sample")  # no epochs outside the fit
            time.sleep(2.5 * StatusLine.TICK)
        fit, _, sample = screen.getvalue().partition("sample")
        assert "fit (" in fit and "sample (" in sample  # the seconds tick in both stages
        assert expected in fit and ("epoch" in fit) == bool(expected) and "epoch" not in sample, fit + sample


def test_status_line_on_a_terminal_only(tmp_path):
    import pty

    def stderr_of(*flags: str) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.run([sys.executable, "-m", "safe_bench.cli", "evaluate", "--dataset", "gbsg2", "--generator",
                               "independent", "--metrics", "S.ks,C.km", "--bootstrap", "10", *flags],
                              stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL, timeout=300)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal's other end has closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert proc.returncode == 0
        return b"".join(chunks).decode()

    shown = stderr_of()
    for stage in ("split", "fit", "sample", "evaluate: S.ks (1/2)", "evaluate: C.km (2/2)", "ETA ~"):
        assert stage in shown, shown
    assert shown.endswith("\r\x1b[K")  # the line is erased before the results are printed
    assert stderr_of("--quiet") == ""


def test_evaluate_without_holdout_skips_with_the_reason(files, capsys):
    code = main(["evaluate", "--real", str(files / "train.csv"), "--synthetic", str(files / "synthetic.parquet"),
                 "--time", "time", "--event", "cens", "--json", str(files / "noholdout.json")])
    assert code == 0
    data = json.loads((files / "noholdout.json").read_text())
    skipped = {m["id"]: m["reason"] for m in data["metrics"] if m["status"] == "skipped"}
    assert skipped["P.exact"] == "no holdout: pass --holdout with real rows the generator never saw"
    assert "no holdout" in capsys.readouterr().out


def test_evaluate_dataset_with_generator(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["evaluate", "--dataset", "gbsg2", "--generator", "independent", "--json", str(out)]) == 0
    assert "independent on gbsg2" in capsys.readouterr().out
    assert json.loads(out.read_text())["label"] == "independent on gbsg2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--synthetic", "{d}/missing.csv"], "give --real and --synthetic"),
        (["--real", "{d}/train.csv", "--synthetic", "{d}/nope.csv"], "does not exist"),
        (["--real", "{d}/train.csv", "--synthetic", "{d}/bad.csv", "--schema", "{d}/schema.json"],
         "lacks column(s) ['tgrade']"),
        (["--dataset", "gbsg2", "--generator", "nope"], "unknown generator 'nope'"),
        (["--real", "{d}/train.csv", "--synthetic", "{d}/synthetic.parquet", "--metrics", "S.zz"],
         "unknown metric(s) ['S.zz']"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(files, args, message):
    import pandas as pd

    pd.read_csv(files / "train.csv").drop(columns="tgrade").to_csv(files / "bad.csv", index=False)
    out = files / "never.json"
    proc = run_cli("evaluate", *[a.format(d=files) for a in args], "--json", str(out))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    parser = build_parser()
    with pytest.raises(SystemExit) as info:
        parser.parse_args([command, "--help"])
    assert info.value.code == 0


def test_each_command_is_a_module_that_adds_and_runs_itself():
    """The parser lists the command modules in order, each subcommand running its module's ``run``."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert list(commands) == COMMANDS == [m.__name__.rpartition(".")[2] for m in COMMAND_MODULES]
    for module in COMMAND_MODULES:
        assert commands[module.__name__.rpartition(".")[2]].get_default("func") is module.run


def test_the_command_line_loads_no_page_machinery():
    """Text commands print without jinja2 or matplotlib: only the HTML pages load them."""
    code = "import sys, safe_bench.cli.main; print(sorted({'jinja2', 'matplotlib'} & set(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_results_prints_the_leaderboard_pages_ranked_scores(tiny_site, capsys):
    """Per dataset, each generator's mean over seeds of the score asked for, its interval and
    its rank: the ranking's seed means, as the leaderboard page holds them."""
    store, _ = tiny_site
    assert main(["results", str(store), "--score", "S"]) == 0
    lines = capsys.readouterr().out.splitlines()
    with Store(store, readonly=True) as s:
        page = leaderboard_page(s, title="tiny", score="S")
        means = seed_means(s.scores("S")).set_index(["dataset", "generator"])
    assert lines[0].startswith(f"Leaderboard by S: {len(page.datasets)} dataset(s) ranked, {len(page.overall)} generators")
    for dataset in page.datasets:
        line = next(line for line in lines if line.startswith(f"{dataset.name} "))
        for row in dataset.rows:
            m = means.loc[(dataset.name, row.generator)]
            assert (row.ranked.mean, row.ranked.ci_low, row.ranked.ci_high) == (m["mean"], m["ci_low"], m["ci_high"])
            assert f"{m['mean']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] ({row.rank:g})" in line


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_command_has_examples_that_parse_and_states_its_defaults():
    parser = build_parser()
    seen = set()
    for path, sub in _parsers(parser):
        text = sub.format_help()
        examples = [shlex.split(line.split("#")[0]) for line in text.replace("\\\n", " ").splitlines()
                    if line.startswith("  safe-bench ")]
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
        if leaf:
            assert [e for e in examples if tuple(e[1:1 + len(path)]) == path], f"{path}: no example of its own"
        for example in examples:
            if "COMMAND" not in example:
                parser.parse_args(example[1:])  # an example with a typo in a flag would exit here
                seen.add(example[1])
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
                assert "default" in (action.help or ""), f"{path} {action.option_strings}: default not stated"
    assert seen == set(COMMANDS)


def test_listing_commands(capsys):
    from safe_bench.generator import available_generators
    from safe_bench.metrics.registry import METRICS

    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    for name in ("gbsg2", "whas500", "flchain", "aids", "veterans"):
        assert lines[name].split()[1] == "real"
    assert lines["mds_ipssr_sim"].split()[1] == "SIMULATED"

    assert main(["generators"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "`" not in out
    rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and not line.startswith(" ")}
    assert set(available_generators()) <= set(rows)
    assert "[generators] extra" in rows["tvae"] and "[generators] extra" in rows["tabddpm"]
    assert "extra" not in rows["gaussian_copula"]
    assert "pip install 'safe-bench[generators]'" in out

    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "higher is better" in out and "goal" not in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in METRICS}
    assert set(rows) == set(METRICS)
    assert all(" risk " in rows[m] for m in METRICS if m.startswith("P."))
    assert all(" agreement " in rows[m] for m in METRICS if not m.startswith("P."))


def test_demo_prints_the_leaderboard_and_writes_json(tmp_path):
    out = tmp_path / "demo.json"
    proc = subprocess.run(["safe-bench", "demo", "--out", str(out)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SAFE leaderboard on gbsg2" in proc.stdout
    assert "holdout (real reference)" in proc.stdout
    assert "P  privacy" in proc.stdout and f"Results: {out}" in proc.stdout and "safe-bench split YOUR.csv" in proc.stdout
    assert proc.stderr == ""  # not a terminal: no status line
    data = json.loads(out.read_text())
    assert {r["label"] for r in data["results"]} == {"independent", "gaussian_copula"}
    leaderboard = [line.split()[1] for line in proc.stdout.splitlines() if line[:1] in "12" and line[1:2] == " "]
    assert leaderboard == [r["label"] for r in data["results"]]  # JSON best first, as printed


def test_split_writes_the_protocol_split_and_a_schema_that_loads(tmp_path, gbsg2, gbsg2_split):
    import pandas as pd

    from safe_bench import load_schema

    assert main(["split", "gbsg2", "--out", str(tmp_path), "--seed", "0"]) == 0
    assert load_schema(tmp_path / "schema.json") == gbsg2.schema
    train = pd.read_csv(tmp_path / "train.csv")
    pd.testing.assert_frame_equal(train, gbsg2_split.train, check_dtype=False)
    assert len(pd.read_csv(tmp_path / "holdout.csv")) == len(gbsg2_split.holdout)


def test_generator_run_can_save_its_synthetic_table(tmp_path):
    import pandas as pd

    out = tmp_path / "synthetic.csv"
    assert main(["evaluate", "--dataset", "gbsg2", "--generator", "gaussian_copula", "-q",
                 "--save-synthetic", str(out)]) == 0
    synthetic = pd.read_csv(out)
    assert len(synthetic) == 480 and "tgrade" in synthetic.columns


def test_file_source_evaluates_an_already_generated_table(files, tmp_path):
    out = tmp_path / "file.json"
    code = main(["evaluate", "--dataset", "gbsg2", "--generator", "file", "--option",
                 f"path={files / 'synthetic.parquet'}", "--json", str(out), "-q"])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["rows"]["synthetic"] == 480 and data["label"] == "file on gbsg2"
    missing = main(["evaluate", "--dataset", "gbsg2", "--generator", "file", "--option", "path=/nonexistent.csv"])
    assert missing == 2
