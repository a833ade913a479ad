"""Column blocks: S over each declared block (CSF over the clinical one, GSF over the
genomic one), on a bundled cohort and on lifelines' Rossi recidivism data (not bundled)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from safe_bench.data.datasets import load_dataset
from safe_bench.data.protocol import split
from safe_bench.data.schema import Schema, infer_schema
from safe_bench.errors import InputError
from safe_bench.evaluation.blocks import block_schema
from safe_bench.evaluation.evaluate import EvaluationResult, evaluate
from safe_bench.report.scores import evaluation_scores
from safe_bench.report.text import evaluation_text


def gbsg2() -> tuple[pd.DataFrame, Schema]:
    ds = load_dataset("gbsg2")
    blocks = {"clinical": ("age", "menostat", "tsize", "tgrade", "pnodes", "horTh"), "genomic": ("progrec", "estrec")}
    return ds.frame, ds.schema.with_roles(blocks=blocks)


def rossi() -> tuple[pd.DataFrame, Schema]:
    frame = load_rossi()
    schema = infer_schema(frame, survival=("week", "arrest"))
    return frame, schema.with_roles(blocks={"clinical": ("age", "race", "fin", "mar", "paro"), "genomic": ("prio", "wexp")})


def broken_genomic(table: pd.DataFrame, schema: Schema, seed: int, real: pd.DataFrame) -> pd.DataFrame:
    """The genomic block's columns each shuffled on their own and moved off their range
    (numbers shifted past the largest real value, categories all the rarest real one): its marginals and
    associations are wrong, the clinical block untouched."""
    rng = np.random.default_rng(seed)
    out = table.copy()
    for col in schema.blocks["genomic"]:
        values = out[col].to_numpy()[rng.permutation(len(out))]
        if col in schema.numeric:
            values = values + real[col].max() + 1
        else:
            values = np.full(len(values), real[col].value_counts().index[-1])
        out[col] = values
    return out


@pytest.mark.parametrize("data", [gbsg2, rossi], ids=["gbsg2", "rossi"])
def test_gsf_falls_when_the_genomic_block_breaks_and_csf_does_not(data):
    frame, schema = data()
    parts = split(frame, schema, seed=0)
    fresh = parts.holdout  # real rows the "generator" never saw: fidelity near the ceiling
    good = evaluate(parts.train, fresh, None, schema, seed=0, metrics=["S"], n_bootstrap=20)
    bad = evaluate(parts.train, broken_genomic(fresh, schema, 0, frame), None, schema, seed=0, metrics=["S"], n_bootstrap=20)
    assert good.score("CSF") > 0.8 and good.score("GSF") > 0.8
    assert bad.score("GSF") < 0.5 < good.score("GSF")
    # the clinical block's S reads the clinical columns only: unchanged to the last digit
    assert bad.score("CSF") == good.score("CSF")
    assert bad.score("S") < good.score("S")


def test_block_s_is_s_of_the_table_cut_to_the_block():
    frame, schema = gbsg2()
    parts = split(frame, schema, seed=1)
    synthetic = broken_genomic(parts.holdout, schema, 1, frame)
    result = evaluate(parts.train, synthetic, None, schema, seed=1, metrics=["S"], n_bootstrap=20)
    for name, columns in schema.blocks.items():
        cols = list(columns)
        alone = evaluate(parts.train[cols], synthetic[cols], None, block_schema(schema, cols), seed=1, metrics=["S"],
                         n_bootstrap=20)
        block = result.blocks[name]
        assert block.score == pytest.approx(alone.score("S"), abs=1e-12)
        assert [m.score for m in block.metrics] == [m.score for m in alone.metrics]
        assert block.pillar.ci_low == pytest.approx(alone.pillars["S"].ci_low, abs=1e-12)


def test_blocks_travel_through_json_text_and_schema_files(tmp_path):
    frame, schema = gbsg2()
    parts = split(frame, schema, seed=0)
    result = evaluate(parts.train, parts.holdout, None, schema, seed=0, metrics=["S", "C.km"], n_bootstrap=20)
    assert [b.label for b in result.blocks.values()] == ["CSF", "GSF"]
    again = EvaluationResult.from_json(result.to_json())
    assert again.to_json() == result.to_json()
    text = evaluation_text(evaluation_scores(result))
    assert "CSF  clinical synthetic fidelity" in text and "GSF  genomic synthetic fidelity" in text
    # a block other than clinical or genomic is S[name]
    other = schema.with_roles(blocks={"receptors": ("progrec", "estrec")})
    assert list(evaluate(parts.train, parts.holdout, None, other, seed=0, metrics=["S"], n_bootstrap=20)
                .blocks.values())[0].label == "S[receptors]"
    # without blocks the JSON has no "blocks" key (results written before blocks read the same)
    plain = evaluate(parts.train, parts.holdout, None, load_dataset("gbsg2").schema, seed=0, metrics=["S"], n_bootstrap=20)
    assert "blocks" not in plain.to_dict()
    path = tmp_path / "schema.toml"
    path.write_text('[columns]\na = "numeric"\nb = "categorical"\nc = "boolean"\n\n[blocks]\nclinical = ["a", "b"]\n'
                    'genomic = ["c"]\n')
    from safe_bench.data.schema import load_schema

    assert load_schema(path).blocks == {"clinical": ("a", "b"), "genomic": ("c",)}


@pytest.mark.parametrize("blocks, message", [
    ({"clinical": ("age", "nope")}, "block 'clinical' column 'nope' is not a column"),
    ({"clinical": ()}, "column block 'clinical' lists no column"),
    ({"clinical": ("age", "age")}, "lists a column twice"),
    ({" ": ("age",)}, "needs a name"),
])
def test_bad_blocks_are_named(blocks, message):
    with pytest.raises(InputError, match=message):
        load_dataset("gbsg2").schema.with_roles(blocks=blocks)


def test_block_of_a_result_file_is_checked():
    frame, schema = gbsg2()
    parts = split(frame, schema, seed=0)
    data = evaluate(parts.train, parts.holdout, None, schema, seed=0, metrics=["S.ks"], n_bootstrap=20).to_dict()
    data["blocks"]["genomic"]["pillar"]["score"] = 1.5
    with pytest.raises(InputError, match="block 'genomic': pillar: field 'score' must be a score"):
        EvaluationResult.from_dict(data)
