"""Cross-check of safe-bench's Anonymeter-method attacks against the anonymeter package.

anonymeter pins an old numpy, so it runs in a throw-away virtualenv; this script is
run twice over, once per environment::

    python -m venv /tmp/anon && /tmp/anon/bin/pip install anonymeter
    python benchmarks/anonymeter_crosscheck.py                      # ours, then the peer
    python benchmarks/anonymeter_crosscheck.py --python /tmp/anon/bin/python

The main run (safe-bench's environment) writes each case's tables to a temporary
folder, computes safe-bench's risks, starts ``PYTHON this-script peer FOLDER`` (which
imports only anonymeter and pandas), and prints both tools' risks with their 95 %
intervals. The same data and attack settings go to both: original records = a train
sample as large as the control set (so neither tool corrects for population size),
control = the holdout, ``N`` attacks, auxiliary columns = the schema's
quasi-identifiers, secrets = its sensitive columns, linkability on the two halves of
the quasi-identifiers with one neighbour, singling out univariate and multivariate
on 3 columns, 500 predicates each. Two tools agree on a risk when their intervals
overlap. Linkability is printed but not compared: safe-bench counts synthetic rows
identical on a half as one candidate set (so that an arbitrary tie-break cannot hide a
copied record), anonymeter takes the first nearest row. ``peer FOLDER
--time`` times anonymeter alone (used by benchmarks/test_privacy_speed.py).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ATTACKS = 500


# -- the peer: anonymeter, in its own environment --------------------------------------
def peer(folder: Path, timed: bool) -> dict:
    """anonymeter's risks (or run times) on the tables and settings in ``folder``."""
    import logging
    import re

    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    class Shortfall(logging.Handler):  # anonymeter warns when it generated fewer queries
        generated: int | None = None

        def emit(self, record: logging.LogRecord) -> None:
            found = re.search(r"could generate only (\d+)", record.getMessage())
            if found:
                self.generated = int(found.group(1))

    shortfall = Shortfall()
    logging.getLogger("anonymeter").addHandler(shortfall)

    settings = json.loads((folder / "settings.json").read_text())
    read = lambda name: pd.read_csv(folder / f"{name}.csv", dtype={c: str for c in settings["categorical"]})  # noqa: E731
    ori, syn, control = read("original"), read("synthetic"), read("control")
    n, quasi, seed = settings["attacks"], settings["quasi_identifiers"], settings["seed"]
    half = math.ceil(len(quasi) / 2)
    out: dict[str, dict] = {}

    def record(name: str, evaluator, started: float) -> None:
        risk = evaluator.risk()
        attacks = shortfall.generated if shortfall.generated is not None else n
        out[name] = {"seconds": time.perf_counter() - started, "risk": risk.value, "ci": list(risk.ci), "attacks": attacks}
        shortfall.generated = None

    for mode in ("univariate", "multivariate"):
        started = time.perf_counter()
        evaluator = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=n, n_cols=3, seed=seed)
        record(f"singling out ({mode})", evaluator.evaluate(mode=mode), started)
    started = time.perf_counter()
    evaluator = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=n, aux_cols=(quasi[:half], quasi[half:]),
                                     n_neighbors=1)
    record("linkability", evaluator.evaluate(n_jobs=-1), started)
    for secret in settings["sensitive"]:
        aux = [c for c in quasi if c != secret]
        started = time.perf_counter()
        evaluator = InferenceEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux, secret=secret, n_attacks=n)
        record(f"inference ({secret})", evaluator.evaluate(n_jobs=-1), started)
    return {k: {"seconds": v["seconds"], "attacks": v["attacks"]} for k, v in out.items()} if timed else out


# -- ours ----------------------------------------------------------------------------------
def write_case(folder: Path, original: pd.DataFrame, synthetic: pd.DataFrame, control: pd.DataFrame, schema, seed: int) -> None:
    """The tables as CSV (categorical and boolean columns as text, so that anonymeter
    treats them as categories, as the schema does) and the attack settings."""
    from safe_bench.data.schema import Kind

    categorical = [c for c in schema.features if schema.kinds[c] in (Kind.CATEGORICAL, Kind.BOOLEAN)]
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (("original", original), ("synthetic", synthetic), ("control", control)):
        frame[schema.features].to_csv(folder / f"{name}.csv", index=False)
    settings = {
        "attacks": min(ATTACKS, len(original), len(control)),
        "quasi_identifiers": list(schema.quasi_identifiers),
        "sensitive": list(schema.sensitive),
        "categorical": categorical,
        "seed": seed,
    }
    (folder / "settings.json").write_text(json.dumps(settings))


def ours(original: pd.DataFrame, synthetic: pd.DataFrame, control: pd.DataFrame, schema, seed: int) -> dict:
    """safe-bench's risks (and run times) with the same settings."""
    from safe_bench.errors import MetricSkipped
    from safe_bench.evaluation.comparison import EvaluationData
    from safe_bench.metrics.privacy import anonymeter, attacks

    previous = attacks.N_ATTACKS, attacks.N_PREDICATES, attacks.MAX_ATTEMPTS
    attacks.N_ATTACKS, attacks.N_PREDICATES, attacks.MAX_ATTEMPTS = ATTACKS, ATTACKS, 10_000_000  # anonymeter's
    try:
        cmp = EvaluationData(original, synthetic, control, schema, seed=seed).comparison()
        out: dict[str, dict] = {}
        for metric in (anonymeter.singling_out, anonymeter.linkability, anonymeter.attribute_inference):
            started = time.perf_counter()
            try:
                measured = metric(cmp)
            except MetricSkipped as exc:
                out[metric.__name__] = {"skipped": str(exc)}
                continue
            seconds = time.perf_counter() - started
            if metric is anonymeter.singling_out:
                parts = {f"singling out ({m})": d for m, d in measured.details["modes"].items()}
            elif metric is anonymeter.linkability:
                parts = {"linkability": measured.details}
            else:
                parts = {f"inference ({c})": d for c, d in measured.details["columns"].items()}
            for name, d in parts.items():
                risk = max(0.0, min(1.0, d["residual"]))
                low = max(0.0, min(1.0, d["residual"] - d["residual_error"]))
                high = max(0.0, min(1.0, d["residual"] + d["residual_error"]))
                out[name] = {"risk": risk, "ci": [low, high], "attacks": d["attacks"], "seconds": seconds}
        return out
    finally:
        attacks.N_ATTACKS, attacks.N_PREDICATES, attacks.MAX_ATTEMPTS = previous


def run_peer(python: str, folder: Path, timed: bool = False) -> dict:
    command = [python, str(Path(__file__).resolve()), "peer", str(folder)] + (["--time"] if timed else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cases(seed: int):
    """(label, original, synthetic, control, schema): FLCHAIN, train sampled to the
    holdout's size; a leaky and a fair generator fitted on those original rows."""
    from safe_bench import load_generator
    from safe_bench.data.datasets import load_dataset
    from safe_bench.data.protocol import split

    dataset = load_dataset("flchain")
    parts = split(dataset.frame, dataset.schema, seed=seed)
    original = parts.train.sample(len(parts.holdout), random_state=seed).reset_index(drop=True)
    for name in ("bootstrap_copy", "gaussian_copula"):
        generator = load_generator(name)
        generator.fit(original, dataset.schema, seed=seed)
        yield f"{name} on flchain", original, generator.sample(len(original), seed=seed), parts.holdout, dataset.schema


def _risk(r: dict) -> str:
    return f"{r['risk']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] n={r['attacks']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default="/tmp/anon/bin/python", help="python of the virtualenv holding anonymeter")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    agree = True
    print(f"{'case':28} {'attack':28} {'safe-bench risk [95% CI]':30} {'anonymeter risk [95% CI]':30} agree")
    with tempfile.TemporaryDirectory() as tmp:
        for label, original, synthetic, control, schema in cases(args.seed):
            folder = Path(tmp) / label.replace(" ", "_")
            write_case(folder, original, synthetic, control, schema, args.seed)
            mine, theirs = ours(original, synthetic, control, schema, args.seed), run_peer(args.python, folder)
            for attack in mine:
                a = mine[attack]
                if "skipped" in a:
                    print(f"{label:28} {attack:28} skipped by safe-bench: {a['skipped']}")
                    continue
                b = theirs[attack]
                if attack == "linkability":  # rows identical on a half are one candidate set here, not in anonymeter
                    print(f"{label:28} {attack:28} {_risk(a):30} {_risk(b):30} (ties differ by design)")
                    continue
                overlap = a["ci"][0] <= b["ci"][1] and b["ci"][0] <= a["ci"][1]
                agree &= overlap
                print(f"{label:28} {attack:28} {_risk(a):30} {_risk(b):30} {'yes' if overlap else 'NO'}")
    print("all risks agree within their intervals" if agree else "some risks disagree")
    return 0 if agree else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "peer":
        print(json.dumps(peer(Path(sys.argv[2]), "--time" in sys.argv)))
    else:
        sys.exit(main())
