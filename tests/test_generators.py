"""Reference generators (issue 7): every adapter's sample fits the schema, seeds make it
reproducible, the shared checks catch broken generators, TabDDPM's diffusion matches a
brute-force computation, plug-ins and commands run as generators."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safe_bench_generators.codec import TabularCodec
from safe_bench_generators.command import CommandGenerator
from safe_bench_generators.conformance import RepairWarning, TrainProfile
from safe_bench_generators.tabddpm import Diffusion, cosine_betas, log_one_hot

from safe_bench.cli.main import main
from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.validation import conform
from safe_bench.errors import GeneratorError, InputError
from safe_bench.generator import load_generator

PLUGIN = Path(__file__).parent / "plugin_fixture"

#: Tiny settings: these tests check contracts, not quality (benchmarks/ does that).
TINY = {
    "ctwgan": {"epochs": 2, "batch_size": 100, "generator_dim": (64,), "discriminator_dim": (64,)},
    "tvae": {"epochs": 3, "batch_size": 100, "compress_dims": (64,), "decompress_dims": (64,)},
    "tabddpm": {"steps": 150, "num_timesteps": 50, "layers": (64, 64), "dim_t": 32},
    "independent": {},
    "gaussian_copula": {},
    "bootstrap_copy": {},
}
NEURAL = ("ctwgan", "tvae", "tabddpm")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def train(gbsg2_split) -> pd.DataFrame:
    return gbsg2_split.train


@pytest.fixture(scope="module")
def fitted(gbsg2, train):
    """Each generator fitted once on GBSG2's train split (seed 3)."""
    out = {}
    for name, params in TINY.items():
        generator = load_generator(name, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RepairWarning)  # tiny networks may undershoot times
            generator.fit(train, gbsg2.schema, seed=3)
        out[name] = generator
    return out


# -- every adapter: the sample fits the schema ------------------------------------------
@pytest.mark.parametrize("name", list(TINY))
def test_sample_conforms_to_schema(name, fitted, gbsg2, train):
    schema = gbsg2.schema
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        synthetic = fitted[name].sample(300, seed=11)
    assert list(synthetic.columns) == schema.features
    assert len(synthetic) == 300
    # Canonical already: conforming again changes nothing (kinds and dtypes as train's).
    pd.testing.assert_frame_equal(conform(synthetic, schema, table="synthetic"), synthetic)
    assert (synthetic.dtypes == train[schema.features].dtypes).all()
    for col in schema.categorical:
        assert set(synthetic[col].dropna()) <= set(train[col].dropna()), col
    assert (synthetic["time"] > 0).all()
    assert set(synthetic["cens"].unique()) <= {0.0, 1.0}
    assert not synthetic.isna().any().any()  # GBSG2 has no missing value
    assert synthetic["tgrade"].nunique() > 1 and synthetic["age"].nunique() > 5  # not a constant table


@pytest.mark.parametrize("name", NEURAL)
def test_same_seed_same_table_on_cpu(name, fitted, gbsg2, train):
    again = load_generator(name, **TINY[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        again.fit(train, gbsg2.schema, seed=3)
        first = fitted[name].sample(200, seed=5)
        pd.testing.assert_frame_equal(again.sample(200, seed=5), first)
        other = fitted[name].sample(200, seed=6)
    assert not other.equals(first)


@pytest.mark.parametrize("name", NEURAL)
def test_neural_generators_say_how_far_their_fit_has_come(name, fitted, gbsg2, train):
    """``training()`` counts what the real training loop finished: every epoch (the ctgan
    package's own per-epoch losses) or step once fitted, and growing counts while a fit
    runs, read from another thread as the status line does."""
    import threading

    done = fitted[name].training()
    planned = {"ctwgan": 2, "tvae": 3, "tabddpm": 150}[name]
    assert (done.done, done.planned, done.unit) == (planned, planned, "step" if name == "tabddpm" else "epoch")
    generator = load_generator(name, **{**TINY[name], **({"steps": 600} if name == "tabddpm" else {"epochs": 12})})
    assert generator.training() is None  # nothing fitted yet: nothing to say
    seen: list[int] = []
    fitting = threading.Thread(target=lambda: generator.fit(train, gbsg2.schema, seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RepairWarning)
        fitting.start()
        while fitting.is_alive():
            now = generator.training()
            if now is not None:
                seen.append(now.done)
            fitting.join(0.002)
    assert seen == sorted(seen) and generator.training().done == generator.training().planned
    assert len(set(seen) - {0, generator.training().planned}) >= 2  # counts in between, not just 0 and the end


def test_hyperparameters_come_from_keyword_arguments():
    generator = load_generator("ctwgan", epochs=7, batch_size=40, pac=4)
    assert {k: generator.options[k] for k in ("epochs", "batch_size", "pac")} == {"epochs": 7, "batch_size": 40, "pac": 4}
    assert load_generator("tabddpm", steps=12, layers=[8, 8]).layers == (8, 8)
    with pytest.raises(InputError, match="multiple of pac"):
        load_generator("ctwgan", batch_size=30, pac=20)
    with pytest.raises(InputError, match="rejected its settings"):
        load_generator("tvae", no_such_setting=1)


def test_training_budget_caps_the_epochs_on_large_cohorts(gbsg2_split, gbsg2):
    capped = load_generator("ctwgan", epochs=400, batch_size=50, max_steps=100)
    assert capped.epochs_for(480) == 12  # 9 steps an epoch: 12 epochs reach 100 steps
    assert capped.epochs_for(10) == 100  # one step an epoch
    assert load_generator("ctwgan", max_steps=None).epochs_for(100_000) == 400
    assert load_generator("tvae").epochs_for(len(gbsg2_split.train)) == 600  # the tuned budget is untouched
    with pytest.raises(InputError, match="max_steps"):
        load_generator("tvae", max_steps=0)
    tiny = load_generator("tvae", epochs=50, batch_size=100, max_steps=8, compress_dims=(16,), decompress_dims=(16,))
    tiny.fit(gbsg2_split.train, gbsg2.schema, seed=0)
    assert tiny.model_.epochs == 2  # 480 // 100 = 4 steps an epoch


def test_missing_values_learned_as_presence(gbsg2):
    """FLCHAIN's creatinine has gaps: the codec turns them into a flag the model learns."""
    flchain = load_dataset("flchain")
    train = split(flchain.frame, flchain.schema, seed=0).train.iloc[:600]
    generator = load_generator("tabddpm", **TINY["tabddpm"])
    generator.fit(train, flchain.schema, seed=0)
    synthetic = generator.sample(600, seed=0)
    assert synthetic["creatinine"].isna().any() and synthetic["creatinine"].notna().any()
    complete = [c for c in flchain.schema.features if c != "creatinine"]
    assert not synthetic[complete].isna().any().any()


def test_codec_round_trip_is_exact(whas500):
    canonical = conform(whas500.frame, whas500.schema, table="real")
    canonical.loc[::7, "bmi"] = np.nan  # a numeric column with gaps
    codec = TabularCodec.fit(canonical, whas500.schema)
    model = codec.encode(canonical)
    assert "bmi.present" in codec.discrete and not model.isna().any().any()
    assert set(model["cvd"]) == {"0", "1"}
    np.testing.assert_allclose(model["lenfol"], np.log(canonical["lenfol"]))  # times modelled on the log scale
    decoded = conform(codec.decode(model), whas500.schema, table="synthetic")
    pd.testing.assert_frame_equal(decoded, canonical)


# -- the shared checks: repair one thing loudly, refuse the rest ----------------------------
@pytest.fixture(scope="module")
def profile(gbsg2, train) -> TrainProfile:
    return TrainProfile.fit(train, gbsg2.schema)


def test_times_at_or_below_zero_are_raised_with_a_warning(profile, train):
    raw = train.copy()
    raw.loc[:9, "time"] = -5.0
    raw.loc[10, "time"] = 0.0
    with pytest.warns(RepairWarning, match=r"11 of 480 survival times in 'time'"):
        out = profile.finish(raw, n=len(raw), generator="test")
    assert (out.loc[:10, "time"] == train["time"].min()).all()
    pd.testing.assert_frame_equal(out.drop(index=range(11)), train.drop(index=range(11)))


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda f: f.drop(columns="tgrade"), r"lacks column\(s\) \['tgrade'\]"),
        (lambda f: f.assign(extra=1.0), r"has column\(s\) \['extra'\]"),
        (lambda f: f.assign(tgrade=f["tgrade"].where(f.index > 2, "IV")), "'tgrade' has 1 category never seen"),
        (lambda f: f.assign(age=f["age"].where(f.index > 4)), "'age' has 5 missing value"),
        (lambda f: f.assign(cens=f["cens"].where(f.index > 0, 2.0)), "'cens'"),
        (lambda f: f.assign(pnodes=f["pnodes"].astype(object).where(f.index > 0, "many")), "'pnodes'.*not numbers"),
        (lambda f: f.iloc[:-1], "returned 479 rows, 480 were asked for"),
    ],
)
def test_broken_samples_are_refused(profile, train, corrupt, message):
    with pytest.raises(GeneratorError, match=message):
        profile.finish(corrupt(train.copy()), n=len(train), generator="broken")


# -- TabDDPM's diffusion, against independent computations ---------------------------------
def _transition(alpha: float, k: int) -> np.ndarray:
    return alpha * np.eye(k) + (1 - alpha) / k


def test_multinomial_forward_and_posterior_match_transition_matrices():
    """Hoogeboom et al. 2021: q(x_t|x_0) is the product of one-step matrices; the posterior is Bayes' rule."""
    sizes, steps = [3, 2], 40
    diffusion = Diffusion(0, sizes, steps, torch.device("cpu"))
    alphas = 1 - cosine_betas(steps)
    x0, xt = torch.tensor([[1, 0]]), torch.tensor([[2, 1]])
    for t in (0, 1, 17, 39):
        for j, k in enumerate(sizes):
            cols = diffusion.slices[j]
            before = np.eye(k)[x0[0, j].item()]  # distribution of x_{t-1} given x_0
            for a in alphas[:t]:
                before = before @ _transition(a, k)
            forward = diffusion.q_xt_given_x0(log_one_hot(x0, sizes), torch.tensor([t]))[0, cols].exp().numpy()
            np.testing.assert_allclose(forward, before @ _transition(alphas[t], k), rtol=1e-4)
            bayes = before * _transition(alphas[t], k)[:, xt[0, j].item()]
            post = diffusion.posterior(log_one_hot(x0, sizes), log_one_hot(xt, sizes), torch.tensor([t]))
            np.testing.assert_allclose(post[0, cols].exp().numpy(), bayes / bayes.sum(), rtol=1e-4, atol=1e-7)


def test_reverse_chain_with_an_oracle_denoiser_returns_the_data():
    """With the exact noise (numeric) and the exact x_0 (categorical) the sampler must land on x_0."""
    sizes, steps = [4, 3], 50
    diffusion = Diffusion(2, sizes, steps, torch.device("cpu"))
    point, cats = torch.tensor([0.7, -1.3]), torch.tensor([2, 0])
    sqrt_abar, sqrt_1m = diffusion.sqrt_abar, diffusion.sqrt_1m_abar

    def oracle(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        eps = (x[:, :2] - sqrt_abar[t, None] * point) / sqrt_1m[t, None]
        logits = 30 * log_one_hot(cats.expand(len(x), 2), sizes).exp()  # near-certain x_0
        return torch.cat([eps, logits], dim=1)

    x, codes = diffusion.sample(oracle, 64, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(x.numpy(), point.expand(64, 2).numpy(), atol=1e-3)
    assert (codes == cats).all()


# -- third-party plug-ins and commands -----------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from safe_bench.cli.main import main; sys.exit(main())", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_a_third_party_metric_is_listed_counted_in_its_pillar_and_a_broken_one_named(tmp_path):
    """The fixture package registers S.toy_means through the ``safe_bench.metrics`` entry
    points (and a second entry point that cannot be imported)."""
    listed = _cli("metrics")
    assert listed.returncode == 0, listed.stderr
    (line,) = [row for row in listed.stdout.splitlines() if row.startswith("S.toy_means")]
    assert "Toy plug-in: standardized mean gap" in line
    assert "metric plug-in broken (safe_bench_toy_plugin.not_a_module) cannot be loaded: ModuleNotFoundError" \
        in listed.stderr
    out = tmp_path / "toy.json"
    run = _cli("evaluate", "--dataset", "gbsg2", "--generator", "independent", "--metrics", "S.ks,S.toy_means",
               "--bootstrap", "20", "--json", str(out), "-q")
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    toy = next(m for m in result["metrics"] if m["id"] == "S.toy_means")
    ks = next(m for m in result["metrics"] if m["id"] == "S.ks")
    assert toy["status"] == "ok" and 0.0 <= toy["score"] <= 1.0 and toy["reference"] is not None
    assert result["pillars"]["S"]["score"] == pytest.approx((toy["score"] + ks["score"]) / 2)


def test_third_party_plugin_is_listed_and_evaluated(tmp_path):
    listed = _cli("generators", "--verbose")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    start = next(i for i, row in enumerate(rows) if row.startswith("toy_shuffler"))
    entry = " ".join(rows[start].split()) + " " + " ".join(
        " ".join(row.split()) for row in itertools.takewhile(lambda row: row.startswith(" "), rows[start + 1:])
    )
    assert "Toy plug-in" in entry and "provided by safe_bench_toy_plugin:ColumnShuffler" in entry
    out = tmp_path / "toy.json"
    run = _cli("evaluate", "--dataset", "gbsg2", "--generator", "toy_shuffler", "--metrics", "S.ks,C.km",
               "--bootstrap", "20", "--json", str(out), "-q")
    assert run.returncode == 0, run.stderr
    result = json.loads(out.read_text())
    assert result["label"] == "toy_shuffler on gbsg2"
    assert result["rows"]["synthetic"] == result["rows"]["train"] == 480
    assert {m["id"]: m["status"] for m in result["metrics"]} == {"S.ks": "ok", "C.km": "ok"}


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "generate.py"
    path.write_text(textwrap.dedent(
        """
        import argparse, sys, time
        import numpy as np, pandas as pd
        p = argparse.ArgumentParser()
        for flag in ("--train", "--n", "--seed", "--out"):
            p.add_argument(flag)
        a = p.parse_args()
        train = pd.read_csv(a.train)
        rng = np.random.default_rng(int(a.seed))
        table = pd.DataFrame({c: rng.choice(train[c].to_numpy(), int(a.n)) for c in train.columns})
        """
    ) + textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_command_runs_a_script_as_a_generator(tmp_path, gbsg2, train):
    generator = CommandGenerator(_script(tmp_path, "table.to_csv(a.out, index=False)\n"), timeout=120)
    generator.fit(train, gbsg2.schema, seed=0)
    first = generator.sample(250, seed=4)
    assert list(first.columns) == gbsg2.schema.features and len(first) == 250
    assert set(first["cens"]) == {0.0, 1.0}  # booleans went out as 0/1 and came back
    pd.testing.assert_frame_equal(generator.sample(250, seed=4), first)  # the seed reaches the script
    assert not generator.sample(250, seed=5).equals(first)


@pytest.mark.parametrize(
    "body, timeout, message",
    [
        ("print('the model exploded', file=sys.stderr); sys.exit(1)\n", 120,
         r"exited with status 1; its standard error \(1 line, 19 bytes, not quoted as it may hold real records: "
         r"full text in .*command-python"),
        ("table.drop(columns=['horTh']).to_csv(a.out, index=False)\n", 120, r"lacks column\(s\) \['horTh'\]"),
        ("pass\n", 120, "wrote no file"),
        ("import subprocess; subprocess.Popen(['sleep', '60']); time.sleep(60)\n", 1, "did not finish within 1 s"),
    ],
    ids=["exit-1", "wrong-columns", "no-output", "hangs"],
)
def test_failing_command_gives_a_clear_error(tmp_path, gbsg2, train, body, timeout, message):
    generator = CommandGenerator(_script(tmp_path, body), timeout=timeout)
    generator.fit(train, gbsg2.schema, seed=0)
    with pytest.raises(GeneratorError, match=message):
        generator.sample(100, seed=0)


def test_command_failure_through_the_cli(tmp_path, capsys):
    command = json.dumps(_script(tmp_path, "sys.exit('no licence for the solver')\n"))
    code = main(["evaluate", "--dataset", "gbsg2", "--generator", "command", "--option", f"command={command}", "-q"])
    assert code == 2
    assert "exited with status 1" in capsys.readouterr().err


def test_command_that_cannot_start(train, gbsg2):
    generator = CommandGenerator("/no/such/generator --fast")
    generator.fit(train, gbsg2.schema, seed=0)
    with pytest.raises(GeneratorError, match="could not be started"):
        generator.sample(10, seed=0)


def test_baselines_do_not_import_torch(gbsg2):
    """Seeding torch costs seconds of import: only generators that train with it pay."""
    code = ("import sys; from safe_bench import load_dataset, load_generator; ds = load_dataset('gbsg2'); "
            "g = load_generator('gaussian_copula'); g.fit(ds.frame, ds.schema, seed=0); g.sample(5, seed=0); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert load_generator("tabddpm").uses_torch and load_generator("ctwgan").uses_torch
